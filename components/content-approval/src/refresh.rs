//! `POST /api/content/{id}/refresh`: the optimization loop (trigger dispatch, on an
//! engagement drop) or an operations user opens a refresh — a new review round
//! on approved, scheduled or published content (opsflow_domain::content, refresh.rs).
//!
//! Asking again while the refresh is open, or again for the same trigger, answers
//! 200 with the item as it is and writes nothing, so a retried or redelivered
//! chained call never opens a second refresh or a second audit entry.

use opsflow_domain::content::{ContentError, RefreshInput};

use crate::support::{Ctx, Res, finish, item_response, load_config, load_item, mutate, param_id};

pub async fn refresh(ctx: &Ctx) -> Res {
    let id = param_id(ctx)?;
    let expect = ctx.req.if_match()?;
    let input: RefreshInput = ctx.req.json()?;
    let request = input.parse().map_err(opsflow_api::Problem::from)?;
    let current = load_item(&ctx.kv, id).await?;
    if let Some(v) = expect {
        opsflow_api::response::check_version(v, current.version)?;
    }
    let trigger = request.trigger_id.clone();
    if current.value.refresh_answered(trigger.as_deref()) {
        return Ok(item_response(200, &current));
    }
    let config = load_config(&ctx.kv, &current.value.campaign_id, &current.value.channel).await?;
    let mut answered = false;
    let result = mutate(&ctx.kv, id, expect, |item| {
        // Another request opened it since the read above: answer, write nothing.
        if item.refresh_answered(trigger.as_deref()) {
            answered = true;
            return Err(ContentError::Forbidden(String::new()));
        }
        item.request_refresh(
            request.clone(),
            &ctx.who.sub,
            ctx.now,
            config.standard(),
            &config.workflow,
        )
    })
    .await;
    match result {
        Err(_) if answered => Ok(item_response(200, &load_item(&ctx.kv, id).await?)),
        Err(p) => Err(p),
        Ok((item, changed)) => finish(ctx, item, changed, 200).await,
    }
}
