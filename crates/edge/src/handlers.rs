//! What the handlers of campaign-intake, resource-planning and campaign-metrics
//! share: the caller as an actor, idempotent writes, audit logging and pages, a
//! campaign's metric totals over its life, and problem helpers.

use crate::Ctx;
use chrono::{DateTime, Utc};
use opsflow_api::{ApiRequest, ApiResponse, FieldError, Operation, Problem};
use opsflow_domain::campaign::{Campaign, UserId};
use opsflow_store::metrics::CampaignTotals;
use opsflow_store::{AuditLog, Key, Records, UpdateError, Versioned};
use std::collections::BTreeMap;

/// The caller as the campaign records name them; a token whose subject is not a
/// valid user id may read but not act (403).
pub fn actor(ctx: &Ctx) -> Result<UserId, Problem> {
    UserId::parse(&ctx.who.sub)
        .map_err(|e| Problem::forbidden(format!("the token's subject cannot act here: it {e}")))
}

/// The record at `key(id)`, or 404 "{what} {id} does not exist" — without a KV call
/// for an id this app could not have minted.
pub async fn load_record<T: serde::de::DeserializeOwned>(
    ctx: &Ctx,
    what: &str,
    id: &str,
    key: fn(&str) -> Key,
) -> Result<Versioned<T>, Problem> {
    let missing = || Problem::not_found(format!("{what} {id} does not exist"));
    if !opsflow_api::ids::is_id(id) {
        return Err(missing());
    }
    Records::new(&ctx.kv)
        .get(&key(id))
        .await?
        .ok_or_else(missing)
}

/// Runs a POST or PATCH under its `Idempotency-Key` (scoped to the operation and path id).
pub async fn idempotent<'a, O: Operation, F, Fut>(
    ctx: &'a Ctx,
    op: O,
    id: &'a str,
    req: &'a ApiRequest,
    handler: F,
) -> ApiResponse
where
    F: FnOnce(&'a Ctx, &'a str, &'a ApiRequest) -> Fut,
    Fut: std::future::Future<Output = Result<ApiResponse, Problem>>,
{
    let scope = format!("{}.{id}", op.id());
    opsflow_api::idempotency::run(&ctx.kv, &scope, &ctx.who.sub, req, || async {
        handler(ctx, id, req)
            .await
            .unwrap_or_else(ApiResponse::from)
    })
    .await
}

/// The JSON body as `T` ([`ApiRequest::json_limited`]), which must be a JSON object:
/// serde would also fill a struct from an array (`[null, null]`), which the OpenAPI
/// document rightly does not allow.
pub fn json_body<T: serde::de::DeserializeOwned>(
    req: &ApiRequest,
    limit: usize,
) -> Result<T, Problem> {
    let value = req.json_limited(limit)?;
    // The body parsed, so its first non-blank byte says what the top level is.
    match req.body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Ok(value),
        _ => Err(Problem::bad_request(
            "invalid JSON body: expected a JSON object",
        )),
    }
}

/// A 422 problem about one field.
pub fn invalid_field(field: &str, message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError {
        field: field.to_string(),
        message: message.into(),
    }])
}

/// A store update's failure as a problem; `what` names the record for a 404.
pub fn update_failed(e: UpdateError<Problem>, what: &str) -> Problem {
    match e {
        UpdateError::NotFound => Problem::not_found(format!("{what} does not exist")),
        UpdateError::Refused(p) => p,
        UpdateError::Store(s) => s.into(),
    }
}

/// The `cursor`/`limit` query of a list.
pub fn page_query(req: &ApiRequest) -> Result<(Option<String>, usize), Problem> {
    let limit = opsflow_api::paging::limit(req.query("limit"))?;
    Ok((req.query("cursor").map(str::to_string), limit))
}

/// Appends to an audit log after a write has been stored. The write stands even if
/// the log is unreachable (retrying the request would repeat the write), so the
/// append is retried once and a failure is reported on stderr for the operator.
pub async fn audit(
    ctx: &Ctx,
    kind: &'static str,
    id: &str,
    action: &str,
    detail: serde_json::Value,
) {
    let log = AuditLog::new(&ctx.kv, kind, id);
    let at = ctx.now.to_rfc3339();
    for attempt in 0..2 {
        match log.append(&at, &ctx.who.sub, action, detail.clone()).await {
            Ok(_) => return,
            Err(e) if attempt == 1 => {
                eprintln!(
                    "audit {kind}/{id} {action} by {} not recorded: {e}",
                    ctx.who.sub
                )
            }
            Err(_) => {}
        }
    }
}

/// One page of an audit log: `after` is the last sequence number seen. In CSV
/// (`format=csv`, `Accept: text/csv`) the same page, the next one in `Link`.
pub async fn audit_page(
    ctx: &Ctx,
    kind: &'static str,
    id: &str,
    req: &ApiRequest,
) -> Result<ApiResponse, Problem> {
    let format = opsflow_api::csv::format(req)?;
    let limit = opsflow_api::paging::limit(req.query("limit"))?;
    // Exactly what `next_cursor` holds (a sequence number), or empty for the first page.
    let after = match req.query("cursor") {
        None | Some("") => 0,
        Some(c) if c.len() <= 19 && c.bytes().all(|b| b.is_ascii_digit()) => {
            c.parse::<u64>().unwrap_or_default()
        }
        Some(_) => {
            return Err(Problem::bad_request(
                "cursor must be a cursor this API returned",
            ));
        }
    };
    let items = AuditLog::new(&ctx.kv, kind, id)
        .list(after, limit)
        .await
        .map_err(Problem::from)?;
    let next = (items.len() == limit)
        .then(|| items.last().map(|e| e.seq.to_string()))
        .flatten();
    if format == opsflow_api::csv::Format::Csv {
        let next = next.as_deref().map(|n| ("cursor", n));
        let name = format!("{kind}-{id}-audit.csv");
        return Ok(opsflow_api::csv::audit_csv(req, &items, next, &name));
    }
    Ok(opsflow_api::csv::json_varying(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items, "next_cursor": next }),
    )))
}

/// Metrics windows of a campaign, newest first: from the day it was created or
/// starts (whichever is earlier) to the end of today or of its schedule (whichever is
/// earlier), in slices of at most 100 days (the most one totals read covers), at
/// most 8 slices.
fn metrics_windows(c: &Campaign, now: DateTime<Utc>) -> Vec<(i64, i64)> {
    const DAY: i64 = 86_400;
    let floor = |t: i64| t - t.rem_euclid(DAY);
    let start = floor(c.schedule().start().min(c.created_at()).timestamp());
    let end = (floor(c.schedule().end().min(now).timestamp()) + DAY).max(start + DAY);
    let mut out = Vec::new();
    let mut to = end;
    while to > start && out.len() < 8 {
        let from = (to - 100 * DAY).max(start);
        out.push((from, to));
        to = from;
    }
    out
}

/// Counter totals over the campaign's metrics windows (all of them, or only until
/// one holds data when `first_only`), and the span they cover: what the stage
/// gates (campaign-intake) and the success report (campaign-metrics) read.
pub async fn metric_totals(
    ctx: &Ctx,
    c: &Campaign,
    first_only: bool,
) -> Result<(CampaignTotals, Option<(i64, i64)>), Problem> {
    let windows = metrics_windows(c, ctx.now);
    let mut sum = CampaignTotals::default();
    for (from, to) in &windows {
        let t = opsflow_store::metrics::campaign_totals(&ctx.kv, c.id(), *from, *to, 86_400, None)
            .await
            .map_err(Problem::from)?;
        let add = |dst: &mut BTreeMap<String, i64>, src: &BTreeMap<String, i64>| {
            for (k, v) in src {
                let slot = dst.entry(k.clone()).or_default();
                *slot = slot.saturating_add(*v);
            }
        };
        add(&mut sum.by_kind, &t.by_kind);
        for (channel, m) in &t.by_channel {
            add(sum.by_channel.entry(channel.clone()).or_default(), m);
        }
        if first_only && sum.by_kind.values().any(|v| *v != 0) {
            break;
        }
    }
    let span = windows
        .last()
        .zip(windows.first())
        .map(|((from, _), (_, to))| (*from, *to));
    Ok((sum, span))
}
