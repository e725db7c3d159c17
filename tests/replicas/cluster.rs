//! A cluster: one `redis-server` and `n` opsflow-host processes on it, each with its
//! own port and state directory and only the HTTP components (the scheduler's cron
//! ticks are what these tests post themselves, as a Kubernetes CronJob does).

use crate::sendgrid;
use crate::support::{self, App, Reply, now_secs};
use opsflow_host::testing::RedisServer;
use serde_json::Value;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// The HTTP components of spin.toml: what a SpinKube SpinApp runs.
const HTTP_COMPONENTS: [&str; 11] = [
    "campaign-intake",
    "campaign-metrics",
    "resource-planning",
    "platform-webhooks",
    "content-approval",
    "content-config",
    "threshold-check",
    "monitoring-api",
    "process-analytics",
    "trigger-dispatch",
    "dashboard",
];

pub struct Cluster {
    // Dropped last: the replicas end before their store does.
    replicas: Vec<Option<App>>,
    options: Vec<opsflow_host::UpOptions>,
    _redis: RedisServer,
}

impl Cluster {
    /// `n` replicas on a fresh Redis server, or `None` (with the reason printed)
    /// where `redis-server` is not installed outside CI.
    pub async fn start(name: &str, n: usize) -> Option<Self> {
        Self::start_with(name, n, &[]).await
    }

    /// Like [`Cluster::start`], every replica's store behaving as Spin 4.1's Redis
    /// store does: each swap reported failed (written or not), each batch read
    /// refused. Only `opsflow-host` has these switches (`OPSFLOW_HOST_FAULTS`).
    pub async fn start_as_spin_41(name: &str, n: usize) -> Option<Self> {
        Self::launch(
            name,
            n,
            &[],
            Some("kv_swap_reports_failure=1,kv_get_many_fails=1"),
        )
        .await
    }

    /// Like [`Cluster::start`] with extra application variables.
    pub async fn start_with(name: &str, n: usize, vars: &[(&str, &str)]) -> Option<Self> {
        Self::launch(name, n, vars, None).await
    }

    async fn launch(
        name: &str,
        n: usize,
        vars: &[(&str, &str)],
        host_faults: Option<&str>,
    ) -> Option<Self> {
        let redis = RedisServer::start_or_skip()?;
        let state = support::state_dir(name);
        std::fs::create_dir_all(&state).expect("state dir");
        let runtime_config = state.join("runtime-config.toml");
        std::fs::write(
            &runtime_config,
            format!(
                "[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n",
                redis.url()
            ),
        )
        .expect("runtime config");
        let key = sendgrid::key(1).1;
        let mut all_vars: Vec<(&str, &str)> = vec![("sendgrid_verification_key", &key)];
        all_vars.extend_from_slice(vars);
        let mut options = Vec::new();
        for i in 0..n {
            let mut opts = support::options(&state.join(format!("replica-{i}")), &all_vars);
            opts.runtime_config = Some(runtime_config.clone());
            opts.component_ids = HTTP_COMPONENTS.iter().map(|c| c.to_string()).collect();
            if let (Some(faults), Some(env)) = (host_faults, opts.env_vars.as_mut()) {
                env.insert("OPSFLOW_HOST_FAULTS".into(), faults.into());
            }
            options.push(opts);
        }
        let mut replicas = Vec::new();
        for opts in &options {
            replicas.push(Some(support::external::spawn(opts.clone()).await));
        }
        Some(Self {
            replicas,
            options,
            _redis: redis,
        })
    }

    /// Replica `i` (modulo the cluster size).
    pub fn replica(&self, i: usize) -> &App {
        self.replicas[i % self.replicas.len()]
            .as_ref()
            .expect("the replica is running")
    }

    /// Every running replica.
    pub fn replicas(&self) -> impl Iterator<Item = &App> {
        self.replicas.iter().flatten()
    }

    /// Kills replica `i` with SIGKILL: no shutdown, no flushing.
    pub fn kill(&mut self, i: usize) {
        if let Some(app) = self.replicas[i].take() {
            app.kill();
        }
    }

    /// Starts replica `i` again on its state directory and port.
    pub async fn restart(&mut self, i: usize) {
        self.kill(i);
        self.replicas[i] = Some(support::external::spawn(self.options[i].clone()).await);
    }

    /// Owned handles on every replica, for tasks that outlive a borrow.
    pub fn clients(&self) -> Arc<Vec<Target>> {
        Arc::new(
            self.replicas()
                .map(|app| Target {
                    base: app.url(""),
                    client: app.client.clone(),
                })
                .collect(),
        )
    }

    /// Sends every body as a SendGrid delivery, `concurrency` at a time, spread
    /// round-robin over the replicas, each through `send`.
    pub async fn send_all<F, Fut>(&self, bodies: Vec<Vec<u8>>, concurrency: usize, send: F)
    where
        F: Fn(Arc<Vec<Target>>, usize, Vec<u8>) -> Fut + Send + Sync + Copy + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let queue = Arc::new(Mutex::new(
            bodies.into_iter().enumerate().collect::<Vec<_>>(),
        ));
        let targets = self.clients();
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (queue, targets) = (queue.clone(), targets.clone());
                tokio::spawn(async move {
                    loop {
                        let next = queue.lock().expect("queue").pop();
                        let Some((i, body)) = next else { break };
                        send(targets.clone(), i, body).await;
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.expect("sender");
        }
    }
}

/// A replica's address and a client, owned.
#[derive(Clone)]
pub struct Target {
    base: String,
    client: reqwest::Client,
}

impl Target {
    /// Posts a signed SendGrid batch; the status, or `None` when no answer came.
    pub async fn post_sendgrid(&self, body: Vec<u8>) -> Option<u16> {
        let headers = sendgrid::headers(&sendgrid::key(1).0, &now_secs().to_string(), &body);
        let mut req = self
            .client
            .post(format!("{}/webhooks/sendgrid", self.base))
            .body(body);
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        req.send().await.ok().map(|r| r.status().as_u16())
    }
}

/// Delivers batch `i` to replica `i mod n`, redelivering (as SendGrid does) until
/// it is acknowledged; a delivery is acknowledged only once stored.
pub async fn post_until_stored(targets: Arc<Vec<Target>>, i: usize, body: Vec<u8>) {
    for attempt in 0..20 {
        let target = &targets[(i + attempt) % targets.len()];
        match target.post_sendgrid(body.clone()).await {
            Some(200) => return,
            Some(s) if s < 500 => panic!("batch {i} refused with {s}"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("batch {i} never stored");
}

/// `f` on every replica at once.
pub async fn on_every<'a, F, Fut>(cluster: &'a Cluster, f: F) -> Vec<Reply>
where
    F: Fn(&'a App) -> Fut,
    Fut: Future<Output = Reply>,
{
    futures::future::join_all(cluster.replicas().map(f)).await
}

/// `n` calls of `f` at once, spread round-robin over the replicas.
pub async fn on_each<'a, F, Fut>(cluster: &'a Cluster, n: usize, f: F) -> Vec<Reply>
where
    F: Fn(&'a App, usize) -> Fut,
    Fut: Future<Output = Reply>,
{
    futures::future::join_all((0..n).map(|i| f(cluster.replica(i), i))).await
}

/// A campaign's metric totals over the last two days.
pub async fn totals(app: &App, campaign: &str, now: i64) -> Value {
    let path = format!(
        "/api/campaigns/{campaign}/metrics?from={}&to={}",
        now - 2 * 86_400,
        now + 86_400
    );
    let r = app.get(&path, support::OLGA).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["totals"].clone()
}
