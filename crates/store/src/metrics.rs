//! Metric counters: how webhook and manual samples are stored and read back.
//! (Owned by the webhooks/metrics work; other areas only call the read API.)

use crate::kv::{Kv, StoreError};
use std::collections::BTreeMap;

/// Totals for one campaign over a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CampaignTotals {
    /// Metric kind (`sent`, `delivered`, …, `spend`) → total.
    pub by_kind: BTreeMap<String, i64>,
    /// Channel → kind → total.
    pub by_channel: BTreeMap<String, BTreeMap<String, i64>>,
    /// Content id → kind → total.
    pub by_content: BTreeMap<String, BTreeMap<String, i64>>,
    /// Bucket start (unix seconds) → kind → total, ascending.
    pub series: BTreeMap<i64, BTreeMap<String, i64>>,
}

/// Counter totals of `campaign_id` for buckets starting in `[from, to)` (unix seconds),
/// bucketed by `bucket_secs` (3600 or 86400).
pub async fn campaign_totals<K: Kv>(
    _kv: &K,
    _campaign_id: &str,
    _from: i64,
    _to: i64,
    _bucket_secs: i64,
) -> Result<CampaignTotals, StoreError> {
    Ok(CampaignTotals::default())
}
