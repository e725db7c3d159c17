//! Monitoring's stored forms and rules, shared by threshold-check (which evaluates
//! and writes them) and monitoring-api (which serves rules, runs and alert states),
//! and what other areas may read about monitoring rules.

use std::collections::{BTreeMap, BTreeSet};

use opsflow_domain::monitoring::{Alert, Category, Rule, RunCounts, default_rules};
use serde::{Deserialize, Serialize};

use crate::IdSet;
use crate::keys::monitoring::{rule, rule_index};
use crate::kv::{Kv, StoreError};
use crate::records::{Records, Versioned, encode};

/// The owner of the resource pool's alert record (campaigns own theirs).
pub const RESOURCES_OWNER: &str = "_resources";

/// Every alert of one owner (a campaign, or the resource pool), by `rule|scope`:
/// the record `mon/a/<owner>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertDoc {
    /// The alerts, by `rule|scope`.
    pub alerts: BTreeMap<String, Alert>,
    /// The run that last stepped these alerts, and what that counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunMark>,
}

/// What one run's stepping of one owner counted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunMark {
    /// The run.
    pub run_id: String,
    /// What stepping the owner counted in it.
    pub counts: RunCounts,
}

/// One recorded evaluation run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id (ids sort by time).
    pub id: String,
    /// The evaluation time the run used.
    pub now: i64,
    /// Who asked for it.
    pub requested_by: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339).
    pub finished_at: String,
    /// Its wall time over all its requests.
    pub duration_ms: i64,
    /// The categories that were due.
    pub categories: Vec<Category>,
    /// Rules evaluated.
    pub rules: usize,
    /// Campaigns, alert outcomes and triggers, summed over the run's chunks.
    #[serde(flatten)]
    pub counts: RunCounts,
    /// The request whose expired hold on the run another request took over, if any.
    pub took_over: Option<String>,
    /// Chunks the run took (one per request on a small store).
    #[serde(default)]
    pub chunks: u32,
}

/// Every rule, installing the shipped defaults on first use. Two reads once
/// installed.
pub async fn load_rules<K: Kv>(kv: &K, now: i64) -> Result<Vec<Versioned<Rule>>, StoreError> {
    let ids = match IdSet::new(kv, rule_index()).stored_ids().await? {
        Some(ids) => ids,
        None => install_defaults(kv, now).await?,
    };
    let keys: Vec<_> = ids.iter().map(|id| rule(id)).collect();
    Records::new(kv).get_many(&keys).await
}

async fn install_defaults<K: Kv>(kv: &K, now: i64) -> Result<Vec<String>, StoreError> {
    let defaults = default_rules(now);
    let pairs: Vec<(String, Vec<u8>)> = defaults
        .iter()
        .map(|r| encode(1, r).map(|b| (rule(&r.id).as_str().to_string(), b)))
        .collect::<Result<_, _>>()?;
    let mut ids = BTreeSet::new();
    ids.extend(defaults.iter().map(|r| r.id.clone()));
    // The index is created with compare-and-swap after the rules exist: whoever
    // wins, the rules it names are there. A loser reads the winner's index.
    let index = IdSet::new(kv, rule_index());
    if index.stored_ids().await?.is_none() {
        kv.set_many(&pairs).await?;
        index.create(&ids).await?;
    }
    Ok(index
        .stored_ids()
        .await?
        .unwrap_or_else(|| ids.into_iter().collect()))
}

/// Ids of the monitoring rules that apply to `campaign_id` (campaign-scoped rules
/// and rules scoped to all campaigns or their channels), enabled ones only.
/// Two reads: the rule index and one batch of rules.
pub async fn rule_ids_for_campaign<K: Kv>(
    kv: &K,
    campaign_id: &str,
) -> Result<Vec<String>, StoreError> {
    let records = Records::new(kv);
    let ids: Vec<String> = match IdSet::new(kv, rule_index()).stored_ids().await? {
        Some(ids) => ids,
        // Never initialised: the shipped defaults apply to every campaign.
        None => {
            return Ok(default_rules(0)
                .into_iter()
                .filter(|r| r.enabled && r.scope.covers_campaign(campaign_id))
                .map(|r| r.id)
                .collect());
        }
    };
    let keys: Vec<_> = ids.iter().map(|id| rule(id)).collect();
    let rules = records
        .get_many::<opsflow_domain::monitoring::Rule>(&keys)
        .await?;
    Ok(rules
        .into_iter()
        .map(|v| v.value)
        .filter(|r| r.enabled && r.scope.covers_campaign(campaign_id))
        .map(|r| r.id)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    #[test]
    fn defaults_apply_until_rules_are_stored_then_stored_rules_do() {
        let kv = MemoryKv::default();
        block_on(async {
            let ids = rule_ids_for_campaign(&kv, "c1").await.expect("ids");
            assert_eq!(ids.len(), 3, "the three campaign defaults: {ids:?}");
            let r = Records::new(&kv);
            let mut one = opsflow_domain::monitoring::default_rules(0).remove(0);
            one.id = "only-c2".into();
            one.scope = opsflow_domain::monitoring::Scope::Campaign {
                campaign_id: "c2".into(),
                each_channel: false,
            };
            assert!(r.create(&rule("only-c2"), &one).await.expect("create"));
            let idx: std::collections::BTreeSet<String> = ["only-c2".to_string()].into();
            assert!(
                IdSet::new(&kv, rule_index())
                    .create(&idx)
                    .await
                    .expect("create")
            );
            assert!(
                rule_ids_for_campaign(&kv, "c1")
                    .await
                    .expect("ids")
                    .is_empty()
            );
            assert_eq!(
                rule_ids_for_campaign(&kv, "c2").await.expect("ids"),
                ["only-c2"]
            );
        });
    }
}
