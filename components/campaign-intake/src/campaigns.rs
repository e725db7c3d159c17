//! Campaign operations: campaigns and their stages, handoffs, audit and reports
//! ([`campaign_ops`]); resources, allocations, utilization and rebalancing
//! ([`resource_ops`]). Every handler is parse → load → decide (domain) → store → respond.
//!
//! Who may do what ([`ACCESS`]): every authenticated role reads; marketing creates
//! campaigns; marketing and operations edit them (field by field, see
//! [`campaign_ops::FIELD_ROLES`]) and request stage transitions (the gate decides,
//! the handoff records who); operations owns resources, allocations and rebalance
//! proposals; admin does everything.

mod campaign_ops;
mod resource_ops;

use chrono::{DateTime, Utc};
use opsflow_api::{ApiRequest, ApiResponse, FieldError, Principal, Problem, Role};
use opsflow_domain::campaign::{UserId, ValidationErrors};
use opsflow_store::spin::SpinKv;
use opsflow_store::{AuditLog, StoreError, UpdateError};

/// Every role may read.
const READERS: &[Role] = &[
    Role::Marketing,
    Role::Operations,
    Role::BrandReviewer,
    Role::ComplianceReviewer,
    Role::Viewer,
];
const MARKETING: &[Role] = &[Role::Marketing];
const PLANNERS: &[Role] = &[Role::Marketing, Role::Operations];
const OPERATIONS: &[Role] = &[Role::Operations];

/// The roles each operation needs (admin holds them all).
pub const ACCESS: &[(&str, &[Role])] = &[
    ("list_campaigns", READERS),
    ("create_campaign", MARKETING),
    ("get_campaign", READERS),
    ("update_campaign", PLANNERS),
    ("transition_campaign", PLANNERS),
    ("campaign_gate", READERS),
    ("list_handoffs", READERS),
    ("campaign_audit", READERS),
    ("campaign_report", READERS),
    ("list_resources", READERS),
    ("create_resource", OPERATIONS),
    ("get_resource", READERS),
    ("update_resource", OPERATIONS),
    ("delete_resource", OPERATIONS),
    ("resource_audit", READERS),
    ("list_allocations", READERS),
    ("create_allocation", OPERATIONS),
    ("delete_allocation", OPERATIONS),
    ("resource_utilization", READERS),
    ("list_rebalance_proposals", READERS),
    ("create_rebalance_proposal", OPERATIONS),
    ("get_rebalance_proposal", READERS),
    ("decide_rebalance_proposal", OPERATIONS),
];

/// One request's context: who, when, and the store.
pub(crate) struct Ctx {
    pub kv: SpinKv,
    pub who: Principal,
    pub actor: UserId,
    pub now: DateTime<Utc>,
}

pub async fn handle(op: &str, params: &[String], req: ApiRequest) -> ApiResponse {
    match run(op, params, req).await {
        Ok(r) => r,
        Err(p) => p.into(),
    }
}

async fn run(op: &str, params: &[String], req: ApiRequest) -> Result<ApiResponse, Problem> {
    let who = opsflow_edge::authenticate(&req).await?;
    let roles = ACCESS
        .iter()
        .find(|(name, _)| *name == op)
        .map(|(_, roles)| *roles)
        .ok_or_else(|| Problem::not_found(format!("operation {op} is not served here")))?;
    who.require(roles)?;
    let actor = UserId::parse(&who.sub)
        .map_err(|e| Problem::forbidden(format!("the token's subject cannot act here: it {e}")))?;
    let ctx = Ctx {
        kv: SpinKv::default_store(),
        who,
        actor,
        now: Utc::now(),
    };
    let id = params.first().map(String::as_str).unwrap_or_default();
    match op {
        "list_campaigns" => campaign_ops::list(&ctx, &req).await,
        "create_campaign" => Ok(idempotent(&ctx, op, "", &req, campaign_ops::create).await),
        "get_campaign" => campaign_ops::get(&ctx, id).await,
        // PATCH honours Idempotency-Key too: trigger-dispatch sends its trigger id, so
        // a dispatch retried after a lost answer does not shift a budget twice.
        "update_campaign" => Ok(idempotent(&ctx, op, id, &req, campaign_ops::update).await),
        "transition_campaign" => Ok(idempotent(&ctx, op, id, &req, campaign_ops::transition).await),
        "campaign_gate" => campaign_ops::gate(&ctx, id).await,
        "list_handoffs" => campaign_ops::handoffs(&ctx, id).await,
        "campaign_audit" => campaign_ops::audit_log(&ctx, id, &req).await,
        "campaign_report" => campaign_ops::report(&ctx, id).await,
        "list_resources" => resource_ops::list(&ctx, &req).await,
        "create_resource" => Ok(idempotent(&ctx, op, "", &req, resource_ops::create).await),
        "get_resource" => resource_ops::get(&ctx, id).await,
        "update_resource" => resource_ops::update(&ctx, id, &req).await,
        "delete_resource" => resource_ops::delete(&ctx, id, &req).await,
        "resource_audit" => resource_ops::audit_log(&ctx, id, &req).await,
        "list_allocations" => resource_ops::list_allocations(&ctx, &req).await,
        "create_allocation" => {
            Ok(idempotent(&ctx, op, "", &req, resource_ops::create_allocation).await)
        }
        "delete_allocation" => resource_ops::delete_allocation(&ctx, id).await,
        "resource_utilization" => resource_ops::utilization(&ctx, &req).await,
        "list_rebalance_proposals" => resource_ops::list_proposals(&ctx, &req).await,
        "create_rebalance_proposal" => {
            Ok(idempotent(&ctx, op, "", &req, resource_ops::create_proposal).await)
        }
        "get_rebalance_proposal" => resource_ops::get_proposal(&ctx, id).await,
        "decide_rebalance_proposal" => {
            Ok(idempotent(&ctx, op, id, &req, resource_ops::decide_proposal).await)
        }
        _ => Err(Problem::not_found(format!("operation {op} is not built"))),
    }
}

/// Runs a POST or PATCH under its `Idempotency-Key` (scoped to the operation and path id).
async fn idempotent<'a, F, Fut>(
    ctx: &'a Ctx,
    op: &str,
    id: &'a str,
    req: &'a ApiRequest,
    handler: F,
) -> ApiResponse
where
    F: FnOnce(&'a Ctx, &'a str, &'a ApiRequest) -> Fut,
    Fut: std::future::Future<Output = Result<ApiResponse, Problem>>,
{
    let scope = format!("{op}.{id}");
    opsflow_store::idempotency::run(&ctx.kv, &scope, &ctx.who.sub, req, || async {
        handler(ctx, id, req)
            .await
            .unwrap_or_else(ApiResponse::from)
    })
    .await
}

/// A 422 problem from the domain's per-field errors.
pub(crate) fn invalid(e: ValidationErrors) -> Problem {
    Problem::validation(
        e.errors
            .into_iter()
            .map(|f| FieldError {
                field: f.field,
                message: f.message,
            })
            .collect(),
    )
}

/// A 422 problem about one field.
pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError {
        field: field.to_string(),
        message: message.into(),
    }])
}

/// A store update's failure as a problem; `what` names the record for a 404.
pub(crate) fn update_failed(e: UpdateError<Problem>, what: &str) -> Problem {
    match e {
        UpdateError::NotFound => Problem::not_found(format!("{what} does not exist")),
        UpdateError::Refused(p) => p,
        UpdateError::Store(s) => s.into(),
    }
}

/// The `cursor`/`limit` query of a list.
pub(crate) fn page_query(req: &ApiRequest) -> Result<(Option<String>, usize), Problem> {
    let limit = opsflow_api::paging::limit(req.query("limit"))?;
    Ok((req.query("cursor").map(str::to_string), limit))
}

/// Appends to an audit log after a write has been stored. The write stands even if
/// the log is unreachable (retrying the request would repeat the write), so the
/// append is retried once and a failure is reported on stderr for the operator.
pub(crate) async fn audit(
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
pub(crate) async fn audit_page(
    ctx: &Ctx,
    kind: &'static str,
    id: &str,
    req: &ApiRequest,
) -> Result<ApiResponse, Problem> {
    let limit = opsflow_api::paging::limit(req.query("limit"))?;
    let after = match req.query("cursor") {
        None => 0,
        Some(c) => c
            .parse::<u64>()
            .map_err(|_| Problem::bad_request("cursor must be a cursor this API returned"))?,
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

/// Store errors as problems (for `?` on plain reads).
pub(crate) fn store(e: StoreError) -> Problem {
    e.into()
}
