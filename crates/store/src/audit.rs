//! Append-only audit logs: one counter increment and one write per entry, so
//! concurrent appends never contend, and a listing is one read per 100 entries.

use crate::keys::shared::{audit_count, audit_entry};
use crate::kv::{Kv, StoreError, decode_counter};
use serde::{Deserialize, Serialize};

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number within the log (1-based).
    pub seq: u64,
    /// RFC 3339 time.
    pub at: String,
    /// Who (user id, or `system:<component>` for automated actions).
    pub actor: String,
    /// What happened, e.g. `campaign.created`.
    pub action: String,
    /// What the action changed, as the component recorded it.
    pub detail: serde_json::Value,
}

/// The audit log of one subject (e.g. `campaign`, `<id>`).
pub struct AuditLog<'a, K: Kv> {
    kv: &'a K,
    kind: &'static str,
    id: String,
}

impl<'a, K: Kv> AuditLog<'a, K> {
    /// The log of `kind`/`id`.
    pub fn new(kv: &'a K, kind: &'static str, id: &str) -> Self {
        Self {
            kv,
            kind,
            id: id.to_string(),
        }
    }

    /// Appends an entry in two round trips: one increment takes its sequence
    /// number, one write stores it.
    pub async fn append(
        &self,
        at: &str,
        actor: &str,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, StoreError> {
        let seq = self
            .kv
            .increment(audit_count(self.kind, &self.id).as_str(), 1)
            .await?;
        let seq =
            u64::try_from(seq).map_err(|_| StoreError::Corrupt("negative audit count".into()))?;
        let entry = AuditEntry {
            seq,
            at: at.to_string(),
            actor: actor.to_string(),
            action: action.to_string(),
            detail,
        };
        let bytes = serde_json::to_vec(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.kv
            .set(audit_entry(self.kind, &self.id, seq).as_str(), &bytes)
            .await?;
        Ok(entry)
    }

    /// Appends several entries in two round trips (one increment reserving their
    /// sequence numbers, one `set_many`), in order.
    pub async fn append_many(
        &self,
        at: &str,
        entries: &[(String, String, serde_json::Value)],
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (out, pairs) = self.prepare_many(at, entries).await?;
        if !pairs.is_empty() {
            self.kv.set_many(&pairs).await?;
        }
        Ok(out)
    }

    /// Reserves sequence numbers for `entries` (actor, action, detail) with one
    /// increment and returns them with the key/value pairs to store, for a caller
    /// that writes them in one `set_many` with other records (or other logs'
    /// entries). Pairs never written leave a gap in the log, which lists skip.
    pub async fn prepare_many(
        &self,
        at: &str,
        entries: &[(String, String, serde_json::Value)],
    ) -> Result<(Vec<AuditEntry>, Vec<(String, Vec<u8>)>), StoreError> {
        self.prepare(
            entries
                .iter()
                .map(|(actor, action, detail)| (at, actor.as_str(), action.as_str(), detail)),
        )
        .await
    }

    /// Appends entries that each carry their own time (at, actor, action, detail),
    /// in order, in two round trips: for an entry written later than what it records.
    pub async fn append_timed(
        &self,
        entries: &[(String, &str, &str, serde_json::Value)],
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let (out, pairs) = self
            .prepare(
                entries
                    .iter()
                    .map(|(at, actor, action, detail)| (at.as_str(), *actor, *action, detail)),
            )
            .await?;
        if !pairs.is_empty() {
            self.kv.set_many(&pairs).await?;
        }
        Ok(out)
    }

    async fn prepare<'e>(
        &self,
        entries: impl ExactSizeIterator<Item = (&'e str, &'e str, &'e str, &'e serde_json::Value)>,
    ) -> Result<(Vec<AuditEntry>, Vec<(String, Vec<u8>)>), StoreError> {
        let count = entries.len();
        if count == 0 {
            return Ok((Vec::new(), Vec::new()));
        }
        let n = i64::try_from(count).map_err(|_| StoreError::Corrupt("too many".into()))?;
        let last = self
            .kv
            .increment(audit_count(self.kind, &self.id).as_str(), n)
            .await?;
        let last =
            u64::try_from(last).map_err(|_| StoreError::Corrupt("negative audit count".into()))?;
        let first = (last + 1).saturating_sub(count as u64);
        let mut out = Vec::new();
        let mut pairs = Vec::new();
        for (i, (at, actor, action, detail)) in entries.enumerate() {
            let entry = AuditEntry {
                seq: first + i as u64,
                at: at.to_string(),
                actor: actor.to_string(),
                action: action.to_string(),
                detail: detail.clone(),
            };
            let bytes =
                serde_json::to_vec(&entry).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            pairs.push((
                audit_entry(self.kind, &self.id, entry.seq)
                    .as_str()
                    .to_string(),
                bytes,
            ));
            out.push(entry);
        }
        Ok((out, pairs))
    }

    /// Entries after `after` (a sequence number), at most `limit`.
    pub async fn list(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let count = match self
            .kv
            .get(audit_count(self.kind, &self.id).as_str())
            .await?
        {
            Some(b) => u64::try_from(decode_counter(&b)?).unwrap_or_default(),
            None => 0,
        };
        let last = count.min(after.saturating_add(limit as u64));
        let keys: Vec<String> = (after + 1..=last)
            .map(|s| audit_entry(self.kind, &self.id, s).as_str().to_string())
            .collect();
        let mut out = Vec::new();
        for chunk in keys.chunks(100) {
            for (_, v) in self.kv.get_many(chunk).await? {
                // An entry whose write failed after its number was taken is a gap, not an error.
                if let Ok(e) = serde_json::from_slice::<AuditEntry>(&v) {
                    out.push(e);
                }
            }
        }
        opsflow_domain::sort::sort_by_key(&mut out, |e| e.seq);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryKv;
    use futures::executor::block_on;

    #[test]
    fn appends_and_lists_in_order() {
        let kv = MemoryKv::default();
        let log = AuditLog::new(&kv, "campaign", "c1");
        block_on(async {
            for i in 0..5 {
                log.append("t", "u", "x", serde_json::json!(i))
                    .await
                    .expect("append");
            }
            let all = log.list(0, 100).await.expect("list");
            assert_eq!(
                all.iter().map(|e| e.seq).collect::<Vec<_>>(),
                [1, 2, 3, 4, 5]
            );
            let page = log.list(2, 2).await.expect("list");
            assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
        });
    }
}
