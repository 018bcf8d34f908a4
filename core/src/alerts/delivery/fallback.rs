//! The SMS for urgent alerts whose push nobody acknowledged within `sms_fallback_after`, by the
//! rules of [`plan`](super::plan): [`SmsFallbackCheck`], queued when the batch's push lane ends,
//! runs after that wait. (The SMS after failed pushes is the fallback lane's job,
//! [`DeliverFallbackSms`](super::lanes::DeliverFallbackSms).) It goes through the SMS lane's
//! window and the gateway's rate.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::DeliveryContext;
use super::plan::{Made, Route};
use super::rounds::{self, Batch, Contact};
use crate::db::deliveries as queries;
use crate::ids::{AlertMessageId, ParticipantId};
use crate::jobs::{BackgroundJob, JobError};
use crate::vocabulary::Channel;
use crate::vocabulary::alerts::{AlertStatus, DeliveryState, Lane, Reason};

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
            let (alert, message) = rounds::load(conn, self.message_id).await?;
            if alert.status == AlertStatus::Closed {
                return Ok(());
            }
            let unacknowledged: HashSet<ParticipantId> =
                queries::unacknowledged_push_recipients(conn, alert.id, self.message_id, self.batch_no)
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
                None | Some((DeliveryState::Retrying, _))
            );
            if recipient.active && wants_sms && pending && unacknowledged.contains(&recipient.participant_id)
            {
                vec![Route::Sms(Reason::NotAcknowledged)]
            } else {
                Vec::new()
            }
        };
        match rounds::deliver_rounds(&ctx, &batch, &planner, &mut made, false).await? {
            Some(wait) => Err(JobError::retry_after(
                wait,
                anyhow::anyhow!("some fallback SMS failed for now; retrying"),
            )),
            None => Ok(()),
        }
    }
}
