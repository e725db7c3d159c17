//! `GET /api/analytics/effects`: the effect of each automated action, shown as
//! data: the metric its rule watches, measured by the rule itself
//! (`opsflow_domain::monitoring::evaluate` over the same windows) as of 24 hours
//! after the action, beside the value it saw when it fired. Served here, where
//! the rules and their evaluation live (process-analytics answers the other
//! figures from the same samples). At most seven KV calls: the period's samples,
//! the campaign index for an owner filter, the rules, the campaigns, the counters
//! (`window_totals_many`: one rollup per campaign; the hour records only for a
//! window older than the rollup keeps).

use opsflow_analytics_query::query;
use opsflow_api::csv::{Csv, Format};
use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::analytics::figures::ActionEffect;
use opsflow_domain::campaign::Campaign;
use opsflow_domain::monitoring::metric::{Window, required_windows};
use opsflow_domain::monitoring::{Rule, evaluate};
use opsflow_edge::Ctx;
use opsflow_store::keys::campaigns as ckeys;
use opsflow_store::keys::monitoring as mkeys;
use opsflow_store::metrics::campaign_windows;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Records, StoreError};
use std::collections::BTreeMap;

/// How long after the action its effect is measured.
pub const AFTER_SECS: i64 = 24 * 3_600;

/// Actions one answer lists at most (the latest of the period): bounds the
/// counter records one request reads.
pub const MAX_LISTED: usize = 20;

pub async fn list(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let format = opsflow_api::csv::format(&ctx.req)?;
    let mut q = query(ctx)?;
    q.resolve_owner(ctx).await?;
    let samples = opsflow_store::analytics::read(&ctx.kv, &q.weeks).await?;
    let mut effects = opsflow_domain::analytics::figures::effects(&samples, q.period(), &q.filter);
    effects.truncate(MAX_LISTED);
    let now = ctx.now.timestamp();
    let which: Vec<usize> = (0..effects.len())
        .filter(|i| effects[*i].acted_at.timestamp() + AFTER_SECS <= now)
        .collect();
    if !which.is_empty() {
        measure(&ctx.kv, &mut effects, &which).await?;
    }
    match format {
        Format::Json => Ok(opsflow_api::csv::json_varying(ApiResponse::json(
            200,
            &serde_json::json!({
                "period": { "from": q.from, "to": q.to, "weeks": q.weeks },
                "items": effects,
            }),
        ))),
        Format::Csv => {
            let mut csv = Csv::new(&COLUMNS);
            for e in &effects {
                csv.row(&[
                    e.trigger_id.as_str().into(),
                    e.campaign_id.as_deref().into(),
                    e.rule_id.as_str().into(),
                    e.metric.as_str().into(),
                    e.before.into(),
                    e.after.into(),
                    e.acted_at.to_rfc3339().into(),
                ]);
            }
            Ok(csv.into_response("action-effects.csv"))
        }
    }
}

/// The CSV columns (docs/analytics.md).
pub const COLUMNS: [&str; 7] = [
    "trigger_id",
    "campaign_id",
    "rule_id",
    "metric",
    "before",
    "after",
    "acted_at",
];

/// Sets `after` on `effects[i]` for each `i` of `which`.
async fn measure(
    kv: &SpinKv,
    effects: &mut [ActionEffect],
    which: &[usize],
) -> Result<(), StoreError> {
    let mut campaign_ids: Vec<String> = which
        .iter()
        .filter_map(|i| effects[*i].campaign_id.clone())
        .collect();
    opsflow_domain::sort::sort(&mut campaign_ids);
    campaign_ids.dedup();
    let keys: Vec<_> = campaign_ids.iter().map(|id| ckeys::campaign(id)).collect();
    let mut campaigns: BTreeMap<String, Campaign> = BTreeMap::new();
    campaigns.extend(
        Records::new(kv)
            .get_many::<Campaign>(&keys)
            .await?
            .into_iter()
            .map(|v| (v.value.id().to_string(), v.value)),
    );
    let mut rule_ids: Vec<String> = which.iter().map(|i| effects[*i].rule_id.clone()).collect();
    opsflow_domain::sort::sort(&mut rule_ids);
    rule_ids.dedup();
    let keys: Vec<_> = rule_ids.iter().map(|id| mkeys::rule(id)).collect();
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    rules.extend(
        Records::new(kv)
            .get_many::<Rule>(&keys)
            .await?
            .into_iter()
            .map(|v| (v.value.id.clone(), v.value)),
    );
    // Each measurable effect: its index, rule, campaign, time and windows.
    let mut plans: Vec<(usize, &Rule, &Campaign, i64, Vec<Window>)> = Vec::new();
    for &i in which {
        let e = &effects[i];
        let (Some(rule), Some(campaign)) = (
            rules.get(&e.rule_id),
            e.campaign_id.as_ref().and_then(|c| campaigns.get(c)),
        ) else {
            continue;
        };
        let at = e.acted_at.timestamp() + AFTER_SECS;
        let windows = required_windows(rule, campaign, at);
        plans.push((i, rule, campaign, at, windows));
    }
    let wanted: Vec<(&str, Vec<Window>)> = plans
        .iter()
        .map(|(_, _, c, _, windows)| (c.id(), windows.clone()))
        .collect();
    let reads = campaign_windows(kv, &wanted).await?;
    let mut after: Vec<(usize, Option<f64>)> = Vec::new();
    for ((i, rule, campaign, at, _), read) in plans.iter().zip(&reads) {
        let value = evaluate(rule, campaign, read, *at)
            .into_iter()
            .find(|o| o.scope_key == effects[*i].scope)
            .and_then(|o| o.value);
        after.push((*i, value));
    }
    for (i, value) in after {
        effects[i].after = value;
    }
    Ok(())
}
