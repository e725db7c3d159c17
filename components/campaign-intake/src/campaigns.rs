//! Campaign operations: campaigns and their stages, handoffs, audit and reports
//! ([`campaign_ops`]); resources, allocations, utilization and rebalancing
//! ([`resource_ops`]). Every handler is parse → load → decide (domain) → store → respond.
//!
//! Who may do what (`Op::access` in `routes.rs`): every authenticated role reads;
//! marketing creates campaigns; marketing and operations edit them (field by field,
//! see [`campaign_ops::FIELD_ROLES`]) and request stage transitions (the gate
//! decides, the handoff records who); operations owns resources, allocations and
//! rebalance proposals; admin does everything.

mod campaign_ops;
mod resource_ops;

use crate::routes::Op;
use chrono::{DateTime, Utc};
use opsflow_api::{ApiRequest, ApiResponse, FieldError, Operation, Principal, Problem};
use opsflow_domain::campaign::UserId;
use opsflow_domain::validation::ValidationErrors;
use opsflow_store::spin::SpinKv;
use opsflow_store::{AuditLog, StoreError, UpdateError};

/// One request's context: who, when, and the store.
pub(crate) struct Ctx {
    pub kv: SpinKv,
    pub who: Principal,
    pub actor: UserId,
    pub now: DateTime<Utc>,
}

/// Runs one campaign or resource operation for `who` (already authorised for it).
pub(crate) async fn run(
    op: Op,
    id: &str,
    req: &ApiRequest,
    who: Principal,
) -> Result<ApiResponse, Problem> {
    let actor = UserId::parse(&who.sub)
        .map_err(|e| Problem::forbidden(format!("the token's subject cannot act here: it {e}")))?;
    let ctx = Ctx {
        kv: SpinKv::default_store(),
        who,
        actor,
        now: Utc::now(),
    };
    let ctx = &ctx;
    match op {
        Op::ListCampaigns => campaign_ops::list(ctx, req).await,
        Op::CreateCampaign => Ok(idempotent(ctx, op, "", req, campaign_ops::create).await),
        Op::GetCampaign => campaign_ops::get(ctx, id).await,
        // PATCH honours Idempotency-Key too: trigger-dispatch sends its trigger id, so
        // a dispatch retried after a lost answer does not shift a budget twice.
        Op::UpdateCampaign => Ok(idempotent(ctx, op, id, req, campaign_ops::update).await),
        Op::TransitionCampaign => Ok(idempotent(ctx, op, id, req, campaign_ops::transition).await),
        Op::CampaignGate => campaign_ops::gate(ctx, id).await,
        Op::ListHandoffs => campaign_ops::handoffs(ctx, id).await,
        Op::CampaignAudit => campaign_ops::audit_log(ctx, id, req).await,
        Op::CampaignReport => campaign_ops::report(ctx, id).await,
        Op::ListResources => resource_ops::list(ctx, req).await,
        Op::CreateResource => Ok(idempotent(ctx, op, "", req, resource_ops::create).await),
        Op::GetResource => resource_ops::get(ctx, id).await,
        Op::UpdateResource => resource_ops::update(ctx, id, req).await,
        Op::DeleteResource => resource_ops::delete(ctx, id, req).await,
        Op::ResourceAudit => resource_ops::audit_log(ctx, id, req).await,
        Op::ListAllocations => resource_ops::list_allocations(ctx, req).await,
        Op::CreateAllocation => {
            Ok(idempotent(ctx, op, "", req, resource_ops::create_allocation).await)
        }
        Op::DeleteAllocation => resource_ops::delete_allocation(ctx, id).await,
        Op::ResourceUtilization => resource_ops::utilization(ctx, req).await,
        Op::ListRebalanceProposals => resource_ops::list_proposals(ctx, req).await,
        Op::CreateRebalanceProposal => {
            Ok(idempotent(ctx, op, "", req, resource_ops::create_proposal).await)
        }
        Op::GetRebalanceProposal => resource_ops::get_proposal(ctx, id).await,
        Op::DecideRebalanceProposal => {
            Ok(idempotent(ctx, op, id, req, resource_ops::decide_proposal).await)
        }
        Op::ReceiveWebhook
        | Op::CheckWebhook
        | Op::CheckWebhookHead
        | Op::PostCampaignMetrics
        | Op::GetCampaignMetrics
        | Op::ListUnattributedEvents
        | Op::CleanupMetrics
        | Op::Me
        | Op::OpenApi => Err(Problem::not_found(format!(
            "operation {} is served by another module",
            op.id()
        ))),
    }
}

/// Runs a POST or PATCH under its `Idempotency-Key` (scoped to the operation and path id).
async fn idempotent<'a, F, Fut>(
    ctx: &'a Ctx,
    op: Op,
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
