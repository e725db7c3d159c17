//! What other areas may read about content items (owned by the content work).

use crate::kv::{Kv, StoreError};

/// The facts a campaign's stage gates need about one linked content item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContentSummary {
    /// Content id.
    pub id: String,
    /// Channel it is for.
    pub channel: String,
    /// `draft`, `in_review`, `changes_requested`, `approved`, `scheduled`, `published`, `withdrawn`.
    pub state: String,
    /// Due date-time (RFC 3339), if set.
    pub due: Option<String>,
}

/// Every content item linked to `campaign_id`.
pub async fn linked_items<K: Kv>(
    _kv: &K,
    _campaign_id: &str,
) -> Result<Vec<ContentSummary>, StoreError> {
    Ok(Vec::new())
}
