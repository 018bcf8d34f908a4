//! Queries for regions and municipalities. Boundaries go in and out only through PostGIS
//! functions: GeoJSON in, validity reasons, bounding boxes and centroids out.

use diesel::dsl::{count, sum};
use diesel::expression::functions::declare_sql_function;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text, Uuid as SqlUuid};
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::sql_types::Geometry;
use super::schema::{municipalities, regions};
use crate::ids::RegionId;
use crate::vocabulary::regions::{
    BoundingBox, CbsCode, LonLat, Municipality, MunicipalityImport, Region, RegionCode,
};

#[declare_sql_function]
extern "SQL" {
    #[sql_name = "ST_XMin"]
    fn st_xmin(geometry: Geometry) -> Double;
    #[sql_name = "ST_YMin"]
    fn st_ymin(geometry: Geometry) -> Double;
    #[sql_name = "ST_XMax"]
    fn st_xmax(geometry: Geometry) -> Double;
    #[sql_name = "ST_YMax"]
    fn st_ymax(geometry: Geometry) -> Double;
    #[sql_name = "ST_X"]
    fn st_x(point: Geometry) -> Double;
    #[sql_name = "ST_Y"]
    fn st_y(point: Geometry) -> Double;
    #[sql_name = "ST_Centroid"]
    fn st_centroid(geometry: Geometry) -> Geometry;
}

/// The SQL that turns a GeoJSON Polygon or MultiPolygon into a value for `boundary`.
const BOUNDARY_FROM_GEOJSON: &str = "ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(geojson), 4326))";

#[derive(QueryableByName)]
struct InvalidBoundary {
    #[diesel(sql_type = Integer)]
    position: i32,
    #[diesel(sql_type = Text)]
    reason: String,
}

/// PostGIS's reason (`ST_IsValidReason`) for each boundary it finds invalid, by position.
pub async fn invalid_boundaries(
    conn: &mut AsyncPgConnection,
    boundaries: &[(usize, &str)],
) -> QueryResult<Vec<(usize, String)>> {
    let positions: Vec<i32> = boundaries
        .iter()
        .map(|(position, _)| i32::try_from(*position).expect("fewer than 2^31 features"))
        .collect();
    let geojson: Vec<&str> = boundaries.iter().map(|(_, geojson)| *geojson).collect();
    let rows: Vec<InvalidBoundary> = diesel::sql_query(format!(
        "SELECT position, ST_IsValidReason(boundary) AS reason
           FROM (SELECT position, {BOUNDARY_FROM_GEOJSON} AS boundary
                   FROM unnest($1::int4[], $2::text[]) AS input (position, geojson)) AS parsed
          WHERE NOT ST_IsValid(boundary)
          ORDER BY position"
    ))
    .bind::<Array<Integer>, _>(positions)
    .bind::<Array<Text>, _>(geojson)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.position as usize, row.reason)).collect())
}

/// Which of the given CBS codes exist.
pub async fn existing_cbs_codes(conn: &mut AsyncPgConnection, codes: &[&str]) -> QueryResult<Vec<String>> {
    municipalities::table
        .select(municipalities::cbs_code)
        .filter(municipalities::cbs_code.eq_any(codes))
        .load(conn)
        .await
}

/// Inserts the municipality or updates the one with its CBS code. Without a region, an existing
/// municipality keeps the region it has.
pub async fn upsert_municipality(
    conn: &mut AsyncPgConnection,
    municipality: &MunicipalityImport,
    region: Option<RegionId>,
) -> QueryResult<()> {
    diesel::sql_query(format!(
        "INSERT INTO municipalities (cbs_code, name, inhabitants, boundary, region_id)
         SELECT $1, $2, $3, {BOUNDARY_FROM_GEOJSON}, $5 FROM (SELECT $4 AS geojson) AS input
         ON CONFLICT (cbs_code) DO UPDATE
            SET name = excluded.name,
                inhabitants = excluded.inhabitants,
                boundary = excluded.boundary,
                region_id = coalesce(excluded.region_id, municipalities.region_id)"
    ))
    .bind::<Text, _>(&municipality.cbs_code)
    .bind::<Text, _>(&municipality.name)
    .bind::<Integer, _>(municipality.inhabitants)
    .bind::<Text, _>(&municipality.boundary_geojson)
    .bind::<Nullable<SqlUuid>, _>(region)
    .execute(conn)
    .await?;
    Ok(())
}

/// The ids of those of the given region codes that exist.
pub async fn region_ids(
    conn: &mut AsyncPgConnection,
    codes: &[&str],
) -> QueryResult<Vec<(RegionCode, RegionId)>> {
    regions::table.select((regions::code, regions::id)).filter(regions::code.eq_any(codes)).load(conn).await
}

/// Creates a region; `None` when its code is taken.
pub async fn insert_region(
    conn: &mut AsyncPgConnection,
    code: &RegionCode,
    name: &str,
) -> QueryResult<Option<RegionId>> {
    diesel::insert_into(regions::table)
        .values((regions::code.eq(code), regions::name.eq(name)))
        .on_conflict(regions::code)
        .do_nothing()
        .returning(regions::id)
        .get_result(conn)
        .await
        .optional()
}

/// Creates the region, or gives the existing one with this code the name.
pub async fn ensure_region(
    conn: &mut AsyncPgConnection,
    code: &RegionCode,
    name: &str,
) -> QueryResult<RegionId> {
    diesel::insert_into(regions::table)
        .values((regions::code.eq(code), regions::name.eq(name)))
        .on_conflict(regions::code)
        .do_update()
        .set(regions::name.eq(excluded(regions::name)))
        .returning(regions::id)
        .get_result(conn)
        .await
}

pub async fn assign_municipalities(
    conn: &mut AsyncPgConnection,
    region: RegionId,
    cbs_codes: &[&str],
) -> QueryResult<usize> {
    diesel::update(municipalities::table.filter(municipalities::cbs_code.eq_any(cbs_codes)))
        .set(municipalities::region_id.eq(region))
        .execute(conn)
        .await
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = regions, check_for_backend(Pg))]
struct RegionRow {
    id: RegionId,
    code: RegionCode,
    name: String,
    #[diesel(
        select_expression = count(municipalities::cbs_code.nullable()),
        select_expression_type = diesel::dsl::count<diesel::dsl::Nullable<municipalities::cbs_code>>,
    )]
    municipality_count: i64,
    #[diesel(
        select_expression = sum(municipalities::inhabitants.nullable()),
        select_expression_type = diesel::helper_types::sum<diesel::dsl::Nullable<municipalities::inhabitants>>,
    )]
    inhabitants: Option<i64>,
}

impl From<RegionRow> for Region {
    fn from(row: RegionRow) -> Self {
        Region {
            id: row.id,
            code: row.code,
            name: row.name,
            municipality_count: row.municipality_count,
            inhabitants: row.inhabitants.unwrap_or(0),
        }
    }
}

/// Every region with its totals, by name.
pub async fn list_regions(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Region>> {
    let rows: Vec<RegionRow> = regions::table
        .left_join(municipalities::table)
        .group_by(regions::id)
        .select(RegionRow::as_select())
        .order((regions::name, regions::code))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(Region::from).collect())
}

pub async fn find_region(conn: &mut AsyncPgConnection, code: &RegionCode) -> QueryResult<Option<Region>> {
    let row: Option<RegionRow> = regions::table
        .left_join(municipalities::table)
        .filter(regions::code.eq(code))
        .group_by(regions::id)
        .select(RegionRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Region::from))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = municipalities, check_for_backend(Pg))]
struct MunicipalityRow {
    cbs_code: CbsCode,
    name: String,
    inhabitants: i32,
    #[diesel(
        select_expression = regions::code.nullable(),
        select_expression_type = diesel::dsl::Nullable<regions::code>,
    )]
    region: Option<RegionCode>,
    #[diesel(
        select_expression = st_xmin(municipalities::boundary),
        select_expression_type = st_xmin<municipalities::boundary>,
    )]
    min_lon: f64,
    #[diesel(
        select_expression = st_ymin(municipalities::boundary),
        select_expression_type = st_ymin<municipalities::boundary>,
    )]
    min_lat: f64,
    #[diesel(
        select_expression = st_xmax(municipalities::boundary),
        select_expression_type = st_xmax<municipalities::boundary>,
    )]
    max_lon: f64,
    #[diesel(
        select_expression = st_ymax(municipalities::boundary),
        select_expression_type = st_ymax<municipalities::boundary>,
    )]
    max_lat: f64,
    #[diesel(
        select_expression = st_x(st_centroid(municipalities::boundary)),
        select_expression_type = st_x<st_centroid<municipalities::boundary>>,
    )]
    centroid_lon: f64,
    #[diesel(
        select_expression = st_y(st_centroid(municipalities::boundary)),
        select_expression_type = st_y<st_centroid<municipalities::boundary>>,
    )]
    centroid_lat: f64,
}

impl From<MunicipalityRow> for Municipality {
    fn from(row: MunicipalityRow) -> Self {
        Municipality {
            cbs_code: row.cbs_code,
            name: row.name,
            inhabitants: row.inhabitants,
            region: row.region,
            bounding_box: BoundingBox {
                min_lon: row.min_lon,
                min_lat: row.min_lat,
                max_lon: row.max_lon,
                max_lat: row.max_lat,
            },
            centroid: LonLat { lon: row.centroid_lon, lat: row.centroid_lat },
        }
    }
}

/// Inhabitants of every municipality together.
pub async fn national_inhabitants(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    let total: Option<i64> =
        municipalities::table.select(diesel::dsl::sum(municipalities::inhabitants)).first(conn).await?;
    Ok(total.unwrap_or(0))
}

pub async fn find_municipality(
    conn: &mut AsyncPgConnection,
    cbs_code: &CbsCode,
) -> QueryResult<Option<Municipality>> {
    let row: Option<MunicipalityRow> = municipalities::table
        .left_join(regions::table)
        .filter(municipalities::cbs_code.eq(cbs_code))
        .select(MunicipalityRow::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(Municipality::from))
}

/// Municipalities by name: all, or those of one region.
pub async fn list_municipalities(
    conn: &mut AsyncPgConnection,
    region: Option<RegionId>,
) -> QueryResult<Vec<Municipality>> {
    let mut query = municipalities::table
        .left_join(regions::table)
        .select(MunicipalityRow::as_select())
        .order((municipalities::name, municipalities::cbs_code))
        .into_boxed();
    if let Some(region) = region {
        query = query.filter(municipalities::region_id.eq(region));
    }
    let rows: Vec<MunicipalityRow> = query.load(conn).await?;
    Ok(rows.into_iter().map(Municipality::from).collect())
}

pub async fn municipality_region(
    conn: &mut AsyncPgConnection,
    cbs_code: &CbsCode,
) -> QueryResult<Option<RegionCode>> {
    let code: Option<Option<RegionCode>> = municipalities::table
        .left_join(regions::table)
        .filter(municipalities::cbs_code.eq(cbs_code))
        .select(regions::code.nullable())
        .first(conn)
        .await
        .optional()?;
    Ok(code.flatten())
}

/// A municipality's boundary for a map: simplified and in GeoJSON.
#[derive(Debug, Clone, QueryableByName)]
pub struct MapBoundaryRow {
    #[diesel(sql_type = Text)]
    pub cbs_code: CbsCode,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Integer)]
    pub inhabitants: i32,
    /// A GeoJSON MultiPolygon, coordinates rounded to 6 decimals (about 10 cm).
    #[diesel(sql_type = Text)]
    pub boundary_geojson: String,
}

/// The region's municipalities by name, each boundary simplified to within `tolerance_m` metres
/// (in the Dutch national grid, RD New, where a metre is a metre), its topology kept.
pub async fn map_boundaries(
    conn: &mut AsyncPgConnection,
    region: RegionId,
    tolerance_m: f64,
) -> QueryResult<Vec<MapBoundaryRow>> {
    diesel::sql_query(
        "SELECT cbs_code, name, inhabitants,
                ST_AsGeoJSON(ST_Multi(ST_Transform(
                    ST_SimplifyPreserveTopology(ST_Transform(boundary, 28992), $2), 4326)), 6) AS boundary_geojson
           FROM municipalities
          WHERE region_id = $1
          ORDER BY name, cbs_code",
    )
    .bind::<SqlUuid, _>(region.0)
    .bind::<diesel::sql_types::Double, _>(tolerance_m)
    .load(conn)
    .await
}

#[derive(QueryableByName)]
struct Extent {
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    min_lon: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    min_lat: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    max_lon: Option<f64>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
    max_lat: Option<f64>,
}

/// The box around the region's municipalities, rounded outwards to 6 decimals; `None` when the
/// region has none.
pub async fn region_extent(
    conn: &mut AsyncPgConnection,
    region: RegionId,
) -> QueryResult<Option<BoundingBox>> {
    let extent: Extent = diesel::sql_query(
        "SELECT floor(ST_XMin(e) * 1e6) / 1e6 AS min_lon, floor(ST_YMin(e) * 1e6) / 1e6 AS min_lat,
                ceil(ST_XMax(e) * 1e6) / 1e6 AS max_lon, ceil(ST_YMax(e) * 1e6) / 1e6 AS max_lat
           FROM (SELECT ST_Extent(boundary) AS e FROM municipalities WHERE region_id = $1) AS extent",
    )
    .bind::<SqlUuid, _>(region.0)
    .get_result(conn)
    .await?;
    Ok(match extent {
        Extent {
            min_lon: Some(min_lon),
            min_lat: Some(min_lat),
            max_lon: Some(max_lon),
            max_lat: Some(max_lat),
        } => Some(BoundingBox { min_lon, min_lat, max_lon, max_lat }),
        _ => None,
    })
}
