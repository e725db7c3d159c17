//! A campaign from planning to completed (or cancelled): listing, the stage gates
//! and their refusals, handoffs, and the report.

use crate::builders::{
    allocate, allocation, approve_content, approved_content, assert_problem, audit_actions,
    campaign, codes, create_campaign, create_resource, draft_content, patch, person, transition,
};
use crate::support::{MAX, MIA, OLGA, Reply, VIC, start};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn campaigns_are_created_in_planning_listed_by_stage_and_owner_and_paged() {
    let app = start("campaigns-list").await;
    let a = create_campaign(&app, MIA, campaign("Alpha")).await;
    assert_eq!(a["stage"], "planning");
    assert_eq!(a["version"], 1);
    assert_eq!(a["created_by"], "mia");
    let id = a["id"].as_str().expect("id");
    let got = app.get(&format!("/api/campaigns/{id}"), VIC).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("etag"), Some("\"1\""));
    assert_eq!(got.json(), a);

    let mut other = campaign("Beta");
    other["marketing_owner"] = json!("max");
    create_campaign(&app, MAX, other).await;
    let gamma = create_campaign(&app, MIA, campaign("Gamma")).await;

    let names = |r: &Reply| -> Vec<String> {
        r.json()["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let all = app.get("/api/campaigns", VIC).await;
    assert_eq!(names(&all), ["Alpha", "Beta", "Gamma"], "oldest first");
    let by_owner = app.get("/api/campaigns?owner=max", VIC).await;
    assert_eq!(names(&by_owner), ["Beta"]);
    // The owner filter reads the index's owner tags: a new owner is found at once.
    let gamma_path = format!("/api/campaigns/{}", gamma["id"].as_str().expect("id"));
    let moved = patch(
        &app,
        MIA,
        &gamma_path,
        "\"1\"",
        json!({"marketing_owner": "max"}),
    )
    .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let by_owner = app.get("/api/campaigns?owner=max", VIC).await;
    assert_eq!(names(&by_owner), ["Beta", "Gamma"]);
    let patched_back = patch(
        &app,
        MIA,
        &gamma_path,
        "\"2\"",
        json!({"marketing_owner": "mia"}),
    )
    .await;
    assert_eq!(patched_back.status, 200, "{}", patched_back.body);
    let by_owner = app.get("/api/campaigns?owner=max", VIC).await;
    assert_eq!(names(&by_owner), ["Beta"]);
    let planning = app.get("/api/campaigns?stage=planning&limit=2", VIC).await;
    assert_eq!(names(&planning), ["Alpha", "Beta"]);
    let cursor = planning.json()["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let rest = app
        .get(
            &format!("/api/campaigns?stage=planning&limit=2&cursor={cursor}"),
            VIC,
        )
        .await;
    assert_eq!(names(&rest), ["Gamma"]);
    assert!(rest.json()["next_cursor"].is_null());

    transition(&app, MIA, id, "cancelled").await;
    let planning = app.get("/api/campaigns?stage=planning", VIC).await;
    assert_eq!(
        names(&planning),
        ["Beta", "Gamma"],
        "a transition moves the id"
    );
    let cancelled = app.get("/api/campaigns?stage=cancelled", VIC).await;
    assert_eq!(names(&cancelled), ["Alpha"]);
    assert_problem(&app.get("/api/campaigns?stage=paused", VIC).await, 422);
    assert_problem(&app.get("/api/campaigns?limit=0", VIC).await, 400);
    assert_problem(
        &app.get("/api/campaigns/01ARZ3NDEKTSV4RRFFQ69G5FAV", VIC)
            .await,
        404,
    );
    assert_problem(&app.get("/api/campaigns/not-an-id", VIC).await, 404);
}

/// Planning → production → distribution → monitoring → optimization → completed,
/// with marketing and operations each handing over, the content gate driven through
/// content-approval, the monitoring gate by the shipped default rules, and the
/// metrics gate by samples posted to the metrics API.
#[tokio::test(flavor = "multi_thread")]
async fn the_whole_workflow_runs_from_planning_to_completed_with_both_roles() {
    let app = start("campaigns-workflow").await;
    let c = create_campaign(&app, MIA, campaign("Spring launch")).await;
    let id = c["id"].as_str().expect("id").to_string();

    // 1. Planning: operations books a person for the whole schedule and hands over.
    let ann = create_resource(&app, person("Ann", 8)).await;
    let r = transition(&app, OLGA, &id, "production").await;
    assert_problem(&r, 409);
    assert_eq!(codes(&r), ["no_allocations"]);
    allocate(&app, allocation(&ann, &id, "2030-03-01", "2030-03-31", 6)).await;
    let gate = app.get(&format!("/api/campaigns/{id}/gate"), MIA).await;
    assert_eq!(gate.json()["ready"], true, "{}", gate.body);
    let r = transition(&app, OLGA, &id, "production").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let moved = r.json();
    assert_eq!(moved["campaign"]["stage"], "production");
    assert_eq!(moved["campaign"]["version"], 2);
    assert_eq!(r.header("etag"), Some("\"2\""));
    let h = &moved["handoff"];
    assert_eq!(
        (h["from"].as_str(), h["to"].as_str()),
        (Some("planning"), Some("production"))
    );
    assert_eq!(h["by"], "olga");
    assert_eq!(h["marketing_deliverable"]["kind"], "objectives");
    assert_eq!(h["operations_deliverable"]["kind"], "resource_allocation");

    // 2. Production: nothing leaves before content is linked, due in time and approved.
    let r = transition(&app, MIA, &id, "distribution").await;
    assert_problem(&r, 409);
    let unmet = codes(&r);
    assert!(unmet.contains(&"no_content".to_string()), "{unmet:?}");
    assert!(
        unmet.contains(&"channel_without_content".to_string()),
        "{unmet:?}"
    );
    let cid = draft_content(&app, &id).await;
    let submit = app
        .post(&format!("/api/content/{cid}/submit"), MIA, json!({}))
        .await;
    assert_eq!(submit.status, 200, "{}", submit.body);
    let r = transition(&app, MIA, &id, "distribution").await;
    assert_problem(&r, 409);
    assert_eq!(codes(&r), ["content_not_approved"]);
    assert_eq!(
        r.json()["unmet"][0]["subject"],
        cid.as_str(),
        "the item is named"
    );
    approve_content(&app, &cid).await;
    let r = transition(&app, MIA, &id, "distribution").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["handoff"]["marketing_deliverable"]["kind"],
        "content"
    );

    // 3. Distribution: KPI targets are set and the default monitoring rules apply.
    let r = transition(&app, OLGA, &id, "monitoring").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // 4. Monitoring: optimizing needs something measured.
    let r = transition(&app, MIA, &id, "optimization").await;
    assert_problem(&r, 409);
    assert_eq!(codes(&r), ["no_metrics"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let m = app
        .post(
            &format!("/api/campaigns/{id}/metrics"),
            MIA,
            json!({"samples": [
                {"id": "s1", "kind": "conversions", "value": 120, "at": now, "channel": "email"},
                {"id": "s2", "kind": "spend", "value": 25_000, "at": now, "channel": "email"}
            ]}),
        )
        .await;
    assert!(m.status < 300, "{}", m.body);
    let r = transition(&app, MIA, &id, "optimization").await;
    assert_eq!(r.status, 200, "{}", r.body);

    // 5. Optimization: an edit sends the content back to review; the campaign
    //    closes only on approved content.
    let current = app.get(&format!("/api/content/{cid}"), VIC).await;
    let etag = current.header("etag").expect("content etag").to_string();
    let edit = app
        .send(
            "PATCH",
            &format!("/api/content/{cid}"),
            Some(MIA),
            Some(json!({"title": "Spring sale: last days"})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    let r = transition(&app, OLGA, &id, "completed").await;
    assert_problem(&r, 409);
    assert_eq!(codes(&r), ["content_not_approved"]);
    approve_content(&app, &cid).await;
    let r = transition(&app, OLGA, &id, "completed").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["campaign"]["stage"], "completed");

    let handoffs = app.get(&format!("/api/campaigns/{id}/handoffs"), VIC).await;
    let handoffs = handoffs.json()["items"].as_array().expect("items").clone();
    let steps: Vec<(String, String, String)> = handoffs
        .iter()
        .map(|h| {
            (
                h["from"].as_str().unwrap_or_default().to_string(),
                h["to"].as_str().unwrap_or_default().to_string(),
                h["by"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected = [
        ("planning", "production", "olga"),
        ("production", "distribution", "mia"),
        ("distribution", "monitoring", "olga"),
        ("monitoring", "optimization", "mia"),
        ("optimization", "completed", "olga"),
    ];
    assert_eq!(
        steps,
        expected
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    );
    let report = app
        .get(&format!("/api/campaigns/{id}/report"), VIC)
        .await
        .json();
    assert_eq!(report["has_data"], true, "{report}");
    assert_eq!(report["kpis"][0]["actual"], 120.0);
    assert_eq!(report["channels"][0]["budget_used_percent"], 25.0);
    let actions = audit_actions(&app, &id).await;
    let transitions = actions
        .iter()
        .filter(|(a, _)| a == "campaign.transitioned")
        .count();
    assert_eq!(transitions, 5, "{actions:?}");

    // A completed campaign is final.
    let r = transition(&app, OLGA, &id, "cancelled").await;
    assert_eq!(codes(&r), ["terminal_stage"]);
    let r = patch(
        &app,
        MIA,
        &format!("/api/campaigns/{id}"),
        "\"6\"",
        json!({"name": "Late"}),
    )
    .await;
    assert_problem(&r, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_campaign_can_be_cancelled_from_an_open_stage_and_stays_cancelled() {
    let app = start("campaigns-cancel").await;
    let c = create_campaign(&app, MIA, campaign("Short-lived")).await;
    let id = c["id"].as_str().expect("id").to_string();
    let r = transition(&app, MIA, &id, "cancelled").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["handoff"]["by"], "mia");
    assert!(
        r.json()["handoff"]["marketing_deliverable"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("cancelled"))
    );
    for target in ["planning", "production", "cancelled"] {
        let r = transition(&app, OLGA, &id, target).await;
        assert_eq!(codes(&r), ["terminal_stage"], "{target}");
    }
    let r = patch(
        &app,
        MIA,
        &format!("/api/campaigns/{id}"),
        "\"2\"",
        json!({"name": "Late"}),
    )
    .await;
    assert_problem(&r, 409);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refused_transition_lists_its_unmet_items() {
    let app = start("campaigns-refusals").await;
    let ann = create_resource(&app, person("Ann", 8)).await;
    let c = create_campaign(&app, MIA, campaign("Refusals")).await;
    let id = c["id"].as_str().expect("id").to_string();

    // Skipping and going back are refused whatever the gates say.
    for target in ["distribution", "completed", "planning"] {
        let r = transition(&app, OLGA, &id, target).await;
        assert_problem(&r, 409);
        assert_eq!(codes(&r), ["not_next_stage"], "{target}");
    }
    // Resource planning: nothing allocated, then a gap, then overallocation.
    assert_eq!(
        codes(&transition(&app, OLGA, &id, "production").await),
        ["no_allocations"]
    );
    allocate(&app, allocation(&ann, &id, "2030-03-01", "2030-03-20", 4)).await;
    let r = transition(&app, OLGA, &id, "production").await;
    assert_eq!(codes(&r), ["schedule_not_covered"]);
    assert_eq!(r.json()["unmet"][0]["subject"], "2030-03-21..2030-03-31");
    allocate(&app, allocation(&ann, &id, "2030-03-15", "2030-03-31", 6)).await;
    let r = transition(&app, OLGA, &id, "production").await;
    assert_eq!(codes(&r), ["resource_overallocated"]);
    assert_eq!(r.json()["unmet"][0]["subject"], ann.as_str());

    // Content coordination and distribution planning (a channel without a send plan).
    let mut second = campaign("No send plan");
    second["channels"] = json!([{"channel": "email", "budget_minor": 1000}]);
    let c2 = create_campaign(&app, MIA, second).await;
    let id2 = c2["id"].as_str().expect("id").to_string();
    let bob = create_resource(&app, person("Bob", 8)).await;
    allocate(&app, allocation(&bob, &id2, "2030-03-01", "2030-03-31", 2)).await;
    let r = transition(&app, OLGA, &id2, "production").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = transition(&app, MIA, &id2, "distribution").await;
    assert_problem(&r, 409);
    let mut unmet = codes(&r);
    unmet.sort();
    assert_eq!(
        unmet,
        ["channel_without_content", "no_content", "send_plan_missing"]
    );

    // Performance setup: no KPI target, and a named monitoring rule that does not exist.
    let mut third = campaign("No targets");
    third["objectives"] = json!([]);
    third["monitoring_rule_ids"] = json!(["rule-that-does-not-exist"]);
    let c3 = create_campaign(&app, MIA, third).await;
    let id3 = c3["id"].as_str().expect("id").to_string();
    let carol = create_resource(&app, person("Carol", 8)).await;
    allocate(
        &app,
        allocation(&carol, &id3, "2030-03-01", "2030-03-31", 2),
    )
    .await;
    assert_eq!(transition(&app, OLGA, &id3, "production").await.status, 200);
    approved_content(&app, &id3).await;
    let r = transition(&app, MIA, &id3, "distribution").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = transition(&app, OLGA, &id3, "monitoring").await;
    assert_problem(&r, 409);
    let mut unmet = codes(&r);
    unmet.sort();
    assert_eq!(unmet, ["monitoring_rule_missing", "no_kpi_targets"]);
    // Monitoring → optimization without metrics is refused in the workflow test.

    // A refusal changes nothing.
    let after = app.get(&format!("/api/campaigns/{id}"), VIC).await;
    assert_eq!(after.json()["stage"], "planning");
    assert_eq!(after.json()["version"], 1);
    let r = transition(&app, OLGA, &id, "launch").await;
    assert_problem(&r, 422);
    assert_eq!(r.json()["errors"][0]["field"], "target");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_says_no_data_until_metrics_exist() {
    let app = start("campaigns-report").await;
    let c = create_campaign(&app, MIA, campaign("Report")).await;
    let id = c["id"].as_str().expect("id");
    let r = app.get(&format!("/api/campaigns/{id}/report"), VIC).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let report = r.json();
    assert_eq!(report["has_data"], false);
    assert!(
        report["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("no metrics")),
        "{report}"
    );
    assert_eq!(report["kpis"][0]["kpi"], "conversions");
    assert_eq!(report["kpis"][0]["pace"]["status"], "no_data");
    assert_eq!(report["channels"][0]["channel"], "email");
}
