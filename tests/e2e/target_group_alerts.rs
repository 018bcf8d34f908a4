//! Alerts that name target groups (`target_groups` on `POST /v1/alerts` and on the reach
//! preview): the approved members of the groups are alerted wherever they are, once each, also
//! when the area reaches them too; pending members and the groups of other regions are not. An
//! alert may reach its groups only (`reach_area: false`): then nobody in its area is alerted, it
//! recruits nobody who walks in, and it cannot be expanded. A named group also carries an
//! exercise to members who never opted in to exercises.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{AMSTERDAM, Profile, ROTTERDAM, alert_body, android_device, circle};
use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

/// A participant with an Android phone (`label`) at home at `home`.
async fn phone_at(app: &TestApp, number: &str, label: &str, home: (f64, f64)) -> SignedIn {
    app.participant(
        number,
        Profile { places: vec![home], devices: vec![android_device(label)], ..Profile::default() },
    )
    .await
}

fn token_of(label: &str) -> String {
    android_device(label)["push_token"].as_str().unwrap().to_string()
}

/// A target group of `region` whose members joined with its invitation code and were approved
/// by its owner (the administrator who made it); `pending` asked to join but were not approved.
async fn group(
    app: &TestApp,
    region: &str,
    name: &str,
    members: &[&SignedIn],
    pending: &[&SignedIn],
) -> String {
    let admin = app.admin_token();
    let created = app
        .expect_ok(
            Method::POST,
            &format!("/v1/regions/{region}/target-groups"),
            &admin,
            json!({"name": name}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let code = created["invitation_code"].as_str().unwrap().to_string();
    for who in members.iter().chain(pending) {
        let join = json!({"invitation_code": code});
        app.expect_ok(Method::POST, "/v1/me/target-groups", &who.access_token, join).await;
    }
    for who in members {
        let path = format!("/v1/target-groups/{id}/members/{}", who.participant_id);
        app.expect_ok(Method::PUT, &path, &admin, json!({})).await;
    }
    id
}

/// The exact counts of the latest reach preview, from its audit record.
async fn last_preview(app: &TestApp) -> (i64, i64) {
    let all =
        app.database_count("SELECT participants AS count FROM reach_previews ORDER BY id DESC LIMIT 1").await;
    let in_groups = app
        .database_count(
            "SELECT target_group_participants AS count FROM reach_previews ORDER BY id DESC LIMIT 1",
        )
        .await;
    (all, in_groups)
}

async fn wait_for_push_count(app: &TestApp, token: &str, count: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let kinds = app.fcm_kinds_to(token);
        if kinds.len() >= count {
            return kinds;
        }
        assert!(tokio::time::Instant::now() < deadline, "{token} got {kinds:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn entry<'a>(dossier: &'a Value, kind: &str) -> &'a Value {
    dossier["entries"].as_array().unwrap().iter().find(|e| e["kind"] == kind).unwrap()
}

#[tokio::test]
async fn approved_members_are_alerted_wherever_they_are_once_each() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let resident = phone_at(&app, "+31650500001", "resident", ROTTERDAM).await;
    let officer_far = phone_at(&app, "+31650500002", "officer-far", AMSTERDAM).await;
    let officer_near = phone_at(&app, "+31650500003", "officer-near", ROTTERDAM).await;
    let applicant = phone_at(&app, "+31650500004", "applicant", AMSTERDAM).await;
    phone_at(&app, "+31650500005", "outsider", AMSTERDAM).await;
    let handhavers =
        group(&app, "rotterdam", "Handhavers Rotterdam", &[&officer_far, &officer_near], &[&applicant]).await;

    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["target_groups"] = json!([handhavers]);
    let mut preview = json!({"category": "search", "urgent": true, "channels": ["push", "sms"],
                             "area": circle(ROTTERDAM, 2_000.0), "target_groups": [handhavers]});
    let shown = app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview.clone()).await;
    assert_eq!(shown["target_groups"], json!({"fewer_than": 5}), "{shown}");
    assert_eq!(last_preview(&app).await, (3, 2), "the resident, and both members once");
    preview["target_groups"] = json!([]);
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview).await;
    assert_eq!(last_preview(&app).await, (2, 0));

    let id = app.send_new_alert(&dispatcher, body).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 3, "{counters}");
    for label in ["resident", "officer-far", "officer-near"] {
        assert_eq!(wait_for_push_count(&app, &token_of(label), 1).await, ["alert"], "{label}");
    }
    for label in ["applicant", "outsider"] {
        assert!(app.fcm_kinds_to(&token_of(label)).is_empty(), "{label} is no member");
    }
    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(detail["target_groups"], json!([{"id": handhavers, "name": "Handhavers Rotterdam"}]));
    assert_eq!(detail["reach_area"], true);
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    assert_eq!(entry(&dossier, "created")["body"]["target_groups"][0]["name"], "Handhavers Rotterdam");
    let selected = &entry(&dossier, "recipients_selected")["body"];
    assert_eq!(selected["recipients"], 3, "{selected}");
    assert!(selected["matched_by_target_group"].as_i64().unwrap() >= 1, "{selected}");

    // An update reaches the members too; nobody twice.
    let update = json!({"texts": {"nl": {"message": "Let op bij het station."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;
    for label in ["resident", "officer-far", "officer-near"] {
        assert_eq!(wait_for_push_count(&app, &token_of(label), 2).await, ["alert", "update"], "{label}");
    }
    let _ = resident;
}

#[tokio::test]
async fn an_alert_for_its_groups_only_alerts_nobody_in_its_area() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    phone_at(&app, "+31650600001", "resident", ROTTERDAM).await;
    let member = phone_at(&app, "+31650600002", "member", AMSTERDAM).await;
    let walker = app
        .participant(
            "+31650600003",
            Profile {
                places: Vec::new(),
                devices: vec![android_device("walker")],
                live_location: Some(AMSTERDAM),
                ..Profile::default()
            },
        )
        .await;
    let taxi = group(&app, "rotterdam", "Taxichauffeurs", &[&member], &[]).await;

    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["target_groups"] = json!([taxi]);
    body["reach_area"] = json!(false);
    let id = app.send_new_alert(&dispatcher, body).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 1, "{counters}");
    assert_eq!(wait_for_push_count(&app, &token_of("member"), 1).await, ["alert"]);
    assert!(app.fcm_kinds_to(&token_of("resident")).is_empty());
    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(detail["reach_area"], false);
    assert!(detail["recruiting_until"].is_null(), "it recruits nobody: {detail}");

    // Walking into the area brings nothing; the area cannot be expanded.
    let position = json!({"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1, "accuracy_meters": 10.0});
    app.expect_ok(Method::PUT, "/v1/me/location", &walker.access_token, position).await;
    assert_eq!(app.database_count("SELECT count(*) FROM area_entrants").await, 0);
    let expansion = json!({"area": circle(ROTTERDAM, 3_000.0)});
    let response =
        app.send_json_as(Method::POST, &format!("/v1/alerts/{id}/expansions"), &dispatcher, &expansion).await;
    assert_problem(response, 409, "alert_reaches_groups_only").await;
    let response = app
        .send_json_as(Method::POST, &format!("/v1/alerts/{id}/expansion-preview"), &dispatcher, &expansion)
        .await;
    assert_problem(response, 409, "alert_reaches_groups_only").await;
    assert!(app.fcm_kinds_to(&token_of("walker")).is_empty());
}

#[tokio::test]
async fn a_named_group_carries_an_exercise_to_members_who_never_opted_in() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    phone_at(&app, "+31650700001", "resident", ROTTERDAM).await;
    let member = phone_at(&app, "+31650700002", "member", AMSTERDAM).await;
    let security = group(&app, "rotterdam", "Beveiliging Zuidplein", &[&member], &[]).await;
    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["purpose"] = json!("exercise");
    body["target_groups"] = json!([security]);
    let id = app.send_new_alert(&dispatcher, body).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 1, "the member only: {counters}");
    wait_for_push_count(&app, &token_of("member"), 1).await;
    let push = app.fcm.received().into_iter().find(|push| push.token == token_of("member")).unwrap();
    assert!(push.title.unwrap().starts_with("Burgernet OEFENING: "));
    assert!(app.fcm_kinds_to(&token_of("resident")).is_empty(), "the resident did not opt in");
}

#[tokio::test]
async fn groups_of_another_region_or_none_at_all_are_refused() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let amsterdam_group = group(&app, "amsterdam", "Handhavers Amsterdam", &[], &[]).await;
    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["target_groups"] = json!([amsterdam_group]);
    let response = app.send_json_as(Method::POST, "/v1/alerts", &dispatcher, &body).await;
    assert_problem(response, 422, "unknown_target_group").await;
    let preview = json!({"category": "search", "urgent": true, "channels": ["push"],
                         "area": circle(ROTTERDAM, 2_000.0), "target_groups": [amsterdam_group]});
    let response = app.send_json_as(Method::POST, "/v1/alerts/reach-preview", &dispatcher, &preview).await;
    assert_problem(response, 422, "unknown_target_group").await;
    assert_eq!(app.database_count("SELECT count(*) FROM alerts").await, 0, "nothing was saved");

    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["reach_area"] = json!(false);
    let response = app.send_json_as(Method::POST, "/v1/alerts", &dispatcher, &body).await;
    assert_problem(response, 422, "invalid_target_groups").await;
    body["target_groups"] = json!(["not-a-uuid"]);
    let response = app.send_json_as(Method::POST, "/v1/alerts", &dispatcher, &body).await;
    assert_problem(response, 422, "invalid_body").await;
}
