//! What other areas may read about content items (owned by the content work).

use crate::keys::content::{campaign_items, item};
use crate::kv::{Kv, StoreError};
use crate::{IdSet, Key, Records};
use opsflow_domain::content::{CalendarEntry, CalendarItem};
use std::collections::BTreeMap;

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

/// Every content item linked to `campaign_id`: the index (its directory and
/// shards) and one `get_many` per 256 items. Items are stored as `Versioned<ContentItem>`; only the summary
/// fields are decoded here.
pub async fn linked_items<K: Kv>(
    kv: &K,
    campaign_id: &str,
) -> Result<Vec<ContentSummary>, StoreError> {
    let ids = IdSet::new(kv, campaign_items(campaign_id)).ids().await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<_> = ids.iter().map(|id| item(id)).collect();
    Ok(Records::new(kv)
        .get_many::<ContentSummary>(&keys)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect())
}

/// The sends stored in the calendar days `days` (`keys::content::calendar_day`),
/// in time order, each with its item: two `get_many`s. An entry whose item is
/// gone is left out.
pub async fn scheduled<K: Kv>(
    kv: &K,
    days: &[Key],
) -> Result<Vec<(CalendarEntry, CalendarItem)>, StoreError> {
    let records = Records::new(kv);
    let mut entries: Vec<(String, CalendarEntry)> = records
        .get_many::<BTreeMap<String, CalendarEntry>>(days)
        .await?
        .into_iter()
        .flat_map(|d| d.value.into_iter())
        .collect();
    opsflow_domain::sort::sort_by(&mut entries, |a, b| a.1.at.cmp(&b.1.at).then(a.0.cmp(&b.0)));
    let keys: Vec<_> = entries.iter().map(|(id, _)| item(id)).collect();
    let mut items: BTreeMap<String, CalendarItem> = BTreeMap::new();
    items.extend(
        records
            .get_many::<CalendarItem>(&keys)
            .await?
            .into_iter()
            .map(|v| (v.value.id.clone(), v.value)),
    );
    Ok(entries
        .into_iter()
        .filter_map(|(id, e)| Some((e, items.get(&id)?.clone())))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    #[test]
    fn linked_items_reads_the_index_then_the_items_in_one_batch() {
        let kv = MemoryKv::default();
        block_on(async {
            let stored = serde_json::json!({
                "id": "I1", "campaign_id": "C1", "channel": "email", "state": "approved",
                "due": "2030-01-01T00:00:00Z", "title": "t", "body": "b", "decisions": []
            });
            assert!(
                Records::new(&kv)
                    .create(&item("I1"), &stored)
                    .await
                    .expect("ok")
            );
            IdSet::new(&kv, campaign_items("C1"))
                .add("I1")
                .await
                .expect("ok");
            IdSet::new(&kv, campaign_items("C1"))
                .add("I2")
                .await
                .expect("ok");
            let before = kv.calls();
            let items = linked_items(&kv, "C1").await.expect("ok");
            // The index (its directory and only shard, together), then the items.
            assert_eq!(kv.calls() - before, 2);
            assert_eq!(
                items,
                vec![ContentSummary {
                    id: "I1".into(),
                    channel: "email".into(),
                    state: "approved".into(),
                    due: Some("2030-01-01T00:00:00Z".into()),
                }]
            );
            assert!(linked_items(&kv, "C9").await.expect("ok").is_empty());
        });
    }
}
