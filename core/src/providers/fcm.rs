//! The client of Firebase Cloud Messaging's HTTP v1 API, which carries alerts to Android devices.
//! (The `fcm` crate speaks only the legacy API Google shut down in 2024, hence a client of our
//! own; design.md section 4.)
//!
//! # Credentials
//!
//! A Google service-account key file ([`ServiceAccount`]) holds an RSA key. With it we ask the
//! account's token endpoint for an OAuth2 access token (RFC 7523, the JWT bearer grant):
//!
//! ```text
//! POST {token_uri}
//! Content-Type: application/x-www-form-urlencoded
//!
//! grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT, RS256>
//! ```
//!
//! The JWT says who we are (`iss`: the account's e-mail), what for (`scope`: Firebase messaging),
//! to whom (`aud`: the token endpoint) and for how long (`iat`, `exp` one hour later). It is signed
//! with `ring` (RSASSA-PKCS1-v1_5 with SHA-256), not through jsonwebtoken: jsonwebtoken's RSA is
//! the `rsa` crate, whose private-key operations leak timing (RUSTSEC-2023-0071, see deny.toml).
//! The answer is `{"access_token": "...", "expires_in": 3599, "token_type": "Bearer"}`. The token
//! is kept until five minutes before it expires and shared by all clones of the client; while one
//! sender fetches a new one, the others wait for it (and share its failure) instead of each asking.
//!
//! # Sending
//!
//! ```text
//! POST {api_url}/v1/projects/{project_id}/messages:send
//! Authorization: Bearer <access token>
//!
//! {"message": {"token": "<registration token>", "notification": {"title": "...", "body": "..."},
//!   "data": {"alert_id": "..."}, "android": {"priority": "HIGH", "ttl": "3600s", "collapse_key": "..."}}}
//! ```
//!
//! `200 {"name": "projects/<p>/messages/<id>"}` means accepted. Errors come in Google's shape,
//! `{"error": {"code": 404, "status": "NOT_FOUND", "message": "...", "details": [{"@type":
//! "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}`, and are
//! classified by `errorCode`, else `status`, else the HTTP status (see [`PushError`]):
//!
//! - `UNREGISTERED`: the token is dead;
//! - `QUOTA_EXCEEDED`, `RESOURCE_EXHAUSTED`, 429: rate limited, with `Retry-After`;
//! - `UNAVAILABLE`, `INTERNAL`, 5xx: unavailable;
//! - 401: the access token was refused; it is dropped and the message sent once more with a new
//!   one, and if that is refused too: unauthorized;
//! - `THIRD_PARTY_AUTH_ERROR`, `PERMISSION_DENIED`, 403: unauthorized (our credentials or
//!   project are wrong);
//! - `SENDER_ID_MISMATCH` (the device token belongs to another project), `INVALID_ARGUMENT` and
//!   any other 4xx: rejected, never retried.
//!
//! Google's free-text `message` is never kept: it can repeat the device token.
//!
//! # Connections
//!
//! Messages go over a fixed number of HTTP/2 connections of our own (`BURGERNET_FCM_CONNECTIONS`,
//! see `http2.rs`), each carrying many concurrent messages: one connection carries at most the
//! server's `SETTINGS_MAX_CONCURRENT_STREAMS` at once, too few for a large alert. The send API
//! needs HTTP/2 (Google's speaks it): a server or proxy that offers only HTTP/1.1 gets no message,
//! and the error says it did not agree to HTTP/2. The token endpoint, about one request an hour,
//! goes through hyper-util's pooled client, HTTP/2 or HTTP/1.1, whichever the server offers.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::http2::{Answer, Http2Connections};
use super::push::{PushAccepted, PushError, PushNotification, fit_body};
use super::sms::retry_after;
use super::{ProviderAnswer, error_chain};
use crate::env::{ConfigError, Env, parse};
use crate::secret::Secret;

/// Google's FCM API.
pub const DEFAULT_API_URL: &str = "https://fcm.googleapis.com";

/// Google's OAuth2 token endpoint, for key files that do not name one.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The OAuth2 scope that allows sending FCM messages.
pub const MESSAGING_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Google accepts assertions valid for at most an hour.
const ASSERTION_LIFETIME_SECONDS: i64 = 3600;

/// A token is replaced this long before it expires, so no request goes out with a token that
/// expires on the way.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// FCM's limit on the notification and data of one message, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// Google's answers are small; anything larger is not read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The parts of a Google service-account key file (JSON) the client needs.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    /// PEM, PKCS#8 RSA (`-----BEGIN PRIVATE KEY-----`); PKCS#1 (`BEGIN RSA PRIVATE KEY`) is read too.
    pub private_key: Secret<String>,
    pub private_key_id: Option<String>,
    /// Where access tokens come from, e.g. `https://oauth2.googleapis.com/token`.
    pub token_uri: String,
}

impl ServiceAccount {
    /// Reads a key file as the Google Cloud console hands it out. The problem text names the
    /// field at fault and never repeats a value (the file holds a private key).
    pub fn parse(json: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(json).map_err(|error| {
            format!("is not valid JSON (line {}, column {})", error.line(), error.column())
        })?;
        let Value::Object(fields) = value else { return Err("is not a JSON object".into()) };
        let optional = |name: &str| {
            fields
                .get(name)
                .and_then(Value::as_str)
                .filter(|text| !text.trim().is_empty())
                .map(str::to_string)
        };
        let required = |name: &str| {
            optional(name).ok_or_else(|| format!("has no \"{name}\"; is it a service-account key file?"))
        };
        if optional("type").is_some_and(|kind| kind != "service_account") {
            return Err("is not a service-account key file (\"type\" is not \"service_account\")".into());
        }
        let private_key = required("private_key")?;
        rsa_key_pair(&private_key).map_err(|problem| format!("has a \"private_key\" that {problem}"))?;
        let token_uri = match optional("token_uri") {
            Some(uri) => https_url(&uri).map_err(|_| "has a \"token_uri\" that is not an https:// URL")?,
            None => DEFAULT_TOKEN_URI.to_string(),
        };
        Ok(Self {
            project_id: required("project_id")?,
            client_email: required("client_email")?,
            private_key: Secret::new(private_key),
            private_key_id: optional("private_key_id"),
            token_uri,
        })
    }
}

/// Where and how to reach FCM.
#[derive(Debug, Clone)]
pub struct FcmConfig {
    pub service_account: ServiceAccount,
    /// `https://` base URL without a trailing slash.
    pub api_url: String,
    /// Certificate authorities (PEM) trusted besides the system's, for both the token endpoint and
    /// the API: an inspecting proxy, or the local fake.
    pub extra_ca_pem: Option<String>,
    /// HTTP/2 connections to the API.
    pub connections: usize,
    /// The longest one request may take, from connecting to reading the whole answer.
    pub timeout: Duration,
}

impl FcmConfig {
    /// Reads `BURGERNET_FCM_SERVICE_ACCOUNT_FILE` (the key file's path; unset: `Ok(None)`, no FCM),
    /// `BURGERNET_FCM_URL` (default `https://fcm.googleapis.com`), `BURGERNET_FCM_CA_FILE` (extra
    /// trusted CAs, PEM), `BURGERNET_FCM_CONNECTIONS` (default 4), `BURGERNET_FCM_TIMEOUT` (default
    /// `10s`) and `BURGERNET_FCM_TOKEN_URI` (overrides the key file's `token_uri`).
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        const KEY_FILE: &str = "BURGERNET_FCM_SERVICE_ACCOUNT_FILE";
        let Some(mut service_account) = env.optional(KEY_FILE, read_service_account_file)? else {
            let dependents = [
                "BURGERNET_FCM_URL",
                "BURGERNET_FCM_CA_FILE",
                "BURGERNET_FCM_CONNECTIONS",
                "BURGERNET_FCM_TIMEOUT",
                "BURGERNET_FCM_TOKEN_URI",
            ];
            if let Some(dependent) = dependents.into_iter().find(|name| env.is_set(name)) {
                return Err(ConfigError {
                    variable: KEY_FILE,
                    problem: format!("is required when {dependent} is set"),
                });
            }
            return Ok(None);
        };
        if let Some(token_uri) = env.optional("BURGERNET_FCM_TOKEN_URI", https_url)? {
            service_account.token_uri = token_uri;
        }
        Ok(Some(Self {
            service_account,
            api_url: env.or("BURGERNET_FCM_URL", DEFAULT_API_URL.to_string(), https_url)?,
            extra_ca_pem: env.optional("BURGERNET_FCM_CA_FILE", read_ca_file)?,
            connections: env.or("BURGERNET_FCM_CONNECTIONS", 4, parse::positive_number)?,
            timeout: env.or("BURGERNET_FCM_TIMEOUT", Duration::from_secs(10), parse::duration)?,
        }))
    }
}

fn read_service_account_file(path: &str) -> Result<ServiceAccount, String> {
    let json = std::fs::read_to_string(path).map_err(|error| format!("cannot read {path:?}: {error}"))?;
    ServiceAccount::parse(&json).map_err(|problem| format!("the file {path:?} {problem}"))
}

fn read_ca_file(path: &str) -> Result<String, String> {
    let pem = std::fs::read_to_string(path).map_err(|error| format!("cannot read {path:?}: {error}"))?;
    if pem.contains("-----BEGIN CERTIFICATE-----") {
        Ok(pem)
    } else {
        Err(format!("the file {path:?} holds no PEM certificate"))
    }
}

/// The RSA key of a service account, from PEM (PKCS#8 as Google hands it out, or PKCS#1). The
/// problem says what is wrong without repeating the key.
fn rsa_key_pair(pem: &str) -> Result<RsaKeyPair, String> {
    let unusable = |rejection| format!("is not an RSA private key that can sign RS256 ({rejection})");
    match PrivateKeyDer::from_pem_slice(pem.as_bytes()) {
        Ok(PrivateKeyDer::Pkcs8(der)) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).map_err(unusable),
        Ok(PrivateKeyDer::Pkcs1(der)) => RsaKeyPair::from_der(der.secret_pkcs1_der()).map_err(unusable),
        _ => Err("is not an RSA private key in PEM form".into()),
    }
}

/// Credentials and messages travel only over TLS.
fn https_url(raw: &str) -> Result<String, String> {
    let url = parse::http_url(raw)?;
    if url.starts_with("https://") { Ok(url) } else { Err("expected an https:// URL".into()) }
}

/// The FCM client. Cheap to clone: clones share the connections and the access token.
#[derive(Clone)]
pub struct FcmClient {
    inner: Arc<Inner>,
}

struct Inner {
    messages: Http2Connections,
    /// For the token endpoint only.
    token_http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    send_uri: Uri,
    token_uri: Uri,
    signer: AssertionSigner,
    timeout: Duration,
    token: tokio::sync::Mutex<TokenState>,
}

/// Signs the JWTs we trade for access tokens (RS256, RFC 7515 compact form).
struct AssertionSigner {
    key: RsaKeyPair,
    random: SystemRandom,
    /// The JOSE header, base64url: `{"alg":"RS256","typ":"JWT","kid":"<private_key_id>"}`.
    encoded_header: String,
    issuer: String,
    audience: String,
}

#[derive(Serialize)]
struct AssertionHeader<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

impl AssertionSigner {
    fn new(account: &ServiceAccount) -> anyhow::Result<Self> {
        let key = rsa_key_pair(account.private_key.expose())
            .map_err(|problem| anyhow::anyhow!("the service account's private key {problem}"))?;
        let header = AssertionHeader { alg: "RS256", typ: "JWT", kid: account.private_key_id.as_deref() };
        Ok(Self {
            key,
            random: SystemRandom::new(),
            encoded_header: URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            issuer: account.client_email.clone(),
            audience: account.token_uri.clone(),
        })
    }

    /// An assertion valid for an hour from `now` (Unix seconds).
    fn sign(&self, now: i64) -> Result<String, PushError> {
        let claims = AssertionClaims {
            iss: &self.issuer,
            scope: MESSAGING_SCOPE,
            aud: &self.audience,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECONDS,
        };
        let failed = || PushError::Unauthorized {
            detail: "could not sign the token request with the service account's key".into(),
            answer: None,
        };
        let claims = serde_json::to_vec(&claims).map_err(|_| failed())?;
        let signing_input = format!("{}.{}", self.encoded_header, URL_SAFE_NO_PAD.encode(claims));
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &self.random, signing_input.as_bytes(), &mut signature)
            .map_err(|_| failed())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[derive(Default)]
struct TokenState {
    current: Option<AccessToken>,
    /// The last refresh that failed, and when: senders that waited for it get its error.
    last_failure: Option<(Instant, PushError)>,
}

struct AccessToken {
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    refresh_after: Instant,
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenGranted {
    access_token: String,
    expires_in: u64,
    token_type: String,
}

#[derive(Deserialize)]
struct TokenRefused {
    error: String,
}

#[derive(Deserialize)]
struct MessageSent {
    name: String,
}

#[derive(Deserialize)]
struct GoogleErrorEnvelope {
    error: GoogleError,
}

#[derive(Deserialize)]
struct GoogleError {
    status: Option<String>,
    #[serde(default)]
    details: Vec<GoogleErrorDetail>,
}

#[derive(Deserialize)]
struct GoogleErrorDetail {
    #[serde(rename = "@type")]
    kind: Option<String>,
    #[serde(rename = "errorCode")]
    error_code: Option<String>,
}

impl fmt::Debug for FcmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcmClient")
            .field("send_uri", &self.inner.send_uri.to_string())
            .field("token_uri", &self.inner.token_uri.to_string())
            .field("connections", &self.inner.messages.connections())
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl FcmClient {
    /// Builds the client; no network I/O happens until the first [`send`](Self::send).
    pub fn new(config: FcmConfig) -> anyhow::Result<Self> {
        let account = config.service_account;
        let api_url = https_url(&config.api_url)
            .map_err(|problem| anyhow::anyhow!("the FCM URL is not usable: {problem}"))?;
        let send_uri: Uri = format!("{api_url}/v1/projects/{}/messages:send", account.project_id)
            .parse()
            .context("build the FCM send URL (is the project id plain?)")?;
        let token_uri: Uri = https_url(&account.token_uri)
            .map_err(|problem| anyhow::anyhow!("the token URI is not usable: {problem}"))?
            .parse()
            .context("read the token URI")?;
        let signer = AssertionSigner::new(&account)?;

        let tls = super::tls_client_config_trusting(config.extra_ca_pem.as_deref())?;
        let messages =
            Http2Connections::new("FCM", &api_url, config.connections, tls.clone(), MAX_RESPONSE_BYTES)?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_all_versions()
            .wrap_connector(http);
        let token_http = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .timer(TokioTimer::new())
            .build(connector);
        let inner = Inner {
            messages,
            token_http,
            send_uri,
            token_uri,
            signer,
            timeout: config.timeout,
            token: tokio::sync::Mutex::new(TokenState::default()),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Fetches an access token and opens the connections, so the first alert's pushes leave at
    /// once.
    pub async fn warm_up(&self) -> Result<(), PushError> {
        self.access_token().await?;
        self.inner.messages.open_all().await
    }

    /// Sends one notification to one device.
    pub async fn send(&self, notification: &PushNotification<'_>) -> Result<PushAccepted, PushError> {
        let body = Bytes::from(message_body(notification, Utc::now()).to_string());
        let authorization = self.access_token().await?;
        let mut answer = self.post_message(&authorization, body.clone()).await?;
        if answer.status == StatusCode::UNAUTHORIZED {
            // Revoked or expired early: one more try with a token fetched now.
            self.forget_access_token(&authorization).await;
            let fresh = self.access_token().await?;
            answer = self.post_message(&fresh, body).await?;
        }
        let result = interpret_send_answer(&answer);
        if let Err(error) = &result {
            tracing::debug!(collapse_id = notification.collapse_id, %error, "FCM did not accept a notification");
        }
        result
    }

    async fn post_message(&self, authorization: &HeaderValue, body: Bytes) -> Result<Answer, PushError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.inner.send_uri.clone())
            .header(header::AUTHORIZATION, authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, concat!("burgernet/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .map_err(|_| {
                PushError::unavailable("could not build the FCM request", ProviderAnswer::Connect)
            })?;
        self.within_timeout("FCM", self.inner.messages.exchange(request)).await
    }

    /// The current access token as an `Authorization` value, fetched first when there is none
    /// or it is about to expire.
    async fn access_token(&self) -> Result<HeaderValue, PushError> {
        let asked_at = Instant::now();
        let mut state = self.inner.token.lock().await;
        if let Some(token) = &state.current
            && Instant::now() < token.refresh_after
        {
            return Ok(token.authorization.clone());
        }
        if let Some((failed_at, error)) = &state.last_failure
            && *failed_at >= asked_at
        {
            return Err(error.clone());
        }
        match self.fetch_access_token().await {
            Ok(token) => {
                let authorization = token.authorization.clone();
                *state = TokenState { current: Some(token), last_failure: None };
                Ok(authorization)
            }
            Err(error) => {
                *state = TokenState { current: None, last_failure: Some((Instant::now(), error.clone())) };
                Err(error)
            }
        }
    }

    /// Drops the token FCM refused, unless another sender has replaced it already.
    async fn forget_access_token(&self, refused: &HeaderValue) {
        let mut state = self.inner.token.lock().await;
        if state.current.as_ref().is_some_and(|token| token.authorization == *refused) {
            state.current = None;
        }
    }

    async fn fetch_access_token(&self) -> Result<AccessToken, PushError> {
        let assertion = self.inner.signer.sign(Utc::now().timestamp())?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER_GRANT)
            .append_pair("assertion", &assertion)
            .finish();
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.inner.token_uri.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::USER_AGENT, concat!("burgernet/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(form)))
            .map_err(|_| {
                PushError::unavailable("could not build the token request", ProviderAnswer::Connect)
            })?;
        let fetched_at = Instant::now();
        let peer = "the OAuth2 token endpoint";
        let answer = self.within_timeout(peer, self.token_exchange(request, peer)).await?;
        interpret_token_answer(&answer, fetched_at)
    }

    /// A request to the token endpoint and its whole answer. `peer` names the endpoint in errors.
    async fn token_exchange(&self, request: Request<Full<Bytes>>, peer: &str) -> Result<Answer, PushError> {
        let response = self.inner.token_http.request(request).await.map_err(|error| {
            let what = if error.is_connect() { "could not connect" } else { "the request failed" };
            // hyper-util's own text ("client error (Connect)") adds nothing to its cause's.
            let cause = error_chain(std::error::Error::source(&error).unwrap_or(&error));
            PushError::unavailable(format!("{peer}: {what}: {cause}"), ProviderAnswer::Connect)
        })?;
        Answer::read(response, MAX_RESPONSE_BYTES, peer).await
    }

    /// `exchange`, given up after the timeout. `peer` names the other side in errors.
    async fn within_timeout(
        &self,
        peer: &str,
        exchange: impl Future<Output = Result<Answer, PushError>>,
    ) -> Result<Answer, PushError> {
        let timeout = self.inner.timeout;
        tokio::time::timeout(timeout, exchange).await.map_err(|_| {
            PushError::unavailable(
                format!("{peer}: no response within {}", humantime::format_duration(timeout)),
                ProviderAnswer::Timeout,
            )
        })?
    }
}

/// The token endpoint's answer: a token, or why not. 4xx means our credentials are refused
/// (`invalid_grant`: wrong key, unknown account, clock skew), except for "slow down" (429).
fn interpret_token_answer(answer: &Answer, fetched_at: Instant) -> Result<AccessToken, PushError> {
    let status = answer.status.as_u16();
    if answer.status == StatusCode::OK {
        let granted = serde_json::from_slice::<TokenGranted>(&answer.body)
            .ok()
            .filter(|granted| granted.token_type.eq_ignore_ascii_case("bearer"))
            .ok_or_else(|| {
                PushError::unavailable(
                    "the OAuth2 token endpoint answered HTTP 200 without a bearer token",
                    ProviderAnswer::status(status),
                )
            })?;
        let mut authorization =
            HeaderValue::try_from(format!("Bearer {}", granted.access_token)).map_err(|_| {
                PushError::unavailable(
                    "the OAuth2 token endpoint answered a token that cannot be sent in a header",
                    ProviderAnswer::status(status),
                )
            })?;
        authorization.set_sensitive(true);
        let lifetime = Duration::from_secs(granted.expires_in);
        return Ok(AccessToken {
            authorization,
            refresh_after: fetched_at + lifetime.saturating_sub(REFRESH_MARGIN),
        });
    }
    let code = serde_json::from_slice::<TokenRefused>(&answer.body)
        .ok()
        .map(|refused| refused.error)
        .filter(|code| is_code(code));
    let detail = match &code {
        Some(code) => format!("the OAuth2 token endpoint answered HTTP {status} ({code})"),
        None => format!("the OAuth2 token endpoint answered HTTP {status}"),
    };
    let answered = ProviderAnswer::Answered { status, code };
    match status {
        408 | 429 | 500..=599 => Err(PushError::Unavailable {
            detail,
            retry_after: retry_after(&answer.headers),
            answer: answered,
        }),
        400..=499 => Err(PushError::Unauthorized { detail, answer: Some(answered) }),
        _ => Err(PushError::unavailable(detail, answered)),
    }
}

/// FCM's answer to a message; see the module documentation for the rules.
fn interpret_send_answer(answer: &Answer) -> Result<PushAccepted, PushError> {
    let status = answer.status.as_u16();
    if answer.status.is_success() {
        // Accepted is accepted: a name we cannot read must not make anyone send it again.
        let name = serde_json::from_slice::<MessageSent>(&answer.body).ok().map(|sent| sent.name);
        return Ok(PushAccepted { provider_message_id: name });
    }
    let (error_code, google_status) = read_google_error(&answer.body);
    let code = error_code.or(google_status);
    // Without a code the delivery record says `http_404`; the metric counts the status.
    let reason = code.clone().unwrap_or_else(|| format!("http_{status}"));
    let detail = format!("HTTP {status} ({reason})");
    let retry_after = retry_after(&answer.headers);
    let answered = ProviderAnswer::Answered { status, code };
    let by_http_status = || match status {
        429 => PushError::RateLimited { reason: reason.clone(), retry_after, answer: answered.clone() },
        500..=599 => PushError::Unavailable { detail: detail.clone(), retry_after, answer: answered.clone() },
        401 | 403 => PushError::Unauthorized { detail: detail.clone(), answer: Some(answered.clone()) },
        _ => PushError::Rejected { status, reason: reason.clone(), answer: Some(answered.clone()) },
    };
    Err(match reason.as_str() {
        "UNREGISTERED" => PushError::Unregistered { reason, since: None, answer: Some(answered) },
        "SENDER_ID_MISMATCH" => PushError::Rejected { status, reason, answer: Some(answered) },
        "QUOTA_EXCEEDED" | "RESOURCE_EXHAUSTED" => {
            PushError::RateLimited { reason, retry_after, answer: answered }
        }
        "UNAVAILABLE" | "INTERNAL" => PushError::Unavailable { detail, retry_after, answer: answered },
        "THIRD_PARTY_AUTH_ERROR" | "PERMISSION_DENIED" | "UNAUTHENTICATED" => {
            PushError::Unauthorized { detail, answer: Some(answered) }
        }
        _ => by_http_status(),
    })
}

/// The FCM `errorCode` and the Google `status` of an error body, when they look like codes.
fn read_google_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(envelope) = serde_json::from_slice::<GoogleErrorEnvelope>(body) else { return (None, None) };
    let error_code = envelope
        .error
        .details
        .into_iter()
        .filter(|detail| {
            detail.kind.as_deref().is_some_and(|kind| kind.ends_with("google.firebase.fcm.v1.FcmError"))
        })
        .find_map(|detail| detail.error_code)
        .filter(|code| is_code(code));
    (error_code, envelope.error.status.filter(|status| is_code(status)))
}

/// A machine-readable code (`UNREGISTERED`, `invalid_grant`), not free text that could carry
/// a token.
fn is_code(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The JSON of one FCM v1 send request.
fn message_body(notification: &PushNotification<'_>, now: DateTime<Utc>) -> Value {
    let data: Map<String, Value> =
        notification.data.iter().map(|(key, value)| ((*key).to_string(), Value::from(*value))).collect();
    let body = fitting_body(notification.title, notification.body, &data);
    let ttl_seconds = (notification.expires_at - now).num_seconds().max(0);
    let mut message = json!({
        "message": {
            "token": notification.token,
            "notification": { "title": notification.title, "body": body },
            "data": data,
            "android": {
                "priority": if notification.urgent { "HIGH" } else { "NORMAL" },
                "ttl": format!("{ttl_seconds}s"),
                "collapse_key": notification.collapse_id,
            },
        }
    });
    if let Some(category) = notification.category {
        message["message"]["android"]["notification"] = json!({ "click_action": category });
    }
    message
}

/// `body`, shortened as far as needed for the notification and the data to stay within
/// [`MAX_PAYLOAD_BYTES`] as JSON.
fn fitting_body<'a>(title: &str, body: &'a str, data: &Map<String, Value>) -> Cow<'a, str> {
    let json_len = |value: &Value| value.to_string().len();
    let around_body =
        json_len(&json!({ "title": title, "body": "" })) + json_len(&Value::Object(data.clone()));
    // The body's length as JSON: escapes (quotes, control characters) take more than one byte.
    fit_body(body, |text| around_body + json_len(&Value::from(text)) - 2 <= MAX_PAYLOAD_BYTES)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderMap;

    use super::*;

    fn payload_len(title: &str, body: &str, data: &Map<String, Value>) -> usize {
        json!({ "title": title, "body": body }).to_string().len()
            + Value::Object(data.clone()).to_string().len()
    }

    #[test]
    fn the_body_is_shortened_to_fit_the_payload_limit_counting_escapes() {
        let data: Map<String, Value> =
            [("alert_id".to_string(), Value::from("a".repeat(500)))].into_iter().collect();
        for body in ["woord ".repeat(1000), "\"quoted\" ".repeat(700), "ë".repeat(3000)] {
            let fitted = fitting_body("Vermist: jongen (8)", &body, &data);
            assert!(payload_len("Vermist: jongen (8)", &fitted, &data) <= MAX_PAYLOAD_BYTES);
            assert!(payload_len("Vermist: jongen (8)", &fitted, &data) > MAX_PAYLOAD_BYTES - 100);
            let kept = fitted.strip_suffix("…").expect("ends with an ellipsis");
            assert!(body.starts_with(kept));
        }
        assert_eq!(fitting_body("t", "short", &data), "short");
    }

    /// A service account whose key was made by the `rsa` crate, and that key's public half.
    fn service_account_and_public_key() -> (ServiceAccount, jsonwebtoken::DecodingKey) {
        use rsa::pkcs1::EncodeRsaPublicKey;
        use rsa::pkcs8::{EncodePrivateKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let key_file = json!({
            "type": "service_account",
            "project_id": "burgernet-test",
            "private_key_id": "d41d8cd98f00b204e9800998ecf8427e",
            "private_key": key.to_pkcs8_pem(LineEnding::LF).unwrap().as_str(),
            "client_email": "push@burgernet-test.iam.gserviceaccount.com",
            "token_uri": "https://oauth2.googleapis.com/token",
        });
        let account = ServiceAccount::parse(&key_file.to_string()).unwrap();
        let public = key.to_public_key().to_pkcs1_der().unwrap();
        (account, jsonwebtoken::DecodingKey::from_rsa_der(public.as_bytes()))
    }

    #[test]
    fn assertions_are_rs256_jwts_that_verify_with_the_service_accounts_public_key() {
        let (account, public_key) = service_account_and_public_key();
        let now = Utc::now().timestamp();
        let assertion = AssertionSigner::new(&account).unwrap().sign(now).unwrap();

        // Compact form: three base64url parts without padding.
        let parts: Vec<&str> = assertion.split('.').collect();
        assert_eq!(parts.len(), 3, "{assertion}");
        let base64url =
            |part: &str| part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        assert!(parts.iter().all(|part| base64url(part)), "{assertion}");
        let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "d41d8cd98f00b204e9800998ecf8427e"}));
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256, "an RSA-2048 signature");

        // Verified as Google does, with nothing but the public key (and another RSA implementation).
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_audience(&["https://oauth2.googleapis.com/token"]);
        validation.set_issuer(&["push@burgernet-test.iam.gserviceaccount.com"]);
        let claims: Value = jsonwebtoken::decode(&assertion, &public_key, &validation).unwrap().claims;
        assert_eq!(
            claims,
            json!({
                "iss": "push@burgernet-test.iam.gserviceaccount.com",
                "scope": MESSAGING_SCOPE,
                "aud": "https://oauth2.googleapis.com/token",
                "iat": now,
                "exp": now + 3600,
            })
        );

        // The signature covers the claims: one more second of validity breaks it.
        let longer = json!({"iss": claims["iss"], "scope": MESSAGING_SCOPE, "aud": claims["aud"], "iat": now, "exp": now + 3601});
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(longer.to_string()), parts[2]);
        let refusal = jsonwebtoken::decode::<Value>(&forged, &public_key, &validation).unwrap_err();
        assert_eq!(*refusal.kind(), jsonwebtoken::errors::ErrorKind::InvalidSignature);
    }

    #[test]
    fn a_key_file_without_a_usable_rsa_key_is_refused_without_repeating_it() {
        let (account, _) = service_account_and_public_key();
        let pem = account.private_key.expose();
        let mut key_file = json!({
            "type": "service_account",
            "project_id": "burgernet-test",
            "client_email": "push@burgernet-test.iam.gserviceaccount.com",
        });
        // 40 base64 characters (30 bytes) out of the middle of the key: still PEM, no longer DER.
        let cut = pem.replacen(&pem.lines().nth(3).unwrap()[8..48], "", 1);
        use p256::pkcs8::EncodePrivateKey;
        let elliptic = p256::SecretKey::from_slice(&[7; 32]).unwrap();
        let elliptic = elliptic.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap().to_string();
        for (key, problem) in [
            ("hunter2".to_string(), "is not an RSA private key in PEM form"),
            (cut, "is not an RSA private key that can sign RS256 (InvalidEncoding)"),
            (elliptic, "is not an RSA private key that can sign RS256 (WrongAlgorithm)"),
        ] {
            key_file["private_key"] = key.clone().into();
            let refusal = ServiceAccount::parse(&key_file.to_string()).unwrap_err();
            assert!(refusal.starts_with("has a \"private_key\" that "), "{refusal}");
            assert!(refusal.contains(problem), "{refusal}");
            assert!(!refusal.contains(&key), "{refusal}");
        }
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: Bytes::from(body.to_string()),
        }
    }

    fn google_error(code: u16, status: &str, error_code: Option<&str>) -> String {
        let details = match error_code {
            Some(error_code) => {
                json!([{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": error_code}])
            }
            None => json!([]),
        };
        json!({"error": {"code": code, "message": "token abc:123 said no", "status": status, "details": details}})
            .to_string()
    }

    #[test]
    fn classifies_fcm_answers_by_error_code_then_status() {
        let sent = interpret_send_answer(&answer(200, &[], r#"{"name":"projects/p/messages/0:1"}"#)).unwrap();
        assert_eq!(sent.provider_message_id.as_deref(), Some("projects/p/messages/0:1"));
        assert_eq!(interpret_send_answer(&answer(200, &[], "?")).unwrap().provider_message_id, None);

        let coded = |status, code| Some(ProviderAnswer::coded(status, code));
        let cases = [
            (
                404,
                "NOT_FOUND",
                Some("UNREGISTERED"),
                PushError::Unregistered {
                    reason: "UNREGISTERED".into(),
                    since: None,
                    answer: coded(404, "UNREGISTERED"),
                },
            ),
            (
                429,
                "RESOURCE_EXHAUSTED",
                Some("QUOTA_EXCEEDED"),
                PushError::RateLimited {
                    reason: "QUOTA_EXCEEDED".into(),
                    retry_after: Some(Duration::from_secs(9)),
                    answer: ProviderAnswer::coded(429, "QUOTA_EXCEEDED"),
                },
            ),
            (
                503,
                "UNAVAILABLE",
                Some("UNAVAILABLE"),
                PushError::Unavailable {
                    detail: "HTTP 503 (UNAVAILABLE)".into(),
                    retry_after: Some(Duration::from_secs(9)),
                    answer: ProviderAnswer::coded(503, "UNAVAILABLE"),
                },
            ),
            (
                500,
                "INTERNAL",
                None,
                PushError::Unavailable {
                    detail: "HTTP 500 (INTERNAL)".into(),
                    retry_after: Some(Duration::from_secs(9)),
                    answer: ProviderAnswer::coded(500, "INTERNAL"),
                },
            ),
            (
                403,
                "PERMISSION_DENIED",
                Some("SENDER_ID_MISMATCH"),
                PushError::Rejected {
                    status: 403,
                    reason: "SENDER_ID_MISMATCH".into(),
                    answer: coded(403, "SENDER_ID_MISMATCH"),
                },
            ),
            (
                403,
                "PERMISSION_DENIED",
                None,
                PushError::Unauthorized {
                    detail: "HTTP 403 (PERMISSION_DENIED)".into(),
                    answer: coded(403, "PERMISSION_DENIED"),
                },
            ),
            (
                401,
                "UNAUTHENTICATED",
                Some("THIRD_PARTY_AUTH_ERROR"),
                PushError::Unauthorized {
                    detail: "HTTP 401 (THIRD_PARTY_AUTH_ERROR)".into(),
                    answer: coded(401, "THIRD_PARTY_AUTH_ERROR"),
                },
            ),
            (
                400,
                "INVALID_ARGUMENT",
                Some("INVALID_ARGUMENT"),
                PushError::Rejected {
                    status: 400,
                    reason: "INVALID_ARGUMENT".into(),
                    answer: coded(400, "INVALID_ARGUMENT"),
                },
            ),
            (
                413,
                "FAILED_PRECONDITION",
                None,
                PushError::Rejected {
                    status: 413,
                    reason: "FAILED_PRECONDITION".into(),
                    answer: coded(413, "FAILED_PRECONDITION"),
                },
            ),
        ];
        for (status, google_status, error_code, expected) in cases {
            let body = google_error(status, google_status, error_code);
            let error = interpret_send_answer(&answer(status, &[("retry-after", "9")], &body)).unwrap_err();
            assert_eq!(error, expected);
            assert!(!format!("{error} {error:?}").contains("abc:123"));
        }
        // Without Google's body, the HTTP status decides, and is what is counted.
        let bad_gateway = interpret_send_answer(&answer(502, &[], "<html>Bad gateway</html>")).unwrap_err();
        assert_eq!(
            bad_gateway,
            PushError::Unavailable {
                detail: "HTTP 502 (http_502)".into(),
                retry_after: None,
                answer: ProviderAnswer::status(502),
            }
        );
        assert_eq!(bad_gateway.provider_code(), "502");
        let limited = interpret_send_answer(&answer(429, &[], "")).unwrap_err();
        assert_eq!(
            limited,
            PushError::RateLimited {
                reason: "http_429".into(),
                retry_after: None,
                answer: ProviderAnswer::status(429),
            }
        );
        assert_eq!((limited.code(), limited.provider_code().as_str()), ("http_429", "429"));
        let not_found = interpret_send_answer(&answer(404, &[], "")).unwrap_err();
        assert_eq!(
            not_found,
            PushError::Rejected {
                status: 404,
                reason: "http_404".into(),
                answer: Some(ProviderAnswer::status(404))
            }
        );
        assert_eq!((not_found.code(), not_found.provider_code().as_str()), ("http_404", "404"));
        // Free text where a code belongs is left out.
        let odd = json!({"error": {"status": "token abc:123 unknown"}}).to_string();
        assert_eq!(
            interpret_send_answer(&answer(400, &[], &odd)).unwrap_err(),
            PushError::Rejected {
                status: 400,
                reason: "http_400".into(),
                answer: Some(ProviderAnswer::status(400))
            }
        );
    }

    #[test]
    fn classifies_token_endpoint_answers() {
        let now = Instant::now();
        let granted = interpret_token_answer(
            &answer(200, &[], r#"{"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"}"#),
            now,
        )
        .unwrap();
        assert_eq!(granted.authorization, "Bearer ya29.x");
        assert!(granted.authorization.is_sensitive());
        assert_eq!(granted.refresh_after, now + Duration::from_secs(3599 - 300));
        let refused = r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#;
        let refusal = interpret_token_answer(&answer(400, &[], refused), now).err().unwrap();
        assert_eq!(
            refusal,
            PushError::Unauthorized {
                detail: "the OAuth2 token endpoint answered HTTP 400 (invalid_grant)".into(),
                answer: Some(ProviderAnswer::coded(400, "invalid_grant")),
            }
        );
        assert_eq!(refusal.provider_code(), "invalid_grant");
        let unavailable = interpret_token_answer(&answer(503, &[], ""), now).err().unwrap();
        assert!(matches!(unavailable, PushError::Unavailable { .. }));
        assert_eq!(unavailable.provider_code(), "503");
        let not_bearer = interpret_token_answer(
            &answer(200, &[], r#"{"access_token":"x","expires_in":1,"token_type":"MAC"}"#),
            now,
        )
        .err()
        .unwrap();
        assert!(matches!(not_bearer, PushError::Unavailable { .. }));
        assert_eq!(not_bearer.provider_code(), "200");
    }
}
