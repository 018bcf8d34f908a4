//! The Apple Push Notification service client: a thin HTTP/2 client of our own (design.md section
//! 4: `a2` cannot target any host but Apple's, so it cannot be tested against a local peer).
//!
//! # The protocol (Apple: "Sending notification requests to APNs")
//!
//! ```text
//! POST {base}/3/device/{device token}          HTTP/2 over TLS, ALPN h2
//! authorization: bearer <ES256 JWT {alg, kid: key id} . {iss: team id, iat}>
//! apns-topic: nl.burgernet.app
//! apns-push-type: alert
//! apns-priority: 10 | 5
//! apns-expiration: <unix seconds>
//! apns-collapse-id: <at most 64 bytes>
//!
//! {"aps": {"alert": {"title": "...", "body": "..."}, "sound": "default",
//!          "interruption-level": "time-sensitive" | "active"}, "alert_id": "...", ...}
//! ```
//!
//! `200` carries the notification's `apns-id`; errors carry `{"reason": "..."}` (and with `410` a
//! `timestamp`). [`interpret_response`] maps them onto [`PushError`] (see `push.rs`).
//!
//! # Connections
//!
//! Per environment (production, sandbox) a fixed number of HTTP/2 connections
//! (`BURGERNET_APNS_CONNECTIONS`), each carrying many concurrent pushes; see `http2.rs` for
//! how they are opened, shared and replaced.
//!
//! # Provider token
//!
//! One ES256 JWT at a time, shared by all requests and renewed when older than 40 minutes (Apple
//! refuses renewals more often than every 20 minutes and tokens older than 60). When APNs answers
//! `403 ExpiredProviderToken` anyway (a clock skew), the token is renewed once and the request
//! repeated once.
//!
//! Error texts never contain the device token or the payload; debug logs show the token's first
//! six characters only.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use chrono::DateTime;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::ProviderAnswer;
use super::http2::{Answer, Http2Connections};
use super::push::{PushAccepted, PushError, PushNotification, fit_body};
use super::sms::retry_after;
use crate::env::{ConfigError, Env, parse};
use crate::secret::Secret;
use crate::vocabulary::devices::ApnsEnvironment;

pub const DEFAULT_PRODUCTION_URL: &str = "https://api.push.apple.com";
pub const DEFAULT_SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";

/// Apple's limit for the JSON payload of a regular notification.
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// Apple's limit for `apns-collapse-id`.
pub const MAX_COLLAPSE_ID_BYTES: usize = 64;
/// Renew the provider token at this age: Apple accepts tokens up to 60 minutes old and refuses
/// renewals more often than every 20 minutes.
const TOKEN_RENEWAL_AGE: Duration = Duration::from_secs(40 * 60);
/// APNs answers are a few dozen bytes; anything much larger is not read.
const MAX_RESPONSE_BYTES: usize = 16 * 1024;

/// Where and how to reach APNs.
#[derive(Debug, Clone)]
pub struct ApnsConfig {
    /// `https://` base URL for production device tokens, without a trailing slash.
    pub production_url: String,
    /// `https://` base URL for sandbox (development build) device tokens.
    pub sandbox_url: String,
    /// The `.p8` file's PEM: a PKCS#8 EC P-256 private key.
    pub signing_key: Secret<String>,
    /// The key's 10-character id from Apple.
    pub key_id: String,
    /// The 10-character Apple developer team id.
    pub team_id: String,
    /// The app's bundle id, e.g. `nl.burgernet.app`.
    pub topic: String,
    /// PEM certificates to trust besides the system's (a local fake, an inspecting proxy).
    pub extra_ca_pem: Option<String>,
    /// HTTP/2 connections per environment.
    pub connections: usize,
    /// The longest one request may take, connecting included.
    pub timeout: Duration,
}

impl ApnsConfig {
    /// Reads `BURGERNET_APNS_KEY_FILE` (unset: `Ok(None)`, APNs not configured, and then no other
    /// `BURGERNET_APNS_*` variable may be set), `BURGERNET_APNS_KEY_ID`, `BURGERNET_APNS_TEAM_ID` and
    /// `BURGERNET_APNS_TOPIC` (required with the key), `BURGERNET_APNS_URL` and
    /// `BURGERNET_APNS_SANDBOX_URL` (default Apple's), `BURGERNET_APNS_CA_FILE` (optional PEM),
    /// `BURGERNET_APNS_CONNECTIONS` (default 4) and `BURGERNET_APNS_TIMEOUT` (default 10s). The key
    /// file is read and checked here, so a wrong key stops start-up.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        const COMPANIONS: [&str; 8] = [
            "BURGERNET_APNS_KEY_ID",
            "BURGERNET_APNS_TEAM_ID",
            "BURGERNET_APNS_TOPIC",
            "BURGERNET_APNS_URL",
            "BURGERNET_APNS_SANDBOX_URL",
            "BURGERNET_APNS_CA_FILE",
            "BURGERNET_APNS_CONNECTIONS",
            "BURGERNET_APNS_TIMEOUT",
        ];
        let Some(signing_key) = env.optional("BURGERNET_APNS_KEY_FILE", read_signing_key_file)? else {
            if let Some(companion) = COMPANIONS.iter().find(|name| env.is_set(name)) {
                return Err(ConfigError {
                    variable: "BURGERNET_APNS_KEY_FILE",
                    problem: format!("is required when {companion} is set"),
                });
            }
            return Ok(None);
        };
        Ok(Some(Self {
            production_url: env.or("BURGERNET_APNS_URL", DEFAULT_PRODUCTION_URL.into(), https_url)?,
            sandbox_url: env.or("BURGERNET_APNS_SANDBOX_URL", DEFAULT_SANDBOX_URL.into(), https_url)?,
            signing_key,
            key_id: env.required("BURGERNET_APNS_KEY_ID", apple_id)?,
            team_id: env.required("BURGERNET_APNS_TEAM_ID", apple_id)?,
            topic: env.required("BURGERNET_APNS_TOPIC", topic)?,
            extra_ca_pem: env.optional("BURGERNET_APNS_CA_FILE", read_ca_file)?,
            connections: env.or("BURGERNET_APNS_CONNECTIONS", 4, parse::positive_number)?,
            timeout: env.or("BURGERNET_APNS_TIMEOUT", Duration::from_secs(10), parse::duration)?,
        }))
    }
}

fn https_url(raw: &str) -> Result<String, String> {
    let url = parse::http_url(raw)?;
    if url.starts_with("https://") {
        Ok(url)
    } else {
        Err("must be an https:// URL: APNs speaks HTTP/2 over TLS only".into())
    }
}

/// Key ids and team ids are 10 letters and digits.
fn apple_id(raw: &str) -> Result<String, String> {
    if raw.len() == 10 && raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(raw.to_string())
    } else {
        Err(format!("expected 10 letters and digits as shown by Apple, got {raw:?}"))
    }
}

/// A bundle id such as `nl.burgernet.app`.
fn topic(raw: &str) -> Result<String, String> {
    let valid = raw.len() <= 255
        && raw.split('.').count() >= 2
        && raw
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if valid {
        Ok(raw.to_string())
    } else {
        Err(format!("expected a bundle id such as nl.burgernet.app, got {raw:?}"))
    }
}

fn read_signing_key_file(path: &str) -> Result<Secret<String>, String> {
    let pem = read_text_file(path)?;
    check_signing_key(&pem).map_err(|problem| format!("key file {path}: {problem}"))?;
    Ok(Secret::new(pem))
}

/// The key must be what Apple hands out as a `.p8` file: a PKCS#8 EC P-256 private key in PEM.
fn check_signing_key(pem: &str) -> Result<(), String> {
    use p256::pkcs8::DecodePrivateKey;
    let expected = "does not hold an EC P-256 private key in PKCS#8 PEM form (the .p8 file from Apple)";
    p256::SecretKey::from_pkcs8_pem(pem.trim()).map_err(|_| expected.to_string())?;
    EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|_| expected.to_string())?;
    Ok(())
}

fn read_ca_file(path: &str) -> Result<String, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let pem = read_text_file(path)?;
    let certificates = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format!("{path} is not a PEM certificate file"))?;
    if certificates.is_empty() {
        return Err(format!("{path} holds no PEM certificate"));
    }
    Ok(pem)
}

fn read_text_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(Path::new(path)).map_err(|error| format!("cannot read {path}: {error}"))
}

/// Sends notifications to APNs. Cheap to clone: clones share the connections and the provider
/// token.
#[derive(Clone)]
pub struct ApnsClient {
    inner: Arc<Inner>,
}

struct Inner {
    production: Http2Connections,
    sandbox: Http2Connections,
    tokens: ProviderTokens,
    topic: HeaderValue,
    timeout: Duration,
}

impl fmt::Debug for ApnsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApnsClient")
            .field("production", &self.inner.production.base_url())
            .field("sandbox", &self.inner.sandbox.base_url())
            .field("topic", &self.inner.topic)
            .field("connections", &self.inner.production.connections())
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl ApnsClient {
    /// Checks the configuration and prepares the TLS settings and the signing key. Opens no
    /// connection: that happens on the first send to each environment.
    pub fn new(config: ApnsConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(config.connections > 0, "APNs needs at least one connection per environment");
        anyhow::ensure!(!config.timeout.is_zero(), "the APNs timeout must be longer than zero");
        let tls = super::tls_client_config_trusting(config.extra_ca_pem.as_deref())?;
        check_signing_key(config.signing_key.expose())
            .map_err(|problem| anyhow::anyhow!("the APNs signing key {problem}"))?;
        let key = EncodingKey::from_ec_pem(config.signing_key.expose().as_bytes())
            .context("read the APNs signing key")?;
        apple_id(&config.key_id).map_err(|problem| anyhow::anyhow!("the APNs key id: {problem}"))?;
        apple_id(&config.team_id).map_err(|problem| anyhow::anyhow!("the APNs team id: {problem}"))?;
        let topic = HeaderValue::from_str(
            &topic(&config.topic).map_err(|problem| anyhow::anyhow!("the APNs topic: {problem}"))?,
        )
        .context("the APNs topic cannot be sent in a header")?;
        Ok(Self {
            inner: Arc::new(Inner {
                production: connections_to("APNs production", &config.production_url, &config, &tls)?,
                sandbox: connections_to("APNs sandbox", &config.sandbox_url, &config, &tls)?,
                tokens: ProviderTokens::new(key, &config.key_id, &config.team_id),
                topic,
                timeout: config.timeout,
            }),
        })
    }

    /// Signs the provider token and opens the connections to the production server, so the
    /// first alert's pushes leave at once.
    pub async fn warm_up(&self) -> Result<(), PushError> {
        self.inner.tokens.current(SystemTime::now())?;
        self.inner.production.open_all().await
    }

    /// Sends one notification to the device's environment. Retries nothing that APNs may have
    /// seen, except after `ExpiredProviderToken` (once, with a fresh token).
    pub async fn send(
        &self,
        environment: ApnsEnvironment,
        notification: &PushNotification<'_>,
    ) -> Result<PushAccepted, PushError> {
        let result = self.try_send(environment, notification).await;
        match &result {
            Ok(accepted) => tracing::debug!(
                token = %masked(notification.token),
                environment = environment.as_str(),
                apns_id = accepted.provider_message_id.as_deref(),
                "push accepted by APNs"
            ),
            Err(error) => tracing::debug!(
                token = %masked(notification.token),
                environment = environment.as_str(),
                %error,
                "push not accepted by APNs"
            ),
        }
        result
    }

    async fn try_send(
        &self,
        environment: ApnsEnvironment,
        notification: &PushNotification<'_>,
    ) -> Result<PushAccepted, PushError> {
        let inner = &*self.inner;
        let endpoint = match environment {
            ApnsEnvironment::Production => &inner.production,
            ApnsEnvironment::Sandbox => &inner.sandbox,
        };
        let prepared = PreparedRequest::new(endpoint, &inner.topic, notification)?;
        let bearer = inner.tokens.current(SystemTime::now())?;
        let mut answer = self.exchange(endpoint, &prepared, &bearer).await?;
        if is_expired_provider_token(&answer) {
            let renewed = inner.tokens.renew_after_rejection(&bearer, SystemTime::now())?;
            answer = self.exchange(endpoint, &prepared, &renewed).await?;
        }
        interpret_response(answer.status, &answer.headers, &answer.body)
    }

    /// One HTTP request and its answer, within the timeout.
    async fn exchange(
        &self,
        endpoint: &Http2Connections,
        prepared: &PreparedRequest,
        bearer: &HeaderValue,
    ) -> Result<Answer, PushError> {
        let timeout = self.inner.timeout;
        tokio::time::timeout(timeout, endpoint.exchange(prepared.request(bearer))).await.unwrap_or_else(
            |_| {
                Err(PushError::unavailable(
                    format!("no answer from APNs within {}", humantime::format_duration(timeout)),
                    ProviderAnswer::Timeout,
                ))
            },
        )
    }
}

/// The first characters of a device token: enough to tell tokens apart in a debug log.
fn masked(token: &str) -> String {
    let prefix: String = token.chars().take(6).collect();
    format!("{prefix}…")
}

/// The connections to one environment's server; `peer` names it in errors.
fn connections_to(
    peer: &'static str,
    base_url: &str,
    config: &ApnsConfig,
    tls: &rustls::ClientConfig,
) -> anyhow::Result<Http2Connections> {
    let base_url = https_url(base_url).map_err(|problem| anyhow::anyhow!("the {peer} URL: {problem}"))?;
    Http2Connections::new(peer, &base_url, config.connections, tls.clone(), MAX_RESPONSE_BYTES)
}

/// Everything of a request but its provider token, ready to be sent (again).
struct PreparedRequest {
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl PreparedRequest {
    fn new(
        endpoint: &Http2Connections,
        topic: &HeaderValue,
        notification: &PushNotification<'_>,
    ) -> Result<Self, PushError> {
        // Apple's own verdict on such a token; checked here because it goes into the URL.
        if notification.token.is_empty() || !notification.token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad_device_token());
        }
        let uri: Uri = format!("{}/3/device/{}", endpoint.base_url(), notification.token)
            .parse()
            .map_err(|_| bad_device_token())?;

        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("apns-topic"), topic.clone());
        headers.insert(HeaderName::from_static("apns-push-type"), HeaderValue::from_static("alert"));
        let priority = if notification.urgent { "10" } else { "5" };
        headers.insert(HeaderName::from_static("apns-priority"), HeaderValue::from_static(priority));
        headers.insert(
            HeaderName::from_static("apns-expiration"),
            HeaderValue::from(notification.expires_at.timestamp().max(0)),
        );
        if !notification.collapse_id.is_empty() {
            let collapse_id = HeaderValue::from_str(notification.collapse_id)
                .ok()
                .filter(|_| notification.collapse_id.len() <= MAX_COLLAPSE_ID_BYTES)
                // Our collapse ids are alert ids: a longer one is a bug on our side.
                .ok_or_else(|| PushError::Rejected {
                    status: 400,
                    reason: "BadCollapseId".into(),
                    answer: None,
                })?;
            headers.insert(HeaderName::from_static("apns-collapse-id"), collapse_id);
        }
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Ok(Self { uri, headers, body: Bytes::from(payload(notification)?) })
    }

    fn request(&self, bearer: &HeaderValue) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request.headers_mut().insert(header::AUTHORIZATION, bearer.clone());
        request
    }
}

/// The JSON payload, with the body shortened until the whole fits [`MAX_PAYLOAD_BYTES`].
fn payload(notification: &PushNotification<'_>) -> Result<Vec<u8>, PushError> {
    let mut data = Map::new();
    for (key, value) in notification.data {
        data.insert((*key).to_string(), Value::from(*value));
    }
    if data.contains_key("aps") {
        // `aps` is Apple's dictionary; our data keys are fixed names, so this is a bug of ours.
        return Err(PushError::Rejected { status: 400, reason: "BadPayload".into(), answer: None });
    }
    let level = if notification.urgent { "time-sensitive" } else { "active" };
    let render = |body: &str| {
        let mut payload = data.clone();
        let mut aps = json!({
            "alert": {"title": notification.title, "body": body},
            "sound": "default",
            "interruption-level": level,
        });
        if let Some(category) = notification.category {
            aps["category"] = Value::from(category);
        }
        payload.insert("aps".into(), aps);
        Value::Object(payload).to_string().into_bytes()
    };
    let whole = render(notification.body);
    if whole.len() <= MAX_PAYLOAD_BYTES {
        return Ok(whole);
    }
    let body = fit_body(notification.body, |body| render(body).len() <= MAX_PAYLOAD_BYTES)
        .ok_or_else(|| PushError::Rejected { status: 413, reason: "PayloadTooLarge".into(), answer: None })?;
    Ok(render(&body))
}

fn is_expired_provider_token(answer: &Answer) -> bool {
    answer.status == StatusCode::FORBIDDEN && reason(&answer.body).as_deref() == Some("ExpiredProviderToken")
}

#[derive(Deserialize)]
struct ErrorBody {
    reason: Option<String>,
    timestamp: Option<i64>,
}

/// The `reason` of an error answer, when it looks like one of Apple's reason words.
fn reason(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body).ok()?.reason.filter(|reason| {
        (1..=64).contains(&reason.len()) && reason.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Turns APNs' answer into our result (Apple: "Handling notification responses from APNs").
fn interpret_response(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<PushAccepted, PushError> {
    if status == StatusCode::OK {
        let apns_id = headers.get("apns-id").and_then(|id| id.to_str().ok()).map(str::to_string);
        return Ok(PushAccepted { provider_message_id: apns_id });
    }
    let status = status.as_u16();
    let given_reason = reason(body);
    // Apple always gives a reason; should one be missing, the status's own reason stands in,
    // recorded and counted alike.
    let reason_or = |fallback: &str| given_reason.clone().unwrap_or_else(|| fallback.to_string());
    let read_as = |reason: &str| ProviderAnswer::coded(status, reason);
    let answer = ProviderAnswer::Answered { status, code: given_reason.clone() };
    let described = match &given_reason {
        Some(reason) => format!("HTTP {status} ({reason})"),
        None => format!("HTTP {status}"),
    };
    match status {
        410 => {
            let since = serde_json::from_slice::<ErrorBody>(body)
                .ok()
                .and_then(|body| body.timestamp)
                .and_then(DateTime::from_timestamp_millis);
            let reason = reason_or("Unregistered");
            Err(PushError::Unregistered { answer: Some(read_as(&reason)), reason, since })
        }
        400 if given_reason.as_deref() == Some("BadDeviceToken") => Err(PushError::Unregistered {
            reason: "BadDeviceToken".into(),
            since: None,
            answer: Some(answer),
        }),
        403 => Err(PushError::Unauthorized { detail: described, answer: Some(answer) }),
        429 => {
            let reason = reason_or("TooManyRequests");
            Err(PushError::RateLimited {
                answer: read_as(&reason),
                reason,
                retry_after: retry_after(headers),
            })
        }
        400..=499 => {
            let reason = reason_or("Unknown");
            Err(PushError::Rejected { status, answer: Some(read_as(&reason)), reason })
        }
        _ => Err(PushError::Unavailable { detail: described, retry_after: retry_after(headers), answer }),
    }
}

/// Apple's verdict on a token that is not hex, given by us before asking: nothing was sent.
fn bad_device_token() -> PushError {
    PushError::Unregistered { reason: "BadDeviceToken".into(), since: None, answer: None }
}

/// The provider token in use, shared by all requests.
struct ProviderTokens {
    key: EncodingKey,
    header: Header,
    team_id: String,
    current: RwLock<Option<ProviderToken>>,
}

#[derive(Clone)]
struct ProviderToken {
    bearer: HeaderValue,
    issued_at: SystemTime,
}

#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
}

impl ProviderTokens {
    fn new(key: EncodingKey, key_id: &str, team_id: &str) -> Self {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(key_id.to_string());
        Self { key, header, team_id: team_id.to_string(), current: RwLock::new(None) }
    }

    /// The token to use at `now`: the current one, or a new one when it is due for renewal.
    fn current(&self, now: SystemTime) -> Result<HeaderValue, PushError> {
        let is_fresh = |token: &ProviderToken| {
            now.duration_since(token.issued_at).is_ok_and(|age| age < TOKEN_RENEWAL_AGE)
        };
        if let Some(token) = self.read().as_ref().filter(|token| is_fresh(token)) {
            return Ok(token.bearer.clone());
        }
        let mut current = self.write();
        // Another request may have renewed it while this one waited for the lock.
        if let Some(token) = current.as_ref().filter(|token| is_fresh(token)) {
            return Ok(token.bearer.clone());
        }
        let token = self.sign(now)?;
        *current = Some(token.clone());
        Ok(token.bearer)
    }

    /// A new token after APNs called `rejected` expired, unless another request renewed it
    /// already: many requests meet the same expiry at once, and Apple refuses frequent renewals.
    fn renew_after_rejection(
        &self,
        rejected: &HeaderValue,
        now: SystemTime,
    ) -> Result<HeaderValue, PushError> {
        let mut current = self.write();
        if let Some(token) = current.as_ref().filter(|token| token.bearer != *rejected) {
            return Ok(token.bearer.clone());
        }
        let token = self.sign(now)?;
        *current = Some(token.clone());
        Ok(token.bearer)
    }

    fn sign(&self, now: SystemTime) -> Result<ProviderToken, PushError> {
        let iat = now.duration_since(UNIX_EPOCH).map(|since| since.as_secs()).unwrap_or(0);
        let jwt = jsonwebtoken::encode(&self.header, &Claims { iss: &self.team_id, iat }, &self.key)
            .map_err(|_| PushError::Unauthorized {
                detail: "could not sign the provider token".into(),
                answer: None,
            })?;
        let mut bearer =
            HeaderValue::from_str(&format!("bearer {jwt}")).map_err(|_| PushError::Unauthorized {
                detail: "the provider token is not a header value".into(),
                answer: None,
            })?;
        bearer.set_sensitive(true);
        Ok(ProviderToken { bearer, issued_at: now })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Option<ProviderToken>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Option<ProviderToken>> {
        self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification<'a>(body: &'a str, data: &'a [(&'a str, &'a str)]) -> PushNotification<'a> {
        PushNotification {
            token: "00",
            title: "Burgernet",
            body,
            urgent: true,
            collapse_id: "alert-1",
            expires_at: DateTime::from_timestamp(1_900_000_000, 0).unwrap(),
            data,
            category: None,
        }
    }

    fn body_of(payload: &[u8]) -> String {
        let value: Value = serde_json::from_slice(payload).unwrap();
        value["aps"]["alert"]["body"].as_str().unwrap().to_string()
    }

    #[test]
    fn a_payload_that_fits_is_sent_as_it_is() {
        let payload = payload(&notification("Kort bericht", &[("alert_id", "a-1")])).unwrap();
        let value: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(value["aps"]["alert"]["body"], "Kort bericht");
        assert_eq!(value["alert_id"], "a-1");
    }

    #[test]
    fn a_long_body_is_cut_at_a_word_with_an_ellipsis() {
        let text = "Let op: één verdachte, gevlucht richting het station. ".repeat(200);
        let payload = payload(&notification(&text, &[])).unwrap();
        assert!(payload.len() <= MAX_PAYLOAD_BYTES);
        assert!(payload.len() > MAX_PAYLOAD_BYTES - 80, "{} bytes: cut more than needed", payload.len());
        let body = body_of(&payload);
        let kept = body.strip_suffix("…").unwrap();
        assert!(text.starts_with(kept) && text[kept.len()..].starts_with(' '), "{kept:?}");
    }

    #[test]
    fn escaped_characters_count_as_what_they_become_on_the_wire() {
        // Each quote takes two bytes in JSON, each control character six.
        let text = "\"\u{1}".repeat(3000);
        let payload = payload(&notification(&text, &[])).unwrap();
        assert!(payload.len() <= MAX_PAYLOAD_BYTES, "{}", payload.len());
        assert!(body_of(&payload).ends_with("…"));
    }

    #[test]
    fn a_body_without_spaces_is_cut_at_a_character_boundary() {
        let text = "ë".repeat(3000);
        let body = body_of(&payload(&notification(&text, &[])).unwrap());
        let kept = body.strip_suffix("…").unwrap();
        assert!(kept.chars().all(|c| c == 'ë') && kept.len() > 3_500, "{}", kept.len());
    }

    #[test]
    fn what_cannot_fit_or_collides_with_aps_is_refused() {
        let title = "T".repeat(5000);
        let too_large = PushNotification { title: &title, ..notification("body", &[]) };
        assert_eq!(
            payload(&too_large),
            Err(PushError::Rejected { status: 413, reason: "PayloadTooLarge".into(), answer: None })
        );
        assert!(matches!(payload(&notification("body", &[("aps", "x")])), Err(PushError::Rejected { .. })));
    }

    fn tokens() -> ProviderTokens {
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        use p256::pkcs8::EncodePrivateKey;
        let pem = secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
        ProviderTokens::new(EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(), "KEY1234567", "TEAM123456")
    }

    #[test]
    fn the_provider_token_is_an_es256_jwt_with_kid_iss_and_iat() {
        let bearer = tokens().current(UNIX_EPOCH + Duration::from_secs(1_800_000_000)).unwrap();
        let jwt = bearer.to_str().unwrap().strip_prefix("bearer ").unwrap();
        let header = jsonwebtoken::decode_header(jwt).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::ES256, Some("KEY1234567")));
        let claims: Value = jsonwebtoken::dangerous::insecure_decode(jwt).unwrap().claims;
        assert_eq!(claims, json!({"iss": "TEAM123456", "iat": 1_800_000_000}));
        assert!(bearer.is_sensitive());
    }

    #[test]
    fn the_provider_token_is_reused_for_40_minutes_then_renewed() {
        let tokens = tokens();
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let first = tokens.current(start).unwrap();
        assert_eq!(tokens.current(start + Duration::from_secs(39 * 60)).unwrap(), first);
        let renewed = tokens.current(start + TOKEN_RENEWAL_AGE).unwrap();
        assert_ne!(renewed, first);
        assert_eq!(tokens.current(start + TOKEN_RENEWAL_AGE + Duration::from_secs(60)).unwrap(), renewed);
    }

    #[test]
    fn a_rejected_token_is_renewed_once_however_many_requests_report_it() {
        let tokens = tokens();
        let start = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let rejected = tokens.current(start).unwrap();
        let renewed = tokens.renew_after_rejection(&rejected, start + Duration::from_secs(5)).unwrap();
        assert_ne!(renewed, rejected);
        assert_eq!(tokens.renew_after_rejection(&rejected, start + Duration::from_secs(6)).unwrap(), renewed);
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<PushAccepted, PushError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        interpret_response(StatusCode::from_u16(status).unwrap(), &map, body.as_bytes())
    }

    #[test]
    fn classifies_apples_answers() {
        assert_eq!(
            answer(200, &[("apns-id", "EC1BF194-B3B2-424A-89A9-5A918A6E6B5E")], ""),
            Ok(PushAccepted { provider_message_id: Some("EC1BF194-B3B2-424A-89A9-5A918A6E6B5E".into()) })
        );
        assert_eq!(
            answer(410, &[], r#"{"reason":"Unregistered","timestamp":1700000000123}"#),
            Err(PushError::Unregistered {
                reason: "Unregistered".into(),
                since: DateTime::from_timestamp_millis(1_700_000_000_123),
                answer: Some(ProviderAnswer::coded(410, "Unregistered")),
            })
        );
        assert_eq!(
            answer(400, &[], r#"{"reason":"BadDeviceToken"}"#),
            Err(PushError::Unregistered {
                reason: "BadDeviceToken".into(),
                since: None,
                answer: Some(ProviderAnswer::coded(400, "BadDeviceToken")),
            })
        );
        assert_eq!(
            answer(400, &[], r#"{"reason":"BadPriority"}"#),
            Err(PushError::Rejected {
                status: 400,
                reason: "BadPriority".into(),
                answer: Some(ProviderAnswer::coded(400, "BadPriority")),
            })
        );
        assert_eq!(
            answer(413, &[], r#"{"reason":"PayloadTooLarge"}"#),
            Err(PushError::Rejected {
                status: 413,
                reason: "PayloadTooLarge".into(),
                answer: Some(ProviderAnswer::coded(413, "PayloadTooLarge")),
            })
        );
        assert_eq!(
            answer(403, &[], r#"{"reason":"InvalidProviderToken"}"#),
            Err(PushError::Unauthorized {
                detail: "HTTP 403 (InvalidProviderToken)".into(),
                answer: Some(ProviderAnswer::coded(403, "InvalidProviderToken")),
            })
        );
        assert_eq!(
            answer(429, &[("retry-after", "30")], r#"{"reason":"TooManyRequests"}"#)
                .unwrap_err()
                .retry_after(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            answer(500, &[], r#"{"reason":"InternalServerError"}"#),
            Err(PushError::Unavailable {
                detail: "HTTP 500 (InternalServerError)".into(),
                retry_after: None,
                answer: ProviderAnswer::coded(500, "InternalServerError"),
            })
        );
        assert_eq!(
            answer(503, &[("retry-after", "5")], "").unwrap_err().retry_after(),
            Some(Duration::from_secs(5))
        );
        // A reason that is not one of Apple's words is not repeated.
        assert_eq!(
            answer(400, &[], r#"{"reason":"token 3f2a9c0e is bad"}"#),
            Err(PushError::Rejected {
                status: 400,
                reason: "Unknown".into(),
                answer: Some(ProviderAnswer::coded(400, "Unknown")),
            })
        );
    }

    #[test]
    fn apples_answers_are_counted_by_reason_else_status() {
        let counted = |status, body: &str| answer(status, &[], body).unwrap_err().provider_code();
        assert_eq!(counted(503, r#"{"reason":"ServiceUnavailable"}"#), "ServiceUnavailable");
        assert_eq!(counted(503, ""), "503");
        assert_eq!(counted(403, ""), "403");
        assert_eq!(counted(400, r#"{"reason":"BadDeviceToken"}"#), "BadDeviceToken");
        assert_eq!(counted(410, r#"{"reason":"Unregistered"}"#), "Unregistered");
        // Without a reason, the status's own reason stands in, as on the delivery record.
        assert_eq!(counted(410, ""), "Unregistered");
        assert_eq!(counted(429, ""), "TooManyRequests");
        assert_eq!(counted(400, ""), "Unknown");
    }
}
