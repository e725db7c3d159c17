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
