//! Deletes what has outlived its purpose: live positions past their expiry (there must be no
//! stale positions lying around, let alone a history), expired sign-in codes and e-mail links,
//! old rate-limit counters and long-expired refresh tokens; and, where configured, uploads never
//! completed and tips past their retention; it writes the dossier's signed checkpoints (one
//! worker at a time, by an advisory lock); it counts every municipality's active participants for the
//! participation report (one worker at a time, by an advisory lock, and only when the last count
//! by any worker is ten minutes old); it keeps the rollups of alerts that the reports read (one
//! worker at a time, by an advisory lock); and it observes the send-to-push timing of alerts whose
//! initial wave finished unobserved. Every worker does it; the deletes are idempotent or skip rows
//! another worker holds, and each alert's timing is observed once, so running it in several
//! processes at once is harmless.

use std::sync::Arc;
use std::time::Duration;

use burgernet_core::alerts::delivery::timing;
use burgernet_core::alerts::dossier::checkpoints;
use burgernet_core::db;
use burgernet_core::media::retention::EvidenceUpkeep;
use burgernet_core::reports::{participation, rollup};
use tokio::time::{MissedTickBehavior, interval};

use crate::runner::RunnerState;

const EVERY: Duration = Duration::from_secs(60);

pub(crate) async fn run(state: Arc<RunnerState>) {
    let mut ticker = interval(EVERY);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        // One connection for the round; without one, the next round tries again.
        let mut conn = match state.pool.get().await {
            Ok(conn) => conn,
            Err(error) => {
                tracing::warn!(%error, "no database connection for housekeeping");
                continue;
            }
        };
        log_count(
            db::participants::purge_expired(&mut conn).await,
            "deleted expired positions, codes, links and counters",
            "could not delete expired data",
        );
        if let Some(upkeep) = &state.evidence_upkeep {
            keep_evidence(&mut conn, upkeep).await;
        }
        if let Some((store, settings)) = &state.dossier_checkpoints {
            // A failure waits for the next round; alerts never wait for a checkpoint.
            match checkpoints::write_checkpoint(&mut conn, store, settings).await {
                Ok(Some(number)) => tracing::info!(number, "wrote a checkpoint of the dossier"),
                Ok(None) => {}
                Err(error) => tracing::error!(%error, "could not write a checkpoint of the dossier"),
            }
        }
        match participation::count_participation_when_due(&mut conn).await {
            Ok(Some(municipalities)) => tracing::info!(municipalities, "counted participation"),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not count participation"),
        }
        if let Some(metrics) = &state.push_timing {
            log_count(
                timing::observe_finished_waves(&mut conn, None, metrics).await,
                "observed the send-to-push timing of finished initial waves",
                "could not look for finished initial waves",
            );
        }
        // A failure waits for the next round; the reports show the last roll-up meanwhile.
        match rollup::roll_up_alerts(&mut conn, chrono::Utc::now()).await {
            Ok(round) if round.rolled_up > 0 || round.failed > 0 => tracing::info!(
                rolled_up = round.rolled_up,
                failed = round.failed,
                "rolled up the figures of alerts for the reports"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not roll up the figures of alerts"),
        }
    }
}

/// Logs how many rows a task dealt with (nothing when none), or why it failed.
fn log_count(result: Result<usize, impl std::fmt::Display>, done: &str, failed: &str) {
    match result {
        Ok(0) => {}
        Ok(count) => tracing::info!(count, "{done}"),
        Err(error) => tracing::warn!(%error, "{failed}"),
    }
}

async fn keep_evidence(conn: &mut db::Connection, upkeep: &EvidenceUpkeep) {
    match upkeep.run(conn).await {
        Ok(done) if done.is_empty() => {}
        Ok(done) => tracing::info!(
            expired_uploads = done.expired_uploads,
            removed_tips = done.removed_tips,
            "expired abandoned uploads and removed tips past their retention"
        ),
        Err(error) => tracing::warn!(error = %error, "could not expire uploads or enforce retention"),
    }
}
