//! Getting a message to every recipient, at the speed of each provider. The pipeline, one file
//! per step:
//!
//! 1. [`fan_out`]: the [`FanOutWave`] job (after send and each expansion) streams the wave's
//!    recipients out of the spatial index and cuts them into batches while the selection still
//!    runs, in set-based statements on parallel connections; each batch gets a delivery job per
//!    lane it needs, so the first batch is being delivered while the rest is still being cut.
//!    While the alert is active, [`recruitment`] adds waves of those who enter its area (a live
//!    position, a time window that opens) and cuts them the same way.
//! 2. [`lanes`]: one job per message, batch and lane ([`DeliverPush`], [`DeliverSms`],
//!    [`DeliverEmail`], [`DeliverVoice`], and after the push lane [`DeliverFallbackSms`] and
//!    [`DeliverFallbackVoice`]). Lanes have job slots, windows and rates of their
//!    own, so a slow or rate-limited channel never holds another: a batch's SMS never delays its
//!    own pushes, nor the next batch's.
//! 3. [`plan`]: which deliveries a recipient gets, and in which lane (pure rules).
//! 4. [`fallback`]: the SMS or call after failed pushes (queued by the push lane when it ends) and
//!    the SMS for an urgent push nobody acknowledged ([`SmsFallbackCheck`]).
//! 5. [`hand_over`]: one message to one provider, and how its answer is classified.
//! 6. [`throttle`]: each provider's rate, shared by every worker process, and the pauses
//!    providers ask for.
//! 7. [`recording`]: outcomes written in large set-based statements, with their dossier entries,
//!    by a task of the process, while the lanes go on handing over.
//!
//! **Crash bound.** A hand-over holds a place in its lane's window from before it is sent until
//! its outcome is committed, and a lane admits at most twice its window of such places (one
//! window at the provider, one waiting to be recorded). So a worker process that dies has made
//! at most [`DeliverySettings::max_unrecorded_hand_overs`] hand-overs that no record shows; the
//! runs that take over mark what they send again `resent_after_interruption`.

pub mod context;
pub mod fallback;
pub mod fan_out;
pub mod hand_over;
pub mod lanes;
pub mod plan;
pub mod recording;
pub mod recruitment;
pub mod render;
pub mod rounds;
pub mod throttle;
pub mod timing;

use std::time::Duration;

pub use self::context::DeliveryContext;
pub use self::fallback::SmsFallbackCheck;
pub use self::fan_out::FanOutWave;
pub use self::lanes::{
    DeliverEmail, DeliverFallbackSms, DeliverFallbackVoice, DeliverPush, DeliverSms, DeliverVoice, LaneBatch,
};
pub use self::recruitment::RecruitEntrants;
use self::throttle::Rate;

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Recipients per batch (one delivery job per lane).
    pub batch_size: usize,
    /// Recipients in an alert's first batch: small, so the first pushes go out at once.
    pub first_batch_size: usize,
    /// Urgent alerts: an SMS follows when no device confirmed receipt within this time.
    pub sms_fallback_after: Duration,
    /// How long push providers keep trying to reach a device.
    pub push_lifetime: Duration,
    /// The first wait before retrying a passing failure within a run; it doubles each round.
    pub retry_base: Duration,
    /// Pushes at the providers at once, per worker process.
    pub push_window: usize,
    /// SMS at the gateway at once, per worker process.
    pub sms_window: usize,
    /// E-mails at the mail server at once, per worker process.
    pub email_window: usize,
    /// Calls being placed at the voice gateway at once, per worker process.
    pub voice_window: usize,
    /// Rates per provider, shared by every worker process (none: as fast as the window allows).
    pub apns_rate: Option<Rate>,
    pub fcm_rate: Option<Rate>,
    pub sms_rate: Option<Rate>,
    pub email_rate: Option<Rate>,
    pub voice_rate: Option<Rate>,
    /// Municipal messages' e-mail (newsletters), shared by every worker process, so they never
    /// crowd out alerts at the mail server.
    pub municipal_email_rate: Rate,
    /// Connections that cut a wave's recipients into batches at the same time.
    pub cutters: usize,
    /// How often the workers look for places whose time window opened in a recruiting alert's
    /// area (see [`recruitment`]).
    pub recruitment_check: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            batch_size: 500,
            first_batch_size: 50,
            sms_fallback_after: Duration::from_secs(60),
            push_lifetime: Duration::from_secs(3600),
            retry_base: Duration::from_millis(500),
            push_window: 1_000,
            sms_window: 32,
            email_window: 8,
            voice_window: 16,
            apns_rate: None,
            // Firebase's default project quota.
            fcm_rate: Some(Rate { per_second: 600_000.0 / 60.0 }),
            sms_rate: Some(Rate { per_second: 200.0 }),
            email_rate: Some(Rate { per_second: 20.0 }),
            // Calls last a minute or more: a gateway takes a few new ones a second, not hundreds.
            voice_rate: Some(Rate { per_second: 10.0 }),
            municipal_email_rate: Rate { per_second: 20.0 },
            cutters: 2,
            recruitment_check: Duration::from_secs(30),
        }
    }
}

impl DeliverySettings {
    /// The most hand-overs a worker process can have made without their outcomes being recorded:
    /// what may arrive twice when it dies (twice each lane's window, see the module docs).
    pub fn max_unrecorded_hand_overs(&self) -> usize {
        2 * (self.push_window + self.sms_window + self.email_window + self.voice_window)
    }
}
