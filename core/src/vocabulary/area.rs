//! An area as drawn on the map: a circle, or a GeoJSON Polygon or MultiPolygon, with the checks
//! of its structure that need no database (numbers, rings, vertex count, radius). What needs
//! PostGIS (valid geometry, surface, region) is checked in `alerts::area`.

use serde::{Deserialize, Serialize};

use super::InvalidInput;

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

fn invalid(detail: impl Into<String>) -> InvalidInput {
    InvalidInput::new("invalid_area", detail)
}

impl DrawnArea {
    /// Checks what can be checked without PostGIS.
    pub fn parse(shape: AreaShape) -> Result<Self, InvalidInput> {
        match &shape {
            AreaShape::Circle { center, radius_meters } => {
                check_coordinates(center.longitude, center.latitude, "The circle's center")?;
                check_radius(*radius_meters)?;
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

/// A circle's radius: 100 m to 50 km.
pub fn check_radius(radius_meters: f64) -> Result<(), InvalidInput> {
    // NaN is in no range.
    if !(MIN_RADIUS_METERS..=MAX_RADIUS_METERS).contains(&radius_meters) {
        return Err(InvalidInput::new(
            "invalid_radius",
            format!("A circle's radius is {MIN_RADIUS_METERS:.0} to {MAX_RADIUS_METERS:.0} meters."),
        ));
    }
    Ok(())
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
