//! The trigger outbox: one record per firing episode (or notify repeat), and the
//! dispatch state machine around it.
//!
//! ```text
//! awaiting_approval ──approve──► pending ──begin──► dispatching ──done──► succeeded
//!        │                          ▲                   │
//!        └──reject──► rejected      └──fail (backoff)───┤
//!                                                        └──fail × max_attempts──► dead_letter
//! dead_letter ──replay──► pending
//! ```
//!
//! The record's id is the operation id every side effect carries (`Idempotency-Key`,
//! `webhook-id`), and `begin` is written with compare-and-swap, so two overlapping
//! dispatches never both perform an attempt.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::rule::{Action, Approval, Category, Rule, Severity};

/// First retry delay (seconds); doubles per attempt.
pub const BACKOFF_BASE_SECS: i64 = 30;
/// Longest retry delay.
pub const BACKOFF_CAP_SECS: i64 = 3_600;
/// How long one attempt holds the trigger before another dispatch may retry it.
pub const ATTEMPT_LEASE_SECS: i64 = 120;
/// Attempts kept in a trigger's history.
pub const HISTORY_LIMIT: usize = 25;

/// Where a trigger stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerStatus {
    /// Waits for an operations approver.
    AwaitingApproval,
    /// Due at `next_attempt_at`.
    Pending,
    /// An attempt is in flight until `lease_until`.
    Dispatching,
    /// The action was dispatched successfully.
    Succeeded,
    /// Gave up after `max_attempts`; may be replayed.
    DeadLetter,
    /// An approver said no.
    Rejected,
}

impl TriggerStatus {
    /// Whether the outbox still has work for it.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TriggerStatus::AwaitingApproval | TriggerStatus::Pending | TriggerStatus::Dispatching
        )
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerStatus::AwaitingApproval => "awaiting_approval",
            TriggerStatus::Pending => "pending",
            TriggerStatus::Dispatching => "dispatching",
            TriggerStatus::Succeeded => "succeeded",
            TriggerStatus::DeadLetter => "dead_letter",
            TriggerStatus::Rejected => "rejected",
        }
    }
}

/// One dispatch attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Attempt number (1-based, counted since the last replay).
    pub n: u32,
    /// When it started.
    pub at: i64,
    /// Whether it succeeded.
    pub ok: bool,
    /// What happened.
    pub detail: String,
}

/// A trigger in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trigger {
    /// Operation id (sortable by creation time).
    pub id: String,
    /// The rule that fired.
    pub rule_id: String,
    /// Its name then.
    pub rule_name: String,
    /// Its category.
    pub category: Category,
    /// Its severity.
    pub severity: Severity,
    /// Scope key of the alert.
    pub scope: String,
    /// The campaign, for campaign scopes.
    pub campaign_id: Option<String>,
    /// The channel, for channel scopes.
    pub channel: Option<String>,
    /// The action with its guardrails, copied from the rule when it fired.
    pub action: Action,
    /// Auto or requires approval.
    pub approval: Approval,
    /// Firing episode of the alert.
    pub episode: u64,
    /// Repeat number within the episode (0 for the episode's first trigger).
    pub repeat: u32,
    /// Value that fired it.
    pub value: Option<f64>,
    /// The rule's fire threshold then.
    pub fire_threshold: f64,
    /// Facts the action needs (channel scores, overallocated days, ...).
    pub context: serde_json::Value,
    /// Who ran the evaluation that fired it (may not approve it).
    pub requested_by: String,
    /// The evaluation run.
    pub run_id: String,
    /// When it fired (the run's `now`).
    pub created_at: i64,
    /// Where it is in the dispatch state machine.
    pub status: TriggerStatus,
    /// Attempts since creation or the last replay.
    pub attempts: u32,
    /// Attempts before dead-lettering.
    pub max_attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
    /// While dispatching: when the attempt's hold ends.
    pub lease_until: Option<i64>,
    /// Recent attempts, oldest first.
    pub history: Vec<Attempt>,
    /// The most recent dispatch error, if any.
    pub last_error: Option<String>,
    /// What the action did.
    pub result: Option<serde_json::Value>,
    /// Approver or rejecter.
    pub decided_by: Option<String>,
    /// When it was approved or rejected (unix seconds).
    pub decided_at: Option<i64>,
    /// Rejection reason.
    pub reason: Option<String>,
    /// Times replayed from the dead letter list.
    pub replays: u32,
    /// When it last changed.
    pub updated_at: i64,
    /// Whether its alert's `alert.fired` audit entry is still to be written, by
    /// dispatch with the first attempt's entry (an automatic trigger's first of its
    /// episode: the run that fires thousands then needs no audit-number increment
    /// per campaign). Absent, false: stored before this field, or already written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fired_entry_pending: bool,
}

/// The result of one attempt, as the component saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum DispatchOutcome {
    /// The side effect happened (or had happened: the receiver saw the operation id).
    Done(serde_json::Value),
    /// It did not; `retryable` false dead-letters at once (e.g. the target is gone).
    Failed {
        /// Why.
        error: String,
        /// Whether another attempt may succeed.
        retryable: bool,
    },
}

/// A refused change of status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriggerTransitionError {
    /// The trigger is not in a state that allows it.
    #[error("the trigger is {status}; {what} needs {needed}")]
    WrongStatus {
        /// Current status.
        status: &'static str,
        /// The attempted change.
        what: &'static str,
        /// The status it needs.
        needed: &'static str,
    },
    /// The requester may not approve their own trigger.
    #[error("{0} requested this action and may not approve it")]
    OwnRequest(String),
    /// Not due yet (or held by another attempt).
    #[error("not due until {0}")]
    NotDue(i64),
}

/// The 80 random-looking bits of a trigger's id: a digest of what makes the
/// episode unique, so a re-run that fires the same episode again is recognised.
pub fn operation_id(rule_id: &str, scope: &str, episode: u64, repeat: u32) -> [u8; 10] {
    let digest = Sha256::digest(format!("{rule_id}\n{scope}\n{episode}\n{repeat}").as_bytes());
    let mut out = [0u8; 10];
    out.copy_from_slice(&digest[..10]);
    out
}

fn mix(mut z: u64) -> u64 {
    // splitmix64
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Delay before retry `attempt` (1-based: after the first failure), exponential
/// with "equal jitter": half the capped exponential delay plus a deterministic
/// pseudo-random share of the other half drawn from `seed` and `attempt`.
pub fn backoff_secs(attempt: u32, seed: u64) -> i64 {
    let exp = attempt.saturating_sub(1).min(20);
    let full = BACKOFF_BASE_SECS
        .saturating_mul(1i64 << exp)
        .min(BACKOFF_CAP_SECS);
    let half = full / 2;
    let jitter = (mix(seed ^ u64::from(attempt)) % (half as u64 + 1)) as i64;
    half + jitter
}

/// A seed for [`backoff_secs`] from a trigger id.
pub fn seed_of(id: &str) -> u64 {
    let d = Sha256::digest(id.as_bytes());
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

fn wrong(
    status: TriggerStatus,
    what: &'static str,
    needed: &'static str,
) -> TriggerTransitionError {
    TriggerTransitionError::WrongStatus {
        status: status.as_str(),
        what,
        needed,
    }
}

/// The detail of an `alert.fired` or `alert.resolved` audit entry, whoever writes
/// it (the run, or dispatch for an automatic trigger): the rule (id, name), the
/// scope, the value observed, the fire threshold and the episode.
pub fn alert_entry_detail(
    (rule_id, rule_name): (&str, &str),
    scope: &str,
    value: Option<f64>,
    fire_threshold: f64,
    episode: u64,
) -> serde_json::Value {
    serde_json::json!({
        "rule_id": rule_id, "rule_name": rule_name, "scope": scope,
        "value": value, "fire_threshold": fire_threshold, "episode": episode,
    })
}

impl Trigger {
    /// The trigger of an episode of `rule`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: String,
        rule: &Rule,
        observation: &super::metric::Observation,
        episode: u64,
        repeat: u32,
        requested_by: &str,
        run_id: &str,
        now: i64,
    ) -> Self {
        let status = match rule.approval {
            Approval::Auto => TriggerStatus::Pending,
            Approval::RequiresApproval => TriggerStatus::AwaitingApproval,
        };
        // A repeat of a notify is the notification again; it never needs approval.
        let status = if repeat > 0 {
            TriggerStatus::Pending
        } else {
            status
        };
        Trigger {
            id,
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            category: rule.category,
            severity: rule.severity,
            scope: observation.scope_key.clone(),
            campaign_id: observation.campaign_id.clone(),
            channel: observation.channel.clone(),
            action: rule.action.clone(),
            approval: rule.approval,
            episode,
            repeat,
            value: observation.value,
            fire_threshold: rule.fire_threshold,
            context: observation.context.clone(),
            requested_by: requested_by.to_string(),
            run_id: run_id.to_string(),
            created_at: now,
            status,
            attempts: 0,
            max_attempts: rule.max_attempts.max(1),
            next_attempt_at: now,
            lease_until: None,
            history: Vec::new(),
            last_error: None,
            result: None,
            decided_by: None,
            decided_at: None,
            reason: None,
            replays: 0,
            updated_at: now,
            // Only a campaign's log has alert entries (the resource pool's has none).
            fired_entry_pending: repeat == 0
                && status == TriggerStatus::Pending
                && observation.campaign_id.is_some(),
        }
    }

    /// The detail of its alert's `alert.fired` audit entry (the episode's first
    /// trigger): the rule, the scope and the value that fired it.
    pub fn fired_detail(&self) -> serde_json::Value {
        alert_entry_detail(
            (&self.rule_id, &self.rule_name),
            &self.scope,
            self.value,
            self.fire_threshold,
            self.episode,
        )
    }

    /// Whether a dispatch at `now` should attempt it.
    pub fn is_due(&self, now: i64) -> bool {
        match self.status {
            TriggerStatus::Pending => self.next_attempt_at <= now,
            TriggerStatus::Dispatching => self.lease_until.is_none_or(|l| l <= now),
            _ => false,
        }
    }

    /// Starts an attempt at `now` (written with compare-and-swap by the caller).
    pub fn begin(&self, now: i64) -> Result<Trigger, TriggerTransitionError> {
        if !matches!(
            self.status,
            TriggerStatus::Pending | TriggerStatus::Dispatching
        ) {
            return Err(wrong(self.status, "dispatch", "pending"));
        }
        if !self.is_due(now) {
            let until = self
                .lease_until
                .unwrap_or(self.next_attempt_at)
                .max(self.next_attempt_at);
            return Err(TriggerTransitionError::NotDue(until));
        }
        let mut t = self.clone();
        t.status = TriggerStatus::Dispatching;
        t.attempts += 1;
        t.lease_until = Some(now + ATTEMPT_LEASE_SECS);
        t.updated_at = now;
        Ok(t)
    }

    /// Records the outcome of the attempt begun at `started`.
    pub fn complete(&self, started: i64, now: i64, outcome: DispatchOutcome) -> Trigger {
        let mut t = self.clone();
        t.lease_until = None;
        // The caller writes the fired entry with this attempt's.
        t.fired_entry_pending = false;
        t.updated_at = now;
        let (ok, detail) = match &outcome {
            DispatchOutcome::Done(_) => (true, "done".to_string()),
            DispatchOutcome::Failed { error, .. } => (false, error.clone()),
        };
        t.history.push(Attempt {
            n: t.attempts,
            at: started,
            ok,
            detail,
        });
        if t.history.len() > HISTORY_LIMIT {
            let extra = t.history.len() - HISTORY_LIMIT;
            t.history.drain(..extra);
        }
        match outcome {
            DispatchOutcome::Done(result) => {
                t.status = TriggerStatus::Succeeded;
                t.result = Some(result);
                t.last_error = None;
            }
            DispatchOutcome::Failed { error, retryable } => {
                t.last_error = Some(error);
                if !retryable || t.attempts >= t.max_attempts {
                    t.status = TriggerStatus::DeadLetter;
                } else {
                    t.status = TriggerStatus::Pending;
                    t.next_attempt_at = now + backoff_secs(t.attempts, seed_of(&t.id));
                }
            }
        }
        t
    }

    /// An operations user approves it; the requester may not.
    pub fn approve(&self, by: &str, now: i64) -> Result<Trigger, TriggerTransitionError> {
        if self.status != TriggerStatus::AwaitingApproval {
            return Err(wrong(self.status, "approve", "awaiting_approval"));
        }
        if by == self.requested_by {
            return Err(TriggerTransitionError::OwnRequest(by.to_string()));
        }
        let mut t = self.clone();
        t.status = TriggerStatus::Pending;
        t.decided_by = Some(by.to_string());
        t.decided_at = Some(now);
        t.next_attempt_at = now;
        t.updated_at = now;
        Ok(t)
    }

    /// An operations user rejects it.
    pub fn reject(
        &self,
        by: &str,
        now: i64,
        reason: Option<String>,
    ) -> Result<Trigger, TriggerTransitionError> {
        if self.status != TriggerStatus::AwaitingApproval {
            return Err(wrong(self.status, "reject", "awaiting_approval"));
        }
        let mut t = self.clone();
        t.status = TriggerStatus::Rejected;
        t.decided_by = Some(by.to_string());
        t.decided_at = Some(now);
        t.reason = reason;
        t.updated_at = now;
        Ok(t)
    }

    /// Puts a dead-lettered trigger back in the outbox with fresh attempts.
    pub fn replay(&self, now: i64) -> Result<Trigger, TriggerTransitionError> {
        if self.status != TriggerStatus::DeadLetter {
            return Err(wrong(self.status, "replay", "dead_letter"));
        }
        let mut t = self.clone();
        t.status = TriggerStatus::Pending;
        t.attempts = 0;
        t.next_attempt_at = now;
        t.replays += 1;
        t.updated_at = now;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitoring::metric::Observation;
    use crate::monitoring::rule::default_rules;
    use proptest::prelude::*;

    fn trigger(approval: Approval) -> Trigger {
        let mut rule = default_rules(0).remove(2);
        rule.approval = approval;
        rule.max_attempts = 3;
        let obs = Observation {
            scope_key: "campaign:c1:channel:email".into(),
            campaign_id: Some("c1".into()),
            channel: Some("email".into()),
            value: Some(0.2),
            context: serde_json::json!({}),
        };
        Trigger::new("T1".into(), &rule, &obs, 1, 0, "olga", "run1", 1_000)
    }

    fn fail() -> DispatchOutcome {
        DispatchOutcome::Failed {
            error: "HTTP 500".into(),
            retryable: true,
        }
    }

    #[test]
    fn the_fired_entry_waits_for_the_first_attempt_of_an_automatic_trigger_only() {
        let auto = trigger(Approval::Auto);
        assert!(auto.fired_entry_pending);
        let begun = auto.begin(1_000).expect("due");
        assert!(
            begun.fired_entry_pending,
            "written with the attempt's entry"
        );
        let done = begun.complete(1_000, 1_000, fail());
        assert!(!done.fired_entry_pending, "once, with the first completion");
        assert!(!trigger(Approval::RequiresApproval).fired_entry_pending);
        // Stored before the field existed: its entry was written when it fired.
        let mut old = serde_json::to_value(&auto).expect("json");
        old.as_object_mut().map(|m| m.remove("fired_entry_pending"));
        let old: Trigger = serde_json::from_value(old).expect("old trigger");
        assert!(!old.fired_entry_pending);
        assert!(
            !serde_json::to_string(&done)
                .expect("json")
                .contains("fired_entry_pending"),
            "absent once written"
        );
    }

    #[test]
    fn failures_back_off_then_dead_letter_then_replay() {
        let mut t = trigger(Approval::Auto);
        let mut now = 1_000;
        for n in 1..=3 {
            let begun = t.begin(now).expect("due");
            assert!(
                begun.begin(now).is_err(),
                "an attempt in flight is not due again"
            );
            t = begun.complete(now, now, fail());
            if n < 3 {
                assert_eq!(t.status, TriggerStatus::Pending);
                assert!(t.next_attempt_at > now);
                assert!(t.begin(now).is_err());
                now = t.next_attempt_at;
            }
        }
        assert_eq!(t.status, TriggerStatus::DeadLetter);
        assert_eq!(t.history.len(), 3);
        let t = t.replay(now).expect("replay");
        assert_eq!((t.status, t.attempts), (TriggerStatus::Pending, 0));
        let t = t.begin(now).expect("due").complete(
            now,
            now + 1,
            DispatchOutcome::Done(serde_json::json!({})),
        );
        assert_eq!(t.status, TriggerStatus::Succeeded);
        assert!(t.replay(now).is_err());
    }

    #[test]
    fn approval_is_by_someone_else() {
        let t = trigger(Approval::RequiresApproval);
        assert_eq!(t.status, TriggerStatus::AwaitingApproval);
        assert!(!t.is_due(i64::MAX));
        assert!(matches!(
            t.approve("olga", 5),
            Err(TriggerTransitionError::OwnRequest(_))
        ));
        let a = t.approve("omar", 5).expect("approved");
        assert!(a.is_due(5));
        assert!(a.approve("omar", 6).is_err());
        assert_eq!(
            t.reject("omar", 5, None).expect("rejected").status,
            TriggerStatus::Rejected
        );
    }

    #[test]
    fn an_abandoned_attempt_is_retried_after_its_lease() {
        let t = trigger(Approval::Auto).begin(1_000).expect("due");
        assert!(!t.is_due(1_000 + ATTEMPT_LEASE_SECS - 1));
        assert!(t.is_due(1_000 + ATTEMPT_LEASE_SECS));
    }

    proptest! {
        #[test]
        fn backoff_grows_within_its_bounds(seed in any::<u64>(), attempt in 1u32..30) {
            let d = backoff_secs(attempt, seed);
            let full = (BACKOFF_BASE_SECS << (attempt - 1).min(20)).min(BACKOFF_CAP_SECS);
            prop_assert!(d >= full / 2 && d <= full);
            prop_assert_eq!(d, backoff_secs(attempt, seed), "deterministic");
        }
    }
}
