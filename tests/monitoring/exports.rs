//! The trigger list as CSV (`format=csv` or `Accept: text/csv`): fixed columns,
//! RFC 4180 quoting, and text a spreadsheet would run as a formula neutralised.

use crate::builders::{
    bounce_rule, campaign, create_rule, disable_defaults, half_bounced, notify, run, start,
};
use crate::receiver::Receiver;
use crate::support::{now_secs, read_csv};
use serde_json::json;

/// The documented columns, in order (docs/decisions.md, "Exports").
const COLUMNS: [&str; 26] = [
    "id",
    "created_at",
    "status",
    "rule_id",
    "rule_name",
    "category",
    "severity",
    "scope",
    "campaign_id",
    "channel",
    "action",
    "approval",
    "episode",
    "repeat",
    "value",
    "fire_threshold",
    "attempts",
    "max_attempts",
    "next_attempt_at",
    "last_error",
    "decided_by",
    "decided_at",
    "reason",
    "replays",
    "requested_by",
    "run_id",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_trigger_list_exports_as_csv_with_formulas_neutralised_and_numbers_kept() {
    let app = start("mon-export").await;
    disable_defaults(&app).await;
    let hook = Receiver::spawn().await;
    let c = campaign(&app).await;
    let rule = json!({"name": "=HYPERLINK(\"x\")", "approval": "requires_approval"});
    create_rule(&app, bounce_rule(&c, notify(&hook), rule)).await;
    let now = now_secs();
    half_bounced(&app, &c, now).await;
    let fired = run(&app, "operations-token", now).await;
    let tid = fired.json()["triggers"][0]
        .as_str()
        .expect("a trigger")
        .to_string();
    let reason = "+1, \"not now\"\n@SUM(A1)";
    let reject = app
        .post(
            &format!("/api/triggers/{tid}/reject"),
            "operations2-token",
            json!({ "reason": reason }),
        )
        .await;
    assert_eq!(reject.status, 200, "{}", reject.body);

    let by_param = app.get("/api/triggers?format=csv", "viewer-token").await;
    assert!(
        by_param
            .header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment; filename=\"triggers.csv\"")),
        "{:?}",
        by_param.headers
    );
    let (header, rows) = read_csv(&by_param);
    assert_eq!(header, COLUMNS);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let cell = |name: &str| -> &str {
        let at = COLUMNS.iter().position(|c| *c == name).expect("a column");
        &rows[0][at]
    };
    assert_eq!(cell("id"), tid);
    assert_eq!(cell("status"), "rejected");
    assert_eq!(cell("campaign_id"), c);
    assert_eq!(cell("category"), "distribution_success");
    assert_eq!(cell("action"), "notify");
    assert_eq!(cell("approval"), "requires_approval");
    assert_eq!(cell("decided_by"), "omar");
    // Text that would run as a formula gets a leading quote; the rest is verbatim,
    // a comma, quotes and a line break included.
    assert_eq!(cell("rule_name"), "'=HYPERLINK(\"x\")");
    assert_eq!(cell("reason"), format!("'{reason}"));
    // Numbers the API computed stay numbers.
    assert_eq!(cell("value").parse::<f64>().ok(), Some(0.5));
    assert_eq!(cell("fire_threshold").parse::<f64>().ok(), Some(0.1));
    assert_eq!(cell("episode"), "1");
    assert!(
        chrono::DateTime::parse_from_rfc3339(cell("created_at")).is_ok(),
        "{}",
        cell("created_at")
    );

    let by_accept = app
        .send(
            "GET",
            "/api/triggers",
            Some("viewer-token"),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(by_accept.status, 200);
    assert_eq!(
        by_accept.body, by_param.body,
        "Accept: text/csv is the same export"
    );
    assert_eq!(by_accept.header("vary"), Some("accept"));

    let json_still = app.get("/api/triggers", "viewer-token").await;
    assert_eq!(json_still.header("content-type"), Some("application/json"));
    assert_eq!(
        json_still.json()["items"][0]["rule_name"],
        "=HYPERLINK(\"x\")"
    );

    let unknown = app.get("/api/triggers?format=xlsx", "viewer-token").await;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    assert_eq!(
        unknown.header("content-type"),
        Some("application/problem+json")
    );
    let anonymous = app
        .send("GET", "/api/triggers?format=csv", None, None, &[])
        .await;
    assert_eq!(anonymous.status, 401);
}
