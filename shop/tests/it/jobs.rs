//! Cluster-wide periodic jobs: however many nodes tick at once, one of them takes a job's
//! lease per period, and a node that dies leaves the next period to another.

use crate::common::NOW;
use shop::clock::{Clock, ManualClock};
use shop::db::scratch::ScratchDb;
use shop::jobs::Jobs;
use std::sync::Arc;

const PERIOD: i64 = 60_000;

async fn tick(nodes: &[Jobs], job: &'static str) -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    for node in nodes {
        let node = node.clone();
        set.spawn(async move {
            let took = node.take(job, PERIOD).await.unwrap();
            took.then(|| node.holder().to_owned())
        });
    }
    let mut takers = Vec::new();
    while let Some(took) = set.join_next().await {
        takers.extend(took.unwrap());
    }
    takers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_node_per_period_runs_a_job_however_many_tick() {
    let scratch = ScratchDb::new().await.unwrap();
    let clock = ManualClock::starting_at(NOW);
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let nodes: Vec<Jobs> = (0..8)
        .map(|i| Jobs::new(scratch.db.clone(), shared.clone(), format!("node-{i}")))
        .collect();
    for _ in 0..6 {
        let takers = tick(&nodes, "recommendations").await;
        assert_eq!(takers.len(), 1, "{takers:?}");
        // Within the period nobody else runs it, however often they tick.
        clock.advance(PERIOD / 2);
        assert!(tick(&nodes, "recommendations").await.is_empty());
        clock.advance(PERIOD / 2);
    }
    let (_, until, runs) = nodes[0].lease("recommendations").await.unwrap().unwrap();
    assert_eq!(runs, 6);
    assert_eq!(until, NOW + 5 * PERIOD + PERIOD);
    // Another job has a lease of its own.
    assert_eq!(tick(&nodes, "sweeps").await.len(), 1);
    // A holder that died: once its lease runs out, a node that is alive takes the job.
    let survivors = &nodes[1..];
    clock.advance(PERIOD);
    assert_eq!(tick(survivors, "recommendations").await.len(), 1);
}
