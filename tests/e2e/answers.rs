//! One-tap answers (`PUT /v1/me/alerts/{id}/answer`): a recipient answers `seen_now` (with a
//! position when the phone has one), `searching`, `not_in_area` or `cannot_help`, from the
//! alert's notification (the push carries them as actions) or in the app, and may change it. The
//! control room sees the counts per answer in the counters and on the event stream, every answer
//! in the dossier, and a `seen_now` at once as a tip of high priority at the top of the tips list.
//! An update can go to the recipients with some answers only.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{AMSTERDAM, Profile, ROTTERDAM, alert_body, android_device, circle, ios_device};
use crate::helpers::{SignedIn, TestApp, TestAppOptions, assert_problem};

const ALL_ANSWERS: &str = "seen_now,searching,not_in_area,cannot_help";

async fn app() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

/// Participants at home in Rotterdam centre, each with an Android phone (`label-n`).
async fn neighbours(app: &TestApp, count: u32, label: &str) -> Vec<(SignedIn, String)> {
    let mut signed_in = Vec::new();
    for n in 0..count {
        let device = android_device(&format!("{label}-{n}"));
        let token = device["push_token"].as_str().unwrap().to_string();
        let phone = format!("+3165{:07}", n + 1000 * label.len() as u32);
        let participant =
            app.participant(&phone, Profile { devices: vec![device], ..Profile::default() }).await;
        signed_in.push((participant, token));
    }
    signed_in
}

async fn answer(app: &TestApp, who: &SignedIn, alert: &str, body: Value) -> reqwest::Response {
    app.send_json_as(Method::PUT, &format!("/v1/me/alerts/{alert}/answer"), &who.access_token, &body).await
}

async fn answer_ok(app: &TestApp, who: &SignedIn, alert: &str, body: Value) -> Value {
    let response = answer(app, who, alert, body).await;
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// The dossier's entries of `kind`.
async fn entries(app: &TestApp, dispatcher: &str, alert: &str, kind: &str) -> Vec<Value> {
    let dossier = app.get_json(&format!("/v1/alerts/{alert}/dossier"), dispatcher).await;
    dossier["entries"].as_array().unwrap().iter().filter(|entry| entry["kind"] == kind).cloned().collect()
}

#[tokio::test]
async fn answers_are_counted_live_and_seen_now_is_a_tip_of_high_priority() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let people = neighbours(&app, 6, "answers").await;
    let iphone = ios_device(42);
    app.participant("+31659999999", Profile { devices: vec![iphone.clone()], ..Profile::default() }).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;

    // The push offers the answers as actions: an APNs category, FCM's click action and the list.
    let fcm = app.fcm.received();
    assert_eq!(fcm.len(), 6);
    for push in &fcm {
        assert_eq!(push.click_action.as_deref(), Some("BURGERNET_ALERT_ANSWERS"), "{push:?}");
        assert_eq!(push.data.get("answers").map(String::as_str), Some(ALL_ANSWERS), "{push:?}");
    }
    let apns = app.apns.fake.received();
    assert_eq!(apns[0].payload["aps"]["category"], "BURGERNET_ALERT_ANSWERS", "{}", apns[0].payload);
    assert_eq!(apns[0].payload["answers"], ALL_ANSWERS);

    let stream = app.client.get(app.url(&format!("/v1/alerts/{id}/events"))).bearer_auth(&dispatcher);
    let stream = stream.send().await.unwrap();

    // A regular tip first, so the answers' tips can be seen to lead the list.
    let tip = json!({"text": "Er liep iemand hard weg bij het station."});
    let response =
        app.post_json_as(&format!("/v1/me/alerts/{id}/tips"), &people[3].0.access_token, &tip).await;
    assert_eq!(response.status(), 201);

    let here = json!({"latitude": 51.9231, "longitude": 4.4770, "accuracy_meters": 8.0});
    let first = answer_ok(&app, &people[0].0, &id, json!({"answer": "searching"})).await;
    assert_eq!((first["answer"].as_str(), first["tip_id"].is_null()), (Some("searching"), true), "{first}");
    answer_ok(&app, &people[1].0, &id, json!({"answer": "searching"})).await;
    answer_ok(&app, &people[2].0, &id, json!({"answer": "not_in_area"})).await;
    answer_ok(&app, &people[3].0, &id, json!({"answer": "cannot_help"})).await;
    let seen = answer_ok(&app, &people[4].0, &id, json!({"answer": "seen_now", "position": here})).await;
    assert!(seen["tip_id"].is_string(), "a seen_now answer is a tip: {seen}");
    answer_ok(&app, &people[5].0, &id, json!({"answer": "seen_now"})).await;

    let counters = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"].clone();
    assert_eq!(
        counters["answers"],
        json!({"seen_now": 2, "searching": 2, "not_in_area": 1, "cannot_help": 1}),
        "{counters}"
    );
    assert_eq!(counters["tips"], 3, "one tip and two sightings: {counters}");

    // A change counts once, under the new answer; the same answer again changes nothing.
    answer_ok(&app, &people[0].0, &id, json!({"answer": "seen_now"})).await;
    let again = answer_ok(&app, &people[2].0, &id, json!({"answer": "not_in_area"})).await;
    let counters = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"].clone();
    assert_eq!(
        counters["answers"],
        json!({"seen_now": 3, "searching": 1, "not_in_area": 1, "cannot_help": 1}),
        "{counters}"
    );
    let mine = app.get_json(&format!("/v1/me/alerts/{id}"), &people[2].0.access_token).await;
    assert_eq!(mine["answer"], "not_in_area");
    assert_eq!(mine["answers"], json!(["seen_now", "searching", "not_in_area", "cannot_help"]));
    let answered = entries(&app, &dispatcher, &id, "answered").await;
    assert_eq!(answered.len(), 7, "six answers and one change; the repeat is no event: {answered:?}");
    let changes: Vec<&Value> = answered
        .iter()
        .filter(|e| e["body"]["participant_id"] == people[0].0.participant_id.to_string())
        .collect();
    let first_and_then: Vec<(&str, Option<&str>)> = changes
        .iter()
        .map(|e| (e["body"]["answer"].as_str().unwrap(), e["body"]["previous"].as_str()))
        .collect();
    assert_eq!(first_and_then, [("searching", None), ("seen_now", Some("searching"))]);
    assert!(again["answered_at"].is_string());

    // The sightings lead the tips list, as high priority, with the position when given.
    let tips = app.get_json(&format!("/v1/alerts/{id}/tips"), &dispatcher).await;
    let tips = tips.as_array().unwrap();
    assert_eq!(tips.len(), 4);
    let priorities: Vec<&str> = tips.iter().map(|tip| tip["priority"].as_str().unwrap()).collect();
    assert_eq!(priorities, ["high", "high", "high", "normal"]);
    assert_eq!(tips[3]["text"], "Er liep iemand hard weg bij het station.");
    let with_position: Vec<&Value> = tips.iter().filter(|tip| !tip["location"].is_null()).collect();
    assert_eq!(with_position.len(), 1);
    assert_eq!(with_position[0]["location"]["latitude"], 51.9231);
    assert_eq!(with_position[0]["participant_id"], people[4].0.participant_id.to_string());
    assert_eq!(with_position[0]["answer"], "seen_now");

    // The event stream carries the sightings and the counts as they come.
    let events = crate::helpers::alerts::read_events(stream, |events| {
        events.iter().any(|(event, data)| event == "counters" && data["answers"]["seen_now"] == 3)
    })
    .await;
    let sightings = events
        .iter()
        .filter(|(event, data)| {
            event == "dossier" && data["kind"] == "answered" && data["body"]["answer"] == "seen_now"
        })
        .count();
    assert_eq!(sightings, 3, "{events:?}");
    let placed: Vec<&Value> = events
        .iter()
        .filter(|(event, data)| {
            event == "dossier" && data["kind"] == "answered" && !data["body"]["position"].is_null()
        })
        .map(|(_, data)| &data["body"])
        .collect();
    assert_eq!(placed.len(), 1, "{placed:?}");
    assert_eq!(placed[0]["position"], "51.923100, 4.477000 (±8 m)");
    assert_eq!(placed[0]["participant_id"], people[4].0.participant_id.to_string());

    // A position goes with seen_now only; what is not an answer is refused whole.
    let response = answer(&app, &people[1].0, &id, json!({"answer": "searching", "position": here})).await;
    assert_problem(response, 422, "invalid_answer").await;
    let response = answer(&app, &people[1].0, &id, json!({"answer": "maybe"})).await;
    assert_problem(response, 422, "invalid_body").await;
    let far = json!({"answer": "seen_now", "position": {"latitude": 95.0, "longitude": 4.4, "accuracy_meters": 5.0}});
    assert_problem(answer(&app, &people[1].0, &id, far).await, 422, "invalid_coordinates").await;
    let counters = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"].clone();
    assert_eq!(counters["answers"]["searching"], 1, "refused answers change nothing: {counters}");

    // A closed alert takes no more answers.
    let closing = json!({"outcome": "hard_success", "texts": {"nl": {"message": "Aangehouden. Dank!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    assert_problem(
        answer(&app, &people[1].0, &id, json!({"answer": "cannot_help"})).await,
        409,
        "alert_closed",
    )
    .await;
}

#[tokio::test]
async fn only_a_recipient_answers_and_an_alert_that_informs_asks_nothing() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let people = neighbours(&app, 1, "who").await;
    let stranger =
        app.participant("+31658888888", Profile { places: vec![AMSTERDAM], ..Profile::default() }).await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    let path = format!("/v1/me/alerts/{id}/answer");
    let body = json!({"answer": "searching"});

    assert_eq!(app.client.put(app.url(&path)).json(&body).send().await.unwrap().status(), 401, "no token");
    for staff in [dispatcher.clone(), app.admin_token(), app.relations_officer_token("GM0599")] {
        let response = app.send_json_as(Method::PUT, &path, &staff, &body).await;
        assert_eq!(response.status(), 403, "a staff token is no participant's");
    }
    assert_problem(answer(&app, &stranger, &id, body.clone()).await, 404, "not_found").await;
    let unknown = uuid::Uuid::new_v4();
    assert_problem(answer(&app, &people[0].0, &unknown.to_string(), body.clone()).await, 404, "not_found")
        .await;
    let counters = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await["counters"].clone();
    assert_eq!(
        counters["answers"],
        json!({"seen_now": 0, "searching": 0, "not_in_area": 0, "cannot_help": 0})
    );

    // An `inform` alert carries no actions and takes no answer.
    let mut inform = alert_body(circle(ROTTERDAM, 2_000.0));
    inform["category"] = json!("inform");
    let informing = app.send_new_alert(&dispatcher, inform).await;
    app.wait_until_delivered(&dispatcher, &informing).await;
    let pushes = app.fcm.received();
    let informed = pushes.iter().find(|push| push.data.get("alert_id") == Some(&informing)).unwrap();
    assert_eq!(
        (informed.click_action.as_deref(), informed.data.get("answers")),
        (None, None),
        "{informed:?}"
    );
    let mine = app.get_json(&format!("/v1/me/alerts/{informing}"), &people[0].0.access_token).await;
    assert_eq!(mine["answers"], json!([]));
    assert_problem(answer(&app, &people[0].0, &informing, body).await, 422, "answer_not_offered").await;
}

#[tokio::test]
async fn an_update_to_those_searching_reaches_only_them() {
    let app = app().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    let people = neighbours(&app, 3, "update").await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    answer_ok(&app, &people[0].0, &id, json!({"answer": "searching"})).await;
    answer_ok(&app, &people[1].0, &id, json!({"answer": "not_in_area"})).await;

    let updates = format!("/v1/alerts/{id}/updates");
    let empty = json!({"texts": {"nl": {"message": "Zoek bij het park."}}, "to_answers": []});
    assert_problem(
        app.send_json_as(Method::POST, &updates, &dispatcher, &empty).await,
        422,
        "invalid_answers",
    )
    .await;
    let searchers =
        json!({"texts": {"nl": {"message": "Zoekers: kijk bij het Park."}}, "to_answers": ["searching"]});
    app.expect_ok(Method::POST, &updates, &dispatcher, searchers).await;
    let counters = app
        .wait_for_counters(&dispatcher, &id, |c| c["batches_pending"] == 0 && c["push"]["sent"] == 4)
        .await;
    assert_eq!(counters["push"]["sent"], 4, "three alerts and one update: {counters}");

    assert_eq!(app.fcm_kinds_to(&people[0].1), ["alert", "update"]);
    assert_eq!(app.fcm_kinds_to(&people[1].1), ["alert"]);
    assert_eq!(app.fcm_kinds_to(&people[2].1), ["alert"]);

    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    let update =
        detail["messages"].as_array().unwrap().iter().find(|m| m["kind"] == "update").unwrap().clone();
    assert_eq!(update["to_answers"], json!(["searching"]));
    let updated = entries(&app, &dispatcher, &id, "updated").await;
    assert_eq!(updated[0]["body"]["to_answers"], json!(["searching"]));
    // In the app, too, the update is the searchers' alone.
    let mine = format!("/v1/me/alerts/{id}");
    let searcher = app.get_json(&mine, &people[0].0.access_token).await;
    let elsewhere = app.get_json(&mine, &people[1].0.access_token).await;
    assert_eq!(searcher["updates"].as_array().map(Vec::len), Some(1), "{searcher}");
    assert_eq!(elsewhere["updates"], json!([]), "{elsewhere}");
}
