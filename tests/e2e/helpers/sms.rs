//! The fake SMS gateway (`burgernet_fakes::sms`) as our client sees it: a client configuration
//! and a sender pointing at it. These return core types, which the fakes crate does not know.

use std::time::Duration;

use burgernet_core::providers::sms::{HttpSmsGateway, SmsGatewayConfig, SmsSender};
use burgernet_core::secret::Secret;
pub use burgernet_fakes::sms::{FakeSmsGateway, ReceivedSms};

pub trait SmsGatewayExt {
    /// A client configuration pointing at this gateway: its key and webhook secret, sender id
    /// `Burgernet`, and a 5 s timeout.
    fn sms_gateway_config(&self) -> SmsGatewayConfig;

    /// A real client for this gateway, built from [`Self::sms_gateway_config`].
    fn sms_sender(&self) -> SmsSender {
        SmsSender::Gateway(HttpSmsGateway::new(self.sms_gateway_config()).expect("build the SMS client"))
    }
}

impl SmsGatewayExt for FakeSmsGateway {
    fn sms_gateway_config(&self) -> SmsGatewayConfig {
        SmsGatewayConfig {
            base_url: self.base_url().to_string(),
            api_key: Secret::new(self.api_key().to_string()),
            sender_id: "Burgernet".into(),
            timeout: Duration::from_secs(5),
            webhook_secret: Secret::new(self.webhook_secret().to_string()),
            previous_webhook_secret: None,
        }
    }
}
