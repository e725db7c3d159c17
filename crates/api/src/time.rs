//! Times in request bodies: unix seconds or RFC 3339, as the scheduler and people send them.

use crate::problem::{FieldError, Problem};

/// Parses `value` (unix seconds, or an RFC 3339 string) into unix seconds, refusing
/// anything outside 1..=10^11 with a field error naming `field`.
pub fn unix_seconds(value: &serde_json::Value, field: &str) -> Result<i64, Problem> {
    let bad = || {
        Problem::validation(vec![FieldError {
            field: field.to_string(),
            message: "must be unix seconds (1..=10^11) or an RFC 3339 time".into(),
        }])
    };
    let t = match value {
        // `1.0` is the integer 1 to JSON (and to JSON Schema's `integer`).
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.fract() == 0.0 && (1.0..=1e11).contains(&f) => f as i64,
            _ => return Err(bad()),
        },
        serde_json::Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|_| bad())?
            .timestamp(),
        _ => return Err(bad()),
    };
    if (1..=100_000_000_000).contains(&t) {
        Ok(t)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;
    use serde_json::json;

    #[test]
    fn accepts_seconds_and_rfc3339_and_refuses_the_rest() {
        assert_eq!(
            unix_seconds(&json!(1_764_000_000), "now").expect("ok"),
            1_764_000_000
        );
        assert_eq!(
            unix_seconds(&json!("1970-01-01T00:01:40Z"), "now").expect("ok"),
            100
        );
        assert_eq!(
            unix_seconds(&json!(1_764_000_000.0), "now").expect("ok"),
            1_764_000_000
        );
        for bad in [
            json!(0),
            json!(-5),
            json!(1e12),
            json!("yesterday"),
            json!(null),
            json!(1.5),
        ] {
            let p = unix_seconds(&bad, "now").unwrap_err();
            assert_eq!(
                (p.status, p.errors[0].field.as_str()),
                (422, "now"),
                "{bad}"
            );
        }
    }
}
