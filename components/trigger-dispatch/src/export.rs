//! `GET /api/triggers` as CSV (`format=csv` or `Accept: text/csv`): the page the
//! JSON list would answer, one trigger per row, the next page in `Link`.

use opsflow_api::csv::{Cell, Csv};
use opsflow_api::response::json_value;
use opsflow_api::{ApiRequest, ApiResponse, Problem};
use opsflow_domain::monitoring::Trigger;

/// The CSV columns of the trigger list (docs/decisions.md, "Exports"). Times are
/// RFC 3339 UTC; `action` is the action's kind; `value` and `fire_threshold` are
/// numbers.
pub const TRIGGER_COLUMNS: &[&str] = &[
    "id",
    "created_at",
    "status",
    "rule_id",
    "rule_name",
    "category",
    "severity",
    "scope",
    "campaign_id",
    "channel",
    "action",
    "approval",
    "episode",
    "repeat",
    "value",
    "fire_threshold",
    "attempts",
    "max_attempts",
    "next_attempt_at",
    "last_error",
    "decided_by",
    "decided_at",
    "reason",
    "replays",
    "requested_by",
    "run_id",
];

/// An enum's serialised name (`dead_letter`), as the JSON list shows it.
fn name_of<T: serde::Serialize>(value: &T) -> Result<Cell, Problem> {
    Ok(match json_value(value)? {
        serde_json::Value::String(s) => Cell::Text(s),
        other => Cell::Text(other.to_string()),
    })
}

fn time(t: i64) -> Cell {
    Cell::Text(crate::outbox::rfc3339(t))
}

/// One page of triggers as a CSV attachment, with `Link` to the next page.
pub fn triggers_csv(
    req: &ApiRequest,
    items: &[Trigger],
    next: Option<&str>,
) -> Result<ApiResponse, Problem> {
    let mut csv = Csv::new(TRIGGER_COLUMNS);
    for t in items {
        let action = json_value(&t.action)?;
        csv.row(&[
            t.id.as_str().into(),
            time(t.created_at),
            name_of(&t.status)?,
            t.rule_id.as_str().into(),
            t.rule_name.as_str().into(),
            name_of(&t.category)?,
            name_of(&t.severity)?,
            t.scope.as_str().into(),
            t.campaign_id.as_deref().into(),
            t.channel.as_deref().into(),
            action["kind"].as_str().into(),
            name_of(&t.approval)?,
            t.episode.into(),
            t.repeat.into(),
            t.value.into(),
            t.fire_threshold.into(),
            t.attempts.into(),
            t.max_attempts.into(),
            time(t.next_attempt_at),
            t.last_error.as_deref().into(),
            t.decided_by.as_deref().into(),
            t.decided_at.map(time).unwrap_or(Cell::Empty),
            t.reason.as_deref().into(),
            t.replays.into(),
            t.requested_by.as_str().into(),
            t.run_id.as_str().into(),
        ]);
    }
    let mut resp = csv.into_response("triggers.csv");
    if let Some(cursor) = next {
        resp = resp.with_header("link", opsflow_api::csv::next_link(req, "cursor", cursor));
    }
    Ok(resp)
}
