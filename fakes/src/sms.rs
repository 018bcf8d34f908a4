//! `FakeSmsGateway`: a real HTTP/1.1 server on 127.0.0.1 that speaks the SMS gateway protocol of
//! `burgernet_core::providers::sms`, checks the API key like the provider does, sends signed
//! delivery receipts, and can be told to fail or to answer slowly.
//!
//! ```ignore
//! let gateway = FakeSmsGateway::start().await;
//! // ... send through a client configured with gateway.base_url() and gateway.api_key() ...
//! assert_eq!(gateway.sent()[0].body, "Uw code is 123456");
//!
//! gateway.faults().fail_next(2, Fault::ServerError);        // the next two messages get 503
//! gateway.faults().set_latency(Duration::from_secs(3));     // every answer takes 3 s from now on
//! gateway.reject_number("+31612345678");                    // 422 invalid_recipient for it
//! gateway.set_receipts(url, gateway.webhook_secret(), Duration::ZERO);
//! gateway.mark_undeliverable("+31687654321");               // accepted, then a failed receipt
//! ```
//!
//! What it answers to `POST /v1/messages`, in this order:
//! - `401` with `WWW-Authenticate: Bearer` when `Authorization: Bearer <api_key()>` is missing or
//!   wrong;
//! - `415` when the body is not declared `application/json`; `413` above 64 KiB; `400` when it is
//!   not a JSON object with string fields `from`, `to`, `body` (and optionally `reference`);
//! - the fault [`Faults`] draws, if any: `503 service_unavailable`, `429 rate_limited` with
//!   `Retry-After`, or a connection closed without an answer;
//! - `422 invalid_recipient` for a number given to [`FakeSmsGateway::reject_number`] or one that is
//!   not E.164; `422 invalid_sender` when `from` is not a sender id (1 to 11 letters, digits and
//!   spaces, or E.164); `422 invalid_body` when `body` is empty or longer than 1600 characters;
//! - otherwise `201 {"id": "..."}`: the message is recorded in [`FakeSmsGateway::sent`] and, when
//!   receipts are on, a receipt follows.
//!
//! Errors have the provider's body, `{"error": {"code": "...", "message": "..."}}`. Like real
//! providers, some messages repeat the recipient's number, so tests can check that our errors do
//! not. Requests that fail are not recorded as sent.
//!
//! Receipts ([`FakeSmsGateway::set_receipts`]) are posted to a plain `http://` URL after the
//! configured delay, signed as the protocol says: `delivered`, or for numbers given to
//! [`FakeSmsGateway::mark_undeliverable`] `failed` with `error_code: "unknown_subscriber"` (real
//! gateways accept a message for a dead number and report the failure later). Each post and the
//! status it was answered with are kept in [`FakeSmsGateway::receipts`].

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

/// How long posting one receipt may take.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(5);

/// A message the gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    /// The id the gateway answered with.
    pub id: String,
    pub from: String,
    pub to: String,
    pub body: String,
    pub reference: Option<String>,
}

/// A delivery receipt the gateway posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedReceipt {
    /// The message's id, as the gateway answered when accepting it.
    pub message_id: String,
    /// `delivered` or `failed`.
    pub status: String,
    pub error_code: Option<String>,
    /// The JSON body exactly as posted.
    pub body: String,
    /// The HTTP status the receiver answered with; `None` when it did not answer in time.
    pub answer: Option<u16>,
}

struct ReceiptTarget {
    url: Uri,
    secret: String,
    delay: Duration,
}

#[derive(Default)]
struct State {
    sent: Vec<ReceivedSms>,
    requests: usize,
    next_id: u64,
    rejected_numbers: HashSet<String>,
    undeliverable_numbers: HashSet<String>,
    receipts_to: Option<Arc<ReceiptTarget>>,
    receipts: Vec<PostedReceipt>,
    accepted: AcceptSpan,
}

struct Shared {
    api_key: String,
    webhook_secret: String,
    faults: Faults,
    state: Mutex<State>,
    changed: Notify,
    receipt_client: Client<HttpConnector, Full<Bytes>>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The fake gateway; stops when dropped.
pub struct FakeSmsGateway {
    base_url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FakeSmsGateway {
    /// Starts the gateway on a free port of 127.0.0.1 with a fresh random API key and webhook
    /// secret.
    pub async fn start() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(RECEIPT_TIMEOUT));
        let shared = Arc::new(Shared {
            api_key: format!("test-sms-key-{}", uuid::Uuid::new_v4().simple()),
            webhook_secret: format!("test-sms-webhook-secret-{}", uuid::Uuid::new_v4().simple()),
            faults: Faults::default(),
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            receipt_client: Client::builder(TokioExecutor::new()).build(connector),
        });
        let listener =
            TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for the fake SMS gateway");
        let base_url = format!("http://{}", listener.local_addr().expect("the fake SMS gateway's address"));
        let server = tokio::spawn(http1::serve(listener, {
            let shared = shared.clone();
            move |request| handle(request, shared.clone())
        }));
        Self { base_url, shared, server }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The only API key the gateway accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// A webhook secret made for this gateway (at least 32 characters), for
    /// [`Self::set_receipts`] and the receiving side's configuration.
    pub fn webhook_secret(&self) -> &str {
        &self.shared.webhook_secret
    }

    /// The failures, rates and latency to apply to `POST /v1/messages`.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// From now on, messages to `number` (E.164) are refused with `422 invalid_recipient`.
    pub fn reject_number(&self, number: impl Into<String>) {
        self.shared.state().rejected_numbers.insert(number.into());
    }

    /// From now on, messages to `number` (E.164) are accepted and then reported `failed` with
    /// `unknown_subscriber` (when receipts are on).
    pub fn mark_undeliverable(&self, number: impl Into<String>) {
        self.shared.state().undeliverable_numbers.insert(number.into());
    }

    /// From now on, a receipt for every accepted message is posted to `url` (`http://...`),
    /// signed with `secret`, `delay` after the message was accepted.
    pub fn set_receipts(&self, url: &str, secret: impl Into<String>, delay: Duration) {
        let url: Uri = url.parse().expect("a receipts URL");
        assert_eq!(url.scheme_str(), Some("http"), "the fake SMS gateway posts receipts over plain HTTP");
        self.shared.state().receipts_to = Some(Arc::new(ReceiptTarget { url, secret: secret.into(), delay }));
    }

    /// The messages accepted so far, oldest first.
    pub fn sent(&self) -> Vec<ReceivedSms> {
        self.shared.state().sent.clone()
    }

    /// When the first and the last message so far were accepted.
    pub fn accept_span(&self) -> AcceptSpan {
        self.shared.state().accepted
    }

    /// Every request to `POST /v1/messages` so far, failed ones included.
    pub fn requests(&self) -> usize {
        self.shared.state().requests
    }

    /// The receipts posted so far and the answers to them, in the order they were answered.
    pub fn receipts(&self) -> Vec<PostedReceipt> {
        self.shared.state().receipts.clone()
    }

    /// Waits until at least `count` messages were accepted (at most 10 s, then the test fails) and
    /// returns them all.
    pub async fn wait_for_sent(&self, count: usize) -> Vec<ReceivedSms> {
        self.wait_for(count, Self::sent, "messages").await
    }

    /// Waits until at least `count` receipts were posted and answered (at most 10 s, then the test
    /// fails) and returns them all.
    pub async fn wait_for_receipts(&self, count: usize) -> Vec<PostedReceipt> {
        self.wait_for(count, Self::receipts, "receipts").await
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
            Err(_) => panic!("the fake SMS gateway has {} of {count} {what}", read(self).len()),
        }
    }
}

impl Drop for FakeSmsGateway {
    fn drop(&mut self) {
        // Aborting the accept loop drops its set of connections, which aborts them too.
        self.server.abort();
    }
}

async fn handle(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    if request.uri().path() != "/v1/messages" {
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

async fn answer(
    request: Request<Incoming>,
    shared: &Arc<Shared>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    let (parts, body) = request.into_parts();
    let expected = format!("Bearer {}", shared.api_key);
    let authorization = parts.headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    if authorization != Some(expected.as_str()) {
        let mut response = error(StatusCode::UNAUTHORIZED, "unauthorized", "Missing or invalid API key");
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(response);
    }
    let json_body = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !json_body {
        return Ok(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send application/json",
        ));
    }
    let Ok(collected) = Limited::new(body, MAX_REQUEST_BYTES).collect().await else {
        return Ok(error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The body is too large"));
    };
    let body = collected.to_bytes();
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Ok(error(StatusCode::BAD_REQUEST, "invalid_request", "The body is not a JSON object"));
    };
    let text = |name: &str| fields.get(name).and_then(|value| value.as_str()).map(str::to_string);
    let (Some(from), Some(to), Some(text_body)) = (text("from"), text("to"), text("body")) else {
        return Ok(error(StatusCode::BAD_REQUEST, "invalid_request", "from, to and body must be strings"));
    };
    let reference = match fields.get("reference") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(reference)) => Some(reference.clone()),
        Some(_) => {
            return Ok(error(StatusCode::BAD_REQUEST, "invalid_request", "reference must be a string"));
        }
    };

    match shared.faults.draw() {
        None => {}
        Some(Fault::ServerError) => {
            return Ok(error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Temporarily unable to accept messages, try again later",
            ));
        }
        Some(Fault::RateLimited { retry_after_seconds }) => {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            return Ok(response);
        }
        Some(Fault::DropConnection) => return Err(DroppedConnection),
    }

    let mut state = shared.state();
    if state.rejected_numbers.contains(&to) {
        return Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_recipient",
            &format!("Recipient {to} cannot receive SMS"),
        ));
    }
    if !is_e164(&to) {
        return Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_recipient",
            &format!("Recipient {to} is not an E.164 number"),
        ));
    }
    if !is_sender_id(&from) {
        return Ok(error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_sender", "Invalid sender id"));
    }
    let length = text_body.chars().count();
    if length == 0 || length > 1600 {
        return Ok(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "The body must have 1 to 1600 characters",
        ));
    }
    state.next_id += 1;
    let id = format!("msg-{:06}-{}", state.next_id, &uuid::Uuid::new_v4().simple().to_string()[..8]);
    if let Some(target) = state.receipts_to.clone() {
        let failure = state.undeliverable_numbers.contains(&to).then_some("unknown_subscriber");
        let receipt = json!({
            "id": id,
            "reference": reference,
            "status": if failure.is_some() { "failed" } else { "delivered" },
            "error_code": failure,
            "at": Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        });
        tokio::spawn(post_receipt(shared.clone(), target, id.clone(), receipt));
    }
    state.sent.push(ReceivedSms { id: id.clone(), from, to, body: text_body, reference });
    state.accepted.note_now();
    Ok(json_response(StatusCode::CREATED, &json!({ "id": id })))
}

/// Posts one receipt after the target's delay and records it with the answer.
async fn post_receipt(
    shared: Arc<Shared>,
    target: Arc<ReceiptTarget>,
    message_id: String,
    receipt: serde_json::Value,
) {
    tokio::time::sleep(target.delay).await;
    let body = receipt.to_string();
    let timestamp = Utc::now().timestamp();
    let request = Request::builder()
        .method(Method::POST)
        .uri(target.url.clone())
        .header(header::CONTENT_TYPE, "application/json")
        .header("X-Signature-Timestamp", timestamp.to_string())
        .header("X-Signature", sign(&target.secret, timestamp, body.as_bytes()))
        .body(Full::new(Bytes::from(body.clone())))
        .expect("a receipt request");
    let answer = tokio::time::timeout(RECEIPT_TIMEOUT, shared.receipt_client.request(request))
        .await
        .ok()
        .and_then(Result::ok)
        .map(|response| response.status().as_u16());
    let text = |field: &str| receipt[field].as_str().map(str::to_string);
    let posted = PostedReceipt {
        message_id,
        status: text("status").unwrap_or_default(),
        error_code: text("error_code"),
        body,
        answer,
    };
    shared.state().receipts.push(posted);
    shared.changed.notify_waiters();
}

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`, as the protocol signs receipts.
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

/// `+` and 8 to 15 digits, the first not zero.
fn is_e164(number: &str) -> bool {
    number.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

fn is_sender_id(from: &str) -> bool {
    is_e164(from)
        || ((1..=11).contains(&from.chars().count())
            && from.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
            && from.chars().any(|c| c.is_ascii_alphabetic()))
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
}
