//! SMS when push did not do it, by the rules of [`plan`](super::plan):
//!
//! - after failed pushes (or a device that went before it was tried): the fallback lane
//!   ([`DeliverFallbackSms`]), queued by the batch's push lane when it ends, in the same
//!   transaction;
//! - urgent alerts whose push nobody acknowledged within `sms_fallback_after`:
//!   [`SmsFallbackCheck`], also queued when the push lane ends, runs after that wait.
//!
//! Both go through the SMS lane's window and the gateway's rate.

use std::collections::HashSet;

use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::lanes::{self, Batch, Contact, Lane, LaneBatch};
use super::plan::{Made, Reason, Route, State};
use super::{DeliveryContext, DeliverySettings};
use crate::alerts::AlertStatus;
use crate::db::deliveries as queries;
use crate::db::jobs;
use crate::db::recipients::{self, NewLaneBatch};
use crate::ids::{AlertId, AlertMessageId};
use crate::jobs::{BackgroundJob, JobError};
use crate::participants::Channel;

/// Delivers the alert by SMS to the push lane's recipients of one batch whom push did not reach.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeliverFallbackSms(pub LaneBatch);

impl BackgroundJob for DeliverFallbackSms {
    const JOB_TYPE: &'static str = "deliver_fallback_sms";
    const PRIORITY: i16 = 90;
    const MAX_ATTEMPTS: i32 = 20;
    type Context = DeliveryContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        lanes::deliver(&ctx, Lane::FallbackSms, self.0).await
    }
}

/// What the push lane of an alert's batch leaves behind when it ends (in its final transaction):
/// the fallback lane, when someone it was meant to reach needs an SMS now, and for urgent alerts
/// the check for unacknowledged pushes.
pub(super) async fn after_push_lane(
    conn: &mut AsyncPgConnection,
    batch: &Batch,
    made: &Made,
    settings: &DeliverySettings,
) -> diesel::QueryResult<()> {
    if !batch.routing.sms {
        return Ok(());
    }
    let needs_fallback = batch.contacts.iter().any(|contact| {
        batch.after_push(contact)
            && batch.all_routes(contact, made).iter().any(|route| route.lane(true) == Lane::FallbackSms)
    });
    if needs_fallback {
        let lane = NewLaneBatch {
            message_id: batch.message_id,
            batch_no: batch.batch_no,
            lane: Lane::FallbackSms.as_str(),
        };
        if !recipients::insert_lane_batches(conn, batch.alert_id, &[lane]).await?.is_empty() {
            jobs::insert_many(conn, &[Lane::FallbackSms.job(batch.message_id, batch.batch_no)]).await?;
        }
    }
    if batch.urgent {
        SmsFallbackCheck { message_id: batch.message_id, batch_no: batch.batch_no }
            .enqueue_after(conn, settings.sms_fallback_after)
            .await?;
    }
    Ok(())
}

/// For urgent alerts: an SMS to recipients whose devices got the push but who did not confirm
/// receipt in time, if they chose SMS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsFallbackCheck {
    pub message_id: AlertMessageId,
    pub batch_no: i32,
}

impl BackgroundJob for SmsFallbackCheck {
    const JOB_TYPE: &'static str = "sms_fallback_check";
    const PRIORITY: i16 = 80;
    const MAX_ATTEMPTS: i32 = 6;
    type Context = DeliveryContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let (batch, unacknowledged) = {
            let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
            let conn = &mut *conn;
            let (alert, message) = lanes::load(conn, self.message_id).await?;
            if AlertStatus::from_database(&alert.status) == AlertStatus::Closed {
                return Ok(());
            }
            let unacknowledged: HashSet<Uuid> = queries::unacknowledged_push_recipients(
                conn,
                AlertId(alert.id),
                self.message_id,
                self.batch_no,
            )
            .await?
            .into_iter()
            .collect();
            if unacknowledged.is_empty() {
                return Ok(());
            }
            // The push lane's recipients, whose pushes this follows up.
            (
                Batch::load(conn, &alert, &message, self.batch_no, Lane::FallbackSms, false).await?,
                unacknowledged,
            )
        };
        let mut made = batch.made_before();
        let planner = |contact: &Contact, made: &Made| -> Vec<Route> {
            let recipient = &contact.recipient;
            let wants_sms = recipient.channels.contains(&Channel::Sms) && recipient.has_phone;
            let pending = matches!(
                made.get(&(recipient.participant_id, Channel::Sms, None)),
                None | Some((State::Retrying, _))
            );
            if recipient.active && wants_sms && pending && unacknowledged.contains(&recipient.participant_id)
            {
                vec![Route::Sms(Reason::NotAcknowledged)]
            } else {
                Vec::new()
            }
        };
        match lanes::deliver_rounds(&ctx, &batch, &planner, &mut made, false).await? {
            Some(wait) => Err(JobError::retry_after(
                wait,
                anyhow::anyhow!("some fallback SMS failed for now; retrying"),
            )),
            None => Ok(()),
        }
    }
}
