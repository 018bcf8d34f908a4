//! The `burgernet` binary: its subcommands, start-up configuration errors, the admin tasks and
//! the all-in-one local mode.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::TestDatabase;

fn burgernet() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_burgernet"));
    // Only what each test sets: no DATABASE_URL or secrets leaking in from the caller.
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

fn run(command: &mut Command) -> (bool, String, String) {
    let output = command.output().expect("run burgernet");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

#[test]
fn help_lists_the_subcommands() {
    let (ok, stdout, _) = run(burgernet().arg("--help"));
    assert!(ok);
    for subcommand in ["serve", "work", "migrate", "dev", "admin"] {
        assert!(
            stdout.lines().any(|line| line.trim_start().starts_with(subcommand)),
            "{subcommand} missing:\n{stdout}"
        );
    }
    let (ok, stdout, _) = run(burgernet().args(["admin", "--help"]));
    assert!(ok);
    for task in [
        "create-region",
        "load-municipalities",
        "mint-staff-token",
        "failed-jobs",
        "retry-failed-job",
        "openapi",
    ] {
        assert!(stdout.contains(task), "{task} missing:\n{stdout}");
    }
}

#[test]
fn a_missing_or_malformed_setting_stops_start_up_and_names_the_variable() {
    let (ok, _, stderr) = run(burgernet().arg("serve"));
    assert!(!ok);
    assert!(stderr.contains("DATABASE_URL") && stderr.contains("required"), "{stderr}");

    let (ok, _, stderr) = run(burgernet().arg("serve").env("DATABASE_URL", "postgres://localhost/x"));
    assert!(!ok);
    assert!(stderr.contains("BURGERNET_PARTICIPANT_TOKEN_SECRET"), "{stderr}");

    let secret = "a-secret-that-must-never-be-printed-0123456789";
    let (ok, _, stderr) = run(burgernet()
        .arg("serve")
        .env("DATABASE_URL", "postgres://app:hunter2@localhost/x")
        .env("BURGERNET_PARTICIPANT_TOKEN_SECRET", secret)
        .env("BURGERNET_STAFF_TOKEN_ISSUER", "https://idp")
        .env("BURGERNET_STAFF_TOKEN_AUDIENCE", "burgernet")
        .env("BURGERNET_STAFF_TOKEN_KEYS", "/nonexistent/keys.pem"));
    assert!(!ok);
    assert!(stderr.contains("BURGERNET_STAFF_TOKEN_KEYS"), "{stderr}");
    assert!(!stderr.contains(secret) && !stderr.contains("hunter2"), "a secret was printed: {stderr}");

    let (ok, _, stderr) = run(burgernet()
        .arg("work")
        .env("DATABASE_URL", "postgres://localhost/x")
        .env("BURGERNET_JOB_LEASE", "soon"));
    assert!(!ok);
    assert!(stderr.contains("BURGERNET_JOB_LEASE"), "{stderr}");

    // Without an SMS gateway nobody could sign in: serve and work refuse to start.
    let keys = std::env::temp_dir().join(format!("burgernet-keys-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&keys, burgernet_local::identity::DevKeyPair::generate().jwks).unwrap();
    let api_key = "an-sms-key-that-must-never-be-printed";
    for subcommand in ["serve", "work"] {
        // Everything but the providers.
        let configured = || {
            let mut command = burgernet();
            command
                .arg(subcommand)
                .env("DATABASE_URL", "postgres://localhost/x")
                .env("BURGERNET_PARTICIPANT_TOKEN_SECRET", secret)
                .env("BURGERNET_STAFF_TOKEN_ISSUER", "https://idp")
                .env("BURGERNET_STAFF_TOKEN_AUDIENCE", "burgernet")
                .env("BURGERNET_STAFF_TOKEN_KEYS", &keys)
                .env("BURGERNET_PUBLIC_URL", "https://api.burgernet.test");
            command
        };
        let (ok, _, stderr) = run(configured().env("BURGERNET_SMTP_URL", "smtp://127.0.0.1:9"));
        assert!(!ok);
        assert!(stderr.contains("BURGERNET_SMS_GATEWAY_URL"), "{subcommand}: {stderr}");
        let (ok, _, stderr) = run(configured()
            .env("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.test")
            .env("BURGERNET_SMS_GATEWAY_API_KEY", api_key)
            .env("BURGERNET_SMS_WEBHOOK_SECRET", "a-webhook-secret-that-is-long-enough-0123"));
        assert!(!ok);
        assert!(stderr.contains("BURGERNET_SMTP_URL"), "{subcommand}: {stderr}");
        assert!(!stderr.contains(api_key), "{stderr}");
    }

    // With SMS and e-mail, work still needs the voice gateway (search and alarm alerts call by
    // default) unless no category calls, and APNs and FCM: alerts go out by push.
    let with_sms_and_email = || {
        let mut command = burgernet();
        command
            .arg("work")
            .env("DATABASE_URL", "postgres://localhost/x")
            .env("BURGERNET_PUBLIC_URL", "https://api.burgernet.test")
            .env("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.test")
            .env("BURGERNET_SMS_GATEWAY_API_KEY", api_key)
            .env("BURGERNET_SMS_WEBHOOK_SECRET", "a-webhook-secret-that-is-long-enough-0123")
            .env("BURGERNET_SMTP_URL", "smtp://127.0.0.1:9");
        command
    };
    let (ok, _, stderr) = run(&mut with_sms_and_email());
    assert!(!ok);
    assert!(stderr.contains("BURGERNET_VOICE_GATEWAY_URL"), "{stderr}");
    let (ok, _, stderr) = run(with_sms_and_email()
        .env("BURGERNET_CHANNEL_ORDER_SEARCH", "push,sms")
        .env("BURGERNET_CHANNEL_ORDER_ALARM", "push,sms"));
    assert!(!ok);
    assert!(stderr.contains("BURGERNET_APNS_KEY_FILE") && stderr.contains("APNs"), "{stderr}");
}

#[tokio::test]
async fn two_migrate_runs_at_once_apply_each_migration_once_and_both_succeed() {
    // As when a retried deploy hook overlaps the first: the second waits for the first.
    let database = TestDatabase::empty().await;
    let url = database.url.expose().clone();
    let start = || {
        burgernet()
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start migrate")
    };
    let (first, second) = (start(), start());
    let mut applied = 0;
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        applied += stdout.lines().filter(|line| line.starts_with("applied ")).count();
    }
    assert_eq!(applied, burgernet_core::db::known_migration_versions().len());
}

#[tokio::test]
async fn migrate_applies_the_schema_and_admin_loads_municipalities_all_or_nothing() {
    let database = TestDatabase::empty().await;
    let url = database.url.expose().clone();
    let (ok, stdout, stderr) = run(burgernet().arg("migrate").env("DATABASE_URL", &url));
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("applied ")).count(),
        burgernet_core::db::known_migration_versions().len()
    );
    let (ok, stdout, _) = run(burgernet().arg("migrate").env("DATABASE_URL", &url));
    assert!(ok && stdout.contains("nothing to apply"), "{stdout}");

    // With the application's role named, every migrate grants it what the application needs and
    // no more: the dossier it may only read and append to. Never to the role migrating.
    let (ok, stdout, stderr) = run(burgernet()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("BURGERNET_DATABASE_APP_ROLE", crate::helpers::database::APP_ROLE));
    assert!(ok && stdout.contains("granted the application role burgernet_app"), "{stdout}{stderr}");
    let mut conn = database.connect().await;
    for (table, privilege, granted) in [
        ("alert_dossier", "SELECT", true),
        ("alert_dossier", "INSERT", true),
        ("alert_dossier", "UPDATE", false),
        ("alert_dossier", "DELETE", false),
        ("alert_dossier", "TRUNCATE", false),
        ("reach_previews", "UPDATE", false),
        ("participants", "UPDATE", true),
        ("participants", "DELETE", true),
        ("participants", "TRUNCATE", false),
        ("dossier_anchors", "UPDATE", true),
    ] {
        let row: Granted = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(format!(
                "SELECT has_table_privilege('burgernet_app', '{table}', '{privilege}') AS granted"
            )),
            &mut conn,
        )
        .await
        .unwrap();
        assert_eq!(row.granted, granted, "{privilege} on {table}");
    }
    let owner: RoleName = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT current_user::text AS name"),
        &mut conn,
    )
    .await
    .unwrap();
    let (ok, _, stderr) = run(burgernet()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .env("BURGERNET_DATABASE_APP_ROLE", &owner.name));
    assert!(!ok && stderr.contains("is the role migrating"), "{stderr}");

    let dir = std::env::temp_dir().join(format!("burgernet-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.geojson");
    std::fs::write(
        &bad,
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"cbs_code":"GM0599","name":"Rotterdam","inhabitants":612502},
         "geometry":{"type":"Polygon","coordinates":[[[4.4,51.9],[4.5,51.9],[4.5,52.0],[4.4,52.0],[4.4,51.9]]]}},
        {"type":"Feature","properties":{"cbs_code":"Rotterdam","name":"Schiedam","inhabitants":-1},
         "geometry":{"type":"Point","coordinates":[4.4,51.9]}}]}"#,
    )
    .unwrap();
    let (ok, _, stderr) =
        run(burgernet().args(["admin", "load-municipalities"]).arg(&bad).env("DATABASE_URL", &url));
    assert!(!ok);
    assert!(stderr.contains("feature 1"), "{stderr}");
    assert!(!stderr.contains("feature 0"), "the good feature is not blamed: {stderr}");

    let (ok, stdout, stderr) = run(burgernet()
        .args([
            "admin",
            "load-municipalities",
            concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo/rotterdam-rijnmond-municipalities.geojson"),
        ])
        .env("DATABASE_URL", &url));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("19 municipalities loaded: 19 new"), "{stdout}");

    let (ok, stdout, stderr) = run(burgernet()
        .args([
            "admin",
            "create-region",
            "--code",
            "rotterdam",
            "--name",
            "Eenheid Rotterdam",
            "--municipality",
            "GM0599,GM0606",
        ])
        .env("DATABASE_URL", &url));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("with 2 municipalities"), "{stdout}");

    let (ok, stdout, _) = run(burgernet().args(["admin", "failed-jobs"]).env("DATABASE_URL", &url));
    assert!(ok && stdout.contains("No failed jobs."), "{stdout}");
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO background_jobs (job_type, payload, state, attempts, max_attempts, last_error) \
             VALUES ('send_sms', '{\"to\": \"+31612345678\"}', 'failed', 5, 5, 'gateway said 400')",
        ),
        &mut conn,
    )
    .await
    .unwrap();
    let (ok, stdout, _) = run(burgernet().args(["admin", "failed-jobs"]).env("DATABASE_URL", &url));
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("send_sms attempts=5/5") && stdout.contains("error=gateway said 400"),
        "{stdout}"
    );
    assert!(!stdout.contains("31612345678"), "payloads stay hidden: {stdout}");

    // Once the cause is fixed, the operator puts it back in the queue, once.
    let id = stdout.split_whitespace().next().unwrap().to_string();
    let (ok, stdout, stderr) =
        run(burgernet().args(["admin", "retry-failed-job", &id]).env("DATABASE_URL", &url));
    assert!(ok && stdout.contains(&format!("job {id} is queued again")), "{stdout}{stderr}");
    let (state, attempts): (String, i32) = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!("SELECT state, attempts FROM background_jobs WHERE id = {id}")),
        &mut conn,
    )
    .await
    .map(|row: JobRow| (row.state, row.attempts))
    .unwrap();
    assert_eq!((state.as_str(), attempts), ("queued", 0));
    let (ok, _, stderr) = run(burgernet().args(["admin", "retry-failed-job", &id]).env("DATABASE_URL", &url));
    assert!(!ok && stderr.contains("is not a failed job"), "{stderr}");
    let (ok, stdout, _) = run(burgernet().args(["admin", "failed-jobs"]).env("DATABASE_URL", &url));
    assert!(ok && stdout.contains("No failed jobs."), "{stdout}");
}

#[derive(diesel::QueryableByName)]
struct Granted {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    granted: bool,
}

#[derive(diesel::QueryableByName)]
struct RoleName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(diesel::QueryableByName)]
struct JobRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    attempts: i32,
}

/// Runs `burgernet dev` for real: its own PostgreSQL, the API on a free port, the outbox.
#[tokio::test]
async fn dev_mode_starts_everything_serves_the_outbox_and_stops_everything_on_ctrl_c() {
    let dir = std::env::temp_dir().join(format!("burgernet-dev-{}", uuid::Uuid::new_v4()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The log is kept next to the data, so a failure can say what the process was doing.
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("dev.log");
    let mut child = burgernet()
        .arg("dev")
        .env("BURGERNET_DEV_DIR", &dir)
        .env("BURGERNET_BIND", format!("127.0.0.1:{port}"))
        .env("BURGERNET_WORKER_BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let log_tail = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await
            && response.status() == 200
        {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "burgernet dev exited early:\n{}", log_tail());
        assert!(Instant::now() < deadline, "burgernet dev did not become ready:\n{}", log_tail());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let outbox = client.get(format!("{base}/dev/outbox")).send().await.unwrap();
    assert_eq!(outbox.status(), 200);
    assert_eq!(outbox.json::<Vec<serde_json::Value>>().await.unwrap(), Vec::<serde_json::Value>::new());

    // The printed instructions work: a minted token is accepted by the running instance.
    let (ok, token, stderr) = run(burgernet()
        .args(["admin", "mint-staff-token", "--role", "dispatcher", "--region", "rotterdam"])
        .env("BURGERNET_DEV_DIR", &dir));
    assert!(ok, "{stderr}");
    let me =
        client.get(format!("{base}/v1/regions/rotterdam")).bearer_auth(token.trim()).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let region: serde_json::Value = me.json().await.unwrap();
    assert_eq!(region["municipality_count"], 19, "the demo region is loaded");
    // Staff sign in at the local identity provider, on this instance's own address.
    let discovery = client.get(format!("{base}/dev/identity/.well-known/openid-configuration")).send().await;
    let discovery: serde_json::Value = discovery.unwrap().json().await.unwrap();
    assert_eq!(discovery["issuer"], format!("{base}/dev/identity"));

    // The API and the workers run as a role that can read and append to the dossier, never
    // switch its triggers off; admin commands get the same role.
    let url = std::fs::read_to_string(dir.join("database-url")).unwrap();
    let mut conn = burgernet_core::db::connect(url.trim()).await.unwrap();
    let row: Granted = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT current_user = 'burgernet_app' AS granted"),
        &mut conn,
    )
    .await
    .unwrap();
    assert!(row.granted, "local mode runs as burgernet_app");
    assert!(!burgernet_core::db::dossier_checkpoints::role_can_rewrite_dossier(&mut conn).await.unwrap());
    let error = diesel_async::RunQueryDsl::execute(
        diesel::sql_query("ALTER TABLE alert_dossier DISABLE TRIGGER ALL"),
        &mut conn,
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("must be owner"), "{error}");
    drop(conn);

    // Ctrl-C stops the API, the workers and the PostgreSQL it started.
    // SAFETY: signals a child process we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("burgernet dev did not stop; the end of its log:\n{}", log_tail());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status}");
    let mut printed = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut printed).unwrap();
    assert!(printed.contains("/docs") && printed.contains("mint-staff-token"), "{printed}");
    assert!(!dir.join("postgres/cluster/postmaster.pid").exists(), "PostgreSQL is still running");
    assert!(client.get(format!("{base}/healthz")).send().await.is_err(), "the API is still answering");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `burgernet serve` with JSON logs and feeds it personal data in every place a client can
/// put it: none of it may reach a log line.
#[tokio::test]
async fn serve_logs_json_with_request_ids_and_never_personal_data() {
    let database = TestDatabase::new().await;
    let dir = std::env::temp_dir().join(format!("burgernet-serve-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let identity = burgernet_local::identity::DevKeyPair::generate();
    std::fs::write(dir.join("jwks.json"), &identity.jwks).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = burgernet()
        .arg("serve")
        .env("DATABASE_URL", database.url.expose())
        .env("BURGERNET_BIND", format!("127.0.0.1:{port}"))
        .env("BURGERNET_PARTICIPANT_TOKEN_SECRET", "a-participant-secret-for-this-test-only-0123")
        .env("BURGERNET_STAFF_TOKEN_ISSUER", "https://idp.test")
        .env("BURGERNET_STAFF_TOKEN_AUDIENCE", "burgernet-api")
        .env("BURGERNET_STAFF_TOKEN_KEYS", dir.join("jwks.json"))
        .env("BURGERNET_PUBLIC_URL", "https://api.burgernet.test")
        .env("BURGERNET_MEDIA_DIR", dir.join("media"))
        .env("BURGERNET_MEDIA_SIGNING_KEY", "a-media-signing-key-for-this-test-0123456789")
        // Nothing is sent in this test; the providers only need to be configured.
        .env("BURGERNET_SMS_GATEWAY_URL", "http://127.0.0.1:9")
        .env("BURGERNET_SMS_GATEWAY_API_KEY", "unused-key")
        .env("BURGERNET_SMS_WEBHOOK_SECRET", "an-unused-webhook-secret-0123456789abcdef")
        .env("BURGERNET_SMTP_URL", "smtp://127.0.0.1:9")
        .env("BURGERNET_VOICE_GATEWAY_URL", "http://127.0.0.1:9")
        .env("BURGERNET_VOICE_GATEWAY_API_KEY", "unused-key")
        .env("BURGERNET_VOICE_WEBHOOK_SECRET", "an-unused-voice-webhook-secret-0123456789")
        .env("BURGERNET_VOICE_CALLER_ID", "+31880000000")
        .env("BURGERNET_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "burgernet serve did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let phone = "+31612345678";
    let email = "jan.jansen@example.nl";
    let position = "51.917312";
    client
        .get(format!("{base}/v1/municipalities/{phone}?email={email}&lat={position}"))
        .header("x-request-id", "trace-42")
        .header("authorization", format!("Bearer {phone}"))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/v1/regions"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"code": "{phone}", "name": "{email}", "lat": {position}"#))
        .send()
        .await
        .unwrap();

    // SAFETY: signals a child process we started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "serve did not stop cleanly on SIGTERM");
    let logs = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let traced = lines
        .iter()
        .find(|line| line["message"] == "request served" && line["span"]["request_id"] == "trace-42")
        .unwrap_or_else(|| panic!("no log line for request trace-42:\n{logs}"));
    assert_eq!(traced["span"]["route"], "/v1/municipalities/{cbs_code}", "the route pattern, not the path");
    assert_eq!(traced["status"], 401);
    for secret in ["31612345678", "jan.jansen", "example.nl", position] {
        assert!(!logs.contains(secret), "{secret} reached the logs:\n{logs}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
