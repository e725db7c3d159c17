//! Compiled components, kept between runs so that a warm start does not compile.
//!
//! What must stay true here, and why:
//!
//! - **The cache is wasmtime's own** (`wasmtime::Cache`), as Spin's is
//!   (`spin_core::Config::enable_cache`). An entry holds one component's compiled
//!   code, zstd-compressed, under `<cache dir>/modules/wasmtime-<version>/<key>`,
//!   where the key is the SHA-256 of the component's bytes together with everything
//!   of the engine that shapes the code: target, Cranelift and ISA flags, tunables,
//!   enabled wasm features. A rebuilt `.wasm`, another engine configuration or
//!   another wasmtime version never reads an entry made for something else.
//! - **A bad entry is a miss, never a failed start**: an entry that cannot be read,
//!   decompressed or loaded (truncated, from an incompatible build) is compiled
//!   again and rewritten; a cache directory that cannot be used is a warning on
//!   stderr, and every component is compiled.
//! - **The directory given to wasmtime is absolute.** wasmtime refuses a relative
//!   one, and the refusal used to be dropped silently: `--state-dir .spin` compiled
//!   every component on every start (~12 s for this repository's app on the 2-core
//!   VM, against ~0.15 s from the cache).
//! - **Not our own `Component::serialize` files**: loading native code from a file
//!   is `unsafe` in wasmtime (`Component::deserialize_file`), and this crate forbids
//!   unsafe code. wasmtime's cache is that same mechanism behind a safe API; like
//!   Spin, we trust the cache directory as we trust the binary (only its owner
//!   writes the state directory).
//! - **Distinct files compile in parallel**, one thread each: wasmtime already
//!   spreads one component's functions over the cores, but parsing, validation
//!   and linking are serial, so several components overlap those phases.
//! - **Within one process a file is compiled once**: a component compiled earlier
//!   from the same path and bytes is reused from memory, so the in-process tests,
//!   which start many apps from the same `.wasm`, neither compile nor read the
//!   cache again.

use anyhow::{Context, Result, anyhow};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::component::Component;
use wasmtime::{Cache, CacheConfig, Engine};

/// Where the compiled code of one start came from, counted per distinct file.
///
/// The cache counters are the engine's, shared by the process: the split between
/// `from_cache` and `compiled` is exact when one app loads at a time (the CLI), and
/// only approximate when a process starts several apps at once (in-process tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompileReport {
    /// Distinct component files loaded.
    pub files: usize,
    /// Compiled earlier by this process (another app with the same file).
    pub from_memory: usize,
    /// Loaded from the compile cache on disk.
    pub from_cache: usize,
    /// Compiled from the wasm (no cache, a cold one, or a changed file).
    pub compiled: usize,
    /// Wall time to have every file compiled or loaded.
    pub elapsed: Duration,
}

/// wasmtime's compile cache in `dir` (made absolute and created). `None`, after a
/// warning on stderr, when it cannot be used: the app then compiles every start.
pub(crate) fn open_cache(dir: &Path) -> Option<Cache> {
    match try_open_cache(dir) {
        Ok(cache) => Some(cache),
        Err(e) => {
            eprintln!(
                "warning: compile cache in {} unavailable ({e:#}); components will be compiled on every start",
                dir.display()
            );
            None
        }
    }
}

fn try_open_cache(dir: &Path) -> Result<Cache> {
    let dir = std::path::absolute(dir).context("no absolute path")?;
    let mut config = CacheConfig::new();
    config.with_directory(dir);
    Cache::new(config).map_err(|e| anyhow!("{e}"))
}

/// A component file's bytes and what identifies them within this process.
struct Source {
    path: PathBuf,
    bytes: Vec<u8>,
    /// `(path, content hash)`: a rebuilt file at the same path is a new key.
    key: (PathBuf, u64),
}

impl Source {
    fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("failed to read component source {}", path.display()))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        Ok(Self {
            path: path.to_path_buf(),
            key: (path.to_path_buf(), h.finish()),
            bytes,
        })
    }

    fn compile(&self, engine: &Engine) -> Result<Component> {
        Component::new(engine, &self.bytes)
            .map_err(|e| anyhow!("{e:?}"))
            .with_context(|| format!("failed to compile {}", self.path.display()))
    }
}

/// Components compiled by this process, by path and content.
fn compiled_in_process() -> &'static Mutex<HashMap<(PathBuf, u64), Component>> {
    static COMPILED: OnceLock<Mutex<HashMap<(PathBuf, u64), Component>>> = OnceLock::new();
    COMPILED.get_or_init(Default::default)
}

/// Compiles (or loads) every file in `paths`, distinct files in parallel.
pub(crate) fn compile_all(
    engine: &Engine,
    cache: Option<&Cache>,
    paths: &[&Path],
) -> Result<(HashMap<PathBuf, Component>, CompileReport)> {
    let started = Instant::now();
    let mut distinct: Vec<&Path> = paths.to_vec();
    distinct.sort();
    distinct.dedup();
    let sources = distinct
        .into_iter()
        .map(Source::read)
        .collect::<Result<Vec<_>>>()?;

    let mut out = HashMap::new();
    let mut missing = Vec::new();
    {
        let memo = compiled_in_process()
            .lock()
            .map_err(|_| anyhow!("compile memo poisoned"))?;
        for source in sources {
            // One engine per process in practice; a component of another engine
            // (unit tests make their own) cannot be instantiated with this one.
            match memo
                .get(&source.key)
                .filter(|c| Engine::same(c.engine(), engine))
            {
                Some(c) => {
                    out.insert(source.path.clone(), c.clone());
                }
                None => missing.push(source),
            }
        }
    }
    let from_memory = out.len();

    let hits_before = cache.map_or(0, Cache::cache_hits);
    let results: Vec<Result<Component>> = std::thread::scope(|scope| {
        let handles: Vec<_> = missing
            .iter()
            .map(|source| scope.spawn(|| source.compile(engine)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("compiler thread panicked")))
            })
            .collect()
    });
    let hits = cache.map_or(0, Cache::cache_hits) - hits_before;

    let mut memo = compiled_in_process()
        .lock()
        .map_err(|_| anyhow!("compile memo poisoned"))?;
    for (source, component) in missing.iter().zip(results) {
        let component = component?;
        memo.insert(source.key.clone(), component.clone());
        out.insert(source.path.clone(), component);
    }
    let from_cache = hits.min(missing.len());
    let report = CompileReport {
        files: out.len(),
        from_memory,
        from_cache,
        compiled: missing.len() - from_cache,
        elapsed: started.elapsed(),
    };
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: the preamble alone (component-model layer).
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn engine_with(cache: &Cache) -> Engine {
        let mut config = wasmtime::Config::new();
        config.cache(Some(cache.clone()));
        Engine::new(&config).expect("engine")
    }

    /// A fresh scratch directory under target/, relative to the crate (as cargo runs
    /// unit tests from the crate directory), so the cache is given a relative path.
    fn relative_scratch(name: &str) -> PathBuf {
        let dir = PathBuf::from("../../target/test-state")
            .join(format!("compile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_none() {
                    found.push(p);
                }
            }
        }
        found
    }

    #[test]
    fn a_relative_cache_directory_is_used_and_a_second_engine_reads_it() {
        let dir = relative_scratch("relative");
        assert!(dir.is_relative());
        let cache = open_cache(&dir).expect("a relative directory is accepted");
        Component::new(&engine_with(&cache), EMPTY_COMPONENT).expect("compiles");
        assert_eq!((cache.cache_hits(), cache.cache_misses()), (0, 1));

        // A second process: a new engine and cache on the same directory.
        let again = open_cache(&dir).expect("cache");
        Component::new(&engine_with(&again), EMPTY_COMPONENT).expect("loads");
        assert_eq!((again.cache_hits(), again.cache_misses()), (1, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_entry_is_compiled_again_and_rewritten() {
        let dir = relative_scratch("corrupt");
        let cache = open_cache(&dir).expect("cache");
        Component::new(&engine_with(&cache), EMPTY_COMPONENT).expect("compiles");
        let written = entries(&dir);
        assert_eq!(written.len(), 1, "one entry: {written:?}");
        std::fs::write(&written[0], b"not zstd, not code").expect("corrupt it");

        let again = open_cache(&dir).expect("cache");
        Component::new(&engine_with(&again), EMPTY_COMPONENT).expect("compiles again");
        assert_eq!((again.cache_hits(), again.cache_misses()), (0, 1));

        let third = open_cache(&dir).expect("cache");
        Component::new(&engine_with(&third), EMPTY_COMPONENT).expect("loads");
        assert_eq!(third.cache_hits(), 1, "the rewritten entry is read");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unusable_cache_directory_is_no_cache() {
        let dir = relative_scratch("unusable");
        std::fs::create_dir_all(dir.parent().expect("parent")).expect("parent");
        std::fs::write(&dir, b"a file, not a directory").expect("file");
        assert!(open_cache(&dir).is_none());
        let _ = std::fs::remove_file(&dir);
    }

    #[test]
    fn files_compile_once_per_process() {
        let dir = relative_scratch("memo");
        std::fs::create_dir_all(&dir).expect("dir");
        let wasm = dir.join("empty.wasm");
        std::fs::write(&wasm, EMPTY_COMPONENT).expect("write");
        let engine = Engine::new(&wasmtime::Config::new()).expect("engine");

        let (first, report) = compile_all(&engine, None, &[&wasm, &wasm]).expect("compiles");
        assert_eq!(first.len(), 1);
        assert_eq!(
            (report.files, report.compiled, report.from_memory),
            (1, 1, 0)
        );
        let (_, report) = compile_all(&engine, None, &[&wasm]).expect("reuses");
        assert_eq!(
            (report.files, report.compiled, report.from_memory),
            (1, 0, 1)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
