//! Sending SMS: the fallback channel for participants without a usable push device, and the
//! carrier of phone-verification codes.
//!
//! [`SmsSender`] is the HTTP gateway client ([`HttpSmsGateway`]) or, with the `local` feature
//! only, the local stand-in that puts messages in the local outbox (`LocalOutbox`; the tests).
//!
//! # The gateway protocol
//!
//! Modelled on the JSON APIs of CM.com and Bird; the tests run the client against a fake gateway
//! that speaks exactly this over a real socket.
//!
//! ```text
//! POST {base_url}/v1/messages
//! Authorization: Bearer <api key>
//! Content-Type: application/json
//!
//! {"from": "Burgernet", "to": "+31612345678", "body": "Uw code is 123456", "reference": "<our id>"}
//! ```
//!
//! - `201 Created` (or `200 OK`) with `{"id": "<provider message id>"}`: accepted. The id comes
//!   back in delivery receipts; `reference` is our own id for the message.
//! - Errors carry `{"error": {"code": "...", "message": "..."}}`:
//!   - `400`/`422`: the recipient or the body is not acceptable (e.g. the number cannot receive
//!     SMS): [`SmsError::Rejected`], never retried;
//!   - `401`/`403`: our API key is wrong: [`SmsError::Unauthorized`], an operator problem;
//!   - `429` with `Retry-After: <seconds>`: [`SmsError::RateLimited`];
//!   - `5xx`: [`SmsError::Unavailable`], as are time-outs, refused connections and responses we
//!     cannot read.
//!
//! Only the provider's error `code` is kept in our errors, never its `message`: providers tend to
//! repeat the recipient's number there.
//!
//! Sending is not idempotent: after a time-out the gateway may have sent the message, and a retry
//! may send it twice. The `reference` lets the provider (and the delivery receipts) tell the two
//! apart.
//!
//! # Delivery receipts
//!
//! Accepting a message is not delivering it: the gateway later tells us what became of it by
//! calling our API (plain HTTPS, authenticated by an HMAC signature with the shared secret
//! `BURGERNET_SMS_WEBHOOK_SECRET`):
//!
//! ```text
//! POST {our public URL}/v1/sms/receipts
//! Content-Type: application/json
//! X-Signature-Timestamp: 1764521281
//! X-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
//!
//! {"id": "<provider message id>", "reference": "<our reference>", "status": "delivered",
//!  "error_code": null, "at": "2026-11-30T16:48:01Z"}
//! ```
//!
//! - `status` is `delivered`, `failed` or `expired` (the network gave up within the message's
//!   validity); `error_code` says why a message failed. Codes in [`PERMANENT_FAILURE_CODES`] mean
//!   the number will never receive SMS: the number is dead, not the network busy.
//! - The signature is that of all our webhooks (`super::webhook_signature`): a timestamp more
//!   than 5 minutes away from our clock is refused, so a recorded receipt cannot be replayed
//!   later; the signature is compared in constant time.
//! - We answer `204` when the receipt was recorded and `202` when we know no such message (so the
//!   gateway stops retrying), `401` for a bad signature and `422` for a body that is not a
//!   receipt. Gateways retry anything else.
//!
//! `webhook_signature::verify` and [`parse_receipt`] do the checking; `webhook_signature::sign`
//! computes the header the way the gateway does.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use serde::Deserialize;

use chrono::{DateTime, Utc};

use super::ProviderAnswer;
use super::http1::Http1Client;
use super::webhook_signature::parse_webhook_secret;
use crate::env::{ConfigError, Env, parse};
#[cfg(feature = "local")]
use crate::outbox::{LocalOutbox, OutboxChannel, OutgoingMessage};
use crate::secret::Secret;
use crate::vocabulary::phone::PhoneNumber;

/// The sender id the local stand-in reports, and the default for the gateway.
pub const DEFAULT_SENDER_ID: &str = "Burgernet";

/// Responses larger than this are not read: a gateway's answers are a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// One SMS to send.
#[derive(Debug, Clone, Copy)]
pub struct SmsMessage<'a> {
    pub to: &'a PhoneNumber,
    /// The text; may hold a one-time code, so it never appears in errors or logs.
    pub body: &'a str,
    /// Our own id for the message, echoed in delivery receipts.
    pub reference: &'a str,
}

/// What the provider said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// The provider's id for the message, as used in its delivery receipts.
    pub provider_message_id: String,
}

/// Why an SMS was not accepted. The texts name neither the recipient nor the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// The gateway refused our credentials (401/403): an operator has to fix the configuration.
    #[error("the SMS gateway refused our API key; check BURGERNET_SMS_GATEWAY_API_KEY")]
    Unauthorized,
    /// The gateway will never send this message (400/422), e.g. because the number cannot
    /// receive SMS. Retrying does not help.
    #[error("the SMS gateway rejected the message: {detail}")]
    Rejected { detail: String, answer: ProviderAnswer },
    /// Too many requests (429); try again after `retry_after` when the gateway said so.
    #[error("the SMS gateway is rate limiting us{}", retry_after_text(*.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// The gateway could not be reached or failed (5xx, time-out, connection refused, an answer we
    /// cannot read). Worth retrying later.
    #[error("the SMS gateway is unavailable: {detail}")]
    Unavailable { detail: String, answer: ProviderAnswer },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(after) => format!(" (retry after {})", humantime::format_duration(after)),
        None => String::new(),
    }
}

impl SmsError {
    /// Whether sending the same message again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
    }

    /// How long the gateway asked us to wait before the next attempt, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// The gateway's own name for the error, for metrics: its error code where it gave one
    /// (`invalid_recipient`), else the HTTP status, or `timeout` / `connect` when no answer came
    /// ([`ProviderAnswer::code`]). A refused key is `unauthorized` whatever the status.
    pub fn provider_code(&self) -> String {
        match self {
            Self::Unauthorized => "unauthorized".into(),
            Self::Rejected { answer, .. } | Self::Unavailable { answer, .. } => answer.code(),
            Self::RateLimited { .. } => "429".into(),
        }
    }
}

/// Sends SMS through the configured gateway, or into the local outbox (the `local` feature only).
#[derive(Clone, Debug)]
pub enum SmsSender {
    Gateway(HttpSmsGateway),
    #[cfg(feature = "local")]
    Local(LocalOutbox),
}

impl SmsSender {
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<SentSms, SmsError> {
        match self {
            Self::Gateway(gateway) => gateway.send(message).await,
            #[cfg(feature = "local")]
            Self::Local(outbox) => {
                let stored = outbox.deliver(OutgoingMessage {
                    channel: OutboxChannel::Sms,
                    recipient: message.to.as_str().to_string(),
                    subject: None,
                    body: message.body.to_string(),
                    metadata: serde_json::json!({
                        "sender": DEFAULT_SENDER_ID,
                        "reference": message.reference,
                    }),
                });
                Ok(SentSms { provider_message_id: format!("local-{}", stored.id) })
            }
        }
    }
}

/// Where and how to reach the SMS gateway.
#[derive(Debug, Clone)]
pub struct SmsGatewayConfig {
    /// `http://` or `https://` URL without a trailing slash; requests go to `{base_url}/v1/messages`.
    pub base_url: String,
    pub api_key: Secret<String>,
    /// What the recipient's phone shows as the sender: up to 11 letters, digits and spaces, or a
    /// phone number in E.164 form.
    pub sender_id: String,
    /// The longest one request may take, from connecting to reading the whole answer.
    pub timeout: Duration,
    /// The key the gateway signs its delivery receipts with.
    pub webhook_secret: Secret<String>,
    /// During a rotation, the key being replaced: receipts signed with it are still accepted.
    pub previous_webhook_secret: Option<Secret<String>>,
}

impl SmsGatewayConfig {
    /// Reads `BURGERNET_SMS_GATEWAY_URL` (unset: `Ok(None)`, no gateway configured),
    /// `BURGERNET_SMS_GATEWAY_API_KEY` and `BURGERNET_SMS_WEBHOOK_SECRET` (both required with the
    /// URL), `BURGERNET_SMS_SENDER_ID` (default `Burgernet`) and `BURGERNET_SMS_TIMEOUT` (default
    /// `10s`).
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(base_url) = env.optional("BURGERNET_SMS_GATEWAY_URL", parse::http_url)? else {
            for companion in ["BURGERNET_SMS_GATEWAY_API_KEY", "BURGERNET_SMS_WEBHOOK_SECRET"] {
                if env.is_set(companion) {
                    return Err(ConfigError {
                        variable: "BURGERNET_SMS_GATEWAY_URL",
                        problem: format!("is required when {companion} is set"),
                    });
                }
            }
            return Ok(None);
        };
        Ok(Some(Self {
            base_url,
            api_key: env.required("BURGERNET_SMS_GATEWAY_API_KEY", parse_api_key)?,
            sender_id: env.or("BURGERNET_SMS_SENDER_ID", DEFAULT_SENDER_ID.to_string(), parse_sender_id)?,
            timeout: env.or("BURGERNET_SMS_TIMEOUT", Duration::from_secs(10), parse::duration)?,
            webhook_secret: env.required("BURGERNET_SMS_WEBHOOK_SECRET", parse_webhook_secret)?,
            previous_webhook_secret: env
                .optional("BURGERNET_SMS_WEBHOOK_PREVIOUS_SECRET", parse_webhook_secret)?,
        }))
    }

    /// The secrets a receipt may be signed with, current first.
    pub fn webhook_secrets(&self) -> Vec<Secret<String>> {
        std::iter::once(self.webhook_secret.clone()).chain(self.previous_webhook_secret.clone()).collect()
    }
}

/// An API key goes into a header: it must be printable ASCII without spaces.
pub fn parse_api_key(raw: &str) -> Result<Secret<String>, String> {
    if raw.chars().all(|c| c.is_ascii_graphic()) {
        Ok(Secret::new(raw.to_string()))
    } else {
        Err("must consist of printable ASCII characters without spaces".into())
    }
}

/// An alphanumeric sender id (1 to 11 ASCII letters, digits and spaces, with at least one letter,
/// so phones do not mistake it for a number) or a phone number in E.164 form (`+` and 8 to 15
/// digits).
pub fn parse_sender_id(raw: &str) -> Result<String, String> {
    if is_e164(raw) {
        return Ok(raw.to_string());
    }
    let alphanumeric = (1..=11).contains(&raw.chars().count())
        && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
        && raw.chars().any(|c| c.is_ascii_alphabetic());
    if alphanumeric {
        Ok(raw.to_string())
    } else {
        Err(format!(
            "expected at most 11 letters, digits and spaces (with at least one letter), or a phone \
             number such as +31612345678, got {raw:?}"
        ))
    }
}

/// `+` followed by 8 to 15 digits, the first not zero.
fn is_e164(raw: &str) -> bool {
    raw.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// The client of the SMS gateway. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct HttpSmsGateway {
    inner: Arc<GatewayClient>,
}

struct GatewayClient {
    client: Http1Client,
    endpoint: Uri,
    authorization: HeaderValue,
    sender_id: String,
}

impl fmt::Debug for HttpSmsGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSmsGateway")
            .field("endpoint", &self.inner.endpoint.to_string())
            .field("sender_id", &self.inner.sender_id)
            .field("timeout", &self.inner.client.timeout())
            .finish_non_exhaustive()
    }
}

impl HttpSmsGateway {
    pub fn new(config: SmsGatewayConfig) -> anyhow::Result<Self> {
        let base_url = parse::http_url(&config.base_url)
            .map_err(|problem| anyhow::anyhow!("the SMS gateway URL is not usable: {problem}"))?;
        let endpoint: Uri = format!("{base_url}/v1/messages").parse().context("build the SMS gateway URL")?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", config.api_key.expose()))
            .map_err(|_| anyhow::anyhow!("the SMS gateway API key cannot be sent in a header"))?;
        authorization.set_sensitive(true);
        let inner = GatewayClient {
            client: Http1Client::new(&endpoint, config.timeout)?,
            endpoint,
            authorization,
            sender_id: config.sender_id,
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<SentSms, SmsError> {
        let this = &*self.inner;
        let body = serde_json::json!({
            "from": this.sender_id,
            "to": message.to.as_str(),
            "body": message.body,
            "reference": message.reference,
        });
        let request = Request::builder()
            .method(Method::POST)
            .uri(this.endpoint.clone())
            .header(header::AUTHORIZATION, this.authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, concat!("burgernet/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| unavailable("could not build the request", ProviderAnswer::Connect))?;
        let (parts, bytes) = this
            .client
            .exchange(request, MAX_RESPONSE_BYTES)
            .await
            .map_err(|failed| unavailable(failed.detail, failed.answer))?;

        let result = interpret_response(parts.status, &parts.headers, &bytes);
        match &result {
            Ok(sent) => tracing::debug!(
                to = %message.to.masked(),
                reference = message.reference,
                provider_message_id = sent.provider_message_id,
                "sms accepted by the gateway"
            ),
            Err(error) => tracing::debug!(
                to = %message.to.masked(),
                reference = message.reference,
                %error,
                "sms not accepted by the gateway"
            ),
        }
        result
    }
}

fn unavailable(detail: impl Into<String>, answer: ProviderAnswer) -> SmsError {
    SmsError::Unavailable { detail: detail.into(), answer }
}

#[derive(Deserialize)]
struct Accepted {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
}

/// Turns the gateway's answer into our result; see the module documentation for the rules.
fn interpret_response(
    status: StatusCode,
    headers: &header::HeaderMap,
    body: &[u8],
) -> Result<SentSms, SmsError> {
    if status == StatusCode::CREATED || status == StatusCode::OK {
        return match serde_json::from_slice::<Accepted>(body) {
            Ok(accepted) if !accepted.id.trim().is_empty() => {
                Ok(SentSms { provider_message_id: accepted.id })
            }
            _ => Err(unavailable(
                format!(
                    "HTTP {} without a message id in the response; the message may have been sent",
                    status.as_u16()
                ),
                ProviderAnswer::status(status.as_u16()),
            )),
        };
    }
    let status = status.as_u16();
    let code = error_code(body);
    // "HTTP 422 (invalid_recipient)"
    let detail = match &code {
        Some(code) => format!("HTTP {status} ({code})"),
        None => format!("HTTP {status}"),
    };
    let answer = ProviderAnswer::Answered { status, code };
    match status {
        400 | 413 | 422 => Err(SmsError::Rejected { detail, answer }),
        401 | 403 => Err(SmsError::Unauthorized),
        429 => Err(SmsError::RateLimited { retry_after: retry_after(headers) }),
        _ => Err(unavailable(detail, answer)),
    }
}

/// The gateway's error code (`invalid_recipient`), when it has a machine-readable shape. The
/// gateway's free-text message is left out on purpose.
fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body).ok().and_then(|body| body.error.code).filter(|code| {
        (1..=64).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    })
}

/// `Retry-After` as a number of seconds or as an HTTP date.
pub(super) fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO);
    Some(wait)
}

/// Failure codes that mean the number will never receive SMS. Receipts failing with one of these
/// are reason to stop texting the participant.
pub const PERMANENT_FAILURE_CODES: [&str; 3] =
    ["unknown_subscriber", "invalid_number", "absent_subscriber_permanent"];

/// What the gateway reports about a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// The recipient's phone received it.
    Delivered,
    /// The network refused it; `error_code` says why.
    Failed,
    /// The network gave up within the message's validity.
    Expired,
}

impl ReceiptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }
}

/// A delivery receipt as the gateway sends it (see the module documentation).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsReceiptBody {
    /// The gateway's message id, as it answered when accepting the message.
    pub id: String,
    /// Our reference for the message, as we sent it.
    pub reference: String,
    pub status: ReceiptStatus,
    /// Why the message failed, e.g. `unknown_subscriber`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// When the gateway learnt the outcome.
    pub at: DateTime<Utc>,
}

/// A checked delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    pub provider_message_id: String,
    pub reference: String,
    pub status: ReceiptStatus,
    pub error_code: Option<String>,
    pub at: DateTime<Utc>,
}

impl SmsReceipt {
    /// The error code, when it says the number will never receive SMS.
    pub fn permanent_failure_code(&self) -> Option<&str> {
        match self.status {
            ReceiptStatus::Delivered => None,
            ReceiptStatus::Failed | ReceiptStatus::Expired => {
                self.error_code.as_deref().filter(|code| PERMANENT_FAILURE_CODES.contains(code))
            }
        }
    }
}

/// A body that is not a delivery receipt. The text points at the problem without repeating the
/// body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the body is not a delivery receipt: {detail}")]
pub struct InvalidReceipt {
    pub detail: String,
}

/// An id, reference or error code as the gateway sends it: 1 to 128 printable ASCII characters
/// without spaces. Anything else is not what the protocol sends (and might be personal data).
fn is_token(text: &str) -> bool {
    (1..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

/// Reads a receipt's body (after its signature was verified).
pub fn parse_receipt(body: &[u8]) -> Result<SmsReceipt, InvalidReceipt> {
    let wire: SmsReceiptBody = serde_json::from_slice(body).map_err(|error| {
        // serde's own text may quote the body; its category and position are enough.
        let what = match error.classify() {
            serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
            _ => "it is not JSON",
        };
        InvalidReceipt { detail: format!("{what} (line {}, column {})", error.line(), error.column()) }
    })?;
    let invalid = |field: &str| InvalidReceipt {
        detail: format!("{field} must be 1 to 128 printable ASCII characters without spaces"),
    };
    if !is_token(&wire.id) {
        return Err(invalid("id"));
    }
    if !is_token(&wire.reference) {
        return Err(invalid("reference"));
    }
    if wire.error_code.as_deref().is_some_and(|code| !is_token(code)) {
        return Err(invalid("error_code"));
    }
    Ok(SmsReceipt {
        provider_message_id: wire.id,
        reference: wire.reference,
        status: wire.status,
        error_code: wire.error_code,
        at: wire.at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::webhook_signature::{SignatureError, sign, verify};

    const WEBHOOK_SECRET: &str = "a-webhook-secret-of-at-least-32-chars";

    const RECEIPT: &str =
        r#"{"id":"msg-1","reference":"delivery-42","status":"delivered","at":"2026-11-30T16:48:01Z"}"#;

    fn now() -> DateTime<Utc> {
        "2026-11-30T16:50:00Z".parse().unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn without_a_url_there_is_no_gateway() {
        assert!(SmsGatewayConfig::from_env(&Env::default()).unwrap().is_none());
    }

    #[test]
    fn a_key_or_webhook_secret_without_a_url_is_a_mistake() {
        for companion in ["BURGERNET_SMS_GATEWAY_API_KEY", "BURGERNET_SMS_WEBHOOK_SECRET"] {
            let error = SmsGatewayConfig::from_env(&env(&[(companion, WEBHOOK_SECRET)])).unwrap_err();
            assert_eq!(error.variable, "BURGERNET_SMS_GATEWAY_URL");
            assert!(error.to_string().contains(companion), "{error}");
            assert!(!error.to_string().contains(WEBHOOK_SECRET), "{error}");
        }
    }

    #[test]
    fn reads_the_gateway_with_defaults() {
        let config = SmsGatewayConfig::from_env(&env(&[
            ("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.com/api/"),
            ("BURGERNET_SMS_GATEWAY_API_KEY", "key-123"),
            ("BURGERNET_SMS_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.base_url, "https://sms.example.com/api");
        assert_eq!(config.api_key.expose(), "key-123");
        assert_eq!(config.webhook_secret.expose(), WEBHOOK_SECRET);
        assert_eq!(config.sender_id, "Burgernet");
        assert_eq!(config.timeout, Duration::from_secs(10));
        let printed = format!("{config:?}");
        assert!(!printed.contains("key-123") && !printed.contains(WEBHOOK_SECRET), "{printed}");
    }

    #[test]
    fn reads_sender_id_and_timeout() {
        let config = SmsGatewayConfig::from_env(&env(&[
            ("BURGERNET_SMS_GATEWAY_URL", "http://127.0.0.1:9000"),
            ("BURGERNET_SMS_GATEWAY_API_KEY", "key"),
            ("BURGERNET_SMS_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("BURGERNET_SMS_SENDER_ID", "+3197010000000"),
            ("BURGERNET_SMS_TIMEOUT", "2500ms"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.sender_id, "+3197010000000");
        assert_eq!(config.timeout, Duration::from_millis(2500));
    }

    #[test]
    fn the_key_and_the_webhook_secret_are_required_with_the_url() {
        let url = ("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.com");
        let error =
            SmsGatewayConfig::from_env(&env(&[url, ("BURGERNET_SMS_WEBHOOK_SECRET", WEBHOOK_SECRET)]))
                .unwrap_err();
        assert_eq!(error.variable, "BURGERNET_SMS_GATEWAY_API_KEY");
        let error =
            SmsGatewayConfig::from_env(&env(&[url, ("BURGERNET_SMS_GATEWAY_API_KEY", "k")])).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_SMS_WEBHOOK_SECRET");
    }

    #[test]
    fn wrong_values_are_named_without_echoing_secrets() {
        let base = [
            ("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.com"),
            ("BURGERNET_SMS_GATEWAY_API_KEY", "k"),
            ("BURGERNET_SMS_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ];
        for (variable, value) in [
            ("BURGERNET_SMS_GATEWAY_URL", "ftp://sms.example.com"),
            ("BURGERNET_SMS_GATEWAY_URL", "sms.example.com"),
            ("BURGERNET_SMS_GATEWAY_URL", "https://user:hunter2@sms.example.com"),
            ("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.com/?key=hunter2"),
            ("BURGERNET_SMS_GATEWAY_API_KEY", "hunter2 with spaces"),
            ("BURGERNET_SMS_WEBHOOK_SECRET", "hunter2-is-too-short"),
            ("BURGERNET_SMS_SENDER_ID", "Burgernet Nederland"),
            ("BURGERNET_SMS_SENDER_ID", "12345"),
            ("BURGERNET_SMS_SENDER_ID", "Bürgernet"),
            ("BURGERNET_SMS_TIMEOUT", "soon"),
        ] {
            let mut pairs = base.to_vec();
            pairs.retain(|(name, _)| *name != variable);
            pairs.push((variable, value));
            let error = SmsGatewayConfig::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn sender_ids() {
        for good in ["Burgernet", "Politie NL", "B2", "+31612345678"] {
            assert_eq!(parse_sender_id(good).as_deref(), Ok(good));
        }
        for bad in ["", "TwelveLetter", "Burger-net", "+0612345678", "+31 6 1234"] {
            assert!(parse_sender_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn builds_for_http_and_https() {
        // https loads the system's certificate authorities (the ca-certificates package).
        for base_url in ["https://sms.example.com", "http://127.0.0.1:9"] {
            let config = SmsGatewayConfig {
                base_url: base_url.into(),
                api_key: Secret::new("key".into()),
                sender_id: "Burgernet".into(),
                timeout: Duration::from_secs(1),
                webhook_secret: Secret::new(WEBHOOK_SECRET.into()),
                previous_webhook_secret: None,
            };
            HttpSmsGateway::new(config).unwrap_or_else(|error| panic!("{base_url}: {error}"));
        }
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<SentSms, SmsError> {
        let mut map = header::HeaderMap::new();
        for (name, value) in headers {
            map.insert(header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        interpret_response(StatusCode::from_u16(status).unwrap(), &map, body.as_bytes())
    }

    #[test]
    fn classifies_the_gateway_answers() {
        assert_eq!(answer(201, &[], r#"{"id":"m-1"}"#), Ok(SentSms { provider_message_id: "m-1".into() }));
        assert_eq!(answer(200, &[], r#"{"id":"m-2","status":"queued"}"#).unwrap().provider_message_id, "m-2");
        assert!(matches!(answer(201, &[], "{}"), Err(SmsError::Unavailable { .. })));
        assert_eq!(answer(401, &[], ""), Err(SmsError::Unauthorized));
        assert_eq!(answer(403, &[], ""), Err(SmsError::Unauthorized));
        let rejected = answer(
            422,
            &[],
            r#"{"error":{"code":"invalid_recipient","message":"+31612345678 cannot receive SMS"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            rejected,
            SmsError::Rejected {
                detail: "HTTP 422 (invalid_recipient)".into(),
                answer: ProviderAnswer::coded(422, "invalid_recipient"),
            }
        );
        assert_eq!(rejected.provider_code(), "invalid_recipient");
        assert!(!rejected.is_retryable());
        assert!(matches!(answer(400, &[], "not json"), Err(SmsError::Rejected { .. })));
        let limited = answer(429, &[("retry-after", "7")], "").unwrap_err();
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert!(limited.is_retryable());
        assert_eq!(answer(429, &[], "").unwrap_err().retry_after(), None);
        let unavailable = answer(503, &[], r#"{"error":{"code":"overloaded","message":"x"}}"#).unwrap_err();
        assert_eq!(
            unavailable,
            SmsError::Unavailable {
                detail: "HTTP 503 (overloaded)".into(),
                answer: ProviderAnswer::coded(503, "overloaded"),
            }
        );
        assert!(unavailable.is_retryable());
        let not_found = answer(404, &[], "").unwrap_err();
        assert!(matches!(not_found, SmsError::Unavailable { .. }));
        assert_eq!(not_found.provider_code(), "404");
        // A code that is not a code is left out rather than echoed; the status is counted.
        let odd = answer(422, &[], r#"{"error":{"code":"no such number +31612345678"}}"#).unwrap_err();
        assert_eq!(
            odd,
            SmsError::Rejected { detail: "HTTP 422".into(), answer: ProviderAnswer::status(422) }
        );
        assert_eq!(odd.provider_code(), "422");
        // Accepted without an id: the status is what the gateway answered.
        assert_eq!(answer(201, &[], "{}").unwrap_err().provider_code(), "201");
        assert_eq!(answer(401, &[], "").unwrap_err().provider_code(), "unauthorized");
        assert_eq!(answer(429, &[], "").unwrap_err().provider_code(), "429");
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let at = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822().replace("+0000", "GMT");
        let wait = answer(429, &[("retry-after", &at)], "").unwrap_err().retry_after().unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
        let past = answer(429, &[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")], "").unwrap_err();
        assert_eq!(past.retry_after(), Some(Duration::ZERO));
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            SmsError::RateLimited { retry_after: Some(Duration::from_secs(30)) }.to_string(),
            "the SMS gateway is rate limiting us (retry after 30s)"
        );
        assert_eq!(
            SmsError::RateLimited { retry_after: None }.to_string(),
            "the SMS gateway is rate limiting us"
        );
    }

    #[test]
    fn during_a_rotation_receipts_signed_with_either_secret_are_accepted() {
        const NEXT: &str = "the-next-webhook-secret-of-32-chars-or-more";
        let config = SmsGatewayConfig::from_env(&env(&[
            ("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.com"),
            ("BURGERNET_SMS_GATEWAY_API_KEY", "key-123"),
            ("BURGERNET_SMS_WEBHOOK_SECRET", NEXT),
            ("BURGERNET_SMS_WEBHOOK_PREVIOUS_SECRET", WEBHOOK_SECRET),
        ]))
        .unwrap()
        .unwrap();
        let at = now().timestamp();
        let check = |key: &str| {
            let signature = sign(key.as_bytes(), at, RECEIPT.as_bytes());
            verify(
                &config.webhook_secrets(),
                Some(&at.to_string()),
                Some(&signature),
                RECEIPT.as_bytes(),
                now(),
            )
        };
        assert_eq!(check(NEXT), Ok(()));
        assert_eq!(check(WEBHOOK_SECRET), Ok(()));
        assert_eq!(check("a-third-secret-that-was-never-configured"), Err(SignatureError::Mismatch));
        assert!(!format!("{config:?}").contains(WEBHOOK_SECRET));
    }

    #[test]
    fn parses_a_receipt() {
        let receipt = parse_receipt(RECEIPT.as_bytes()).unwrap();
        assert_eq!(
            receipt,
            SmsReceipt {
                provider_message_id: "msg-1".into(),
                reference: "delivery-42".into(),
                status: ReceiptStatus::Delivered,
                error_code: None,
                at: "2026-11-30T16:48:01Z".parse().unwrap(),
            }
        );
        assert_eq!(receipt.permanent_failure_code(), None);
        let failed = parse_receipt(
            br#"{"id":"m","reference":"r","status":"failed","error_code":"unknown_subscriber","at":"2026-11-30T17:48:01+01:00"}"#,
        )
        .unwrap();
        assert_eq!(
            (failed.status, failed.error_code.as_deref()),
            (ReceiptStatus::Failed, Some("unknown_subscriber"))
        );
        assert_eq!(failed.at, receipt.at);
        assert_eq!(failed.permanent_failure_code(), Some("unknown_subscriber"));
    }

    #[test]
    fn only_permanent_codes_of_failed_or_expired_messages_are_permanent() {
        let receipt = |status, code: &str| SmsReceipt {
            provider_message_id: "m".into(),
            reference: "r".into(),
            status,
            error_code: Some(code.into()),
            at: now(),
        };
        for code in PERMANENT_FAILURE_CODES {
            assert_eq!(receipt(ReceiptStatus::Failed, code).permanent_failure_code(), Some(code));
            assert_eq!(receipt(ReceiptStatus::Expired, code).permanent_failure_code(), Some(code));
            assert_eq!(receipt(ReceiptStatus::Delivered, code).permanent_failure_code(), None);
        }
        for passing in ["absent_subscriber", "network_congestion", "expired"] {
            assert_eq!(receipt(ReceiptStatus::Failed, passing).permanent_failure_code(), None);
        }
    }

    #[test]
    fn bodies_that_are_not_receipts_are_refused_without_being_echoed() {
        for body in [
            "not json +31612345678",
            r#"{"id":"m","reference":"r","status":"read","at":"2026-11-30T16:48:01Z"}"#,
            r#"{"id":"m","reference":"r","status":"delivered"}"#,
            r#"{"id":"m","reference":"r","status":"delivered","at":"yesterday"}"#,
            r#"{"id":"m","reference":"r","status":"delivered","at":"2026-11-30T16:48:01Z","to":"+31612345678"}"#,
            r#"{"id":"","reference":"r","status":"delivered","at":"2026-11-30T16:48:01Z"}"#,
            r#"{"id":"m","reference":"+31 6 12345678","status":"delivered","at":"2026-11-30T16:48:01Z"}"#,
            r#"{"id":"m","reference":"r","status":"failed","error_code":"no such number +31612345678","at":"2026-11-30T16:48:01Z"}"#,
        ] {
            let error = parse_receipt(body.as_bytes()).unwrap_err();
            let text = error.to_string();
            assert!(!text.contains("+31") && !text.contains("yesterday") && !text.contains("read"), "{text}");
        }
    }
}
