//! One hand-over: one message to one provider for one recipient, and what came of it. The
//! provider's answer is classified by its own rules (see `providers::push`): a dead token ends
//! the device, a passing failure is retried, anything else is final. A provider that asks to be
//! left alone is paused ([`throttle`](super::throttle)). The lane has already waited for the
//! provider's rate and for a place in its window.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::DeliveryContext;
use super::plan::DeviceTarget;
use super::render::Rendered;
use super::throttle;
use crate::alerts::answers;
use crate::ids::{AlertMessageId, ParticipantId};
use crate::metrics::ErrorSource;
use crate::providers::email::{EmailError, EmailMessage};
use crate::providers::push::{PushError, PushNotification};
use crate::providers::sms::{SmsError, SmsMessage};
use crate::providers::voice::{VoiceCall, VoiceError};
use crate::vocabulary::Language;
use crate::vocabulary::alerts::MessageKind;
use crate::vocabulary::devices::Platform;
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;

/// The token of a device the provider declared dead, with when it learned so (APNs gives the
/// moment; a device registered again after it is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadToken {
    pub since: Option<DateTime<Utc>>,
}

/// How one hand-over ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandOver {
    /// The provider accepted it.
    Sent { provider_message_id: Option<String> },
    /// Refused for good; a dead token also ends the device.
    Failed { code: String, dead_token: Option<DeadToken> },
    /// A passing failure: try again, after `after` when the provider said.
    Retry { code: String, after: Option<Duration> },
}

/// What a message says, to whom it belongs: the parts of a push that are the same for every
/// recipient of a message.
pub struct MessageRef<'a> {
    pub alert_id: &'a str,
    pub message_id: &'a str,
    pub kind: MessageKind,
    /// Pushes break through focus modes (not the closing message, which is news, not urgent).
    pub urgent: bool,
    /// The one-tap answers the push offers as actions, comma-separated (empty: none).
    pub answers: &'a str,
    pub rendered: &'a Rendered,
}

/// Hands a push to APNs (iOS) or FCM (Android).
pub async fn push(
    ctx: &DeliveryContext,
    message: &MessageRef<'_>,
    device: &DeviceTarget,
    expires_at: DateTime<Utc>,
) -> HandOver {
    let gate = match device.platform {
        Platform::Ios => &ctx.lanes.apns,
        Platform::Android => &ctx.lanes.fcm,
    };
    let alert_id = message.alert_id.to_string();
    let message_id = message.message_id.to_string();
    let mut data = vec![
        ("alert_id", alert_id.as_str()),
        ("message_id", message_id.as_str()),
        ("kind", message.kind.as_str()),
    ];
    if !message.answers.is_empty() {
        data.push(("answers", message.answers));
    }
    let notification = PushNotification {
        token: &device.token,
        title: &message.rendered.push_title,
        body: &message.rendered.push_body,
        urgent: message.urgent && message.kind != MessageKind::Closing,
        collapse_id: message.alert_id,
        expires_at,
        data: &data,
        category: (!message.answers.is_empty()).then_some(answers::PUSH_CATEGORY),
    };
    match ctx.push.send(device.platform, device.apns_environment, &notification).await {
        Ok(accepted) => HandOver::Sent { provider_message_id: accepted.provider_message_id },
        Err(error) => {
            ctx.metrics
                .provider_errors
                .count(ErrorSource::push_provider(device.platform), &error.provider_code());
            let pause = throttle::push_pause(&error);
            if let Some(pause) = pause {
                gate.pause(pause);
            }
            waiting_at_least(classify_push(error), pause)
        }
    }
}

/// Hands an SMS to the gateway. `reference` ties the gateway's receipts to the delivery.
pub async fn sms(
    ctx: &DeliveryContext,
    phone: Option<&PhoneNumber>,
    body: &str,
    reference: &str,
) -> HandOver {
    let Some(phone) = phone else {
        return HandOver::Failed { code: "no_phone_number".into(), dead_token: None };
    };
    match ctx.sms.send(&SmsMessage { to: phone, body, reference }).await {
        Ok(sent) => HandOver::Sent { provider_message_id: Some(sent.provider_message_id) },
        Err(error) => {
            ctx.metrics.provider_errors.count(ErrorSource::Sms, &error.provider_code());
            let pause = throttle::sms_pause(&error);
            if let Some(pause) = pause {
                ctx.lanes.sms_gateway.pause(pause);
            }
            waiting_at_least(classify_sms(&error), pause)
        }
    }
}

/// The reference an SMS or call of `message` to `participant` carries, which the gateway echoes
/// in its receipts and statuses.
pub fn reference(message: AlertMessageId, participant: ParticipantId) -> String {
    format!("{message}:{participant}")
}

/// The message a [`reference`] names, if it is one.
pub fn message_of_reference(reference: &str) -> Option<AlertMessageId> {
    let (message, _) = reference.split_once(':')?;
    message.parse::<uuid::Uuid>().ok().map(AlertMessageId)
}

/// One call to place, to whom and what it reads.
pub struct Call<'a> {
    pub phone: Option<&'a PhoneNumber>,
    pub language: Language,
    pub script: &'a str,
    /// Ties the gateway's call statuses to the delivery.
    pub reference: &'a str,
}

/// Asks the voice gateway to place a call. `Sent` means queued: the call's status, later, says
/// whether anyone heard it (`alerts::call_statuses`).
pub async fn voice(ctx: &DeliveryContext, call: Call<'_>) -> HandOver {
    let Some(phone) = call.phone else {
        return HandOver::Failed { code: "no_phone_number".into(), dead_token: None };
    };
    let placing =
        VoiceCall { to: phone, language: call.language, text: call.script, reference: call.reference };
    match ctx.voice.place(&placing).await {
        Ok(placed) => HandOver::Sent { provider_message_id: Some(placed.provider_call_id) },
        Err(error) => {
            ctx.metrics.provider_errors.count(ErrorSource::Voice, &error.provider_code());
            // As for SMS: how long the gateway asked to be left alone.
            let pause = error.retry_after();
            if let Some(pause) = pause {
                ctx.lanes.voice_gateway.pause(pause);
            }
            waiting_at_least(classify_voice(&error), pause)
        }
    }
}

/// Hands an e-mail to the mail server.
pub async fn email(ctx: &DeliveryContext, address: Option<&EmailAddress>, rendered: &Rendered) -> HandOver {
    let Some(address) = address else {
        return HandOver::Failed { code: "no_verified_email".into(), dead_token: None };
    };
    let message = EmailMessage {
        to: address.clone(),
        subject: rendered.email_subject.clone(),
        text_body: rendered.email_body.clone(),
        unsubscribe_url: None,
    };
    match ctx.email.send(&message).await {
        Ok(sent) => HandOver::Sent { provider_message_id: Some(sent.message_id) },
        Err(error) => {
            ctx.metrics.provider_errors.count(ErrorSource::Smtp, &error.provider_code());
            classify_email(&error)
        }
    }
}

/// A retry waits at least as long as the provider is paused for.
fn waiting_at_least(outcome: HandOver, pause: Option<Duration>) -> HandOver {
    match outcome {
        HandOver::Retry { code, after } => HandOver::Retry { code, after: after.max(pause) },
        outcome => outcome,
    }
}

/// A push the provider did not accept: a dead token (remove the device), worth retrying, or not.
pub fn classify_push(error: PushError) -> HandOver {
    let code = error.code().to_string();
    match error {
        PushError::Unregistered { since, .. } => {
            HandOver::Failed { code, dead_token: Some(DeadToken { since }) }
        }
        error if error.is_retryable() => HandOver::Retry { code, after: error.retry_after() },
        _ => HandOver::Failed { code, dead_token: None },
    }
}

/// An SMS the gateway did not take, or a call the voice gateway did not queue. Our key being
/// refused is an operator problem that a fix can end: retried.
fn classify_gateway(code: &str, worth_retrying: bool, retry_after: Option<Duration>) -> HandOver {
    if worth_retrying {
        HandOver::Retry { code: code.into(), after: retry_after }
    } else {
        HandOver::Failed { code: code.into(), dead_token: None }
    }
}

pub fn classify_sms(error: &SmsError) -> HandOver {
    classify_gateway(error.outcome_code(), error.worth_retrying(), error.retry_after())
}

pub fn classify_voice(error: &VoiceError) -> HandOver {
    classify_gateway(error.outcome_code(), error.worth_retrying(), error.retry_after())
}

/// An e-mail the server did not take.
pub fn classify_email(error: &EmailError) -> HandOver {
    if error.is_retryable() {
        HandOver::Retry { code: "unavailable".into(), after: None }
    } else if matches!(error, EmailError::Unauthorized) {
        HandOver::Failed { code: "unauthorized".into(), dead_token: None }
    } else {
        HandOver::Failed { code: "rejected".into(), dead_token: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderAnswer;

    #[test]
    fn a_dead_token_fails_for_good_and_ends_the_device() {
        let since = DateTime::from_timestamp(1_800_000_000, 0);
        let outcome = classify_push(PushError::Unregistered {
            reason: "Unregistered".into(),
            since,
            answer: Some(ProviderAnswer::coded(410, "Unregistered")),
        });
        assert_eq!(
            outcome,
            HandOver::Failed { code: "Unregistered".into(), dead_token: Some(DeadToken { since }) }
        );
    }

    #[test]
    fn passing_push_failures_are_retried_after_what_the_provider_asked() {
        let outcome = classify_push(PushError::RateLimited {
            reason: "QUOTA_EXCEEDED".into(),
            retry_after: Some(Duration::from_secs(70)),
            answer: ProviderAnswer::coded(429, "QUOTA_EXCEEDED"),
        });
        assert_eq!(
            outcome,
            HandOver::Retry { code: "QUOTA_EXCEEDED".into(), after: Some(Duration::from_secs(70)) }
        );
        let outcome = classify_push(PushError::Unavailable {
            detail: "HTTP 503".into(),
            retry_after: None,
            answer: ProviderAnswer::status(503),
        });
        assert_eq!(outcome, HandOver::Retry { code: "unavailable".into(), after: None });
        let outcome = classify_push(PushError::Unauthorized {
            detail: "HTTP 403".into(),
            answer: Some(ProviderAnswer::status(403)),
        });
        assert_eq!(outcome, HandOver::Retry { code: "unauthorized".into(), after: None });
    }

    #[test]
    fn other_push_refusals_are_final() {
        let outcome = classify_push(PushError::Rejected {
            status: 400,
            reason: "PayloadTooLarge".into(),
            answer: None,
        });
        assert_eq!(outcome, HandOver::Failed { code: "PayloadTooLarge".into(), dead_token: None });
    }

    #[test]
    fn a_reference_names_the_message() {
        let message = AlertMessageId(uuid::Uuid::from_u128(7));
        let participant = ParticipantId(uuid::Uuid::from_u128(9));
        assert_eq!(message_of_reference(&reference(message, participant)), Some(message));
        assert_eq!(message_of_reference("mm-1-2"), None);
        assert_eq!(message_of_reference("not-a-uuid:x"), None);
    }

    #[test]
    fn sms_refusals() {
        assert_eq!(
            classify_sms(&SmsError::RateLimited { retry_after: Some(Duration::from_secs(2)) }),
            HandOver::Retry { code: "rate_limited".into(), after: Some(Duration::from_secs(2)) }
        );
        assert_eq!(
            classify_sms(&SmsError::Unauthorized),
            HandOver::Retry { code: "unauthorized".into(), after: None }
        );
        assert!(matches!(
            classify_sms(&SmsError::Rejected {
                detail: "HTTP 422 (invalid_recipient)".into(),
                answer: ProviderAnswer::coded(422, "invalid_recipient"),
            }),
            HandOver::Failed { .. }
        ));
    }
}
