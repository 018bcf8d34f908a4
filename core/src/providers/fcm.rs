//! The FCM HTTP v1 client (being written on its own branch; this stand-in only fixes the interface).

use crate::providers::push::{PushAccepted, PushError, PushNotification};

#[derive(Clone, Debug)]
pub struct FcmClient;

impl FcmClient {
    pub async fn send(&self, _notification: &PushNotification<'_>) -> Result<PushAccepted, PushError> {
        Err(PushError::Unavailable { detail: "FCM is not configured".into(), retry_after: None })
    }
}
