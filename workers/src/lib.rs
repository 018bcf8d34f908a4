//! The background workers. A [`Runner`] claims jobs from the Postgres queue (see
//! `burgernet_core::jobs` and `burgernet_core::db::jobs`) and runs them in groups of slots: the
//! general slots (`concurrency` of them) and one group per delivery lane (push, SMS, e-mail), so
//! that a lane waiting for its provider never takes another's slots:
//!
//! - `slot`: one lane of work: claim a job, run it while a heartbeat keeps its lease, record the
//!   outcome, and wait for a wake-up when the queue is empty;
//! - `listener`: a dedicated connection that `LISTEN`s for new jobs and wakes an idle slot;
//! - `poller`: the fallback when notifications are missed or jobs become due later; it also fails
//!   jobs whose worker vanished on their final attempt;
//! - `registry`: the job types this runner knows, behind one type-erased handler each;
//! - `housekeeping`: deletes expired personal data (live positions, codes, links) every minute,
//!   expires abandoned uploads, removes tips past their retention and catches up on send-to-push
//!   timing, and writes the dossier's signed checkpoints to the object store;
//! - `recruitment`: every `BURGERNET_RECRUITMENT_CHECK_INTERVAL`, recruits into active alerts
//!   those whose place's time window opened in the alert's area;
//! - `health`: the worker's `/healthz`, `/readyz` and `/metrics`, and the heartbeat the slots beat.

mod health;
mod housekeeping;
mod listener;
mod poller;
mod recruitment;
mod registry;
mod runner;
mod slot;

pub use health::{HealthServer, Heartbeat, WorkerHealth, health_server, stall_threshold};
pub use runner::{Runner, RunnerHandle};

use burgernet_core::alerts::delivery::{
    DeliverEmail, DeliverFallbackSms, DeliverFallbackVoice, DeliverPush, DeliverSms, DeliverVoice,
    DeliveryContext, FanOutWave, RecruitEntrants, SmsFallbackCheck,
};
use burgernet_core::config::WorkerConfig;
use burgernet_core::db::DbPool;
use burgernet_core::media::photo::PhotoLimits;
use burgernet_core::media::processing::{MediaContext, ProcessMedia};
use burgernet_core::media::retention::{EvidenceUpkeep, RemoveMediaObjects};
use burgernet_core::media::store::MediaStore;
use burgernet_core::media::uploads::AbortUnclaimedUpload;
use burgernet_core::messages::sending::{MessageSending, SendMunicipalMessage};
use burgernet_core::metrics::DeliveryMetrics;
use burgernet_core::participants::notices::{Messaging, NoticeContext, NotifyParticipant};

/// A runner for every job type of the application, keeping the evidence too (and anchoring the
/// dossier, when the configuration has a checkpoint key); `work`, `dev` and the tests start this
/// one. Deliveries are measured in `metrics`.
pub fn application_runner(
    pool: DbPool,
    config: WorkerConfig,
    messaging: Messaging,
    store: MediaStore,
    metrics: DeliveryMetrics,
) -> Runner {
    let delivery =
        DeliveryContext::new(pool.clone(), messaging.providers(), config.delivery.clone(), metrics.clone());
    let media = MediaContext::new(pool.clone(), store.clone(), config.video.clone(), PhotoLimits::default());
    let checkpoints = config.dossier_checkpoints.clone().map(|settings| (store.clone(), settings));
    let upkeep = EvidenceUpkeep { retention: config.tip_retention };
    let lane_jobs = config.lane_jobs;
    let messages = MessageSending::new(
        pool.clone(),
        &messaging,
        config.delivery.municipal_email_rate,
        metrics.provider_errors.clone(),
    );
    let runner = Runner::new(pool.clone(), config, uuid::Uuid::new_v4())
        .slot_group("push", lane_jobs.push)
        .slot_group("sms", lane_jobs.sms)
        .slot_group("email", lane_jobs.email)
        .slot_group("voice", lane_jobs.voice)
        .register::<NotifyParticipant>(NoticeContext {
            pool,
            messaging,
            provider_errors: metrics.provider_errors.clone(),
        })
        .register::<FanOutWave>(delivery.clone())
        .register::<RecruitEntrants>(delivery.clone())
        .register_in::<DeliverPush>("push", delivery.clone())
        .register_in::<DeliverSms>("sms", delivery.clone())
        .register_in::<DeliverFallbackSms>("sms", delivery.clone())
        .register_in::<SmsFallbackCheck>("sms", delivery.clone())
        .register_in::<DeliverEmail>("email", delivery.clone())
        .register_in::<DeliverVoice>("voice", delivery.clone())
        .register_in::<DeliverFallbackVoice>("voice", delivery)
        .register::<ProcessMedia>(media.clone())
        .register::<RemoveMediaObjects>(media.clone())
        .register::<AbortUnclaimedUpload>(media)
        .register::<SendMunicipalMessage>(messages)
        .with_evidence_upkeep(upkeep)
        .with_push_timing(metrics)
        .with_recruitment();
    let mut listed = burgernet_core::application::JOB_TYPES.to_vec();
    listed.sort_unstable();
    assert_eq!(
        runner.job_types(),
        listed,
        "the runner must run every job type of the application, and only those"
    );
    match checkpoints {
        Some((store, settings)) => runner.with_dossier_checkpoints(store, settings),
        None => runner,
    }
}
