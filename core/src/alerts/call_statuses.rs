//! Call statuses from the voice gateway: how a call an alert's delivery placed went (see
//! `providers::voice` for the protocol).
//!
//! A status settles the delivery, adds the minutes the gateway bills for the call, and is written
//! into the alert's dossier, in one transaction:
//! - `answered` or `voicemail`: the message was heard; the delivery is `delivered`;
//! - `no_answer`, `busy`, or a failure that does not say the number is dead: the participant is
//!   called once more, [`CALL_AGAIN_AFTER`] later, by a run of the delivery's lane (so through the
//!   gateway's rate and the lane's window); a second such status fails the delivery. An alert
//!   closed meanwhile calls nobody again;
//! - a failure that says the number is dead (`invalid_number`, ...): the delivery fails and the
//!   participant is quarantined, as after an undeliverable SMS.
//!
//! A status for a call we do not know is acknowledged and ignored; so is a second status for a
//! call already settled (a gateway's retry): it changes nothing and adds no minutes. A status
//! that comes before the call was recorded (a call can fail at once, and the outcomes of
//! hand-overs are written a moment after they come back) names one of our messages in its
//! reference: the gateway is asked to send it again a little later ([`CallStatusOutcome::NotYetRecorded`]).

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use super::delivery::hand_over::message_of_reference;
use super::delivery::lanes::lane_job_after;
use super::delivery::plan::Route;
use super::sms_receipts::quarantine_if_active;
use crate::db::dossier::{self, NewDossierEntry};
use crate::db::jobs;
use crate::db::receipts::{self as queries, CallDeliveryRow};
use crate::ids::ParticipantId;
use crate::metrics::DeliveryResult;
use crate::providers::voice::CallStatus;
use crate::vocabulary::alerts::{AlertStatus, DeliveryState, Lane, MessageKind};

/// How long after a call nobody answered the participant is called once more.
pub const CALL_AGAIN_AFTER: Duration = Duration::from_secs(120);

/// Who the dossier names as the author of a call's status.
const SYSTEM: &str = "system";

/// What recording a call status did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatusOutcome {
    /// No call of ours has this id: nothing was recorded.
    Unknown,
    /// The call is ours but not recorded yet: nothing was recorded; the gateway should try again.
    NotYetRecorded,
    /// The call was settled before: nothing changed.
    AlreadySettled,
    Recorded {
        delivery_id: i64,
        /// How the delivery ended: `delivered` or `failed`; `None` while it is called again.
        settled: Option<DeliveryResult>,
        /// The participant will be called once more.
        calls_again: bool,
        /// The participant was active and is now quarantined: their number proved dead.
        quarantined: Option<ParticipantId>,
    },
}

/// Records `status` in one transaction (see the module documentation).
pub async fn record_call_status(
    conn: &mut AsyncPgConnection,
    status: &CallStatus,
) -> Result<CallStatusOutcome, diesel::result::Error> {
    conn.transaction(async |conn| {
        let Some(call) = queries::find_call_for_update(conn, &status.provider_call_id).await? else {
            if let Some(message) = message_of_reference(&status.reference)
                && queries::message_exists(conn, message).await?
            {
                return Ok(CallStatusOutcome::NotYetRecorded);
            }
            tracing::info!(
                provider_call_id = status.provider_call_id.as_str(),
                status = status.outcome.as_str(),
                "call status for a call we do not know"
            );
            return Ok(CallStatusOutcome::Unknown);
        };
        // Only a call the gateway queued and nothing settled yet; `retrying` means this call's
        // status was recorded and the next call is coming.
        if call.state != DeliveryState::Sent {
            return Ok(CallStatusOutcome::AlreadySettled);
        }
        let minutes = i32::try_from(status.billable_minutes()).unwrap_or(i32::MAX);
        queries::add_call_minutes(conn, call.id, minutes).await?;
        let calls_again = status.is_retryable() && !call.called_again && may_call_again(&call);
        let settled = if status.outcome.reached() {
            queries::mark_delivered(conn, call.id, status.at).await?;
            Some(DeliveryResult::Delivered)
        } else if calls_again {
            queries::mark_call_again(conn, call.id, status.outcome.as_str()).await?;
            let lane = lane_of(&call);
            jobs::insert_many(
                conn,
                &[lane_job_after(lane, call.message_id, call.batch_no, CALL_AGAIN_AFTER)],
            )
            .await?;
            None
        } else {
            let code = status.error_code.as_deref().unwrap_or(status.outcome.as_str());
            queries::mark_failed(conn, call.id, Some(code), status.at).await?;
            Some(DeliveryResult::Failed)
        };
        let quarantined = match status.permanent_failure_code() {
            Some(code) => {
                let reason = format!("Calls to this number proved impossible ({code})");
                quarantine_if_active(conn, call.participant_id, &reason).await?.then_some(call.participant_id)
            }
            None => None,
        };
        dossier::append(
            conn,
            &NewDossierEntry {
                alert_id: call.alert_id,
                kind: "voice_call",
                actor: SYSTEM,
                actor_name: None,
                body: json!({
                    "delivery_id": call.id,
                    "participant_id": call.participant_id,
                    "status": status.outcome.as_str(),
                    "duration_seconds": status.duration_seconds,
                    "billable_minutes": minutes,
                    "error_code": status.error_code,
                    "calls_again": calls_again,
                }),
            },
        )
        .await?;
        tracing::info!(
            delivery_id = call.id,
            status = status.outcome.as_str(),
            error_code = status.error_code.as_deref(),
            calls_again,
            quarantined = quarantined.is_some(),
            "call status recorded"
        );
        Ok(CallStatusOutcome::Recorded { delivery_id: call.id, settled, calls_again, quarantined })
    })
    .await
}

/// A closed alert calls nobody again about the alert itself; its closing message is still read.
fn may_call_again(call: &CallDeliveryRow) -> bool {
    call.kind != MessageKind::Alert || call.alert_status != AlertStatus::Closed
}

/// The lane that placed the call, and so runs again to place the next one.
fn lane_of(call: &CallDeliveryRow) -> Lane {
    match call.kind {
        MessageKind::Alert => Route::Voice(call.reason).lane(call.push_expected),
        _ => Lane::Voice,
    }
}
