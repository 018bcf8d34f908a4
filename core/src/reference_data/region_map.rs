//! A region as the console's map draws it: its municipalities' boundaries, where its
//! participants are dense, and its active alerts with their areas.
//!
//! Where participants are dense is told without telling where anyone lives (design.md section 6:
//! counts about people shown to staff are never below 5):
//! - only the places participants registered (home, work, other) are counted, never live
//!   positions: those are transient, kept only until they expire, and must not become a history
//!   of where people were;
//! - places are counted in squares of a fixed grid, [`DENSITY_CELL_SIZE_M`] on a side, in the
//!   Dutch national grid (RD New, EPSG:28992) so that every square is a real square of the same
//!   surface wherever it lies; a grid fixed in advance cannot be moved or shrunk around one
//!   house, as a drawn area could;
//! - a square is shown with its number of distinct participants only from
//!   [`SMALLEST_COUNT_SHOWN`] on; a square with fewer is left out entirely, not shown as
//!   "fewer than 5" nor as a point, so a sparse street does not stand out at all. The database
//!   returns only the squares shown.

use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde_json::{Value, json};

use super::LookupError;
use crate::alerts::progress::AlertSummary;
use crate::alerts::reach::SMALLEST_COUNT_SHOWN;
use crate::auth::staff::StaffMember;
use crate::db::alerts as alert_queries;
use crate::db::participation as participation_queries;
use crate::db::reference_data as queries;
use crate::ids::AlertId;
use crate::vocabulary::alerts::AlertStatus;
use crate::vocabulary::regions::{BoundingBox, RegionCode};
use crate::vocabulary::{Category, regions::Region};

/// The side of a square of the density grid, in metres.
pub const DENSITY_CELL_SIZE_M: u32 = 1_000;
/// Boundaries are simplified to within this many metres: the map stays small (a region of tens
/// of municipalities), and a border drawn 20 m off cannot be seen at the zoom that shows it whole.
pub const BOUNDARY_TOLERANCE_M: f64 = 20.0;
/// The most active alerts the map shows (a region has a handful at a time).
const MAX_ALERTS_SHOWN: i64 = 200;

/// `[min_lon, min_lat, max_lon, max_lat]` in WGS84 degrees, as Leaflet's and GeoJSON's bounds.
pub type Bounds = [f64; 4];

fn bounds(b: BoundingBox) -> Bounds {
    [b.min_lon, b.min_lat, b.max_lon, b.max_lat]
}

/// The region as the map shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionMap {
    pub region: RegionName,
    /// `[min_lon, min_lat, max_lon, max_lat]` around the region's municipalities; `null` for a
    /// region without any.
    #[schema(value_type = Option<Vec<f64>>, min_items = 4, max_items = 4)]
    pub bounds: Option<Bounds>,
    /// A GeoJSON FeatureCollection: one Feature per municipality, its geometry a MultiPolygon
    /// (simplified to within 20 m, coordinates to 6 decimals), its properties `cbs_code`, `name`
    /// and `inhabitants`.
    #[schema(value_type = Object)]
    pub municipalities: Value,
    pub density: Density,
    /// The region's active alerts, newest first.
    pub active_alerts: Vec<MapAlert>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RegionName {
    pub code: RegionCode,
    pub name: String,
}

/// Where the region's participants are dense: squares of the Dutch national grid (RD New) with
/// how many distinct active participants have a registered place in them. Only squares with 5
/// or more are listed; the others are left out, not shown as a number.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Density {
    /// The side of a square in metres (1000).
    pub cell_size_m: u32,
    pub cells: Vec<DensityCell>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DensityCell {
    /// `[min_lon, min_lat, max_lon, max_lat]`: the box around the square in WGS84 (a square of
    /// the national grid is very nearly one in WGS84 too).
    #[schema(value_type = Vec<f64>, min_items = 4, max_items = 4)]
    pub bounds: Bounds,
    /// Distinct active participants with a place in the square; never below 5.
    #[schema(minimum = 5)]
    pub participants: i64,
}

/// An active alert on the map.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MapAlert {
    #[schema(value_type = uuid::Uuid)]
    pub id: AlertId,
    /// The Dutch title.
    pub title: String,
    pub category: Category,
    pub urgent: bool,
    pub status: AlertStatus,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The alert's current area (every wave) as a GeoJSON MultiPolygon, coordinates to 6
    /// decimals; a circle is drawn as the polygon it was stored as (64 segments).
    #[schema(value_type = Object)]
    pub area: Value,
}

/// The map of the region, for a staff member who may see the region (its dispatchers and
/// administrators). It names no participant and records nothing in any dossier.
pub async fn region_map_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    code: &RegionCode,
) -> Result<RegionMap, LookupError> {
    staff.ensure_region(code.as_str())?;
    let Region { id, code, name, .. } = queries::find_region(conn, code)
        .await?
        .ok_or_else(|| LookupError::NoSuchRegion(code.as_str().to_string()))?;
    let extent = queries::region_extent(conn, id).await?;
    let features: Vec<Value> = queries::map_boundaries(conn, id, BOUNDARY_TOLERANCE_M)
        .await?
        .into_iter()
        .map(|row| {
            json!({
                "type": "Feature",
                "geometry": geojson(&row.boundary_geojson),
                "properties": {"cbs_code": row.cbs_code, "name": row.name, "inhabitants": row.inhabitants},
            })
        })
        .collect();
    let cells =
        participation_queries::density_cells(conn, id, f64::from(DENSITY_CELL_SIZE_M), SMALLEST_COUNT_SHOWN)
            .await?
            .into_iter()
            .map(|cell| DensityCell {
                bounds: [cell.min_lon, cell.min_lat, cell.max_lon, cell.max_lat],
                participants: cell.participants,
            })
            .collect();
    let active_alerts =
        alert_queries::list_alerts(conn, Some(id), Some(AlertStatus::Active), None, MAX_ALERTS_SHOWN)
            .await?
            .into_iter()
            .map(|row| {
                let area = geojson(&row.area_geojson);
                let summary = AlertSummary::from(row);
                MapAlert {
                    id: summary.id,
                    title: summary.title,
                    category: summary.category,
                    urgent: summary.urgent,
                    status: summary.status,
                    sent_at: summary.sent_at,
                    area,
                }
            })
            .collect();
    Ok(RegionMap {
        region: RegionName { code, name },
        bounds: extent.map(bounds),
        municipalities: json!({"type": "FeatureCollection", "features": features}),
        density: Density { cell_size_m: DENSITY_CELL_SIZE_M, cells },
        active_alerts,
    })
}

/// GeoJSON as PostGIS wrote it.
fn geojson(text: &str) -> Value {
    serde_json::from_str(text).expect("PostGIS writes valid GeoJSON")
}
