//! The SQL of the alert rollups (see the migration `alert_rollups`): recomputing one alert's rows
//! from its recipients and deliveries, and reading them for the reports. Reports read these
//! tables only, never the deliveries.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Date, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ids::{AlertId, AlertMessageId, RegionId};
use crate::vocabulary::alerts::{AlertPurpose, Outcome};
use crate::vocabulary::{Category, Channel, Language};

/// The advisory lock that lets one worker roll up at a time (any fixed number; this one spells
/// "rollups").
const ROLL_UP_LOCK: i64 = 0x0072_6f6c_6c75_7073;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Takes the roll-up lock for the rest of the transaction; false when another worker holds it.
pub async fn try_lock(conn: &mut AsyncPgConnection) -> diesel::QueryResult<bool> {
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
        .bind::<BigInt, _>(ROLL_UP_LOCK)
        .get_result(conn)
        .await?;
    Ok(row.locked)
}

#[derive(QueryableByName)]
struct AlertToRollUp {
    #[diesel(sql_type = SqlUuid)]
    id: AlertId,
}

/// At most `limit` sent alerts whose rollup is missing or not yet final, the latest sent first
/// (what the reports of these days show stays fresh while a backlog is worked off).
pub async fn alerts_to_roll_up(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> diesel::QueryResult<Vec<AlertId>> {
    let rows: Vec<AlertToRollUp> = diesel::sql_query(
        "SELECT a.id FROM alerts a
          WHERE a.sent_at IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM alert_rollups r WHERE r.alert_id = a.id AND r.final)
          ORDER BY a.sent_at DESC
          LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// What one SMS of a message costs in a language, in segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSegments {
    pub message_id: AlertMessageId,
    pub language: Language,
    pub segments: i32,
}

/// Recomputes the rows of `alert` (sent) from its recipients, deliveries, tips and dossier: its
/// row, and those per recipients' municipality and per channel. An alert closed before
/// `final_before` gets final rows. Idempotent; run it in a transaction, so that readers see the
/// old rows or the new, never none. Returns false when the alert was not sent.
pub async fn roll_up_alert(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    now: DateTime<Utc>,
    final_before: DateTime<Utc>,
    segments: &[SmsSegments],
) -> diesel::QueryResult<bool> {
    let alert_row = diesel::sql_query(
        "INSERT INTO alert_rollups
             (alert_id, region_id, send_day, category, urgent, outcome, recipients, acknowledged, opened,
              tips, seconds_to_first_push, seconds_to_last_push, final, rolled_up_at, purpose)
         SELECT a.id, a.region_id, (a.sent_at AT TIME ZONE 'Europe/Amsterdam')::date, a.category, a.urgent,
                a.outcome,
                (SELECT count(*) FROM alert_recipients r WHERE r.alert_id = a.id),
                (SELECT count(*) FROM alert_recipients r WHERE r.alert_id = a.id AND r.received_at IS NOT NULL),
                (SELECT count(*) FROM alert_recipients r WHERE r.alert_id = a.id AND r.opened_at IS NOT NULL),
                (SELECT count(*) FROM tips t WHERE t.alert_id = a.id),
                push.first, push.last,
                a.closed_at IS NOT NULL AND a.closed_at < $3,
                $2, a.purpose
           FROM alerts a
           LEFT JOIN LATERAL (
                SELECT extract(epoch FROM min(d.sent_at) - a.sent_at)::float8 AS first,
                       extract(epoch FROM max(d.sent_at) - a.sent_at)::float8 AS last
                  FROM alert_messages m
                  JOIN deliveries d ON d.message_id = m.id AND d.channel = 'push' AND d.sent_at IS NOT NULL
                 WHERE m.alert_id = a.id AND m.kind = 'alert' AND m.wave = 0
           ) push ON true
          WHERE a.id = $1 AND a.sent_at IS NOT NULL
         ON CONFLICT (alert_id) DO UPDATE
            SET outcome = excluded.outcome, recipients = excluded.recipients,
                acknowledged = excluded.acknowledged, opened = excluded.opened, tips = excluded.tips,
                seconds_to_first_push = excluded.seconds_to_first_push,
                seconds_to_last_push = excluded.seconds_to_last_push,
                final = excluded.final, rolled_up_at = excluded.rolled_up_at",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(final_before)
    .execute(conn)
    .await?;
    if alert_row == 0 {
        return Ok(false);
    }
    for table in ["alert_municipality_rollups", "alert_channel_rollups"] {
        diesel::sql_query(format!("DELETE FROM {table} WHERE alert_id = $1"))
            .bind::<SqlUuid, _>(alert.0)
            .execute(conn)
            .await?;
    }
    diesel::sql_query(
        "INSERT INTO alert_municipality_rollups
             (alert_id, send_day, municipality_cbs, recipients, acknowledged, opened)
         SELECT $1, ro.send_day, p.municipality_cbs, count(*), count(r.received_at), count(r.opened_at)
           FROM alert_recipients r
           JOIN participants p ON p.id = r.participant_id
           JOIN alert_rollups ro ON ro.alert_id = r.alert_id
          WHERE r.alert_id = $1
          GROUP BY ro.send_day, p.municipality_cbs",
    )
    .bind::<SqlUuid, _>(alert.0)
    .execute(conn)
    .await?;
    let messages: Vec<Uuid> = segments.iter().map(|s| s.message_id.0).collect();
    let languages: Vec<&str> = segments.iter().map(|s| s.language.as_str()).collect();
    let counts: Vec<i32> = segments.iter().map(|s| s.segments).collect();
    // Devices removed are counted from the dossier, which notes each removal once (a device may
    // have had several failed pushes).
    diesel::sql_query(
        "WITH segments AS (
             SELECT * FROM unnest($2::uuid[], $3::text[], $4::int4[]) AS s (message_id, language, segments)
         ), per_channel AS (
             SELECT p.municipality_cbs, d.channel,
                    count(*) FILTER (WHERE d.sent_at IS NOT NULL) AS sent,
                    count(*) FILTER (WHERE d.state = 'delivered') AS delivered,
                    count(*) FILTER (WHERE d.state = 'failed') AS failed,
                    count(DISTINCT d.participant_id) FILTER (WHERE d.sent_at IS NOT NULL
                                                               AND r.received_at IS NOT NULL) AS acknowledged,
                    count(DISTINCT d.participant_id) FILTER (WHERE d.sent_at IS NOT NULL
                                                               AND r.opened_at IS NOT NULL) AS opened,
                    count(*) FILTER (WHERE d.channel = 'sms' AND d.reason = 'no_push_device') AS no_push_device,
                    count(*) FILTER (WHERE d.channel = 'sms' AND d.reason = 'push_failed') AS push_failed,
                    count(*) FILTER (WHERE d.channel = 'sms' AND d.reason = 'not_acknowledged') AS not_acknowledged,
                    coalesce(sum(s.segments) FILTER (WHERE d.channel = 'sms' AND d.sent_at IS NOT NULL), 0)
                        AS segments,
                    coalesce(sum(d.billable_minutes), 0) AS voice_minutes
               FROM deliveries d
               JOIN participants p ON p.id = d.participant_id
               LEFT JOIN alert_recipients r ON r.alert_id = d.alert_id AND r.participant_id = d.participant_id
               LEFT JOIN segments s ON s.message_id = d.message_id AND s.language = p.language
              WHERE d.alert_id = $1
              GROUP BY p.municipality_cbs, d.channel
         ), removed AS (
             SELECT p.municipality_cbs, count(*) AS devices
               FROM alert_dossier e
               JOIN participants p ON p.id = (e.body->>'participant_id')::uuid
              WHERE e.alert_id = $1 AND e.kind = 'device_removed'
              GROUP BY p.municipality_cbs
         )
         INSERT INTO alert_channel_rollups
             (alert_id, send_day, municipality_cbs, channel, sent, delivered, failed, acknowledged, opened,
              sms_no_push_device, sms_push_failed, sms_not_acknowledged, sms_segments, devices_removed,
              voice_minutes)
         SELECT $1, ro.send_day, c.municipality_cbs, c.channel, c.sent, c.delivered, c.failed, c.acknowledged,
                c.opened, c.no_push_device, c.push_failed, c.not_acknowledged, c.segments,
                CASE WHEN c.channel = 'push' THEN coalesce(removed.devices, 0) ELSE 0 END, c.voice_minutes
           FROM per_channel c
           JOIN alert_rollups ro ON ro.alert_id = $1
           LEFT JOIN removed ON removed.municipality_cbs IS NOT DISTINCT FROM c.municipality_cbs",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Array<SqlUuid>, _>(&messages)
    .bind::<Array<Text>, _>(&languages)
    .bind::<Array<Integer>, _>(&counts)
    .execute(conn)
    .await?;
    Ok(true)
}

// --- reading ---

/// Which rollups a report reads: the days `[first, after)`, and for alerts a region (its own
/// alerts) or municipalities (the alerts that reached their participants, with their recipients'
/// figures); neither for the country.
#[derive(Debug, Clone, Copy)]
pub struct RollupFilter<'a> {
    pub first: NaiveDate,
    pub after: NaiveDate,
    pub region: Option<RegionId>,
    pub municipalities: Option<&'a [String]>,
}

/// Alerts of one month, category, urgency and outcome, with their recipients' figures.
#[derive(Debug, Clone, QueryableByName)]
pub struct AlertGroupRow {
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Text)]
    pub category: Category,
    #[diesel(sql_type = Bool)]
    pub urgent: bool,
    #[diesel(sql_type = Nullable<Text>)]
    pub outcome: Option<Outcome>,
    /// Exercises and tests are grouped apart from real alerts.
    #[diesel(sql_type = Text)]
    pub purpose: AlertPurpose,
    #[diesel(sql_type = BigInt)]
    pub alerts: i64,
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
    #[diesel(sql_type = BigInt)]
    pub tips: i64,
}

/// The alerts of the filter: for municipalities, those with recipients there; the alert's
/// recipients then are theirs, its tips all of the alert's (a tip may be anonymous).
const ALERTS_IN_FILTER: &str = "
    SELECT a.alert_id, a.send_day, a.category, a.urgent, a.outcome, a.purpose, a.tips,
           a.seconds_to_first_push, a.seconds_to_last_push,
           coalesce(m.recipients, a.recipients) AS recipients,
           coalesce(m.acknowledged, a.acknowledged) AS acknowledged,
           coalesce(m.opened, a.opened) AS opened
      FROM alert_rollups a
      LEFT JOIN (SELECT alert_id, sum(recipients)::int8 AS recipients, sum(acknowledged)::int8 AS acknowledged,
                        sum(opened)::int8 AS opened
                   FROM alert_municipality_rollups
                  WHERE $4::text[] IS NOT NULL AND send_day >= $1 AND send_day < $2
                    AND municipality_cbs = ANY($4)
                  GROUP BY alert_id) m ON m.alert_id = a.alert_id
     WHERE a.send_day >= $1 AND a.send_day < $2
       AND ($3::uuid IS NULL OR a.region_id = $3)
       AND ($4::text[] IS NULL OR m.alert_id IS NOT NULL)";

pub async fn alert_groups(
    conn: &mut AsyncPgConnection,
    filter: RollupFilter<'_>,
) -> diesel::QueryResult<Vec<AlertGroupRow>> {
    diesel::sql_query(format!(
        "SELECT date_trunc('month', f.send_day)::date AS month, f.category, f.urgent, f.outcome, f.purpose,
                count(*) AS alerts, sum(f.recipients)::int8 AS recipients,
                sum(f.acknowledged)::int8 AS acknowledged, sum(f.opened)::int8 AS opened,
                sum(f.tips)::int8 AS tips
           FROM ({ALERTS_IN_FILTER}) f
          GROUP BY 1, 2, 3, 4, 5
          ORDER BY 1, 2, 3, 4, 5"
    ))
    .bind::<Date, _>(filter.first)
    .bind::<Date, _>(filter.after)
    .bind::<Nullable<SqlUuid>, _>(filter.region.map(|region| region.0))
    .bind::<Nullable<Array<Text>>, _>(filter.municipalities)
    .load(conn)
    .await
}

/// Seconds from send to the first and last push of the initial wave, over the real alerts that
/// pushed (exercises and tests left out): median and 95th percentile.
#[derive(Debug, Clone, QueryableByName)]
pub struct PushTimesRow {
    #[diesel(sql_type = BigInt)]
    pub alerts: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub first_median: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub first_p95: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub last_median: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub last_p95: Option<f64>,
}

pub async fn push_times(
    conn: &mut AsyncPgConnection,
    filter: RollupFilter<'_>,
) -> diesel::QueryResult<PushTimesRow> {
    diesel::sql_query(format!(
        "SELECT count(f.seconds_to_first_push) AS alerts,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds_to_first_push) AS first_median,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY f.seconds_to_first_push) AS first_p95,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY f.seconds_to_last_push) AS last_median,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY f.seconds_to_last_push) AS last_p95
           FROM ({ALERTS_IN_FILTER}) f
          WHERE f.purpose = 'actual'"
    ))
    .bind::<Date, _>(filter.first)
    .bind::<Date, _>(filter.after)
    .bind::<Nullable<SqlUuid>, _>(filter.region.map(|region| region.0))
    .bind::<Nullable<Array<Text>>, _>(filter.municipalities)
    .get_result(conn)
    .await
}

/// Per recipients' municipality (of `municipalities`, or all with `None`): the real alerts that
/// reached its participants (exercises and tests left out), and their recipients' figures.
#[derive(Debug, Clone, QueryableByName)]
pub struct MunicipalityReachRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub municipality_cbs: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub alerts: i64,
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
}

pub async fn municipality_reach(
    conn: &mut AsyncPgConnection,
    first: NaiveDate,
    after: NaiveDate,
    municipalities: Option<&[String]>,
) -> diesel::QueryResult<Vec<MunicipalityReachRow>> {
    diesel::sql_query(
        "SELECT g.*, m.name
           FROM (SELECT r.municipality_cbs, count(*) AS alerts, sum(r.recipients) AS recipients,
                        sum(r.acknowledged) AS acknowledged, sum(r.opened) AS opened
                   FROM alert_municipality_rollups r
                   JOIN alert_rollups a ON a.alert_id = r.alert_id AND a.purpose = 'actual'
                  WHERE r.send_day >= $1 AND r.send_day < $2
                    AND ($3::text[] IS NULL OR r.municipality_cbs = ANY($3))
                  GROUP BY r.municipality_cbs) g
           LEFT JOIN municipalities m ON m.cbs_code = g.municipality_cbs
          ORDER BY m.name NULLS LAST, g.municipality_cbs",
    )
    .bind::<Date, _>(first)
    .bind::<Date, _>(after)
    .bind::<Nullable<Array<Text>>, _>(municipalities)
    .load(conn)
    .await
}

/// Messages of one month, recipients' municipality and channel.
#[derive(Debug, Clone, QueryableByName)]
pub struct ChannelMonthRow {
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Nullable<Text>)]
    pub municipality_cbs: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub inhabitants: Option<i32>,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    #[diesel(sql_type = BigInt)]
    pub acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
    #[diesel(sql_type = BigInt)]
    pub sms_no_push_device: i64,
    #[diesel(sql_type = BigInt)]
    pub sms_push_failed: i64,
    #[diesel(sql_type = BigInt)]
    pub sms_not_acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    pub sms_segments: i64,
    #[diesel(sql_type = BigInt)]
    pub devices_removed: i64,
    /// Started minutes of calls, as billed.
    #[diesel(sql_type = BigInt)]
    pub voice_minutes: i64,
}

/// Messages to the participants of `municipalities` (all, also those in none, with `None`) of
/// the alerts sent in `[first, after)`, per month, municipality and channel.
pub async fn channel_months(
    conn: &mut AsyncPgConnection,
    first: NaiveDate,
    after: NaiveDate,
    municipalities: Option<&[String]>,
) -> diesel::QueryResult<Vec<ChannelMonthRow>> {
    diesel::sql_query(
        "SELECT g.*, m.name, m.inhabitants
           FROM (SELECT date_trunc('month', r.send_day)::date AS month, r.municipality_cbs, r.channel,
                        sum(r.sent) AS sent, sum(r.delivered) AS delivered, sum(r.failed) AS failed,
                        sum(r.acknowledged) AS acknowledged, sum(r.opened) AS opened,
                        sum(r.sms_no_push_device) AS sms_no_push_device,
                        sum(r.sms_push_failed) AS sms_push_failed,
                        sum(r.sms_not_acknowledged) AS sms_not_acknowledged,
                        sum(r.sms_segments) AS sms_segments, sum(r.devices_removed) AS devices_removed,
                        sum(r.voice_minutes) AS voice_minutes
                   FROM alert_channel_rollups r
                  WHERE r.send_day >= $1 AND r.send_day < $2
                    AND ($3::text[] IS NULL OR r.municipality_cbs = ANY($3))
                  GROUP BY 1, 2, 3) g
           LEFT JOIN municipalities m ON m.cbs_code = g.municipality_cbs
          ORDER BY g.month, m.name NULLS LAST, g.municipality_cbs, g.channel",
    )
    .bind::<Date, _>(first)
    .bind::<Date, _>(after)
    .bind::<Nullable<Array<Text>>, _>(municipalities)
    .load(conn)
    .await
}
