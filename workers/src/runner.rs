//! Starting and stopping a runner: the slots, the listener and the poller share one
//! [`RunnerState`].

use std::sync::Arc;

use burgernet_core::config::WorkerConfig;
use burgernet_core::db::DbPool;
use burgernet_core::jobs::BackgroundJob;
use burgernet_core::metrics::DeliveryMetrics;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::health::Heartbeat;
use crate::registry::Registry;
use crate::{housekeeping, listener, poller, slot};
use burgernet_core::media::retention::EvidenceUpkeep;

/// Where a runner is in its life; slots watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Running,
    /// Shutting down: claim nothing new, let running jobs finish.
    Draining,
    /// The grace period is over: stop running jobs and release them.
    Stopping,
}

pub(crate) struct RunnerState {
    pub(crate) pool: DbPool,
    pub(crate) config: WorkerConfig,
    /// Holds the leases of the jobs this runner claims.
    pub(crate) worker_id: Uuid,
    pub(crate) registry: Registry,
    pub(crate) job_types: Vec<&'static str>,
    /// Wakes one idle slot to look for work.
    pub(crate) wake: Notify,
    pub(crate) stage: watch::Receiver<Stage>,
    /// Expiring abandoned uploads and enforcing the retention of tips, when this runner does it.
    pub(crate) evidence_upkeep: Option<EvidenceUpkeep>,
    /// Observing alerts' initial waves that finished unobserved, when this runner delivers alerts.
    pub(crate) push_timing: Option<DeliveryMetrics>,
    /// Beaten by the slots on every round of their loop: the worker's liveness.
    pub(crate) heartbeat: Heartbeat,
}

pub struct Runner {
    pool: DbPool,
    config: WorkerConfig,
    worker_id: Uuid,
    registry: Registry,
    evidence_upkeep: Option<EvidenceUpkeep>,
    push_timing: Option<DeliveryMetrics>,
}

impl Runner {
    /// `worker_id` must be unique among running workers; it is what holds a job's lease.
    pub fn new(pool: DbPool, config: WorkerConfig, worker_id: Uuid) -> Self {
        Self {
            pool,
            config,
            worker_id,
            registry: Registry::default(),
            evidence_upkeep: None,
            push_timing: None,
        }
    }

    /// Also observe, every housekeeping round, the send-to-push timing of alerts whose initial
    /// wave finished without a delivery job noticing (see `alerts::delivery::timing`).
    pub fn with_push_timing(mut self, metrics: DeliveryMetrics) -> Self {
        self.push_timing = Some(metrics);
        self
    }

    /// Also expire abandoned uploads and enforce the retention of tips, every housekeeping round.
    pub fn with_evidence_upkeep(mut self, upkeep: EvidenceUpkeep) -> Self {
        self.evidence_upkeep = Some(upkeep);
        self
    }

    /// Runs jobs of type `J`, giving each a clone of `ctx`.
    pub fn register<J: BackgroundJob>(mut self, ctx: J::Context) -> Self {
        self.registry.register::<J>(ctx);
        self
    }

    /// Starts the slots, the listener and the poller. The listener is subscribed before this
    /// returns (unless the database is unreachable; polling covers that), so a job committed
    /// afterwards wakes the runner at once.
    pub async fn start(self) -> RunnerHandle {
        let (stage, stage_receiver) = watch::channel(Stage::Running);
        let state = Arc::new(RunnerState {
            job_types: self.registry.job_types(),
            pool: self.pool,
            config: self.config,
            worker_id: self.worker_id,
            registry: self.registry,
            wake: Notify::new(),
            stage: stage_receiver,
            evidence_upkeep: self.evidence_upkeep,
            push_timing: self.push_timing,
            heartbeat: Heartbeat::new(),
        });
        tracing::info!(
            worker_id = %state.worker_id,
            job_types = ?state.job_types,
            concurrency = state.config.concurrency,
            "job runner starting"
        );

        let mut helpers = JoinSet::new();
        helpers.spawn(listener::start(state.clone()).await);
        helpers.spawn(poller::run(state.clone()));
        helpers.spawn(housekeeping::run(state.clone()));
        let mut slots = JoinSet::new();
        for _ in 0..state.config.concurrency {
            slots.spawn(slot::run(state.clone()));
        }
        RunnerHandle { state, stage, slots, helpers }
    }
}

/// A started runner. Dropping it aborts every task at once, leaving running jobs to be taken
/// over when their leases expire; [`RunnerHandle::shutdown`] is the graceful way.
pub struct RunnerHandle {
    state: Arc<RunnerState>,
    stage: watch::Sender<Stage>,
    slots: JoinSet<()>,
    helpers: JoinSet<()>,
}

impl RunnerHandle {
    /// What the worker's `/healthz` watches.
    pub fn heartbeat(&self) -> Heartbeat {
        self.state.heartbeat.clone()
    }

    /// Stops claiming, waits up to the shutdown grace for running jobs, then stops the rest and
    /// releases them so another worker can take them at once.
    pub async fn shutdown(mut self) {
        let grace = self.state.config.shutdown_grace;
        tracing::info!(worker_id = %self.state.worker_id, ?grace, "job runner shutting down");
        self.stage.send_replace(Stage::Draining);
        self.helpers.abort_all();
        if tokio::time::timeout(grace, join_all(&mut self.slots)).await.is_err() {
            tracing::warn!("jobs still running after the shutdown grace; releasing them");
            self.stage.send_replace(Stage::Stopping);
            join_all(&mut self.slots).await;
        }
        tracing::info!(worker_id = %self.state.worker_id, "job runner stopped");
    }
}

async fn join_all(slots: &mut JoinSet<()>) {
    while let Some(result) = slots.join_next().await {
        if let Err(error) = result {
            tracing::error!(%error, "a job slot ended abnormally");
        }
    }
}
