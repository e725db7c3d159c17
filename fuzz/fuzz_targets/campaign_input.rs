//! Campaign bodies of campaign-intake, each through `ApiRequest::json` and the
//! domain call its handler makes, then stored and read back as the store does:
//!
//! | selector | body | handler path |
//! |---|---|---|
//! | `create` | `CampaignInput` | `parse` → `Campaign::create` → `gate`, and each channel's send hours as content scheduling picks them |
//! | `patch` | `CampaignPatch` | `fields` → `Campaign::apply_patch` on a live campaign |
//! | `transition` | `{"target": …}` | `Stage::parse` → `transition` with an empty gate context |
//!
//! Input: the selector line, then the body.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use opsflow_domain::campaign::{
    Campaign, CampaignInput, CampaignPatch, GateContext, Stage, gate, transition,
};
use opsflow_domain::content::{SendRules, Span, candidates, curve_from_history};
use opsflow_fuzz::{NOW, campaign, json_request, now, selector, user};

/// Each channel's candidate send hours, as content-approval's scheduler builds them.
fn send_hours(c: &Campaign) {
    let curve = curve_from_history(&BTreeMap::new());
    for plan in c.channels() {
        let windows = plan
            .send_plan
            .as_ref()
            .map(|p| {
                p.windows
                    .iter()
                    .map(|w| Span {
                        start: w.start.timestamp(),
                        end: w.end.timestamp(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let rules = SendRules {
            schedule: Span {
                start: c.schedule().start().timestamp(),
                end: c.schedule().end().timestamp(),
            },
            windows,
        };
        let _ = candidates(&rules, NOW, &curve);
    }
}

fn stored(c: &Campaign) {
    let back: Campaign = serde_json::from_value(serde_json::to_value(c).expect("serialise"))
        .expect("a stored campaign reads back");
    assert_eq!(&back, c);
}

fuzz_target!(|data: &[u8]| {
    let (which, body) = selector(data);
    let req = json_request(body);
    match which {
        "create" => {
            let Ok(input) = req.json::<CampaignInput>() else {
                return;
            };
            let Ok(new) = input.parse() else { return };
            let c = Campaign::create("c2".into(), new, user("mia"), now());
            stored(&c);
            let _ = gate(&c, &GateContext::default());
            send_hours(&c);
        }
        "patch" => {
            let Ok(patch) = req.json::<CampaignPatch>() else {
                return;
            };
            let _ = patch.fields();
            let current = campaign();
            if let Ok(next) = current.apply_patch(patch, now()) {
                assert!(next.version() >= current.version());
                stored(&next);
                send_hours(&next);
            }
        }
        "transition" => {
            let Ok(body) = req.json::<serde_json::Value>() else {
                return;
            };
            let Some(target) = body.get("target").and_then(|t| t.as_str()) else {
                return;
            };
            let Ok(target) = Stage::parse(target) else {
                return;
            };
            if let Ok(moved) = transition(
                &campaign(),
                target,
                &GateContext::default(),
                &user("olga"),
                now(),
            ) {
                serde_json::to_value(&moved).expect("transition serialises");
            }
        }
        _ => {}
    }
});
