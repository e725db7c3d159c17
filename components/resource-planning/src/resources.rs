//! Resources (CRUD), allocations, utilization and rebalance proposals.
//!
//! Allocations and proposals live in one record, the planning book
//! (`keys::campaigns::allocations()`): a proposal is computed from the book's
//! allocations, and approving it applies its moves in the same compare-and-swap.

use opsflow_api::request::MAX_JSON_BODY;
use opsflow_api::response::{check_version, json_value, with_version};
use opsflow_api::{ApiRequest, ApiResponse, Problem, ids};
use opsflow_domain::campaign::{
    AllocationInput, BookError, Campaign, DateRange, PlanningBook, Priority, ProposalRefusal,
    ProposalStatus, Proposed, RebalanceDecision, RebalanceProposal, Resource, ResourceInput,
    ResourceKind, ResourcePatch, overallocations, parse_day_range, utilization as utilization_of,
};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::{
    actor, audit, audit_page, invalid_field, json_body, load_record, page_query, update_failed,
};
use opsflow_store::keys::campaigns as keys;
use opsflow_store::{IdSet, Kv, Records, Versioned};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The planning book must stay under Spin's 1 MiB value limit.
const MAX_BOOK_BYTES: usize = 1_000_000;
/// Utilization answers at most this many days at once.
const MAX_UTILIZATION_DAYS: i64 = 366;

/// The campaign an allocation or proposal names, or 404.
async fn load_campaign(ctx: &Ctx, id: &str) -> Result<Campaign, Problem> {
    load_record(ctx, "campaign", id, keys::campaign)
        .await
        .map(|v| v.value)
}

fn respond(status: u16, r: &Versioned<Resource>) -> ApiResponse {
    ApiResponse::versioned(status, &r.value, r.version)
}

async fn load(ctx: &Ctx, id: &str) -> Result<Versioned<Resource>, Problem> {
    load_record(ctx, "resource", id, keys::resource).await
}

async fn all_resources(ctx: &Ctx) -> Result<Vec<Resource>, Problem> {
    let ids = IdSet::new(&ctx.kv, keys::resource_index())
        .ids()
        .await
        .map_err(Problem::from)?;
    let keys: Vec<_> = ids.iter().map(|id| keys::resource(id)).collect();
    Ok(Records::new(&ctx.kv)
        .get_many::<Resource>(&keys)
        .await
        .map_err(Problem::from)?
        .into_iter()
        .map(|v| v.value)
        .collect())
}

async fn book(ctx: &Ctx) -> Result<Versioned<PlanningBook>, Problem> {
    Ok(Records::new(&ctx.kv)
        .get::<PlanningBook>(&keys::allocations())
        .await
        .map_err(Problem::from)?
        .unwrap_or(Versioned {
            version: 0,
            value: PlanningBook::default(),
        }))
}

/// Changes the planning book with one compare-and-swap (re-running `f` if another
/// writer got there first), refusing a change that would outgrow the value limit.
async fn change_book<T>(
    ctx: &Ctx,
    mut f: impl FnMut(&mut PlanningBook) -> Result<T, Problem>,
) -> Result<(Versioned<PlanningBook>, T), Problem> {
    let mut out = None;
    let v = Records::new(&ctx.kv)
        .upsert(&keys::allocations(), |mut cur: Versioned<PlanningBook>| {
            let t = f(&mut cur.value)?;
            let size = serde_json::to_vec(&cur.value)
                .map_err(|e| Problem::new(500, "internal", "Internal error", e.to_string()))?
                .len();
            if size > MAX_BOOK_BYTES {
                return Err(Problem::conflict(
                    "planning-book-full",
                    "the planning book is full: delete past allocations or decide proposals",
                ));
            }
            out = Some(t);
            Ok(cur.value)
        })
        .await
        .map_err(|e| update_failed(e, "the planning book"))?;
    match out {
        Some(t) => Ok((v, t)),
        None => Err(Problem::new(
            500,
            "internal",
            "Internal error",
            "book change lost",
        )),
    }
}

// ---- resources -------------------------------------------------------------------

pub async fn create(ctx: &Ctx, _: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let input: ResourceInput = json_body(req, MAX_JSON_BODY)?;
    let id = ids::new_id()?;
    let resource = input.parse(id.clone()).map_err(Problem::from)?;
    IdSet::new(&ctx.kv, keys::resource_index())
        .add(&id)
        .await
        .map_err(Problem::from)?;
    if !Records::new(&ctx.kv)
        .create(&keys::resource(&id), &resource)
        .await
        .map_err(Problem::from)?
    {
        return Err(Problem::conflict("id-clash", "id clash; retry"));
    }
    audit(
        ctx,
        "resource",
        &id,
        "resource.created",
        json_value(&resource)?,
    )
    .await;
    let v = Versioned {
        version: 1,
        value: resource,
    };
    Ok(respond(201, &v).with_header("location", format!("/api/resources/{id}")))
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    Ok(respond(200, &load(ctx, id).await?))
}

pub async fn list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let (cursor, limit) = page_query(req)?;
    let kind = match req.query("kind") {
        Some(k) => Some(ResourceKind::parse(k).map_err(|e| invalid_field("kind", e.to_string()))?),
        None => None,
    };
    let ids = IdSet::new(&ctx.kv, keys::resource_index())
        .ids()
        .await
        .map_err(Problem::from)?;
    let after: Vec<&String> = ids
        .iter()
        .filter(|id| cursor.as_deref().is_none_or(|c| id.as_str() > c))
        .collect();
    let mut items = Vec::new();
    let mut more = false;
    'pages: for chunk in after.chunks(100) {
        let keys: Vec<_> = chunk.iter().map(|id| keys::resource(id)).collect();
        for v in Records::new(&ctx.kv)
            .get_many::<Resource>(&keys)
            .await
            .map_err(Problem::from)?
        {
            if kind.is_some_and(|k| v.value.kind != k) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break 'pages;
            }
            items.push((v.value.id.clone(), with_version(&v.value, v.version)?));
        }
    }
    let next_cursor = if more {
        items.last().map(|(id, _)| id.clone())
    } else {
        None
    };
    let items: Vec<_> = items.into_iter().map(|(_, b)| b).collect();
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items, "next_cursor": next_cursor }),
    ))
}

pub async fn update(ctx: &Ctx, id: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let sent = req.require_if_match()?;
    let patch: ResourcePatch = json_body(req, MAX_JSON_BODY)?;
    load(ctx, id).await?;
    let mut before = None;
    let v = Records::new(&ctx.kv)
        .update(&keys::resource(id), |cur: Versioned<Resource>| {
            check_version(sent, cur.version)?;
            let next = cur
                .value
                .apply_patch(patch.clone())
                .map_err(Problem::from)?;
            before = Some(cur.value);
            Ok(next)
        })
        .await
        .map_err(|e| update_failed(e, &format!("resource {id}")))?;
    audit(
        ctx,
        "resource",
        id,
        "resource.updated",
        serde_json::json!({ "before": before, "after": v.value, "version": v.version }),
    )
    .await;
    Ok(respond(200, &v))
}

pub async fn delete(ctx: &Ctx, id: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let sent = req.require_if_match()?;
    let current = load(ctx, id).await?;
    check_version(sent, current.version)?;
    let book = book(ctx).await?;
    let used: Vec<&str> = book
        .value
        .allocations
        .iter()
        .filter(|a| a.resource_id == id)
        .map(|a| a.id.as_str())
        .collect();
    if !used.is_empty() {
        return Err(Problem::conflict(
            "resource-in-use",
            format!(
                "resource {id} holds {} allocation(s); delete or move them first",
                used.len()
            ),
        )
        .with("allocations", serde_json::json!(used)));
    }
    ctx.kv
        .delete(keys::resource(id).as_str())
        .await
        .map_err(Problem::from)?;
    IdSet::new(&ctx.kv, keys::resource_index())
        .remove(id)
        .await
        .map_err(Problem::from)?;
    audit(
        ctx,
        "resource",
        id,
        "resource.deleted",
        serde_json::json!({ "version": current.version }),
    )
    .await;
    Ok(ApiResponse::empty(204))
}

pub async fn audit_log(ctx: &Ctx, id: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    if !ids::is_id(id) {
        return Err(Problem::not_found(format!("resource {id} does not exist")));
    }
    audit_page(ctx, "resource", id, req).await
}

// ---- allocations -----------------------------------------------------------------

pub async fn create_allocation(
    ctx: &Ctx,
    _: &str,
    req: &ApiRequest,
) -> Result<ApiResponse, Problem> {
    let input: AllocationInput = json_body(req, MAX_JSON_BODY)?;
    let allocation = input.parse(ids::new_id()?).map_err(Problem::from)?;
    let campaign = load_campaign(ctx, &allocation.campaign_id)
        .await
        .map_err(|_| invalid_field("campaign_id", "no such campaign"))?;
    if campaign.stage().is_terminal() {
        return Err(Problem::conflict(
            "campaign-closed",
            format!(
                "campaign {} is {}; it takes no new allocations",
                campaign.id(),
                campaign.stage()
            ),
        ));
    }
    let resource = load(ctx, &allocation.resource_id)
        .await
        .map_err(|_| invalid_field("resource_id", "no such resource"))?
        .value;
    if let Some(skill) = &allocation.skill
        && !resource.skills.contains(skill)
    {
        return Err(invalid_field(
            "skill",
            format!("resource {} does not have the skill {skill}", resource.id),
        ));
    }
    if allocation
        .days
        .intersect(&campaign.schedule().days())
        .is_none()
    {
        return Err(invalid_field(
            "to",
            format!(
                "the allocation falls outside the campaign schedule ({})",
                campaign.schedule().days()
            ),
        ));
    }
    let (book, ()) = change_book(ctx, |b| {
        b.allocate(allocation.clone());
        Ok(())
    })
    .await?;
    let over = overallocations(
        std::slice::from_ref(&resource),
        &book.value.allocations,
        allocation.days,
    );
    audit(
        ctx,
        "campaign",
        &allocation.campaign_id,
        "allocation.created",
        serde_json::json!({ "allocation": allocation, "overallocations": over }),
    )
    .await;
    Ok(ApiResponse::json(
        201,
        &serde_json::json!({ "allocation": allocation, "overallocations": over }),
    )
    .with_etag(book.version))
}

pub async fn list_allocations(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let campaign = req.query("campaign_id");
    let resource = req.query("resource_id");
    let book = book(ctx).await?;
    let items: Vec<_> = book
        .value
        .allocations
        .iter()
        .filter(|a| campaign.is_none_or(|c| a.campaign_id == c))
        .filter(|a| resource.is_none_or(|r| a.resource_id == r))
        .collect();
    Ok(ApiResponse::json(200, &serde_json::json!({ "items": items })).with_etag(book.version))
}

pub async fn delete_allocation(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    let (_, removed) = change_book(ctx, |b| {
        b.remove_allocation(id)
            .map_err(|e| Problem::not_found(e.to_string()))
    })
    .await?;
    audit(
        ctx,
        "campaign",
        &removed.campaign_id,
        "allocation.deleted",
        serde_json::json!({ "allocation": removed }),
    )
    .await;
    Ok(ApiResponse::empty(204))
}

fn range_query(req: &ApiRequest) -> Result<DateRange, Problem> {
    parse_day_range(req.query("from"), req.query("to")).map_err(Problem::from)
}

pub async fn utilization(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let range = range_query(req)?;
    if range.len_days() > MAX_UTILIZATION_DAYS {
        return Err(invalid_field(
            "to",
            format!("ask for at most {MAX_UTILIZATION_DAYS} days at once"),
        ));
    }
    let only = req.query("resource_id");
    let mut resources = all_resources(ctx).await?;
    resources.retain(|r| only.is_none_or(|o| r.id == o));
    let book = book(ctx).await?;
    let usage = utilization_of(&resources, &book.value.allocations, range);
    let over = overallocations(&resources, &book.value.allocations, range);
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "from": range.from(),
            "to": range.to(),
            "resources": usage,
            "overallocations": over,
        }),
    ))
}

// ---- rebalance proposals ---------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProposalBody {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: Option<String>,
}

fn book_problem(e: BookError) -> Problem {
    let detail = e.to_string();
    match e {
        BookError::ProposalNotFound(_) | BookError::AllocationNotFound(_) => {
            Problem::not_found(detail)
        }
        BookError::NothingToRebalance(_) => Problem::conflict("nothing-to-rebalance", detail),
        BookError::TooManyPending => Problem::conflict("too-many-pending-proposals", detail),
        BookError::Refused(ProposalRefusal::AuthorCannotApprove) => {
            Problem::forbidden(detail).with("code", "author_cannot_approve".into())
        }
        BookError::Refused(r @ ProposalRefusal::AlreadyDecided { .. }) => {
            Problem::conflict("proposal-decided", detail).with("code", r.code().into())
        }
        BookError::Apply(_) => Problem::conflict("proposal-stale", detail),
    }
}

pub async fn create_proposal(ctx: &Ctx, _: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let body: ProposalBody = json_body(req, MAX_JSON_BODY)?;
    let range = parse_day_range(body.from.as_deref(), body.to.as_deref()).map_err(Problem::from)?;
    let resources = all_resources(ctx).await?;
    let current = book(ctx).await?;
    // Campaign priorities decide whose hours move first (lowest priority first).
    let campaign_ids: BTreeSet<&str> = current
        .value
        .allocations
        .iter()
        .filter(|a| a.days.intersect(&range).is_some())
        .map(|a| a.campaign_id.as_str())
        .collect();
    let keys: Vec<_> = campaign_ids.iter().map(|id| keys::campaign(id)).collect();
    let priorities: BTreeMap<String, Priority> = Records::new(&ctx.kv)
        .get_many::<Campaign>(&keys)
        .await
        .map_err(Problem::from)?
        .into_iter()
        .map(|v| (v.value.id().to_string(), v.value.priority()))
        .collect();
    let id = ids::new_id()?;
    let actor = actor(ctx)?;
    let (_, proposed) = change_book(ctx, |b| {
        b.propose(
            &resources,
            &priorities,
            range,
            id.clone(),
            actor.clone(),
            ctx.now,
        )
        .map_err(book_problem)
    })
    .await?;
    Ok(match proposed {
        Proposed::New(p) => ApiResponse::json(201, &p).with_header(
            "location",
            format!("/api/resources/rebalance-proposals/{}", p.id),
        ),
        Proposed::Existing(p) => ApiResponse::json(200, &p),
    })
}

pub async fn list_proposals(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let status = match req.query("status") {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<ProposalStatus>(serde_json::Value::String(s.to_string()))
                .map_err(|_| {
                    invalid_field("status", "must be one of pending, approved, rejected")
                })?,
        ),
    };
    let book = book(ctx).await?;
    let items: Vec<&RebalanceProposal> = book
        .value
        .proposals
        .iter()
        .filter(|p| status.is_none_or(|s| p.status == s))
        .collect();
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items }),
    ))
}

pub async fn get_proposal(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    let book = book(ctx).await?;
    book.value
        .proposal(id)
        .map(|p| ApiResponse::json(200, p))
        .ok_or_else(|| Problem::not_found(format!("no rebalance proposal {id}")))
}

pub async fn decide_proposal(
    ctx: &Ctx,
    id: &str,
    req: &ApiRequest,
) -> Result<ApiResponse, Problem> {
    let body: DecisionBody = json_body(req, MAX_JSON_BODY)?;
    let decision = match body.decision.as_deref() {
        Some("approve") => RebalanceDecision::Approve,
        Some("reject") => RebalanceDecision::Reject,
        Some(_) => return Err(invalid_field("decision", "must be approve or reject")),
        None => return Err(invalid_field("decision", "is required")),
    };
    let resources = all_resources(ctx).await?;
    let actor = actor(ctx)?;
    let (_, decided) = change_book(ctx, |b| {
        b.decide_proposal(id, decision, &actor, ctx.now, &resources)
            .map_err(book_problem)
    })
    .await?;
    let action = match decided.status {
        ProposalStatus::Approved => "rebalance.applied",
        ProposalStatus::Rejected | ProposalStatus::Pending => "rebalance.rejected",
    };
    let affected: BTreeSet<&str> = decided
        .moves
        .iter()
        .map(|m| m.campaign_id.as_str())
        .collect();
    for campaign in affected {
        let moves: Vec<_> = decided
            .moves
            .iter()
            .filter(|m| m.campaign_id == campaign)
            .collect();
        audit(
            ctx,
            "campaign",
            campaign,
            action,
            serde_json::json!({
                "proposal": decided.id,
                "author": decided.author,
                "moves": moves,
            }),
        )
        .await;
    }
    Ok(ApiResponse::json(200, &decided))
}
