//! Which campaigns and resources a run looks at, and what the due rules observe in
//! them: one batch of campaigns at a time, all their metric windows read together.

use std::collections::{BTreeMap, BTreeSet};

use opsflow_api::Problem;
use opsflow_domain::campaign::{Campaign, PlanningBook, Resource};
use opsflow_domain::monitoring::metric::{self, Totals, Window, peak_utilization, watches};
use opsflow_domain::monitoring::{Category, Claim, Metric, Observation, Rule, Scope};
use opsflow_store::keys::campaigns as ckeys;
use opsflow_store::metrics::TotalsQuery;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Index, Records, Versioned};

use super::BATCH;
use super::alerts::{RESOURCES_OWNER, apply};
use super::history::RunRecord;

/// What one run produced so far.
pub(super) struct Tally<'a> {
    pub(super) kv: &'a SpinKv,
    pub(super) run_id: &'a str,
    pub(super) requested_by: &'a str,
    pub(super) now: i64,
    pub(super) record: RunRecord,
    /// Suffixes (the operation part) of every known trigger id, read once.
    pub(super) known_ops: Option<BTreeSet<String>>,
    pub(super) rule_ids: BTreeSet<String>,
}

pub(super) async fn evaluate(
    kv: &SpinKv,
    claim: &Claim,
    requested_by: &str,
    now: i64,
) -> Result<RunRecord, Problem> {
    let rules: Vec<Rule> = crate::rules::load_rules(kv, now)
        .await?
        .into_iter()
        .map(|v| v.value)
        .collect();
    let due: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.enabled && claim.categories.contains(&r.category))
        .collect();
    let mut tally = Tally {
        kv,
        run_id: &claim.run_id,
        requested_by,
        now,
        record: RunRecord {
            id: claim.run_id.clone(),
            now,
            requested_by: requested_by.to_string(),
            categories: claim.categories.clone(),
            rules: due.len(),
            took_over: claim.took_over.clone(),
            ..RunRecord::default()
        },
        known_ops: None,
        rule_ids: rules.iter().map(|r| r.id.clone()).collect(),
    };
    let campaign_rules: Vec<&Rule> = due
        .iter()
        .copied()
        .filter(|r| r.category != Category::ResourceUtilization)
        .collect();
    let resource_rules: Vec<&Rule> = due
        .iter()
        .copied()
        .filter(|r| r.category == Category::ResourceUtilization)
        .collect();
    if !campaign_rules.is_empty() {
        evaluate_campaigns(&mut tally, &campaign_rules).await?;
    }
    if !resource_rules.is_empty() {
        evaluate_resources(&mut tally, &resource_rules).await?;
    }
    Ok(tally.record)
}

async fn evaluate_campaigns(tally: &mut Tally<'_>, rules: &[&Rule]) -> Result<(), Problem> {
    let ids = campaigns_to_watch(tally.kv, rules).await?;
    let records = Records::new(tally.kv);
    for chunk in ids.chunks(BATCH) {
        let keys: Vec<_> = chunk.iter().map(|id| ckeys::campaign(id)).collect();
        let campaigns: Vec<Versioned<Campaign>> = records.get_many(&keys).await?;
        let observations = observe(tally, rules, &campaigns).await?;
        tally.record.campaigns += campaigns.len();
        let owners: Vec<String> = campaigns.iter().map(|c| c.value.id().to_string()).collect();
        apply(tally, &owners, observations).await?;
    }
    Ok(())
}

/// The campaigns a run looks at: every live one (distribution, monitoring,
/// optimization) when a rule watches all campaigns, plus the not-yet-closed
/// campaigns a rule names.
async fn campaigns_to_watch(kv: &SpinKv, rules: &[&Rule]) -> Result<Vec<String>, Problem> {
    let named: BTreeSet<&str> = rules
        .iter()
        .filter_map(|r| match &r.scope {
            Scope::Campaign { campaign_id, .. } => Some(campaign_id.as_str()),
            _ => None,
        })
        .collect();
    let any_live = rules
        .iter()
        .any(|r| !matches!(r.scope, Scope::Campaign { .. }));
    let index = opsflow_store::campaigns::index(kv).await?;
    Ok(index
        .into_iter()
        .filter(|(id, e)| {
            let live = matches!(
                e.stage.as_str(),
                "distribution" | "monitoring" | "optimization"
            );
            (any_live && live)
                || (named.contains(id.as_str())
                    && !matches!(e.stage.as_str(), "completed" | "cancelled"))
        })
        .map(|(id, _)| id)
        .collect())
}

/// What `rules` observe in one batch of campaigns. Every window of every campaign
/// of the batch is answered from the campaigns' rollups, read together: one
/// `get_many` per ROLLUP_CHUNK campaigns, whatever the windows (hour records only
/// for a window older than a rollup keeps, as a replay with an old `now` asks).
async fn observe<'r>(
    tally: &Tally<'_>,
    rules: &[&'r Rule],
    campaigns: &[Versioned<Campaign>],
) -> Result<Vec<(&'r Rule, Observation)>, Problem> {
    let wanted: Vec<BTreeSet<Window>> = campaigns
        .iter()
        .map(|c| {
            rules
                .iter()
                .filter(|r| watches(r, &c.value))
                .flat_map(|r| metric::required_windows(r, &c.value, tally.now))
                .collect()
        })
        .collect();
    let queries: Vec<TotalsQuery<'_>> = campaigns
        .iter()
        .zip(&wanted)
        .flat_map(|(c, windows)| {
            windows.iter().map(|w| TotalsQuery {
                campaign_id: c.value.id(),
                from: w.from,
                to: w.to,
                bucket_secs: w.bucket_secs,
                channel: None,
            })
        })
        .collect();
    let mut totals = opsflow_store::metrics::window_totals_many(tally.kv, &queries)
        .await?
        .into_iter();
    let mut observations = Vec::new();
    for (c, windows) in campaigns.iter().zip(wanted) {
        let mut read: BTreeMap<Window, Totals> = BTreeMap::new();
        for w in windows {
            if let Some(t) = totals.next() {
                read.insert(
                    w,
                    Totals {
                        by_kind: t.by_kind,
                        by_channel: t.by_channel,
                    },
                );
            }
        }
        for rule in rules.iter().copied().filter(|r| watches(r, &c.value)) {
            for o in metric::evaluate(rule, &c.value, &read, tally.now) {
                observations.push((rule, o));
            }
        }
    }
    Ok(observations)
}

async fn evaluate_resources(tally: &mut Tally<'_>, rules: &[&Rule]) -> Result<(), Problem> {
    let kv = tally.kv;
    let records = Records::new(kv);
    let ids = Index::new(kv, ckeys::resource_index()).ids().await?;
    let mut resources: Vec<Resource> = Vec::new();
    for chunk in ids.chunks(BATCH) {
        let keys: Vec<_> = chunk.iter().map(|id| ckeys::resource(id)).collect();
        resources.extend(
            records
                .get_many::<Resource>(&keys)
                .await?
                .into_iter()
                .map(|v| v.value),
        );
    }
    let book = records
        .get::<PlanningBook>(&ckeys::allocations())
        .await?
        .map(|v| v.value)
        .unwrap_or_default();
    let today = chrono::DateTime::from_timestamp(tally.now, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let observations: Vec<(&Rule, Observation)> = rules
        .iter()
        .copied()
        .filter_map(|r| match r.metric {
            Metric::Utilization { horizon_days } => Some((
                r,
                peak_utilization(&resources, &book.allocations, today, horizon_days),
            )),
            _ => None,
        })
        .collect();
    apply(tally, &[RESOURCES_OWNER.to_string()], observations).await
}
