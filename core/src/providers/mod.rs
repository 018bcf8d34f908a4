//! Clients for the providers that carry messages to participants: an SMS gateway over HTTP(S)
//! ([`sms`]), a voice gateway of the same shape that places text-to-speech calls ([`voice`],
//! reading the script of [`voice_script`]), both on the JSON gateway client they share
//! (`json_gateway.rs`, on the pooled HTTP/1.1 client of [`http1`]), and e-mail over SMTP
//! ([`email`]). Each is an enum of the real client and, with the `local` feature only (local
//! mode and the tests), the stand-in that puts messages in the local outbox
//! (`crate::outbox::LocalOutbox`), so callers hold one concrete type and never a trait object.
//! Push goes to APNs ([`apns`]) and FCM ([`fcm`]) (both behind [`PushSender`]) over HTTP/2
//! connections of our own (`http2.rs`).
//!
//! Errors from these clients follow the providers' rules, say whether a retry can help
//! (`is_retryable`) and carry what the provider answered ([`ProviderAnswer`]), which metrics
//! count. Their text never contains a phone number, an e-mail address or a message body: bodies
//! hold one-time codes and verification links, and error texts end up in logs and in the job
//! table.
//!
//! TLS: every provider client uses [`tls_client_config`]: rustls with the *ring* crypto provider,
//! handed to the client explicitly. No process-wide default crypto provider is installed, and
//! reqwest is built without TLS, on purpose: reqwest's `rustls-no-provider` feature makes every
//! reqwest client in the process (the test harness's too) panic on build unless a default provider
//! was installed first, and its `rustls` feature pulls in aws-lc.

mod answer;
pub mod apns;
pub mod email;
pub mod fcm;
pub mod http1;
mod http2;
mod json_gateway;
pub mod push;
pub mod sms;
pub mod sms_text;
mod tls;
pub mod voice;
pub mod voice_script;
pub mod webhook_signature;

use crate::vocabulary::devices::{ApnsEnvironment, Platform};
pub use answer::ProviderAnswer;
pub(crate) use answer::error_chain;
use apns::ApnsClient;
use fcm::FcmClient;
use push::{PushAccepted, PushError, PushNotification};
pub use tls::{tls_client_config, tls_client_config_trusting};

/// The providers a message to participants is handed to, one of each.
#[derive(Clone)]
pub struct Providers {
    pub push: PushSender,
    pub sms: sms::SmsSender,
    pub email: email::EmailSender,
    pub voice: voice::VoiceSender,
}

/// Push to a device of either platform: APNs for iOS, FCM for Android.
#[derive(Clone, Debug, Default)]
pub struct PushSender {
    pub apns: Option<ApnsClient>,
    pub fcm: Option<FcmClient>,
}

impl PushSender {
    /// Readies both providers (tokens, connections) before the first alert needs them; a
    /// provider that cannot be reached now is reported and tried again on the first push.
    pub async fn warm_up(&self) {
        let apns = async {
            if let Some(apns) = &self.apns
                && let Err(error) = apns.warm_up().await
            {
                tracing::warn!(%error, "could not ready APNs; the first push will try again");
            }
        };
        let fcm = async {
            if let Some(fcm) = &self.fcm
                && let Err(error) = fcm.warm_up().await
            {
                tracing::warn!(%error, "could not ready FCM; the first push will try again");
            }
        };
        tokio::join!(apns, fcm);
    }

    pub async fn send(
        &self,
        platform: Platform,
        apns_environment: Option<ApnsEnvironment>,
        notification: &PushNotification<'_>,
    ) -> Result<PushAccepted, PushError> {
        // Counted as `connect`: no provider could be reached.
        let not_configured = |what: &str| {
            PushError::unavailable(format!("no {what} client is configured"), ProviderAnswer::Connect)
        };
        match platform {
            Platform::Ios => {
                let client = self.apns.as_ref().ok_or_else(|| not_configured("APNs"))?;
                // Devices table CHECK: an iOS device always has its environment.
                let environment = apns_environment.unwrap_or(ApnsEnvironment::Production);
                client.send(environment, notification).await
            }
            Platform::Android => {
                self.fcm.as_ref().ok_or_else(|| not_configured("FCM"))?.send(notification).await
            }
        }
    }
}
