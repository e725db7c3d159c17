//! Bounded changes the optimization actions make to a campaign's channel plan.
//!
//! Each returns the whole new channel list (what `PATCH /api/campaigns/{id}`
//! takes) and a summary for the audit log, or `None` when there is nothing to do
//! within the guardrail (one channel only, no fallback, a shift that rounds to 0).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::campaign::ChannelPlan;

/// One channel's budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelBudgetLine {
    /// Channel slug.
    pub channel: String,
    /// Budget in minor units.
    pub budget_minor: i64,
}

/// A planned budget move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetShift {
    /// Channel giving budget.
    pub from: String,
    /// Channel receiving it.
    pub to: String,
    /// Amount moved (minor units).
    pub amount_minor: i64,
    /// Percent of the giving channel's budget moved (≤ the guardrail).
    pub percent: f64,
    /// Budgets before.
    pub before: Vec<ChannelBudgetLine>,
    /// Budgets after.
    pub after: Vec<ChannelBudgetLine>,
    /// The whole new channel list, for the campaign update.
    pub channels: serde_json::Value,
}

fn lines(plans: &[serde_json::Value]) -> Vec<ChannelBudgetLine> {
    plans
        .iter()
        .map(|p| ChannelBudgetLine {
            channel: p["channel"].as_str().unwrap_or_default().to_string(),
            budget_minor: p["budget_minor"].as_i64().unwrap_or_default(),
        })
        .collect()
}

fn amount_of(budget: i64, max_percent: f64) -> i64 {
    let pct = if max_percent.is_finite() {
        max_percent.clamp(0.0, 100.0)
    } else {
        0.0
    };
    // Integer arithmetic in basis points keeps the guardrail exact.
    let bp = (pct * 100.0).floor() as i128;
    (i128::from(budget) * bp / 10_000) as i64
}

fn shift(
    channels: &[ChannelPlan],
    from: &str,
    to: &str,
    amount: i64,
    add_to: Option<serde_json::Value>,
) -> Option<BudgetShift> {
    let before: Vec<serde_json::Value> = channels
        .iter()
        .map(|c| serde_json::to_value(c).ok())
        .collect::<Option<Vec<_>>>()?;
    let mut after = before.clone();
    if let Some(new) = add_to {
        after.push(new);
    }
    for p in after.iter_mut() {
        let name = p["channel"].as_str().unwrap_or_default().to_string();
        let b = p["budget_minor"].as_i64().unwrap_or_default();
        if name == from {
            p["budget_minor"] = serde_json::json!(b - amount);
        } else if name == to {
            p["budget_minor"] = serde_json::json!(b + amount);
        }
    }
    let from_budget = channels
        .iter()
        .find(|c| c.channel.as_str() == from)
        .map(|c| c.budget_minor.minor_units())
        .unwrap_or_default();
    Some(BudgetShift {
        from: from.to_string(),
        to: to.to_string(),
        amount_minor: amount,
        percent: if from_budget > 0 {
            amount as f64 * 100.0 / from_budget as f64
        } else {
            0.0
        },
        before: lines(&before),
        after: lines(&after),
        channels: serde_json::Value::Array(after),
    })
}

/// Moves at most `max_percent` of the worst channel's budget to the best one, by
/// `scores` (higher is better). Only scored channels take part: a channel added
/// since the evaluation (e.g. a failover target) has no record to judge it by.
/// Ties go to the alphabetically first channel, so the plan is deterministic.
pub fn shift_budget_plan(
    channels: &[ChannelPlan],
    scores: &BTreeMap<String, f64>,
    max_percent: f64,
) -> Option<BudgetShift> {
    if channels.len() < 2 {
        return None;
    }
    let score = |c: &ChannelPlan| {
        scores
            .get(c.channel.as_str())
            .copied()
            .filter(|s| s.is_finite())
            .unwrap_or(0.0)
    };
    let mut ranked: Vec<&ChannelPlan> = channels
        .iter()
        .filter(|c| scores.contains_key(c.channel.as_str()))
        .collect();
    crate::sort::sort_by(&mut ranked, |a, b| {
        score(a)
            .total_cmp(&score(b))
            .then_with(|| a.channel.as_str().cmp(b.channel.as_str()))
    });
    let worst = ranked.first()?;
    let best = ranked
        .iter()
        .rev()
        .find(|c| c.channel != worst.channel && score(c) > score(worst))?;
    let amount = amount_of(worst.budget_minor.minor_units(), max_percent);
    if amount <= 0 {
        return None;
    }
    shift(
        channels,
        worst.channel.as_str(),
        best.channel.as_str(),
        amount,
        None,
    )
}

/// Moves at most `max_percent` of `failing`'s budget to its first fallback
/// channel, adding the fallback to the plan (with the failing channel's send
/// plan) when the campaign does not use it yet.
pub fn failover_plan(
    channels: &[ChannelPlan],
    failing: &str,
    max_percent: f64,
) -> Option<BudgetShift> {
    let plan = channels.iter().find(|c| c.channel.as_str() == failing)?;
    let fallback = plan.fallback_channels.first()?;
    let amount = amount_of(plan.budget_minor.minor_units(), max_percent);
    if amount <= 0 {
        return None;
    }
    let exists = channels.iter().any(|c| c.channel == *fallback);
    let added = (!exists).then(|| {
        serde_json::json!({
            "channel": fallback.as_str(),
            "budget_minor": 0,
            "fallback_channels": [],
            "send_plan": plan.send_plan,
        })
    });
    shift(channels, failing, fallback.as_str(), amount, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plans(budgets: &[(&str, i64)], fallback: Option<&str>) -> Vec<ChannelPlan> {
        budgets
            .iter()
            .map(|(c, b)| {
                serde_json::from_value(serde_json::json!({
                    "channel": c, "budget_minor": b,
                    "fallback_channels": fallback.filter(|f| f != c).map(|f| vec![f]).unwrap_or_default(),
                    "send_plan": null
                }))
                .expect("plan")
            })
            .collect()
    }

    #[test]
    fn shifts_from_worst_to_best_within_the_cap() {
        let p = plans(
            &[("email", 10_000), ("sms", 5_000), ("social", 8_000)],
            None,
        );
        let scores = BTreeMap::from([
            ("email".to_string(), 0.5),
            ("sms".to_string(), 0.1),
            ("social".to_string(), 0.9),
        ]);
        let s = shift_budget_plan(&p, &scores, 20.0).expect("plan");
        assert_eq!(
            (s.from.as_str(), s.to.as_str(), s.amount_minor),
            ("sms", "social", 1_000)
        );
        let total = |l: &[ChannelBudgetLine]| l.iter().map(|x| x.budget_minor).sum::<i64>();
        assert_eq!(total(&s.before), total(&s.after));
        assert!(shift_budget_plan(&p[..1], &scores, 20.0).is_none());
        let only_two = BTreeMap::from([("email".to_string(), 0.5), ("social".to_string(), 0.9)]);
        let s2 = shift_budget_plan(&p, &only_two, 20.0).expect("plan");
        assert_eq!(s2.from, "email", "unscored sms takes no part");
        let flat = BTreeMap::new();
        assert!(
            shift_budget_plan(&p, &flat, 20.0).is_none(),
            "no better channel"
        );
    }

    #[test]
    fn failover_adds_the_fallback_channel() {
        let p = plans(&[("email", 10_000)], Some("sms"));
        let s = failover_plan(&p, "email", 50.0).expect("plan");
        assert_eq!(s.after.len(), 2);
        assert_eq!(
            s.after[1],
            ChannelBudgetLine {
                channel: "sms".into(),
                budget_minor: 5_000
            }
        );
        assert!(failover_plan(&plans(&[("email", 1)], None), "email", 50.0).is_none());
    }

    proptest! {
        #[test]
        fn a_shift_never_exceeds_the_guardrail_nor_changes_the_total(
            budgets in proptest::collection::vec(0i64..1_000_000_000, 2..6),
            scores in proptest::collection::vec(0.0f64..1.0, 6),
            pct in 0.01f64..50.0,
        ) {
            let names = ["a", "b", "c", "d", "e", "f"];
            let pairs: Vec<(&str, i64)> = budgets.iter().enumerate().map(|(i, b)| (names[i], *b)).collect();
            let p = plans(&pairs, None);
            let s: BTreeMap<String, f64> = names.iter().zip(&scores).map(|(n, s)| (n.to_string(), *s)).collect();
            if let Some(plan) = shift_budget_plan(&p, &s, pct) {
                let from_budget = pairs.iter().find(|(n, _)| *n == plan.from).map(|x| x.1).unwrap_or(0);
                prop_assert!(plan.amount_minor as f64 <= from_budget as f64 * pct / 100.0 + 1e-6);
                prop_assert!(plan.after.iter().all(|l| l.budget_minor >= 0));
                let sum = |l: &[ChannelBudgetLine]| l.iter().map(|x| x.budget_minor).sum::<i64>();
                prop_assert_eq!(sum(&plan.before), sum(&plan.after));
            }
        }
    }
}
