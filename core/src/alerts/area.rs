//! The area of an alert, as the dispatcher draws it (`vocabulary::area`). Checked in two steps:
//! the shape's structure when it is parsed, then what needs PostGIS in [`validate`] (valid geometry, surface, inside the service
//! area, within the dispatcher's region). Every refusal says what is wrong, so the control
//! room can fix the drawing.
//!
//! Two of the rules keep the reach preview from telling where one person lives or is: no polygon
//! is smaller than the smallest circle ([`MIN_SURFACE_M2`]), and an area lies within the
//! dispatcher's own region, give or take a margin across its border for incidents at a border
//! ([`AreaLimits::region_margin_meters`]).

use diesel_async::AsyncPgConnection;

use crate::db::alerts::{self as queries, AreaGeometry};
use crate::db::municipal_messages;
use crate::ids::RegionId;
use crate::vocabulary::InvalidInput;
use crate::vocabulary::area::{AreaShape, DrawnArea, MIN_RADIUS_METERS};

/// The smallest surface a polygon may cover: the smallest circle's (31,416 m²), so that no
/// polygon singles out one house. Each polygon of a MultiPolygon is held to it.
pub const MIN_SURFACE_M2: f64 = std::f64::consts::PI * MIN_RADIUS_METERS * MIN_RADIUS_METERS;
/// The widest margin across the region's border that configuration may allow.
pub const MAX_REGION_MARGIN_METERS: f64 = 50_000.0;
/// What may lie beyond the region's margin without counting: the floating-point slivers of an area
/// drawn exactly along the border (1 m²).
const BEYOND_MARGIN_TOLERANCE_KM2: f64 = 1e-6;

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
    #[error(
        "{} covers {} m²; a polygon must cover at least {} m², as much as the smallest circle ({MIN_RADIUS_METERS:.0} m radius), so that it cannot single out one house.",
        .polygon.map_or("The area".to_string(), |n| format!("Polygon {n} of the area")),
        thousands(*.surface_m2),
        thousands(MIN_SURFACE_M2)
    )]
    TooSmall {
        /// Which polygon of a MultiPolygon (from 1); `None` for a Polygon.
        polygon: Option<usize>,
        surface_m2: f64,
    },
    #[error("The area is {surface_km2:.0} km², more than the {max_km2:.0} km² an alert may cover.")]
    TooLarge { surface_km2: f64, max_km2: f64 },
    #[error(
        "The area lies (partly) outside the service area; check that latitude and longitude are not swapped."
    )]
    OutsideServiceArea,
    #[error("{}", outside_region_detail(.outside))]
    OutsideRegion { outside: PartOutside },
    #[error(
        "The area lies (partly) outside the municipality; a municipality's message concerns its own participants, so draw the area within it."
    )]
    OutsideMunicipality,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// How much of an area lies outside the dispatcher's region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PartOutside {
    /// None of it lies in the region.
    Entirely { surface_km2: f64 },
    /// This much lies further across the border than the margin allows.
    BeyondMargin { outside_km2: f64, surface_km2: f64, margin_meters: f64 },
}

fn outside_region_detail(outside: &PartOutside) -> String {
    match *outside {
        PartOutside::Entirely { surface_km2 } => format!(
            "The area lies entirely outside your region ({} km², 100%); an alert must concern your own region.",
            km2(surface_km2)
        ),
        PartOutside::BeyondMargin { outside_km2, surface_km2, margin_meters } => {
            let (outside, reach) = if margin_meters > 0.0 {
                let margin = distance(margin_meters);
                (
                    format!("more than {margin} outside"),
                    format!(", reaching at most {margin} across its border"),
                )
            } else {
                ("outside".to_string(), String::new())
            };
            format!(
                "{} km² of the area ({}) lies {outside} your region; an alert must concern your own region{reach}.",
                km2(outside_km2),
                share(outside_km2 / surface_km2),
            )
        }
    }
}

/// `31416` as `31,416`.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A surface in km², to a precision that shows small parts too.
fn km2(value: f64) -> String {
    match value {
        v if v >= 10.0 => thousands(v),
        v if v >= 0.1 => format!("{v:.1}"),
        v if v >= 0.01 => format!("{v:.2}"),
        _ => "less than 0.01".into(),
    }
}

/// A share as a whole percentage that says "all" or "none" only when it is so.
fn share(fraction: f64) -> String {
    let percent = fraction * 100.0;
    match percent.round() {
        rounded if rounded >= 100.0 && percent < 100.0 => "more than 99%".into(),
        rounded if rounded <= 0.0 && percent > 0.0 => "less than 1%".into(),
        rounded => format!("{rounded:.0}%"),
    }
}

/// `5000` as `5 km`, `2500` as `2.5 km`, `800` as `800 m`.
fn distance(meters: f64) -> String {
    if meters >= 1_000.0 { format!("{} km", meters / 1_000.0) } else { format!("{meters:.0} m") }
}

impl AreaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(invalid) => invalid.code,
            Self::TooSmall { .. } => "area_too_small",
            Self::TooLarge { .. } => "area_too_large",
            Self::OutsideServiceArea => "area_outside_service_area",
            Self::OutsideRegion { .. } => "area_outside_region",
            Self::OutsideMunicipality => "area_outside_municipality",
            Self::Database(_) => "internal_error",
        }
    }
}

/// Limits on areas, from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AreaLimits {
    pub max_surface_km2: f64,
    /// How far an area may reach across the border of the dispatcher's region, for incidents at a
    /// border (`BURGERNET_ALERT_REGION_MARGIN`).
    pub region_margin_meters: f64,
}

impl Default for AreaLimits {
    fn default() -> Self {
        // A circle of the maximum radius (7,854 km²) must fit.
        Self { max_surface_km2: 10_000.0, region_margin_meters: 5_000.0 }
    }
}

/// The PostGIS half of the checks: a valid geometry (the reason when not, e.g. a
/// self-intersection and where), polygons no smaller than [`MIN_SURFACE_M2`], at most
/// `limits.max_surface_km2`, inside the service area (the loaded municipalities' extent, widened a
/// little so coastal circles fit), and within `region`: touching it, and nothing of it further
/// across its border than `limits.region_margin_meters`.
pub async fn validate(
    conn: &mut AsyncPgConnection,
    drawn: &DrawnArea,
    region: RegionId,
    limits: AreaLimits,
) -> Result<ValidatedArea, AreaError> {
    let geometry = build_checked(conn, drawn, limits).await?;
    let placement = queries::place_area(conn, &geometry.wkb, region, limits.region_margin_meters).await?;
    if !placement.inside_service_area {
        return Err(AreaError::OutsideServiceArea);
    }
    if !placement.touches_region {
        let outside = PartOutside::Entirely { surface_km2: geometry.surface_km2 };
        return Err(AreaError::OutsideRegion { outside });
    }
    if placement.beyond_margin_km2 > BEYOND_MARGIN_TOLERANCE_KM2 {
        let outside = PartOutside::BeyondMargin {
            outside_km2: placement.beyond_margin_km2,
            surface_km2: geometry.surface_km2,
            margin_meters: limits.region_margin_meters,
        };
        return Err(AreaError::OutsideRegion { outside });
    }
    Ok(ValidatedArea {
        shape: drawn.shape().clone(),
        geometry_wkb: geometry.wkb,
        surface_km2: geometry.surface_km2,
    })
}

/// The checks every drawn area passes, whoever draws it: a valid geometry (the reason when not,
/// e.g. a self-intersection and where), polygons no smaller than [`MIN_SURFACE_M2`], at most
/// `limits.max_surface_km2`.
async fn build_checked(
    conn: &mut AsyncPgConnection,
    drawn: &DrawnArea,
    limits: AreaLimits,
) -> Result<AreaGeometry, AreaError> {
    let geometry = queries::build_area(conn, drawn).await?;
    if let Some(reason) = geometry.invalid_reason {
        return Err(AreaError::Invalid(InvalidInput::new(
            "invalid_area",
            format!("The area is not a valid shape: {reason}."),
        )));
    }
    // A circle's size is its radius, checked already (its 64-sided polygon is a little smaller).
    if !matches!(drawn.shape(), AreaShape::Circle { .. }) && geometry.smallest_polygon_m2 < MIN_SURFACE_M2 {
        let polygon = matches!(drawn.shape(), AreaShape::MultiPolygon { .. })
            .then(|| usize::try_from(geometry.smallest_polygon).unwrap_or_default());
        return Err(AreaError::TooSmall { polygon, surface_m2: geometry.smallest_polygon_m2 });
    }
    if geometry.surface_km2 > limits.max_surface_km2 {
        return Err(AreaError::TooLarge {
            surface_km2: geometry.surface_km2,
            max_km2: limits.max_surface_km2,
        });
    }
    Ok(geometry)
}

/// How far an area for a municipality's own message may reach across its border (drawing along
/// a border is not precise).
pub const MUNICIPALITY_MARGIN_METERS: f64 = 250.0;

/// An area a municipality draws for a message to its own participants: the same checks as an
/// alert's shape, and within the municipality (touching it, nothing of it further across its
/// border than [`MUNICIPALITY_MARGIN_METERS`]).
pub async fn validate_for_municipality(
    conn: &mut AsyncPgConnection,
    drawn: &DrawnArea,
    municipality_cbs: &str,
    limits: AreaLimits,
) -> Result<ValidatedArea, AreaError> {
    let geometry = build_checked(conn, drawn, limits).await?;
    let placement = municipal_messages::place_in_municipality(
        conn,
        &geometry.wkb,
        municipality_cbs,
        MUNICIPALITY_MARGIN_METERS,
    )
    .await?;
    let within = placement.is_some_and(|placement| {
        placement.touches && placement.beyond_margin_km2 <= BEYOND_MARGIN_TOLERANCE_KM2
    });
    if !within {
        return Err(AreaError::OutsideMunicipality);
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
    use crate::vocabulary::area::Coordinates;

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
    fn the_smallest_polygon_covers_as_much_as_the_smallest_circle() {
        assert_eq!(thousands(MIN_SURFACE_M2), "31,416");
        let error = AreaError::TooSmall { polygon: Some(2), surface_m2: 25.2 };
        assert_eq!(error.code(), "area_too_small");
        assert!(error.to_string().starts_with("Polygon 2 of the area covers 25 m²"), "{error}");
        let error = AreaError::TooSmall { polygon: None, surface_m2: 28_900.0 };
        assert!(
            error
                .to_string()
                .starts_with("The area covers 28,900 m²; a polygon must cover at least 31,416 m²")
        );
    }

    #[test]
    fn a_refusal_for_the_region_says_how_much_lies_outside() {
        let beyond = |outside_km2, margin_meters| AreaError::OutsideRegion {
            outside: PartOutside::BeyondMargin { outside_km2, surface_km2: 200.0, margin_meters },
        };
        assert_eq!(
            beyond(100.2, 5_000.0).to_string(),
            "100 km² of the area (50%) lies more than 5 km outside your region; an alert must concern your \
             own region, reaching at most 5 km across its border."
        );
        assert!(beyond(199.9, 2_500.0).to_string().contains("(more than 99%) lies more than 2.5 km outside"));
        assert!(
            beyond(0.004, 0.0)
                .to_string()
                .starts_with("less than 0.01 km² of the area (less than 1%) lies outside your region;")
        );
        let entirely = AreaError::OutsideRegion { outside: PartOutside::Entirely { surface_km2: 3.12 } };
        assert_eq!(entirely.code(), "area_outside_region");
        assert!(entirely.to_string().contains("entirely outside your region (3.1 km², 100%)"), "{entirely}");
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
