//! A synthetic national population for the fan-out benchmark (`burgernet bench fanout`), seeded
//! by SQL that runs on the server (`generate_series`), so millions of rows take minutes at most.
//!
//! - Municipalities: a grid of synthetic cells (`GM9000` and up) covering the Netherlands, all in
//!   region [`BENCH_REGION_CODE`], so every place falls in one.
//! - Homes: each of the [`CITIES`] gets its share of participants by inhabitants, spread normally
//!   around its centre (wider for larger cities); the rest of the country's inhabitants live
//!   evenly spread over its land (a coarse outline of the Netherlands, [`LAND_OUTLINE`]).
//! - Participants: one in [`APP_SHARE_PERCENT`] has the app (one device, iOS or Android, channels
//!   push and SMS); the others chose SMS only. About 40% have a second place (work), placed like
//!   another participant's home, so commuters cross the country as people do.
//!
//! Ids, phone numbers and tokens derive from the participant's number, so they are unique and a
//! run can be repeated; positions are random.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use burgernet_core::ids::AlertId;

pub const BENCH_REGION_CODE: &str = "bench";
const BENCH_REGION_NAME: &str = "Benchmark (synthetic population)";

/// Inhabitants of the Netherlands (CBS, 2024, rounded).
pub const NATIONAL_INHABITANTS: i64 = 17_900_000;

/// Participants with the app; the rest get SMS.
pub const APP_SHARE_PERCENT: i64 = 60;

/// The 45 largest municipalities: CBS code, name, centre (latitude, longitude) and inhabitants.
/// Approximate public CBS figures (2023/2024, rounded to thousands); the centres are the town
/// centres, not the municipalities' centroids.
pub const CITIES: &[(&str, &str, f64, f64, i64)] = &[
    ("GM0363", "Amsterdam", 52.3731, 4.8926, 931_000),
    ("GM0599", "Rotterdam", 51.9225, 4.4792, 664_000),
    ("GM0518", "'s-Gravenhage", 52.0705, 4.3007, 562_000),
    ("GM0344", "Utrecht", 52.0907, 5.1214, 367_000),
    ("GM0772", "Eindhoven", 51.4416, 5.4697, 239_000),
    ("GM0014", "Groningen", 53.2194, 6.5665, 238_000),
    ("GM0855", "Tilburg", 51.5555, 5.0913, 227_000),
    ("GM0034", "Almere", 52.3508, 5.2647, 222_000),
    ("GM0758", "Breda", 51.5719, 4.7683, 186_000),
    ("GM0268", "Nijmegen", 51.8126, 5.8372, 183_000),
    ("GM0200", "Apeldoorn", 52.2112, 5.9699, 166_000),
    ("GM0202", "Arnhem", 51.9851, 5.8987, 165_000),
    ("GM0392", "Haarlem", 52.3874, 4.6462, 164_000),
    ("GM0394", "Haarlemmermeer", 52.3030, 4.6890, 160_000),
    ("GM0307", "Amersfoort", 52.1561, 5.3878, 160_000),
    ("GM0153", "Enschede", 52.2215, 6.8937, 160_000),
    ("GM0479", "Zaanstad", 52.4389, 4.8258, 158_000),
    ("GM0796", "'s-Hertogenbosch", 51.6978, 5.3037, 157_000),
    ("GM0193", "Zwolle", 52.5168, 6.0830, 131_000),
    ("GM0637", "Zoetermeer", 52.0575, 4.4931, 126_000),
    ("GM0546", "Leiden", 52.1601, 4.4970, 126_000),
    ("GM0080", "Leeuwarden", 53.2012, 5.7999, 125_000),
    ("GM0935", "Maastricht", 50.8514, 5.6910, 121_000),
    ("GM0505", "Dordrecht", 51.8133, 4.6901, 120_000),
    ("GM0228", "Ede", 52.0402, 5.6649, 120_000),
    ("GM0484", "Alphen aan den Rijn", 52.1292, 4.6570, 113_000),
    ("GM1783", "Westland", 51.9917, 4.2083, 112_000),
    ("GM0361", "Alkmaar", 52.6324, 4.7534, 110_000),
    ("GM0114", "Emmen", 52.7858, 6.8976, 108_000),
    ("GM0503", "Delft", 52.0116, 4.3571, 104_000),
    ("GM0983", "Venlo", 51.3704, 6.1724, 102_000),
    ("GM0150", "Deventer", 52.2550, 6.1639, 101_000),
    ("GM0439", "Purmerend", 52.5050, 4.9590, 93_000),
    ("GM0794", "Helmond", 51.4793, 5.6570, 93_000),
    ("GM1948", "Oss", 51.7650, 5.5180, 93_000),
    ("GM0362", "Amstelveen", 52.3030, 4.8590, 92_000),
    ("GM0402", "Hilversum", 52.2292, 5.1669, 92_000),
    ("GM1900", "Súdwest-Fryslân", 53.0330, 5.6590, 91_000),
    ("GM1883", "Sittard-Geleen", 51.0000, 5.8690, 91_000),
    ("GM0917", "Heerlen", 50.8882, 5.9795, 87_000),
    ("GM1930", "Nissewaard", 51.8400, 4.3000, 86_000),
    ("GM0164", "Hengelo", 52.2659, 6.7931, 81_000),
    ("GM0606", "Schiedam", 51.9190, 4.3990, 80_000),
    ("GM0995", "Lelystad", 52.5185, 5.4714, 80_000),
    ("GM1674", "Roosendaal", 51.5308, 4.4653, 77_000),
];

/// A coarse outline of the Netherlands' land (longitude latitude), enough to keep the rural
/// population out of the North Sea and the IJsselmeer's middle.
pub const LAND_OUTLINE: &str = "POLYGON((3.37 51.37, 3.85 51.21, 4.26 51.37, 4.80 51.42, 5.10 51.43, \
    5.60 51.22, 5.84 51.15, 5.64 50.76, 6.03 50.73, 6.09 50.92, 5.90 51.03, 6.20 51.35, 6.08 51.65, \
    6.37 51.83, 6.73 51.90, 7.06 52.23, 7.06 52.65, 7.21 53.00, 7.20 53.25, 6.90 53.45, \
    6.20 53.42, 5.60 53.35, 5.10 53.05, 5.40 52.85, 5.60 52.60, 5.35 52.45, 5.10 52.40, \
    5.05 52.60, 4.95 52.95, 4.60 52.95, 4.50 52.60, 4.40 52.25, 4.10 52.00, 3.90 51.80, \
    3.55 51.60, 3.37 51.37))";

/// The grid of synthetic municipalities: its south-west corner, cell size and columns.
const GRID_WEST: f64 = 3.3;
const GRID_SOUTH: f64 = 50.7;
const GRID_CELL_LON: f64 = 0.2;
const GRID_CELL_LAT: f64 = 0.125;
const GRID_COLUMNS: i32 = 20;
const GRID_ROWS: i32 = 24;

/// The corners (longitude, latitude) of the land all synthetic participants live on: the grid of
/// synthetic municipalities, the area of a national alert.
pub fn national_outline() -> [(f64, f64); 5] {
    let east = GRID_WEST + f64::from(GRID_COLUMNS) * GRID_CELL_LON;
    let north = GRID_SOUTH + f64::from(GRID_ROWS) * GRID_CELL_LAT;
    [(GRID_WEST, GRID_SOUTH), (east, GRID_SOUTH), (east, north), (GRID_WEST, north), (GRID_WEST, GRID_SOUTH)]
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// How many participants the database holds, when it holds the bench region (else `None`).
pub async fn seeded_participants(conn: &mut AsyncPgConnection) -> QueryResult<Option<i64>> {
    let seeded: Count = diesel::sql_query("SELECT count(*) AS count FROM regions WHERE code = $1")
        .bind::<Text, _>(BENCH_REGION_CODE)
        .get_result(conn)
        .await?;
    if seeded.count == 0 {
        return Ok(None);
    }
    let participants: Count =
        diesel::sql_query("SELECT count(*) AS count FROM participants").get_result(conn).await?;
    Ok(Some(participants.count))
}

/// The SQL expression of the grid cell (CBS code) that holds the point `lon`, `lat`.
fn cell_code(lon: &str, lat: &str) -> String {
    format!(
        "'GM' || (9000 + least(greatest(floor(({lat} - {GRID_SOUTH}) / {GRID_CELL_LAT})::int, 0), {last_row}) \
                  * {GRID_COLUMNS}
                + least(greatest(floor(({lon} - {GRID_WEST}) / {GRID_CELL_LON})::int, 0), {last_column}))::text",
        last_row = GRID_ROWS - 1,
        last_column = GRID_COLUMNS - 1,
    )
}

/// Seeds `participants` synthetic participants with their places and devices into an empty,
/// migrated database, in one transaction, then vacuums and analyzes the tables.
pub async fn seed(conn: &mut AsyncPgConnection, participants: i64) -> QueryResult<()> {
    let cities = CITIES
        .iter()
        .map(|(code, name, latitude, longitude, inhabitants)| {
            format!("('{code}', '{}', {latitude}, {longitude}, {inhabitants})", name.replace('\'', "''"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    conn.transaction(async |conn| {
        diesel::sql_query("SET LOCAL synchronous_commit = off").execute(conn).await?;
        diesel::sql_query(
            "INSERT INTO regions (code, name) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING",
        )
        .bind::<Text, _>(BENCH_REGION_CODE)
        .bind::<Text, _>(BENCH_REGION_NAME)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "INSERT INTO municipalities (cbs_code, name, inhabitants, boundary, region_id)
             SELECT 'GM' || (9000 + r * $1 + c)::text, 'Bench cell ' || r || '-' || c, 0,
                    ST_Multi(ST_MakeEnvelope($3 + c * $5, $4 + r * $6, $3 + (c + 1) * $5, $4 + (r + 1) * $6, 4326)),
                    (SELECT id FROM regions WHERE code = $7)
               FROM generate_series(0, $2 - 1) AS r, generate_series(0, $1 - 1) AS c",
        )
        .bind::<Integer, _>(GRID_COLUMNS)
        .bind::<Integer, _>(GRID_ROWS)
        .bind::<Double, _>(GRID_WEST)
        .bind::<Double, _>(GRID_SOUTH)
        .bind::<Double, _>(GRID_CELL_LON)
        .bind::<Double, _>(GRID_CELL_LAT)
        .bind::<Text, _>(BENCH_REGION_CODE)
        .execute(conn)
        .await?;

        // Each participant's number falls in a city's range (by its share of the inhabitants)
        // or in the rural remainder after the last city.
        diesel::sql_query(format!(
            "CREATE TEMPORARY TABLE bench_homes ON COMMIT DROP AS
             WITH city AS (
                 SELECT *, (sum(inhabitants) OVER (ORDER BY inhabitants DESC, code))::bigint AS running
                   FROM (VALUES {cities}) AS c (code, name, latitude, longitude, inhabitants)),
             city_range AS (
                 SELECT latitude, longitude,
                        -- Spread (km) grows with the city: 4 km for Amsterdam, 1.2 km for 80,000.
                        0.0045 * sqrt(inhabitants) AS spread_km,
                        ($1 * (running - inhabitants) / $2) + 1 AS first_no,
                        $1 * running / $2 AS last_no
                   FROM city),
             urban AS (
                 SELECT n, latitude + spread_km / 111.0 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS lat,
                           longitude + spread_km / (111.0 * cos(radians(latitude)))
                                      * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS lon
                   FROM city_range, generate_series(first_no, last_no) AS n),
             rural_count AS (SELECT $1 - coalesce(max(n), 0) AS needed, coalesce(max(n), 0) AS offset_no FROM urban),
             rural_candidates AS (
                 SELECT ST_SetSRID(ST_MakePoint(3.3 + random() * 4.0, 50.7 + random() * 2.9), 4326) AS point
                   FROM rural_count, generate_series(1, (rural_count.needed * 3 + 100)::bigint)),
             rural AS (
                 SELECT rural_count.offset_no + row_number() OVER () AS n, ST_Y(point) AS lat, ST_X(point) AS lon
                   FROM rural_candidates, rural_count,
                        (SELECT ST_GeomFromText('{LAND_OUTLINE}', 4326) AS land) AS outline
                  WHERE ST_Contains(outline.land, point))
             SELECT n, lat, lon FROM urban
             UNION ALL
             SELECT n, lat, lon FROM rural WHERE n <= $1"
        ))
        .bind::<BigInt, _>(participants)
        .bind::<BigInt, _>(NATIONAL_INHABITANTS)
        .execute(conn)
        .await?;
        diesel::sql_query("CREATE UNIQUE INDEX ON bench_homes (n)").execute(conn).await?;

        diesel::sql_query(format!(
            "INSERT INTO participants (id, phone_number, language, channels, municipality_cbs)
             SELECT md5('participant:' || n)::uuid,
                    '+316' || lpad(n::text, 8, '0'),
                    CASE WHEN n % 20 = 0 THEN 'en' ELSE 'nl' END,
                    CASE WHEN n % 100 < $1 THEN '{{push,sms}}'::text[] ELSE '{{sms}}'::text[] END,
                    {cell}
               FROM bench_homes",
            cell = cell_code("lon", "lat"),
        ))
        .bind::<BigInt, _>(APP_SHARE_PERCENT)
        .execute(conn)
        .await?;
        // 45% of the app users have an iPhone.
        diesel::sql_query(
            "INSERT INTO devices (id, participant_id, platform, push_token, apns_environment, app_version, locale)
             SELECT md5('device:' || n)::uuid, md5('participant:' || n)::uuid,
                    CASE WHEN n % 20 < 9 THEN 'ios' ELSE 'android' END,
                    CASE WHEN n % 20 < 9 THEN md5('apns:' || n) || md5('apns-2:' || n)
                         ELSE 'bench-' || md5('fcm:' || n) || ':APA91b' END,
                    CASE WHEN n % 20 < 9 THEN 'production' END,
                    '2.4.1', CASE WHEN n % 20 = 0 THEN 'en-GB' ELSE 'nl-NL' END
               FROM bench_homes
              WHERE n % 100 < $1",
        )
        .bind::<BigInt, _>(APP_SHARE_PERCENT)
        .execute(conn)
        .await?;
        // Places after devices: each takes its participant's reach (devices included) on insert.
        diesel::sql_query(format!(
            "INSERT INTO places (id, participant_id, kind, name, location, municipality_cbs)
             SELECT md5('home:' || n)::uuid, md5('participant:' || n)::uuid, 'home', 'Thuis',
                    ST_SetSRID(ST_MakePoint(lon, lat), 4326), {cell}
               FROM bench_homes",
            cell = cell_code("lon", "lat"),
        ))
        .execute(conn)
        .await?;
        // Work lies where another participant lives (a fixed permutation of the numbers).
        diesel::sql_query(format!(
            "INSERT INTO places (id, participant_id, kind, name, location, municipality_cbs)
             SELECT md5('work:' || h.n)::uuid, md5('participant:' || h.n)::uuid, 'work', 'Werk',
                    ST_SetSRID(ST_MakePoint(w.lon, w.lat), 4326), {cell}
               FROM bench_homes h
               JOIN bench_homes w ON w.n = (h.n * 7919) % $1 + 1
              WHERE h.n % 5 < 2",
            cell = cell_code("w.lon", "w.lat"),
        ))
        .bind::<BigInt, _>(participants)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "UPDATE municipalities m SET inhabitants = homes.count * $1 / $2
               FROM (SELECT municipality_cbs, count(*) AS count FROM participants GROUP BY 1) AS homes
              WHERE m.cbs_code = homes.municipality_cbs",
        )
        .bind::<BigInt, _>(NATIONAL_INHABITANTS)
        .bind::<BigInt, _>(participants)
        .execute(conn)
        .await?;
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    // Places in spatial order, as the migration leaves them; then as autovacuum would leave the
    // tables: statistics current and the visibility map set.
    diesel::sql_query("CLUSTER places USING places_location_idx").execute(conn).await?;
    diesel::sql_query("VACUUM ANALYZE participants, places, devices, municipalities").execute(conn).await?;
    Ok(())
}

/// Reads the tables an alert's delivery touches into PostgreSQL's buffers, as they are on a
/// database server that has been running (the benchmark's own server has just started).
/// Needs the `pg_prewarm` extension (PostgreSQL's contrib).
pub async fn warm_up(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("CREATE EXTENSION IF NOT EXISTS pg_prewarm").execute(conn).await?;
    diesel::sql_query(
        "SELECT pg_prewarm(c.oid)
           FROM pg_class c
          WHERE c.relname IN ('participants', 'places', 'devices', 'alert_recipients', 'deliveries',
                              'delivery_batches', 'live_locations')
             OR c.oid IN (SELECT indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                           WHERE t.relname IN ('participants', 'places', 'devices', 'alert_recipients',
                                               'deliveries', 'delivery_batches', 'live_locations'))",
    )
    .execute(conn)
    .await
    .map(drop)
}

/// Jobs left in the queue by an earlier benchmark run (an SMS fallback check that was not due
/// yet, say) would send during this one: the benchmark database holds nothing else, so they go.
pub async fn discard_pending_jobs(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM background_jobs").execute(conn).await
}

/// Removes participants a benchmark added to the population for its run (with their sessions,
/// places, devices and positions), so the population is the seeded one again.
pub async fn remove_participants(conn: &mut AsyncPgConnection, ids: &[uuid::Uuid]) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM participants WHERE id = ANY ($1)")
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(ids)
        .execute(conn)
        .await
}

/// The first number of the phone numbers a benchmark may give participants it adds: above those
/// of any synthetic population (`+316` and the participant's number, 8 digits).
pub const ADDED_PHONE_NUMBERS_FROM: u32 = 50_000_000;

/// How far an alert's first wave got: cheap enough to ask many times a second while it is
/// delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct FanOutProgress {
    /// Whether the wave has all its recipients.
    #[diesel(sql_type = Bool)]
    pub selected: bool,
    /// Lanes of batches not finished yet.
    #[diesel(sql_type = BigInt)]
    pub batches_pending: i64,
    /// Push lanes of batches not finished yet.
    #[diesel(sql_type = BigInt)]
    pub push_batches_pending: i64,
}

impl FanOutProgress {
    /// Every recipient added and every lane of every batch delivered.
    pub fn is_done(&self) -> bool {
        self.selected && self.batches_pending == 0
    }

    /// Every recipient added and every push handed over.
    pub fn pushes_done(&self) -> bool {
        self.selected && self.push_batches_pending == 0
    }
}

pub async fn fan_out_progress(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<FanOutProgress> {
    diesel::sql_query(
        "SELECT coalesce((SELECT recipients_selected_at IS NOT NULL FROM alert_areas
                           WHERE alert_id = $1 AND wave = 0), false) AS selected,
                (SELECT count(*) FROM delivery_batches WHERE alert_id = $1 AND finished_at IS NULL)
                    AS batches_pending,
                (SELECT count(*) FROM delivery_batches
                  WHERE alert_id = $1 AND finished_at IS NULL AND lane = 'push') AS push_batches_pending",
    )
    .bind::<SqlUuid, _>(alert.0)
    .get_result(conn)
    .await
}

/// What an alert's first wave came to: its recipients, and how long their selection took (its
/// dossier entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct FanOutSummary {
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub select_ms: Option<i64>,
}

pub async fn fan_out_summary(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<FanOutSummary> {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM alert_recipients WHERE alert_id = $1) AS recipients,
                (SELECT (body ->> 'select_ms')::bigint FROM alert_dossier
                  WHERE alert_id = $1 AND kind = 'recipients_selected' ORDER BY seq LIMIT 1) AS select_ms",
    )
    .bind::<SqlUuid, _>(alert.0)
    .get_result(conn)
    .await
}

/// Where one recipient's alert should arrive: a push token (`apns`, `fcm`) or a phone number
/// (`sms`), and whether it was handed over (an SMS may still be waiting for the SMS lane's rate).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ExpectedTarget {
    #[diesel(sql_type = Text)]
    pub provider: String,
    #[diesel(sql_type = Text)]
    pub address: String,
    #[diesel(sql_type = Bool)]
    pub handed_over: bool,
}

/// Every device of the alert's recipients who chose push, and the phone of every recipient who
/// chose SMS and has no device: each should receive the alert exactly once. Those of the batches
/// `batches` (a range of batch numbers).
pub async fn expected_targets(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    batches: std::ops::Range<i32>,
) -> QueryResult<Vec<ExpectedTarget>> {
    diesel::sql_query(
        "WITH page AS (
             SELECT participant_id, batch_no FROM alert_recipients
              WHERE alert_id = $1 AND batch_no >= $2 AND batch_no < $3),
         message AS (SELECT id FROM alert_messages WHERE alert_id = $1 AND kind = 'alert' AND wave = 0)
         SELECT CASE d.platform WHEN 'ios' THEN 'apns' ELSE 'fcm' END AS provider, d.push_token AS address,
                true AS handed_over
           FROM page
           JOIN participants p ON p.id = page.participant_id
           JOIN devices d ON d.participant_id = page.participant_id
          WHERE 'push' = ANY (p.channels)
         UNION ALL
         SELECT 'sms', p.phone_number,
                EXISTS (SELECT 1 FROM deliveries dl, message
                         WHERE dl.message_id = message.id AND dl.batch_no = page.batch_no
                           AND dl.participant_id = page.participant_id AND dl.channel = 'sms'
                           AND dl.state IN ('sent', 'delivered'))
           FROM page
           JOIN participants p ON p.id = page.participant_id
          WHERE 'sms' = ANY (p.channels)
            AND NOT ('push' = ANY (p.channels)
                     AND EXISTS (SELECT 1 FROM devices d WHERE d.participant_id = p.id))",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Integer, _>(batches.start)
    .bind::<Integer, _>(batches.end)
    .load(conn)
    .await
}
