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
use crate::{housekeeping, listener, poller, recruitment, slot};
use burgernet_core::alerts::dossier::checkpoints::CheckpointSettings;
use burgernet_core::media::retention::EvidenceUpkeep;
use burgernet_core::media::store::MediaStore;

/// Where a runner is in its life; slots watch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Running,
    /// Shutting down: claim nothing new, let running jobs finish.
    Draining,
    /// The grace period is over: stop running jobs and release them.
    Stopping,
}

/// Slots that run some job types and no others: the delivery lanes each have theirs, so a lane
/// whose jobs wait (for a provider's rate) never takes the slots of another.
pub(crate) struct SlotGroup {
    pub(crate) name: &'static str,
    pub(crate) slots: usize,
    pub(crate) job_types: Vec<&'static str>,
    /// Wakes one idle slot of the group to look for work.
    pub(crate) wake: Notify,
}

/// The group of every job type registered without one.
pub const GENERAL: &str = "general";

pub(crate) struct RunnerState {
    pub(crate) pool: DbPool,
    pub(crate) config: WorkerConfig,
    /// Holds the leases of the jobs this runner claims.
    pub(crate) worker_id: Uuid,
    pub(crate) registry: Registry,
    pub(crate) groups: Vec<SlotGroup>,
    pub(crate) stage: watch::Receiver<Stage>,
    /// Expiring abandoned uploads and enforcing the retention of tips, when this runner does it.
    pub(crate) evidence_upkeep: Option<EvidenceUpkeep>,
    /// Observing alerts' initial waves that finished unobserved, when this runner delivers alerts.
    pub(crate) push_timing: Option<DeliveryMetrics>,
    /// Writing the dossier's checkpoints to this store, when this runner does it.
    pub(crate) dossier_checkpoints: Option<(MediaStore, CheckpointSettings)>,
    /// Whether this runner recruits those whose time window opens in an alert's area.
    pub(crate) recruitment: bool,
    /// Beaten by the slots on every round of their loop: the worker's liveness.
    pub(crate) heartbeat: Heartbeat,
}

pub struct Runner {
    pool: DbPool,
    config: WorkerConfig,
    worker_id: Uuid,
    registry: Registry,
    /// Slot groups besides the general one, with their number of slots.
    groups: Vec<(&'static str, usize)>,
    evidence_upkeep: Option<EvidenceUpkeep>,
    push_timing: Option<DeliveryMetrics>,
    dossier_checkpoints: Option<(MediaStore, CheckpointSettings)>,
    recruitment: bool,
}

impl Runner {
    /// `worker_id` must be unique among running workers; it is what holds a job's lease.
    pub fn new(pool: DbPool, config: WorkerConfig, worker_id: Uuid) -> Self {
        Self {
            pool,
            config,
            worker_id,
            registry: Registry::default(),
            groups: Vec::new(),
            evidence_upkeep: None,
            push_timing: None,
            dossier_checkpoints: None,
            recruitment: false,
        }
    }

    /// Also look, every `BURGERNET_RECRUITMENT_CHECK_INTERVAL`, for places whose time window
    /// opened in a recruiting alert's area (see `alerts::delivery::recruitment`).
    pub fn with_recruitment(mut self) -> Self {
        self.recruitment = true;
        self
    }

    /// Also observe, every housekeeping round, the send-to-push timing of alerts whose initial
    /// wave finished without a delivery job noticing (see `alerts::delivery::timing`).
    pub fn with_push_timing(mut self, metrics: DeliveryMetrics) -> Self {
        self.push_timing = Some(metrics);
        self
    }

    /// Also write a checkpoint of the dossier to `store`, every housekeeping round that finds a
    /// dossier grown (see `alerts::dossier::checkpoints`).
    pub fn with_dossier_checkpoints(mut self, store: MediaStore, settings: CheckpointSettings) -> Self {
        self.dossier_checkpoints = Some((store, settings));
        self
    }

    /// Also expire abandoned uploads and enforce the retention of tips, every housekeeping round.
    pub fn with_evidence_upkeep(mut self, upkeep: EvidenceUpkeep) -> Self {
        self.evidence_upkeep = Some(upkeep);
        self
    }

    /// Runs jobs of type `J` in the general slots (`BURGERNET_WORKER_CONCURRENCY` of them),
    /// giving each a clone of `ctx`.
    pub fn register<J: BackgroundJob>(mut self, ctx: J::Context) -> Self {
        self.registry.register::<J>(GENERAL, ctx);
        self
    }

    /// Adds a group of `slots` slots that run only the job types registered in it.
    /// The job types this runner runs, sorted.
    pub fn job_types(&self) -> Vec<&'static str> {
        self.registry.job_types()
    }

    pub fn slot_group(mut self, name: &'static str, slots: usize) -> Self {
        assert!(
            name != GENERAL && !self.groups.iter().any(|(other, _)| *other == name),
            "slot group {name} twice"
        );
        self.groups.push((name, slots));
        self
    }

    /// Runs jobs of type `J` in the slots of `group` (see [`Runner::slot_group`]).
    pub fn register_in<J: BackgroundJob>(mut self, group: &'static str, ctx: J::Context) -> Self {
        assert!(self.groups.iter().any(|(name, _)| *name == group), "no slot group {group}");
        self.registry.register::<J>(group, ctx);
        self
    }

    /// Starts the slots, the listener and the poller. The listener is subscribed before this
    /// returns (unless the database is unreachable; polling covers that), so a job committed
    /// afterwards wakes the runner at once.
    pub async fn start(self) -> RunnerHandle {
        let (stage, stage_receiver) = watch::channel(Stage::Running);
        let groups = std::iter::once((GENERAL, self.config.concurrency))
            .chain(self.groups)
            .map(|(name, slots)| SlotGroup {
                name,
                slots,
                job_types: self.registry.job_types_of(name),
                wake: Notify::new(),
            })
            .filter(|group| !group.job_types.is_empty())
            .collect();
        let state = Arc::new(RunnerState {
            groups,
            pool: self.pool,
            config: self.config,
            worker_id: self.worker_id,
            registry: self.registry,
            stage: stage_receiver,
            evidence_upkeep: self.evidence_upkeep,
            push_timing: self.push_timing,
            dossier_checkpoints: self.dossier_checkpoints,
            recruitment: self.recruitment,
            heartbeat: Heartbeat::new(),
        });
        for group in &state.groups {
            tracing::info!(
                worker_id = %state.worker_id,
                group = group.name,
                job_types = ?group.job_types,
                slots = group.slots,
                "job runner starting"
            );
        }

        let mut helpers = JoinSet::new();
        helpers.spawn(listener::start(state.clone()).await);
        helpers.spawn(poller::run(state.clone()));
        helpers.spawn(housekeeping::run(state.clone()));
        if state.recruitment {
            helpers.spawn(recruitment::run(state.clone()));
        }
        let mut slots = JoinSet::new();
        for (group, slot_group) in state.groups.iter().enumerate() {
            for _ in 0..slot_group.slots {
                slots.spawn(slot::run(state.clone(), group));
            }
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
