//! A participant's own account: profile and choices, e-mail verification by link, places with
//! time windows and their municipality, the single live position, devices, export and erasure.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::app::PUBLIC_URL;
use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem};

const PHONE: &str = "+31612345678";
/// Rotterdam centre (in the demo boundaries of GM0599).
const ROTTERDAM: (f64, f64) = (51.9225, 4.4792);
/// Central Amsterdam (GM0363, region amsterdam).
const AMSTERDAM: (f64, f64) = (52.3731, 4.8926);

async fn app() -> (TestApp, SignedIn) {
    let app = TestApp::spawn().await;
    app.load_reference_data().await;
    let participant = app.sign_up(PHONE).await;
    (app, participant)
}

fn home_at((latitude, longitude): (f64, f64)) -> Value {
    json!({"kind": "home", "name": "Thuis", "latitude": latitude, "longitude": longitude})
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = app.database.connect().await;
    diesel::sql_query(sql).get_result::<Count>(&mut conn).await.unwrap().count
}

impl TestApp {
    async fn json_as(&self, method: Method, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self.send_json_as(method, path, token, &body).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn the_profile_holds_the_choices_and_changes_only_what_is_sent() {
    let (app, me) = app().await;
    let profile: Value = app.get_as("/v1/me", &me.access_token).await.json().await.unwrap();
    assert_eq!(profile["language"], "nl");
    assert_eq!(profile["channels"], json!(["push", "sms"]));
    assert_eq!(profile["categories"], json!(["inform", "engage", "alarm", "search"]));
    assert_eq!(profile["alerts_where_i_am"], false);
    assert_eq!(profile["display_name"], Value::Null);

    let (status, profile) = app
        .json_as(
            Method::PATCH,
            "/v1/me",
            &me.access_token,
            json!({"display_name": "  Anna ", "language": "en", "channels": ["sms", "push", "sms"], "categories": ["search"]}),
        )
        .await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["display_name"], "Anna");
    assert_eq!(profile["language"], "en");
    assert_eq!(profile["channels"], json!(["push", "sms"]));
    assert_eq!(profile["categories"], json!(["search"]));

    // Left out: unchanged. Null: cleared.
    let (_, profile) =
        app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"language": "nl"})).await;
    assert_eq!(profile["display_name"], "Anna");
    let (_, profile) =
        app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"display_name": null})).await;
    assert_eq!(profile["display_name"], Value::Null);

    for (body, code) in [
        (json!({"channels": []}), "no_channels"),
        (json!({"categories": []}), "no_categories"),
        (json!({"channels": ["pigeon"]}), "invalid_body"),
        (json!({"language": "de"}), "invalid_body"),
        (json!({"display_name": ""}), "invalid_display_name"),
        (json!({"email": "not-an-address"}), "invalid_email"),
        (json!({"phone_number": "+31600000000"}), "invalid_body"),
    ] {
        assert_problem(app.send_json_as(Method::PATCH, "/v1/me", &me.access_token, &body).await, 422, code)
            .await;
    }
}

#[tokio::test]
async fn a_new_email_address_is_verified_through_the_link_sent_to_it() {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    let me = app.sign_up(PHONE).await;
    let (status, profile) =
        app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"email": "Anna@Example.NL"})).await;
    assert_eq!(status, 200);
    assert_eq!(profile["email"], "Anna@example.nl");
    assert_eq!(profile["email_verified"], false);

    let mail = app.smtp.wait_for_messages(1).await.remove(0);
    assert_eq!(mail.to, vec!["Anna@example.nl".to_string()]);
    assert_eq!(mail.subject, "Bevestig je e-mailadres voor Burgernet");
    let link = mail
        .text_body
        .split_whitespace()
        .find(|word| word.starts_with(PUBLIC_URL))
        .expect("a verification link")
        .to_string();
    let path = link.strip_prefix(PUBLIC_URL).unwrap();

    let page = app.get(path).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("bevestigd"));
    let profile: Value = app.get_as("/v1/me", &me.access_token).await.json().await.unwrap();
    assert_eq!(profile["email_verified"], true);

    // A link works once; changing the address asks for a new verification.
    assert_eq!(app.get(path).await.status(), 404);
    let (_, profile) =
        app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"email": "anna@elders.nl"})).await;
    assert_eq!(profile["email_verified"], false);
    assert_eq!(app.smtp.wait_for_messages(2).await.len(), 2);
    assert_eq!(app.get("/v1/email-verifications/made-up-token").await.status(), 404);
}

/// The verification links queued for sending (each becomes one e-mail).
const VERIFICATION_EMAILS: &str = "SELECT count(*) AS count FROM background_jobs
     WHERE job_type = 'notify_participant' AND payload->>'notice' = 'verify_email'";

#[tokio::test]
async fn verification_emails_are_limited_per_account_and_a_refused_change_changes_nothing() {
    let (app, me) = app().await;
    // Switching back and forth: each new address is mailed a link, five times an hour.
    for address in ["anna@example.nl", "anna@elders.nl"].iter().cycle().take(5) {
        let (status, profile) =
            app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"email": address})).await;
        assert_eq!((status, &profile["email"]), (200, &json!(address)), "{profile}");
    }
    assert_eq!(count(&app, VERIFICATION_EMAILS).await, 5);

    // The sixth is refused with how long to wait, and nothing else the request asked is done.
    let refused = app
        .send_json_as(
            Method::PATCH,
            "/v1/me",
            &me.access_token,
            &json!({"email": "anna@elders.nl", "display_name": "Anna", "language": "en"}),
        )
        .await;
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "Retry-After: {wait}");
    let problem = assert_problem(refused, 429, "too_many_verification_emails").await;
    assert!(problem["detail"].as_str().unwrap().contains("not changed"), "{problem}");
    let profile: Value = app.get_as("/v1/me", &me.access_token).await.json().await.unwrap();
    assert_eq!(profile["email"], "anna@example.nl");
    assert_eq!((&profile["display_name"], &profile["language"]), (&Value::Null, &json!("nl")));
    assert_eq!(count(&app, VERIFICATION_EMAILS).await, 5);

    // What mails nothing stays possible: other choices, keeping the address, removing it.
    let (status, profile) = app
        .json_as(
            Method::PATCH,
            "/v1/me",
            &me.access_token,
            json!({"email": "anna@example.nl", "display_name": "Anna"}),
        )
        .await;
    assert_eq!((status, &profile["display_name"]), (200, &json!("Anna")), "{profile}");
    let (status, profile) =
        app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"email": null})).await;
    assert_eq!((status, &profile["email"]), (200, &Value::Null), "{profile}");
    assert_eq!(count(&app, VERIFICATION_EMAILS).await, 5);
}

#[tokio::test]
async fn one_address_is_mailed_at_most_five_links_an_hour_whoever_asks_for_them() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        let participant = app.sign_up(&format!("+3161234560{n}")).await;
        let (status, _) = app
            .json_as(Method::PATCH, "/v1/me", &participant.access_token, json!({"email": "Buur@Example.nl"}))
            .await;
        assert_eq!(status, 200);
    }
    // Another account, and the same mailbox written otherwise: refused.
    let sixth = app.sign_up("+31612345609").await;
    let refused = app
        .send_json_as(Method::PATCH, "/v1/me", &sixth.access_token, &json!({"email": "buur@example.NL"}))
        .await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_problem(refused, 429, "too_many_verification_emails").await;
    let profile: Value = app.get_as("/v1/me", &sixth.access_token).await.json().await.unwrap();
    assert_eq!(profile["email"], Value::Null);
    assert_eq!(count(&app, VERIFICATION_EMAILS).await, 5);
}

#[tokio::test]
async fn a_patch_that_changes_nothing_answers_the_unchanged_profile() {
    let (app, me) = app().await;
    let (_, before) =
        app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"email": "anna@example.nl"})).await;
    // Every field is optional: none at all, or only what is already so, is a change to nothing.
    for body in [json!({}), json!({"email": "anna@example.nl"})] {
        let (status, profile) = app.json_as(Method::PATCH, "/v1/me", &me.access_token, body.clone()).await;
        assert_eq!((status, &profile), (200, &before), "{body}");
    }
    assert_eq!(count(&app, VERIFICATION_EMAILS).await, 1, "an unchanged address is not mailed again");
}

#[tokio::test]
async fn a_place_lies_in_the_municipality_that_contains_it_and_keeps_its_time_windows() {
    let (app, me) = app().await;
    let body = json!({
        "kind": "work", "name": "Kantoor", "latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1,
        "address": {"postcode": "3011 ad", "house_number": " 12a "},
        "time_windows": [{"days": ["fri", "mon", "tue", "wed", "thu"], "from": "08:00", "until": "18:00"}],
    });
    let (status, place) = app.json_as(Method::POST, "/v1/me/places", &me.access_token, body).await;
    assert_eq!(status, 201, "{place}");
    assert_eq!(place["municipality"], "GM0599");
    assert_eq!(place["address"], json!({"postcode": "3011AD", "house_number": "12a"}));
    assert_eq!(place["position"], json!({"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1}));
    assert_eq!(
        place["time_windows"],
        json!([{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "until": "18:00"}])
    );
    let profile: Value = app.get_as("/v1/me", &me.access_token).await.json().await.unwrap();
    assert_eq!(profile["municipality"], "GM0599");

    // Replacing moves it (and the municipality with it); removing deletes it.
    let id = place["id"].as_str().unwrap();
    let (status, moved) =
        app.json_as(Method::PUT, &format!("/v1/me/places/{id}"), &me.access_token, home_at(AMSTERDAM)).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        (moved["municipality"].as_str(), moved["time_windows"].as_array().map(Vec::len)),
        (Some("GM0363"), Some(0))
    );
    let listed: Value = app.get_as("/v1/me/places", &me.access_token).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(app.delete_as(&format!("/v1/me/places/{id}"), &me.access_token).await.status(), 204);
    assert_eq!(app.delete_as(&format!("/v1/me/places/{id}"), &me.access_token).await.status(), 404);
    assert_eq!(count(&app, "SELECT count(*) FROM place_time_windows").await, 0);
}

#[tokio::test]
async fn places_are_refused_outside_the_service_area_with_bad_coordinates_or_windows() {
    let (app, me) = app().await;
    let with = |changes: Value| {
        let mut body = home_at(ROTTERDAM);
        for (key, value) in changes.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    for (body, code) in [
        (home_at((48.8566, 2.3522)), "outside_service_area"),
        (with(json!({"latitude": 91.0})), "invalid_coordinates"),
        (with(json!({"longitude": -180.5})), "invalid_coordinates"),
        (with(json!({"latitude": "51.9"})), "invalid_body"),
        (with(json!({"kind": "holiday"})), "invalid_body"),
        (with(json!({"name": "  "})), "invalid_place_name"),
        (with(json!({"address": {"postcode": "0123 AB", "house_number": "1"}})), "invalid_postal_address"),
        (with(json!({"address": {"postcode": "3011 AD", "house_number": "0"}})), "invalid_postal_address"),
        (
            with(json!({"time_windows": [{"days": ["mon"], "from": "18:00", "until": "08:00"}]})),
            "invalid_time_window",
        ),
        (
            with(json!({"time_windows": [{"days": ["funday"], "from": "08:00", "until": "18:00"}]})),
            "invalid_time_window",
        ),
        (
            with(json!({"time_windows": [{"days": [], "from": "08:00", "until": "18:00"}]})),
            "invalid_time_window",
        ),
        (
            with(json!({"time_windows": [{"days": ["mon"], "from": "8am", "until": "18:00"}]})),
            "invalid_time_window",
        ),
        (
            with(json!({"time_windows": [{"days": ["mon"], "from": "00:00", "until": "24:01"}]})),
            "invalid_time_window",
        ),
        (
            with(
                json!({"time_windows": vec![json!({"days": ["mon"], "from": "08:00", "until": "09:00"}); 15]}),
            ),
            "too_many_time_windows",
        ),
    ] {
        let response = app.send_json_as(Method::POST, "/v1/me/places", &me.access_token, &body).await;
        assert_problem(response, 422, code).await;
    }
    assert_eq!(count(&app, "SELECT count(*) FROM places").await, 0);
}

#[tokio::test]
async fn a_participant_has_at_most_five_places() {
    let (app, me) = app().await;
    for n in 0..5 {
        let mut body = home_at(ROTTERDAM);
        body["name"] = json!(format!("Plek {n}"));
        body["kind"] = json!("other");
        let response = app.send_json_as(Method::POST, "/v1/me/places", &me.access_token, &body).await;
        assert_eq!(response.status(), 201);
    }
    let response =
        app.send_json_as(Method::POST, "/v1/me/places", &me.access_token, &home_at(ROTTERDAM)).await;
    assert_problem(response, 409, "too_many_places").await;
    assert_eq!(count(&app, "SELECT count(*) FROM places").await, 5);
}

#[tokio::test]
async fn live_location_keeps_one_position_only_and_forgets_it_on_opt_out() {
    let (app, me) = app().await;
    let position = json!({"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1, "accuracy_meters": 25.0});
    let response = app.send_json_as(Method::PUT, "/v1/me/location", &me.access_token, &position).await;
    assert_problem(response, 409, "live_location_off").await;

    app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"alerts_where_i_am": true})).await;
    for step in 0..40 {
        let body = json!({"latitude": 51.90 + step as f64 * 0.001, "longitude": 4.45, "accuracy_meters": 10.0 + step as f64});
        let (status, stored) = app.json_as(Method::PUT, "/v1/me/location", &me.access_token, body).await;
        assert_eq!(status, 200, "{stored}");
    }
    // Never a history: one row for this participant, holding the latest position.
    assert_eq!(count(&app, "SELECT count(*) FROM live_locations").await, 1);
    let current: Value = app.get_as("/v1/me/location", &me.access_token).await.json().await.unwrap();
    let location = &current["location"];
    assert_eq!(location["position"]["latitude"], json!(51.90 + 39.0 * 0.001));
    assert_eq!(location["accuracy_meters"], json!(49.0));
    let recorded: chrono::DateTime<chrono::Utc> = location["recorded_at"].as_str().unwrap().parse().unwrap();
    let expires: chrono::DateTime<chrono::Utc> = location["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((expires - recorded).num_minutes(), 120, "kept for two hours by default");

    for (body, code) in [
        (json!({"latitude": 95.0, "longitude": 4.4, "accuracy_meters": 5.0}), "invalid_coordinates"),
        (json!({"latitude": 51.9, "longitude": 4.4, "accuracy_meters": -1.0}), "invalid_accuracy"),
        (json!({"latitude": 51.9, "longitude": 4.4}), "invalid_body"),
    ] {
        let response = app.send_json_as(Method::PUT, "/v1/me/location", &me.access_token, &body).await;
        assert_problem(response, 422, code).await;
    }

    // An expired position is not shown (and the workers delete it).
    let mut conn = app.database.connect().await;
    diesel::sql_query("UPDATE live_locations SET expires_at = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .unwrap();
    let current: Value = app.get_as("/v1/me/location", &me.access_token).await.json().await.unwrap();
    assert_eq!(current["location"], Value::Null);
    burgernet_core::db::participants::purge_expired(&mut conn).await.unwrap();
    assert_eq!(count(&app, "SELECT count(*) FROM live_locations").await, 0);

    // Opting out deletes the position at once.
    app.json_as(Method::PUT, "/v1/me/location", &me.access_token, position.clone()).await;
    assert_eq!(count(&app, "SELECT count(*) FROM live_locations").await, 1);
    app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"alerts_where_i_am": false})).await;
    assert_eq!(count(&app, "SELECT count(*) FROM live_locations").await, 0);
    // And so does the explicit delete.
    app.json_as(Method::PATCH, "/v1/me", &me.access_token, json!({"alerts_where_i_am": true})).await;
    app.json_as(Method::PUT, "/v1/me/location", &me.access_token, position).await;
    assert_eq!(app.delete_as("/v1/me/location", &me.access_token).await.status(), 204);
    assert_eq!(count(&app, "SELECT count(*) FROM live_locations").await, 0);
}

/// A position report checks the session in the statement that stores it (no query before it);
/// it must refuse every token whose session does not stand, and store nothing for it.
#[tokio::test]
async fn a_position_report_needs_a_session_that_stands_and_stores_nothing_without_one() {
    let (app, me) = app().await;
    let other_phone = app.sign_up(PHONE).await;
    let someone_else = app.sign_up("+31687654321").await;
    for token in [&me.access_token, &someone_else.access_token] {
        app.json_as(Method::PATCH, "/v1/me", token, json!({"alerts_where_i_am": true})).await;
    }
    let position = json!({"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1, "accuracy_meters": 25.0});
    assert_eq!(app.delete_as("/v1/session", &me.access_token).await.status(), 204);

    let response = app.send_json_as(Method::PUT, "/v1/me/location", &me.access_token, &position).await;
    assert_problem(response, 401, "session_revoked").await;
    // The ended session hears so before anything about its body.
    let nowhere = json!({"latitude": 95.0, "longitude": 4.4, "accuracy_meters": 5.0});
    let response = app.send_json_as(Method::PUT, "/v1/me/location", &me.access_token, &nowhere).await;
    assert_problem(response, 401, "session_revoked").await;
    // A token pairing the participant with someone else's session (only a forgery could).
    let mismatched = app
        .participant_tokens
        .issue_access_token(me.participant_id, someone_else.session_id(&app), chrono::Utc::now())
        .token;
    let response = app.send_json_as(Method::PUT, "/v1/me/location", mismatched.expose(), &position).await;
    assert_problem(response, 401, "session_revoked").await;
    assert_eq!(count(&app, "SELECT count(*) FROM live_locations").await, 0);

    // The participant's other session is untouched.
    let (status, stored) =
        app.json_as(Method::PUT, "/v1/me/location", &other_phone.access_token, position).await;
    assert_eq!(status, 200, "{stored}");
    let sql = format!("SELECT count(*) FROM live_locations WHERE participant_id = '{}'", me.participant_id);
    assert_eq!(count(&app, &sql).await, 1);
}

const APNS_TOKEN: &str = "3f2a9c0e5b7d4a1f8e6c2b0a9d7f5e3c1b9a7f5d3e1c0b8a6f4d2e0c8b6a4f2d";

fn ios_device() -> Value {
    json!({"platform": "ios", "push_token": APNS_TOKEN.to_uppercase(), "apns_environment": "production",
           "app_version": "2.4.1", "locale": "nl-NL"})
}

#[tokio::test]
async fn devices_are_registered_checked_per_platform_and_updated() {
    let (app, me) = app().await;
    let (status, device) = app.json_as(Method::POST, "/v1/me/devices", &me.access_token, ios_device()).await;
    assert_eq!(status, 201, "{device}");
    assert_eq!(device["push_token"], APNS_TOKEN, "APNs tokens are kept in lower case");
    let (status, again) = app.json_as(Method::POST, "/v1/me/devices", &me.access_token, ios_device()).await;
    assert_eq!((status, &again["id"]), (200, &device["id"]), "registering again refreshes the same device");

    let android = json!({"platform": "android", "push_token": format!("fcm:{}", "A1b2_C3-d4".repeat(16)),
                         "app_version": "2.4.1", "locale": "en-gb"});
    let (status, second) =
        app.json_as(Method::POST, "/v1/me/devices", &me.access_token, android.clone()).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["locale"], "en-GB");
    let listed: Value = app.get_as("/v1/me/devices", &me.access_token).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2);

    for (change, code) in [
        (json!({"push_token": "not-hex"}), "invalid_push_token"),
        (json!({"push_token": "abcd"}), "invalid_push_token"),
        (json!({"apns_environment": null}), "invalid_device"),
        (json!({"app_version": ""}), "invalid_app_version"),
        (json!({"locale": "dutch please"}), "invalid_locale"),
        (json!({"platform": "windows_phone"}), "invalid_body"),
    ] {
        let mut body = ios_device();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = app.send_json_as(Method::POST, "/v1/me/devices", &me.access_token, &body).await;
        assert_problem(response, 422, code).await;
    }
    let mut android_with_apns = android;
    android_with_apns["apns_environment"] = json!("sandbox");
    let response =
        app.send_json_as(Method::POST, "/v1/me/devices", &me.access_token, &android_with_apns).await;
    assert_problem(response, 422, "invalid_device").await;

    // A rotated token and a new app version.
    let id = device["id"].as_str().unwrap();
    let mut rotated = ios_device();
    rotated["push_token"] = json!("ab".repeat(32));
    rotated["app_version"] = json!("2.5.0");
    let (status, updated) =
        app.json_as(Method::PUT, &format!("/v1/me/devices/{id}"), &me.access_token, rotated).await;
    assert_eq!((status, updated["app_version"].as_str()), (200, Some("2.5.0")));
    assert_eq!(app.delete_as(&format!("/v1/me/devices/{id}"), &me.access_token).await.status(), 204);
    assert_eq!(app.delete_as(&format!("/v1/me/devices/{id}"), &me.access_token).await.status(), 404);
    assert_eq!(count(&app, "SELECT count(*) FROM devices").await, 1);
}

#[tokio::test]
async fn a_token_registered_by_another_participant_moves_to_the_new_owner() {
    let (app, first) = app().await;
    let second = app.sign_up("+31687654321").await;
    let (_, original) = app.json_as(Method::POST, "/v1/me/devices", &first.access_token, ios_device()).await;
    let (status, moved) =
        app.json_as(Method::POST, "/v1/me/devices", &second.access_token, ios_device()).await;
    assert_eq!(status, 201, "new to the second participant");
    assert_eq!(moved["id"], original["id"], "the same token row, now someone else's");

    let first_devices: Value = app.get_as("/v1/me/devices", &first.access_token).await.json().await.unwrap();
    let second_devices: Value =
        app.get_as("/v1/me/devices", &second.access_token).await.json().await.unwrap();
    assert_eq!(first_devices, json!([]));
    assert_eq!(second_devices.as_array().unwrap().len(), 1);
    assert_eq!(count(&app, "SELECT count(*) FROM devices").await, 1);
}

/// Sets up a participant with something in every table.
async fn participant_with_everything(app: &TestApp, me: &SignedIn) {
    let token = &me.access_token;
    app.json_as(
        Method::PATCH,
        "/v1/me",
        token,
        json!({"display_name": "Anna", "email": "anna@example.nl", "alerts_where_i_am": true}),
    )
    .await;
    let mut home = home_at(ROTTERDAM);
    home["address"] = json!({"postcode": "3011AD", "house_number": "12"});
    home["time_windows"] = json!([{"days": ["sat", "sun"], "from": "00:00", "until": "24:00"}]);
    assert_eq!(app.json_as(Method::POST, "/v1/me/places", token, home).await.0, 201);
    let location = json!({"latitude": 51.91, "longitude": 4.46, "accuracy_meters": 12.5});
    assert_eq!(app.json_as(Method::PUT, "/v1/me/location", token, location).await.0, 200);
    assert_eq!(app.json_as(Method::POST, "/v1/me/devices", token, ios_device()).await.0, 201);
}

#[tokio::test]
async fn the_export_holds_everything_kept_about_the_participant() {
    let (app, me) = app().await;
    participant_with_everything(&app, &me).await;
    let response = app.get_as("/v1/me/export", &me.access_token).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("attachment"));
    let export: Value = response.json().await.unwrap();
    assert_eq!(export["profile"]["phone_number"], PHONE);
    assert_eq!(export["profile"]["display_name"], "Anna");
    assert_eq!(export["profile"]["email"], "anna@example.nl");
    assert_eq!(export["profile"]["municipality"], "GM0599");
    assert_eq!(export["places"][0]["address"]["postcode"], "3011AD");
    assert_eq!(export["places"][0]["time_windows"][0]["days"], json!(["sat", "sun"]));
    assert_eq!(export["live_location"]["position"], json!({"latitude": 51.91, "longitude": 4.46}));
    assert_eq!(export["devices"][0]["push_token"], APNS_TOKEN);
    assert_eq!(export["active_sessions"], 1);
    assert_eq!(export["staff_actions"], json!([]));
    let text = export.to_string();
    assert!(
        !text.contains(&me.refresh_token) && !text.contains(&me.access_token),
        "no secrets in the export"
    );
}

#[tokio::test]
async fn erasure_removes_the_personal_data_for_real_and_confirms_by_sms_first() {
    let (app, me) = app().await;
    participant_with_everything(&app, &me).await;
    let other = app.sign_up("+31687654321").await;
    let sms_before = app.sms.sent().len();

    let response = app.delete_as("/v1/me", &me.access_token).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["confirmation_sent"], true);
    let confirmation = app.sms.sent().pop().unwrap();
    assert_eq!(app.sms.sent().len(), sms_before + 1);
    assert_eq!(confirmation.to, PHONE);
    assert!(confirmation.body.contains("verwijderd"), "{}", confirmation.body);

    // What identifies the participant is gone from every table.
    let id = me.participant_id;
    for table in ["places", "devices", "email_verifications", "participant_sessions"] {
        let sql = format!("SELECT count(*) FROM {table} WHERE participant_id = '{id}'");
        assert_eq!(count(&app, &sql).await, 0, "{table}");
    }
    assert_eq!(
        count(&app, &format!("SELECT count(*) FROM live_locations WHERE participant_id = '{id}'")).await,
        0
    );
    assert_eq!(count(&app, "SELECT count(*) FROM place_time_windows").await, 0);
    assert_eq!(
        count(&app, &format!("SELECT count(*) FROM refresh_tokens t JOIN participant_sessions s ON s.id = t.session_id WHERE s.participant_id = '{id}'")).await,
        0
    );
    // A row without identity stays, for records of alerts already sent.
    let sql = format!(
        "SELECT count(*) FROM participants WHERE id = '{id}' AND phone_number IS NULL AND email IS NULL
            AND display_name IS NULL AND status = 'removed' AND erased_at IS NOT NULL"
    );
    assert_eq!(count(&app, &sql).await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM participants WHERE phone_number = '+31612345678'").await, 0);

    // The tokens are dead, the other participant is untouched, and the number may sign up anew.
    assert_problem(app.get_as("/v1/me", &me.access_token).await, 401, "session_revoked").await;
    assert_eq!(app.get_as("/v1/me", &other.access_token).await.status(), 200);
    let again = app.sign_up(PHONE).await;
    assert_ne!(again.participant_id, me.participant_id);
}

#[tokio::test]
async fn erasure_happens_even_when_the_confirmation_cannot_be_sent() {
    let (app, me) = app().await;
    app.sms.faults().fail_next(5, burgernet_fakes::faults::Fault::ServerError);
    let response = app.delete_as("/v1/me", &me.access_token).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["confirmation_sent"], false);
    assert_eq!(count(&app, "SELECT count(*) FROM participants WHERE phone_number IS NOT NULL").await, 0);
}
