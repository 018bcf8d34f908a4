//! The fake FCM (`burgernet_fakes::fcm`) wired to our client: a running fake with its own
//! certificate authority, and the client configuration that reaches it.
//!
//! ```ignore
//! let fcm = start_fake_fcm();
//! let client = fcm.fcm_client();
//! client.send(&notification).await?;
//! assert_eq!(fcm.received()[0].token, "device-token");
//! ```

use std::time::Duration;

use burgernet_core::providers::fcm::{FcmClient, FcmConfig, ServiceAccount};
use burgernet_fakes::fcm::{FakeFcm, FcmTestServiceAccount};
use burgernet_fakes::tls::LocalCertificateAuthority;

/// Starts a fake FCM for the process-wide test service account, with a certificate from a fresh
/// certificate authority.
pub fn start_fake_fcm() -> FakeFcm {
    let ca = LocalCertificateAuthority::generate().expect("generate a local certificate authority");
    FakeFcm::start(&ca, FcmTestServiceAccount::shared()).expect("start the fake FCM")
}

pub trait FakeFcmExt {
    /// A client configuration for this fake: its key file, URL and certificate authority, with
    /// 2 connections and a 5 s timeout.
    fn fcm_config(&self) -> FcmConfig;

    fn fcm_client(&self) -> FcmClient {
        FcmClient::new(self.fcm_config()).expect("build the FCM client")
    }

    /// The environment `burgernet work` needs to push through this fake; the service account and
    /// the CA are written to files in `dir`.
    fn fcm_env(&self, dir: &std::path::Path) -> Vec<(&'static str, String)>;
}

impl FakeFcmExt for FakeFcm {
    fn fcm_config(&self) -> FcmConfig {
        FcmConfig {
            service_account: ServiceAccount::parse(self.service_account_json())
                .expect("read the fake's key file"),
            api_url: self.base_url().to_string(),
            extra_ca_pem: Some(self.ca_pem().to_string()),
            connections: 2,
            timeout: Duration::from_secs(5),
        }
    }

    fn fcm_env(&self, dir: &std::path::Path) -> Vec<(&'static str, String)> {
        let account = dir.join("fcm-service-account.json");
        let ca = dir.join("fcm-ca.pem");
        std::fs::write(&account, self.service_account_json()).expect("write the FCM service account");
        std::fs::write(&ca, self.ca_pem()).expect("write the FCM CA");
        vec![
            ("BURGERNET_FCM_SERVICE_ACCOUNT_FILE", account.display().to_string()),
            ("BURGERNET_FCM_URL", self.base_url().to_string()),
            ("BURGERNET_FCM_CA_FILE", ca.display().to_string()),
        ]
    }
}
