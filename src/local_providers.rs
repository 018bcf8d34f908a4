//! The providers of local mode: the fake APNs, FCM and SMS gateway of `burgernet_fakes` (the TLS
//! ones with a fresh certificate authority each), and client settings that reach them, so local
//! mode runs the real push and SMS clients. What the fakes accept is copied into the local outbox
//! (`GET /dev/outbox`); the SMS gateway posts its delivery receipts to the local API.

use std::sync::Arc;
use std::time::Duration;

use burgernet_core::outbox::{LocalOutbox, OutboxChannel, OutgoingMessage};
use burgernet_core::providers::apns::ApnsConfig;
use burgernet_core::providers::fcm::{FcmConfig, ServiceAccount};
use burgernet_core::providers::sms::{DEFAULT_SENDER_ID, SmsGatewayConfig};
use burgernet_core::secret::Secret;
use burgernet_fakes::apns::{ApnsTestCredentials, FakeApns};
use burgernet_fakes::fcm::{FakeFcm, FcmTestServiceAccount};
use burgernet_fakes::sms::FakeSmsGateway;
use burgernet_fakes::tls::LocalCertificateAuthority;
use serde_json::json;
use tokio::task::JoinHandle;

/// How often what the fakes accepted is copied to the outbox.
const FORWARD_EVERY: Duration = Duration::from_millis(200);

/// How long after accepting an SMS the fake gateway reports it delivered.
const RECEIPT_DELAY: Duration = Duration::from_secs(2);

pub struct LocalProviders {
    apns: Arc<FakeApns>,
    fcm: Arc<FakeFcm>,
    sms: Arc<FakeSmsGateway>,
    apns_ca_pem: String,
    forwarder: JoinHandle<()>,
}

impl LocalProviders {
    /// Starts the fakes; the SMS gateway posts receipts to the API at `api_url` (`http://...`).
    pub async fn start(outbox: LocalOutbox, api_url: &str) -> anyhow::Result<Self> {
        let apns_ca = Arc::new(LocalCertificateAuthority::generate()?);
        let apns = Arc::new(FakeApns::start(apns_ca.clone(), ApnsTestCredentials::generate()).await?);
        let fcm_ca = LocalCertificateAuthority::generate()?;
        let fcm = Arc::new(FakeFcm::start(&fcm_ca, FcmTestServiceAccount::shared())?);
        let sms = Arc::new(FakeSmsGateway::start().await);
        sms.set_receipts(&format!("{api_url}/v1/sms/receipts"), sms.webhook_secret(), RECEIPT_DELAY);
        let forwarder = tokio::spawn(forward(apns.clone(), fcm.clone(), sms.clone(), outbox));
        Ok(Self { apns, fcm, sms, apns_ca_pem: apns_ca.ca_pem().to_string(), forwarder })
    }

    pub fn sms_config(&self) -> SmsGatewayConfig {
        SmsGatewayConfig {
            base_url: self.sms.base_url().to_string(),
            api_key: Secret::new(self.sms.api_key().to_string()),
            sender_id: DEFAULT_SENDER_ID.to_string(),
            timeout: Duration::from_secs(10),
            webhook_secret: Secret::new(self.sms.webhook_secret().to_string()),
            previous_webhook_secret: None,
        }
    }

    pub fn apns_config(&self) -> ApnsConfig {
        let credentials = self.apns.credentials();
        ApnsConfig {
            production_url: self.apns.base_url(),
            sandbox_url: self.apns.base_url(),
            signing_key: Secret::new(credentials.signing_key_pem.clone()),
            key_id: credentials.key_id.clone(),
            team_id: credentials.team_id.clone(),
            topic: credentials.topic.clone(),
            extra_ca_pem: Some(self.apns_ca_pem.clone()),
            connections: 1,
            timeout: Duration::from_secs(10),
        }
    }

    pub fn fcm_config(&self) -> FcmConfig {
        FcmConfig {
            service_account: ServiceAccount::parse(self.fcm.service_account_json())
                .expect("the fake's service account parses"),
            api_url: self.fcm.base_url().to_string(),
            extra_ca_pem: Some(self.fcm.ca_pem().to_string()),
            connections: 1,
            timeout: Duration::from_secs(10),
        }
    }
}

impl Drop for LocalProviders {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

async fn forward(apns: Arc<FakeApns>, fcm: Arc<FakeFcm>, sms: Arc<FakeSmsGateway>, outbox: LocalOutbox) {
    let (mut apns_seen, mut fcm_seen, mut sms_seen) = (0, 0, 0);
    let mut ticker = tokio::time::interval(FORWARD_EVERY);
    loop {
        ticker.tick().await;
        let received = apns.received();
        for push in received.iter().skip(apns_seen) {
            let alert = &push.payload["aps"]["alert"];
            outbox.deliver(OutgoingMessage {
                channel: OutboxChannel::Push,
                recipient: push.token.clone(),
                subject: alert["title"].as_str().map(str::to_string),
                body: alert["body"].as_str().unwrap_or_default().to_string(),
                metadata: json!({"provider": "apns", "priority": push.priority, "collapse_id": push.collapse_id, "payload": push.payload}),
            });
        }
        apns_seen = received.len();
        let received = fcm.received();
        for message in received.iter().skip(fcm_seen) {
            outbox.deliver(OutgoingMessage {
                channel: OutboxChannel::Push,
                recipient: message.token.clone(),
                subject: message.title.clone(),
                body: message.body.clone().unwrap_or_default(),
                metadata: json!({"provider": "fcm", "priority": message.priority, "collapse_key": message.collapse_key, "data": message.data}),
            });
        }
        fcm_seen = received.len();
        let sent = sms.sent();
        for message in sent.iter().skip(sms_seen) {
            outbox.deliver(OutgoingMessage {
                channel: OutboxChannel::Sms,
                recipient: message.to.clone(),
                subject: None,
                body: message.body.clone(),
                metadata: json!({"sender": message.from, "reference": message.reference, "provider_message_id": message.id}),
            });
        }
        sms_seen = sent.len();
    }
}
