//! The fake APNs (`burgernet_fakes::apns`) with a client of ours pointed at it.
//!
//! ```ignore
//! let apns = ApnsHarness::start().await;
//! let client = apns.client();                 // or apns.config() to adjust first
//! client.send(ApnsEnvironment::Production, &notification).await?;
//! assert_eq!(apns.fake.received().len(), 1);
//! ```

use std::sync::Arc;
use std::time::Duration;

use burgernet_core::providers::apns::{ApnsClient, ApnsConfig};
use burgernet_core::secret::Secret;
use burgernet_fakes::apns::{ApnsTestCredentials, FakeApns, FakeApnsOptions};
use burgernet_fakes::tls::LocalCertificateAuthority;

pub struct ApnsHarness {
    pub ca: Arc<LocalCertificateAuthority>,
    pub fake: FakeApns,
}

impl ApnsHarness {
    pub async fn start() -> Self {
        Self::start_with(FakeApnsOptions::default()).await
    }

    pub async fn start_with(options: FakeApnsOptions) -> Self {
        let ca = Arc::new(LocalCertificateAuthority::generate().expect("a local CA"));
        let fake = FakeApns::start_with(ca.clone(), ApnsTestCredentials::generate(), options)
            .await
            .expect("the fake APNs starts");
        Self { ca, fake }
    }

    /// A configuration that reaches this fake for both environments with its credentials,
    /// trusting its CA, with 2 connections and a 5 s timeout.
    pub fn config(&self) -> ApnsConfig {
        let credentials = self.fake.credentials();
        ApnsConfig {
            production_url: self.fake.base_url(),
            sandbox_url: self.fake.base_url(),
            signing_key: Secret::new(credentials.signing_key_pem.clone()),
            key_id: credentials.key_id.clone(),
            team_id: credentials.team_id.clone(),
            topic: credentials.topic.clone(),
            extra_ca_pem: Some(self.ca.ca_pem().to_string()),
            connections: 2,
            timeout: Duration::from_secs(5),
        }
    }

    /// The environment `burgernet work` needs to push through this fake; the key and the CA are
    /// written to files in `dir`.
    pub fn env(&self, dir: &std::path::Path) -> Vec<(&'static str, String)> {
        let credentials = self.fake.credentials();
        let key = dir.join("apns-key.p8");
        let ca = dir.join("apns-ca.pem");
        std::fs::write(&key, &credentials.signing_key_pem).expect("write the APNs key");
        std::fs::write(&ca, self.ca.ca_pem()).expect("write the APNs CA");
        vec![
            ("BURGERNET_APNS_KEY_FILE", key.display().to_string()),
            ("BURGERNET_APNS_KEY_ID", credentials.key_id.clone()),
            ("BURGERNET_APNS_TEAM_ID", credentials.team_id.clone()),
            ("BURGERNET_APNS_TOPIC", credentials.topic.clone()),
            ("BURGERNET_APNS_URL", self.fake.base_url()),
            ("BURGERNET_APNS_SANDBOX_URL", self.fake.base_url()),
            ("BURGERNET_APNS_CA_FILE", ca.display().to_string()),
        ]
    }

    pub fn client(&self) -> ApnsClient {
        ApnsClient::new(self.config()).expect("an APNs client")
    }
}
