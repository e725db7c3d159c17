//! Keys shared by every area: idempotency records and audit logs.

use super::Key;

/// A stored response for an `Idempotency-Key`, per caller and route scope.
pub fn idempotency(scope: &str, caller: &str, key: &str) -> Key {
    Key::new("idem", &[scope, caller, key])
}

/// Number of entries in an audit log.
pub fn audit_count(subject_kind: &str, subject_id: &str) -> Key {
    Key::new("aud", &[subject_kind, subject_id, "n"])
}

/// One audit entry (sequence numbers are zero-padded so keys sort).
pub fn audit_entry(subject_kind: &str, subject_id: &str, seq: u64) -> Key {
    Key::new("aud", &[subject_kind, subject_id, &format!("{seq:010}")])
}
