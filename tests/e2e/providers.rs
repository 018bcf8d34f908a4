//! The SMS and e-mail clients against local fakes that speak the providers' protocols over real
//! sockets: what reaches the provider, and how each of the provider's refusals comes back to us.

use std::time::{Duration, Instant};

use burgernet_core::outbox::{LocalOutbox, OutboxChannel};
use burgernet_core::providers::ProviderAnswer;
use burgernet_core::providers::email::{EmailError, EmailMessage, EmailSender, SmtpMailer};
use burgernet_core::providers::sms::{HttpSmsGateway, SmsError, SmsMessage, SmsSender};
use burgernet_core::secret::Secret;
use burgernet_core::vocabulary::email::EmailAddress;
use burgernet_core::vocabulary::phone::PhoneNumber;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use burgernet_fakes::faults::Fault;

use crate::helpers::sms::{FakeSmsGateway, ReceivedSms, SmsGatewayExt};
use crate::helpers::smtp_sink::{SmtpFailure, SmtpSink};

const NUMBER: &str = "+31612345678";
const CODE_TEXT: &str = "Uw Burgernet-code is 482916. Deel deze code met niemand.";
const ADDRESS: &str = "jan.jansen@example.nl";

fn number() -> PhoneNumber {
    PhoneNumber::parse(NUMBER).unwrap()
}

fn sms(to: &PhoneNumber) -> SmsMessage<'_> {
    SmsMessage { to, body: CODE_TEXT, reference: "verification-0001" }
}

fn sms_sender(
    gateway: &FakeSmsGateway,
    adjust: impl FnOnce(&mut burgernet_core::providers::sms::SmsGatewayConfig),
) -> SmsSender {
    let mut config = gateway.sms_gateway_config();
    adjust(&mut config);
    SmsSender::Gateway(HttpSmsGateway::new(config).unwrap())
}

/// Error texts end up in logs and in the job table: no number, no one-time code.
fn assert_discreet_sms_error(error: &SmsError) {
    let text = format!("{error} {error:?}");
    for secret in [NUMBER, "0612345678", "612345678", CODE_TEXT, "482916"] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

#[tokio::test]
async fn an_sms_reaches_the_gateway_with_our_sender_id_and_reference_and_returns_its_id() {
    let gateway = FakeSmsGateway::start().await;
    let to = number();

    let sent = gateway.sms_sender().send(&sms(&to)).await.unwrap();

    let received = gateway.sent();
    assert_eq!(
        received,
        [ReceivedSms {
            id: sent.provider_message_id.clone(),
            from: "Burgernet".into(),
            to: NUMBER.into(),
            body: CODE_TEXT.into(),
            reference: Some("verification-0001".into()),
        }]
    );
    assert!(!sent.provider_message_id.is_empty());
}

#[tokio::test]
async fn messages_sent_one_after_another_get_their_own_ids() {
    let gateway = FakeSmsGateway::start().await;
    let sender = gateway.sms_sender();
    let to = number();
    let mut ids = Vec::new();
    for reference in ["a", "b", "c"] {
        ids.push(
            sender.send(&SmsMessage { to: &to, body: "Test", reference }).await.unwrap().provider_message_id,
        );
    }
    let received = gateway.wait_for_sent(3).await;
    assert_eq!(received.iter().map(|sms| sms.id.clone()).collect::<Vec<_>>(), ids);
    assert_eq!(
        received.iter().map(|sms| sms.reference.as_deref().unwrap()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
}

#[tokio::test]
async fn a_wrong_api_key_is_unauthorized_and_not_worth_retrying() {
    let gateway = FakeSmsGateway::start().await;
    let sender = sms_sender(&gateway, |config| config.api_key = Secret::new("not-the-key".into()));
    let to = number();

    let error = sender.send(&sms(&to)).await.unwrap_err();

    assert_eq!(error, SmsError::Unauthorized);
    assert!(!error.is_retryable());
    assert_eq!((gateway.requests(), gateway.sent().len()), (1, 0));
}

#[tokio::test]
async fn a_503_from_the_gateway_is_unavailable_and_worth_retrying() {
    let gateway = FakeSmsGateway::start().await;
    gateway.faults().fail_next(1, Fault::ServerError);
    let sender = gateway.sms_sender();
    let to = number();

    let error = sender.send(&sms(&to)).await.unwrap_err();
    assert_eq!(
        error,
        SmsError::Unavailable {
            detail: "HTTP 503 (service_unavailable)".into(),
            answer: ProviderAnswer::coded(503, "service_unavailable"),
        }
    );
    assert!(error.is_retryable());
    assert!(gateway.sent().is_empty());

    sender.send(&sms(&to)).await.expect("the retry goes through");
    assert_eq!(gateway.sent().len(), 1);
}

#[tokio::test]
async fn a_429_is_rate_limited_with_the_wait_the_gateway_asked_for() {
    let gateway = FakeSmsGateway::start().await;
    gateway.faults().fail_next(1, Fault::RateLimited { retry_after_seconds: 17 });
    let to = number();

    let error = gateway.sms_sender().send(&sms(&to)).await.unwrap_err();

    assert_eq!(error, SmsError::RateLimited { retry_after: Some(Duration::from_secs(17)) });
    assert_eq!(error.retry_after(), Some(Duration::from_secs(17)));
    assert!(error.is_retryable());
    assert!(gateway.sent().is_empty());
}

#[tokio::test]
async fn a_number_the_gateway_cannot_deliver_to_is_rejected_for_good() {
    let gateway = FakeSmsGateway::start().await;
    gateway.reject_number(NUMBER);
    let to = number();

    let error = gateway.sms_sender().send(&sms(&to)).await.unwrap_err();

    assert_eq!(
        error,
        SmsError::Rejected {
            detail: "HTTP 422 (invalid_recipient)".into(),
            answer: ProviderAnswer::coded(422, "invalid_recipient"),
        }
    );
    assert!(!error.is_retryable());
    assert_eq!(error.retry_after(), None);
    assert!(gateway.sent().is_empty());
}

#[tokio::test]
async fn a_connection_the_gateway_drops_without_an_answer_is_unavailable() {
    let gateway = FakeSmsGateway::start().await;
    gateway.faults().fail_next(1, Fault::DropConnection);
    let sender = gateway.sms_sender();
    let to = number();

    let error = sender.send(&sms(&to)).await.unwrap_err();

    let SmsError::Unavailable { detail, answer: ProviderAnswer::Connect } = &error else {
        panic!("{error:?}")
    };
    assert!(detail.starts_with("the request failed"), "{detail}");
    assert!(gateway.sent().is_empty());
    sender.send(&sms(&to)).await.expect("the next request is answered");
}

#[tokio::test]
async fn a_body_the_gateway_will_not_carry_is_rejected_for_good() {
    let gateway = FakeSmsGateway::start().await;
    let to = number();
    let too_long = "x".repeat(1601);

    let error = gateway
        .sms_sender()
        .send(&SmsMessage { to: &to, body: &too_long, reference: "r" })
        .await
        .unwrap_err();

    assert_eq!(
        error,
        SmsError::Rejected {
            detail: "HTTP 422 (invalid_body)".into(),
            answer: ProviderAnswer::coded(422, "invalid_body"),
        }
    );
}

#[tokio::test]
async fn a_gateway_slower_than_the_timeout_is_unavailable() {
    let gateway = FakeSmsGateway::start().await;
    gateway.faults().set_latency(Duration::from_secs(3));
    let sender = sms_sender(&gateway, |config| config.timeout = Duration::from_millis(300));
    let to = number();

    let started = Instant::now();
    let error = sender.send(&sms(&to)).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
    assert_eq!(
        error,
        SmsError::Unavailable { detail: "no response within 300ms".into(), answer: ProviderAnswer::Timeout }
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn an_unreachable_gateway_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let gateway = FakeSmsGateway::start().await;
    let sender = sms_sender(&gateway, |config| config.base_url = format!("http://127.0.0.1:{port}"));
    let to = number();

    let error = sender.send(&sms(&to)).await.unwrap_err();

    let SmsError::Unavailable { detail, answer: ProviderAnswer::Connect } = &error else {
        panic!("{error:?}")
    };
    assert!(detail.starts_with("could not connect"), "{detail}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn sms_error_texts_never_contain_the_number_or_the_message() {
    let gateway = FakeSmsGateway::start().await;
    let to = number();
    let mut errors = Vec::new();
    for fault in [Fault::ServerError, Fault::RateLimited { retry_after_seconds: 1 }] {
        gateway.faults().fail_next(1, fault);
        errors.push(gateway.sms_sender().send(&sms(&to)).await.unwrap_err());
    }
    let wrong_key = sms_sender(&gateway, |config| config.api_key = Secret::new("wrong".into()));
    errors.push(wrong_key.send(&sms(&to)).await.unwrap_err());
    gateway.reject_number(NUMBER);
    errors.push(gateway.sms_sender().send(&sms(&to)).await.unwrap_err());
    gateway.faults().set_latency(Duration::from_secs(2));
    let impatient = sms_sender(&gateway, |config| config.timeout = Duration::from_millis(100));
    errors.push(impatient.send(&sms(&to)).await.unwrap_err());

    assert_eq!(errors.len(), 5);
    for error in &errors {
        assert_discreet_sms_error(error);
    }
}

#[tokio::test]
async fn the_local_stand_in_puts_the_sms_in_the_outbox() {
    let outbox = LocalOutbox::new();
    let to = number();

    let sent = SmsSender::Local(outbox.clone()).send(&sms(&to)).await.unwrap();

    let stored = outbox.newest_first(10);
    assert_eq!(stored.len(), 1);
    assert_eq!(sent.provider_message_id, format!("local-{}", stored[0].id));
    assert_eq!(stored[0].channel, OutboxChannel::Sms);
    assert_eq!((stored[0].recipient.as_str(), stored[0].body.as_str()), (NUMBER, CODE_TEXT));
    assert_eq!(stored[0].metadata["sender"], "Burgernet");
    assert_eq!(stored[0].metadata["reference"], "verification-0001");
}

fn address() -> EmailAddress {
    EmailAddress::parse(ADDRESS).unwrap()
}

const VERIFY_URL: &str = "https://burgernet.nl/deelnemer/e-mail/bevestigen?token=Zm9vYmFyYmF6cXV4LXZlcnktbG9uZy10b2tlbi10aGF0LWRvZXMtbm90LWZpdC1vbi1vbmUtbGluZQ";

fn verification_mail() -> EmailMessage {
    EmailMessage {
        to: address(),
        subject: "Bevestig uw e-mailadres voor één Burgernet".into(),
        text_body: format!(
            "Beste deelnemer,\n\nBevestig uw e-mailadres met deze link:\n{VERIFY_URL}\n\n\
             .Deze regel begint met een punt.\nDank u wel, één keer is genoeg.\n"
        ),
        unsubscribe_url: None,
    }
}

/// Error texts end up in logs and in the job table: no address, no link.
fn assert_discreet_email_error(error: &EmailError) {
    let text = format!("{error} {error:?}");
    for secret in [ADDRESS, "jan.jansen", "token="] {
        assert!(!text.contains(secret), "{secret:?} in {text:?}");
    }
}

#[tokio::test]
async fn an_email_arrives_with_subject_body_sender_and_recipient_as_sent() {
    let sink = SmtpSink::start().await;
    let message = verification_mail();

    let sent = sink.email_sender().send(&message).await.unwrap();

    let received = sink.messages();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(
        (mail.from.as_str(), mail.to.as_slice()),
        ("noreply@burgernet.nl", [ADDRESS.to_string()].as_slice())
    );
    assert_eq!(mail.subject, message.subject);
    assert_eq!(mail.text_body, message.text_body);
    assert!(mail.text_body.contains(VERIFY_URL));
    assert_eq!(mail.header("Message-ID"), Some(sent.message_id.clone()));
    assert!(
        sent.message_id.starts_with('<') && sent.message_id.ends_with("@burgernet.nl>"),
        "{}",
        sent.message_id
    );
    assert_eq!(mail.header("From").as_deref(), Some("Burgernet <noreply@burgernet.nl>"));
    assert_eq!(mail.header("To").as_deref(), Some(ADDRESS));
    assert_eq!(mail.header("Content-Type").as_deref(), Some("text/plain; charset=utf-8"));
    assert_eq!(mail.header("Auto-Submitted").as_deref(), Some("auto-generated"));
    assert!(mail.header("Date").is_some());
    assert!(mail.data.lines().all(|line| line.len() <= 998), "a line longer than SMTP allows");
}

#[tokio::test]
async fn bodies_and_subjects_arrive_intact_whatever_encoding_is_chosen() {
    let sink = SmtpSink::start().await;
    let sender = sink.email_sender();
    let cases = [
        ("7bit", "Hallo,\nTot ziens.".to_string()),
        ("quoted-printable", format!("Één link:\n{VERIFY_URL}\n")),
        ("base64", "Çok güzel, ĳs en één, Ωμέγα, Привет. ".repeat(20)),
    ];
    let subject =
        "Uw aanmelding bij Burgernet: één bevestiging nodig, dank u wel voor uw hulp in de wijk".to_string();
    for (encoding, text_body) in &cases {
        let message =
            EmailMessage { subject: subject.clone(), text_body: text_body.clone(), ..verification_mail() };
        sender.send(&message).await.unwrap();
        let mail = sink.messages().pop().unwrap();
        assert_eq!(mail.header("Content-Transfer-Encoding").as_deref(), Some(*encoding));
        assert_eq!(&mail.text_body, text_body, "{encoding}");
        assert_eq!(mail.subject, subject);
    }
}

#[tokio::test]
async fn a_line_break_in_the_subject_cannot_add_a_header() {
    let sink = SmtpSink::start().await;
    let message = EmailMessage { subject: "Hallo\r\nBcc: someone@example.nl".into(), ..verification_mail() };

    sink.email_sender().send(&message).await.unwrap();

    let mail = sink.messages().pop().unwrap();
    assert_eq!(mail.header("Bcc"), None);
    assert_eq!(mail.subject, "Hallo  Bcc: someone@example.nl");
    assert_eq!(mail.to, [ADDRESS]);
}

#[tokio::test]
async fn emails_sent_at_the_same_time_all_arrive() {
    let sink = SmtpSink::start().await;
    let sender = sink.email_sender();
    let sends = (0..5).map(|n| {
        let sender = sender.clone();
        async move {
            let message = EmailMessage { subject: format!("Bericht {n}"), ..verification_mail() };
            sender.send(&message).await
        }
    });
    for result in futures_util::future::join_all(sends).await {
        result.unwrap();
    }
    let mut subjects: Vec<String> =
        sink.wait_for_messages(5).await.into_iter().map(|mail| mail.subject).collect();
    subjects.sort();
    assert_eq!(subjects, (0..5).map(|n| format!("Bericht {n}")).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_nothing_is_delivered() {
    let sink = SmtpSink::start().await;
    let mut config = sink.smtp_config();
    config.url = Secret::new(sink.url_with_credentials(sink.username(), "wrong password"));
    let sender = EmailSender::Smtp(SmtpMailer::new(config).unwrap());

    let error = sender.send(&verification_mail()).await.unwrap_err();

    assert_eq!(error, EmailError::Unauthorized);
    assert!(!error.is_retryable());
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn without_credentials_the_server_refuses_to_take_mail() {
    let sink = SmtpSink::start().await;
    let mut config = sink.smtp_config();
    config.url = Secret::new(format!("smtp://{}", sink.address()));
    let sender = EmailSender::Smtp(SmtpMailer::new(config).unwrap());

    let error = sender.send(&verification_mail()).await.unwrap_err();

    assert_eq!(error, EmailError::Unauthorized);
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_temporary_refusal_is_worth_retrying() {
    let sink = SmtpSink::start().await;
    sink.fail_next(1, SmtpFailure::Transient);
    let sender = sink.email_sender();

    let error = sender.send(&verification_mail()).await.unwrap_err();
    assert_eq!(
        error,
        EmailError::Unavailable { detail: "SMTP 451 4.3.0".into(), answer: ProviderAnswer::status(451) }
    );
    assert_eq!(error.provider_code(), "451");
    assert!(error.is_retryable());
    assert!(sink.messages().is_empty());

    sender.send(&verification_mail()).await.expect("the retry goes through");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn an_unknown_mailbox_is_rejected_for_good() {
    let sink = SmtpSink::start().await;
    sink.fail_next(1, SmtpFailure::MailboxUnavailable);

    let error = sink.email_sender().send(&verification_mail()).await.unwrap_err();

    // The sink, like Postfix, repeats the address in its reply; we keep only the codes.
    assert_eq!(
        error,
        EmailError::Rejected { detail: "SMTP 550 5.1.1".into(), answer: Some(ProviderAnswer::status(550)) }
    );
    assert!(!error.is_retryable());
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn a_mail_server_slower_than_the_timeout_is_unavailable() {
    let sink = SmtpSink::start().await;
    sink.set_latency(Duration::from_secs(3));
    let mut config = sink.smtp_config();
    config.timeout = Duration::from_millis(300);
    let sender = EmailSender::Smtp(SmtpMailer::new(config).unwrap());

    let started = Instant::now();
    let error = sender.send(&verification_mail()).await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "gave up after {:?}", started.elapsed());
    assert_eq!(
        error,
        EmailError::Unavailable {
            detail: "the mail server did not accept the message within 300ms".into(),
            answer: ProviderAnswer::Timeout,
        }
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn an_unreachable_mail_server_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sink = SmtpSink::start().await;
    let mut config = sink.smtp_config();
    config.url = Secret::new(format!("smtp://user:pass@127.0.0.1:{port}"));
    let sender = EmailSender::Smtp(SmtpMailer::new(config).unwrap());

    let error = sender.send(&verification_mail()).await.unwrap_err();

    assert!(matches!(error, EmailError::Unavailable { answer: ProviderAnswer::Connect, .. }), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn email_error_texts_never_contain_the_address_or_the_link() {
    let sink = SmtpSink::start().await;
    let mut errors = Vec::new();
    for failure in [SmtpFailure::MailboxUnavailable, SmtpFailure::Transient] {
        sink.fail_next(1, failure);
        errors.push(sink.email_sender().send(&verification_mail()).await.unwrap_err());
    }
    let mut config = sink.smtp_config();
    config.url = Secret::new(sink.url_with_credentials("jan.jansen@example.nl", "wrong"));
    errors.push(
        EmailSender::Smtp(SmtpMailer::new(config).unwrap()).send(&verification_mail()).await.unwrap_err(),
    );

    assert_eq!(errors.len(), 3);
    for error in &errors {
        assert_discreet_email_error(error);
    }
}

#[tokio::test]
async fn the_local_stand_in_puts_the_email_in_the_outbox() {
    let outbox = LocalOutbox::new();
    let message = verification_mail();

    let sent = EmailSender::Local(outbox.clone()).send(&message).await.unwrap();

    let stored = outbox.newest_first(10);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].channel, OutboxChannel::Email);
    assert_eq!(stored[0].recipient, ADDRESS);
    assert_eq!(stored[0].subject.as_deref(), Some(message.subject.as_str()));
    assert_eq!(stored[0].body, message.text_body);
    assert_eq!(stored[0].metadata["message_id"], sent.message_id);
}

/// The sink itself, spoken to by hand: what other tests rely on when they use it.
#[tokio::test]
async fn the_smtp_sink_demands_authentication_and_unstuffs_dots() {
    let sink = SmtpSink::start().await;
    // A client that goes away mid-conversation does not disturb the sink.
    drop(tokio::net::TcpStream::connect(sink.address()).await.unwrap());

    let stream = tokio::net::TcpStream::connect(sink.address()).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let mut converse = async |line: &str| -> String {
        if !line.is_empty() {
            writer.write_all(format!("{line}\r\n").as_bytes()).await.unwrap();
        }
        let mut reply = String::new();
        loop {
            let mut reply_line = String::new();
            reader.read_line(&mut reply_line).await.unwrap();
            reply.push_str(&reply_line);
            if reply_line.as_bytes().get(3) != Some(&b'-') {
                return reply;
            }
        }
    };
    let code = |reply: String| reply[..3].to_string();
    let base64 = |text: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    };

    assert_eq!(code(converse("").await), "220");
    assert!(converse("EHLO client.test").await.contains("AUTH PLAIN LOGIN"));
    assert_eq!(code(converse("MAIL FROM:<noreply@burgernet.nl>").await), "530");
    assert_eq!(code(converse("AUTH LOGIN").await), "334");
    assert_eq!(code(converse(&base64(sink.username())).await), "334");
    assert_eq!(code(converse(&base64("wrong")).await), "535");
    assert_eq!(code(converse(&format!("AUTH LOGIN {}", base64(sink.username()))).await), "334");
    assert_eq!(code(converse(&base64(sink.password())).await), "235");
    assert_eq!(code(converse("MAIL FROM:<noreply@burgernet.nl>").await), "250");
    assert_eq!(code(converse("RCPT TO:<a@example.nl>").await), "250");
    assert_eq!(code(converse("RCPT TO:<b@example.nl>").await), "250");
    assert_eq!(code(converse("DATA").await), "354");
    assert_eq!(code(converse("Subject: hand made\r\n\r\n..leading dot\r\nlast line\r\n.").await), "250");
    assert_eq!(code(converse("NOOP").await), "250");
    assert_eq!(code(converse("QUIT").await), "221");

    let mail = &sink.messages()[0];
    assert_eq!(mail.to, ["a@example.nl", "b@example.nl"]);
    assert_eq!(mail.subject, "hand made");
    assert_eq!(mail.text_body, ".leading dot\nlast line");
}

/// The fake gateway itself, spoken to by hand: what other tests rely on when they use it.
#[tokio::test]
async fn the_fake_sms_gateway_answers_like_the_provider() {
    let gateway = FakeSmsGateway::start().await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/messages", gateway.base_url());
    let post = |key: &str, body: serde_json::Value| client.post(&url).bearer_auth(key).json(&body).send();
    let message = serde_json::json!({"from": "Burgernet", "to": NUMBER, "body": "Hallo", "reference": "r-1"});

    let response = post("wrong", message.clone()).await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    for (field, value, code) in [
        ("to", "0612345678", "invalid_recipient"),
        ("from", "Burgernet Nederland", "invalid_sender"),
        ("body", "", "invalid_body"),
    ] {
        let mut invalid = message.clone();
        invalid[field] = value.into();
        let response = post(gateway.api_key(), invalid).await.unwrap();
        assert_eq!(response.status(), 422, "{field}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], code);
        assert!(body["error"]["message"].is_string());
    }

    let response = post(gateway.api_key(), message).await.unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], gateway.sent()[0].id.as_str());
    assert_eq!(gateway.requests(), 5);
}
