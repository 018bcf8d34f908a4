//! The voice gateway client against a fake gateway that speaks its protocol over real sockets: what
//! reaches the gateway when we place a call, how each of its refusals comes back to us, and the
//! signed call statuses it posts afterwards.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use burgernet_core::outbox::{LocalOutbox, OutboxChannel};
use burgernet_core::providers::ProviderAnswer;
use burgernet_core::providers::voice::{
    CallOutcome, CallStatus, HttpVoiceGateway, VoiceCall, VoiceError, VoiceGatewayConfig, VoiceSender,
    parse_call_status,
};
use burgernet_core::providers::voice_script::call_script;
use burgernet_core::providers::webhook_signature::{SignatureError, verify};
use burgernet_core::secret::Secret;
use burgernet_core::vocabulary::Language;
use burgernet_core::vocabulary::phone::PhoneNumber;
use burgernet_fakes::faults::Fault;
use burgernet_fakes::voice::speaking_seconds;
use chrono::Utc;

use crate::helpers::voice::{
    CallOutcomeFake, FakeVoiceGateway, ReceivedCall, VoiceGatewayExt, WebhookReceiver,
};

const NUMBER: &str = "+31612345678";
const ALERT: &str = "Vermist: Sanne, 8 jaar, blauwe jas, gezien bij de Vijverhofstraat.";
const CALL_BACK: &str = "0800-0011";
const REFERENCE: &str = "delivery-0001";
const STATUS_PATH: &str = "/v1/voice/status";

fn number(number: &str) -> PhoneNumber {
    PhoneNumber::parse(number).unwrap()
}

fn script(language: Language) -> String {
    call_script(language, ALERT, CALL_BACK)
}

fn call<'a>(to: &'a PhoneNumber, text: &'a str) -> VoiceCall<'a> {
    VoiceCall { to, language: Language::Dutch, text, reference: REFERENCE }
}

fn voice_sender(gateway: &FakeVoiceGateway, adjust: impl FnOnce(&mut VoiceGatewayConfig)) -> VoiceSender {
    let mut config = gateway.voice_gateway_config();
    adjust(&mut config);
    VoiceSender::Gateway(HttpVoiceGateway::new(config).unwrap())
}

/// Error texts end up in logs and in the job table: no number, nothing of the alert.
fn assert_discreet_voice_error(error: &VoiceError) {
    let text = format!("{error} {error:?}");
    for secret in [NUMBER, "0612345678", "612345678", ALERT, "Sanne", "Vijverhofstraat", "oproep"] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

#[tokio::test]
async fn a_call_reaches_the_gateway_with_our_caller_id_language_script_and_reference_and_returns_its_id() {
    let gateway = FakeVoiceGateway::start().await;
    let to = number(NUMBER);
    let text = script(Language::Dutch);

    let placed = gateway.voice_sender().place(&call(&to, &text)).await.unwrap();

    assert_eq!(
        gateway.calls(),
        [ReceivedCall {
            id: placed.provider_call_id.clone(),
            from: "+31880000000".into(),
            to: NUMBER.into(),
            language: "nl-NL".into(),
            text: text.clone(),
            reference: Some(REFERENCE.into()),
        }]
    );
    assert!(text.starts_with("Dit is een oproep van Burgernet. Vermist: Sanne"), "{text}");
    assert!(!placed.provider_call_id.is_empty());
}

#[tokio::test]
async fn english_participants_are_called_in_english() {
    let gateway = FakeVoiceGateway::start().await;
    let to = number(NUMBER);
    let text = script(Language::English);
    let english = VoiceCall { language: Language::English, ..call(&to, &text) };

    gateway.voice_sender().place(&english).await.unwrap();

    let received = gateway.calls();
    assert_eq!(received[0].language, "en-GB");
    assert!(received[0].text.starts_with("This is a call from Burgernet."), "{}", received[0].text);
}

#[tokio::test]
async fn calls_placed_one_after_another_get_their_own_ids() {
    let gateway = FakeVoiceGateway::start().await;
    let sender = gateway.voice_sender();
    let to = number(NUMBER);
    let mut ids = Vec::new();
    for reference in ["a", "b", "c"] {
        let placed = sender.place(&VoiceCall { reference, ..call(&to, "Test") }).await.unwrap();
        ids.push(placed.provider_call_id);
    }
    let received = gateway.wait_for_calls(3).await;
    assert_eq!(received.iter().map(|call| call.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(
        received.iter().map(|call| call.reference.as_deref().unwrap()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
}

#[tokio::test]
async fn a_wrong_api_key_is_unauthorized_and_not_worth_retrying() {
    let gateway = FakeVoiceGateway::start().await;
    let sender = voice_sender(&gateway, |config| config.api_key = Secret::new("not-the-key".into()));
    let to = number(NUMBER);

    let error = sender.place(&call(&to, ALERT)).await.unwrap_err();

    assert_eq!(error, VoiceError::Unauthorized);
    assert!(!error.is_retryable());
    assert_eq!(error.provider_code(), "unauthorized");
    assert_eq!((gateway.requests(), gateway.calls().len()), (1, 0));
}

#[tokio::test]
async fn each_failure_of_the_gateway_comes_back_as_worth_retrying() {
    let gateway = FakeVoiceGateway::start().await;
    let sender = gateway.voice_sender();
    let to = number(NUMBER);

    gateway.faults().fail_next(1, Fault::ServerError);
    let unavailable = sender.place(&call(&to, ALERT)).await.unwrap_err();
    assert_eq!(
        unavailable,
        VoiceError::Unavailable {
            detail: "HTTP 503 (service_unavailable)".into(),
            answer: ProviderAnswer::coded(503, "service_unavailable"),
        }
    );
    assert_eq!(unavailable.provider_code(), "service_unavailable");

    gateway.faults().fail_next(1, Fault::RateLimited { retry_after_seconds: 17 });
    let limited = sender.place(&call(&to, ALERT)).await.unwrap_err();
    assert_eq!(limited, VoiceError::RateLimited { retry_after: Some(Duration::from_secs(17)) });
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(17)));

    gateway.faults().fail_next(1, Fault::DropConnection);
    let dropped = sender.place(&call(&to, ALERT)).await.unwrap_err();
    let VoiceError::Unavailable { detail, answer: ProviderAnswer::Connect } = &dropped else {
        panic!("{dropped:?}")
    };
    assert!(detail.starts_with("the request failed"), "{detail}");

    for error in [&unavailable, &limited, &dropped] {
        assert!(error.is_retryable(), "{error}");
    }
    assert!(gateway.calls().is_empty());
    sender.place(&call(&to, ALERT)).await.expect("the retry goes through");
    assert_eq!((gateway.requests(), gateway.calls().len()), (4, 1));
}

#[tokio::test]
async fn a_number_the_gateway_cannot_call_is_rejected_for_good() {
    let gateway = FakeVoiceGateway::start().await;
    gateway.reject_number(NUMBER);
    let to = number(NUMBER);

    let error = gateway.voice_sender().place(&call(&to, ALERT)).await.unwrap_err();

    assert_eq!(
        error,
        VoiceError::Rejected {
            detail: "HTTP 422 (invalid_recipient)".into(),
            answer: ProviderAnswer::coded(422, "invalid_recipient"),
        }
    );
    assert!(!error.is_retryable());
    assert_eq!(error.retry_after(), None);
    assert!(gateway.calls().is_empty());
}

#[tokio::test]
async fn a_caller_id_or_text_the_gateway_will_not_take_is_rejected_for_good() {
    let gateway = FakeVoiceGateway::start().await;
    let to = number(NUMBER);
    let rejected = |code: &str| VoiceError::Rejected {
        detail: format!("HTTP 422 ({code})"),
        answer: ProviderAnswer::coded(422, code),
    };

    let named = voice_sender(&gateway, |config| config.caller_id = "Burgernet".into());
    assert_eq!(named.place(&call(&to, ALERT)).await.unwrap_err(), rejected("invalid_caller_id"));
    let sender = gateway.voice_sender();
    let too_long = "x".repeat(5001);
    for text in ["", too_long.as_str()] {
        assert_eq!(sender.place(&call(&to, text)).await.unwrap_err(), rejected("invalid_text"));
    }
    assert!(gateway.calls().is_empty());
}

#[tokio::test]
async fn a_gateway_slower_than_the_timeout_is_unavailable() {
    let gateway = FakeVoiceGateway::start().await;
    gateway.faults().set_latency(Duration::from_secs(3));
    let sender = voice_sender(&gateway, |config| config.timeout = Duration::from_millis(300));
    let to = number(NUMBER);

    let started = Instant::now();
    let error = sender.place(&call(&to, ALERT)).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
    assert_eq!(
        error,
        VoiceError::Unavailable {
            detail: "no response within 300ms".into(),
            answer: ProviderAnswer::Timeout
        }
    );
    assert!(error.is_retryable());
    assert_eq!(error.provider_code(), "timeout");
}

#[tokio::test]
async fn an_unreachable_gateway_is_unavailable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let gateway = FakeVoiceGateway::start().await;
    let sender = voice_sender(&gateway, |config| config.base_url = format!("http://127.0.0.1:{port}"));
    let to = number(NUMBER);

    let error = sender.place(&call(&to, ALERT)).await.unwrap_err();

    let VoiceError::Unavailable { detail, answer: ProviderAnswer::Connect } = &error else {
        panic!("{error:?}")
    };
    assert!(detail.starts_with("could not connect"), "{detail}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn voice_error_texts_never_contain_the_number_or_the_script() {
    let gateway = FakeVoiceGateway::start().await;
    let to = number(NUMBER);
    let text = script(Language::Dutch);
    let mut errors = Vec::new();
    for fault in [Fault::ServerError, Fault::RateLimited { retry_after_seconds: 1 }, Fault::DropConnection] {
        gateway.faults().fail_next(1, fault);
        errors.push(gateway.voice_sender().place(&call(&to, &text)).await.unwrap_err());
    }
    let wrong_key = voice_sender(&gateway, |config| config.api_key = Secret::new("wrong".into()));
    errors.push(wrong_key.place(&call(&to, &text)).await.unwrap_err());
    gateway.reject_number(NUMBER);
    errors.push(gateway.voice_sender().place(&call(&to, &text)).await.unwrap_err());
    gateway.faults().set_latency(Duration::from_secs(2));
    let impatient = voice_sender(&gateway, |config| config.timeout = Duration::from_millis(100));
    errors.push(impatient.place(&call(&to, &text)).await.unwrap_err());

    assert_eq!(errors.len(), 6);
    for error in &errors {
        assert_discreet_voice_error(error);
    }
}

#[tokio::test]
async fn the_local_stand_in_puts_the_call_in_the_outbox() {
    let outbox = LocalOutbox::new();
    let to = number(NUMBER);
    let text = script(Language::English);

    let placed = VoiceSender::Local(outbox.clone())
        .place(&VoiceCall { language: Language::English, ..call(&to, &text) })
        .await
        .unwrap();

    let stored = outbox.newest_first(10);
    assert_eq!(stored.len(), 1);
    assert_eq!(placed.provider_call_id, format!("local-{}", stored[0].id));
    assert_eq!(stored[0].channel, OutboxChannel::Voice);
    assert_eq!((stored[0].recipient.as_str(), stored[0].body.as_str()), (NUMBER, text.as_str()));
    assert_eq!(stored[0].metadata["language"], "en-GB");
    assert_eq!(stored[0].metadata["reference"], REFERENCE);
}

/// Places a call to each number (its reference is the number) and returns the statuses the
/// gateway posted to `receiver`, checked as the API will check them, by the number they are about.
async fn statuses_of_calls_to(
    gateway: &FakeVoiceGateway,
    receiver: &WebhookReceiver,
    numbers: &[&str],
) -> HashMap<String, CallStatus> {
    let sender = gateway.voice_sender();
    let text = script(Language::Dutch);
    let mut placed = HashMap::new();
    for to in numbers {
        let number = number(to);
        let call = VoiceCall { reference: to, ..call(&number, &text) };
        placed.insert(sender.place(&call).await.unwrap().provider_call_id, to.to_string());
    }
    let posted = gateway.wait_for_statuses(numbers.len()).await;
    assert!(posted.iter().all(|status| status.answer == Some(204)), "{posted:?}");
    let secrets = gateway.voice_gateway_config().webhook_secrets();
    receiver
        .received()
        .into_iter()
        .map(|webhook| {
            assert_eq!(webhook.path, STATUS_PATH);
            let signed = verify(
                &secrets,
                webhook.timestamp.as_deref(),
                webhook.signature.as_deref(),
                &webhook.body,
                Utc::now(),
            );
            assert_eq!(signed, Ok(()));
            let status = parse_call_status(&webhook.body).unwrap();
            assert_eq!(placed[&status.provider_call_id], status.reference);
            (status.reference.clone(), status)
        })
        .collect()
}

#[tokio::test]
async fn signed_call_statuses_say_what_became_of_each_call() {
    let gateway = FakeVoiceGateway::start().await;
    let receiver = WebhookReceiver::start().await;
    gateway.set_status_webhook(&receiver.url(STATUS_PATH), gateway.webhook_secret(), Duration::ZERO);
    let (answered, voicemail, no_answer, busy, dead) =
        ("+31611111111", "+31622222222", "+31633333333", "+31644444444", "+31655555555");
    gateway.set_outcome(voicemail, CallOutcomeFake::Voicemail { duration_seconds: 38 });
    gateway.set_outcome(no_answer, CallOutcomeFake::NoAnswer);
    gateway.set_outcome(busy, CallOutcomeFake::Busy);
    gateway.set_outcome(dead, CallOutcomeFake::Failed { error_code: "invalid_number".into() });

    let statuses =
        statuses_of_calls_to(&gateway, &receiver, &[answered, voicemail, no_answer, busy, dead]).await;

    let seen = |number: &str| {
        let status = &statuses[number];
        (status.outcome, status.duration_seconds, status.error_code.as_deref())
    };
    // Unless told otherwise, the fake's callee listens to the whole script.
    let whole_script = speaking_seconds(&script(Language::Dutch));
    assert_eq!(seen(answered), (CallOutcome::Answered, whole_script, None));
    assert_eq!(seen(voicemail), (CallOutcome::Voicemail, 38, None));
    assert_eq!(seen(no_answer), (CallOutcome::NoAnswer, 0, None));
    assert_eq!(seen(busy), (CallOutcome::Busy, 0, None));
    assert_eq!(seen(dead), (CallOutcome::Failed, 0, Some("invalid_number")));

    let reached: Vec<bool> =
        [answered, voicemail, no_answer, busy, dead].map(|n| statuses[n].outcome.reached()).into();
    assert_eq!(reached, [true, true, false, false, false]);
    let worth_another_call: Vec<bool> =
        [answered, voicemail, no_answer, busy, dead].map(|n| statuses[n].is_retryable()).into();
    assert_eq!(worth_another_call, [false, false, true, true, false]);
    assert_eq!(statuses[dead].permanent_failure_code(), Some("invalid_number"));
}

#[tokio::test]
async fn every_started_minute_of_a_connected_call_is_billable() {
    let gateway = FakeVoiceGateway::start().await;
    let receiver = WebhookReceiver::start().await;
    gateway.set_status_webhook(&receiver.url(STATUS_PATH), gateway.webhook_secret(), Duration::ZERO);
    let calls = [("+31611111111", 1), ("+31622222222", 60), ("+31633333333", 61), ("+31644444444", 600)];
    for (number, duration_seconds) in calls {
        gateway.set_outcome(number, CallOutcomeFake::Answered { duration_seconds });
    }
    gateway.set_outcome("+31655555555", CallOutcomeFake::NoAnswer);

    let numbers: Vec<&str> = calls.iter().map(|(number, _)| *number).chain(["+31655555555"]).collect();
    let statuses = statuses_of_calls_to(&gateway, &receiver, &numbers).await;

    let billed: Vec<(u32, u32)> =
        numbers.iter().map(|n| (statuses[*n].duration_seconds, statuses[*n].billable_minutes())).collect();
    assert_eq!(billed, [(1, 1), (60, 1), (61, 2), (600, 10), (0, 0)]);
}

#[tokio::test]
async fn a_status_signed_with_another_secret_does_not_verify() {
    let gateway = FakeVoiceGateway::start().await;
    let receiver = WebhookReceiver::start().await;
    let not_ours = "a-secret-the-gateway-was-never-given-0123456789";
    gateway.set_status_webhook(&receiver.url(STATUS_PATH), not_ours, Duration::ZERO);
    let to = number(NUMBER);

    gateway.voice_sender().place(&call(&to, ALERT)).await.unwrap();
    gateway.wait_for_statuses(1).await;

    let webhook = &receiver.received()[0];
    let check = |secret: &str, body: &[u8]| {
        let secrets = [Secret::new(secret.to_string())];
        verify(&secrets, webhook.timestamp.as_deref(), webhook.signature.as_deref(), body, Utc::now())
    };
    assert_eq!(check(gateway.webhook_secret(), &webhook.body), Err(SignatureError::Mismatch));
    assert_eq!(check(not_ours, &webhook.body), Ok(()));
    let tampered = String::from_utf8(webhook.body.to_vec()).unwrap().replace("answered", "busy");
    assert_eq!(check(not_ours, tampered.as_bytes()), Err(SignatureError::Mismatch));
}
