//! The area of an alert, as the dispatcher draws it: a circle, or a GeoJSON Polygon or
//! MultiPolygon. Checked in two steps: the shape's structure here (numbers, rings, vertex count,
//! radius), then what needs PostGIS in [`validate`] (valid geometry, surface, inside the service
//! area, touching the dispatcher's region). Every refusal says what is wrong, so the control
//! room can fix the drawing.

use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use crate::db::alerts as queries;
use crate::ids::RegionId;
use crate::participants::InvalidInput;

pub const MIN_RADIUS_METERS: f64 = 100.0;
pub const MAX_RADIUS_METERS: f64 = 50_000.0;
pub const MAX_VERTICES: usize = 1_000;

/// A WGS84 point, as the app and the control room send it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    #[schema(example = 51.9225)]
    pub latitude: f64,
    #[schema(example = 4.47917)]
    pub longitude: f64,
}

/// An area as drawn. GeoJSON positions are `[longitude, latitude]` (an altitude is ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type")]
pub enum AreaShape {
    /// Everything within `radius_meters` (100 m to 50 km) of `center`.
    #[serde(rename = "circle")]
    Circle { center: Coordinates, radius_meters: f64 },
    /// A GeoJSON Polygon: an outer ring and optional holes, each closed.
    Polygon {
        #[schema(value_type = Vec<Vec<Vec<f64>>>)]
        coordinates: Vec<Vec<Vec<f64>>>,
    },
    /// A GeoJSON MultiPolygon.
    MultiPolygon {
        #[schema(value_type = Vec<Vec<Vec<Vec<f64>>>>)]
        coordinates: Vec<Vec<Vec<Vec<f64>>>>,
    },
}

/// An area whose structure is sound; PostGIS still has to judge the geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct DrawnArea(AreaShape);

/// An area that passed every check, with its geometry (WKB, SRID 4326) ready to store.
#[derive(Debug, Clone)]
pub struct ValidatedArea {
    pub shape: AreaShape,
    pub geometry_wkb: Vec<u8>,
    pub surface_km2: f64,
}

/// Why an area was refused; each has its own stable code.
#[derive(Debug, thiserror::Error)]
pub enum AreaError {
    #[error("{0}")]
    Invalid(InvalidInput),
    #[error("The area is {surface_km2:.0} km², more than the {max_km2:.0} km² an alert may cover.")]
    TooLarge { surface_km2: f64, max_km2: f64 },
    #[error(
        "The area lies (partly) outside the service area; check that latitude and longitude are not swapped."
    )]
    OutsideServiceArea,
    #[error("The area does not touch your region; an alert must concern your own region.")]
    OutsideRegion,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl AreaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(invalid) => invalid.code,
            Self::TooLarge { .. } => "area_too_large",
            Self::OutsideServiceArea => "area_outside_service_area",
            Self::OutsideRegion => "area_outside_region",
            Self::Database(_) => "internal_error",
        }
    }
}

fn invalid(detail: impl Into<String>) -> InvalidInput {
    InvalidInput::new("invalid_area", detail)
}

impl DrawnArea {
    /// Checks what can be checked without PostGIS.
    pub fn parse(shape: AreaShape) -> Result<Self, InvalidInput> {
        match &shape {
            AreaShape::Circle { center, radius_meters } => {
                check_coordinates(center.longitude, center.latitude, "The circle's center")?;
                if !(MIN_RADIUS_METERS..=MAX_RADIUS_METERS).contains(radius_meters) {
                    return Err(InvalidInput::new(
                        "invalid_radius",
                        format!(
                            "A circle's radius is {MIN_RADIUS_METERS:.0} to {MAX_RADIUS_METERS:.0} meters."
                        ),
                    ));
                }
            }
            AreaShape::Polygon { coordinates } => {
                let vertices = check_polygon(coordinates, "The polygon")?;
                check_vertex_count(vertices)?;
            }
            AreaShape::MultiPolygon { coordinates } => {
                if coordinates.is_empty() {
                    return Err(invalid("A MultiPolygon needs at least one polygon."));
                }
                let mut vertices = 0;
                for (index, polygon) in coordinates.iter().enumerate() {
                    vertices += check_polygon(polygon, &format!("Polygon {}", index + 1))?;
                }
                check_vertex_count(vertices)?;
            }
        }
        Ok(Self(shape))
    }

    pub fn shape(&self) -> &AreaShape {
        &self.0
    }

    /// The GeoJSON text of a polygon shape (`None` for a circle).
    pub(crate) fn geojson(&self) -> Option<String> {
        match &self.0 {
            AreaShape::Circle { .. } => None,
            AreaShape::Polygon { coordinates } => {
                Some(serde_json::json!({ "type": "Polygon", "coordinates": coordinates }).to_string())
            }
            AreaShape::MultiPolygon { coordinates } => {
                Some(serde_json::json!({ "type": "MultiPolygon", "coordinates": coordinates }).to_string())
            }
        }
    }
}

fn check_vertex_count(vertices: usize) -> Result<(), InvalidInput> {
    if vertices > MAX_VERTICES {
        return Err(InvalidInput::new(
            "too_many_vertices",
            format!("The area has {vertices} vertices; at most {MAX_VERTICES} are allowed."),
        ));
    }
    Ok(())
}

fn check_coordinates(longitude: f64, latitude: f64, what: &str) -> Result<(), InvalidInput> {
    // NaN fails both range checks; infinities are out of range.
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return Err(invalid(format!(
            "{what} has coordinates out of range: latitude must be -90 to 90 and longitude -180 to 180 degrees."
        )));
    }
    Ok(())
}

/// Checks the rings of one polygon; returns its number of vertices.
fn check_polygon(rings: &[Vec<Vec<f64>>], what: &str) -> Result<usize, InvalidInput> {
    if rings.is_empty() {
        return Err(invalid(format!("{what} has no rings.")));
    }
    let mut vertices = 0;
    for (ring_index, ring) in rings.iter().enumerate() {
        let ring_name = if ring_index == 0 { "outer ring".to_string() } else { format!("hole {ring_index}") };
        if ring.len() < 4 {
            return Err(invalid(format!(
                "{what}'s {ring_name} has {} positions; a ring needs at least 4 (the last repeating the first).",
                ring.len()
            )));
        }
        for position in ring {
            if !(2..=3).contains(&position.len()) {
                return Err(invalid(format!(
                    "{what}'s {ring_name} has a position that is not [longitude, latitude]."
                )));
            }
            check_coordinates(position[0], position[1], &format!("{what}'s {ring_name}"))?;
        }
        if ring.first().map(|p| &p[..2]) != ring.last().map(|p| &p[..2]) {
            return Err(invalid(format!(
                "{what}'s {ring_name} is not closed: its last position must repeat the first."
            )));
        }
        vertices += ring.len() - 1;
    }
    Ok(vertices)
}

/// Limits on areas, from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AreaLimits {
    pub max_surface_km2: f64,
}

impl Default for AreaLimits {
    fn default() -> Self {
        // A circle of the maximum radius (7,854 km²) must fit.
        Self { max_surface_km2: 10_000.0 }
    }
}

/// The PostGIS half of the checks: a valid geometry (the reason when not, e.g. a
/// self-intersection and where), at most `limits.max_surface_km2`, inside the service area (the
/// loaded municipalities' extent, widened a little so coastal circles fit), and touching `region`.
pub async fn validate(
    conn: &mut AsyncPgConnection,
    drawn: &DrawnArea,
    region: RegionId,
    limits: AreaLimits,
) -> Result<ValidatedArea, AreaError> {
    let geometry = queries::build_area(conn, drawn).await?;
    if let Some(reason) = geometry.invalid_reason {
        return Err(AreaError::Invalid(invalid(format!("The area is not a valid shape: {reason}."))));
    }
    if geometry.surface_km2 > limits.max_surface_km2 {
        return Err(AreaError::TooLarge {
            surface_km2: geometry.surface_km2,
            max_km2: limits.max_surface_km2,
        });
    }
    let placement = queries::place_area(conn, &geometry.wkb, region).await?;
    if !placement.inside_service_area {
        return Err(AreaError::OutsideServiceArea);
    }
    if !placement.touches_region {
        return Err(AreaError::OutsideRegion);
    }
    Ok(ValidatedArea {
        shape: drawn.shape().clone(),
        geometry_wkb: geometry.wkb,
        surface_km2: geometry.surface_km2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circle(latitude: f64, longitude: f64, radius_meters: f64) -> AreaShape {
        AreaShape::Circle { center: Coordinates { latitude, longitude }, radius_meters }
    }

    fn square(size: f64) -> Vec<Vec<Vec<f64>>> {
        vec![vec![
            vec![4.4, 51.9],
            vec![4.4 + size, 51.9],
            vec![4.4 + size, 51.9 + size],
            vec![4.4, 51.9 + size],
            vec![4.4, 51.9],
        ]]
    }

    #[test]
    fn circles_need_a_radius_from_100_m_to_50_km() {
        assert!(DrawnArea::parse(circle(51.92, 4.48, 100.0)).is_ok());
        assert!(DrawnArea::parse(circle(51.92, 4.48, 50_000.0)).is_ok());
        for radius in [99.9, 50_000.1, f64::NAN, f64::INFINITY, -5.0] {
            assert_eq!(DrawnArea::parse(circle(51.92, 4.48, radius)).unwrap_err().code, "invalid_radius");
        }
        assert_eq!(DrawnArea::parse(circle(91.0, 4.48, 500.0)).unwrap_err().code, "invalid_area");
    }

    #[test]
    fn polygons_are_closed_rings_of_valid_positions() {
        assert!(DrawnArea::parse(AreaShape::Polygon { coordinates: square(0.01) }).is_ok());
        let mut open = square(0.01);
        open[0].pop();
        open[0].push(vec![4.5, 52.0]);
        let error = DrawnArea::parse(AreaShape::Polygon { coordinates: open }).unwrap_err();
        assert!(error.detail.contains("not closed"), "{error}");
        let short = vec![vec![vec![4.4, 51.9], vec![4.5, 51.9], vec![4.4, 51.9]]];
        assert!(
            DrawnArea::parse(AreaShape::Polygon { coordinates: short })
                .unwrap_err()
                .detail
                .contains("at least 4")
        );
        let mut bad_position = square(0.01);
        bad_position[0][1] = vec![4.5];
        assert_eq!(
            DrawnArea::parse(AreaShape::Polygon { coordinates: bad_position }).unwrap_err().code,
            "invalid_area"
        );
        let mut swapped = square(0.01);
        swapped[0][2] = vec![51.9, 184.4];
        assert!(
            DrawnArea::parse(AreaShape::Polygon { coordinates: swapped })
                .unwrap_err()
                .detail
                .contains("out of range")
        );
        assert!(DrawnArea::parse(AreaShape::MultiPolygon { coordinates: vec![] }).is_err());
        assert!(DrawnArea::parse(AreaShape::Polygon { coordinates: vec![] }).is_err());
    }

    #[test]
    fn at_most_a_thousand_vertices() {
        let ring = |n: usize| -> Vec<Vec<f64>> {
            let mut ring: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    let angle = i as f64 / n as f64 * std::f64::consts::TAU;
                    vec![4.48 + 0.01 * angle.cos(), 51.92 + 0.01 * angle.sin()]
                })
                .collect();
            ring.push(ring[0].clone());
            ring
        };
        assert!(DrawnArea::parse(AreaShape::Polygon { coordinates: vec![ring(1000)] }).is_ok());
        let error = DrawnArea::parse(AreaShape::Polygon { coordinates: vec![ring(1001)] }).unwrap_err();
        assert_eq!(error.code, "too_many_vertices");
        let error =
            DrawnArea::parse(AreaShape::MultiPolygon { coordinates: vec![vec![ring(600)], vec![ring(401)]] })
                .unwrap_err();
        assert_eq!(error.code, "too_many_vertices");
    }

    #[test]
    fn shapes_read_as_geojson_or_circles() {
        let shape: AreaShape = serde_json::from_str(
            r#"{"type": "Polygon", "coordinates": [[[4.4, 51.9], [4.5, 51.9], [4.5, 52.0], [4.4, 51.9]]]}"#,
        )
        .unwrap();
        assert!(matches!(shape, AreaShape::Polygon { .. }));
        let shape: AreaShape = serde_json::from_str(
            r#"{"type": "circle", "center": {"latitude": 51.92, "longitude": 4.48}, "radius_meters": 1500}"#,
        )
        .unwrap();
        assert_eq!(shape, circle(51.92, 4.48, 1500.0));
        assert!(
            serde_json::from_str::<AreaShape>(r#"{"type": "Point", "coordinates": [4.4, 51.9]}"#).is_err()
        );
    }
}
