//! The fan-out of one wave ([`FanOutWave`], after the send and after each expansion): everyone
//! the alert's area reaches who is not a recipient yet becomes one, in batches, and each batch
//! gets a delivery job per lane it needs.
//!
//! The selection streams out of the spatial index on one connection; as its rows come, they are
//! cut into batches, and the batches are written by [`DeliverySettings::cutters`] connections at
//! once, a few batches per transaction (recipients, lanes and jobs each in one set-based
//! statement). So the first batch (a small one) is being delivered while the rest of the area is
//! still being read, and a national alert's 3 M recipients never sit in memory at once.
//!
//! The waves of one alert are cut one after another, so batch numbers need no lock: an
//! expansion's fan-out waits until the wave before it has all its recipients.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{Mutex, mpsc};

use super::lanes::lane_job;
use super::plan::{self, AlertRouting};
use super::{DeliveryContext, timing};
use crate::alerts::delivery::plan::effective_channels;
use crate::alerts::{Actor, dossier};
use crate::db::alerts as alert_queries;
use crate::db::jobs;
use crate::db::recipients::{self, Candidate, NewLaneBatch, NewRecipient};
use crate::ids::{AlertId, AlertMessageId};
use crate::jobs::{BackgroundJob, JobError};
use crate::vocabulary::Channel;
use crate::vocabulary::alerts::{AlertStatus, Lane};

/// Snapshots the recipients of one wave of an alert, in batches with their delivery jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOutWave {
    pub alert_id: AlertId,
    pub message_id: AlertMessageId,
    pub wave: i16,
}

/// Batches waiting to be written (200,000 recipients, about 10 MB); the selection pauses when the
/// writers fall this far behind, which only a national alert makes them.
const BATCHES_QUEUED: usize = 400;

/// Batches written in one transaction, at most.
const BATCHES_PER_TRANSACTION: usize = 4;

impl BackgroundJob for FanOutWave {
    const JOB_TYPE: &'static str = "fan_out_wave";
    const PRIORITY: i16 = 100;
    const MAX_ATTEMPTS: i32 = 10;
    type Context = DeliveryContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let (alert, first_batch_no) = {
            let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
            let conn = &mut *conn;
            let alert = alert_queries::find_alert(conn, self.alert_id, false)
                .await?
                .ok_or_else(|| JobError::permanent(anyhow::anyhow!("the alert does not exist")))?;
            if alert.status == AlertStatus::Closed {
                recipients::mark_wave_selected(conn, self.alert_id, self.wave).await?;
                return Ok(());
            }
            if !recipients::earlier_waves_selected(conn, self.alert_id, self.wave).await? {
                return Err(JobError::not_yet(
                    Duration::from_secs(1),
                    anyhow::anyhow!("waiting for the earlier waves to have their recipients"),
                ));
            }
            (alert, recipients::next_batch_no(conn, self.alert_id).await?)
        };
        let channels = effective_channels(alert.urgent, &alert.channels);
        let routing = AlertRouting::new(alert.urgent, &channels);
        let (batches, cut_queue) = mpsc::channel(BATCHES_QUEUED);
        let wave = WaveCut { alert: self.alert_id, message: self.message_id, wave: self.wave, routing };
        let (selected, cut) = tokio::join!(
            select(&ctx, &wave, alert.reach_key(), &channels, first_batch_no, batches),
            cut_all(&ctx, &wave, cut_queue),
        );
        let (selected, cut) = (selected?, cut?);

        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        let conn = &mut *conn;
        conn.transaction(async |conn| {
            dossier::record(
                conn,
                self.alert_id,
                &Actor::System,
                "recipients_selected",
                json!({
                    "wave": self.wave,
                    "message_id": self.message_id,
                    "recipients": cut.recipients,
                    "batches": cut.batches,
                    "matched_by_live_location": cut.by_live_location,
                    "matched_by_target_group": cut.by_target_group,
                    "select_ms": selected.select_ms,
                }),
            )
            .await?;
            recipients::mark_wave_selected(conn, self.alert_id, self.wave).await
        })
        .await?;
        tracing::info!(
            alert_id = %self.alert_id,
            wave = self.wave,
            recipients = cut.recipients,
            batches = cut.batches,
            select_ms = selected.select_ms,
            "wave fanned out"
        );
        if self.wave == 0 {
            // Its batches may all have finished before the last of them was added.
            timing::observe_if_finished(conn, self.alert_id, &ctx.metrics).await;
        }
        Ok(())
    }
}

/// What every batch of the wave shares.
pub(super) struct WaveCut {
    pub(super) alert: AlertId,
    pub(super) message: AlertMessageId,
    pub(super) wave: i16,
    pub(super) routing: AlertRouting,
}

/// One batch as the selection cuts it.
pub(super) struct BatchCut {
    pub(super) batch_no: i32,
    recipients: Vec<NewRecipient>,
    lanes: Vec<Lane>,
    by_live_location: usize,
    by_target_group: usize,
    size: usize,
}

impl BatchCut {
    pub(super) fn new(batch_no: i32, size: usize) -> Self {
        Self {
            batch_no,
            recipients: Vec::with_capacity(size),
            lanes: Vec::new(),
            by_live_location: 0,
            by_target_group: 0,
            size,
        }
    }

    pub(super) fn add(&mut self, candidate: Candidate, routing: AlertRouting) {
        let reach = &candidate.reach_channels;
        for lane in plan::lanes_for_reach(routing, reach) {
            if !self.lanes.contains(&lane) {
                self.lanes.push(lane);
            }
        }
        match candidate.matched_by.as_str() {
            "live_location" => self.by_live_location += 1,
            "target_group" => self.by_target_group += 1,
            _ => {}
        }
        self.recipients.push(NewRecipient {
            participant_id: candidate.participant_id,
            batch_no: self.batch_no,
            push_expected: plan::push_expected(routing, reach),
        });
    }

    pub(super) fn is_full(&self) -> bool {
        self.recipients.len() >= self.size
    }
}

/// How the selection went.
struct Selected {
    select_ms: u64,
}

/// Streams the wave's candidates out of the spatial index and cuts them into batches: first a
/// small one, then full ones. Stops early when the writers stop (the alert was closed). Those who
/// are recipients already (an earlier wave, a second point) are left out by the writers.
async fn select(
    ctx: &DeliveryContext,
    wave: &WaveCut,
    reach_key: &str,
    channels: &[Channel],
    first_batch_no: i32,
    batches: mpsc::Sender<BatchCut>,
) -> Result<Selected, JobError> {
    let settings = &ctx.settings;
    let batch_size = settings.batch_size.max(1);
    let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
    let started = Instant::now();
    let candidates = recipients::stream_candidates(&mut conn, wave.alert, reach_key, channels).await?;
    let mut candidates = std::pin::pin!(candidates);
    let mut batch = BatchCut::new(first_batch_no, settings.first_batch_size.clamp(1, batch_size));
    while let Some(candidate) = candidates.next().await {
        batch.add(candidate?, wave.routing);
        if batch.is_full() {
            let next = BatchCut::new(batch.batch_no + 1, batch_size);
            if batches.send(std::mem::replace(&mut batch, next)).await.is_err() {
                break;
            }
        }
    }
    if !batch.recipients.is_empty() {
        let _ = batches.send(batch).await;
    }
    Ok(Selected { select_ms: started.elapsed().as_millis() as u64 })
}

/// What the writers added.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CutTotals {
    pub(super) recipients: i64,
    pub(super) batches: usize,
    by_live_location: usize,
    by_target_group: usize,
}

impl CutTotals {
    fn add(&mut self, written: CutTotals) {
        self.recipients += written.recipients;
        self.batches += written.batches;
        self.by_live_location += written.by_live_location;
        self.by_target_group += written.by_target_group;
    }
}

/// Writes the batches as they come, on several connections at once.
async fn cut_all(
    ctx: &DeliveryContext,
    wave: &WaveCut,
    queue: mpsc::Receiver<BatchCut>,
) -> Result<CutTotals, JobError> {
    let queue = Arc::new(Mutex::new(queue));
    let writers = (0..ctx.settings.cutters.max(1)).map(|_| cut_as_they_come(ctx, wave, &queue));
    let mut totals = CutTotals::default();
    for written in futures_util::future::join_all(writers).await {
        totals.add(written?);
    }
    Ok(totals)
}

async fn cut_as_they_come(
    ctx: &DeliveryContext,
    wave: &WaveCut,
    queue: &Mutex<mpsc::Receiver<BatchCut>>,
) -> Result<CutTotals, JobError> {
    let mut totals = CutTotals::default();
    let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
    loop {
        let mut batches = Vec::with_capacity(BATCHES_PER_TRANSACTION);
        if queue.lock().await.recv_many(&mut batches, BATCHES_PER_TRANSACTION).await == 0 {
            return Ok(totals);
        }
        match cut(&mut conn, wave, &batches).await {
            Ok(Some(written)) => totals.add(written),
            outcome => {
                // Closed, or a write failed: nothing more is cut, and the selection stops.
                queue.lock().await.close();
                return outcome.map(|_| totals).map_err(JobError::from);
            }
        }
    }
}

/// Writes some batches in one transaction (see [`write_batches`]). `None` when the alert was
/// closed meanwhile: nobody more is to be alerted.
async fn cut(
    conn: &mut AsyncPgConnection,
    wave: &WaveCut,
    batches: &[BatchCut],
) -> diesel::QueryResult<Option<CutTotals>> {
    conn.transaction(async |conn| {
        if !recipients::hold_open_alert(conn, wave.alert).await? {
            return Ok(None);
        }
        write_batches(conn, wave, batches).await.map(Some)
    })
    .await
}

/// Writes batches of recipients, their lanes (the wave's message and every update so far) and
/// the lanes' jobs, in the caller's transaction, which holds the alert open.
pub(super) async fn write_batches(
    conn: &mut AsyncPgConnection,
    wave: &WaveCut,
    batches: &[BatchCut],
) -> diesel::QueryResult<CutTotals> {
    let new: Vec<NewRecipient> = batches.iter().flat_map(|batch| batch.recipients.iter().cloned()).collect();
    let filled = recipients::insert_recipients(conn, wave.alert, wave.wave, &new).await?;
    let updates = recipients::update_message_ids(conn, wave.alert).await?;
    let mut lanes = Vec::new();
    for filled in &filled {
        let Some(batch) = batches.iter().find(|batch| batch.batch_no == filled.batch_no) else {
            continue;
        };
        for lane in &batch.lanes {
            lanes.push(NewLaneBatch { message_id: wave.message, batch_no: batch.batch_no, lane: *lane });
        }
        for update in &updates {
            for lane in plan::follow_up_lanes(wave.routing) {
                lanes.push(NewLaneBatch {
                    message_id: AlertMessageId(*update),
                    batch_no: batch.batch_no,
                    lane,
                });
            }
        }
    }
    let added = recipients::insert_lane_batches(conn, wave.alert, &lanes).await?;
    let lane_jobs: Vec<_> = added
        .iter()
        .map(|(message, batch_no, lane)| lane_job(*lane, AlertMessageId(*message), *batch_no))
        .collect();
    jobs::insert_many(conn, &lane_jobs).await?;
    Ok(CutTotals {
        recipients: filled.iter().map(|batch| batch.added).sum(),
        batches: filled.len(),
        by_live_location: batches.iter().map(|batch| batch.by_live_location).sum(),
        by_target_group: batches.iter().map(|batch| batch.by_target_group).sum(),
    })
}
