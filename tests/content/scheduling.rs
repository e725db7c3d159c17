//! Scheduling: concurrent requests never overrun a channel's hourly cap.

use crate::builders::{act, campaign_between, create, email, put_policy};
use crate::support::{MIA, OLGA, VIC, day, now_secs, rfc3339, start};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_scheduling_never_overruns_the_hourly_cap() {
    let app = start("content-schedule-cap").await;
    put_policy(
        &app,
        "email",
        json!({"workflow": {"stages": [], "auto_approve": true}, "cap_per_hour": 3}),
    )
    .await;
    let now = now_secs();
    let start = (now / 3600 + 48) * 3600;
    let c = campaign_between(&app, &["email"], start, start + 2 * 3600).await;
    let mut ids = Vec::new();
    for _ in 0..10 {
        let (id, _) = create(&app, MIA, email(&c)).await;
        let r = act(&app, MIA, &id, "submit", json!({})).await;
        assert_eq!(r.json()["state"], "approved", "{}", r.body);
        ids.push(id);
    }
    let app = std::sync::Arc::new(app);

    // Ten explicit requests for the same hour at once: exactly three land.
    let at = rfc3339(start + 1800);
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (app, id, at) = (app.clone(), id.clone(), at.clone());
            tokio::spawn(async move { act(&app, OLGA, &id, "schedule", json!({"at": at})).await })
        })
        .collect();
    let mut ok = Vec::new();
    let mut full = 0;
    for (t, id) in tasks.into_iter().zip(&ids) {
        let r = t.await.expect("task");
        match r.status {
            200 => ok.push(id.clone()),
            409 => {
                assert_eq!(r.json()["type"], "https://opsflow.dev/problems/slot-full");
                full += 1;
            }
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!((ok.len(), full), (3, 7));

    // The other seven pick automatically at once: the campaign has two hours, so
    // three more fit (in the other hour) and four are refused.
    let rest: Vec<String> = ids.iter().filter(|i| !ok.contains(i)).cloned().collect();
    let tasks: Vec<_> = rest
        .iter()
        .map(|id| {
            let (app, id) = (app.clone(), id.clone());
            tokio::spawn(async move { act(&app, OLGA, &id, "schedule", json!({})).await })
        })
        .collect();
    let mut auto_ok = 0;
    for t in tasks {
        let r = t.await.expect("task");
        match r.status {
            200 => auto_ok += 1,
            409 => assert_eq!(r.json()["type"], "https://opsflow.dev/problems/no-slot"),
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!(auto_ok, 3);

    let r = app
        .get(
            &format!(
                "/api/content/calendar?channel=email&from={}&to={}",
                day(start),
                day(start + 7200)
            ),
            VIC,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let cal = r.json();
    assert_eq!(cal["items"].as_array().map(Vec::len), Some(6), "{cal}");
    let per_hour = cal["sends_per_hour"].as_object().expect("per hour");
    assert_eq!(per_hour.len(), 2, "{cal}");
    assert!(per_hour.values().all(|n| n == 3), "{cal}");

    // Withdrawing a scheduled item frees its slot for someone else.
    let r = act(&app, MIA, &ok[0], "withdraw", json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut landed = false;
    for id in &rest {
        let r = act(&app, OLGA, id, "schedule", json!({"at": at})).await;
        if r.status == 200 {
            landed = true;
            break;
        }
    }
    assert!(landed, "a freed slot is reusable");
    // Outside the schedule is refused with the reason.
    let r = act(
        &app,
        OLGA,
        &rest[0],
        "schedule",
        json!({"at": rfc3339(start + 5 * 3600)}),
    )
    .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("outside the campaign schedule"),
        "{}",
        r.body
    );
}
