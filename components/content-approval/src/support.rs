//! What every handler shares: the request context, loading and changing items with
//! compare-and-swap, the configuration an item is judged by, audit and slot release.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsflow_api::{ApiResponse, FieldError, Principal, Problem, Role};
use opsflow_domain::analytics::derive::ContentTrack;
use opsflow_domain::campaign::Campaign;
use opsflow_domain::content::{
    BrandStandard, CalendarEntry, Changed, ContentError, ContentItem, Event, ScheduledSend,
    StageRole, Standard, Workflow,
};
use opsflow_store::keys::{campaigns as campaign_keys, content as keys};
use opsflow_store::spin::SpinKv;
use opsflow_store::{AuditLog, Key, Kv, Records, StoreError, UpdateError, Versioned};
use serde::de::DeserializeOwned;

pub use opsflow_edge::Ctx;

pub type Res = Result<ApiResponse, Problem>;

/// Items' audit log kind.
pub const AUDIT_KIND: &str = "content";

/// A channel's policy (content-config edits it; items read it here).
pub use opsflow_domain::content::ChannelPolicy;

pub fn content_problem(e: ContentError) -> Problem {
    match e {
        ContentError::Invalid(v) => Problem::from(v),
        ContentError::ChecksFailed(report) => {
            let detail = report
                .failures
                .iter()
                .map(|f| f.message.clone())
                .collect::<Vec<_>>()
                .join("; ");
            let failures = match opsflow_api::response::json_value(&report.failures) {
                Ok(failures) => failures,
                Err(unserialisable) => return unserialisable,
            };
            let mut p = Problem::new(
                422,
                "checks-failed",
                "Automated checks failed",
                format!(
                    "{} automated check(s) failed: {detail}",
                    report.failures.len()
                ),
            )
            .with("failures", failures);
            p.errors = report
                .failures
                .into_iter()
                .map(|f| FieldError {
                    field: f.field,
                    message: f.message,
                })
                .collect();
            p
        }
        ContentError::Forbidden(m) => Problem::forbidden(m),
        ContentError::Conflict { code, detail } => Problem::conflict(code, detail),
    }
}

/// The `{id}` parameter, or 404 when it cannot be an id.
pub fn param_id(ctx: &Ctx) -> Result<&str, Problem> {
    match ctx.params.first() {
        Some(id) if opsflow_api::ids::is_id(id) => Ok(id),
        _ => Err(Problem::not_found("no such content item")),
    }
}

pub async fn load_item(kv: &SpinKv, id: &str) -> Result<Versioned<ContentItem>, Problem> {
    Records::new(kv)
        .get::<ContentItem>(&keys::item(id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("no content item {id}")))
}

pub async fn load_campaign(kv: &SpinKv, id: &str) -> Result<Versioned<Campaign>, Problem> {
    Records::new(kv)
        .get::<Campaign>(&campaign_keys::campaign(id))
        .await?
        .ok_or_else(|| Problem::not_found(format!("campaign {id} does not exist")))
}

/// The stage roles a caller holds (admins hold every one).
pub fn stage_roles(who: &Principal) -> Vec<StageRole> {
    [
        (Role::BrandReviewer, StageRole::BrandReviewer),
        (Role::ComplianceReviewer, StageRole::ComplianceReviewer),
        (Role::Operations, StageRole::Operations),
        (Role::Marketing, StageRole::Marketing),
    ]
    .into_iter()
    .filter(|(r, _)| who.has_any(&[*r]))
    .map(|(_, s)| s)
    .collect()
}

fn decode<T: DeserializeOwned>(
    found: &BTreeMap<String, Vec<u8>>,
    key: &Key,
) -> Result<Option<Versioned<T>>, StoreError> {
    found
        .get(key.as_str())
        .map(|b| serde_json::from_slice(b).map_err(|e| StoreError::Corrupt(format!("{key}: {e}"))))
        .transpose()
}

/// What an item is judged by: the brand standard, its workflow, its channel's cap.
pub struct Config {
    pub standard: BrandStandard,
    pub standard_version: u64,
    pub workflow: Workflow,
    pub cap_per_hour: u32,
}

impl Config {
    pub fn standard(&self) -> Standard<'_> {
        Standard {
            standard: &self.standard,
            version: self.standard_version,
        }
    }
}

/// Loads the configuration for an item of `campaign_id` on `channel` in one round
/// trip: the campaign's workflow override wins over the channel's, which wins over
/// the default.
pub async fn load_config(kv: &SpinKv, campaign_id: &str, channel: &str) -> Result<Config, Problem> {
    let (std_key, ch_key, wf_key) = (
        keys::brand_standard(),
        keys::channel_policy(channel),
        keys::campaign_workflow(campaign_id),
    );
    let found: BTreeMap<String, Vec<u8>> = kv
        .get_many(&[
            std_key.as_str().to_string(),
            ch_key.as_str().to_string(),
            wf_key.as_str().to_string(),
        ])
        .await?
        .into_iter()
        .collect();
    let standard = decode::<BrandStandard>(&found, &std_key)?;
    let policy = decode::<ChannelPolicy>(&found, &ch_key)?
        .map(|v| v.value)
        .unwrap_or_default();
    let workflow = decode::<Workflow>(&found, &wf_key)?
        .map(|v| v.value)
        .unwrap_or(policy.workflow);
    Ok(Config {
        standard_version: standard.as_ref().map_or(0, |v| v.version),
        standard: standard.map(|v| v.value).unwrap_or_default(),
        workflow,
        cap_per_hour: policy.cap_per_hour,
    })
}

/// Changes an item with compare-and-swap: `f` runs on the current record (again if
/// another writer got there first); `expect` is the `If-Match` version, if any.
pub async fn mutate(
    kv: &SpinKv,
    id: &str,
    expect: Option<u64>,
    mut f: impl FnMut(&mut ContentItem) -> Result<Changed, ContentError>,
) -> Result<(Versioned<ContentItem>, Changed), Problem> {
    let mut out = None;
    let result = Records::new(kv)
        .update(&keys::item(id), |cur: Versioned<ContentItem>| {
            if let Some(v) = expect {
                opsflow_api::response::check_version(v, cur.version)?;
            }
            let mut item = cur.value;
            item.version = cur.version + 1;
            out = Some(f(&mut item).map_err(content_problem)?);
            Ok::<_, Problem>(item)
        })
        .await;
    match result {
        Ok(v) => Ok((v, out.unwrap_or_default())),
        Err(UpdateError::NotFound) => Err(Problem::not_found(format!("no content item {id}"))),
        Err(UpdateError::Refused(p)) => Err(p),
        Err(UpdateError::Store(e)) => Err(e.into()),
    }
}

/// Appends an operation's events to the item's audit trail (two round trips),
/// then records their process analytics samples (one more compare-and-swap when
/// the events are reviews, approvals, rework or scheduling). `item` is the item
/// as the operation stored it.
pub async fn audit(ctx: &Ctx, item: &ContentItem, events: &[Event]) -> Result<(), Problem> {
    let entries: Vec<(String, String, serde_json::Value)> = events
        .iter()
        .map(|e| (e.actor.clone(), e.action.to_string(), e.detail.clone()))
        .collect();
    AuditLog::new(&ctx.kv, AUDIT_KIND, &item.id)
        .append_many(&ctx.now.to_rfc3339(), &entries)
        .await?;
    let mut track = ContentTrack::of(item);
    let at = ctx.now.timestamp();
    let samples: Vec<_> = events
        .iter()
        .flat_map(|e| track.observe(at, e.action, &e.detail))
        .collect();
    if !samples.is_empty()
        && let Err(e) = opsflow_store::analytics::record(&ctx.kv, samples).await
    {
        // The change and its audit trail stand; the analytics backfill adds
        // the missing samples from that trail.
        eprintln!("content {}: analytics samples not recorded: {e}", item.id);
    }
    Ok(())
}

pub fn day_of(hour: i64) -> String {
    DateTime::<Utc>::from_timestamp(hour, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Gives back an hour slot the item no longer occupies and drops it from the calendar.
pub async fn release_slot(kv: &SpinKv, channel: &str, id: &str, hour: i64) -> Result<(), Problem> {
    opsflow_store::Slots::new(kv, channel).release(hour).await?;
    edit_calendar_day(kv, channel, &day_of(hour), id, None).await
}

/// Puts a scheduled send in its channel's calendar, and when the item left an
/// hour for it, gives that hour's slot back and takes the old entry out (in the
/// same write when both hours are on one day, so the new entry is never lost).
/// The caller has claimed `send`'s slot and stored the item.
pub async fn move_in_calendar(
    kv: &SpinKv,
    item: &ContentItem,
    left: Option<i64>,
    send: &ScheduledSend,
) -> Result<(), Problem> {
    let entry = CalendarEntry {
        at: send.at,
        slot_hour: send.slot_hour,
        campaign_id: item.campaign_id.clone(),
    };
    let new_day = day_of(send.slot_hour);
    if let Some(hour) = left {
        opsflow_store::Slots::new(kv, &item.channel)
            .release(hour)
            .await?;
        if day_of(hour) != new_day {
            edit_calendar_day(kv, &item.channel, &day_of(hour), &item.id, None).await?;
        }
    }
    edit_calendar_day(kv, &item.channel, &new_day, &item.id, Some(entry)).await
}

/// Sets (or, with `None`, removes) an item's entry in one calendar day.
async fn edit_calendar_day(
    kv: &SpinKv,
    channel: &str,
    day: &str,
    id: &str,
    entry: Option<CalendarEntry>,
) -> Result<(), Problem> {
    Records::new(kv)
        .upsert(
            &keys::calendar_day(channel, day),
            |mut v: Versioned<BTreeMap<String, CalendarEntry>>| {
                match &entry {
                    Some(e) => v.value.insert(id.to_string(), e.clone()),
                    None => v.value.remove(id),
                };
                Ok::<_, std::convert::Infallible>(v.value)
            },
        )
        .await
        .map_err(|e| match e {
            UpdateError::Store(s) => Problem::from(s),
            _ => Problem::unavailable("calendar update failed"),
        })?;
    Ok(())
}

/// Finishes a mutation: releases a slot the item left, writes the audit trail and
/// answers with the item.
pub async fn finish(ctx: &Ctx, item: Versioned<ContentItem>, changed: Changed, status: u16) -> Res {
    if let Some(hour) = changed.released_slot {
        release_slot(&ctx.kv, &item.value.channel, &item.value.id, hour).await?;
    }
    audit(ctx, &item.value, &changed.events).await?;
    Ok(item_response(status, &item))
}

/// The item as the API shows it: the record plus the review progress.
pub fn view(item: &ContentItem) -> Result<serde_json::Value, Problem> {
    let mut v = opsflow_api::response::json_value(item)?;
    let open = item.open_stages();
    let stages: Vec<serde_json::Value> = item
        .workflow
        .as_ref()
        .map(|w| {
            w.stages
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let approvals: Vec<&str> = item
                        .current_decisions()
                        .filter(|d| {
                            d.stage == s.name
                                && d.outcome == opsflow_domain::content::Outcome::Approve
                        })
                        .map(|d| d.approver.as_str())
                        .collect();
                    serde_json::json!({
                        "name": s.name, "role": s.role, "rule": s.rule,
                        "needed": s.needed(), "approvals": approvals,
                        "complete": item.stage_complete(i), "open": open.contains(&i),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "review".into(),
            serde_json::json!({
                "round": item.round,
                "stages": stages,
                "approved_for_current_hash": item.approvals_complete(),
            }),
        );
        if let Some(ds) = obj.get_mut("decisions").and_then(|d| d.as_array_mut()) {
            for (d, orig) in ds.iter_mut().zip(&item.decisions) {
                let void = orig.round != item.round || orig.content_hash != item.content_hash;
                if let Some(o) = d.as_object_mut() {
                    o.insert("void".into(), serde_json::Value::Bool(void));
                }
            }
        }
    }
    Ok(v)
}

pub fn item_response(status: u16, item: &Versioned<ContentItem>) -> ApiResponse {
    match view(&item.value) {
        Ok(body) => ApiResponse::json(status, &body).with_etag(item.version),
        Err(unserialisable) => unserialisable.into(),
    }
}
