//! `FakeSmsGateway`: a real HTTP server on 127.0.0.1 that speaks the SMS gateway protocol
//! documented in `burgernet_core::providers::sms`, checks the API key like the provider does, and
//! can be told to fail or to answer slowly.
//!
//! ```ignore
//! let gateway = FakeSmsGateway::start().await;
//! let sender = gateway.sms_sender(); // or put gateway.sms_gateway_config() in the app's config
//! sender.send(&message).await?;
//! assert_eq!(gateway.sent()[0].body, "Uw code is 123456");
//!
//! gateway.fail_next(2, GatewayFailure::ServerError); // the next two messages get 503
//! gateway.set_latency(Duration::from_secs(3));       // every answer takes 3 s from now on
//! ```
//!
//! What it answers, in this order:
//! - `401` with `WWW-Authenticate: Bearer` when `Authorization: Bearer <api_key()>` is missing or
//!   wrong;
//! - `415` when the body is not declared `application/json`; `400` when it is not a JSON object
//!   with string fields `from`, `to`, `body` (and optionally `reference`);
//! - the next injected failure, if any (see [`GatewayFailure`]);
//! - `422` when `to` is not E.164, `from` is not a sender id (1 to 11 letters, digits and spaces, or
//!   E.164), or `body` is empty or longer than 1600 characters;
//! - otherwise `201 {"id": "..."}`, and the message is recorded in [`FakeSmsGateway::sent`].
//!
//! Errors have the provider's body, `{"error": {"code": "...", "message": "..."}}`. Like real
//! providers, some messages repeat the recipient's number, so tests can check that our errors do
//! not. Requests that fail are not recorded as sent.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use burgernet_core::providers::sms::{HttpSmsGateway, SmsGatewayConfig, SmsSender};
use burgernet_core::secret::Secret;
use serde_json::json;
use tokio::sync::Notify;

/// How long the `wait_for_*` helpers wait before failing the test.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

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

/// A failure to answer instead of accepting a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayFailure {
    /// `503 Service Unavailable`, code `service_unavailable`.
    ServerError,
    /// `429 Too Many Requests` with `Retry-After: <retry_after_seconds>`, code `rate_limited`.
    RateLimited { retry_after_seconds: u64 },
    /// `422 Unprocessable Entity`, code `invalid_recipient`: the number cannot receive SMS.
    InvalidRecipient,
}

#[derive(Default)]
struct State {
    sent: Vec<ReceivedSms>,
    failures: VecDeque<GatewayFailure>,
    latency: Duration,
    requests: usize,
    next_id: u64,
}

struct Shared {
    api_key: String,
    state: Mutex<State>,
    changed: Notify,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake SMS gateway state")
    }
}

/// The fake gateway; stops when dropped.
pub struct FakeSmsGateway {
    base_url: String,
    shared: Arc<Shared>,
    server: ServerHandle,
}

impl FakeSmsGateway {
    /// Starts the gateway on a free port of 127.0.0.1 with a fresh random API key.
    pub async fn start() -> Self {
        let api_key = format!("test-sms-key-{}", uuid::Uuid::new_v4().simple());
        let shared =
            Arc::new(Shared { api_key, state: Mutex::new(State::default()), changed: Notify::new() });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port for the fake SMS gateway");
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .service(web::resource("/v1/messages").route(web::post().to(post_message)).default_service(
                    web::to(|| async {
                        error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Use POST")
                    }),
                ))
                .default_service(web::to(|| async {
                    error(StatusCode::NOT_FOUND, "not_found", "No such endpoint")
                }))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .expect("listen for the fake SMS gateway")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { base_url, shared, server: handle }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The only API key the gateway accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// A client configuration pointing at this gateway: its key, sender id `Burgernet`, and a 5 s
    /// timeout.
    pub fn sms_gateway_config(&self) -> SmsGatewayConfig {
        SmsGatewayConfig {
            base_url: self.base_url.clone(),
            api_key: Secret::new(self.shared.api_key.clone()),
            sender_id: "Burgernet".into(),
            timeout: Duration::from_secs(5),
        }
    }

    /// A real client for this gateway, built from [`Self::sms_gateway_config`].
    pub fn sms_sender(&self) -> SmsSender {
        SmsSender::Gateway(HttpSmsGateway::new(self.sms_gateway_config()).expect("build the SMS client"))
    }

    /// The messages accepted so far, oldest first.
    pub fn sent(&self) -> Vec<ReceivedSms> {
        self.shared.state().sent.clone()
    }

    /// Every request to `POST /v1/messages` so far, failed ones included.
    pub fn requests(&self) -> usize {
        self.shared.state().requests
    }

    /// Waits until at least `count` messages were accepted (at most 10 s, then the test fails) and
    /// returns them all.
    pub async fn wait_for_sent(&self, count: usize) -> Vec<ReceivedSms> {
        let waiting = async {
            loop {
                let changed = self.shared.changed.notified();
                let sent = self.sent();
                if sent.len() >= count {
                    return sent;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(WAIT_LIMIT, waiting).await {
            Ok(sent) => sent,
            Err(_) => panic!("the fake SMS gateway received {} of {count} messages", self.sent().len()),
        }
    }

    /// The next `count` requests that pass the API key check get `failure` instead of being
    /// accepted. Calls add up: `fail_next(1, A)` then `fail_next(1, B)` fails with A, then B.
    pub fn fail_next(&self, count: usize, failure: GatewayFailure) {
        self.shared.state().failures.extend(std::iter::repeat_n(failure, count));
    }

    /// Delays every answer from now on by `latency` (`Duration::ZERO` to stop).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.state().latency = latency;
    }
}

impl Drop for FakeSmsGateway {
    fn drop(&mut self) {
        // `stop` sends the command at once; its future only waits for the outcome.
        drop(self.server.stop(false));
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": { "code": code, "message": message } }))
}

async fn post_message(request: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let latency = {
        let mut state = shared.state();
        state.requests += 1;
        state.latency
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = answer(&request, &body, &shared);
    shared.changed.notify_waiters();
    response
}

fn answer(request: &HttpRequest, body: &[u8], shared: &Shared) -> HttpResponse {
    let expected = format!("Bearer {}", shared.api_key);
    let authorization = request.headers().get("authorization").and_then(|value| value.to_str().ok());
    if authorization != Some(expected.as_str()) {
        return HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Bearer"))
            .json(json!({ "error": { "code": "unauthorized", "message": "Missing or invalid API key" } }));
    }
    let json_body = request
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !json_body {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send application/json");
    }
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "The body is not a JSON object");
    };
    let text = |name: &str| fields.get(name).and_then(|value| value.as_str()).map(str::to_string);
    let (Some(from), Some(to), Some(text_body)) = (text("from"), text("to"), text("body")) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "from, to and body must be strings");
    };
    let reference = match fields.get("reference") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(reference)) => Some(reference.clone()),
        Some(_) => return error(StatusCode::BAD_REQUEST, "invalid_request", "reference must be a string"),
    };

    let mut state = shared.state();
    if let Some(failure) = state.failures.pop_front() {
        return match failure {
            GatewayFailure::ServerError => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "Temporarily unable to accept messages, try again later",
            ),
            GatewayFailure::RateLimited { retry_after_seconds } => HttpResponse::TooManyRequests()
                .insert_header(("Retry-After", retry_after_seconds.to_string()))
                .json(json!({ "error": { "code": "rate_limited", "message": "Too many requests" } })),
            GatewayFailure::InvalidRecipient => error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_recipient",
                &format!("Recipient {to} cannot receive SMS"),
            ),
        };
    }
    if !is_e164(&to) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_recipient",
            &format!("Recipient {to} is not an E.164 number"),
        );
    }
    if !is_sender_id(&from) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_sender", "Invalid sender id");
    }
    let length = text_body.chars().count();
    if length == 0 || length > 1600 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            "The body must have 1 to 1600 characters",
        );
    }
    state.next_id += 1;
    let id = format!("msg-{:06}-{}", state.next_id, &uuid::Uuid::new_v4().simple().to_string()[..8]);
    state.sent.push(ReceivedSms { id: id.clone(), from, to, body: text_body, reference });
    HttpResponse::Created().json(json!({ "id": id }))
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
