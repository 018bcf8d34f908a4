//! Messages to a participant about their account: the e-mail verification link, the
//! confirmation that they are active, and the notices that they are signed off. They go out as
//! the `notify_participant` job, enqueued with the change that causes them; the job reads the
//! contact details when it runs, so no address sits in the queue. The unsubscribe confirmation
//! on erasure is sent directly, before the details are deleted.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::alerts::delivery::plan::ChannelOrders;
use crate::auth::participant::NewSecretToken;
use crate::db::DbPool;
use crate::db::participants::{self as queries, ParticipantRow};
use crate::env::{ConfigError, Env, parse};
use crate::ids::ParticipantId;
use crate::jobs::{BackgroundJob, JobError};
use crate::metrics::{ErrorSource, ProviderErrorCounter};
#[cfg(feature = "local")]
use crate::outbox::LocalOutbox;
use crate::providers::apns::{ApnsClient, ApnsConfig};
use crate::providers::email::{EmailMessage, EmailSender, SmtpConfig, SmtpMailer};
use crate::providers::fcm::{FcmClient, FcmConfig};
use crate::providers::sms::{HttpSmsGateway, SmsGatewayConfig, SmsMessage, SmsSender};
use crate::providers::voice::{HttpVoiceGateway, VoiceGatewayConfig, VoiceSender};
use crate::providers::{Providers, PushSender};
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::{Channel, Language};

/// How long an e-mail verification link works.
pub const EMAIL_VERIFICATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// A link to confirm the e-mail address just set.
    VerifyEmail,
    /// The participant is active: sign-up complete or approved or reinstated.
    Activated,
    /// The municipality signed the participant off.
    Removed,
    /// The participant erased their account.
    Unsubscribed,
}

/// The providers and addresses messages need.
#[derive(Clone, Debug)]
pub struct Messaging {
    pub push: PushSender,
    pub sms: SmsSender,
    pub email: EmailSender,
    /// Only alerts place calls.
    pub voice: VoiceSender,
    /// The API's public base URL, for links in messages, e.g. `https://api.burgernet.nl`.
    pub public_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("sms: {0}")]
    Sms(#[from] crate::providers::sms::SmsError),
    #[error("e-mail: {0}")]
    Email(#[from] crate::providers::email::EmailError),
}

impl DeliveryError {
    pub fn is_retryable(&self) -> bool {
        match self {
            DeliveryError::Sms(error) => error.is_retryable(),
            DeliveryError::Email(error) => error.is_retryable(),
        }
    }

    /// The provider that failed and its code, for `burgernet_provider_errors_total`.
    pub fn provider_error(&self) -> (ErrorSource, String) {
        match self {
            DeliveryError::Sms(error) => (ErrorSource::Sms, error.provider_code()),
            DeliveryError::Email(error) => (ErrorSource::Smtp, error.provider_code()),
        }
    }
}

/// Where a notice goes: a verified e-mail address when the participant chose e-mail, else
/// their phone by SMS. (Push joins when alerts are delivered by push.)
enum Recipient {
    Email(EmailAddress),
    Sms(PhoneNumber),
}

fn recipient_for(row: &ParticipantRow) -> Option<Recipient> {
    let wants_email = row.channels.contains(&Channel::Email);
    match (&row.email, row.email_verified_at) {
        (Some(email), Some(_)) if wants_email => Some(Recipient::Email(email.clone())),
        _ => row.phone_number.clone().map(Recipient::Sms),
    }
}

struct Text {
    subject: &'static str,
    body: String,
}

fn text(notice: Notice, language: Language, link: Option<&str>) -> Text {
    let link = link.unwrap_or_default();
    match (notice, language) {
        (Notice::VerifyEmail, Language::Dutch) => Text {
            subject: "Bevestig je e-mailadres voor Burgernet",
            body: format!(
                "Bevestig je e-mailadres voor Burgernet via deze link:\n\n{link}\n\nDe link werkt 7 dagen. \
                 Heb je dit niet aangevraagd? Dan kun je dit bericht negeren."
            ),
        },
        (Notice::VerifyEmail, Language::English) => Text {
            subject: "Confirm your e-mail address for Burgernet",
            body: format!(
                "Confirm your e-mail address for Burgernet with this link:\n\n{link}\n\nThe link works for 7 days. \
                 If you did not ask for this, you can ignore this message."
            ),
        },
        (Notice::Activated, Language::Dutch) => Text {
            subject: "Je doet mee met Burgernet",
            body: "Welkom bij Burgernet. Je aanmelding is bevestigd: je ontvangt vanaf nu Burgernetacties \
                   in jouw omgeving."
                .into(),
        },
        (Notice::Activated, Language::English) => Text {
            subject: "You are now part of Burgernet",
            body:
                "Welcome to Burgernet. Your sign-up is confirmed: from now on you receive Burgernet alerts \
                   for your area."
                    .into(),
        },
        (Notice::Removed, Language::Dutch) => Text {
            subject: "Je bent afgemeld bij Burgernet",
            body: "Je gemeente heeft je afgemeld bij Burgernet. Je ontvangt geen Burgernetacties meer. \
                   Vragen? Neem contact op met je gemeente."
                .into(),
        },
        (Notice::Removed, Language::English) => Text {
            subject: "You have been signed off Burgernet",
            body: "Your municipality has signed you off Burgernet. You will no longer receive alerts. \
                   Questions? Contact your municipality."
                .into(),
        },
        (Notice::Unsubscribed, Language::Dutch) => Text {
            subject: "Je bent afgemeld bij Burgernet",
            body: "Je account bij Burgernet is verwijderd, met al je gegevens. Bedankt voor het meedoen."
                .into(),
        },
        (Notice::Unsubscribed, Language::English) => Text {
            subject: "You have left Burgernet",
            body: "Your Burgernet account has been deleted, with all your data. Thank you for taking part."
                .into(),
        },
    }
}

impl Messaging {
    /// The configured providers; the SMS gateway and the SMTP server are required.
    pub fn from_config(config: &MessagingConfig) -> anyhow::Result<Self> {
        let sms = match &config.sms {
            Some(gateway) => SmsSender::Gateway(HttpSmsGateway::new(gateway.clone())?),
            None => anyhow::bail!("no SMS gateway is configured (BURGERNET_SMS_GATEWAY_URL)"),
        };
        let email = match &config.smtp {
            Some(smtp) => EmailSender::Smtp(SmtpMailer::new(smtp.clone())?),
            None => anyhow::bail!("no SMTP server is configured (BURGERNET_SMTP_URL)"),
        };
        let voice = match &config.voice {
            Some(gateway) => VoiceSender::Gateway(HttpVoiceGateway::new(gateway.clone())?),
            None => VoiceSender::Unconfigured,
        };
        Self::with_senders(config, sms, email, voice)
    }

    /// The configured providers; where SMS or e-mail has none, the local outbox stands in (local
    /// mode and the tests).
    #[cfg(feature = "local")]
    pub fn with_local_outbox(config: &MessagingConfig, outbox: &LocalOutbox) -> anyhow::Result<Self> {
        let sms = match &config.sms {
            Some(gateway) => SmsSender::Gateway(HttpSmsGateway::new(gateway.clone())?),
            None => SmsSender::Local(outbox.clone()),
        };
        let email = match &config.smtp {
            Some(smtp) => EmailSender::Smtp(SmtpMailer::new(smtp.clone())?),
            None => EmailSender::Local(outbox.clone()),
        };
        let voice = match &config.voice {
            Some(gateway) => VoiceSender::Gateway(HttpVoiceGateway::new(gateway.clone())?),
            None => VoiceSender::Local(outbox.clone()),
        };
        Self::with_senders(config, sms, email, voice)
    }

    fn with_senders(
        config: &MessagingConfig,
        sms: SmsSender,
        email: EmailSender,
        voice: VoiceSender,
    ) -> anyhow::Result<Self> {
        let push = PushSender {
            apns: config.apns.clone().map(ApnsClient::new).transpose()?,
            fcm: config.fcm.clone().map(FcmClient::new).transpose()?,
        };
        Ok(Self { push, sms, email, voice, public_url: config.public_url.clone() })
    }

    /// The senders, as the delivery of alerts uses them.
    pub fn providers(&self) -> Providers {
        Providers {
            push: self.push.clone(),
            sms: self.sms.clone(),
            email: self.email.clone(),
            voice: self.voice.clone(),
        }
    }

    async fn send(&self, recipient: &Recipient, text: Text, reference: &str) -> Result<(), DeliveryError> {
        match recipient {
            Recipient::Email(address) => {
                let message = EmailMessage {
                    to: address.clone(),
                    subject: text.subject.into(),
                    text_body: text.body,
                    unsubscribe_url: None,
                };
                self.email.send(&message).await?;
            }
            Recipient::Sms(phone) => {
                let body = format!("Burgernet: {}", text.body);
                self.sms.send(&SmsMessage { to: phone, body: &body, reference }).await?;
            }
        }
        Ok(())
    }

    /// Sends `notice` to the participant now, by their preferred channel.
    pub async fn send_notice(&self, row: &ParticipantRow, notice: Notice) -> Result<(), DeliveryError> {
        let Some(recipient) = recipient_for(row) else { return Ok(()) };
        self.send(&recipient, text(notice, row.language, None), &uuid::Uuid::new_v4().to_string()).await
    }
}

/// The job that sends a notice.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyParticipant {
    pub participant_id: ParticipantId,
    pub notice: Notice,
}

/// What `NotifyParticipant` needs to run.
#[derive(Clone)]
pub struct NoticeContext {
    pub pool: DbPool,
    pub messaging: Messaging,
    pub provider_errors: ProviderErrorCounter,
}

impl BackgroundJob for NotifyParticipant {
    const JOB_TYPE: &'static str = "notify_participant";
    const PRIORITY: i16 = 10;
    type Context = NoticeContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        // Erased in the meantime: there is no one left to tell.
        let Some(row) =
            queries::find(&mut conn, self.participant_id, false).await.map_err(JobError::retryable)?
        else {
            return Ok(());
        };
        let outcome = match self.notice {
            Notice::VerifyEmail => {
                let Some(email) = row.email.clone().filter(|_| row.email_verified_at.is_none()) else {
                    return Ok(());
                };
                // A fresh link each attempt; only the newest works.
                let token = NewSecretToken::generate();
                queries::replace_email_verification(
                    &mut conn,
                    self.participant_id,
                    &token.hash.0,
                    &email,
                    Utc::now() + EMAIL_VERIFICATION_TTL,
                )
                .await
                .map_err(JobError::retryable)?;
                let link = format!(
                    "{}/v1/email-verifications/{}",
                    ctx.messaging.public_url.trim_end_matches('/'),
                    token.token.expose()
                );
                let text = text(Notice::VerifyEmail, row.language, Some(&link));
                let recipient = Recipient::Email(email);
                ctx.messaging.send(&recipient, text, &self.participant_id.to_string()).await
            }
            notice => ctx.messaging.send_notice(&row, notice).await,
        };
        outcome.map_err(|error| {
            let (provider, code) = error.provider_error();
            ctx.provider_errors.count(provider, &code);
            if error.is_retryable() { JobError::retryable(error) } else { JobError::permanent(error) }
        })
    }
}

/// How messages reach participants. Without a gateway or SMTP server only local mode can run:
/// it uses its local stand-in instead.
#[derive(Debug, Clone)]
pub struct MessagingConfig {
    pub apns: Option<ApnsConfig>,
    pub fcm: Option<FcmConfig>,
    pub sms: Option<SmsGatewayConfig>,
    pub smtp: Option<SmtpConfig>,
    pub voice: Option<VoiceGatewayConfig>,
    /// Where each category's alerts put SMS and calls after push.
    pub channel_orders: ChannelOrders,
    /// The API's public base URL, used in links sent to participants.
    pub public_url: String,
}

impl MessagingConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            apns: ApnsConfig::from_env(env)?,
            fcm: FcmConfig::from_env(env)?,
            sms: SmsGatewayConfig::from_env(env)?,
            smtp: SmtpConfig::from_env(env)?,
            voice: VoiceGatewayConfig::from_env(env)?,
            channel_orders: ChannelOrders::from_env(env)?,
            public_url: env.required("BURGERNET_PUBLIC_URL", parse::http_url)?,
        })
    }

    /// For `serve` and `work`: real providers are required.
    pub fn require_providers(&self) -> Result<(), ConfigError> {
        if self.sms.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_SMS_GATEWAY_URL",
                problem: "is required: sign-in codes and notices go out by SMS".into(),
            });
        }
        if self.smtp.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_SMTP_URL",
                problem: "is required: e-mail verification and notices go out by e-mail".into(),
            });
        }
        if self.voice.is_none() && self.channel_orders.any_calls() {
            return Err(ConfigError {
                variable: "BURGERNET_VOICE_GATEWAY_URL",
                problem:
                    "is required: a category's channel order calls (BURGERNET_CHANNEL_ORDER_<CATEGORY>, \
                          by default search and alarm); set the gateway, or every order to push,sms"
                        .into(),
            });
        }
        Ok(())
    }

    /// For `work`: alerts go out by push, so both push providers are required too.
    pub fn require_push_providers(&self) -> Result<(), ConfigError> {
        if self.apns.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_APNS_KEY_FILE",
                problem: "is required: alerts reach iPhones through APNs".into(),
            });
        }
        if self.fcm.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_FCM_SERVICE_ACCOUNT_FILE",
                problem: "is required: alerts reach Android phones through FCM".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_has_a_text_in_every_language() {
        for notice in [Notice::VerifyEmail, Notice::Activated, Notice::Removed, Notice::Unsubscribed] {
            for language in Language::ALL {
                let text = text(notice, *language, Some("https://example.test/link"));
                assert!(!text.subject.is_empty() && !text.body.is_empty());
            }
        }
        assert!(
            text(Notice::VerifyEmail, Language::English, Some("https://x.test/l"))
                .body
                .contains("https://x.test/l")
        );
    }
}
