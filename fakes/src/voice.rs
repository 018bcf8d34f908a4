//! `FakeVoiceGateway`: a real HTTP/1.1 server on 127.0.0.1 that speaks the voice gateway protocol
//! of `burgernet_core::providers::voice`, checks the API key like the provider does, "places" the
//! calls it accepts, posts signed call statuses, and can be told to fail or to answer slowly. It
//! is a [`FakeJsonGateway`], which describes what every fake gateway answers; this is what the
//! voice gateway adds.
//!
//! ```ignore
//! let gateway = FakeVoiceGateway::start().await;
//! // ... place calls through a client configured with gateway.base_url(), gateway.api_key() and
//! // gateway.caller_id() ...
//! assert_eq!(gateway.calls()[0].language, "nl-NL");
//!
//! gateway.faults().fail_next(2, Fault::ServerError);        // the next two calls get 503
//! gateway.faults().set_latency(Duration::from_secs(3));     // every answer takes 3 s from now on
//! gateway.reject_number("+31612345678");                    // 422 invalid_recipient for it
//! gateway.set_status_webhook(url, gateway.webhook_secret(), Duration::ZERO);
//! gateway.set_outcome("+31687654321", CallOutcomeFake::Busy); // its calls end busy
//! ```
//!
//! Its endpoint is `POST /v1/calls`, whose JSON object has the string fields `from`, `to`,
//! `language`, `text` (and optionally `reference`). Besides the checks of every fake gateway, it
//! answers `422 invalid_caller_id` when `from` is not E.164, `422 invalid_language` unless
//! `language` is `nl-NL` or `en-GB`, and `422 invalid_text` when `text` is empty or longer than
//! 5000 characters. Otherwise it answers `201 {"id": "call-..."}`: the call is recorded in
//! [`FakeVoiceGateway::calls`] and, when the status webhook is on, its status follows.
//!
//! Statuses ([`FakeVoiceGateway::set_status_webhook`]) report what
//! [`FakeVoiceGateway::set_outcome`] said for the number, else `answered`, connected as long as
//! reading the text takes ([`speaking_seconds`]). Each post and the status it was answered with
//! are kept in [`FakeVoiceGateway::statuses`].

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::json_gateway::{
    FakeJsonGateway, GatewayRequest, PostedWebhook, Protocol, Refusal, is_e164, webhook_time,
};

/// The fake voice gateway; stops when dropped.
pub type FakeVoiceGateway = FakeJsonGateway<VoiceProtocol>;

/// The longest text the gateway reads, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;

/// The caller id the tests configure; the gateway accepts any E.164 number.
const CALLER_ID: &str = "+31880000000";

/// How fast the fake's voice speaks, in characters a second.
const CHARS_PER_SECOND: usize = 12;

/// How long reading `text` aloud takes: 12 characters a second, at least one second.
pub fn speaking_seconds(text: &str) -> u32 {
    let seconds = text.chars().count().div_ceil(CHARS_PER_SECOND).max(1);
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

/// A call the gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedCall {
    /// The id the gateway answered with.
    pub id: String,
    pub from: String,
    pub to: String,
    /// `nl-NL` or `en-GB`.
    pub language: String,
    pub text: String,
    pub reference: Option<String>,
}

/// How the fake's calls to a number end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcomeFake {
    /// A person picked up and listened for `duration_seconds`.
    Answered {
        duration_seconds: u32,
    },
    /// An answering machine took the message.
    Voicemail {
        duration_seconds: u32,
    },
    NoAnswer,
    Busy,
    /// The network could not place the call, e.g. `invalid_number` or `unknown_subscriber`.
    Failed {
        error_code: String,
    },
}

impl CallOutcomeFake {
    /// `status`, `duration_seconds` and `error_code` of the status body.
    fn reported(&self) -> (&'static str, u32, Option<&str>) {
        match self {
            Self::Answered { duration_seconds } => ("answered", *duration_seconds, None),
            Self::Voicemail { duration_seconds } => ("voicemail", *duration_seconds, None),
            Self::NoAnswer => ("no_answer", 0, None),
            Self::Busy => ("busy", 0, None),
            Self::Failed { error_code } => ("failed", 0, Some(error_code)),
        }
    }
}

/// A call status the gateway posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedStatus {
    /// The call's id, as the gateway answered when accepting it.
    pub call_id: String,
    /// `answered`, `voicemail`, `no_answer`, `busy` or `failed`.
    pub status: String,
    pub duration_seconds: u32,
    pub error_code: Option<String>,
    /// The JSON body exactly as posted.
    pub body: String,
    /// The HTTP status the receiver answered with; `None` when it did not answer in time.
    pub answer: Option<u16>,
}

impl From<PostedWebhook> for PostedStatus {
    fn from(posted: PostedWebhook) -> Self {
        let duration_seconds = posted.json["duration_seconds"].as_u64().and_then(|s| u32::try_from(s).ok());
        Self {
            status: posted.text("status").unwrap_or_default(),
            duration_seconds: duration_seconds.unwrap_or_default(),
            error_code: posted.text("error_code"),
            call_id: posted.request_id,
            body: posted.body,
            answer: posted.answer,
        }
    }
}

/// The voice gateway's part of [`FakeVoiceGateway`]: its protocol, and how calls to each number
/// end.
#[derive(Debug, Default)]
pub struct VoiceProtocol {
    outcomes: HashMap<String, CallOutcomeFake>,
}

impl Protocol for VoiceProtocol {
    const NAME: &'static str = "voice";
    const PATH: &'static str = "/v1/calls";
    const FIELDS: &'static [&'static str] = &["language", "text"];
    const ID_PREFIX: &'static str = "call";
    const UNAVAILABLE: &'static str = "Temporarily unable to place calls, try again later";
    const REJECTED_NUMBER: &'static str = "{to} cannot be called";
    const NOT_E164: &'static str = "{to} is not an E.164 number";

    type Accepted = ReceivedCall;
    type Posted = PostedStatus;

    fn check(request: &GatewayRequest) -> Result<(), Refusal> {
        if !is_e164(&request.from) {
            return Err(Refusal::new("invalid_caller_id", "The caller id must be an E.164 number"));
        }
        if !matches!(request.field("language"), "nl-NL" | "en-GB") {
            return Err(Refusal::new("invalid_language", "The language must be nl-NL or en-GB"));
        }
        if !(1..=MAX_TEXT_CHARS).contains(&request.field("text").chars().count()) {
            let message = format!("The text must have 1 to {MAX_TEXT_CHARS} characters");
            return Err(Refusal::new("invalid_text", message));
        }
        Ok(())
    }

    fn accept(&self, id: &str, request: GatewayRequest) -> (ReceivedCall, serde_json::Value) {
        let (language, text) = (request.field("language").to_string(), request.field("text").to_string());
        let outcome = self
            .outcomes
            .get(&request.to)
            .cloned()
            .unwrap_or(CallOutcomeFake::Answered { duration_seconds: speaking_seconds(&text) });
        let (status, duration_seconds, error_code) = outcome.reported();
        let webhook = json!({
            "id": id,
            "reference": request.reference,
            "status": status,
            "duration_seconds": duration_seconds,
            "error_code": error_code,
            "at": webhook_time(),
        });
        let GatewayRequest { from, to, reference, .. } = request;
        (ReceivedCall { id: id.to_string(), from, to, language, text, reference }, webhook)
    }
}

impl FakeVoiceGateway {
    /// A caller id for the clients of this gateway, `+31880000000` (any E.164 number is accepted).
    pub fn caller_id(&self) -> &str {
        CALLER_ID
    }

    /// From now on, calls to `number` (E.164) are accepted and end in `outcome` (reported when the
    /// status webhook is on).
    pub fn set_outcome(&self, number: impl Into<String>, outcome: CallOutcomeFake) {
        self.update(|voice| {
            voice.outcomes.insert(number.into(), outcome);
        });
    }

    /// From now on, a status for every accepted call is posted to `url` (`http://...`), signed
    /// with `secret`, `delay` after the call was accepted.
    pub fn set_status_webhook(&self, url: &str, secret: impl Into<String>, delay: Duration) {
        self.set_webhook(url, secret.into(), delay, "statuses");
    }

    /// The calls accepted so far, oldest first.
    pub fn calls(&self) -> Vec<ReceivedCall> {
        self.accepted()
    }

    /// The statuses posted so far and the answers to them, in the order they were answered.
    pub fn statuses(&self) -> Vec<PostedStatus> {
        self.posted()
    }

    /// Waits until at least `count` calls were accepted (at most 10 s, then the test fails) and
    /// returns them all.
    pub async fn wait_for_calls(&self, count: usize) -> Vec<ReceivedCall> {
        self.wait_for_accepted(count, "calls").await
    }

    /// Waits until at least `count` statuses were posted and answered (at most 10 s, then the test
    /// fails) and returns them all.
    pub async fn wait_for_statuses(&self, count: usize) -> Vec<PostedStatus> {
        self.wait_for_posted(count, "statuses").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speaking_takes_a_second_per_twelve_characters_and_at_least_one() {
        assert_eq!(speaking_seconds(""), 1);
        assert_eq!(speaking_seconds(&"a".repeat(12)), 1);
        assert_eq!(speaking_seconds(&"a".repeat(13)), 2);
        assert_eq!(speaking_seconds(&"é".repeat(120)), 10);
    }
}
