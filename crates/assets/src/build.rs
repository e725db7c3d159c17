//! Build-time half: turns a bundler's output directory into the Rust source of an
//! [`Asset`](crate::Asset) table, for a component's `build.rs` to `include!`.
//!
//! Source maps are left out (they are for developers, not for the page), text
//! files are gzip-compressed once here, and each file's `ETag` is the SHA-256 of
//! its bytes, so a validator changes exactly when the file does.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The `Content-Type` a file is served with, by extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Whether gzip is worth it for a content type.
pub fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/manifest+json")
        || content_type == "image/svg+xml"
}

/// A quoted strong validator for `bytes`.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", opsflow_api::conditional::digest_tag(bytes))
}

/// Writes `out_dir/assets.rs` (a `static ASSETS: &[opsflow_assets::Asset]`) for
/// every file under `dist`, and gzip copies of the compressible ones into
/// `out_dir`. Returns the files embedded (URL paths).
pub fn generate(dist: &Path, out_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    walk(dist, &mut files)?;
    files.sort();
    let mut table = String::from(
        "/// The dashboard's built files.\npub static ASSETS: &[opsflow_assets::Asset] = &[\n",
    );
    let mut served = Vec::new();
    for (n, file) in files.iter().enumerate() {
        let rel = file
            .strip_prefix(dist)
            .map_err(std::io::Error::other)?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if rel.ends_with(".map") {
            continue;
        }
        let url = format!("/{rel}");
        let bytes = std::fs::read(file)?;
        let ctype = content_type(&url);
        let (stored, gzipped) = if compressible(ctype) {
            let gz = out_dir.join(format!("asset-{n}.gz"));
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(&bytes)?;
            std::fs::write(&gz, enc.finish()?)?;
            (gz, true)
        } else {
            (file.clone(), false)
        };
        table.push_str(&format!(
            "    opsflow_assets::Asset {{ path: {url:?}, content_type: {ctype:?}, etag: {etag:?}, body: include_bytes!({stored:?}), gzipped: {gzipped} }},\n",
            etag = etag(&bytes),
            stored = stored.display().to_string(),
        ));
        served.push(url);
    }
    table.push_str("];\n");
    std::fs::write(out_dir.join("assets.rs"), table)?;
    Ok(served)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
