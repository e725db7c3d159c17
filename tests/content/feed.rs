//! The content calendar as an iCalendar feed at a per-user secret URL: read back by
//! an independent parser (`ical`), refused after revoke and after rotation, and
//! only ever what its owner could list.

use crate::builders::{act, approve, campaign, create, email};
use crate::support::{self, App, BREE, COLE, MAX, MIA, OLGA, Reply, VIC};
use serde_json::json;

const FEED: &str = "/api/content/calendar/feed";

/// The path of the URL a create answered (its origin is `public_base_url`).
fn feed_path(created: &Reply) -> String {
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let url = created.json()["url"].as_str().expect("url").to_string();
    let at = url.find(FEED).expect("the feed's path");
    url[at..].to_string()
}

async fn make_feed(app: &App, token: &str, channels: &[&str]) -> String {
    feed_path(&app.post(FEED, token, json!({ "channels": channels })).await)
}

/// An approved email item, scheduled: its id and send time.
async fn scheduled_item(app: &App, title: &str) -> (String, String) {
    let c = campaign(app, &["email"]).await;
    let mut body = email(&c);
    body["title"] = json!(title);
    let (id, _) = create(app, MIA, body).await;
    assert_eq!(act(app, MIA, &id, "submit", json!({})).await.status, 200);
    for who in [BREE, COLE, OLGA] {
        assert_eq!(approve(app, who, &id).await.status, 200);
    }
    let r = act(app, OLGA, &id, "schedule", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let at = r.json()["scheduled"]["at"]
        .as_str()
        .expect("at")
        .to_string();
    (id, at)
}

/// The events of a feed answer, parsed by `ical`: each as its properties.
fn events(r: &Reply) -> Vec<Vec<(String, String)>> {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    for line in r.body.split_inclusive('\n') {
        assert!(line.ends_with("\r\n"), "CRLF line ends: {line:?}");
        assert!(line.len() <= 77, "folded at 75 octets: {line:?}");
    }
    let mut parser = ical::IcalParser::new(std::io::BufReader::new(r.body.as_bytes()));
    let cal = parser.next().expect("a VCALENDAR").expect("it parses");
    assert!(parser.next().is_none(), "one calendar");
    let version = cal.properties.iter().find(|p| p.name == "VERSION");
    assert_eq!(version.and_then(|p| p.value.as_deref()), Some("2.0"));
    cal.events
        .iter()
        .map(|e| {
            e.properties
                .iter()
                .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
                .collect()
        })
        .collect()
}

fn prop<'e>(event: &'e [(String, String)], name: &str) -> &'e str {
    event
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{name} in {event:?}"))
}

/// `2030-03-01T09:00:00Z` as iCalendar's UTC form, `20300301T090000Z`.
fn ical_utc(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("a time")
        .with_timezone(&chrono::Utc)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn assert_gone(r: &Reply) {
    assert_eq!(r.status, 404, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_calendar_feed_shows_scheduled_sends_and_stops_after_rotation_and_revocation() {
    let app = support::start("content-feed").await;
    let title = "Spring, sale; \\ \"big\" — a title long enough that its SUMMARY line must fold";
    let (id, at) = scheduled_item(&app, title).await;

    // Calendar clients hold no token: only making, showing and revoking need one.
    assert_eq!(
        app.send(
            "POST",
            FEED,
            None,
            Some(json!({"channels": ["email"]})),
            &[]
        )
        .await
        .status,
        401
    );
    assert_eq!(app.send("DELETE", FEED, None, None, &[]).await.status, 401);
    assert_eq!(app.send("GET", FEED, None, None, &[]).await.status, 401);
    assert_eq!(
        app.post(FEED, MIA, json!({"channels": []})).await.status,
        422
    );

    let first = make_feed(&app, MIA, &["email"]).await;
    let shown = app.get(FEED, MIA).await.json();
    assert_eq!(shown["active"], true);
    assert_eq!(shown["channels"], json!(["email"]));
    assert!(shown.get("url").is_none(), "the URL is shown once: {shown}");

    let feed = app.send("GET", &first, None, None, &[]).await;
    let evs = events(&feed);
    assert_eq!(evs.len(), 1, "{}", feed.body);
    let e = &evs[0];
    assert_eq!(prop(e, "UID"), format!("{id}@opsflow"));
    assert_eq!(prop(e, "DTSTART"), ical_utc(&at));
    assert!(prop(e, "DTSTAMP").ends_with('Z'));
    // ical hands TEXT values back as written: commas, semicolons and backslashes
    // escaped, the folded line joined again.
    assert_eq!(
        prop(e, "SUMMARY"),
        format!(
            "[email] {}",
            title
                .replace('\\', "\\\\")
                .replace(',', "\\,")
                .replace(';', "\\;")
        )
    );
    assert!(
        prop(e, "DESCRIPTION").contains("State: scheduled\\n"),
        "{e:?}"
    );
    assert!(
        feed.body.lines().any(|l| l.starts_with(' ')),
        "a long line is folded: {}",
        feed.body
    );

    // Another user's feed of another channel shows nothing of it.
    let other = make_feed(&app, MAX, &["social"]).await;
    assert!(events(&app.send("GET", &other, None, None, &[]).await).is_empty());

    // Rotating: the old URL stops, the new one works.
    let second = make_feed(&app, MIA, &["email"]).await;
    assert_ne!(first, second);
    assert_gone(&app.send("GET", &first, None, None, &[]).await);
    assert_eq!(
        events(&app.send("GET", &second, None, None, &[]).await).len(),
        1
    );

    // Revoking: the URL stops, and the feed shows as inactive.
    assert_eq!(
        app.send("DELETE", FEED, Some(MIA), None, &[]).await.status,
        204
    );
    assert_gone(&app.send("GET", &second, None, None, &[]).await);
    assert_eq!(app.get(FEED, MIA).await.json()["active"], false);
    assert_gone(
        &app.send(
            "GET",
            &format!("{FEED}/{}", "0".repeat(64)),
            None,
            None,
            &[],
        )
        .await,
    );
    assert_gone(
        &app.send("GET", &format!("{FEED}/nope"), None, None, &[])
            .await,
    );
    // The JSON calendar still answers for readers.
    assert_eq!(app.get(FEED, VIC).await.json()["active"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_shows_nothing_once_its_owner_may_no_longer_read_the_calendar() {
    let state = support::state_dir("content-feed-roles");
    let app = App::start_in(&state, &[]).await;
    scheduled_item(&app, "Spring sale").await;
    let url = make_feed(&app, MIA, &["email"]).await;
    assert_eq!(
        events(&app.send("GET", &url, None, None, &[]).await).len(),
        1
    );
    app.stop().await;

    // The same store, with mia's token left without a role.
    let mut tokens: serde_json::Value =
        serde_json::from_str(&support::api_tokens()).expect("token table");
    for entry in tokens.as_object_mut().expect("object").values_mut() {
        if entry["sub"] == "mia" {
            entry["roles"] = json!([]);
        }
    }
    let app = App::start_in(&state, &[("api_tokens", &tokens.to_string())]).await;
    assert_gone(&app.send("GET", &url, None, None, &[]).await);
}
