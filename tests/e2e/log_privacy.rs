//! The logs of a full sign-up hold no personal data. The real `burgernet serve` and `burgernet
//! work` run with JSON logs at debug level against one database, sending through a fake SMS
//! gateway, an SMTP sink and the fake push providers; a participant signs up through HTTP (with
//! some failing requests on the way), the workers send the e-mail verification and the welcome
//! message, a dispatcher sends an alert that reaches the participant's phone by push; then both
//! processes stop and every byte they wrote is searched for the phone number, the e-mail address,
//! the address and the coordinates, in the forms they were sent in and the forms they are stored in.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use burgernet_core::auth::staff::StaffRole;
use burgernet_local::identity::{DevKeyPair, StaffTokenRequest, mint_staff_token};
use serde_json::{Value, json};

use crate::helpers::TestDatabase;
use crate::helpers::apns::ApnsHarness;
use crate::helpers::fcm::{FakeFcmExt, start_fake_fcm};
use crate::helpers::sms::FakeSmsGateway;
use crate::helpers::smtp_sink::SmtpSink;

const PUBLIC_URL: &str = "https://api.burgernet.test";
const ISSUER: &str = "https://idp.test";
const AUDIENCE: &str = "burgernet-api";

/// The participant's details, as distinctive as possible so a find is never a coincidence.
const PHONE_E164: &str = "+31644172093";
const PHONE_AS_TYPED: &str = "06 44 17 20 93";
const EMAIL: &str = "henk.devries.4417@voorbeeld-post.nl";
const EMAIL_LOCAL_PART: &str = "henk.devries.4417";
const DISPLAY_NAME: &str = "Henk de Vries-Oosterbroek";
const POSTCODE: &str = "3012 KN";
const HOUSE_NUMBER: &str = "147-B";
/// Home, in Rotterdam.
const HOME: (f64, f64) = (51.9225312, 4.4791709);
/// Where the phone is, for "alerts where I am".
const HERE: (f64, f64) = (51.9187431, 4.4823517);
const PUSH_TOKEN: &str = "eHk3Xq9LpT2:APA91bGz8WqR4mN7vK2xJ5cF1dS6hY0uI3oP9lA-_bC4eD7fG2hJ5kL8";
/// Numbers refused on the way, which must not be logged either.
const FOREIGN_PHONE: &str = "+1 202 555 0143";
const SHORT_PHONE: &str = "06 1357 246";

/// Everything that must never appear in a log, with what it is (for the failure message).
fn personal_data() -> Vec<(String, String)> {
    let mut texts: Vec<(&str, String)> = vec![
        ("phone number, E.164", PHONE_E164.into()),
        ("phone number, digits only", "31644172093".into()),
        ("phone number, national", "0644172093".into()),
        ("phone number, without trunk prefix", "644172093".into()),
        ("phone number, as typed", PHONE_AS_TYPED.into()),
        ("refused phone number, as typed", FOREIGN_PHONE.into()),
        ("refused phone number, digits", "2025550143".into()),
        ("refused phone number, as typed", SHORT_PHONE.into()),
        ("refused phone number, digits", "061357246".into()),
        ("e-mail address", EMAIL.into()),
        ("e-mail local part", EMAIL_LOCAL_PART.into()),
        ("display name", DISPLAY_NAME.into()),
        ("postcode, as typed", POSTCODE.into()),
        ("postcode, normalised", POSTCODE.replace(' ', "")),
        ("house number", HOUSE_NUMBER.into()),
        ("push token", PUSH_TOKEN.into()),
    ];
    // A debug log of a database driver prints query parameters as lists of bytes: the text's
    // UTF-8 bytes, a coordinate's eight bytes as PostgreSQL receives a float8.
    let mut forbidden: Vec<(String, String)> =
        texts.iter().map(|(what, text)| (format!("{what}, as bytes"), byte_list(text.as_bytes()))).collect();
    // Coordinates as sent, rounded and cut short, down to 5 decimals (about a metre).
    for (what, degrees) in [
        ("home latitude", HOME.0),
        ("home longitude", HOME.1),
        ("current latitude", HERE.0),
        ("current longitude", HERE.1),
    ] {
        forbidden.push((format!("{what}, as float8 bytes"), byte_list(&degrees.to_be_bytes())));
        let full = degrees.to_string();
        let dot = full.find('.').unwrap();
        for places in 5..full.len() - dot {
            texts.push((what, format!("{degrees:.places$}")));
            texts.push((what, full[..dot + 1 + places].to_string()));
        }
    }
    forbidden.extend(texts.into_iter().map(|(what, text)| (what.to_string(), text)));
    forbidden.sort_by(|a, b| a.1.cmp(&b.1));
    forbidden.dedup_by(|a, b| a.1 == b.1);
    forbidden
}

/// Bytes as `{:?}` prints them inside a list: `43, 51, 49`.
fn byte_list(bytes: &[u8]) -> String {
    bytes.iter().map(u8::to_string).collect::<Vec<_>>().join(", ")
}

/// Up to 100 characters either side of `needle` in `line`.
fn around(line: &str, needle: &str) -> String {
    let at = line.find(needle).unwrap();
    let start = line.floor_char_boundary(at.saturating_sub(100));
    let end = line.ceil_char_boundary((at + needle.len() + 100).min(line.len()));
    line[start..end].to_string()
}

fn burgernet(database: &TestDatabase, sms: &FakeSmsGateway, smtp: &SmtpSink) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_burgernet"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database.url.expose())
        .env("BURGERNET_DB_POOL_SIZE", "4")
        .env("BURGERNET_LOG", "debug")
        .env("BURGERNET_LOG_FORMAT", "json")
        .env("BURGERNET_PUBLIC_URL", PUBLIC_URL)
        .env(
            "BURGERNET_MEDIA_DIR",
            std::env::temp_dir().join(format!("burgernet-log-privacy-{}", uuid::Uuid::new_v4())),
        )
        .env("BURGERNET_MEDIA_SIGNING_KEY", "a-media-signing-key-for-this-test-0123456789")
        .env("BURGERNET_SMS_GATEWAY_URL", sms.base_url())
        .env("BURGERNET_SMS_GATEWAY_API_KEY", sms.api_key())
        .env("BURGERNET_SMS_WEBHOOK_SECRET", sms.webhook_secret())
        .env("BURGERNET_SMTP_URL", smtp.url())
        // Nothing here calls; the gateway only needs to be configured.
        .env("BURGERNET_VOICE_GATEWAY_URL", "http://127.0.0.1:9")
        .env("BURGERNET_VOICE_GATEWAY_API_KEY", "unused-key")
        .env("BURGERNET_VOICE_WEBHOOK_SECRET", "an-unused-voice-webhook-secret-0123456789")
        .env("BURGERNET_VOICE_CALLER_ID", "+31880000000");
    command
}

/// A `burgernet` process this test started; killed if the test ends without stopping it.
struct Process {
    name: &'static str,
    child: Option<Child>,
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `command` with stdout and stderr going to files in `dir` (files, not pipes: a full
/// pipe would stall a chatty process).
fn start(mut command: Command, dir: &Path, name: &'static str) -> Process {
    let stdout = std::fs::File::create(dir.join(format!("{name}.stdout"))).unwrap();
    let stderr = std::fs::File::create(dir.join(format!("{name}.stderr"))).unwrap();
    let child = command.stdin(Stdio::null()).stdout(stdout).stderr(stderr).spawn().expect("start burgernet");
    Process { name, child: Some(child) }
}

/// Sends SIGTERM and waits for a clean exit.
async fn stop(mut process: Process) {
    let (name, mut child) = (process.name, process.child.take().unwrap());
    // SAFETY: signals a child process this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("burgernet {name} did not stop on SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "burgernet {name} stopped with {status}");
}

/// Whether `needle` occurs in `haystack` as a whole word: not inside a longer run of letters or
/// digits (a six-digit code may well occur inside an id).
fn contains_word(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + needle.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// The HTTP side of the test: one client, the server's address, the participant's token.
struct Api {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Sends a raw body declared as JSON (for malformed JSON).
    async fn send_raw(&self, method: reqwest::Method, path: &str, body: &str) -> (u16, Value) {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.token.as_deref().unwrap_or_default())
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn assert_answer((status, body): &(u16, Value), expected: u16, code: Option<&str>) {
    assert_eq!(*status, expected, "{body}");
    if let Some(code) = code {
        assert_eq!(body["code"], code, "{body}");
    }
}

/// A log with the `timestamp` values blanked out: a timestamp's fraction of a second could by
/// chance continue a coordinate's digits (`...:51.92253...`), which would be no leak.
fn without_timestamps(log: &str) -> String {
    log.lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(fields)) => match fields.get("timestamp").and_then(Value::as_str) {
                Some(timestamp) => line.replacen(timestamp, "", 1),
                None => line.to_string(),
            },
            _ => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The JSON lines of a log; every line must be one.
fn json_lines(log: &str, name: &str) -> Vec<Value> {
    log.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("{name}: not a JSON line: {line}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logs_of_a_full_sign_up_hold_no_phone_number_email_address_or_coordinate() {
    let database = TestDatabase::new().await;
    burgernet_core::reference_data::load_demo_reference_data(&mut database.connect().await).await.unwrap();
    let sms = FakeSmsGateway::start().await;
    let smtp = SmtpSink::start().await;
    let dir = std::env::temp_dir().join(format!("burgernet-log-privacy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let identity = DevKeyPair::generate();
    std::fs::write(dir.join("jwks.json"), &identity.jwks).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();

    let mut serve = burgernet(&database, &sms, &smtp);
    serve
        .arg("serve")
        .env("BURGERNET_BIND", format!("127.0.0.1:{port}"))
        .env("BURGERNET_PARTICIPANT_TOKEN_SECRET", "a-participant-secret-for-this-test-only-0123")
        .env("BURGERNET_STAFF_TOKEN_ISSUER", ISSUER)
        .env("BURGERNET_STAFF_TOKEN_AUDIENCE", AUDIENCE)
        .env("BURGERNET_STAFF_TOKEN_KEYS", dir.join("jwks.json"));
    let serve = start(serve, &dir, "serve");
    let apns = ApnsHarness::start().await;
    let fcm = start_fake_fcm();
    let mut work = burgernet(&database, &sms, &smtp);
    work.arg("work")
        .envs(apns.env(&dir))
        .envs(fcm.fcm_env(&dir))
        .env("BURGERNET_WORKER_CONCURRENCY", "2")
        .env("BURGERNET_WORKER_BIND", "127.0.0.1:0")
        .env("BURGERNET_DOSSIER_CHECKPOINT_KEY", crate::helpers::app::DOSSIER_CHECKPOINT_KEY)
        .env("BURGERNET_JOB_POLL_INTERVAL", "250ms")
        .env("BURGERNET_SHUTDOWN_GRACE", "2s");
    let work = start(work, &dir, "work");

    let mut api =
        Api { client: reqwest::Client::new(), base: format!("http://127.0.0.1:{port}"), token: None };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = api.client.get(format!("{}/readyz", api.base)).send().await
            && response.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "burgernet serve did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    use reqwest::Method as M;

    // Signing in: two numbers refused, a code, a wrong code, the right one.
    let refused = api.send(M::POST, "/v1/sign-in/codes", Some(json!({"phone_number": FOREIGN_PHONE}))).await;
    assert_answer(&refused, 422, Some("unsupported_phone_country"));
    let refused = api.send(M::POST, "/v1/sign-in/codes", Some(json!({"phone_number": SHORT_PHONE}))).await;
    assert_answer(&refused, 422, Some("invalid_phone_number"));
    let sent = api.send(M::POST, "/v1/sign-in/codes", Some(json!({"phone_number": PHONE_AS_TYPED}))).await;
    assert_answer(&sent, 202, None);
    let code = crate::helpers::app::code_in(&sms.wait_for_sent(1).await[0].body);
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let verification = json!({"phone_number": PHONE_E164, "code": wrong});
    assert_answer(
        &api.send(M::POST, "/v1/sign-in/tokens", Some(verification)).await,
        422,
        Some("code_incorrect"),
    );
    let verification = json!({"phone_number": PHONE_AS_TYPED, "code": code});
    let (status, tokens) = api.send(M::POST, "/v1/sign-in/tokens", Some(verification)).await;
    assert_eq!(status, 200, "{tokens}");
    let access_token = tokens["access_token"].as_str().unwrap().to_string();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    api.token = Some(access_token.clone());

    // The profile: a name and an e-mail address (one malformed first), alerts where I am.
    let malformed = json!({"email": format!("{EMAIL_LOCAL_PART}@@voorbeeld-post")});
    assert_answer(&api.send(M::PATCH, "/v1/me", Some(malformed)).await, 422, Some("invalid_email"));
    let profile = json!({
        "display_name": DISPLAY_NAME,
        "email": EMAIL,
        "alerts_where_i_am": true,
        "channels": ["push", "sms", "email"],
    });
    let (status, me) = api.send(M::PATCH, "/v1/me", Some(profile)).await;
    assert_eq!((status, me["phone_number"].as_str()), (200, Some(PHONE_E164)), "{me}");

    // The home: malformed coordinates and a malformed address first.
    let home = |latitude: Value, postcode: &str| {
        json!({
            "kind": "home",
            "name": "Thuis",
            "latitude": latitude,
            "longitude": HOME.1,
            "address": {"postcode": postcode, "house_number": HOUSE_NUMBER},
        })
    };
    let as_text = home(json!(HOME.0.to_string()), POSTCODE);
    assert_answer(&api.send(M::POST, "/v1/me/places", Some(as_text)).await, 422, Some("invalid_body"));
    let off_the_globe = home(json!(HOME.0 + 100.0), POSTCODE);
    let answer = api.send(M::POST, "/v1/me/places", Some(off_the_globe)).await;
    assert_answer(&answer, 422, Some("invalid_coordinates"));
    let not_json =
        format!(r#"{{"kind": "home", "name": "Thuis", "latitude": {}, "longitude": {},"#, HOME.0, HOME.1);
    assert_answer(&api.send_raw(M::POST, "/v1/me/places", &not_json).await, 400, Some("malformed_json"));
    let no_such_postcode = home(json!(HOME.0), "3012 SS");
    let answer = api.send(M::POST, "/v1/me/places", Some(no_such_postcode)).await;
    assert_answer(&answer, 422, Some("invalid_postal_address"));
    let (status, place) = api.send(M::POST, "/v1/me/places", Some(home(json!(HOME.0), POSTCODE))).await;
    assert_eq!((status, place["municipality"].as_str()), (201, Some("GM0599")), "{place}");
    assert_answer(&api.send(M::GET, "/v1/me/places", None).await, 200, None);

    // Where I am: a malformed position first.
    let position =
        |longitude: f64| json!({"latitude": HERE.0, "longitude": longitude, "accuracy_meters": 12.5});
    let answer = api.send(M::PUT, "/v1/me/location", Some(position(HERE.1 + 180.0))).await;
    assert_answer(&answer, 422, Some("invalid_coordinates"));
    assert_answer(&api.send(M::PUT, "/v1/me/location", Some(position(HERE.1))).await, 200, None);
    assert_answer(&api.send(M::GET, "/v1/me/location", None).await, 200, None);

    // A phone for push, the export, and the municipality's officer looking the participant up.
    let device =
        json!({"platform": "android", "push_token": PUSH_TOKEN, "app_version": "2.4.1", "locale": "nl-NL"});
    assert_answer(&api.send(M::POST, "/v1/me/devices", Some(device)).await, 201, None);
    let (status, export) = api.send(M::GET, "/v1/me/export", None).await;
    assert_eq!(status, 200);
    assert_eq!(export["places"][0]["address"]["house_number"], HOUSE_NUMBER, "the data went in: {export}");
    let officer = mint_staff_token(
        identity.private_pem.expose(),
        &StaffTokenRequest {
            subject: "officer-1".into(),
            name: Some("Officer".into()),
            role: StaffRole::RelationsOfficer { municipality: "GM0599".into() },
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            lifetime: Duration::from_secs(600),
        },
    )
    .unwrap();
    let officer_api =
        Api { client: api.client.clone(), base: api.base.clone(), token: Some(officer.expose().clone()) };
    let search = "/v1/municipalities/GM0599/participants?phone_number=0644172093&postcode=3012%20KN";
    let (status, found) = officer_api.send(M::GET, search, None).await;
    assert_eq!((status, found["total"].as_i64()), (200, Some(1)), "{found}");

    // A dispatcher previews and sends an alert around the home; the phone gets the push, the app
    // reports receipt.
    let dispatcher = mint_staff_token(
        identity.private_pem.expose(),
        &StaffTokenRequest {
            subject: "dispatcher-1".into(),
            name: Some("Dispatcher".into()),
            role: StaffRole::Dispatcher { region: "rotterdam".into() },
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            lifetime: Duration::from_secs(600),
        },
    )
    .unwrap();
    let dispatcher_api =
        Api { client: api.client.clone(), base: api.base.clone(), token: Some(dispatcher.expose().clone()) };
    let area =
        json!({"type": "circle", "center": {"latitude": HOME.0, "longitude": HOME.1}, "radius_meters": 500});
    let preview = json!({"category": "search", "urgent": true, "channels": ["push", "sms"], "area": area});
    let (status, reach) = dispatcher_api.send(M::POST, "/v1/alerts/reach-preview", Some(preview)).await;
    assert_eq!((status, &reach["push"]["participants"]), (200, &json!({"fewer_than": 5})), "{reach}");
    let alert = json!({
        "category": "search", "urgent": true, "channels": ["push", "sms"],
        "texts": {"nl": {"title": "Gezocht", "message": "Man met rode jas."}},
        "call_back_number": "0900-8844", "area": area,
    });
    let (status, alert) = dispatcher_api.send(M::POST, "/v1/alerts", Some(alert)).await;
    assert_eq!(status, 201, "{alert}");
    let alert_id = alert["id"].as_str().unwrap().to_string();
    assert_answer(
        &dispatcher_api.send(M::POST, &format!("/v1/alerts/{alert_id}/send"), None).await,
        202,
        None,
    );
    assert_eq!(fcm.wait_for_received(1).await.unwrap()[0].token, PUSH_TOKEN);
    let receipt = json!({"kind": "received"});
    assert_answer(
        &api.send(M::POST, &format!("/v1/me/alerts/{alert_id}/receipts"), Some(receipt)).await,
        204,
        None,
    );
    assert_answer(
        &dispatcher_api.send(M::GET, &format!("/v1/alerts/{alert_id}/dossier"), None).await,
        200,
        None,
    );

    // The worker sends the welcome by SMS (the address is not verified yet) and the link by
    // e-mail; the link works.
    let messages = sms.wait_for_sent(2).await;
    assert_eq!(messages[1].to, PHONE_E164);
    assert!(messages[1].body.contains("Welkom"), "{}", messages[1].body);
    let mail = smtp.wait_for_messages(1).await.remove(0);
    assert_eq!(mail.to, [EMAIL]);
    let link =
        mail.text_body.split_whitespace().find(|word| word.starts_with(PUBLIC_URL)).unwrap().to_string();
    let (status, page) = api.send(M::GET, link.strip_prefix(PUBLIC_URL).unwrap(), None).await;
    assert_eq!(status, 200, "{page}");
    let link_token = link.rsplit('/').next().unwrap().to_string();

    // Leaving: the confirmation goes to the now verified address.
    let (status, erased) = api.send(M::DELETE, "/v1/me", None).await;
    assert_eq!((status, erased["confirmation_sent"].as_bool()), (200, Some(true)), "{erased}");
    smtp.wait_for_messages(2).await;

    // The worker has logged the jobs it ran before it is stopped: it logs each one's end before
    // taking it off the queue.
    database.run_pending_jobs().await;
    let worker_log = std::fs::read_to_string(dir.join("work.stderr")).unwrap();
    let finished = worker_log.lines().filter(|line| line.contains("job finished")).count();
    assert!(finished >= 4, "{finished} jobs logged as finished");
    stop(serve).await;
    stop(work).await;

    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let logs = [
        ("serve stdout", read("serve.stdout")),
        ("serve stderr", read("serve.stderr")),
        ("work stdout", read("work.stdout")),
        ("work stderr", read("work.stderr")),
    ];

    // The logs are there: every request of the sign-up, by route pattern, and every job.
    let served: Vec<(String, String, u64)> = json_lines(&logs[1].1, "serve")
        .iter()
        .filter(|line| line["message"] == "request served")
        .map(|line| {
            let text = |field: &str| line["span"][field].as_str().unwrap_or_default().to_string();
            (text("method"), text("route"), line["status"].as_u64().unwrap_or_default())
        })
        .collect();
    for (method, route, status) in [
        ("POST", "/v1/sign-in/codes", 422),
        ("POST", "/v1/sign-in/codes", 202),
        ("POST", "/v1/sign-in/tokens", 422),
        ("POST", "/v1/sign-in/tokens", 200),
        ("PATCH", "/v1/me", 422),
        ("PATCH", "/v1/me", 200),
        ("POST", "/v1/me/places", 422),
        ("POST", "/v1/me/places", 400),
        ("POST", "/v1/me/places", 201),
        ("GET", "/v1/me/places", 200),
        ("PUT", "/v1/me/location", 422),
        ("PUT", "/v1/me/location", 200),
        ("GET", "/v1/me/location", 200),
        ("POST", "/v1/me/devices", 201),
        ("GET", "/v1/me/export", 200),
        ("GET", "/v1/municipalities/{cbs_code}/participants", 200),
        ("GET", "/v1/email-verifications/{token}", 200),
        ("DELETE", "/v1/me", 200),
    ] {
        assert!(
            served.contains(&(method.to_string(), route.to_string(), status)),
            "no log line for {method} {route} answered {status}; logged: {served:?}"
        );
    }
    let mut jobs: Vec<String> = json_lines(&logs[3].1, "work")
        .iter()
        .filter(|line| line["message"] == "job finished" && line["outcome"] == "succeeded")
        .map(|line| line["span"]["job_type"].as_str().unwrap_or_default().to_string())
        .collect();
    jobs.sort();
    assert_eq!(
        jobs,
        ["deliver_push", "fan_out_wave", "notify_participant", "notify_participant"],
        "the verification, the welcome, and the alert's fan-out and delivery"
    );
    // Sending is logged too, with the recipient masked.
    assert!(logs[1].1.contains("sms accepted by the gateway"), "the API's SMS are logged");
    assert!(logs[1].1.contains("e-mail accepted by the mail server"), "the API's e-mails are logged");
    assert!(logs[3].1.contains("sms accepted by the gateway"), "the worker's SMS are logged");
    assert!(logs[3].1.contains("e-mail accepted by the mail server"), "the worker's e-mails are logged");

    // And none of them holds any personal data, nor any of the participant's secrets.
    let mut forbidden = personal_data();
    forbidden.extend([
        ("access token".to_string(), access_token),
        ("refresh token".into(), refresh_token),
        ("e-mail verification token".into(), link_token),
    ]);
    let mut leaks = Vec::new();
    for (name, log) in &logs {
        let log = without_timestamps(log);
        for (what, value) in &forbidden {
            if let Some(line) = log.lines().find(|line| line.contains(value.as_str())) {
                leaks.push(format!("{name}: the {what} {value:?} in: ...{}...", around(line, value)));
            }
        }
        if let Some(line) = log.lines().find(|line| contains_word(line, &code)) {
            leaks.push(format!("{name}: the sign-in code {code:?} in: ...{}...", around(line, &code)));
        }
    }
    assert!(
        leaks.is_empty(),
        "personal data reached the logs (kept in {}):\n{}",
        dir.display(),
        leaks.join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
