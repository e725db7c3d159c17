//! Monitoring rules and their metric expressions: `POST`/`PUT
//! /api/evaluations/rules` bodies through `ApiRequest::json` and
//! `RuleInput::parse` (and `Rule::replace`), then what an evaluation run does
//! with a rule that parsed: the windows it reads, the metric evaluated over
//! counter totals, the alert machine stepped on the values, and the guardrail
//! plans of its action.
//!
//! Input: the rule body; optionally a line `--` and the counter totals every
//! window holds, as JSON (`{"by_kind": {...}, "by_channel": {...}}`).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use opsflow_domain::monitoring::metric::{Totals, required_windows, watches};
use opsflow_domain::monitoring::{
    Action, Alert, Metric, Rule, RuleInput, default_rules, evaluate, failover_plan,
    shift_budget_plan, step,
};
use opsflow_fuzz::{NOW, campaign, json_request};

fuzz_target!(|data: &[u8]| {
    let (body, totals) = match data.windows(4).position(|w| w == b"\n--\n") {
        Some(i) => (&data[..i], Some(&data[i + 4..])),
        None => (data, None),
    };
    let Ok(input) = json_request(body).json::<RuleInput>() else {
        return;
    };
    let Ok(rule) = input.clone().parse("r1".into(), "olga", NOW) else {
        return;
    };
    let stored: Rule = serde_json::from_value(serde_json::to_value(&rule).expect("serialise"))
        .expect("a stored rule reads back");
    assert_eq!(stored, rule);
    let replaced = default_rules(NOW)[0].replace(input, NOW + 60);
    assert!(replaced.is_ok(), "parse and replace disagree: {replaced:?}");

    let totals: Totals = totals
        .and_then(|t| serde_json::from_slice(t).ok())
        .unwrap_or_default();
    let campaign = campaign();
    let mut values = Vec::new();
    if let Metric::Utilization { horizon_days } = rule.metric {
        let today = opsflow_fuzz::now().date_naive();
        let o = opsflow_domain::monitoring::metric::peak_utilization(&[], &[], today, horizon_days);
        values.push(o);
    } else {
        // Evaluated whether or not the rule watches the campaign in its stage.
        let _ = watches(&rule, &campaign);
        let windows: BTreeMap<_, _> = required_windows(&rule, &campaign, NOW)
            .into_iter()
            .map(|w| (w, totals.clone()))
            .collect();
        values.extend(evaluate(&rule, &campaign, &windows, NOW));
    }
    for o in &values {
        let mut alert = Alert {
            rule_id: rule.id.clone(),
            scope: o.scope_key.clone(),
            since: NOW,
            ..Alert::default()
        };
        for i in 0..3 {
            let at = NOW + i * rule.category.cadence_secs();
            alert = step(&alert, &rule, o.value, at).0;
        }
        alert = step(&alert, &rule, None, NOW + 4 * rule.category.cadence_secs()).0;
        serde_json::to_value(&alert).expect("alert serialises");
        match &rule.action {
            Action::ShiftBudget { max_shift_percent } => {
                let scores: BTreeMap<String, f64> = o.context["channel_scores"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| v.as_f64().map(|f| (k.clone(), f)))
                            .collect()
                    })
                    .unwrap_or_default();
                let _ = shift_budget_plan(campaign.channels(), &scores, *max_shift_percent);
            }
            Action::ChannelFailover { max_shift_percent } => {
                let channel = o.channel.as_deref().unwrap_or("email");
                let _ = failover_plan(campaign.channels(), channel, *max_shift_percent);
            }
            _ => {}
        }
    }
});
