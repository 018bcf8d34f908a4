//! Live areas: while an alert is active, those who come into its area become its recipients too,
//! in a wave of their own (`alerts::delivery::recruitment`), and get the alert and every update
//! sent so far: a participant whose live position enters the area (within seconds of the
//! update), and one whose place in the area has a time window that opens (checked by the workers
//! every `BURGERNET_RECRUITMENT_CHECK_INTERVAL`). It ends when the alert closes or its recruiting
//! window (`BURGERNET_ALERT_RECRUITING_WINDOW`) is over. Nobody is alerted twice, and nothing
//! records where anyone was.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::alerts::{AMSTERDAM, KRALINGEN, Profile, ROTTERDAM, alert_body, android_device, circle};
use crate::helpers::{SignedIn, TestApp, TestAppOptions};

async fn app_with(options: TestAppOptions) -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..options }).await;
    app.load_reference_data().await;
    app
}

/// A participant with "alerts where I am" on, an Android phone (`label`), no places, and their
/// position in Amsterdam: far from the Rotterdam alerts of these tests.
async fn walker(app: &TestApp, phone: &str, label: &str) -> (SignedIn, String) {
    let device = android_device(label);
    let token = device["push_token"].as_str().unwrap().to_string();
    let profile = Profile {
        places: Vec::new(),
        devices: vec![device],
        live_location: Some(AMSTERDAM),
        ..Profile::default()
    };
    (app.participant(phone, profile).await, token)
}

async fn move_to(app: &TestApp, who: &SignedIn, (latitude, longitude): (f64, f64)) {
    let position = json!({"latitude": latitude, "longitude": longitude, "accuracy_meters": 12.0});
    app.expect_ok(Method::PUT, "/v1/me/location", &who.access_token, position).await;
}

/// Waits until FCM accepted `count` pushes for `token`; returns their kinds.
async fn wait_for_pushes_to(app: &TestApp, token: &str, count: usize, within: Duration) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let kinds = app.fcm_kinds_to(token);
        if kinds.len() >= count {
            return kinds;
        }
        assert!(tokio::time::Instant::now() < deadline, "{token} got {kinds:?}, not {count} pushes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What waits to be recruited: entrants noted, and recruitment jobs not yet done.
async fn pending_recruitment(app: &TestApp) -> (i64, i64) {
    (
        app.database_count("SELECT count(*) FROM area_entrants").await,
        app.database_count("SELECT count(*) FROM background_jobs WHERE job_type = 'recruit_entrants'").await,
    )
}

/// The dossier's `recruited` entries of the alert.
async fn recruited_entries(app: &TestApp, dispatcher: &str, alert: &str) -> Vec<Value> {
    let dossier = app.get_json(&format!("/v1/alerts/{alert}/dossier"), dispatcher).await;
    dossier["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["kind"] == "recruited")
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_position_entering_the_area_brings_the_alert_and_its_updates_once() {
    let app = app_with(TestAppOptions::default()).await;
    let dispatcher = app.dispatcher_token("rotterdam");
    // Someone at home in the area, so the alert has a first wave to deliver.
    app.participant("+31640000001", Profile { devices: vec![android_device("home")], ..Profile::default() })
        .await;
    let (anna, anna_phone) = walker(&app, "+31640000002", "anna").await;

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 1, "Anna is in Amsterdam: {counters}");
    let update = json!({"texts": {"nl": {"message": "Laatst gezien richting het noorden."}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/updates"), &dispatcher, update).await;
    app.wait_for_counters(&dispatcher, &id, |c| c["push"]["sent"] == 2 && c["batches_pending"] == 0).await;
    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert!(detail["recruiting_until"].is_string(), "an active alert recruits: {detail}");

    // Anna walks into the area: within seconds she has the alert, then the update.
    move_to(&app, &anna, (ROTTERDAM.0 + 0.005, ROTTERDAM.1)).await;
    let kinds = wait_for_pushes_to(&app, &anna_phone, 2, Duration::from_secs(10)).await;
    assert_eq!(kinds, ["alert", "update"]);
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(
        (counters["recipients"].as_i64(), counters["entered_area"].as_i64()),
        (Some(2), Some(1)),
        "{counters}"
    );
    assert_eq!(counters["time_window"], 0, "{counters}");
    assert_eq!(pending_recruitment(&app).await, (0, 0), "nothing is left of her entering but the recipient");

    // The dossier names her by id, and says nothing of where she was.
    let recruited = recruited_entries(&app, &dispatcher, &id).await;
    assert_eq!(recruited.len(), 1, "{recruited:?}");
    let body = &recruited[0]["body"];
    assert_eq!(body["matched_by"], "entered_area");
    assert_eq!(body["participant_ids"], json!([anna.participant_id]));
    assert_eq!(body["recipients"], 1);
    let mut fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["batches", "matched_by", "message_id", "participant_ids", "recipients", "wave"]);
    assert_eq!(recruited[0]["actor"], "system", "{:?}", recruited[0]);
    assert_eq!(
        app.database_count("SELECT count(*) FROM live_locations").await,
        1,
        "one position, no history"
    );

    // Leaving and coming back, or moving about inside, alerts her no more.
    move_to(&app, &anna, AMSTERDAM).await;
    move_to(&app, &anna, ROTTERDAM).await;
    move_to(&app, &anna, KRALINGEN).await;
    assert_eq!(pending_recruitment(&app).await, (0, 0), "a recipient is not recruited again");
    // The areas the control room drew are still just the one.
    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert_eq!(detail["areas"].as_array().map(Vec::len), Some(1), "{}", detail["areas"]);

    // The closing message reaches her too, and after it, nobody else is recruited.
    let closing =
        json!({"outcome": "hard_success", "texts": {"nl": {"message": "De man is aangehouden. Dank!"}}});
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/close"), &dispatcher, closing).await;
    let kinds = wait_for_pushes_to(&app, &anna_phone, 3, Duration::from_secs(10)).await;
    assert_eq!(kinds, ["alert", "update", "closing"]);
    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    assert!(detail["recruiting_until"].is_null(), "a closed alert recruits no more: {detail}");
    let (bram, bram_phone) = walker(&app, "+31640000003", "bram").await;
    move_to(&app, &bram, ROTTERDAM).await;
    assert_eq!(pending_recruitment(&app).await, (0, 0), "a closed alert recruits nobody");
    app.run_jobs_due_within(Duration::from_secs(1)).await;
    assert_eq!(app.fcm_kinds_to(&bram_phone), Vec::<String>::new());
    assert_eq!(app.fcm_kinds_to(&anna_phone).len(), 3, "still one alert, one update and one closing");
}

#[tokio::test]
async fn recruiting_ends_with_the_window_and_skips_who_does_not_want_the_category() {
    let app =
        app_with(TestAppOptions { recruiting_window: Duration::from_secs(3), ..TestAppOptions::default() })
            .await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31640000011", Profile { devices: vec![android_device("home")], ..Profile::default() })
        .await;
    let (early, early_phone) = walker(&app, "+31640000012", "early").await;
    let (picky, picky_phone) = walker(&app, "+31640000013", "picky").await;
    app.expect_ok(Method::PATCH, "/v1/me", &picky.access_token, json!({"categories": ["inform"]})).await;
    let (late, late_phone) = walker(&app, "+31640000014", "late").await;

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    move_to(&app, &early, ROTTERDAM).await;
    move_to(&app, &picky, ROTTERDAM).await;
    assert_eq!(wait_for_pushes_to(&app, &early_phone, 1, Duration::from_secs(10)).await, ["alert"]);
    assert_eq!(app.fcm_kinds_to(&picky_phone), Vec::<String>::new(), "search alerts are not what she wants");

    // Past the window (3 s after the send here; 2 h unless set), nobody is recruited.
    let detail = app.get_json(&format!("/v1/alerts/{id}"), &dispatcher).await;
    let until: chrono::DateTime<chrono::Utc> = detail["recruiting_until"].as_str().unwrap().parse().unwrap();
    let sent: chrono::DateTime<chrono::Utc> = detail["sent_at"].as_str().unwrap().parse().unwrap();
    assert_eq!((until - sent).num_seconds(), 3);
    let left = (until - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(200)).await;
    move_to(&app, &late, ROTTERDAM).await;
    assert_eq!(pending_recruitment(&app).await, (0, 0), "the window is over");
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(
        (counters["recipients"].as_i64(), counters["entered_area"].as_i64()),
        (Some(2), Some(1)),
        "{counters}"
    );
    assert_eq!(app.fcm_kinds_to(&late_phone), Vec::<String>::new());
}

/// The next minute in Amsterdam as a time window names it: the day and `HH:MM`, and the window's
/// end an hour on (at most midnight).
async fn next_minute(app: &TestApp) -> (String, String, String) {
    let minute_of_day = app
        .database_count(
            "SELECT (EXTRACT(HOUR FROM t) * 60 + EXTRACT(MINUTE FROM t))::bigint AS count
               FROM (SELECT (now() + interval '1 minute') AT TIME ZONE 'Europe/Amsterdam' AS t) AS next",
        )
        .await;
    let day = app
        .database_count(
            "SELECT EXTRACT(ISODOW FROM (now() + interval '1 minute') AT TIME ZONE 'Europe/Amsterdam')::bigint AS count",
        )
        .await;
    let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][(day - 1) as usize];
    let clock = |minute: i64| format!("{:02}:{:02}", minute / 60, minute % 60);
    (day.to_string(), clock(minute_of_day), clock((minute_of_day + 60).min(24 * 60)))
}

#[tokio::test]
async fn a_time_window_that_opens_in_the_area_brings_the_alert() {
    let app = app_with(TestAppOptions::default()).await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31640000021", Profile { devices: vec![android_device("home")], ..Profile::default() })
        .await;
    // Not too close to the turn of the minute, so the window opens only after the alert is sent.
    let second = app
        .database_count("SELECT EXTRACT(SECOND FROM now() AT TIME ZONE 'Europe/Amsterdam')::bigint AS count")
        .await;
    if second >= 45 {
        tokio::time::sleep(Duration::from_secs((61 - second) as u64)).await;
    }
    let (day, from, until) = next_minute(&app).await;
    let device = android_device("worker");
    let worker_phone = device["push_token"].as_str().unwrap().to_string();
    let worker = app
        .participant(
            "+31640000022",
            Profile { places: Vec::new(), devices: vec![device], ..Profile::default() },
        )
        .await;
    let work = json!({
        "kind": "work", "name": "Kantoor", "latitude": KRALINGEN.0, "longitude": KRALINGEN.1,
        "time_windows": [{"days": [day], "from": from, "until": until}],
    });
    app.expect_ok(Method::POST, "/v1/me/places", &worker.access_token, work).await;

    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 6_000.0))).await;
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(counters["recipients"], 1, "the window is not open yet: {counters}");
    assert_eq!(app.fcm_kinds_to(&worker_phone), Vec::<String>::new());

    // At the turn of the minute the window opens; the workers look twice a second here.
    let kinds = wait_for_pushes_to(&app, &worker_phone, 1, Duration::from_secs(75)).await;
    assert_eq!(kinds, ["alert"]);
    let counters = app.wait_until_delivered(&dispatcher, &id).await;
    assert_eq!(
        (counters["recipients"].as_i64(), counters["time_window"].as_i64()),
        (Some(2), Some(1)),
        "{counters}"
    );
    let recruited = recruited_entries(&app, &dispatcher, &id).await;
    assert_eq!(recruited.len(), 1, "{recruited:?}");
    assert_eq!(recruited[0]["body"]["matched_by"], "time_window");
    assert_eq!(recruited[0]["body"]["participant_ids"], json!([worker.participant_id]));
    // Later looks find nothing new: the window opened once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.fcm_kinds_to(&worker_phone).len(), 1);
    assert_eq!(recruited_entries(&app, &dispatcher, &id).await.len(), 1);
}

#[tokio::test]
async fn entrants_whose_recruitment_failed_are_recruited_by_the_workers_next_look() {
    let app = app_with(TestAppOptions::default()).await;
    let dispatcher = app.dispatcher_token("rotterdam");
    app.participant("+31640000031", Profile { devices: vec![android_device("home")], ..Profile::default() })
        .await;
    let (lost, lost_phone) = walker(&app, "+31640000032", "lost").await;
    let id = app.send_new_alert(&dispatcher, alert_body(circle(ROTTERDAM, 2_000.0))).await;
    app.wait_until_delivered(&dispatcher, &id).await;
    // She is in the area, noted as an entrant, and the job that would recruit her is gone (as when
    // it failed for good).
    move_to(&app, &lost, AMSTERDAM).await;
    let participant = lost.participant_id;
    app.database_exec(&format!(
        "UPDATE live_locations SET location = ST_SetSRID(ST_MakePoint({}, {}), 4326)
          WHERE participant_id = '{participant}'",
        ROTTERDAM.1, ROTTERDAM.0,
    ))
    .await;
    app.database_exec(&format!(
        "INSERT INTO area_entrants (alert_id, participant_id) VALUES ('{id}', '{participant}')"
    ))
    .await;
    assert_eq!(wait_for_pushes_to(&app, &lost_phone, 1, Duration::from_secs(10)).await, ["alert"]);
    assert_eq!(pending_recruitment(&app).await, (0, 0));
    let recruited = recruited_entries(&app, &dispatcher, &id).await;
    assert_eq!(recruited[0]["body"]["participant_ids"], json!([lost.participant_id]));
}
