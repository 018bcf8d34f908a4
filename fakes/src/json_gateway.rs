//! [`FakeJsonGateway`]: what the fake SMS gateway ([`crate::sms`]) and the fake voice gateway
//! ([`crate::voice`]) share. Each is a real HTTP/1.1 server on 127.0.0.1 with one `POST` endpoint
//! that takes a JSON request authorized with a bearer API key, checks it the way the provider
//! does, can be told to fail or to answer slowly ([`Faults`]), records what it accepts and posts
//! signed webhooks about it. What one gateway adds (its endpoint and fields, its own checks, what
//! it keeps and what its webhooks say) is its [`Protocol`].
//!
//! What it answers to `POST` [`Protocol::PATH`], in this order:
//! - `401` with `WWW-Authenticate: Bearer` when `Authorization: Bearer <api_key()>` is missing or
//!   wrong;
//! - `415` when the body is not declared `application/json`; `413` above 64 KiB; `400` when it is
//!   not a JSON object with string fields `from`, `to` and the gateway's own
//!   ([`Protocol::FIELDS`]), and optionally `reference`;
//! - the fault [`Faults`] draws, if any: `503 service_unavailable`, `429 rate_limited` with
//!   `Retry-After`, or a connection closed without an answer;
//! - `422 invalid_recipient` for a number given to [`FakeJsonGateway::reject_number`] or one that
//!   is not E.164;
//! - `422` with the gateway's own code when its checks refuse the request ([`Protocol::check`]);
//! - otherwise `201 {"id": "<ID_PREFIX>-000001-<random>"}`: the request is recorded and, when
//!   webhooks are on, its webhook follows.
//!
//! Errors have the providers' body, `{"error": {"code": "...", "message": "..."}}`. Like real
//! providers, some messages repeat the number, so tests can check that our errors do not.
//! Requests that fail are not recorded, but they are counted ([`FakeJsonGateway::requests`]).
//!
//! Webhooks (`set_receipts`, `set_status_webhook`) are posted to a plain `http://` URL after the
//! configured delay, signed as the protocols say: `X-Signature-Timestamp: <unix seconds>` and
//! `X-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`. Each post is kept with
//! the status it was answered with.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::accepts::AcceptSpan;
use crate::faults::{Fault, Faults};
use crate::http1::{self, DroppedConnection};

/// How long the `wait_for_*` helpers wait before failing the test.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// Request bodies larger than this are refused, as a provider would.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// How long posting one webhook may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// What one fake gateway adds to [`FakeJsonGateway`]. The value holds the gateway's own settings
/// (numbers whose messages fail, how calls end), changed through the fake's own
/// methods (`mark_undeliverable`, `set_outcome`).
pub trait Protocol: Default + Send + 'static {
    /// How the fake is named in its panics and keys: `SMS` ("the fake SMS gateway").
    const NAME: &'static str;
    /// The endpoint: `/v1/messages`.
    const PATH: &'static str;
    /// The string fields a request has besides `from` and `to`: `["body"]`.
    const FIELDS: &'static [&'static str];
    /// How the gateway's ids begin: `msg`.
    const ID_PREFIX: &'static str;
    /// The `message` of the `503` fault.
    const UNAVAILABLE: &'static str;
    /// The `message` of `422 invalid_recipient` for a number given to `reject_number`; `{to}`
    /// stands for the number.
    const REJECTED_NUMBER: &'static str;
    /// The same for a number that is not E.164.
    const NOT_E164: &'static str;

    /// What the gateway keeps of a request it accepted.
    type Accepted: Clone + Send + 'static;
    /// What the gateway keeps of a webhook it posted.
    type Posted: From<PostedWebhook> + Clone + Send + 'static;

    /// The gateway's own checks of a request that passed those every gateway makes.
    fn check(request: &GatewayRequest) -> Result<(), Refusal>;

    /// What the gateway keeps of `request`, accepted as `id`, and the body of the webhook about
    /// it.
    fn accept(&self, id: &str, request: GatewayRequest) -> (Self::Accepted, serde_json::Value);
}

/// A request that passed the checks every gateway makes.
#[derive(Debug, Clone)]
pub struct GatewayRequest {
    pub from: String,
    /// An E.164 number.
    pub to: String,
    /// The gateway's own string fields ([`Protocol::FIELDS`]).
    fields: Vec<(&'static str, String)>,
    pub reference: Option<String>,
}

impl GatewayRequest {
    /// The gateway's own string field `name`, one of [`Protocol::FIELDS`].
    pub fn field(&self, name: &str) -> &str {
        self.fields.iter().find(|(field, _)| *field == name).map_or("", |(_, value)| value)
    }
}

/// Why a gateway's own checks refuse a request: `422` with the provider's code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// A webhook the gateway posted, and how it was answered.
#[derive(Debug, Clone)]
pub struct PostedWebhook {
    /// The id of the request it is about, as the gateway answered when accepting it.
    pub request_id: String,
    /// The body exactly as posted.
    pub body: String,
    /// The body, as JSON.
    pub json: serde_json::Value,
    /// The HTTP status the receiver answered with; `None` when it did not answer in time.
    pub answer: Option<u16>,
}

impl PostedWebhook {
    /// The string field `name` of the body, if it has one.
    pub fn text(&self, name: &str) -> Option<String> {
        self.json[name].as_str().map(str::to_string)
    }
}

/// Now, as the webhooks' `at` says it: `2026-11-30T16:48:01Z`.
pub(crate) fn webhook_time() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `+` and 8 to 15 digits, the first not zero.
pub(crate) fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

struct WebhookTarget {
    url: Uri,
    secret: String,
    delay: Duration,
}

struct State<P: Protocol> {
    protocol: P,
    accepted: Vec<P::Accepted>,
    posted: Vec<P::Posted>,
    requests: usize,
    next_id: u64,
    rejected_numbers: HashSet<String>,
    webhook_to: Option<Arc<WebhookTarget>>,
    accept_span: AcceptSpan,
}

impl<P: Protocol> Default for State<P> {
    // Derived, it would ask the records to be `Default` too.
    fn default() -> Self {
        Self {
            protocol: P::default(),
            accepted: Vec::new(),
            posted: Vec::new(),
            requests: 0,
            next_id: 0,
            rejected_numbers: HashSet::new(),
            webhook_to: None,
            accept_span: AcceptSpan::default(),
        }
    }
}

struct Shared<P: Protocol> {
    api_key: String,
    webhook_secret: String,
    faults: Faults,
    state: Mutex<State<P>>,
    changed: Notify,
    webhook_client: Client<HttpConnector, Full<Bytes>>,
}

impl<P: Protocol> Shared<P> {
    fn state(&self) -> MutexGuard<'_, State<P>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fake gateway speaking protocol `P`; stops when dropped.
pub struct FakeJsonGateway<P: Protocol> {
    base_url: String,
    shared: Arc<Shared<P>>,
    server: JoinHandle<()>,
}

impl<P: Protocol> FakeJsonGateway<P> {
    /// Starts the gateway on a free port of 127.0.0.1 with a fresh random API key and webhook
    /// secret.
    pub async fn start() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(WEBHOOK_TIMEOUT));
        let name = P::NAME.to_lowercase();
        let shared = Arc::new(Shared {
            api_key: format!("test-{name}-key-{}", uuid::Uuid::new_v4().simple()),
            webhook_secret: format!("test-{name}-webhook-secret-{}", uuid::Uuid::new_v4().simple()),
            faults: Faults::default(),
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            webhook_client: Client::builder(TokioExecutor::new()).build(connector),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|error| panic!("bind a free port for the fake {} gateway: {error}", P::NAME));
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("the fake {} gateway's address: {error}", P::NAME));
        let server = tokio::spawn(http1::serve(listener, {
            let shared = shared.clone();
            move |request| handle(request, shared.clone())
        }));
        Self { base_url: format!("http://{address}"), shared, server }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The only API key the gateway accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// A webhook secret made for this gateway (at least 32 characters), for its webhooks and the
    /// receiving side's configuration.
    pub fn webhook_secret(&self) -> &str {
        &self.shared.webhook_secret
    }

    /// The failures, rates and latency to apply to the endpoint.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// From now on, requests for `number` (E.164) are refused with `422 invalid_recipient`.
    pub fn reject_number(&self, number: impl Into<String>) {
        self.shared.state().rejected_numbers.insert(number.into());
    }

    /// Every request to the endpoint so far, failed ones included.
    pub fn requests(&self) -> usize {
        self.shared.state().requests
    }

    /// When the first and the last request so far were accepted.
    pub fn accept_span(&self) -> AcceptSpan {
        self.shared.state().accept_span
    }

    /// Changes the gateway's own settings.
    pub(crate) fn update(&self, change: impl FnOnce(&mut P)) {
        change(&mut self.shared.state().protocol);
    }

    /// From now on, a webhook about every accepted request is posted to `url` (`http://...`),
    /// signed with `secret`, `delay` after the request was accepted. `what` names the webhooks
    /// in panics (`receipts`).
    pub(crate) fn set_webhook(&self, url: &str, secret: String, delay: Duration, what: &str) {
        let url: Uri = url.parse().unwrap_or_else(|error| panic!("a URL for {what}: {error}"));
        assert_eq!(
            url.scheme_str(),
            Some("http"),
            "the fake {} gateway posts {what} over plain HTTP",
            P::NAME
        );
        self.shared.state().webhook_to = Some(Arc::new(WebhookTarget { url, secret, delay }));
    }

    /// The requests accepted so far, oldest first.
    pub(crate) fn accepted(&self) -> Vec<P::Accepted> {
        self.shared.state().accepted.clone()
    }

    /// The webhooks posted so far and the answers to them, in the order they were answered.
    pub(crate) fn posted(&self) -> Vec<P::Posted> {
        self.shared.state().posted.clone()
    }

    /// Waits until at least `count` requests were accepted (at most 10 s, then the test fails,
    /// naming them `what`) and returns them all.
    pub(crate) async fn wait_for_accepted(&self, count: usize, what: &str) -> Vec<P::Accepted> {
        self.wait_for(count, Self::accepted, what).await
    }

    /// Waits until at least `count` webhooks were posted and answered (at most 10 s, then the
    /// test fails, naming them `what`) and returns them all.
    pub(crate) async fn wait_for_posted(&self, count: usize, what: &str) -> Vec<P::Posted> {
        self.wait_for(count, Self::posted, what).await
    }

    async fn wait_for<T>(&self, count: usize, read: impl Fn(&Self) -> Vec<T>, what: &str) -> Vec<T> {
        let waiting = async {
            loop {
                // Created before reading, so a change in between still wakes us.
                let changed = self.shared.changed.notified();
                let items = read(self);
                if items.len() >= count {
                    return items;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(WAIT_LIMIT, waiting).await {
            Ok(items) => items,
            Err(_) => panic!("the fake {} gateway has {} of {count} {what}", P::NAME, read(self).len()),
        }
    }
}

impl<P: Protocol> Drop for FakeJsonGateway<P> {
    fn drop(&mut self) {
        // Aborting the accept loop drops its set of connections, which aborts them too.
        self.server.abort();
    }
}

async fn handle<P: Protocol>(
    request: Request<Incoming>,
    shared: Arc<Shared<P>>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    if request.uri().path() != P::PATH {
        return Ok(error(StatusCode::NOT_FOUND, "not_found", "No such endpoint"));
    }
    if request.method() != Method::POST {
        let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Use POST");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    shared.state().requests += 1;
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = answer(request, &shared).await;
    shared.changed.notify_waiters();
    response
}

async fn answer<P: Protocol>(
    request: Request<Incoming>,
    shared: &Arc<Shared<P>>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let request = match read_request::<P>(request, &shared.api_key).await {
        Ok(request) => request,
        Err(refused) => return Ok(refused),
    };

    match shared.faults.draw() {
        None => {}
        Some(Fault::ServerError) => {
            return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable", P::UNAVAILABLE));
        }
        Some(Fault::RateLimited { retry_after_seconds }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            return Ok(response);
        }
        Some(Fault::DropConnection) => return Err(DroppedConnection),
    }

    let mut state = shared.state();
    let unprocessable =
        |code: &str, message: &str| Ok(error(StatusCode::UNPROCESSABLE_ENTITY, code, message));
    if state.rejected_numbers.contains(&request.to) {
        return unprocessable("invalid_recipient", &P::REJECTED_NUMBER.replace("{to}", &request.to));
    }
    if !is_e164(&request.to) {
        return unprocessable("invalid_recipient", &P::NOT_E164.replace("{to}", &request.to));
    }
    if let Err(refusal) = P::check(&request) {
        return unprocessable(refusal.code, &refusal.message);
    }
    state.next_id += 1;
    let id =
        format!("{}-{:06}-{}", P::ID_PREFIX, state.next_id, &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (accepted, webhook) = state.protocol.accept(&id, request);
    if let Some(target) = state.webhook_to.clone() {
        tokio::spawn(post_webhook(shared.clone(), target, id.clone(), webhook));
    }
    state.accepted.push(accepted);
    state.accept_span.note_now();
    Ok(json_response(StatusCode::CREATED, &json!({ "id": id })))
}

/// The checks every gateway makes of a request, in order: the API key, the content type, the
/// size, and the fields.
async fn read_request<P: Protocol>(
    request: Request<Incoming>,
    api_key: &str,
) -> Result<GatewayRequest, Response<Full<Bytes>>> {
    let (parts, body) = request.into_parts();
    let expected = format!("Bearer {api_key}");
    let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    if authorization != Some(expected.as_str()) {
        let mut response = error(StatusCode::UNAUTHORIZED, "unauthorized", "Missing or invalid API key");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Err(response);
    }
    let json_body = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !json_body {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/json",
        ));
    }
    let Ok(collected) = Limited::new(body, MAX_REQUEST_BYTES).collect().await else {
        return Err(error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The body is too large"));
    };
    let body = collected.to_bytes();
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_request", "The body is not a JSON object"));
    };
    let string = |name: &str| fields.get(name).and_then(|value| value.as_str()).map(str::to_string);
    let own: Option<Vec<_>> = P::FIELDS.iter().map(|&name| Some((name, string(name)?))).collect();
    let (Some(from), Some(to), Some(own)) = (string("from"), string("to"), own) else {
        // "from, to and body must be strings"
        let (last, others) = P::FIELDS.split_last().expect("a gateway has fields of its own");
        let names = ["from", "to"].iter().chain(others).copied().collect::<Vec<_>>().join(", ");
        let message = format!("{names} and {last} must be strings");
        return Err(error(StatusCode::BAD_REQUEST, "invalid_request", &message));
    };
    let reference = match fields.get("reference") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(reference)) => Some(reference.clone()),
        Some(_) => {
            return Err(error(StatusCode::BAD_REQUEST, "invalid_request", "reference must be a string"));
        }
    };
    Ok(GatewayRequest { from, to, fields: own, reference })
}

/// Posts of one webhook at most: like the providers, a webhook that got a server error or no
/// answer is posted again, after the receiver's `Retry-After` (at most 5 s) or a second.
const WEBHOOK_POSTS: u32 = 4;

/// Posts one webhook after the target's delay, again after a server error or no answer, and
/// records it with the last answer.
async fn post_webhook<P: Protocol>(
    shared: Arc<Shared<P>>,
    target: Arc<WebhookTarget>,
    request_id: String,
    webhook: serde_json::Value,
) {
    tokio::time::sleep(target.delay).await;
    let body = webhook.to_string();
    let mut answer = None;
    for post in 1..=WEBHOOK_POSTS {
        let timestamp = Utc::now().timestamp();
        let request = Request::builder()
            .method(Method::POST)
            .uri(target.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-Signature-Timestamp", timestamp.to_string())
            .header("X-Signature", sign(&target.secret, timestamp, body.as_bytes()))
            .body(Full::new(Bytes::from(body.clone())))
            .expect("a webhook request");
        let response = tokio::time::timeout(WEBHOOK_TIMEOUT, shared.webhook_client.request(request))
            .await
            .ok()
            .and_then(Result::ok);
        answer = response.as_ref().map(|response| response.status().as_u16());
        let again = answer.is_none_or(|status| status >= 500);
        if !again || post == WEBHOOK_POSTS {
            break;
        }
        let wait = response
            .as_ref()
            .and_then(|response| response.headers().get(header::RETRY_AFTER))
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
            .map_or(Duration::from_secs(1), |seconds| Duration::from_secs(seconds.min(5)));
        tokio::time::sleep(wait).await;
    }
    let posted = PostedWebhook { request_id, body, json: webhook, answer };
    shared.state().posted.push(P::Posted::from(posted));
    shared.changed.notify_waiters();
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`, as the protocols sign webhooks.
fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &json!({ "error": { "code": code, "message": message } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_protocol_says() {
        // printf '1764521400.{}' | openssl dgst -sha256 -hmac a-webhook-secret-of-at-least-32-chars
        assert_eq!(
            sign("a-webhook-secret-of-at-least-32-chars", 1764521400, b"{}"),
            "sha256=45da73e1348fbcd431517814a94a212baeb6d409a0c1008f7d4d950e69589eae"
        );
    }

    #[test]
    fn e164_numbers() {
        for good in ["+31612345678", "+3197010000000", "+12345678"] {
            assert!(is_e164(good), "{good}");
        }
        for bad in ["0612345678", "+0612345678", "+31 6 12345678", "+1234567", "+1234567890123456"] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
