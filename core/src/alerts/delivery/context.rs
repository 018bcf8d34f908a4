//! What the delivery jobs of one process share: the providers, the settings, the lanes' windows,
//! the providers' gates and the recorder.

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::DeliverySettings;
use super::plan::Route;
use super::recording::Recorder;
use super::throttle::ProviderGate;
use crate::db::DbPool;
use crate::metrics::DeliveryMetrics;
use crate::providers::email::EmailSender;
use crate::providers::sms::SmsSender;
use crate::providers::voice::VoiceSender;
use crate::providers::{Providers, PushSender};
use crate::vocabulary::Channel;
use crate::vocabulary::devices::Platform;

/// What the delivery jobs of one process share: the providers, the lanes' windows and gates,
/// and the recorder.
#[derive(Clone)]
pub struct DeliveryContext {
    pub pool: DbPool,
    pub push: PushSender,
    pub sms: SmsSender,
    pub email: EmailSender,
    pub voice: VoiceSender,
    pub settings: DeliverySettings,
    /// Where hand-overs, provider errors and the time to the first and last push are counted.
    pub metrics: DeliveryMetrics,
    pub(super) lanes: Arc<Lanes>,
    pub(super) recorder: Recorder,
}

impl DeliveryContext {
    /// Starts the process's recorder; call from within the runtime that runs the jobs.
    pub fn new(
        pool: DbPool,
        providers: Providers,
        settings: DeliverySettings,
        metrics: DeliveryMetrics,
    ) -> Self {
        let lanes = Arc::new(Lanes::new(&settings, &pool));
        let recorder = Recorder::start(pool.clone(), metrics.clone());
        let Providers { push, sms, email, voice } = providers;
        Self { pool, push, sms, email, voice, settings, metrics, lanes, recorder }
    }
}

/// A lane's share of the process: pushes (or SMS, e-mails) at the provider at once, and places
/// for hand-overs not yet recorded (twice the window: one window at the provider, one being
/// recorded).
pub(super) struct LaneWindow {
    pub(super) in_flight: Semaphore,
    pub(super) places: Arc<Semaphore>,
}

impl LaneWindow {
    fn new(window: usize) -> Self {
        let window = window.max(1);
        Self { in_flight: Semaphore::new(window), places: Arc::new(Semaphore::new(2 * window)) }
    }
}

/// The windows of the lanes and the gates of the providers, one of each per process.
pub(super) struct Lanes {
    push: LaneWindow,
    sms: LaneWindow,
    email: LaneWindow,
    voice: LaneWindow,
    pub(super) apns: ProviderGate,
    pub(super) fcm: ProviderGate,
    pub(super) sms_gateway: ProviderGate,
    pub(super) smtp: ProviderGate,
    pub(super) voice_gateway: ProviderGate,
}

impl Lanes {
    pub(super) fn new(settings: &DeliverySettings, pool: &DbPool) -> Self {
        Self {
            push: LaneWindow::new(settings.push_window),
            sms: LaneWindow::new(settings.sms_window),
            email: LaneWindow::new(settings.email_window),
            voice: LaneWindow::new(settings.voice_window),
            apns: ProviderGate::new("apns", settings.apns_rate, pool.clone()),
            fcm: ProviderGate::new("fcm", settings.fcm_rate, pool.clone()),
            sms_gateway: ProviderGate::new("sms", settings.sms_rate, pool.clone()),
            smtp: ProviderGate::new("smtp", settings.email_rate, pool.clone()),
            voice_gateway: ProviderGate::new("voice", settings.voice_rate, pool.clone()),
        }
    }

    pub(super) fn window(&self, channel: Channel) -> &LaneWindow {
        match channel {
            Channel::Push => &self.push,
            Channel::Sms => &self.sms,
            Channel::Email => &self.email,
            Channel::Voice => &self.voice,
        }
    }

    pub(super) fn gate(&self, route: &Route) -> &ProviderGate {
        match route {
            Route::Push(device) => match device.platform {
                Platform::Ios => &self.apns,
                Platform::Android => &self.fcm,
            },
            Route::Sms(_) => &self.sms_gateway,
            Route::Email => &self.smtp,
            Route::Voice(_) => &self.voice_gateway,
        }
    }
}
