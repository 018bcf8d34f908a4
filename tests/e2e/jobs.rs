//! The job queue and its runner, against a real database: enqueueing follows the caller's
//! transaction, every job runs exactly once even with several workers, leases hand the jobs of a
//! vanished worker to another, failures retry with backoff up to a limit, notifications wake idle
//! runners, and shutdown gives running jobs back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burgernet_core::config::WorkerConfig;
use burgernet_core::db::DbPool;
use burgernet_core::db::jobs::{self as store, JobState, NewJob, StoredJob};
use burgernet_core::db::schema::background_jobs;
use burgernet_core::ids::JobId;
use burgernet_core::jobs::{BackgroundJob, JobError};
use burgernet_workers::{Runner, RunnerHandle};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::helpers::TestDatabase;

// ---- Job types for these tests ----

/// Records its number: the simplest job whose effect can be seen.
#[derive(Serialize, Deserialize)]
struct Record {
    number: u32,
}

type Recorded = Arc<Mutex<Vec<u32>>>;

impl BackgroundJob for Record {
    const JOB_TYPE: &'static str = "test.record";
    type Context = Recorded;

    async fn run(&self, recorded: Recorded) -> Result<(), JobError> {
        recorded.lock().unwrap().push(self.number);
        Ok(())
    }
}

/// Notes when each job starts and ends, to catch one job running twice at the same time.
#[derive(Serialize, Deserialize)]
struct Tally {
    number: u32,
}

#[derive(Default)]
struct Ledger {
    running: HashSet<u32>,
    runs: HashMap<u32, u32>,
    overlaps: Vec<u32>,
}

impl BackgroundJob for Tally {
    const JOB_TYPE: &'static str = "test.tally";
    type Context = Arc<Mutex<Ledger>>;

    async fn run(&self, ledger: Arc<Mutex<Ledger>>) -> Result<(), JobError> {
        {
            let mut ledger = ledger.lock().unwrap();
            if !ledger.running.insert(self.number) {
                ledger.overlaps.push(self.number);
            }
            *ledger.runs.entry(self.number).or_default() += 1;
        }
        // Long enough for other workers to try the same job while this one runs.
        tokio::time::sleep(Duration::from_millis(5)).await;
        ledger.lock().unwrap().running.remove(&self.number);
        Ok(())
    }
}

/// Reports, from inside its run, its own attempt count and the database's clock.
#[derive(Serialize, Deserialize)]
struct ObserveAttempt;

type Observations = Arc<Mutex<Vec<(i32, DateTime<Utc>)>>>;

impl BackgroundJob for ObserveAttempt {
    const JOB_TYPE: &'static str = "test.observe_attempt";
    type Context = (DbPool, Observations);

    async fn run(&self, (pool, observations): Self::Context) -> Result<(), JobError> {
        let mut conn = pool.get().await?;
        let observation = background_jobs::table
            .filter(background_jobs::job_type.eq(Self::JOB_TYPE))
            .select((background_jobs::attempts, diesel::dsl::sql::<Timestamptz>("now()")))
            .first(&mut conn)
            .await?;
        observations.lock().unwrap().push(observation);
        Ok(())
    }
}

fn gateway_unreachable() -> JobError {
    JobError::retryable(anyhow::anyhow!("SMS gateway unreachable"))
}

/// Fails retryably every time, on the default backoff schedule.
#[derive(Serialize, Deserialize)]
struct Unreachable;

impl BackgroundJob for Unreachable {
    const JOB_TYPE: &'static str = "test.unreachable";
    type Context = ();

    async fn run(&self, (): ()) -> Result<(), JobError> {
        Err(gateway_unreachable())
    }
}

/// Fails retryably every time, with few attempts and a short backoff.
#[derive(Serialize, Deserialize)]
struct SoonGivenUp;

impl BackgroundJob for SoonGivenUp {
    const JOB_TYPE: &'static str = "test.soon_given_up";
    const MAX_ATTEMPTS: i32 = 3;
    type Context = ();

    async fn run(&self, (): ()) -> Result<(), JobError> {
        Err(gateway_unreachable())
    }

    fn backoff(_attempt: i32) -> Duration {
        Duration::from_millis(10)
    }
}

#[derive(Serialize, Deserialize)]
struct Rejected;

impl BackgroundJob for Rejected {
    const JOB_TYPE: &'static str = "test.rejected";
    type Context = ();

    async fn run(&self, (): ()) -> Result<(), JobError> {
        Err(JobError::permanent(anyhow::anyhow!("not a mobile number")))
    }
}

/// Panics on its first attempt and succeeds on the next.
#[derive(Serialize, Deserialize)]
struct PanicsOnce;

impl BackgroundJob for PanicsOnce {
    const JOB_TYPE: &'static str = "test.panics_once";
    type Context = Arc<AtomicU32>;

    async fn run(&self, attempts: Arc<AtomicU32>) -> Result<(), JobError> {
        if attempts.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("index out of bounds");
        }
        Ok(())
    }

    fn backoff(_attempt: i32) -> Duration {
        Duration::from_millis(10)
    }
}

/// Sleeps, noting when it started and when it finished.
#[derive(Serialize, Deserialize)]
struct Sleep {
    millis: u64,
}

#[derive(Default)]
struct Progress {
    started: Vec<u64>,
    finished: Vec<u64>,
}

impl BackgroundJob for Sleep {
    const JOB_TYPE: &'static str = "test.sleep";
    type Context = Arc<Mutex<Progress>>;

    async fn run(&self, progress: Arc<Mutex<Progress>>) -> Result<(), JobError> {
        progress.lock().unwrap().started.push(self.millis);
        tokio::time::sleep(Duration::from_millis(self.millis)).await;
        progress.lock().unwrap().finished.push(self.millis);
        Ok(())
    }
}

/// Takes a while, then queues a [`Record`] of its number: work that causes more work.
#[derive(Serialize, Deserialize)]
struct Relay {
    number: u32,
}

impl BackgroundJob for Relay {
    const JOB_TYPE: &'static str = "test.relay";
    type Context = DbPool;

    async fn run(&self, pool: DbPool) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut conn = pool.get().await?;
        Record { number: self.number }.enqueue(&mut conn).await?;
        Ok(())
    }
}

// ---- Helpers ----

fn worker_config() -> WorkerConfig {
    WorkerConfig {
        // Unused: these runners serve no health endpoints.
        bind: ([127, 0, 0, 1], 0).into(),
        concurrency: 2,
        lane_jobs: Default::default(),
        lease: Duration::from_secs(10),
        poll_interval: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(2),
        delivery: Default::default(),
        video: burgernet_core::media::video::VideoTools::from_env(&Default::default()).unwrap(),
        tip_retention: Duration::from_secs(90 * 86_400),
        dossier_checkpoints: None,
    }
}

/// Polls `check` until it gives a value, for at most ten seconds.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn find(conn: &mut AsyncPgConnection, id: JobId) -> Option<StoredJob> {
    store::find(conn, id).await.unwrap()
}

async fn wait_until_deleted(conn: &mut AsyncPgConnection, id: JobId) {
    eventually("the job is deleted", async || find(conn, id).await.is_none().then_some(())).await;
}

async fn wait_until_failed(conn: &mut AsyncPgConnection, id: JobId) -> StoredJob {
    eventually("the job has failed", async || {
        find(conn, id).await.filter(|job| job.state == JobState::Failed)
    })
    .await
}

async fn job_count(conn: &mut AsyncPgConnection) -> i64 {
    background_jobs::table.count().get_result(conn).await.unwrap()
}

async fn database_now(conn: &mut AsyncPgConnection) -> DateTime<Utc> {
    diesel::select(diesel::dsl::sql::<Timestamptz>("now()")).get_result(conn).await.unwrap()
}

fn assert_unlocked(job: &StoredJob) {
    assert_eq!(job.locked_by, None);
    assert_eq!(job.lease_expires_at, None);
}

// ---- Enqueueing ----

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_is_gone_and_in_a_committed_one_is_kept() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;

    let rolled_back = conn
        .transaction::<(), _, _>(async |conn| {
            Record { number: 1 }.enqueue(conn).await?;
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert_eq!(rolled_back, Err(diesel::result::Error::RollbackTransaction));
    assert_eq!(job_count(&mut conn).await, 0);

    let id = conn.transaction(async |conn| Record { number: 2 }.enqueue(conn).await).await.unwrap();
    assert_eq!(job_count(&mut conn).await, 1);
    let job = find(&mut conn, id).await.unwrap();
    assert_eq!(job.job_type, "test.record");
    assert_eq!(job.payload, serde_json::json!({ "number": 2 }));
    assert_eq!(job.state, JobState::Queued);
    assert_eq!((job.attempts, job.max_attempts, job.priority), (0, 5, 0));
    assert_unlocked(&job);
    assert_eq!(
        store::count_by_type_and_state(&mut conn).await.unwrap(),
        [("test.record".to_string(), JobState::Queued, 1)]
    );
}

// ---- Running ----

#[tokio::test]
async fn a_runner_runs_a_job_and_deletes_it_when_it_succeeds() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let recorded = Recorded::default();
    let runner = Runner::new(db.pool(), worker_config(), Uuid::new_v4())
        .register::<Record>(recorded.clone())
        .start()
        .await;

    let id = Record { number: 7 }.enqueue(&mut conn).await.unwrap();

    wait_until_deleted(&mut conn, id).await;
    assert_eq!(*recorded.lock().unwrap(), [7]);
    runner.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_workers_run_every_job_exactly_once_and_never_one_job_twice_at_a_time() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut runners = Vec::new();
    for _ in 0..3 {
        let config = WorkerConfig { concurrency: 4, ..worker_config() };
        let runner =
            Runner::new(db.pool(), config, Uuid::new_v4()).register::<Tally>(ledger.clone()).start().await;
        runners.push(runner);
    }

    conn.transaction(async |conn| {
        for number in 0..60 {
            Tally { number }.enqueue(conn).await?;
        }
        diesel::QueryResult::Ok(())
    })
    .await
    .unwrap();

    eventually("every job is done", async || (job_count(&mut conn).await == 0).then_some(())).await;
    for runner in runners {
        runner.shutdown().await;
    }
    let ledger = ledger.lock().unwrap();
    assert_eq!(ledger.overlaps, Vec::<u32>::new());
    let expected: HashMap<u32, u32> = (0..60).map(|number| (number, 1)).collect();
    assert_eq!(ledger.runs, expected);
}

#[tokio::test]
async fn a_job_whose_worker_disappeared_runs_again_once_its_lease_expires() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let id = ObserveAttempt.enqueue(&mut conn).await.unwrap();
    // A worker claims the job and then is never heard from again.
    let vanished_worker = Uuid::new_v4();
    let claimed =
        store::claim_next(&mut conn, &[ObserveAttempt::JOB_TYPE], vanished_worker, Duration::from_secs(2))
            .await
            .unwrap()
            .unwrap();
    assert_eq!((claimed.id, claimed.attempts), (id, 1));
    let lease_expired_at = claimed.lease_expires_at.unwrap();

    let observations = Observations::default();
    let runner = Runner::new(db.pool(), worker_config(), Uuid::new_v4())
        .register::<ObserveAttempt>((db.pool(), observations.clone()))
        .start()
        .await;
    assert_eq!(find(&mut conn, id).await.unwrap().locked_by, Some(vanished_worker));

    wait_until_deleted(&mut conn, id).await;
    runner.shutdown().await;
    let observations = observations.lock().unwrap();
    assert_eq!(observations.len(), 1, "the job ran once");
    let (attempts, ran_at) = observations[0];
    assert_eq!(attempts, 2);
    assert!(ran_at >= lease_expired_at, "ran at {ran_at}, before the lease expired at {lease_expired_at}");
}

#[tokio::test]
async fn a_heartbeat_keeps_a_job_that_outlasts_its_lease_from_being_taken_by_another_worker() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let progress = Arc::new(Mutex::new(Progress::default()));
    let config = WorkerConfig { concurrency: 1, lease: Duration::from_secs(2), ..worker_config() };
    let mut runners = Vec::new();
    for _ in 0..2 {
        let runner = Runner::new(db.pool(), config.clone(), Uuid::new_v4())
            .register::<Sleep>(progress.clone())
            .start()
            .await;
        runners.push(runner);
    }
    let id = Sleep { millis: 3_000 }.enqueue(&mut conn).await.unwrap();

    wait_until_deleted(&mut conn, id).await;
    for runner in runners {
        runner.shutdown().await;
    }
    let progress = progress.lock().unwrap();
    assert_eq!(progress.started, [3_000], "the job started once");
    assert_eq!(progress.finished, [3_000]);
}

#[tokio::test]
async fn a_job_whose_lease_was_taken_over_is_stopped_and_left_to_its_new_worker() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let progress = Arc::new(Mutex::new(Progress::default()));
    let recorded = Recorded::default();
    let config = WorkerConfig { concurrency: 1, lease: Duration::from_secs(3), ..worker_config() };
    let runner = Runner::new(db.pool(), config, Uuid::new_v4())
        .register::<Sleep>(progress.clone())
        .register::<Record>(recorded.clone())
        .start()
        .await;
    let id = Sleep { millis: 3_600_000 }.enqueue(&mut conn).await.unwrap();
    eventually("the job has started", async || (progress.lock().unwrap().started.len() == 1).then_some(()))
        .await;

    let new_worker = Uuid::new_v4();
    diesel::update(background_jobs::table.find(id.0))
        .set(background_jobs::locked_by.eq(new_worker))
        .execute(&mut conn)
        .await
        .unwrap();
    // The only slot is free again once the heartbeat notices and stops the job.
    Record { number: 1 }.enqueue(&mut conn).await.unwrap();
    eventually("the next job has run", async || (*recorded.lock().unwrap() == [1]).then_some(())).await;

    let job = find(&mut conn, id).await.unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.locked_by, Some(new_worker));
    assert_eq!(job.attempts, 1);
    assert!(progress.lock().unwrap().finished.is_empty());
    runner.shutdown().await;
}

// ---- Failures ----

#[tokio::test]
async fn a_retryable_failure_queues_the_job_again_after_the_backoff_with_its_error() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let runner =
        Runner::new(db.pool(), worker_config(), Uuid::new_v4()).register::<Unreachable>(()).start().await;
    let id = Unreachable.enqueue(&mut conn).await.unwrap();

    // The schedule starts at 5s and doubles, less up to 10% jitter.
    for (attempts, full_backoff_secs) in [(1, 5.0), (2, 10.0)] {
        let job = eventually("the job is queued again after a failure", async || {
            find(&mut conn, id).await.filter(|job| job.attempts == attempts && job.state == JobState::Queued)
        })
        .await;
        assert_eq!(job.last_error.as_deref(), Some("SMS gateway unreachable"));
        assert_unlocked(&job);
        let backoff = (job.run_at - job.updated_at).as_seconds_f64();
        assert!(
            (0.9 * full_backoff_secs..=full_backoff_secs).contains(&backoff),
            "attempt {attempts} backed off {backoff}s"
        );
        assert!(job.run_at > database_now(&mut conn).await);

        // Let the backoff pass at once.
        diesel::update(background_jobs::table.find(id.0))
            .set(background_jobs::run_at.eq(diesel::dsl::now))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    runner.shutdown().await;
}

#[tokio::test]
async fn a_job_that_keeps_failing_ends_failed_after_its_maximum_attempts_with_its_last_error() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let runner =
        Runner::new(db.pool(), worker_config(), Uuid::new_v4()).register::<SoonGivenUp>(()).start().await;
    let id = SoonGivenUp.enqueue(&mut conn).await.unwrap();

    let job = wait_until_failed(&mut conn, id).await;
    assert_eq!(job.attempts, 3);
    assert_eq!(job.last_error.as_deref(), Some("SMS gateway unreachable"));
    assert_unlocked(&job);
    let failed = store::list_failed(&mut conn, 10).await.unwrap();
    assert_eq!(failed.iter().map(|job| job.id).collect::<Vec<_>>(), [id]);
    runner.shutdown().await;
}

#[tokio::test]
async fn a_permanent_error_fails_the_job_after_one_attempt() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let runner =
        Runner::new(db.pool(), worker_config(), Uuid::new_v4()).register::<Rejected>(()).start().await;
    let id = Rejected.enqueue(&mut conn).await.unwrap();

    let job = wait_until_failed(&mut conn, id).await;
    assert_eq!(job.attempts, 1);
    assert_eq!(job.last_error.as_deref(), Some("not a mobile number"));
    assert_unlocked(&job);
    runner.shutdown().await;
}

#[tokio::test]
async fn a_payload_that_does_not_fit_its_job_type_fails_the_job_after_one_attempt() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let recorded = Recorded::default();
    let runner = Runner::new(db.pool(), worker_config(), Uuid::new_v4())
        .register::<Record>(recorded.clone())
        .start()
        .await;
    let new_job = NewJob {
        job_type: Record::JOB_TYPE,
        payload: serde_json::json!({ "number": "seven" }),
        priority: 0,
        max_attempts: 5,
        delay: Duration::ZERO,
    };
    let id = store::insert(&mut conn, new_job).await.unwrap();

    let job = wait_until_failed(&mut conn, id).await;
    assert_eq!(job.attempts, 1);
    let error = job.last_error.unwrap();
    assert!(error.starts_with("the payload does not fit the job type: "), "{error}");
    assert!(recorded.lock().unwrap().is_empty());
    runner.shutdown().await;
}

#[tokio::test]
async fn a_panicking_job_is_retried_and_the_runner_keeps_working() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let attempts = Arc::new(AtomicU32::new(0));
    let recorded = Recorded::default();
    let config = WorkerConfig { concurrency: 1, ..worker_config() };
    let runner = Runner::new(db.pool(), config, Uuid::new_v4())
        .register::<PanicsOnce>(attempts.clone())
        .register::<Record>(recorded.clone())
        .start()
        .await;
    let id = PanicsOnce.enqueue(&mut conn).await.unwrap();

    wait_until_deleted(&mut conn, id).await;
    // (`AtomicU32::load` spelled out: diesel's `RunQueryDsl::load` would shadow it.)
    assert_eq!(AtomicU32::load(&attempts, Ordering::SeqCst), 2);

    Record { number: 3 }.enqueue(&mut conn).await.unwrap();
    eventually("the next job has run", async || (job_count(&mut conn).await == 0).then_some(())).await;
    assert_eq!(*recorded.lock().unwrap(), [3]);
    runner.shutdown().await;
}

#[tokio::test]
async fn a_job_whose_worker_disappeared_on_its_final_attempt_is_marked_failed() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let new_job = NewJob {
        job_type: Record::JOB_TYPE,
        payload: serde_json::json!({ "number": 1 }),
        priority: 0,
        max_attempts: 1,
        delay: Duration::ZERO,
    };
    let id = store::insert(&mut conn, new_job).await.unwrap();
    store::claim_next(&mut conn, &[Record::JOB_TYPE], Uuid::new_v4(), Duration::from_secs(2))
        .await
        .unwrap()
        .unwrap();

    let recorded = Recorded::default();
    let runner = Runner::new(db.pool(), worker_config(), Uuid::new_v4())
        .register::<Record>(recorded.clone())
        .start()
        .await;
    let job = wait_until_failed(&mut conn, id).await;
    assert_eq!(job.attempts, 1);
    assert_eq!(job.last_error.as_deref(), Some("lease expired on the final attempt"));
    assert_unlocked(&job);
    assert!(recorded.lock().unwrap().is_empty());
    runner.shutdown().await;
}

// ---- Running the queue dry (what tests wait for instead of sleeping) ----

#[tokio::test]
async fn running_the_queue_dry_waits_for_running_jobs_and_the_jobs_they_queue_but_not_for_later_ones() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let recorded = Recorded::default();
    let runner = Runner::new(db.pool(), worker_config(), Uuid::new_v4())
        .register::<Relay>(db.pool())
        .register::<Record>(recorded.clone())
        .start()
        .await;
    Relay { number: 1 }.enqueue(&mut conn).await.unwrap();
    let later = Record { number: 2 }.enqueue_after(&mut conn, Duration::from_secs(60)).await.unwrap();

    db.run_pending_jobs().await;
    assert_eq!(*recorded.lock().unwrap(), [1], "the relay ran, and so did the job it queued");
    let left: Vec<_> = db.jobs().await.into_iter().map(|job| (job.id, job.state)).collect();
    assert_eq!(left, [(later, JobState::Queued)], "the job due later was not waited for");

    // Looking far enough ahead waits for it as well.
    diesel::update(background_jobs::table.find(later.0))
        .set(background_jobs::run_at.eq(diesel::dsl::sql::<Timestamptz>("now() + interval '1 second'")))
        .execute(&mut conn)
        .await
        .unwrap();
    db.run_jobs_due_within(Duration::from_secs(2)).await;
    assert_eq!(*recorded.lock().unwrap(), [1, 2]);
    assert!(db.jobs().await.is_empty());
    runner.shutdown().await;
}

// ---- Wake-ups ----

fn without_polling() -> WorkerConfig {
    WorkerConfig { poll_interval: Duration::from_secs(60 * 60), ..worker_config() }
}

async fn start_recording_runner(db: &TestDatabase, config: WorkerConfig) -> (RunnerHandle, Recorded) {
    let recorded = Recorded::default();
    let runner =
        Runner::new(db.pool(), config, Uuid::new_v4()).register::<Record>(recorded.clone()).start().await;
    (runner, recorded)
}

#[tokio::test]
async fn a_notification_wakes_an_idle_runner_without_waiting_for_the_poll() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let (runner, recorded) = start_recording_runner(&db, without_polling()).await;
    // Let the slots find the queue empty and go idle: their first claim, one query on an empty
    // table as they start, takes milliseconds. Going idle leaves nothing to wait for, hence a
    // sleep; too short a one would let that first claim take the job, and the test would pass
    // without showing the wake-up, so it errs long.
    tokio::time::sleep(Duration::from_millis(300)).await;

    Record { number: 1 }.enqueue(&mut conn).await.unwrap();

    eventually("the job has run", async || (*recorded.lock().unwrap() == [1]).then_some(())).await;
    runner.shutdown().await;
}

#[derive(QueryableByName)]
struct Backend {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

async fn listening_backends(conn: &mut AsyncPgConnection) -> Vec<i32> {
    diesel::sql_query(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND query = 'LISTEN background_jobs'",
    )
    .load::<Backend>(conn)
    .await
    .unwrap()
    .into_iter()
    .map(|backend| backend.pid)
    .collect()
}

#[tokio::test]
async fn a_runner_listens_again_after_its_notification_connection_drops() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let (runner, recorded) = start_recording_runner(&db, without_polling()).await;
    let [listener] = listening_backends(&mut conn).await[..] else {
        panic!("expected one listening connection");
    };

    diesel::sql_query(format!("SELECT pg_terminate_backend({listener})")).execute(&mut conn).await.unwrap();
    eventually("the runner listens on a new connection", async || {
        let backends = listening_backends(&mut conn).await;
        (!backends.is_empty() && !backends.contains(&listener)).then_some(())
    })
    .await;
    Record { number: 1 }.enqueue(&mut conn).await.unwrap();

    eventually("the job has run", async || (*recorded.lock().unwrap() == [1]).then_some(())).await;
    runner.shutdown().await;
}

// ---- Shutdown ----

#[tokio::test]
async fn shutdown_completes_jobs_that_finish_within_the_grace_and_releases_the_rest() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let progress = Arc::new(Mutex::new(Progress::default()));
    let runner = Runner::new(db.pool(), worker_config(), Uuid::new_v4())
        .register::<Sleep>(progress.clone())
        .start()
        .await;
    let quick = Sleep { millis: 200 }.enqueue(&mut conn).await.unwrap();
    let endless = Sleep { millis: 3_600_000 }.enqueue(&mut conn).await.unwrap();
    eventually("both jobs have started", async || {
        (progress.lock().unwrap().started.len() == 2).then_some(())
    })
    .await;

    runner.shutdown().await;

    assert_eq!(progress.lock().unwrap().finished, [200]);
    assert!(find(&mut conn, quick).await.is_none());
    let released = find(&mut conn, endless).await.unwrap();
    assert_eq!(released.state, JobState::Queued);
    assert_eq!(released.attempts, 0, "the interrupted attempt is not counted");
    assert_unlocked(&released);
    assert!(released.run_at <= database_now(&mut conn).await);
}
