//! Waiting for work, not for time: the job queue run until nothing is left to do now, by the
//! workers on the database (the app's, or a runner a test started). A test that needs
//! "everything has been delivered" runs the queue dry instead of sleeping; a test that must show
//! that nothing more happens runs it dry first, then looks at what is left (see
//! [`TestDatabase::jobs`]): only a job still in the queue can do anything more.
//!
//! Jobs due later (a retry's backoff, a follow-up waiting for its batch, the check for
//! unacknowledged pushes) are not waited for unless the test says how far ahead to look
//! ([`TestDatabase::run_jobs_due_within`]), or makes them due now ([`TestDatabase::make_jobs_due`]).

use std::time::Duration;

use burgernet_core::db::jobs::{self as queue, StoredJob};
use diesel_async::RunQueryDsl;

use super::{TestApp, TestDatabase};

/// How long the queue may take to run dry (besides the time asked to look ahead) before the
/// test fails: far more than any test's work takes.
const LIMIT: Duration = Duration::from_secs(60);

/// How often the queue is looked at meanwhile.
const LOOK_EVERY: Duration = Duration::from_millis(20);

impl TestDatabase {
    /// Waits until the workers have run every job that is due: none is running and none is
    /// queued with its time come. Jobs that jobs queue are run too, if they are due at once.
    pub async fn run_pending_jobs(&self) {
        self.run_jobs_due_within(Duration::ZERO).await;
    }

    /// Waits until no job is running and none is due within `within` from now: those due
    /// sooner (a retry after a second, say) are waited for and run as well.
    pub async fn run_jobs_due_within(&self, within: Duration) {
        let mut conn = self.connect().await;
        let deadline = tokio::time::Instant::now() + within + LIMIT;
        loop {
            let pending = queue::pending(&mut conn, within).await.expect("read the job queue");
            if pending.is_empty() {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "the job queue did not run dry within {:?}; still to do:\n{}\nthe whole queue:\n{}",
                    within + LIMIT,
                    describe(&pending),
                    describe(&self.jobs().await)
                );
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }

    /// Every job in the queue, whatever its state: after [`Self::run_pending_jobs`], the jobs
    /// queued for later and those that failed for good.
    pub async fn jobs(&self) -> Vec<StoredJob> {
        queue::list_all(&mut self.connect().await).await.expect("read the job queue")
    }

    /// Makes the queued jobs of `job_type` due now, instead of after their backoff or delay.
    pub async fn make_jobs_due(&self, job_type: &str) {
        diesel::sql_query(
            "UPDATE background_jobs SET run_at = now() WHERE job_type = $1 AND state = 'queued'",
        )
        .bind::<diesel::sql_types::Text, _>(job_type)
        .execute(&mut self.connect().await)
        .await
        .expect("make the jobs due");
    }
}

impl TestApp {
    /// Lets the app's workers run every job that is due; see [`TestDatabase::run_pending_jobs`].
    pub async fn run_pending_jobs(&self) {
        self.run_jobs_due_within(Duration::ZERO).await;
    }

    /// Lets the app's workers run every job due within `within`; see
    /// [`TestDatabase::run_jobs_due_within`].
    pub async fn run_jobs_due_within(&self, within: Duration) {
        assert!(self.worker_address.is_some(), "no workers run the jobs: spawn the app with `workers: true`");
        self.database.run_jobs_due_within(within).await;
    }
}

/// One line per job: what a failing test shows of the queue (never the payload: it may hold
/// personal data, and the type and error say what is stuck).
pub fn describe(jobs: &[StoredJob]) -> String {
    if jobs.is_empty() {
        return "  (none)".into();
    }
    let now = chrono::Utc::now();
    jobs.iter()
        .map(|job| {
            format!(
                "  #{} {} {}, attempt {}/{}, due {:+.1} s from now{}",
                job.id,
                job.job_type,
                job.state.as_str(),
                job.attempts,
                job.max_attempts,
                (job.run_at - now).as_seconds_f64(),
                job.last_error.as_deref().map(|error| format!(", last error: {error}")).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
