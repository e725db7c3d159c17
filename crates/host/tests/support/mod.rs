//! What this crate's integration tests share: the workspace, and the kv-probe
//! fixture app built once per test binary.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture app's manifest (`tests/fixtures/kv-probe/spin.toml`).
pub fn manifest() -> PathBuf {
    workspace().join("tests/fixtures/kv-probe/spin.toml")
}

/// Builds the fixture once. A nested cargo for another target uses its own lock
/// directory, so it does not wait on the outer `cargo test`.
pub fn build_fixture() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = std::process::Command::new(env!("CARGO"))
            .current_dir(workspace())
            .args([
                "build",
                "--target",
                "wasm32-wasip2",
                "--release",
                "-p",
                "kv-probe",
            ])
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .expect("cargo runs");
        assert!(status.success(), "fixture build failed");
    });
}

/// Points `<state_dir>/wasmtime-cache` at the compile cache every test shares
/// (`target/wasmtime-cache`), so that an `opsflow-host` process started on a fresh
/// state directory compiles the fixture only when no test has compiled it before.
pub fn share_compile_cache(state_dir: &Path) {
    let shared = workspace().join("target/wasmtime-cache");
    std::fs::create_dir_all(&shared).expect("shared cache directory");
    std::fs::create_dir_all(state_dir).expect("state directory");
    std::os::unix::fs::symlink(&shared, state_dir.join("wasmtime-cache")).expect("link");
}
