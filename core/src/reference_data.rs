//! Reference data: police regions (eenheden) and the municipalities (gemeenten) they cover.
//!
//! Municipalities arrive as a GeoJSON FeatureCollection (`burgernet admin load-municipalities`,
//! or the embedded demo file in `burgernet dev`). A file is parsed into validated imports here,
//! every problem in it is collected with the feature's position, and PostGIS gets the last word
//! on geometry validity; only a file without any problem is written, in one transaction. The SQL
//! lives in [`crate::db::reference_data`].

pub mod overview;
pub mod region_map;

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::staff::{OutOfScope, StaffMember};
use crate::db::reference_data as queries;
use crate::ids::RegionId;
use crate::vocabulary::regions::{CbsCode, Municipality, MunicipalityImport, Region, RegionCode};

/// The 19 municipalities of the 2012 police region Rotterdam-Rijnmond, with APPROXIMATE
/// boundaries (Voronoi cells, see `scripts/generate-demo-municipalities.sql`), for local demos.
pub const DEMO_MUNICIPALITIES_GEOJSON: &str =
    include_str!("../../data/demo/rotterdam-rijnmond-municipalities.geojson");
/// The region the demo municipalities belong to.
pub const DEMO_REGION_CODE: &str = "rotterdam";
pub const DEMO_REGION_NAME: &str = "Eenheid Rotterdam (demo)";

const MAX_NAME_CHARS: usize = 200;
/// No region may have this code: `/v1/regions/overview` is the overview of them all.
const RESERVED_REGION_CODE: &str = "overview";

/// What is wrong with one feature of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureProblem {
    /// Position in the file's `features` array, counted from 0.
    pub index: usize,
    /// The feature's CBS code, when it has a valid one.
    pub cbs_code: Option<CbsCode>,
    pub message: String,
}

impl fmt::Display for FeatureProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cbs_code {
            Some(code) => write!(f, "feature {} ({code}): {}", self.index, self.message),
            None => write!(f, "feature {}: {}", self.index, self.message),
        }
    }
}

/// What a load did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LoadSummary {
    pub inserted: usize,
    pub updated: usize,
}

impl fmt::Display for LoadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} municipalities loaded: {} new, {} updated",
            self.inserted + self.updated,
            self.inserted,
            self.updated
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    Region,
    Municipality,
}

impl fmt::Display for ReferenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Region => "region",
            Self::Municipality => "municipality",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReferenceDataError {
    /// The input as a whole is unusable (not a FeatureCollection, a bad name, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Features of a GeoJSON file break the rules; nothing was written.
    #[error("{}", describe_problems(.0))]
    InvalidFeatures(Vec<FeatureProblem>),
    /// Codes that refer to regions or municipalities that do not exist; nothing was written.
    #[error("{kind} not found: {}", .codes.join(", "))]
    NotFound { kind: ReferenceKind, codes: Vec<String> },
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
}

fn describe_problems(problems: &[FeatureProblem]) -> String {
    let mut text = format!(
        "{} problem(s) in the file, nothing was written (features are numbered from 0, as in \
         the features array):",
        problems.len()
    );
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&problem.to_string());
    }
    text
}

/// Parses and checks a GeoJSON FeatureCollection of municipalities, without the database.
/// `region` is the region for features without a `region` property of their own.
pub fn parse_municipalities(
    geojson: &str,
    region: Option<&RegionCode>,
) -> Result<Vec<MunicipalityImport>, ReferenceDataError> {
    let (imports, problems) = parse_collection(geojson, region)?;
    if problems.is_empty() { Ok(imports) } else { Err(ReferenceDataError::InvalidFeatures(problems)) }
}

/// Loads (inserts or updates, by CBS code) every municipality of a GeoJSON FeatureCollection,
/// all or nothing. Each feature is assigned to its `region` property or else to `region`; a
/// municipality loaded without any region keeps the region it had.
pub async fn load_municipalities(
    conn: &mut AsyncPgConnection,
    geojson: &str,
    region: Option<&RegionCode>,
) -> Result<LoadSummary, ReferenceDataError> {
    let (imports, mut problems) = parse_collection(geojson, region)?;
    conn.transaction(async |conn| {
        let boundaries: Vec<(usize, &str)> =
            imports.iter().map(|import| (import.index, import.boundary_geojson.as_str())).collect();
        for (index, reason) in queries::invalid_boundaries(conn, &boundaries).await? {
            let cbs_code =
                imports.iter().find(|import| import.index == index).map(|import| import.cbs_code.clone());
            problems.push(FeatureProblem {
                index,
                cbs_code,
                message: format!("geometry is not valid: {reason}"),
            });
        }
        if !problems.is_empty() {
            problems.sort_by_key(|problem| problem.index);
            return Err(ReferenceDataError::InvalidFeatures(problems));
        }

        let region_ids = resolve_regions(conn, imports.iter().filter_map(|i| i.region.as_ref())).await?;
        let codes: Vec<&str> = imports.iter().map(|i| i.cbs_code.as_str()).collect();
        let existing = queries::existing_cbs_codes(conn, &codes).await?;
        for import in &imports {
            let region_id = import.region.as_ref().map(|code| region_ids[code]);
            queries::upsert_municipality(conn, import, region_id).await?;
        }
        Ok(LoadSummary { inserted: imports.len() - existing.len(), updated: existing.len() })
    })
    .await
}

/// Creates a region and assigns the given municipalities to it (moving them from any region
/// they belonged to). Nothing is written when the code is taken or a municipality is unknown.
pub async fn create_region(
    conn: &mut AsyncPgConnection,
    code: &RegionCode,
    name: &str,
    municipalities: &[CbsCode],
) -> Result<Region, ReferenceDataError> {
    check_name(name).map_err(|message| ReferenceDataError::InvalidInput(format!("name {message}")))?;
    if code.as_str() == RESERVED_REGION_CODE {
        return Err(ReferenceDataError::InvalidInput(format!(
            "code {RESERVED_REGION_CODE} is reserved: GET /v1/regions/{RESERVED_REGION_CODE} is the overview of \
             every region"
        )));
    }
    let codes: Vec<&str> = municipalities.iter().map(CbsCode::as_str).collect();
    conn.transaction(async |conn| {
        let existing: BTreeSet<String> =
            queries::existing_cbs_codes(conn, &codes).await?.into_iter().collect();
        let unknown: BTreeSet<String> =
            codes.iter().filter(|code| !existing.contains(**code)).map(|code| code.to_string()).collect();
        if !unknown.is_empty() {
            return Err(ReferenceDataError::NotFound {
                kind: ReferenceKind::Municipality,
                codes: unknown.into_iter().collect(),
            });
        }
        let Some(region_id) = queries::insert_region(conn, code, name).await? else {
            return Err(ReferenceDataError::Conflict(format!("a region with code {code} already exists")));
        };
        queries::assign_municipalities(conn, region_id, &codes).await?;
        Ok(queries::find_region(conn, code).await?.expect("the region was created in this transaction"))
    })
    .await
}

/// Makes sure the demo municipalities and the demo region `rotterdam` holding them are loaded;
/// safe to run at every start.
pub async fn load_demo_reference_data(conn: &mut AsyncPgConnection) -> Result<(), ReferenceDataError> {
    let region = RegionCode::parse(DEMO_REGION_CODE).expect("the demo region code is valid");
    conn.transaction(async |conn| {
        queries::ensure_region(conn, &region, DEMO_REGION_NAME).await?;
        load_municipalities(conn, DEMO_MUNICIPALITIES_GEOJSON, Some(&region)).await?;
        Ok(())
    })
    .await
}

/// Every region with its totals, by name.
pub async fn list_regions(conn: &mut AsyncPgConnection) -> Result<Vec<Region>, ReferenceDataError> {
    Ok(queries::list_regions(conn).await?)
}

pub async fn find_region(
    conn: &mut AsyncPgConnection,
    code: &RegionCode,
) -> Result<Option<Region>, ReferenceDataError> {
    Ok(queries::find_region(conn, code).await?)
}

pub async fn find_municipality(
    conn: &mut AsyncPgConnection,
    code: &CbsCode,
) -> Result<Option<Municipality>, ReferenceDataError> {
    Ok(queries::find_municipality(conn, code).await?)
}

/// Municipalities by name: all of them, or those of one region (an unknown region is
/// [`ReferenceDataError::NotFound`]).
pub async fn list_municipalities(
    conn: &mut AsyncPgConnection,
    region: Option<&RegionCode>,
) -> Result<Vec<Municipality>, ReferenceDataError> {
    let region_id = match region {
        Some(code) => Some(resolve_regions(conn, [code]).await?[code]),
        None => None,
    };
    Ok(queries::list_municipalities(conn, region_id).await?)
}

/// Why a staff member gets no region or municipality.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Another region or municipality than theirs.
    #[error(transparent)]
    OutOfScope(#[from] OutOfScope),
    #[error("There is no region {0}.")]
    NoSuchRegion(String),
    #[error("There is no municipality {0}.")]
    NoSuchMunicipality(String),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The region, for a staff member who may see it (its dispatchers, and administrators).
pub async fn region_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    code: &RegionCode,
) -> Result<Region, LookupError> {
    staff.ensure_region(code.as_str())?;
    queries::find_region(conn, code)
        .await?
        .ok_or_else(|| LookupError::NoSuchRegion(code.as_str().to_string()))
}

/// The region's municipalities by name, for a staff member who may see the region.
pub async fn municipalities_of_region_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    code: &RegionCode,
) -> Result<Vec<Municipality>, LookupError> {
    staff.ensure_region(code.as_str())?;
    match list_municipalities(conn, Some(code)).await {
        Ok(municipalities) => Ok(municipalities),
        Err(ReferenceDataError::Database(error)) => Err(error.into()),
        Err(_) => Err(LookupError::NoSuchRegion(code.as_str().to_string())),
    }
}

/// The municipality, for a staff member who may see it: its relations officers, the dispatchers
/// of its region, administrators. Scope first, so staff outside it cannot learn whether a code
/// exists.
pub async fn municipality_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    code: &CbsCode,
) -> Result<Municipality, LookupError> {
    let municipality = queries::find_municipality(conn, code).await?;
    let region = municipality.as_ref().and_then(|m| m.region.as_ref()).map(|r| r.as_str());
    staff.ensure_municipality(code.as_str(), region)?;
    municipality.ok_or_else(|| LookupError::NoSuchMunicipality(code.as_str().to_string()))
}

/// Inhabitants of the whole country (every municipality on record).
pub async fn national_inhabitants(conn: &mut AsyncPgConnection) -> Result<i64, LookupError> {
    Ok(queries::national_inhabitants(conn).await?)
}

/// The region a municipality belongs to (`None` when it has none or does not exist).
pub async fn municipality_region(
    conn: &mut AsyncPgConnection,
    code: &CbsCode,
) -> Result<Option<RegionCode>, ReferenceDataError> {
    Ok(queries::municipality_region(conn, code).await?)
}

/// The ids of the given region codes; any unknown code is [`ReferenceDataError::NotFound`].
async fn resolve_regions<'a>(
    conn: &mut AsyncPgConnection,
    codes: impl IntoIterator<Item = &'a RegionCode>,
) -> Result<HashMap<RegionCode, RegionId>, ReferenceDataError> {
    let wanted: BTreeSet<&RegionCode> = codes.into_iter().collect();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let wanted_codes: Vec<&str> = wanted.iter().map(|code| code.as_str()).collect();
    let found: HashMap<RegionCode, RegionId> =
        queries::region_ids(conn, &wanted_codes).await?.into_iter().collect();
    let unknown: Vec<String> =
        wanted.into_iter().filter(|code| !found.contains_key(*code)).map(ToString::to_string).collect();
    if unknown.is_empty() {
        Ok(found)
    } else {
        Err(ReferenceDataError::NotFound { kind: ReferenceKind::Region, codes: unknown })
    }
}

/// The imports of the features without problems, and the problems of the others. Fails as a
/// whole only when the input is not a FeatureCollection at all.
fn parse_collection(
    geojson: &str,
    region: Option<&RegionCode>,
) -> Result<(Vec<MunicipalityImport>, Vec<FeatureProblem>), ReferenceDataError> {
    let invalid = |message: String| ReferenceDataError::InvalidInput(message);
    let document: Value =
        serde_json::from_str(geojson).map_err(|error| invalid(format!("not JSON: {error}")))?;
    if document.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(invalid(
            "expected a GeoJSON FeatureCollection (an object with \"type\": \
             \"FeatureCollection\")"
                .into(),
        ));
    }
    let Some(features) = document.get("features").and_then(Value::as_array) else {
        return Err(invalid("the FeatureCollection has no \"features\" array".into()));
    };
    if features.is_empty() {
        return Err(invalid("the FeatureCollection has no features".into()));
    }

    let mut imports = Vec::new();
    let mut problems = Vec::new();
    let mut first_use: HashMap<CbsCode, usize> = HashMap::new();
    for (index, feature) in features.iter().enumerate() {
        let (import, messages) = parse_feature(feature, index, region);
        let cbs_code = feature_cbs_code(feature);
        if let Some(code) = &cbs_code
            && let Some(first) = first_use.get(code)
        {
            problems.push(FeatureProblem {
                index,
                cbs_code: cbs_code.clone(),
                message: format!("cbs_code {code} is already used by feature {first}"),
            });
            continue;
        }
        if let Some(code) = &cbs_code {
            first_use.insert(code.clone(), index);
        }
        match import {
            Some(import) => imports.push(import),
            None => problems.extend(messages.into_iter().map(|message| FeatureProblem {
                index,
                cbs_code: cbs_code.clone(),
                message,
            })),
        }
    }
    Ok((imports, problems))
}

fn feature_cbs_code(feature: &Value) -> Option<CbsCode> {
    let code = feature.get("properties")?.get("cbs_code")?.as_str()?;
    CbsCode::parse(code).ok()
}

/// The import, or every problem of the feature.
fn parse_feature(
    feature: &Value,
    index: usize,
    file_region: Option<&RegionCode>,
) -> (Option<MunicipalityImport>, Vec<String>) {
    let mut problems = Vec::new();
    let Some(feature) = feature.as_object() else {
        return (None, vec!["is not a JSON object".into()]);
    };
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        problems.push("\"type\" must be \"Feature\"".into());
    }
    let empty = Map::new();
    let properties = match feature.get("properties") {
        Some(Value::Object(properties)) => properties,
        _ => {
            problems.push("has no \"properties\" object".into());
            &empty
        }
    };

    let cbs_code = string_property(properties, "cbs_code", true, &mut problems).and_then(|code| {
        CbsCode::parse(code).map_err(|error| problems.push(format!("cbs_code: {error}"))).ok()
    });
    let name = string_property(properties, "name", true, &mut problems).and_then(|name| {
        check_name(name)
            .map(|()| name.to_string())
            .map_err(|message| problems.push(format!("name {message}")))
            .ok()
    });
    let inhabitants = match properties.get("inhabitants") {
        None | Some(Value::Null) => {
            problems.push("missing property inhabitants".into());
            None
        }
        Some(Value::Number(number)) => match number.as_i64() {
            Some(count) if count < 0 => {
                problems.push(format!("inhabitants must not be negative, got {count}"));
                None
            }
            Some(count) => i32::try_from(count)
                .map_err(|_| problems.push(format!("inhabitants {count} is too large")))
                .ok(),
            None => {
                problems.push(format!("inhabitants must be a whole number, got {number}"));
                None
            }
        },
        Some(other) => {
            problems.push(format!("inhabitants must be a number, not {other}"));
            None
        }
    };
    let region = match string_property(properties, "region", false, &mut problems) {
        None => file_region.cloned(),
        Some(code) => match RegionCode::parse(code) {
            Ok(code) => match file_region {
                Some(file_region) if *file_region != code => {
                    problems.push(format!(
                        "region {code} contradicts the region given for the whole file \
                         ({file_region})"
                    ));
                    None
                }
                _ => Some(code),
            },
            Err(error) => {
                problems.push(format!("region: {error}"));
                None
            }
        },
    };
    let boundary_geojson = match feature.get("geometry") {
        None | Some(Value::Null) => {
            problems.push("has no geometry".into());
            None
        }
        Some(geometry) => {
            check_geometry(geometry).map_err(|message| problems.push(format!("geometry {message}"))).ok()
        }
    };

    match (cbs_code, name, inhabitants, boundary_geojson) {
        (Some(cbs_code), Some(name), Some(inhabitants), Some(boundary_geojson)) if problems.is_empty() => {
            let import = MunicipalityImport { index, cbs_code, name, inhabitants, region, boundary_geojson };
            (Some(import), problems)
        }
        _ => (None, problems),
    }
}

/// The string property `key`, or `None` with a problem (none for an absent optional one).
fn string_property<'a>(
    properties: &'a Map<String, Value>,
    key: &str,
    required: bool,
    problems: &mut Vec<String>,
) -> Option<&'a str> {
    match properties.get(key) {
        None | Some(Value::Null) => {
            if required {
                problems.push(format!("missing property {key}"));
            }
            None
        }
        Some(Value::String(value)) => Some(value),
        Some(other) => {
            problems.push(format!("{key} must be a string, not {other}"));
            None
        }
    }
}

/// `Err` completes "name ...".
fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        Err("must not be empty".into())
    } else if chars > MAX_NAME_CHARS {
        Err(format!("is {chars} characters long, at most {MAX_NAME_CHARS} are allowed"))
    } else {
        Ok(())
    }
}

/// Checks the shape and coordinates of a Polygon or MultiPolygon and returns it as GeoJSON
/// with only `type` and `coordinates` (so a stray `crs` member cannot change the SRID). `Err`
/// completes "geometry ...".
fn check_geometry(geometry: &Value) -> Result<String, String> {
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let coordinates = geometry.get("coordinates").ok_or_else(|| "has no \"coordinates\"".to_string())?;
    let polygons: Vec<&Value> = match kind {
        "Polygon" => vec![coordinates],
        "MultiPolygon" => coordinates
            .as_array()
            .filter(|polygons| !polygons.is_empty())
            .ok_or("coordinates must be a non-empty array of polygons")?
            .iter()
            .collect(),
        other => return Err(format!("must be a Polygon or MultiPolygon, not {other:?}")),
    };
    for (polygon_number, polygon) in polygons.into_iter().enumerate() {
        let rings = polygon
            .as_array()
            .filter(|rings| !rings.is_empty())
            .ok_or(format!("polygon {polygon_number}: must be a non-empty array of rings"))?;
        for (ring_number, ring) in rings.iter().enumerate() {
            check_ring(ring)
                .map_err(|message| format!("polygon {polygon_number}, ring {ring_number}: {message}"))?;
        }
    }
    Ok(serde_json::json!({ "type": kind, "coordinates": coordinates }).to_string())
}

fn check_ring(ring: &Value) -> Result<(), String> {
    let positions = ring.as_array().ok_or("must be an array of positions")?;
    if positions.len() < 4 {
        return Err(format!("has {} positions, a ring needs at least 4", positions.len()));
    }
    let mut lon_lats = Vec::with_capacity(positions.len());
    for (number, position) in positions.iter().enumerate() {
        let lon_lat = match position.as_array().map(Vec::as_slice) {
            Some([lon, lat]) => lon.as_f64().zip(lat.as_f64()),
            _ => None,
        };
        let Some((lon, lat)) = lon_lat else {
            return Err(format!("position {number} must be [longitude, latitude], got {position}"));
        };
        if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
            return Err(format!(
                "position {number} [{lon}, {lat}] is not a WGS84 [longitude, latitude] \
                 (longitude -180..180, latitude -90..90)"
            ));
        }
        lon_lats.push((lon, lat));
    }
    if lon_lats.first() != lon_lats.last() {
        return Err("is not closed (the last position must equal the first)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cbs_code_is_gm_and_four_digits() {
        assert_eq!(CbsCode::parse("GM0599").unwrap().as_str(), "GM0599");
        for bad in ["", "GM599", "GM05990", "gm0599", "GM05a9", " GM0599", "0599", "GM-599"] {
            let error = CbsCode::parse(bad).unwrap_err();
            assert!(error.to_string().contains("GM followed by 4 digits"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_region_code_is_lowercase_letters_digits_and_hyphens() {
        for good in ["rotterdam", "midden-nederland", "r1", "0a", &"a".repeat(63)] {
            assert_eq!(RegionCode::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "r", "Rotterdam", "-rotterdam", "den haag", "zeeland_west", &"a".repeat(64)] {
            assert!(RegionCode::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn codes_deserialize_only_when_valid() {
        let code: CbsCode = serde_json::from_str("\"GM0599\"").unwrap();
        assert_eq!(code.to_string(), "GM0599");
        assert!(serde_json::from_str::<CbsCode>("\"GM59\"").is_err());
        assert!(serde_json::from_str::<RegionCode>("\"Rotterdam\"").is_err());
    }

    #[test]
    fn the_demo_file_parses_into_nineteen_municipalities() {
        let imports = parse_municipalities(DEMO_MUNICIPALITIES_GEOJSON, None).unwrap();
        assert_eq!(imports.len(), 19);
        let total: i64 = imports.iter().map(|i| i64::from(i.inhabitants)).sum();
        assert_eq!(total, 1_259_243);
    }

    #[test]
    fn a_feature_with_several_problems_reports_each_of_them() {
        let file = r#"{"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": "", "inhabitants": 1.5, "region": "X"},
             "geometry": {"type": "Polygon", "coordinates": [[[200, 51], [4, 52], [4, 51], [200, 51]]]}}
        ]}"#;
        let Err(ReferenceDataError::InvalidFeatures(problems)) = parse_municipalities(file, None) else {
            panic!("expected feature problems");
        };
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 5, "{messages:?}");
        assert!(problems.iter().all(|p| p.index == 0));
        assert!(messages[0].contains("missing property cbs_code"));
        assert!(messages[1].contains("name must not be empty"));
        assert!(messages[2].contains("whole number"));
        assert!(messages[3].starts_with("region:"));
        assert!(messages[4].contains("longitude -180..180"));
    }

    #[test]
    fn a_ring_must_be_closed_and_have_four_positions() {
        let ring = |coordinates: &str| {
            check_geometry(
                &serde_json::from_str(&format!(r#"{{"type": "Polygon", "coordinates": [{coordinates}]}}"#))
                    .unwrap(),
            )
        };
        assert!(ring("[[4, 51], [5, 51], [5, 52], [4, 51]]").is_ok());
        assert!(ring("[[4, 51], [5, 51], [5, 52], [4, 52]]").unwrap_err().contains("not closed"));
        assert!(ring("[[4, 51], [5, 51], [4, 51]]").unwrap_err().contains("at least 4"));
        assert!(ring("[[4, 51, 0], [5, 51, 0], [5, 52, 0], [4, 51, 0]]").is_err());
    }

    #[test]
    fn something_other_than_a_feature_collection_is_invalid_input() {
        for file in
            ["nonsense", "{}", r#"{"type": "Feature"}"#, r#"{"type": "FeatureCollection", "features": []}"#]
        {
            assert!(matches!(parse_municipalities(file, None), Err(ReferenceDataError::InvalidInput(_))));
        }
    }
}
