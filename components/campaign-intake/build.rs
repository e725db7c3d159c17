//! The app's OpenAPI document, merged from `docs/openapi/*.json` once here rather
//! than on every request: compact and gzip-compressed (about a tenth of the
//! fragments' 300 KB), embedded as one `opsflow_assets::Asset` for `openapi.rs`.
use std::io::Write;
use std::path::Path;

/// The base and the fragments, in merge order.
const BASE: &str = "base";
const FRAGMENTS: [&str; 5] = [
    "campaigns",
    "webhooks",
    "content",
    "evaluations",
    "triggers",
];

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let docs = Path::new(&manifest_dir).join("../../docs/openapi");
    let read = |name: &str| {
        let path = docs.join(format!("{name}.json"));
        println!("cargo:rerun-if-changed={}", path.display());
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("campaign-intake: reading {}: {e}", path.display()))
    };
    let base = read(BASE);
    let fragments: Vec<String> = FRAGMENTS.iter().map(|f| read(f)).collect();
    let refs: Vec<&str> = fragments.iter().map(String::as_str).collect();
    let doc = opsflow_api::openapi::merge(&base, &refs)
        .unwrap_or_else(|e| panic!("campaign-intake: the OpenAPI fragments do not merge: {e}"));
    let bytes = serde_json::to_vec(&doc).unwrap_or_else(|e| panic!("campaign-intake: {e}"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let gz = gz
        .write_all(&bytes)
        .and_then(|()| gz.finish())
        .unwrap_or_else(|e| panic!("campaign-intake: compressing the document: {e}"));
    let stored = Path::new(&out_dir).join("openapi.json.gz");
    std::fs::write(&stored, gz).unwrap_or_else(|e| panic!("campaign-intake: {e}"));
    let table = format!(
        "/// The merged OpenAPI document, gzip-compressed.\n\
         static DOCUMENT: opsflow_assets::Asset = opsflow_assets::Asset {{ path: \"/api/openapi.json\", content_type: \"application/json\", etag: {etag:?}, body: include_bytes!({stored:?}), gzipped: true }};\n",
        etag = opsflow_assets::build::etag(&bytes),
        stored = stored.display().to_string(),
    );
    std::fs::write(Path::new(&out_dir).join("openapi.rs"), table)
        .unwrap_or_else(|e| panic!("campaign-intake: {e}"));
}
