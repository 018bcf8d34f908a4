//! `FakeSmsGateway`: a real HTTP/1.1 server on 127.0.0.1 that speaks the SMS gateway protocol of
//! `burgernet_core::providers::sms`, checks the API key like the provider does, sends signed
//! delivery receipts, and can be told to fail or to answer slowly. It is a
//! [`FakeJsonGateway`], which describes what every fake gateway answers; this is what the SMS
//! gateway adds.
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
//! Its endpoint is `POST /v1/messages`, whose JSON object has the string fields `from`, `to`,
//! `body` (and optionally `reference`). Besides the checks of every fake gateway, it answers
//! `422 invalid_sender` when `from` is not a sender id (1 to 11 letters, digits and spaces, or
//! E.164) and `422 invalid_body` when `body` is empty or longer than 1600 characters. Otherwise
//! it answers `201 {"id": "msg-..."}`: the message is recorded in [`FakeSmsGateway::sent`] and,
//! when receipts are on, a receipt follows.
//!
//! Receipts ([`FakeSmsGateway::set_receipts`]) say `delivered`, or for numbers given to
//! [`FakeSmsGateway::mark_undeliverable`] `failed` with `error_code: "unknown_subscriber"` (real
//! gateways accept a message for a dead number and report the failure later). Each post and the
//! status it was answered with are kept in [`FakeSmsGateway::receipts`].

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::json_gateway::{
    FakeJsonGateway, GatewayRequest, PostedWebhook, Protocol, Refusal, is_e164, webhook_time,
};

/// The fake SMS gateway; stops when dropped.
pub type FakeSmsGateway = FakeJsonGateway<SmsProtocol>;

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

impl From<PostedWebhook> for PostedReceipt {
    fn from(posted: PostedWebhook) -> Self {
        let (status, error_code) = (posted.text("status").unwrap_or_default(), posted.text("error_code"));
        Self { message_id: posted.request_id, status, error_code, body: posted.body, answer: posted.answer }
    }
}

/// The SMS gateway's part of [`FakeSmsGateway`]: its protocol, and the numbers whose messages
/// fail.
#[derive(Debug, Default)]
pub struct SmsProtocol {
    undeliverable_numbers: HashSet<String>,
}

impl Protocol for SmsProtocol {
    const NAME: &'static str = "SMS";
    const PATH: &'static str = "/v1/messages";
    const FIELDS: &'static [&'static str] = &["body"];
    const ID_PREFIX: &'static str = "msg";
    const UNAVAILABLE: &'static str = "Temporarily unable to accept messages, try again later";
    const REJECTED_NUMBER: &'static str = "Recipient {to} cannot receive SMS";
    const NOT_E164: &'static str = "Recipient {to} is not an E.164 number";

    type Accepted = ReceivedSms;
    type Posted = PostedReceipt;

    fn check(request: &GatewayRequest) -> Result<(), Refusal> {
        if !is_sender_id(&request.from) {
            return Err(Refusal::new("invalid_sender", "Invalid sender id"));
        }
        let length = request.field("body").chars().count();
        if length == 0 || length > 1600 {
            return Err(Refusal::new("invalid_body", "The body must have 1 to 1600 characters"));
        }
        Ok(())
    }

    fn accept(&self, id: &str, request: GatewayRequest) -> (ReceivedSms, serde_json::Value) {
        let failure = self.undeliverable_numbers.contains(&request.to).then_some("unknown_subscriber");
        let receipt = json!({
            "id": id,
            "reference": request.reference,
            "status": if failure.is_some() { "failed" } else { "delivered" },
            "error_code": failure,
            "at": webhook_time(),
        });
        let body = request.field("body").to_string();
        let GatewayRequest { from, to, reference, .. } = request;
        (ReceivedSms { id: id.to_string(), from, to, body, reference }, receipt)
    }
}

impl FakeSmsGateway {
    /// From now on, messages to `number` (E.164) are accepted and then reported `failed` with
    /// `unknown_subscriber` (when receipts are on).
    pub fn mark_undeliverable(&self, number: impl Into<String>) {
        self.update(|sms| {
            sms.undeliverable_numbers.insert(number.into());
        });
    }

    /// From now on, a receipt for every accepted message is posted to `url` (`http://...`),
    /// signed with `secret`, `delay` after the message was accepted.
    pub fn set_receipts(&self, url: &str, secret: impl Into<String>, delay: Duration) {
        self.set_webhook(url, secret.into(), delay, "receipts");
    }

    /// The messages accepted so far, oldest first.
    pub fn sent(&self) -> Vec<ReceivedSms> {
        self.accepted()
    }

    /// The receipts posted so far and the answers to them, in the order they were answered.
    pub fn receipts(&self) -> Vec<PostedReceipt> {
        self.posted()
    }

    /// Waits until at least `count` messages were accepted (at most 10 s, then the test fails) and
    /// returns them all.
    pub async fn wait_for_sent(&self, count: usize) -> Vec<ReceivedSms> {
        self.wait_for_accepted(count, "messages").await
    }

    /// Waits until at least `count` receipts were posted and answered (at most 10 s, then the test
    /// fails) and returns them all.
    pub async fn wait_for_receipts(&self, count: usize) -> Vec<PostedReceipt> {
        self.wait_for_posted(count, "receipts").await
    }
}

/// A sender id: 1 to 11 ASCII letters, digits and spaces with at least one letter, or E.164.
fn is_sender_id(from: &str) -> bool {
    is_e164(from)
        || ((1..=11).contains(&from.chars().count())
            && from.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ')
            && from.chars().any(|c| c.is_ascii_alphabetic()))
}
