//! Regions and municipalities: loading GeoJSON all or nothing, creating regions, the demo data.

use burgernet_core::db::schema::{municipalities, regions};
use burgernet_core::reference_data::{
    self, DEMO_MUNICIPALITIES_GEOJSON, LoadSummary, ReferenceDataError, ReferenceKind,
};
use burgernet_core::vocabulary::regions::{CbsCode, RegionCode};
use diesel::prelude::*;
use diesel::sql_types::{Double, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::{Value, json};

use crate::helpers::TestDatabase;

const GENERATION_SCRIPT: &str = include_str!("../../scripts/generate-demo-municipalities.sql");

fn cbs(code: &str) -> CbsCode {
    CbsCode::parse(code).unwrap()
}

fn region_code(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

/// A square municipality of 0.1 degree near Rotterdam.
fn square_feature(cbs_code: &str, name: &str, inhabitants: i64) -> Value {
    json!({
        "type": "Feature",
        "properties": { "cbs_code": cbs_code, "name": name, "inhabitants": inhabitants },
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[4.0, 51.0], [4.1, 51.0], [4.1, 51.1], [4.0, 51.1], [4.0, 51.0]]]
        }
    })
}

/// Two triangles touching in one point: a ring that crosses itself at (4.05, 51.05).
fn bow_tie_feature(cbs_code: &str) -> Value {
    json!({
        "type": "Feature",
        "properties": { "cbs_code": cbs_code, "name": "Strik", "inhabitants": 10 },
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[4.0, 51.0], [4.1, 51.1], [4.1, 51.0], [4.0, 51.1], [4.0, 51.0]]]
        }
    })
}

fn collection(features: Vec<Value>) -> String {
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

async fn municipality_count(conn: &mut AsyncPgConnection) -> i64 {
    municipalities::table.count().get_result(conn).await.unwrap()
}

async fn region_count(conn: &mut AsyncPgConnection) -> i64 {
    regions::table.count().get_result(conn).await.unwrap()
}

fn feature_problems(result: Result<LoadSummary, ReferenceDataError>) -> Vec<(usize, String)> {
    match result {
        Err(ReferenceDataError::InvalidFeatures(problems)) => {
            problems.into_iter().map(|problem| (problem.index, problem.message)).collect()
        }
        other => panic!("expected feature problems, got {other:?}"),
    }
}

#[tokio::test]
async fn loading_the_demo_file_gives_nineteen_municipalities_with_the_seed_inhabitants() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;

    let summary =
        reference_data::load_municipalities(&mut conn, DEMO_MUNICIPALITIES_GEOJSON, None).await.unwrap();

    assert_eq!(summary, LoadSummary { inserted: 19, updated: 0 });
    let loaded = reference_data::list_municipalities(&mut conn, None).await.unwrap();
    assert_eq!(loaded.len(), 19);
    let inhabitants: i64 = loaded.iter().map(|m| i64::from(m.inhabitants)).sum();
    assert_eq!(inhabitants, 1_259_243);

    #[derive(QueryableByName)]
    struct Containing {
        #[diesel(sql_type = Text)]
        cbs_code: String,
    }
    let containing: Vec<Containing> = diesel::sql_query(
        "SELECT cbs_code FROM municipalities
          WHERE ST_Contains(boundary, ST_SetSRID(ST_MakePoint(4.48, 51.92), 4326))",
    )
    .load(&mut conn)
    .await
    .unwrap();
    let containing: Vec<String> = containing.into_iter().map(|row| row.cbs_code).collect();
    assert_eq!(containing, ["GM0599"]);

    let rotterdam = reference_data::find_municipality(&mut conn, &cbs("GM0599"))
        .await
        .unwrap()
        .expect("Rotterdam is loaded");
    assert_eq!(rotterdam.name, "Rotterdam");
    assert_eq!(rotterdam.inhabitants, 612_502);
    assert_eq!(rotterdam.region, None);
    let bbox = rotterdam.bounding_box;
    assert!(bbox.min_lon < 4.48 && 4.48 < bbox.max_lon, "{bbox:?}");
    assert!(bbox.min_lat < 51.92 && 51.92 < bbox.max_lat, "{bbox:?}");
    assert!((bbox.min_lon..bbox.max_lon).contains(&rotterdam.centroid.lon));
    assert!((bbox.min_lat..bbox.max_lat).contains(&rotterdam.centroid.lat));
}

#[tokio::test]
async fn reloading_a_file_updates_the_municipalities_instead_of_duplicating_them() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let first = collection(vec![
        square_feature("GM0001", "Eerstedorp", 100),
        square_feature("GM0002", "Tweedorp", 200),
    ]);
    reference_data::load_municipalities(&mut conn, &first, None).await.unwrap();

    let second = collection(vec![
        square_feature("GM0001", "Eerstestad", 150),
        square_feature("GM0003", "Derdedorp", 300),
    ]);
    let summary = reference_data::load_municipalities(&mut conn, &second, None).await.unwrap();

    assert_eq!(summary, LoadSummary { inserted: 1, updated: 1 });
    assert_eq!(municipality_count(&mut conn).await, 3);
    let updated = reference_data::find_municipality(&mut conn, &cbs("GM0001")).await.unwrap().unwrap();
    assert_eq!((updated.name.as_str(), updated.inhabitants), ("Eerstestad", 150));
}

#[tokio::test]
async fn a_file_with_bad_features_reports_each_by_index_and_writes_nothing() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    reference_data::load_municipalities(&mut conn, DEMO_MUNICIPALITIES_GEOJSON, None).await.unwrap();

    let mut missing_code = square_feature("GM0001", "Zondercode", 1);
    missing_code["properties"].as_object_mut().unwrap().remove("cbs_code");
    let mut point = square_feature("GM0004", "Puntdorp", 1);
    point["geometry"] = json!({ "type": "Point", "coordinates": [4.0, 51.0] });
    let file = collection(vec![
        square_feature("GM0599", "Rotterdam (renamed)", 1),
        missing_code,
        square_feature("GM59", "Kortecode", 1),
        square_feature("GM0003", "Minderdorp", -5),
        point,
        bow_tie_feature("GM0005"),
        square_feature("GM0599", "Rotterdam again", 2),
    ]);

    let problems = feature_problems(reference_data::load_municipalities(&mut conn, &file, None).await);

    let indices: Vec<usize> = problems.iter().map(|(index, _)| *index).collect();
    assert_eq!(indices, [1, 2, 3, 4, 5, 6], "{problems:?}");
    assert!(problems[0].1.contains("missing property cbs_code"));
    assert!(problems[1].1.contains("GM followed by 4 digits"));
    assert!(problems[2].1.contains("must not be negative"));
    assert!(problems[3].1.contains("Polygon or MultiPolygon"));
    assert!(problems[4].1.contains("Self-intersection"), "{}", problems[4].1);
    assert!(problems[5].1.contains("already used by feature 0"));
    assert_eq!(municipality_count(&mut conn).await, 19);
    let rotterdam = reference_data::find_municipality(&mut conn, &cbs("GM0599")).await.unwrap().unwrap();
    assert_eq!(rotterdam.name, "Rotterdam", "the good feature was not written either");
}

#[tokio::test]
async fn an_invalid_geometry_after_good_features_rolls_back_the_whole_file() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let file = collection(vec![
        square_feature("GM0001", "Eerstedorp", 100),
        square_feature("GM0002", "Tweedorp", 200),
        bow_tie_feature("GM0003"),
    ]);

    let error = reference_data::load_municipalities(&mut conn, &file, None).await.unwrap_err();

    let message = error.to_string();
    assert!(message.contains("feature 2 (GM0003): geometry is not valid: Self-intersection"), "{message}");
    assert_eq!(municipality_count(&mut conn).await, 0);
}

#[tokio::test]
async fn a_file_assigns_municipalities_to_the_given_region_or_their_own() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    reference_data::create_region(&mut conn, &region_code("rotterdam"), "Rotterdam", &[]).await.unwrap();
    reference_data::create_region(&mut conn, &region_code("zeeland-west"), "Zeeland-West", &[])
        .await
        .unwrap();
    let mut own_region = square_feature("GM0002", "Tweedorp", 200);
    own_region["properties"]["region"] = json!("zeeland-west");
    let file = collection(vec![square_feature("GM0001", "Eerstedorp", 100), own_region]);

    reference_data::load_municipalities(&mut conn, &file, None).await.unwrap();
    reference_data::load_municipalities(&mut conn, &file, Some(&region_code("rotterdam")))
        .await
        .map(|_| ())
        .expect_err("a feature's own region contradicting the file's region is refused");
    let first = collection(vec![square_feature("GM0001", "Eerstedorp", 100)]);
    reference_data::load_municipalities(&mut conn, &first, Some(&region_code("rotterdam"))).await.unwrap();

    let region_of = async |conn: &mut AsyncPgConnection, code: &str| {
        reference_data::municipality_region(conn, &cbs(code)).await.unwrap().map(|region| region.to_string())
    };
    assert_eq!(region_of(&mut conn, "GM0001").await.as_deref(), Some("rotterdam"));
    assert_eq!(region_of(&mut conn, "GM0002").await.as_deref(), Some("zeeland-west"));
    let zeeland =
        reference_data::list_municipalities(&mut conn, Some(&region_code("zeeland-west"))).await.unwrap();
    assert_eq!(zeeland.len(), 1);
    assert_eq!(zeeland[0].cbs_code.as_str(), "GM0002");
}

#[tokio::test]
async fn an_unknown_region_is_reported_and_nothing_is_written() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let file = collection(vec![square_feature("GM0001", "Eerstedorp", 100)]);

    let error = reference_data::load_municipalities(&mut conn, &file, Some(&region_code("nergens")))
        .await
        .unwrap_err();

    match &error {
        ReferenceDataError::NotFound { kind, codes } => {
            assert_eq!(*kind, ReferenceKind::Region);
            assert_eq!(codes, &["nergens"]);
        }
        other => panic!("expected not found, got {other:?}"),
    }
    assert_eq!(error.to_string(), "region not found: nergens");
    assert_eq!(municipality_count(&mut conn).await, 0);
}

#[tokio::test]
async fn creating_a_region_assigns_the_listed_municipalities() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    reference_data::load_municipalities(&mut conn, DEMO_MUNICIPALITIES_GEOJSON, None).await.unwrap();

    let region = reference_data::create_region(
        &mut conn,
        &region_code("maasmond"),
        "Maasmond",
        &[cbs("GM0556"), cbs("GM0622"), cbs("GM0606")],
    )
    .await
    .unwrap();

    assert_eq!(region.code.as_str(), "maasmond");
    assert_eq!(region.name, "Maasmond");
    assert_eq!(region.municipality_count, 3);
    assert_eq!(region.inhabitants, 31_910 + 71_269 + 75_718);
    let members = reference_data::list_municipalities(&mut conn, Some(&region.code)).await.unwrap();
    let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["Maassluis", "Schiedam", "Vlaardingen"]);
    let listed = reference_data::list_regions(&mut conn).await.unwrap();
    assert_eq!(listed, [region]);
}

#[tokio::test]
async fn creating_a_region_with_a_code_that_exists_is_a_conflict() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    let code = region_code("rotterdam");
    reference_data::create_region(&mut conn, &code, "Rotterdam", &[]).await.unwrap();

    let error = reference_data::create_region(&mut conn, &code, "Rotterdam twee", &[]).await.unwrap_err();

    assert!(matches!(error, ReferenceDataError::Conflict(_)), "{error:?}");
    assert_eq!(error.to_string(), "conflict: a region with code rotterdam already exists");
    let existing = reference_data::find_region(&mut conn, &code).await.unwrap().unwrap();
    assert_eq!(existing.name, "Rotterdam");
    assert_eq!(region_count(&mut conn).await, 1);
}

#[tokio::test]
async fn creating_a_region_with_unknown_municipalities_names_them_and_writes_nothing() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    reference_data::load_municipalities(&mut conn, DEMO_MUNICIPALITIES_GEOJSON, None).await.unwrap();

    let error = reference_data::create_region(
        &mut conn,
        &region_code("haaglanden"),
        "Haaglanden",
        &[cbs("GM0518"), cbs("GM0599"), cbs("GM0363")],
    )
    .await
    .unwrap_err();

    assert_eq!(error.to_string(), "municipality not found: GM0363, GM0518");
    assert_eq!(region_count(&mut conn).await, 0);
    assert_eq!(reference_data::municipality_region(&mut conn, &cbs("GM0599")).await.unwrap(), None);
}

#[tokio::test]
async fn loading_the_demo_reference_data_twice_yields_one_rotterdam_region_of_nineteen() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;

    reference_data::load_demo_reference_data(&mut conn).await.unwrap();
    reference_data::load_demo_reference_data(&mut conn).await.unwrap();

    let regions = reference_data::list_regions(&mut conn).await.unwrap();
    assert_eq!(regions.len(), 1);
    let rotterdam = &regions[0];
    assert_eq!(rotterdam.code.as_str(), "rotterdam");
    assert_eq!(rotterdam.name, "Eenheid Rotterdam (demo)");
    assert_eq!(rotterdam.municipality_count, 19);
    assert_eq!(rotterdam.inhabitants, 1_259_243);
    assert_eq!(municipality_count(&mut conn).await, 19);
    assert_eq!(
        reference_data::municipality_region(&mut conn, &cbs("GM0614")).await.unwrap(),
        Some(region_code("rotterdam"))
    );
}

/// The committed file must stay reproducible from the committed script. Geometries are compared
/// by distance rather than text, so a GEOS version that orders vertices differently still passes.
#[tokio::test]
async fn the_demo_file_is_what_the_generation_script_produces() {
    let db = TestDatabase::new().await;
    let mut conn = db.connect().await;
    #[derive(QueryableByName)]
    struct Generated {
        #[diesel(sql_type = Text)]
        geojson: String,
    }
    let generated: Generated = diesel::sql_query(GENERATION_SCRIPT).get_result(&mut conn).await.unwrap();
    let generated: Value = serde_json::from_str(&generated.geojson).unwrap();
    let committed: Value = serde_json::from_str(DEMO_MUNICIPALITIES_GEOJSON).unwrap();

    for member in ["type", "name", "description"] {
        assert_eq!(generated[member], committed[member], "{member}");
    }
    let generated = generated["features"].as_array().unwrap();
    let committed = committed["features"].as_array().unwrap();
    assert_eq!(generated.len(), committed.len());
    for (generated, committed) in generated.iter().zip(committed) {
        assert_eq!(generated["properties"], committed["properties"]);
        assert_eq!(committed["properties"]["boundary_quality"], "approximate");
        #[derive(QueryableByName)]
        struct Distance {
            #[diesel(sql_type = Double)]
            distance: f64,
        }
        let Distance { distance } = diesel::sql_query(
            "SELECT ST_HausdorffDistance(ST_GeomFromGeoJSON($1), ST_GeomFromGeoJSON($2))
                    AS distance",
        )
        .bind::<Text, _>(generated["geometry"].to_string())
        .bind::<Text, _>(committed["geometry"].to_string())
        .get_result(&mut conn)
        .await
        .unwrap();
        assert!(distance < 1e-4, "{}: {distance}", committed["properties"]["name"]);
    }
}
