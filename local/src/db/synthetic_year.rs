//! A synthetic year of alerts on top of the synthetic national population
//! ([`super::synthetic`]), for the reports benchmark (`burgernet bench reports`): 700 alerts a
//! month (design.md section 5), spread evenly over the last 365 days, each sent to the
//! participants living around one participant's home and closed 90 minutes later with a
//! closing message, with their deliveries, the app's receipts and opens, and some tips. Seeded
//! by SQL on the server, once per database; ids derive from the alert's number, so it can be
//! told from real data and repeated.

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::synthetic::{APP_SHARE_PERCENT, BENCH_REGION_CODE};

/// Alerts in the year: 700 a month.
pub const ALERTS_PER_YEAR: i64 = 12 * 700;
/// Who created the seeded alerts: how they are recognised.
const SEEDED_BY: &str = "bench-reports";

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The seeded year's alerts and deliveries; `None` when the database holds no seeded year.
pub async fn seeded_year(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<(i64, i64)>> {
    let alerts: Count =
        diesel::sql_query("SELECT count(*) AS count FROM alerts WHERE created_by_subject = $1")
            .bind::<Text, _>(SEEDED_BY)
            .get_result(conn)
            .await?;
    if alerts.count == 0 {
        return Ok(None);
    }
    let deliveries: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM deliveries d JOIN alerts a ON a.id = d.alert_id
          WHERE a.created_by_subject = $1",
    )
    .bind::<Text, _>(SEEDED_BY)
    .get_result(conn)
    .await?;
    Ok(Some((alerts.count, deliveries.count)))
}

/// Seeds the year into a database holding the synthetic population of `participants`, in one
/// transaction. Alert `k`'s recipients are the participants numbered from its centre on (numbers
/// within a city's range live in that city), 200 to 1,199 of them (at most one in a hundred of a
/// small population); those with the app get a push
/// and 70% of them report its receipt (40% open it), the others an SMS; everyone reached gets the
/// closing message the same way. One alert in ten is a hard success, two a soft success, one is
/// cancelled.
pub async fn seed_year(conn: &mut AsyncPgConnection, participants: i64) -> diesel::QueryResult<()> {
    conn.transaction(async |conn| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn).await?;
        diesel::sql_query(
            "CREATE TEMPORARY TABLE bench_alerts ON COMMIT DROP AS
             SELECT k,
                    md5('bench-alert:' || k)::uuid AS id,
                    md5('bench-message:' || k || ':alert')::uuid AS alert_message,
                    md5('bench-message:' || k || ':closing')::uuid AS closing_message,
                    (k * 104729) % $2 + 1 AS centre,
                    -- A small population (a test's) gets small alerts: one in a hundred at most.
                    least(200 + (k * 7919) % 1000, $2 / 100 + 1) AS size,
                    now() - interval '365 days' + (k - 0.5) * interval '365 days' / $1 AS sent_at
               FROM generate_series(1, $1) AS k",
        )
        .bind::<BigInt, _>(ALERTS_PER_YEAR)
        .bind::<BigInt, _>(participants)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO alerts (id, region_id, status, category, urgent, channels, description, texts,
                                 area, outcome, created_by_subject, created_by_name, created_at, sent_at,
                                 closed_at, push_timing_recorded_at)
             SELECT b.id, r.id, 'closed', (ARRAY['inform', 'engage', 'alarm', 'search'])[1 + b.k % 4],
                    b.k % 5 = 0, '{push,sms}', '{}'::jsonb,
                    '{\"nl\": {\"title\": \"Gezocht\", \"message\": \"Let op een man met een blauwe jas.\",
                               \"instruction\": \"Bel 112.\"}}'::jsonb,
                    ST_Multi(ST_Buffer(p.location::geography, 1500)::geometry),
                    CASE b.k % 10 WHEN 0 THEN 'hard_success' WHEN 1 THEN 'soft_success'
                                  WHEN 2 THEN 'soft_success' WHEN 3 THEN 'cancelled' ELSE 'no_result' END,
                    $1, 'Benchmark', b.sent_at - interval '4 minutes', b.sent_at,
                    b.sent_at + interval '90 minutes', b.sent_at
               FROM bench_alerts b
               JOIN places p ON p.id = md5('home:' || b.centre)::uuid
               CROSS JOIN (SELECT id FROM regions WHERE code = $2) AS r",
        )
        .bind::<Text, _>(SEEDED_BY)
        .bind::<Text, _>(BENCH_REGION_CODE)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO alert_areas (alert_id, wave, shape, area, created_by_subject, created_at,
                                      recipients_selected_at)
             SELECT a.id, 0, '{\"type\": \"circle\"}'::jsonb, a.area, a.created_by_subject, a.created_at, a.sent_at
               FROM alerts a JOIN bench_alerts b ON b.id = a.id",
        )
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO alert_messages (id, alert_id, kind, wave, texts, created_by_subject, created_at)
             SELECT alert_message, id, 'alert', 0, '{\"nl\": {\"title\": \"Gezocht\", \"message\": \"Let op.\"}}'::jsonb,
                    $1, sent_at
               FROM bench_alerts
             UNION ALL
             SELECT closing_message, id, 'closing', NULL,
                    '{\"nl\": {\"message\": \"De actie is afgelopen. Bedankt voor het uitkijken.\"}}'::jsonb,
                    $1, sent_at + interval '90 minutes'
               FROM bench_alerts",
        )
        .bind::<Text, _>(SEEDED_BY)
        .execute(conn)
        .await?;
        // Recipient `i` of alert `k` is participant number centre + i (wrapping around).
        diesel::sql_query(
            "CREATE TEMPORARY TABLE bench_reached ON COMMIT DROP AS
             SELECT b.k, b.id AS alert_id, b.alert_message, b.closing_message, b.sent_at, i,
                    (b.centre + i - 1) % $1 + 1 AS n
               FROM bench_alerts b, generate_series(0, b.size - 1) AS i",
        )
        .bind::<BigInt, _>(participants)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO alert_recipients (alert_id, participant_id, wave, batch_no, matched_by,
                                           received_at, opened_at, created_at, push_expected)
             SELECT alert_id, md5('participant:' || n)::uuid, 0, i / 500, 'place',
                    CASE WHEN n % 100 < $1 AND (n + k) % 10 < 7 THEN sent_at + (5 + (n + k) % 55) * interval '1 second' END,
                    CASE WHEN n % 100 < $1 AND (n + k) % 10 < 4 THEN sent_at + (60 + (n + k) % 600) * interval '1 second' END,
                    sent_at, n % 100 < $1
               FROM bench_reached",
        )
        .bind::<BigInt, _>(APP_SHARE_PERCENT)
        .execute(conn)
        .await?;
        // The alert and the closing message: a push for app users (one in fifty failing for
        // good, half of those because the token was dead), an SMS for the others.
        diesel::sql_query(
            "INSERT INTO deliveries (alert_id, message_id, batch_no, participant_id, channel, device_id,
                                     platform, reason, state, provider_message_id, error_code, sent_at,
                                     delivered_at, failed_at, created_at, updated_at)
             SELECT r.alert_id, m.message_id, r.i / 500, md5('participant:' || r.n)::uuid,
                    CASE WHEN app THEN 'push' ELSE 'sms' END,
                    CASE WHEN app THEN md5('device:' || r.n)::uuid END,
                    CASE WHEN app THEN CASE WHEN r.n % 20 < 9 THEN 'ios' ELSE 'android' END END,
                    CASE WHEN app THEN 'primary' ELSE 'no_push_device' END,
                    CASE WHEN failed THEN 'failed' WHEN app THEN 'sent' ELSE 'delivered' END,
                    CASE WHEN NOT failed THEN md5('provider:' || r.k || ':' || r.n || ':' || m.kind) END,
                    CASE WHEN failed THEN CASE WHEN (r.n + r.k) % 2 = 0 THEN 'Unregistered' ELSE 'InternalServerError' END END,
                    CASE WHEN NOT failed THEN m.at + (r.i / 50) * interval '1 second' END,
                    CASE WHEN NOT failed AND NOT app THEN m.at + (5 + r.i / 50) * interval '1 second' END,
                    CASE WHEN failed THEN m.at + (r.i / 50) * interval '1 second' END,
                    m.at, m.at
               FROM bench_reached r,
                    LATERAL (VALUES (r.alert_message, 'alert', r.sent_at),
                                    (r.closing_message, 'closing', r.sent_at + interval '90 minutes'))
                        AS m (message_id, kind, at),
                    LATERAL (SELECT r.n % 100 < $1 AS app, (r.n + r.k) % 50 = 0 AS failed) AS f",
        )
        .bind::<BigInt, _>(APP_SHARE_PERCENT)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO delivery_batches (message_id, batch_no, alert_id, attempts, runs_recorded, started_at,
                                           finished_at, lane)
             SELECT message_id, batch_no, alert_id, 1, 1, min(created_at), max(created_at), channel
               FROM deliveries d
              WHERE d.alert_id IN (SELECT id FROM bench_alerts)
              GROUP BY message_id, batch_no, alert_id, channel",
        )
        .execute(conn)
        .await?;
        // Tips: none to four per alert, from its recipients.
        diesel::sql_query(
            "INSERT INTO tips (id, alert_id, participant_id, text, created_at)
             SELECT md5('bench-tip:' || k || ':' || i)::uuid, alert_id, md5('participant:' || n)::uuid,
                    'Ik zag iemand in een blauwe jas richting het station lopen.',
                    sent_at + (3 + i) * interval '1 minute'
               FROM bench_reached
              WHERE i < k % 5",
        )
        .execute(conn)
        .await?;
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    diesel::sql_query("VACUUM ANALYZE alerts, alert_recipients, deliveries, delivery_batches, tips")
        .execute(conn)
        .await?;
    Ok(())
}

/// A year of participation history for the synthetic population, once: the daily counts of the
/// last 365 days (growing by 10% over the year to today's, which the workers' count made) and
/// the changes of every day (some sign-ups, sign-offs, moves and removals in each municipality
/// with participants). Call after today's count exists.
pub async fn seed_participation_history(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    let history: Count = diesel::sql_query(
        "SELECT count(*) AS count FROM participation_counts WHERE day < current_date - 300",
    )
    .get_result(conn)
    .await?;
    if history.count > 0 {
        return Ok(());
    }
    conn.transaction(async |conn| {
        diesel::sql_query(
            "INSERT INTO participation_counts (day, municipality_cbs, active, app, sms_only, email_only, counted_at)
             SELECT g.day, c.municipality_cbs,
                    ceil(c.active * g.growth)::integer, floor(c.app * g.growth)::integer,
                    floor(c.sms_only * g.growth)::integer, floor(c.email_only * g.growth)::integer,
                    g.day + interval '23 hours 55 minutes'
               FROM (SELECT DISTINCT ON (municipality_cbs) * FROM participation_counts
                      ORDER BY municipality_cbs, day DESC) AS c,
                    generate_series(1, 365) AS back,
                    LATERAL (SELECT (c.day - back) AS day, 1.0 - 0.1 * back / 365.0 AS growth) AS g
             ON CONFLICT DO NOTHING",
        )
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO participation_changes (day, municipality_cbs, reason, participants)
             SELECT g.day, c.municipality_cbs, r.reason,
                    1 + abs(hashtext(c.municipality_cbs || g.day::text || r.reason)) % r.most
               FROM (SELECT DISTINCT municipality_cbs FROM participation_counts WHERE active > 0) AS c,
                    generate_series(current_date - 365, current_date - 1, interval '1 day') AS d,
                    LATERAL (SELECT d::date AS day) AS g,
                    (VALUES ('signed_up', 12), ('signed_off', 5), ('moved_in', 3), ('moved_out', 3),
                            ('removed', 2), ('quarantined', 2)) AS r (reason, most)
              WHERE abs(hashtext(r.reason || c.municipality_cbs || g.day::text)) % 3 > 0
             ON CONFLICT DO NOTHING",
        )
        .execute(conn)
        .await?;
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    diesel::sql_query("VACUUM ANALYZE participation_counts, participation_changes").execute(conn).await?;
    Ok(())
}
