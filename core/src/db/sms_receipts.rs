//! The SQL of SMS delivery receipts: finding the delivery a receipt is about and recording its
//! outcome.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::deliveries;
use crate::ids::{AlertId, ParticipantId};
use crate::vocabulary::Channel;
use crate::vocabulary::alerts::DeliveryState;

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
