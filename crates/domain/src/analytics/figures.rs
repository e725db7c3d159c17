//! The figures of a period, from the samples of the weeks it covers (and, for the
//! review queue, of the weeks before it up to now).

use super::sample::{Sample, TriggerOutcome, role_team, stage_team};
use super::stats::Duration;
use crate::campaign::{Allocation, DateRange, Resource, Stage, utilization};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How many handoffs and bottlenecks a report lists.
pub const TOP: usize = 10;

/// A half-open interval of unix seconds.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: i64,
    pub to: i64,
}

impl Period {
    fn has(&self, t: i64) -> bool {
        self.from <= t && t < self.to
    }
}

/// Which samples count. `campaigns` is the set an owner filter resolved to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub campaign: Option<String>,
    pub channel: Option<String>,
    pub campaigns: Option<BTreeSet<String>>,
    pub team: Option<String>,
}

impl Filter {
    /// Whether `s` passes every filter but the team (whose meaning depends on
    /// the figure: a campaign stage's owner, an approval stage's role).
    fn scope(&self, s: &Sample) -> bool {
        let campaign = s.campaign();
        if self
            .campaign
            .as_deref()
            .is_some_and(|c| campaign != Some(c))
        {
            return false;
        }
        if let Some(set) = &self.campaigns
            && !campaign.is_some_and(|c| set.contains(c))
        {
            return false;
        }
        // Campaign stages and triggers have no channel: a channel filter narrows content.
        match (&self.channel, s.channel()) {
            (Some(want), Some(ch)) => want == ch,
            _ => true,
        }
    }

    fn team(&self, team: Option<&str>) -> bool {
        self.team.as_deref().is_none_or(|t| team == Some(t))
    }

    /// The content authoring figures (rework, on time, approvals) are
    /// marketing's work; triggers are operations'.
    fn content_team(&self) -> bool {
        self.team(Some("marketing"))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    pub stage: String,
    pub team: Option<&'static str>,
    #[serde(flatten)]
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandoffWait {
    pub campaign_id: String,
    /// Filled in by the caller, which reads the campaigns' names.
    pub campaign_name: String,
    pub from: String,
    pub to: String,
    pub waited_seconds: i64,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Turnaround {
    pub key: String,
    #[serde(flatten)]
    pub duration: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueStage {
    pub stage: String,
    pub waiting: u64,
    pub oldest_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approvals {
    pub by_stage: Vec<Turnaround>,
    pub by_reviewer: Vec<Turnaround>,
    pub queue: Vec<QueueStage>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Rework {
    pub items_reviewed: u64,
    pub items_reworked: u64,
    pub share: Option<f64>,
    pub changes_requested_items: u64,
    pub edited_after_approval_items: u64,
    pub rounds_mean: Option<f64>,
    pub rounds_max: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OnTime {
    pub key: String,
    pub items: u64,
    pub on_time: u64,
    pub late: u64,
    pub share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OnTimes {
    pub by_channel: Vec<OnTime>,
    pub by_campaign: Vec<OnTime>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TriggerFunnel {
    pub fired: u64,
    pub executed: u64,
    pub succeeded: u64,
    pub dead_lettered: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionEffect {
    pub trigger_id: String,
    pub campaign_id: Option<String>,
    pub rule_id: String,
    pub metric: String,
    pub before: Option<f64>,
    /// Filled in by the caller from the metric 24 h after the action.
    pub after: Option<f64>,
    pub acted_at: DateTime<Utc>,
    /// The scope the rule measured, to find its value again.
    #[serde(skip)]
    pub scope: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Automation {
    pub approved_items: u64,
    pub auto_approved_items: u64,
    pub auto_share: Option<f64>,
    pub triggers: TriggerFunnel,
    pub firing_to_action: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bottleneck {
    pub kind: &'static str,
    pub name: String,
    pub waiting_seconds: i64,
    pub count: u64,
}

/// Every figure but resource utilization (which reads the planning book).
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub stages: Vec<StageTime>,
    pub longest_handoffs: Vec<HandoffWait>,
    pub approvals: Approvals,
    pub rework: Rework,
    pub on_time: OnTimes,
    pub automation: Automation,
    pub bottlenecks: Vec<Bottleneck>,
}

fn time(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// The figures of `period` from `samples` (which may hold the same sample twice
/// and samples outside the period); the queue is as of `now`.
pub fn figures(samples: &[Sample], period: Period, filter: &Filter, now: i64) -> Figures {
    // One copy of each sample, in scope.
    let mut unique: BTreeMap<String, &Sample> = BTreeMap::new();
    for s in samples.iter().filter(|s| filter.scope(s)) {
        unique.insert(s.id(), s);
    }
    let scoped: Vec<&Sample> = unique.into_values().collect();
    let in_period: Vec<&Sample> = scoped
        .iter()
        .copied()
        .filter(|s| period.has(s.at()))
        .collect();
    let (stages, longest_handoffs, stage_waits) = stage_figures(&in_period, filter);
    let (approvals, step_waits) = approval_figures(&scoped, &in_period, filter, now);
    let mut bottlenecks: Vec<Bottleneck> = stage_waits
        .into_iter()
        .map(|(name, (waiting_seconds, count))| Bottleneck {
            kind: "campaign_stage",
            name,
            waiting_seconds,
            count,
        })
        .chain(
            step_waits
                .into_iter()
                .map(|(name, (waiting_seconds, count))| Bottleneck {
                    kind: "approval_stage",
                    name,
                    waiting_seconds,
                    count,
                }),
        )
        .collect();
    crate::sort::sort_by(&mut bottlenecks, |a, b| {
        b.waiting_seconds.cmp(&a.waiting_seconds)
    });
    bottlenecks.truncate(TOP);
    let content = filter.content_team();
    Figures {
        stages,
        longest_handoffs,
        approvals,
        rework: if content {
            rework(&in_period)
        } else {
            Rework::default()
        },
        on_time: on_time(if content { &in_period } else { &[] }, &scoped),
        automation: automation(&in_period, filter),
        bottlenecks,
    }
}

type Waits = BTreeMap<String, (i64, u64)>;

fn stage_figures(
    in_period: &[&Sample],
    filter: &Filter,
) -> (Vec<StageTime>, Vec<HandoffWait>, Waits) {
    let mut by_stage: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut handoffs = Vec::new();
    for s in in_period {
        if let Sample::Stage {
            campaign,
            from,
            to,
            entered,
            left,
        } = s
            && filter.team(stage_team(from))
        {
            let waited = (left - entered).max(0);
            by_stage.entry(from).or_default().push(waited);
            handoffs.push(HandoffWait {
                campaign_id: campaign.clone(),
                campaign_name: String::new(),
                from: from.clone(),
                to: to.clone(),
                waited_seconds: waited,
                at: time(*left),
            });
        }
    }
    let order = |name: &str| {
        Stage::ALL
            .iter()
            .position(|s| s.as_str() == name)
            .unwrap_or(Stage::ALL.len())
    };
    let mut stages: Vec<StageTime> = by_stage
        .iter()
        .map(|(stage, values)| StageTime {
            stage: stage.to_string(),
            team: stage_team(stage),
            duration: Duration::of(values.clone()),
        })
        .collect();
    crate::sort::sort_by_key(&mut stages, |s| order(&s.stage));
    let waits = stages
        .iter()
        .map(|s| {
            (
                s.stage.clone(),
                (s.duration.total_seconds, s.duration.count),
            )
        })
        .collect();
    crate::sort::sort_by(&mut handoffs, |a, b| {
        b.waited_seconds
            .cmp(&a.waited_seconds)
            .then(a.at.cmp(&b.at))
    });
    handoffs.truncate(TOP);
    (stages, handoffs, waits)
}

fn grouped(entries: Vec<(String, i64)>) -> Vec<Turnaround> {
    let mut map: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, v) in entries {
        map.entry(k).or_default().push(v);
    }
    map.into_iter()
        .map(|(key, values)| Turnaround {
            key,
            duration: Duration::of(values),
        })
        .collect()
}

struct Decided<'a> {
    stage: &'a str,
    reviewer: &'a str,
    approve: bool,
    submitted: i64,
    at: i64,
    counted: bool,
}

fn approval_figures(
    scoped: &[&Sample],
    in_period: &[&Sample],
    filter: &Filter,
    now: i64,
) -> (Approvals, Waits) {
    // Decisions per (item, round), in time order: the wait each one added is from
    // the round's start or the decision before it, whichever is later.
    let mut rounds: BTreeMap<(&str, u32), Vec<Decided>> = BTreeMap::new();
    let period_ids: BTreeSet<String> = in_period.iter().map(|s| s.id()).collect();
    for s in scoped {
        if let Sample::Decision {
            item,
            round,
            stage,
            role,
            reviewer,
            approve,
            submitted,
            at,
            ..
        } = s
        {
            rounds.entry((item, *round)).or_default().push(Decided {
                stage,
                reviewer,
                approve: *approve,
                submitted: *submitted,
                at: *at,
                counted: period_ids.contains(&s.id()) && filter.team(role_team(role)),
            });
        }
    }
    let (mut by_stage, mut by_reviewer) = (Vec::new(), Vec::new());
    let mut steps: Waits = BTreeMap::new();
    for decisions in rounds.values_mut() {
        crate::sort::sort_by_key(decisions, |d| d.at);
        let mut since = i64::MIN;
        for d in decisions.iter() {
            let start = since.max(d.submitted);
            if d.counted {
                let turnaround = (d.at - d.submitted).max(0);
                by_stage.push((d.stage.to_string(), turnaround));
                by_reviewer.push((d.reviewer.to_string(), turnaround));
                let step = steps.entry(d.stage.to_string()).or_default();
                step.0 += (d.at - start).max(0);
                step.1 += 1;
            }
            since = d.at;
        }
    }
    let queue = queue(scoped, &rounds, filter, now);
    (
        Approvals {
            by_stage: grouped(by_stage),
            by_reviewer: grouped(by_reviewer),
            queue,
        },
        steps,
    )
}

/// Items waiting for a decision now: each item's latest review round that
/// nothing has closed, waiting in the open stages of its first incomplete group.
fn queue(
    scoped: &[&Sample],
    rounds: &BTreeMap<(&str, u32), Vec<Decided>>,
    filter: &Filter,
    now: i64,
) -> Vec<QueueStage> {
    let mut latest: BTreeMap<&str, &Sample> = BTreeMap::new();
    let mut closed: BTreeMap<&str, u32> = BTreeMap::new();
    for s in scoped {
        match s {
            Sample::Opened { item, round, .. } => {
                let newer = latest.get(item.as_str()).is_none_or(|o| match o {
                    Sample::Opened { round: r, .. } => round > r,
                    _ => true,
                });
                if newer {
                    latest.insert(item, s);
                }
            }
            Sample::Approved { item, round, .. }
            | Sample::Withdrawn { item, round, .. }
            | Sample::Rework { item, round, .. } => {
                let c = closed.entry(item).or_default();
                *c = (*c).max(*round);
            }
            _ => {}
        }
    }
    let mut waiting: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for (item, s) in latest {
        let Sample::Opened {
            round, at, stages, ..
        } = s
        else {
            continue;
        };
        if closed.get(item).is_some_and(|c| c >= round) {
            continue;
        }
        let decided = rounds.get(&(item, *round));
        if decided.is_some_and(|ds| ds.iter().any(|d| !d.approve)) {
            continue;
        }
        let approvals = |name: &str| -> (u32, i64) {
            let mut who: BTreeSet<&str> = BTreeSet::new();
            let mut last = i64::MIN;
            for d in decided.into_iter().flatten() {
                if d.approve && d.stage == name {
                    who.insert(d.reviewer);
                    last = last.max(d.at);
                }
            }
            (u32::try_from(who.len()).unwrap_or(u32::MAX), last)
        };
        // Stages grouped by when they open: a stage and the parallel ones after it.
        let mut since = *at;
        let mut group: Vec<&super::StageSpec> = Vec::new();
        let mut open: Option<Vec<&super::StageSpec>> = None;
        for (i, spec) in stages.iter().enumerate() {
            if i > 0 && !spec.parallel {
                if group.iter().any(|g| approvals(&g.name).0 < g.needed) {
                    open = Some(std::mem::take(&mut group));
                    break;
                }
                since = group
                    .iter()
                    .map(|g| approvals(&g.name).1)
                    .fold(since, i64::max);
                group.clear();
            }
            group.push(spec);
        }
        let open = open.unwrap_or(group);
        for spec in open {
            if approvals(&spec.name).0 >= spec.needed || !filter.team(role_team(&spec.role)) {
                continue;
            }
            let w = waiting.entry(spec.name.clone()).or_insert((0, 0));
            w.0 += 1;
            w.1 = w.1.max(now - since);
        }
    }
    waiting
        .into_iter()
        .map(|(stage, (waiting, oldest_seconds))| QueueStage {
            stage,
            waiting,
            oldest_seconds,
        })
        .collect()
}

fn rework(in_period: &[&Sample]) -> Rework {
    let mut reviewed: BTreeSet<&str> = BTreeSet::new();
    let mut changes: BTreeSet<&str> = BTreeSet::new();
    let mut edited: BTreeSet<&str> = BTreeSet::new();
    let mut rounds: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for s in in_period {
        match s {
            Sample::Decision { item, round, .. } | Sample::Approved { item, round, .. } => {
                reviewed.insert(item);
                rounds.entry(item).or_default().insert(*round);
            }
            Sample::Opened { item, round, .. } => {
                rounds.entry(item).or_default().insert(*round);
            }
            Sample::Rework { item, edit, .. } => {
                if *edit {
                    edited.insert(item);
                } else {
                    changes.insert(item);
                }
            }
            _ => {}
        }
    }
    let reworked = reviewed
        .iter()
        .filter(|i| changes.contains(*i) || edited.contains(*i))
        .count() as u64;
    let per_item: Vec<u64> = reviewed
        .iter()
        .map(|i| rounds.get(i).map_or(1, |r| r.len().max(1) as u64))
        .collect();
    let total: u64 = per_item.iter().sum();
    let n = reviewed.len() as u64;
    Rework {
        items_reviewed: n,
        items_reworked: reworked,
        share: ratio(reworked, n),
        changes_requested_items: reviewed.iter().filter(|i| changes.contains(*i)).count() as u64,
        edited_after_approval_items: reviewed.iter().filter(|i| edited.contains(*i)).count() as u64,
        rounds_mean: (n > 0).then(|| total as f64 / n as f64),
        rounds_max: per_item.iter().copied().max().unwrap_or(0),
    }
}

/// Items and on-time items per key.
type Counts<'a> = BTreeMap<&'a str, (u64, u64)>;

/// Items approved in the period with a due time: on time when approved at or
/// before it and, if its send was scheduled after that approval, scheduled by then too.
fn on_time(in_period: &[&Sample], scoped: &[&Sample]) -> OnTimes {
    let mut latest: BTreeMap<&str, (&str, &str, i64, i64)> = BTreeMap::new();
    for s in in_period {
        if let Sample::Approved {
            item,
            campaign,
            channel,
            due: Some(due),
            at,
            ..
        } = s
            && latest.get(item.as_str()).is_none_or(|l| l.3 < *at)
        {
            latest.insert(item, (campaign, channel, *due, *at));
        }
    }
    let mut scheduled: BTreeMap<&str, i64> = BTreeMap::new();
    for s in scoped {
        if let Sample::Scheduled { item, at, .. } = s
            && let Some(&(_, _, _, approved)) = latest.get(item.as_str())
            && *at >= approved
        {
            let first = scheduled.entry(item).or_insert(*at);
            *first = (*first).min(*at);
        }
    }
    let mut channels: Counts = BTreeMap::new();
    let mut campaigns: Counts = BTreeMap::new();
    for (item, (campaign, channel, due, approved)) in &latest {
        let ok = *approved <= *due && scheduled.get(item).is_none_or(|s| *s <= *due);
        for (map, key) in [(&mut channels, *channel), (&mut campaigns, *campaign)] {
            let e = map.entry(key).or_default();
            e.0 += 1;
            e.1 += u64::from(ok);
        }
    }
    let rows = |map: Counts| -> Vec<OnTime> {
        map.into_iter()
            .map(|(key, (items, on_time))| OnTime {
                key: key.to_string(),
                items,
                on_time,
                late: items - on_time,
                share: ratio(on_time, items),
            })
            .collect()
    };
    OnTimes {
        by_channel: rows(channels),
        by_campaign: rows(campaigns),
    }
}

fn automation(in_period: &[&Sample], filter: &Filter) -> Automation {
    let mut approved: BTreeMap<&str, (i64, bool)> = BTreeMap::new();
    let mut outcomes: BTreeMap<TriggerOutcome, BTreeSet<&str>> = BTreeMap::new();
    let mut attempted: BTreeSet<&str> = BTreeSet::new();
    let mut to_action = Vec::new();
    let (content, ops) = (filter.content_team(), filter.team(Some("operations")));
    for s in in_period {
        match s {
            Sample::Approved { item, auto, at, .. }
                if content && approved.get(item.as_str()).is_none_or(|a| a.0 <= *at) =>
            {
                approved.insert(item, (*at, *auto));
            }
            Sample::Trigger {
                trigger,
                outcome,
                fired,
                at,
                ..
            } if ops => {
                outcomes.entry(*outcome).or_default().insert(trigger);
                if *outcome != TriggerOutcome::Fired && *outcome != TriggerOutcome::Rejected {
                    attempted.insert(trigger);
                }
                if *outcome == TriggerOutcome::Succeeded {
                    to_action.push((at - fired).max(0));
                }
            }
            _ => {}
        }
    }
    let count = |o: TriggerOutcome| outcomes.get(&o).map_or(0, |s| s.len() as u64);
    let approved_items = approved.len() as u64;
    let auto = approved.values().filter(|a| a.1).count() as u64;
    Automation {
        approved_items,
        auto_approved_items: auto,
        auto_share: ratio(auto, approved_items),
        triggers: TriggerFunnel {
            fired: count(TriggerOutcome::Fired),
            executed: attempted.len() as u64,
            succeeded: count(TriggerOutcome::Succeeded),
            dead_lettered: count(TriggerOutcome::DeadLettered),
            rejected: count(TriggerOutcome::Rejected),
        },
        firing_to_action: Duration::of(to_action),
    }
}

/// The actions that succeeded in `period`, latest first, each with the value
/// its rule saw when it fired (`after` is the caller's to measure).
pub fn effects(samples: &[Sample], period: Period, filter: &Filter) -> Vec<ActionEffect> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    if !filter.team(Some("operations")) {
        return out;
    }
    for s in samples {
        if let Sample::Trigger {
            trigger,
            campaign,
            rule,
            metric,
            outcome: TriggerOutcome::Succeeded,
            at,
            value,
            scope,
            ..
        } = s
            && period.has(*at)
            && filter.scope(s)
            && seen.insert(trigger.clone())
        {
            out.push(ActionEffect {
                trigger_id: trigger.clone(),
                campaign_id: campaign.clone(),
                rule_id: rule.clone(),
                metric: metric.clone(),
                before: *value,
                after: None,
                acted_at: time(*at),
                scope: scope.clone(),
            });
        }
    }
    crate::sort::sort_by_key(&mut out, |e| std::cmp::Reverse(e.acted_at));
    out
}

/// One resource over one ISO week of the period.
#[derive(Debug, Clone, Serialize)]
pub struct WeekUtilization {
    pub week: String,
    pub resource_id: String,
    pub resource_name: String,
    pub unit: String,
    pub allocated: i64,
    pub capacity: i64,
    pub utilization: Option<f64>,
}

/// Allocated against capacity per resource and ISO week over `days`, counting
/// only the allocations of `campaigns` when given.
pub fn utilization_by_week(
    resources: &[Resource],
    allocations: &[Allocation],
    days: DateRange,
    campaigns: Option<&BTreeSet<String>>,
) -> Vec<WeekUtilization> {
    let kept: Vec<Allocation> = allocations
        .iter()
        .filter(|a| campaigns.is_none_or(|c| c.contains(&a.campaign_id)))
        .cloned()
        .collect();
    let week = |d: NaiveDate| {
        let w = d.iso_week();
        format!("{}-W{:02}", w.year(), w.week())
    };
    let mut out: Vec<WeekUtilization> = Vec::new();
    for (r, u) in resources.iter().zip(utilization(resources, &kept, days)) {
        for d in &u.days {
            let name = week(d.date);
            match out.last_mut() {
                Some(w) if w.resource_id == r.id && w.week == name => {
                    w.allocated += d.allocated;
                    w.capacity += d.capacity;
                }
                _ => out.push(WeekUtilization {
                    week: name,
                    resource_id: r.id.clone(),
                    resource_name: r.name.to_string(),
                    unit: serde_json::to_value(u.unit)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    allocated: d.allocated,
                    capacity: d.capacity,
                    utilization: None,
                }),
            }
        }
    }
    for w in &mut out {
        w.utilization = (w.capacity > 0).then(|| w.allocated as f64 / w.capacity as f64);
    }
    out
}
