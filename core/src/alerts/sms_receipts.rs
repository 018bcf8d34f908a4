//! Delivery receipts from the SMS gateway: what became of an alert's SMS after the gateway
//! accepted it (see `providers::sms` for the protocol).
//!
//! A receipt moves the delivery to `delivered` or `failed` and is written into the alert's
//! dossier. A failure that says the number will never receive SMS also quarantines the
//! participant, as an officer would: their municipality sees them in the quarantine queue and
//! decides what happens next (the number may have changed). Receipts for messages we do not know
//! (a sign-in code, a message older than our records) are acknowledged and otherwise ignored.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::json;

use crate::db::dossier::{self, NewDossierEntry};
use crate::db::participants::{self as participant_queries, NewStaffAction};
use crate::db::receipts as queries;
use crate::ids::ParticipantId;
use crate::metrics::DeliveryResult;
use crate::participants::management::Decision;
use crate::participants::membership;
use crate::providers::sms::{ReceiptStatus, SmsReceipt};
use crate::vocabulary::alerts::DeliveryState;

/// Who the record of an automatic quarantine names as its author.
const SYSTEM: &str = "system";

/// What recording a receipt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// No SMS delivery has this provider message id: nothing was recorded.
    Unknown,
    Recorded {
        delivery_id: i64,
        /// The participant was active and is now quarantined: their number proved undeliverable.
        quarantined: Option<ParticipantId>,
        /// How this receipt settled the delivery: `delivered` or `failed`; `None` when an earlier
        /// receipt had settled it (a gateway's retry, a late report).
        settled: Option<DeliveryResult>,
    },
}

/// Records `receipt` in one transaction: the delivery's state, the quarantine a permanent failure
/// causes, and an entry in the alert's dossier.
pub async fn record_sms_receipt(
    conn: &mut AsyncPgConnection,
    receipt: &SmsReceipt,
) -> Result<ReceiptOutcome, diesel::result::Error> {
    conn.transaction(async |conn| {
        let Some(delivery) = queries::find_for_update(conn, &receipt.provider_message_id).await? else {
            tracing::info!(
                provider_message_id = receipt.provider_message_id.as_str(),
                status = receipt.status.as_str(),
                "sms receipt for a message we do not know"
            );
            return Ok(ReceiptOutcome::Unknown);
        };
        match receipt.status {
            ReceiptStatus::Delivered => queries::mark_delivered(conn, delivery.id, receipt.at).await?,
            ReceiptStatus::Failed | ReceiptStatus::Expired => {
                queries::mark_failed(conn, delivery.id, receipt.error_code.as_deref(), receipt.at).await?
            }
        }
        let participant = delivery.participant_id;
        // Only the receipt that settles the delivery acts on it: a gateway's retry of a receipt
        // we recorded must not quarantine a participant an officer has since reinstated.
        let settled_before = matches!(delivery.state, DeliveryState::Delivered | DeliveryState::Failed);
        let quarantined = match receipt.permanent_failure_code() {
            Some(code) if !settled_before => {
                let reason = format!("SMS to this number proved undeliverable ({code})");
                quarantine_if_active(conn, participant, &reason).await?.then_some(participant)
            }
            _ => None,
        };
        dossier::append(
            conn,
            &NewDossierEntry {
                alert_id: delivery.alert_id,
                kind: "sms_receipt",
                actor: SYSTEM,
                actor_name: None,
                body: json!({
                    "delivery_id": delivery.id,
                    "participant_id": participant,
                    "status": receipt.status.as_str(),
                    "error_code": receipt.error_code,
                }),
            },
        )
        .await?;
        tracing::info!(
            delivery_id = delivery.id,
            status = receipt.status.as_str(),
            error_code = receipt.error_code.as_deref(),
            quarantined = quarantined.is_some(),
            "sms receipt recorded"
        );
        let settled = (!settled_before).then_some(match receipt.status {
            ReceiptStatus::Delivered => DeliveryResult::Delivered,
            ReceiptStatus::Failed | ReceiptStatus::Expired => DeliveryResult::Failed,
        });
        Ok(ReceiptOutcome::Recorded { delivery_id: delivery.id, quarantined, settled })
    })
    .await
}

/// Quarantines the participant if they are active, on record as the system's decision for
/// `reason`. Returns whether it did.
pub(super) async fn quarantine_if_active(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    reason: &str,
) -> Result<bool, diesel::result::Error> {
    let Some(row) = participant_queries::find(conn, participant, true).await? else { return Ok(false) };
    let from = row.status;
    let Some(to) = Decision::Quarantine.transition(from) else { return Ok(false) };
    let municipality = row.municipality_cbs.as_deref();
    membership::change_status(conn, &row, to, municipality, Decision::Quarantine.cause()).await?;
    participant_queries::insert_staff_action(
        conn,
        &NewStaffAction {
            participant,
            municipality_cbs: municipality,
            staff_subject: SYSTEM,
            staff_name: None,
            staff_role: SYSTEM,
            action: Decision::Quarantine.as_str(),
            from_status: Some(from),
            to_status: Some(to),
            reason,
        },
    )
    .await?;
    Ok(true)
}
