//! The SQL of live areas: an active alert recruits those who enter its area while it recruits
//! (see `alerts::delivery::recruitment`). The location update notes entrants itself (see
//! [`super::participants::upsert_live_location_in_session`]); the statements here turn them, and
//! the places whose time window opened, into the recipients of a new wave.
//!
//! Every statement here runs in the transaction that holds the alert's row (`FOR NO KEY UPDATE`),
//! after its drawn waves have all their recipients: nothing else adds recipients to the alert
//! meanwhile, so "not a recipient yet" is exact.

use diesel::prelude::*;
use diesel::sql_types::{Array, SmallInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::recipients::Candidate;
use super::schema::{alert_areas, alert_messages, alerts};
use crate::ids::{AlertId, AlertMessageId};
use crate::vocabulary::Channel;
use crate::vocabulary::alerts::MessageKind;

/// How a recruited wave's recipients matched (`alert_areas.matched_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// Their live position entered the area.
    EnteredArea,
    /// The time window of a place of theirs in the area opened.
    TimeWindow,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EnteredArea => "entered_area",
            Self::TimeWindow => "time_window",
        }
    }
}

/// The alerts that recruit now, oldest first.
pub async fn recruiting_alerts(conn: &mut AsyncPgConnection) -> QueryResult<Vec<AlertId>> {
    alerts::table
        .filter(alerts::recruiting_until.gt(diesel::dsl::now))
        .order_by(alerts::sent_at)
        .select(alerts::id)
        .load(conn)
        .await
}

/// The entrants of the alert who still want it (`reach_key`, see `AlertPurpose::reach_key`) on one of its channels and are not
/// recipients yet, taken off the list (all of it: those left out are not to be alerted). One row
/// per participant.
pub async fn take_entrants(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    reach_key: &str,
    channels: &[Channel],
) -> QueryResult<Vec<Candidate>> {
    diesel::sql_query(
        "WITH taken AS (DELETE FROM area_entrants WHERE alert_id = $1 RETURNING participant_id)
         SELECT ll.participant_id, 'entered_area' AS matched_by, ll.reach_channels
           FROM taken JOIN live_locations ll ON ll.participant_id = taken.participant_id
          WHERE $2 = ANY (ll.reach_categories) AND ll.reach_channels && $3::text[]
            AND NOT EXISTS (SELECT 1 FROM alert_recipients r
                             WHERE r.participant_id = ll.participant_id AND r.alert_id = $1)",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Text, _>(reach_key)
    .bind::<Array<Text>, _>(channels)
    .load(conn)
    .await
}

/// Forgets the alert's entrants (it no longer recruits).
pub async fn discard_entrants(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM area_entrants WHERE alert_id = $1")
        .bind::<SqlUuid, _>(alert.0)
        .execute(conn)
        .await
}

/// The participants with a place in the alert's area whose time window opened since the last
/// check (at most an hour back; the first check looks back to the send), that is open now, who
/// want it (`reach_key`) on one of its channels and are not recipients yet; one row per participant.
/// Notes the check, so the next one starts where this one ended. The places are found through
/// the index of the minutes windows open at (`places.window_starts`), not by reading the area.
pub async fn take_opened_windows(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    reach_key: &str,
    channels: &[Channel],
) -> QueryResult<Vec<Candidate>> {
    diesel::sql_query(
        "WITH alert AS (
             SELECT area, coalesce(windows_checked_at, sent_at) AS since FROM alerts WHERE id = $1),
         opened AS (
             SELECT array_agg(DISTINCT minute_of_week(at)) AS minutes
               FROM alert, generate_series(date_trunc('minute', greatest(alert.since, now() - interval '1 hour'))
                                               + interval '1 minute',
                                           now(), interval '1 minute') AS at),
         checked AS (UPDATE alerts SET windows_checked_at = now() WHERE id = $1)
         SELECT DISTINCT ON (pl.participant_id) pl.participant_id, 'time_window' AS matched_by, pl.reach_channels
           FROM places pl, alert, opened
          WHERE pl.window_starts && opened.minutes
            AND pl.active_minutes @> minute_of_week(now())
            AND ST_Intersects(pl.location, alert.area)
            AND $2 = ANY (pl.reach_categories) AND pl.reach_channels && $3::text[]
            AND NOT EXISTS (SELECT 1 FROM alert_recipients r
                             WHERE r.participant_id = pl.participant_id AND r.alert_id = $1)
          ORDER BY pl.participant_id",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Text, _>(reach_key)
    .bind::<Array<Text>, _>(channels)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct WaveRow {
    #[diesel(sql_type = SmallInt)]
    wave: i16,
}

/// Adds a recruited wave, with all its recipients selected (they are added in the same
/// transaction), and returns its number.
pub async fn add_recruited_wave(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    matched_by: MatchedBy,
    subject: &str,
) -> QueryResult<i16> {
    diesel::sql_query(
        "INSERT INTO alert_areas (alert_id, wave, matched_by, created_by_subject, recipients_selected_at)
         SELECT $1, coalesce(max(wave) + 1, 0), $2, $3, now() FROM alert_areas WHERE alert_id = $1
         RETURNING wave",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Text, _>(matched_by.as_str())
    .bind::<Text, _>(subject)
    .get_result::<WaveRow>(conn)
    .await
    .map(|row| row.wave)
}

/// The message recruited waves get: the alert message of the first of them, if there is one yet.
/// (One for all of them, so the alert's messages do not grow with every entrant.)
pub async fn recruits_message(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
) -> QueryResult<Option<AlertMessageId>> {
    alert_messages::table
        .inner_join(
            alert_areas::table.on(alert_areas::alert_id
                .eq(alert_messages::alert_id)
                .and(alert_areas::wave.nullable().eq(alert_messages::wave))),
        )
        .filter(alert_messages::alert_id.eq(alert.0))
        .filter(alert_messages::kind.eq(MessageKind::Alert))
        .filter(alert_areas::matched_by.is_not_null())
        .order_by(alert_messages::created_at)
        .select(alert_messages::id)
        .first(conn)
        .await
        .optional()
}

/// How many entrants of the alert wait to be recruited.
pub async fn count_entrants(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<usize> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        entrants: i64,
    }
    let count: Count =
        diesel::sql_query("SELECT count(*) AS entrants FROM area_entrants WHERE alert_id = $1")
            .bind::<SqlUuid, _>(alert.0)
            .get_result(conn)
            .await?;
    Ok(count.entrants as usize)
}
