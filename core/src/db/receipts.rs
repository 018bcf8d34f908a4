//! The SQL of what providers report after they took a message: SMS delivery receipts and call
//! statuses. Finding the delivery a report is about, and recording its outcome.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use diesel::sql_types::{Bool, Integer, Text, Uuid as SqlUuid};

use super::schema::deliveries;
use crate::ids::{AlertId, AlertMessageId, ParticipantId};
use crate::vocabulary::Channel;
use crate::vocabulary::alerts::{AlertStatus, DeliveryState, MessageKind, Reason};

/// The SMS delivery a receipt is about, as far as recording the receipt needs it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct SmsDeliveryRow {
    pub id: i64,
    pub alert_id: AlertId,
    pub participant_id: ParticipantId,
    pub state: DeliveryState,
}

/// The SMS delivery the gateway gave `provider_message_id`, locked until the transaction ends so
/// two receipts for one message are recorded one after the other.
pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    provider_message_id: &str,
) -> QueryResult<Option<SmsDeliveryRow>> {
    deliveries::table
        .filter(deliveries::channel.eq(Channel::Sms))
        .filter(deliveries::provider_message_id.eq(provider_message_id))
        .select(SmsDeliveryRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Marks the delivery delivered at `at`; a second receipt keeps the first time.
pub async fn mark_delivered(
    conn: &mut AsyncPgConnection,
    delivery_id: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(deliveries::table.find(delivery_id))
        .set((
            deliveries::state.eq(DeliveryState::Delivered),
            deliveries::delivered_at.eq(diesel::dsl::case_when(deliveries::delivered_at.is_null(), Some(at))
                .otherwise(deliveries::delivered_at)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the delivery failed for good at `at`, unless it was delivered: a late failure report
/// does not undo an arrival.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    delivery_id: i64,
    error_code: Option<&str>,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        deliveries::table.find(delivery_id).filter(deliveries::state.ne(DeliveryState::Delivered)),
    )
    .set((
        deliveries::state.eq(DeliveryState::Failed),
        deliveries::failed_at.eq(at),
        deliveries::error_code.eq(error_code),
    ))
    .execute(conn)
    .await?;
    Ok(())
}

/// The call a status is about, with what deciding on another call needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct CallDeliveryRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = SqlUuid)]
    pub alert_id: AlertId,
    #[diesel(sql_type = SqlUuid)]
    pub message_id: AlertMessageId,
    #[diesel(sql_type = Integer)]
    pub batch_no: i32,
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub state: DeliveryState,
    #[diesel(sql_type = Text)]
    pub reason: Reason,
    #[diesel(sql_type = Bool)]
    pub called_again: bool,
    #[diesel(sql_type = Text)]
    pub kind: MessageKind,
    #[diesel(sql_type = Text)]
    pub alert_status: AlertStatus,
    /// The recipient was the push lane's (see `alerts::delivery::plan::Route::lane`).
    #[diesel(sql_type = Bool)]
    pub push_expected: bool,
}

/// The call the voice gateway gave `provider_call_id`, locked until the transaction ends so two
/// statuses of one call are recorded one after the other.
pub async fn find_call_for_update(
    conn: &mut AsyncPgConnection,
    provider_call_id: &str,
) -> QueryResult<Option<CallDeliveryRow>> {
    diesel::sql_query(
        "SELECT d.id, d.alert_id, d.message_id, d.batch_no, d.participant_id, d.state, d.reason, d.called_again,
                m.kind, a.status AS alert_status, coalesce(r.push_expected, false) AS push_expected
           FROM deliveries d
           JOIN alert_messages m ON m.id = d.message_id
           JOIN alerts a ON a.id = d.alert_id
           LEFT JOIN alert_recipients r ON r.alert_id = d.alert_id AND r.participant_id = d.participant_id
          WHERE d.channel = 'voice' AND d.provider_message_id = $1
          FOR UPDATE OF d",
    )
    .bind::<Text, _>(provider_call_id)
    .get_result(conn)
    .await
    .optional()
}

/// Whether `message` is one of ours.
pub async fn message_exists(conn: &mut AsyncPgConnection, message: AlertMessageId) -> QueryResult<bool> {
    use super::schema::alert_messages;
    diesel::select(diesel::dsl::exists(alert_messages::table.find(message.0))).get_result(conn).await
}

/// Adds `minutes` to what the delivery's calls are billed.
pub async fn add_call_minutes(
    conn: &mut AsyncPgConnection,
    delivery_id: i64,
    minutes: i32,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE deliveries SET billable_minutes = coalesce(billable_minutes, 0) + $2 WHERE id = $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(delivery_id)
    .bind::<Integer, _>(minutes)
    .execute(conn)
    .await
    .map(drop)
}

/// Makes the delivery one to try again, once: a call nobody answered (`error_code` says how).
pub async fn mark_call_again(
    conn: &mut AsyncPgConnection,
    delivery_id: i64,
    error_code: &str,
) -> QueryResult<()> {
    diesel::update(deliveries::table.find(delivery_id))
        .set((
            deliveries::state.eq(DeliveryState::Retrying),
            deliveries::called_again.eq(true),
            deliveries::error_code.eq(error_code),
        ))
        .execute(conn)
        .await
        .map(drop)
}
