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

use crate::db;

/// The id of a row in `background_jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JobId(pub i64);

impl From<i64> for JobId {
    fn from(id: i64) -> Self {
        Self(id)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

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
        exponential_backoff(attempt, rand::random())
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
        async move {
            let payload = serde_json::to_value(self)
                .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
            db::jobs::insert(
                conn,
                db::jobs::NewJob {
                    job_type: Self::JOB_TYPE,
                    payload,
                    priority: Self::PRIORITY,
                    max_attempts: Self::MAX_ATTEMPTS,
                    delay,
                },
            )
            .await
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
    /// (a provider's Retry-After, work this job waits for).
    RetryAfter(Duration, anyhow::Error),
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

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_) | Self::RetryAfter(..))
    }

    /// The delay the error asks for, if it names one.
    pub fn delay(&self) -> Option<Duration> {
        match self {
            Self::RetryAfter(after, _) => Some(*after),
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
            Self::Retryable(error) | Self::Permanent(error) | Self::RetryAfter(_, error) => {
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
        }
    }
}

const BACKOFF_BASE: Duration = Duration::from_secs(5);
const BACKOFF_CAP: Duration = Duration::from_secs(60 * 60);

/// `BACKOFF_BASE * 2^(attempt - 1)`, capped at `BACKOFF_CAP`, minus up to 10% as `jitter` (0..1)
/// says, so jobs that failed together do not all come back at the same moment.
pub fn exponential_backoff(attempt: i32, jitter: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 30) as u32;
    let delay = BACKOFF_BASE.saturating_mul(2u32.saturating_pow(doublings)).min(BACKOFF_CAP);
    delay.mul_f64(1.0 - 0.1 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds() {
        let delays: Vec<u64> = (1..=5).map(|attempt| exponential_backoff(attempt, 0.0).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80]);
    }

    #[test]
    fn backoff_is_capped_at_an_hour() {
        assert_eq!(exponential_backoff(11, 0.0), BACKOFF_CAP);
        assert_eq!(exponential_backoff(i32::MAX, 0.0), BACKOFF_CAP);
    }

    #[test]
    fn jitter_shortens_by_at_most_a_tenth() {
        assert_eq!(exponential_backoff(2, 1.0), Duration::from_secs(9));
        assert_eq!(exponential_backoff(20, 1.0), BACKOFF_CAP.mul_f64(0.9));
        // Out-of-range jitter is clamped rather than trusted.
        assert_eq!(exponential_backoff(1, 7.0), Duration::from_millis(4500));
        assert_eq!(exponential_backoff(1, -1.0), BACKOFF_BASE);
    }

    #[test]
    fn attempts_below_one_get_the_base_delay() {
        assert_eq!(exponential_backoff(0, 0.0), BACKOFF_BASE);
        assert_eq!(exponential_backoff(-3, 0.0), BACKOFF_BASE);
    }

    #[test]
    fn errors_of_other_types_are_retryable() {
        let error: JobError = std::io::Error::other("connection reset").into();
        assert!(error.is_retryable());
        assert!(!JobError::permanent(anyhow::anyhow!("no such alert")).is_retryable());
    }
}
