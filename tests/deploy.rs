//! The SpinKube deployment (`deploy/spinkube`) runs what `spin up` runs.
//!
//! Every YAML document there is parsed (saphyr, YAML 1.2) and checked against the app
//! itself: spin.toml's variables, triggers and stores (toml), the runtime config the
//! SpinApp loads, the routes the cron scheduler posts to
//! (`components/scheduler/src/lib.rs`), the components' route tables and the domain's
//! maintenance minute. No cluster and no `.wasm` build: it reads files only.

#[path = "../components/process-analytics/src/routes.rs"]
mod analytics_routes;
#[path = "../components/campaign-intake/src/routes.rs"]
mod campaign_routes;
#[path = "../components/content-config/src/routes.rs"]
mod content_config_routes;
#[path = "../components/content-approval/src/routes.rs"]
mod content_routes;
#[path = "../components/threshold-check/src/routes.rs"]
mod evaluation_routes;
#[path = "../components/campaign-metrics/src/routes.rs"]
mod metrics_routes;
#[path = "../components/monitoring-api/src/routes.rs"]
mod monitoring_routes;
#[path = "../components/resource-planning/src/routes.rs"]
mod resource_routes;
#[path = "../components/trigger-dispatch/src/routes.rs"]
mod trigger_routes;
#[path = "../components/platform-webhooks/src/routes.rs"]
mod webhook_routes;

use base64::Engine as _;
use opsflow_api::{Access, Operation, Role, RouteDef, route};
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const DEPLOY_DIR: &str = "deploy/spinkube";
const SPINAPP_API_VERSION: &str = "core.spinkube.dev/v1alpha1";
/// The top-level `spec` fields of the SpinApp CRD (v1alpha1): anything else is a typo
/// the API server would drop or refuse.
const SPINAPP_SPEC_FIELDS: &[&str] = &[
    "checks",
    "components",
    "deploymentAnnotations",
    "enableAutoscaling",
    "executor",
    "image",
    "imagePullSecrets",
    "podAnnotations",
    "podLabels",
    "replicas",
    "resources",
    "runtimeConfig",
    "serviceAnnotations",
    "variables",
    "volumeMounts",
    "volumes",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = workspace().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// The Kubernetes objects under deploy/spinkube

/// One YAML document: a Kubernetes object and the file it came from.
struct Object {
    /// Path relative to the workspace, for messages.
    file: String,
    /// The document as JSON (what the API server sees after decoding).
    doc: Value,
}

impl Object {
    fn kind(&self) -> &str {
        self.doc["kind"].as_str().unwrap_or_default()
    }

    fn name(&self) -> &str {
        self.doc["metadata"]["name"].as_str().unwrap_or_default()
    }

    /// `spec` (or the whole object) as a typed view.
    fn parse<T: DeserializeOwned>(&self, pointer: &str) -> T {
        let part = self
            .doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{} {}: no {pointer}", self.file, self.name()));
        serde_json::from_value(part.clone())
            .unwrap_or_else(|e| panic!("{} {} {pointer}: {e}", self.file, self.name()))
    }
}

/// Every document of every `.yaml`/`.yml` file under deploy/spinkube, in file order.
fn objects() -> Vec<Object> {
    let mut files = Vec::new();
    collect_yaml(&workspace().join(DEPLOY_DIR), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no YAML under {DEPLOY_DIR}");
    let mut out = Vec::new();
    for path in files {
        let file = path
            .strip_prefix(workspace())
            .expect("under the workspace")
            .display()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("readable");
        let docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for (i, yaml) in docs.iter().enumerate() {
            let doc = to_json(yaml).unwrap_or_else(|e| panic!("{file} document {i}: {e}"));
            if !doc.is_null() {
                out.push(Object {
                    file: file.clone(),
                    doc,
                });
            }
        }
    }
    out
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// A YAML node as JSON: string keys only, no aliases (Kubernetes manifests need neither).
fn to_json(node: &Yaml) -> Result<Value, String> {
    Ok(match node {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => Value::from(*i),
        Yaml::Value(Scalar::FloatingPoint(f)) => Value::from(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Mapping(map) => {
            let mut object = serde_json::Map::new();
            for (key, value) in map {
                let Yaml::Value(Scalar::String(key)) = key else {
                    return Err(format!("a mapping key that is not a string: {key:?}"));
                };
                object.insert(key.to_string(), to_json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tag, inner) => return Err(format!("a tagged node ({tag:?}): {inner:?}")),
        other => return Err(format!("an alias or unparsable node: {other:?}")),
    })
}

/// The objects, looked up by kind and name.
struct Deploy(Vec<Object>);

impl Deploy {
    fn load() -> Self {
        Deploy(objects())
    }

    fn all(&self, kind: &str) -> Vec<&Object> {
        self.0.iter().filter(|o| o.kind() == kind).collect()
    }

    fn only(&self, kind: &str) -> &Object {
        let found = self.all(kind);
        assert_eq!(found.len(), 1, "exactly one {kind} under {DEPLOY_DIR}");
        found[0]
    }

    fn named(&self, kind: &str, name: &str) -> &Object {
        self.all(kind)
            .into_iter()
            .find(|o| o.name() == name)
            .unwrap_or_else(|| panic!("no {kind} named {name} under {DEPLOY_DIR}"))
    }

    /// A Secret's values, `data` (base64) and `stringData` together.
    fn secret(&self, name: &str) -> BTreeMap<String, String> {
        secret_values(self.named("Secret", name))
    }
}

fn secret_values(secret: &Object) -> BTreeMap<String, String> {
    let typed: SecretObject = secret.parse("");
    let mut values = typed.string_data;
    for (key, encoded) in typed.data {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .unwrap_or_else(|e| panic!("{} {} data.{key}: {e}", secret.file, secret.name()));
        let text = String::from_utf8(bytes).expect("UTF-8 secret value");
        assert!(
            values.insert(key.clone(), text).is_none(),
            "{} {}: {key} in both data and stringData",
            secret.file,
            secret.name()
        );
    }
    values
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretObject {
    #[serde(default)]
    data: BTreeMap<String, String>,
    #[serde(default)]
    string_data: BTreeMap<String, String>,
}

/// The SpinApp `spec` fields these checks read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpinAppSpec {
    image: String,
    executor: String,
    replicas: Option<u32>,
    enable_autoscaling: Option<bool>,
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    runtime_config: RuntimeConfigRef,
    #[serde(default)]
    variables: Vec<SpinVar>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RuntimeConfigRef {
    load_from_secret: Option<String>,
    #[serde(default)]
    key_value_stores: Vec<Value>,
    #[serde(default)]
    sqlite_databases: Vec<Value>,
    llm_compute: Option<Value>,
}

/// A SpinApp variable or a container's env entry: a plain value or a reference.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpinVar {
    name: String,
    value: Option<String>,
    value_from: Option<ValueFrom>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValueFrom {
    secret_key_ref: Option<KeyRef>,
}

#[derive(Deserialize, Debug, Clone, PartialEq)]
struct KeyRef {
    name: String,
    key: String,
    #[serde(default)]
    optional: Option<bool>,
}

impl SpinVar {
    fn secret_ref(&self) -> Option<&KeyRef> {
        self.value_from.as_ref()?.secret_key_ref.as_ref()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CronJobSpec {
    schedule: String,
    time_zone: Option<String>,
    concurrency_policy: Option<String>,
    job_template: JobTemplate,
}

#[derive(Deserialize)]
struct JobTemplate {
    spec: JobSpec,
}

#[derive(Deserialize)]
struct JobSpec {
    template: PodTemplate,
}

#[derive(Deserialize)]
struct PodTemplate {
    spec: PodSpec,
}

#[derive(Deserialize)]
struct PodSpec {
    containers: Vec<Container>,
    #[serde(default)]
    volumes: Vec<Volume>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default)]
    command: Vec<String>,
    #[serde(default)]
    env: Vec<SpinVar>,
    #[serde(default)]
    volume_mounts: Vec<VolumeMount>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: String,
    config_map: Option<NameRef>,
}

#[derive(Deserialize)]
struct NameRef {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: String,
    mount_path: String,
}

// ---------------------------------------------------------------------------------------
// The app: spin.toml, the scheduler's targets, the components' route tables

#[derive(Deserialize)]
struct Manifest {
    variables: BTreeMap<String, ManifestVariable>,
    trigger: Triggers,
    component: BTreeMap<String, ManifestComponent>,
}

#[derive(Deserialize)]
struct ManifestVariable {
    default: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    secret: bool,
}

#[derive(Deserialize)]
struct Triggers {
    #[serde(default)]
    http: Vec<HttpTrigger>,
    #[serde(default)]
    cron: Vec<CronTrigger>,
}

#[derive(Deserialize)]
struct HttpTrigger {
    route: String,
    component: String,
}

#[derive(Deserialize)]
struct CronTrigger {
    component: String,
    cron_expression: String,
}

#[derive(Deserialize)]
struct ManifestComponent {
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
}

fn manifest() -> Manifest {
    toml::from_str(&read("spin.toml")).expect("spin.toml parses")
}

impl Manifest {
    /// The components with an HTTP trigger, which SpinKube's shim runs.
    fn http_components(&self) -> BTreeSet<String> {
        self.trigger
            .http
            .iter()
            .map(|t| t.component.clone())
            .collect()
    }

    /// The application variables a component's config reads (`{{ name }}` templates).
    fn variables_read_by(&self, component: &str) -> BTreeSet<String> {
        let c = &self.component[component];
        c.variables
            .values()
            .chain(&c.allowed_outbound_hosts)
            .flat_map(|text| template_names(text))
            .collect()
    }

    /// The component Spin routes `path` to: an exact route beats a wildcard, a longer
    /// wildcard prefix beats a shorter one (Spin's specificity order).
    fn route(&self, path: &str) -> Option<&HttpTrigger> {
        self.trigger
            .http
            .iter()
            .filter_map(|t| match t.route.strip_suffix("/...") {
                Some(prefix) => (path == prefix || path.starts_with(&format!("{prefix}/")))
                    .then_some((prefix.len(), t)),
                None => (path == t.route).then_some((usize::MAX, t)),
            })
            .max_by_key(|(rank, _)| *rank)
            .map(|(_, t)| t)
    }
}

fn template_names(text: &str) -> Vec<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .map(|(name, _)| name.trim().to_string())
        .collect()
}

/// The string literals of a `const NAME ... ;` item in the scheduler's source.
fn scheduler_const(name: &str) -> Vec<String> {
    let source = read("components/scheduler/src/lib.rs");
    let start = source
        .find(&format!("const {name}"))
        .unwrap_or_else(|| panic!("the scheduler has no const {name}"));
    // From the `=` on: the type may hold a `;` (`[&str; 2]`), the value holds none.
    let value = start + source[start..].find('=').expect("const has a value");
    let item = &source[value..value + source[value..].find(';').expect("const ends")];
    let literals: Vec<String> = item
        .split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(!literals.is_empty(), "const {name} holds no path");
    literals
}

/// Who may call `POST path` in a component's route table, if it has that route.
fn post_access(component: &str, path: &str) -> Option<Access> {
    fn find<Op: Operation>(table: &[RouteDef<Op>], path: &str) -> Option<Access> {
        route::find(table, "POST", path)
            .ok()
            .map(|(op, _)| op.access())
    }
    match component {
        "campaign-intake" => find(campaign_routes::ROUTES, path),
        "platform-webhooks" => find(webhook_routes::ROUTES, path),
        "resource-planning" => find(resource_routes::ROUTES, path),
        "campaign-metrics" => find(metrics_routes::ROUTES, path),
        "content-config" => find(content_config_routes::ROUTES, path),
        "content-approval" => find(content_routes::ROUTES, path),
        "threshold-check" => find(evaluation_routes::ROUTES, path),
        "monitoring-api" => find(monitoring_routes::ROUTES, path),
        "process-analytics" => find(analytics_routes::ROUTES, path),
        "trigger-dispatch" => find(trigger_routes::ROUTES, path),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// The checks

#[test]
fn every_yaml_document_is_a_named_object_left_to_the_namespace_it_is_applied_to() {
    let deploy = Deploy::load();
    let mut seen = BTreeSet::new();
    for o in &deploy.0 {
        assert!(
            o.doc["apiVersion"].is_string() && !o.kind().is_empty() && !o.name().is_empty(),
            "{}: every document needs apiVersion, kind and metadata.name",
            o.file
        );
        assert!(
            seen.insert((o.kind().to_string(), o.name().to_string())),
            "{}: a second {} named {}",
            o.file,
            o.kind(),
            o.name()
        );
        // `kubectl apply -n` decides; the CronJobs reach the app's Service by its short name.
        assert!(
            o.doc["metadata"].get("namespace").is_none(),
            "{} {}: no hard-coded namespace",
            o.file,
            o.name()
        );
    }
}

#[test]
fn the_spinapp_runs_only_the_http_components_on_the_shim_with_several_replicas() {
    let deploy = Deploy::load();
    let app = deploy.only("SpinApp");
    assert_eq!(app.doc["apiVersion"], SPINAPP_API_VERSION, "{}", app.file);

    let fields: Vec<&String> = app.doc["spec"]
        .as_object()
        .expect("spec is a mapping")
        .keys()
        .collect();
    for field in fields {
        assert!(
            SPINAPP_SPEC_FIELDS.contains(&field.as_str()),
            "{}: spec.{field} is not a SpinApp field",
            app.file
        );
    }

    let spec: SpinAppSpec = app.parse("/spec");
    assert_eq!(spec.executor, "containerd-shim-spin");
    assert!(
        spec.image
            .rsplit('/')
            .next()
            .is_some_and(|n| n.contains(':')),
        "the image names a tag or digest: {}",
        spec.image
    );
    assert_ne!(
        spec.enable_autoscaling,
        Some(true),
        "replicas cannot be set with enableAutoscaling"
    );
    assert!(
        spec.replicas.is_some_and(|r| r > 1),
        "scale-out: replicas > 1, got {:?}",
        spec.replicas
    );

    let m = manifest();
    let listed: BTreeSet<String> = spec.components.iter().cloned().collect();
    assert_eq!(
        listed.len(),
        spec.components.len(),
        "a component listed twice"
    );
    assert_eq!(
        listed,
        m.http_components(),
        "components: exactly spin.toml's HTTP-triggered components"
    );
    for cron in &m.trigger.cron {
        assert!(
            !listed.contains(&cron.component),
            "{}: the shim runs no cron trigger and refuses an app that keeps one",
            cron.component
        );
    }
}

#[test]
fn every_variable_the_spinapp_sets_is_declared_and_every_secret_one_comes_from_a_secret() {
    let deploy = Deploy::load();
    let app = deploy.only("SpinApp");
    let spec: SpinAppSpec = app.parse("/spec");
    let m = manifest();

    let deployed_reads: BTreeSet<String> = spec
        .components
        .iter()
        .flat_map(|c| m.variables_read_by(c))
        .collect();
    let mut set = BTreeSet::new();
    for var in &spec.variables {
        let declared = m.variables.get(&var.name).unwrap_or_else(|| {
            panic!(
                "{}: variable {} is not in spin.toml [variables]",
                app.file, var.name
            )
        });
        assert!(
            set.insert(var.name.clone()),
            "variable {} set twice",
            var.name
        );
        assert!(
            deployed_reads.contains(&var.name),
            "variable {} is read by no deployed component",
            var.name
        );
        assert!(
            var.value.is_some() != var.value_from.is_some(),
            "variable {}: a value or a valueFrom, not both, not neither",
            var.name
        );
        if declared.secret {
            assert!(
                var.value.is_none(),
                "variable {} is secret = true: never a plain value",
                var.name
            );
        }
        if let Some(from) = &var.value_from {
            let r = from
                .secret_key_ref
                .as_ref()
                .unwrap_or_else(|| panic!("variable {}: valueFrom is a secretKeyRef", var.name));
            assert_ne!(
                r.optional,
                Some(true),
                "variable {}: a missing Secret must stop the pod, not blank the variable",
                var.name
            );
            let values = deploy.secret(&r.name);
            assert!(
                values.contains_key(&r.key),
                "variable {}: Secret {} has no key {}",
                var.name,
                r.name,
                r.key
            );
        }
    }

    for (name, declared) in &m.variables {
        if declared.required || declared.default.is_none() {
            assert!(
                set.contains(name),
                "{name} has no default in spin.toml: the SpinApp must set it"
            );
        }
        if declared.secret && deployed_reads.contains(name) {
            assert!(
                set.contains(name),
                "{name} is a secret a deployed component reads: set it from the Secret"
            );
        }
    }
}

#[test]
fn the_runtime_config_secret_gives_every_replica_the_same_redis_store() {
    let deploy = Deploy::load();
    let app = deploy.only("SpinApp");
    let spec: SpinAppSpec = app.parse("/spec");
    let rc = &spec.runtime_config;
    let secret_name = rc
        .load_from_secret
        .as_deref()
        .expect("runtimeConfig.loadFromSecret");
    assert!(
        rc.key_value_stores.is_empty()
            && rc.sqlite_databases.is_empty()
            && rc.llm_compute.is_none(),
        "loadFromSecret makes the operator ignore every other runtimeConfig field"
    );

    let values = deploy.secret(secret_name);
    assert_eq!(
        values.keys().collect::<Vec<_>>(),
        ["runtime-config.toml"],
        "Secret {secret_name}: the one key the operator mounts"
    );
    let config: toml::Table =
        toml::from_str(&values["runtime-config.toml"]).expect("runtime-config.toml parses");
    let stores = config
        .get("key_value_store")
        .and_then(toml::Value::as_table)
        .expect("[key_value_store.*]");

    let m = manifest();
    let labels: BTreeSet<&String> = spec
        .components
        .iter()
        .flat_map(|c| &m.component[c].key_value_stores)
        .collect();
    assert!(!labels.is_empty(), "the deployed components use a store");
    for label in labels {
        let store = stores
            .get(label.as_str())
            .and_then(toml::Value::as_table)
            .unwrap_or_else(|| panic!("[key_value_store.{label}] is configured"));
        assert_eq!(
            store.get("type").and_then(toml::Value::as_str),
            Some("redis"),
            "store {label}: shared by every replica, so not the local SQLite default"
        );
        let url = store
            .get("url")
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        assert!(
            url.starts_with("redis://") || url.starts_with("rediss://"),
            "store {label}: a redis:// (or TLS rediss://) url, got {url:?}"
        );
    }
}

#[test]
fn committed_secrets_hold_placeholders_never_real_values() {
    let deploy = Deploy::load();
    for secret in deploy.all("Secret") {
        for (key, value) in secret_values(secret) {
            assert!(
                value.is_empty() || value.contains("REPLACE_"),
                "{} {}: {key} must be empty or a REPLACE_ placeholder",
                secret.file,
                secret.name()
            );
        }
    }

    // The api_tokens placeholder shows the real shape, the scheduler's operations
    // principal included.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Principal {
        sub: String,
        roles: Vec<Role>,
    }
    let app = deploy.only("SpinApp");
    let spec: SpinAppSpec = app.parse("/spec");
    let r = spec
        .variables
        .iter()
        .find(|v| v.name == "api_tokens")
        .and_then(SpinVar::secret_ref)
        .expect("api_tokens from a Secret");
    let tokens: BTreeMap<String, Principal> =
        serde_json::from_str(&deploy.secret(&r.name)[&r.key]).expect("api_tokens is JSON");
    assert!(
        tokens
            .values()
            .any(|p| p.sub == "system:scheduler" && p.roles == [Role::Operations]),
        "api_tokens maps the scheduler token to an operations principal"
    );
}

/// A CronJob resolved: its spec, its one container's env and the script it runs.
struct Tick {
    /// File and name, for messages.
    what: String,
    spec: CronJobSpec,
    env: Vec<SpinVar>,
    /// The mounted ConfigMap file the container's command runs.
    script: String,
}

impl Tick {
    fn env(&self, name: &str) -> &SpinVar {
        self.env
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{}: env {name}", self.what))
    }

    fn value(&self, name: &str) -> &str {
        self.env(name)
            .value
            .as_deref()
            .unwrap_or_else(|| panic!("{}: env {name} has a value", self.what))
    }

    fn routes(&self) -> Vec<String> {
        self.value("ROUTES")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

fn ticks(deploy: &Deploy) -> Vec<Tick> {
    let jobs = deploy.all("CronJob");
    assert!(!jobs.is_empty(), "the schedule's CronJobs");
    jobs.into_iter()
        .map(|job| {
            let what = format!("{} CronJob {}", job.file, job.name());
            let mut spec: CronJobSpec = job.parse("/spec");
            let pod = &mut spec.job_template.spec.template.spec;
            let [container] = pod.containers.as_mut_slice() else {
                panic!("{what}: one container");
            };
            let script = mounted_script(deploy, &pod.volumes, container)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let env = std::mem::take(&mut container.env);
            Tick {
                what,
                spec,
                env,
                script,
            }
        })
        .collect()
}

/// The ConfigMap file behind the container's command (`/bin/sh /dir/file`).
fn mounted_script(
    deploy: &Deploy,
    volumes: &[Volume],
    container: &Container,
) -> Result<String, String> {
    let path = container.command.last().ok_or("no command")?;
    let (dir, file) = path.rsplit_once('/').ok_or("the script path is absolute")?;
    let mount = container
        .volume_mounts
        .iter()
        .find(|v| v.mount_path.trim_end_matches('/') == dir)
        .ok_or_else(|| format!("{path} is on no mounted volume"))?;
    let map = volumes
        .iter()
        .find(|v| v.name == mount.name)
        .and_then(|v| v.config_map.as_ref())
        .ok_or_else(|| format!("volume {} is not a ConfigMap", mount.name))?;
    deploy.named("ConfigMap", &map.name).doc["data"][file]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("ConfigMap {} has no {file}", map.name))
}

#[test]
fn the_cronjobs_call_every_route_the_scheduler_calls_on_its_schedule() {
    let m = manifest();
    let targets = scheduler_const("TARGETS");
    let cleanup = scheduler_const("CLEANUP");
    let [cron] = m.trigger.cron.as_slice() else {
        panic!("spin.toml has one cron trigger, the scheduler's");
    };
    let every_tick = cron
        .cron_expression
        .strip_prefix("0 ")
        .expect("the scheduler's cron fires at second 0");

    let mut covered = Vec::new();
    for tick in ticks(&Deploy::load()) {
        let (what, routes, schedule) = (&tick.what, tick.routes(), &tick.spec.schedule);
        if routes == targets {
            // Every minute, evaluation then dispatch, as each cron tick.
            assert_eq!(
                schedule, every_tick,
                "{what}: the scheduler's cron, without its seconds"
            );
        } else if routes == cleanup {
            // Once a day, at the minute the scheduler adds the cleanup.
            let fields: Vec<&str> = schedule.split_whitespace().collect();
            let [minute, hour, "*", "*", "*"] = fields.as_slice() else {
                panic!("{what}: a daily schedule, got {schedule}");
            };
            let at = hour.parse::<u64>().expect("hour") * 3600
                + minute.parse::<u64>().expect("minute") * 60;
            assert!(
                opsflow_domain::monitoring::cadence::is_maintenance_tick(at),
                "{what}: {schedule} is not the scheduler's maintenance tick"
            );
        } else {
            panic!("{what}: ROUTES {routes:?} are neither {targets:?} nor {cleanup:?}");
        }
        covered.extend(routes);
    }
    let mut expected: Vec<String> = targets.into_iter().chain(cleanup).collect();
    expected.sort();
    covered.sort();
    assert_eq!(
        covered, expected,
        "every route the scheduler calls, each by one CronJob"
    );
}

#[test]
fn cronjobs_run_one_tick_at_a_time_in_utc() {
    for tick in ticks(&Deploy::load()) {
        let spec = &tick.spec;
        assert_eq!(
            spec.concurrency_policy.as_deref(),
            Some("Forbid"),
            "{}",
            tick.what
        );
        assert!(
            matches!(spec.time_zone.as_deref(), Some("Etc/UTC" | "UTC")),
            "{}: scheduled in UTC, as the scheduler's ticks are",
            tick.what
        );
    }
}

#[test]
fn cronjobs_post_the_tick_with_the_scheduler_token_to_the_apps_service() {
    let deploy = Deploy::load();
    let app = deploy.only("SpinApp");
    let spec: SpinAppSpec = app.parse("/spec");
    let token_ref = spec
        .variables
        .iter()
        .find(|v| v.name == "scheduler_token")
        .and_then(SpinVar::secret_ref)
        .expect("the SpinApp sets scheduler_token from a Secret");

    for tick in ticks(&deploy) {
        let what = &tick.what;
        // The bearer: the very Secret key the app's scheduler_token comes from.
        let token = tick.env("SCHEDULER_TOKEN");
        assert!(
            token.value.is_none(),
            "{what}: the token is never a plain value"
        );
        assert_eq!(
            token.secret_ref(),
            Some(token_ref),
            "{what}: the token's Secret key"
        );

        // Where: the Service the operator names after the SpinApp, port 80.
        let base = tick.value("BASE_URL");
        let host = base
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("{what}: BASE_URL {base} is in-cluster http"));
        let (host, port) = host.split_once(':').unwrap_or((host, "80"));
        assert_eq!(
            host.split('.').next(),
            Some(app.name()),
            "{what}: the SpinApp's Service"
        );
        assert_eq!(port, "80", "{what}: the Service's port");

        // How: POST {"now": <tick>} with the bearer to each route, as the scheduler does.
        for needle in [
            "for route in $ROUTES",
            "-X POST",
            "Authorization: Bearer $SCHEDULER_TOKEN",
            "content-type: application/json",
            r#"{\"now\": $now}"#,
            "$BASE_URL$route",
            "409",
        ] {
            assert!(
                tick.script.contains(needle),
                "{what}: the script lacks {needle:?}"
            );
        }
    }
}

#[test]
fn every_cronjob_route_is_a_post_the_deployed_app_serves_to_operations() {
    let deploy = Deploy::load();
    let spec: SpinAppSpec = deploy.only("SpinApp").parse("/spec");
    let m = manifest();
    for tick in ticks(&deploy) {
        for path in tick.routes() {
            let what = format!("{}: POST {path}", tick.what);
            let served = m
                .route(&path)
                .filter(|t| t.route != "/...")
                .unwrap_or_else(|| panic!("{what}: no spin.toml route but the catch-all"));
            assert!(
                spec.components.contains(&served.component),
                "{what}: goes to {}, which is not deployed",
                served.component
            );
            let access = post_access(&served.component, &path)
                .unwrap_or_else(|| panic!("{what}: not in {}'s route table", served.component));
            assert!(
                matches!(access, Access::Roles(roles) if roles.contains(&Role::Operations)),
                "{what}: open to the scheduler's operations principal"
            );
        }
    }
}
