//! The one place key layout lives. Every key is `<area>:<part>:<part>...`.
//!
//! Parts built from input are kept when they are short and plain
//! (`[A-Za-z0-9_.-]`, ≤ 64 bytes) and replaced by a SHA-256 digest otherwise, so no
//! input can forge another area's key or exceed Spin's 256-byte key limit.
//! Each feature area owns one submodule and one prefix:
//!
//! | prefix | area |
//! |---|---|
//! | `cmp` | campaigns, handoffs, resources, allocations, proposals |
//! | `wh`, `met` | webhook dedupe and batches, metric counters |
//! | `cnt` | content items, workflows, brand standard, schedule slots |
//! | `mon` | rules, alert state, runs |
//! | `trg` | trigger outbox, dead letters |
//! | `idem`, `aud` | idempotency records, audit logs |
//! | `ana` | process analytics samples, per ISO week |

pub mod analytics;
pub mod campaigns;
pub mod content;
pub mod metrics;
pub mod monitoring;
pub mod shared;
pub mod triggers;

use sha2::{Digest, Sha256};

/// A key. Only this module makes them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    pub(crate) fn new(area: &'static str, parts: &[&str]) -> Self {
        let mut k = String::from(area);
        for p in parts {
            k.push(':');
            k.push_str(&part(p));
        }
        Self(k)
    }

    /// A key below this one (`<this>:<part>`), e.g. the shards of a sharded index.
    pub(crate) fn join(&self, part: &str) -> Key {
        Self(format!("{}:{}", self.0, self::part(part)))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn part(p: &str) -> String {
    let plain = !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if plain {
        p.to_string()
    } else {
        let digest = Sha256::digest(p.as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("h-{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_parts_are_kept_and_others_hashed() {
        assert_eq!(Key::new("cmp", &["c", "01ABC"]).as_str(), "cmp:c:01ABC");
        let hostile = Key::new("cmp", &["c", "x:y"]);
        assert!(hostile.as_str().starts_with("cmp:c:h-"));
        let long = Key::new("wh", &[&"z".repeat(300)]);
        assert!(long.as_str().len() < 64);
        assert_ne!(Key::new("a", &["x:y"]), Key::new("a", &["x", "y"]));
    }
}
