//! Monitoring rules: what to measure, over which scope, when to fire and clear,
//! and what to do about it. Rules are data, parsed once from [`RuleInput`].
//!
//! This file holds what a rule *is*; `input.rs` parses and validates what callers
//! send ([`RuleInput::parse`]); `defaults.rs` holds the rules shipped with the
//! app ([`default_rules`]).

use serde::{Deserialize, Serialize};

mod defaults;
mod input;

pub use defaults::default_rules;
pub use input::RuleInput;

/// Longest metric window or baseline (31 days).
pub const MAX_WINDOW_SECS: i64 = 31 * 86_400;
/// Longest `keep_firing_for` and repeat interval (7 days).
pub const MAX_HOLD_SECS: i64 = 7 * 86_400;
/// Most consecutive breaching evaluations `for` may ask for.
pub const MAX_FOR: u32 = 100;
/// Most dispatch attempts before a trigger is dead-lettered.
pub const MAX_ATTEMPTS: u32 = 20;
/// Dispatch attempts when the rule names none.
pub const DEFAULT_ATTEMPTS: u32 = 5;

/// The rule categories of the monitoring table, each with its cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Below target pace → optimization. Every run.
    CampaignPerformance,
    /// Drop vs trailing baseline → content adjustment. Hourly.
    ContentEngagement,
    /// Delivery failure rate → response. Every run.
    DistributionSuccess,
    /// Overallocation → rebalancing. Daily.
    ResourceUtilization,
}

impl Category {
    /// Every category, in evaluation order.
    pub const ALL: [Category; 4] = [
        Category::CampaignPerformance,
        Category::ContentEngagement,
        Category::DistributionSuccess,
        Category::ResourceUtilization,
    ];

    /// Seconds between evaluations; 0 means every run.
    pub fn cadence_secs(self) -> i64 {
        match self {
            Category::CampaignPerformance | Category::DistributionSuccess => 0,
            Category::ContentEngagement => 3_600,
            Category::ResourceUtilization => 86_400,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::CampaignPerformance => "campaign_performance",
            Category::ContentEngagement => "content_engagement",
            Category::DistributionSuccess => "distribution_success",
            Category::ResourceUtilization => "resource_utilization",
        }
    }
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    /// Every campaign in the monitoring or optimization stage, as a whole.
    AllCampaigns,
    /// One campaign (in any stage but completed and cancelled), as a whole or,
    /// with `each_channel`, each of its channels on its own.
    Campaign {
        /// The campaign id.
        campaign_id: String,
        /// One alert per channel of the campaign instead of one for all of it.
        #[serde(default)]
        each_channel: bool,
    },
    /// One channel, in every monitored campaign that uses it.
    Channel {
        /// The channel slug.
        channel: String,
    },
    /// Every channel of every monitored campaign, each on its own.
    EachChannel,
    /// The resource pool as a whole (resource utilization).
    Resources,
}

impl Scope {
    /// Whether the scope covers parts of campaigns (one alert per campaign and channel).
    pub fn is_channel(&self) -> bool {
        matches!(
            self,
            Scope::Channel { .. }
                | Scope::EachChannel
                | Scope::Campaign {
                    each_channel: true,
                    ..
                }
        )
    }

    /// Whether the rule applies to `campaign_id` at all.
    pub fn covers_campaign(&self, campaign_id: &str) -> bool {
        match self {
            Scope::AllCampaigns | Scope::Channel { .. } | Scope::EachChannel => true,
            Scope::Campaign { campaign_id: c, .. } => c == campaign_id,
            Scope::Resources => false,
        }
    }
}

/// A metric expression over a window of counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Metric {
    /// Achieved fraction of an objective divided by the expected fraction at `now`
    /// (1.0 = on pace). `kpi` absent: the worst pace of every objective.
    KpiPace {
        /// The objective's KPI (its counter name).
        #[serde(default)]
        kpi: Option<String>,
    },
    /// `sum(numerator) / sum(denominator)` over the last `window_secs`,
    /// e.g. (bounced + dropped) / sent.
    Ratio {
        /// Counter kinds added up above the line.
        numerator: Vec<String>,
        /// Counter kinds added up below the line.
        denominator: Vec<String>,
        /// Window length (a whole number of hours).
        window_secs: i64,
    },
    /// Relative change of a ratio over the last `window_secs` against the same
    /// ratio over the `baseline_secs` before it: `current / baseline - 1`
    /// (-0.3 = a 30% drop), e.g. click rate vs the trailing 7 days.
    BaselineChange {
        /// Counter kinds above the line.
        numerator: Vec<String>,
        /// Counter kinds below the line.
        denominator: Vec<String>,
        /// Current window (whole hours).
        window_secs: i64,
        /// Trailing baseline before it (whole hours).
        baseline_secs: i64,
    },
    /// Peak allocated / capacity of any resource on any day from today through
    /// `horizon_days` ahead (> 1.0 = overallocated).
    Utilization {
        /// Days looked ahead, 1..=90.
        horizon_days: u32,
    },
}

impl Metric {
    /// How far back the expression reads counters (0 for none or since the start).
    pub fn lookback_secs(&self) -> i64 {
        match self {
            Metric::Ratio { window_secs, .. } => *window_secs,
            Metric::BaselineChange {
                window_secs,
                baseline_secs,
                ..
            } => window_secs + baseline_secs,
            Metric::KpiPace { .. } | Metric::Utilization { .. } => 0,
        }
    }
}

/// How a value is compared with the fire threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// Fires when value > fire threshold; clears when value < clear threshold.
    Gt,
    /// Fires when value >= fire; clears when value < clear.
    Ge,
    /// Fires when value < fire; clears when value > clear.
    Lt,
    /// Fires when value <= fire; clears when value > clear.
    Le,
}

impl Comparator {
    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparator::Gt => value > threshold,
            Comparator::Ge => value >= threshold,
            Comparator::Lt => value < threshold,
            Comparator::Le => value <= threshold,
        }
    }

    /// Whether `value` is past the clear threshold, on the healthy side.
    pub fn clears(self, value: f64, clear: f64) -> bool {
        match self {
            Comparator::Gt | Comparator::Ge => value < clear,
            Comparator::Lt | Comparator::Le => value > clear,
        }
    }

    /// Whether the comparator fires on high values (`gt`, `ge`).
    fn upward(self) -> bool {
        matches!(self, Comparator::Gt | Comparator::Ge)
    }
}

/// How bad a firing alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Needs attention.
    Warning,
    /// Needs attention now.
    Critical,
}

/// Whether an action runs by itself or waits for an operations approver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Dispatched when due.
    Auto,
    /// Waits until an operations user other than the requester approves it.
    RequiresApproval,
}

/// What a firing episode does, with its guardrails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Adjust campaign parameters: move budget from the worst to the best channel,
    /// at most `max_shift_percent` of the worst channel's budget.
    ShiftBudget {
        /// Guardrail: 0 < % <= 50.
        max_shift_percent: f64,
    },
    /// Channel failover: move up to `max_shift_percent` of the failing channel's
    /// budget to its first fallback channel (adding it to the plan when absent).
    ChannelFailover {
        /// Guardrail: 0 < % <= 100.
        max_shift_percent: f64,
    },
    /// Content optimization: open a refresh (a new review round) on the campaign's
    /// approved, scheduled and published content (on the trigger's channel, for a
    /// channel scope), asking for a variant when one is named.
    ContentRefresh {
        /// The variant to switch to, if any.
        #[serde(default)]
        variant: Option<String>,
    },
    /// Timing change: move the campaign's scheduled, unsent sends on the troubled
    /// channel that are due within `max_delay_hours` to later hours (the channel's
    /// best by engagement history, at least an hour from now, within the hourly
    /// cap), each by at most `max_delay_hours`.
    TimingChange {
        /// Guardrail: 1..=168 hours (default 24).
        #[serde(default = "default_delay_hours")]
        max_delay_hours: u32,
    },
    /// Resource reallocation: ask the campaign workflow for a rebalance proposal
    /// over the overallocated days.
    RebalanceResources,
    /// Notify: a signed, Slack-compatible webhook to `url`.
    Notify {
        /// `https://…` endpoint (a Slack incoming webhook or any receiver).
        url: String,
    },
}

/// A timing change's guardrail when the rule names none.
fn default_delay_hours() -> u32 {
    crate::content::DEFAULT_MAX_DELAY_HOURS
}

impl Action {
    /// The wire name.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::ShiftBudget { .. } => "shift_budget",
            Action::ChannelFailover { .. } => "channel_failover",
            Action::ContentRefresh { .. } => "content_refresh",
            Action::TimingChange { .. } => "timing_change",
            Action::RebalanceResources => "rebalance_resources",
            Action::Notify { .. } => "notify",
        }
    }
}

/// A monitoring rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Id (sortable, or `default-<category>` for the shipped ones).
    pub id: String,
    /// Name shown in the dashboard and in notifications.
    pub name: String,
    /// Category (sets the cadence).
    pub category: Category,
    /// What it watches.
    pub scope: Scope,
    /// What it measures.
    pub metric: Metric,
    /// How the value is compared.
    pub comparator: Comparator,
    /// Breach when `value <comparator> fire_threshold`.
    pub fire_threshold: f64,
    /// A firing alert clears only past this (hysteresis).
    pub clear_threshold: f64,
    /// Consecutive breaching evaluations before firing (1 = at once).
    #[serde(rename = "for")]
    pub for_evaluations: u32,
    /// A firing alert stays firing this long after its last breach.
    pub keep_firing_for_secs: i64,
    /// Re-notify while firing, at most this often (notify actions only).
    pub repeat_interval_secs: Option<i64>,
    /// How bad a firing alert of this rule is.
    pub severity: Severity,
    /// What a firing episode does.
    pub action: Action,
    /// Auto or requires approval.
    pub approval: Approval,
    /// Dispatch attempts before the trigger is dead-lettered.
    pub max_attempts: u32,
    /// Disabled rules are kept but not evaluated.
    pub enabled: bool,
    /// Shipped with the app.
    pub builtin: bool,
    /// Who created it.
    pub created_by: String,
    /// When it was created (unix seconds).
    pub created_at: i64,
    /// Last change (unix seconds).
    pub updated_at: i64,
}
