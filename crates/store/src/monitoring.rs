//! What other areas may read about monitoring rules (owned by the monitoring work).

use crate::kv::{Kv, StoreError};

/// Ids of the monitoring rules that apply to `campaign_id` (campaign-scoped rules
/// and rules scoped to all campaigns).
pub async fn rule_ids_for_campaign<K: Kv>(
    _kv: &K,
    _campaign_id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(Vec::new())
}
