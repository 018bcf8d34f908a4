//! A fake of Firebase Cloud Messaging's HTTP v1 API and of Google's OAuth2 token endpoint, on one
//! TLS server (ALPN `h2` and `http/1.1`, like Google's; or `http/1.1` only, see [`FakeFcmOptions`]).
//!
//! ```ignore
//! let ca = LocalCertificateAuthority::generate()?;
//! let account = FcmTestServiceAccount::shared();
//! let fcm = FakeFcm::start(&ca, account)?;
//! // The client reads account.to_json(fcm.token_uri()) as its key file, sends to fcm.base_url()
//! // and trusts ca.ca_pem().
//! fcm.unregister("dead-token");                    // 404 UNREGISTERED from now on
//! fcm.faults().fail_next(1, Fault::ServerError);   // the next send gets 503 UNAVAILABLE
//! fcm.revoke_access_tokens();                      // the next send gets 401
//! fcm.connections_accepted();                      // each ReceivedFcm names its connection too
//! ```
//!
//! `POST /token` (form-encoded, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and
//! `assertion`): the assertion must be an RS256 JWT signed with the account's key (`kid`, when
//! given, naming it), `iss` the account's e-mail, `aud` [`FakeFcm::token_uri`], `scope` including
//! Firebase messaging, not expired, and valid for at most an hour. Refusals have Google's body,
//! `400 {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}`. Otherwise
//! `{"access_token", "expires_in", "token_type": "Bearer"}`.
//!
//! `POST /v1/projects/{project}/messages:send`, answered in this order:
//! - `401 UNAUTHENTICATED` without an access token this fake issued and that is still valid;
//! - `403 PERMISSION_DENIED` for a project other than the account's;
//! - the next fault from [`FakeFcm::faults`]: `503 UNAVAILABLE`, `429 QUOTA_EXCEEDED` with
//!   `Retry-After`, or the connection aborted;
//! - `400 INVALID_ARGUMENT` for a malformed message: no token, a data value that is not a string,
//!   a priority other than `HIGH`/`NORMAL`, a `ttl` that is not a duration such as `"3600s"`, or
//!   notification and data together larger than 4096 bytes (as JSON);
//! - `404 UNREGISTERED` for a token given to [`FakeFcm::unregister`];
//! - `403 SENDER_ID_MISMATCH` for a token given to [`FakeFcm::assign_to_other_project`];
//! - else `200 {"name": "projects/<p>/messages/0:<n>"}`, and the message is recorded.
//!
//! Errors have Google's shape (`{"error": {"code", "message", "status", "details": [{"@type":
//! "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode"}]}}`), and like Google's some
//! messages repeat what they refuse (a token, a value), so tests can check our errors do not.
//! Faults and latency apply to the send endpoint only; the token endpoint always answers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio_rustls::TlsAcceptor;

use crate::accepts::AcceptSpan;
use crate::faults::{Fault, Faults};
use crate::tls::LocalCertificateAuthority;

const MESSAGING_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
const MAX_PAYLOAD_BYTES: usize = 4096;
const MAX_REQUEST_BYTES: usize = 64 * 1024;
const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`FakeFcm::wait_for_received`] waits.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// A service account with a fresh RSA-2048 key, as Google would issue one.
#[derive(Clone)]
pub struct FcmTestServiceAccount {
    project_id: String,
    client_email: String,
    private_key_id: String,
    private_key_pem: String,
    public_key: DecodingKey,
}

impl std::fmt::Debug for FcmTestServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmTestServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .finish_non_exhaustive()
    }
}

impl FcmTestServiceAccount {
    /// A new account of `project_id`. Takes a moment (RSA key generation); tests use [`shared`].
    ///
    /// [`shared`]: Self::shared
    pub fn generate(project_id: &str) -> Self {
        let key =
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("generate an RSA-2048 key");
        let private_key_pem =
            key.to_pkcs8_pem(LineEnding::LF).expect("encode the RSA key as PKCS#8 PEM").to_string();
        let public_der = key.to_public_key().to_pkcs1_der().expect("encode the RSA public key");
        Self {
            project_id: project_id.to_string(),
            client_email: format!("burgernet-push@{project_id}.iam.gserviceaccount.com"),
            private_key_id: hex(&rand::random::<[u8; 20]>()),
            private_key_pem,
            public_key: DecodingKey::from_rsa_der(public_der.as_bytes()),
        }
    }

    /// One account of project `burgernet-test` for the whole process, generated on first use.
    pub fn shared() -> &'static Self {
        static SHARED: OnceLock<FcmTestServiceAccount> = OnceLock::new();
        SHARED.get_or_init(|| Self::generate("burgernet-test"))
    }

    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    pub fn private_key_id(&self) -> &str {
        &self.private_key_id
    }

    /// The private key, PKCS#8 PEM.
    pub fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }

    /// The key file as the Google Cloud console hands it out, with `token_uri` pointing at the
    /// fake's token endpoint.
    pub fn to_json(&self, token_uri: &str) -> String {
        let client_id = "107449163474012345678";
        json!({
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": self.private_key_pem,
            "client_email": self.client_email,
            "client_id": client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!(
                "https://www.googleapis.com/robot/v1/metadata/x509/{}",
                self.client_email.replace('@', "%40")
            ),
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedFcm {
    /// The name the fake answered with, `projects/<p>/messages/0:<n>`.
    pub name: String,
    pub token: String,
    pub title: Option<String>,
    pub body: Option<String>,
    pub data: BTreeMap<String, String>,
    /// `android.priority`: `HIGH` or `NORMAL`.
    pub priority: Option<String>,
    /// `android.ttl`, e.g. `"3600s"`.
    pub ttl: Option<String>,
    pub collapse_key: Option<String>,
    /// `android.notification.click_action`: the notification category the app opens (with its
    /// actions).
    pub click_action: Option<String>,
    /// Whether the request came over HTTP/2 (else HTTP/1.1).
    pub over_http2: bool,
    /// The connection it came over: 1 for the first connection the fake accepted, 2 for the next.
    pub connection: usize,
}

#[derive(Default)]
struct State {
    received: Vec<ReceivedFcm>,
    counts_by_token: HashMap<String, usize>,
    unregistered: HashSet<String>,
    other_project: HashSet<String>,
    /// Issued access tokens and when each expires.
    access_tokens: HashMap<String, Instant>,
    access_token_lifetime: Option<Duration>,
    tokens_issued: usize,
    requests: usize,
    connections_accepted: usize,
    accepted: AcceptSpan,
}

struct Shared {
    project_id: String,
    client_email: String,
    private_key_id: String,
    public_key: DecodingKey,
    token_uri: String,
    faults: Faults,
    state: Mutex<State>,
    received_changed: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How the fake differs from Google.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FakeFcmOptions {
    /// Offer `h2` in ALPN besides `http/1.1`, as Google does. `false`: HTTP/1.1 only, like a
    /// proxy that does not speak HTTP/2; a client that offers only `h2` is refused in the TLS
    /// handshake (`no_application_protocol`).
    pub http2: bool,
}

impl Default for FakeFcmOptions {
    fn default() -> Self {
        Self { http2: true }
    }
}

/// The fake FCM server; stops when dropped.
pub struct FakeFcm {
    base_url: String,
    ca_pem: String,
    service_account_json: String,
    shared: Arc<Shared>,
    // Dropping it tells the server and its connections to stop.
    _stop: watch::Sender<()>,
}

impl std::fmt::Debug for FakeFcm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeFcm").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl FakeFcm {
    /// Starts the fake on a free port of 127.0.0.1 with a certificate from `ca`, accepting
    /// credentials of `account`. Must be called within a tokio runtime.
    pub fn start(ca: &LocalCertificateAuthority, account: &FcmTestServiceAccount) -> anyhow::Result<Self> {
        Self::start_with(ca, account, FakeFcmOptions::default())
    }

    /// [`start`](Self::start), differing from Google as `options` say.
    pub fn start_with(
        ca: &LocalCertificateAuthority,
        account: &FcmTestServiceAccount,
        options: FakeFcmOptions,
    ) -> anyhow::Result<Self> {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("bind a free port for the fake FCM")?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener).context("hand the fake FCM's port to tokio")?;
        let base_url = format!("https://{}", listener.local_addr()?);
        let token_uri = format!("{base_url}/token");
        let alpn: &[&[u8]] = if options.http2 { &[b"h2", b"http/1.1"] } else { &[b"http/1.1"] };
        let acceptor = TlsAcceptor::from(ca.server_config(alpn)?);
        let shared = Arc::new(Shared {
            project_id: account.project_id.clone(),
            client_email: account.client_email.clone(),
            private_key_id: account.private_key_id.clone(),
            public_key: account.public_key.clone(),
            token_uri: token_uri.clone(),
            faults: Faults::default(),
            state: Mutex::new(State::default()),
            received_changed: Notify::new(),
        });
        let (stop, stopped) = watch::channel(());
        tokio::spawn(accept_connections(listener, acceptor, shared.clone(), stopped));
        Ok(Self {
            base_url,
            ca_pem: ca.ca_pem().to_string(),
            service_account_json: account.to_json(&token_uri),
            shared,
            _stop: stop,
        })
    }

    /// `https://127.0.0.1:<port>`, without a trailing slash: the FCM API URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The token endpoint, `{base_url}/token`.
    pub fn token_uri(&self) -> &str {
        &self.shared.token_uri
    }

    /// The certificate authority the server's certificate comes from (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The account's key file, with `token_uri` pointing here.
    pub fn service_account_json(&self) -> &str {
        &self.service_account_json
    }

    /// Faults and latency for the send endpoint.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// From now on, sends to `token` get `404 UNREGISTERED`.
    pub fn unregister(&self, token: &str) {
        self.shared.state().unregistered.insert(token.to_string());
    }

    /// From now on, sends to `token` get `403 SENDER_ID_MISMATCH`: it belongs to another
    /// Firebase project.
    pub fn assign_to_other_project(&self, token: &str) {
        self.shared.state().other_project.insert(token.to_string());
    }

    /// The messages accepted so far, oldest first.
    pub fn received(&self) -> Vec<ReceivedFcm> {
        self.shared.state().received.clone()
    }

    /// How many messages were accepted for each device token.
    pub fn counts_by_token(&self) -> HashMap<String, usize> {
        self.shared.state().counts_by_token.clone()
    }

    /// When the first and the last message so far were accepted.
    pub fn accept_span(&self) -> AcceptSpan {
        self.shared.state().accepted
    }

    /// Every request to the send endpoint so far, refused ones included.
    pub fn requests(&self) -> usize {
        self.shared.state().requests
    }

    /// Access tokens the token endpoint has issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.state().tokens_issued
    }

    /// TCP connections accepted so far, to the token endpoint's as well as to the send endpoint's.
    pub fn connections_accepted(&self) -> usize {
        self.shared.state().connections_accepted
    }

    /// Waits (at most 10 s) until at least `count` messages were accepted, and returns them all.
    pub async fn wait_for_received(&self, count: usize) -> anyhow::Result<Vec<ReceivedFcm>> {
        let waiting = async {
            loop {
                let changed = self.shared.received_changed.notified();
                let received = self.received();
                if received.len() >= count {
                    return received;
                }
                changed.await;
            }
        };
        tokio::time::timeout(WAIT_LIMIT, waiting).await.map_err(|_| {
            anyhow::anyhow!(
                "the fake FCM accepted {} of {count} messages",
                self.shared.state().received.len()
            )
        })
    }

    /// The lifetime of access tokens issued from now on (default one hour).
    pub fn set_access_token_lifetime(&self, lifetime: Duration) {
        self.shared.state().access_token_lifetime = Some(lifetime);
    }

    /// Every access token issued so far stops working: the next send with one gets 401.
    pub fn revoke_access_tokens(&self) {
        self.shared.state().access_tokens.clear();
    }
}

async fn accept_connections(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    let connection = {
                        let mut state = shared.state();
                        state.connections_accepted += 1;
                        state.connections_accepted
                    };
                    let serving = serve_connection(stream, connection, acceptor.clone(), shared.clone(), stopped.clone());
                    tokio::spawn(serving);
                }
            }
            _ = stopped.changed() => return,
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    connection_number: usize,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<()>,
) {
    let _ = stream.set_nodelay(true);
    let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else { return };
    let over_http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    // An injected DropConnection ends the whole connection, like a peer that goes away.
    let drop_connection = Arc::new(Notify::new());
    let service = {
        let drop_connection = drop_connection.clone();
        service_fn(move |request| {
            let shared = shared.clone();
            let drop_connection = drop_connection.clone();
            async move { answer(request, connection_number, &shared, &drop_connection).await }
        })
    };
    let io = TokioIo::new(tls);
    let connection = async {
        // Errors here are the client's going away; nothing to report.
        if over_http2 {
            let _ = http2::Builder::new(TokioExecutor::new()).serve_connection(io, service).await;
        } else {
            let _ = http1::Builder::new().serve_connection(io, service).await;
        }
    };
    tokio::select! {
        () = connection => {}
        () = drop_connection.notified() => {}
        _ = stopped.changed() => {}
    }
}

type Answer = Result<Response<Full<Bytes>>, std::io::Error>;

async fn answer(
    request: Request<Incoming>,
    connection: usize,
    shared: &Shared,
    drop_connection: &Notify,
) -> Answer {
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, MAX_REQUEST_BYTES).collect().await.map(|body| body.to_bytes()) else {
        return Ok(google_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "FAILED_PRECONDITION",
            "Request too large.",
            None,
        ));
    };
    let path = parts.uri.path();
    if path == "/token" && parts.method == Method::POST {
        return Ok(token_endpoint(&parts.headers, &body, shared));
    }
    let project = path.strip_prefix("/v1/projects/").and_then(|rest| rest.strip_suffix("/messages:send"));
    match project {
        Some(project) if parts.method == Method::POST => {
            let over_http2 = parts.version == Version::HTTP_2;
            send_endpoint(&parts.headers, &body, project, over_http2, connection, shared, drop_connection)
                .await
        }
        _ => Ok(google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested URL was not found on this server.",
            None,
        )),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
    response
}

fn google_error(
    status: StatusCode,
    google_status: &str,
    message: &str,
    error_code: Option<&str>,
) -> Response<Full<Bytes>> {
    let details: Vec<Value> =
        error_code.map(|code| json!({"@type": FCM_ERROR_TYPE, "errorCode": code})).into_iter().collect();
    let mut error = json!({"code": status.as_u16(), "message": message, "status": google_status});
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    json_response(status, &json!({ "error": error }))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({"error": error, "error_description": description}))
}

#[derive(Deserialize)]
struct AssertionClaims {
    iat: i64,
    exp: i64,
    scope: String,
}

fn token_endpoint(headers: &HeaderMap, body: &[u8], shared: &Shared) -> Response<Full<Bytes>> {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let form = parse_form(body);
    let (true, Some(form)) = (form_encoded, form) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Invalid request: expected a form.");
    };
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or_default();
    if grant_type != JWT_BEARER_GRANT {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant_type}"),
        );
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    if let Err(refusal) = verify_assertion(assertion, shared) {
        return oauth_error(StatusCode::BAD_REQUEST, refusal.error, refusal.description);
    }
    let access_token = format!("ya29.fake-{}", hex(&rand::random::<[u8; 24]>()));
    let mut state = shared.state();
    let lifetime = state.access_token_lifetime.unwrap_or(DEFAULT_ACCESS_TOKEN_LIFETIME);
    state.access_tokens.insert(access_token.clone(), Instant::now() + lifetime);
    state.tokens_issued += 1;
    drop(state);
    json_response(
        StatusCode::OK,
        &json!({"access_token": access_token, "expires_in": lifetime.as_secs(), "token_type": "Bearer"}),
    )
}

/// Why the token endpoint refuses an assertion: Google's `error` and `error_description`.
#[derive(Debug)]
struct Refusal {
    error: &'static str,
    description: &'static str,
}

impl Refusal {
    const BAD_SIGNATURE: Self = Self::invalid_grant("Invalid JWT Signature.");
    const NOT_SHORT_LIVED: Self = Self::invalid_grant(
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat \
         and exp values in the JWT claim.",
    );

    const fn invalid_grant(description: &'static str) -> Self {
        Self { error: "invalid_grant", description }
    }
}

/// Checks a JWT bearer assertion as Google does.
fn verify_assertion(assertion: &str, shared: &Shared) -> Result<(), Refusal> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| Refusal::BAD_SIGNATURE)?;
    if header.kid.as_ref().is_some_and(|kid| *kid != shared.private_key_id) {
        return Err(Refusal::BAD_SIGNATURE);
    }
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&shared.token_uri]);
    validation.set_issuer(&[&shared.client_email]);
    validation.set_required_spec_claims(&["exp", "aud", "iss"]);
    let claims = jsonwebtoken::decode::<AssertionClaims>(assertion, &shared.public_key, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => Refusal::NOT_SHORT_LIVED,
            ErrorKind::InvalidAudience => Refusal::invalid_grant("Invalid JWT: Failed audience check."),
            ErrorKind::InvalidIssuer => Refusal::invalid_grant("Invalid grant: account not found"),
            _ => Refusal::BAD_SIGNATURE,
        })?
        .claims;
    let now = chrono::Utc::now().timestamp();
    if claims.exp - claims.iat > 3600 || claims.iat > now + 60 {
        return Err(Refusal::NOT_SHORT_LIVED);
    }
    if !claims.scope.split_whitespace().any(|scope| scope == MESSAGING_SCOPE) {
        return Err(Refusal {
            error: "invalid_scope",
            description: "Invalid OAuth scope or ID token audience provided.",
        });
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` pairs; `None` when the body is not that.
fn parse_form(body: &[u8]) -> Option<HashMap<String, String>> {
    let decode = |raw: &str| -> Option<String> {
        let mut bytes = Vec::with_capacity(raw.len());
        let mut rest = raw.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            rest = tail;
            bytes.push(match first {
                b'+' => b' ',
                b'%' => {
                    let (digits, tail) = (rest.get(..2)?, &rest[2..]);
                    rest = tail;
                    u8::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?
                }
                byte => byte,
            });
        }
        String::from_utf8(bytes).ok()
    };
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

async fn send_endpoint(
    headers: &HeaderMap,
    body: &[u8],
    project: &str,
    over_http2: bool,
    connection: usize,
    shared: &Shared,
    drop_connection: &Notify,
) -> Answer {
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let authorized = {
        let mut state = shared.state();
        state.requests += 1;
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        presented
            .and_then(|token| state.access_tokens.get(token))
            .is_some_and(|expires| Instant::now() < *expires)
    };
    if !authorized {
        let mut response = google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or \
             other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            None,
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
        );
        return Ok(response);
    }
    if project != shared.project_id {
        return Ok(google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            &format!(
                "Permission 'cloudmessaging.messages.create' denied on resource \
                 '//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist)."
            ),
            None,
        ));
    }
    match shared.faults.draw() {
        Some(Fault::ServerError) => {
            return Ok(google_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "The service is currently unavailable.",
                Some("UNAVAILABLE"),
            ));
        }
        Some(Fault::RateLimited { retry_after_seconds }) => {
            let mut response = google_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'.",
                Some("QUOTA_EXCEEDED"),
            );
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            return Ok(response);
        }
        Some(Fault::DropConnection) => {
            drop_connection.notify_one();
            return Err(std::io::Error::other("connection dropped by an injected fault"));
        }
        None => {}
    }
    let mut message = match read_message(body) {
        Ok(message) => message,
        Err(problem) => {
            return Ok(google_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                &problem,
                Some("INVALID_ARGUMENT"),
            ));
        }
    };
    message.over_http2 = over_http2;
    message.connection = connection;
    let mut state = shared.state();
    if state.unregistered.contains(&message.token) {
        return Ok(google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "Requested entity was not found.",
            Some("UNREGISTERED"),
        ));
    }
    if state.other_project.contains(&message.token) {
        return Ok(google_error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "SenderId mismatch",
            Some("SENDER_ID_MISMATCH"),
        ));
    }
    message.name = format!("projects/{}/messages/0:{}", shared.project_id, state.received.len() + 1);
    *state.counts_by_token.entry(message.token.clone()).or_default() += 1;
    let name = message.name.clone();
    state.received.push(message);
    state.accepted.note_now();
    drop(state);
    shared.received_changed.notify_waiters();
    Ok(json_response(StatusCode::OK, &json!({ "name": name })))
}

/// The message of a send request, or Google's description of what is wrong with it (which
/// repeats the offending value, as Google's does).
fn read_message(body: &[u8]) -> Result<ReceivedFcm, String> {
    let invalid_json = || "Invalid JSON payload received.".to_string();
    let request: Value = serde_json::from_slice(body).map_err(|_| invalid_json())?;
    let message = request.get("message").and_then(Value::as_object).ok_or_else(invalid_json)?;
    let token = message
        .get("token")
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .ok_or("Recipient of the message is not set.")?;
    let string_at =
        |object: Option<&Map<String, Value>>, key: &str, path: &str| match object.and_then(|o| o.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(format!("Invalid value at '{path}' (TYPE_STRING), {other}")),
        };
    let object_at = |key: &str| match message.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(other) => Err(format!("Invalid value at 'message.{key}', {other}")),
    };
    let notification = object_at("notification")?;
    let android = object_at("android")?;
    let data_object = object_at("data")?;

    let mut data = BTreeMap::new();
    for (index, (key, value)) in data_object.into_iter().flatten().enumerate() {
        let Value::String(value) = value else {
            return Err(format!("Invalid value at 'message.data[{index}].value' (TYPE_STRING), {value}"));
        };
        data.insert(key.clone(), value.clone());
    }
    let priority = string_at(android, "priority", "message.android.priority")?;
    if let Some(priority) = &priority
        && !matches!(priority.as_str(), "HIGH" | "NORMAL")
    {
        return Err(format!(
            "Invalid value at 'message.android.priority' \
             (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), \"{priority}\""
        ));
    }
    let ttl = string_at(android, "ttl", "message.android.ttl")?;
    if let Some(ttl) = &ttl
        && !is_duration(ttl)
    {
        return Err(format!(
            "Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), \"{ttl}\""
        ));
    }
    let android_notification = match android.and_then(|android| android.get("notification")) {
        None => None,
        Some(Value::Object(object)) => Some(object),
        Some(other) => return Err(format!("Invalid value at 'message.android.notification', {other}")),
    };
    let click_action =
        string_at(android_notification, "click_action", "message.android.notification.click_action")?;
    let payload_bytes = notification.map_or(0, |n| Value::Object(n.clone()).to_string().len())
        + data_object.map_or(0, |d| Value::Object(d.clone()).to_string().len());
    if payload_bytes > MAX_PAYLOAD_BYTES {
        return Err("Android message is too big".into());
    }
    Ok(ReceivedFcm {
        name: String::new(),
        token: token.to_string(),
        title: string_at(notification, "title", "message.notification.title")?,
        body: string_at(notification, "body", "message.notification.body")?,
        data,
        priority,
        ttl,
        collapse_key: string_at(android, "collapse_key", "message.android.collapse_key")?,
        click_action,
        over_http2: false,
        connection: 0,
    })
}

/// A protobuf `Duration` in JSON: whole seconds, up to nine decimals, then `s` ("3600s", "1.5s").
fn is_duration(text: &str) -> bool {
    let Some(number) = text.strip_suffix('s') else { return false };
    let (seconds, fraction) = number.split_once('.').unwrap_or((number, "0"));
    let digits =
        |part: &str, max: usize| (1..=max).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
    digits(seconds, 12) && digits(fraction, 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_protobuf_writes_them() {
        for good in ["0s", "3600s", "1.5s", "2419200s", "0.000000001s"] {
            assert!(is_duration(good), "{good}");
        }
        for bad in ["3600", "s", "-1s", "1.s", "1h", "1.0000000001s", " 1s"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    fn message(android: Value, data: Value) -> Vec<u8> {
        json!({"message": {"token": "t-1", "notification": {"title": "T", "body": "B"}, "data": data, "android": android}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn malformed_messages_are_invalid_arguments_naming_the_field() {
        let good = read_message(&message(
            json!({"priority": "HIGH", "ttl": "60s", "collapse_key": "c"}),
            json!({"k": "v"}),
        ))
        .unwrap();
        assert_eq!(
            (good.token.as_str(), good.priority.as_deref(), good.ttl.as_deref()),
            ("t-1", Some("HIGH"), Some("60s"))
        );
        assert_eq!(good.data["k"], "v");

        let refusals = [
            (message(json!({}), json!({"k": 5})), "message.data[0].value"),
            (message(json!({"ttl": "1h"}), json!({})), "message.android.ttl"),
            (message(json!({"priority": "high"}), json!({})), "message.android.priority"),
            (message(json!({}), json!({"k": "x".repeat(MAX_PAYLOAD_BYTES)})), "too big"),
            (json!({"message": {"notification": {"title": "T"}}}).to_string().into_bytes(), "Recipient"),
            (b"{".to_vec(), "Invalid JSON"),
        ];
        for (body, problem) in refusals {
            let refusal = read_message(&body).unwrap_err();
            assert!(refusal.contains(problem), "{refusal}");
        }
    }

    fn shared(account: &FcmTestServiceAccount) -> Shared {
        Shared {
            project_id: account.project_id.clone(),
            client_email: account.client_email.clone(),
            private_key_id: account.private_key_id.clone(),
            public_key: account.public_key.clone(),
            token_uri: "https://127.0.0.1:1/token".into(),
            faults: Faults::default(),
            state: Mutex::new(State::default()),
            received_changed: Notify::new(),
        }
    }

    #[test]
    fn assertions_are_checked_like_google_does() {
        let account = FcmTestServiceAccount::shared();
        let shared = shared(account);
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(account.private_key_pem().as_bytes()).unwrap();
        let now = chrono::Utc::now().timestamp();
        let sign = |claim: &str, value: Value| {
            let mut claims = json!({
                "iss": account.client_email(), "aud": "https://127.0.0.1:1/token", "scope": MESSAGING_SCOPE,
                "iat": now, "exp": now + 3600,
            });
            claims[claim] = value;
            jsonwebtoken::encode(&jsonwebtoken::Header::new(Algorithm::RS256), &claims, &key).unwrap()
        };
        assert!(verify_assertion(&sign("iat", now.into()), &shared).is_ok());

        let cases = [
            ("iss", json!("someone@else.iam.gserviceaccount.com"), "invalid_grant", "account not found"),
            ("aud", json!("https://oauth2.googleapis.com/token"), "invalid_grant", "audience"),
            ("scope", json!("https://www.googleapis.com/auth/cloud-platform"), "invalid_scope", "scope"),
            ("exp", json!(now + 7200), "invalid_grant", "short-lived"),
            ("exp", json!(now - 3600), "invalid_grant", "short-lived"),
        ];
        for (claim, value, error, description) in cases {
            let refusal = verify_assertion(&sign(claim, value), &shared).unwrap_err();
            assert_eq!(refusal.error, error, "{claim}");
            assert!(refusal.description.contains(description), "{claim}: {refusal:?}");
        }
        let tampered = format!("{}x", sign("iat", now.into()));
        assert_eq!(verify_assertion(&tampered, &shared).unwrap_err().description, "Invalid JWT Signature.");
    }

    #[test]
    fn forms_are_decoded() {
        let form = parse_form(b"grant_type=urn%3Aietf%3Aparams&assertion=a.b-c_d&note=two+words").unwrap();
        assert_eq!(form["grant_type"], "urn:ietf:params");
        assert_eq!(form["assertion"], "a.b-c_d");
        assert_eq!(form["note"], "two words");
        assert!(parse_form(b"broken=%4").is_none());
        assert!(parse_form(b"broken=%zz").is_none());
    }
}
