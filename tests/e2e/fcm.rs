//! The FCM HTTP v1 client against the fake FCM and its OAuth2 token endpoint, over TLS and HTTP/2:
//! what a message looks like on arrival, how the access token is fetched, shared and replaced, how
//! each of Google's refusals comes back to us, and how messages share the HTTP/2 connections.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use burgernet_core::env::Env;
use burgernet_core::providers::ProviderAnswer;
use burgernet_core::providers::fcm::{FcmClient, FcmConfig, MAX_PAYLOAD_BYTES, ServiceAccount};
use burgernet_core::providers::push::{PushError, PushNotification};
use burgernet_fakes::faults::Fault;
use burgernet_fakes::fcm::{FakeFcm, FakeFcmOptions, FcmTestServiceAccount, ReceivedFcm};
use chrono::Utc;
use futures_util::future::join_all;

use crate::helpers::fcm::{FakeFcmExt, start_fake_fcm};

const DEVICE: &str = "dK3x9-fcm-device:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx";
const TITLE: &str = "Vermist: jongen (8) in Utrecht-Oost";
const BODY: &str = "Blond haar, rode jas, blauwe rugzak. Gezien bij het Wilhelminapark.";
const ALERT_DATA: &[(&str, &str)] = &[("alert_id", "4f9c"), ("kind", "missing_person")];

fn alert(token: &str) -> PushNotification<'_> {
    PushNotification {
        token,
        title: TITLE,
        body: BODY,
        urgent: true,
        collapse_id: "alert-4f9c",
        expires_at: Utc::now() + chrono::Duration::hours(2),
        data: ALERT_DATA,
        category: None,
    }
}

fn client_with(fcm: &FakeFcm, adjust: impl FnOnce(&mut FcmConfig)) -> FcmClient {
    let mut config = fcm.fcm_config();
    adjust(&mut config);
    FcmClient::new(config).unwrap()
}

/// Error texts end up in logs, job errors and the dossier.
fn assert_discreet(error: &PushError) {
    let text = format!("{error} {error:?}");
    for secret in [DEVICE, "APA91b", TITLE, BODY, "ya29.", "Bearer"] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

#[tokio::test]
async fn an_urgent_alert_arrives_with_high_priority_its_ttl_collapse_key_and_data_over_http2() {
    let fcm = start_fake_fcm();

    let accepted = fcm.fcm_client().send(&alert(DEVICE)).await.unwrap();

    let received = fcm.received();
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(accepted.provider_message_id.as_deref(), Some(message.name.as_str()));
    assert!(message.name.starts_with("projects/burgernet-test/messages/0:"), "{}", message.name);
    assert_eq!(message.token, DEVICE);
    assert_eq!((message.title.as_deref(), message.body.as_deref()), (Some(TITLE), Some(BODY)));
    let data: BTreeMap<String, String> =
        ALERT_DATA.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
    assert_eq!(message.data, data);
    assert_eq!(message.priority.as_deref(), Some("HIGH"));
    assert!(matches!(message.ttl.as_deref(), Some("7199s" | "7200s")), "{:?}", message.ttl);
    assert_eq!(message.collapse_key.as_deref(), Some("alert-4f9c"));
    assert!(message.over_http2);
}

#[tokio::test]
async fn a_routine_message_has_normal_priority_and_once_expired_a_ttl_of_zero() {
    let fcm = start_fake_fcm();
    let client = fcm.fcm_client();

    let routine = PushNotification {
        urgent: false,
        expires_at: Utc::now() + chrono::Duration::minutes(10),
        ..alert(DEVICE)
    };
    client.send(&routine).await.unwrap();
    let expired = PushNotification { expires_at: Utc::now() - chrono::Duration::minutes(1), ..alert(DEVICE) };
    client.send(&expired).await.unwrap();

    let received = fcm.wait_for_received(2).await.unwrap();
    assert_eq!(received[0].priority.as_deref(), Some("NORMAL"));
    assert!(matches!(received[0].ttl.as_deref(), Some("599s" | "600s")), "{:?}", received[0].ttl);
    assert_eq!((received[1].priority.as_deref(), received[1].ttl.as_deref()), (Some("HIGH"), Some("0s")));
}

#[tokio::test]
async fn warming_up_readies_the_token_and_every_connection_before_the_first_push() {
    let fcm = start_fake_fcm();
    let client = client_with(&fcm, |config| config.connections = 3);
    client.warm_up().await.unwrap();
    // The token endpoint's connection and the three to the API.
    let (tokens, connections) = (fcm.tokens_issued(), fcm.connections_accepted());
    assert_eq!((tokens, connections, fcm.requests()), (1, 4, 0));

    for _ in 0..3 {
        client.send(&alert(DEVICE)).await.unwrap();
    }
    assert_eq!((fcm.tokens_issued(), fcm.connections_accepted()), (tokens, connections), "nothing new");
    assert_eq!(fcm.requests(), 3);
}

#[tokio::test]
async fn one_access_token_serves_every_send_of_the_client_and_its_clones() {
    let fcm = start_fake_fcm();
    let client = fcm.fcm_client();

    for _ in 0..3 {
        client.send(&alert(DEVICE)).await.unwrap();
    }
    client.clone().send(&alert(DEVICE)).await.unwrap();

    assert_eq!(fcm.tokens_issued(), 1);
    assert_eq!(fcm.requests(), 4);
    assert_eq!(fcm.counts_by_token()[DEVICE], 4);
}

#[tokio::test]
async fn a_token_within_five_minutes_of_expiry_is_replaced_before_sending() {
    let fcm = start_fake_fcm();

    fcm.set_access_token_lifetime(Duration::from_secs(6 * 60));
    let client = fcm.fcm_client();
    client.send(&alert(DEVICE)).await.unwrap();
    client.send(&alert(DEVICE)).await.unwrap();
    assert_eq!(fcm.tokens_issued(), 1, "six minutes left: the token is kept");

    fcm.set_access_token_lifetime(Duration::from_secs(4 * 60));
    let client = fcm.fcm_client();
    client.send(&alert(DEVICE)).await.unwrap();
    client.send(&alert(DEVICE)).await.unwrap();
    assert_eq!(fcm.tokens_issued(), 3, "four minutes left: a new token for each send");
    assert_eq!(fcm.requests(), 4, "no send was refused");
}

#[tokio::test]
async fn a_revoked_access_token_is_replaced_and_the_message_sent_once_more() {
    let fcm = start_fake_fcm();
    let client = fcm.fcm_client();
    client.send(&alert(DEVICE)).await.unwrap();

    fcm.revoke_access_tokens();
    let accepted = client.send(&alert(DEVICE)).await.unwrap();

    assert_eq!(fcm.tokens_issued(), 2);
    assert_eq!(fcm.requests(), 3, "one send, one refused, one retried");
    assert_eq!(fcm.received()[1].name, accepted.provider_message_id.unwrap());
}

#[tokio::test]
async fn credentials_refused_even_when_fresh_are_unauthorized_after_one_retry() {
    let fcm = start_fake_fcm();
    fcm.set_access_token_lifetime(Duration::ZERO);

    let error = fcm.fcm_client().send(&alert(DEVICE)).await.unwrap_err();

    assert_eq!(
        error,
        PushError::Unauthorized {
            detail: "HTTP 401 (UNAUTHENTICATED)".into(),
            answer: Some(ProviderAnswer::coded(401, "UNAUTHENTICATED")),
        }
    );
    assert_eq!(error.code(), "unauthorized");
    assert_eq!((fcm.tokens_issued(), fcm.requests()), (2, 2));
    assert!(fcm.received().is_empty());
}

#[tokio::test]
async fn a_key_google_does_not_know_is_unauthorized_at_the_token_endpoint() {
    let fcm = start_fake_fcm();
    let impostor = FcmTestServiceAccount::generate("burgernet-test");
    let client = client_with(&fcm, |config| {
        let mut account = ServiceAccount::parse(&impostor.to_json(fcm.token_uri())).unwrap();
        // Same account, same key id, different key.
        account.client_email = config.service_account.client_email.clone();
        account.private_key_id = config.service_account.private_key_id.clone();
        config.service_account = account;
    });

    let error = client.send(&alert(DEVICE)).await.unwrap_err();

    assert_eq!(
        error,
        PushError::Unauthorized {
            detail: "the OAuth2 token endpoint answered HTTP 400 (invalid_grant)".into(),
            answer: Some(ProviderAnswer::coded(400, "invalid_grant")),
        }
    );
    assert!(error.is_retryable(), "an operator problem: a key rotation may be under way");
    assert_eq!((fcm.tokens_issued(), fcm.requests()), (0, 0));
}

#[tokio::test]
async fn an_unregistered_device_is_reported_for_removal_and_never_retried() {
    let fcm = start_fake_fcm();
    fcm.unregister(DEVICE);

    let error = fcm.fcm_client().send(&alert(DEVICE)).await.unwrap_err();

    assert_eq!(
        error,
        PushError::Unregistered {
            reason: "UNREGISTERED".into(),
            since: None,
            answer: Some(ProviderAnswer::coded(404, "UNREGISTERED")),
        }
    );
    assert!(!error.is_retryable());
    assert_eq!(error.code(), "UNREGISTERED");
}

#[tokio::test]
async fn quota_exceeded_is_rate_limited_with_the_wait_fcm_asked_for() {
    let fcm = start_fake_fcm();
    fcm.faults().fail_next(1, Fault::RateLimited { retry_after_seconds: 17 });

    let error = fcm.fcm_client().send(&alert(DEVICE)).await.unwrap_err();

    assert_eq!(
        error,
        PushError::RateLimited {
            reason: "QUOTA_EXCEEDED".into(),
            retry_after: Some(Duration::from_secs(17)),
            answer: ProviderAnswer::coded(429, "QUOTA_EXCEEDED"),
        }
    );
    assert!(error.is_retryable());
    assert!(fcm.received().is_empty());
}

#[tokio::test]
async fn a_503_is_unavailable_and_the_next_attempt_goes_through() {
    let fcm = start_fake_fcm();
    fcm.faults().fail_next(1, Fault::ServerError);
    let client = fcm.fcm_client();

    let error = client.send(&alert(DEVICE)).await.unwrap_err();
    assert_eq!(
        error,
        PushError::Unavailable {
            detail: "HTTP 503 (UNAVAILABLE)".into(),
            retry_after: None,
            answer: ProviderAnswer::coded(503, "UNAVAILABLE"),
        }
    );
    assert!(error.is_retryable());

    client.send(&alert(DEVICE)).await.expect("the retry goes through");
    assert_eq!(fcm.received().len(), 1);
}

#[tokio::test]
async fn a_dropped_connection_is_unavailable_and_the_client_reconnects() {
    let fcm = start_fake_fcm();
    let client = client_with(&fcm, |config| config.connections = 1);
    client.send(&alert(DEVICE)).await.unwrap();
    fcm.faults().fail_next(1, Fault::DropConnection);

    let error = client.send(&alert(DEVICE)).await.unwrap_err();
    let PushError::Unavailable { detail, retry_after: None, answer: ProviderAnswer::Connect } = &error else {
        panic!("{error:?}")
    };
    assert!(detail.starts_with("the connection to FCM broke before an answer"), "{detail}");

    client.send(&alert(DEVICE)).await.expect("a new connection");
    let received = fcm.received();
    assert_eq!(received.len(), 2);
    assert_ne!(received[0].connection, received[1].connection, "the dropped connection was replaced");
}

/// How many of `messages` came over each connection of the fake.
fn per_connection(messages: &[ReceivedFcm]) -> HashMap<usize, usize> {
    let mut counts = HashMap::new();
    for message in messages {
        *counts.entry(message.connection).or_default() += 1;
    }
    counts
}

async fn send_concurrently(client: &FcmClient, devices: &[String]) {
    let results = join_all(devices.iter().map(|device| {
        let client = client.clone();
        async move { client.send(&alert(device)).await }
    }))
    .await;
    let failed: Vec<_> = results.iter().filter_map(|result| result.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} of {} failed: {failed:?}", failed.len(), devices.len());
}

fn devices(count: usize, prefix: &str) -> Vec<String> {
    (0..count).map(|n| format!("{prefix}-{n:04}")).collect()
}

#[tokio::test]
async fn concurrent_messages_are_spread_evenly_over_the_configured_connections() {
    let fcm = start_fake_fcm();
    // Answers take a while, so the messages are in flight together.
    fcm.faults().set_latency(Duration::from_millis(20));
    let client = client_with(&fcm, |config| config.connections = 4);

    send_concurrently(&client, &devices(400, "spread")).await;

    let counts = per_connection(&fcm.received());
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert!(counts.values().all(|count| *count == 100), "round-robin: {counts:?}");
    assert_eq!(fcm.connections_accepted(), 5, "four for messages, one for the token endpoint");
}

#[tokio::test]
async fn messages_beyond_the_streams_one_connection_takes_wait_for_a_free_stream() {
    let fcm = start_fake_fcm();
    fcm.faults().set_latency(Duration::from_millis(20));
    let client = client_with(&fcm, |config| config.connections = 1);

    // The fake, like hyper's server, takes 200 concurrent streams per connection.
    send_concurrently(&client, &devices(300, "single")).await;

    assert_eq!(per_connection(&fcm.received()).len(), 1);
}

#[tokio::test]
async fn after_one_connection_is_dropped_it_is_reopened_and_every_later_message_arrives() {
    let fcm = start_fake_fcm();
    let client = client_with(&fcm, |config| config.connections = 4);
    send_concurrently(&client, &devices(8, "before")).await;
    let before = per_connection(&fcm.received());
    assert_eq!(before.len(), 4, "{before:?}");

    fcm.faults().fail_next(1, Fault::DropConnection);
    let error = client.send(&alert(DEVICE)).await.unwrap_err();
    assert!(matches!(error, PushError::Unavailable { .. }), "{error:?}");
    fcm.faults().set_latency(Duration::from_millis(20));
    send_concurrently(&client, &devices(200, "after")).await;

    let after = per_connection(&fcm.received()[8..]);
    assert_eq!(after.len(), 4, "{after:?}");
    assert_eq!(after.keys().filter(|connection| !before.contains_key(connection)).count(), 1, "{after:?}");
    assert_eq!(fcm.connections_accepted(), 6, "four, one reopened, one for the token endpoint");
    assert_eq!(fcm.received().len(), 208);
}

#[tokio::test]
async fn a_server_that_does_not_speak_http2_gets_no_message_and_the_error_says_so() {
    let ca = burgernet_fakes::tls::LocalCertificateAuthority::generate().unwrap();
    let http1_only =
        FakeFcm::start_with(&ca, FcmTestServiceAccount::shared(), FakeFcmOptions { http2: false }).unwrap();

    let error = http1_only.fcm_client().send(&alert(DEVICE)).await.unwrap_err();

    assert_eq!(
        error,
        PushError::Unavailable {
            detail: "FCM did not agree to HTTP/2 (it refused ALPN h2)".into(),
            retry_after: None,
            answer: ProviderAnswer::Connect,
        }
    );
    assert_eq!(http1_only.tokens_issued(), 1, "the token endpoint works over HTTP/1.1");
    assert_eq!(http1_only.requests(), 0);
}

#[tokio::test]
async fn an_fcm_slower_than_the_timeout_is_unavailable() {
    let fcm = start_fake_fcm();
    fcm.faults().set_latency(Duration::from_secs(3));
    let client = client_with(&fcm, |config| config.timeout = Duration::from_millis(300));

    let started = Instant::now();
    let error = client.send(&alert(DEVICE)).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
    assert_eq!(
        error,
        PushError::Unavailable {
            detail: "FCM: no response within 300ms".into(),
            retry_after: None,
            answer: ProviderAnswer::Timeout,
        }
    );
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_unavailable() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let fcm = start_fake_fcm();
    let client = client_with(&fcm, |config| {
        config.service_account.token_uri = format!("https://127.0.0.1:{closed_port}/token");
    });

    let error = client.send(&alert(DEVICE)).await.unwrap_err();

    let PushError::Unavailable { detail, answer: ProviderAnswer::Connect, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(detail.starts_with("the OAuth2 token endpoint: could not connect"), "{detail}");
    assert_eq!(fcm.requests(), 0);
}

#[tokio::test]
async fn an_invalid_argument_is_rejected_for_good() {
    let fcm = start_fake_fcm();

    let error = fcm.fcm_client().send(&alert("")).await.unwrap_err();

    assert_eq!(
        error,
        PushError::Rejected {
            status: 400,
            reason: "INVALID_ARGUMENT".into(),
            answer: Some(ProviderAnswer::coded(400, "INVALID_ARGUMENT")),
        }
    );
    assert!(!error.is_retryable());
    assert_eq!(error.code(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn a_device_of_another_firebase_project_is_rejected_for_good() {
    let fcm = start_fake_fcm();
    fcm.assign_to_other_project(DEVICE);

    let error = fcm.fcm_client().send(&alert(DEVICE)).await.unwrap_err();

    assert_eq!(
        error,
        PushError::Rejected {
            status: 403,
            reason: "SENDER_ID_MISMATCH".into(),
            answer: Some(ProviderAnswer::coded(403, "SENDER_ID_MISMATCH")),
        }
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn sending_for_a_project_the_account_may_not_use_is_unauthorized() {
    let fcm = start_fake_fcm();
    let client =
        client_with(&fcm, |config| config.service_account.project_id = "someone-elses-project".into());

    let error = client.send(&alert(DEVICE)).await.unwrap_err();

    assert_eq!(
        error,
        PushError::Unauthorized {
            detail: "HTTP 403 (PERMISSION_DENIED)".into(),
            answer: Some(ProviderAnswer::coded(403, "PERMISSION_DENIED")),
        }
    );
}

#[tokio::test]
async fn a_long_body_is_shortened_at_a_word_to_fit_fcm_s_payload_limit() {
    let fcm = start_fake_fcm();
    let long_body = "Gezocht wordt een man van ongeveer veertig jaar met een grijze jas. ".repeat(100);

    fcm.fcm_client().send(&PushNotification { body: &long_body, ..alert(DEVICE) }).await.unwrap();

    let message = &fcm.received()[0];
    let body = message.body.as_deref().unwrap();
    let kept = body.strip_suffix('…').expect("the shortened body ends with an ellipsis");
    assert!(long_body.starts_with(kept));
    assert!(
        long_body[kept.len()..].starts_with(' '),
        "cut at a word boundary: {:?}",
        &body[body.len() - 20..]
    );
    let payload = serde_json::json!({"title": message.title, "body": body}).to_string().len()
        + serde_json::to_string(&message.data).unwrap().len();
    assert!((MAX_PAYLOAD_BYTES - 100..=MAX_PAYLOAD_BYTES).contains(&payload), "{payload} bytes");
}

#[tokio::test]
async fn concurrent_sends_wait_for_one_token_and_all_arrive() {
    let fcm = start_fake_fcm();
    let client = fcm.fcm_client();
    let devices: Vec<String> = (0..100).map(|n| format!("device-{n:03}")).collect();

    let results = join_all(devices.iter().map(|device| {
        let client = client.clone();
        async move { client.send(&alert(device)).await }
    }))
    .await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(fcm.tokens_issued(), 1);
    let counts = fcm.counts_by_token();
    assert_eq!(counts.len(), 100);
    assert!(counts.values().all(|count| *count == 1));
    assert!(fcm.received().iter().all(|message| message.over_http2));
}

#[tokio::test]
async fn error_texts_never_contain_the_device_token_the_message_or_the_access_token() {
    let fcm = start_fake_fcm();
    let client = fcm.fcm_client();
    let mut errors = Vec::new();
    for fault in [Fault::ServerError, Fault::RateLimited { retry_after_seconds: 1 }, Fault::DropConnection] {
        fcm.faults().fail_next(1, fault);
        errors.push(client.send(&alert(DEVICE)).await.unwrap_err());
    }
    fcm.assign_to_other_project(DEVICE);
    errors.push(client.send(&alert(DEVICE)).await.unwrap_err());
    fcm.unregister(DEVICE);
    errors.push(client.send(&alert(DEVICE)).await.unwrap_err());
    fcm.set_access_token_lifetime(Duration::ZERO);
    fcm.revoke_access_tokens();
    errors.push(client.send(&alert(DEVICE)).await.unwrap_err());

    assert_eq!(errors.len(), 6);
    for error in &errors {
        assert_discreet(error);
    }
    assert!(!format!("{client:?}").contains("ya29."));
}

/// A file that is removed when the test ends.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("burgernet-fcm-test-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A line from the middle of the test account's private key.
fn key_material() -> &'static str {
    let pem = FcmTestServiceAccount::shared().private_key_pem();
    pem.lines().nth(5).unwrap()
}

#[test]
fn without_a_key_file_fcm_is_off_and_its_other_settings_are_a_mistake() {
    assert!(FcmConfig::from_env(&Env::default()).unwrap().is_none());

    for companion in [("BURGERNET_FCM_URL", "https://fcm.example.com"), ("BURGERNET_FCM_CONNECTIONS", "8")] {
        let error = FcmConfig::from_env(&Env::from_pairs([companion])).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_FCM_SERVICE_ACCOUNT_FILE");
        assert!(error.problem.contains(companion.0), "{error}");
    }
}

#[test]
fn the_key_file_gives_the_account_and_google_s_endpoints_by_default() {
    let account = FcmTestServiceAccount::shared();
    let key_file = TempFile::new(&account.to_json("https://oauth2.googleapis.com/token"));

    let config =
        FcmConfig::from_env(&Env::from_pairs([("BURGERNET_FCM_SERVICE_ACCOUNT_FILE", key_file.path())]))
            .unwrap()
            .unwrap();

    let service_account = &config.service_account;
    assert_eq!(service_account.project_id, "burgernet-test");
    assert_eq!(service_account.client_email, account.client_email());
    assert_eq!(service_account.private_key_id.as_deref(), Some(account.private_key_id()));
    assert_eq!(service_account.private_key.expose(), account.private_key_pem());
    assert_eq!(service_account.token_uri, "https://oauth2.googleapis.com/token");
    assert_eq!(config.api_url, "https://fcm.googleapis.com");
    assert_eq!(config.extra_ca_pem, None);
    assert_eq!(config.connections, 4);
    assert_eq!(config.timeout, Duration::from_secs(10));
    assert!(!format!("{config:?}").contains(key_material()), "Debug prints the private key");
}

#[test]
fn url_ca_connections_timeout_and_token_uri_can_be_set() {
    let fcm_key_file =
        TempFile::new(&FcmTestServiceAccount::shared().to_json("https://oauth2.googleapis.com/token"));
    let ca = burgernet_fakes::tls::LocalCertificateAuthority::generate().unwrap();
    let ca_file = TempFile::new(ca.ca_pem());

    let config = FcmConfig::from_env(&Env::from_pairs([
        ("BURGERNET_FCM_SERVICE_ACCOUNT_FILE", fcm_key_file.path()),
        ("BURGERNET_FCM_URL", "https://127.0.0.1:8443/"),
        ("BURGERNET_FCM_CA_FILE", ca_file.path()),
        ("BURGERNET_FCM_CONNECTIONS", "8"),
        ("BURGERNET_FCM_TIMEOUT", "2500ms"),
        ("BURGERNET_FCM_TOKEN_URI", "https://127.0.0.1:8443/token"),
    ]))
    .unwrap()
    .unwrap();

    assert_eq!(config.api_url, "https://127.0.0.1:8443");
    assert_eq!(config.extra_ca_pem.as_deref(), Some(ca.ca_pem()));
    assert_eq!(config.connections, 8);
    assert_eq!(config.timeout, Duration::from_millis(2500));
    assert_eq!(config.service_account.token_uri, "https://127.0.0.1:8443/token");
}

#[test]
fn a_missing_or_malformed_key_file_is_named_without_printing_the_key() {
    let json = FcmTestServiceAccount::shared().to_json("https://oauth2.googleapis.com/token");
    let mut not_a_key: serde_json::Value = serde_json::from_str(&json).unwrap();
    not_a_key["private_key"] = "hunter2".into();
    let mut no_email: serde_json::Value = serde_json::from_str(&json).unwrap();
    no_email.as_object_mut().unwrap().remove("client_email");
    let mut number_key: serde_json::Value = serde_json::from_str(&json).unwrap();
    number_key["private_key"] = 42.into();

    for (contents, problem) in [
        (json[..json.len() / 2].to_string(), "is not valid JSON"),
        (not_a_key.to_string(), "\"private_key\" that is not an RSA private key"),
        (no_email.to_string(), "has no \"client_email\""),
        (number_key.to_string(), "has no \"private_key\""),
        ("[]".to_string(), "is not a JSON object"),
    ] {
        let key_file = TempFile::new(&contents);
        let error =
            FcmConfig::from_env(&Env::from_pairs([("BURGERNET_FCM_SERVICE_ACCOUNT_FILE", key_file.path())]))
                .unwrap_err();
        assert_eq!(error.variable, "BURGERNET_FCM_SERVICE_ACCOUNT_FILE");
        let text = format!("{error} {error:?}");
        assert!(text.contains(problem), "{text}");
        assert!(!text.contains(key_material()) && !text.contains("hunter2"), "{text}");
    }

    let error = FcmConfig::from_env(&Env::from_pairs([(
        "BURGERNET_FCM_SERVICE_ACCOUNT_FILE",
        "/nonexistent/burgernet-fcm.json",
    )]))
    .unwrap_err();
    assert_eq!(error.variable, "BURGERNET_FCM_SERVICE_ACCOUNT_FILE");
    assert!(error.problem.starts_with("cannot read \"/nonexistent/burgernet-fcm.json\""), "{error}");
}

#[test]
fn credentials_only_travel_over_https() {
    let key_file =
        TempFile::new(&FcmTestServiceAccount::shared().to_json("https://oauth2.googleapis.com/token"));
    for (variable, value) in [
        ("BURGERNET_FCM_URL", "http://fcm.googleapis.com"),
        ("BURGERNET_FCM_TOKEN_URI", "http://oauth2.googleapis.com/token"),
        ("BURGERNET_FCM_TIMEOUT", "soon"),
        ("BURGERNET_FCM_CONNECTIONS", "0"),
    ] {
        let error = FcmConfig::from_env(&Env::from_pairs([
            ("BURGERNET_FCM_SERVICE_ACCOUNT_FILE", key_file.path()),
            (variable, value),
        ]))
        .unwrap_err();
        assert_eq!(error.variable, variable, "{value}");
    }
}
