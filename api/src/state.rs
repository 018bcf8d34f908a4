//! What every handler can reach.

use burgernet_core::auth::participant::ParticipantTokens;
use burgernet_core::auth::staff::StaffTokenVerifier;
use burgernet_core::config::ApiConfig;
use burgernet_core::db::{DbPool, PooledConnection};
use burgernet_core::outbox::LocalOutbox;

use crate::error::ApiError;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub participant_tokens: ParticipantTokens,
    pub staff_tokens: StaffTokenVerifier,
    pub metrics: Metrics,
    /// Present only in `burgernet dev`: the local stand-in for push, SMS and e-mail.
    pub dev_outbox: Option<LocalOutbox>,
    pub max_body_bytes: usize,
}

impl AppState {
    pub fn new(config: &ApiConfig, pool: DbPool, dev_outbox: Option<LocalOutbox>) -> Self {
        Self {
            pool,
            participant_tokens: ParticipantTokens::new(
                config.participant_tokens.key.clone(),
                config.participant_tokens.access_token_ttl,
            ),
            staff_tokens: StaffTokenVerifier::new(&config.staff_tokens),
            metrics: Metrics::new(),
            dev_outbox,
            max_body_bytes: config.max_body_bytes,
        }
    }

    pub async fn db(&self) -> Result<PooledConnection, ApiError> {
        Ok(self.pool.get().await?)
    }
}
