//! The SQL of alerts: areas (built and judged by PostGIS), the alert row and its waves and
//! messages, who an area reaches, and the recipient snapshot with its batches. Geometries go in
//! and out as WKB or GeoJSON through PostGIS functions only.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, Bool, Bytea, Double, Integer, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::schema::{alert_areas, alert_messages, alert_recipients, alerts, regions};
use super::target_groups::TargetGroupRef;
use crate::ids::{AlertId, AlertMessageId, ParticipantId, RegionId, TargetGroupId};
use crate::vocabulary::alerts::{AlertAnswer, AlertPurpose, AlertStatus, MessageKind, Outcome};
use crate::vocabulary::area::{AreaShape, DrawnArea};
use crate::vocabulary::{Category, Channel};

// --- areas ---

#[derive(Debug, QueryableByName)]
pub struct AreaGeometry {
    /// Why PostGIS finds the geometry invalid (e.g. "Self-intersection[4.45 51.92]").
    #[diesel(sql_type = Nullable<Text>)]
    pub invalid_reason: Option<String>,
    #[diesel(sql_type = Double)]
    pub surface_km2: f64,
    /// The smallest of its polygons (from 1, in the order drawn) and its surface in m².
    #[diesel(sql_type = Integer)]
    pub smallest_polygon: i32,
    #[diesel(sql_type = Double)]
    pub smallest_polygon_m2: f64,
    /// The geometry as WKB, SRID 4326, always a MultiPolygon.
    #[diesel(sql_type = Bytea)]
    pub wkb: Vec<u8>,
}

/// Builds the geometry of a drawn area: a circle becomes a 64-sided polygon on the ellipsoid.
pub async fn build_area(conn: &mut AsyncPgConnection, drawn: &DrawnArea) -> QueryResult<AreaGeometry> {
    let (longitude, latitude, radius) = match drawn.shape() {
        AreaShape::Circle { center, radius_meters } => (center.longitude, center.latitude, *radius_meters),
        _ => (0.0, 0.0, 0.0),
    };
    diesel::sql_query(
        "WITH drawn AS (
             SELECT CASE WHEN $1::text IS NULL
                 THEN ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $4,
                                         'quad_segs=16')::geometry)
                 ELSE ST_Multi(ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)))
             END AS g),
         smallest AS (
             SELECT (part).path[1] AS polygon, ST_Area((part).geom::geography) AS m2
               FROM (SELECT ST_Dump(g) AS part FROM drawn) AS parts
              ORDER BY m2, polygon LIMIT 1)
         SELECT CASE WHEN ST_IsValid(g) THEN NULL ELSE ST_IsValidReason(g) END AS invalid_reason,
                ST_Area(g::geography) / 1e6 AS surface_km2,
                smallest.polygon AS smallest_polygon, smallest.m2 AS smallest_polygon_m2,
                ST_AsBinary(g) AS wkb
           FROM drawn, smallest",
    )
    .bind::<Nullable<Text>, _>(drawn.geojson())
    .bind::<Double, _>(longitude)
    .bind::<Double, _>(latitude)
    .bind::<Double, _>(radius)
    .get_result(conn)
    .await
}

#[derive(Debug, QueryableByName)]
pub struct AreaPlacement {
    #[diesel(sql_type = Bool)]
    pub inside_service_area: bool,
    #[diesel(sql_type = Bool)]
    pub touches_region: bool,
    /// The surface of the area (km²) further from the region than the margin.
    #[diesel(sql_type = Double)]
    pub beyond_margin_km2: f64,
}

/// Where a (valid) area lies: within the service area (the extent of the loaded municipalities,
/// widened by 0.25°) or not, touching a municipality of `region` or not, and how much of it lies
/// further than `margin_meters` from the region. Only the region's municipalities within the margin
/// of the area are joined and widened, so a small area costs little however large the region.
pub async fn place_area(
    conn: &mut AsyncPgConnection,
    wkb: &[u8],
    region: RegionId,
    margin_meters: f64,
) -> QueryResult<AreaPlacement> {
    diesel::sql_query(
        "WITH area AS (SELECT ST_GeomFromWKB($1, 4326) AS g),
              service AS (SELECT ST_Expand(ST_SetSRID(ST_Extent(boundary)::geometry, 4326), 0.25) AS box
                            FROM municipalities),
              near AS (SELECT ST_Union(m.boundary) AS g FROM municipalities m, area
                        WHERE m.region_id = $2 AND ST_DWithin(m.boundary::geography, area.g::geography, $3)),
              allowed AS (SELECT CASE WHEN $3 > 0 THEN ST_Buffer(near.g::geography, $3)::geometry
                                      ELSE near.g END AS g
                            FROM near)
         SELECT coalesce(ST_Covers(service.box, area.g), false) AS inside_service_area,
                EXISTS (SELECT 1 FROM municipalities m
                         WHERE m.region_id = $2 AND ST_Intersects(m.boundary, area.g)) AS touches_region,
                coalesce(ST_Area(ST_Difference(area.g, allowed.g)::geography),
                         ST_Area(area.g::geography)) / 1e6 AS beyond_margin_km2
           FROM area, service, allowed",
    )
    .bind::<Bytea, _>(wkb)
    .bind::<SqlUuid, _>(region.0)
    .bind::<Double, _>(margin_meters)
    .get_result(conn)
    .await
}

// --- alerts ---

pub struct NewAlert<'a> {
    pub id: AlertId,
    pub region: RegionId,
    pub category: Category,
    pub purpose: AlertPurpose,
    pub reach_area: bool,
    pub urgent: bool,
    pub channels: Vec<Channel>,
    pub description: serde_json::Value,
    pub texts: serde_json::Value,
    pub call_back_number: Option<&'a str>,
    pub area_wkb: &'a [u8],
    pub created_by_subject: &'a str,
    pub created_by_name: Option<&'a str>,
    pub incident_reference: Option<&'a str>,
}

pub async fn insert_alert(conn: &mut AsyncPgConnection, alert: &NewAlert<'_>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO alerts (id, region_id, category, urgent, channels, description, texts, call_back_number,
                             area, created_by_subject, created_by_name, purpose, reach_area, incident_reference)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ST_GeomFromWKB($9, 4326), $10, $11, $12, $13, $14)",
    )
    .bind::<SqlUuid, _>(alert.id.0)
    .bind::<SqlUuid, _>(alert.region.0)
    .bind::<Text, _>(alert.category)
    .bind::<Bool, _>(alert.urgent)
    .bind::<Array<Text>, _>(&alert.channels)
    .bind::<diesel::sql_types::Jsonb, _>(&alert.description)
    .bind::<diesel::sql_types::Jsonb, _>(&alert.texts)
    .bind::<Nullable<Text>, _>(alert.call_back_number)
    .bind::<Bytea, _>(alert.area_wkb)
    .bind::<Text, _>(alert.created_by_subject)
    .bind::<Nullable<Text>, _>(alert.created_by_name)
    .bind::<Text, _>(alert.purpose)
    .bind::<Bool, _>(alert.reach_area)
    .bind::<Nullable<Text>, _>(alert.incident_reference)
    .execute(conn)
    .await
    .map(drop)
}

/// An alert row with its region code and its area as GeoJSON.
#[derive(Debug, Clone, Queryable)]
pub struct AlertRow {
    pub id: AlertId,
    pub region_id: RegionId,
    pub region_code: String,
    pub status: AlertStatus,
    pub category: Category,
    pub urgent: bool,
    pub channels: Vec<Channel>,
    pub description: serde_json::Value,
    pub texts: serde_json::Value,
    pub call_back_number: Option<String>,
    pub area_geojson: String,
    pub outcome: Option<Outcome>,
    pub created_by_subject: String,
    pub created_by_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Until when the alert recruits those who enter its area (see `alerts::delivery::recruitment`);
    /// `None` before the send and after the close.
    pub recruiting_until: Option<DateTime<Utc>>,
    pub purpose: AlertPurpose,
    /// Whether it reaches those its area reaches; false: its target groups only.
    pub reach_area: bool,
    /// The control room's reference for the incident (its incident system's number).
    pub incident_reference: Option<String>,
    /// The id of its public page (see `alerts::public_page`); real alerts get one when sent.
    pub public_id: Option<String>,
}

impl AlertRow {
    /// What the places and live positions it reaches carry (see [`AlertPurpose::reach_key`]).
    pub fn reach_key(&self) -> &'static str {
        self.purpose.reach_key(self.category)
    }
}

type AlertColumns = (
    alerts::id,
    alerts::region_id,
    regions::code,
    alerts::status,
    alerts::category,
    alerts::urgent,
    alerts::channels,
    alerts::description,
    alerts::texts,
    alerts::call_back_number,
    diesel::expression::SqlLiteral<Text>,
    alerts::outcome,
    alerts::created_by_subject,
    alerts::created_by_name,
    alerts::created_at,
    alerts::sent_at,
    alerts::closed_at,
    alerts::recruiting_until,
    alerts::purpose,
    alerts::reach_area,
    alerts::incident_reference,
    alerts::public_id,
);

fn alert_columns() -> AlertColumns {
    (
        alerts::id,
        alerts::region_id,
        regions::code,
        alerts::status,
        alerts::category,
        alerts::urgent,
        alerts::channels,
        alerts::description,
        alerts::texts,
        alerts::call_back_number,
        diesel::dsl::sql::<Text>("ST_AsGeoJSON(alerts.area, 6)"),
        alerts::outcome,
        alerts::created_by_subject,
        alerts::created_by_name,
        alerts::created_at,
        alerts::sent_at,
        alerts::closed_at,
        alerts::recruiting_until,
        alerts::purpose,
        alerts::reach_area,
        alerts::incident_reference,
        alerts::public_id,
    )
}

/// One alert; `lock` holds its row until the transaction ends, so changes to one alert (send,
/// expand, update, close, a fan-out step) happen one after the other. The lock leaves the rows
/// that refer to the alert free to be written meanwhile (their foreign keys take a key-share lock
/// on it), so recording deliveries never holds up a fan-out step.
pub async fn find_alert(
    conn: &mut AsyncPgConnection,
    id: AlertId,
    lock: bool,
) -> QueryResult<Option<AlertRow>> {
    if lock {
        alerts::table
            .find(id.0)
            .select(alerts::id)
            .for_no_key_update()
            .first::<Uuid>(conn)
            .await
            .optional()?;
    }
    alerts::table
        .inner_join(regions::table)
        .filter(alerts::id.eq(id.0))
        .select(alert_columns())
        .first(conn)
        .await
        .optional()
}

/// What scope and status checks need of an alert, without its content and area.
#[derive(Debug, Clone, Queryable)]
pub struct AlertState {
    pub region_code: String,
    pub status: AlertStatus,
}

/// The alert's region and status.
pub async fn find_state(conn: &mut AsyncPgConnection, id: AlertId) -> QueryResult<Option<AlertState>> {
    alerts::table
        .inner_join(regions::table)
        .filter(alerts::id.eq(id.0))
        .select((regions::code, alerts::status))
        .first(conn)
        .await
        .optional()
}

/// The alert's status, with its row locked as [`find_alert`] locks it.
pub async fn lock_status(conn: &mut AsyncPgConnection, id: AlertId) -> QueryResult<Option<AlertStatus>> {
    alerts::table.find(id.0).select(alerts::status).for_no_key_update().first(conn).await.optional()
}

/// Whether the participant is one of the alert's recipients.
pub async fn is_recipient(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    participant: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(alert_recipients::table.find((participant, alert.0))))
        .get_result(conn)
        .await
}

/// Alerts newest first, of one region or all, optionally of one status and one purpose.
pub async fn list_alerts(
    conn: &mut AsyncPgConnection,
    region: Option<RegionId>,
    status: Option<AlertStatus>,
    purpose: Option<AlertPurpose>,
    limit: i64,
) -> QueryResult<Vec<AlertRow>> {
    let mut query = alerts::table.inner_join(regions::table).select(alert_columns()).into_boxed();
    if let Some(region) = region {
        query = query.filter(alerts::region_id.eq(region.0));
    }
    if let Some(status) = status {
        query = query.filter(alerts::status.eq(status));
    }
    if let Some(purpose) = purpose {
        query = query.filter(alerts::purpose.eq(purpose));
    }
    query.order_by((alerts::created_at.desc(), alerts::id)).limit(limit).load(conn).await
}

/// Marks the alert sent; an alert that reaches its area recruits on `recruiting_channels` (see
/// [`AlertRow::recruiting_until`]) for `recruiting_window` from now, one that reaches its target
/// groups only recruits nobody. Returns when it was sent (the database's clock) and until when it
/// recruits.
pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    id: AlertId,
    recruiting_window: std::time::Duration,
    recruiting_channels: &[Channel],
) -> QueryResult<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let recruiting_until = diesel::dsl::sql::<Nullable<Timestamptz>>("CASE WHEN reach_area THEN now() + ")
        .bind::<diesel::sql_types::Interval, _>(super::interval(recruiting_window))
        .sql(" END");
    let recruiting_channels = diesel::dsl::sql::<Nullable<Array<Text>>>("CASE WHEN reach_area THEN ")
        .bind::<Array<Text>, _>(recruiting_channels)
        .sql("::text[] END");
    diesel::update(alerts::table.find(id.0))
        .set((
            alerts::status.eq(AlertStatus::Active),
            alerts::sent_at.eq(diesel::dsl::now),
            alerts::recruiting_until.eq(recruiting_until),
            alerts::recruiting_channels.eq(recruiting_channels),
        ))
        .returning((alerts::sent_at.assume_not_null(), alerts::recruiting_until))
        .get_result(conn)
        .await
}

pub async fn mark_closed(conn: &mut AsyncPgConnection, id: AlertId, outcome: Outcome) -> QueryResult<()> {
    diesel::update(alerts::table.find(id.0))
        .set((
            alerts::status.eq(AlertStatus::Closed),
            alerts::outcome.eq(outcome),
            alerts::closed_at.eq(diesel::dsl::now),
            alerts::recruiting_until.eq(None::<DateTime<Utc>>),
            alerts::recruiting_channels.eq(None::<Vec<Channel>>),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The alert's area (`area`) with the extra area (`$2`, WKB) added, as an expansion stores it.
const AREA_WITH_EXTRA: &str = "ST_Multi(ST_CollectionExtract(ST_Union(area, ST_GeomFromWKB($2, 4326)), 3))";

/// What the alert's area would be with `extra_wkb` added by an expansion (WKB, SRID 4326);
/// `None` when there is no such alert.
pub async fn area_with_extra_wkb(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    extra_wkb: &[u8],
) -> QueryResult<Option<Vec<u8>>> {
    let row: Option<Wkb> =
        diesel::sql_query(format!("SELECT ST_AsBinary({AREA_WITH_EXTRA}) AS wkb FROM alerts WHERE id = $1"))
            .bind::<SqlUuid, _>(alert.0)
            .bind::<Bytea, _>(extra_wkb)
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|row| row.wkb))
}

/// How many alerts each region has in a status, by region (regions without any left out).
pub async fn count_per_region(
    conn: &mut AsyncPgConnection,
    status: AlertStatus,
) -> QueryResult<Vec<(RegionId, i64)>> {
    alerts::table
        .filter(alerts::status.eq(status))
        .group_by(alerts::region_id)
        .select((alerts::region_id, diesel::dsl::count_star()))
        .load::<(Uuid, i64)>(conn)
        .await
        .map(|rows| rows.into_iter().map(|(region, count)| (RegionId(region), count)).collect())
}

// --- target groups ---

/// Names the target groups `groups` as the alert's: those of `region` that are not archived.
/// Returns the groups named, by name; groups not among them were left out.
pub async fn add_target_groups(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    region: RegionId,
    groups: &[TargetGroupId],
) -> QueryResult<Vec<TargetGroupRef>> {
    diesel::sql_query(
        "WITH added AS (
             INSERT INTO alert_target_groups (alert_id, group_id)
             SELECT $1, g.id FROM target_groups g
              WHERE g.id = ANY ($2) AND g.region_id = $3 AND g.archived_at IS NULL
             RETURNING group_id)
         SELECT g.id, g.name FROM added JOIN target_groups g ON g.id = added.group_id ORDER BY g.name, g.id",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<Array<SqlUuid>, _>(groups)
    .bind::<SqlUuid, _>(region.0)
    .load(conn)
    .await
}

/// The target groups the alert reaches, by name.
pub async fn target_groups_of(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
) -> QueryResult<Vec<TargetGroupRef>> {
    diesel::sql_query(
        "SELECT g.id, g.name FROM alert_target_groups a JOIN target_groups g ON g.id = a.group_id
          WHERE a.alert_id = $1 ORDER BY g.name, g.id",
    )
    .bind::<SqlUuid, _>(alert.0)
    .load(conn)
    .await
}

/// Adds a wave's area to the alert's and returns the number of the wave.
pub async fn add_area(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    shape: &serde_json::Value,
    wkb: &[u8],
    subject: &str,
) -> QueryResult<i16> {
    let wave: i16 = diesel::sql_query(
        "INSERT INTO alert_areas (alert_id, wave, shape, area, created_by_subject)
         SELECT $1, coalesce(max(wave) + 1, 0), $2, ST_GeomFromWKB($3, 4326), $4
           FROM alert_areas WHERE alert_id = $1
         RETURNING wave",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<diesel::sql_types::Jsonb, _>(shape)
    .bind::<Bytea, _>(wkb)
    .bind::<Text, _>(subject)
    .get_result::<WaveRow>(conn)
    .await?
    .wave;
    if wave > 0 {
        diesel::sql_query(format!("UPDATE alerts SET area = {AREA_WITH_EXTRA} WHERE id = $1"))
            .bind::<SqlUuid, _>(alert.0)
            .bind::<Bytea, _>(wkb)
            .execute(conn)
            .await?;
    }
    Ok(wave)
}

#[derive(QueryableByName)]
struct WaveRow {
    #[diesel(sql_type = SmallInt)]
    wave: i16,
}

#[derive(Debug, Clone, Queryable)]
pub struct AreaRow {
    pub wave: i16,
    pub shape: serde_json::Value,
    pub created_by_subject: String,
    pub created_at: DateTime<Utc>,
}

/// The drawn areas of the alert's waves (recruited waves have none), first wave first.
pub async fn list_areas(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<Vec<AreaRow>> {
    Ok(areas_of(conn, &[alert]).await?.into_iter().map(|(_, area)| area).collect())
}

/// What [`set_answer`] recorded.
#[derive(Debug, Clone, QueryableByName)]
pub struct RecordedAnswer {
    /// The answer before this one, if any.
    #[diesel(sql_type = Nullable<Text>)]
    pub previous: Option<AlertAnswer>,
    /// When the answer was given (unchanged when it is the same as before).
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub answered_at: DateTime<Utc>,
}

/// Sets the recipient's answer; `None` when they are not a recipient of the alert.
pub async fn set_answer(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    participant: ParticipantId,
    answer: AlertAnswer,
) -> QueryResult<Option<RecordedAnswer>> {
    diesel::sql_query(
        "WITH before AS (
             SELECT participant_id, alert_id, answer FROM alert_recipients
              WHERE participant_id = $2 AND alert_id = $1 FOR UPDATE)
         UPDATE alert_recipients r
            SET answer = $3,
                answered_at = CASE WHEN r.answer IS DISTINCT FROM $3 THEN now() ELSE r.answered_at END
           FROM before
          WHERE r.participant_id = before.participant_id AND r.alert_id = before.alert_id
         RETURNING before.answer AS previous, r.answered_at",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<SqlUuid, _>(participant.0)
    .bind::<Text, _>(answer)
    .get_result(conn)
    .await
    .optional()
}

// --- messages ---

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_messages)]
pub struct MessageRow {
    pub id: AlertMessageId,
    pub alert_id: AlertId,
    pub kind: MessageKind,
    pub wave: Option<i16>,
    pub texts: serde_json::Value,
    pub created_by_subject: String,
    pub created_at: DateTime<Utc>,
    /// An update for the recipients with one of these answers only (none: for everyone reached).
    pub to_answers: Option<Vec<AlertAnswer>>,
}

/// Addresses the message to the recipients with one of `answers` only.
pub async fn address_to_answers(
    conn: &mut AsyncPgConnection,
    message: AlertMessageId,
    answers: &[AlertAnswer],
) -> QueryResult<()> {
    diesel::update(alert_messages::table.find(message.0))
        .set(alert_messages::to_answers.eq(answers))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn insert_message(
    conn: &mut AsyncPgConnection,
    id: AlertMessageId,
    alert: AlertId,
    kind: MessageKind,
    wave: Option<i16>,
    texts: &serde_json::Value,
    subject: &str,
) -> QueryResult<()> {
    diesel::insert_into(alert_messages::table)
        .values((
            alert_messages::id.eq(id.0),
            alert_messages::alert_id.eq(alert.0),
            alert_messages::kind.eq(kind),
            alert_messages::wave.eq(wave),
            alert_messages::texts.eq(texts),
            alert_messages::created_by_subject.eq(subject),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The alert's messages, oldest first.
pub async fn list_messages(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<Vec<MessageRow>> {
    alert_messages::table
        .filter(alert_messages::alert_id.eq(alert.0))
        .order_by((alert_messages::created_at, alert_messages::id))
        .select(MessageRow::as_select())
        .load(conn)
        .await
}

pub async fn find_message(
    conn: &mut AsyncPgConnection,
    id: AlertMessageId,
) -> QueryResult<Option<MessageRow>> {
    alert_messages::table.find(id.0).select(MessageRow::as_select()).first(conn).await.optional()
}

// --- areas of saved alerts ---

#[derive(QueryableByName)]
struct Wkb {
    #[diesel(sql_type = Bytea)]
    wkb: Vec<u8>,
}

/// The alert's current area (all waves) as WKB.
pub async fn area_wkb(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<Vec<u8>> {
    diesel::sql_query("SELECT ST_AsBinary(area) AS wkb FROM alerts WHERE id = $1")
        .bind::<SqlUuid, _>(alert.0)
        .get_result::<Wkb>(conn)
        .await
        .map(|row| row.wkb)
}

/// The messages of these alerts, oldest first.
pub async fn messages_of(
    conn: &mut AsyncPgConnection,
    alert_ids: &[AlertId],
) -> QueryResult<Vec<MessageRow>> {
    alert_messages::table
        .filter(alert_messages::alert_id.eq_any(alert_ids))
        .order_by((alert_messages::created_at, alert_messages::id))
        .select(MessageRow::as_select())
        .load(conn)
        .await
}

/// Those of these alerts that exist, in no particular order.
pub async fn find_alerts(conn: &mut AsyncPgConnection, ids: &[AlertId]) -> QueryResult<Vec<AlertRow>> {
    alerts::table
        .inner_join(regions::table)
        .filter(alerts::id.eq_any(ids))
        .select(alert_columns())
        .load(conn)
        .await
}

/// The drawn areas of these alerts' waves (recruited waves have none), each with its alert, first
/// wave first.
pub async fn areas_of(conn: &mut AsyncPgConnection, ids: &[AlertId]) -> QueryResult<Vec<(AlertId, AreaRow)>> {
    alert_areas::table
        .filter(alert_areas::alert_id.eq_any(ids))
        .filter(alert_areas::matched_by.is_null())
        .order_by((alert_areas::alert_id, alert_areas::wave))
        .select((
            alert_areas::alert_id,
            (
                alert_areas::wave,
                alert_areas::shape.assume_not_null(),
                alert_areas::created_by_subject,
                alert_areas::created_at,
            ),
        ))
        .load(conn)
        .await
}

/// A recipient's view of an alert they received: the alert and their receipts.
#[derive(Debug, Clone, Queryable)]
pub struct ReceivedAlertRow {
    pub alert: AlertRow,
    pub received_at: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
    pub answer: Option<AlertAnswer>,
}

/// The alerts a participant received, newest first; `only` limits it to one alert.
pub async fn received_alerts(
    conn: &mut AsyncPgConnection,
    participant: Uuid,
    only: Option<AlertId>,
    limit: i64,
) -> QueryResult<Vec<ReceivedAlertRow>> {
    let mut query = alert_recipients::table
        .inner_join(alerts::table.inner_join(regions::table))
        .filter(alert_recipients::participant_id.eq(participant))
        .select((
            alert_columns(),
            alert_recipients::received_at,
            alert_recipients::opened_at,
            alert_recipients::answer,
        ))
        .into_boxed();
    if let Some(alert) = only {
        query = query.filter(alert_recipients::alert_id.eq(alert.0));
    }
    query.order_by(alert_recipients::created_at.desc()).limit(limit).load(conn).await
}
