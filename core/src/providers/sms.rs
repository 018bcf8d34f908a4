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

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[cfg(feature = "local")]
use super::json_gateway::deliver_locally;
use super::json_gateway::{
    self, GatewaySettings, GatewayVariables, JsonGateway, check_tokens, gateway_error, gateway_variables,
    is_e164, read_webhook,
};
use crate::env::{ConfigError, Env};
#[cfg(feature = "local")]
use crate::outbox::{LocalOutbox, OutboxChannel};
use crate::secret::Secret;
use crate::vocabulary::phone::PhoneNumber;

pub use super::json_gateway::parse_api_key;
// The push clients (apns.rs, fcm.rs) read `Retry-After` from here, as the gateways do.
pub(super) use super::json_gateway::retry_after;

/// The sender id the local stand-in reports, and the default for the gateway.
pub const DEFAULT_SENDER_ID: &str = "Burgernet";

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

gateway_error! {
    /// Why an SMS was not accepted. The texts name neither the recipient nor the body.
    pub enum SmsError {
        gateway: "the SMS gateway",
        refused: "the message",
        api_key_variable: "BURGERNET_SMS_GATEWAY_API_KEY",
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
                let metadata =
                    serde_json::json!({ "sender": DEFAULT_SENDER_ID, "reference": message.reference });
                let provider_message_id =
                    deliver_locally(outbox, OutboxChannel::Sms, message.to, message.body, metadata);
                Ok(SentSms { provider_message_id })
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

/// `BURGERNET_SMS_GATEWAY_URL` and the rest of the gateway's settings; the sender id is optional.
const VARIABLES: GatewayVariables = gateway_variables!("SMS", also_required: &[]);

impl SmsGatewayConfig {
    /// Reads `BURGERNET_SMS_GATEWAY_URL` (unset: `Ok(None)`, no gateway configured),
    /// `BURGERNET_SMS_GATEWAY_API_KEY` and `BURGERNET_SMS_WEBHOOK_SECRET` (both required with the
    /// URL), `BURGERNET_SMS_WEBHOOK_PREVIOUS_SECRET` (during a rotation), `BURGERNET_SMS_SENDER_ID`
    /// (default `Burgernet`) and `BURGERNET_SMS_TIMEOUT` (default `10s`).
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let sender_id =
            |env: &Env| env.or("BURGERNET_SMS_SENDER_ID", DEFAULT_SENDER_ID.to_string(), parse_sender_id);
        let Some((settings, sender_id)) = VARIABLES.read(env, sender_id)? else {
            return Ok(None);
        };
        let GatewaySettings { base_url, api_key, timeout, webhook_secret, previous_webhook_secret } =
            settings;
        Ok(Some(Self { base_url, api_key, sender_id, timeout, webhook_secret, previous_webhook_secret }))
    }

    /// The secrets a receipt may be signed with, current first.
    pub fn webhook_secrets(&self) -> Vec<Secret<String>> {
        json_gateway::webhook_secrets(&self.webhook_secret, &self.previous_webhook_secret)
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

/// The client of the SMS gateway. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct HttpSmsGateway {
    gateway: JsonGateway,
    sender_id: Arc<str>,
}

impl fmt::Debug for HttpSmsGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.gateway.debug(f, "HttpSmsGateway", ("sender_id", &self.sender_id))
    }
}

impl HttpSmsGateway {
    pub fn new(config: SmsGatewayConfig) -> anyhow::Result<Self> {
        let gateway =
            JsonGateway::new("SMS", &config.base_url, "/v1/messages", &config.api_key, config.timeout)?;
        Ok(Self { gateway, sender_id: config.sender_id.into() })
    }

    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<SentSms, SmsError> {
        let body = serde_json::json!({
            "from": &*self.sender_id,
            "to": message.to.as_str(),
            "body": message.body,
            "reference": message.reference,
        });
        let not_accepted = "sms not accepted by the gateway";
        let provider_message_id =
            self.gateway.post::<SmsError>(&body, message.to, message.reference, not_accepted).await?;
        tracing::debug!(
            to = %message.to.masked(),
            reference = message.reference,
            provider_message_id,
            "sms accepted by the gateway"
        );
        Ok(SentSms { provider_message_id })
    }
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

/// Reads a receipt's body (after its signature was verified).
pub fn parse_receipt(body: &[u8]) -> Result<SmsReceipt, InvalidReceipt> {
    let invalid = |detail| InvalidReceipt { detail };
    let wire: SmsReceiptBody = read_webhook(body).map_err(invalid)?;
    check_tokens(&wire.id, &wire.reference, wire.error_code.as_deref()).map_err(invalid)?;
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
    use crate::providers::ProviderAnswer;
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

    #[test]
    fn a_sender_id_that_is_not_one_is_named() {
        for value in ["Burgernet Nederland", "12345", "Bürgernet"] {
            let error = SmsGatewayConfig::from_env(&env(&[
                ("BURGERNET_SMS_GATEWAY_URL", "https://sms.example.com"),
                ("BURGERNET_SMS_GATEWAY_API_KEY", "k"),
                ("BURGERNET_SMS_WEBHOOK_SECRET", WEBHOOK_SECRET),
                ("BURGERNET_SMS_SENDER_ID", value),
            ]))
            .unwrap_err();
            assert_eq!(error.variable, "BURGERNET_SMS_SENDER_ID", "{value}");
        }
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
        assert_eq!(
            SmsError::Unauthorized.to_string(),
            "the SMS gateway refused our API key; check BURGERNET_SMS_GATEWAY_API_KEY"
        );
        let answer = ProviderAnswer::coded(422, "invalid_recipient");
        let rejected = SmsError::Rejected { detail: "HTTP 422 (invalid_recipient)".into(), answer };
        assert_eq!(
            rejected.to_string(),
            "the SMS gateway rejected the message: HTTP 422 (invalid_recipient)"
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
