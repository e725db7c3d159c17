//! `spin:key-value@3.0.0` and `wasi:keyvalue@0.2.0-draft2` over a [`Backend`].

use super::bindings::spin::key_value::key_value as spin_kv;
use super::bindings::spin::variables::variables as spin_vars;
use super::bindings::wasi::keyvalue::{atomics, batch, store as wasi_store};
use super::{SpinCtx, SpinHost};
use crate::faults::KvFailure;
use crate::kv::{Backend, KvError, KvResult, Write, Written, check_key};
use crate::variables::LookupError;
use wasmtime::component::{Accessor, FutureReader, Resource, StreamReader};

/// An open store (both interfaces' handle): the label it was opened with.
pub struct KvStore {
    label: String,
}

/// A compare-and-swap in progress: the value seen when it was created.
pub struct KvCas {
    label: String,
    key: String,
    seen: Option<Vec<u8>>,
}

/// The calls that change the store: the ones a "wrote, then failed" fault carries out.
const WRITE_OPS: [&str; 6] = [
    "set",
    "delete",
    "set_many",
    "delete_many",
    "increment",
    "swap",
];

/// What a KV call needs, owned, so the future holding it is `Send`.
#[derive(Clone)]
struct KvCall {
    component: std::sync::Arc<str>,
    shared: std::sync::Arc<super::Shared>,
    durability: std::sync::Arc<super::durability::Durability>,
}

impl KvCall {
    /// Runs one backend call (a small read on the executor where the backend
    /// allows it, anything else on a blocking thread), counting it and applying
    /// faults.
    async fn run<T: Send + 'static>(
        self,
        label: String,
        op: &'static str,
        f: impl FnOnce(&dyn Backend, &str) -> KvResult<T> + Send + 'static,
    ) -> KvResult<T> {
        let small_read = matches!(op, "get" | "exists" | "cas_new");
        self.run_read(label, op, small_read, f).await
    }

    /// [`KvCall::run`], told whether the call is a read small enough to run on
    /// the executor ([`Backend::reads_inline`]).
    async fn run_read<T: Send + 'static>(
        self,
        label: String,
        op: &'static str,
        small_read: bool,
        f: impl FnOnce(&dyn Backend, &str) -> KvResult<T> + Send + 'static,
    ) -> KvResult<T> {
        let shared = self.shared.clone();
        let component = self.component.clone();
        timed(&shared, &component, op, self.call(label, op, small_read, f)).await
    }

    /// [`KvCall::run`] without the accounting.
    async fn call<T: Send + 'static>(
        self,
        label: String,
        op: &'static str,
        small_read: bool,
        f: impl FnOnce(&dyn Backend, &str) -> KvResult<T> + Send + 'static,
    ) -> KvResult<T> {
        let (backend, failure) = self.prepare(&label, op).await?;
        let out = if small_read && backend.reads_inline() {
            f(&*backend, &label)
        } else {
            let b = backend.clone();
            tokio::task::spawn_blocking(move || f(&*b, &label))
                .await
                .map_err(|e| KvError::Other(format!("store task failed: {e}")))
                .and_then(|r| r)
        };
        // Noted whatever the answer: an error can tell what the store holds too.
        self.durability.after_call(&backend).await?;
        let out = out?;
        after_write(failure)?;
        Ok(out)
    }

    /// The faults of this call (a delay; a failure before it, returned here; or
    /// one after a write, for [`after_write`]) and the backend of `label`.
    async fn prepare(
        &self,
        label: &str,
        op: &'static str,
    ) -> KvResult<(std::sync::Arc<dyn Backend>, KvFailure)> {
        let (delay_ms, failure) = self.shared.faults.on_kv_call();
        if delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
        let writes = WRITE_OPS.contains(&op);
        if failure == KvFailure::Before || (failure == KvFailure::AfterWrite && !writes) {
            return Err(KvError::Other(
                "injected fault: key-value store unavailable".into(),
            ));
        }
        let backend = self
            .shared
            .stores
            .get(label)
            .cloned()
            .ok_or(KvError::NoSuchStore)?;
        Ok((backend, failure))
    }

    /// Carries out a write, counted and with faults like [`KvCall::run`]: by the
    /// backend's own writer where it has one ([`Backend::start_write`]), else on
    /// a blocking thread.
    async fn write(self, label: String, op: &'static str, write: Write) -> KvResult<Written> {
        let call = async {
            let (backend, failure) = self.prepare(&label, op).await?;
            write.check()?;
            let out = match backend.start_write(&label, write) {
                Ok(answer) => answer.await,
                Err(write) => {
                    let b = backend.clone();
                    tokio::task::spawn_blocking(move || b.write_blocking(&label, write))
                        .await
                        .map_err(|e| KvError::Other(format!("store task failed: {e}")))
                        .and_then(|r| r)
                }
            };
            // Noted whatever the answer: an error can tell what the store holds too.
            self.durability.after_call(&backend).await?;
            let out = out?;
            after_write(failure)?;
            Ok(out)
        };
        timed(&self.shared, &self.component, op, call).await
    }
}

/// Counts a KV call of `component` and adds the time `call` takes to the stats.
async fn timed<T>(
    shared: &super::Shared,
    component: &str,
    op: &'static str,
    call: impl std::future::Future<Output = KvResult<T>>,
) -> KvResult<T> {
    shared.stats.kv_call(component, op);
    let started = std::time::Instant::now();
    let out = call.await;
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    shared.stats.kv_time(nanos);
    out
}

/// A "wrote, then failed" fault: the write happened, the caller is told it did not.
fn after_write(failure: KvFailure) -> KvResult<()> {
    if failure == KvFailure::AfterWrite {
        return Err(KvError::Other(
            "injected fault: the store timed out after applying the write".into(),
        ));
    }
    Ok(())
}

/// The answer a write of the given kind gives, or an error naming what came instead.
fn expect_done(w: Written) -> KvResult<()> {
    match w {
        Written::Done => Ok(()),
        other => Err(KvError::Other(format!("a write answered {other:?}"))),
    }
}

/// The single-key operations both interfaces offer, with limits checked.
impl KvCall {
    async fn get(self, label: String, key: String) -> KvResult<Option<Vec<u8>>> {
        self.run(label, "get", move |b, l| {
            check_key(&key)?;
            b.get(l, &key)
        })
        .await
    }

    async fn set(self, label: String, key: String, value: Vec<u8>) -> KvResult<()> {
        expect_done(self.write(label, "set", Write::Set { key, value }).await?)
    }

    async fn delete(self, label: String, key: String) -> KvResult<()> {
        expect_done(self.write(label, "delete", Write::Delete { key }).await?)
    }

    async fn exists(self, label: String, key: String) -> KvResult<bool> {
        self.run(label, "exists", move |b, l| {
            check_key(&key)?;
            b.exists(l, &key)
        })
        .await
    }
}

impl SpinCtx {
    fn caller(&self) -> KvCall {
        KvCall {
            component: self.component.clone(),
            shared: self.shared.clone(),
            durability: self.durability.clone(),
        }
    }

    /// The call context and store label behind a handle.
    fn call_on(&self, store: &Resource<KvStore>) -> wasmtime::Result<(KvCall, String)> {
        Ok((self.caller(), self.table.get(store)?.label.clone()))
    }

    fn open_store(&mut self, label: String) -> KvResult<Resource<KvStore>> {
        self.shared.stats.kv_call(&self.component, "open");
        if !self.allowed_stores.contains(&label) {
            return Err(KvError::AccessDenied);
        }
        if !self.shared.stores.contains_key(&label) {
            return Err(KvError::NoSuchStore);
        }
        self.table
            .push(KvStore { label })
            .map_err(|e| KvError::Other(e.to_string()))
    }
}

fn to_spin(e: KvError) -> spin_kv::Error {
    match e {
        KvError::NoSuchStore => spin_kv::Error::NoSuchStore,
        KvError::AccessDenied => spin_kv::Error::AccessDenied,
        KvError::Other(m) => spin_kv::Error::Other(m),
    }
}

fn to_wasi(e: KvError) -> wasi_store::Error {
    match e {
        KvError::NoSuchStore => wasi_store::Error::NoSuchStore,
        KvError::AccessDenied => wasi_store::Error::AccessDenied,
        KvError::Other(m) => wasi_store::Error::Other(m),
    }
}

type Outcome<T, E> = wasmtime::Result<Result<T, E>>;

impl spin_kv::Host for SpinCtx {}

impl spin_kv::HostStore for SpinCtx {
    async fn drop(&mut self, s: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

fn handle<T>(
    accessor: &Accessor<T, SpinHost>,
    s: &Resource<KvStore>,
) -> wasmtime::Result<(KvCall, String)> {
    accessor.with(|mut a| a.get().call_on(s))
}

impl<T> spin_kv::HostStoreWithStore<T> for SpinHost {
    async fn open(
        accessor: &Accessor<T, Self>,
        label: String,
    ) -> Outcome<Resource<KvStore>, spin_kv::Error> {
        Ok(accessor
            .with(|mut a| a.get().open_store(label))
            .map_err(to_spin))
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        s: Resource<KvStore>,
        key: String,
    ) -> Outcome<Option<Vec<u8>>, spin_kv::Error> {
        let (call, label) = handle(accessor, &s)?;
        Ok(call.get(label, key).await.map_err(to_spin))
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        s: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Outcome<(), spin_kv::Error> {
        let (call, label) = handle(accessor, &s)?;
        Ok(call.set(label, key, value).await.map_err(to_spin))
    }

    async fn delete(
        accessor: &Accessor<T, Self>,
        s: Resource<KvStore>,
        key: String,
    ) -> Outcome<(), spin_kv::Error> {
        let (call, label) = handle(accessor, &s)?;
        Ok(call.delete(label, key).await.map_err(to_spin))
    }

    async fn exists(
        accessor: &Accessor<T, Self>,
        s: Resource<KvStore>,
        key: String,
    ) -> Outcome<bool, spin_kv::Error> {
        let (call, label) = handle(accessor, &s)?;
        Ok(call.exists(label, key).await.map_err(to_spin))
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        s: Resource<KvStore>,
    ) -> wasmtime::Result<(
        StreamReader<String>,
        FutureReader<Result<(), spin_kv::Error>>,
    )> {
        let (call, label) = handle(accessor, &s)?;
        let (keys, result) = match call.run(label, "get_keys", |b, l| b.keys(l)).await {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(to_spin(e))),
        };
        accessor.with(|mut a| {
            let stream = StreamReader::new(&mut a, keys)?;
            let future =
                FutureReader::new(&mut a, async move { wasmtime::Result::<_>::Ok(result) })?;
            Ok((stream, future))
        })
    }
}

impl wasi_store::Host for SpinCtx {
    async fn open(&mut self, identifier: String) -> Outcome<Resource<KvStore>, wasi_store::Error> {
        Ok(self.open_store(identifier).map_err(to_wasi))
    }
}

impl wasi_store::HostBucket for SpinCtx {
    async fn get(
        &mut self,
        s: Resource<KvStore>,
        key: String,
    ) -> Outcome<Option<Vec<u8>>, wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        Ok(call.get(label, key).await.map_err(to_wasi))
    }

    async fn set(
        &mut self,
        s: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Outcome<(), wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        Ok(call.set(label, key, value).await.map_err(to_wasi))
    }

    async fn delete(
        &mut self,
        s: Resource<KvStore>,
        key: String,
    ) -> Outcome<(), wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        Ok(call.delete(label, key).await.map_err(to_wasi))
    }

    async fn exists(
        &mut self,
        s: Resource<KvStore>,
        key: String,
    ) -> Outcome<bool, wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        Ok(call.exists(label, key).await.map_err(to_wasi))
    }

    async fn list_keys(
        &mut self,
        s: Resource<KvStore>,
        cursor: Option<String>,
    ) -> Outcome<wasi_store::KeyResponse, wasi_store::Error> {
        // As on Spin: the whole key set in one page; cursors are not supported.
        if cursor.is_some() {
            return Ok(Err(wasi_store::Error::Other(
                "list-keys: cursor not supported".into(),
            )));
        }
        let (call, label) = self.call_on(&s)?;
        Ok(call
            .run(label, "list_keys", |b, l| b.keys(l))
            .await
            .map(|keys| wasi_store::KeyResponse { keys, cursor: None })
            .map_err(to_wasi))
    }

    async fn drop(&mut self, s: Resource<KvStore>) -> wasmtime::Result<()> {
        self.table.delete(s)?;
        Ok(())
    }
}

impl batch::Host for SpinCtx {
    async fn get_many(
        &mut self,
        s: Resource<KvStore>,
        keys: Vec<String>,
    ) -> Outcome<Vec<(String, Option<Vec<u8>>)>, wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        if self.shared.faults.get_many_fails() {
            self.shared.stats.kv_call(&self.component, "get_many");
            return Ok(Err(to_wasi(KvError::Other(
                "injected fault: ERR wrong number of arguments for 'keys' command".into(),
            ))));
        }
        let small = keys.len() <= crate::kv::INLINE_READ_KEYS;
        Ok(call
            .run_read(label, "get_many", small, move |b, l| {
                keys.iter().try_for_each(|k| check_key(k))?;
                b.get_many(l, &keys)
            })
            .await
            .map(|pairs| pairs.into_iter().map(|(k, v)| (k, Some(v))).collect())
            .map_err(to_wasi))
    }

    async fn set_many(
        &mut self,
        s: Resource<KvStore>,
        pairs: Vec<(String, Vec<u8>)>,
    ) -> Outcome<(), wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        Ok(call
            .write(label, "set_many", Write::SetMany(pairs))
            .await
            .and_then(expect_done)
            .map_err(to_wasi))
    }

    async fn delete_many(
        &mut self,
        s: Resource<KvStore>,
        keys: Vec<String>,
    ) -> Outcome<(), wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        Ok(call
            .write(label, "delete_many", Write::DeleteMany(keys))
            .await
            .and_then(expect_done)
            .map_err(to_wasi))
    }
}

impl atomics::Host for SpinCtx {
    async fn increment(
        &mut self,
        s: Resource<KvStore>,
        key: String,
        delta: i64,
    ) -> Outcome<i64, wasi_store::Error> {
        let (call, label) = self.call_on(&s)?;
        Ok(call
            .write(label, "increment", Write::Increment { key, delta })
            .await
            .and_then(|w| match w {
                Written::Count(n) => Ok(n),
                other => Err(KvError::Other(format!("an increment answered {other:?}"))),
            })
            .map_err(to_wasi))
    }

    async fn swap(
        &mut self,
        cas: Resource<KvCas>,
        value: Vec<u8>,
    ) -> Outcome<(), atomics::CasError> {
        let KvCas { label, key, seen } = self.table.delete(cas)?;
        let outcome = {
            let write = Write::Swap {
                key: key.clone(),
                expected: seen,
                value,
            };
            self.caller()
                .write(label.clone(), "swap", write)
                .await
                .and_then(|w| match w {
                    Written::Swapped(swapped) => Ok(swapped),
                    other => Err(KvError::Other(format!("a swap answered {other:?}"))),
                })
        };
        let reported = outcome.map(|swapped| swapped && !self.shared.faults.swaps_report_failure());
        match reported {
            Ok(true) => Ok(Ok(())),
            Ok(false) => {
                // Hand back a fresh CAS holding the value now stored, so the guest can retry.
                let fresh = self.new_cas(label, key).await?;
                Ok(match fresh {
                    Ok(cas) => Err(atomics::CasError::CasFailed(cas)),
                    Err(e) => Err(atomics::CasError::StoreError(e)),
                })
            }
            Err(e) => Ok(Err(atomics::CasError::StoreError(to_wasi(e)))),
        }
    }
}

impl SpinCtx {
    async fn new_cas(
        &mut self,
        label: String,
        key: String,
    ) -> Outcome<Resource<KvCas>, wasi_store::Error> {
        let read_key = key.clone();
        let seen = self
            .caller()
            .run(label.clone(), "cas_new", move |b, l| {
                check_key(&read_key)?;
                b.get(l, &read_key)
            })
            .await;
        Ok(match seen {
            Ok(seen) => Ok(self.table.push(KvCas { label, key, seen })?),
            Err(e) => Err(to_wasi(e)),
        })
    }
}

impl atomics::HostCas for SpinCtx {
    async fn new(
        &mut self,
        s: Resource<KvStore>,
        key: String,
    ) -> Outcome<Resource<KvCas>, wasi_store::Error> {
        let label = self.table.get(&s)?.label.clone();
        self.new_cas(label, key).await
    }

    async fn current(
        &mut self,
        cas: Resource<KvCas>,
    ) -> Outcome<Option<Vec<u8>>, wasi_store::Error> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    async fn drop(&mut self, cas: Resource<KvCas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl spin_vars::Host for SpinCtx {}

impl<T> spin_vars::HostWithStore<T> for SpinHost {
    async fn get(accessor: &Accessor<T, Self>, name: String) -> Outcome<String, spin_vars::Error> {
        Ok(accessor.with(|mut a| {
            let ctx = a.get();
            ctx.shared
                .variables
                .get(&ctx.component, &name)
                .map_err(|e| match e {
                    LookupError::InvalidName(n) => spin_vars::Error::InvalidName(n),
                    LookupError::Undefined(n) => spin_vars::Error::Undefined(n),
                })
        }))
    }
}
