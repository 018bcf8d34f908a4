//! Alerts from the control room's side: drafts and their areas, the reach preview, sending and the
//! fan-out, expanding, updates, closing, the counters, the participant's view and receipts, and
//! the dossier.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

use burgernet_core::alerts::area::AreaLimits;

use crate::helpers::alerts::{
    AMSTERDAM, KRALINGEN, Profile, ROTTERDAM, alert_body, android_device, circle, ios_device, read_events,
};
use crate::helpers::jobs::describe;
use crate::helpers::population::POPULATION_CENTRE;
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

/// The SMS the gateway accepted that carry an alert's messages (their reference names the message
/// and the recipient; sign-in codes and account notices are left out).
fn alert_sms(app: &TestApp) -> Vec<(String, String)> {
    app.sms
        .sent()
        .into_iter()
        .filter(|sms| sms.reference.as_deref().is_some_and(|reference| reference.contains(':')))
        .map(|sms| (sms.to, sms.body))
        .collect()
}

/// A square polygon with its south-west corner at `(lat, lon)`.
fn square((latitude, longitude): (f64, f64), size: f64) -> Value {
    json!({"type": "Polygon", "coordinates": [[
        [longitude, latitude], [longitude + size, latitude], [longitude + size, latitude + size],
        [longitude, latitude + size], [longitude, latitude]
    ]]})
}

/// A square polygon of `side` metres with its south-west corner at `(lat, lon)`.
fn square_of_meters((latitude, longitude): (f64, f64), side: f64) -> Value {
    let north = latitude + side / 111_250.0;
    let east = longitude + side / (111_320.0 * latitude.to_radians().cos());
    json!({"type": "Polygon", "coordinates": [[
        [longitude, latitude], [east, latitude], [east, north], [longitude, north], [longitude, latitude]
    ]]})
}

/// The polygons of `polygons` as one MultiPolygon.
fn multi_polygon(polygons: &[Value]) -> Value {
    let coordinates: Vec<Value> = polygons.iter().map(|polygon| polygon["coordinates"].clone()).collect();
    json!({"type": "MultiPolygon", "coordinates": coordinates})
}

/// On the northern border of region `rotterdam` (Lansingerland's edge, latitude 52.05); the test
/// data has no other region within 25 km of it.
const NORTH_BORDER: (f64, f64) = (52.05, 4.50);

/// From 5 km south of the northern border to 15 km north of it, 10 km wide: half of it lies more
/// than 5 km across the border.
fn far_across_the_north_border() -> Value {
    let (border, west) = (NORTH_BORDER.0, 4.40);
    let (south, north, east) = (border - 5_000.0 / 111_250.0, border + 15_000.0 / 111_250.0, 4.55);
    json!({"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]]})
}

/// A block of about 200 by 200 m in Rotterdam centre plus a square of about 7 by 11 km over
/// Amsterdam: it touches the region `rotterdam`, but nearly all of it lies in region `amsterdam`.
fn rotterdam_block_and_amsterdam() -> Value {
    multi_polygon(&[square_of_meters(ROTTERDAM, 200.0), square((52.32, 4.80), 0.1)])
}

/// A reach preview's body: an urgent push-and-SMS search alert over `area`.
fn preview_of(area: Value) -> Value {
    json!({"category": "search", "urgent": true, "channels": ["push", "sms"], "area": area})
}

/// What the preview shows for a count under 5.
fn fewer_than_five() -> Value {
    json!({"fewer_than": 5})
}

#[tokio::test]
async fn an_alert_starts_as_a_draft_that_sends_nothing_and_is_recorded() {
    let app = app().await;
    app.participant("+31610000001", Profile { channels: vec!["sms"], ..Profile::default() }).await;
    let dispatcher = app.dispatcher_token("rotterdam");

    let response = app.post_json_as("/v1/alerts", &dispatcher, &alert_body(circle(ROTTERDAM, 2_000.0))).await;
    assert_eq!(response.status(), 201);
    let alert: Value = response.json().await.unwrap();
    assert_eq!(alert["status"], "draft");
    assert_eq!(alert["region"], "rotterdam");
    assert_eq!(alert["category"], "search");
    assert_eq!(alert["texts"]["en"]["title"], "Wanted: man on a white scooter");
    assert_eq!(alert["description"]["vehicle"]["licence_plate"], "DX-123-B");
    assert_eq!(alert["area"]["type"], "MultiPolygon");
    assert_eq!(alert["areas"][0]["shape"]["radius_meters"], 2000.0);
    assert_eq!(alert["created_by"]["subject"], "staff-1");
    assert_eq!(alert["counters"]["recipients"], 0);
    assert_eq!(alert["sent_at"], Value::Null);

    let id = alert["id"].as_str().unwrap();
    assert_eq!(app.dossier_kinds(&dispatcher, id).await, ["created", "exported"]);
    // Nothing is sent, and nothing is left in the queue that could send it later.
    app.run_pending_jobs().await;
    assert!(alert_sms(&app).is_empty(), "a draft sends nothing");
    let left = app.database.jobs().await;
    assert!(left.is_empty(), "a draft queues nothing: {}", describe(&left));
}

#[tokio::test]
async fn areas_are_checked_and_every_refusal_says_what_is_wrong() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let bow_tie = json!({"type": "Polygon", "coordinates": [[[4.45, 51.90], [4.50, 51.95], [4.50, 51.90], [4.45, 51.95], [4.45, 51.90]]]});
    let open_ring = json!({"type": "Polygon", "coordinates": [[[4.45, 51.90], [4.50, 51.90], [4.50, 51.95], [4.45, 51.95]]]});
    let mut many_vertices: Vec<Value> = (0..1_001)
        .map(|i| {
            let angle = i as f64 / 1_001.0 * std::f64::consts::TAU;
            json!([4.48 + 0.02 * angle.cos(), 51.92 + 0.02 * angle.sin()])
        })
        .collect();
    many_vertices.push(many_vertices[0].clone());
    let cases = [
        (circle(ROTTERDAM, 50.0), "invalid_radius", "100"),
        (circle(ROTTERDAM, 60_000.0), "invalid_radius", "50000"),
        (bow_tie, "invalid_area", "Self-intersection"),
        (open_ring, "invalid_area", "not closed"),
        (json!({"type": "Polygon", "coordinates": [many_vertices]}), "too_many_vertices", "1001"),
        (square((51.0, 3.5), 1.5), "area_too_large", "km²"),
        // Latitude and longitude swapped: somewhere in the Indian Ocean.
        (circle((4.4792, 51.9225), 1_000.0), "area_outside_service_area", "swapped"),
        (circle(AMSTERDAM, 1_000.0), "area_outside_region", "region"),
        // A 5-metre square around a house: smaller than the smallest circle.
        (square_of_meters(ROTTERDAM, 5.0), "area_too_small", "m²"),
        // Nor may one polygon of several be that small.
        (
            multi_polygon(&[square_of_meters(ROTTERDAM, 1_000.0), square_of_meters(KRALINGEN, 5.0)]),
            "area_too_small",
            "Polygon 2",
        ),
        (far_across_the_north_border(), "area_outside_region", "km²"),
        (rotterdam_block_and_amsterdam(), "area_outside_region", "%"),
    ];
    for (area, code, hint) in cases {
        let response = app.post_json_as("/v1/alerts", &dispatcher, &alert_body(area.clone())).await;
        let body = assert_problem(response, 422, code).await;
        assert!(body["detail"].as_str().unwrap().contains(hint), "{code}: {}", body["detail"]);
        // The same checks guard the preview.
        let preview = json!({"category": "search", "urgent": true, "channels": ["push"], "area": area});
        assert_problem(app.post_json_as("/v1/alerts/reach-preview", &dispatcher, &preview).await, 422, code)
            .await;
    }
    let alerts = app.get_json("/v1/alerts", &dispatcher).await;
    assert_eq!(alerts, json!([]), "nothing was saved");
}

#[tokio::test]
async fn other_fields_are_checked_too() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut no_channels = alert_body(circle(ROTTERDAM, 1_000.0));
    no_channels["channels"] = json!([]);
    let mut urgent_by_email = alert_body(circle(ROTTERDAM, 1_000.0));
    urgent_by_email["channels"] = json!(["email"]);
    let mut empty_title = alert_body(circle(ROTTERDAM, 1_000.0));
    empty_title["texts"]["nl"]["title"] = json!("  ");
    let mut no_dutch = alert_body(circle(ROTTERDAM, 1_000.0));
    no_dutch["texts"].as_object_mut().unwrap().remove("nl");
    let mut bad_number = alert_body(circle(ROTTERDAM, 1_000.0));
    bad_number["call_back_number"] = json!("bel ons");
    let mut bad_age = alert_body(circle(ROTTERDAM, 1_000.0));
    bad_age["description"]["person"]["age_min"] = json!(40);
    let mut unknown_category = alert_body(circle(ROTTERDAM, 1_000.0));
    unknown_category["category"] = json!("gossip");
    for (body, code) in [
        (no_channels, "invalid_channels"),
        (urgent_by_email, "invalid_channels"),
        (empty_title, "invalid_text"),
        (no_dutch, "invalid_body"),
        (bad_number, "invalid_call_back_number"),
        (bad_age, "invalid_description"),
        (unknown_category, "invalid_body"),
    ] {
        assert_problem(app.post_json_as("/v1/alerts", &dispatcher, &body).await, 422, code).await;
    }
}

#[tokio::test]
async fn the_preview_counts_each_participant_once_with_their_channels_and_devices() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    // Two phones, two places in the area: one recipient, two devices.
    app.participant(
        "+31610000001",
        Profile {
            places: vec![ROTTERDAM, KRALINGEN],
            devices: vec![android_device("a1"), ios_device(1)],
            ..Profile::default()
        },
    )
    .await;
    // No device: SMS straight away.
    app.participant("+31610000002", Profile::default()).await;
    // Only push, but no device: nothing reaches them.
    app.participant("+31610000003", Profile { channels: vec!["push"], ..Profile::default() }).await;
    // Does not want this category.
    app.participant("+31610000004", Profile { categories: Some(vec!["alarm"]), ..Profile::default() }).await;
    // Lives in Amsterdam, but is in Rotterdam now.
    app.participant(
        "+31610000005",
        Profile {
            places: vec![AMSTERDAM],
            live_location: Some(ROTTERDAM),
            devices: vec![android_device("a5")],
            ..Profile::default()
        },
    )
    .await;
    // Lives in Amsterdam and is there.
    app.participant("+31610000006", Profile { places: vec![AMSTERDAM], ..Profile::default() }).await;
    // Home in the area, but counted only on weekdays before dawn (never now, unless the test runs then).
    let night_owl = app.participant("+31610000007", Profile { places: vec![], ..Profile::default() }).await;
    let place = json!({"kind": "work", "name": "Nachtdienst", "latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1,
                       "time_windows": [{"days": ["mon"], "from": "03:00", "until": "03:01"}]});
    app.expect_ok(Method::POST, "/v1/me/places", &night_owl.access_token, place).await;

    // So few people show as "fewer than 5"; the exact counts are what the audit log keeps.
    let preview = json!({"category": "search", "urgent": true, "channels": ["push", "sms"], "area": circle(ROTTERDAM, 5_000.0)});
    let reach = app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview).await;
    let hidden = fewer_than_five();
    assert_eq!(
        reach,
        json!({"participants": hidden, "push": {"participants": hidden, "ios_devices": hidden, "android_devices": hidden},
               "sms": {"participants": hidden, "fallback_participants": hidden}, "email": {"participants": hidden},
               "voice": {"participants": hidden, "fallback_participants": hidden},
               "target_groups": hidden})
    );
    let reach = app.recorded_reach().await;
    // 1, 2 and 5. Number 3 chose only push and has no device: nothing would reach them.
    assert_eq!(reach["participants"], 3, "{reach}");
    assert_eq!(reach["push"], json!({"participants": 2, "ios_devices": 1, "android_devices": 2}), "{reach}");
    assert_eq!(reach["sms"], json!({"participants": 1, "fallback_participants": 2}), "{reach}");
    assert_eq!(reach["email"]["participants"], 0);

    // Push only: the participant without a device is not reached at all.
    let preview = json!({"category": "search", "urgent": true, "channels": ["push"], "area": circle(ROTTERDAM, 5_000.0)});
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview).await;
    let reach = app.recorded_reach().await;
    assert_eq!(reach["participants"], 2, "{reach}");
    assert_eq!(reach["sms"]["participants"], 0);
}

#[tokio::test]
async fn previews_show_counts_under_five_as_fewer_than_five_and_the_dossier_keeps_exact_counts() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    // Twelve with the app (six iPhones, six Android phones), push and SMS chosen, around one spot.
    app.seed_population(12, 100).await;
    let area = circle(POPULATION_CENTRE, 2_000.0);
    let shown = json!({
        "participants": {"count": 12},
        "push": {"participants": {"count": 12}, "ios_devices": {"count": 6}, "android_devices": {"count": 6}},
        "sms": {"participants": fewer_than_five(), "fallback_participants": {"count": 12}},
        "email": {"participants": fewer_than_five()},
        "voice": {"participants": fewer_than_five(), "fallback_participants": fewer_than_five()},
        "target_groups": fewer_than_five(),
    });
    let reach =
        app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview_of(area.clone())).await;
    assert_eq!(reach, shown, "every count is shown as it is from 5 on; under 5 (0 too) as fewer than 5");
    let id = app.create_alert(&dispatcher, alert_body(area)).await["id"].as_str().unwrap().to_string();
    let reach = app.get_json(&format!("/v1/alerts/{id}/reach"), &dispatcher).await;
    assert_eq!(reach, shown, "the reach of a saved alert is shown the same way");

    // Three people in a 200 m square: the preview does not tell how many, nor whether any.
    app.participant("+31610000071", Profile::default()).await;
    app.participant("+31610000072", Profile { devices: vec![android_device("b2")], ..Profile::default() })
        .await;
    app.participant("+31610000073", Profile { devices: vec![ios_device(73)], ..Profile::default() }).await;
    let block = square_of_meters((ROTTERDAM.0 - 0.0009, ROTTERDAM.1 - 0.0015), 200.0);
    let reach =
        app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview_of(block.clone())).await;
    let empty = square_of_meters(KRALINGEN, 200.0);
    let nobody =
        app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview_of(empty)).await;
    assert_eq!(reach, nobody, "three people and nobody look alike: {reach}");
    assert_eq!(reach["participants"], fewer_than_five());
    assert_eq!(reach["push"]["android_devices"], fewer_than_five());

    // Once the alert is sent, its counters and dossier count exactly whom it reached.
    let id = app.send_new_alert(&dispatcher, alert_body(block)).await;
    let reach = app.get_json(&format!("/v1/alerts/{id}/reach"), &dispatcher).await;
    assert_eq!(reach["participants"], fewer_than_five());
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 3, "{counters}");
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let selected =
        dossier["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "recipients_selected").unwrap();
    assert_eq!(selected["body"]["recipients"], 3, "{selected}");
}

#[tokio::test]
async fn polygons_are_no_smaller_than_the_smallest_circle() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    // The smallest circle (100 m) covers 31,416 m²; a polygon must cover as much.
    for area in [circle(ROTTERDAM, 100.0), square_of_meters(ROTTERDAM, 180.0)] {
        app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview_of(area)).await;
    }
    for area in [
        square_of_meters(ROTTERDAM, 170.0),
        multi_polygon(&[square_of_meters(ROTTERDAM, 500.0), square_of_meters(KRALINGEN, 170.0)]),
    ] {
        let response =
            app.post_json_as("/v1/alerts/reach-preview", &dispatcher, &preview_of(area.clone())).await;
        let problem = assert_problem(response, 422, "area_too_small").await;
        assert!(problem["detail"].as_str().unwrap().contains("31,416 m²"), "{problem}");
        let response = app.post_json_as("/v1/alerts", &dispatcher, &alert_body(area.clone())).await;
        assert_problem(response, 422, "area_too_small").await;
    }
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let tiny = json!({"area": square_of_meters(KRALINGEN, 5.0)});
    let response = app.post_json_as(&format!("/v1/alerts/{id}/expansions"), &dispatcher, &tiny).await;
    assert_problem(response, 422, "area_too_small").await;
}

#[tokio::test]
async fn an_area_must_lie_within_the_region_give_or_take_a_margin_across_its_border() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31610000081", Profile::default()).await;
    app.participant("+31610000082", Profile { places: vec![AMSTERDAM], ..Profile::default() }).await;

    // A block in Rotterdam and a city in another region: it touches the region, but that is not
    // enough. Refused for the preview and for a draft, saying how much lies outside.
    let straddling = rotterdam_block_and_amsterdam();
    let response =
        app.post_json_as("/v1/alerts/reach-preview", &dispatcher, &preview_of(straddling.clone())).await;
    let problem = assert_problem(response, 422, "area_outside_region").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("km²") && detail.contains("99") && detail.contains('%'), "{detail}");
    let response = app.post_json_as("/v1/alerts", &dispatcher, &alert_body(straddling.clone())).await;
    assert_problem(response, 422, "area_outside_region").await;

    // Across the border: up to 5 km is allowed, for incidents at a border; further is not.
    let near_across = circle(NORTH_BORDER, 4_000.0);
    let far_across = far_across_the_north_border();
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview_of(near_across.clone()))
        .await;
    app.create_alert(&dispatcher, alert_body(near_across.clone())).await;
    let response =
        app.post_json_as("/v1/alerts/reach-preview", &dispatcher, &preview_of(far_across.clone())).await;
    let problem = assert_problem(response, 422, "area_outside_region").await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("5 km") && detail.contains("km²") && detail.contains("50%"), "{detail}");
    let response = app.post_json_as("/v1/alerts", &dispatcher, &alert_body(far_across.clone())).await;
    assert_problem(response, 422, "area_outside_region").await;

    // Expansions are held to the same rule: nobody in Amsterdam is alerted.
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    for area in [straddling, far_across] {
        let expansion = json!({"area": area});
        let response =
            app.post_json_as(&format!("/v1/alerts/{id}/expansions"), &dispatcher, &expansion).await;
        assert_problem(response, 422, "area_outside_region").await;
    }
    let expansion = json!({"area": near_across});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/expansions"), &dispatcher, expansion).await;
    app.wait_for_counters(&dispatcher, &id, |c| c["batches_pending"] == 0).await;
    let alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(alert["areas"].as_array().unwrap().len(), 2, "only the expansion across the border was added");
    let sent = alert_sms(&app);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "+31610000081");
}

#[tokio::test]
async fn the_margin_across_the_border_is_a_setting() {
    let alert_areas = AreaLimits { region_margin_meters: 0.0, ..AreaLimits::default() };
    let app = TestApp::spawn_with(TestAppOptions { alert_areas, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let response = app
        .post_json_as("/v1/alerts/reach-preview", &dispatcher, &preview_of(circle(NORTH_BORDER, 4_000.0)))
        .await;
    let problem = assert_problem(response, 422, "area_outside_region").await;
    let detail = problem["detail"].as_str().unwrap();
    // Half the circle lies across the border.
    assert!(detail.contains("50%") && !detail.contains("km outside"), "{detail}");
    // Up to the border itself is inside: a square of Lansingerland whose north side is the border.
    let up_to_the_border = square((NORTH_BORDER.0 - 0.01, NORTH_BORDER.1), 0.01);
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview_of(up_to_the_border)).await;
}

#[tokio::test]
async fn every_preview_is_recorded_for_administrators_with_a_hash_of_its_area_not_the_area() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31610000091", Profile::default()).await;
    let area = circle(ROTTERDAM, 1_500.0);
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview_of(area.clone())).await;
    let elsewhere = preview_of(circle(KRALINGEN, 1_000.0));
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, elsewhere).await;
    // A refused area counts nobody, so there is nothing to record.
    let refused = preview_of(circle(AMSTERDAM, 1_000.0));
    assert_eq!(app.post_json_as("/v1/alerts/reach-preview", &dispatcher, &refused).await.status(), 422);
    let id = app.create_alert(&dispatcher, alert_body(area)).await["id"].as_str().unwrap().to_string();
    let admin = app.staff_token_for(burgernet_local::identity::StaffTokenRequest {
        subject: "admin-1".into(),
        name: Some("Beheerder".into()),
        role: burgernet_core::auth::staff::StaffRole::Admin,
        issuer: crate::helpers::app::ISSUER.into(),
        audience: crate::helpers::app::AUDIENCE.into(),
        lifetime: std::time::Duration::from_secs(600),
    });
    app.get_json(&format!("/v1/alerts/{id}/reach"), &admin).await;

    let log = app.get_json("/v1/reach-previews", &admin).await;
    let entries = log.as_array().unwrap();
    assert_eq!(entries.len(), 3, "newest first: {log}");
    assert_eq!(entries[0]["staff"], json!({"subject": "admin-1", "name": "Beheerder"}));
    assert_eq!(entries[0]["alert_id"], id.as_str());
    assert_eq!(entries[2]["staff"]["subject"], "staff-1");
    assert_eq!(entries[2]["alert_id"], Value::Null);
    for entry in entries {
        assert_eq!(entry["region"], "rotterdam");
        assert_eq!(entry["category"], "search");
        assert_eq!(entry["reach"]["participants"], fewer_than_five(), "shown as in the preview: {entry}");
        let hash = entry["area_sha256"].as_str().unwrap();
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{hash}");
        let at: chrono::DateTime<chrono::Utc> = entry["previewed_at"].as_str().unwrap().parse().unwrap();
        assert!((chrono::Utc::now() - at).num_seconds() < 60, "{at}");
    }
    // The hash names the area: the alert drawn as previewed has the previewed area's hash.
    assert_eq!(entries[0]["area_sha256"], entries[2]["area_sha256"]);
    assert_ne!(entries[1]["area_sha256"], entries[2]["area_sha256"]);
    assert_eq!(app.get_json("/v1/reach-previews?region=amsterdam", &admin).await, json!([]));
    assert_eq!(app.get_json("/v1/reach-previews?limit=1", &admin).await[0], entries[0]);

    // The log keeps the exact counts (1, 0 in Kralingen, 1) but no geometry, and nobody changes it
    // afterwards.
    for (offset, participants) in [(0, 1), (1, 0), (2, 1)] {
        let recorded =
            format!("SELECT participants AS count FROM reach_previews ORDER BY id OFFSET {offset} LIMIT 1");
        assert_eq!(app.database_count(&recorded).await, participants, "entry {offset}");
    }
    let geometry_columns = "SELECT count(*) AS count FROM information_schema.columns
                             WHERE table_name = 'reach_previews' AND udt_name IN ('geometry', 'geography')";
    assert_eq!(app.database_count(geometry_columns).await, 0);
    // The application's role may only read and append; the owner is stopped by the triggers.
    let mut as_app = app.database.connect().await;
    let mut as_owner = app.database.connect_as_owner().await;
    for statement in [
        "UPDATE reach_previews SET participants = 0",
        "DELETE FROM reach_previews",
        "TRUNCATE reach_previews",
    ] {
        let error = diesel::sql_query(statement).execute(&mut as_app).await.unwrap_err();
        assert!(error.to_string().contains("permission denied"), "{statement}: {error}");
        let error = diesel::sql_query(statement).execute(&mut as_owner).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
}

#[tokio::test]
async fn an_alert_status_the_program_does_not_know_is_an_error_of_the_read_not_a_crash() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let response = app.post_json_as("/v1/alerts", &dispatcher, &alert_body(circle(ROTTERDAM, 2_000.0))).await;
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    // Only the owner, without the table's CHECK constraints, can store a status the program does
    // not know: the rows are read as enums, and the read fails with an error.
    let mut as_owner = app.database.connect_as_owner().await;
    diesel::sql_query(
        "DO $$ DECLARE c text; BEGIN
           FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'alerts'::regclass AND contype = 'c' LOOP
             EXECUTE format('ALTER TABLE alerts DROP CONSTRAINT %I', c);
           END LOOP;
         END $$",
    )
    .execute(&mut as_owner)
    .await
    .unwrap();
    diesel::sql_query(format!("UPDATE alerts SET status = 'paused' WHERE id = '{id}'"))
        .execute(&mut as_owner)
        .await
        .unwrap();

    assert_problem(app.get_as(&format!("/v1/alerts/{id}"), &dispatcher).await, 500, "internal_error").await;
    assert_problem(app.get_as("/v1/alerts", &dispatcher).await, 500, "internal_error").await;
    // The service carries on: an alert it can read is still served.
    diesel::sql_query(format!("UPDATE alerts SET status = 'draft' WHERE id = '{id}'"))
        .execute(&mut as_owner)
        .await
        .unwrap();
    assert_eq!(app.get_as(&format!("/v1/alerts/{id}"), &dispatcher).await.status(), 200);
}

#[tokio::test]
async fn sending_reaches_everyone_in_the_area_once_and_the_counters_follow() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31610000011", Profile::default()).await;
    app.participant(
        "+31610000012",
        Profile { places: vec![ROTTERDAM, KRALINGEN], language: "en", ..Profile::default() },
    )
    .await;
    app.participant("+31610000013", Profile { places: vec![AMSTERDAM], ..Profile::default() }).await;

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 6_000.0))).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 2, "{counters}");
    assert_eq!(counters["sms"]["sent"], 2, "{counters}");
    assert_eq!(counters["push"]["sent"], 0);

    let mut sent = alert_sms(&app);
    sent.sort();
    assert_eq!(sent.len(), 2, "one SMS each, however many places match: {sent:?}");
    assert_eq!(sent[0].0, "+31610000011");
    assert!(
        sent[0].1.starts_with("Burgernet: Gezocht: man op witte scooter. Man, 25-35 jaar"),
        "{}",
        sent[0].1
    );
    assert!(sent[0].1.ends_with("Gezien? Bel 0900-8844."), "{}", sent[0].1);
    assert!(sent[1].1.starts_with("Burgernet: Wanted: man on a white scooter."), "in English: {}", sent[1].1);

    let alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(alert["status"], "active");
    assert!(alert["sent_at"].is_string());
    assert_eq!(alert["messages"][0]["kind"], "alert");
    let mut kinds: Vec<String> =
        app.dossier_kinds(&dispatcher, &id).await.into_iter().filter(|kind| kind != "viewed").collect();
    // Deliveries are recorded as they come back, in one entry or a few.
    kinds.dedup();
    assert_eq!(kinds, ["created", "sent", "recipients_selected", "deliveries", "exported"]);

    // Sending twice is refused.
    let response = app.post_json_as(&format!("/v1/alerts/{id}/send"), &dispatcher, &json!({})).await;
    assert_problem(response, 409, "alert_already_sent").await;
}

#[tokio::test]
async fn expanding_the_area_reaches_only_those_not_reached_yet() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31610000021", Profile::default()).await;
    app.participant("+31610000022", Profile { places: vec![KRALINGEN], ..Profile::default() }).await;

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(alert_sms(&app).len(), 1);

    let expansion = json!({"area": circle(KRALINGEN, 1_000.0)});
    let response = app.post_json_as(&format!("/v1/alerts/{id}/expansions"), &dispatcher, &expansion).await;
    assert_eq!(response.status(), 202);
    let counters =
        app.wait_for_counters(&dispatcher, &id, |c| c["recipients"] == 2 && c["batches_pending"] == 0).await;
    assert_eq!(counters["sms"]["sent"], 2);
    let sent = alert_sms(&app);
    assert_eq!(sent.len(), 2, "the first recipient is not alerted again: {sent:?}");
    assert_eq!(sent[1].0, "+31610000022");

    let alert = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(alert["areas"].as_array().unwrap().len(), 2);
    assert!(app.dossier_kinds(&dispatcher, &id).await.contains(&"expanded".to_string()));

    let outside = json!({"area": circle(AMSTERDAM, 1_000.0)});
    let response = app.post_json_as(&format!("/v1/alerts/{id}/expansions"), &dispatcher, &outside).await;
    assert_problem(response, 422, "area_outside_region").await;
}

#[tokio::test]
async fn updates_and_the_closing_message_reach_everyone_reached_and_a_closed_alert_takes_nothing_more() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31610000031", Profile::default()).await;
    app.participant("+31610000032", Profile { language: "en", ..Profile::default() }).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;

    let update = json!({"texts": {"nl": {"message": "Laatst gezien richting het noorden."}, "en": {"message": "Last seen heading north."}}});
    let response = app.post_json_as(&format!("/v1/alerts/{id}/updates"), &dispatcher, &update).await;
    assert_eq!(response.status(), 202);
    let closing = json!({"outcome": "hard_success", "texts": {"nl": {"message": "Aangehouden dankzij uw tips. Bedankt!"}}});
    let response = app.post_json_as(&format!("/v1/alerts/{id}/close"), &dispatcher, &closing).await;
    assert_eq!(response.status(), 200);
    let closed: Value = response.json().await.unwrap();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["outcome"], "hard_success");

    app.wait_for_counters(&dispatcher, &id, |c| c["sms"]["sent"] == 6 && c["batches_pending"] == 0).await;
    let sent = alert_sms(&app);
    let to = |phone: &str| -> Vec<String> {
        sent.iter().filter(|(to, _)| to == phone).map(|(_, b)| b.clone()).collect()
    };
    let dutch = to("+31610000031");
    assert_eq!(dutch.len(), 3, "{dutch:?}");
    assert!(
        dutch[1].starts_with(
            "Burgernet: Update: Gezocht: man op witte scooter. Laatst gezien richting het noorden."
        ),
        "{}",
        dutch[1]
    );
    assert!(
        dutch[2]
            .starts_with("Burgernet: Afgelopen: Gezocht: man op witte scooter. Aangehouden dankzij uw tips."),
        "{}",
        dutch[2]
    );
    let english = to("+31610000032");
    assert!(english[1].contains("Last seen heading north."), "{}", english[1]);
    // No English closing text: the Dutch one.
    assert!(english[2].contains("Aangehouden dankzij uw tips."), "{}", english[2]);

    for (path, body) in [
        (format!("/v1/alerts/{id}/updates"), update),
        (format!("/v1/alerts/{id}/close"), closing),
        (format!("/v1/alerts/{id}/expansions"), json!({"area": circle(KRALINGEN, 500.0)})),
        (format!("/v1/alerts/{id}/send"), json!({})),
    ] {
        assert_problem(app.post_json_as(&path, &dispatcher, &body).await, 409, "alert_closed").await;
    }
    let kinds = app.dossier_kinds(&dispatcher, &id).await;
    for kind in ["updated", "closed"] {
        assert!(kinds.contains(&kind.to_string()), "{kinds:?}");
    }
}

#[tokio::test]
async fn participants_see_their_alerts_and_report_receipts() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let reached = app.participant("+31610000041", Profile { language: "en", ..Profile::default() }).await;
    let elsewhere =
        app.participant("+31610000042", Profile { places: vec![AMSTERDAM], ..Profile::default() }).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    let update = json!({"texts": {"nl": {"message": "Nu richting centrum."}, "en": {"message": "Now heading to the centre."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;

    let mine = app.get_json("/v1/me/alerts", &reached.access_token).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let alert = &mine[0];
    assert_eq!(alert["id"], id);
    assert_eq!(alert["text"]["title"], "Wanted: man on a white scooter");
    assert_eq!(alert["call_back_number"], "0900-8844");
    assert_eq!(alert["updates"][0]["message"], "Now heading to the centre.");
    assert_eq!(alert["closing"], Value::Null);
    assert_eq!(alert["received_at"], Value::Null);
    assert_eq!(app.get_json("/v1/me/alerts", &elsewhere.access_token).await, json!([]));
    let response = app.get_as(&format!("/v1/me/alerts/{id}"), &elsewhere.access_token).await;
    assert_problem(response, 404, "not_found").await;

    let receipts = format!("/v1/me/alerts/{id}/receipts");
    for kind in ["received", "received", "opened"] {
        let response = app.post_json_as(&receipts, &reached.access_token, &json!({"kind": kind})).await;
        assert_eq!(response.status(), 204);
    }
    let response = app.post_json_as(&receipts, &elsewhere.access_token, &json!({"kind": "received"})).await;
    assert_problem(response, 404, "not_found").await;
    let response = app.post_json_as(&receipts, &reached.access_token, &json!({"kind": "read"})).await;
    assert_problem(response, 422, "invalid_body").await;

    let alert = app.get_json(&format!("/v1/me/alerts/{id}"), &reached.access_token).await;
    assert!(alert["received_at"].is_string() && alert["opened_at"].is_string(), "{alert}");
    let counters = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"].clone();
    assert_eq!((counters["acknowledged"].clone(), counters["opened"].clone()), (json!(1), json!(1)));
    assert_eq!(counters["sms"]["acknowledged"], 1);
    let kinds = app.dossier_kinds(&dispatcher, &id).await;
    assert_eq!(kinds.iter().filter(|k| *k == "acknowledged").count(), 1, "only the first receipt: {kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "opened").count(), 1);
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    count: i64,
}

#[tokio::test]
async fn the_dossier_is_append_only_and_its_chain_shows_tampering() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31610000051", Profile::default()).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;

    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let entries = dossier["entries"].as_array().unwrap();
    assert_eq!(entries.last().unwrap()["kind"], "exported");
    assert_eq!(entries.last().unwrap()["actor"], "staff:staff-1");
    for (index, entry) in entries.iter().enumerate() {
        assert_eq!(entry["seq"], index as i64 + 1);
        if index > 0 {
            assert_eq!(entry["prev_hash"], entries[index - 1]["hash"]);
        }
    }
    let delivery = entries.iter().find(|e| e["kind"] == "deliveries").unwrap();
    assert_eq!(delivery["body"]["results"][0]["channel"], "sms");
    assert!(!delivery.to_string().contains("+3161"), "the dossier names no phone number: {delivery}");

    let alert = burgernet_core::ids::AlertId(id.parse().unwrap());
    // The application's role may not change the dossier at all; even its owner is stopped by the
    // triggers.
    let mut as_app = app.database.connect().await;
    let mut conn = app.database.connect_as_owner().await;
    for statement in [
        format!("UPDATE alert_dossier SET body = '{{}}' WHERE alert_id = '{id}'"),
        format!("DELETE FROM alert_dossier WHERE alert_id = '{id}'"),
        "TRUNCATE alert_dossier".to_string(),
    ] {
        let error = diesel::sql_query(&statement).execute(&mut as_app).await.unwrap_err();
        assert!(error.to_string().contains("permission denied"), "{statement}: {error}");
        let error = diesel::sql_query(&statement).execute(&mut conn).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{statement}: {error}");
    }
    let verified = burgernet_core::alerts::dossier::verify(&mut conn, alert).await.unwrap();
    assert_eq!(verified.first_broken, None);
    assert_eq!(verified.entries, entries.len());
    let (intact, stdout, _) = app.verify_dossier(&id);
    assert!(intact, "{stdout}");
    assert!(stdout.contains(&format!("is intact: {} entries", entries.len())), "{stdout}");

    // Someone with the power to switch triggers off (not the application) edits entry 2.
    diesel::sql_query("SET session_replication_role = replica").execute(&mut conn).await.unwrap();
    diesel::sql_query(format!(
        "UPDATE alert_dossier SET body = jsonb_set(body, '{{wave}}', '7') WHERE alert_id = '{id}' AND seq = 2"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    let verified = burgernet_core::alerts::dossier::verify(&mut conn, alert).await.unwrap();
    let broken = verified.first_broken.expect("the edit is found");
    assert_eq!(broken.seq, 2);
    assert!(broken.problem.contains("changed after it was written"), "{}", broken.problem);
    let (intact, _, stderr) = app.verify_dossier(&id);
    assert!(!intact);
    assert!(stderr.contains("is broken at entry 2: its contents do not match its hash"), "{stderr}");

    // Deleting an entry breaks the numbering.
    diesel::sql_query(format!("DELETE FROM alert_dossier WHERE alert_id = '{id}' AND seq = 3"))
        .execute(&mut conn)
        .await
        .unwrap();
    let count: Count =
        diesel::sql_query(format!("SELECT count(*) AS count FROM alert_dossier WHERE alert_id = '{id}'"))
            .get_result(&mut conn)
            .await
            .unwrap();
    assert_eq!(count.count as usize, entries.len() - 1);
}

#[tokio::test]
async fn the_event_stream_follows_the_alert_live_and_ends_when_it_is_over() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31610000061", Profile::default()).await;
    let alert = app.create_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let id = alert["id"].as_str().unwrap().to_string();
    let events_path = format!("/v1/alerts/{id}/events");

    let response = app.get_as(&events_path, &dispatcher).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/send"), &dispatcher, json!({})).await;
    // The counters may show the SMS a poll before its dossier entry arrives (a poll reads the
    // entries, then the counters): read until both are there, or the stream gives up.
    let events = read_events(response, |events| {
        events.iter().any(|(event, data)| event == "counters" && data["sms"]["sent"] == 1)
            && events.iter().any(|(event, data)| event == "dossier" && data["kind"] == "deliveries")
    })
    .await;
    assert_eq!(events[0].0, "counters", "the current counters come first");
    let dossier: Vec<&str> = events
        .iter()
        .filter(|(event, _)| event == "dossier")
        .map(|(_, data)| data["kind"].as_str().unwrap())
        .collect();
    for kind in ["sent", "recipients_selected", "deliveries"] {
        assert!(dossier.contains(&kind), "{dossier:?}");
    }
    let deliveries =
        events.iter().find(|(event, data)| event == "dossier" && data["kind"] == "deliveries").unwrap();
    assert_eq!(deliveries.1["body"]["sent"], 1, "delivery entries arrive as totals: {}", deliveries.1);

    // Resuming after entry 1 replays from entry 2; the stream ends once the alert is over.
    let response = app
        .client
        .get(app.url(&events_path))
        .bearer_auth(&dispatcher)
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    let closing = json!({"outcome": "cancelled", "texts": {"nl": {"message": "Vals alarm."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let events = read_events(response, |events| events.iter().any(|(event, _)| event == "end")).await;
    let first = events.iter().find(|(event, _)| event == "dossier").unwrap();
    assert_eq!((first.1["seq"].clone(), first.1["kind"].clone()), (json!(2), json!("sent")));
    assert!(events.iter().any(|(event, data)| event == "dossier" && data["kind"] == "closed"));

    let response = app
        .client
        .get(app.url(&events_path))
        .bearer_auth(&dispatcher)
        .header("last-event-id", "soon")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "invalid_last_event_id").await;
}

#[tokio::test]
async fn participants_send_tips_anonymously_if_they_choose_and_a_closed_alert_takes_none() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let witness = app.participant("+31610000071", Profile::default()).await;
    let shy = app.participant("+31610000072", Profile::default()).await;
    let elsewhere =
        app.participant("+31610000073", Profile { places: vec![AMSTERDAM], ..Profile::default() }).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    let tips = format!("/v1/me/alerts/{id}/tips");

    let tip = json!({"text": " Witte scooter reed net de Coolsingel op. ", "seen_at": "2026-11-30T03:12:00Z",
                     "location": {"latitude": 51.9205, "longitude": 4.4800, "accuracy_meters": 20.0},
                     "may_call_back": true});
    let response = app.post_json_as(&tips, &witness.access_token, &tip).await;
    assert_eq!(response.status(), 201);
    let receipt: Value = response.json().await.unwrap();
    assert_eq!(receipt["anonymous"], false);
    let anonymous = json!({"text": "Hij gooide iets in de Maas.", "anonymous": true});
    let response = app.post_json_as(&tips, &shy.access_token, &anonymous).await;
    assert_eq!(response.status(), 201);
    let anonymous_id = response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();

    let listed = app.get_json(&format!("/v1/alerts/{id}/tips"), &dispatcher).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (newest, oldest) = (&listed[0], &listed[1]);
    assert_eq!(newest["anonymous"], true);
    assert_eq!(newest["participant_id"], Value::Null);
    assert_eq!(newest["call_back_phone_number"], Value::Null);
    assert_eq!(oldest["text"], "Witte scooter reed net de Coolsingel op.");
    assert_eq!(oldest["call_back_phone_number"], "+31610000071");
    assert_eq!(oldest["location"]["latitude"], 51.9205);
    assert_eq!(oldest["participant_id"], witness.participant_id.to_string());
    assert_eq!(app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"]["tips"], 2);

    // The anonymous tip names nobody: not in its row, not in the dossier.
    let stored = app
        .database_count(&format!(
            "SELECT count(*) AS count FROM tips WHERE id = '{anonymous_id}' AND participant_id IS NULL"
        ))
        .await;
    assert_eq!(stored, 1);
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let tip_entries: Vec<&Value> =
        dossier["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "tip").collect();
    assert_eq!(tip_entries.len(), 2);
    assert_eq!(tip_entries[1]["actor"], "anonymous");
    assert!(!tip_entries[1].to_string().contains(&shy.participant_id.to_string()), "{}", tip_entries[1]);
    assert_eq!(tip_entries[0]["body"]["participant_id"], witness.participant_id.to_string());

    for (body, code) in [
        (json!({"text": "  "}), "invalid_tip"),
        (json!({"text": "x", "anonymous": true, "may_call_back": true}), "invalid_tip"),
        (json!({"text": "x", "seen_at": "2099-01-01T00:00:00Z"}), "invalid_tip"),
        (
            json!({"text": "x", "location": {"latitude": 95.0, "longitude": 4.4, "accuracy_meters": 5.0}}),
            "invalid_coordinates",
        ),
        (json!({"text": "x", "photo": "later"}), "invalid_body"),
    ] {
        assert_problem(app.post_json_as(&tips, &witness.access_token, &body).await, 422, code).await;
    }
    let tip = json!({"text": "Ik zag hem ook."});
    assert_problem(app.post_json_as(&tips, &elsewhere.access_token, &tip).await, 404, "not_found").await;
    let unknown = format!("/v1/me/alerts/{}/tips", uuid::Uuid::new_v4());
    assert_problem(app.post_json_as(&unknown, &witness.access_token, &tip).await, 404, "not_found").await;

    let closing = json!({"outcome": "hard_success", "texts": {"nl": {"message": "Aangehouden."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let body =
        assert_problem(app.post_json_as(&tips, &witness.access_token, &tip).await, 409, "alert_closed").await;
    assert!(body["detail"].as_str().unwrap().contains("112"), "{body}");
}
