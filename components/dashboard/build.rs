//! Embeds the front end's build output (`web/dist`, made by `npm run build`).
fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let dist = std::path::Path::new(&manifest_dir).join("web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    if !dist.join("index.html").is_file() {
        panic!(
            "dashboard: {} has no index.html; build the front end first: \
             `npm ci && npm run build` in components/dashboard/web \
             (spin build and the tests do it)",
            dist.display()
        );
    }
    match opsflow_assets::build::generate(&dist, std::path::Path::new(&out_dir)) {
        Ok(files) => {
            for f in files {
                println!("cargo:rerun-if-changed={}", dist.join(&f[1..]).display());
            }
        }
        Err(e) => panic!("dashboard: embedding {} failed: {e}", dist.display()),
    }
}
