//! What every handler can reach.

use std::sync::Arc;
use std::time::Duration;

use burgernet_core::alerts::area::AreaLimits;
use burgernet_core::alerts::cap::CapSender;
use burgernet_core::alerts::delivery::plan::ChannelOrders;
use burgernet_core::alerts::tips::TipSettings;
use burgernet_core::auth::participant::ParticipantTokens;
use burgernet_core::auth::staff::StaffTokenVerifier;
use burgernet_core::config::{ApiConfig, ReportSettings};
use burgernet_core::db::{DbPool, PooledConnection};
use burgernet_core::media::MediaSettings;
use burgernet_core::media::store::MediaStore;
use burgernet_core::messages::AllowedChannels;
#[cfg(feature = "local")]
use burgernet_core::outbox::LocalOutbox;
use burgernet_core::participants::notices::Messaging;
use burgernet_core::participants::sign_in::{SignIn, SignInPolicy};
use burgernet_core::providers::sms::SmsGatewayConfig;
use burgernet_core::providers::voice::VoiceGatewayConfig;
use burgernet_core::secret::Secret;
#[cfg(feature = "local")]
use burgernet_local::identity::openid::LocalOpenIdProvider;

use tokio::sync::watch;

use crate::alert_events::EventStreams;
use crate::console::ConsoleSite;
use crate::error::ApiError;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub participant_tokens: ParticipantTokens,
    pub staff_tokens: StaffTokenVerifier,
    pub metrics: Metrics,
    /// Present only in `burgernet dev` (and the tests' local mode): the local stand-in for push,
    /// SMS and e-mail.
    #[cfg(feature = "local")]
    pub dev_outbox: Option<LocalOutbox>,
    /// Present only in local mode with the local identity provider: the OpenID Connect provider
    /// the console signs in with, served under `/dev/identity`.
    #[cfg(feature = "local")]
    pub dev_identity: Option<Arc<LocalOpenIdProvider>>,
    pub max_body_bytes: usize,
    pub sign_in_policy: SignInPolicy,
    pub messaging: Messaging,
    pub live_location_ttl: Duration,
    pub recruiting_window: Duration,
    pub trusted_proxy_hops: usize,
    pub alert_areas: AreaLimits,
    pub reports: ReportSettings,
    /// Turns true when the server begins to stop: event streams end then, so a graceful stop does
    /// not wait for them (clients reconnect elsewhere with `Last-Event-ID`).
    pub stopping: watch::Receiver<bool>,
    stop_streams: Arc<watch::Sender<bool>>,
    /// The live event streams of alerts open in this process, and the pollers feeding them.
    pub event_streams: EventStreams,
    /// What SMS delivery receipts may be signed with (none without a gateway: every receipt is
    /// refused).
    pub sms_webhook_secrets: Vec<Secret<String>>,
    /// What the voice gateway's call statuses may be signed with (none without a voice gateway:
    /// every status is refused).
    pub voice_webhook_secrets: Vec<Secret<String>>,
    /// Where each category's alerts put SMS and calls (`BURGERNET_CHANNEL_ORDER_<CATEGORY>`).
    pub channel_orders: ChannelOrders,
    /// Who we are in CAP messages (`BURGERNET_CAP_SENDER`).
    pub cap_sender: CapSender,
    /// What the mail provider's bounce reports may be signed with (none without an SMTP server or
    /// `BURGERNET_EMAIL_WEBHOOK_SECRET`: every report is refused).
    pub email_webhook_secrets: Vec<Secret<String>>,
    /// Which channels each kind of municipal message may use.
    pub municipal_message_channels: AllowedChannels,
    /// Where photos and videos are kept; `/v1/media-store/...` serves a filesystem store's URLs.
    pub media_store: MediaStore,
    pub media: MediaSettings,
    pub tips: TipSettings,
    /// The console's settings and the policy its pages carry.
    pub console: ConsoleSite,
}

impl AppState {
    /// The state of a production process: the SMS gateway and the SMTP server must be configured.
    pub fn new(config: &ApiConfig, pool: DbPool, media_store: MediaStore) -> anyhow::Result<Self> {
        Self::with_messaging(config, pool, Messaging::from_config(&config.messaging)?, media_store)
    }

    /// Local mode: SMS and e-mail without a configured provider go to `outbox`, which
    /// `GET /dev/outbox` lists.
    #[cfg(feature = "local")]
    pub fn in_local_mode(
        config: &ApiConfig,
        pool: DbPool,
        outbox: LocalOutbox,
        media_store: MediaStore,
    ) -> anyhow::Result<Self> {
        let messaging = Messaging::with_local_outbox(&config.messaging, &outbox)?;
        let mut state = Self::with_messaging(config, pool, messaging, media_store)?;
        state.dev_outbox = Some(outbox);
        state.console = ConsoleSite::new(&config.console, true);
        Ok(state)
    }

    /// Serves `provider` under `/dev/identity` (local mode only).
    #[cfg(feature = "local")]
    pub fn with_dev_identity(mut self, provider: LocalOpenIdProvider) -> Self {
        self.dev_identity = Some(Arc::new(provider));
        self
    }

    fn with_messaging(
        config: &ApiConfig,
        pool: DbPool,
        messaging: Messaging,
        media_store: MediaStore,
    ) -> anyhow::Result<Self> {
        let (stop_streams, stopping) = watch::channel(false);
        let metrics = Metrics::new();
        let event_streams =
            EventStreams::new(config.event_streams, metrics.event_streams.clone(), pool.clone());
        Ok(Self {
            stopping,
            stop_streams: Arc::new(stop_streams),
            event_streams,
            pool,
            participant_tokens: ParticipantTokens::new(
                config.participant_tokens.key.clone(),
                config.participant_tokens.access_token_ttl,
            )
            .accepting_previous(config.participant_tokens.previous_key.clone()),
            staff_tokens: StaffTokenVerifier::new(&config.staff_tokens)?,
            metrics,
            messaging,
            #[cfg(feature = "local")]
            dev_outbox: None,
            #[cfg(feature = "local")]
            dev_identity: None,
            max_body_bytes: config.max_body_bytes,
            sign_in_policy: config.sign_in.clone(),
            live_location_ttl: config.live_location_ttl,
            recruiting_window: config.recruiting_window,
            trusted_proxy_hops: config.trusted_proxy_hops,
            alert_areas: config.alert_areas,
            reports: config.reports,
            sms_webhook_secrets: config
                .messaging
                .sms
                .as_ref()
                .map(SmsGatewayConfig::webhook_secrets)
                .unwrap_or_default(),
            voice_webhook_secrets: config
                .messaging
                .voice
                .as_ref()
                .map(VoiceGatewayConfig::webhook_secrets)
                .unwrap_or_default(),
            channel_orders: config.messaging.channel_orders,
            cap_sender: config.cap_sender.clone(),
            email_webhook_secrets: config
                .messaging
                .smtp
                .as_ref()
                .map(|smtp| smtp.webhook_secrets.clone())
                .unwrap_or_default(),
            municipal_message_channels: config.municipal_message_channels.clone(),
            media_store,
            media: config.media,
            tips: config.tips,
            console: ConsoleSite::new(&config.console, false),
        })
    }

    /// Ends the event streams; call it before stopping the server.
    pub fn close_streams(&self) {
        self.stop_streams.send_replace(true);
    }

    pub async fn db(&self) -> Result<PooledConnection, ApiError> {
        Ok(self.pool.get().await?)
    }

    pub fn sign_in(&self) -> SignIn<'_> {
        SignIn { policy: &self.sign_in_policy, tokens: &self.participant_tokens, sms: &self.messaging.sms }
    }
}
