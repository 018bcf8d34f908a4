//! The SQL of the participation and distribution reports (`reports::participation`,
//! `reports::distribution`): the rollups of changes and counts, kept as participants come and go
//! and by the workers' housekeeping, and the live counts per area for the map. Only counts leave
//! these queries, never a participant.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, BigInt, Date, Double, Integer, Nullable, Text, Timestamptz};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::vocabulary::ParticipationReason;

/// The advisory lock that lets one counter of participation at a time through (any fixed
/// number; this one spells "particip").
const COUNTING_LOCK: i64 = 0x7061_7274_6963_6970;

/// Counts one participant joining or leaving `municipality_cbs` today (Dutch time, by the
/// transaction's clock). Call it in the transaction that makes the change.
pub async fn count_change(
    conn: &mut AsyncPgConnection,
    municipality_cbs: &str,
    reason: ParticipationReason,
) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO participation_changes (day, municipality_cbs, reason, participants)
         VALUES ((now() AT TIME ZONE 'Europe/Amsterdam')::date, $1, $2, 1)
         ON CONFLICT (municipality_cbs, day, reason)
         DO UPDATE SET participants = participation_changes.participants + 1",
    )
    .bind::<Text, _>(municipality_cbs)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// Takes the counters' lock for the rest of the transaction; false when another counter holds it.
pub async fn try_lock_counting(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
        .bind::<BigInt, _>(COUNTING_LOCK)
        .get_result(conn)
        .await?;
    Ok(row.locked)
}

#[derive(QueryableByName)]
struct LastCount {
    #[diesel(sql_type = Timestamptz)]
    counted_at: DateTime<Utc>,
}

/// When participation was last counted; None before the first count.
pub async fn last_counted_at(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    let row: Option<LastCount> = diesel::sql_query(
        "SELECT counted_at FROM participation_counts
          WHERE day = (SELECT max(day) FROM participation_counts)
          ORDER BY counted_at DESC LIMIT 1",
    )
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|row| row.counted_at))
}

/// Counts every municipality's active participants now and keeps the count as that of `day`
/// (replacing an earlier count of the same day), with `counted_at`. Municipalities without any
/// get a count of 0. The split by channel is that of `reach_of`, the selection's definition.
/// Returns the number of municipalities counted.
pub async fn count_participation(
    conn: &mut AsyncPgConnection,
    day: NaiveDate,
    counted_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO participation_counts (day, municipality_cbs, active, app, sms_only, email_only, counted_at)
         SELECT $1, m.cbs_code, coalesce(c.active, 0), coalesce(c.app, 0), coalesce(c.sms_only, 0),
                coalesce(c.email_only, 0), $2
           FROM municipalities m
           LEFT JOIN (
               SELECT p.municipality_cbs,
                      count(*)::int AS active,
                      (count(*) FILTER (WHERE 'push' = ANY (r.channels)))::int AS app,
                      (count(*) FILTER (WHERE 'sms' = ANY (r.channels) AND NOT 'push' = ANY (r.channels)))::int
                          AS sms_only,
                      (count(*) FILTER (WHERE r.channels = ARRAY['email']))::int AS email_only
                 FROM participants p
                CROSS JOIN LATERAL (SELECT (count(*) FILTER (WHERE platform = 'ios'))::smallint AS ios,
                                           (count(*) FILTER (WHERE platform = 'android'))::smallint AS android
                                      FROM devices WHERE devices.participant_id = p.id) AS d
                CROSS JOIN LATERAL reach_of(p, d.ios, d.android) AS r
                WHERE p.status = 'active' AND p.municipality_cbs IS NOT NULL
                GROUP BY p.municipality_cbs) AS c ON c.municipality_cbs = m.cbs_code
         ON CONFLICT (municipality_cbs, day) DO UPDATE
            SET active = EXCLUDED.active, app = EXCLUDED.app, sms_only = EXCLUDED.sms_only,
                email_only = EXCLUDED.email_only, counted_at = EXCLUDED.counted_at",
    )
    .bind::<Date, _>(day)
    .bind::<Timestamptz, _>(counted_at)
    .execute(conn)
    .await
}

/// A municipality with its last count on or before a day (none when it was never counted).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct MunicipalityCountRow {
    #[diesel(sql_type = Text)]
    pub cbs_code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Integer)]
    pub inhabitants: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    pub active: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub app: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub sms_only: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub email_only: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub counted_at: Option<DateTime<Utc>>,
}

/// The municipalities (those of `cbs_codes`; every one for None), by name, each with its last
/// count on or before `last_day`: one index probe per municipality.
pub async fn municipality_counts(
    conn: &mut AsyncPgConnection,
    cbs_codes: Option<&[String]>,
    last_day: NaiveDate,
) -> QueryResult<Vec<MunicipalityCountRow>> {
    diesel::sql_query(
        "SELECT m.cbs_code, m.name, m.inhabitants, c.active, c.app, c.sms_only, c.email_only, c.counted_at
           FROM municipalities m
           LEFT JOIN LATERAL (
               SELECT active, app, sms_only, email_only, counted_at FROM participation_counts pc
                WHERE pc.municipality_cbs = m.cbs_code AND pc.day <= $2
                ORDER BY pc.day DESC LIMIT 1) AS c ON true
          WHERE $1::text[] IS NULL OR m.cbs_code = ANY ($1)
          ORDER BY m.name, m.cbs_code",
    )
    .bind::<Nullable<Array<Text>>, _>(cbs_codes)
    .bind::<Date, _>(last_day)
    .load(conn)
    .await
}

/// Participants who joined or left for one reason in one month.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct MonthlyChangeRow {
    /// The month's first day.
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = Text)]
    pub reason: ParticipationReason,
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
}

/// The changes counted from `first` up to (not including) `after`, per month and reason, in the
/// municipalities of `cbs_codes` (every one for None).
pub async fn monthly_changes(
    conn: &mut AsyncPgConnection,
    cbs_codes: Option<&[String]>,
    first: NaiveDate,
    after: NaiveDate,
) -> QueryResult<Vec<MonthlyChangeRow>> {
    diesel::sql_query(
        "SELECT date_trunc('month', day)::date AS month, reason, sum(participants)::bigint AS participants
           FROM participation_changes
          WHERE day >= $2 AND day < $3 AND ($1::text[] IS NULL OR municipality_cbs = ANY ($1))
          GROUP BY 1, 2",
    )
    .bind::<Nullable<Array<Text>>, _>(cbs_codes)
    .bind::<Date, _>(first)
    .bind::<Date, _>(after)
    .load(conn)
    .await
}

/// The active participants as last counted in a month.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct MonthEndRow {
    /// The month's first day.
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    /// The day of the month's last count.
    #[diesel(sql_type = Date)]
    pub day: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub active: i64,
}

/// For each month from `first` up to (not including) `after` in which participation was
/// counted, the active participants of `cbs_codes` (every municipality for None) on its last
/// counted day.
pub async fn active_at_month_ends(
    conn: &mut AsyncPgConnection,
    cbs_codes: Option<&[String]>,
    first: NaiveDate,
    after: NaiveDate,
) -> QueryResult<Vec<MonthEndRow>> {
    diesel::sql_query(
        "WITH last_days AS (
             SELECT date_trunc('month', day)::date AS month, max(day) AS day
               FROM participation_counts WHERE day >= $2 AND day < $3 GROUP BY 1)
         SELECT l.month, l.day, coalesce(sum(c.active), 0)::bigint AS active
           FROM last_days l
           LEFT JOIN participation_counts c
                  ON c.day = l.day AND ($1::text[] IS NULL OR c.municipality_cbs = ANY ($1))
          GROUP BY l.month, l.day",
    )
    .bind::<Nullable<Array<Text>>, _>(cbs_codes)
    .bind::<Date, _>(first)
    .bind::<Date, _>(after)
    .load(conn)
    .await
}

/// One 500 m square of the Dutch national grid with the active participants whose home lies in
/// it; `polygon` is the square in WGS84 as a GeoJSON Polygon.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct GridCellRow {
    /// The square's south-west corner in RD New metres, divided by 100 (CBS naming: `E` and `N`).
    #[diesel(sql_type = BigInt)]
    pub east_hm: i64,
    #[diesel(sql_type = BigInt)]
    pub north_hm: i64,
    #[diesel(sql_type = Text)]
    pub polygon: String,
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
}

/// Counts where every municipality's active participants live now and keeps that as the
/// distribution (replacing the last count): one point per active participant (their home, else
/// their first place: the place that makes the municipality theirs), per square of `cell_m` metres
/// of the national grid and 4-digit postcode area. Call in the participation count's transaction.
/// Returns the number of (municipality, square, postcode area) rows.
pub async fn count_distribution(conn: &mut AsyncPgConnection, cell_m: f64) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM distribution_counts").execute(conn).await?;
    diesel::sql_query(
        "WITH homes AS (
             SELECT DISTINCT ON (p.id) p.municipality_cbs, pl.location, pl.postcode
               FROM participants p
               JOIN places pl ON pl.participant_id = p.id AND pl.municipality_cbs = p.municipality_cbs
              WHERE p.status = 'active' AND p.municipality_cbs IS NOT NULL
              ORDER BY p.id, pl.kind <> 'home', pl.created_at, pl.id)
         INSERT INTO distribution_counts (municipality_cbs, cell_x, cell_y, postcode_area, participants)
         SELECT municipality_cbs, floor(ST_X(rd.point) / $1)::bigint, floor(ST_Y(rd.point) / $1)::bigint,
                coalesce(left(postcode, 4), ''), count(*)
           FROM homes CROSS JOIN LATERAL (SELECT ST_Transform(homes.location, 28992) AS point) AS rd
          GROUP BY 1, 2, 3, 4",
    )
    .bind::<Double, _>(cell_m)
    .execute(conn)
    .await
}

/// The squares of `cell_m` metres (as counted) with at least one home of an active participant of
/// `cbs_codes` in them at the last count, each with how many.
pub async fn home_cells(
    conn: &mut AsyncPgConnection,
    cbs_codes: &[String],
    cell_m: f64,
) -> QueryResult<Vec<GridCellRow>> {
    diesel::sql_query(
        "WITH counted AS (
             SELECT cell_x, cell_y, sum(participants)::bigint AS participants
               FROM distribution_counts WHERE municipality_cbs = ANY ($1)
              GROUP BY 1, 2)
         SELECT (cell_x * $2 / 100)::bigint AS east_hm, (cell_y * $2 / 100)::bigint AS north_hm,
                ST_AsGeoJSON(ST_Transform(ST_MakeEnvelope(cell_x * $2, cell_y * $2, (cell_x + 1) * $2,
                                                          (cell_y + 1) * $2, 28992), 4326), 6) AS polygon,
                participants
           FROM counted
          ORDER BY cell_y DESC, cell_x",
    )
    .bind::<Array<Text>, _>(cbs_codes)
    .bind::<Double, _>(cell_m)
    .load(conn)
    .await
}

/// A municipality's square with how many homes of its active participants lie in it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct MunicipalityCellRow {
    #[diesel(sql_type = Text)]
    pub cbs_code: String,
    #[diesel(sql_type = BigInt)]
    pub east_hm: i64,
    #[diesel(sql_type = BigInt)]
    pub north_hm: i64,
    #[diesel(sql_type = Text)]
    pub polygon: String,
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
}

/// For each municipality of `cbs_codes`, the squares of `cell_m` metres (as counted) that
/// intersect its boundary with the fewest homes of its active participants at the last count
/// (then from north-west), at most `limit` each; by municipality.
pub async fn thinnest_cells(
    conn: &mut AsyncPgConnection,
    cbs_codes: &[String],
    cell_m: f64,
    limit: i64,
) -> QueryResult<Vec<MunicipalityCellRow>> {
    diesel::sql_query(
        "WITH squares AS (
             SELECT m.cbs_code, s.i::bigint AS cell_x, s.j::bigint AS cell_y, s.geom
               FROM municipalities m
              CROSS JOIN LATERAL (SELECT ST_Transform(m.boundary, 28992) AS rd) AS b
              CROSS JOIN LATERAL ST_SquareGrid($2, b.rd) AS s
              WHERE m.cbs_code = ANY ($1) AND ST_Intersects(s.geom, b.rd)),
         occupied AS (
             SELECT municipality_cbs AS cbs_code, cell_x, cell_y, sum(participants)::bigint AS participants
               FROM distribution_counts WHERE municipality_cbs = ANY ($1)
              GROUP BY 1, 2, 3),
         ranked AS (
             SELECT s.cbs_code, s.cell_x, s.cell_y, s.geom, coalesce(o.participants, 0) AS participants,
                    row_number() OVER (PARTITION BY s.cbs_code
                                       ORDER BY coalesce(o.participants, 0), s.cell_y DESC, s.cell_x) AS rank
               FROM squares s LEFT JOIN occupied o USING (cbs_code, cell_x, cell_y))
         SELECT cbs_code, (cell_x * $2 / 100)::bigint AS east_hm, (cell_y * $2 / 100)::bigint AS north_hm,
                ST_AsGeoJSON(ST_Transform(geom, 4326), 6) AS polygon, participants
           FROM ranked WHERE rank <= $3
          ORDER BY cbs_code, rank",
    )
    .bind::<Array<Text>, _>(cbs_codes)
    .bind::<Double, _>(cell_m)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// A 4-digit postcode area with the active participants whose home in it has a postcode.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct PostcodeAreaRow {
    #[diesel(sql_type = Text)]
    pub postcode_area: String,
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
}

/// The 4-digit postcode areas of the homes of active participants of `cbs_codes` that have a
/// postcode, at the last count, each with how many, in postcode order.
pub async fn postcode_areas(
    conn: &mut AsyncPgConnection,
    cbs_codes: &[String],
) -> QueryResult<Vec<PostcodeAreaRow>> {
    diesel::sql_query(
        "SELECT postcode_area, sum(participants)::bigint AS participants
           FROM distribution_counts WHERE municipality_cbs = ANY ($1) AND postcode_area <> ''
          GROUP BY 1 ORDER BY 1",
    )
    .bind::<Array<Text>, _>(cbs_codes)
    .load(conn)
    .await
}
