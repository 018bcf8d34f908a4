//! Deletes what has outlived its purpose: live positions past their expiry (there must be no
//! stale positions lying around, let alone a history), expired sign-in codes and e-mail links,
//! old rate-limit counters and long-expired refresh tokens; and, where configured, uploads never
//! completed and tips past their retention. Every worker does it; the deletes are idempotent or
//! skip rows another worker holds, so running them in several processes at once is harmless.

use std::sync::Arc;
use std::time::Duration;

use burgernet_core::db;
use tokio::time::{MissedTickBehavior, interval};

use burgernet_core::media::retention::EvidenceUpkeep;

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
        if let Some(upkeep) = &state.evidence_upkeep {
            keep_evidence(&state, upkeep).await;
        }
    }
}

async fn keep_evidence(state: &RunnerState, upkeep: &EvidenceUpkeep) {
    let mut conn = match state.pool.get().await {
        Ok(conn) => conn,
        Err(error) => return tracing::warn!(error = %error, "could not expire uploads or enforce retention"),
    };
    match upkeep.run(&mut conn).await {
        Ok(done) if done.is_empty() => {}
        Ok(done) => tracing::info!(
            expired_uploads = done.expired_uploads,
            removed_tips = done.removed_tips,
            "expired abandoned uploads and removed tips past their retention"
        ),
        Err(error) => tracing::warn!(error = %error, "could not expire uploads or enforce retention"),
    }
}
