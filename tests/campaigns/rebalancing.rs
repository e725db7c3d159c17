//! Overallocated resources found and rebalanced, by an operations user or the
//! scheduler, approved by a second operations user.

use crate::builders::{
    allocate, allocation, assert_problem, audit_actions, campaign, codes, create_campaign,
    create_resource, patch, person, transition,
};
use crate::support::{MIA, OLGA, OMAR, SCHEDULER_TOKEN as SCHEDULER, VIC, start};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn overallocation_is_detected_and_rebalanced_with_a_second_operations_approver() {
    let app = start("campaigns-rebalance").await;
    let ann = create_resource(&app, person("Ann", 8)).await;
    let bob = create_resource(&app, person("Bob", 8)).await;
    let mut low = campaign("Low priority");
    low["priority"] = json!("low");
    let c1 = create_campaign(&app, MIA, campaign("High priority")).await;
    let c2 = create_campaign(&app, MIA, low).await;
    let (id1, id2) = (
        c1["id"].as_str().expect("id"),
        c2["id"].as_str().expect("id"),
    );

    allocate(&app, allocation(&ann, id1, "2030-03-01", "2030-03-31", 6)).await;
    let made = allocate(&app, allocation(&ann, id2, "2030-03-01", "2030-03-31", 6)).await;
    let over = made["overallocations"].as_array().expect("listed");
    assert_eq!(over.len(), 31, "every day of March is overbooked");
    assert_eq!(over[0]["excess"], 4);

    let u = app
        .get(
            "/api/resources/utilization?from=2030-03-01&to=2030-03-31",
            VIC,
        )
        .await;
    assert_eq!(u.status, 200, "{}", u.body);
    let usage = u.json();
    assert_eq!(usage["overallocations"].as_array().map(Vec::len), Some(31));
    let ann_usage = usage["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["resource_id"] == ann.as_str())
        .expect("ann")
        .clone();
    assert_eq!(ann_usage["days"][0]["allocated"], 12);
    assert_eq!(ann_usage["overallocated_days"], 31);
    assert_eq!(
        codes(&transition(&app, OLGA, id1, "production").await),
        ["resource_overallocated"]
    );

    // Marketing cannot propose; olga proposes, may not approve her own; omar approves.
    let range = json!({"from": "2030-03-01", "to": "2030-03-31"});
    assert_problem(
        &app.post("/api/resources/rebalance-proposals", MIA, range.clone())
            .await,
        403,
    );
    let r = app
        .post("/api/resources/rebalance-proposals", OLGA, range.clone())
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let proposal = r.json();
    let pid = proposal["id"].as_str().expect("id").to_string();
    assert_eq!(proposal["status"], "pending");
    let moves = proposal["moves"].as_array().expect("moves");
    assert_eq!(moves.len(), 1, "{proposal}");
    assert_eq!(
        moves[0]["campaign_id"], id2,
        "the lower priority campaign moves"
    );
    assert_eq!(moves[0]["to_resource"], bob.as_str());
    assert_eq!(moves[0]["amount_per_day"], 4);
    // Asking again while it is pending returns the same proposal.
    let again = app
        .post("/api/resources/rebalance-proposals", OLGA, range.clone())
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["id"], pid.as_str());

    let decide = |token: &'static str, decision: &'static str| {
        let path = format!("/api/resources/rebalance-proposals/{pid}/decision");
        let app = &app;
        async move {
            app.post(&path, token, json!({ "decision": decision }))
                .await
        }
    };
    let r = decide(OLGA, "approve").await;
    assert_problem(&r, 403);
    assert_eq!(r.json()["code"], "author_cannot_approve");
    assert_problem(&decide(MIA, "approve").await, 403);
    let r = decide(OMAR, "approve").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "approved");
    assert_eq!(r.json()["decided_by"], "omar");
    assert_problem(&decide(OMAR, "reject").await, 409);

    // Applied: nothing overallocated, hours moved to bob, audited on the campaign.
    let u = app
        .get(
            "/api/resources/utilization?from=2030-03-01&to=2030-03-31",
            VIC,
        )
        .await;
    assert_eq!(u.json()["overallocations"], json!([]));
    let bobs = app
        .get(
            &format!("/api/resources/allocations?resource_id={bob}"),
            VIC,
        )
        .await;
    let bobs = bobs.json()["items"].as_array().expect("items").clone();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["campaign_id"], id2);
    assert_eq!(bobs[0]["amount_per_day"], 4);
    let actions = audit_actions(&app, id2).await;
    assert!(
        actions.contains(&("rebalance.applied".to_string(), "omar".to_string())),
        "{actions:?}"
    );
    let r = transition(&app, OLGA, id1, "production").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.post("/api/resources/rebalance-proposals", OLGA, range)
            .await
            .status,
        409,
        "nothing left to rebalance"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_adjusts_campaigns_and_proposes_rebalancing_as_a_system_caller() {
    let app = start("campaigns-system").await;
    let mut body = campaign("Automated");
    body["channels"] = json!([
        {"channel": "email", "budget_minor": 100_000, "send_plan": {"sends_per_day": 10}},
        {"channel": "sms", "budget_minor": 50_000, "send_plan": {"sends_per_day": 10}}
    ]);
    let c = create_campaign(&app, MIA, body).await;
    let id = c["id"].as_str().expect("id").to_string();
    let path = format!("/api/campaigns/{id}");
    // Shift 20% of the email budget to sms, with If-Match, as trigger dispatch does.
    let shifted = json!({"channels": [
        {"channel": "email", "budget_minor": 80_000, "send_plan": {"sends_per_day": 10}},
        {"channel": "sms", "budget_minor": 70_000, "send_plan": {"sends_per_day": 10}}
    ], "priority": 1});
    let r = patch(&app, SCHEDULER, &path, "\"1\"", shifted).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["channels"][1]["budget_minor"], 70_000);
    assert_eq!(r.json()["priority"], 1);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let log = app
        .get(&format!("/api/campaigns/{id}/audit"), VIC)
        .await
        .json();
    let last = &log["items"][1];
    assert_eq!(last["action"], "campaign.updated");
    assert_eq!(last["actor"], "system:scheduler");
    assert_eq!(
        last["detail"]["before"]["channels"][1]["budget_minor"],
        50_000
    );
    assert_eq!(
        last["detail"]["after"]["channels"][1]["budget_minor"],
        70_000
    );
    // Operations may not rewrite marketing's objectives or name.
    let r = patch(&app, SCHEDULER, &path, "\"2\"", json!({"name": "Mine now"})).await;
    assert_problem(&r, 403);
    assert_eq!(r.json()["fields"], json!(["name"]));
    let r = patch(
        &app,
        MIA,
        &path,
        "\"2\"",
        json!({"operations_owner": "mia"}),
    )
    .await;
    assert_problem(&r, 403);

    let ann = create_resource(&app, person("Ann", 8)).await;
    create_resource(&app, person("Bob", 8)).await;
    allocate(&app, allocation(&ann, &id, "2030-03-01", "2030-03-02", 12)).await;
    let r = app
        .post(
            "/api/resources/rebalance-proposals",
            SCHEDULER,
            json!({"from": "2030-03-01", "to": "2030-03-02"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["author"], "system:scheduler");
    let pid = r.json()["id"].as_str().expect("id").to_string();
    let r = app
        .post(
            &format!("/api/resources/rebalance-proposals/{pid}/decision"),
            OLGA,
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}
