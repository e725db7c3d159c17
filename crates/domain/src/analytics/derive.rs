//! Samples from what the components already record: a campaign's handoffs, a
//! trigger's record, and a content item's audit events (its record keeps neither
//! every round's start nor every decision). The live write paths and the backfill
//! call the same functions, so both produce the same samples (and ids).

use super::sample::{Sample, StageSpec, TriggerOutcome};
use crate::campaign::Campaign;
use crate::content::ContentItem;
use crate::monitoring::{Trigger, TriggerStatus};
use chrono::DateTime;
use serde_json::Value;

/// One sample per stage the campaign has left, from its handoffs.
pub fn campaign_samples(c: &Campaign) -> Vec<Sample> {
    let mut entered = c.created_at().timestamp();
    c.handoffs()
        .iter()
        .map(|h| {
            let s = Sample::Stage {
                campaign: c.id().to_string(),
                from: h.from.as_str().to_string(),
                to: h.to.as_str().to_string(),
                entered,
                left: h.at.timestamp(),
            };
            entered = h.at.timestamp();
            s
        })
        .collect()
}

/// `outcome` of trigger `t` at `at`.
fn trigger_sample(t: &Trigger, outcome: TriggerOutcome, at: i64) -> Sample {
    Sample::Trigger {
        trigger: t.id.clone(),
        campaign: t.campaign_id.clone(),
        rule: t.rule_id.clone(),
        metric: t.rule_name.clone(),
        outcome,
        fired: t.created_at,
        at,
        value: t.value,
        scope: t.scope.clone(),
    }
}

/// Everything that has happened to a trigger, from its record. Its "fired"
/// sample (at its creation) counts once it has been acted on, by an attempt or
/// an operator's decision: trigger-dispatch records it then, so the run that
/// creates triggers by the thousand writes nothing but its own records, and the
/// backfill derives the same samples as the live path.
pub fn trigger_samples(t: &Trigger) -> Vec<Sample> {
    let sample = |outcome, at| trigger_sample(t, outcome, at);
    let acted_on = !t.history.is_empty() || t.decided_at.is_some();
    if !acted_on {
        return Vec::new();
    }
    let mut out = vec![sample(TriggerOutcome::Fired, t.created_at)];
    let last = t.history.last();
    for a in &t.history {
        let terminal = std::ptr::eq(a, last.unwrap_or(a));
        if a.ok {
            out.push(sample(TriggerOutcome::Succeeded, a.at));
        } else if terminal && t.status == TriggerStatus::DeadLetter {
            out.push(sample(TriggerOutcome::DeadLettered, a.at));
        } else {
            out.push(sample(TriggerOutcome::AttemptFailed, a.at));
        }
    }
    if t.status == TriggerStatus::Rejected {
        out.push(sample(
            TriggerOutcome::Rejected,
            t.decided_at.unwrap_or(t.created_at),
        ));
    }
    out
}

/// What the content samples need to know of an item between its events.
#[derive(Debug, Clone)]
pub struct ContentTrack {
    item: String,
    campaign: String,
    channel: String,
    due: Option<i64>,
    stages: Vec<StageSpec>,
    round: u32,
    round_started: Option<i64>,
    approved: bool,
}

impl ContentTrack {
    /// The state before `item`'s pending events were applied, as far as the
    /// samples need it: the live path builds it from the stored item after the
    /// operation (whose round and round start the events agree with).
    pub fn of(item: &ContentItem) -> Self {
        Self {
            item: item.id.clone(),
            campaign: item.campaign_id.clone(),
            channel: item.channel.clone(),
            due: item.due.map(|d| d.timestamp()),
            stages: item
                .workflow
                .as_ref()
                .map(|w| {
                    w.stages
                        .iter()
                        .map(|s| StageSpec {
                            name: s.name.clone(),
                            role: s.role.as_str().to_string(),
                            needed: u32::try_from(s.needed()).unwrap_or(u32::MAX),
                            parallel: s.parallel,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            round: item.round,
            round_started: item.review_started_at.map(|t| t.timestamp()),
            approved: item.approval.is_some(),
        }
    }

    /// The backfill's starting point: the item's identity and workflow, no
    /// history (its audit events supply it in order).
    pub fn fresh(item: &ContentItem) -> Self {
        Self {
            round: 0,
            round_started: None,
            approved: false,
            ..Self::of(item)
        }
    }

    /// The samples of one audit event (`at` in unix seconds), in log order.
    pub fn observe(&mut self, at: i64, action: &str, detail: &Value) -> Vec<Sample> {
        let round_of = |d: &Value| d.get("round").and_then(Value::as_u64).map(|r| r as u32);
        let mut out = Vec::new();
        match action {
            "content.review_started" => {
                self.round = round_of(detail).unwrap_or(self.round + 1);
                self.round_started = Some(at);
                self.approved = false;
                let names: Vec<&str> = detail
                    .get("stages")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let stages = names
                    .iter()
                    .map(|n| {
                        self.stages
                            .iter()
                            .find(|s| s.name == *n)
                            .cloned()
                            .unwrap_or_else(|| StageSpec {
                                name: n.to_string(),
                                role: String::new(),
                                needed: 1,
                                parallel: false,
                            })
                    })
                    .collect();
                out.push(Sample::Opened {
                    item: self.item.clone(),
                    campaign: self.campaign.clone(),
                    channel: self.channel.clone(),
                    round: self.round,
                    at,
                    stages,
                });
            }
            "content.auto_approved" => {
                self.round = round_of(detail).unwrap_or(self.round + 1);
                self.round_started = Some(at);
                self.approved = true;
                out.push(self.approved_sample(true, at));
            }
            "content.approved" => {
                self.round = round_of(detail).unwrap_or(self.round);
                self.approved = true;
                out.push(self.approved_sample(false, at));
            }
            "content.changes_requested" => {
                // The system's (checks failed on entering review) starts a round;
                // a reviewer's ends the current one.
                if detail.get("reason").is_some() && detail.get("stage").is_none() {
                    self.round = round_of(detail).unwrap_or(self.round + 1);
                    self.round_started = Some(at);
                }
                self.approved = false;
                out.push(self.rework(false, at));
            }
            "content.decided" => {
                let text = |k: &str| {
                    detail
                        .get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                let decided = detail
                    .get("at")
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.timestamp())
                    .unwrap_or(at);
                out.push(Sample::Decision {
                    item: self.item.clone(),
                    campaign: self.campaign.clone(),
                    channel: self.channel.clone(),
                    round: round_of(detail).unwrap_or(self.round),
                    stage: text("stage"),
                    role: text("role"),
                    reviewer: text("approver"),
                    approve: text("outcome") == "approve",
                    submitted: self.round_started.unwrap_or(decided).min(decided),
                    at: decided,
                });
            }
            "content.updated" => {
                let hash = |k: &str| detail.get(k).and_then(Value::as_str);
                if self.approved && hash("previous_hash") != hash("content_hash") {
                    self.approved = false;
                    out.push(self.rework(true, at));
                }
            }
            "content.scheduled" => out.push(Sample::Scheduled {
                item: self.item.clone(),
                campaign: self.campaign.clone(),
                channel: self.channel.clone(),
                due: self.due,
                at,
            }),
            "content.withdrawn" => {
                if detail.get("previous_state").and_then(Value::as_str) == Some("in_review") {
                    out.push(Sample::Withdrawn {
                        item: self.item.clone(),
                        campaign: self.campaign.clone(),
                        channel: self.channel.clone(),
                        round: self.round,
                        at,
                    });
                }
                self.approved = false;
            }
            _ => {}
        }
        out
    }

    fn approved_sample(&self, auto: bool, at: i64) -> Sample {
        Sample::Approved {
            item: self.item.clone(),
            campaign: self.campaign.clone(),
            channel: self.channel.clone(),
            round: self.round,
            auto,
            due: self.due,
            at,
        }
    }

    fn rework(&self, edit: bool, at: i64) -> Sample {
        Sample::Rework {
            item: self.item.clone(),
            campaign: self.campaign.clone(),
            channel: self.channel.clone(),
            round: self.round,
            edit,
            at,
        }
    }
}
