//! The fallback to notifications: wakes a slot every poll interval (jobs whose retry time has
//! come notify nobody) and fails jobs whose worker vanished on their final attempt.

use std::sync::Arc;

use burgernet_core::db;
use tokio::time::{MissedTickBehavior, interval};

use crate::runner::RunnerState;

pub(crate) async fn run(state: Arc<RunnerState>) {
    let mut ticker = interval(state.config.poll_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        fail_abandoned_final_attempts(&state).await;
        // One slot per group is enough: a slot that finds work wakes the next.
        for group in &state.groups {
            group.wake.notify_one();
        }
    }
}

async fn fail_abandoned_final_attempts(state: &RunnerState) {
    let result = match state.pool.get().await {
        Ok(mut conn) => db::jobs::fail_expired_final_attempts(&mut conn).await.map_err(anyhow::Error::from),
        Err(error) => Err(error.into()),
    };
    match result {
        Ok(0) => {}
        Ok(count) => tracing::warn!(count, "failed jobs whose lease expired on the final attempt"),
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "could not sweep expired leases")
        }
    }
}
