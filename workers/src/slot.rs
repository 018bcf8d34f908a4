//! One lane of work: claim a job, run it while a heartbeat keeps its lease, record how it
//! ended, and sleep until woken when there is nothing to claim.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use burgernet_core::db::jobs::{self as store, StoredJob};
use burgernet_core::ids::JobId;
use burgernet_core::jobs::JobError;
use futures_util::FutureExt;
use tokio::sync::watch;
use tracing::Instrument;

use crate::registry::Handler;
use crate::runner::{RunnerState, SlotGroup, Stage};

/// One slot of the slot group `group` (an index into the runner's groups).
pub(crate) async fn run(state: Arc<RunnerState>, group: usize) {
    let group = &state.groups[group];
    let mut stage = state.stage.clone();
    while *stage.borrow() == Stage::Running {
        // Every round counts, a failed claim too: a database outage is not a stalled worker.
        state.heartbeat.beat();
        match claim(&state, group).await {
            Ok(Some(job)) => {
                // More may be waiting (one notification can stand for many jobs): pass the
                // wake-up on to an idle slot.
                group.wake.notify_one();
                execute(&state, &mut stage, job).await;
            }
            Ok(None) => wait_for_work(group, &mut stage).await,
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "could not claim a job");
                wait_for_work(group, &mut stage).await;
            }
        }
    }
}

async fn claim(state: &RunnerState, group: &SlotGroup) -> anyhow::Result<Option<StoredJob>> {
    let mut conn = state.pool.get().await?;
    let job = store::claim_next(&mut conn, &group.job_types, state.worker_id, state.config.lease).await?;
    Ok(job)
}

async fn wait_for_work(group: &SlotGroup, stage: &mut watch::Receiver<Stage>) {
    tokio::select! {
        () = group.wake.notified() => {}
        _ = stage.wait_for(|stage| *stage != Stage::Running) => {}
    }
}

/// How an attempt ended, as far as the runner is concerned.
enum Outcome {
    Finished(Result<(), JobError>),
    /// Another worker took the job over; it is theirs to record.
    LeaseLost,
    /// Shutdown's grace period ran out.
    Interrupted,
}

async fn execute(state: &RunnerState, stage: &mut watch::Receiver<Stage>, mut job: StoredJob) {
    // Never the payload: it may hold personal data.
    let span = tracing::info_span!(
        "job",
        id = %job.id,
        job_type = %job.job_type,
        attempt = job.attempts,
    );
    async {
        let handler =
            state.registry.get(&job.job_type).expect("claim_next returns only registered job types");
        let started = Instant::now();
        let payload = std::mem::take(&mut job.payload);
        let outcome = run_while_leased(state, stage, handler, job.id, payload).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        record(state, &job, handler, outcome, duration_ms).await;
    }
    .instrument(span)
    .await
}

async fn run_while_leased(
    state: &RunnerState,
    stage: &mut watch::Receiver<Stage>,
    handler: &Handler,
    id: JobId,
    payload: serde_json::Value,
) -> Outcome {
    // A panic is one failed attempt, not the end of the worker.
    let attempt = AssertUnwindSafe(handler.run(payload)).catch_unwind();
    // The losing branches are dropped, which cancels the job at its next await. Biased: a job
    // that has finished counts as finished even if its lease or the grace ran out meanwhile.
    tokio::select! {
        biased;
        result = attempt => Outcome::Finished(result.unwrap_or_else(|panic| {
            Err(JobError::retryable(anyhow::anyhow!("job panicked: {}", panic_message(&*panic))))
        })),
        () = keep_lease(state, id) => Outcome::LeaseLost,
        _ = stage.wait_for(|stage| *stage == Stage::Stopping) => Outcome::Interrupted,
        never = beat_while_running(state) => match never {},
    }
}

/// A slot running a long job is busy, not stalled: it beats every poll interval meanwhile.
async fn beat_while_running(state: &RunnerState) -> std::convert::Infallible {
    let mut ticker = tokio::time::interval(state.config.poll_interval);
    loop {
        ticker.tick().await;
        state.heartbeat.beat();
    }
}

/// Extends the lease every third of its length; returns once the lease is lost.
async fn keep_lease(state: &RunnerState, id: JobId) {
    let period = state.config.lease / 3;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticker.tick().await;
        let extended = async {
            let mut conn = state.pool.get().await?;
            let extended = store::extend_lease(&mut conn, id, state.worker_id, state.config.lease).await?;
            anyhow::Ok(extended)
        }
        .await;
        match extended {
            Ok(true) => {}
            Ok(false) => return,
            // The lease is still ours until it expires; keep trying.
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "could not extend the job's lease");
            }
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// What to store about an attempt.
enum Record {
    Complete,
    Retry { after: std::time::Duration, error: String },
    Postpone { after: std::time::Duration, reason: String },
    GiveUp { error: String },
    Release,
}

/// How often storing an outcome is tried again while the database does not answer.
const STORE_RETRY_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// Logs the outcome and stores it: delete, retry later, fail for good, or release. When the
/// database does not answer, storing is tried again for as long as the lease lasts: a short
/// outage then costs seconds, not a whole lease before another worker takes the job over.
async fn record(state: &RunnerState, job: &StoredJob, handler: &Handler, outcome: Outcome, duration_ms: u64) {
    let record = match outcome {
        Outcome::Finished(Ok(())) => {
            tracing::info!(duration_ms, outcome = "succeeded", "job finished");
            Record::Complete
        }
        Outcome::Finished(Err(JobError::NotYet(after, reason))) => {
            tracing::info!(duration_ms, outcome = "not yet", retry_in = ?after, reason = %format!("{reason:#}"), "job waits");
            Record::Postpone { after, reason: format!("{reason:#}") }
        }
        Outcome::Finished(Err(error)) if error.is_retryable() && job.attempts < job.max_attempts => {
            let after = error.delay().unwrap_or_else(|| (handler.backoff)(job.attempts));
            tracing::warn!(duration_ms, outcome = "retry", retry_in = ?after, %error, "job failed");
            Record::Retry { after, error: error.to_string() }
        }
        Outcome::Finished(Err(error)) => {
            tracing::error!(duration_ms, outcome = "failed", %error, "job failed for good");
            Record::GiveUp { error: error.to_string() }
        }
        Outcome::LeaseLost => {
            // Nothing to store: the job is its new worker's now.
            tracing::warn!(duration_ms, outcome = "lease lost", "job stopped");
            return;
        }
        Outcome::Interrupted => {
            tracing::info!(duration_ms, outcome = "released", "job stopped by shutdown");
            Record::Release
        }
    };
    let deadline = tokio::time::Instant::now() + state.config.lease;
    loop {
        match store_outcome(state, job, &record).await {
            Ok(true) => return,
            Ok(false) => return tracing::warn!("the lease was lost before the outcome could be stored"),
            Err(error) if tokio::time::Instant::now() + STORE_RETRY_EVERY < deadline => {
                tracing::warn!(error = %format!("{error:#}"), "could not store the job's outcome yet; trying again");
                tokio::time::sleep(STORE_RETRY_EVERY).await;
            }
            Err(error) => {
                return tracing::error!(
                    error = %format!("{error:#}"),
                    "could not store the job's outcome; it runs again when its lease expires"
                );
            }
        }
    }
}

/// Stores one outcome; returns whether this worker still held the job.
async fn store_outcome(state: &RunnerState, job: &StoredJob, record: &Record) -> anyhow::Result<bool> {
    let worker = state.worker_id;
    let mut conn = state.pool.get().await?;
    let conn = &mut conn;
    Ok(match record {
        Record::Complete => store::complete(conn, job.id, worker).await?,
        Record::Retry { after, error } => store::retry(conn, job.id, worker, *after, error).await?,
        Record::Postpone { after, reason } => store::postpone(conn, job.id, worker, *after, reason).await?,
        Record::GiveUp { error } => store::give_up(conn, job.id, worker, error).await?,
        Record::Release => store::release(conn, job.id, worker).await?,
    })
}
