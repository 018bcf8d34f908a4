//! Report 2, distribution: where a municipality's or region's active participants live, for the
//! map (seed 002: "op de Burgernetkaart, per postcode"), never as points. Each active participant
//! counts once, at their home (else the first place that made the municipality theirs).
//!
//! - Squares of 500 m of the Dutch national grid (RD New, EPSG:28992), as CBS divides the country
//!   for its statistics, named as CBS names them: `E` and the south-west corner's x, `N` and its
//!   y, in hectometres of four digits (`E0920N4370` is x 92 000 to 92 500 m, y 437 000 to
//!   437 500 m). Each with its outline in WGS84 as a GeoJSON Polygon (for Leaflet).
//! - 4-digit postcode areas, for homes whose postcode is known.
//! - Thin coverage: per municipality, the squares that overlap it with the fewest participants.
//!   The reference data has no inhabitants per square, so this is the lowest density, not a
//!   share of inhabitants.
//!
//! Squares and postcode areas with fewer than 5 participants are left out altogether: listed as
//! "fewer than 5", they would tell a square where one to four participants live from an empty
//! one. Their participants together are given as `not_shown`. The thin-coverage squares show
//! `{"fewer_than": 5}` for anything under 5, an empty square included, so they tell nothing.
//!
//! The report is the state at the workers' last count (every ten minutes at most, with the
//! participation count, `participation::count_participation`): finding every participant's home
//! takes seconds for a large region, reading the counted squares milliseconds. The period of the
//! query does not apply.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::{Cell, ReportScope, Table};
use crate::alerts::reach::{ReachCount, SMALLEST_COUNT_SHOWN};
use crate::db::participation_reports as queries;

/// The side of a square, in metres.
pub const CELL_METRES: i64 = 500;
/// How many of each municipality's thinnest squares the report lists.
pub const THINNEST_PER_MUNICIPALITY: i64 = 10;

/// Where the participants of a region or municipality live.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DistributionReport {
    pub scope: ReportScope,
    /// When the workers counted the figures: they are the state at that moment. None before the
    /// first count (and then there are no figures).
    pub as_of: Option<DateTime<Utc>>,
    /// The side of a square in metres (500).
    pub cell_metres: i64,
    /// The squares with at least 5 participants, from north-west to south-east.
    pub cells: Vec<GridCell>,
    /// Participants in squares left out for having fewer than 5.
    pub not_shown_in_cells: ReachCount,
    /// The 4-digit postcode areas with at least 5 participants whose home has a postcode.
    pub postcode_areas: Vec<PostcodeArea>,
    /// Participants whose home has a postcode, in areas left out for having fewer than 5.
    pub not_shown_in_postcode_areas: ReachCount,
    /// Per municipality of the scope (by CBS code), its thinnest squares.
    pub thin_coverage: Vec<ThinCoverage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GridCell {
    /// The CBS name of the square, e.g. `E0920N4370`.
    pub id: String,
    /// The square in WGS84: a GeoJSON Polygon, `[longitude, latitude]` pairs.
    #[schema(value_type = Object)]
    pub polygon: serde_json::Value,
    pub participants: ReachCount,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PostcodeArea {
    /// Four digits, e.g. `3011`.
    pub postcode_area: String,
    pub participants: ReachCount,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ThinCoverage {
    pub cbs_code: String,
    /// The squares overlapping the municipality with the fewest of its participants, fewest first
    /// (at most 10); `{"fewer_than": 5}` includes none.
    pub cells: Vec<GridCell>,
}

/// Why the distribution cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DistributionError {
    /// The country was asked for: the map is for a region or a municipality.
    #[error("The distribution is per region or municipality: name a region or municipality.")]
    NationalScope,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    /// PostGIS gave an outline that is not JSON (it always does).
    #[error("an outline from the database is not GeoJSON: {0}")]
    Outline(#[from] serde_json::Error),
}

/// The distribution of `scope`'s active participants at the last count. The scope was checked by
/// `scope_for`.
pub async fn distribution_report(
    conn: &mut AsyncPgConnection,
    scope: &ReportScope,
) -> Result<DistributionReport, DistributionError> {
    let codes = scope.municipality_codes().ok_or(DistributionError::NationalScope)?;
    let as_of = queries::last_counted_at(conn).await?;
    let cell_m = CELL_METRES as f64;
    let (cells, not_shown_in_cells) =
        shown_or_counted(queries::home_cells(conn, &codes, cell_m).await?, |row| row.participants);
    let cells = cells
        .into_iter()
        .map(|row| grid_cell(row.east_hm, row.north_hm, &row.polygon, row.participants))
        .collect::<Result<_, _>>()?;
    let (areas, not_shown_in_postcode_areas) =
        shown_or_counted(queries::postcode_areas(conn, &codes).await?, |row| row.participants);
    let postcode_areas = areas
        .into_iter()
        .map(|row| PostcodeArea {
            postcode_area: row.postcode_area,
            participants: ReachCount::shown(row.participants),
        })
        .collect();
    let mut thin_coverage: Vec<ThinCoverage> = Vec::new();
    for row in queries::thinnest_cells(conn, &codes, cell_m, THINNEST_PER_MUNICIPALITY).await? {
        let cell = grid_cell(row.east_hm, row.north_hm, &row.polygon, row.participants)?;
        match thin_coverage.last_mut() {
            Some(last) if last.cbs_code == row.cbs_code => last.cells.push(cell),
            _ => thin_coverage.push(ThinCoverage { cbs_code: row.cbs_code, cells: vec![cell] }),
        }
    }
    Ok(DistributionReport {
        scope: scope.clone(),
        as_of,
        cell_metres: CELL_METRES,
        cells,
        not_shown_in_cells,
        postcode_areas,
        not_shown_in_postcode_areas,
        thin_coverage,
    })
}

/// The rows with at least 5 participants, and the participants of the others together.
fn shown_or_counted<T>(rows: Vec<T>, participants: impl Fn(&T) -> i64) -> (Vec<T>, ReachCount) {
    let (shown, left_out): (Vec<T>, Vec<T>) =
        rows.into_iter().partition(|row| participants(row) >= SMALLEST_COUNT_SHOWN);
    (shown, ReachCount::shown(left_out.iter().map(participants).sum()))
}

fn grid_cell(
    east_hm: i64,
    north_hm: i64,
    polygon: &str,
    participants: i64,
) -> Result<GridCell, serde_json::Error> {
    Ok(GridCell {
        id: cell_id(east_hm, north_hm),
        polygon: serde_json::from_str(polygon)?,
        participants: ReachCount::shown(participants),
    })
}

/// The CBS name of the square whose south-west corner is at these hectometres.
fn cell_id(east_hm: i64, north_hm: i64) -> String {
    format!("E{east_hm:04}N{north_hm:04}")
}

impl DistributionReport {
    /// The figures as tables: squares, postcode areas, thin coverage.
    pub fn tables(&self) -> Vec<Table> {
        let mut cells = Table::new("Deelnemers per vierkant van 500 m", &["vierkant", "deelnemers"]);
        for cell in &self.cells {
            cells.push(vec![Cell::text(&cell.id), Cell::People(cell.participants)]);
        }
        cells.push(vec![Cell::text("in vierkanten onder 5"), Cell::People(self.not_shown_in_cells)]);
        let mut areas = Table::new("Deelnemers per postcodegebied", &["postcode", "deelnemers"]);
        for area in &self.postcode_areas {
            areas.push(vec![Cell::text(&area.postcode_area), Cell::People(area.participants)]);
        }
        areas.push(vec![Cell::text("in gebieden onder 5"), Cell::People(self.not_shown_in_postcode_areas)]);
        let mut thin = Table::new("Dunst bezette vierkanten", &["cbs_code", "vierkant", "deelnemers"]);
        for municipality in &self.thin_coverage {
            for cell in &municipality.cells {
                thin.push(vec![
                    Cell::text(&municipality.cbs_code),
                    Cell::text(&cell.id),
                    Cell::People(cell.participants),
                ]);
            }
        }
        vec![cells, areas, thin]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squares_are_named_by_their_south_west_corner_in_hectometres() {
        assert_eq!(cell_id(920, 4370), "E0920N4370");
        assert_eq!(cell_id(1205, 4875), "E1205N4875");
    }

    #[test]
    fn rows_under_5_are_left_out_and_counted_together() {
        let (shown, rest) = shown_or_counted(vec![5, 1, 12, 3], |n| *n);
        assert_eq!(shown, [5, 12]);
        assert_eq!(rest, ReachCount::shown(4));
        let (_, rest) = shown_or_counted(vec![4, 3], |n| *n);
        assert_eq!(rest, ReachCount::shown(7));
    }
}
