//! Platform webhooks (`/webhooks/{platform}`): parse the platform, load its
//! secret, verify the raw request, parse the batch, count it exactly once
//! (`opsflow_store::metrics::ingest`, whose documentation gives the write order),
//! answer with a status senders retry correctly:
//!
//! | outcome | status |
//! |---|---|
//! | every event stored or a known duplicate | 200 |
//! | platform secret unset / unreadable | 503 + `Retry-After` (senders keep retrying until configured) |
//! | bad signature, missing signature headers | 401 `bad-signature` |
//! | signed time outside the platform's replay window | 401 `replay-window` |
//! | body not a batch at all | 400 |
//! | body over 1 MiB | 413 |
//! | store failure | 503 + `Retry-After`; the retry counts nothing twice |

use opsflow_api::{ApiRequest, ApiResponse, Problem};
use opsflow_domain::webhooks::{
    Credentials, InboundRequest, KeptMessage, NormalizedEvent, ParsedBatch, Platform, UnknownEvent,
    VerifyError, parse_batch, public_url,
};
use opsflow_store::metrics::{self, Batch, Sample, Target};
use opsflow_store::spin::SpinKv;

/// Seconds a sender should wait before retrying while its platform is unconfigured.
const UNCONFIGURED_RETRY_SECS: u32 = 300;

/// Unix seconds now.
fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn platform(segment: &str) -> Result<Platform, Problem> {
    Platform::parse(segment).ok_or_else(|| {
        Problem::not_found(format!(
            "no webhook for platform `{segment}`; use sendgrid, mandrill, hubspot or generic"
        ))
    })
}

/// The `HEAD`/`GET` Mandrill (and some other senders) make to check a webhook URL.
pub fn check(segment: &str, head: bool) -> ApiResponse {
    match platform(segment) {
        Err(p) => p.into(),
        Ok(_) if head => ApiResponse::empty(200),
        Ok(p) => ApiResponse::json(
            200,
            &serde_json::json!({ "platform": p.as_str(), "ok": true }),
        ),
    }
}

fn unavailable(slug: &str, detail: String) -> Problem {
    let mut p = Problem::new(503, slug, "Webhook not configured", detail);
    p.retry_after = Some(UNCONFIGURED_RETRY_SECS);
    p
}

pub async fn receive(segment: &str, req: &ApiRequest) -> ApiResponse {
    match receive_inner(segment, req).await {
        Ok(r) => r,
        Err(p) => p.into(),
    }
}

async fn receive_inner(segment: &str, req: &ApiRequest) -> Result<ApiResponse, Problem> {
    let platform = platform(segment)?;
    let raw = opsflow_edge::variable(platform.secret_variable()).await;
    let credentials = Credentials::from_config(platform, raw.as_deref()).map_err(|e| match e {
        VerifyError::Unconfigured => unavailable(
            "platform-unconfigured",
            format!(
                "{platform} webhooks are disabled: set the `{}` variable",
                platform.secret_variable()
            ),
        ),
        other => unavailable("platform-misconfigured", other.to_string()),
    })?;
    let base = opsflow_edge::variable("public_base_url").await;
    let signs_url = matches!(platform, Platform::Mandrill | Platform::Hubspot);
    let base = match base {
        Some(b) => b,
        None if signs_url => {
            return Err(unavailable(
                "platform-misconfigured",
                "set `public_base_url`: this platform signs the webhook URL".into(),
            ));
        }
        None => String::new(),
    };
    let path_and_query = if req.raw_query.is_empty() {
        req.path.clone()
    } else {
        format!("{}?{}", req.path, req.raw_query)
    };
    let url = public_url(&base, &path_and_query);
    let now = now();
    let inbound = InboundRequest {
        method: &req.method,
        url: &url,
        headers: &req.headers,
        body: &req.body,
    };
    credentials.verify(&inbound, now).map_err(refused)?;
    let parsed = parse_batch(platform, &inbound, now).map_err(|e| {
        Problem::new(
            400,
            "malformed-batch",
            "Malformed webhook body",
            e.to_string(),
        )
    })?;
    let nonce = opsflow_api::ids::new_id()?;
    let batch = Batch {
        scope: platform.as_str(),
        platform: platform.as_str(),
        samples: samples(&parsed, now)?,
        nonce: &nonce,
    };
    let kv = SpinKv::default_store();
    let outcome = metrics::ingest(&kv, batch, now).await?;
    Ok(ApiResponse::json(
        200,
        &serde_json::json!({
            "platform": platform.as_str(),
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates + parsed.duplicates_in_batch,
            "unknown": outcome.unknown,
            "unattributed": outcome.unattributed,
            "rejected": parsed.rejected,
        }),
    ))
}

/// The 401 for a request that is not accepted as the platform's; one refused
/// for its signed time says how far off it is and what the window is.
fn refused(e: VerifyError) -> Problem {
    let window = |detail: String| {
        Problem::new(
            401,
            "replay-window",
            "Request outside the replay window",
            detail,
        )
    };
    match e {
        VerifyError::TooOld {
            age_secs,
            max_age_secs,
        } => window(e.to_string())
            .with("age_secs", age_secs.into())
            .with("max_age_secs", max_age_secs.into()),
        VerifyError::FromTheFuture {
            ahead_secs,
            max_ahead_secs,
        } => window(e.to_string())
            .with("ahead_secs", ahead_secs.into())
            .with("max_ahead_secs", max_ahead_secs.into()),
        other => Problem::new(
            401,
            "bad-signature",
            "Signature not accepted",
            other.to_string(),
        ),
    }
}

/// A parsed batch as store samples: counted events, then unknown kinds.
fn samples(parsed: &ParsedBatch, now: i64) -> Result<Vec<Sample>, Problem> {
    let mut out = parsed
        .events
        .iter()
        .map(event_sample)
        .collect::<Result<Vec<_>, _>>()?;
    for u in &parsed.unknown {
        out.push(unknown_sample(parsed.platform, u, now)?);
    }
    Ok(out)
}

/// An event of a kind we do not count; one that came as a whole message
/// (Standard Webhooks) keeps it as its detail, for inspection.
fn unknown_sample(platform: Platform, u: &UnknownEvent, now: i64) -> Result<Sample, Problem> {
    /// What the unattributed listing shows of an unknown message.
    #[derive(serde::Serialize)]
    struct Kept<'a> {
        platform: Platform,
        dedupe_id: Option<&'a str>,
        kind: &'a str,
        message: &'a KeptMessage,
    }
    let detail = match &u.message {
        None => None,
        Some(message) => Some(opsflow_api::response::json_value(&Kept {
            platform,
            dedupe_id: u.dedupe_id.as_deref(),
            kind: &u.kind,
            message,
        })?),
    };
    Ok(Sample {
        dedupe_id: u.dedupe_id.clone(),
        target: Target::Unknown,
        kind: u.kind.chars().take(64).collect(),
        channel: None,
        content_id: None,
        at: now,
        amount: 1,
        detail,
    })
}

/// An event as a store sample; an unattributed one keeps the whole event as its
/// detail so an operator can inspect and attribute it later.
fn event_sample(e: &NormalizedEvent) -> Result<Sample, Problem> {
    let detail = match e.campaign_id {
        Some(_) => None,
        None => Some(opsflow_api::response::json_value(e)?),
    };
    Ok(Sample {
        dedupe_id: Some(e.dedupe_id.clone()),
        target: match &e.campaign_id {
            Some(c) => Target::Campaign(c.clone()),
            None => Target::Unattributed,
        },
        kind: e.kind.as_str().to_string(),
        channel: e.channel.clone(),
        content_id: e.content_id.clone(),
        at: e.occurred_at,
        amount: e.amount,
        detail,
    })
}
