//! Replicas on one store: several `opsflow-host` processes sharing one Redis server,
//! as SpinKube pods share a hosted key-value store, with requests spread over them.
//! Exactly-once ingest, one evaluation per tick, one execution per action, one
//! decision per review stage and one winner per transition must hold across
//! processes as they do within one — and survive a replica killed mid-load.
//!
//! Needs Debian's `redis-server` (`.ci/run` installs it); without it these tests
//! print why they are skipped, and fail under `CI=true`.

#[path = "../support/mod.rs"]
mod support;

// Shared with the monitoring and content tests; each binary uses part of them.
#[allow(dead_code)]
#[path = "../monitoring/builders.rs"]
mod builders;
#[allow(dead_code)]
#[path = "../content/builders.rs"]
mod content;
#[allow(dead_code)]
#[path = "../monitoring/receiver.rs"]
mod receiver;
#[path = "../platforms/sendgrid.rs"]
mod sendgrid;

mod cluster;

mod approvals;
mod crash;
mod evaluation;
mod ingest;
