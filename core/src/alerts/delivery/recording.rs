//! Recording outcomes while the lanes go on handing over. Every lane job of a process hands its
//! outcomes to one recorder, whose tasks write whatever has gathered in one transaction: the
//! deliveries in one set-based statement, one dossier entry per alert, and the removal of devices
//! whose token died. A job waits, at the end of each round, until all it handed over is
//! committed ([`Ledger::settled`]); only then does it count its run as recorded.
//!
//! An outcome keeps its hand-over's place in the lane ([`OwnedSemaphorePermit`]) until it is
//! committed, which is what bounds the hand-overs a dying process leaves unrecorded.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde_json::json;
use tokio::sync::{Mutex, OwnedSemaphorePermit, mpsc, watch};

use super::super::{Actor, dossier};
use crate::db::DbPool;
use crate::db::deliveries::{self as queries, DeliveryRecord};
use crate::ids::{AlertId, AlertMessageId, DeviceId, ParticipantId};
use crate::metrics::{DeliveryMetrics, DeliveryResult};
use crate::vocabulary::Channel;
use crate::vocabulary::alerts::{DeliveryState, MessageKind};

/// Outcomes written in one transaction, at most.
const MOST_PER_WRITE: usize = 2_000;

/// How long a writer gathers outcomes after the first before it writes: each write costs a
/// dossier entry and a commit, so writes of hundreds are far cheaper than writes of a few.
const GATHER_FOR: std::time::Duration = std::time::Duration::from_millis(20);

/// Transactions writing outcomes at the same time (one connection each): one gathers while the
/// other writes.
const WRITERS: usize = 2;

/// A device whose token the provider declared dead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadDevice {
    pub device_id: DeviceId,
    pub token: String,
    /// When the provider learned so: a device registered again since is kept.
    pub since: Option<DateTime<Utc>>,
    /// The provider's reason, for the dossier.
    pub code: String,
}

/// One hand-over's outcome, to be recorded.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub record: DeliveryRecord,
    pub kind: MessageKind,
    pub dead_device: Option<DeadDevice>,
}

/// How far the recorder got with what one run handed it.
#[derive(Debug, Clone, Default)]
struct LedgerState {
    pending: usize,
    /// Why a write failed, if one did: the run did not get all it sent recorded.
    failure: Option<String>,
}

/// What one run of a lane job has handed to the recorder, and whether it is all committed.
#[derive(Clone)]
pub struct Ledger {
    state: Arc<watch::Sender<LedgerState>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self { state: Arc::new(watch::Sender::new(LedgerState::default())) }
    }
}

impl Ledger {
    /// Waits until everything handed over so far is committed; an error when a write failed.
    pub async fn settled(&self) -> Result<(), anyhow::Error> {
        let mut state = self.state.subscribe();
        let state = state.wait_for(|state| state.pending == 0).await.expect("the ledger holds its sender");
        match &state.failure {
            Some(failure) => Err(anyhow::anyhow!("recording deliveries failed: {failure}")),
            None => Ok(()),
        }
    }

    fn add(&self) {
        self.state.send_modify(|state| state.pending += 1);
    }

    fn written(&self, failure: Option<&str>) {
        self.state.send_modify(|state| {
            state.pending -= 1;
            if let Some(failure) = failure {
                state.failure.get_or_insert_with(|| failure.to_string());
            }
        });
    }
}

struct Pending {
    outcome: Outcome,
    ledger: Ledger,
    /// The hand-over's place in its lane, given back once the outcome is committed.
    _place: OwnedSemaphorePermit,
}

/// The process's recorder. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Recorder {
    /// Starts the writers; call from within the runtime.
    pub fn start(pool: DbPool, metrics: DeliveryMetrics) -> Self {
        let (queue, received) = mpsc::unbounded_channel();
        let received = Arc::new(Mutex::new(received));
        for _ in 0..WRITERS {
            tokio::spawn(write_as_they_come(received.clone(), pool.clone(), metrics.clone()));
        }
        Self { queue }
    }

    /// Hands one outcome over to be recorded; `place` is released once it is committed.
    pub fn submit(&self, outcome: Outcome, ledger: &Ledger, place: OwnedSemaphorePermit) {
        ledger.add();
        let pending = Pending { outcome, ledger: ledger.clone(), _place: place };
        if let Err(mpsc::error::SendError(pending)) = self.queue.send(pending) {
            // Only when the runtime is shutting down: the run does not count as recorded.
            pending.ledger.written(Some("the recorder has stopped"));
        }
    }
}

async fn write_as_they_come(
    received: Arc<Mutex<mpsc::UnboundedReceiver<Pending>>>,
    pool: DbPool,
    metrics: DeliveryMetrics,
) {
    loop {
        let mut gathered = Vec::new();
        {
            let mut received = received.lock().await;
            if received.recv_many(&mut gathered, MOST_PER_WRITE).await == 0 {
                return;
            }
            let until = tokio::time::Instant::now() + GATHER_FOR;
            while gathered.len() < MOST_PER_WRITE {
                let room = MOST_PER_WRITE - gathered.len();
                match tokio::time::timeout_at(until, received.recv_many(&mut gathered, room)).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
        let outcomes: Vec<&Outcome> = gathered.iter().map(|pending| &pending.outcome).collect();
        match write(&pool, &outcomes).await {
            Ok(()) => {
                for outcome in &outcomes {
                    let result = match outcome.record.state {
                        DeliveryState::Sent | DeliveryState::Delivered => DeliveryResult::Sent,
                        DeliveryState::Retrying => DeliveryResult::Retrying,
                        DeliveryState::Failed => DeliveryResult::Failed,
                    };
                    metrics.deliveries.count(outcome.record.channel, result, 1);
                }
                for pending in &gathered {
                    pending.ledger.written(None);
                }
            }
            Err(error) => {
                let failure = format!("{error:#}");
                tracing::warn!(error = %failure, outcomes = gathered.len(), "could not record deliveries");
                for pending in &gathered {
                    pending.ledger.written(Some(&failure));
                }
            }
        }
    }
}

/// Writes outcomes, their dossier entries and the removal of dead devices in one transaction.
async fn write(pool: &DbPool, outcomes: &[&Outcome]) -> anyhow::Result<()> {
    // A target may have two outcomes here (a quick retry): the table keeps the later one, the
    // dossier both.
    let mut latest: HashMap<
        (AlertMessageId, i32, ParticipantId, Channel, Option<DeviceId>),
        &DeliveryRecord,
    > = HashMap::new();
    let mut by_alert: Vec<(AlertId, Vec<serde_json::Value>)> = Vec::new();
    for outcome in outcomes {
        let r = &outcome.record;
        latest.insert((r.message_id, r.batch_no, r.participant_id, r.channel, r.device_id), r);
        let result = json!({
            "message_id": r.message_id,
            "kind": outcome.kind,
            "batch_no": r.batch_no,
            "participant_id": r.participant_id,
            "channel": r.channel,
            "device_id": r.device_id,
            "reason": r.reason,
            "state": r.state,
            "attempts": r.attempts,
            "error_code": r.error_code,
            "resent_after_interruption": r.resent_after_interruption,
        });
        match by_alert.iter_mut().find(|(alert, _)| *alert == r.alert_id) {
            Some((_, results)) => results.push(result),
            None => by_alert.push((r.alert_id, vec![result])),
        }
    }
    let records: Vec<DeliveryRecord> = latest.into_values().cloned().collect();
    let mut conn = pool.get().await?;
    conn.transaction(async |conn| {
        queries::record(conn, &records).await?;
        for (alert, results) in by_alert {
            dossier::record(conn, alert, &Actor::System, "deliveries", json!({ "results": results })).await?;
        }
        for outcome in outcomes {
            let Some(dead) = &outcome.dead_device else { continue };
            if queries::remove_dead_device(conn, dead.device_id, &dead.token, dead.since).await? {
                dossier::record(
                    conn,
                    outcome.record.alert_id,
                    &Actor::System,
                    "device_removed",
                    json!({
                        "participant_id": outcome.record.participant_id,
                        "device_id": dead.device_id,
                        "reason": dead.code,
                    }),
                )
                .await?;
            }
        }
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    Ok(())
}
