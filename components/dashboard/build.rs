//! Embeds the front end's build output (`web/dist`, made by `npm run build`) and the
//! app's OpenAPI document (`/api/openapi.json`), merged from `docs/openapi/*.json`
//! once here rather than on every request: compact and gzip-compressed (about a
//! tenth of the fragments' 300 KB), one more `opsflow_assets::Asset`.
use std::io::Write;
use std::path::Path;

/// The OpenAPI base and fragments, in merge order.
const OPENAPI_BASE: &str = "base";
const OPENAPI_FRAGMENTS: [&str; 6] = [
    "campaigns",
    "webhooks",
    "content",
    "evaluations",
    "triggers",
    "analytics",
];

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let dist = Path::new(&manifest_dir).join("web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    if !dist.join("index.html").is_file() {
        panic!(
            "dashboard: {} has no index.html; build the front end first: \
             `npm ci && npm run build` in components/dashboard/web \
             (spin build and the tests do it)",
            dist.display()
        );
    }
    match opsflow_assets::build::generate(&dist, Path::new(&out_dir)) {
        Ok(files) => {
            for f in files {
                println!("cargo:rerun-if-changed={}", dist.join(&f[1..]).display());
            }
        }
        Err(e) => panic!("dashboard: embedding {} failed: {e}", dist.display()),
    }
    openapi(Path::new(&manifest_dir), Path::new(&out_dir));
}

/// Writes `openapi.rs` (the `DOCUMENT` asset) and the compressed document it
/// includes; a fragment that does not merge fails the build.
fn openapi(manifest_dir: &Path, out_dir: &Path) {
    let docs = manifest_dir.join("../../docs/openapi");
    let read = |name: &str| {
        let path = docs.join(format!("{name}.json"));
        println!("cargo:rerun-if-changed={}", path.display());
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("dashboard: reading {}: {e}", path.display()))
    };
    let base = read(OPENAPI_BASE);
    let fragments: Vec<String> = OPENAPI_FRAGMENTS.iter().map(|f| read(f)).collect();
    let refs: Vec<&str> = fragments.iter().map(String::as_str).collect();
    let doc = opsflow_api::openapi::merge(&base, &refs)
        .unwrap_or_else(|e| panic!("dashboard: the OpenAPI fragments do not merge: {e}"));
    let bytes = serde_json::to_vec(&doc).unwrap_or_else(|e| panic!("dashboard: {e}"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gz = gz
        .write_all(&bytes)
        .and_then(|()| gz.finish())
        .unwrap_or_else(|e| panic!("dashboard: compressing the OpenAPI document: {e}"));
    let stored = out_dir.join("openapi.json.gz");
    std::fs::write(&stored, gz).unwrap_or_else(|e| panic!("dashboard: {e}"));
    let table = format!(
        "/// The merged OpenAPI document, gzip-compressed.\n\
         static DOCUMENT: opsflow_assets::Asset = opsflow_assets::Asset {{ path: \"/api/openapi.json\", content_type: \"application/json\", etag: {etag:?}, body: include_bytes!({stored:?}), gzipped: true }};\n",
        etag = opsflow_assets::build::etag(&bytes),
        stored = stored.display().to_string(),
    );
    std::fs::write(out_dir.join("openapi.rs"), table).unwrap_or_else(|e| panic!("dashboard: {e}"));
}
