//! Application and component variables, resolved as Spin resolves them.
//!
//! Application variables (`[variables]`) take their value from, in order: a
//! `--variable NAME=VALUE` flag, the `SPIN_VARIABLE_<NAME>` environment variable
//! (name upper-cased), the manifest `default`. A `required` variable with no value
//! fails start-up. Component variables are templates over application variables
//! (`"{{ api_tokens }}"`, `"prefix-{{ name }}"`); a guest can only read the names
//! its component declares. `allowed_outbound_hosts` entries may be templates over
//! application variables too (`"{{ base_url }}"`), resolved once at start-up as Spin
//! resolves them.

use crate::manifest::{App, check_variable_name};
use anyhow::{Result, bail};
use std::collections::BTreeMap;

/// Why a guest's lookup failed (mirrors `spin:variables/variables.error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The name is not a valid variable name.
    InvalidName(String),
    /// The component declares no such variable.
    Undefined(String),
}

/// Resolved values for every component of an app.
#[derive(Debug, Clone, Default)]
pub struct Resolved {
    app_values: BTreeMap<String, String>,
    by_component: BTreeMap<String, BTreeMap<String, String>>,
}

impl Resolved {
    /// Resolves every component's variables.
    ///
    /// `overrides` are `--variable` flags; `env` is the process environment.
    pub fn resolve(
        app: &App,
        overrides: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let mut app_values = BTreeMap::new();
        let mut missing = Vec::new();
        for name in overrides.keys() {
            if !app.variables.contains_key(name) {
                bail!("--variable {name}: the application declares no variable '{name}'");
            }
        }
        for (name, decl) in &app.variables {
            let value = overrides
                .get(name)
                .cloned()
                .or_else(|| env(&format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())))
                .or_else(|| decl.default.clone());
            match value {
                Some(v) => {
                    app_values.insert(name.clone(), v);
                }
                None if decl.required => missing.push(name.clone()),
                None => {}
            }
        }
        if !missing.is_empty() {
            bail!(
                "missing required application variable(s): {} (set SPIN_VARIABLE_{} or pass --variable)",
                missing.join(", "),
                missing[0].to_ascii_uppercase()
            );
        }
        let mut by_component = BTreeMap::new();
        for (id, component) in &app.components {
            let mut values = BTreeMap::new();
            for (name, template) in &component.variables {
                // An unset optional app variable leaves the component variable
                // undefined, so the guest sees `undefined` rather than "".
                if let Some(value) = render(template, &app_values)? {
                    values.insert(name.clone(), value);
                }
            }
            by_component.insert(id.clone(), values);
        }
        Ok(Self {
            app_values,
            by_component,
        })
    }

    /// Renders a template over application variables (an `allowed_outbound_hosts`
    /// entry). Unlike a component variable, a reference to a variable with no value
    /// is an error: Spin fails start-up when it cannot resolve an allowed host.
    pub fn render_app_template(&self, template: &str) -> Result<String> {
        match render(template, &self.app_values)? {
            Some(value) => Ok(value),
            None => {
                bail!("template '{template}' references an application variable that has no value")
            }
        }
    }

    /// What a guest of `component` reads for `name`.
    pub fn get(&self, component: &str, name: &str) -> Result<String, LookupError> {
        if check_variable_name(name).is_err() {
            return Err(LookupError::InvalidName(name.to_string()));
        }
        self.by_component
            .get(component)
            .and_then(|vars| vars.get(name))
            .cloned()
            .ok_or_else(|| LookupError::Undefined(name.to_string()))
    }
}

/// Names of the application variables a template references.
pub fn template_references(template: &str) -> Result<Vec<String>> {
    let mut refs = Vec::new();
    for part in parse_template(template)? {
        if let Part::Var(name) = part {
            refs.push(name);
        }
    }
    Ok(refs)
}

enum Part {
    Lit(String),
    Var(String),
}

fn parse_template(template: &str) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(Part::Lit(rest[..start].to_string()));
        }
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            bail!("unterminated '{{{{' in template '{template}'");
        };
        let name = after[..end].trim();
        check_variable_name(name)?;
        parts.push(Part::Var(name.to_string()));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    Ok(parts)
}

fn render(template: &str, values: &BTreeMap<String, String>) -> Result<Option<String>> {
    let mut out = String::new();
    for part in parse_template(template)? {
        match part {
            Part::Lit(s) => out.push_str(&s),
            Part::Var(name) => match values.get(&name) {
                Some(v) => out.push_str(v),
                None => return Ok(None),
            },
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const APP: &str = r#"
spin_manifest_version = 2
[application]
name = "v"
[variables]
token = { required = true, secret = true }
greeting = { default = "hi" }
optional = { secret = true }
[[trigger.http]]
route = "/..."
component = "c"
[component.c]
source = "c.wasm"
[component.c.variables]
token = "{{ token }}"
line = "{{ greeting }}, {{ token }}!"
opt = "{{ optional }}"
literal = "plain"
"#;

    fn app() -> App {
        crate::manifest::parse(APP, Path::new(".")).expect("valid")
    }

    #[test]
    fn precedence_is_flag_then_env_then_default() {
        let env = |k: &str| match k {
            "SPIN_VARIABLE_TOKEN" => Some("from-env".to_string()),
            "SPIN_VARIABLE_GREETING" => Some("hello".to_string()),
            _ => None,
        };
        let flags = BTreeMap::from([("greeting".to_string(), "hey".to_string())]);
        let r = Resolved::resolve(&app(), &flags, &env).expect("resolves");
        assert_eq!(r.get("c", "token").as_deref(), Ok("from-env"));
        assert_eq!(r.get("c", "line").as_deref(), Ok("hey, from-env!"));
        assert_eq!(r.get("c", "literal").as_deref(), Ok("plain"));
    }

    #[test]
    fn missing_required_variable_fails_with_its_name() {
        let err = Resolved::resolve(&app(), &BTreeMap::new(), &|_| None).unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
    }

    #[test]
    fn guest_lookups_distinguish_invalid_and_undefined() {
        let env = |k: &str| (k == "SPIN_VARIABLE_TOKEN").then(|| "t".to_string());
        let r = Resolved::resolve(&app(), &BTreeMap::new(), &env).expect("resolves");
        assert_eq!(
            r.get("c", "Bad-Name"),
            Err(LookupError::InvalidName("Bad-Name".into()))
        );
        assert_eq!(
            r.get("c", "nope"),
            Err(LookupError::Undefined("nope".into()))
        );
        // An optional app variable with no value leaves the component variable unset.
        assert_eq!(r.get("c", "opt"), Err(LookupError::Undefined("opt".into())));
    }

    #[test]
    fn app_templates_render_or_fail_on_unset_variables() {
        let env = |k: &str| (k == "SPIN_VARIABLE_TOKEN").then(|| "t".to_string());
        let r = Resolved::resolve(&app(), &BTreeMap::new(), &env).expect("resolves");
        assert_eq!(
            r.render_app_template("https://{{ greeting }}.example.com")
                .expect("renders"),
            "https://hi.example.com"
        );
        assert!(r.render_app_template("{{ optional }}").is_err());
    }

    #[test]
    fn unknown_flag_is_refused() {
        let flags = BTreeMap::from([("zzz".to_string(), "1".to_string())]);
        assert!(Resolved::resolve(&app(), &flags, &|_| Some("x".into())).is_err());
    }
}
