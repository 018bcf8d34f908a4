//! Sending a municipal message: the job [`SendMunicipalMessage`], enqueued when the message is
//! scheduled, to run at its time.
//!
//! Its first run takes the recipients (who would be reached now, see `db::municipal_messages`) and
//! marks the message as sending, in one transaction; every run then sends to recipients still
//! pending, a batch at a time, and records each hand-over as it happens. So a crash, a lost lease
//! or a retry goes on where the last recorded hand-over left off: only a message handed over but
//! not yet recorded when the process died can go out twice. A run stops after a minute and comes
//! back at once, so that a newsletter to a large municipality never holds a worker slot for long.
//!
//! E-mail goes at most at `BURGERNET_MUNICIPAL_EMAIL_RATE` (default 20 a second, shared by every
//! worker process), so a newsletter never crowds out the e-mail of alerts. Each e-mail carries a
//! one-click unsubscribe link (RFC 8058) with a fresh token per recipient; only its hash is
//! kept. A push goes to each of the participant's devices, with `type=municipal_message` and
//! `municipal_message_id` in its data, so the app can show it and report it opened.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

use super::content::{MessageText, MessageTexts, stored_texts};
use crate::alerts::delivery::hand_over::{HandOver, classify_push};
use crate::alerts::delivery::throttle::{ProviderGate, Rate};
use crate::auth::participant::NewSecretToken;
use crate::db::municipal_messages::{self as queries, PendingRecipient, SendOutcome};
use crate::db::{DbPool, participants as participant_queries};
use crate::ids::MunicipalMessageId;
use crate::jobs::{BackgroundJob, JobError};
use crate::metrics::{ErrorSource, ProviderErrorCounter};
use crate::participants::notices::Messaging;
use crate::providers::PushSender;
use crate::providers::email::{EmailError, EmailMessage, EmailSender};
use crate::providers::push::PushNotification;
use crate::providers::sms::{SmsMessage, SmsSender};
use crate::vocabulary::{Channel, Language, MunicipalMessageKind, MunicipalMessageStatus};

/// Recipients read at a time.
const BATCH: i64 = 100;
/// A run that has sent for this long stops and comes back at once.
const LONGEST_RUN: Duration = Duration::from_secs(60);
/// How long push providers keep trying to reach a device: a newsletter is news for a day.
const PUSH_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// The most of a text an SMS carries (two concatenated segments of the GSM alphabet).
const SMS_CHARS: usize = 300;

/// Sends a scheduled municipal message once its time has come.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMunicipalMessage {
    pub message_id: MunicipalMessageId,
}

/// What sending municipal messages needs.
#[derive(Clone)]
pub struct MessageSending {
    pub pool: DbPool,
    pub push: PushSender,
    pub sms: SmsSender,
    pub email: EmailSender,
    /// The API's public base URL, for the unsubscribe links.
    pub public_url: String,
    /// Newsletters' share of the mail server.
    email_gate: Arc<ProviderGate>,
    pub provider_errors: ProviderErrorCounter,
}

impl MessageSending {
    pub fn new(
        pool: DbPool,
        messaging: &Messaging,
        email_rate: Rate,
        provider_errors: ProviderErrorCounter,
    ) -> Self {
        Self {
            email_gate: Arc::new(ProviderGate::new("municipal-email", Some(email_rate), pool.clone())),
            pool,
            push: messaging.push.clone(),
            sms: messaging.sms.clone(),
            email: messaging.email.clone(),
            public_url: messaging.public_url.trim_end_matches('/').to_string(),
            provider_errors,
        }
    }
}

/// The message as every recipient's hand-over needs it.
struct Outgoing {
    id: MunicipalMessageId,
    kind: MunicipalMessageKind,
    municipality_name: String,
    texts: MessageTexts,
}

impl BackgroundJob for SendMunicipalMessage {
    const JOB_TYPE: &'static str = "send_municipal_message";
    /// Below every alert's work: a newsletter can wait, a missing child cannot.
    const PRIORITY: i16 = -10;
    const MAX_ATTEMPTS: i32 = 25;
    type Context = MessageSending;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        let id = self.message_id;
        let outgoing = conn
            .transaction(async |conn| {
                let Some(row) = queries::find(conn, id, None, true).await? else { return Ok(Err(None)) };
                match row.status {
                    MunicipalMessageStatus::Scheduled => {
                        let due_in = row.send_at.map(|at| at - Utc::now()).unwrap_or_default();
                        if due_in > chrono::TimeDelta::zero() {
                            return Ok(Err(Some(due_in.to_std().unwrap_or_default())));
                        }
                        let taken = queries::start_sending(conn, id).await?;
                        tracing::info!(message = %id, recipients = taken, "municipal message: sending starts");
                    }
                    MunicipalMessageStatus::Sending => {}
                    // Cancelled before its time, or sent already: nothing to do.
                    _ => return Ok(Err(None)),
                }
                Ok::<_, diesel::result::Error>(Ok(Outgoing {
                    id,
                    kind: row.kind,
                    municipality_name: row.municipality_name,
                    texts: stored_texts(&row.texts),
                }))
            })
            .await
            .map_err(JobError::retryable)?;
        let outgoing = match outgoing {
            Ok(outgoing) => outgoing,
            Err(Some(due_in)) => {
                return Err(JobError::not_yet(due_in, anyhow::anyhow!("the message is not due yet")));
            }
            Err(None) => return Ok(()),
        };
        let started = Instant::now();
        loop {
            let batch =
                queries::pending_recipients(&mut conn, id, BATCH).await.map_err(JobError::retryable)?;
            if batch.is_empty() {
                if queries::finish_if_done(&mut conn, id).await.map_err(JobError::retryable)? {
                    tracing::info!(message = %id, "municipal message: sent");
                }
                return Ok(());
            }
            for recipient in &batch {
                hand_over(&ctx, &mut conn, &outgoing, recipient).await?;
            }
            if started.elapsed() > LONGEST_RUN {
                return Err(JobError::not_yet(
                    Duration::from_millis(100),
                    anyhow::anyhow!("continues in the next run"),
                ));
            }
        }
    }
}

/// Sends the message to one recipient on one channel and records what became of it. A passing
/// failure ends the run, to be retried.
async fn hand_over(
    ctx: &MessageSending,
    conn: &mut AsyncPgConnection,
    outgoing: &Outgoing,
    recipient: &PendingRecipient,
) -> Result<(), JobError> {
    let text = outgoing.texts.in_language(recipient.language);
    let settle = async |conn: &mut AsyncPgConnection, outcome: SendOutcome<'_>| {
        queries::settle_recipient(conn, outgoing.id, recipient.participant_id, recipient.channel, outcome)
            .await
            .map_err(JobError::retryable)
    };
    match recipient.channel {
        Channel::Email => {
            let Some(address) = &recipient.email else {
                return settle(conn, SendOutcome::Failed { code: "no_verified_email" }).await;
            };
            if let Err(deferred) = ctx.email_gate.admit().await {
                return Err(JobError::not_yet(
                    deferred.for_at_least,
                    anyhow::anyhow!("the mail server asked to wait"),
                ));
            }
            let token = NewSecretToken::generate();
            let unsubscribe_url = format!("{}/v1/unsubscribe/{}", ctx.public_url, token.token.expose());
            let message = EmailMessage {
                to: address.clone(),
                subject: text.subject.clone(),
                text_body: email_body(text, recipient.language, outgoing, &unsubscribe_url),
                unsubscribe_url: Some(unsubscribe_url),
            };
            match ctx.email.send(&message).await {
                Ok(sent) => {
                    let outcome = SendOutcome::Sent {
                        provider_message_id: Some(&sent.message_id),
                        unsubscribe_token_hash: Some(&token.hash.0),
                    };
                    settle(conn, outcome).await
                }
                Err(error) => {
                    ctx.provider_errors.count(ErrorSource::Smtp, &error.provider_code());
                    match error {
                        EmailError::Rejected { .. } => {
                            settle(conn, SendOutcome::Failed { code: "rejected" }).await
                        }
                        // A refused login is for an operator to fix; until then, wait.
                        error => Err(JobError::retryable(error)),
                    }
                }
            }
        }
        Channel::Push => push(ctx, conn, outgoing, recipient, text).await,
        Channel::Sms => {
            let Some(phone) = &recipient.phone_number else {
                return settle(conn, SendOutcome::Failed { code: "no_phone_number" }).await;
            };
            let body = sms_body(text, &outgoing.municipality_name);
            let reference = format!("mm-{}-{}", outgoing.id, recipient.participant_id);
            match ctx.sms.send(&SmsMessage { to: phone, body: &body, reference: &reference }).await {
                Ok(sent) => {
                    let outcome = SendOutcome::Sent {
                        provider_message_id: Some(&sent.provider_message_id),
                        unsubscribe_token_hash: None,
                    };
                    settle(conn, outcome).await
                }
                Err(error) => {
                    ctx.provider_errors.count(ErrorSource::Sms, &error.provider_code());
                    if error.is_retryable() {
                        Err(JobError::retryable(error))
                    } else {
                        settle(conn, SendOutcome::Failed { code: "rejected" }).await
                    }
                }
            }
        }
        // Never allowed for municipal messages (`AllowedChannels`): settled, not tried.
        Channel::Voice => settle(conn, SendOutcome::Failed { code: "channel_not_supported" }).await,
    }
}

/// A push to each of the participant's devices: sent when one provider accepted it. A device whose
/// token is dead is removed, as for alerts.
async fn push(
    ctx: &MessageSending,
    conn: &mut AsyncPgConnection,
    outgoing: &Outgoing,
    recipient: &PendingRecipient,
    text: &MessageText,
) -> Result<(), JobError> {
    let devices = participant_queries::list_devices(conn, recipient.participant_id)
        .await
        .map_err(JobError::retryable)?;
    let message_id = outgoing.id.to_string();
    let data = [("type", "municipal_message"), ("municipal_message_id", message_id.as_str())];
    let expires_at = Utc::now() + PUSH_LIFETIME;
    let mut accepted = None;
    // The code of a passing failure, when no provider took it.
    let mut passing: Option<String> = None;
    for device in &devices {
        let notification = PushNotification {
            token: device.push_token.as_str(),
            title: &text.subject,
            body: &text.body,
            urgent: false,
            collapse_id: &message_id,
            expires_at,
            data: &data,
            category: None,
        };
        match ctx.push.send(device.platform, device.apns_environment, &notification).await {
            Ok(answer) => accepted = Some(answer.provider_message_id.unwrap_or_default()),
            Err(error) => {
                ctx.provider_errors
                    .count(ErrorSource::push_provider(device.platform), &error.provider_code());
                match classify_push(error) {
                    HandOver::Failed { dead_token: Some(_), .. } => {
                        participant_queries::delete_device(conn, recipient.participant_id, device.id)
                            .await
                            .map_err(JobError::retryable)?;
                    }
                    HandOver::Retry { code, .. } => passing = Some(code),
                    _ => {}
                }
            }
        }
    }
    let outcome = match (&accepted, passing) {
        (Some(provider_id), _) => SendOutcome::Sent {
            provider_message_id: Some(provider_id.as_str()).filter(|id| !id.is_empty()),
            unsubscribe_token_hash: None,
        },
        (None, Some(code)) => {
            return Err(JobError::retryable(anyhow::anyhow!("the push provider failed for now ({code})")));
        }
        (None, None) => {
            SendOutcome::Failed { code: if devices.is_empty() { "no_device" } else { "rejected" } }
        }
    };
    queries::settle_recipient(conn, outgoing.id, recipient.participant_id, recipient.channel, outcome)
        .await
        .map_err(JobError::retryable)
}

/// The e-mail: the text, then why the participant gets it and how to stop it.
fn email_body(text: &MessageText, language: Language, outgoing: &Outgoing, unsubscribe_url: &str) -> String {
    let municipality = &outgoing.municipality_name;
    let footer = match (language, outgoing.kind) {
        (Language::English, kind) => {
            let what = match kind {
                MunicipalMessageKind::Newsletter => "the newsletter",
                MunicipalMessageKind::Prevention => "prevention messages",
            };
            format!(
                "You receive this message from the municipality of {municipality} because you chose {what} \
                 in Burgernet. To stop them, unsubscribe here: {unsubscribe_url}\n\
                 or switch them off in the Burgernet app under your choices."
            )
        }
        (Language::Dutch, kind) => {
            let what = match kind {
                MunicipalMessageKind::Newsletter => "de nieuwsbrief",
                MunicipalMessageKind::Prevention => "preventieberichten",
            };
            format!(
                "U ontvangt dit bericht van de gemeente {municipality} omdat u in Burgernet heeft gekozen \
                 voor {what}. Afmelden kan hier: {unsubscribe_url}\n\
                 of zet het uit in de Burgernet-app bij uw keuzes."
            )
        }
    };
    format!("{}\n\n-- \n{footer}\n", text.body)
}

/// An SMS: who it is from, the subject and as much of the text as fits.
fn sms_body(text: &MessageText, municipality_name: &str) -> String {
    let full = format!("Burgernet {municipality_name}: {}. {}", text.subject, text.body);
    if full.chars().count() <= SMS_CHARS {
        return full;
    }
    let mut shortened: String = full.chars().take(SMS_CHARS - 1).collect();
    shortened.push('…');
    shortened
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing(kind: MunicipalMessageKind) -> Outgoing {
        let text = MessageText { subject: "Inbraken".into(), body: "Let op uw deuren.".into() };
        Outgoing {
            id: MunicipalMessageId::new(),
            kind,
            municipality_name: "Rotterdam".into(),
            texts: MessageTexts { nl: text, en: None },
        }
    }

    #[test]
    fn the_email_says_why_it_came_and_how_to_stop_it() {
        let message = outgoing(MunicipalMessageKind::Prevention);
        let url = "https://api.burgernet.test/v1/unsubscribe/abc";
        let body = email_body(&message.texts.nl, Language::Dutch, &message, url);
        assert!(body.starts_with("Let op uw deuren.\n\n-- \n"), "{body}");
        assert!(body.contains("gemeente Rotterdam") && body.contains("preventieberichten"), "{body}");
        assert!(body.contains(url), "{body}");
        let english = email_body(
            &message.texts.nl,
            Language::English,
            &outgoing(MunicipalMessageKind::Newsletter),
            url,
        );
        assert!(english.contains("the newsletter") && english.contains(url), "{english}");
    }

    #[test]
    fn an_sms_carries_at_most_two_segments_of_text() {
        let long = MessageText { subject: "Nieuws".into(), body: "woord ".repeat(100) };
        let body = sms_body(&long, "Rotterdam");
        assert_eq!(body.chars().count(), SMS_CHARS);
        assert!(body.starts_with("Burgernet Rotterdam: Nieuws. woord") && body.ends_with('…'), "{body}");
        let short = MessageText { subject: "Nieuws".into(), body: "Kort.".into() };
        assert_eq!(sms_body(&short, "Delft"), "Burgernet Delft: Nieuws. Kort.");
    }
}
