//! Monitoring rules: what to measure, over which scope, when to fire and clear,
//! and what to do about it. Rules are data, parsed once from [`RuleInput`].

use serde::{Deserialize, Serialize};

use crate::campaign::ValidationErrors;

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
    /// Content optimization: flag the campaign's content for refresh, or switch to
    /// the named variant.
    ContentRefresh {
        /// The variant to switch to, if any.
        #[serde(default)]
        variant: Option<String>,
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

impl Action {
    /// The wire name.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::ShiftBudget { .. } => "shift_budget",
            Action::ChannelFailover { .. } => "channel_failover",
            Action::ContentRefresh { .. } => "content_refresh",
            Action::RebalanceResources => "rebalance_resources",
            Action::Notify { .. } => "notify",
        }
    }
}

/// A monitoring rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Id (sortable, or `default-<category>` for the shipped ones).
    pub id: String,
    /// Display name.
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
    /// Severity.
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
    /// When (unix seconds).
    pub created_at: i64,
    /// Last change (unix seconds).
    pub updated_at: i64,
}

/// `POST /api/evaluations/rules` and `PUT …/{id}` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// Required.
    pub name: Option<String>,
    /// Required.
    pub category: Option<Category>,
    /// Required.
    pub scope: Option<Scope>,
    /// Required.
    pub metric: Option<Metric>,
    /// Required.
    pub comparator: Option<Comparator>,
    /// Required.
    pub fire_threshold: Option<f64>,
    /// Defaults to the fire threshold (no hysteresis).
    pub clear_threshold: Option<f64>,
    /// Defaults to 1.
    #[serde(rename = "for")]
    pub for_evaluations: Option<u32>,
    /// Defaults to 0.
    pub keep_firing_for_secs: Option<i64>,
    /// Notify actions only.
    pub repeat_interval_secs: Option<i64>,
    /// Defaults to warning.
    pub severity: Option<Severity>,
    /// Required.
    pub action: Option<Action>,
    /// Defaults to auto.
    pub approval: Option<Approval>,
    /// Defaults to 5.
    pub max_attempts: Option<u32>,
    /// Defaults to true.
    pub enabled: Option<bool>,
}

fn slug_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn check_kinds(errors: &mut ValidationErrors, field: &str, kinds: &[String]) {
    if kinds.is_empty() || kinds.len() > 10 {
        errors.push(field, "must list 1 to 10 counter kinds");
    }
    for (i, k) in kinds.iter().enumerate() {
        if !slug_ok(k) {
            errors.push(
                format!("{field}[{i}]"),
                "must be a counter name like `clicked`",
            );
        }
    }
}

fn check_window(errors: &mut ValidationErrors, field: &str, secs: i64) {
    if !(3_600..=MAX_WINDOW_SECS).contains(&secs) || secs % 3_600 != 0 {
        errors.push(
            field,
            format!("must be a whole number of hours between 3600 and {MAX_WINDOW_SECS}"),
        );
    }
}

fn check_metric(errors: &mut ValidationErrors, metric: &Metric) {
    match metric {
        Metric::KpiPace { kpi } => {
            if kpi.as_deref().is_some_and(|k| !slug_ok(k)) {
                errors.push("metric.kpi", "must be a KPI name like `conversions`");
            }
        }
        Metric::Ratio {
            numerator,
            denominator,
            window_secs,
        } => {
            check_kinds(errors, "metric.numerator", numerator);
            check_kinds(errors, "metric.denominator", denominator);
            check_window(errors, "metric.window_secs", *window_secs);
        }
        Metric::BaselineChange {
            numerator,
            denominator,
            window_secs,
            baseline_secs,
        } => {
            check_kinds(errors, "metric.numerator", numerator);
            check_kinds(errors, "metric.denominator", denominator);
            check_window(errors, "metric.window_secs", *window_secs);
            check_window(errors, "metric.baseline_secs", *baseline_secs);
        }
        Metric::Utilization { horizon_days } => {
            if !(1..=90).contains(horizon_days) {
                errors.push("metric.horizon_days", "must be between 1 and 90");
            }
        }
    }
}

fn check_scope(errors: &mut ValidationErrors, scope: &Scope) {
    match scope {
        Scope::Campaign { campaign_id, .. } if !crate_id_ok(campaign_id) => {
            errors.push("scope.campaign_id", "must be a campaign id");
        }
        Scope::Channel { channel } if !slug_ok(channel) => {
            errors.push("scope.channel", "must be a channel slug like `email`");
        }
        _ => {}
    }
}

fn crate_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn check_action(errors: &mut ValidationErrors, action: &Action) {
    match action {
        Action::ShiftBudget { max_shift_percent } => {
            if !(max_shift_percent.is_finite()
                && *max_shift_percent > 0.0
                && *max_shift_percent <= 50.0)
            {
                errors.push("action.max_shift_percent", "must be > 0 and <= 50");
            }
        }
        Action::ChannelFailover { max_shift_percent } => {
            if !(max_shift_percent.is_finite()
                && *max_shift_percent > 0.0
                && *max_shift_percent <= 100.0)
            {
                errors.push("action.max_shift_percent", "must be > 0 and <= 100");
            }
        }
        Action::ContentRefresh { variant } => {
            if variant.as_deref().is_some_and(|v| !crate_id_ok(v)) {
                errors.push("action.variant", "must be a variant id");
            }
        }
        Action::RebalanceResources => {}
        Action::Notify { url } => {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2_000
                && !url.chars().any(|c| c.is_whitespace() || c.is_control())
                && url.split("://").nth(1).is_some_and(|rest| {
                    !rest.is_empty() && !rest.starts_with('/') && !rest.contains('@')
                });
            if !ok {
                errors.push(
                    "action.url",
                    "must be an absolute https:// URL without credentials",
                );
            }
        }
    }
}

/// Which (category, scope, metric, action) combinations make sense together.
fn check_fit(
    errors: &mut ValidationErrors,
    category: Category,
    scope: &Scope,
    metric: &Metric,
    action: &Action,
) {
    let resources = matches!(scope, Scope::Resources);
    match (category, metric) {
        (Category::ResourceUtilization, Metric::Utilization { .. }) => {}
        (Category::ResourceUtilization, _) => {
            errors.push("metric", "resource_utilization rules measure `utilization`")
        }
        (_, Metric::Utilization { .. }) => errors.push(
            "metric",
            "`utilization` belongs to the resource_utilization category",
        ),
        (Category::CampaignPerformance, Metric::BaselineChange { .. }) => {}
        _ => {}
    }
    if (category == Category::ResourceUtilization) != resources {
        errors.push(
            "scope",
            "resource_utilization rules (and only they) use the `resources` scope",
        );
    }
    if scope.is_channel()
        && matches!(
            metric,
            Metric::KpiPace { .. } | Metric::BaselineChange { .. }
        )
    {
        errors.push(
            "scope",
            "kpi_pace and baseline_change are measured per campaign; use all_campaigns or campaign",
        );
    }
    match action {
        Action::ShiftBudget { .. } | Action::ContentRefresh { .. } if resources => {
            errors.push("action", "this action needs a campaign scope")
        }
        Action::ChannelFailover { .. } if !scope.is_channel() => errors.push(
            "action",
            "channel_failover needs a channel scope (channel or each_channel)",
        ),
        Action::RebalanceResources if !resources => {
            errors.push("action", "rebalance_resources needs the resources scope")
        }
        _ => {}
    }
}

impl RuleInput {
    /// Parses the input into a rule with `id`, created by `by` at `now`.
    pub fn parse(self, id: String, by: &str, now: i64) -> Result<Rule, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = match self.name.as_deref().map(str::trim) {
            None => {
                errors.push("name", "is required");
                None
            }
            Some("") => {
                errors.push("name", "must not be empty");
                None
            }
            Some(n) if n.chars().count() > 120 => {
                errors.push("name", "must be at most 120 characters");
                None
            }
            Some(n) => Some(n.to_string()),
        };
        let required = |errors: &mut ValidationErrors, field: &str, present: bool| {
            if !present {
                errors.push(field, "is required");
            }
        };
        required(&mut errors, "category", self.category.is_some());
        required(&mut errors, "scope", self.scope.is_some());
        required(&mut errors, "metric", self.metric.is_some());
        required(&mut errors, "comparator", self.comparator.is_some());
        required(&mut errors, "fire_threshold", self.fire_threshold.is_some());
        required(&mut errors, "action", self.action.is_some());
        if let Some(s) = &self.scope {
            check_scope(&mut errors, s);
        }
        if let Some(m) = &self.metric {
            check_metric(&mut errors, m);
        }
        if let Some(a) = &self.action {
            check_action(&mut errors, a);
        }
        if let (Some(c), Some(s), Some(m), Some(a)) =
            (self.category, &self.scope, &self.metric, &self.action)
        {
            check_fit(&mut errors, c, s, m, a);
        }
        let fire = self.fire_threshold.unwrap_or_default();
        if !fire.is_finite() {
            errors.push("fire_threshold", "must be a finite number");
        }
        let clear = self.clear_threshold.unwrap_or(fire);
        if !clear.is_finite() {
            errors.push("clear_threshold", "must be a finite number");
        } else if let Some(c) = self.comparator {
            if c.upward() && clear > fire {
                errors.push(
                    "clear_threshold",
                    "must be at or below fire_threshold for gt/ge comparators",
                );
            }
            if !c.upward() && clear < fire {
                errors.push(
                    "clear_threshold",
                    "must be at or above fire_threshold for lt/le comparators",
                );
            }
        }
        let for_evaluations = self.for_evaluations.unwrap_or(1);
        if !(1..=MAX_FOR).contains(&for_evaluations) {
            errors.push("for", format!("must be between 1 and {MAX_FOR}"));
        }
        let keep = self.keep_firing_for_secs.unwrap_or(0);
        if !(0..=MAX_HOLD_SECS).contains(&keep) {
            errors.push(
                "keep_firing_for_secs",
                format!("must be between 0 and {MAX_HOLD_SECS}"),
            );
        }
        if let Some(r) = self.repeat_interval_secs {
            if !(60..=MAX_HOLD_SECS).contains(&r) {
                errors.push(
                    "repeat_interval_secs",
                    format!("must be between 60 and {MAX_HOLD_SECS}"),
                );
            }
            if !matches!(self.action, Some(Action::Notify { .. }) | None) {
                errors.push(
                    "repeat_interval_secs",
                    "only notify actions repeat; other actions run once per firing episode",
                );
            }
        }
        let max_attempts = self.max_attempts.unwrap_or(DEFAULT_ATTEMPTS);
        if !(1..=MAX_ATTEMPTS).contains(&max_attempts) {
            errors.push(
                "max_attempts",
                format!("must be between 1 and {MAX_ATTEMPTS}"),
            );
        }
        match (
            name,
            self.category,
            self.scope,
            self.metric,
            self.comparator,
            self.action,
        ) {
            (
                Some(name),
                Some(category),
                Some(scope),
                Some(metric),
                Some(comparator),
                Some(action),
            ) if errors.errors.is_empty() => Ok(Rule {
                id,
                name,
                category,
                scope,
                metric,
                comparator,
                fire_threshold: fire,
                clear_threshold: clear,
                for_evaluations,
                keep_firing_for_secs: keep,
                repeat_interval_secs: self.repeat_interval_secs,
                severity: self.severity.unwrap_or(Severity::Warning),
                action,
                approval: self.approval.unwrap_or(Approval::Auto),
                max_attempts,
                enabled: self.enabled.unwrap_or(true),
                builtin: false,
                created_by: by.to_string(),
                created_at: now,
                updated_at: now,
            }),
            _ => Err(errors),
        }
    }
}

impl Rule {
    /// Replaces the rule's settings with `input`, keeping id, creator and creation time.
    pub fn replace(&self, input: RuleInput, now: i64) -> Result<Rule, ValidationErrors> {
        let mut next = input.parse(self.id.clone(), &self.created_by, self.created_at)?;
        next.builtin = self.builtin;
        next.updated_at = now;
        Ok(next)
    }
}

/// The rules shipped with the app, one per category of the monitoring table.
pub fn default_rules(now: i64) -> Vec<Rule> {
    let base = |id: &str,
                name: &str,
                category,
                scope,
                metric,
                comparator,
                fire,
                clear,
                action,
                approval| Rule {
        id: id.to_string(),
        name: name.to_string(),
        category,
        scope,
        metric,
        comparator,
        fire_threshold: fire,
        clear_threshold: clear,
        for_evaluations: 2,
        keep_firing_for_secs: 0,
        repeat_interval_secs: None,
        severity: Severity::Warning,
        action,
        approval,
        max_attempts: DEFAULT_ATTEMPTS,
        enabled: true,
        builtin: true,
        created_by: "system:defaults".to_string(),
        created_at: now,
        updated_at: now,
    };
    let kinds = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        base(
            "default-campaign-performance",
            "Below target pace: shift budget to the best channel",
            Category::CampaignPerformance,
            Scope::AllCampaigns,
            Metric::KpiPace { kpi: None },
            Comparator::Lt,
            0.8,
            0.9,
            Action::ShiftBudget {
                max_shift_percent: 20.0,
            },
            Approval::RequiresApproval,
        ),
        base(
            "default-content-engagement",
            "Click rate dropped vs the trailing 7 days: refresh content",
            Category::ContentEngagement,
            Scope::AllCampaigns,
            Metric::BaselineChange {
                numerator: kinds(&["clicked"]),
                denominator: kinds(&["delivered"]),
                window_secs: 86_400,
                baseline_secs: 7 * 86_400,
            },
            Comparator::Lt,
            -0.3,
            -0.15,
            Action::ContentRefresh { variant: None },
            Approval::Auto,
        ),
        Rule {
            for_evaluations: 1,
            severity: Severity::Critical,
            ..base(
                "default-distribution-success",
                "Delivery failure rate high: fail over to the fallback channel",
                Category::DistributionSuccess,
                Scope::EachChannel,
                Metric::Ratio {
                    numerator: kinds(&["bounced", "dropped"]),
                    denominator: kinds(&["sent"]),
                    window_secs: 3_600,
                },
                Comparator::Gt,
                0.05,
                0.03,
                Action::ChannelFailover {
                    max_shift_percent: 50.0,
                },
                Approval::Auto,
            )
        },
        Rule {
            for_evaluations: 1,
            ..base(
                "default-resource-utilization",
                "Resources overallocated: propose a rebalance",
                Category::ResourceUtilization,
                Scope::Resources,
                Metric::Utilization { horizon_days: 14 },
                Comparator::Gt,
                1.0,
                0.95,
                Action::RebalanceResources,
                Approval::RequiresApproval,
            )
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> RuleInput {
        serde_json::from_value(serde_json::json!({
            "name": "bounce watch",
            "category": "distribution_success",
            "scope": {"kind": "each_channel"},
            "metric": {"kind": "ratio", "numerator": ["bounced"], "denominator": ["sent"], "window_secs": 3600},
            "comparator": "gt",
            "fire_threshold": 0.1,
            "clear_threshold": 0.05,
            "for": 2,
            "action": {"kind": "notify", "url": "https://hooks.example.com/x"},
            "repeat_interval_secs": 3600
        }))
        .expect("valid json")
    }

    #[test]
    fn a_valid_rule_parses_with_defaults() {
        let r = input().parse("r1".into(), "olga", 10).expect("valid");
        assert_eq!(r.for_evaluations, 2);
        assert_eq!(r.severity, Severity::Warning);
        assert_eq!(r.max_attempts, DEFAULT_ATTEMPTS);
        assert!(r.enabled && !r.builtin);
    }

    #[test]
    fn inverted_hysteresis_and_misfits_are_field_errors() {
        let mut i = input();
        i.clear_threshold = Some(0.2);
        i.action = Some(Action::RebalanceResources);
        i.for_evaluations = Some(0);
        let e = i.parse("r".into(), "o", 0).expect_err("invalid");
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert!(fields.contains(&"clear_threshold"), "{fields:?}");
        assert!(fields.contains(&"action"), "{fields:?}");
        assert!(fields.contains(&"for"), "{fields:?}");
        assert!(fields.contains(&"repeat_interval_secs"), "{fields:?}");
    }

    #[test]
    fn missing_fields_are_listed() {
        let e = RuleInput::default()
            .parse("r".into(), "o", 0)
            .expect_err("invalid");
        assert!(e.errors.len() >= 6);
    }

    #[test]
    fn defaults_are_valid_rules() {
        for d in default_rules(0) {
            let input: RuleInput = RuleInput {
                name: Some(d.name.clone()),
                category: Some(d.category),
                scope: Some(d.scope.clone()),
                metric: Some(d.metric.clone()),
                comparator: Some(d.comparator),
                fire_threshold: Some(d.fire_threshold),
                clear_threshold: Some(d.clear_threshold),
                for_evaluations: Some(d.for_evaluations),
                keep_firing_for_secs: Some(d.keep_firing_for_secs),
                repeat_interval_secs: d.repeat_interval_secs,
                severity: Some(d.severity),
                action: Some(d.action.clone()),
                approval: Some(d.approval),
                max_attempts: Some(d.max_attempts),
                enabled: Some(true),
            };
            input.parse(d.id.clone(), "x", 0).expect(&d.id);
        }
        let cats: Vec<Category> = default_rules(0).iter().map(|r| r.category).collect();
        assert_eq!(cats, Category::ALL);
    }
}
