//! What the handlers of campaign-intake and resource-planning share: the caller as
//! an actor, idempotent writes, audit logging and pages, and problem helpers.

use crate::Ctx;
use opsflow_api::{ApiRequest, ApiResponse, FieldError, Operation, Problem};
use opsflow_domain::campaign::UserId;
use opsflow_store::{AuditLog, Key, Records, UpdateError, Versioned};

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

/// One page of an audit log: `after` is the last sequence number seen.
pub async fn audit_page(
    ctx: &Ctx,
    kind: &'static str,
    id: &str,
    req: &ApiRequest,
) -> Result<ApiResponse, Problem> {
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
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items, "next_cursor": next }),
    ))
}
