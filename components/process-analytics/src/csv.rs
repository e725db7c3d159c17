//! The analytics tables as CSV (`format=csv` or `Accept: text/csv`, with
//! `table`): each a list in the JSON answer (or one object, one row), its
//! columns named for the JSON fields they come from (docs/analytics.md).

use opsflow_api::csv::{Cell, Csv};
use opsflow_api::{ApiRequest, ApiResponse, Problem};
use opsflow_edge::handlers::invalid_field;
use serde_json::Value;

const DURATION: [(&str, &str); 5] = [
    ("count", "/count"),
    ("median_seconds", "/median_seconds"),
    ("p90_seconds", "/p90_seconds"),
    ("max_seconds", "/max_seconds"),
    ("total_seconds", "/total_seconds"),
];

const TURNAROUND: [(&str, &str); 5] = DURATION;

/// A table: its name, the JSON pointer of its rows (an array, or one object),
/// and its columns as (name, pointer within a row).
struct Table {
    name: &'static str,
    rows: &'static str,
    key: Option<(&'static str, &'static str)>,
    columns: &'static [(&'static str, &'static str)],
}

const fn t(
    name: &'static str,
    rows: &'static str,
    key: Option<(&'static str, &'static str)>,
    columns: &'static [(&'static str, &'static str)],
) -> Table {
    Table {
        name,
        rows,
        key,
        columns,
    }
}

const TABLES: &[Table] = &[
    t(
        "stages",
        "/stages",
        Some(("stage", "/stage")),
        &[
            ("team", "/team"),
            DURATION[0],
            DURATION[1],
            DURATION[2],
            DURATION[3],
            DURATION[4],
        ],
    ),
    t(
        "handoffs",
        "/longest_handoffs",
        Some(("campaign_id", "/campaign_id")),
        &[
            ("campaign_name", "/campaign_name"),
            ("from", "/from"),
            ("to", "/to"),
            ("waited_seconds", "/waited_seconds"),
            ("at", "/at"),
        ],
    ),
    t(
        "approval_stages",
        "/approvals/by_stage",
        Some(("stage", "/key")),
        &TURNAROUND,
    ),
    t(
        "reviewers",
        "/approvals/by_reviewer",
        Some(("reviewer", "/key")),
        &TURNAROUND,
    ),
    t(
        "queue",
        "/approvals/queue",
        Some(("stage", "/stage")),
        &[
            ("waiting", "/waiting"),
            ("oldest_seconds", "/oldest_seconds"),
        ],
    ),
    t(
        "rework",
        "/rework",
        None,
        &[
            ("items_reviewed", "/items_reviewed"),
            ("items_reworked", "/items_reworked"),
            ("share", "/share"),
            ("changes_requested_items", "/changes_requested_items"),
            (
                "edited_after_approval_items",
                "/edited_after_approval_items",
            ),
            ("rounds_mean", "/rounds_mean"),
            ("rounds_max", "/rounds_max"),
        ],
    ),
    t(
        "on_time_channels",
        "/on_time/by_channel",
        Some(("channel", "/key")),
        &ON_TIME,
    ),
    t(
        "on_time_campaigns",
        "/on_time/by_campaign",
        Some(("campaign_id", "/key")),
        &ON_TIME,
    ),
    t(
        "triggers",
        "/automation",
        None,
        &[
            ("approved_items", "/approved_items"),
            ("auto_approved_items", "/auto_approved_items"),
            ("auto_share", "/auto_share"),
            ("fired", "/triggers/fired"),
            ("executed", "/triggers/executed"),
            ("succeeded", "/triggers/succeeded"),
            ("dead_lettered", "/triggers/dead_lettered"),
            ("rejected", "/triggers/rejected"),
            ("firing_to_action_count", "/firing_to_action/count"),
            (
                "firing_to_action_median_seconds",
                "/firing_to_action/median_seconds",
            ),
            (
                "firing_to_action_p90_seconds",
                "/firing_to_action/p90_seconds",
            ),
            (
                "firing_to_action_max_seconds",
                "/firing_to_action/max_seconds",
            ),
        ],
    ),
    t(
        "utilization",
        "/utilization",
        Some(("week", "/week")),
        &[
            ("resource_id", "/resource_id"),
            ("resource_name", "/resource_name"),
            ("unit", "/unit"),
            ("allocated", "/allocated"),
            ("capacity", "/capacity"),
            ("utilization", "/utilization"),
        ],
    ),
    t(
        "bottlenecks",
        "/bottlenecks",
        Some(("kind", "/kind")),
        &[
            ("name", "/name"),
            ("waiting_seconds", "/waiting_seconds"),
            ("count", "/count"),
        ],
    ),
];

const ON_TIME: [(&str, &str); 4] = [
    ("items", "/items"),
    ("on_time", "/on_time"),
    ("late", "/late"),
    ("share", "/share"),
];

/// The table names, for the error that lists them.
fn names() -> String {
    TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

fn cell(v: Option<&Value>) -> Cell {
    match v {
        Some(Value::String(s)) => Cell::Text(s.clone()),
        Some(Value::Number(n)) => Cell::Number(n.to_string()),
        Some(Value::Bool(b)) => Cell::Bool(*b),
        Some(other @ (Value::Array(_) | Value::Object(_))) => Cell::Text(other.to_string()),
        Some(Value::Null) | None => Cell::Empty,
    }
}

/// The table `req` names (`table`) from the JSON answer `body`.
pub fn table(req: &ApiRequest, body: &Value) -> Result<ApiResponse, Problem> {
    let Some(name) = req.query("table") else {
        return Err(invalid_field(
            "table",
            format!("CSV answers one table: name it ({})", names()),
        ));
    };
    let Some(table) = TABLES.iter().find(|t| t.name == name) else {
        return Err(invalid_field(
            "table",
            format!("must be one of {}", names()),
        ));
    };
    let mut columns: Vec<&str> = table.key.iter().map(|k| k.0).collect();
    columns.extend(table.columns.iter().map(|c| c.0));
    let mut csv = Csv::new(&columns);
    let rows: Vec<&Value> = match body.pointer(table.rows) {
        Some(Value::Array(rows)) => rows.iter().collect(),
        Some(row @ Value::Object(_)) => vec![row],
        _ => Vec::new(),
    };
    for row in rows {
        let mut cells: Vec<Cell> = table.key.iter().map(|k| cell(row.pointer(k.1))).collect();
        cells.extend(table.columns.iter().map(|c| cell(row.pointer(c.1))));
        csv.row(&cells);
    }
    Ok(csv.into_response(&format!("process-{name}.csv")))
}
