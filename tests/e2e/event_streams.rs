//! The live event streams of alerts: how many may be open, the one poll all viewers of an alert
//! share, and the end of a stream when its token expires.

use std::time::Duration;

use burgernet_core::auth::staff::StaffRole;
use burgernet_core::config::EventStreamSettings;
use burgernet_core::env::Env;
use burgernet_local::identity::StaffTokenRequest;
use reqwest::Method;
use serde_json::json;
use tokio::time::Instant;

use crate::helpers::alerts::{EventStream, ROTTERDAM, alert_body, circle};
use crate::helpers::app::{AUDIENCE, ISSUER};
use crate::helpers::{TestApp, TestAppOptions, assert_problem};
use crate::observability::metric_value;

async fn app_with(limits: impl FnOnce(&mut EventStreamSettings)) -> TestApp {
    let mut event_streams = EventStreamSettings::from_env(&Env::default()).unwrap();
    // Quick keep-alives: a client that left is noticed within two.
    event_streams.keep_alive = Duration::from_millis(500);
    limits(&mut event_streams);
    let app = TestApp::spawn_with(TestAppOptions { event_streams, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

fn rotterdam_dispatcher(app: &TestApp, subject: &str) -> String {
    app.staff_member_token(subject, StaffRole::Dispatcher { region: "rotterdam".into() })
}

/// An alert in Rotterdam, and the path of its event stream.
async fn watched_alert(app: &TestApp, dispatcher: &str) -> (String, String) {
    let alert = app.create_alert(dispatcher, alert_body(circle(ROTTERDAM, 1_000.0))).await;
    let id = alert["id"].as_str().unwrap().to_string();
    let path = format!("/v1/alerts/{id}/events");
    (id, path)
}

/// Opens a stream and reads up to its first event, the alert's counters.
async fn open_stream(app: &TestApp, path: &str, token: &str) -> EventStream {
    let mut stream = EventStream::new(app.get_as(path, token).await);
    assert!(stream.read_until(|events| !events.is_empty()).await);
    assert_eq!(stream.events[0].0, "counters", "a stream starts with where the alert stands");
    stream
}

async fn assert_too_many_streams(response: reqwest::Response) {
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_problem(response, 429, "too_many_event_streams").await;
}

async fn api_metric(app: &TestApp, name: &str) -> f64 {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    metric_value(&metrics, name, &[]).unwrap_or_else(|| panic!("no {name} in {metrics}"))
}

/// Reads the API's metric `name` until it is `expected` (30 seconds at most).
async fn wait_for_metric(app: &TestApp, name: &str, expected: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = api_metric(app, name).await;
        if value == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{name} stayed {value}, not {expected}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_staff_member_has_a_few_streams_at_most_and_a_closed_one_frees_its_place() {
    let app = app_with(|limits| limits.per_staff_member = 2).await;
    let (alice, bob) = (rotterdam_dispatcher(&app, "alice"), rotterdam_dispatcher(&app, "bob"));
    let (_, path) = watched_alert(&app, &alice).await;

    let first = open_stream(&app, &path, &alice).await;
    let _second = open_stream(&app, &path, &alice).await;
    assert_too_many_streams(app.get_as(&path, &alice).await).await;
    // Another dispatcher is not held to Alice's streams.
    let _bobs = open_stream(&app, &path, &bob).await;
    wait_for_metric(&app, "burgernet_alert_event_streams_open", 3.0).await;

    // Alice closes a screen: its place is freed once the server notices, and she may open one.
    drop(first);
    wait_for_metric(&app, "burgernet_alert_event_streams_open", 2.0).await;
    let _third = open_stream(&app, &path, &alice).await;
    assert_too_many_streams(app.get_as(&path, &alice).await).await;
}

#[tokio::test]
async fn a_server_takes_so_many_streams_in_all() {
    let app = app_with(|limits| limits.per_process = 3).await;
    let dispatcher = rotterdam_dispatcher(&app, "dispatcher-0");
    let (_, path) = watched_alert(&app, &dispatcher).await;
    let mut open = Vec::new();
    for person in 1..=3 {
        open.push(
            open_stream(&app, &path, &rotterdam_dispatcher(&app, &format!("dispatcher-{person}"))).await,
        );
    }
    assert_too_many_streams(app.get_as(&path, &dispatcher).await).await;
    assert_too_many_streams(app.get_as(&path, &app.admin_token()).await).await;

    open.pop();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = app.get_as(&path, &dispatcher).await;
        if response.status() == 200 {
            break;
        }
        assert_too_many_streams(response).await;
        assert!(Instant::now() < deadline, "the closed stream's place was never freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires_and_says_so() {
    let app = app_with(|_| {}).await;
    let dispatcher = rotterdam_dispatcher(&app, "alice");
    let (_, path) = watched_alert(&app, &dispatcher).await;
    let token = |lifetime| {
        app.staff_token_for(StaffTokenRequest {
            subject: "alice".into(),
            name: None,
            role: StaffRole::Dispatcher { region: "rotterdam".into() },
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            lifetime,
        })
    };

    let mut stream = open_stream(&app, &path, &token(Duration::from_secs(2))).await;
    stream.read_to_end().await;
    let (last, data) = stream.events.last().unwrap();
    assert_eq!(last, "token_expired", "{:?}", stream.events);
    let expired_at: chrono::DateTime<chrono::Utc> = data["expired_at"].as_str().unwrap().parse().unwrap();
    assert!(expired_at <= chrono::Utc::now(), "{expired_at}");
    wait_for_metric(&app, "burgernet_alert_event_streams_open", 0.0).await;

    // A token past its expiry, though still accepted for the identity provider's clock skew, opens
    // no stream.
    assert_problem(app.get_as(&path, &token(Duration::ZERO)).await, 401, "token_expired").await;
}

#[tokio::test]
async fn the_viewers_of_an_alert_share_one_poll() {
    let app = app_with(|_| {}).await;
    let dispatcher = rotterdam_dispatcher(&app, "alice");
    let (id, path) = watched_alert(&app, &dispatcher).await;
    let mut viewers = Vec::new();
    for person in ["alice", "bob", "carol"] {
        viewers.push(open_stream(&app, &path, &rotterdam_dispatcher(&app, person)).await);
    }
    viewers.push(open_stream(&app, &path, &app.admin_token()).await);
    assert_eq!(api_metric(&app, "burgernet_alert_event_stream_pollers").await, 1.0);

    let (start, polls_before) =
        (Instant::now(), api_metric(&app, "burgernet_alert_event_stream_polls_total").await);
    // The polls are counted over a few seconds: polls per second is what is measured.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let polls = api_metric(&app, "burgernet_alert_event_stream_polls_total").await - polls_before;
    // One poll a second for all four, as for one (and one more for a poll under way at the start).
    let one_viewers_polls = start.elapsed().as_secs_f64().ceil() + 1.0;
    assert!((1.0..=one_viewers_polls).contains(&polls), "{polls} polls for four viewers");

    // What one poll finds reaches every viewer.
    app.expect_ok(Method::POST, &format!("/v1/alerts/{id}/send"), &dispatcher, json!({})).await;
    for viewer in &mut viewers {
        let sent = |events: &[(String, serde_json::Value)]| {
            events.iter().any(|(event, data)| event == "dossier" && data["kind"] == "sent")
        };
        assert!(viewer.read_until(sent).await);
    }
    // A late viewer is fed by the same poller, and starts with the counters as the others.
    let late = open_stream(&app, &path, &dispatcher).await;
    assert_eq!(api_metric(&app, "burgernet_alert_event_stream_pollers").await, 1.0);

    // The poller stops when its last viewer has left.
    drop(viewers);
    drop(late);
    wait_for_metric(&app, "burgernet_alert_event_stream_pollers", 0.0).await;
    wait_for_metric(&app, "burgernet_alert_event_streams_open", 0.0).await;
}
