//! Deletes what has outlived its purpose: live positions past their expiry (there must be no
//! stale positions lying around, let alone a history), expired sign-in codes and e-mail links,
//! old rate-limit counters and long-expired refresh tokens; and, where configured, uploads never
//! completed and tips past their retention; and it observes the send-to-push timing of alerts whose
//! initial wave finished unobserved. Every worker does it; the deletes are idempotent or skip rows
//! another worker holds, and each alert's timing is observed once, so running it in several
//! processes at once is harmless.

use std::sync::Arc;
use std::time::Duration;

use burgernet_core::alerts::delivery::timing;
use burgernet_core::db;
use burgernet_core::metrics::DeliveryMetrics;
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
        if let Some(metrics) = &state.push_timing {
            observe_finished_waves(&state, metrics).await;
        }
    }
}

async fn observe_finished_waves(state: &RunnerState, metrics: &DeliveryMetrics) {
    let result = match state.pool.get().await {
        Ok(mut conn) => {
            timing::observe_finished_waves(&mut conn, None, metrics).await.map_err(anyhow::Error::from)
        }
        Err(error) => Err(error.into()),
    };
    match result {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "observed the send-to-push timing of finished initial waves"),
        Err(error) => {
            tracing::warn!(error = %format!("{error:#}"), "could not look for finished initial waves")
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
