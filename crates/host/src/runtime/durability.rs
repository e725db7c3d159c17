//! What a request may show the outside, held until the store writes it rests on
//! are durable.
//!
//! The SQLite backend answers a request's writes when they commit, before the
//! write-ahead log is synced ([`Backend::commit_mark`]). The promise Spin gives —
//! an acknowledged write survives a crash — is kept at the request's edge
//! instead: its response head and its outbound requests wait until every commit
//! it has read or written is on disk. A request's writes in sequence then share
//! one fsync instead of paying one each. Once its response has started, the
//! request's further calls wait for the sync themselves (what streams after the
//! head cannot be held back).

use crate::kv::{Backend, KvResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request's (or cron tick's) marks, per backend it has used.
#[derive(Default)]
pub struct Durability {
    marks: Mutex<Vec<(Arc<dyn Backend>, u64)>>,
    /// The response has started: each call settles before it answers.
    strict: AtomicBool,
}

impl Durability {
    /// Notes what a KV call that just finished on `backend` may rest on, and
    /// once the response has started, waits until that is durable.
    pub async fn after_call(&self, backend: &Arc<dyn Backend>) -> KvResult<()> {
        let Some(mark) = backend.commit_mark() else {
            return Ok(());
        };
        if let Ok(mut marks) = self.marks.lock() {
            let same =
                |b: &Arc<dyn Backend>| std::ptr::addr_eq(Arc::as_ptr(b), Arc::as_ptr(backend));
            match marks.iter_mut().find(|(b, _)| same(b)) {
                Some((_, m)) => *m = (*m).max(mark),
                None => marks.push((backend.clone(), mark)),
            }
        }
        // SeqCst with the store in `before_going_out`: either this call sees the
        // response started and settles itself, or the response's settle sees
        // this mark.
        if self.strict.load(Ordering::SeqCst) {
            self.settle().await?;
        }
        Ok(())
    }

    /// Waits until everything the request has read or written is durable.
    pub async fn settle(&self) -> KvResult<()> {
        let marks: Vec<_> = match self.marks.lock() {
            Ok(marks) => marks.clone(),
            Err(_) => {
                return Err(crate::kv::KvError::Other(
                    "durability marks poisoned".into(),
                ));
            }
        };
        for (backend, mark) in marks {
            backend.durable(mark).await?;
        }
        Ok(())
    }

    /// For the moment something leaves the host (the response head, an outbound
    /// request): from now on every call settles on its own, and what came
    /// before is settled here.
    pub async fn before_going_out(&self) -> KvResult<()> {
        self.strict.store(true, Ordering::SeqCst);
        self.settle().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{DurableFuture, KvError, MemoryBackend};
    use tokio::sync::watch;

    /// A memory store whose commits become durable only when the test says so.
    struct Held {
        data: MemoryBackend,
        committed: std::sync::atomic::AtomicU64,
        synced: watch::Sender<u64>,
    }

    impl Held {
        fn new() -> Arc<Self> {
            Arc::new(Self {
                data: MemoryBackend::default(),
                committed: Default::default(),
                synced: watch::Sender::new(0),
            })
        }
        fn commit(&self) {
            self.committed.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl Backend for Held {
        fn get(&self, s: &str, k: &str) -> KvResult<Option<Vec<u8>>> {
            self.data.get(s, k)
        }
        fn set(&self, s: &str, k: &str, v: &[u8]) -> KvResult<()> {
            self.data.set(s, k, v)
        }
        fn delete(&self, s: &str, k: &str) -> KvResult<()> {
            self.data.delete(s, k)
        }
        fn exists(&self, s: &str, k: &str) -> KvResult<bool> {
            self.data.exists(s, k)
        }
        fn keys(&self, s: &str) -> KvResult<Vec<String>> {
            self.data.keys(s)
        }
        fn get_many(&self, s: &str, k: &[String]) -> KvResult<Vec<(String, Vec<u8>)>> {
            self.data.get_many(s, k)
        }
        fn set_many(&self, s: &str, p: &[(String, Vec<u8>)]) -> KvResult<()> {
            self.data.set_many(s, p)
        }
        fn delete_many(&self, s: &str, k: &[String]) -> KvResult<()> {
            self.data.delete_many(s, k)
        }
        fn increment(&self, s: &str, k: &str, d: i64) -> KvResult<i64> {
            self.data.increment(s, k, d)
        }
        fn compare_and_swap(&self, s: &str, k: &str, e: Option<&[u8]>, v: &[u8]) -> KvResult<bool> {
            self.data.compare_and_swap(s, k, e, v)
        }
        fn commit_mark(&self) -> Option<u64> {
            Some(self.committed.load(Ordering::SeqCst))
        }
        fn durable(&self, mark: u64) -> DurableFuture {
            let mut synced = self.synced.subscribe();
            Box::pin(async move {
                synced
                    .wait_for(|s| *s >= mark)
                    .await
                    .map(|_| ())
                    .map_err(|_| KvError::Other("gone".into()))
            })
        }
    }

    fn pending<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> bool {
        let waker = std::task::Waker::noop();
        f.poll(&mut std::task::Context::from_waker(waker))
            .is_pending()
    }

    #[tokio::test]
    async fn the_response_waits_for_every_commit_the_request_saw() {
        let held = Held::new();
        let backend: Arc<dyn Backend> = held.clone();
        let d = Durability::default();
        held.commit();
        held.commit();
        // Before the response, calls answer at once whatever is synced.
        d.after_call(&backend).await.expect("call");
        let mut response = std::pin::pin!(d.before_going_out());
        assert!(pending(response.as_mut()), "commit 2 is not synced yet");
        held.synced.send_replace(1);
        assert!(pending(response.as_mut()), "only commit 1 is synced");
        held.synced.send_replace(2);
        assert!(!pending(response.as_mut()), "everything seen is synced");
    }

    #[tokio::test]
    async fn after_the_head_each_call_waits_for_its_own_sync() {
        let held = Held::new();
        let backend: Arc<dyn Backend> = held.clone();
        let d = Durability::default();
        d.before_going_out().await.expect("nothing to wait for");
        held.commit();
        let mut call = std::pin::pin!(d.after_call(&backend));
        assert!(pending(call.as_mut()), "a call after the head is held");
        held.synced.send_replace(1);
        assert!(!pending(call.as_mut()));
    }

    #[tokio::test]
    async fn a_store_that_is_always_durable_holds_nothing() {
        let backend: Arc<dyn Backend> = Arc::new(MemoryBackend::default());
        let d = Durability::default();
        d.after_call(&backend).await.expect("call");
        let mut response = std::pin::pin!(d.before_going_out());
        assert!(!pending(response.as_mut()));
    }
}
