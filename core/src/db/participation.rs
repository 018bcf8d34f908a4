//! Counts of participants for the console: where a region's participants are dense, how many a
//! municipality has per status and channel, and how many each region has. Only counts leave
//! these queries, never a participant; the services show them as staff may see them.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Double, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ids::RegionId;

/// One square of the density grid, as WGS84 bounds, with how many participants it holds.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct DensityCellRow {
    #[diesel(sql_type = Double)]
    pub min_lon: f64,
    #[diesel(sql_type = Double)]
    pub min_lat: f64,
    #[diesel(sql_type = Double)]
    pub max_lon: f64,
    #[diesel(sql_type = Double)]
    pub max_lat: f64,
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
}

/// The squares of `cell_size_m` metres of the Dutch national grid (RD New, EPSG:28992) in which
/// at least `smallest` distinct active participants of the region's municipalities have a place
/// (home, work or other), each with that number; squares with fewer are not returned at all. A
/// participant counts once per square however many of their places lie in it. Live positions
/// are not read. Bounds are those of the square in WGS84, rounded to 6 decimals.
pub async fn density_cells(
    conn: &mut AsyncPgConnection,
    region: RegionId,
    cell_size_m: f64,
    smallest: i64,
) -> QueryResult<Vec<DensityCellRow>> {
    diesel::sql_query(
        "WITH located AS (
             SELECT DISTINCT pl.participant_id,
                    floor(ST_X(rd.point) / $2)::bigint AS cell_x, floor(ST_Y(rd.point) / $2)::bigint AS cell_y
               FROM places pl
               JOIN municipalities m ON m.cbs_code = pl.municipality_cbs AND m.region_id = $1
               JOIN participants p ON p.id = pl.participant_id AND p.status = 'active'
              CROSS JOIN LATERAL (SELECT ST_Transform(pl.location, 28992) AS point) AS rd),
         counted AS (
             SELECT cell_x, cell_y, count(*) AS participants
               FROM located GROUP BY cell_x, cell_y HAVING count(*) >= $3),
         squares AS (
             SELECT cell_x, cell_y, participants,
                    ST_Transform(ST_MakeEnvelope(cell_x * $2, cell_y * $2, (cell_x + 1) * $2, (cell_y + 1) * $2,
                                                 28992), 4326) AS g
               FROM counted)
         SELECT round(ST_XMin(g)::numeric, 6)::float8 AS min_lon, round(ST_YMin(g)::numeric, 6)::float8 AS min_lat,
                round(ST_XMax(g)::numeric, 6)::float8 AS max_lon, round(ST_YMax(g)::numeric, 6)::float8 AS max_lat,
                participants
           FROM squares
          ORDER BY cell_y DESC, cell_x",
    )
    .bind::<SqlUuid, _>(region.0)
    .bind::<Double, _>(cell_size_m)
    .bind::<BigInt, _>(smallest)
    .load(conn)
    .await
}

/// A municipality's participants (those it manages), exactly.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ParticipationRow {
    #[diesel(sql_type = BigInt)]
    pub active: i64,
    /// Status `pending`: the approval queue.
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    /// Active, with an e-mail address set before the grace moment and still unverified: the
    /// verification queue.
    #[diesel(sql_type = BigInt)]
    pub email_unverified: i64,
    /// Status `quarantined`: the quarantine queue.
    #[diesel(sql_type = BigInt)]
    pub quarantined: i64,
    /// Active participants whom a push can reach (chosen, and a device registered).
    #[diesel(sql_type = BigInt)]
    pub reachable_by_app: i64,
    #[diesel(sql_type = BigInt)]
    pub reachable_by_sms: i64,
    /// Active participants with a verified address who chose e-mail.
    #[diesel(sql_type = BigInt)]
    pub reachable_by_email: i64,
}

/// The municipality's participants by status, queue and channel. The channels a participant can
/// be reached on are those of `reach_of`, the definition the selection uses (empty for anyone not
/// active), given their devices counted in one pass (`participant_reach` per participant would
/// look each one's devices up on its own: seconds for a city).
pub async fn municipality_participation(
    conn: &mut AsyncPgConnection,
    cbs_code: &str,
    email_unverified_since: DateTime<Utc>,
) -> QueryResult<ParticipationRow> {
    diesel::sql_query(
        "SELECT count(*) FILTER (WHERE p.status = 'active') AS active,
                count(*) FILTER (WHERE p.status = 'pending') AS pending,
                count(*) FILTER (WHERE p.status = 'active' AND p.email_verified_at IS NULL
                                   AND p.email_set_at <= $2) AS email_unverified,
                count(*) FILTER (WHERE p.status = 'quarantined') AS quarantined,
                count(*) FILTER (WHERE 'push' = ANY (reach.channels)) AS reachable_by_app,
                count(*) FILTER (WHERE 'sms' = ANY (reach.channels)) AS reachable_by_sms,
                count(*) FILTER (WHERE 'email' = ANY (reach.channels)) AS reachable_by_email
           FROM participants p
           LEFT JOIN (SELECT d.participant_id,
                             (count(*) FILTER (WHERE d.platform = 'ios'))::smallint AS ios,
                             (count(*) FILTER (WHERE d.platform = 'android'))::smallint AS android
                        FROM devices d JOIN participants owner ON owner.id = d.participant_id
                       WHERE owner.municipality_cbs = $1
                       GROUP BY d.participant_id) AS devices ON devices.participant_id = p.id
          CROSS JOIN LATERAL reach_of(p, coalesce(devices.ios, 0::smallint), coalesce(devices.android, 0::smallint)) AS reach
          WHERE p.municipality_cbs = $1 AND p.erased_at IS NULL",
    )
    .bind::<Text, _>(cbs_code)
    .bind::<Timestamptz, _>(email_unverified_since)
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct RegionCount {
    #[diesel(sql_type = SqlUuid)]
    region_id: RegionId,
    #[diesel(sql_type = BigInt)]
    participants: i64,
}

/// The active participants each region's municipalities manage, by region (regions without any
/// are left out).
pub async fn active_per_region(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(RegionId, i64)>> {
    let rows: Vec<RegionCount> = diesel::sql_query(
        "SELECT m.region_id, count(*) AS participants
           FROM participants p JOIN municipalities m ON m.cbs_code = p.municipality_cbs
          WHERE p.status = 'active' AND m.region_id IS NOT NULL
          GROUP BY m.region_id",
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.region_id, row.participants)).collect())
}
