//! The APNs client against the fake APNs (`burgernet_fakes::apns`): HTTP/2 over TLS on a real
//! socket, ES256 provider tokens, Apple's answers. What reaches Apple, how each of Apple's answers
//! comes back to us, and how connections behave when they break.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use burgernet_core::env::Env;
use burgernet_core::providers::ProviderAnswer;
use burgernet_core::providers::apns::{ApnsClient, ApnsConfig};
use burgernet_core::providers::push::{PushError, PushNotification};
use burgernet_core::secret::Secret;
use burgernet_core::vocabulary::devices::ApnsEnvironment;
use burgernet_fakes::apns::{ApnsTestCredentials, FakeApns, FakeApnsOptions};
use burgernet_fakes::faults::Fault;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::helpers::apns::ApnsHarness;

const TOKEN: &str = "3f2a9c0e5b7d4a1f8e6c2b0a9d7f5e3c1b9a7f5d3e1c0b8a6f4d2e0c8b6a4f2d";
const OTHER_TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const TITLE: &str = "Burgernet: vermist kind";
const BODY: &str =
    "Gezocht: jongen van 8 jaar, blauwe jas, rode pet. Laatst gezien bij het Centraal Station.";
const DATA: &[(&str, &str)] = &[("alert_id", "alert-7"), ("kind", "alert")];

fn expires_at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

fn notification(token: &str, urgent: bool) -> PushNotification<'_> {
    PushNotification {
        token,
        title: TITLE,
        body: BODY,
        urgent,
        collapse_id: "alert-7",
        expires_at: expires_at(),
        data: DATA,
        category: None,
    }
}

/// Error texts end up in logs, job errors and the dossier: no device token, no message.
fn assert_discreet(error: &PushError) {
    let text = format!("{error} {error:?}");
    for secret in [TOKEN, OTHER_TOKEN, TITLE, BODY] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

async fn send_error(client: &ApnsClient, token: &str) -> PushError {
    let error = client.send(ApnsEnvironment::Production, &notification(token, true)).await.unwrap_err();
    assert_discreet(&error);
    error
}

#[tokio::test]
async fn an_urgent_notification_arrives_with_every_header_and_the_payload_and_returns_its_apns_id() {
    let apns = ApnsHarness::start().await;

    let accepted = apns.client().send(ApnsEnvironment::Production, &notification(TOKEN, true)).await.unwrap();

    let received = apns.fake.received();
    assert_eq!(received.len(), 1);
    let push = &received[0];
    assert_eq!(accepted.provider_message_id.as_deref(), Some(push.apns_id.as_str()));
    assert_eq!(push.token, TOKEN);
    assert_eq!(push.topic, "nl.burgernet.app");
    assert_eq!(push.push_type, "alert");
    assert_eq!(push.priority, Some(10));
    assert_eq!(push.expiration, Some(1_900_000_000));
    assert_eq!(push.collapse_id.as_deref(), Some("alert-7"));
    assert_eq!(
        push.payload,
        json!({
            "aps": {
                "alert": {"title": TITLE, "body": BODY},
                "sound": "default",
                "interruption-level": "time-sensitive",
            },
            "alert_id": "alert-7",
            "kind": "alert",
        })
    );
    // Apple's apns-id: an upper-case UUID.
    assert!(uuid::Uuid::parse_str(&push.apns_id).is_ok() && push.apns_id == push.apns_id.to_uppercase());
}

#[tokio::test]
async fn a_notification_that_is_not_urgent_has_priority_5_and_interrupts_as_active() {
    let apns = ApnsHarness::start().await;

    apns.client().send(ApnsEnvironment::Production, &notification(TOKEN, false)).await.unwrap();

    let push = &apns.fake.received()[0];
    assert_eq!(push.priority, Some(5));
    assert_eq!(push.payload["aps"]["interruption-level"], "active");
}

#[tokio::test]
async fn each_environment_has_its_own_server() {
    let production = ApnsHarness::start().await;
    let credentials = production.fake.credentials().clone();
    let sandbox = FakeApns::start(production.ca.clone(), credentials).await.unwrap();
    let client =
        ApnsClient::new(ApnsConfig { sandbox_url: sandbox.base_url(), ..production.config() }).unwrap();

    client.send(ApnsEnvironment::Sandbox, &notification(TOKEN, true)).await.unwrap();
    client.send(ApnsEnvironment::Production, &notification(OTHER_TOKEN, true)).await.unwrap();

    assert_eq!(sandbox.received().iter().map(|push| push.token.as_str()).collect::<Vec<_>>(), [TOKEN]);
    assert_eq!(
        production.fake.received().iter().map(|push| push.token.as_str()).collect::<Vec<_>>(),
        [OTHER_TOKEN]
    );
}

#[tokio::test]
async fn a_long_body_is_shortened_at_a_word_until_the_payload_fits_4_kb() {
    let apns = ApnsHarness::start().await;
    let long_body = "Gezocht wordt een man van ongeveer veertig jaar, één meter tachtig. ".repeat(100);
    assert!(long_body.len() > 6_000);

    let message = PushNotification { body: &long_body, ..notification(TOKEN, true) };
    apns.client().send(ApnsEnvironment::Production, &message).await.unwrap();

    // The fake refuses payloads over 4096 bytes with 413, so arriving proves the fit.
    let push = &apns.fake.received()[0];
    let body = push.payload["aps"]["alert"]["body"].as_str().unwrap();
    let kept = body.strip_suffix('…').expect("ends with an ellipsis");
    assert!(long_body.starts_with(kept), "the start of the text is kept");
    assert!(
        long_body[kept.len()..].starts_with(' '),
        "cut at the end of a word: {:?}",
        &kept[kept.len() - 20..]
    );
    assert!(body.len() > 3_500, "no more is cut than needed: {} bytes", body.len());
    assert!(serde_json::to_vec(&push.payload).unwrap().len() <= 4096);
    assert_eq!(push.payload["aps"]["alert"]["title"], TITLE);
}

#[tokio::test]
async fn an_unregistered_token_is_reported_with_the_moment_apple_learned_it() {
    let apns = ApnsHarness::start().await;
    let before = Utc::now();
    apns.fake.unregister(TOKEN);

    let error = send_error(&apns.client(), TOKEN).await;

    let PushError::Unregistered { reason, since: Some(since), answer } = &error else { panic!("{error:?}") };
    assert_eq!(reason, "Unregistered");
    assert_eq!(answer, &Some(ProviderAnswer::coded(410, "Unregistered")));
    assert!(*since >= before - chrono::Duration::milliseconds(1) && *since <= Utc::now(), "{since}");
    assert!(!error.is_retryable());
    assert_eq!(apns.fake.count_for(TOKEN), 0);
}

#[tokio::test]
async fn a_malformed_device_token_counts_as_unregistered() {
    let apns = ApnsHarness::start().await;
    let client = apns.client();

    // Hex, but too short: Apple's verdict.
    let error = send_error(&client, "abcdef0123").await;
    assert_eq!(
        error,
        PushError::Unregistered {
            reason: "BadDeviceToken".into(),
            since: None,
            answer: Some(ProviderAnswer::coded(400, "BadDeviceToken")),
        }
    );
    assert_eq!(apns.fake.requests()[0].reason.as_deref(), Some("BadDeviceToken"));

    // Not hex: it cannot be put in the URL, so it never leaves; the verdict is the same.
    let error = send_error(&client, "not/a token").await;
    assert_eq!(error, PushError::Unregistered { reason: "BadDeviceToken".into(), since: None, answer: None });
    assert_eq!(error.provider_code(), "BadDeviceToken");
    assert_eq!(apns.fake.requests().len(), 1);
}

#[tokio::test]
async fn too_many_requests_is_rate_limiting_with_apples_retry_after() {
    let apns = ApnsHarness::start().await;
    apns.fake.faults().fail_next(1, Fault::RateLimited { retry_after_seconds: 7 });

    let error = send_error(&apns.client(), TOKEN).await;

    assert_eq!(
        error,
        PushError::RateLimited {
            reason: "TooManyRequests".into(),
            retry_after: Some(Duration::from_secs(7)),
            answer: ProviderAnswer::coded(429, "TooManyRequests"),
        }
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn service_unavailable_is_worth_retrying_and_is_not_retried_by_the_client_itself() {
    let apns = ApnsHarness::start().await;
    apns.fake.faults().fail_next(1, Fault::ServerError);
    let client = apns.client();

    let error = send_error(&client, TOKEN).await;

    assert_eq!(
        error,
        PushError::Unavailable {
            detail: "HTTP 503 (ServiceUnavailable)".into(),
            retry_after: None,
            answer: ProviderAnswer::coded(503, "ServiceUnavailable"),
        }
    );
    assert!(error.is_retryable());
    assert_eq!(apns.fake.requests().len(), 1);
    client.send(ApnsEnvironment::Production, &notification(TOKEN, true)).await.unwrap();
}

#[tokio::test]
async fn other_refusals_are_rejected_and_never_worth_retrying() {
    let apns = ApnsHarness::start().await;
    let client = ApnsClient::new(ApnsConfig { topic: "nl.example.other".into(), ..apns.config() }).unwrap();

    let error = send_error(&client, TOKEN).await;

    assert_eq!(
        error,
        PushError::Rejected {
            status: 400,
            reason: "TopicDisallowed".into(),
            answer: Some(ProviderAnswer::coded(400, "TopicDisallowed")),
        }
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_collapse_id_over_64_bytes_is_refused_before_sending() {
    let apns = ApnsHarness::start().await;
    let collapse_id = "a".repeat(65);

    let message = PushNotification { collapse_id: &collapse_id, ..notification(TOKEN, true) };
    let error = apns.client().send(ApnsEnvironment::Production, &message).await.unwrap_err();

    assert_eq!(error, PushError::Rejected { status: 400, reason: "BadCollapseId".into(), answer: None });
    assert!(apns.fake.requests().is_empty());
}

/// The wall clock after `issued_at` (unix seconds) has passed: a token signed now has a later `iat`.
async fn a_moment_after(issued_at: u64) -> SystemTime {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let now = SystemTime::now();
        let seconds = now.duration_since(UNIX_EPOCH).unwrap();
        if seconds.as_secs() > issued_at {
            return now;
        }
        assert!(Instant::now() < deadline, "the clock does not move");
        tokio::time::sleep(Duration::from_secs(1) - Duration::from_nanos(seconds.subsec_nanos().into()))
            .await;
    }
}

#[tokio::test]
async fn an_expired_provider_token_is_renewed_once_and_the_notification_sent_again() {
    let apns = ApnsHarness::start().await;
    let client = apns.client();
    client.send(ApnsEnvironment::Production, &notification(TOKEN, true)).await.unwrap();
    let first_issued_at = apns.fake.requests()[0].provider_token_issued_at.unwrap();
    // Apple's clock says the token in use has expired (as after a clock skew on our side).
    apns.fake.reject_tokens_issued_before(a_moment_after(first_issued_at).await);

    let accepted = client.send(ApnsEnvironment::Production, &notification(OTHER_TOKEN, true)).await.unwrap();

    let requests = apns.fake.requests();
    let outcomes: Vec<_> =
        requests.iter().map(|request| (request.status, request.reason.as_deref())).collect();
    assert_eq!(outcomes, [(Some(200), None), (Some(403), Some("ExpiredProviderToken")), (Some(200), None)]);
    assert_eq!(requests[1].provider_token_issued_at, Some(first_issued_at));
    assert!(requests[2].provider_token_issued_at.unwrap() > first_issued_at, "a new token");
    assert_eq!(accepted.provider_message_id.as_deref(), Some(apns.fake.received()[1].apns_id.as_str()));

    // The renewed token is kept for what follows.
    client.send(ApnsEnvironment::Production, &notification(TOKEN, true)).await.unwrap();
    assert_eq!(apns.fake.requests()[3].provider_token_issued_at, requests[2].provider_token_issued_at);
}

#[tokio::test]
async fn a_provider_token_refused_as_expired_even_when_fresh_is_unauthorized() {
    let apns = ApnsHarness::start().await;
    apns.fake.reject_tokens_issued_before(SystemTime::now() + Duration::from_secs(3600));

    let error = send_error(&apns.client(), TOKEN).await;

    assert_eq!(
        error,
        PushError::Unauthorized {
            detail: "HTTP 403 (ExpiredProviderToken)".into(),
            answer: Some(ProviderAnswer::coded(403, "ExpiredProviderToken")),
        }
    );
    assert!(error.is_retryable(), "a key rotation may be under way");
    assert_eq!(apns.fake.requests().len(), 2, "one renewal, one repeat");
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_unauthorized() {
    let apns = ApnsHarness::start().await;
    let stranger = ApnsTestCredentials::generate();
    let client =
        ApnsClient::new(ApnsConfig { signing_key: Secret::new(stranger.signing_key_pem), ..apns.config() })
            .unwrap();

    let error = send_error(&client, TOKEN).await;

    assert_eq!(
        error,
        PushError::Unauthorized {
            detail: "HTTP 403 (InvalidProviderToken)".into(),
            answer: Some(ProviderAnswer::coded(403, "InvalidProviderToken")),
        }
    );
    assert_eq!(apns.fake.requests().len(), 1, "only an expired token is renewed");
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_fakes_certificate_authority_cannot_connect() {
    let apns = ApnsHarness::start().await;
    let client = ApnsClient::new(ApnsConfig { extra_ca_pem: None, ..apns.config() }).unwrap();

    let error = send_error(&client, TOKEN).await;

    let PushError::Unavailable { detail, answer: ProviderAnswer::Connect, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        detail.starts_with("TLS with APNs production failed") && detail.contains("certificate"),
        "{detail}"
    );
    assert!(apns.fake.requests().is_empty());
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_is_unavailable() {
    let apns = ApnsHarness::start().await;
    apns.fake.faults().set_latency(Duration::from_secs(5));
    let client =
        ApnsClient::new(ApnsConfig { timeout: Duration::from_millis(300), ..apns.config() }).unwrap();
    let started = Instant::now();

    let error = send_error(&client, TOKEN).await;

    assert_eq!(
        error,
        PushError::Unavailable {
            detail: "no answer from APNs within 300ms".into(),
            retry_after: None,
            answer: ProviderAnswer::Timeout,
        }
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_connection_dropped_before_the_answer_fails_that_notification_and_the_next_reconnects() {
    let apns = ApnsHarness::start().await;
    let client = ApnsClient::new(ApnsConfig { connections: 1, ..apns.config() }).unwrap();
    apns.fake.faults().fail_next(1, Fault::DropConnection);

    let error = send_error(&client, TOKEN).await;
    let PushError::Unavailable { detail, answer: ProviderAnswer::Connect, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(detail.starts_with("the connection to APNs production broke before an answer"), "{detail}");

    client.send(ApnsEnvironment::Production, &notification(TOKEN, true)).await.unwrap();
    assert_eq!(apns.fake.connections_accepted(), 2);
    assert_eq!(apns.fake.count_for(TOKEN), 1);
}

#[tokio::test]
async fn after_goaway_the_next_notification_goes_over_a_new_connection() {
    let apns = ApnsHarness::start().await;
    let client = ApnsClient::new(ApnsConfig { connections: 1, ..apns.config() }).unwrap();
    client.send(ApnsEnvironment::Production, &notification(TOKEN, true)).await.unwrap();

    apns.fake.goaway_all().await.unwrap();
    client.send(ApnsEnvironment::Production, &notification(TOKEN, true)).await.unwrap();

    assert_eq!(apns.fake.connections_accepted(), 2);
    assert_eq!(apns.fake.count_for(TOKEN), 2);
}

#[tokio::test]
async fn five_hundred_concurrent_notifications_share_the_configured_connections() {
    // Few streams per connection, so most requests wait for a free stream.
    let apns = ApnsHarness::start_with(FakeApnsOptions { max_concurrent_streams: 20 }).await;
    let client = ApnsClient::new(ApnsConfig { connections: 3, ..apns.config() }).unwrap();
    apns.fake.faults().set_latency(Duration::from_millis(5));
    let tokens: Vec<String> = (0..500).map(|i| format!("{i:064x}")).collect();

    let results = futures_util::future::join_all(tokens.iter().map(|token| {
        let client = client.clone();
        async move { client.send(ApnsEnvironment::Production, &notification(token, true)).await }
    }))
    .await;

    let apns_ids: HashSet<String> =
        results.into_iter().map(|result| result.unwrap().provider_message_id.unwrap()).collect();
    assert_eq!(apns_ids.len(), 500);
    let counts = apns.fake.counts_by_token();
    assert!(tokens.iter().all(|token| counts.get(token) == Some(&1)));
    assert!(apns.fake.connections_accepted() <= 3, "{} connections", apns.fake.connections_accepted());
}

// Configuration

struct Files {
    dir: std::path::PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("burgernet-apns-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    fn write(&self, name: &str, contents: &str) -> String {
        let path = self.dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied())
}

#[test]
fn without_a_key_file_apns_is_not_configured_and_its_companions_are_a_mistake() {
    assert!(ApnsConfig::from_env(&Env::default()).unwrap().is_none());
    for companion in
        ["BURGERNET_APNS_KEY_ID", "BURGERNET_APNS_TOPIC", "BURGERNET_APNS_URL", "BURGERNET_APNS_CA_FILE"]
    {
        let error = ApnsConfig::from_env(&env(&[(companion, "x")])).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_APNS_KEY_FILE");
        assert!(error.problem.contains(companion), "{error}");
    }
}

#[test]
fn the_key_file_is_read_with_its_companions_and_apples_defaults() {
    let files = Files::new();
    let credentials = ApnsTestCredentials::generate();
    let key_file = files.write("AuthKey.p8", &credentials.signing_key_pem);
    let required = [
        ("BURGERNET_APNS_KEY_FILE", key_file.as_str()),
        ("BURGERNET_APNS_KEY_ID", "ABC123DEFG"),
        ("BURGERNET_APNS_TEAM_ID", "TEAM123456"),
        ("BURGERNET_APNS_TOPIC", "nl.burgernet.app"),
    ];

    let config = ApnsConfig::from_env(&env(&required)).unwrap().unwrap();

    assert_eq!(config.production_url, "https://api.push.apple.com");
    assert_eq!(config.sandbox_url, "https://api.sandbox.push.apple.com");
    assert_eq!(config.signing_key.expose(), &credentials.signing_key_pem);
    assert_eq!((config.key_id.as_str(), config.team_id.as_str()), ("ABC123DEFG", "TEAM123456"));
    assert_eq!(config.topic, "nl.burgernet.app");
    assert_eq!(config.extra_ca_pem, None);
    assert_eq!(config.connections, 4);
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert!(!format!("{config:?}").contains("PRIVATE KEY"), "Debug hides the key");

    for missing in ["BURGERNET_APNS_KEY_ID", "BURGERNET_APNS_TEAM_ID", "BURGERNET_APNS_TOPIC"] {
        let pairs: Vec<_> = required.iter().copied().filter(|(name, _)| *name != missing).collect();
        assert_eq!(ApnsConfig::from_env(&env(&pairs)).unwrap_err().variable, missing);
    }
}

#[test]
fn wrong_values_are_named_without_echoing_the_key() {
    let files = Files::new();
    let credentials = ApnsTestCredentials::generate();
    let key_file = files.write("AuthKey.p8", &credentials.signing_key_pem);
    let not_a_key =
        files.write("not-a-key.p8", "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n");
    let public_key = files.write("public.pem", &p256_public_key_pem(&credentials));
    let base = [
        ("BURGERNET_APNS_KEY_FILE", key_file.as_str()),
        ("BURGERNET_APNS_KEY_ID", "ABC123DEFG"),
        ("BURGERNET_APNS_TEAM_ID", "TEAM123456"),
        ("BURGERNET_APNS_TOPIC", "nl.burgernet.app"),
    ];
    let missing_file = files.dir.join("missing.p8");
    for (variable, value) in [
        ("BURGERNET_APNS_KEY_FILE", not_a_key.as_str()),
        ("BURGERNET_APNS_KEY_FILE", public_key.as_str()),
        ("BURGERNET_APNS_KEY_FILE", missing_file.to_str().unwrap()),
        ("BURGERNET_APNS_KEY_ID", "ABC123"),
        ("BURGERNET_APNS_TEAM_ID", "TEAM 12345"),
        ("BURGERNET_APNS_TOPIC", "burgernet"),
        ("BURGERNET_APNS_URL", "http://api.push.apple.com"),
        ("BURGERNET_APNS_SANDBOX_URL", "https://user:hunter2@api.sandbox.push.apple.com"),
        ("BURGERNET_APNS_CA_FILE", key_file.as_str()),
        ("BURGERNET_APNS_CONNECTIONS", "0"),
        ("BURGERNET_APNS_TIMEOUT", "soon"),
    ] {
        let mut pairs = base.to_vec();
        pairs.retain(|(name, _)| *name != variable);
        pairs.push((variable, value));
        let error = ApnsConfig::from_env(&env(&pairs)).unwrap_err();
        assert_eq!(error.variable, variable, "{value}");
        let text = error.to_string();
        assert!(!text.contains("hunter2") && !text.contains("PRIVATE") && !text.contains("PUBLIC"), "{text}");
        assert!(!text.contains(&credentials.signing_key_pem[30..60]), "{text}");
    }
}

fn p256_public_key_pem(credentials: &ApnsTestCredentials) -> String {
    use p256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
    let secret = p256::SecretKey::from_pkcs8_pem(&credentials.signing_key_pem).unwrap();
    secret.public_key().to_public_key_pem(LineEnding::LF).unwrap()
}

#[tokio::test]
async fn a_client_configured_from_the_environment_reaches_the_fake() {
    let apns = ApnsHarness::start().await;
    let files = Files::new();
    let credentials = apns.fake.credentials();
    let key_file = files.write("AuthKey.p8", &credentials.signing_key_pem);
    let ca_file = files.write("ca.pem", apns.ca.ca_pem());
    let base_url = apns.fake.base_url();
    let config = ApnsConfig::from_env(&env(&[
        ("BURGERNET_APNS_KEY_FILE", key_file.as_str()),
        ("BURGERNET_APNS_KEY_ID", credentials.key_id.as_str()),
        ("BURGERNET_APNS_TEAM_ID", credentials.team_id.as_str()),
        ("BURGERNET_APNS_TOPIC", credentials.topic.as_str()),
        ("BURGERNET_APNS_URL", base_url.as_str()),
        ("BURGERNET_APNS_SANDBOX_URL", base_url.as_str()),
        ("BURGERNET_APNS_CA_FILE", ca_file.as_str()),
        ("BURGERNET_APNS_CONNECTIONS", "1"),
        ("BURGERNET_APNS_TIMEOUT", "3s"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!((config.connections, config.timeout), (1, Duration::from_secs(3)));

    ApnsClient::new(config)
        .unwrap()
        .send(ApnsEnvironment::Sandbox, &notification(TOKEN, true))
        .await
        .unwrap();

    assert_eq!(apns.fake.count_for(TOKEN), 1);
}
