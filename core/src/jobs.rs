//! Background jobs: small types that name themselves and implement one `run`. A job is enqueued
//! with the same connection (and so in the same transaction) as the write that causes it; the
//! runner in `burgernet_workers` claims and runs it. The SQL lives in [`crate::db::jobs`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backoff::Backoff;
use crate::db;
use crate::ids::JobId;

pub trait BackgroundJob: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored with the job and used to find its handler; unique across the application.
    const JOB_TYPE: &'static str;

    /// Higher runs first.
    const PRIORITY: i16 = 0;

    /// Attempts before a retryable failure becomes a permanent one.
    const MAX_ATTEMPTS: i32 = 5;

    /// What the job needs from its environment (clients, pools), given by the runner.
    type Context: Clone + Send + Sync + 'static;

    fn run(&self, ctx: Self::Context) -> impl Future<Output = Result<(), JobError>> + Send;

    /// How long to wait before attempt `attempt + 1` after attempt `attempt` failed.
    fn backoff(attempt: i32) -> Duration {
        JOB_BACKOFF.delay(u32::try_from(attempt).unwrap_or(0))
    }

    /// The job type, for statements that queue jobs of it themselves.
    fn kind() -> db::jobs::JobKind {
        db::jobs::JobKind {
            job_type: Self::JOB_TYPE,
            priority: Self::PRIORITY,
            max_attempts: Self::MAX_ATTEMPTS,
        }
    }

    /// Inserts the job; pass the connection of the transaction that causes it.
    fn enqueue(&self, conn: &mut AsyncPgConnection) -> impl Future<Output = QueryResult<JobId>> + Send {
        self.enqueue_after(conn, Duration::ZERO)
    }

    /// Inserts the job to run `delay` from now (by the database's clock).
    fn enqueue_after(
        &self,
        conn: &mut AsyncPgConnection,
        delay: Duration,
    ) -> impl Future<Output = QueryResult<JobId>> + Send {
        async move { db::jobs::insert(conn, self.new_job(delay)).await }
    }

    /// The job as a row to insert, to run `delay` from now; insert many at once with
    /// [`db::jobs::insert_many`].
    fn new_job(&self, delay: Duration) -> db::jobs::NewJob<'static> {
        db::jobs::NewJob {
            job_type: Self::JOB_TYPE,
            // Job types are plain structs of ids and numbers: they always serialize.
            payload: serde_json::to_value(self).expect("a job serializes"),
            priority: Self::PRIORITY,
            max_attempts: Self::MAX_ATTEMPTS,
            delay,
        }
    }
}

/// Why a job failed, and so whether trying again can help.
pub enum JobError {
    /// A passing condition (a timeout, a 5xx, a busy database): retry with backoff.
    Retryable(anyhow::Error),
    /// Retrying cannot help (bad input, a rejected request): keep the job as failed now.
    Permanent(anyhow::Error),
    /// Retry after this long rather than after the job type's backoff: the cause said when
    /// (a provider's Retry-After).
    RetryAfter(Duration, anyhow::Error),
    /// The job cannot run yet because it waits for other work (a follow-up for the message
    /// before it): it comes back after this long and the attempt does not count. What it waits
    /// for must end on its own, successfully or failed for good, or the job waits forever.
    NotYet(Duration, anyhow::Error),
}

impl JobError {
    pub fn retryable(error: impl Into<anyhow::Error>) -> Self {
        Self::Retryable(error.into())
    }

    pub fn permanent(error: impl Into<anyhow::Error>) -> Self {
        Self::Permanent(error.into())
    }

    pub fn retry_after(after: Duration, error: impl Into<anyhow::Error>) -> Self {
        Self::RetryAfter(after, error.into())
    }

    pub fn not_yet(after: Duration, reason: impl Into<anyhow::Error>) -> Self {
        Self::NotYet(after, reason.into())
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_) | Self::RetryAfter(..) | Self::NotYet(..))
    }

    /// The delay the error asks for, if it names one.
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Self::RetryAfter(after, _) | Self::NotYet(after, _) => Some(*after),
            _ => None,
        }
    }
}

/// `?` on any other error retries: the attempt limit bounds a wrong guess, while a permanent
/// error must be chosen on purpose.
impl<E: Into<anyhow::Error>> From<E> for JobError {
    fn from(error: E) -> Self {
        Self::Retryable(error.into())
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `:#` keeps anyhow's context chain on one line.
            Self::Retryable(error)
            | Self::Permanent(error)
            | Self::RetryAfter(_, error)
            | Self::NotYet(_, error) => {
                write!(f, "{error:#}")
            }
        }
    }
}

impl fmt::Debug for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Retryable(error) => f.debug_tuple("Retryable").field(error).finish(),
            Self::Permanent(error) => f.debug_tuple("Permanent").field(error).finish(),
            Self::RetryAfter(after, error) => f.debug_tuple("RetryAfter").field(after).field(error).finish(),
            Self::NotYet(after, error) => f.debug_tuple("NotYet").field(after).field(error).finish(),
        }
    }
}

/// A failed job comes back after 5 s, 10 s, 20 s, ... at most an hour later, less up to 10%.
pub const JOB_BACKOFF: Backoff =
    Backoff { base: Duration::from_secs(5), cap: Duration::from_secs(60 * 60), jitter: 0.1 };

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_of_other_types_are_retryable() {
        let error: JobError = std::io::Error::other("connection reset").into();
        assert!(error.is_retryable());
        assert!(!JobError::permanent(anyhow::anyhow!("no such alert")).is_retryable());
    }
}
