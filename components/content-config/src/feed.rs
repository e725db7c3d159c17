//! The content calendar as an iCalendar feed (RFC 5545) at a per-user secret URL,
//! for calendar clients, which cannot send a bearer token (docs/decisions.md,
//! "Calendar feed").
//!
//! - `POST /api/content/calendar/feed {"channels": [...]}` (bearer) makes the
//!   caller's feed, or replaces it: a new 256-bit secret, whose URL is answered
//!   this once. Only the secret's SHA-256 is stored (as `api_tokens` stores token
//!   digests): `cnt:feed:s:<digest>` names the owner, `cnt:feed:u:<sub>` holds the
//!   owner's current digest and channels.
//! - `GET` (bearer) says whether the caller has one; `DELETE` revokes it.
//! - `GET /api/content/calendar/feed/{secret}` (no token) answers `text/calendar`
//!   while the secret is the owner's current one and the owner's token still
//!   grants a role that may read the calendar; otherwise 404, as problem+json.
//!   It shows what the JSON calendar (`GET /api/content/calendar`) shows that user
//!   for each of the feed's channels, from 7 days ago to 84 days ahead.

use chrono::{DateTime, Duration, Utc};
use opsflow_api::{ApiResponse, FieldError, Problem, roles};
use opsflow_domain::campaign::Channel;
use opsflow_edge::Ctx;
use opsflow_store::keys::content as keys;
use opsflow_store::spin::SpinKv;
use opsflow_store::{Kv, Records, UpdateError};
use serde::{Deserialize, Serialize};

/// Most channels one feed shows (each is a calendar read of [`DAYS`] days).
const MAX_CHANNELS: usize = 4;
/// Days before today the feed starts.
const DAYS_BEFORE: i64 = 7;
/// Days the feed covers, today's included: the JSON calendar's longest range.
const DAYS: i64 = 92;

/// The owner's side: which secret is current (its digest) and what it shows.
#[derive(Debug, Default, Serialize, Deserialize)]
struct FeedOwner {
    /// SHA-256 (hex) of the current secret; `None` after a revoke.
    secret_hash: Option<String>,
    /// The channels the feed shows.
    channels: Vec<String>,
    /// When the current secret was made.
    created_at: Option<DateTime<Utc>>,
}

/// The secret's side: whose feed it is.
#[derive(Debug, Serialize, Deserialize)]
struct FeedSecret {
    /// The owner's user id.
    sub: String,
}

/// The body of `POST /api/content/calendar/feed`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedInput {
    channels: Vec<String>,
}

fn owner_view(owner: &FeedOwner) -> serde_json::Value {
    serde_json::json!({
        "active": owner.secret_hash.is_some(),
        "channels": if owner.secret_hash.is_some() { owner.channels.clone() } else { Vec::new() },
        "created_at": owner.created_at.filter(|_| owner.secret_hash.is_some()),
    })
}

/// `GET /api/content/calendar/feed`: whether the caller has a feed (never its URL).
pub async fn show(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let owner = Records::new(&ctx.kv)
        .get::<FeedOwner>(&keys::calendar_feed_owner(&ctx.who.sub))
        .await?
        .map(|v| v.value)
        .unwrap_or_default();
    Ok(ApiResponse::json(200, &owner_view(&owner)).with_header("cache-control", "no-store"))
}

fn parse_channels(input: FeedInput) -> Result<Vec<String>, Problem> {
    let invalid = |message: String| {
        Problem::validation(vec![FieldError {
            field: "channels".into(),
            message,
        }])
    };
    if input.channels.is_empty() || input.channels.len() > MAX_CHANNELS {
        return Err(invalid(format!("must name 1 to {MAX_CHANNELS} channels")));
    }
    let mut out: Vec<String> = Vec::new();
    for raw in &input.channels {
        let channel = Channel::parse(raw).map_err(|e| invalid(format!("{raw:?} {e}")))?;
        if !out.iter().any(|c| c == channel.as_str()) {
            out.push(channel.as_str().to_string());
        }
    }
    Ok(out)
}

/// A new secret: 32 random bytes as lowercase hex (503 if the random source fails).
fn new_secret() -> Result<String, Problem> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        Problem::unavailable(format!("the random source failed ({e}); retry later"))
    })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `POST /api/content/calendar/feed`: a new secret URL for the caller, replacing
/// any earlier one (whose URL then answers 404).
pub async fn create(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let input: FeedInput = opsflow_edge::handlers::json_body(&ctx.req, 4096)?;
    let channels = parse_channels(input)?;
    let secret = new_secret()?;
    let hash = opsflow_api::auth::token_hash(&secret);
    let records = Records::new(&ctx.kv);
    let made = records
        .create(
            &keys::calendar_feed_secret(&hash),
            &FeedSecret {
                sub: ctx.who.sub.clone(),
            },
        )
        .await?;
    if !made {
        return Err(Problem::unavailable("secret collision; retry"));
    }
    let mut replaced = None;
    records
        .upsert::<FeedOwner, Problem>(&keys::calendar_feed_owner(&ctx.who.sub), |cur| {
            replaced = cur.value.secret_hash;
            Ok(FeedOwner {
                secret_hash: Some(hash.clone()),
                channels: channels.clone(),
                created_at: Some(ctx.now),
            })
        })
        .await
        .map_err(|e| opsflow_edge::handlers::update_failed(e, "calendar feed"))?;
    // The old secret stops at once either way: the feed checks the owner's current digest.
    if let Some(old) = replaced.filter(|old| *old != hash) {
        ctx.kv
            .delete(keys::calendar_feed_secret(&old).as_str())
            .await?;
    }
    let base = opsflow_edge::variable("public_base_url")
        .await
        .unwrap_or_else(|| "http://127.0.0.1:3000".to_string());
    let url = format!(
        "{}/api/content/calendar/feed/{secret}",
        base.trim_end_matches('/')
    );
    Ok(ApiResponse::json(
        201,
        &serde_json::json!({ "url": url, "channels": channels, "created_at": ctx.now }),
    )
    .with_header("cache-control", "no-store"))
}

/// `DELETE /api/content/calendar/feed`: revokes the caller's feed (204 whether or
/// not there was one).
pub async fn revoke(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let mut revoked = None;
    let result = Records::new(&ctx.kv)
        .update::<FeedOwner, Problem>(&keys::calendar_feed_owner(&ctx.who.sub), |cur| {
            revoked = cur.value.secret_hash;
            Ok(FeedOwner {
                secret_hash: None,
                channels: Vec::new(),
                created_at: None,
            })
        })
        .await;
    match result {
        Ok(_) | Err(UpdateError::NotFound) => {}
        Err(e) => return Err(opsflow_edge::handlers::update_failed(e, "calendar feed")),
    }
    if let Some(old) = revoked {
        ctx.kv
            .delete(keys::calendar_feed_secret(&old).as_str())
            .await?;
    }
    Ok(ApiResponse::empty(204))
}

fn gone() -> Problem {
    Problem::not_found("no calendar feed at this URL (it was revoked or replaced)")
}

/// `GET /api/content/calendar/feed/{secret}`: the feed, for whoever holds the URL.
pub async fn feed(secret: &str) -> Result<ApiResponse, Problem> {
    if secret.len() != 64
        || !secret
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(gone());
    }
    let kv = SpinKv::default_store();
    let records = Records::new(&kv);
    let hash = opsflow_api::auth::token_hash(secret);
    let owner_sub = records
        .get::<FeedSecret>(&keys::calendar_feed_secret(&hash))
        .await?
        .ok_or_else(gone)?
        .value
        .sub;
    let owner = records
        .get::<FeedOwner>(&keys::calendar_feed_owner(&owner_sub))
        .await?
        .map(|v| v.value)
        .filter(|o| o.secret_hash.as_deref() == Some(hash.as_str()))
        .ok_or_else(gone)?;
    // What the owner may list now: the JSON calendar's roles, from today's token table.
    let may_read = opsflow_edge::tokens()
        .await?
        .principal_of(&owner_sub)
        .is_some_and(|p| p.has_any(roles::EVERYONE));
    if !may_read {
        return Err(gone());
    }
    let now = Utc::now();
    let sends = scheduled_sends(&kv, &owner.channels, now).await?;
    let base = opsflow_edge::variable("public_base_url")
        .await
        .unwrap_or_else(|| "http://127.0.0.1:3000".to_string());
    let body = crate::ics::calendar(&owner.channels, &sends, base.trim_end_matches('/'));
    Ok(ApiResponse {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/calendar; charset=utf-8".into()),
            ("cache-control".into(), "private, max-age=300".into()),
        ],
        body: body.into_bytes(),
    })
}

/// One event of the feed: a scheduled send and its item.
pub struct Send {
    /// When it goes out.
    pub at: DateTime<Utc>,
    /// The content item's id.
    pub id: String,
    /// Its campaign.
    pub campaign_id: String,
    /// Its channel.
    pub channel: String,
    /// Its title.
    pub title: String,
    /// Its state (`scheduled`, `published`, ...).
    pub state: String,
    /// Its last change (the event's DTSTAMP).
    pub updated_at: DateTime<Utc>,
}

/// The scheduled sends of `channels` from [`DAYS_BEFORE`] days before today for
/// [`DAYS`] days, in time order, with their items: the JSON calendar's reads.
async fn scheduled_sends(
    kv: &SpinKv,
    channels: &[String],
    now: DateTime<Utc>,
) -> Result<Vec<Send>, Problem> {
    let first = now.date_naive() - Duration::days(DAYS_BEFORE);
    let mut day_keys = Vec::new();
    for channel in channels {
        for d in 0..DAYS {
            let day = first + Duration::days(d);
            day_keys.push(keys::calendar_day(
                channel,
                &day.format("%Y-%m-%d").to_string(),
            ));
        }
    }
    Ok(opsflow_store::content::scheduled(kv, &day_keys)
        .await?
        .into_iter()
        .map(|(e, item)| Send {
            at: e.at,
            id: item.id,
            campaign_id: item.campaign_id,
            channel: item.channel,
            title: item.title,
            state: item.state,
            updated_at: item.updated_at,
        })
        .collect())
}
