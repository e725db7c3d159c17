//! Test support for this crate's tests and for tests elsewhere in the workspace:
//! a throwaway `redis-server` for the Redis key-value backend.
//!
//! Not part of the host's behaviour; it lives in the library (rather than behind a
//! cargo feature) so any test crate that depends on `opsflow-host` can use it as is.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at a free port (another process can take the one we picked before
/// `redis-server` binds it).
const PORT_ATTEMPTS: usize = 5;

/// A `redis-server` child process on a free loopback port, with no persistence
/// (`--save '' --appendonly no`); killed when dropped.
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts `redis-server` and waits until it answers `PING`.
    ///
    /// An error of kind [`std::io::ErrorKind::NotFound`] means `redis-server` is not
    /// on `PATH`; any other error means it is installed but did not come up.
    pub fn start() -> std::io::Result<Self> {
        let mut last = None;
        for _ in 0..PORT_ATTEMPTS {
            match Self::start_on(free_port()?) {
                Ok(server) => return Ok(server),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("redis-server did not start")))
    }

    /// [`RedisServer::start`] for tests: `None` (after printing
    /// "skipped: redis-server not installed") when `redis-server` is missing on a
    /// developer's machine; a panic when it is missing under `CI=true` (CI must run
    /// every test) or installed but failing to start.
    pub fn start_or_skip() -> Option<Self> {
        match Self::start() {
            Ok(server) => Some(server),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!(
                        "redis-server is not installed, and CI=true requires the Redis tests to run \
                         (.ci/run installs the Debian package redis-server)"
                    );
                }
                println!("skipped: redis-server not installed");
                None
            }
            Err(e) => panic!("redis-server is installed but did not start: {e}"),
        }
    }

    /// The port the server listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`, for a runtime config's `url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn start_on(port: u16) -> std::io::Result<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        // From here on, dropping `server` kills the child whatever goes wrong.
        let mut server = Self { child, port };
        server.wait_until_ready()?;
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> std::io::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "redis-server exited at start-up ({status}) on port {}",
                    self.port
                )));
            }
            if self.answers_ping() {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(std::io::Error::other(format!(
                    "redis-server did not answer PING on port {} within {READY_TIMEOUT:?}",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers_ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        client
            .get_connection_with_timeout(Duration::from_millis(500))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok_and(|reply| reply == "PONG")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
