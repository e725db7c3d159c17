//! The run history: each finished run's record, indexed in the sharded run index
//! ([`opsflow_store::runs`]; monitoring-api lists it); the daily maintenance pass
//! deletes runs older than [`opsflow_store::runs::RETENTION_DAYS`].

use std::collections::BTreeSet;

use opsflow_api::Problem;
use opsflow_store::Records;
use opsflow_store::keys::monitoring as keys;
pub(super) use opsflow_store::monitoring::RunRecord;
use opsflow_store::spin::SpinKv;

/// Stores a finished run and indexes it (one compare-and-swap on the index's last
/// shard, whatever the history's length). Idempotent: a run redone after a crash
/// between this and the schedule's finish finds its record already there.
pub(super) async fn save_run(kv: &SpinKv, record: &RunRecord) -> Result<(), Problem> {
    Records::new(kv)
        .create(&keys::run(&record.id), record)
        .await?;
    let id = BTreeSet::from([record.id.clone()]);
    opsflow_store::runs::index(kv).add_many(None, &id).await?;
    Ok(())
}
