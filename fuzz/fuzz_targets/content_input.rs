//! Content bodies of content-approval, each through `ApiRequest::json` and the
//! domain call its handler makes:
//!
//! | selector | body | handler path |
//! |---|---|---|
//! | `create` | `NewContent` | `ContentItem::create` (checks run) → stored and read back → `submit` |
//! | `patch` | `ContentPatch` | `apply_patch` on a draft and on an item in review |
//! | `decide` | `ReviewDecisionInput` | `decide` on an item in review, by a holder of every role |
//! | `standard` | `BrandStandard` | `validate` → the checks re-run on an item with it |
//! | `workflow` | `WorkflowInput` | `parse` → a draft submitted into it |
//! | `retime` | `TimingChangeInput` | `parse` |
//! | `refresh` | `RefreshInput` | `parse` → `request_refresh` on an item in review |
//! | `schedule` | `{"at": …}` | `parse_instant` → `check_explicit` against the campaign's send rules |
//!
//! Input: the selector line, then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsflow_domain::campaign::parse_instant;
use opsflow_domain::content::{
    BrandStandard, ContentItem, ContentPatch, Decider, NewContent, RefreshInput,
    ReviewDecisionInput, SendRules, Span, StageRole, Standard, TimingChangeInput, Workflow,
    WorkflowInput, check_explicit,
};
use opsflow_fuzz::{campaign, json_request, now, selector};

const CHANNELS: [&str; 2] = ["email", "social"];

fn standard(s: &BrandStandard) -> Standard<'_> {
    Standard {
        standard: s,
        version: 1,
    }
}

/// An email draft by mia that passes the default checks.
fn draft() -> ContentItem {
    let link = "https://acme.test/spring?utm_source=news&utm_medium=email&utm_campaign=spring";
    let input = NewContent {
        campaign_id: Some("c1".into()),
        channel: Some("email".into()),
        title: Some("Spring sale".into()),
        body: Some(format!("Our spring range is in. Shop now: {link}")),
        subject: Some("Spring is here".into()),
        links: vec![link.into()],
        due: None,
    };
    let channels = CHANNELS.map(String::from);
    let s = BrandStandard::default();
    ContentItem::create("i1", input, &channels, "mia", now(), standard(&s))
        .expect("draft")
        .0
}

fn in_review() -> ContentItem {
    let mut item = draft();
    item.submit("mia", now(), &Workflow::default())
        .expect("submitted");
    item
}

fn stored(item: &ContentItem) {
    let back: ContentItem = serde_json::from_value(serde_json::to_value(item).expect("ser"))
        .expect("a stored item reads back");
    assert_eq!(&back, item);
}

fuzz_target!(|data: &[u8]| {
    let (which, body) = selector(data);
    let req = json_request(body);
    let s = BrandStandard::default();
    match which {
        "create" => {
            let Ok(input) = req.json::<NewContent>() else {
                return;
            };
            let channels = CHANNELS.map(String::from);
            let Ok((mut item, _)) =
                ContentItem::create("i2", input, &channels, "mia", now(), standard(&s))
            else {
                return;
            };
            stored(&item);
            if item.submit("mia", now(), &Workflow::default()).is_ok() {
                stored(&item);
            }
        }
        "patch" => {
            let Ok(patch) = req.json::<ContentPatch>() else {
                return;
            };
            for mut item in [draft(), in_review()] {
                let w = Workflow::default();
                if item
                    .apply_patch(patch.clone(), "mia", now(), standard(&s), &w)
                    .is_ok()
                {
                    stored(&item);
                }
            }
        }
        "decide" => {
            let Ok(input) = req.json::<ReviewDecisionInput>() else {
                return;
            };
            let decider = Decider {
                sub: "vic".into(),
                roles: vec![
                    StageRole::BrandReviewer,
                    StageRole::ComplianceReviewer,
                    StageRole::Operations,
                    StageRole::Marketing,
                ],
            };
            let mut item = in_review();
            if item.decide(input, &decider, now()).is_ok() {
                stored(&item);
            }
        }
        "standard" => {
            let Ok(sent) = req.json::<BrandStandard>() else {
                return;
            };
            let Ok(valid) = sent.validate() else { return };
            let mut item = draft();
            item.rerun_checks(standard(&valid));
            stored(&item);
        }
        "workflow" => {
            let Ok(input) = req.json::<WorkflowInput>() else {
                return;
            };
            let Ok(workflow) = input.parse() else { return };
            let mut item = draft();
            if item.submit("mia", now(), &workflow).is_ok() {
                stored(&item);
            }
        }
        "retime" => {
            if let Ok(input) = req.json::<TimingChangeInput>() {
                let _ = input.parse();
            }
        }
        "refresh" => {
            let Ok(input) = req.json::<RefreshInput>() else {
                return;
            };
            let Ok(request) = input.parse() else { return };
            let mut item = in_review();
            let w = Workflow::default();
            if item
                .request_refresh(request, "olga", now(), standard(&s), &w)
                .is_ok()
            {
                stored(&item);
            }
        }
        "schedule" => {
            let Ok(body) = req.json::<serde_json::Value>() else {
                return;
            };
            let Some(raw) = body.get("at").and_then(|v| v.as_str()) else {
                return;
            };
            let Ok(at) = parse_instant(raw) else { return };
            let c = campaign();
            let rules = SendRules {
                schedule: Span {
                    start: c.schedule().start().timestamp(),
                    end: c.schedule().end().timestamp(),
                },
                windows: Vec::new(),
            };
            let _ = check_explicit(&rules, opsflow_fuzz::NOW, at.timestamp());
        }
        _ => {}
    }
});
