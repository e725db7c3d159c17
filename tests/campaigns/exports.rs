//! CSV exports of the success report and of the campaign and resource audit logs
//! (`format=csv` or `Accept: text/csv`): fixed snake_case columns, RFC 4180
//! quoting read back by the `csv` crate, a page per request with the next one in
//! `Link`.

use crate::builders::{campaign, create_campaign, create_resource, person};
use crate::support::{self, MIA, OLGA, VIC, now_secs, read_csv};
use serde_json::json;

/// The report's documented columns, in order (docs/decisions.md, "Exports").
const REPORT_COLUMNS: [&str; 16] = [
    "campaign_id",
    "section",
    "name",
    "metric",
    "target",
    "actual",
    "percent_achieved",
    "deadline",
    "deadline_passed",
    "met",
    "pace_status",
    "expected_fraction",
    "achieved_fraction",
    "planned",
    "budget_minor",
    "budget_used_percent",
];

/// Every audit log's documented columns.
const AUDIT_COLUMNS: [&str; 5] = ["seq", "at", "actor", "action", "detail"];

/// The value of `column` in `row`, by the header's names.
fn at<'r>(header: &[String], row: &'r csv::StringRecord, column: &str) -> &'r str {
    let i = header.iter().position(|h| h == column).expect("a column");
    row.get(i).expect("a cell")
}

fn number(s: &str) -> f64 {
    s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_success_report_exports_as_csv_with_one_row_per_kpi_channel_metric_and_count() {
    let app = support::start("export-report").await;
    let c = create_campaign(&app, MIA, campaign("Spring, \"big\" launch")).await;
    let id = c["id"].as_str().expect("id");
    let when = now_secs() - 60;
    let samples = json!({"samples": [
        {"id": "a", "kind": "conversions", "value": 120, "at": when, "channel": "email"},
        {"id": "b", "kind": "spend", "value": 2500, "at": when, "channel": "email"},
    ]});
    let posted = app
        .post(&format!("/api/campaigns/{id}/metrics"), OLGA, samples)
        .await;
    assert!(posted.status < 300, "{}", posted.body);

    let path = format!("/api/campaigns/{id}/report");
    let r = app.get(&format!("{path}?format=csv"), VIC).await;
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"campaign-{id}-report.csv\"").as_str())
    );
    let (header, rows) = read_csv(&r);
    assert_eq!(header, REPORT_COLUMNS);
    let section = |s: &str| -> Vec<&csv::StringRecord> {
        rows.iter()
            .filter(|r| at(&header, r, "section") == s)
            .collect()
    };
    let kpi = section("kpi");
    assert_eq!(kpi.len(), 1, "{rows:?}");
    let k = kpi[0];
    assert_eq!(at(&header, k, "campaign_id"), id);
    assert_eq!(at(&header, k, "name"), "conversions");
    assert_eq!(number(at(&header, k, "target")), 500.0);
    assert_eq!(number(at(&header, k, "actual")), 120.0);
    assert_eq!(number(at(&header, k, "percent_achieved")), 24.0);
    assert_eq!(at(&header, k, "met"), "false");
    assert_eq!(at(&header, k, "deadline"), "2030-03-31T00:00:00+00:00");
    assert_eq!(at(&header, k, "planned"), "", "channel columns stay empty");

    let channel = section("channel");
    let metric = |m: &str| {
        channel
            .iter()
            .find(|r| at(&header, r, "name") == "email" && at(&header, r, "metric") == m)
            .unwrap_or_else(|| panic!("email {m}: {rows:?}"))
    };
    assert_eq!(number(at(&header, metric("conversions"), "actual")), 120.0);
    let spend = metric("spend");
    assert_eq!(number(at(&header, spend, "actual")), 2500.0);
    assert_eq!(at(&header, spend, "planned"), "true");
    assert_eq!(number(at(&header, spend, "budget_minor")), 100_000.0);
    assert_eq!(number(at(&header, spend, "budget_used_percent")), 2.5);

    let automation = section("automation");
    let counts: Vec<(&str, &str)> = automation
        .iter()
        .map(|r| (at(&header, r, "metric"), at(&header, r, "actual")))
        .collect();
    assert_eq!(counts, [("triggers_fired", "0"), ("actions_taken", "0")]);

    // The same export by Accept; JSON stays the default; a bad format is a 400.
    let by_accept = app
        .send("GET", &path, Some(VIC), None, &[("accept", "text/csv")])
        .await;
    assert_eq!(by_accept.header("content-type"), r.header("content-type"));
    let json = app.get(&path, VIC).await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.header("vary"), Some("accept"));
    let bad = app.get(&format!("{path}?format=pdf"), VIC).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.header("content-type"), Some("application/problem+json"));
    let anonymous = app
        .send("GET", &format!("{path}?format=csv"), None, None, &[])
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_audit_log_exports_a_page_as_csv_with_its_text_quoted_and_the_next_page_linked() {
    let app = support::start("export-audit").await;
    // Names allow no line breaks (the trigger export's test has one in a cell).
    let name = "=HYPERLINK(\"x\"), +1";
    let c = create_campaign(&app, MIA, campaign(name)).await;
    let id = c["id"].as_str().expect("id");
    let etag = format!("\"{}\"", c["version"]);
    let patched = crate::builders::patch(
        &app,
        MIA,
        &format!("/api/campaigns/{id}"),
        &etag,
        json!({"priority": "low"}),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);

    let first = app
        .get(
            &format!("/api/campaigns/{id}/audit?format=csv&limit=1"),
            VIC,
        )
        .await;
    let (header, rows) = read_csv(&first);
    assert_eq!(header, AUDIT_COLUMNS);
    assert_eq!(rows.len(), 1);
    assert_eq!(at(&header, &rows[0], "seq"), "1");
    assert_eq!(at(&header, &rows[0], "actor"), "mia");
    assert_eq!(at(&header, &rows[0], "action"), "campaign.created");
    // The detail is the entry's JSON, whole, through the quoting.
    let detail: serde_json::Value =
        serde_json::from_str(at(&header, &rows[0], "detail")).expect("detail is JSON");
    assert_eq!(detail["name"], name);
    // The JSON's `\"x\"` inside a quoted field, each quote doubled.
    assert!(first.body.contains(r#"\""x\"""#), "{}", first.body);

    let link = first.header("link").expect("a next page");
    let next = link
        .strip_prefix('<')
        .and_then(|l| l.split_once(">; rel=\"next\""))
        .map(|(url, _)| url.to_string())
        .unwrap_or_else(|| panic!("Link: {link}"));
    assert!(
        next.contains("format=csv") && next.contains("cursor=1"),
        "{next}"
    );
    let second = app.get(&next, VIC).await;
    let (_, rows) = read_csv(&second);
    assert_eq!(rows.len(), 1);
    assert_eq!(at(&header, &rows[0], "seq"), "2");
    assert_eq!(at(&header, &rows[0], "action"), "campaign.updated");

    // A resource's log, by Accept.
    let r = create_resource(&app, person("Ann", 8)).await;
    let resource = app
        .send(
            "GET",
            &format!("/api/resources/{r}/audit"),
            Some(OLGA),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    let (header, rows) = read_csv(&resource);
    assert_eq!(header, AUDIT_COLUMNS);
    assert_eq!(at(&header, &rows[0], "action"), "resource.created");
    assert_eq!(resource.header("link"), None, "one page only");
    let json = app.get(&format!("/api/resources/{r}/audit"), OLGA).await;
    assert_eq!(json.header("content-type"), Some("application/json"));
    let bad = app
        .get(&format!("/api/campaigns/{id}/audit?format=html"), VIC)
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}
