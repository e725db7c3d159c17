//! The stage machine.
//!
//! ```text
//! planning → production → distribution → monitoring → optimization → completed
//!     └──────────┴────────────┴─────────────┴─────────────┴──→ cancelled
//! ```
//!
//! A transition goes to the next stage only (no skipping, no going back), or to
//! `cancelled` from any non-terminal stage without a gate. Each forward
//! transition is guarded by the gate of the stage being left ([`gates`]: what
//! each one checks, and why it sits where it does); the gate lists every unmet
//! item at once. A transition that happens records a handoff ([`handoff`]).

mod gates;
mod handoff;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::record::{Campaign, DeliverableKind, Handoff};
use super::values::UserId;
use crate::validation::ParseError;

pub use gates::{ContentFact, GateContext, Unmet, UnmetCode, gate};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Objectives and resources are being planned.
    Planning,
    /// Content is being produced.
    Production,
    /// Content is going out on the channels.
    Distribution,
    /// Performance is being watched.
    Monitoring,
    /// The campaign is being tuned on what was measured.
    Optimization,
    /// Finished (terminal).
    Completed,
    /// Stopped before completion (terminal).
    Cancelled,
}

impl Stage {
    /// Every stage, in machine order.
    pub const ALL: [Stage; 7] = [
        Stage::Planning,
        Stage::Production,
        Stage::Distribution,
        Stage::Monitoring,
        Stage::Optimization,
        Stage::Completed,
        Stage::Cancelled,
    ];

    /// The wire name (`planning`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Planning => "planning",
            Stage::Production => "production",
            Stage::Distribution => "distribution",
            Stage::Monitoring => "monitoring",
            Stage::Optimization => "optimization",
            Stage::Completed => "completed",
            Stage::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name (e.g. a `?stage=` filter).
    pub fn parse(raw: &str) -> Result<Stage, ParseError> {
        Stage::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or(ParseError::Format(
                "must be one of planning, production, distribution, monitoring, optimization, completed, cancelled",
            ))
    }

    /// The one stage a forward transition may enter; `None` for terminal stages.
    pub fn next(self) -> Option<Stage> {
        match self {
            Stage::Planning => Some(Stage::Production),
            Stage::Production => Some(Stage::Distribution),
            Stage::Distribution => Some(Stage::Monitoring),
            Stage::Monitoring => Some(Stage::Optimization),
            Stage::Optimization => Some(Stage::Completed),
            Stage::Completed | Stage::Cancelled => None,
        }
    }

    /// True for `completed` and `cancelled`: no transition leaves them.
    pub fn is_terminal(self) -> bool {
        self.next().is_none()
    }

    /// The (marketing, operations) deliverables of this stage in the handoff
    /// table; `None` for terminal stages.
    pub fn deliverables(self) -> Option<(DeliverableKind, DeliverableKind)> {
        use DeliverableKind as D;
        match self {
            Stage::Planning => Some((D::Objectives, D::ResourceAllocation)),
            Stage::Production => Some((D::Content, D::WorkflowCoordination)),
            Stage::Distribution => Some((D::ChannelStrategy, D::TimingOptimization)),
            Stage::Monitoring => Some((D::PerformanceAnalysis, D::SystemMonitoring)),
            Stage::Optimization => Some((D::StrategyAdjustment, D::ProcessImprovement)),
            Stage::Completed | Stage::Cancelled => None,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused transition and every reason for it (a 409 with the list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
#[error("cannot move the campaign from {from} to {to}: {}", messages(.unmet))]
#[serde(deny_unknown_fields)]
pub struct Refusal {
    /// The campaign's stage.
    pub from: Stage,
    /// The stage asked for.
    pub to: Stage,
    /// Everything that must change first; never empty.
    pub unmet: Vec<Unmet>,
}

fn messages(unmet: &[Unmet]) -> String {
    unmet
        .iter()
        .map(|u| u.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A transition that happened: the updated campaign and the handoff it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transitioned {
    /// The campaign in its new stage, `version + 1`.
    pub campaign: Campaign,
    /// The handoff appended to it.
    pub handoff: Handoff,
}

/// The transition request body (`POST /api/campaigns/{id}/transitions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// The stage to enter.
    pub target: Stage,
}

/// Moves `campaign` to `target` if the gate of its current stage holds.
///
/// `by` is recorded on the handoff; whether `by` may do this is the caller's
/// decision (roles live at the HTTP edge).
pub fn transition(
    campaign: &Campaign,
    target: Stage,
    ctx: &GateContext,
    by: &UserId,
    now: DateTime<Utc>,
) -> Result<Transitioned, Refusal> {
    let from = campaign.stage;
    let refuse = |unmet: Vec<Unmet>| Refusal {
        from,
        to: target,
        unmet,
    };
    let Some(deliverables) = from.deliverables() else {
        return Err(refuse(vec![Unmet::new(
            UnmetCode::TerminalStage,
            format!("the campaign is {from}; no transition leaves it"),
        )]));
    };
    let summaries = if target == Stage::Cancelled {
        // Cancelling needs no gate: stopping a campaign must always be possible.
        handoff::cancelled_summaries(from)
    } else if from.next() != Some(target) {
        let next = from.next().map_or("none", Stage::as_str);
        return Err(refuse(vec![Unmet::new(
            UnmetCode::NotNextStage,
            format!(
                "stages cannot be skipped or revisited: from {from} the next stage is {next} (or cancelled)"
            ),
        )]));
    } else {
        let unmet = gate(campaign, ctx);
        if !unmet.is_empty() {
            return Err(refuse(unmet));
        }
        handoff::summaries(campaign, ctx)
    };
    let handoff = handoff::record(from, target, deliverables, summaries, by, now);
    let mut next = campaign.clone();
    next.stage = target;
    next.version = campaign.version.saturating_add(1);
    next.updated_at = now;
    next.handoffs.push(handoff.clone());
    Ok(Transitioned {
        campaign: next,
        handoff,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::campaign::input::tests::{campaign_from, ts, user, valid_input};
    use crate::campaign::resources::ResourceKind;
    use crate::campaign::resources::tests::{allocation, resource};
    use crate::content::ContentState;
    use proptest::prelude::*;

    /// A context under which every gate of the fixture campaign holds.
    pub(in crate::campaign) fn full_context() -> GateContext {
        GateContext {
            content: vec![ContentFact {
                id: "ct1".into(),
                channel: "email".into(),
                state: ContentState::Approved,
                due: Some(ts("2030-02-20T00:00:00Z")),
            }],
            resources: vec![resource("ann", ResourceKind::Person, 8, &["copywriting"])],
            allocations: vec![allocation("a1", "ann", "c1", "2030-03-01", "2030-03-31", 4)],
            monitoring_rule_ids: vec!["rule-1".into()],
            metrics_present: true,
        }
    }

    pub(in crate::campaign) fn codes(r: Result<Transitioned, Refusal>) -> Vec<UnmetCode> {
        match r {
            Ok(_) => vec![],
            Err(refusal) => refusal.unmet.into_iter().map(|u| u.code).collect(),
        }
    }

    /// Walks the fixture campaign forward to `stage` under a full context.
    pub(in crate::campaign) fn at_stage(stage: Stage) -> Campaign {
        let mut c = campaign_from(valid_input());
        let ctx = full_context();
        while c.stage != stage {
            let Some(next) = c.stage.next() else { break };
            match transition(&c, next, &ctx, &user("otto"), ts("2030-03-02T00:00:00Z")) {
                Ok(t) => c = t.campaign,
                Err(e) => panic!("fixture walk refused: {e}"),
            }
        }
        c
    }

    pub(in crate::campaign) fn step(
        c: &Campaign,
        ctx: &GateContext,
    ) -> Result<Transitioned, Refusal> {
        let next = c.stage.next().unwrap_or(Stage::Completed);
        transition(c, next, ctx, &user("otto"), ts("2030-03-02T00:00:00Z"))
    }

    #[test]
    fn skipping_going_back_and_staying_are_refused() {
        let c = at_stage(Stage::Production);
        let ctx = full_context();
        for target in [
            Stage::Planning,
            Stage::Production,
            Stage::Monitoring,
            Stage::Optimization,
            Stage::Completed,
        ] {
            let r = transition(&c, target, &ctx, &user("otto"), ts("2030-03-02T00:00:00Z"));
            assert_eq!(codes(r), [UnmetCode::NotNextStage], "target {target}");
        }
    }

    #[test]
    fn cancel_works_from_every_open_stage_without_a_gate_and_is_final() {
        for stage in [
            Stage::Planning,
            Stage::Production,
            Stage::Distribution,
            Stage::Monitoring,
            Stage::Optimization,
        ] {
            let c = at_stage(stage);
            let t = transition(
                &c,
                Stage::Cancelled,
                &GateContext::default(),
                &user("mia"),
                ts("2030-03-03T00:00:00Z"),
            );
            let Ok(t) = t else {
                panic!("cancel from {stage} refused")
            };
            assert_eq!(t.campaign.stage(), Stage::Cancelled);
            assert_eq!(t.handoff.from, stage);
            assert_eq!(t.campaign.version(), c.version() + 1);
            for target in Stage::ALL {
                let again = transition(
                    &t.campaign,
                    target,
                    &full_context(),
                    &user("mia"),
                    ts("2030-03-04T00:00:00Z"),
                );
                assert_eq!(codes(again), [UnmetCode::TerminalStage]);
            }
        }
        let done = at_stage(Stage::Completed);
        let r = transition(
            &done,
            Stage::Cancelled,
            &full_context(),
            &user("mia"),
            ts("2030-04-02T00:00:00Z"),
        );
        assert_eq!(codes(r), [UnmetCode::TerminalStage]);
    }

    #[test]
    fn refusal_serializes_with_stable_codes() {
        let c = at_stage(Stage::Monitoring);
        let r = step(&c, &GateContext::default());
        let json = r.err().and_then(|r| serde_json::to_value(r).ok());
        assert_eq!(
            json,
            Some(serde_json::json!({
                "from": "monitoring",
                "to": "optimization",
                "unmet": [{"code": "no_metrics", "message": "no metrics recorded yet: performance cannot be analysed"}]
            }))
        );
    }

    /// Which gates a generated context satisfies.
    #[derive(Debug, Clone, Copy)]
    struct Facts {
        allocated: bool,
        content_on_time: bool,
        approved: bool,
        rules: bool,
        metrics: bool,
    }

    fn context_of(f: Facts) -> GateContext {
        let mut ctx = full_context();
        if !f.allocated {
            ctx.allocations.clear();
        }
        if !f.content_on_time {
            ctx.content[0].due = Some(ts("2030-03-10T00:00:00Z"));
        }
        if !f.approved {
            ctx.content[0].state = ContentState::InReview;
        }
        if !f.rules {
            ctx.monitoring_rule_ids.clear();
        }
        ctx.metrics_present = f.metrics;
        ctx
    }

    /// The gates as an independent table: what must hold to leave `from`.
    fn oracle(from: Stage, f: Facts) -> bool {
        match from {
            Stage::Planning => f.allocated,
            Stage::Production => f.content_on_time && f.approved,
            Stage::Distribution => f.rules,
            Stage::Monitoring => f.metrics,
            Stage::Optimization => f.approved,
            Stage::Completed | Stage::Cancelled => false,
        }
    }

    fn facts() -> impl Strategy<Value = Facts> {
        // Mostly-true facts, so that generated walks often get far.
        let b = || proptest::bool::weighted(0.8);
        (b(), b(), b(), b(), b()).prop_map(
            |(allocated, content_on_time, approved, rules, metrics)| Facts {
                allocated,
                content_on_time,
                approved,
                rules,
                metrics,
            },
        )
    }

    proptest! {
        #[test]
        fn no_sequence_reaches_completed_without_passing_every_gate(
            steps in proptest::collection::vec(
                (prop_oneof![4 => Just(None), 1 => (0usize..7).prop_map(Some)], facts()),
                0..40,
            )
        ) {
            let mut c = campaign_from(valid_input());
            for (target, f) in steps {
                // `None`: ask for the next stage (the interesting case), else any stage.
                let from = c.stage;
                let target = target.map_or(from.next().unwrap_or(Stage::Completed), |i| Stage::ALL[i]);
                let result = transition(&c, target, &context_of(f), &user("otto"), ts("2030-03-02T00:00:00Z"));
                let allowed = !from.is_terminal()
                    && (target == Stage::Cancelled || (from.next() == Some(target) && oracle(from, f)));
                prop_assert_eq!(result.is_ok(), allowed, "{} -> {} with {:?}", from, target, f);
                match result {
                    Ok(t) => {
                        prop_assert_eq!(t.campaign.version(), c.version() + 1);
                        c = t.campaign;
                    }
                    Err(r) => prop_assert!(!r.unmet.is_empty()),
                }
            }
            if c.stage() == Stage::Completed {
                let pairs: Vec<_> = c.handoffs().iter().map(|h| (h.from, h.to)).collect();
                let chain: Vec<_> = Stage::ALL[..5].iter().map(|s| (*s, s.next().unwrap_or(*s))).collect();
                prop_assert_eq!(pairs, chain);
            }
        }
    }
}
