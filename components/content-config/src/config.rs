//! Configuration as data: the brand standard, channel policies (workflow,
//! auto-approval, hourly send cap) and per-campaign workflow overrides.
//!
//! Every record has an ETag; a built-in default that was never stored has ETag
//! `"0"`, and a `PUT` needs `If-Match` with the current ETag (`"0"` to replace a
//! default), so two editors never overwrite each other.

use opsflow_api::{ApiResponse, Problem};
use opsflow_domain::campaign::{Campaign, Channel};
use opsflow_domain::content::{
    BrandStandard, ChannelPolicy, DEFAULT_CAP_PER_HOUR, Workflow, WorkflowInput,
};
use opsflow_domain::validation::ValidationErrors;
use opsflow_edge::Ctx;
use opsflow_store::keys::{campaigns as campaign_keys, content as keys};
use opsflow_store::spin::SpinKv;
use opsflow_store::{Key, Kv, Records, UpdateError, Versioned};
use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;

type Res = Result<ApiResponse, Problem>;

/// The campaign a workflow override is for, or 404.
async fn load_campaign(kv: &SpinKv, id: &str) -> Result<Versioned<Campaign>, Problem> {
    Records::new(kv)
        .get::<Campaign>(&campaign_keys::campaign(id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("campaign {id} does not exist")))
}

/// Largest hourly cap.
const MAX_CAP: i64 = 1_000_000;

async fn get_or_default<T: DeserializeOwned + Serialize + Default>(ctx: &Ctx, key: &Key) -> Res {
    let v = Records::new(&ctx.kv)
        .get::<T>(key)
        .await?
        .unwrap_or(Versioned {
            version: 0,
            value: T::default(),
        });
    Ok(ApiResponse::json(200, &v.value).with_etag(v.version))
}

async fn put<T: DeserializeOwned + Serialize + Default + Clone>(
    ctx: &Ctx,
    key: &Key,
    value: T,
    action: &str,
) -> Res {
    let expect = ctx.req.require_if_match()?;
    let stored = Records::new(&ctx.kv)
        .upsert(key, |cur: Versioned<T>| {
            opsflow_api::response::check_version(expect, cur.version)?;
            Ok(value.clone())
        })
        .await
        .map_err(|e| match e {
            UpdateError::Refused(p) => p,
            UpdateError::Store(s) => s.into(),
            UpdateError::NotFound => Problem::not_found("record vanished"),
        })?;
    opsflow_store::AuditLog::new(&ctx.kv, "content-config", "all")
        .append(
            &ctx.now.to_rfc3339(),
            &ctx.who.sub,
            action,
            serde_json::json!({ "key": key.as_str(), "version": stored.version }),
        )
        .await?;
    Ok(ApiResponse::json(200, &stored.value).with_etag(stored.version))
}

pub async fn get_standard(ctx: &Ctx) -> Res {
    get_or_default::<BrandStandard>(ctx, &keys::brand_standard()).await
}

pub async fn put_standard(ctx: &Ctx) -> Res {
    let standard: BrandStandard = ctx.req.json()?;
    let standard = standard.validate().map_err(Problem::from)?;
    put(
        ctx,
        &keys::brand_standard(),
        standard,
        "brand_standard.updated",
    )
    .await
}

fn channel_param(ctx: &Ctx) -> Result<String, Problem> {
    let raw = ctx.params.first().map(String::as_str).unwrap_or_default();
    Channel::parse(raw)
        .map(String::from)
        .map_err(|e| Problem::bad_request(format!("channel {e}")))
}

pub async fn get_channel(ctx: &Ctx) -> Res {
    let channel = channel_param(ctx)?;
    get_or_default::<ChannelPolicy>(ctx, &keys::channel_policy(&channel)).await
}

/// `PUT /api/content/channels/{channel}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelPolicyInput {
    /// The workflow; the default one when absent.
    workflow: Option<WorkflowInput>,
    /// Sends per hour; the default when absent.
    cap_per_hour: Option<i64>,
}

pub async fn put_channel(ctx: &Ctx) -> Res {
    let channel = channel_param(ctx)?;
    let input: ChannelPolicyInput = ctx.req.json()?;
    let mut errs = ValidationErrors::default();
    let workflow = match input.workflow {
        Some(w) => match w.parse() {
            Ok(w) => w,
            Err(e) => {
                for f in e.errors {
                    errs.push(format!("workflow.{}", f.field), f.message);
                }
                Workflow::default()
            }
        },
        None => Workflow::default(),
    };
    let cap = match input.cap_per_hour {
        Some(c) if (1..=MAX_CAP).contains(&c) => c as u32,
        Some(_) => {
            errs.push("cap_per_hour", format!("must be between 1 and {MAX_CAP}"));
            0
        }
        None => DEFAULT_CAP_PER_HOUR,
    };
    if !errs.is_empty() {
        return Err(Problem::from(errs));
    }
    let policy = ChannelPolicy {
        workflow,
        cap_per_hour: cap,
    };
    put(
        ctx,
        &keys::channel_policy(&channel),
        policy,
        "channel_policy.updated",
    )
    .await
}

fn campaign_param(ctx: &Ctx) -> Result<&str, Problem> {
    match ctx.params.first() {
        Some(id) if !id.is_empty() && id.len() <= 128 => Ok(id),
        _ => Err(Problem::not_found("no such campaign")),
    }
}

pub async fn get_campaign_workflow(ctx: &Ctx) -> Res {
    let id = campaign_param(ctx)?;
    let v = Records::new(&ctx.kv)
        .get::<Workflow>(&keys::campaign_workflow(id))
        .await?
        .ok_or_else(|| {
            Problem::not_found(format!(
                "campaign {id} has no workflow override; its items use their channel's workflow"
            ))
        })?;
    Ok(ApiResponse::json(200, &v.value).with_etag(v.version))
}

pub async fn put_campaign_workflow(ctx: &Ctx) -> Res {
    let id = campaign_param(ctx)?;
    let input: WorkflowInput = ctx.req.json()?;
    let workflow = input.parse().map_err(Problem::from)?;
    load_campaign(&ctx.kv, id).await?;
    put(
        ctx,
        &keys::campaign_workflow(id),
        workflow,
        "campaign_workflow.updated",
    )
    .await
}

pub async fn delete_campaign_workflow(ctx: &Ctx) -> Res {
    let id = campaign_param(ctx)?;
    let expect = ctx.req.require_if_match()?;
    let key = keys::campaign_workflow(id);
    let current = Records::new(&ctx.kv)
        .get::<Workflow>(&key)
        .await?
        .ok_or_else(|| Problem::not_found(format!("campaign {id} has no workflow override")))?;
    opsflow_api::response::check_version(expect, current.version)?;
    ctx.kv.delete(key.as_str()).await?;
    Ok(ApiResponse::empty(204))
}
