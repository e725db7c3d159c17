//! What other areas may read about monitoring rules (owned by the monitoring work).

use crate::Index;
use crate::keys::monitoring::{rule, rule_index};
use crate::kv::{Kv, StoreError};
use crate::records::Records;

/// Ids of the monitoring rules that apply to `campaign_id` (campaign-scoped rules
/// and rules scoped to all campaigns or their channels), enabled ones only.
/// Two reads: the rule index and one batch of rules.
pub async fn rule_ids_for_campaign<K: Kv>(
    kv: &K,
    campaign_id: &str,
) -> Result<Vec<String>, StoreError> {
    let records = Records::new(kv);
    let ids: Vec<String> = match Index::new(kv, rule_index()).stored_ids().await? {
        Some(ids) => ids,
        // Never initialised: the shipped defaults apply to every campaign.
        None => {
            return Ok(opsflow_domain::monitoring::default_rules(0)
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
                Index::new(&kv, rule_index())
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
