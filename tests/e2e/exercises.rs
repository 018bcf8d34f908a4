//! Exercises and tests: an alert created with `purpose` `exercise` or `test` (CAP 1.2's status
//! values) reaches only participants who opted in to exercises (`PATCH /v1/me {"exercises":
//! true}`), in its area like any alert and also when they walk into it; every push, SMS and
//! e-mail says `OEFENING`; every dossier entry carries `"purpose"`; and the alert results report
//! leaves it out of every figure and shows it apart.

use std::time::Duration;

use burgernet_core::reports::{dutch_date, rollup};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{AMSTERDAM, Profile, ROTTERDAM, alert_body, android_device, circle};
use crate::helpers::{TestApp, TestAppOptions, assert_problem};

async fn app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

fn exercise_body() -> Value {
    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    body["purpose"] = json!("exercise");
    body
}

/// The exact count of the latest reach preview, from its audit record (the answer itself shows
/// counts under 5 as "fewer than 5").
async fn last_preview_count(app: &TestApp) -> i64 {
    app.database_count("SELECT participants AS count FROM reach_previews ORDER BY id DESC LIMIT 1").await
}

/// Waits until FCM accepted `count` pushes for `token`; returns their titles.
async fn push_titles_to(app: &TestApp, token: &str, count: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let titles: Vec<String> = app
            .fcm
            .received()
            .into_iter()
            .filter(|push| push.token == token)
            .map(|push| push.title.unwrap_or_default())
            .collect();
        if titles.len() >= count {
            return titles;
        }
        assert!(tokio::time::Instant::now() < deadline, "{token} got {titles:?}, not {count} pushes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_exercise_reaches_only_those_who_opted_in_and_says_so_in_every_message_and_entry() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let practiser_phone = android_device("practiser");
    let practiser_token = practiser_phone["push_token"].as_str().unwrap().to_string();
    let practiser = app
        .participant(
            "+31650100001",
            Profile { devices: vec![practiser_phone], exercises: true, ..Profile::default() },
        )
        .await;
    // Opted in, without the app on a phone: the exercise comes by SMS.
    app.participant("+31650100002", Profile { exercises: true, ..Profile::default() }).await;
    // At home in the area, but takes part in real alerts only.
    let bystander_phone = android_device("bystander");
    let bystander_token = bystander_phone["push_token"].as_str().unwrap().to_string();
    app.participant("+31650100003", Profile { devices: vec![bystander_phone], ..Profile::default() }).await;
    // Opted in, but lives in Amsterdam: an exercise has an area like any alert.
    app.participant(
        "+31650100004",
        Profile {
            places: vec![AMSTERDAM],
            devices: vec![android_device("far")],
            exercises: true,
            ..Profile::default()
        },
    )
    .await;
    let me = app.get_json("/v1/me", &practiser.access_token).await;
    assert_eq!(me["exercises"], true, "{me}");

    // The preview counts whom each would reach: three for real, the two who opted in for an exercise.
    let mut preview = json!({"category": "search", "urgent": true, "channels": ["push", "sms"],
                             "area": circle(ROTTERDAM, 2_000.0)});
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview.clone()).await;
    assert_eq!(last_preview_count(&app).await, 3);
    preview["purpose"] = json!("exercise");
    app.expect_ok(Method::POST, "/v1/alerts/reach-preview", &dispatcher, preview).await;
    assert_eq!(last_preview_count(&app).await, 2);

    let id = app.send_new_alert(&dispatcher, exercise_body()).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 2, "{counters}");
    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(detail["purpose"], "exercise");

    // Every message says it is an exercise, whatever the medium.
    let titles = push_titles_to(&app, &practiser_token, 1).await;
    assert_eq!(titles, ["Burgernet OEFENING: Gezocht: man op witte scooter"]);
    let push = app.fcm.received().into_iter().find(|push| push.token == practiser_token).unwrap();
    assert!(push.body.unwrap().starts_with("Dit is een oefening, geen echte melding.\n"));
    let alert_sms = app.sms.wait_for_sent(9).await.into_iter().filter(|sms| sms.body.contains("Gezocht"));
    let alert_sms: Vec<_> = alert_sms.map(|sms| (sms.to, sms.body)).collect();
    assert_eq!(alert_sms.len(), 1, "only the participant without the app gets an SMS: {alert_sms:?}");
    assert_eq!(alert_sms[0].0, "+31650100002");
    assert!(alert_sms[0].1.starts_with("Burgernet OEFENING: Gezocht"), "{}", alert_sms[0].1);
    assert!(app.fcm_kinds_to(&bystander_token).is_empty(), "no exercise without the opt-in");
    // The app shows it as an exercise.
    let received = app.get_json(&format!("/v1/me/alerts/{id}"), &practiser.access_token).await;
    assert_eq!(received["purpose"], "exercise", "{received}");

    let update = json!({"texts": {"nl": {"message": "Laatst gezien bij het station."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;
    let titles = push_titles_to(&app, &practiser_token, 2).await;
    assert_eq!(titles[1], "Burgernet OEFENING: Update: Gezocht: man op witte scooter");
    let closing =
        json!({"outcome": "hard_success", "texts": {"nl": {"message": "Einde van de oefening. Dank!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let titles = push_titles_to(&app, &practiser_token, 3).await;
    assert_eq!(titles[2], "Burgernet OEFENING: Afgelopen: Gezocht: man op witte scooter");

    // Every dossier entry says so, and the chain still verifies.
    let dossier = app.get_json(&format!("/v1/alerts/{id}/dossier"), &dispatcher).await;
    let entries = dossier["entries"].as_array().unwrap();
    assert!(entries.len() >= 5, "{entries:?}");
    for entry in entries {
        assert_eq!(entry["body"]["purpose"], "exercise", "{entry}");
    }
    let verification = app.get_json(&format!("/v1/alerts/{id}/dossier/verification"), &dispatcher).await;
    assert_eq!(verification["intact"], true, "{verification}");

    // The console lists exercises apart.
    let exercises = app.get_json("/v1/alerts?purpose=exercise", &dispatcher).await;
    assert_eq!(exercises.as_array().map(Vec::len), Some(1));
    assert_eq!(exercises[0]["purpose"], "exercise");
    let real = app.get_json("/v1/alerts?purpose=actual", &dispatcher).await;
    assert_eq!(real, json!([]));
}

#[tokio::test]
async fn an_exercise_recruits_only_entrants_who_opted_in() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant(
        "+31650200001",
        Profile { devices: vec![android_device("home")], exercises: true, ..Profile::default() },
    )
    .await;
    let walker = |label: &'static str, exercises: bool| Profile {
        places: Vec::new(),
        devices: vec![android_device(label)],
        live_location: Some(AMSTERDAM),
        exercises,
        ..Profile::default()
    };
    let keen = app.participant("+31650200002", walker("keen", true)).await;
    let casual = app.participant("+31650200003", walker("casual", false)).await;
    let id = app.send_new_alert(&dispatcher, exercise_body()).await;
    app.wait_until_delivered(&dispatcher, &id).await;

    for who in [&casual, &keen] {
        let position = json!({"latitude": ROTTERDAM.0, "longitude": ROTTERDAM.1, "accuracy_meters": 10.0});
        app.expect_ok(Method::PUT, "/v1/me/location", &who.access_token, position).await;
    }
    let counters = app.wait_for_counters(&dispatcher, &id, |c| c["entered_area"] == 1).await;
    assert_eq!(counters["recipients"], 2, "{counters}");
    let keen_token = android_device("keen")["push_token"].as_str().unwrap().to_string();
    assert_eq!(
        push_titles_to(&app, &keen_token, 1).await,
        ["Burgernet OEFENING: Gezocht: man op witte scooter"]
    );
    let casual_token = android_device("casual")["push_token"].as_str().unwrap().to_string();
    assert!(app.fcm_kinds_to(&casual_token).is_empty());
    assert_eq!(app.database_count("SELECT count(*) FROM area_entrants").await, 0);
}

#[tokio::test]
async fn exercises_and_tests_are_kept_out_of_the_alert_results_and_shown_apart() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    for number in 0..2 {
        let profile = Profile {
            devices: vec![android_device(&format!("p{number}"))],
            exercises: true,
            ..Profile::default()
        };
        app.participant(&format!("+3165030000{number}"), profile).await;
    }
    let real = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let exercise = app.send_new_alert(&dispatcher, exercise_body()).await;
    let mut test_body = exercise_body();
    test_body["purpose"] = json!("test");
    let test = app.send_new_alert(&dispatcher, test_body).await;
    for (id, outcome) in [(&real, "no_result"), (&exercise, "hard_success"), (&test, "cancelled")] {
        app.wait_until_delivered(&dispatcher, id).await;
        let closing = json!({"outcome": outcome, "texts": {"nl": {"message": "Afgelopen."}}});
        app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    }
    let mut conn = app.database.connect().await;
    while rollup::roll_up_alerts(&mut conn, chrono::Utc::now()).await.unwrap().busy {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let today = dutch_date(chrono::Utc::now());
    let report =
        app.get_json(&format!("/v1/reports/alert-results?from={today}&to={today}"), &dispatcher).await;
    let total = &report["total"];
    assert_eq!(total["alerts"], 1, "only the real alert counts: {total}");
    assert_eq!(total["outcomes"]["no_result"], 1);
    assert_eq!(total["outcomes"]["hard_success"], 0, "the exercise's success is not a result");
    assert_eq!(total["hard_success_percent"], 0.0);
    assert_eq!(report["by_category"], json!([{"category": "search", "urgent": true, "alerts": 1}]));
    assert_eq!(report["push_times"]["alerts"], 1);
    assert_eq!(report["months"][0]["alerts"], 1);
    let apart = &report["exercises"];
    assert_eq!(apart["alerts"], 2, "{apart}");
    assert_eq!(
        (apart["outcomes"]["hard_success"].as_i64(), apart["outcomes"]["cancelled"].as_i64()),
        (Some(1), Some(1))
    );

    let csv = app
        .get_as(&format!("/v1/reports/alert-results?from={today}&to={today}&format=csv"), &dispatcher)
        .await
        .text()
        .await
        .unwrap();
    assert!(csv.contains("oefeningen en tests (niet in het totaal),2,1,"), "{csv}");
}

#[tokio::test]
async fn a_purpose_outside_caps_values_is_refused() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let mut body = exercise_body();
    body["purpose"] = json!("drill");
    let response = app.send_json_as(Method::POST, "/v1/alerts", &dispatcher, &body).await;
    let problem = assert_problem(response, 422, "invalid_body").await;
    assert!(problem["detail"].as_str().unwrap().contains("expected one of `actual`, `exercise`, `test`"));
    let response = app.get_as("/v1/alerts?purpose=drill", &dispatcher).await;
    assert_problem(response, 400, "invalid_query").await;
    let participant = app.participant("+31650400001", Profile::default()).await;
    let response = app
        .send_json_as(Method::PATCH, "/v1/me", &participant.access_token, &json!({"exercises": "yes"}))
        .await;
    assert_problem(response, 422, "invalid_body").await;
}
