//! The APNs client (being written on its own branch; this stand-in only fixes the interface).

use crate::participants::devices::ApnsEnvironment;
use crate::providers::push::{PushAccepted, PushError, PushNotification};

#[derive(Clone, Debug)]
pub struct ApnsClient;

impl ApnsClient {
    pub async fn send(
        &self,
        _environment: ApnsEnvironment,
        _notification: &PushNotification<'_>,
    ) -> Result<PushAccepted, PushError> {
        Err(PushError::Unavailable { detail: "APNs is not configured".into(), retry_after: None })
    }
}
