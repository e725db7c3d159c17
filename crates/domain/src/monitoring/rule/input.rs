//! What callers send for a rule ([`RuleInput`]) and how it is parsed: every field
//! checked on its own, then the parts checked for fit with each other, every
//! error collected before anything is built.

use serde::{Deserialize, Serialize};

use super::{
    Action, Approval, Category, Comparator, DEFAULT_ATTEMPTS, MAX_ATTEMPTS, MAX_FOR, MAX_HOLD_SECS,
    MAX_WINDOW_SECS, Metric, Rule, Scope, Severity,
};
use crate::validation::{ValidationErrors, is_reference};

/// `POST /api/evaluations/rules` and `PUT …/{id}` body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// Required: display name, 1..=120 characters after trimming.
    pub name: Option<String>,
    /// Required: sets the cadence and which metrics and scopes fit.
    pub category: Option<Category>,
    /// Required: what the rule watches.
    pub scope: Option<Scope>,
    /// Required: what the rule measures.
    pub metric: Option<Metric>,
    /// Required: how the value is compared with the thresholds.
    pub comparator: Option<Comparator>,
    /// Required: a finite number; breach when `value <comparator> fire_threshold`.
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
    /// Required: what a firing episode does.
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
        Scope::Campaign { campaign_id, .. } if !is_reference(campaign_id) => {
            errors.push("scope.campaign_id", "must be a campaign id");
        }
        Scope::Channel { channel } if !slug_ok(channel) => {
            errors.push("scope.channel", "must be a channel slug like `email`");
        }
        _ => {}
    }
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
            if variant.as_deref().is_some_and(|v| !is_reference(v)) {
                errors.push("action.variant", "must be a variant id");
            }
        }
        Action::TimingChange { max_delay_hours } => {
            if !(1..=crate::content::MAX_DELAY_HOURS).contains(max_delay_hours) {
                errors.push(
                    "action.max_delay_hours",
                    format!("must be between 1 and {}", crate::content::MAX_DELAY_HOURS),
                );
            }
        }
        Action::RebalanceResources => {}
        Action::Notify { url } => {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && url.len() <= 2_000
                // Printable ASCII only: a URL with anything else is percent-encoded.
                && url.bytes().all(|b| b.is_ascii_graphic())
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
        Action::TimingChange { .. } if !scope.is_channel() => errors.push(
            "action",
            "timing_change moves one channel's sends: it needs a channel scope (channel, each_channel, or campaign with each_channel)",
        ),
        Action::RebalanceResources if !resources => {
            errors.push("action", "rebalance_resources needs the resources scope")
        }
        _ => {}
    }
}

/// The parsed thresholds, `for` and hold times of a rule.
struct Firing {
    fire: f64,
    clear: f64,
    for_evaluations: u32,
    keep_firing_for_secs: i64,
}

fn parse_name(errors: &mut ValidationErrors, raw: Option<&str>) -> Option<String> {
    match raw.map(str::trim) {
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
    }
}

impl RuleInput {
    /// Parses the input into a rule with `id`, created by `by` at `now`.
    pub fn parse(self, id: String, by: &str, now: i64) -> Result<Rule, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = parse_name(&mut errors, self.name.as_deref());
        self.check_parts(&mut errors);
        let firing = self.firing(&mut errors);
        self.check_repeat(&mut errors);
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
                fire_threshold: firing.fire,
                clear_threshold: firing.clear,
                for_evaluations: firing.for_evaluations,
                keep_firing_for_secs: firing.keep_firing_for_secs,
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

    /// The required parts are present, each valid on its own and fitting the others.
    fn check_parts(&self, errors: &mut ValidationErrors) {
        let required = |errors: &mut ValidationErrors, field: &str, present: bool| {
            if !present {
                errors.push(field, "is required");
            }
        };
        required(errors, "category", self.category.is_some());
        required(errors, "scope", self.scope.is_some());
        required(errors, "metric", self.metric.is_some());
        required(errors, "comparator", self.comparator.is_some());
        required(errors, "fire_threshold", self.fire_threshold.is_some());
        required(errors, "action", self.action.is_some());
        if let Some(s) = &self.scope {
            check_scope(errors, s);
        }
        if let Some(m) = &self.metric {
            check_metric(errors, m);
        }
        if let Some(a) = &self.action {
            check_action(errors, a);
        }
        if let (Some(c), Some(s), Some(m), Some(a)) =
            (self.category, &self.scope, &self.metric, &self.action)
        {
            check_fit(errors, c, s, m, a);
        }
    }

    /// Fire and clear thresholds (finite; the clear one on the healthy side of the
    /// fire one), `for` and `keep_firing_for_secs`, with their defaults.
    fn firing(&self, errors: &mut ValidationErrors) -> Firing {
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
        Firing {
            fire,
            clear,
            for_evaluations,
            keep_firing_for_secs: keep,
        }
    }

    /// A repeat interval is bounded and only for notify actions.
    fn check_repeat(&self, errors: &mut ValidationErrors) {
        let Some(r) = self.repeat_interval_secs else {
            return;
        };
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
    fn a_timing_change_defaults_its_guardrail_and_needs_a_channel_scope() {
        let mut i = input();
        i.repeat_interval_secs = None;
        i.action = serde_json::from_value(serde_json::json!({"kind": "timing_change"})).ok();
        let r = i.clone().parse("r1".into(), "olga", 10).expect("valid");
        assert_eq!(
            r.action,
            Action::TimingChange {
                max_delay_hours: 24
            }
        );
        assert_eq!(r.action.kind(), "timing_change");
        i.action = Some(Action::TimingChange { max_delay_hours: 0 });
        i.scope = Some(Scope::AllCampaigns);
        let e = i.parse("r".into(), "o", 0).expect_err("invalid");
        let fields: Vec<&str> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert!(fields.contains(&"action.max_delay_hours"), "{fields:?}");
        assert!(fields.contains(&"action"), "{fields:?}");
        let unknown: Result<Action, _> = serde_json::from_value(
            serde_json::json!({"kind": "timing_change", "max_delay_hours": 5, "x": 1}),
        );
        assert!(unknown.is_err(), "unknown fields are refused");
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
}
