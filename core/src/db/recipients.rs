//! Who an alert reaches: the selection (one query for the reach preview and the fan-out; the
//! preview records itself in the audit log as it counts), and the snapshot of a wave's
//! recipients, cut into batches, each with the delivery lanes it needs.
//!
//! The selection reads only the rows the spatial index returns: places and live positions carry
//! what it needs of their participant (`reach_categories`, `reach_channels`, the device counts,
//! a place's `active_minutes`), kept in step by triggers (migration `national_delivery`). It does
//! not look up a single participant.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Nullable, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::Stream;
use uuid::Uuid;

use super::schema::{alert_areas, alert_messages, alert_recipients, alerts};
use crate::ids::{AlertId, AlertMessageId, ParticipantId, RegionId, TargetGroupId};
use crate::vocabulary::alerts::{AlertPurpose, AlertStatus, Lane, MessageKind};
use crate::vocabulary::{Category, Channel};

/// Whether a place or live position (`{row}`) belongs to someone who wants `$2` (the alert's
/// reach key: its category, or `exercise` for exercises and tests, see
/// `AlertPurpose::reach_key`) and can be reached on one of `$3` (the channels).
fn wants(row: &str) -> String {
    format!("$2 = ANY ({row}.reach_categories) AND {row}.reach_channels && $3::text[]")
}

/// Whether a place (`{row}`) lies in the area and counts now (its time windows include now).
fn place_matches(row: &str) -> String {
    format!(
        "ST_Intersects({row}.location, area.g) AND {wants}
         AND ({row}.active_minutes IS NULL OR {row}.active_minutes @> moment.minute)",
        wants = wants(row)
    )
}

/// Every point in `area.g` that reaches someone: the places that match, and the fresh live
/// positions of participants none of whose places match (so one participant matched both ways
/// counts as matched by place). A participant with two matching places has two points. Then the
/// approved members of the target groups in `groups` (their reach read from their participant
/// row: they are reached wherever they are, and whatever the category, having joined the group
/// for its alerts). `area` is empty for an alert that reaches its groups only.
fn reached_points() -> String {
    format!(
        "SELECT pl.participant_id, 'place' AS matched_by, pl.reach_channels, pl.ios_devices, pl.android_devices
           FROM places pl, area, moment
          WHERE {place}
         UNION ALL
         SELECT ll.participant_id, 'live_location', ll.reach_channels, ll.ios_devices, ll.android_devices
           FROM live_locations ll, area, moment
          WHERE ST_Intersects(ll.location, area.g) AND ll.expires_at > now() AND {wants}
            AND NOT EXISTS (SELECT 1 FROM places other WHERE other.participant_id = ll.participant_id
                                                         AND {other})
         UNION ALL
         SELECT m.participant_id, 'target_group', r.channels, r.ios_devices, r.android_devices
           FROM groups
           JOIN target_group_members m ON m.group_id = groups.id AND m.status = 'approved',
                LATERAL participant_reach(m.participant_id) AS r
          WHERE r.channels && $3::text[]",
        place = place_matches("pl"),
        wants = wants("ll"),
        other = place_matches("other"),
    )
}

/// The moment of the selection, once, as a minute of the week (see `places.active_minutes`).
const MOMENT: &str = "moment AS (SELECT minute_of_week(now()) AS minute)";

/// What a reach preview counts, exactly.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName)]
pub struct ReachRow {
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
    /// Participants who get push: they chose it and have a device.
    #[diesel(sql_type = BigInt)]
    pub push_participants: i64,
    #[diesel(sql_type = BigInt)]
    pub ios_devices: i64,
    #[diesel(sql_type = BigInt)]
    pub android_devices: i64,
    /// Participants who get an SMS straight away: SMS is their phone channel (the first of the
    /// alert's they chose) and they get no push.
    #[diesel(sql_type = BigInt)]
    pub sms_participants: i64,
    /// Push recipients whose phone channel is SMS: the SMS fallback can reach them.
    #[diesel(sql_type = BigInt)]
    pub sms_fallback_participants: i64,
    /// The same for calls.
    #[diesel(sql_type = BigInt)]
    pub voice_participants: i64,
    #[diesel(sql_type = BigInt)]
    pub voice_fallback_participants: i64,
    /// Participants who get an e-mail (non-urgent alerts, a verified address, e-mail chosen).
    #[diesel(sql_type = BigInt)]
    pub email_participants: i64,
    /// Participants reached as members of the target groups (some may be in the area too).
    #[diesel(sql_type = BigInt)]
    pub target_group_participants: i64,
}

/// Who asked for a reach preview, and of what, as its audit record names them.
#[derive(Debug, Clone, Copy)]
pub struct PreviewRecord<'a> {
    pub staff_subject: &'a str,
    pub staff_name: Option<&'a str>,
    /// The region the area was checked against (the dispatcher's, or the alert's).
    pub region: RegionId,
    /// The saved alert whose reach this is, if any.
    pub alert: Option<AlertId>,
    /// Count only those who are not recipients of `alert` yet (what an expansion would add).
    pub only_new_recipients: bool,
}

/// What a reach preview counts: the area (WKB) unless the alert reaches its target groups only,
/// and the members of `target_groups`.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    pub area_wkb: &'a [u8],
    pub reach_area: bool,
    pub target_groups: &'a [TargetGroupId],
}

/// Counts whom an audience would reach now, for `category` (and `purpose`: an exercise counts
/// those who opted in to exercises), over `channels` (the alert's
/// channels, without e-mail for urgent alerts), and records the preview in the audit log
/// (`reach_previews`, see [`super::reach_previews`]) in the same statement: who asked, a SHA-256
/// of the WKB (never the area itself) and the exact counts. One participant counts once however
/// many of their points match; the grouping is done in memory. With
/// [`PreviewRecord::only_new_recipients`], the alert's recipients so far are left out.
pub async fn reach(
    conn: &mut AsyncPgConnection,
    audience: Audience<'_>,
    category: Category,
    purpose: AlertPurpose,
    channels: &[Channel],
    record: PreviewRecord<'_>,
) -> QueryResult<ReachRow> {
    use diesel_async::AsyncConnection;
    let query = format!(
        "WITH area AS MATERIALIZED (SELECT ST_GeomFromWKB($1, 4326) AS g WHERE $10), {MOMENT},
         groups AS (SELECT unnest($11::uuid[]) AS id),
         per_participant AS (
             SELECT points.participant_id,
                    max(points.ios_devices) AS ios, max(points.android_devices) AS android,
                    bool_or('push' = ANY (points.reach_channels) AND 'push' = ANY ($3)) AS gets_push,
                    bool_or('email' = ANY (points.reach_channels) AND 'email' = ANY ($3)) AS gets_email,
                    bool_or('sms' = ANY (points.reach_channels) AND 'sms' = ANY ($3)) AS takes_sms,
                    bool_or('voice' = ANY (points.reach_channels) AND 'voice' = ANY ($3)) AS takes_voice,
                    bool_or(points.matched_by = 'target_group') AS in_group
               FROM ({points}) AS points
              WHERE NOT $8 OR NOT EXISTS (SELECT 1 FROM alert_recipients r
                                           WHERE r.alert_id = $7 AND r.participant_id = points.participant_id)
              GROUP BY points.participant_id),
         -- The phone channel of each: the first of the alert's (in its order) they take.
         phoned AS (
             SELECT *, CASE WHEN coalesce(array_position($3, 'voice') < array_position($3, 'sms'), false)
                            THEN CASE WHEN takes_voice THEN 'voice' WHEN takes_sms THEN 'sms' END
                            ELSE CASE WHEN takes_sms THEN 'sms' WHEN takes_voice THEN 'voice' END
                       END AS phone
               FROM per_participant),
         counted AS (
             SELECT count(*) AS participants,
                    count(*) FILTER (WHERE gets_push) AS push_participants,
                    coalesce(sum(ios) FILTER (WHERE gets_push), 0)::bigint AS ios_devices,
                    coalesce(sum(android) FILTER (WHERE gets_push), 0)::bigint AS android_devices,
                    count(*) FILTER (WHERE NOT gets_push AND NOT gets_email AND phone = 'sms') AS sms_participants,
                    count(*) FILTER (WHERE gets_push AND phone = 'sms') AS sms_fallback_participants,
                    count(*) FILTER (WHERE gets_email) AS email_participants,
                    count(*) FILTER (WHERE in_group) AS target_group_participants,
                    count(*) FILTER (WHERE NOT gets_push AND NOT gets_email AND phone = 'voice')
                        AS voice_participants,
                    count(*) FILTER (WHERE gets_push AND phone = 'voice') AS voice_fallback_participants
               FROM phoned),
         recorded AS (
             INSERT INTO reach_previews (staff_subject, staff_name, region_id, alert_id, area_sha256, category,
                                         channels, participants, push_participants, ios_devices,
                                         android_devices, sms_participants, sms_fallback_participants,
                                         email_participants, target_group_participants, voice_participants,
                                         voice_fallback_participants)
             SELECT $4, $5, $6, $7, sha256($1), $9, $3, participants, push_participants, ios_devices,
                    android_devices, sms_participants, sms_fallback_participants, email_participants,
                    target_group_participants, voice_participants, voice_fallback_participants
               FROM counted)
         SELECT * FROM counted",
        points = reached_points()
    );
    conn.transaction(async |conn| {
        // A national area groups millions of points: in memory, not in temporary files.
        diesel::sql_query("SET LOCAL work_mem = '256MB'").execute(conn).await?;
        diesel::sql_query(&query)
            .bind::<Bytea, _>(audience.area_wkb)
            .bind::<Text, _>(purpose.reach_key(category))
            .bind::<Array<Text>, _>(channels)
            .bind::<Text, _>(record.staff_subject)
            .bind::<Nullable<Text>, _>(record.staff_name)
            .bind::<SqlUuid, _>(record.region.0)
            .bind::<Nullable<SqlUuid>, _>(record.alert.map(|alert| alert.0))
            .bind::<diesel::sql_types::Bool, _>(record.only_new_recipients)
            .bind::<Text, _>(category)
            .bind::<diesel::sql_types::Bool, _>(audience.reach_area)
            .bind::<Array<SqlUuid>, _>(audience.target_groups)
            .get_result(conn)
            .await
    })
    .await
}

/// A point of someone the alert reaches who is not a recipient yet, as the selection streams it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Candidate {
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    /// `place` or `live_location`: counted per wave in the dossier, never kept per recipient
    /// (it would be a record of where they were).
    #[diesel(sql_type = Text)]
    pub matched_by: String,
    /// The channels they can be reached on (before the alert's own channels are applied).
    #[diesel(sql_type = Array<Text>)]
    pub reach_channels: Vec<Channel>,
}

/// Everyone the alert's current area reaches (unless it reaches its target groups only), as a
/// stream in the order the spatial index yields them: the first rows arrive before the whole area
/// is matched; then the members of its target groups. A participant with two matching
/// points comes twice, and those who are recipients already (of an earlier wave) come too:
/// recipients are unique in their table, which keeps the first (see [`insert_recipients`]).
/// Leaving them out here would need statistics of `alert_recipients` that are current while a
/// fan-out fills it, or a wrong plan costs seconds per point.
pub async fn stream_candidates<'conn>(
    conn: &'conn mut AsyncPgConnection,
    alert: AlertId,
    reach_key: &'conn str,
    channels: &'conn [Channel],
) -> QueryResult<impl Stream<Item = QueryResult<Candidate>> + Send + 'conn> {
    let query = format!(
        "WITH area AS MATERIALIZED (SELECT area AS g FROM alerts WHERE id = $1 AND reach_area), {MOMENT},
         groups AS (SELECT group_id AS id FROM alert_target_groups WHERE alert_id = $1)
         SELECT points.participant_id, points.matched_by, points.reach_channels FROM ({points}) AS points",
        points = reached_points()
    );
    diesel::sql_query(query)
        .bind::<SqlUuid, _>(alert.0)
        .bind::<Text, _>(reach_key)
        .bind::<Array<Text>, _>(channels)
        .load_stream::<Candidate>(conn)
        .await
}

/// Locks the alert against changes of its messages (an update, the closing, an expansion) while
/// a batch is cut, without holding up other cuts of it; returns whether it is still open.
pub async fn hold_open_alert(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<bool> {
    let status: Option<AlertStatus> =
        alerts::table.find(alert.0).select(alerts::status).for_share().first(conn).await.optional()?;
    Ok(status.is_some_and(|status| status != AlertStatus::Closed))
}

/// One recipient of a batch being cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRecipient {
    pub participant_id: ParticipantId,
    pub batch_no: i32,
    /// See `alert_recipients.push_expected`.
    pub push_expected: bool,
}

/// How many recipients one batch got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct BatchFilled {
    #[diesel(sql_type = Integer)]
    pub batch_no: i32,
    #[diesel(sql_type = BigInt)]
    pub added: i64,
}

/// Adds recipients (of one or more batches of one wave); a participant who is a recipient
/// already (a second matching point, an earlier wave) is left as they are. Returns the batches
/// that got anyone, with how many. Transactions adding recipients at the same time must not wait
/// for each other in a circle: each adds them in the order of their ids.
pub async fn insert_recipients(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    wave: i16,
    recipients: &[NewRecipient],
) -> QueryResult<Vec<BatchFilled>> {
    let mut recipients: Vec<&NewRecipient> = recipients.iter().collect();
    recipients.sort_by_key(|recipient| recipient.participant_id);
    let ids: Vec<ParticipantId> = recipients.iter().map(|r| r.participant_id).collect();
    let batches: Vec<i32> = recipients.iter().map(|r| r.batch_no).collect();
    let push_expected: Vec<bool> = recipients.iter().map(|r| r.push_expected).collect();
    diesel::sql_query(
        "WITH added AS (
             INSERT INTO alert_recipients (alert_id, participant_id, wave, batch_no, push_expected)
             SELECT $1, r.id, $2, r.batch_no, r.push_expected
               FROM unnest($3::uuid[], $4::int4[], $5::bool[]) AS r (id, batch_no, push_expected)
             ON CONFLICT DO NOTHING
             RETURNING batch_no)
         SELECT batch_no, count(*) AS added FROM added GROUP BY batch_no ORDER BY batch_no",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<SmallInt, _>(wave)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Integer>, _>(&batches)
    .bind::<Array<diesel::sql_types::Bool>, _>(&push_expected)
    .load(conn)
    .await
}

/// Notes that a wave has all its recipients (or its alert closed while they were cut).
pub async fn mark_wave_selected(conn: &mut AsyncPgConnection, alert: AlertId, wave: i16) -> QueryResult<()> {
    diesel::update(alert_areas::table.find((alert.0, wave)))
        .set(alert_areas::recipients_selected_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
        .map(drop)
}

/// Whether the waves before `wave` have all their recipients.
pub async fn earlier_waves_selected(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    wave: i16,
) -> QueryResult<bool> {
    let pending: i64 = alert_areas::table
        .filter(alert_areas::alert_id.eq(alert.0))
        .filter(alert_areas::wave.lt(wave))
        .filter(alert_areas::recipients_selected_at.is_null())
        .count()
        .get_result(conn)
        .await?;
    Ok(pending == 0)
}

#[derive(QueryableByName)]
struct NextBatch {
    #[diesel(sql_type = Integer)]
    next: i32,
}

/// The number the alert's next batch gets.
pub async fn next_batch_no(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<i32> {
    diesel::sql_query(
        "SELECT coalesce(max(batch_no) + 1, 0) AS next FROM alert_recipients WHERE alert_id = $1",
    )
    .bind::<SqlUuid, _>(alert.0)
    .get_result::<NextBatch>(conn)
    .await
    .map(|row| row.next)
}

/// The update messages of an alert, oldest first (new batches get them too).
pub async fn update_message_ids(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<Vec<Uuid>> {
    alert_messages::table
        .filter(alert_messages::alert_id.eq(alert.0))
        .filter(alert_messages::kind.eq(MessageKind::Update))
        .order_by((alert_messages::created_at, alert_messages::id))
        .select(alert_messages::id)
        .load(conn)
        .await
}

/// The batch numbers of the alert's recipients so far.
pub async fn batch_numbers(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<Vec<i32>> {
    alert_recipients::table
        .filter(alert_recipients::alert_id.eq(alert.0))
        .select(alert_recipients::batch_no)
        .distinct()
        .order_by(alert_recipients::batch_no)
        .load(conn)
        .await
}

/// One message to one batch in one lane: one delivery job's work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLaneBatch {
    pub message_id: AlertMessageId,
    pub batch_no: i32,
    pub lane: Lane,
}

/// Registers lane batches; one that is registered already is left as it is. Returns those
/// added, so only their jobs are queued.
pub async fn insert_lane_batches(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    lanes: &[NewLaneBatch],
) -> QueryResult<Vec<(Uuid, i32, Lane)>> {
    let messages: Vec<Uuid> = lanes.iter().map(|l| l.message_id.0).collect();
    let batches: Vec<i32> = lanes.iter().map(|l| l.batch_no).collect();
    let names: Vec<Lane> = lanes.iter().map(|l| l.lane).collect();
    #[derive(QueryableByName)]
    struct Added {
        #[diesel(sql_type = SqlUuid)]
        message_id: Uuid,
        #[diesel(sql_type = Integer)]
        batch_no: i32,
        #[diesel(sql_type = Text)]
        lane: Lane,
    }
    let added: Vec<Added> = diesel::sql_query(
        "INSERT INTO delivery_batches (message_id, batch_no, alert_id, lane)
         SELECT l.message_id, l.batch_no, $1, l.lane
           FROM unnest($2::uuid[], $3::int4[], $4::text[]) AS l (message_id, batch_no, lane)
         ON CONFLICT DO NOTHING
         RETURNING message_id, batch_no, lane",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Array<SqlUuid>, _>(&messages)
    .bind::<Array<Integer>, _>(&batches)
    .bind::<Array<Text>, _>(&names)
    .load(conn)
    .await?;
    Ok(added.into_iter().map(|row| (row.message_id, row.batch_no, row.lane)).collect())
}
