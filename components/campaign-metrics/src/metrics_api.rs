//! The metrics API: samples for sources without webhooks, counters read back,
//! unattributed events for inspection, and the dedupe cleanup pass.

use opsflow_api::{ApiRequest, ApiResponse, FieldError, Problem};
use opsflow_domain::webhooks::MetricKind;
use opsflow_domain::webhooks::event::{MAX_ATTRIBUTION_LEN, MAX_DEDUPE_ID_LEN, MAX_UNIX_SECONDS};
use opsflow_store::metrics::{self, Batch, HOUR_SECS, MAX_RANGE_HOURS, Sample, Target};
use opsflow_store::spin::SpinKv;
use serde::Deserialize;

use crate::now;
use opsflow_edge::handlers::json_body;

/// Most samples one `POST /api/campaigns/{id}/metrics` may carry.
const MAX_SAMPLES: usize = 1_000;
/// Body limit of that request.
const MAX_BODY: usize = 512 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SamplesBody {
    samples: Vec<WireSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireSample {
    id: String,
    kind: String,
    value: i64,
    at: WireTime,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    content_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireTime {
    Unix(i64),
    Text(String),
}

fn parse_time(t: &WireTime) -> Option<i64> {
    let secs = match t {
        WireTime::Unix(s) => *s,
        WireTime::Text(s) => chrono::DateTime::parse_from_rfc3339(s).ok()?.timestamp(),
    };
    (0..=MAX_UNIX_SECONDS).contains(&secs).then_some(secs)
}

fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Lengths here count characters (as the OpenAPI document's `maxLength` does).
fn attribution(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|v| {
        !v.trim().is_empty()
            && v.chars().count() <= MAX_ATTRIBUTION_LEN
            && !v.chars().any(char::is_control)
    })
}

fn campaign_id(id: &str) -> Result<&str, Problem> {
    if id.chars().count() <= MAX_ATTRIBUTION_LEN && !id.chars().any(char::is_control) {
        Ok(id)
    } else {
        Err(Problem::bad_request("campaign id too long"))
    }
}

/// Parses and validates the samples, all or nothing (422 lists every bad field).
fn parse_samples(body: SamplesBody, campaign: &str) -> Result<Vec<Sample>, Problem> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    if body.samples.is_empty() || body.samples.len() > MAX_SAMPLES {
        errors.push(FieldError {
            field: "samples".into(),
            message: format!("send 1..={MAX_SAMPLES} samples"),
        });
    }
    for (i, s) in body.samples.into_iter().enumerate() {
        let mut bad = |field: &str, message: &str| {
            errors.push(FieldError {
                field: format!("samples[{i}].{field}"),
                message: message.into(),
            })
        };
        if !printable(&s.id, MAX_DEDUPE_ID_LEN) {
            bad(
                "id",
                "1..=128 printable ASCII characters, unique per sample",
            );
        }
        let kind = MetricKind::parse(&s.kind);
        match kind {
            None => bad(
                "kind",
                "one of sent, delivered, bounced, dropped, deferred, opened, clicked, unsubscribed, spam_reports, conversions, spend",
            ),
            Some(k) if k.is_count() && s.value < 0 => bad("value", "counts cannot be negative"),
            _ => {}
        }
        let at = parse_time(&s.at);
        if at.is_none() {
            bad("at", "unix seconds or an RFC 3339 time, 1970..=9999");
        }
        if !attribution(&s.channel) {
            bad("channel", "1..=128 characters without control characters");
        }
        if !attribution(&s.content_id) {
            bad(
                "content_id",
                "1..=128 characters without control characters",
            );
        }
        if let (Some(kind), Some(at)) = (kind, at) {
            out.push(Sample {
                dedupe_id: Some(s.id),
                target: Target::Campaign(campaign.to_string()),
                kind: kind.as_str().to_string(),
                channel: s.channel.map(|c| c.trim().to_string()),
                content_id: s.content_id.map(|c| c.trim().to_string()),
                at,
                amount: s.value,
                detail: None,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Problem::validation(errors))
    }
}

pub async fn post_samples(id: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let campaign = campaign_id(id)?;
    let body: SamplesBody = json_body(req, MAX_BODY)?;
    let samples = parse_samples(body, campaign)?;
    let scope = format!("manual:{campaign}");
    let nonce = opsflow_api::ids::new_id()?;
    let kv = SpinKv::default_store();
    let outcome = metrics::ingest(
        &kv,
        Batch {
            scope: &scope,
            platform: "manual",
            samples,
            nonce: &nonce,
        },
        now(),
    )
    .await?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "campaign_id": campaign,
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
        }),
    ))
}

/// A time query parameter: unix seconds or RFC 3339.
fn query_time(req: &ApiRequest, name: &str) -> Result<Option<i64>, Problem> {
    let Some(raw) = req.query(name) else {
        return Ok(None);
    };
    let parsed = match raw.parse::<i64>() {
        Ok(secs) => parse_time(&WireTime::Unix(secs)),
        Err(_) => parse_time(&WireTime::Text(raw.to_string())),
    };
    parsed.map(Some).ok_or_else(|| {
        Problem::bad_request(format!("`{name}` must be unix seconds or an RFC 3339 time"))
    })
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

pub async fn get_metrics(id: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let campaign = campaign_id(id)?;
    let (granularity, bucket) = match req.query("granularity").unwrap_or("hour") {
        "hour" => ("hour", HOUR_SECS),
        "day" => ("day", metrics::DAY_SECS),
        other => {
            return Err(Problem::bad_request(format!(
                "granularity `{other}` is not hour or day"
            )));
        }
    };
    let floor = |t: i64| t - t.rem_euclid(bucket);
    let to = match query_time(req, "to")? {
        Some(t) => t,
        None => floor(now()) + bucket,
    };
    let from = match query_time(req, "from")? {
        Some(f) => floor(f),
        None => to - if bucket == HOUR_SECS { 24 } else { 30 } * bucket,
    };
    // Each bound is readable; how they relate is a validation error (422).
    let range_error = |message: String| {
        Problem::validation(vec![FieldError {
            field: "to".into(),
            message,
        }])
    };
    if from >= to {
        return Err(range_error("must be after `from`".into()));
    }
    if (to - from) / HOUR_SECS > MAX_RANGE_HOURS {
        return Err(range_error(format!(
            "a range covers at most {} days",
            MAX_RANGE_HOURS / 24
        )));
    }
    let channel = match req.query("channel") {
        None => None,
        Some(c) if !c.is_empty() && c.chars().count() <= MAX_ATTRIBUTION_LEN => Some(c),
        Some(_) => {
            return Err(Problem::bad_request(format!(
                "`channel` must be 1 to {MAX_ATTRIBUTION_LEN} characters"
            )));
        }
    };
    let kv = SpinKv::default_store();
    let totals = metrics::campaign_totals(&kv, campaign, from, to, bucket, channel).await?;
    let buckets: Vec<serde_json::Value> = totals
        .series
        .iter()
        .map(|(start, counts)| {
            serde_json::json!({ "start": start, "start_at": rfc3339(*start), "counts": counts })
        })
        .collect();
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "campaign_id": campaign,
            "channel": channel,
            "from": from,
            "to": to,
            "granularity": granularity,
            "totals": totals.by_kind,
            "by_channel": totals.by_channel,
            "by_content": totals.by_content,
            "buckets": buckets,
        }),
    ))
}

pub async fn unattributed(req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let platform = req.query("platform").unwrap_or_default();
    let known =
        opsflow_domain::webhooks::Platform::parse(platform).is_some() || platform == "manual";
    if !known {
        return Err(Problem::bad_request(
            "`platform` must be sendgrid, mandrill, hubspot or generic",
        ));
    }
    let day = match req.query("day") {
        None => metrics::day_of(now()),
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| metrics::day_of(t.and_utc().timestamp()))
            .ok_or_else(|| Problem::bad_request("`day` must be YYYY-MM-DD"))?,
    };
    let kv = SpinKv::default_store();
    let found = metrics::platform_day(&kv, platform, day).await?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "platform": platform,
            "day": rfc3339(day * metrics::DAY_SECS).get(..10).unwrap_or_default(),
            "unattributed": found.unattributed,
            "unknown": found.unknown,
            "samples": found.samples,
        }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CleanupBody {
    #[serde(default)]
    now: Option<i64>,
    #[serde(default)]
    max_days: Option<u64>,
}

/// What the daily maintenance pass removed.
#[derive(serde::Serialize)]
struct Maintenance {
    /// Dedupe markers and batch records (the fields the route always answered).
    #[serde(flatten)]
    metrics: metrics::CleanupReport,
    /// Closed triggers past their retention, and stale open-index entries.
    triggers: opsflow_store::triggers::PruneReport,
    /// Evaluation runs past their retention.
    runs: opsflow_store::runs::PruneReport,
    /// Send-slot counters of hours a week past.
    slots: opsflow_store::SlotPruneReport,
}

/// Index shards (2,000 ids each) the daily pass prunes per index and call.
const PRUNE_SHARDS: usize = 4;

pub async fn cleanup(req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let body: CleanupBody = if req.body.is_empty() {
        CleanupBody::default()
    } else {
        json_body(req, opsflow_api::request::MAX_JSON_BODY)?
    };
    let real_now = now();
    // A replayed `now` may only look back: a future one would expire markers early.
    let at = match body.now {
        Some(t) if t > real_now => {
            return Err(Problem::validation(vec![FieldError {
                field: "now".into(),
                message: "cannot be in the future".into(),
            }]));
        }
        Some(t) => t,
        None => real_now,
    };
    let max_days = body.max_days.unwrap_or(7).clamp(1, 31) as usize;
    let kv = SpinKv::default_store();
    let report = metrics::cleanup(&kv, at, max_days).await?;
    // The same daily pass prunes the indexes that grow with the monitoring
    // history (docs/monitoring.md "Retention"), a bounded number of shards each.
    let triggers = opsflow_store::triggers::prune(&kv, at, PRUNE_SHARDS).await?;
    let runs = opsflow_store::runs::prune(&kv, at, PRUNE_SHARDS).await?;
    let slots = opsflow_store::prune_slots(&kv, at).await?;
    let body = Maintenance {
        metrics: report,
        triggers,
        runs,
        slots,
    };
    Ok(ApiResponse::json(200, &body))
}
