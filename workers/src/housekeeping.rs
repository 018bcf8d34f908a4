//! Deletes what has outlived its purpose: live positions past their expiry (there must be no
//! stale positions lying around, let alone a history), expired sign-in codes and e-mail links,
//! old rate-limit counters and long-expired refresh tokens. Every worker does it; the deletes
//! are idempotent, so running them in several processes at once is harmless.

use std::sync::Arc;
use std::time::Duration;

use burgernet_core::db;
use tokio::time::{MissedTickBehavior, interval};

use crate::runner::RunnerState;

const EVERY: Duration = Duration::from_secs(60);

pub(crate) async fn run(state: Arc<RunnerState>) {
    let mut ticker = interval(EVERY);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let result = match state.pool.get().await {
            Ok(mut conn) => db::participants::purge_expired(&mut conn).await.map_err(anyhow::Error::from),
            Err(error) => Err(error.into()),
        };
        match result {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "deleted expired positions, codes, links and counters"),
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "could not delete expired data"),
        }
    }
}
