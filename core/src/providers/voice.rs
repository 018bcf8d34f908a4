//! Placing voice calls: a phone call in which text-to-speech reads an alert aloud, in the
//! participant's language (the classic Burgernet's first channel). What is read is the call
//! script of [`super::voice_script`].
//!
//! [`VoiceSender`] is the HTTP gateway client ([`HttpVoiceGateway`]) or, with the `local` feature
//! only, the local stand-in that puts calls in the local outbox (`LocalOutbox`; the tests).
//!
//! # The gateway protocol
//!
//! Modelled on the JSON APIs of CM.com Voice and Twilio; the tests run the client against a fake
//! gateway that speaks exactly this over a real socket.
//!
//! ```text
//! POST {base_url}/v1/calls
//! Authorization: Bearer <api key>
//! Content-Type: application/json
//!
//! {"from": "+31880000000", "to": "+31612345678", "language": "nl-NL",
//!  "text": "<the whole script>", "reference": "<our id>"}
//! ```
//!
//! - `from` is our caller id (E.164), what the called phone shows; `language` is `nl-NL` or
//!   `en-GB` ([`language_tag`]), the voice `text` is read in.
//! - `201 Created` (or `200 OK`) with `{"id": "<provider call id>"}`: the call is queued. The id
//!   comes back in call statuses; `reference` is our own id for the call.
//! - Errors carry `{"error": {"code": "...", "message": "..."}}` and mean what they mean for the
//!   SMS gateway (the same rules read them, `super::json_gateway`):
//!   - `400`/`422`: the number or the text is not acceptable (e.g. `invalid_recipient`,
//!     `invalid_language`): [`VoiceError::Rejected`], never retried;
//!   - `401`/`403`: our API key is wrong: [`VoiceError::Unauthorized`], an operator problem;
//!   - `429` with `Retry-After: <seconds>`: [`VoiceError::RateLimited`];
//!   - `5xx`: [`VoiceError::Unavailable`], as are time-outs, refused connections and answers we
//!     cannot read.
//!
//! Only the provider's error `code` is kept in our errors, never its `message`: providers tend to
//! repeat the number there. Error texts hold neither the number nor the text (which is the alert).
//!
//! Placing a call is not idempotent: after a time-out the gateway may call anyway, and a retry
//! may ring the participant twice. The `reference` lets the provider (and the statuses) tell the
//! two apart.
//!
//! # Call statuses
//!
//! A queued call is not a call that reached anyone: the gateway later tells us how it went by
//! calling our API, signed like every webhook of ours (`super::webhook_signature`) with the shared
//! secret `BURGERNET_VOICE_WEBHOOK_SECRET`:
//!
//! ```text
//! POST {our public URL}/v1/voice/status
//! Content-Type: application/json
//! X-Signature-Timestamp: 1796613129
//! X-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>
//!
//! {"id": "<provider call id>", "reference": "<our reference>", "status": "answered",
//!  "duration_seconds": 47, "error_code": null, "at": "2026-12-07T03:12:09Z"}
//! ```
//!
//! - `status` ([`CallOutcome`]) is `answered` (a person picked up and the message played),
//!   `voicemail` (an answering machine took it), `no_answer`, `busy` or `failed`, the latter with
//!   an `error_code` such as `invalid_number`. Codes in `sms::PERMANENT_FAILURE_CODES` mean the
//!   number is dead, for calls as for texts.
//! - `duration_seconds` is how long the call was connected (0 when it was not); the gateway bills
//!   every started minute ([`CallStatus::billable_minutes`]).
//!
//! `webhook_signature::verify` and [`parse_call_status`] do the checking.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "local")]
use super::json_gateway::deliver_locally;
use super::json_gateway::{
    self, GatewaySettings, GatewayVariables, JsonGateway, check_tokens, gateway_error, gateway_variables,
    is_e164, read_webhook,
};
use super::sms::PERMANENT_FAILURE_CODES;
use crate::env::{ConfigError, Env};
#[cfg(feature = "local")]
use crate::outbox::{LocalOutbox, OutboxChannel};
use crate::providers::ProviderAnswer;
use crate::secret::Secret;
use crate::vocabulary::Language;
use crate::vocabulary::phone::PhoneNumber;

/// The longest call a status may report: a day. Anything longer is not a call.
pub const MAX_CALL_SECONDS: u32 = 24 * 60 * 60;

/// The BCP 47 tag of the voice that reads a call in `language`: `nl-NL` or `en-GB`.
pub fn language_tag(language: Language) -> &'static str {
    match language {
        Language::Dutch => "nl-NL",
        Language::English => "en-GB",
    }
}

/// One call to place.
#[derive(Debug, Clone, Copy)]
pub struct VoiceCall<'a> {
    pub to: &'a PhoneNumber,
    /// The language `text` is in, and so the voice that reads it.
    pub language: Language,
    /// What text-to-speech reads: the call script (`voice_script::call_script`). It holds the
    /// alert, so it never appears in errors or logs.
    pub text: &'a str,
    /// Our own id for the call, echoed in call statuses.
    pub reference: &'a str,
}

/// What the provider said when it queued a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedCall {
    /// The provider's id for the call, as used in its call statuses.
    pub provider_call_id: String,
}

gateway_error! {
    /// Why a call was not queued. The texts name neither the number nor the text.
    pub enum VoiceError {
        gateway: "the voice gateway",
        refused: "the call",
        api_key_variable: "BURGERNET_VOICE_GATEWAY_API_KEY",
    }
}

/// Places calls through the configured gateway, or into the local outbox (the `local` feature
/// only).
#[derive(Clone, Debug)]
pub enum VoiceSender {
    Gateway(HttpVoiceGateway),
    /// No gateway: no category's alerts call (`BURGERNET_CHANNEL_ORDER_<CATEGORY>`), so only an
    /// alert sent while one did can still ask for a call, and it fails.
    Unconfigured,
    #[cfg(feature = "local")]
    Local(LocalOutbox),
}

impl VoiceSender {
    pub async fn place(&self, call: &VoiceCall<'_>) -> Result<PlacedCall, VoiceError> {
        match self {
            Self::Gateway(gateway) => gateway.place(call).await,
            Self::Unconfigured => Err(VoiceError::Rejected {
                detail: "no voice gateway is configured (BURGERNET_VOICE_GATEWAY_URL)".into(),
                answer: ProviderAnswer::Connect,
            }),
            #[cfg(feature = "local")]
            Self::Local(outbox) => {
                let language = language_tag(call.language);
                let metadata = serde_json::json!({ "language": language, "reference": call.reference });
                Ok(PlacedCall {
                    provider_call_id: deliver_locally(
                        outbox,
                        OutboxChannel::Voice,
                        call.to,
                        call.text,
                        metadata,
                    ),
                })
            }
        }
    }
}

/// Where and how to reach the voice gateway.
#[derive(Debug, Clone)]
pub struct VoiceGatewayConfig {
    /// `http://` or `https://` URL without a trailing slash; requests go to `{base_url}/v1/calls`.
    pub base_url: String,
    pub api_key: Secret<String>,
    /// The number the called phone shows, in E.164 form (`+31880000000`).
    pub caller_id: String,
    /// The longest one request may take, from connecting to reading the whole answer.
    pub timeout: Duration,
    /// The key the gateway signs its call statuses with.
    pub webhook_secret: Secret<String>,
    /// During a rotation, the key being replaced: statuses signed with it are still accepted.
    pub previous_webhook_secret: Option<Secret<String>>,
}

/// `BURGERNET_VOICE_GATEWAY_URL` and the rest of the gateway's settings; the caller id is required.
const VARIABLES: GatewayVariables =
    gateway_variables!("VOICE", also_required: &["BURGERNET_VOICE_CALLER_ID"]);

impl VoiceGatewayConfig {
    /// Reads `BURGERNET_VOICE_GATEWAY_URL` (unset: `Ok(None)`, no gateway configured),
    /// `BURGERNET_VOICE_GATEWAY_API_KEY`, `BURGERNET_VOICE_WEBHOOK_SECRET` and
    /// `BURGERNET_VOICE_CALLER_ID` (all required with the URL),
    /// `BURGERNET_VOICE_WEBHOOK_PREVIOUS_SECRET` (during a rotation) and `BURGERNET_VOICE_TIMEOUT`
    /// (default `10s`).
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let caller_id = |env: &Env| env.required("BURGERNET_VOICE_CALLER_ID", parse_caller_id);
        let Some((settings, caller_id)) = VARIABLES.read(env, caller_id)? else {
            return Ok(None);
        };
        let GatewaySettings { base_url, api_key, timeout, webhook_secret, previous_webhook_secret } =
            settings;
        Ok(Some(Self { base_url, api_key, caller_id, timeout, webhook_secret, previous_webhook_secret }))
    }

    /// The secrets a call status may be signed with, current first.
    pub fn webhook_secrets(&self) -> Vec<Secret<String>> {
        json_gateway::webhook_secrets(&self.webhook_secret, &self.previous_webhook_secret)
    }
}

/// A caller id is a phone number in E.164 form: phones do not show a name for a call.
fn parse_caller_id(raw: &str) -> Result<String, String> {
    if is_e164(raw) {
        Ok(raw.to_string())
    } else {
        Err("expected a phone number in E.164 form, such as +31880000000".into())
    }
}

/// The client of the voice gateway. Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct HttpVoiceGateway {
    gateway: JsonGateway,
    caller_id: Arc<str>,
}

impl fmt::Debug for HttpVoiceGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.gateway.debug(f, "HttpVoiceGateway", ("caller_id", &self.caller_id))
    }
}

impl HttpVoiceGateway {
    pub fn new(config: VoiceGatewayConfig) -> anyhow::Result<Self> {
        let gateway =
            JsonGateway::new("voice", &config.base_url, "/v1/calls", &config.api_key, config.timeout)?;
        Ok(Self { gateway, caller_id: config.caller_id.into() })
    }

    /// Asks the gateway to place the call; `Ok` means it is queued, not that anyone answered.
    pub async fn place(&self, call: &VoiceCall<'_>) -> Result<PlacedCall, VoiceError> {
        let body = serde_json::json!({
            "from": &*self.caller_id,
            "to": call.to.as_str(),
            "language": language_tag(call.language),
            "text": call.text,
            "reference": call.reference,
        });
        let not_accepted = "call not accepted by the voice gateway";
        let provider_call_id =
            self.gateway.post::<VoiceError>(&body, call.to, call.reference, not_accepted).await?;
        tracing::debug!(
            to = %call.to.masked(),
            language = language_tag(call.language),
            reference = call.reference,
            provider_call_id,
            "call queued by the voice gateway"
        );
        Ok(PlacedCall { provider_call_id })
    }
}

/// How a call went, as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// A person picked up and the message played.
    Answered,
    /// An answering machine took the message.
    Voicemail,
    /// Nobody picked up.
    NoAnswer,
    /// The line was busy.
    Busy,
    /// The call could not be made; `error_code` says why.
    Failed,
}

impl CallOutcome {
    pub const ALL: [Self; 5] = [Self::Answered, Self::Voicemail, Self::NoAnswer, Self::Busy, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Voicemail => "voicemail",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Failed => "failed",
        }
    }

    /// Whether the message was heard, by a person or by an answering machine.
    pub fn reached(self) -> bool {
        matches!(self, Self::Answered | Self::Voicemail)
    }

    /// Whether one more call later may reach the participant: nobody picked up, or the line was
    /// busy. A failed call is judged by its error code ([`CallStatus::is_retryable`]).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::NoAnswer | Self::Busy)
    }
}

/// A call status as the gateway sends it (see the module documentation).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallStatusBody {
    /// The gateway's call id, as it answered when queueing the call.
    pub id: String,
    /// Our reference for the call, as we sent it.
    pub reference: String,
    pub status: CallOutcome,
    /// How long the call was connected; 0 when it was not.
    #[schema(minimum = 0, maximum = 86400)]
    pub duration_seconds: i64,
    /// Why the call failed, e.g. `invalid_number`.
    #[serde(default)]
    pub error_code: Option<String>,
    /// When the gateway learnt the outcome.
    pub at: DateTime<Utc>,
}

/// A checked call status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallStatus {
    pub provider_call_id: String,
    pub reference: String,
    pub outcome: CallOutcome,
    /// At most [`MAX_CALL_SECONDS`].
    pub duration_seconds: u32,
    pub error_code: Option<String>,
    pub at: DateTime<Utc>,
}

impl CallStatus {
    /// The minutes the gateway bills: every started minute (61 s is 2), none for a call that was
    /// not connected.
    pub fn billable_minutes(&self) -> u32 {
        self.duration_seconds.div_ceil(60)
    }

    /// The error code, when it says the number will never be reached.
    pub fn permanent_failure_code(&self) -> Option<&str> {
        match self.outcome {
            CallOutcome::Failed => {
                self.error_code.as_deref().filter(|code| PERMANENT_FAILURE_CODES.contains(code))
            }
            _ => None,
        }
    }

    /// Whether one more call later may reach the participant: after no answer or a busy line,
    /// and after a failure that does not say the number is dead.
    pub fn is_retryable(&self) -> bool {
        self.outcome.is_retryable()
            || (self.outcome == CallOutcome::Failed && self.permanent_failure_code().is_none())
    }
}

/// A body that is not a call status. The text points at the problem without repeating the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the body is not a call status: {detail}")]
pub struct InvalidCallStatus {
    pub detail: String,
}

/// Reads a call status's body (after its signature was verified).
pub fn parse_call_status(body: &[u8]) -> Result<CallStatus, InvalidCallStatus> {
    let invalid = |detail| InvalidCallStatus { detail };
    let wire: CallStatusBody = read_webhook(body).map_err(invalid)?;
    check_tokens(&wire.id, &wire.reference, wire.error_code.as_deref()).map_err(invalid)?;
    let duration_seconds = u32::try_from(wire.duration_seconds)
        .ok()
        .filter(|seconds| *seconds <= MAX_CALL_SECONDS)
        .ok_or_else(|| InvalidCallStatus {
            detail: format!("duration_seconds must be a whole number from 0 to {MAX_CALL_SECONDS}"),
        })?;
    Ok(CallStatus {
        provider_call_id: wire.id,
        reference: wire.reference,
        outcome: wire.status,
        duration_seconds,
        error_code: wire.error_code,
        at: wire.at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderAnswer;

    const WEBHOOK_SECRET: &str = "a-webhook-secret-of-at-least-32-chars";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    fn configured() -> Vec<(&'static str, &'static str)> {
        vec![
            ("BURGERNET_VOICE_GATEWAY_URL", "https://voice.example.com/api/"),
            ("BURGERNET_VOICE_GATEWAY_API_KEY", "key-123"),
            ("BURGERNET_VOICE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("BURGERNET_VOICE_CALLER_ID", "+31880000000"),
        ]
    }

    #[test]
    fn the_caller_id_is_required_with_the_url_and_a_mistake_without_it() {
        let error =
            VoiceGatewayConfig::from_env(&env(&[("BURGERNET_VOICE_CALLER_ID", "+31880000000")])).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_VOICE_GATEWAY_URL");
        assert!(error.to_string().contains("BURGERNET_VOICE_CALLER_ID"), "{error}");
        let mut pairs = configured();
        pairs.retain(|(name, _)| *name != "BURGERNET_VOICE_CALLER_ID");
        assert_eq!(
            VoiceGatewayConfig::from_env(&env(&pairs)).unwrap_err().variable,
            "BURGERNET_VOICE_CALLER_ID"
        );
    }

    #[test]
    fn reads_the_gateway_with_defaults() {
        let config = VoiceGatewayConfig::from_env(&env(&configured())).unwrap().unwrap();
        assert_eq!(config.base_url, "https://voice.example.com/api");
        assert_eq!(config.api_key.expose(), "key-123");
        assert_eq!(config.caller_id, "+31880000000");
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert_eq!(config.webhook_secrets().len(), 1);
        let printed = format!("{config:?}");
        assert!(!printed.contains("key-123") && !printed.contains(WEBHOOK_SECRET), "{printed}");
    }

    #[test]
    fn reads_the_timeout_and_a_previous_secret() {
        const NEXT: &str = "the-next-webhook-secret-of-32-chars-or-more";
        let mut pairs = configured();
        pairs.retain(|(name, _)| *name != "BURGERNET_VOICE_WEBHOOK_SECRET");
        pairs.extend([
            ("BURGERNET_VOICE_TIMEOUT", "2500ms"),
            ("BURGERNET_VOICE_WEBHOOK_SECRET", NEXT),
            ("BURGERNET_VOICE_WEBHOOK_PREVIOUS_SECRET", WEBHOOK_SECRET),
        ]);
        let config = VoiceGatewayConfig::from_env(&env(&pairs)).unwrap().unwrap();
        assert_eq!(config.timeout, Duration::from_millis(2500));
        let secrets: Vec<_> = config.webhook_secrets().iter().map(|s| s.expose().clone()).collect();
        assert_eq!(secrets, [NEXT, WEBHOOK_SECRET]);
    }

    #[test]
    fn a_caller_id_that_is_not_a_number_is_named() {
        for value in ["Burgernet", "0880000000", "+31 88 000 0000"] {
            let mut pairs = configured();
            pairs.retain(|(name, _)| *name != "BURGERNET_VOICE_CALLER_ID");
            pairs.push(("BURGERNET_VOICE_CALLER_ID", value));
            let error = VoiceGatewayConfig::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(error.variable, "BURGERNET_VOICE_CALLER_ID", "{value}");
        }
    }

    #[test]
    fn languages_are_read_in_their_own_voice() {
        assert_eq!(language_tag(Language::Dutch), "nl-NL");
        assert_eq!(language_tag(Language::English), "en-GB");
    }

    #[test]
    fn error_texts_name_the_voice_gateway_and_the_call() {
        let rejected = ProviderAnswer::coded(422, "invalid_language");
        for (error, text) in [
            (
                VoiceError::Unauthorized,
                "the voice gateway refused our API key; check BURGERNET_VOICE_GATEWAY_API_KEY",
            ),
            (
                VoiceError::Rejected { detail: "HTTP 422 (invalid_language)".into(), answer: rejected },
                "the voice gateway rejected the call: HTTP 422 (invalid_language)",
            ),
            (
                VoiceError::RateLimited { retry_after: Some(Duration::from_secs(7)) },
                "the voice gateway is rate limiting us (retry after 7s)",
            ),
            (
                VoiceError::Unavailable { detail: "HTTP 502".into(), answer: ProviderAnswer::status(502) },
                "the voice gateway is unavailable: HTTP 502",
            ),
        ] {
            assert_eq!(error.to_string(), text);
        }
    }

    const STATUS: &str = r#"{"id":"call-1","reference":"delivery-42","status":"answered","duration_seconds":47,"error_code":null,"at":"2026-12-07T03:12:09Z"}"#;

    #[test]
    fn parses_a_call_status() {
        assert_eq!(
            parse_call_status(STATUS.as_bytes()).unwrap(),
            CallStatus {
                provider_call_id: "call-1".into(),
                reference: "delivery-42".into(),
                outcome: CallOutcome::Answered,
                duration_seconds: 47,
                error_code: None,
                at: "2026-12-07T03:12:09Z".parse().unwrap(),
            }
        );
        let failed = parse_call_status(
            br#"{"id":"c","reference":"r","status":"failed","duration_seconds":0,"error_code":"invalid_number","at":"2026-12-07T04:12:09+01:00"}"#,
        )
        .unwrap();
        assert_eq!(
            (failed.outcome, failed.error_code.as_deref()),
            (CallOutcome::Failed, Some("invalid_number"))
        );
        assert_eq!(failed.at, "2026-12-07T03:12:09Z".parse::<DateTime<Utc>>().unwrap());
        for outcome in CallOutcome::ALL {
            let body = STATUS.replace("answered", outcome.as_str());
            assert_eq!(parse_call_status(body.as_bytes()).unwrap().outcome, outcome);
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.as_str());
        }
    }

    #[test]
    fn bodies_that_are_not_call_statuses_are_refused_without_being_echoed() {
        for body in [
            "not json +31612345678".to_string(),
            STATUS.replace("answered", "ringing"),
            STATUS.replace(r#""id":"call-1","#, ""),
            STATUS.replace(r#""id":"call-1""#, r#""id":"""#),
            STATUS.replace("delivery-42", "+31 6 12345678"),
            STATUS.replace("47", "-1"),
            STATUS.replace("47", "86401"),
            STATUS.replace("47", "47.5"),
            STATUS.replace(r#","duration_seconds":47"#, ""),
            STATUS.replace("2026-12-07T03:12:09Z", "yesterday"),
            STATUS.replace("null", r#""no such number +31612345678""#),
            STATUS.replace(r#""at""#, r#""to":"+31612345678","at""#),
        ] {
            let error = parse_call_status(body.as_bytes()).unwrap_err();
            let text = error.to_string();
            assert!(
                !text.contains("+31") && !text.contains("yesterday") && !text.contains("ringing"),
                "{text}"
            );
        }
        let longest = STATUS.replace("47", &MAX_CALL_SECONDS.to_string());
        assert_eq!(parse_call_status(longest.as_bytes()).unwrap().duration_seconds, MAX_CALL_SECONDS);
    }

    fn status(outcome: CallOutcome, duration_seconds: u32, error_code: Option<&str>) -> CallStatus {
        CallStatus {
            provider_call_id: "c".into(),
            reference: "r".into(),
            outcome,
            duration_seconds,
            error_code: error_code.map(str::to_string),
            at: "2026-12-07T03:12:09Z".parse().unwrap(),
        }
    }

    #[test]
    fn every_started_minute_is_billed() {
        for (seconds, minutes) in
            [(0, 0), (1, 1), (59, 1), (60, 1), (61, 2), (120, 2), (MAX_CALL_SECONDS, 1440)]
        {
            assert_eq!(
                status(CallOutcome::Answered, seconds, None).billable_minutes(),
                minutes,
                "{seconds}s"
            );
        }
    }

    #[test]
    fn what_reached_the_participant_and_what_is_worth_another_call() {
        use CallOutcome::*;
        let reached: Vec<_> = CallOutcome::ALL.into_iter().filter(|o| o.reached()).collect();
        assert_eq!(reached, [Answered, Voicemail]);
        let retryable: Vec<_> = CallOutcome::ALL.into_iter().filter(|o| o.is_retryable()).collect();
        assert_eq!(retryable, [NoAnswer, Busy]);

        assert!(status(NoAnswer, 0, None).is_retryable());
        assert!(!status(Answered, 30, None).is_retryable());
        let dead = status(Failed, 0, Some("invalid_number"));
        assert_eq!((dead.permanent_failure_code(), dead.is_retryable()), (Some("invalid_number"), false));
        let congested = status(Failed, 0, Some("network_congestion"));
        assert_eq!((congested.permanent_failure_code(), congested.is_retryable()), (None, true));
        assert_eq!(status(Busy, 0, Some("unknown_subscriber")).permanent_failure_code(), None);
    }
}
