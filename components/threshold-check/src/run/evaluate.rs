//! Which campaigns and resources a run looks at, and what the due rules observe in
//! them: one batch of campaigns at a time, all their metric windows read together.

use std::collections::BTreeSet;

use opsflow_api::Problem;
use opsflow_domain::campaign::{Campaign, PlanningBook, Resource};
use opsflow_domain::monitoring::metric::{self, Window, peak_utilization, watches};
use opsflow_domain::monitoring::{Category, Metric, Observation, Rule, Scope};
use opsflow_store::keys::campaigns as ckeys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{IdSet, Records, Versioned};

use super::alerts::{RESOURCES_OWNER, apply};
use super::history::RunRecord;
use super::{BATCH, CHUNK_CAMPAIGNS};

/// What one run produced so far.
pub(super) struct Tally<'a> {
    pub(super) kv: &'a SpinKv,
    pub(super) run_id: &'a str,
    pub(super) requested_by: &'a str,
    pub(super) now: i64,
    pub(super) record: RunRecord,
    pub(super) rule_ids: BTreeSet<String>,
}

/// Where a chunk left the run.
pub(super) struct Step {
    /// The last campaign fully evaluated.
    pub(super) cursor: Option<String>,
    /// Whether the run is done (every campaign, and the resource pool).
    pub(super) done: bool,
}

/// Evaluates one chunk of the run: the next `limit` watched campaigns after
/// `after` (in id order), and, once the campaigns are done, the resource pool.
pub(super) async fn evaluate(
    tally: &mut Tally<'_>,
    rules: &[Rule],
    categories: &[Category],
    after: Option<&str>,
    limit: usize,
) -> Result<Step, Problem> {
    let due: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.enabled && categories.contains(&r.category))
        .collect();
    tally.record.rules = due.len();
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
    let mut step = Step {
        cursor: after.map(str::to_string),
        done: true,
    };
    if !campaign_rules.is_empty() {
        step = evaluate_campaigns(tally, &campaign_rules, after, limit).await?;
    }
    if step.done && !resource_rules.is_empty() {
        evaluate_resources(tally, &resource_rules).await?;
    }
    Ok(step)
}

/// The next `limit` watched campaigns after `after`, in id order, in batches.
/// Only the index shards from `after` on are read (a chunk's work does not grow
/// with the index), at most [`MAX_SCAN_SHARDS`] of them: a chunk where few
/// campaigns are watched evaluates fewer and moves the cursor past what it read.
async fn evaluate_campaigns(
    tally: &mut Tally<'_>,
    rules: &[&Rule],
    after: Option<&str>,
    limit: usize,
) -> Result<Step, Problem> {
    let limit = limit.max(1);
    let watch = Watch::new(rules);
    let mut ids: Vec<String> = Vec::with_capacity(limit.min(CHUNK_CAMPAIGNS));
    let mut cursor = after.map(str::to_string);
    // Shards a full chunk spans, plus the one it starts in.
    let per_scan = limit.div_ceil(opsflow_store::campaigns::SHARD_CAPACITY) + 1;
    let mut read = 0;
    let done = 'scan: loop {
        let scan = opsflow_store::campaigns::scan(tally.kv, cursor.as_deref(), per_scan).await?;
        read += per_scan;
        for (id, entry) in scan.entries {
            if watch.wants(&id, &entry.stage) {
                ids.push(id);
                if ids.len() == limit {
                    // The next chunk starts after this one's last campaign.
                    cursor = ids.last().cloned();
                    break 'scan false;
                }
            }
        }
        match scan.next {
            // Past every id the read shards hold.
            Some(next) => cursor = Some(next),
            None => {
                cursor = ids.last().cloned().or(cursor);
                break true;
            }
        }
        if read >= MAX_SCAN_SHARDS {
            break false;
        }
    };
    // Observed batch by batch, stepped once for the whole chunk: what fires in
    // it is written and indexed together (see `alerts`), not once per batch.
    let records = Records::new(tally.kv);
    let mut owners: Vec<String> = Vec::with_capacity(ids.len());
    let mut observations = Vec::new();
    for chunk in ids.chunks(BATCH) {
        let keys: Vec<_> = chunk.iter().map(|id| ckeys::campaign(id)).collect();
        let campaigns: Vec<Versioned<Campaign>> = records.get_many(&keys).await?;
        observations.extend(observe(tally, rules, &campaigns).await?);
        tally.record.counts.campaigns += campaigns.len();
        owners.extend(campaigns.iter().map(|c| c.value.id().to_string()));
    }
    apply(tally, &owners, observations).await?;
    Ok(Step { cursor, done })
}

/// Index shards one chunk reads at most, however few of their campaigns it watches.
const MAX_SCAN_SHARDS: usize = 64;

/// The campaigns a run looks at: every live one (distribution, monitoring,
/// optimization) when a rule watches all campaigns, plus the not-yet-closed
/// campaigns a rule names.
struct Watch<'r> {
    named: BTreeSet<&'r str>,
    any_live: bool,
}

impl<'r> Watch<'r> {
    fn new(rules: &[&'r Rule]) -> Self {
        // Filled with `extend`: `collect` into a set sorts, and compiles a sort per
        // element type (docs: BENCHMARKS.md "Component sizes").
        let mut named = BTreeSet::new();
        named.extend(rules.iter().filter_map(|r| match &r.scope {
            Scope::Campaign { campaign_id, .. } => Some(campaign_id.as_str()),
            _ => None,
        }));
        Self {
            named,
            any_live: rules
                .iter()
                .any(|r| !matches!(r.scope, Scope::Campaign { .. })),
        }
    }

    fn wants(&self, id: &str, stage: &str) -> bool {
        let live = matches!(stage, "distribution" | "monitoring" | "optimization");
        (self.any_live && live)
            || (self.named.contains(id) && !matches!(stage, "completed" | "cancelled"))
    }
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
            let mut windows = BTreeSet::new();
            windows.extend(
                rules
                    .iter()
                    .filter(|r| watches(r, &c.value))
                    .flat_map(|r| metric::required_windows(r, &c.value, tally.now)),
            );
            windows
        })
        .collect();
    let wanted: Vec<(&str, Vec<Window>)> = campaigns
        .iter()
        .zip(wanted)
        .map(|(c, windows)| (c.value.id(), windows.into_iter().collect()))
        .collect();
    let reads = opsflow_store::metrics::campaign_windows(tally.kv, &wanted).await?;
    let mut observations = Vec::new();
    for (c, read) in campaigns.iter().zip(&reads) {
        for rule in rules.iter().copied().filter(|r| watches(r, &c.value)) {
            for o in metric::evaluate(rule, &c.value, read, tally.now) {
                observations.push((rule, o));
            }
        }
    }
    Ok(observations)
}

async fn evaluate_resources(tally: &mut Tally<'_>, rules: &[&Rule]) -> Result<(), Problem> {
    let kv = tally.kv;
    let records = Records::new(kv);
    let ids = IdSet::new(kv, ckeys::resource_index()).ids().await?;
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
