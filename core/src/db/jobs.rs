//! The SQL of the job queue. Lease and retry times come from the database's `now()`, so every
//! worker measures them by one clock. Updates to a claimed job match on the worker that holds
//! it: a worker that lost its lease cannot overwrite the job's new owner.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::dsl::{self, AsExprOf, count_star, now};
use diesel::expression::{AsExpression, SqlLiteral, UncheckedBind};
use diesel::pg::data_types::PgInterval;
use diesel::pg::{Pg, PgValue};
use diesel::prelude::*;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Array, Interval, Nullable, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::db::schema::background_jobs;
use crate::ids::JobId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum JobState {
    /// Waiting for `run_at`.
    Queued,
    /// Leased by a worker until `lease_expires_at`.
    Running,
    /// Out of attempts or failed permanently; kept for inspection.
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Failed => "failed",
        }
    }
}

impl ToSql<Text, Pg> for JobState {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for JobState {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        match value.as_bytes() {
            b"queued" => Ok(Self::Queued),
            b"running" => Ok(Self::Running),
            b"failed" => Ok(Self::Failed),
            other => Err(format!("unknown job state {:?}", String::from_utf8_lossy(other)).into()),
        }
    }
}

#[derive(Debug)]
pub struct NewJob<'a> {
    pub job_type: &'a str,
    pub payload: Value,
    pub priority: i16,
    pub max_attempts: i32,
    /// Runs this long after the insert (zero: at once).
    pub delay: Duration,
}

/// A row of `background_jobs`.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = background_jobs, check_for_backend(Pg))]
pub struct StoredJob {
    #[diesel(deserialize_as = i64)]
    pub id: JobId,
    pub job_type: String,
    pub payload: Value,
    pub priority: i16,
    pub state: JobState,
    /// Attempts started so far, including a running one.
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<Uuid>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The channel the insert trigger notifies, with the job type as payload.
pub const NOTIFICATION_CHANNEL: &str = "background_jobs";

/// Subscribes `conn` to new-job notifications; read them with `conn.notifications_stream()`.
pub async fn listen(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(format!("LISTEN {NOTIFICATION_CHANNEL}")).execute(conn).await.map(drop)
}

/// A job type as a statement that queues jobs of it needs to know it (see
/// [`crate::jobs::BackgroundJob::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobKind {
    pub job_type: &'static str,
    pub priority: i16,
    pub max_attempts: i32,
}

pub async fn insert(conn: &mut AsyncPgConnection, job: NewJob<'_>) -> QueryResult<JobId> {
    diesel::insert_into(background_jobs::table)
        .values((
            background_jobs::job_type.eq(job.job_type),
            background_jobs::payload.eq(job.payload),
            background_jobs::priority.eq(job.priority),
            background_jobs::max_attempts.eq(job.max_attempts),
            background_jobs::run_at.eq(now_plus::<Timestamptz>(job.delay)),
        ))
        .returning(background_jobs::id)
        .get_result::<i64>(conn)
        .await
        .map(JobId)
}

/// Inserts many jobs in one statement (a fan-out queues hundreds at a time).
pub async fn insert_many(conn: &mut AsyncPgConnection, jobs: &[NewJob<'_>]) -> QueryResult<usize> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let types: Vec<&str> = jobs.iter().map(|job| job.job_type).collect();
    let payloads: Vec<&Value> = jobs.iter().map(|job| &job.payload).collect();
    let priorities: Vec<i16> = jobs.iter().map(|job| job.priority).collect();
    let attempts: Vec<i32> = jobs.iter().map(|job| job.max_attempts).collect();
    let delays: Vec<PgInterval> = jobs.iter().map(|job| super::interval(job.delay)).collect();
    diesel::sql_query(
        "INSERT INTO background_jobs (job_type, payload, priority, max_attempts, run_at)
         SELECT j.job_type, j.payload, j.priority, j.max_attempts, now() + j.delay
           FROM unnest($1::text[], $2::jsonb[], $3::int2[], $4::int4[], $5::interval[])
                AS j (job_type, payload, priority, max_attempts, delay)",
    )
    .bind::<Array<Text>, _>(&types)
    .bind::<Array<diesel::sql_types::Jsonb>, _>(&payloads)
    .bind::<Array<diesel::sql_types::Int2>, _>(&priorities)
    .bind::<Array<diesel::sql_types::Int4>, _>(&attempts)
    .bind::<Array<Interval>, _>(&delays)
    .execute(conn)
    .await
}

/// Claims the most urgent runnable job of one of `job_types` for `worker`: a queued job that is
/// due, or a running one whose worker let the lease expire with attempts left. Concurrent
/// claims skip each other's rows instead of waiting on them.
pub async fn claim_next(
    conn: &mut AsyncPgConnection,
    job_types: &[&str],
    worker: Uuid,
    lease: Duration,
) -> QueryResult<Option<StoredJob>> {
    diesel::sql_query(
        "UPDATE background_jobs
         SET state = 'running', attempts = attempts + 1, locked_by = $2,
             lease_expires_at = now() + $3
         WHERE id = (
             SELECT id FROM background_jobs
             WHERE job_type = ANY($1)
               AND ((state = 'queued' AND run_at <= now())
                 OR (state = 'running' AND lease_expires_at < now() AND attempts < max_attempts))
             ORDER BY priority DESC, run_at, id
             LIMIT 1
             FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind::<Array<Text>, _>(job_types)
    .bind::<diesel::sql_types::Uuid, _>(worker)
    .bind::<Interval, _>(super::interval(lease))
    .get_result(conn)
    .await
    .optional()
}

/// The heartbeat. Returns whether `worker` still holds the job.
pub async fn extend_lease(
    conn: &mut AsyncPgConnection,
    id: JobId,
    worker: Uuid,
    lease: Duration,
) -> QueryResult<bool> {
    let updated = diesel::update(held_by(id, worker))
        .set(background_jobs::lease_expires_at.eq(now_plus::<Nullable<Timestamptz>>(lease)))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Deletes a job that succeeded. Returns false if `worker` no longer held it.
pub async fn complete(conn: &mut AsyncPgConnection, id: JobId, worker: Uuid) -> QueryResult<bool> {
    let deleted = diesel::delete(held_by(id, worker)).execute(conn).await?;
    Ok(deleted == 1)
}

/// Queues a failed job again after `delay`. Returns false if `worker` no longer held it.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    id: JobId,
    worker: Uuid,
    delay: Duration,
    error: &str,
) -> QueryResult<bool> {
    let updated = diesel::update(held_by(id, worker))
        .set((
            background_jobs::state.eq(JobState::Queued),
            background_jobs::run_at.eq(now_plus::<Timestamptz>(delay)),
            background_jobs::last_error.eq(error),
            unlocked(),
        ))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Queues a job that could not run yet again after `delay`, without counting the attempt.
/// Returns false if `worker` no longer held it.
pub async fn postpone(
    conn: &mut AsyncPgConnection,
    id: JobId,
    worker: Uuid,
    delay: Duration,
    reason: &str,
) -> QueryResult<bool> {
    let updated = diesel::update(held_by(id, worker))
        .set((
            background_jobs::state.eq(JobState::Queued),
            background_jobs::run_at.eq(now_plus::<Timestamptz>(delay)),
            background_jobs::attempts.eq(background_jobs::attempts - 1),
            background_jobs::last_error.eq(reason),
            unlocked(),
        ))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Keeps a job as failed for good. Returns false if `worker` no longer held it.
pub async fn give_up(
    conn: &mut AsyncPgConnection,
    id: JobId,
    worker: Uuid,
    error: &str,
) -> QueryResult<bool> {
    let updated = diesel::update(held_by(id, worker))
        .set((background_jobs::state.eq(JobState::Failed), background_jobs::last_error.eq(error), unlocked()))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Hands a job that was interrupted by shutdown back to the queue, runnable at once and without
/// counting the interrupted attempt. Returns false if `worker` no longer held it.
pub async fn release(conn: &mut AsyncPgConnection, id: JobId, worker: Uuid) -> QueryResult<bool> {
    let updated = diesel::update(held_by(id, worker))
        .set((
            background_jobs::state.eq(JobState::Queued),
            background_jobs::run_at.eq(now),
            background_jobs::attempts.eq(background_jobs::attempts - 1),
            unlocked(),
        ))
        .execute(conn)
        .await?;
    Ok(updated == 1)
}

/// Deletes a job that has not started, to call it off. Returns false if it is running, failed or
/// gone: it can no longer be called off.
pub async fn cancel_queued(conn: &mut AsyncPgConnection, id: JobId) -> QueryResult<bool> {
    let deleted =
        diesel::delete(background_jobs::table.find(id.0).filter(background_jobs::state.eq(JobState::Queued)))
            .execute(conn)
            .await?;
    Ok(deleted == 1)
}

/// Fails the jobs whose worker vanished during their last attempt; `claim_next` will not take
/// them again, so without this they would stay 'running' forever. Returns how many.
pub async fn fail_expired_final_attempts(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::update(
        background_jobs::table
            .filter(background_jobs::state.eq(JobState::Running))
            .filter(background_jobs::lease_expires_at.lt(now))
            .filter(background_jobs::attempts.ge(background_jobs::max_attempts)),
    )
    .set((
        background_jobs::state.eq(JobState::Failed),
        background_jobs::last_error.eq("lease expired on the final attempt"),
        unlocked(),
    ))
    .execute(conn)
    .await
}

/// Jobs per type and state, for the queue depth metrics.
pub async fn count_by_type_and_state(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<(String, JobState, i64)>> {
    background_jobs::table
        .group_by((background_jobs::job_type, background_jobs::state))
        .select((background_jobs::job_type, background_jobs::state, count_star()))
        .order_by((background_jobs::job_type, background_jobs::state))
        .load(conn)
        .await
}

/// The health of one job type's queue.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct QueueHealth {
    #[diesel(sql_type = Text)]
    pub job_type: String,
    /// Queued jobs whose `run_at` has come.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub due: i64,
    /// How long the oldest due job has waited past its `run_at`; 0 when none is due.
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub oldest_due_seconds: f64,
    /// Jobs out of attempts or failed permanently.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub dead: i64,
}

/// [`QueueHealth`] of each of `job_types` (all of them, idle ones with zeros), in one statement
/// that reads only the by-type indexes of due and failed jobs.
pub async fn queue_health(conn: &mut AsyncPgConnection, job_types: &[&str]) -> QueryResult<Vec<QueueHealth>> {
    diesel::sql_query(
        "SELECT t.job_type, due.count AS due,
                coalesce(extract(epoch FROM now() - due.oldest)::float8, 0) AS oldest_due_seconds,
                (SELECT count(*) FROM background_jobs j WHERE j.job_type = t.job_type AND j.state = 'failed') AS dead
           FROM unnest($1::text[]) AS t (job_type)
          CROSS JOIN LATERAL (
                SELECT count(*) AS count, min(j.run_at) AS oldest
                  FROM background_jobs j
                 WHERE j.job_type = t.job_type AND j.state = 'queued' AND j.run_at <= now()
          ) AS due
          ORDER BY t.job_type",
    )
    .bind::<Array<Text>, _>(job_types)
    .load(conn)
    .await
}

/// The jobs not yet done with: running, or queued and due within `within` from now (by the
/// database's clock), most urgent first. Jobs queued for later, and failed ones, are not among
/// them. Read in one statement, so a job that queues another before it ends is never missed
/// between the two.
pub async fn pending(conn: &mut AsyncPgConnection, within: Duration) -> QueryResult<Vec<StoredJob>> {
    let running = background_jobs::state.eq(JobState::Running);
    let due = background_jobs::state.eq(JobState::Queued).and(background_jobs::run_at.le(now_plus(within)));
    background_jobs::table
        .filter(running.or(due))
        .order_by((background_jobs::priority.desc(), background_jobs::run_at, background_jobs::id))
        .select(StoredJob::as_select())
        .load(conn)
        .await
}

/// Every job in the queue, whatever its state, oldest first.
pub async fn list_all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<StoredJob>> {
    background_jobs::table.order_by(background_jobs::id).select(StoredJob::as_select()).load(conn).await
}

pub async fn find(conn: &mut AsyncPgConnection, id: JobId) -> QueryResult<Option<StoredJob>> {
    background_jobs::table.find(id.0).select(StoredJob::as_select()).first(conn).await.optional()
}

/// The most recently failed jobs first.
pub async fn list_failed(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<StoredJob>> {
    background_jobs::table
        .filter(background_jobs::state.eq(JobState::Failed))
        .order_by((background_jobs::updated_at.desc(), background_jobs::id.desc()))
        .limit(limit)
        .select(StoredJob::as_select())
        .load(conn)
        .await
}

/// Puts a job that failed for good back in the queue with its attempts reset, once its cause is
/// fixed. Only a failed job is touched, so running it twice does nothing more; the update is
/// announced like an insert so idle workers take it at once. Returns false if `id` is not a
/// failed job.
pub async fn requeue_failed(conn: &mut AsyncPgConnection, id: JobId) -> QueryResult<bool> {
    let requeued: Option<String> =
        diesel::update(background_jobs::table.find(id.0).filter(background_jobs::state.eq(JobState::Failed)))
            .set((
                background_jobs::state.eq(JobState::Queued),
                background_jobs::attempts.eq(0),
                background_jobs::run_at.eq(now),
            ))
            .returning(background_jobs::job_type)
            .get_result(conn)
            .await
            .optional()?;
    let Some(job_type) = requeued else {
        return Ok(false);
    };
    diesel::sql_query("SELECT pg_notify($1, $2)")
        .bind::<diesel::sql_types::Text, _>(NOTIFICATION_CHANNEL)
        .bind::<diesel::sql_types::Text, _>(job_type)
        .execute(conn)
        .await?;
    Ok(true)
}

type HeldBy = dsl::Filter<dsl::Find<background_jobs::table, i64>, dsl::Eq<background_jobs::locked_by, Uuid>>;

/// The job, if `worker` still holds it.
fn held_by(id: JobId, worker: Uuid) -> HeldBy {
    background_jobs::table.find(id.0).filter(background_jobs::locked_by.eq(worker))
}

type Unlocked = (
    dsl::Eq<background_jobs::locked_by, Option<Uuid>>,
    dsl::Eq<background_jobs::lease_expires_at, Option<DateTime<Utc>>>,
);

/// Clears the lease; the table's CHECK requires it whenever a job leaves 'running'.
fn unlocked() -> Unlocked {
    (background_jobs::locked_by.eq(None), background_jobs::lease_expires_at.eq(None))
}

pub(crate) type NowPlus<ST> = UncheckedBind<SqlLiteral<ST>, AsExprOf<PgInterval, Interval>>;

/// `now() + duration` by the database's clock.
pub(crate) fn now_plus<ST>(duration: Duration) -> NowPlus<ST>
where
    ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType,
{
    dsl::sql::<ST>("now() + ").bind::<Interval, _>(super::interval(duration))
}
