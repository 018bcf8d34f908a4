//! Push for local mode: the fake APNs and FCM servers of `burgernet_fakes`, each with a fresh
//! certificate authority, and client settings that reach them, so local mode runs the real push
//! clients. What the fakes accept is copied into the local outbox (`GET /dev/outbox`).

use std::time::Duration;

use burgernet_core::outbox::{LocalOutbox, OutboxChannel, OutgoingMessage};
use burgernet_core::providers::apns::ApnsConfig;
use burgernet_core::providers::fcm::{FcmConfig, ServiceAccount};
use burgernet_core::secret::Secret;
use burgernet_fakes::apns::{ApnsTestCredentials, FakeApns};
use burgernet_fakes::fcm::{FakeFcm, FcmTestServiceAccount};
use burgernet_fakes::tls::LocalCertificateAuthority;
use serde_json::json;
use tokio::task::JoinHandle;

/// How often accepted pushes are copied to the outbox.
const FORWARD_EVERY: Duration = Duration::from_millis(200);

pub struct LocalPushProviders {
    apns: std::sync::Arc<FakeApns>,
    fcm: std::sync::Arc<FakeFcm>,
    apns_ca_pem: String,
    forwarder: JoinHandle<()>,
}

impl LocalPushProviders {
    pub async fn start(outbox: LocalOutbox) -> anyhow::Result<Self> {
        let apns_ca = std::sync::Arc::new(LocalCertificateAuthority::generate()?);
        let apns =
            std::sync::Arc::new(FakeApns::start(apns_ca.clone(), ApnsTestCredentials::generate()).await?);
        let fcm_ca = LocalCertificateAuthority::generate()?;
        let fcm = std::sync::Arc::new(FakeFcm::start(&fcm_ca, FcmTestServiceAccount::shared())?);
        let forwarder = tokio::spawn(forward(apns.clone(), fcm.clone(), outbox));
        Ok(Self { apns, fcm, apns_ca_pem: apns_ca.ca_pem().to_string(), forwarder })
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
            timeout: Duration::from_secs(10),
        }
    }
}

impl Drop for LocalPushProviders {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

async fn forward(apns: std::sync::Arc<FakeApns>, fcm: std::sync::Arc<FakeFcm>, outbox: LocalOutbox) {
    let (mut apns_seen, mut fcm_seen) = (0, 0);
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
    }
}
