//! What the recipient selection reads of a participant lives on their places and live position
//! (migration `national_delivery`), kept there by the database in the same transaction as every
//! change. Here each of those facts changes through the real API, and both the next reach preview
//! and the next fan-out follow at once: status decisions, categories, channels, devices, places
//! moved or removed, time windows, live location, and erasure.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{AMSTERDAM, Profile, ROTTERDAM, alert_body, android_device, circle, ios_device};
use crate::helpers::{SignedIn, TestApp, TestAppOptions};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

/// An area around Rotterdam centre.
fn rotterdam() -> Value {
    circle(ROTTERDAM, 1_500.0)
}

/// What the preview counts for an urgent push-and-SMS alert of `category` over `area` (in the
/// region `rotterdam`) now: exactly, as the audit log keeps it (the preview shows these counts, all
/// under 5, as "fewer than 5").
async fn preview(app: &TestApp, area: Value, category: &str) -> Value {
    preview_in(app, "rotterdam", area, category).await
}

async fn preview_in(app: &TestApp, region: &str, area: Value, category: &str) -> Value {
    let dispatcher = app.dispatcher_token(region);
    let body = json!({"category": category, "urgent": true, "channels": ["push", "sms"], "area": area});
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, body).await;
    app.recorded_reach().await
}

/// How many recipients a new alert over Rotterdam centre gets when it is sent: once its fan-out
/// has selected them all and every batch is delivered.
async fn recipients_of_a_new_alert(app: &TestApp) -> i64 {
    let dispatcher = app.dispatcher_token("rotterdam");
    let id = app.send_new_alert(&dispatcher, alert_body(rotterdam())).await;
    let selected = format!(
        "SELECT count(*) FROM alert_areas WHERE alert_id = '{id}' AND recipients_selected_at IS NOT NULL"
    );
    // A wave that finds the one before it still selecting comes back a second later.
    app.run_jobs_due_within(std::time::Duration::from_secs(2)).await;
    assert_ne!(app.database_count(&selected).await, 0, "the fan-out selected its recipients");
    let counters = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"].clone();
    assert_eq!(counters["batches_pending"], 0, "{counters}");
    counters["recipients"].as_i64().unwrap()
}

/// The preview over Rotterdam centre and a new alert's fan-out both reach `expected` people.
async fn both_reach(app: &TestApp, expected: i64, after: &str) {
    let reach = preview(app, rotterdam(), "search").await;
    assert_eq!(reach["participants"], expected, "the preview after {after}: {reach}");
    assert_eq!(recipients_of_a_new_alert(app).await, expected, "the fan-out after {after}");
}

async fn decide(app: &TestApp, participant: &SignedIn, decision: &str) {
    let officer = app.relations_officer_token("GM0599");
    let path = format!("/v1/municipalities/GM0599/participants/{}/decisions", participant.participant_id);
    app.expect_ok(Method::POST, &path, &officer, json!({"decision": decision, "reason": "test"})).await;
}

async fn change_profile(app: &TestApp, participant: &SignedIn, changes: Value) {
    app.expect_ok(Method::PATCH, "/v1/me", &participant.access_token, changes).await;
}

fn place_at((latitude, longitude): (f64, f64), time_windows: Value) -> Value {
    json!({"kind": "home", "name": "Thuis", "latitude": latitude, "longitude": longitude, "time_windows": time_windows})
}

#[tokio::test]
async fn the_preview_and_the_fan_out_follow_every_change_of_what_they_read() {
    let app = app().await;
    let anna = app
        .participant("+31630000001", Profile { devices: vec![android_device("anna")], ..Profile::default() })
        .await;
    let token = &anna.access_token;
    let reach = preview(&app, rotterdam(), "search").await;
    assert_eq!(
        (reach["participants"].as_i64(), reach["push"]["android_devices"].as_i64()),
        (Some(1), Some(1)),
        "{reach}"
    );
    both_reach(&app, 1, "signing up").await;

    // Status decisions of the municipality.
    decide(&app, &anna, "quarantine").await;
    both_reach(&app, 0, "quarantine").await;
    decide(&app, &anna, "reinstate").await;
    both_reach(&app, 1, "reinstatement").await;

    // Categories.
    change_profile(&app, &anna, json!({"categories": ["inform", "engage"]})).await;
    both_reach(&app, 0, "leaving out the category").await;
    assert_eq!(preview(&app, rotterdam(), "inform").await["participants"], 1);
    change_profile(&app, &anna, json!({"categories": ["inform", "engage", "alarm", "search"]})).await;

    // Channels: e-mail alone (and not verified) reaches nobody; SMS alone is SMS, not push.
    change_profile(&app, &anna, json!({"channels": ["email"]})).await;
    both_reach(&app, 0, "choosing e-mail alone").await;
    change_profile(&app, &anna, json!({"channels": ["sms"]})).await;
    let reach = preview(&app, rotterdam(), "search").await;
    assert_eq!(
        (reach["push"]["participants"].as_i64(), reach["sms"]["participants"].as_i64()),
        (Some(0), Some(1))
    );

    // Devices: push alone needs one.
    change_profile(&app, &anna, json!({"channels": ["push"]})).await;
    both_reach(&app, 1, "choosing push with a device").await;
    let devices: Value = app.get_as("/v1/me/devices", token).await.json().await.unwrap();
    let android = devices[0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.delete_as(&format!("/v1/me/devices/{android}"), token).await.status(), 204);
    both_reach(&app, 0, "removing the only device").await;
    app.expect_ok(Method::POST, "/v1/me/devices", token, ios_device(7)).await;
    let reach = preview(&app, rotterdam(), "search").await;
    assert_eq!(
        (reach["push"]["ios_devices"].as_i64(), reach["push"]["android_devices"].as_i64()),
        (Some(1), Some(0)),
        "{reach}"
    );
    both_reach(&app, 1, "adding a device").await;

    // Places: moved away, moved back with time windows that leave out today, removed.
    let places: Value = app.get_as("/v1/me/places", token).await.json().await.unwrap();
    let home = places[0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/me/places/{home}");
    app.expect_ok(Method::PUT, &path, token, place_at(AMSTERDAM, json!([]))).await;
    both_reach(&app, 0, "moving the place away").await;
    let amsterdam = preview_in(&app, "amsterdam", circle(AMSTERDAM, 1_500.0), "search").await;
    assert_eq!(amsterdam["participants"], 1, "{amsterdam}");
    let day_after_tomorrow = other_day(&app).await;
    let not_today = json!([{"days": [day_after_tomorrow], "from": "00:00", "until": "24:00"}]);
    app.expect_ok(Method::PUT, &path, token, place_at(ROTTERDAM, not_today)).await;
    both_reach(&app, 0, "time windows that leave out today").await;
    app.expect_ok(Method::PUT, &path, token, place_at(ROTTERDAM, json!([]))).await;
    both_reach(&app, 1, "time windows removed").await;
    assert_eq!(app.delete_as(&path, token).await.status(), 204);
    both_reach(&app, 0, "removing the place").await;

    // Live position: where they are now.
    change_profile(&app, &anna, json!({"alerts_where_i_am": true})).await;
    let here = json!({"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1, "accuracy_meters": 10.0});
    app.expect_ok(Method::PUT, "/v1/me/location", token, here).await;
    both_reach(&app, 1, "a live position in the area").await;
    change_profile(&app, &anna, json!({"categories": ["inform"]})).await;
    both_reach(&app, 0, "leaving out the category, with a live position").await;
    change_profile(&app, &anna, json!({"categories": ["search"]})).await;
    both_reach(&app, 1, "taking the category again, with a live position").await;

    // Erasure: gone from every selection.
    app.expect_ok(Method::POST, "/v1/me/places", token, place_at(ROTTERDAM, json!([]))).await;
    assert_eq!(app.delete_as("/v1/me", token).await.status(), 200);
    both_reach(&app, 0, "erasure").await;
}

/// The day after tomorrow in Amsterdam, as time windows name days.
async fn other_day(app: &TestApp) -> &'static str {
    let today = app
        .database_count("SELECT EXTRACT(ISODOW FROM now() AT TIME ZONE 'Europe/Amsterdam')::bigint AS count")
        .await;
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][((today + 1) % 7) as usize]
}
