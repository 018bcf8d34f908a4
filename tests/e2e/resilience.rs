//! An alert's fan-out survives losing its worker or its database halfway:
//!
//! - test 15: the `burgernet work` process is killed (SIGKILL) in the middle of a fan-out to
//!   20,000 participants, and a new one takes over;
//! - test 17: PostgreSQL stops during a fan-out (the API says 503 meanwhile) and starts again.
//!
//! Either way nobody is left without the alert, and whoever got it twice got it from a hand-over
//! in flight at the interruption: each such delivery is marked `resent_after_interruption`, and
//! there are never more than the worker could have had unrecorded
//! ([`DeliverySettings::max_unrecorded_hand_overs`]). The lanes' windows are small here, so that
//! they are full when the interruption comes.
//!
//! Also here: the real worker process answers the probes Kubernetes sends it and stops cleanly
//! on SIGTERM, and the API replaces pooled connections the database ended.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use burgernet_core::alerts::delivery::DeliverySettings;
use burgernet_core::alerts::dossier;
use burgernet_core::ids::AlertId;
use diesel::QueryableByName;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;

use crate::helpers::alerts::{alert_body, circle};
use crate::helpers::app::{DOSSIER_CHECKPOINT_KEY, PUBLIC_URL};
use crate::helpers::database::OwnCluster;
use crate::helpers::population::{POPULATION_CENTRE, Population};
use crate::helpers::{TestApp, TestAppOptions, problem};

/// Jobs each `burgernet work` process of test 15 runs at once, besides the lanes'.
const PROCESS_CONCURRENCY: usize = 4;

/// The lanes of each `burgernet work` process of test 15: windows small enough to be full
/// during the fan-out, and no provider rates to slow them.
fn process_delivery() -> DeliverySettings {
    DeliverySettings { push_window: 200, sms_window: 16, email_window: 4, ..DeliverySettings::default() }
}

/// How long the waits of these tests may take before the test fails.
const WAIT_LIMIT: Duration = Duration::from_secs(45);

/// Test 15: "Kill the worker process in the middle of a fan-out to 20,000 recipients and start a
/// new one: no recipient is left without a delivery; any sent twice are at most the batch in
/// flight at the kill, and are recorded as such."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_fan_out_leaves_nobody_out_and_marks_what_it_may_have_sent_twice() {
    let app = TestApp::spawn_with(TestAppOptions { workers: false, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    let population = app.seed_population(20_000, 80).await;
    slow_down_providers(&app, Duration::from_millis(5));
    let files = WorkerFiles::write(&app);
    let mut first = WorkerProcess::start(&app, &files, "first");

    let dispatcher = app.dispatcher_token("rotterdam");
    let alert = app.send_new_alert(&dispatcher, alert_body(circle(POPULATION_CENTRE, 2_000.0))).await;
    // FCM and the SMS gateway count requests cheaply; APNs keeps pace, as every batch mixes
    // platforms.
    let gauge = population.android_tokens.len() + population.sms_only_phones.len();
    wait_until("30% of the alert's hand-overs", || {
        first.assert_running();
        let done = app.fcm.requests() + app.sms.requests() >= gauge * 3 / 10;
        async move { done }
    })
    .await;
    first.kill();
    let unfinished = app
        .database_count(&format!(
            "SELECT count(*) FROM delivery_batches WHERE alert_id = '{alert}' AND finished_at IS NULL"
        ))
        .await;
    assert!(unfinished > 0, "the kill came after the fan-out had ended");

    let mut second = WorkerProcess::start(&app, &files, "second");
    wait_until_every_batch_is_done(&app, &dispatcher, &alert, &population).await;
    second.assert_running();

    let bound = process_delivery().max_unrecorded_hand_overs();
    let outcome = assert_delivered_despite_the_interruption(
        &app,
        &population,
        &alert,
        bound,
        Interruption::CutRunsShort,
    )
    .await;
    println!("killed worker, {unfinished} batches unfinished at the kill: {outcome}");
}

/// Test 17: stop PostgreSQL during a fan-out and start it again. While it is down the API says
/// 503 `database_unavailable` (not 500); once it is back the workers carry on by themselves, every
/// recipient is reached as in test 15, and no job is left failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fan_out_rides_out_postgres_stopping_and_starting_again() {
    let mut cluster = OwnCluster::start().await;
    let delivery = DeliverySettings {
        sms_fallback_after: Duration::from_secs(3600),
        ..TestAppOptions::default().delivery
    };
    let options = TestAppOptions {
        workers: true,
        delivery: DeliverySettings { push_window: 100, sms_window: 8, email_window: 2, ..delivery },
        ..TestAppOptions::default()
    };
    let bound = options.delivery.max_unrecorded_hand_overs();
    let app = TestApp::spawn_on(cluster.database(), options).await;
    app.load_reference_data().await;
    let population = app.seed_population(2_000, 80).await;
    // Slow enough (every round of hand-overs takes this long) that the stop lands well inside
    // the fan-out.
    slow_down_providers(&app, Duration::from_millis(250));

    let dispatcher = app.dispatcher_token("rotterdam");
    let alert = app.send_new_alert(&dispatcher, alert_body(circle(POPULATION_CENTRE, 2_000.0))).await;
    let android = population.android_tokens.len();
    wait_until("the first pushes", || {
        let done = app.fcm.requests() >= android / 10;
        async move { done }
    })
    .await;
    cluster.stop().await;
    assert!(app.fcm.requests() < android, "the fan-out ended before the database stopped");

    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (503, "database_unavailable"));
    let (status, body) = problem(app.get_as(&format!("/v1/alerts/{alert}"), &dispatcher).await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (503, "database_unavailable"));

    cluster.restart().await;
    wait_until_every_batch_is_done(&app, &dispatcher, &alert, &population).await;
    let delivery_jobs = "SELECT count(*) FROM background_jobs
                          WHERE job_type IN ('fan_out_wave', 'deliver_push', 'deliver_sms')";
    wait_until("the fan-out and delivery jobs to end", || async {
        app.database_count(delivery_jobs).await == 0
    })
    .await;
    let failed = app.database_count("SELECT count(*) FROM background_jobs WHERE state = 'failed'").await;
    assert_eq!(failed, 0, "jobs failed for good");
    assert_eq!(app.get("/readyz").await.status(), 200);

    let outcome = assert_delivered_despite_the_interruption(
        &app,
        &population,
        &alert,
        bound,
        Interruption::MayCutRunsShort,
    )
    .await;
    println!("database stopped and restarted: {outcome}");
}

/// Every answer of APNs, FCM and the SMS gateway takes `latency`.
/// What the chart's probes and Prometheus rely on, from the real `burgernet work` process: its
/// health server on `BURGERNET_WORKER_BIND`, and a clean exit on SIGTERM once nothing runs.
#[tokio::test]
async fn the_worker_process_answers_its_probes_and_stops_cleanly_on_sigterm() {
    let app = TestApp::spawn().await;
    let files = WorkerFiles::write(&app);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut worker = WorkerProcess::start_with(
        &app,
        &files,
        "probed",
        &[("BURGERNET_WORKER_BIND", format!("127.0.0.1:{port}"))],
    );
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");

    wait_until("the worker's health server answers", || async {
        app.client.get(url("/healthz")).send().await.is_ok_and(|response| response.status() == 200)
    })
    .await;
    let ready = app.client.get(url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = app.client.get(url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("burgernet_alert_send_to_last_push_seconds_count 0"), "{metrics}");

    worker.assert_running();
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(worker.child.id() as i32, libc::SIGTERM) };
    let stopped = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = worker.child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    let status = stopped.expect("the worker did not stop within 15 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(app.client.get(url("/healthz")).send().await.is_err(), "the port is released");
}

/// The API's pool takes connections without a test query; connections the database ended (a
/// restart, an operator's `pg_terminate_backend`) must still be dropped when next taken, so the
/// requests after it are served as usual, not answered with an error.
#[tokio::test]
async fn connections_the_database_ended_are_replaced_without_an_error() {
    let app = TestApp::spawn().await;
    let participant = app.sign_up("+31612345678").await;
    // Requests at once, so the pool holds several connections.
    let requests = (0..8).map(|_| app.get_as("/v1/me", &participant.access_token));
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), 200);
    }
    let ended = app
        .database_count(
            // Materialized, so the filter runs before any termination: other tests share the
            // cluster.
            "WITH api AS MATERIALIZED (
                 SELECT pid FROM pg_stat_activity
                  WHERE datname = current_database() AND backend_type = 'client backend'
                    AND pid <> pg_backend_pid()
             )
             SELECT count(*) FROM api WHERE pg_terminate_backend(pid, 5000)",
        )
        .await;
    assert!(ended >= 2, "the API held {ended} connections");
    for _ in 0..20 {
        let response = app.get_as("/v1/me", &participant.access_token).await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
}

fn slow_down_providers(app: &TestApp, latency: Duration) {
    app.apns.fake.faults().set_latency(latency);
    app.fcm.faults().set_latency(latency);
    app.sms.faults().set_latency(latency);
}

/// Waits until the alert's counters show every participant a recipient and every batch done.
async fn wait_until_every_batch_is_done(
    app: &TestApp,
    dispatcher: &str,
    alert: &str,
    population: &Population,
) {
    let everyone = population.participants as i64;
    wait_until("every batch to be done", || async {
        let counters = &app.get_json(&format!("/v1/alerts/{alert}"), dispatcher).await["counters"];
        counters["recipients"].as_i64() == Some(everyone) && counters["batches_pending"] == 0
    })
    .await;
}

/// Polls `check` until it holds; fails the test after [`WAIT_LIMIT`].
async fn wait_until<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "waited {WAIT_LIMIT:?} for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How an interrupted fan-out ended.
struct Outcome {
    /// Hand-overs the providers accepted.
    hand_overs: usize,
    /// Device tokens and phone numbers that got the alert more than once.
    sent_twice: usize,
    /// Hand-overs beyond the first to the same target.
    extra_hand_overs: usize,
    /// Deliveries recorded as resent after an interruption (sent twice or not).
    marked: usize,
    /// Batch runs that ended without recording all they sent.
    interrupted_runs: i64,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} hand-overs; {} targets got the alert twice ({} extra hand-overs); {} deliveries marked \
             resent after an interruption; {} batch runs interrupted",
            self.hand_overs, self.sent_twice, self.extra_hand_overs, self.marked, self.interrupted_runs
        )
    }
}

#[derive(QueryableByName)]
struct Target {
    #[diesel(sql_type = Text)]
    target: String,
}

/// What the interruption did to the runs of the lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interruption {
    /// A worker died: its runs ended without their end recorded.
    CutRunsShort,
    /// The database went away and came back: runs wait for it and may end normally, or be
    /// taken over when their leases ran out meanwhile, depending on how long it was away.
    MayCutRunsShort,
}

/// Every seeded device token and SMS-only phone number got the alert; each that got it more than
/// once has its delivery marked `resent_after_interruption`, and there are no more of those than
/// the interrupted worker could have left unrecorded (`bound`); with `Interruption::CutRunsShort`
/// a lane's run was indeed cut short; the record shows one sent delivery per target; and the
/// dossier verifies.
async fn assert_delivered_despite_the_interruption(
    app: &TestApp,
    population: &Population,
    alert: &str,
    bound: usize,
    interruption: Interruption,
) -> Outcome {
    let mut received: HashMap<String, usize> = app.fcm.counts_by_token();
    for (token, count) in app.apns.fake.counts_by_token() {
        *received.entry(token).or_default() += count;
    }
    for sms in app.sms.sent() {
        *received.entry(sms.to).or_default() += 1;
    }
    let missing: Vec<&String> =
        population.targets().filter(|target| !received.contains_key(*target)).collect();
    assert!(missing.is_empty(), "{} targets never got the alert, such as {:?}", missing.len(), &missing[..1]);
    let targets = population.targets().count();
    assert_eq!(received.len(), targets, "the alert went to targets that were not seeded");

    let mut conn = app.database.connect().await;
    let marked: HashSet<String> = diesel::sql_query(
        "SELECT coalesce(dev.push_token, p.phone_number) AS target
           FROM deliveries d
           JOIN participants p ON p.id = d.participant_id
           LEFT JOIN devices dev ON dev.id = d.device_id
          WHERE d.alert_id = $1 AND d.resent_after_interruption",
    )
    .bind::<SqlUuid, _>(alert.parse::<uuid::Uuid>().unwrap())
    .load::<Target>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.target)
    .collect();
    let sent_twice: Vec<(&String, &usize)> = received.iter().filter(|(_, count)| **count > 1).collect();
    let unmarked = sent_twice.iter().filter(|(target, _)| !marked.contains(*target)).count();
    assert_eq!(unmarked, 0, "of {} targets sent twice, {unmarked} are not marked", sent_twice.len());

    let sent = app
        .database_count(&format!(
            "SELECT count(*) FROM deliveries WHERE alert_id = '{alert}' AND state = 'sent'"
        ))
        .await;
    let not_sent = app
        .database_count(&format!(
            "SELECT count(*) FROM deliveries WHERE alert_id = '{alert}' AND state <> 'sent'"
        ))
        .await;
    assert_eq!((sent, not_sent), (targets as i64, 0), "one sent delivery per target");
    let interrupted_runs = app
        .database_count(&format!(
            "SELECT count(*) FROM delivery_batches WHERE alert_id = '{alert}' AND attempts > runs_recorded"
        ))
        .await;
    let outcome = Outcome {
        hand_overs: received.values().sum(),
        sent_twice: sent_twice.len(),
        extra_hand_overs: sent_twice.iter().map(|(_, count)| **count - 1).sum(),
        marked: marked.len(),
        interrupted_runs,
    };
    assert!(
        outcome.extra_hand_overs <= bound,
        "more sent twice than the {bound} hand-overs a worker can have unrecorded: {outcome}"
    );
    if interruption == Interruption::CutRunsShort {
        assert!(outcome.interrupted_runs > 0, "no batch run was cut short: {outcome}");
    }

    let verification = dossier::verify(&mut conn, AlertId(alert.parse().unwrap())).await.unwrap();
    assert!(verification.entries > 0);
    assert_eq!(verification.first_broken, None, "the dossier does not verify");
    outcome
}

/// What a `burgernet work` process reads (the APNs key, the service account, the certificate
/// authorities) and writes (its log), in a directory of its own. Removed afterwards, unless the
/// test failed: then the logs stay for a look.
struct WorkerFiles {
    dir: PathBuf,
}

impl WorkerFiles {
    fn write(app: &TestApp) -> Self {
        let dir = std::env::temp_dir().join(format!("burgernet-resilience-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = Self { dir };
        std::fs::write(files.path("apns-key.p8"), &app.apns.fake.credentials().signing_key_pem).unwrap();
        std::fs::write(files.path("apns-ca.pem"), app.apns.ca.ca_pem()).unwrap();
        std::fs::write(files.path("fcm-service-account.json"), app.fcm.service_account_json()).unwrap();
        std::fs::write(files.path("fcm-ca.pem"), app.fcm.ca_pem()).unwrap();
        files
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The environment of a worker that uses the app's database and fakes, with a short lease so
    /// a dead worker's jobs are taken over soon.
    fn environment(&self, app: &TestApp) -> Vec<(&'static str, String)> {
        let apns = app.apns.fake.credentials();
        let path = |name: &str| self.path(name).display().to_string();
        vec![
            ("DATABASE_URL", app.database.url.expose().clone()),
            ("BURGERNET_DB_POOL_SIZE", "8".into()),
            ("BURGERNET_WORKER_CONCURRENCY", PROCESS_CONCURRENCY.to_string()),
            ("BURGERNET_JOB_LEASE", "2s".into()),
            ("BURGERNET_JOB_POLL_INTERVAL", "200ms".into()),
            // Several workers run side by side: each health server on a port of its own.
            ("BURGERNET_WORKER_BIND", "127.0.0.1:0".into()),
            ("BURGERNET_SMS_FALLBACK_AFTER", "1h".into()),
            ("BURGERNET_PUSH_WINDOW", process_delivery().push_window.to_string()),
            ("BURGERNET_SMS_CONCURRENCY", process_delivery().sms_window.to_string()),
            ("BURGERNET_EMAIL_CONCURRENCY", process_delivery().email_window.to_string()),
            ("BURGERNET_FCM_RATE", "none".into()),
            ("BURGERNET_SMS_RATE", "none".into()),
            ("BURGERNET_LOG_FORMAT", "json".into()),
            ("BURGERNET_PUBLIC_URL", PUBLIC_URL.into()),
            ("BURGERNET_MEDIA_DIR", path("media")),
            ("BURGERNET_MEDIA_SIGNING_KEY", "a-media-signing-key-for-this-test-0123456789".into()),
            ("BURGERNET_DOSSIER_CHECKPOINT_KEY", DOSSIER_CHECKPOINT_KEY.into()),
            ("BURGERNET_APNS_KEY_FILE", path("apns-key.p8")),
            ("BURGERNET_APNS_KEY_ID", apns.key_id.clone()),
            ("BURGERNET_APNS_TEAM_ID", apns.team_id.clone()),
            ("BURGERNET_APNS_TOPIC", apns.topic.clone()),
            ("BURGERNET_APNS_URL", app.apns.fake.base_url()),
            ("BURGERNET_APNS_SANDBOX_URL", app.apns.fake.base_url()),
            ("BURGERNET_APNS_CA_FILE", path("apns-ca.pem")),
            ("BURGERNET_FCM_SERVICE_ACCOUNT_FILE", path("fcm-service-account.json")),
            ("BURGERNET_FCM_URL", app.fcm.base_url().into()),
            ("BURGERNET_FCM_CA_FILE", path("fcm-ca.pem")),
            ("BURGERNET_SMS_GATEWAY_URL", app.sms.base_url().into()),
            ("BURGERNET_SMS_GATEWAY_API_KEY", app.sms.api_key().into()),
            ("BURGERNET_SMS_WEBHOOK_SECRET", app.sms.webhook_secret().into()),
            ("BURGERNET_SMTP_URL", app.smtp.url()),
            ("BURGERNET_VOICE_GATEWAY_URL", app.voice.base_url().into()),
            ("BURGERNET_VOICE_GATEWAY_API_KEY", app.voice.api_key().into()),
            ("BURGERNET_VOICE_WEBHOOK_SECRET", app.voice.webhook_secret().into()),
            ("BURGERNET_VOICE_CALLER_ID", app.voice.caller_id().into()),
        ]
    }
}

impl Drop for WorkerFiles {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the worker logs are in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A running `burgernet work`, killed when dropped, so a failing test leaves no process behind.
struct WorkerProcess {
    name: &'static str,
    child: Child,
}

impl WorkerProcess {
    fn start(app: &TestApp, files: &WorkerFiles, name: &'static str) -> Self {
        Self::start_with(app, files, name, &[])
    }

    /// [`WorkerProcess::start`] with some variables set otherwise.
    fn start_with(
        app: &TestApp,
        files: &WorkerFiles,
        name: &'static str,
        overrides: &[(&str, String)],
    ) -> Self {
        let log = std::fs::File::create(files.path(&format!("{name}.log"))).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_burgernet"));
        command
            .arg("work")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(files.environment(app))
            .envs(overrides.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: prctl is async-signal-safe. Should this test process die without unwinding,
        // the worker dies with it.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Self { name, child: command.spawn().expect("start burgernet work") }
    }

    fn assert_running(&mut self) {
        let exited = self.child.try_wait().unwrap();
        assert!(exited.is_none(), "the {} worker exited early: {exited:?}", self.name);
    }

    /// SIGKILL: the worker gets no chance to finish, record or release anything.
    fn kill(mut self) {
        self.assert_running();
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
