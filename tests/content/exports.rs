//! A content item's audit trail as CSV (served by content-config beside
//! content-approval): the same page as JSON, the next one linked by `after`.

use crate::builders::{act, campaign, create, email};
use crate::support::{App, MIA, Reply, VIC};
use serde_json::json;

/// The rows of an audit trail's CSV page, after checking its documented header.
fn read_csv(r: &Reply) -> Vec<csv::StringRecord> {
    let (header, rows) = crate::support::read_csv(r);
    assert_eq!(header, ["seq", "at", "actor", "action", "detail"]);
    rows
}

async fn start() -> App {
    crate::support::start("content-export").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_content_audit_trail_exports_as_csv_page_by_page() {
    let app = start().await;
    let c = campaign(&app, &["email"]).await;
    let mut item = email(&c);
    item["title"] = json!("@SUM(A1), \"quoted\"");
    let (id, _) = create(&app, MIA, item).await;
    let submit = act(&app, MIA, &id, "submit", json!({})).await;
    assert_eq!(submit.status, 200, "{}", submit.body);

    let path = format!("/api/content/{id}/audit");
    let json = app.get(&path, VIC).await.json();
    let entries = json["items"].as_array().expect("items").len();
    assert!(entries >= 2, "{json}");

    let first = app.get(&format!("{path}?format=csv&limit=1"), VIC).await;
    assert_eq!(
        first.header("content-disposition"),
        Some(format!("attachment; filename=\"content-{id}-audit.csv\"").as_str())
    );
    let rows = read_csv(&first);
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][0], "1");
    assert_eq!(&rows[0][2], "mia");
    assert_eq!(
        &rows[0][3],
        json["items"][0]["action"].as_str().expect("action")
    );
    let detail: serde_json::Value = serde_json::from_str(&rows[0][4]).expect("detail is JSON");
    assert_eq!(detail, json["items"][0]["detail"]);

    let link = first.header("link").expect("a next page");
    assert!(link.ends_with(">; rel=\"next\""), "{link}");
    let next = &link[1..link.len() - ">; rel=\"next\"".len()];
    assert!(
        next.contains("after=1") && next.contains("format=csv"),
        "{next}"
    );
    let rest = read_csv(&app.get(next, VIC).await);
    assert_eq!(&rest[0][0], "2");

    let by_accept = app
        .send("GET", &path, Some(VIC), None, &[("accept", "text/csv")])
        .await;
    assert_eq!(read_csv(&by_accept).len(), entries);
    let bad = app.get(&format!("{path}?format=yaml"), VIC).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let missing = app
        .get(
            "/api/content/01ARZ3NDEKTSV4RRFFQ69G5FAV/audit?format=csv",
            VIC,
        )
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
}
