//! What the browser console reads besides the alert and participant endpoints: the region map
//! (boundaries, density, active alerts), the reach an expansion would add, the dossier's chain
//! check, a municipality's participation and the administrators' overview of the regions. Each is
//! proven on a population of known size, and refused to every role that may not have it,
//! including the same role of another region or municipality.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{AMSTERDAM, KRALINGEN, ROTTERDAM, alert_body, circle};
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

/// What is shown for a count under 5.
fn fewer_than_five() -> Value {
    json!({"fewer_than": 5})
}

fn count(n: i64) -> Value {
    json!({"count": n})
}

/// Participants to put straight into the database (the API would take a sign-in each).
struct Seed<'a> {
    /// Phone numbers are `+3162` and 7 digits counting up from this one.
    first_number: u32,
    count: u32,
    status: &'a str,
    channels: &'a str,
    municipality: &'a str,
    /// Where each gets a home: `(latitude, longitude)`.
    home: (f64, f64),
}

impl Seed<'_> {
    /// `count` active participants of Rotterdam reachable by SMS, at home at `home`.
    fn active(first_number: u32, count: u32, home: (f64, f64)) -> Self {
        Seed { first_number, count, status: "active", channels: "{sms}", municipality: "GM0599", home }
    }

    /// Inserts them; returns their ids.
    async fn insert(&self, app: &TestApp) -> Vec<String> {
        let (latitude, longitude) = self.home;
        let sql = format!(
            "WITH seeded AS (
                 INSERT INTO participants (id, phone_number, municipality_cbs, channels, status)
                 SELECT gen_random_uuid(), '+3162' || lpad(n::text, 7, '0'), '{municipality}', '{channels}', '{status}'
                   FROM generate_series({first}, {last}) AS n
                 RETURNING id),
             homes AS (
                 INSERT INTO places (id, participant_id, kind, name, location, municipality_cbs)
                 SELECT gen_random_uuid(), id, 'home', 'Thuis', ST_SetSRID(ST_MakePoint({longitude}, {latitude}), 4326),
                        '{municipality}'
                   FROM seeded)
             SELECT string_agg(id::text, ',') AS ids FROM seeded",
            municipality = self.municipality,
            channels = self.channels,
            status = self.status,
            first = self.first_number,
            last = self.first_number + self.count - 1,
        );
        #[derive(diesel::QueryableByName)]
        struct Ids {
            #[diesel(sql_type = diesel::sql_types::Text)]
            ids: String,
        }
        let mut conn = app.database.connect().await;
        let seeded: Ids =
            diesel_async::RunQueryDsl::get_result(diesel::sql_query(sql), &mut conn).await.expect("seed");
        seeded.ids.split(',').map(str::to_string).collect()
    }
}

/// The centre of the 1 km square of the Dutch national grid (RD New) that holds `position`, and
/// a point 300 m east and 300 m north of it, still in the same square.
async fn square_centre(app: &TestApp, (latitude, longitude): (f64, f64)) -> ((f64, f64), (f64, f64)) {
    #[derive(diesel::QueryableByName)]
    struct Points {
        #[diesel(sql_type = diesel::sql_types::Double)]
        lat: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        lon: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        off_lat: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        off_lon: f64,
    }
    let mut conn = app.database.connect().await;
    let points: Points = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query(format!(
            "WITH rd AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint({longitude}, {latitude}), 4326), 28992) AS p),
                  centre AS (SELECT floor(ST_X(p) / 1000) * 1000 + 500 AS x, floor(ST_Y(p) / 1000) * 1000 + 500 AS y FROM rd),
                  points AS (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(x, y), 28992), 4326) AS c,
                                    ST_Transform(ST_SetSRID(ST_MakePoint(x + 300, y + 300), 28992), 4326) AS o
                               FROM centre)
             SELECT ST_Y(c) AS lat, ST_X(c) AS lon, ST_Y(o) AS off_lat, ST_X(o) AS off_lon FROM points"
        )),
        &mut conn,
    )
    .await
    .unwrap();
    ((points.lat, points.lon), (points.off_lat, points.off_lon))
}

/// Every number in `value` with at most 6 decimals.
fn at_most_six_decimals(value: &Value) -> bool {
    match value {
        Value::Number(number) => {
            let text = number.to_string();
            text.split_once('.').is_none_or(|(_, decimals)| decimals.len() <= 6)
        }
        Value::Array(items) => items.iter().all(at_most_six_decimals),
        Value::Object(fields) => fields.values().all(at_most_six_decimals),
        _ => true,
    }
}

fn contains(bounds: &Value, (latitude, longitude): (f64, f64)) -> bool {
    let b: Vec<f64> = bounds.as_array().unwrap().iter().map(|n| n.as_f64().unwrap()).collect();
    b.len() == 4 && b[0] <= longitude && longitude <= b[2] && b[1] <= latitude && latitude <= b[3]
}

#[tokio::test]
async fn the_region_map_shows_the_boundaries_the_active_alerts_and_only_squares_of_five_or_more() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");

    // Square A (Rotterdam centre): 7 active participants, one of whom also works there (counted
    // once); a pending sign-up and someone whose home is in Amsterdam but who is in square A right
    // now (a live position) are not counted. Square B (Kralingen): 4, so it is left out. And 6 in
    // Amsterdam, another region.
    let (centre_a, corner_a) = square_centre(&app, ROTTERDAM).await;
    let (centre_b, _) = square_centre(&app, KRALINGEN).await;
    let in_a = Seed::active(1, 6, centre_a).insert(&app).await;
    Seed::active(10, 1, corner_a).insert(&app).await;
    app.database_exec(&format!(
        "INSERT INTO places (id, participant_id, kind, name, location, municipality_cbs)
         VALUES (gen_random_uuid(), '{}', 'work', 'Werk', ST_SetSRID(ST_MakePoint({}, {}), 4326), 'GM0599')",
        in_a[0], corner_a.1, corner_a.0
    ))
    .await;
    Seed { status: "pending", ..Seed::active(20, 1, centre_a) }.insert(&app).await;
    Seed::active(30, 4, centre_b).insert(&app).await;
    let in_amsterdam = Seed { municipality: "GM0363", ..Seed::active(40, 6, AMSTERDAM) }.insert(&app).await;
    app.database_exec(&format!(
        "INSERT INTO live_locations (participant_id, location, accuracy_meters, recorded_at, expires_at)
         VALUES ('{}', ST_SetSRID(ST_MakePoint({}, {}), 4326), 10, now(), now() + interval '1 hour')",
        in_amsterdam[0], centre_a.1, centre_a.0
    ))
    .await;

    // A draft is not on the map, a sent alert is, and so is nothing of Amsterdam's.
    app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let active = app.send_new_alert(&dispatcher, alert_body(circle(KRALINGEN, 800.0))).await;
    let amsterdam = app.dispatcher_token("amsterdam");
    app.send_new_alert(&amsterdam, alert_body(circle(AMSTERDAM, 1_000.0))).await;

    let map = app.get_json("/v1/regions/rotterdam/map", &dispatcher).await;
    assert_eq!(map["region"], json!({"code": "rotterdam", "name": "Eenheid Rotterdam (demo)"}));
    assert!(contains(&map["bounds"], ROTTERDAM) && contains(&map["bounds"], KRALINGEN), "{}", map["bounds"]);
    assert!(!contains(&map["bounds"], AMSTERDAM));

    let features = map["municipalities"]["features"].as_array().unwrap();
    assert_eq!(map["municipalities"]["type"], "FeatureCollection");
    assert_eq!(features.len(), 19);
    let rotterdam = features.iter().find(|f| f["properties"]["cbs_code"] == "GM0599").unwrap();
    assert_eq!(
        rotterdam["properties"],
        json!({"cbs_code": "GM0599", "name": "Rotterdam", "inhabitants": 612502})
    );
    assert!(features.iter().all(|f| f["type"] == "Feature" && f["geometry"]["type"] == "MultiPolygon"));
    assert!(at_most_six_decimals(&map), "coordinates are rounded to 6 decimals");

    assert_eq!(map["density"]["cell_size_m"], 1000);
    let cells = map["density"]["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "only square A has 5 or more: {cells:?}");
    assert_eq!(cells[0]["participants"], 7, "distinct active participants, by their places only");
    let bounds = &cells[0]["bounds"];
    assert!(contains(bounds, centre_a) && contains(bounds, corner_a) && !contains(bounds, centre_b));
    let width_m = (bounds[2].as_f64().unwrap() - bounds[0].as_f64().unwrap())
        * 111_320.0
        * centre_a.0.to_radians().cos();
    let height_m = (bounds[3].as_f64().unwrap() - bounds[1].as_f64().unwrap()) * 111_250.0;
    assert!(
        (990.0..1_030.0).contains(&width_m) && (990.0..1_030.0).contains(&height_m),
        "{width_m} x {height_m}"
    );

    let alerts = map["active_alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["id"], active.as_str());
    assert_eq!(alerts[0]["status"], "active");
    assert_eq!(alerts[0]["category"], "search");
    assert_eq!(alerts[0]["urgent"], true);
    assert!(alerts[0]["sent_at"].is_string());
    assert_eq!(alerts[0]["area"]["type"], "MultiPolygon");
    let ring = alerts[0]["area"]["coordinates"][0][0].as_array().unwrap();
    assert!(ring.len() > 60, "a circle comes as its polygon: {} points", ring.len());
    let text = map.to_string();
    assert!(!text.contains("+3162") && !text.contains(&in_a[0]), "the map names no participant");

    // Administrators see every region's map; nobody else outside the region does.
    let admin = app.admin_token();
    assert_eq!(app.get_json("/v1/regions/rotterdam/map", &admin).await["density"], map["density"]);
    let amsterdam_map = app.get_json("/v1/regions/amsterdam/map", &admin).await;
    assert_eq!(amsterdam_map["municipalities"]["features"].as_array().unwrap().len(), 1);
    assert_eq!(amsterdam_map["density"]["cells"][0]["participants"], 6);
    for (token, status, code) in [
        (amsterdam.clone(), 403, "out_of_scope"),
        (app.relations_officer_token("GM0599"), 403, "out_of_scope"),
    ] {
        assert_problem(app.get_as("/v1/regions/rotterdam/map", &token).await, status, code).await;
    }
    assert_problem(app.get("/v1/regions/rotterdam/map").await, 401, "unauthenticated").await;
    assert_problem(app.get_as("/v1/regions/nowhere/map", &admin).await, 404, "not_found").await;
    assert_problem(app.get_as("/v1/regions/Rotterdam/map", &admin).await, 400, "invalid_path_parameter")
        .await;
}

#[tokio::test]
async fn the_expansion_preview_counts_only_whom_the_expansion_would_add() {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    // 5 recipients in Rotterdam centre; later 6 new participants in Kralingen, 4 km east.
    Seed::active(1, 5, ROTTERDAM).insert(&app).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    Seed::active(10, 6, KRALINGEN).insert(&app).await;

    // The extra circle covers both the recipients and the newcomers: only the newcomers count.
    let midway = ((ROTTERDAM.0 + KRALINGEN.0) / 2.0, (ROTTERDAM.1 + KRALINGEN.1) / 2.0);
    let expansion = json!({"area": circle(midway, 2_500.0)});
    let preview_path = format!("/v1/alerts/{id}/expansion-preview");
    let preview = app.expect_ok(Method::POST, &preview_path, &dispatcher, expansion.clone()).await;
    assert_eq!(preview["participants"], count(6), "{preview}");
    assert_eq!(preview["sms"]["participants"], count(6));
    assert_eq!(preview["push"]["participants"], fewer_than_five());
    // Recorded in the audit log with the alert, as exactly 6.
    assert_eq!(app.recorded_reach().await["participants"], 6);
    let log = app.get_json("/v1/reach-previews", &app.admin_token()).await;
    assert_eq!(log[0]["alert_id"], id.as_str());
    assert_eq!(log[0]["reach"]["participants"], count(6));
    // Nothing was expanded.
    let alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(alert["areas"].as_array().unwrap().len(), 1);

    // The expansion itself then alerts exactly those 6.
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/expansions"), &dispatcher, expansion.clone()).await;
    let counters =
        app.wait_for_counters(&dispatcher, &id, |c| c["recipients"] == 11 && c["batches_pending"] == 0).await;
    assert_eq!(counters["recipients"], 11);
    let after = app.expect_ok(Method::POST, &preview_path, &dispatcher, expansion.clone()).await;
    assert_eq!(after["participants"], fewer_than_five(), "everyone there is a recipient now");

    // The checks of an expansion.
    let outside = json!({"area": circle(AMSTERDAM, 1_000.0)});
    assert_problem(app.post_json_as(&preview_path, &dispatcher, &outside).await, 422, "area_outside_region")
        .await;
    let bad = json!({"area": {"type": "circle", "center": {"latitude": 51.9, "longitude": 4.4}, "radius_meters": 5.0}});
    assert_problem(app.post_json_as(&preview_path, &dispatcher, &bad).await, 422, "invalid_radius").await;
    assert_problem(
        app.post_json_as(&preview_path, &dispatcher, &json!({"shape": 1})).await,
        422,
        "invalid_body",
    )
    .await;
    let draft = app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let draft_path = format!("/v1/alerts/{}/expansion-preview", draft["id"].as_str().unwrap());
    assert_problem(app.post_json_as(&draft_path, &dispatcher, &expansion).await, 409, "alert_not_sent").await;
    for (token, code) in [
        (app.dispatcher_token("amsterdam"), "out_of_scope"),
        (app.admin_token(), "role_required"),
        (app.relations_officer_token("GM0599"), "role_required"),
    ] {
        assert_problem(app.post_json_as(&preview_path, &token, &expansion).await, 403, code).await;
    }
    let unknown = format!("/v1/alerts/{}/expansion-preview", uuid::Uuid::new_v4());
    assert_problem(app.post_json_as(&unknown, &dispatcher, &expansion).await, 404, "not_found").await;
    assert_problem(
        app.post_json_as("/v1/alerts/not-a-uuid/expansion-preview", &dispatcher, &expansion).await,
        400,
        "invalid_path_parameter",
    )
    .await;
    let closing = json!({"outcome": "hard_success", "texts": {"nl": {"message": "Gevonden. Bedankt!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    assert_problem(app.post_json_as(&preview_path, &dispatcher, &expansion).await, 409, "alert_closed").await;
}

#[tokio::test]
async fn the_dossier_verification_finds_an_intact_chain_and_names_the_entry_changed() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let path = format!("/v1/alerts/{id}/dossier/verification");
    let entries = app
        .database_count(&format!("SELECT count(*) AS count FROM alert_dossier WHERE alert_id = '{id}'"))
        .await;

    let verification = app.get_json(&path, &dispatcher).await;
    assert_eq!(verification, json!({"intact": true, "entries": entries, "first_broken": null}));
    assert_eq!(app.get_json(&path, &app.admin_token()).await["intact"], true);
    let after = app
        .database_count(&format!("SELECT count(*) AS count FROM alert_dossier WHERE alert_id = '{id}'"))
        .await;
    assert_eq!(after, entries, "checking the chain adds nothing to it");

    // A checkpoint anchored entry 2 (as the workers record it).
    app.database_exec_as_owner(
        "INSERT INTO dossier_checkpoints (number, digest, written_at) VALUES (1, '\\x00', '2026-12-06T10:00:00Z')",
    )
    .await;
    app.database_exec_as_owner(&format!(
        "INSERT INTO dossier_anchors (alert_id, seq, checkpoint) VALUES ('{id}', 2, 1)"
    ))
    .await;
    let verification = app.get_json(&path, &dispatcher).await;
    assert_eq!(
        verification["last_checkpoint"],
        json!({"number": 1, "written_at": "2026-12-06T10:00:00Z", "seq": 2})
    );

    // Someone with the power to switch the triggers off (not the application) edits entry 2.
    let mut owner = app.database.connect_as_owner().await;
    for statement in [
        "SET session_replication_role = replica".to_string(),
        format!(
            "UPDATE alert_dossier SET body = jsonb_set(body, '{{wave}}', '7') WHERE alert_id = '{id}' AND seq = 2"
        ),
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut owner).await.unwrap();
    }
    let verification = app.get_json(&path, &dispatcher).await;
    assert_eq!(verification["intact"], false);
    assert_eq!(verification["entries"], 1, "entry 1 still checks out");
    assert_eq!(verification["first_broken"]["seq"], 2);
    let problem = verification["first_broken"]["problem"].as_str().unwrap();
    assert!(problem.contains("changed after it was written"), "{problem}");

    for (token, code) in [
        (app.dispatcher_token("amsterdam"), "out_of_scope"),
        (app.relations_officer_token("GM0599"), "role_required"),
    ] {
        assert_problem(app.get_as(&path, &token).await, 403, code).await;
    }
    let unknown = format!("/v1/alerts/{}/dossier/verification", uuid::Uuid::new_v4());
    assert_problem(app.get_as(&unknown, &dispatcher).await, 404, "not_found").await;
    assert_problem(
        app.get_as("/v1/alerts/123/dossier/verification", &dispatcher).await,
        400,
        "invalid_path_parameter",
    )
    .await;
}

#[tokio::test]
async fn a_municipalitys_participation_counts_its_own_participants_and_hides_counts_under_five() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    // Rotterdam: 5 active with the app, SMS and an e-mail address set 8 days ago and never
    // verified (the verification queue); 2 active with SMS and a verified address; 6 waiting for
    // approval; 3 in quarantine. Schiedam: 4 active.
    let with_app = Seed { channels: "{push,sms,email}", ..Seed::active(1, 5, ROTTERDAM) }.insert(&app).await;
    for (n, id) in with_app.iter().enumerate() {
        app.database_exec(&format!(
            "UPDATE participants SET email = 'p{n}@example.org', email_set_at = now() - interval '8 days'
              WHERE id = '{id}'"
        ))
        .await;
        app.database_exec(&format!(
            "INSERT INTO devices (id, participant_id, platform, push_token, app_version, locale)
             VALUES (gen_random_uuid(), '{id}', 'android', 'seed-{n}:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYq', '2.4.1', 'nl-NL')"
        ))
        .await;
    }
    let with_email = Seed { channels: "{sms,email}", ..Seed::active(10, 2, ROTTERDAM) }.insert(&app).await;
    for (n, id) in with_email.iter().enumerate() {
        app.database_exec(&format!(
            "UPDATE participants SET email = 'v{n}@example.org', email_set_at = now() - interval '8 days',
                    email_verified_at = now() - interval '7 days'
              WHERE id = '{id}'"
        ))
        .await;
    }
    Seed { status: "pending", ..Seed::active(20, 6, ROTTERDAM) }.insert(&app).await;
    Seed { status: "quarantined", ..Seed::active(30, 3, ROTTERDAM) }.insert(&app).await;
    Seed { municipality: "GM0606", ..Seed::active(40, 4, (51.917, 4.399)) }.insert(&app).await;

    let officer = app.relations_officer_token("GM0599");
    let participation = app.get_json("/v1/municipalities/GM0599/participation", &officer).await;
    let share = participation["share_percent"].as_f64().unwrap();
    assert!((share - 7.0 * 100.0 / 612_502.0).abs() < 1e-9, "{share}");
    assert_eq!(
        participation,
        json!({
            "cbs_code": "GM0599",
            "name": "Rotterdam",
            "inhabitants": 612502,
            "active": count(7),
            "share_percent": share,
            "awaiting_approval": count(6),
            "awaiting_verification": count(5),
            "in_quarantine": fewer_than_five(),
            "reachable_by": {"app": count(5), "sms": count(7), "email": fewer_than_five()},
            "requires_approval": false,
        })
    );
    // The approval policy as the officer sets it.
    let policy = json!({"requires_approval": true});
    app.expect_ok(Method::PUT, "/v1/municipalities/GM0599/approval-policy", &officer, policy).await;
    let changed = app.get_json("/v1/municipalities/GM0599/participation", &officer).await;
    assert_eq!(changed["requires_approval"], true);
    app.expect_ok(
        Method::PUT,
        "/v1/municipalities/GM0599/approval-policy",
        &officer,
        json!({"requires_approval": false}),
    )
    .await;
    // The queue counts are those of the queues.
    for (queue, total) in [("approval", 6), ("verification", 5), ("quarantine", 3)] {
        let page = app.get_json(&format!("/v1/municipalities/GM0599/queues/{queue}"), &officer).await;
        assert_eq!(page["total"], total, "{queue}");
    }

    // Schiedam's 4: no number, and no share that would give it away.
    let admin = app.admin_token();
    let schiedam = app.get_json("/v1/municipalities/GM0606/participation", &admin).await;
    assert_eq!(schiedam["active"], fewer_than_five());
    assert_eq!(schiedam["share_percent"], Value::Null);

    // Its own officers, the dispatchers of its region and administrators; nobody else.
    let dispatcher = app.dispatcher_token("rotterdam");
    for token in [&dispatcher, &admin] {
        let seen = app.get_json("/v1/municipalities/GM0599/participation", token).await;
        assert_eq!(seen, participation);
    }
    for token in [app.relations_officer_token("GM0606"), app.dispatcher_token("amsterdam")] {
        let response = app.get_as("/v1/municipalities/GM0599/participation", &token).await;
        assert_problem(response, 403, "out_of_scope").await;
    }
    // Outside their scope, staff cannot learn whether a code exists.
    assert_problem(
        app.get_as("/v1/municipalities/GM9999/participation", &dispatcher).await,
        403,
        "out_of_scope",
    )
    .await;
    assert_problem(app.get_as("/v1/municipalities/GM9999/participation", &admin).await, 404, "not_found")
        .await;
    assert_problem(
        app.get_as("/v1/municipalities/0599/participation", &admin).await,
        400,
        "invalid_path_parameter",
    )
    .await;
    assert_problem(app.get("/v1/municipalities/GM0599/participation").await, 401, "unauthenticated").await;
}

#[tokio::test]
async fn the_region_overview_gives_administrators_each_regions_figures() {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    Seed::active(1, 6, ROTTERDAM).insert(&app).await;
    Seed { status: "pending", ..Seed::active(10, 3, ROTTERDAM) }.insert(&app).await;
    Seed { municipality: "GM0363", ..Seed::active(20, 2, AMSTERDAM) }.insert(&app).await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.create_alert(&dispatcher, alert_body(circle(KRALINGEN, 1_000.0))).await;

    let overview = app.get_json("/v1/regions/overview", &app.admin_token()).await;
    assert_eq!(
        overview,
        json!([
            {"code": "amsterdam", "name": "Eenheid Amsterdam", "municipalities": 1, "inhabitants": 931298,
             "active_participants": fewer_than_five(), "active_alerts": 0, "draft_alerts": 0},
            {"code": "rotterdam", "name": "Eenheid Rotterdam (demo)", "municipalities": 19, "inhabitants": 1259243,
             "active_participants": count(6), "active_alerts": 1, "draft_alerts": 2},
        ])
    );

    for token in [dispatcher, app.relations_officer_token("GM0599")] {
        assert_problem(app.get_as("/v1/regions/overview", &token).await, 403, "role_required").await;
    }
    assert_problem(app.get("/v1/regions/overview").await, 401, "unauthenticated").await;
    // No region can take the overview's place.
    let response = app
        .post_json_as("/v1/regions", &app.admin_token(), &json!({"code": "overview", "name": "Overzicht"}))
        .await;
    assert_problem(response, 422, "invalid_reference_data").await;
}
