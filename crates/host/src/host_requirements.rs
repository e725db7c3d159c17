//! Host requirements per trigger type, checked before the app starts, as Spin
//! checks them (`LockedApp::ensure_needs_only` in `spin-locked-app`).
//!
//! Spin's loader marks a component as needing `local_service_chaining` when a
//! literal `allowed_outbound_hosts` entry names a `*.spin.internal` host. Each
//! trigger type then refuses to start when a component attached to it needs a
//! feature that trigger lacks: the HTTP trigger provides service chaining, the
//! cron trigger (and any other) provides none. One refusing trigger stops the
//! whole `spin up`, so it stops this host too. Components left out by
//! `--component-id` take their triggers with them and are not checked.

use crate::manifest::{App, Component};
use crate::outbound::is_chaining_pattern;
use anyhow::{Result, bail};
use std::collections::BTreeSet;

/// Spin's name for the service-chaining host feature.
pub const LOCAL_SERVICE_CHAINING: &str = "local_service_chaining";

/// The host features a trigger type provides.
fn supported_by(trigger_type: &str) -> &'static [&'static str] {
    match trigger_type {
        "http" => &[LOCAL_SERVICE_CHAINING],
        _ => &[],
    }
}

/// The host features a component needs.
pub fn component_requirements(component: &Component) -> BTreeSet<&'static str> {
    let mut needs = BTreeSet::new();
    if component
        .allowed_outbound_hosts
        .iter()
        .any(|h| is_chaining_pattern(h))
    {
        needs.insert(LOCAL_SERVICE_CHAINING);
    }
    needs
}

/// Refuses the app when a trigger of some type has a (selected) component that
/// needs a feature the trigger type lacks, with Spin's message.
pub fn check(app: &App, selected: &dyn Fn(&str) -> bool) -> Result<()> {
    let by_type = [
        (
            "http",
            app.http_triggers
                .iter()
                .map(|t| t.component.as_str())
                .collect::<Vec<_>>(),
        ),
        (
            "cron",
            app.cron_triggers
                .iter()
                .map(|t| t.component.as_str())
                .collect(),
        ),
    ];
    for (trigger_type, components) in by_type {
        let supported = supported_by(trigger_type);
        let unmet: BTreeSet<&str> = components
            .into_iter()
            .filter(|id| selected(id))
            .filter_map(|id| app.components.get(id))
            .flat_map(component_requirements)
            .filter(|need| !supported.contains(need))
            .collect();
        if !unmet.is_empty() {
            let unmet: Vec<&str> = unmet.into_iter().collect();
            bail!(
                "This application requires the following features that are not available in this version of the '{trigger_type}' trigger: {}",
                unmet.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn app(scheduler_hosts: &str) -> App {
        let text = format!(
            r#"
spin_manifest_version = 2
[application]
name = "hr"
[variables]
base_url = {{ default = "http://127.0.0.1:3000" }}
[[trigger.http]]
route = "/..."
component = "api"
[[trigger.cron]]
component = "tick"
cron_expression = "0 * * * * *"
[component.api]
source = "api.wasm"
allowed_outbound_hosts = ["http://*.spin.internal"]
[component.tick]
source = "tick.wasm"
allowed_outbound_hosts = {scheduler_hosts}
"#
        );
        crate::manifest::parse(&text, Path::new(".")).expect("valid")
    }

    #[test]
    fn a_cron_component_that_chains_is_refused_with_spins_message() {
        let app = app(r#"["http://api.spin.internal"]"#);
        let err = check(&app, &|_| true).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "This application requires the following features that are not available in this version of the 'cron' trigger: local_service_chaining"
        );
    }

    #[test]
    fn http_components_may_chain_and_templates_are_not_chaining() {
        check(&app(r#"["{{ base_url }}"]"#), &|_| true).expect("starts");
        check(&app("[]"), &|_| true).expect("starts");
    }

    #[test]
    fn an_unselected_cron_component_is_not_checked() {
        let app = app(r#"["http://*.spin.internal"]"#);
        check(&app, &|id| id == "api").expect("the cron trigger is dropped");
    }
}
