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

    pub fn client(&self) -> ApnsClient {
        ApnsClient::new(self.config()).expect("an APNs client")
    }
}
