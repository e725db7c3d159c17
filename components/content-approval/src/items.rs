//! Content items: create, list, read, edit, submit, decide, withdraw, publish and
//! check results (the audit trail is read by content-config).

use opsflow_api::{ApiResponse, Problem, paging};
use opsflow_domain::content::{
    ContentItem, ContentPatch, Decider, NewContent, ReviewDecisionInput, parse_state, state_name,
};
use opsflow_store::keys::{campaigns as campaign_keys, content as keys};
use opsflow_store::{IdSet, Records, Versioned};

use crate::support::{
    Ctx, Res, audit, finish, item_response, load_config, load_item, mutate, param_id, stage_roles,
    view,
};

/// Ids scanned per listing request at most (filters may leave a page short; the
/// cursor then continues from the last id scanned).
const MAX_SCAN: usize = 1000;

pub async fn list(ctx: &Ctx) -> Res {
    let limit = paging::limit(ctx.req.query("limit"))?;
    let cursor = ctx.req.query("cursor");
    let state = match ctx.req.query("state") {
        Some(s) => Some(parse_state(s).ok_or_else(|| {
            Problem::bad_request(
                "state must be draft, in_review, changes_requested, approved, scheduled, published or withdrawn",
            )
        })?),
        None => None,
    };
    let channel = ctx.req.query("channel");
    let index = match ctx.req.query("campaign") {
        Some(c) => keys::campaign_items(c),
        None => keys::item_index(),
    };
    // The index shard holding the cursor (and the directory, read with the first
    // shard): a page reads a bounded part of the index however many items exist.
    let (ids, next_shard) = IdSet::new(&ctx.kv, index).scan(cursor, 1).await?;
    let after: Vec<&String> = ids.iter().take(MAX_SCAN).collect();
    let mut items = Vec::new();
    let mut last_scanned = None;
    let chunk = limit.clamp(20, 100);
    'scan: for ids in after.chunks(chunk) {
        let keys: Vec<_> = ids.iter().map(|id| keys::item(id)).collect();
        let found = Records::new(&ctx.kv).get_many::<ContentItem>(&keys).await?;
        let mut by_id: std::collections::BTreeMap<&str, &ContentItem> = found
            .iter()
            .map(|v| (v.value.id.as_str(), &v.value))
            .collect();
        for id in ids {
            last_scanned = Some(id.as_str());
            if let Some(item) = by_id.remove(id.as_str())
                && state.is_none_or(|s| item.state == s)
                && channel.is_none_or(|c| item.channel == c)
            {
                items.push(view(item)?);
                if items.len() == limit {
                    break 'scan;
                }
            }
        }
    }
    let stopped_early = last_scanned.is_some_and(|l| ids.last().is_some_and(|x| x.as_str() > l));
    let next = if stopped_early {
        last_scanned.map(str::to_string)
    } else {
        next_shard
    };
    let mut body = serde_json::json!({ "items": items });
    if let Some(next) = next {
        body["next_cursor"] = serde_json::json!(next);
    }
    Ok(ApiResponse::json(200, &body))
}

pub async fn create(ctx: &Ctx) -> Res {
    let input: NewContent = ctx.req.json()?;
    let Some(campaign_id) = input.campaign_id.clone() else {
        // Let the domain report every missing field at once.
        let standard = opsflow_domain::content::BrandStandard::default();
        let std = opsflow_domain::content::Standard {
            standard: &standard,
            version: 0,
        };
        let err = ContentItem::create("-", input, &[], "-", ctx.now, std)
            .err()
            .unwrap_or_default();
        return Err(Problem::from(err));
    };
    let campaign = Records::new(&ctx.kv)
        .get::<opsflow_domain::campaign::Campaign>(&campaign_keys::campaign(&campaign_id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("campaign {campaign_id} does not exist")))?;
    let channels: Vec<String> = campaign
        .value
        .channels()
        .iter()
        .map(|c| c.channel.as_str().to_string())
        .collect();
    let channel = input.channel.clone().unwrap_or_default();
    let config = load_config(&ctx.kv, &campaign_id, &channel).await?;
    let id = opsflow_api::ids::new_id()?;
    let (mut item, changed) = ContentItem::create(
        &id,
        input,
        &channels,
        &ctx.who.sub,
        ctx.now,
        config.standard(),
    )
    .map_err(Problem::from)?;
    item.campaign_id = campaign_id.clone();
    // Index first: a listing skips ids whose record is missing, never the reverse.
    IdSet::new(&ctx.kv, keys::campaign_items(&campaign_id))
        .add(&id)
        .await?;
    IdSet::new(&ctx.kv, keys::item_index()).add(&id).await?;
    if !Records::new(&ctx.kv)
        .create(&keys::item(&id), &item)
        .await?
    {
        return Err(Problem::conflict("id-collision", "retry the request"));
    }
    audit(ctx, &item, &changed.events).await?;
    Ok(item_response(
        201,
        &Versioned {
            version: 1,
            value: item,
        },
    )
    .with_header("location", format!("/api/content/{id}")))
}

pub async fn get(ctx: &Ctx) -> Res {
    let item = load_item(&ctx.kv, param_id(ctx)?).await?;
    Ok(item_response(200, &item))
}

pub async fn update(ctx: &Ctx) -> Res {
    let id = param_id(ctx)?;
    let expect = ctx.req.require_if_match()?;
    let patch: ContentPatch = ctx.req.json()?;
    let current = load_item(&ctx.kv, id).await?;
    let config = load_config(&ctx.kv, &current.value.campaign_id, &current.value.channel).await?;
    let (item, changed) = mutate(&ctx.kv, id, Some(expect), |item| {
        item.apply_patch(
            patch.clone(),
            &ctx.who.sub,
            ctx.now,
            config.standard(),
            &config.workflow,
        )
    })
    .await?;
    finish(ctx, item, changed, 200).await
}

pub async fn submit(ctx: &Ctx) -> Res {
    let id = param_id(ctx)?;
    let expect = ctx.req.if_match()?;
    let current = load_item(&ctx.kv, id).await?;
    let config = load_config(&ctx.kv, &current.value.campaign_id, &current.value.channel).await?;
    let (item, changed) = mutate(&ctx.kv, id, expect, |item| {
        // The standard may have changed since the last edit: judge by the current one.
        item.rerun_checks(config.standard());
        item.submit(&ctx.who.sub, ctx.now, &config.workflow)
    })
    .await?;
    finish(ctx, item, changed, 200).await
}

pub async fn decide(ctx: &Ctx) -> Res {
    let id = param_id(ctx)?;
    let expect = ctx.req.if_match()?;
    let input: ReviewDecisionInput = ctx.req.json()?;
    let decider = Decider {
        sub: ctx.who.sub.clone(),
        roles: stage_roles(&ctx.who),
    };
    let (item, changed) = mutate(&ctx.kv, id, expect, |item| {
        item.decide(input.clone(), &decider, ctx.now)
    })
    .await?;
    finish(ctx, item, changed, 200).await
}

pub async fn withdraw(ctx: &Ctx) -> Res {
    let id = param_id(ctx)?;
    let expect = ctx.req.if_match()?;
    let (item, changed) = mutate(&ctx.kv, id, expect, |item| {
        item.withdraw(&ctx.who.sub, ctx.now)
    })
    .await?;
    finish(ctx, item, changed, 200).await
}

pub async fn publish(ctx: &Ctx) -> Res {
    let id = param_id(ctx)?;
    let expect = ctx.req.if_match()?;
    let (item, changed) = mutate(&ctx.kv, id, expect, |item| {
        item.publish(&ctx.who.sub, ctx.now)
    })
    .await?;
    finish(ctx, item, changed, 200).await
}

pub async fn checks(ctx: &Ctx) -> Res {
    let item = load_item(&ctx.kv, param_id(ctx)?).await?;
    let mut body = opsflow_api::response::json_value(&item.value.checks)?;
    body["state"] = serde_json::json!(state_name(item.value.state));
    Ok(ApiResponse::json(200, &body).with_etag(item.version))
}
