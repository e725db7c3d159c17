//! The parts of Spin's application manifest (version 2) this host runs.
//!
//! Parsing follows `spin-manifest`: unknown top-level tables of a component are
//! tolerated (Spin ignores what a trigger does not use), while the things Spin
//! refuses at load — a trigger naming a component that does not exist, a component
//! without `source`, a malformed route — are refused here with Spin-like messages.

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A loaded, checked application.
#[derive(Debug, Clone)]
pub struct App {
    /// `application.name`, reported by `/.well-known/spin/info`.
    pub name: String,
    /// `application.version`, reported by `/.well-known/spin/info`.
    pub version: String,
    /// The directory relative paths in the manifest are resolved against.
    pub base_dir: PathBuf,
    /// `application.trigger.http.base`, prefixed to every route.
    pub http_base: String,
    /// Application variables by (lower-case) name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// HTTP triggers in manifest order.
    pub http_triggers: Vec<HttpTrigger>,
    /// Cron triggers in manifest order.
    pub cron_triggers: Vec<CronTrigger>,
    /// Components by id.
    pub components: BTreeMap<String, Component>,
}

/// An application variable declaration (`[variables]`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// Value used when no provider supplies one.
    pub default: Option<String>,
    /// Start-up fails when a required variable has no value.
    #[serde(default)]
    pub required: bool,
    /// Secret values are never printed.
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// The trigger's `id`, or a generated one as Spin does.
    pub id: String,
    /// The component that handles the route.
    pub component: String,
    /// The route pattern, or `None` for `{ private = true }`.
    pub route: Option<String>,
}

/// One `[[trigger.cron]]` entry.
#[derive(Debug, Clone)]
pub struct CronTrigger {
    /// The component whose `handle-cron-event` export runs.
    pub component: String,
    /// Seconds-first cron expression (6 or 7 fields).
    pub cron_expression: String,
}

/// A component (`[component.<id>]`).
#[derive(Debug, Clone)]
pub struct Component {
    /// The component id.
    pub id: String,
    /// Path of the `.wasm` file, resolved against the manifest directory.
    pub source: PathBuf,
    /// Key-value store labels the component may open.
    pub key_value_stores: Vec<String>,
    /// `allowed_outbound_hosts` patterns, unparsed.
    pub allowed_outbound_hosts: Vec<String>,
    /// Component variables: name → template (may reference `{{ app_var }}`).
    pub variables: BTreeMap<String, String>,
    /// Environment variables the guest sees.
    pub environment: BTreeMap<String, String>,
    /// `[component.<id>.build]`, if any.
    pub build: Option<BuildConfig>,
}

/// How `build` makes a component's `.wasm`.
#[derive(Debug, Clone, Deserialize)]
pub struct BuildConfig {
    /// Shell command, run as Spin runs it.
    pub command: CommandLines,
    /// Working directory relative to the manifest.
    pub workdir: Option<String>,
    /// Files `spin watch` would watch; accepted and unused here.
    #[serde(default)]
    pub watch: Vec<String>,
}

/// One command or several, run in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CommandLines {
    /// `command = "..."`
    One(String),
    /// `command = ["...", "..."]`
    Many(Vec<String>),
}

impl CommandLines {
    /// The commands in order.
    pub fn lines(&self) -> Vec<&str> {
        match self {
            CommandLines::One(c) => vec![c.as_str()],
            CommandLines::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Deserialize)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: BTreeMap<String, Vec<toml::Table>>,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
struct RawApplication {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    trigger: BTreeMap<String, toml::Table>,
}

#[derive(Deserialize)]
struct RawComponent {
    source: Option<toml::Value>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    build: Option<BuildConfig>,
}

/// Loads and checks a manifest file.
pub fn load(path: &Path) -> Result<App> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("Failed to read manifest at {}", path.display()))?;
    let base_dir = base_dir_of(path);
    parse(&text, &base_dir).with_context(|| format!("Failed to load manifest {}", path.display()))
}

/// The directory a manifest's relative paths resolve against. A bare `spin.toml`
/// has an empty parent, which must mean the current directory (a build command run
/// in "" fails), so the result is made absolute.
fn base_dir_of(manifest: &Path) -> PathBuf {
    let dir = match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    dir.canonicalize().unwrap_or(dir)
}

/// Parses and checks manifest text; relative paths resolve against `base_dir`.
pub fn parse(text: &str, base_dir: &Path) -> Result<App> {
    let raw: RawManifest = toml::from_str(text).context("Manifest is not valid TOML")?;
    match raw.spin_manifest_version.as_integer() {
        Some(2) => {}
        _ => bail!("unsupported manifest version: this host reads spin_manifest_version = 2"),
    }
    let variables = parse_variables(raw.variables)?;
    let components = parse_components(raw.component, &variables, base_dir)?;
    let http_base = raw
        .application
        .trigger
        .get("http")
        .and_then(|t| t.get("base"))
        .and_then(|b| b.as_str())
        .unwrap_or("/")
        .to_string();
    let (http_triggers, cron_triggers) = parse_triggers(raw.trigger, &components)?;

    Ok(App {
        name: raw.application.name,
        version: raw.application.version.unwrap_or_default(),
        base_dir: base_dir.to_path_buf(),
        http_base,
        variables,
        http_triggers,
        cron_triggers,
        components,
    })
}

/// Checks `[variables]`: valid names, and no variable both required and defaulted.
fn parse_variables(raw: BTreeMap<String, VariableDecl>) -> Result<BTreeMap<String, VariableDecl>> {
    let mut variables = BTreeMap::new();
    for (name, decl) in raw {
        check_variable_name(&name)?;
        if decl.required && decl.default.is_some() {
            bail!("variable '{name}' may not be both required and have a default");
        }
        variables.insert(name, decl);
    }
    Ok(variables)
}

/// Checks every `[component.<id>]` against the application variables.
fn parse_components(
    raw: BTreeMap<String, RawComponent>,
    variables: &BTreeMap<String, VariableDecl>,
    base_dir: &Path,
) -> Result<BTreeMap<String, Component>> {
    let mut components = BTreeMap::new();
    for (id, c) in raw {
        let component = parse_component(id, c, variables, base_dir)?;
        components.insert(component.id.clone(), component);
    }
    Ok(components)
}

/// One component: a valid id, a local `source`, and templates (component variables
/// and templated outbound hosts) that only reference declared application variables.
fn parse_component(
    id: String,
    c: RawComponent,
    variables: &BTreeMap<String, VariableDecl>,
    base_dir: &Path,
) -> Result<Component> {
    check_component_id(&id)?;
    let source = match c.source {
        None => bail!("component '{id}': missing field `source`"),
        Some(toml::Value::String(s)) => base_dir.join(s),
        Some(_) => bail!(
            "component '{id}': only a local file `source` is supported by this host (URL and registry sources need `spin up`)"
        ),
    };
    for (name, template) in &c.variables {
        check_variable_name(name)?;
        for reference in crate::variables::template_references(template)
            .with_context(|| format!("component '{id}': variable '{name}'"))?
        {
            if !variables.contains_key(&reference) {
                bail!(
                    "component '{id}': variable '{name}' references undefined application variable '{reference}'"
                );
            }
        }
    }
    for host in c
        .allowed_outbound_hosts
        .iter()
        .filter(|h| crate::outbound::is_template(h))
    {
        for reference in crate::variables::template_references(host)
            .with_context(|| format!("component '{id}': allowed_outbound_hosts"))?
        {
            if !variables.contains_key(&reference) {
                bail!(
                    "component '{id}': allowed_outbound_hosts entry '{host}' references undefined application variable '{reference}'"
                );
            }
        }
    }
    Ok(Component {
        id,
        source,
        key_value_stores: c.key_value_stores,
        allowed_outbound_hosts: c.allowed_outbound_hosts,
        variables: c.variables,
        environment: c.environment,
        build: c.build,
    })
}

/// Sorts `[[trigger.<kind>]]` entries into HTTP and cron triggers, in manifest order.
/// Each entry's component is checked before its kind, as Spin does.
fn parse_triggers(
    raw: BTreeMap<String, Vec<toml::Table>>,
    components: &BTreeMap<String, Component>,
) -> Result<(Vec<HttpTrigger>, Vec<CronTrigger>)> {
    let mut http_triggers = Vec::new();
    let mut cron_triggers = Vec::new();
    for (kind, entries) in raw {
        for (index, entry) in entries.into_iter().enumerate() {
            let component = trigger_component(&kind, index, &entry, components)?;
            match kind.as_str() {
                "http" => http_triggers.push(http_trigger(index, &entry, component)?),
                "cron" => cron_triggers.push(cron_trigger(&entry, component)?),
                other => {
                    bail!("No built-in trigger named '{other}', and this host has no plugin for it")
                }
            }
        }
    }
    Ok((http_triggers, cron_triggers))
}

/// A `[[trigger.http]]` entry: a route pattern or `{ private = true }`, and an id
/// (generated as Spin does when absent).
fn http_trigger(index: usize, entry: &toml::Table, component: String) -> Result<HttpTrigger> {
    let route = match entry.get("route") {
        Some(toml::Value::String(r)) => Some(r.clone()),
        Some(toml::Value::Table(t)) => match t.get("private").and_then(toml::Value::as_bool) {
            Some(true) if t.len() == 1 => None,
            _ => bail!(
                "route must be a string pattern or '{{ private = true }}': '{component}' has {t}"
            ),
        },
        _ => bail!("http trigger for '{component}': missing field `route`"),
    };
    let id = entry
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| format!("http-trigger-{index}"));
    Ok(HttpTrigger {
        id,
        component,
        route,
    })
}

/// A `[[trigger.cron]]` entry with a cron expression that parses.
fn cron_trigger(entry: &toml::Table, component: String) -> Result<CronTrigger> {
    let cron_expression = entry
        .get("cron_expression")
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow!("cron trigger for '{component}': missing field `cron_expression`"))?
        .to_string();
    crate::cron::parse_expression(&cron_expression)
        .with_context(|| format!("cron trigger for '{component}': invalid cron_expression"))?;
    Ok(CronTrigger {
        component,
        cron_expression,
    })
}

fn trigger_component(
    kind: &str,
    index: usize,
    entry: &toml::Table,
    components: &BTreeMap<String, Component>,
) -> Result<String> {
    match entry.get("component") {
        Some(toml::Value::String(id)) => {
            if components.contains_key(id) {
                Ok(id.clone())
            } else {
                bail!("Trigger {kind}[{index}] references component '{id}' which does not exist")
            }
        }
        Some(_) => bail!(
            "Trigger {kind}[{index}]: inline components are not supported by this host; declare [component.<id>]"
        ),
        None => bail!("Trigger {kind}[{index}]: missing field `component`"),
    }
}

/// Spin's id rule: lower-case letters, digits, `-` and `_`, starting with a letter.
fn check_component_id(id: &str) -> Result<()> {
    let ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        bail!("invalid component id '{id}': use lower-case letters, digits, '-' and '_'")
    }
}

/// Spin's variable name rule: lower-case letters, digits and `_`, starting with a letter.
pub(crate) fn check_variable_name(name: &str) -> Result<()> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        bail!("invalid variable name '{name}': use lower-case letters, digits and '_'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
version = "1.2.3"
[variables]
token = { required = true, secret = true }
greeting = { default = "hi" }
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.http]]
route = { private = true }
component = "api"
[[trigger.cron]]
component = "api"
cron_expression = "0 * * * * *"
[component.api]
source = "target/api.wasm"
key_value_stores = ["default"]
[component.api.variables]
token = "{{ token }}"
line = "{{ greeting }}, world"
[component.api.build]
command = "cargo build"
"#;

    #[test]
    fn reads_triggers_components_and_variables() {
        let app = parse(MINIMAL, Path::new("/app")).expect("valid");
        assert_eq!(app.name, "demo");
        assert_eq!(app.version, "1.2.3");
        assert_eq!(app.http_triggers.len(), 2);
        assert_eq!(app.http_triggers[1].route, None);
        assert_eq!(app.cron_triggers.len(), 1);
        let api = &app.components["api"];
        assert_eq!(api.source, Path::new("/app/target/api.wasm"));
        assert_eq!(api.key_value_stores, ["default"]);
        assert!(app.variables["token"].required);
    }

    #[test]
    fn unknown_component_in_trigger_is_refused() {
        let text = MINIMAL.replace(
            "route = \"/api/...\"\ncomponent = \"api\"",
            "route = \"/x\"\ncomponent = \"nope\"",
        );
        let err = format!("{:#}", parse(&text, Path::new(".")).unwrap_err());
        assert!(
            err.contains("references component 'nope' which does not exist"),
            "{err}"
        );
    }

    #[test]
    fn missing_source_is_refused() {
        let text = MINIMAL.replace("source = \"target/api.wasm\"\n", "");
        let err = format!("{:#}", parse(&text, Path::new(".")).unwrap_err());
        assert!(err.contains("missing field `source`"), "{err}");
    }

    #[test]
    fn private_false_is_refused() {
        let text = MINIMAL.replace("{ private = true }", "{ private = false }");
        assert!(parse(&text, Path::new(".")).is_err());
    }

    #[test]
    fn undefined_template_reference_is_refused() {
        let text = MINIMAL.replace("{{ greeting }}", "{{ nothing }}");
        let err = format!("{:#}", parse(&text, Path::new(".")).unwrap_err());
        assert!(
            err.contains("undefined application variable 'nothing'"),
            "{err}"
        );
    }

    #[test]
    fn an_outbound_host_template_must_name_a_declared_variable() {
        let ok = MINIMAL.replace(
            "key_value_stores = [\"default\"]",
            "key_value_stores = [\"default\"]\nallowed_outbound_hosts = [\"{{ greeting }}\"]",
        );
        parse(&ok, Path::new(".")).expect("a declared variable");
        let bad = ok.replace("{{ greeting }}", "{{ base }}");
        let err = format!("{:#}", parse(&bad, Path::new(".")).unwrap_err());
        assert!(
            err.contains("undefined application variable 'base'"),
            "{err}"
        );
    }

    #[test]
    fn bad_cron_expression_is_refused() {
        let text = MINIMAL.replace("0 * * * * *", "every minute");
        assert!(parse(&text, Path::new(".")).is_err());
    }

    #[test]
    fn unknown_trigger_type_is_refused() {
        let text = MINIMAL.replace("[[trigger.cron]]", "[[trigger.redis]]");
        let err = format!("{:#}", parse(&text, Path::new(".")).unwrap_err());
        assert!(err.contains("No built-in trigger named 'redis'"), "{err}");
    }

    #[test]
    fn a_bare_manifest_name_resolves_to_the_current_directory() {
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            base_dir_of(Path::new("spin.toml")),
            cwd.canonicalize().expect("cwd")
        );
        assert_eq!(
            base_dir_of(Path::new("/srv/app/spin.toml")),
            Path::new("/srv/app")
        );
    }

    #[test]
    fn wrong_manifest_version_is_refused() {
        let text = MINIMAL.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        assert!(parse(&text, Path::new(".")).is_err());
    }
}
