//! Decisions raced across replicas: one review decision per stage, one winner per
//! campaign transition, and an index that agrees with the records.

use crate::cluster::{Cluster, on_each};
use crate::content::{self, act, approve, email};
use crate::support::{BREE, MIA, OLGA, VIC};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn twenty_approvals_of_one_stage_across_replicas_make_exactly_one_decision() {
    let Some(cluster) = Cluster::start("rep-approve", 3).await else {
        return;
    };
    one_decision_from_twenty_approvals(&cluster).await;
}

/// Spin 4.1's Redis store says every swap failed and refuses batch reads: the
/// races still have one winner, told apart by write tokens.
#[tokio::test(flavor = "multi_thread")]
async fn on_stores_behaving_as_spin_41s_redis_the_races_still_have_one_winner() {
    if crate::support::runtime().is_some() {
        println!("skipped under OPSFLOW_TEST_RUNTIME: needs opsflow-host's fault switches");
        return;
    }
    let Some(cluster) = Cluster::start_as_spin_41("rep-spin41", 3).await else {
        return;
    };
    one_decision_from_twenty_approvals(&cluster).await;
    one_winner_per_transition(&cluster, 1).await;
}

async fn one_decision_from_twenty_approvals(cluster: &Cluster) {
    let app = cluster.replica(0);
    let campaign = content::campaign(app, &["email"]).await;
    let (id, _) = content::create(app, MIA, email(&campaign)).await;
    let submitted = act(cluster.replica(1), MIA, &id, "submit", json!({})).await;
    assert_eq!(submitted.status, 200, "{}", submitted.body);

    let replies = on_each(cluster, 20, |app, _| approve(app, BREE, &id)).await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(won, 1, "{replies:?}");
    assert!(
        replies.iter().all(|r| r.status < 500),
        "the losers are told why, not failed: {replies:?}"
    );
    let item = content::get(cluster.replica(2), &id).await;
    let decisions = item["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 1, "{item}");
    let decided = content::actions(cluster.replica(1), &id)
        .await
        .into_iter()
        .filter(|(_, action)| action == "content.decided")
        .count();
    assert_eq!(decided, 1, "one decision audited");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_transitions_across_replicas_have_one_winner_and_the_index_agrees() {
    let Some(cluster) = Cluster::start("rep-transition", 3).await else {
        return;
    };
    one_winner_per_transition(&cluster, 3).await;
}

/// `rounds` campaigns, each raced by 12 transitions spread over the replicas.
async fn one_winner_per_transition(cluster: &Cluster, rounds: usize) {
    for round in 0..rounds {
        let app = cluster.replica(round);
        let campaign = content::campaign(app, &["email"]).await;
        let path = format!("/api/campaigns/{campaign}/transitions");
        let replies = on_each(cluster, 12, |app, i| {
            // Production's gate may refuse (no resources planned); cancelling never does.
            let to = if i % 2 == 0 {
                "cancelled"
            } else {
                "production"
            };
            let path = path.clone();
            async move { app.post(&path, OLGA, json!({"target": to})).await }
        })
        .await;
        let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: {replies:?}");
        let stage = winners[0].json()["campaign"]["stage"]
            .as_str()
            .expect("stage")
            .to_string();
        for replica in cluster.replicas() {
            let now = replica
                .get(&format!("/api/campaigns/{campaign}"), VIC)
                .await
                .json();
            assert_eq!(now["stage"], stage.as_str(), "{now}");
            for listed_stage in ["planning", "cancelled", "production"] {
                let listed = replica
                    .get(&format!("/api/campaigns?stage={listed_stage}"), VIC)
                    .await
                    .json();
                let here = listed["items"]
                    .as_array()
                    .expect("items")
                    .iter()
                    .filter(|c| c["id"] == campaign.as_str())
                    .count();
                assert_eq!(
                    here,
                    usize::from(listed_stage == stage),
                    "{listed_stage}: {listed}"
                );
            }
        }
    }
}
