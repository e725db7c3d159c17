//! The rules shipped with the app, one per category of the monitoring table. Each
//! is a small constructor of what sets it apart ([`Shipped`]); the settings they
//! share are in [`Shipped::into_rule`].

use super::{
    Action, Approval, Category, Comparator, DEFAULT_ATTEMPTS, Metric, Rule, Scope, Severity,
};

/// The rules shipped with the app, one per category of the monitoring table.
pub fn default_rules(now: i64) -> Vec<Rule> {
    vec![
        campaign_performance().into_rule(now),
        content_engagement().into_rule(now),
        Rule {
            for_evaluations: 1,
            severity: Severity::Critical,
            ..distribution_success().into_rule(now)
        },
        Rule {
            for_evaluations: 1,
            ..resource_utilization().into_rule(now)
        },
    ]
}

/// What sets one shipped rule apart from the others.
struct Shipped {
    id: &'static str,
    name: &'static str,
    category: Category,
    scope: Scope,
    metric: Metric,
    comparator: Comparator,
    fire: f64,
    clear: f64,
    action: Action,
    approval: Approval,
}

impl Shipped {
    /// The rule, with the settings shipped rules share: two breaching evaluations
    /// before firing, warning severity, no hold or repeat, enabled, built in.
    fn into_rule(self, now: i64) -> Rule {
        Rule {
            id: self.id.to_string(),
            name: self.name.to_string(),
            category: self.category,
            scope: self.scope,
            metric: self.metric,
            comparator: self.comparator,
            fire_threshold: self.fire,
            clear_threshold: self.clear,
            for_evaluations: 2,
            keep_firing_for_secs: 0,
            repeat_interval_secs: None,
            severity: Severity::Warning,
            action: self.action,
            approval: self.approval,
            max_attempts: DEFAULT_ATTEMPTS,
            enabled: true,
            builtin: true,
            created_by: "system:defaults".to_string(),
            created_at: now,
            updated_at: now,
        }
    }
}

fn kinds(k: &[&str]) -> Vec<String> {
    k.iter().map(|s| s.to_string()).collect()
}

fn campaign_performance() -> Shipped {
    Shipped {
        id: "default-campaign-performance",
        name: "Below target pace: shift budget to the best channel",
        category: Category::CampaignPerformance,
        scope: Scope::AllCampaigns,
        metric: Metric::KpiPace { kpi: None },
        comparator: Comparator::Lt,
        fire: 0.8,
        clear: 0.9,
        action: Action::ShiftBudget {
            max_shift_percent: 20.0,
        },
        approval: Approval::RequiresApproval,
    }
}

fn content_engagement() -> Shipped {
    Shipped {
        id: "default-content-engagement",
        name: "Click rate dropped vs the trailing 7 days: refresh content",
        category: Category::ContentEngagement,
        scope: Scope::AllCampaigns,
        metric: Metric::BaselineChange {
            numerator: kinds(&["clicked"]),
            denominator: kinds(&["delivered"]),
            window_secs: 86_400,
            baseline_secs: 7 * 86_400,
        },
        comparator: Comparator::Lt,
        fire: -0.3,
        clear: -0.15,
        action: Action::ContentRefresh { variant: None },
        approval: Approval::Auto,
    }
}

fn distribution_success() -> Shipped {
    Shipped {
        id: "default-distribution-success",
        name: "Delivery failure rate high: fail over to the fallback channel",
        category: Category::DistributionSuccess,
        scope: Scope::EachChannel,
        metric: Metric::Ratio {
            numerator: kinds(&["bounced", "dropped"]),
            denominator: kinds(&["sent"]),
            window_secs: 3_600,
        },
        comparator: Comparator::Gt,
        fire: 0.05,
        clear: 0.03,
        action: Action::ChannelFailover {
            max_shift_percent: 50.0,
        },
        approval: Approval::Auto,
    }
}

fn resource_utilization() -> Shipped {
    Shipped {
        id: "default-resource-utilization",
        name: "Resources overallocated: propose a rebalance",
        category: Category::ResourceUtilization,
        scope: Scope::Resources,
        metric: Metric::Utilization { horizon_days: 14 },
        comparator: Comparator::Gt,
        fire: 1.0,
        clear: 0.95,
        action: Action::RebalanceResources,
        approval: Approval::RequiresApproval,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitoring::rule::RuleInput;

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
