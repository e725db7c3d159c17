//! `GET /api/content/{id}/audit`: a content item's audit trail (content-approval
//! writes it), oldest first, in JSON or CSV. Read here rather than in
//! content-approval so the CSV writer does not weigh on that `.wasm`, which has
//! no room left under 1 MiB (docs/decisions.md, "Exports").

use opsflow_api::csv::{Format, audit_csv, json_varying};
use opsflow_api::{ApiResponse, Problem, paging};
use opsflow_edge::Ctx;
use opsflow_edge::handlers::load_record;
use opsflow_store::AuditLog;
use opsflow_store::keys::content as keys;

/// The audit log kind content-approval writes items' entries under.
const AUDIT_KIND: &str = "content";

pub async fn audit_trail(ctx: &Ctx) -> Result<ApiResponse, Problem> {
    let id = ctx.id();
    let format = opsflow_api::csv::format(&ctx.req)?;
    // Only that it exists: any JSON will do, no content type compiled in here.
    load_record::<serde::de::IgnoredAny>(ctx, "content item", id, keys::item).await?;
    let after = match ctx.req.query("after") {
        Some(a) => a
            .parse::<u64>()
            .map_err(|_| Problem::bad_request("after must be a sequence number"))?,
        None => 0,
    };
    let limit = paging::limit(ctx.req.query("limit"))?;
    let entries = AuditLog::new(&ctx.kv, AUDIT_KIND, id)
        .list(after, limit)
        .await?;
    let next = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq.to_string()))
        .flatten();
    if format == Format::Csv {
        let next = next.as_deref().map(|n| ("after", n));
        let name = format!("content-{id}-audit.csv");
        return Ok(audit_csv(&ctx.req, &entries, next, &name));
    }
    let mut body = serde_json::json!({ "items": entries });
    if let Some(n) = next {
        body["next_after"] = serde_json::json!(n);
    }
    Ok(json_varying(ApiResponse::json(200, &body)))
}
