//! Campaigns: create, list, get, update (If-Match), stage transitions through the
//! gates, handoffs and the audit log. The success report is campaign-metrics'.

use opsflow_api::request::MAX_JSON_BODY;
use opsflow_api::response::{check_version, json_value};
use opsflow_api::{ApiRequest, ApiResponse, Problem, Role, ids};
use opsflow_domain::campaign::{
    Campaign, CampaignInput, CampaignPatch, ContentFact, GateContext, PatchError, PlanningBook,
    Resource, Stage, gate as gate_of, parse_instant, transition as transition_of,
};
use opsflow_domain::content::ContentState;
use opsflow_edge::Ctx;
use opsflow_edge::handlers::{
    actor, audit, invalid_field, json_body, load_record, metric_totals, page_query, update_failed,
};
use opsflow_store::keys::campaigns as keys;
use opsflow_store::{Records, Versioned};
use serde::Deserialize;
use std::collections::BTreeSet;

/// Which roles may change which campaign field. Marketing owns the plan (name,
/// objectives, schedule, owner); operations owns its owner field; both edit the
/// channel strategy (marketing's budgets and channels, operations' send timing and
/// automated budget shifts), the priority and the monitoring rules.
pub const FIELD_ROLES: &[(&str, &[Role])] = &[
    ("name", &[Role::Marketing]),
    ("marketing_owner", &[Role::Marketing]),
    ("operations_owner", &[Role::Operations]),
    ("objectives", &[Role::Marketing]),
    ("schedule", &[Role::Marketing]),
    ("channels", &[Role::Marketing, Role::Operations]),
    ("priority", &[Role::Marketing, Role::Operations]),
    ("monitoring_rule_ids", &[Role::Marketing, Role::Operations]),
];

fn respond(status: u16, c: &Campaign) -> ApiResponse {
    ApiResponse::json(status, c).with_etag(c.version())
}

/// Loads a campaign; ids that cannot be ours are simply not found.
pub(crate) async fn load(ctx: &Ctx, id: &str) -> Result<Campaign, Problem> {
    load_record(ctx, "campaign", id, keys::campaign)
        .await
        .map(|v| v.value)
}

pub async fn create(ctx: &Ctx, _: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let input: CampaignInput = json_body(req, MAX_JSON_BODY)?;
    let new = input.parse().map_err(Problem::from)?;
    let id = ids::new_id()?;
    let campaign = Campaign::create(id.clone(), new, actor(ctx)?, ctx.now);
    // Index first: an index entry whose record never got written is skipped by lists,
    // while a record missing from the index would be invisible.
    opsflow_store::campaigns::set_stage(&ctx.kv, placement(&campaign))
        .await
        .map_err(Problem::from)?;
    let created = Records::new(&ctx.kv)
        .create(&keys::campaign(&id), &campaign)
        .await;
    match created {
        Ok(true) => {}
        Ok(false) => return Err(Problem::conflict("id-clash", "id clash; retry")),
        Err(e) => {
            let _ = opsflow_store::campaigns::remove(&ctx.kv, &id).await;
            return Err(e.into());
        }
    }
    audit(
        ctx,
        "campaign",
        &id,
        "campaign.created",
        serde_json::json!({ "name": campaign.name(), "stage": campaign.stage() }),
    )
    .await;
    Ok(respond(201, &campaign).with_header("location", format!("/api/campaigns/{id}")))
}

pub async fn get(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    Ok(respond(200, &load(ctx, id).await?))
}

pub async fn list(ctx: &Ctx, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let (cursor, limit) = page_query(req)?;
    let stage = match req.query("stage") {
        Some(s) => Some(Stage::parse(s).map_err(|e| invalid_field("stage", e.to_string()))?),
        None => None,
    };
    let owner = req.query("owner");
    // A page is the index's directory, its shards from the cursor on, and the
    // page's records: three KV calls whatever the number of campaigns.
    let page = opsflow_store::campaigns::page(
        &ctx.kv,
        stage.map(Stage::as_str),
        owner,
        cursor.as_deref().filter(|c| !c.is_empty()),
        limit,
    )
    .await
    .map_err(Problem::from)?;
    let keys: Vec<_> = page.ids.iter().map(|id| keys::campaign(id)).collect();
    let mut items: Vec<Campaign> = Vec::new();
    for v in Records::new(&ctx.kv)
        .get_many::<Campaign>(&keys)
        .await
        .map_err(Problem::from)?
    {
        let c = v.value;
        let owned = owner.is_none_or(|o| {
            c.marketing_owner().as_str() == o || c.operations_owner().as_str() == o
        });
        if stage.is_some_and(|s| c.stage() != s) || !owned {
            // The entry lags the record (a transition stopped between its two
            // writes) or was carried over without owners: repair it from the
            // record, which is the truth, and leave the campaign out.
            let _ = opsflow_store::campaigns::set_stage(&ctx.kv, placement(&c)).await;
            continue;
        }
        items.push(c);
    }
    let next_cursor = page.next;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "items": items, "next_cursor": next_cursor }),
    ))
}

enum Patched {
    Refused(Problem),
    Unchanged(Box<Campaign>),
}

pub async fn update(ctx: &Ctx, id: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let sent = req.require_if_match()?;
    let patch: CampaignPatch = json_body(req, MAX_JSON_BODY)?;
    let fields = patch.fields();
    if fields.is_empty() {
        return Err(invalid_field("body", "send at least one field to change"));
    }
    let denied: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|f| {
            FIELD_ROLES
                .iter()
                .find(|(name, _)| name == f)
                .is_some_and(|(_, roles)| !ctx.who.has_any(roles))
        })
        .collect();
    if !denied.is_empty() {
        return Err(Problem::forbidden(format!(
            "your roles may not change: {}",
            denied.join(", ")
        ))
        .with("fields", serde_json::json!(denied)));
    }
    if !ids::is_id(id) {
        return Err(Problem::not_found(format!("campaign {id} does not exist")));
    }
    let mut before = None;
    let result = Records::new(&ctx.kv)
        .update(&keys::campaign(id), |cur: Versioned<Campaign>| {
            check_version(sent, cur.value.version()).map_err(Patched::Refused)?;
            let next = cur.value.apply_patch(patch.clone(), ctx.now).map_err(|e| {
                Patched::Refused(match e {
                    PatchError::Closed(stage) => Problem::conflict(
                        "campaign-closed",
                        format!("the campaign is {stage}; it can no longer be changed"),
                    ),
                    PatchError::Invalid(errs) => Problem::from(errs),
                })
            })?;
            if next.version() == cur.value.version() {
                return Err(Patched::Unchanged(Box::new(next)));
            }
            before = Some(cur.value);
            Ok(next)
        })
        .await;
    let updated = match result {
        Ok(v) => v.value,
        Err(opsflow_store::UpdateError::Refused(Patched::Unchanged(c))) => {
            return Ok(respond(200, &c));
        }
        Err(opsflow_store::UpdateError::Refused(Patched::Refused(p))) => return Err(p),
        Err(opsflow_store::UpdateError::NotFound) => {
            return Err(Problem::not_found(format!("campaign {id} does not exist")));
        }
        Err(opsflow_store::UpdateError::Store(e)) => return Err(e.into()),
    };
    let owners_changed = before.as_ref().is_some_and(|b| {
        b.marketing_owner() != updated.marketing_owner()
            || b.operations_owner() != updated.operations_owner()
    });
    if owners_changed
        && let Err(e) = opsflow_store::campaigns::set_stage(&ctx.kv, placement(&updated)).await
    {
        // The change stands (a retry would now fail its If-Match); lists by the
        // old owner repair the entry when they meet it.
        eprintln!("campaign {id}: owners changed but the index was not updated: {e}");
    }
    let (old, new) = (json_value(&before)?, json_value(&updated)?);
    let pick = |v: &serde_json::Value| -> serde_json::Map<String, serde_json::Value> {
        fields
            .iter()
            .map(|f| (f.to_string(), v.get(*f).cloned().unwrap_or_default()))
            .collect()
    };
    audit(
        ctx,
        "campaign",
        id,
        "campaign.updated",
        serde_json::json!({
            "fields": fields,
            "before": pick(&old),
            "after": pick(&new),
            "version": updated.version(),
        }),
    )
    .await;
    Ok(respond(200, &updated))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionBody {
    target: Option<String>,
}

pub async fn transition(ctx: &Ctx, id: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let body: TransitionBody = json_body(req, MAX_JSON_BODY)?;
    let target = match body.target.as_deref() {
        None => return Err(invalid_field("target", "is required")),
        Some(t) => Stage::parse(t).map_err(|e| invalid_field("target", e.to_string()))?,
    };
    let sent = req.if_match()?;
    let current = load(ctx, id).await?;
    if current.stage() == target {
        // Already there — e.g. the retry of a transition whose index write failed:
        // the domain refuses it below (409), but first the index must agree.
        reindex(ctx, &current).await?;
    }
    let facts = if target == Stage::Cancelled {
        GateContext::default()
    } else {
        gate_context(ctx, &current).await?
    };
    let mut handoff = None;
    let actor = actor(ctx)?;
    let result = Records::new(&ctx.kv)
        .update(&keys::campaign(id), |cur: Versioned<Campaign>| {
            if let Some(v) = sent {
                check_version(v, cur.value.version())?;
            }
            if cur.value.stage() != current.stage() {
                return Err(Problem::conflict(
                    "stage-changed",
                    format!(
                        "the campaign moved to {} meanwhile; reload and retry",
                        cur.value.stage()
                    ),
                ));
            }
            match transition_of(&cur.value, target, &facts, &actor, ctx.now) {
                Ok(t) => {
                    handoff = Some(t.handoff);
                    Ok(t.campaign)
                }
                Err(refusal) => Err(Problem::conflict("transition-refused", refusal.to_string())
                    .with("from", serde_json::json!(refusal.from))
                    .with("to", serde_json::json!(refusal.to))
                    .with("unmet", serde_json::json!(refusal.unmet))),
            }
        })
        .await;
    let campaign = result
        .map_err(|e| update_failed(e, &format!("campaign {id}")))?
        .value;
    audit(
        ctx,
        "campaign",
        id,
        "campaign.transitioned",
        serde_json::json!({ "from": current.stage(), "to": campaign.stage(), "handoff": handoff }),
    )
    .await;
    // The stage just left, for process analytics (one compare-and-swap); on
    // failure the transition stands and the analytics backfill adds it later.
    if let Some(left) = opsflow_domain::analytics::derive::campaign_samples(&campaign).pop()
        && let Err(e) = opsflow_store::analytics::record(&ctx.kv, vec![left]).await
    {
        eprintln!("campaign {id}: analytics sample not recorded: {e}");
    }
    // The record is the truth and is written; if the index write fails the caller
    // gets a 503 and its retry (now a no-op transition) repairs the index.
    reindex(ctx, &campaign).await?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "campaign": campaign, "handoff": handoff }),
    )
    .with_etag(campaign.version()))
}

/// What the campaign index holds of `c`.
fn placement(c: &Campaign) -> opsflow_store::campaigns::Placement<'_> {
    opsflow_store::campaigns::Placement {
        id: c.id(),
        stage: c.stage().as_str(),
        version: c.version(),
        owners: [c.marketing_owner().as_str(), c.operations_owner().as_str()],
    }
}

/// Makes the stage index agree with the campaign record.
async fn reindex(ctx: &Ctx, c: &Campaign) -> Result<(), Problem> {
    opsflow_store::campaigns::set_stage(&ctx.kv, placement(c))
        .await
        .map_err(|e| {
            Problem::unavailable(format!(
                "the transition is recorded but the stage index could not be updated ({e}); retry the request"
            ))
        })
}

/// The facts the gate of the campaign's current stage needs, and only those:
/// each stage reads one or two keys at most.
async fn gate_context(ctx: &Ctx, c: &Campaign) -> Result<GateContext, Problem> {
    let mut facts = GateContext::default();
    match c.stage() {
        Stage::Planning => {
            let book = Records::new(&ctx.kv)
                .get::<PlanningBook>(&keys::allocations())
                .await
                .map_err(Problem::from)?
                .map(|v| v.value)
                .unwrap_or_default();
            let used: BTreeSet<&str> = book
                .allocations
                .iter()
                .filter(|a| a.campaign_id == c.id())
                .map(|a| a.resource_id.as_str())
                .collect();
            let keys: Vec<_> = used.iter().map(|r| keys::resource(r)).collect();
            facts.resources = Records::new(&ctx.kv)
                .get_many::<Resource>(&keys)
                .await
                .map_err(Problem::from)?
                .into_iter()
                .map(|v| v.value)
                .collect();
            facts.allocations = book.allocations;
        }
        Stage::Production | Stage::Optimization => {
            facts.content = content_facts(ctx, c.id()).await?;
        }
        Stage::Distribution => {
            facts.monitoring_rule_ids =
                opsflow_store::monitoring::rule_ids_for_campaign(&ctx.kv, c.id())
                    .await
                    .map_err(Problem::from)?;
        }
        Stage::Monitoring => {
            let (sum, _) = metric_totals(ctx, c, true).await?;
            facts.metrics_present = sum.by_kind.values().any(|v| *v != 0);
        }
        Stage::Completed | Stage::Cancelled => {}
    }
    Ok(facts)
}

async fn content_facts(ctx: &Ctx, id: &str) -> Result<Vec<ContentFact>, Problem> {
    let items = opsflow_store::content::linked_items(&ctx.kv, id)
        .await
        .map_err(Problem::from)?;
    Ok(items
        .into_iter()
        .map(|i| ContentFact {
            // A state this version does not know is treated as not approved.
            state: serde_json::from_value(serde_json::Value::String(i.state))
                .unwrap_or(ContentState::Draft),
            due: i.due.as_deref().and_then(|d| parse_instant(d).ok()),
            id: i.id,
            channel: i.channel,
        })
        .collect())
}

pub async fn gate(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    let c = load(ctx, id).await?;
    let facts = gate_context(ctx, &c).await?;
    let unmet = if c.stage().is_terminal() {
        Vec::new()
    } else {
        gate_of(&c, &facts)
    };
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "stage": c.stage(),
            "next": c.stage().next(),
            "ready": !c.stage().is_terminal() && unmet.is_empty(),
            "unmet": unmet,
        }),
    ))
}

pub async fn handoffs(ctx: &Ctx, id: &str) -> Result<ApiResponse, Problem> {
    let c = load(ctx, id).await?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({ "items": c.handoffs() }),
    ))
}
