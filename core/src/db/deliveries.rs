//! The SQL of delivering an alert's messages: a batch's recipients with what is needed to reach
//! them, the deliveries already made, recording results (many rows per statement), the counters,
//! and removing devices whose token died.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Double, Integer, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{alert_recipients, deliveries, delivery_batches, devices};
use crate::ids::{AlertId, AlertMessageId, DeviceId, ParticipantId};
use crate::vocabulary::alerts::{AlertAnswer, DeliveryState, Lane, Reason};
use crate::vocabulary::devices::{ApnsEnvironment, Platform};
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::{Channel, Language, ParticipantStatus};

/// A run of a lane's delivery job, as [`start_lane_run`] counted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneRun {
    /// Runs that began sending, this one included.
    pub number: i32,
    /// Whether an earlier run ended without recording all it sent (the process died): what this
    /// run sends without a record may have arrived already.
    pub follows_interruption: bool,
}

/// One message to one batch in one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneKey {
    pub message: AlertMessageId,
    pub batch_no: i32,
    pub lane: Lane,
}

/// Counts a run of a lane's job that begins sending.
pub async fn start_lane_run(conn: &mut AsyncPgConnection, key: LaneKey) -> QueryResult<LaneRun> {
    let row = delivery_batches::table.find((key.message.0, key.batch_no, key.lane));
    let (attempts, recorded): (i32, i32) = diesel::update(row)
        .set((
            delivery_batches::attempts.eq(delivery_batches::attempts + 1),
            delivery_batches::started_at
                .eq(diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(started_at, now())")),
        ))
        .returning((delivery_batches::attempts, delivery_batches::runs_recorded))
        .get_result(conn)
        .await?;
    Ok(LaneRun { number: attempts, follows_interruption: attempts - 1 > recorded })
}

/// Notes that a run recorded every outcome; `finished` when nothing is left to retry.
pub async fn end_lane_run(conn: &mut AsyncPgConnection, key: LaneKey, finished: bool) -> QueryResult<()> {
    let row = delivery_batches::table.find((key.message.0, key.batch_no, key.lane));
    if finished {
        diesel::update(row)
            .set((
                delivery_batches::runs_recorded.eq(delivery_batches::runs_recorded + 1),
                delivery_batches::finished_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
            .map(drop)
    } else {
        diesel::update(row)
            .set(delivery_batches::runs_recorded.eq(delivery_batches::runs_recorded + 1))
            .execute(conn)
            .await
            .map(drop)
    }
}

/// Ends a lane that has nothing to send (its alert was closed before it ran), and fails what it
/// was to try again on its channel (a call nobody answered): `alert_closed`.
pub async fn finish_lane_unsent(conn: &mut AsyncPgConnection, key: LaneKey) -> QueryResult<()> {
    diesel::update(delivery_batches::table.find((key.message.0, key.batch_no, key.lane)))
        .set(delivery_batches::finished_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    diesel::update(
        deliveries::table
            .filter(deliveries::message_id.eq(key.message.0))
            .filter(deliveries::batch_no.eq(key.batch_no))
            .filter(deliveries::channel.eq(key.lane.channel()))
            .filter(deliveries::state.eq(DeliveryState::Retrying)),
    )
    .set((
        deliveries::state.eq(DeliveryState::Failed),
        deliveries::error_code.eq("alert_closed"),
        deliveries::failed_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// A recipient of a batch with the means to reach them, read when the batch is delivered (so a
/// participant who left or was quarantined meanwhile is skipped, and a new device is used).
#[derive(Debug, Clone, QueryableByName)]
pub struct ContactRow {
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub status: ParticipantStatus,
    #[diesel(sql_type = Array<Text>)]
    pub channels: Vec<Channel>,
    #[diesel(sql_type = Text)]
    pub language: Language,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone_number: Option<PhoneNumber>,
    /// Only a verified address.
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<EmailAddress>,
    #[diesel(sql_type = Bool)]
    pub acknowledged: bool,
    /// The selection found them reachable by push (see `plan::Recipient::push_expected`).
    #[diesel(sql_type = Bool)]
    pub push_expected: bool,
}

/// The recipients of a batch, or only those the selection found reachable by push or not
/// (`push_expected`), or only those whose answer is one of `answers` (an update to some).
pub async fn batch_contacts(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    batch_no: i32,
    push_expected: Option<bool>,
    answers: Option<&[AlertAnswer]>,
) -> QueryResult<Vec<ContactRow>> {
    diesel::sql_query(
        "SELECT p.id AS participant_id, p.status, p.channels, p.language, p.phone_number,
                CASE WHEN p.email_verified_at IS NOT NULL THEN p.email END AS email,
                r.received_at IS NOT NULL AS acknowledged, r.push_expected
           FROM alert_recipients r JOIN participants p ON p.id = r.participant_id
          WHERE r.alert_id = $1 AND r.batch_no = $2 AND ($3::bool IS NULL OR r.push_expected = $3)
            AND ($4::text[] IS NULL OR r.answer = ANY ($4))
          ORDER BY p.id",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Integer, _>(batch_no)
    .bind::<Nullable<Bool>, _>(push_expected)
    .bind::<Nullable<Array<Text>>, _>(answers)
    .load(conn)
    .await
}

#[derive(Debug, Clone, Queryable)]
pub struct PushDeviceRow {
    pub id: DeviceId,
    pub participant_id: ParticipantId,
    pub platform: Platform,
    pub push_token: String,
    pub apns_environment: Option<ApnsEnvironment>,
}

pub async fn devices_of(
    conn: &mut AsyncPgConnection,
    participants: &[ParticipantId],
) -> QueryResult<Vec<PushDeviceRow>> {
    devices::table
        .filter(devices::participant_id.eq_any(participants))
        .order_by((devices::participant_id, devices::created_at, devices::id))
        .select((
            devices::id,
            devices::participant_id,
            devices::platform,
            devices::push_token,
            devices::apns_environment,
        ))
        .load(conn)
        .await
}

/// A delivery already made (or being retried) for a message to a batch.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExistingDelivery {
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub device_id: Option<DeviceId>,
    #[diesel(sql_type = Text)]
    pub state: DeliveryState,
    #[diesel(sql_type = SmallInt)]
    pub attempts: i16,
}

pub async fn existing(
    conn: &mut AsyncPgConnection,
    message: AlertMessageId,
    batch_no: i32,
) -> QueryResult<Vec<ExistingDelivery>> {
    diesel::sql_query(
        "SELECT participant_id, channel, device_id, state, attempts
           FROM deliveries WHERE message_id = $1 AND batch_no = $2",
    )
    .bind::<SqlUuid, _>(message.0)
    .bind::<Integer, _>(batch_no)
    .load(conn)
    .await
}

/// One delivery's outcome, to be recorded.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub alert_id: AlertId,
    pub message_id: AlertMessageId,
    pub batch_no: i32,
    pub participant_id: ParticipantId,
    pub channel: Channel,
    pub device_id: Option<DeviceId>,
    pub platform: Option<Platform>,
    pub reason: Reason,
    /// Sent, failed or retrying.
    pub state: DeliveryState,
    pub attempts: i16,
    pub resent_after_interruption: bool,
    pub provider_message_id: Option<String>,
    pub error_code: Option<String>,
}

/// Records outcomes (of any alerts, messages and batches) in one statement. A row already final
/// (sent, delivered, failed) is never overwritten; one being retried takes the new outcome. Each
/// target may appear once per call.
pub async fn record(conn: &mut AsyncPgConnection, records: &[DeliveryRecord]) -> QueryResult<usize> {
    if records.is_empty() {
        return Ok(0);
    }
    let alerts: Vec<Uuid> = records.iter().map(|r| r.alert_id.0).collect();
    let messages: Vec<Uuid> = records.iter().map(|r| r.message_id.0).collect();
    let batches: Vec<i32> = records.iter().map(|r| r.batch_no).collect();
    let participants: Vec<ParticipantId> = records.iter().map(|r| r.participant_id).collect();
    let channels: Vec<Channel> = records.iter().map(|r| r.channel).collect();
    let devices: Vec<Option<DeviceId>> = records.iter().map(|r| r.device_id).collect();
    let platforms: Vec<Option<Platform>> = records.iter().map(|r| r.platform).collect();
    let reasons: Vec<Reason> = records.iter().map(|r| r.reason).collect();
    let states: Vec<DeliveryState> = records.iter().map(|r| r.state).collect();
    let attempts: Vec<i16> = records.iter().map(|r| r.attempts).collect();
    let resent: Vec<bool> = records.iter().map(|r| r.resent_after_interruption).collect();
    let provider_ids: Vec<Option<&str>> = records.iter().map(|r| r.provider_message_id.as_deref()).collect();
    let errors: Vec<Option<&str>> = records.iter().map(|r| r.error_code.as_deref()).collect();
    diesel::sql_query(
        "INSERT INTO deliveries (alert_id, message_id, batch_no, participant_id, channel, device_id, platform,
                                 reason, state, attempts, resent_after_interruption, provider_message_id,
                                 error_code, sent_at, failed_at)
         SELECT r.alert_id, r.message_id, r.batch_no, r.participant_id, r.channel, r.device_id, r.platform,
                r.reason, r.state, r.attempts, r.resent, r.provider_message_id, r.error_code,
                CASE WHEN r.state = 'sent' THEN now() END, CASE WHEN r.state = 'failed' THEN now() END
           FROM unnest($1::uuid[], $2::uuid[], $3::int4[], $4::uuid[], $5::text[], $6::uuid[], $7::text[],
                       $8::text[], $9::text[], $10::int2[], $11::bool[], $12::text[], $13::text[])
                AS r (alert_id, message_id, batch_no, participant_id, channel, device_id, platform, reason,
                      state, attempts, resent, provider_message_id, error_code)
         ON CONFLICT (message_id, batch_no, participant_id, channel,
                      (COALESCE(device_id, '00000000-0000-0000-0000-000000000000'::uuid)))
         DO UPDATE SET state = excluded.state,
                       attempts = excluded.attempts,
                       resent_after_interruption =
                           deliveries.resent_after_interruption OR excluded.resent_after_interruption,
                       provider_message_id = coalesce(excluded.provider_message_id, deliveries.provider_message_id),
                       error_code = excluded.error_code,
                       sent_at = excluded.sent_at,
                       failed_at = excluded.failed_at
                 WHERE deliveries.state = 'retrying'",
    )
    .bind::<Array<SqlUuid>, _>(&alerts)
    .bind::<Array<SqlUuid>, _>(&messages)
    .bind::<Array<Integer>, _>(&batches)
    .bind::<Array<SqlUuid>, _>(&participants)
    .bind::<Array<Text>, _>(&channels)
    .bind::<Array<Nullable<SqlUuid>>, _>(&devices)
    .bind::<Array<Nullable<Text>>, _>(&platforms)
    .bind::<Array<Text>, _>(&reasons)
    .bind::<Array<Text>, _>(&states)
    .bind::<Array<SmallInt>, _>(&attempts)
    .bind::<Array<Bool>, _>(&resent)
    .bind::<Array<Nullable<Text>>, _>(&provider_ids)
    .bind::<Array<Nullable<Text>>, _>(&errors)
    .execute(conn)
    .await
}

#[derive(Debug, Clone, QueryableByName)]
pub struct ReachedBy {
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
}

/// The channels by which the alert itself reached each recipient of a batch.
pub async fn reached_channels(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    batch_no: i32,
) -> QueryResult<Vec<ReachedBy>> {
    diesel::sql_query(
        "SELECT DISTINCT d.participant_id, d.channel
           FROM deliveries d JOIN alert_messages m ON m.id = d.message_id
          WHERE d.alert_id = $1 AND d.batch_no = $2 AND m.kind = 'alert' AND d.state IN ('sent', 'delivered')",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Integer, _>(batch_no)
    .load(conn)
    .await
}

/// Whether a follow-up may go to a batch yet (see [`earlier_lanes`]).
#[derive(Debug, Clone, QueryableByName)]
pub struct EarlierLanes {
    /// Lanes of earlier messages that have not been through the batch.
    #[diesel(sql_type = BigInt)]
    pub unfinished: i64,
    /// When the batch's recipients were added (a wave of those who came into the area later
    /// gets its batches long after the updates it gets were written).
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub batch_cut_at: Option<DateTime<Utc>>,
}

/// Which messages of the alert come before `message` in a batch, on `lanes`, have not been
/// through it yet: a follow-up waits for the alert itself and earlier follow-ups on the lanes it
/// depends on, so they arrive in order. The alert comes first in every batch, also in one of
/// those who came into the area after the follow-up was written (see
/// `alerts::delivery::recruitment`).
pub async fn earlier_lanes(
    conn: &mut AsyncPgConnection,
    message: AlertMessageId,
    batch_no: i32,
    lanes: &[Lane],
) -> QueryResult<EarlierLanes> {
    diesel::sql_query(
        "SELECT (SELECT count(*)
                   FROM delivery_batches b
                   JOIN alert_messages m ON m.id = b.message_id
                  WHERE m.alert_id = this.alert_id AND m.id <> this.id
                    AND (m.kind = 'alert' OR (m.created_at, m.id) < (this.created_at, this.id))
                    AND b.batch_no = $2 AND b.lane = ANY ($3) AND b.finished_at IS NULL) AS unfinished,
                (SELECT r.created_at FROM alert_recipients r
                  WHERE r.alert_id = this.alert_id AND r.batch_no = $2 LIMIT 1) AS batch_cut_at
           FROM alert_messages this WHERE this.id = $1",
    )
    .bind::<SqlUuid, _>(message.0)
    .bind::<Integer, _>(batch_no)
    .bind::<Array<Text>, _>(lanes)
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct ParticipantIdRow {
    #[diesel(sql_type = SqlUuid)]
    participant_id: ParticipantId,
}

/// Recipients of a batch whom `message` reached by push but who have not confirmed receipt and
/// got no SMS for it yet (one being retried still counts as not got).
pub async fn unacknowledged_push_recipients(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    message: AlertMessageId,
    batch_no: i32,
) -> QueryResult<Vec<ParticipantId>> {
    let rows: Vec<ParticipantIdRow> = diesel::sql_query(
        "SELECT r.participant_id
           FROM alert_recipients r
          WHERE r.alert_id = $1 AND r.batch_no = $3 AND r.received_at IS NULL
            AND EXISTS (SELECT 1 FROM deliveries d
                         WHERE d.message_id = $2 AND d.participant_id = r.participant_id
                           AND d.channel = 'push' AND d.state IN ('sent', 'delivered'))
            AND NOT EXISTS (SELECT 1 FROM deliveries d
                             WHERE d.message_id = $2 AND d.participant_id = r.participant_id AND d.channel = 'sms'
                               AND d.state <> 'retrying')",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<SqlUuid, _>(message.0)
    .bind::<Integer, _>(batch_no)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.participant_id).collect())
}

/// Removes a device whose token the provider declared dead, unless it was registered again
/// after the provider learned so (`since`). Returns whether it was removed.
pub async fn remove_dead_device(
    conn: &mut AsyncPgConnection,
    device: DeviceId,
    token: &str,
    since: Option<DateTime<Utc>>,
) -> QueryResult<bool> {
    let mut query =
        diesel::delete(devices::table.find(device.0).filter(devices::push_token.eq(token))).into_boxed();
    if let Some(since) = since {
        query = query.filter(devices::updated_at.le(since));
    }
    Ok(query.execute(conn).await? == 1)
}

/// When a recipient's app confirmed receipt, and when they opened the alert.
type Receipts = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Marks that the participant's app received (`received`) or opened (`opened`) the alert; returns
/// whether this was the first such receipt.
pub async fn record_receipt(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    participant: Uuid,
    opened: bool,
) -> QueryResult<Option<bool>> {
    let recipient = alert_recipients::table.find((participant, alert.0));
    let exists: Option<Receipts> = recipient
        .select((alert_recipients::received_at, alert_recipients::opened_at))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((received_at, opened_at)) = exists else { return Ok(None) };
    let first = if opened { opened_at.is_none() } else { received_at.is_none() };
    // Opening implies receiving.
    diesel::update(recipient)
        .set((
            alert_recipients::received_at
                .eq(diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(received_at, now())")),
            alert_recipients::opened_at.eq(if opened {
                diesel::dsl::sql::<Nullable<Timestamptz>>("coalesce(opened_at, now())")
            } else {
                diesel::dsl::sql::<Nullable<Timestamptz>>("opened_at")
            }),
        ))
        .execute(conn)
        .await?;
    Ok(Some(first))
}

/// Marks the push deliveries of an alert to one device as delivered (the app confirmed receipt).
pub async fn mark_push_delivered(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    participant: Uuid,
    device: Uuid,
) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE deliveries SET state = 'delivered', delivered_at = now()
          WHERE alert_id = $1 AND participant_id = $2 AND device_id = $3 AND channel = 'push' AND state = 'sent'",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<SqlUuid, _>(participant)
    .bind::<SqlUuid, _>(device)
    .execute(conn)
    .await
}

#[derive(Debug, Clone, QueryableByName)]
pub struct ChannelCounts {
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    #[diesel(sql_type = BigInt)]
    pub retrying: i64,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    /// Recipients reached on this channel who confirmed receipt / opened the alert in the app.
    #[diesel(sql_type = BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
}

/// Deliveries of the alert's messages per channel and state, with receipts.
pub async fn channel_counts(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<Vec<ChannelCounts>> {
    diesel::sql_query(
        "SELECT d.channel,
                count(*) FILTER (WHERE d.state = 'retrying') AS retrying,
                count(*) FILTER (WHERE d.state = 'sent') AS sent,
                count(*) FILTER (WHERE d.state = 'delivered') AS delivered,
                count(*) FILTER (WHERE d.state = 'failed') AS failed,
                count(DISTINCT d.participant_id) FILTER (WHERE d.state IN ('sent', 'delivered')
                                                           AND r.received_at IS NOT NULL) AS acknowledged,
                count(DISTINCT d.participant_id) FILTER (WHERE d.state IN ('sent', 'delivered')
                                                           AND r.opened_at IS NOT NULL) AS opened
           FROM deliveries d
           JOIN alert_recipients r ON r.alert_id = d.alert_id AND r.participant_id = d.participant_id
          WHERE d.alert_id = $1
          GROUP BY d.channel",
    )
    .bind::<SqlUuid, _>(alert.0)
    .load(conn)
    .await
}

#[derive(Debug, Clone, Default, QueryableByName)]
pub struct RecipientCounts {
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
    #[diesel(sql_type = BigInt)]
    pub tips: i64,
    #[diesel(sql_type = BigInt)]
    pub batches_pending: i64,
    /// Recipients of recruited waves (see `alerts::delivery::recruitment`), by how they matched.
    #[diesel(sql_type = BigInt)]
    pub entered_area: i64,
    #[diesel(sql_type = BigInt)]
    pub time_window: i64,
    /// Recipients by their answer now (see `alerts::answers`).
    #[diesel(sql_type = BigInt)]
    pub seen_now: i64,
    #[diesel(sql_type = BigInt)]
    pub searching: i64,
    #[diesel(sql_type = BigInt)]
    pub not_in_area: i64,
    #[diesel(sql_type = BigInt)]
    pub cannot_help: i64,
}

/// The alert's counts of recipients, in one pass over its recipients (the event streams ask every
/// second, and a national alert has millions).
pub async fn recipient_counts(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<RecipientCounts> {
    diesel::sql_query(
        "SELECT count(*) AS recipients,
                count(*) FILTER (WHERE r.received_at IS NOT NULL) AS acknowledged,
                count(*) FILTER (WHERE r.opened_at IS NOT NULL) AS opened,
                (SELECT count(*) FROM tips WHERE alert_id = $1) AS tips,
                (SELECT count(*) FROM delivery_batches WHERE alert_id = $1 AND finished_at IS NULL) AS batches_pending,
                count(*) FILTER (WHERE w.matched_by = 'entered_area') AS entered_area,
                count(*) FILTER (WHERE w.matched_by = 'time_window') AS time_window,
                count(*) FILTER (WHERE r.answer = 'seen_now') AS seen_now,
                count(*) FILTER (WHERE r.answer = 'searching') AS searching,
                count(*) FILTER (WHERE r.answer = 'not_in_area') AS not_in_area,
                count(*) FILTER (WHERE r.answer = 'cannot_help') AS cannot_help
           FROM alert_recipients r
           LEFT JOIN alert_areas w ON w.alert_id = r.alert_id AND w.wave = r.wave AND w.matched_by IS NOT NULL
          WHERE r.alert_id = $1",
    )
    .bind::<SqlUuid, _>(alert.0)
    .get_result(conn)
    .await
}

/// How long an alert's initial wave took to reach phones, in seconds from the alert's send.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct PushTiming {
    #[diesel(sql_type = SqlUuid)]
    pub alert_id: AlertId,
    /// `None` when the wave handed no push to a provider.
    #[diesel(sql_type = Nullable<Double>)]
    pub to_first_push: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub to_last_push: Option<f64>,
}

/// Marks the sent alerts whose initial wave is finished (`alert`, or all of them) and returns the
/// timing of those this call marked. The wave is finished when its recipients were all selected
/// (the `recipients_selected` dossier entry of wave 0; a closed alert selects no more) and every
/// batch of its message is finished. Each alert is returned once, to one caller: of two concurrent
/// calls, the second finds the column set when the first commits.
pub async fn mark_push_timing(
    conn: &mut AsyncPgConnection,
    alert: Option<AlertId>,
) -> QueryResult<Vec<PushTiming>> {
    diesel::sql_query(
        "WITH finished AS (
             SELECT a.id AS alert_id, a.sent_at, m.id AS message_id
               FROM alerts a
               JOIN alert_messages m ON m.alert_id = a.id AND m.kind = 'alert' AND m.wave = 0
              WHERE a.push_timing_recorded_at IS NULL AND a.sent_at IS NOT NULL
                AND ($1::uuid IS NULL OR a.id = $1)
                -- This runs after every batch of a national alert: first the one-row probe of
                -- the unfinished-batches index, and the alert's long dossier only once no batch
                -- is left (CASE fixes the order).
                AND CASE
                      WHEN EXISTS (SELECT 1 FROM delivery_batches b
                                    WHERE b.alert_id = a.id AND b.message_id = m.id
                                      AND b.lane = 'push' AND b.finished_at IS NULL) THEN false
                      ELSE a.status = 'closed'
                           OR EXISTS (SELECT 1 FROM alert_dossier e
                                       WHERE e.alert_id = a.id AND e.kind = 'recipients_selected'
                                         AND e.body->>'wave' = '0')
                    END
         ), marked AS (
             UPDATE alerts a SET push_timing_recorded_at = now()
               FROM finished f
              WHERE a.id = f.alert_id AND a.push_timing_recorded_at IS NULL
             RETURNING a.id AS alert_id, f.sent_at, f.message_id
         )
         SELECT m.alert_id,
                extract(epoch FROM min(d.sent_at) - m.sent_at)::float8 AS to_first_push,
                extract(epoch FROM max(d.sent_at) - m.sent_at)::float8 AS to_last_push
           FROM marked m
           LEFT JOIN deliveries d ON d.message_id = m.message_id AND d.channel = 'push' AND d.sent_at IS NOT NULL
          GROUP BY m.alert_id, m.sent_at",
    )
    .bind::<Nullable<SqlUuid>, _>(alert.map(|alert| alert.0))
    .load(conn)
    .await
}
