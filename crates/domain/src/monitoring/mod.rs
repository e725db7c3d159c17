//! Monitoring, thresholds and trigger dispatch (docs/design.md §3), as pure logic.
//!
//! - [`rule`]: rules as data ([`RuleInput::parse`] → [`Rule`]), the four shipped
//!   [`default_rules`], categories and their cadence.
//! - [`metric`]: a rule's metric expression evaluated over counter totals for one
//!   scope; `None` means *no data*, never "fine".
//! - [`alert`]: the alert state machine per (rule, scope): inactive → pending →
//!   firing → resolved, plus no_data, with hysteresis, `for`, `keep_firing_for` and
//!   the repeat interval ([`step`]).
//! - [`cadence`]: which categories a run at `now` evaluates, and the run claim.
//! - [`trigger`]: the outbox record of one firing episode, its dispatch state
//!   machine, exponential backoff with deterministic jitter, operation ids.
//! - [`guardrail`]: the bounded changes actions make (budget shift, failover).
//!
//! Times are unix seconds, passed in; nothing here reads a clock.
#![deny(missing_docs)]

pub mod alert;
pub mod cadence;
pub mod guardrail;
pub mod metric;
pub mod rule;
pub mod trigger;

pub use alert::{Alert, AlertEvent, AlertState, step};
pub use cadence::{
    CLAIM_LEASE_SECS, Claim, ClaimRefusal, HoldRequest, Progress, RunCounts, Schedule,
    due_categories,
};
pub use guardrail::{BudgetShift, ChannelBudgetLine, failover_plan, shift_budget_plan};
pub use metric::{Observation, Totals, evaluate};
pub use rule::{
    Action, Approval, Category, Comparator, Metric, Rule, RuleInput, Scope, Severity, default_rules,
};
pub use trigger::{
    DispatchOutcome, Trigger, TriggerStatus, TriggerTransitionError, alert_entry_detail,
    backoff_secs, operation_id,
};
