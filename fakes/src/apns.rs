//! `FakeApns`: a local Apple Push Notification service. HTTP/2 over TLS (ALPN `h2` only) on
//! 127.0.0.1, ES256 provider tokens checked against the key it was started with, and Apple's
//! answers ("Sending notification requests to APNs", "Handling notification responses from APNs").
//!
//! ```ignore
//! let ca = Arc::new(LocalCertificateAuthority::generate()?);
//! let apns = FakeApns::start(ca.clone(), ApnsTestCredentials::generate()).await?;
//! // point a client at apns.base_url(), trusting ca.ca_pem(), signing with apns.credentials()
//! apns.unregister(token);                          // that token now gets 410 Unregistered
//! apns.faults().fail_next(1, Fault::ServerError);  // the next push gets 503
//! let pushes = apns.wait_for_received(3).await?;
//! ```
//!
//! A request is checked in Apple's order, and the first failing check answers:
//!
//! | check | answer |
//! |---|---|
//! | path is `/3/device/<token>` | 404 `BadPath` |
//! | method is `POST` | 405 `MethodNotAllowed` |
//! | token: hex, even length, 64 to 200 characters | 400 `BadDeviceToken` |
//! | `authorization: bearer <jwt>` present | 403 `MissingProviderToken` |
//! | JWT: ES256, our `kid`, our team as `iss`, valid signature, an `iat` | 403 `InvalidProviderToken` |
//! | `iat` less than an hour old (and not before [`FakeApns::reject_tokens_issued_before`]) | 403 `ExpiredProviderToken` |
//! | `apns-topic` present / ours | 400 `MissingTopic` / `TopicDisallowed` |
//! | `apns-push-type` is `alert` | 400 `InvalidPushType` |
//! | `apns-priority`, when given, is 5 or 10 | 400 `BadPriority` |
//! | `apns-expiration`, when given, is a whole number | 400 `BadExpirationDate` |
//! | `apns-collapse-id`, when given, is at most 64 bytes | 400 `BadCollapseId` |
//! | body at most 4096 bytes | 413 `PayloadTooLarge` |
//! | body present / a JSON object with an `aps` object | 400 `PayloadEmpty` / `BadMessage` |
//! | the next fault ([`Faults`]) | 503 `ServiceUnavailable`, 429 `TooManyRequests` with `Retry-After`, or the connection dropped unanswered |
//! | token not [unregistered](FakeApns::unregister) | 410 `Unregistered` with `timestamp` (ms) |
//!
//! Otherwise 200 with a fresh upper-case UUID as `apns-id`, and the push is recorded. Every answer
//! waits for the configured latency first, and carries `apns-id`. Errors have Apple's body,
//! `{"reason": "..."}`.
//!
//! Verified provider tokens are cached by their text, as Apple does, so checking them costs a hash
//! lookup: the benchmark pushes tens of thousands of notifications per second through this fake.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::accepts::AcceptSpan;
use crate::faults::{Fault, Faults};
use crate::tls::LocalCertificateAuthority;

/// How long the `wait_for_*` helpers wait before giving up.
const WAIT_LIMIT: Duration = Duration::from_secs(10);
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
const MAX_PAYLOAD_BYTES: usize = 4096;
const MAX_COLLAPSE_ID_BYTES: usize = 64;
/// Apple refuses provider tokens older than this.
const PROVIDER_TOKEN_LIFETIME_SECONDS: u64 = 3600;
/// Distinct verified tokens kept; a client renews its token every 20 to 60 minutes, so a few do.
const VERIFIED_TOKEN_CACHE_LIMIT: usize = 1024;

/// What an APNs provider gets from Apple: a token signing key (the `.p8` file), its key id, the
/// team id, and the app's bundle id as topic. The fake keeps the public half to verify tokens.
#[derive(Clone)]
pub struct ApnsTestCredentials {
    /// PKCS#8 PEM of an EC P-256 private key, like a `.p8` file.
    pub signing_key_pem: String,
    pub key_id: String,
    pub team_id: String,
    pub topic: String,
}

impl std::fmt::Debug for ApnsTestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsTestCredentials")
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl ApnsTestCredentials {
    /// A fresh P-256 key with random 10-character key and team ids, for topic `nl.burgernet.app`.
    pub fn generate() -> Self {
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill(&mut bytes);
            // Nearly every 32-byte string is a valid P-256 scalar; retry on the rare one that is not.
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let signing_key_pem =
            secret.to_pkcs8_pem(LineEnding::LF).expect("a P-256 key encodes as PKCS#8").to_string();
        Self { signing_key_pem, key_id: apple_id(), team_id: apple_id(), topic: "nl.burgernet.app".into() }
    }

    fn public_key_pem(&self) -> anyhow::Result<String> {
        use p256::pkcs8::DecodePrivateKey;
        let secret =
            p256::SecretKey::from_pkcs8_pem(&self.signing_key_pem).context("read the signing key")?;
        secret.public_key().to_public_key_pem(LineEnding::LF).context("encode the public key")
    }
}

/// Ten upper-case letters and digits, like Apple's key and team ids.
fn apple_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..10).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeApnsOptions {
    /// Advertised in SETTINGS as `SETTINGS_MAX_CONCURRENT_STREAMS`.
    pub max_concurrent_streams: u32,
}

impl Default for FakeApnsOptions {
    fn default() -> Self {
        Self { max_concurrent_streams: 1000 }
    }
}

/// A notification the fake accepted (answered 200).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedPush {
    /// The `apns-id` it answered with.
    pub apns_id: String,
    pub token: String,
    pub topic: String,
    pub push_type: String,
    /// `apns-priority`, when sent.
    pub priority: Option<u8>,
    /// `apns-expiration` (unix seconds), when sent.
    pub expiration: Option<i64>,
    pub collapse_id: Option<String>,
    pub payload: Value,
}

/// Any request the fake saw, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRequest {
    pub method: String,
    pub path: String,
    /// The `iat` of the provider token, when it verified.
    pub provider_token_issued_at: Option<u64>,
    /// The status answered; `None` when the connection was dropped instead.
    pub status: Option<u16>,
    /// Apple's `reason`, for errors.
    pub reason: Option<String>,
}

#[derive(Default)]
struct State {
    received: Vec<ReceivedPush>,
    requests: Vec<ObservedRequest>,
    /// Token -> when it was unregistered (ms since the epoch).
    unregistered: HashMap<String, i64>,
    accepted: AcceptSpan,
}

struct Shared {
    credentials: ApnsTestCredentials,
    public_key: DecodingKey,
    validation: Validation,
    faults: Faults,
    /// Verified provider tokens and their `iat`.
    verified_tokens: RwLock<HashMap<String, u64>>,
    /// Tokens issued before this (unix seconds) count as expired.
    tokens_issued_before: AtomicU64,
    state: Mutex<State>,
    received_changed: Notify,
    connections_accepted: AtomicUsize,
    next_connection_id: AtomicU64,
    /// Open connections, each with the signal that makes it send GOAWAY.
    open_connections: Mutex<HashMap<u64, Arc<Notify>>>,
    connection_closed: Notify,
}

pub struct FakeApns {
    shared: Arc<Shared>,
    address: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl Drop for FakeApns {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl FakeApns {
    /// Starts the fake with the default options (1000 concurrent streams per connection).
    pub async fn start(
        ca: Arc<LocalCertificateAuthority>,
        credentials: ApnsTestCredentials,
    ) -> anyhow::Result<Self> {
        Self::start_with(ca, credentials, FakeApnsOptions::default()).await
    }

    pub async fn start_with(
        ca: Arc<LocalCertificateAuthority>,
        credentials: ApnsTestCredentials,
        options: FakeApnsOptions,
    ) -> anyhow::Result<Self> {
        let public_key = DecodingKey::from_ec_pem(credentials.public_key_pem()?.as_bytes())
            .context("read the fake's public key")?;
        let mut validation = Validation::new(Algorithm::ES256);
        // APNs tokens carry no `exp`: their age is judged by `iat`.
        validation.validate_exp = false;
        validation.required_spec_claims = HashSet::from(["iss".to_string()]);
        validation.set_issuer(&[&credentials.team_id]);
        let shared = Arc::new(Shared {
            credentials,
            public_key,
            validation,
            faults: Faults::default(),
            verified_tokens: RwLock::default(),
            tokens_issued_before: AtomicU64::new(0),
            state: Mutex::default(),
            received_changed: Notify::new(),
            connections_accepted: AtomicUsize::new(0),
            next_connection_id: AtomicU64::new(0),
            open_connections: Mutex::default(),
            connection_closed: Notify::new(),
        });
        let acceptor = TlsAcceptor::from(ca.server_config(&[b"h2"])?);
        let listener = TcpListener::bind("127.0.0.1:0").await.context("bind the fake APNs server")?;
        let address = listener.local_addr()?;
        let accept_task = tokio::spawn(accept_connections(listener, acceptor, shared.clone(), options));
        Ok(Self { shared, address, accept_task })
    }

    /// `https://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.address)
    }

    pub fn credentials(&self) -> &ApnsTestCredentials {
        &self.shared.credentials
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// From now on `token` gets 410 `Unregistered`, with this moment as `timestamp`.
    pub fn unregister(&self, token: &str) {
        let now = unix_time().as_millis() as i64;
        self.shared.state().unregistered.insert(token.to_string(), now);
    }

    /// Provider tokens whose `iat` lies before `moment` get 403 `ExpiredProviderToken`, as if
    /// Apple's clock had moved past their hour.
    pub fn reject_tokens_issued_before(&self, moment: SystemTime) {
        let seconds = moment.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        self.shared.tokens_issued_before.store(seconds, Ordering::Relaxed);
    }

    /// The notifications accepted so far, in order.
    pub fn received(&self) -> Vec<ReceivedPush> {
        self.shared.state().received.clone()
    }

    pub fn count_for(&self, token: &str) -> usize {
        self.shared.state().received.iter().filter(|push| push.token == token).count()
    }

    pub fn counts_by_token(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for push in &self.shared.state().received {
            *counts.entry(push.token.clone()).or_default() += 1;
        }
        counts
    }

    /// When the first and the last notification so far were accepted.
    pub fn accept_span(&self) -> AcceptSpan {
        self.shared.state().accepted
    }

    /// Every request so far, refused ones included.
    pub fn requests(&self) -> Vec<ObservedRequest> {
        self.shared.state().requests.clone()
    }

    /// Waits (at most 10 s) until at least `count` notifications were accepted.
    pub async fn wait_for_received(&self, count: usize) -> anyhow::Result<Vec<ReceivedPush>> {
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let changed = self.shared.received_changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let received = self.received();
            if received.len() >= count {
                return Ok(received);
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                anyhow::bail!(
                    "the fake APNs accepted {} notifications within {WAIT_LIMIT:?}, not {count}",
                    received.len()
                );
            }
        }
    }

    /// Sends a graceful GOAWAY on every open connection, as Apple does before maintenance, and
    /// waits (at most 10 s) until those connections have closed, so the next request certainly
    /// needs a new one.
    pub async fn goaway_all(&self) -> anyhow::Result<()> {
        let going: Vec<u64> = {
            let open = self.shared.open_connections();
            for goaway in open.values() {
                goaway.notify_one();
            }
            open.keys().copied().collect()
        };
        let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
        loop {
            let closed = self.shared.connection_closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            let still_open = {
                let open = self.shared.open_connections();
                going.iter().filter(|id| open.contains_key(id)).count()
            };
            if still_open == 0 {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, closed).await.is_err() {
                anyhow::bail!("{still_open} connections to the fake APNs stayed open after GOAWAY");
            }
        }
    }

    /// TCP connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections_accepted.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn open_connections(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Notify>>> {
        self.open_connections.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn unix_time() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

async fn accept_connections(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    options: FakeApnsOptions,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of file descriptors, most likely: give connections a moment to close.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        shared.connections_accepted.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(serve_connection(tcp, acceptor.clone(), shared.clone(), options));
    }
}

async fn serve_connection(
    tcp: tokio::net::TcpStream,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    options: FakeApnsOptions,
) {
    let _ = tcp.set_nodelay(true);
    let Ok(Ok(tls)) = tokio::time::timeout(TLS_HANDSHAKE_LIMIT, acceptor.accept(tcp)).await else {
        return;
    };
    let id = shared.next_connection_id.fetch_add(1, Ordering::Relaxed);
    let goaway = Arc::new(Notify::new());
    shared.open_connections().insert(id, goaway.clone());

    // A request meeting `Fault::DropConnection` flips this; the loop below then drops the
    // connection, unanswered.
    let (drop_connection, mut drop_requested) = watch::channel(false);
    let drop_connection = Arc::new(drop_connection);
    let service = hyper::service::service_fn({
        let shared = shared.clone();
        move |request| answer(shared.clone(), drop_connection.clone(), request)
    });
    // Boxed, so it can be dropped (closing the socket) before the bookkeeping below.
    let mut connection = Box::pin(
        hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .max_concurrent_streams(options.max_concurrent_streams)
            .serve_connection(TokioIo::new(tls), service),
    );
    let mut going_away = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => break,
            _ = goaway.notified(), if !going_away => {
                going_away = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = drop_requested.changed() => break,
        }
    }
    drop(connection);
    shared.open_connections().remove(&id);
    shared.connection_closed.notify_waiters();
}

/// The connection was dropped on purpose; the stream has nobody to answer.
#[derive(Debug)]
struct ConnectionDropped;

impl std::fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the connection was dropped")
    }
}

impl std::error::Error for ConnectionDropped {}

/// What the fake does with one request.
enum Verdict {
    Accept(ReceivedPush),
    Refuse { status: StatusCode, reason: &'static str, retry_after: Option<u64>, timestamp: Option<i64> },
    Drop,
}

impl Verdict {
    fn refuse(status: StatusCode, reason: &'static str) -> Self {
        Self::Refuse { status, reason, retry_after: None, timestamp: None }
    }
}

async fn answer(
    shared: Arc<Shared>,
    drop_connection: Arc<watch::Sender<bool>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, ConnectionDropped> {
    let (parts, body) = request.into_parts();
    let mut observed = ObservedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        provider_token_issued_at: None,
        status: None,
        reason: None,
    };
    let verdict = judge(&shared, &parts.method, &parts.uri, &parts.headers, body, &mut observed).await;
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let apns_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let response = match verdict {
        Verdict::Accept(mut push) => {
            observed.status = Some(200);
            push.apns_id = apns_id.clone();
            let mut state = shared.state();
            state.requests.push(observed);
            state.received.push(push);
            state.accepted.note_now();
            drop(state);
            shared.received_changed.notify_waiters();
            Response::builder().status(StatusCode::OK).header("apns-id", &apns_id).body(Full::default())
        }
        Verdict::Refuse { status, reason, retry_after, timestamp } => {
            observed.status = Some(status.as_u16());
            observed.reason = Some(reason.to_string());
            shared.state().requests.push(observed);
            let body = match timestamp {
                Some(timestamp) => json!({ "reason": reason, "timestamp": timestamp }),
                None => json!({ "reason": reason }),
            };
            let mut response = Response::builder()
                .status(status)
                .header("apns-id", &apns_id)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(seconds) = retry_after {
                response = response.header(header::RETRY_AFTER, seconds);
            }
            response.body(Full::new(Bytes::from(body.to_string())))
        }
        Verdict::Drop => {
            shared.state().requests.push(observed);
            drop_connection.send_replace(true);
            // Resolves once the connection task has dropped the connection.
            drop_connection.closed().await;
            return Err(ConnectionDropped);
        }
    };
    Ok(response.expect("a response from valid parts"))
}

async fn judge(
    shared: &Shared,
    method: &Method,
    uri: &hyper::Uri,
    headers: &HeaderMap,
    body: Incoming,
    observed: &mut ObservedRequest,
) -> Verdict {
    let Some(token) = uri.path().strip_prefix("/3/device/").filter(|token| !token.contains('/')) else {
        return Verdict::refuse(StatusCode::NOT_FOUND, "BadPath");
    };
    if method != Method::POST {
        return Verdict::refuse(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed");
    }
    let token_valid = (64..=200).contains(&token.len())
        && token.len().is_multiple_of(2)
        && token.bytes().all(|b| b.is_ascii_hexdigit());
    if !token_valid {
        return Verdict::refuse(StatusCode::BAD_REQUEST, "BadDeviceToken");
    }
    if let Err(reason) = check_provider_token(shared, headers.get(header::AUTHORIZATION), observed) {
        return Verdict::refuse(StatusCode::FORBIDDEN, reason);
    }
    let text = |name: &str| headers.get(name).map(|value| value.to_str().unwrap_or_default());
    let topic = match text("apns-topic") {
        None => return Verdict::refuse(StatusCode::BAD_REQUEST, "MissingTopic"),
        Some(topic) if topic != shared.credentials.topic => {
            return Verdict::refuse(StatusCode::BAD_REQUEST, "TopicDisallowed");
        }
        Some(topic) => topic.to_string(),
    };
    let push_type = match text("apns-push-type") {
        Some("alert") => "alert".to_string(),
        _ => return Verdict::refuse(StatusCode::BAD_REQUEST, "InvalidPushType"),
    };
    let priority = match text("apns-priority") {
        None => None,
        Some("10") => Some(10),
        Some("5") => Some(5),
        Some(_) => return Verdict::refuse(StatusCode::BAD_REQUEST, "BadPriority"),
    };
    let expiration = match text("apns-expiration").map(str::parse::<i64>) {
        None => None,
        Some(Ok(expiration)) => Some(expiration),
        Some(Err(_)) => return Verdict::refuse(StatusCode::BAD_REQUEST, "BadExpirationDate"),
    };
    let collapse_id = match headers.get("apns-collapse-id") {
        None => None,
        Some(id) if id.len() <= MAX_COLLAPSE_ID_BYTES => {
            Some(String::from_utf8_lossy(id.as_bytes()).into_owned())
        }
        Some(_) => return Verdict::refuse(StatusCode::BAD_REQUEST, "BadCollapseId"),
    };
    let body = match Limited::new(body, MAX_PAYLOAD_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Verdict::refuse(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge");
        }
        // The stream broke off: nobody is left to answer.
        Err(_) => return Verdict::Drop,
    };
    if body.is_empty() {
        return Verdict::refuse(StatusCode::BAD_REQUEST, "PayloadEmpty");
    }
    let payload = match serde_json::from_slice::<Value>(&body) {
        Ok(payload) if payload.get("aps").is_some_and(Value::is_object) => payload,
        _ => return Verdict::refuse(StatusCode::BAD_REQUEST, "BadMessage"),
    };

    match shared.faults.draw() {
        Some(Fault::ServerError) => {
            return Verdict::refuse(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable");
        }
        Some(Fault::RateLimited { retry_after_seconds }) => {
            return Verdict::Refuse {
                status: StatusCode::TOO_MANY_REQUESTS,
                reason: "TooManyRequests",
                retry_after: Some(retry_after_seconds),
                timestamp: None,
            };
        }
        Some(Fault::DropConnection) => return Verdict::Drop,
        None => {}
    }
    if let Some(since) = shared.state().unregistered.get(token) {
        return Verdict::Refuse {
            status: StatusCode::GONE,
            reason: "Unregistered",
            retry_after: None,
            timestamp: Some(*since),
        };
    }
    Verdict::Accept(ReceivedPush {
        apns_id: String::new(),
        token: token.to_string(),
        topic,
        push_type,
        priority,
        expiration,
        collapse_id,
        payload,
    })
}

#[derive(Deserialize)]
struct ProviderTokenClaims {
    iat: u64,
}

/// Whether the provider token is valid and current, else Apple's reason. Notes the `iat` of a
/// token that verified, expired or not.
fn check_provider_token(
    shared: &Shared,
    authorization: Option<&HeaderValue>,
    observed: &mut ObservedRequest,
) -> Result<(), &'static str> {
    let Some(authorization) = authorization else { return Err("MissingProviderToken") };
    let token = authorization
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("bearer ").or_else(|| value.strip_prefix("Bearer ")))
        .ok_or("InvalidProviderToken")?;
    let cached =
        shared.verified_tokens.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(token).copied();
    let issued_at = match cached {
        Some(issued_at) => issued_at,
        None => {
            let issued_at = verify_provider_token(shared, token).ok_or("InvalidProviderToken")?;
            let mut verified =
                shared.verified_tokens.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            if verified.len() >= VERIFIED_TOKEN_CACHE_LIMIT {
                verified.clear();
            }
            verified.insert(token.to_string(), issued_at);
            issued_at
        }
    };
    observed.provider_token_issued_at = Some(issued_at);
    let now = unix_time().as_secs();
    let too_old = now.saturating_sub(issued_at) > PROVIDER_TOKEN_LIFETIME_SECONDS;
    if too_old || issued_at < shared.tokens_issued_before.load(Ordering::Relaxed) {
        return Err("ExpiredProviderToken");
    }
    Ok(())
}

/// Checks the signature, `alg`, `kid` and `iss`; returns `iat`.
fn verify_provider_token(shared: &Shared, token: &str) -> Option<u64> {
    let header = jsonwebtoken::decode_header(token).ok()?;
    if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(shared.credentials.key_id.as_str()) {
        return None;
    }
    let data =
        jsonwebtoken::decode::<ProviderTokenClaims>(token, &shared.public_key, &shared.validation).ok()?;
    Some(data.claims.iat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_look_like_apples() {
        let credentials = ApnsTestCredentials::generate();
        assert!(credentials.signing_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        for id in [&credentials.key_id, &credentials.team_id] {
            assert_eq!(id.len(), 10);
            assert!(id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()), "{id}");
        }
        assert!(!format!("{credentials:?}").contains("PRIVATE"));
        assert_ne!(credentials.key_id, ApnsTestCredentials::generate().key_id);
    }
}
