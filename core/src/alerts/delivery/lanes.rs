//! The lanes: one message to one batch is delivered by one job per lane, and each lane has its
//! own job slots (see `burgernet_workers`), its own window of hand-overs in flight, and its
//! providers' rates. A batch's SMS, held to the gateway's rate, never delays its own pushes nor
//! the next batch's; nor do its calls.
//!
//! A lane job streams its hand-overs: each waits for its provider's rate and pause, then for a
//! place in the lane's window, and its outcome goes to the process's recorder as soon as it comes
//! back, while the other hand-overs are still out. Passing failures are tried again in up to
//! [`ROUNDS_PER_RUN`](super::rounds::ROUNDS_PER_RUN) rounds with backoff; what still fails is left to the job's next run, and the
//! last of [`SENDING_RUNS`] runs gives up on it.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

use super::fallback::SmsFallbackCheck;
use super::plan::Made;
use super::rounds::{self, Batch, Contact};
use super::{DeliveryContext, DeliverySettings, timing};
use crate::backoff::Backoff;
use crate::db::alerts::MessageRow;
use crate::db::deliveries::{self as queries, LaneKey};
use crate::db::jobs::{self, NewJob};
use crate::db::recipients::{self, NewLaneBatch};
use crate::ids::AlertMessageId;
use crate::jobs::{BackgroundJob, JobError};
use crate::vocabulary::alerts::{AlertStatus, Lane, MessageKind};

/// The job that delivers `message` to `batch_no` in `lane`, ready to be inserted.
pub fn lane_job(lane: Lane, message_id: AlertMessageId, batch_no: i32) -> NewJob<'static> {
    lane_job_after(lane, message_id, batch_no, Duration::ZERO)
}

/// The same, to run `delay` from now: a lane run again for what is being retried in it (a call
/// nobody answered).
pub fn lane_job_after(
    lane: Lane,
    message_id: AlertMessageId,
    batch_no: i32,
    delay: Duration,
) -> NewJob<'static> {
    let batch = LaneBatch { message_id, batch_no };
    match lane {
        Lane::Push => DeliverPush(batch).new_job(delay),
        Lane::Sms => DeliverSms(batch).new_job(delay),
        Lane::Email => DeliverEmail(batch).new_job(delay),
        Lane::FallbackSms => DeliverFallbackSms(batch).new_job(delay),
        Lane::Voice => DeliverVoice(batch).new_job(delay),
        Lane::FallbackVoice => DeliverFallbackVoice(batch).new_job(delay),
    }
}

/// One message to one batch: what every lane job carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneBatch {
    pub message_id: AlertMessageId,
    pub batch_no: i32,
}

/// Runs of a lane job that may send; the last one gives up on what still fails.
const SENDING_RUNS: i32 = 4;

/// A lane job's runs that fail or are deferred by a provider's pause (a follow-up waiting for the
/// messages before it spends none): a provider may ask for many pauses within one alert.
const LANE_JOB_ATTEMPTS: i32 = 1_000;

macro_rules! lane_job {
    ($(#[$doc:meta])* $name:ident, $lane:expr, $job_type:literal) => {
        lane_job!($(#[$doc])* $name, $lane, $job_type, LANE_JOB_ATTEMPTS);
    };
    ($(#[$doc:meta])* $name:ident, $lane:expr, $job_type:literal, $attempts:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub LaneBatch);

        impl BackgroundJob for $name {
            const JOB_TYPE: &'static str = $job_type;
            const PRIORITY: i16 = 90;
            const MAX_ATTEMPTS: i32 = $attempts;
            type Context = DeliveryContext;

            async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
                deliver(&ctx, $lane, self.0).await
            }
        }
    };
}

lane_job!(
    /// Delivers one message to one batch by push.
    DeliverPush, Lane::Push, "deliver_push"
);
lane_job!(
    /// Delivers one message to one batch by SMS (to those with no push to wait for).
    DeliverSms, Lane::Sms, "deliver_sms"
);
lane_job!(
    /// Delivers one message to one batch by e-mail.
    DeliverEmail, Lane::Email, "deliver_email"
);

lane_job!(
    /// Delivers one message to one batch by a call (to those with no push to wait for, whose
    /// phone channel is a call).
    DeliverVoice, Lane::Voice, "deliver_voice"
);

/// Runs of a fallback lane's job: it follows a push lane that has ended, and only the alert.
const FALLBACK_JOB_ATTEMPTS: i32 = 20;

lane_job!(
    /// Delivers the alert by SMS to the push lane's recipients of one batch whom push did not
    /// reach.
    DeliverFallbackSms, Lane::FallbackSms, "deliver_fallback_sms", FALLBACK_JOB_ATTEMPTS
);
lane_job!(
    /// Calls the push lane's recipients of one batch whom push did not reach and whose phone
    /// channel is a call.
    DeliverFallbackVoice, Lane::FallbackVoice, "deliver_fallback_voice", FALLBACK_JOB_ATTEMPTS
);

/// Delivers one message to one batch in `lane`: one run of a lane job.
pub(super) async fn deliver(ctx: &DeliveryContext, lane: Lane, job: LaneBatch) -> Result<(), JobError> {
    let key = LaneKey { message: job.message_id, batch_no: job.batch_no, lane };
    let (batch, run) = {
        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        let conn = &mut *conn;
        let (alert, message) = rounds::load(conn, job.message_id).await?;
        let kind = message.kind;
        if kind != MessageKind::Alert {
            let earlier = queries::earlier_lanes(conn, job.message_id, job.batch_no, lane.follows()).await?;
            if earlier.unfinished > 0 {
                return Err(JobError::not_yet(
                    follow_up_wait(&message, earlier.batch_cut_at),
                    anyhow::anyhow!("waiting for the earlier messages to reach this batch"),
                ));
            }
        }
        if kind == MessageKind::Alert && alert.status == AlertStatus::Closed {
            // Closed before this batch was alerted here: no alert, and so no closing either; a
            // call to be placed again is not.
            queries::finish_lane_unsent(conn, key).await?;
            return Ok(());
        }
        let run = queries::start_lane_run(conn, key).await?;
        (Batch::load(conn, &alert, &message, job.batch_no, lane, run.follows_interruption).await?, run)
    };
    let mut made = batch.made_before();
    let planner = |contact: &Contact, made: &Made| batch.routes(contact, made);
    let wait = rounds::deliver_rounds(ctx, &batch, &planner, &mut made, run.number >= SENDING_RUNS).await?;
    let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
    let conn = &mut *conn;
    if let Some(wait) = wait {
        queries::end_lane_run(conn, key, false).await?;
        return Err(JobError::retry_after(wait, anyhow::anyhow!("some hand-overs failed for now; retrying")));
    }
    let ends_push_lane_of_alert = lane == Lane::Push && batch.kind == MessageKind::Alert;
    conn.transaction(async |conn| {
        queries::end_lane_run(conn, key, true).await?;
        if ends_push_lane_of_alert {
            after_push_lane(conn, &batch, &made, &ctx.settings).await?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    if ends_push_lane_of_alert && batch.wave == Some(0) {
        timing::observe_if_finished(conn, batch.alert_id, &ctx.metrics).await;
    }
    Ok(())
}

/// How long a follow-up waits before looking again whether earlier messages reached its batch:
/// longer the longer it has waited for this batch (a national alert's SMS take a while), 2 s to a
/// minute. It has waited since it was written or since the batch was cut, whichever came later.
fn follow_up_wait(message: &MessageRow, batch_cut_at: Option<chrono::DateTime<chrono::Utc>>) -> Duration {
    let waiting_since = batch_cut_at.map_or(message.created_at, |cut| cut.max(message.created_at));
    let waited = (chrono::Utc::now() - waiting_since).to_std().unwrap_or_default();
    Backoff::spread_with(
        0.5,
        (waited / 10).clamp(Duration::from_secs(2), Duration::from_secs(60)),
        rand::random(),
    )
}

/// What the push lane of an alert's batch leaves behind when it ends (in its final transaction):
/// a fallback lane per phone channel, when someone it was meant to reach needs an SMS or a call
/// now, and for urgent alerts the check for unacknowledged pushes.
pub(super) async fn after_push_lane(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    made: &Made,
    settings: &DeliverySettings,
) -> diesel::QueryResult<()> {
    for fallback in batch.routing.phone_channels().filter_map(Lane::fallback) {
        let needed = batch.contacts.iter().any(|contact| {
            batch.after_push(contact)
                && batch.all_routes(contact, made).iter().any(|route| route.lane(true) == fallback)
        });
        if !needed {
            continue;
        }
        let lane = NewLaneBatch { message_id: batch.message_id, batch_no: batch.batch_no, lane: fallback };
        if !recipients::insert_lane_batches(conn, batch.alert_id, &[lane]).await?.is_empty() {
            jobs::insert_many(conn, &[lane_job(fallback, batch.message_id, batch.batch_no)]).await?;
        }
    }
    if batch.urgent && batch.routing.sms {
        SmsFallbackCheck { message_id: batch.message_id, batch_no: batch.batch_no }
            .enqueue_after(conn, settings.sms_fallback_after)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The database marks a lane's batch abandoned when the job `deliver_<lane>` fails for good
    /// (migration `follow_ups`): the names must stay in step.
    #[test]
    fn each_lane_is_delivered_by_the_job_named_after_it() {
        assert_eq!(DeliverPush::JOB_TYPE, format!("deliver_{}", Lane::Push.as_str()));
        assert_eq!(DeliverSms::JOB_TYPE, format!("deliver_{}", Lane::Sms.as_str()));
        assert_eq!(DeliverEmail::JOB_TYPE, format!("deliver_{}", Lane::Email.as_str()));
        assert_eq!(DeliverFallbackSms::JOB_TYPE, format!("deliver_{}", Lane::FallbackSms.as_str()));
        assert_eq!(DeliverVoice::JOB_TYPE, format!("deliver_{}", Lane::Voice.as_str()));
        assert_eq!(DeliverFallbackVoice::JOB_TYPE, format!("deliver_{}", Lane::FallbackVoice.as_str()));
    }
}
