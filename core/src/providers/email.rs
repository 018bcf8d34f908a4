//! Sending e-mail: address verification links and other mail to participants, over SMTP with
//! `lettre`, or (the `local` feature only) into the local outbox (`LocalOutbox`) in local mode.
//!
//! Messages are plain UTF-8 text (`text/plain; charset=utf-8`; lettre picks 7bit,
//! quoted-printable or base64 per message). We set the `Message-ID` ourselves, as
//! `<uuid@domain of the from address>`, and return it so that bounces can be matched later.
//!
//! Each message goes over its own SMTP connection (no pool: e-mail volume is low, and a fresh
//! connection cannot be a stale one). The configured timeout bounds the whole conversation, from
//! connecting to the server's acceptance of the message. A time-out after the data was sent may
//! leave the message accepted after all, so a retry can deliver it twice.
//!
//! Errors never contain the recipient's address or the body, nor the server's reply text: servers
//! like to repeat the address there ("550 5.1.1 <jan@example.nl>: Recipient address rejected").
//! Only the reply code and the enhanced status code (`5.1.1`) are kept.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::Error as SmtpError;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::ProviderAnswer;
use super::webhook_signature::parse_webhook_secret;
use crate::env::{ConfigError, Env, parse};
#[cfg(feature = "local")]
use crate::outbox::{LocalOutbox, OutboxChannel, OutgoingMessage};
use crate::secret::Secret;
use crate::vocabulary::email::EmailAddress;

/// The sender when `BURGERNET_EMAIL_FROM` is not set.
pub const DEFAULT_FROM: &str = "Burgernet <noreply@burgernet.nl>";

/// One e-mail to send.
#[derive(Clone)]
pub struct EmailMessage {
    pub to: EmailAddress,
    pub subject: String,
    /// Plain text; may hold a verification link, so it never appears in errors or logs.
    pub text_body: String,
    /// For mail the participant asked for (newsletters): the HTTPS URL that unsubscribes them
    /// with one POST, sent as `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058). It
    /// holds a token, so it never appears in logs.
    pub unsubscribe_url: Option<String>,
}

impl fmt::Debug for EmailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text_body", &format_args!("[{} characters]", self.text_body.chars().count()))
            .field("unsubscribe_url", &self.unsubscribe_url.as_ref().map(|_| "[a one-click link]"))
            .finish()
    }
}

/// What we know about a message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentEmail {
    /// The `Message-ID` header we gave the message, angle brackets included.
    pub message_id: String,
}

/// Why an e-mail was not accepted. The texts name neither the recipient nor the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// The server refused our credentials or demands ones we did not give: an operator has to fix
    /// `BURGERNET_SMTP_URL`.
    #[error("the mail server refused our credentials; check the user and password in BURGERNET_SMTP_URL")]
    Unauthorized,
    /// The server will never accept this message (a permanent 5xx reply, e.g. 550 mailbox
    /// unavailable), or the address cannot be used. Retrying does not help.
    #[error("the mail server rejected the message: {detail}")]
    Rejected { detail: String, answer: Option<ProviderAnswer> },
    /// A temporary refusal (4xx), or the server could not be reached, timed out, or TLS failed.
    /// Worth retrying later.
    #[error("the mail server is unavailable: {detail}")]
    Unavailable { detail: String, answer: ProviderAnswer },
}

impl EmailError {
    /// Whether sending the same message again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// The mail server's answer for metrics: the SMTP status (`550`), or `timeout` / `connect`
    /// when none came ([`ProviderAnswer::code`]); `rejected` for a message refused before it was
    /// offered.
    pub fn provider_code(&self) -> String {
        match self {
            Self::Unauthorized => "unauthorized".into(),
            Self::Rejected { answer, .. } => {
                answer.as_ref().map_or_else(|| "rejected".into(), ProviderAnswer::code)
            }
            Self::Unavailable { answer, .. } => answer.code(),
        }
    }

    /// A message we cannot offer the server at all.
    fn unsendable(detail: impl Into<String>) -> Self {
        Self::Rejected { detail: detail.into(), answer: None }
    }
}

/// Sends e-mail through the configured SMTP server, or into the local outbox in local mode (the
/// `local` feature only).
#[derive(Clone, Debug)]
pub enum EmailSender {
    Smtp(SmtpMailer),
    #[cfg(feature = "local")]
    Local(LocalOutbox),
}

impl EmailSender {
    pub async fn send(&self, message: &EmailMessage) -> Result<SentEmail, EmailError> {
        match self {
            Self::Smtp(mailer) => mailer.send(message).await,
            #[cfg(feature = "local")]
            Self::Local(outbox) => {
                let message_id = format!("<{}@burgernet.local>", uuid::Uuid::new_v4());
                outbox.deliver(OutgoingMessage {
                    channel: OutboxChannel::Email,
                    recipient: message.to.as_str().to_string(),
                    subject: Some(message.subject.clone()),
                    body: message.text_body.clone(),
                    metadata: serde_json::json!({
                        "from": DEFAULT_FROM,
                        "message_id": message_id,
                        "list_unsubscribe": message.unsubscribe_url,
                    }),
                });
                Ok(SentEmail { message_id })
            }
        }
    }
}

/// Where and how to reach the SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// lettre's connection URL; holds the password, hence secret.
    pub url: Secret<String>,
    pub from: Mailbox,
    /// The longest sending one message may take, from connecting to the server's acceptance.
    pub timeout: Duration,
    /// What the mail provider signs its bounce reports with (`BURGERNET_EMAIL_WEBHOOK_SECRET`,
    /// and during a rotation `BURGERNET_EMAIL_WEBHOOK_PREVIOUS_SECRET`); none: every report is
    /// refused.
    pub webhook_secrets: Vec<Secret<String>>,
}

impl SmtpConfig {
    /// Reads `BURGERNET_SMTP_URL` (unset: `Ok(None)`, no SMTP server configured),
    /// `BURGERNET_EMAIL_FROM` (default `Burgernet <noreply@burgernet.nl>`) and
    /// `BURGERNET_SMTP_TIMEOUT` (default `10s`), and the bounce webhook's secrets
    /// (`BURGERNET_EMAIL_WEBHOOK_SECRET`, `BURGERNET_EMAIL_WEBHOOK_PREVIOUS_SECRET`).
    ///
    /// The URL takes lettre's forms: `smtps://user:pass@host:465` (implicit TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or `smtp://host:25` (plain, for a
    /// local relay). Special characters in the user name and password are percent-encoded.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(url) = env.optional("BURGERNET_SMTP_URL", parse_smtp_url)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            url,
            from: env.or("BURGERNET_EMAIL_FROM", default_from(), parse_mailbox)?,
            timeout: env.or("BURGERNET_SMTP_TIMEOUT", Duration::from_secs(10), parse::duration)?,
            webhook_secrets: env
                .optional("BURGERNET_EMAIL_WEBHOOK_SECRET", parse_webhook_secret)?
                .into_iter()
                .chain(env.optional("BURGERNET_EMAIL_WEBHOOK_PREVIOUS_SECRET", parse_webhook_secret)?)
                .collect(),
        }))
    }
}

fn default_from() -> Mailbox {
    DEFAULT_FROM.parse().expect("the default sender is a valid mailbox")
}

/// A mailbox such as `Burgernet <noreply@burgernet.nl>` or `noreply@burgernet.nl`.
pub fn parse_mailbox(raw: &str) -> Result<Mailbox, String> {
    raw.parse()
        .map_err(|_| format!("expected an address such as Burgernet <noreply@burgernet.nl>, got {raw:?}"))
}

/// Checks the shape of an SMTP URL without echoing it (it holds a password).
pub fn parse_smtp_url(raw: &str) -> Result<Secret<String>, String> {
    let url = url::Url::parse(raw).map_err(|_| {
        "expected a URL such as smtps://user:password@smtp.example.com:465 or \
         smtp://user:password@smtp.example.com:587?tls=required"
            .to_string()
    })?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        return Err("expected a URL starting with smtp:// or smtps://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    for (key, value) in url.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("tls", "required" | "opportunistic") if url.scheme() == "smtp" => {}
            ("tls", _) if url.scheme() == "smtp" => {
                return Err("tls must be required or opportunistic (or left out for plain SMTP)".into());
            }
            ("tls", _) => return Err("smtps:// always uses TLS; leave out the tls parameter".into()),
            _ => return Err("the only query parameter understood is tls".into()),
        }
    }
    if !url.username().is_empty() && url.password().is_none() {
        return Err("the URL has a user name but no password".into());
    }
    let decodes = |part: &str| percent_decode(part).is_some();
    if !decodes(url.username()) || !url.password().is_none_or(decodes) {
        return Err("the user name or password is not valid percent-encoded UTF-8".into());
    }
    Ok(Secret::new(raw.to_string()))
}

fn percent_decode(part: &str) -> Option<String> {
    let bytes = part.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// The SMTP client. Cheap to clone.
#[derive(Clone)]
pub struct SmtpMailer {
    inner: Arc<MailerClient>,
}

struct MailerClient {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the transport: it knows the server's credentials.
        f.debug_struct("SmtpMailer")
            .field("from", &self.inner.from.to_string())
            .field("timeout", &self.inner.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Builds the transport from the URL. TLS (for `smtps://` and `?tls=`) uses rustls with the
    /// ring provider and the system's trusted certificate authorities.
    pub fn new(config: SmtpConfig) -> anyhow::Result<Self> {
        parse_smtp_url(config.url.expose())
            .map_err(|problem| anyhow::anyhow!("the SMTP URL is not usable: {problem}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.url.expose())
            // lettre's errors here describe the problem (TLS set-up, a bad port) without the URL.
            .map_err(|error| anyhow::anyhow!("the SMTP URL is not usable: {error}"))?
            .timeout(Some(config.timeout))
            .build();
        Ok(Self { inner: Arc::new(MailerClient { transport, from: config.from, timeout: config.timeout }) })
    }

    pub async fn send(&self, message: &EmailMessage) -> Result<SentEmail, EmailError> {
        let to = Address::from_str(message.to.as_str()).map_err(|_| {
            EmailError::unsendable("the recipient address cannot be used in an SMTP envelope")
        })?;
        let this = &*self.inner;
        let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), this.from.email.domain());
        let mut email = Message::builder()
            .from(this.from.clone())
            .to(Mailbox::new(None, to))
            // A line break in the subject would end the header; templates never mean one.
            .subject(message.subject.replace(|c: char| c.is_control(), " "))
            .message_id(Some(message_id.clone()))
            .date_now()
            // RFC 3834: ask vacation responders and the like not to answer a no-reply address.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .header(ContentType::TEXT_PLAIN);
        if let Some(url) = &message.unsubscribe_url {
            // RFC 8058: the link in angle brackets, and the body a one-click POST sends.
            if !url.starts_with("https://") && !url.starts_with("http://") || url.contains(['<', '>', ' ']) {
                return Err(EmailError::unsendable("the unsubscribe link is not an HTTP(S) URL"));
            }
            email = email
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let email = email
            .body(message.text_body.clone())
            .map_err(|error| EmailError::unsendable(format!("the message cannot be built: {error}")))?;

        // lettre's own timeout covers only connecting; this one covers the whole conversation.
        let result = match tokio::time::timeout(this.timeout, this.transport.send(email)).await {
            Ok(sent) => sent.map(|_| SentEmail { message_id }).map_err(classify),
            Err(_) => Err(EmailError::Unavailable {
                detail: format!(
                    "the mail server did not accept the message within {}",
                    humantime::format_duration(this.timeout)
                ),
                answer: ProviderAnswer::Timeout,
            }),
        };
        match &result {
            Ok(sent) => tracing::debug!(
                to = %message.to.masked(),
                message_id = sent.message_id,
                "e-mail accepted by the mail server"
            ),
            Err(error) => tracing::debug!(to = %message.to.masked(), %error, "e-mail not accepted"),
        }
        result
    }
}

/// Sorts lettre's errors into ours; see the module documentation for what is kept of them.
fn classify(error: SmtpError) -> EmailError {
    if let Some(code) = error.status() {
        let code = u16::from(code);
        let detail = match enhanced_status(&error) {
            Some(enhanced) => format!("SMTP {code} {enhanced}"),
            None => format!("SMTP {code}"),
        };
        // The reply code is what is counted; the enhanced status stays in the detail.
        let answer = ProviderAnswer::status(code);
        return match code {
            // RFC 4954: authentication required, mechanism too weak, credentials invalid,
            // encryption required for the mechanism.
            530 | 534 | 535 | 538 => EmailError::Unauthorized,
            500..=599 => EmailError::Rejected { detail, answer: Some(answer) },
            _ => EmailError::Unavailable { detail, answer },
        };
    }
    if error.is_timeout() {
        return EmailError::Unavailable {
            detail: "no answer from the mail server in time".into(),
            answer: ProviderAnswer::Timeout,
        };
    }
    let unavailable = |detail: String| EmailError::Unavailable { detail, answer: ProviderAnswer::Connect };
    if error.is_tls() {
        return unavailable(format!("TLS with the mail server failed: {}", causes(&error)));
    }
    if error.is_response() {
        // The parse error may quote the server's reply.
        return unavailable("the mail server's reply could not be read".into());
    }
    if error.is_client() {
        // lettre's own fixed texts, e.g. "No compatible authentication mechanism was found".
        let text = causes(&error);
        if text.contains("authentication mechanism") {
            return EmailError::Unauthorized;
        }
        if text.contains("non-ascii") {
            return EmailError::unsendable(text);
        }
        return unavailable(format!("SMTP client error: {text}"));
    }
    unavailable(format!("connection failed: {}", causes(&error)))
}

/// The causes of an error (not its own text), joined, each said once: network and TLS messages,
/// which hold no message contents. Without a cause, the error's own text.
fn causes(error: &dyn std::error::Error) -> String {
    error.source().map_or_else(|| error.to_string(), super::error_chain)
}

/// The RFC 3463 enhanced status code at the start of the server's reply (`5.1.1`), if any: only
/// digits and dots, so it is safe to keep.
fn enhanced_status(error: &SmtpError) -> Option<String> {
    let reply = std::error::Error::source(error)?.to_string();
    let first = reply.split_whitespace().next()?;
    let parts: Vec<&str> = first.split('.').collect();
    let shaped = parts.len() == 3
        && matches!(parts[0], "2" | "4" | "5")
        && parts[1..]
            .iter()
            .all(|part| (1..=3).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()));
    shaped.then(|| first.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn without_a_url_there_is_no_smtp_server() {
        assert!(SmtpConfig::from_env(&Env::default()).unwrap().is_none());
    }

    #[test]
    fn reads_the_server_with_defaults() {
        let url = "smtps://mailer:hunter2@smtp.example.com:465";
        let config = SmtpConfig::from_env(&env(&[("BURGERNET_SMTP_URL", url)])).unwrap().unwrap();
        assert_eq!(config.url.expose(), url);
        assert_eq!(config.from.to_string(), "Burgernet <noreply@burgernet.nl>");
        assert_eq!(config.timeout, Duration::from_secs(10));
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn reads_from_and_timeout() {
        let config = SmtpConfig::from_env(&env(&[
            ("BURGERNET_SMTP_URL", "smtp://relay.internal:25"),
            ("BURGERNET_EMAIL_FROM", "noreply@burgernet.test"),
            ("BURGERNET_SMTP_TIMEOUT", "3s"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(config.from.email.to_string(), "noreply@burgernet.test");
        assert_eq!(config.timeout, Duration::from_secs(3));
    }

    #[test]
    fn accepts_lettres_url_forms() {
        for url in [
            "smtps://user:pass@smtp.example.com:465",
            "smtp://user:pass@smtp.example.com:587?tls=required",
            "smtp://user:p%40ss%2Fw0rd@smtp.example.com?tls=opportunistic",
            "smtp://127.0.0.1:2525",
            "smtp://relay.internal/burgernet.nl",
        ] {
            assert!(parse_smtp_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn wrong_values_are_named_without_echoing_secrets() {
        for (variable, value) in [
            ("BURGERNET_SMTP_URL", "https://user:hunter2@smtp.example.com"),
            ("BURGERNET_SMTP_URL", "user:hunter2@smtp.example.com"),
            ("BURGERNET_SMTP_URL", "smtp://user:hunter2@smtp.example.com?tls=yes"),
            ("BURGERNET_SMTP_URL", "smtps://user:hunter2@smtp.example.com?tls=required"),
            ("BURGERNET_SMTP_URL", "smtp://user:hunter2@smtp.example.com?auth=plain"),
            ("BURGERNET_SMTP_URL", "smtp://hunter2@smtp.example.com"),
            ("BURGERNET_SMTP_URL", "smtp://user:hunter2%ff@smtp.example.com"),
            ("BURGERNET_EMAIL_FROM", "Burgernet"),
            ("BURGERNET_SMTP_TIMEOUT", "0s"),
        ] {
            let mut pairs = vec![("BURGERNET_SMTP_URL", "smtp://relay.internal:25")];
            pairs.retain(|(name, _)| *name != variable);
            pairs.push((variable, value));
            let error = SmtpConfig::from_env(&env(&pairs)).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn the_mailer_does_not_print_its_password() {
        let config = SmtpConfig {
            url: Secret::new("smtp://mailer:hunter2@127.0.0.1:2525".into()),
            from: default_from(),
            timeout: Duration::from_secs(1),
            webhook_secrets: Vec::new(),
        };
        let sender = EmailSender::Smtp(SmtpMailer::new(config).unwrap());
        assert!(!format!("{sender:?}").contains("hunter2"), "{sender:?}");
    }

    #[test]
    fn builds_for_every_url_form() {
        // The TLS forms load the system's certificate authorities (the ca-certificates package).
        for url in
            ["smtps://u:p@smtp.example.com", "smtp://u:p@smtp.example.com?tls=required", "smtp://relay:25"]
        {
            let config = SmtpConfig {
                url: Secret::new(url.into()),
                from: default_from(),
                timeout: Duration::from_secs(1),
                webhook_secrets: Vec::new(),
            };
            SmtpMailer::new(config).unwrap_or_else(|error| panic!("{url}: {error}"));
        }
    }

    #[test]
    fn messages_do_not_print_their_body() {
        let message = EmailMessage {
            to: EmailAddress::parse("jan.jansen@example.nl").unwrap(),
            subject: "Bevestig uw e-mailadres".into(),
            text_body: "https://burgernet.nl/verify?token=secret-token".into(),
            unsubscribe_url: None,
        };
        let printed = format!("{message:?}");
        assert!(!printed.contains("secret-token") && !printed.contains("jan.jansen"), "{printed}");
    }
}
