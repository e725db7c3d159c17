//! Resource and allocation bodies of resource-planning, each through
//! `ApiRequest::json` and the domain call its handler makes:
//!
//! | selector | body | handler path |
//! |---|---|---|
//! | `resource` | `ResourceInput` | `parse` → stored and read back |
//! | `resource_patch` | `ResourcePatch` | `Resource::apply_patch` on a person of 8 h/day |
//! | `allocation` | `AllocationInput` | `parse` → the book → `utilization`, `overallocations`, `propose` |
//! | `range` | `{"from": …, "to": …}` (a proposal, or utilization's query) | `parse_day_range` → `utilization` → `propose` |
//!
//! Input: the selector line, then the body.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use opsflow_domain::campaign::{
    AllocationInput, DateRange, PlanningBook, Resource, ResourceInput, ResourcePatch,
    overallocations, parse_day_range, utilization,
};
use opsflow_fuzz::{json_request, now, selector, user};

fn person() -> Resource {
    ResourceInput {
        name: Some("Ana".into()),
        kind: Some("person".into()),
        capacity_per_day: Some(8),
        skills: vec!["copywriting".into()],
    }
    .parse("r1".into())
    .expect("resource")
}

/// A book where `r1` is already booked 6 h/day through January 2026.
fn book() -> PlanningBook {
    let mut book = PlanningBook::default();
    let booked = AllocationInput {
        resource_id: Some("r1".into()),
        campaign_id: Some("c0".into()),
        from: Some("2026-01-01".into()),
        to: Some("2026-01-31".into()),
        amount_per_day: Some(6),
        skill: None,
    };
    book.allocate(booked.parse("a0".into()).expect("allocation"));
    book
}

fn plan(book: &mut PlanningBook, range: DateRange) {
    let resources = [person()];
    let _ = utilization(&resources, &book.allocations, range);
    let _ = overallocations(&resources, &book.allocations, range);
    let _ = book.propose(
        &resources,
        &BTreeMap::new(),
        range,
        "p1".into(),
        user("olga"),
        now(),
    );
}

fuzz_target!(|data: &[u8]| {
    let (which, body) = selector(data);
    let req = json_request(body);
    match which {
        "resource" => {
            let Ok(input) = req.json::<ResourceInput>() else {
                return;
            };
            if let Ok(r) = input.parse("r2".into()) {
                let back: Resource = serde_json::from_value(serde_json::to_value(&r).expect("ser"))
                    .expect("a stored resource reads back");
                assert_eq!(back, r);
            }
        }
        "resource_patch" => {
            let Ok(patch) = req.json::<ResourcePatch>() else {
                return;
            };
            let _ = person().apply_patch(patch);
        }
        "allocation" => {
            let Ok(input) = req.json::<AllocationInput>() else {
                return;
            };
            let Ok(allocation) = input.parse("a1".into()) else {
                return;
            };
            let range = allocation.days;
            let mut book = book();
            book.allocate(allocation);
            plan(&mut book, range);
        }
        "range" => {
            let Ok(body) = req.json::<serde_json::Value>() else {
                return;
            };
            let text = |k: &str| body.get(k).and_then(|v| v.as_str());
            if let Ok(range) = parse_day_range(text("from"), text("to")) {
                plan(&mut book(), range);
            }
        }
        _ => {}
    }
});
