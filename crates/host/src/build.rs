//! `build`: runs each component's build command, as `spin build` does.

use crate::manifest::App;
use anyhow::{Result, bail};

/// Runs the build commands of the selected components (all when empty), in
/// manifest order, stopping at the first failure.
pub fn build(app: &App, only: &[String]) -> Result<()> {
    for (id, component) in &app.components {
        if !only.is_empty() && !only.contains(id) {
            continue;
        }
        let Some(build) = &component.build else {
            println!("{id}: no build command, skipping");
            continue;
        };
        let dir = match &build.workdir {
            Some(w) => app.base_dir.join(w),
            None => app.base_dir.clone(),
        };
        for line in build.command.lines() {
            println!("Building component {id} with `{line}`");
            let status = std::process::Command::new("sh")
                .arg("-c")
                .arg(line)
                .current_dir(&dir)
                .status()?;
            if !status.success() {
                bail!("Build command for component {id} failed with status {status}");
            }
        }
    }
    println!("Finished building all Spin components");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_each_command_in_its_workdir_and_stops_at_a_failure() {
        let dir = std::env::temp_dir().join(format!("opsflow-build-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("dir");
        let manifest = r#"
spin_manifest_version = 2
[application]
name = "b"
[[trigger.http]]
route = "/..."
component = "a"
[component.a]
source = "a.wasm"
[component.a.build]
command = ["echo one > out.txt", "echo two >> out.txt"]
workdir = "sub"
[component.b]
source = "b.wasm"
[component.b.build]
command = "exit 3"
"#;
        let app = crate::manifest::parse(manifest, &dir).expect("valid");
        build(&app, &["a".to_string()]).expect("a builds");
        let out = std::fs::read_to_string(dir.join("sub/out.txt")).expect("built");
        assert_eq!(out, "one\ntwo\n");
        let err = build(&app, &[]).unwrap_err();
        assert!(err.to_string().contains("component b failed"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
