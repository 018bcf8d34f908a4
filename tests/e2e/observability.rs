//! Health, readiness, request ids and metrics, of the API and of the workers.

use std::time::Duration;

use burgernet_core::alerts::delivery::timing;
use burgernet_core::db;
use burgernet_core::metrics::{self, DeliveryMetrics};
use burgernet_fakes::faults::Fault;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use crate::helpers::alerts::{Profile, ROTTERDAM, alert_body, android_device, circle, ios_device};
use crate::helpers::{TestApp, TestAppOptions, problem};

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_is_ready_when_the_database_answers_and_the_schema_is_current() {
    let app = TestApp::spawn().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), serde_json::json!({"status": "ready"}));
}

#[tokio::test]
async fn readyz_is_not_ready_while_migrations_are_pending() {
    let app = TestApp::spawn().await;
    let newest = db::known_migration_versions().pop().unwrap();
    let mut conn = app.database.connect_as_owner().await;
    diesel::sql_query(format!("DELETE FROM __diesel_schema_migrations WHERE version = '{newest}'"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (503, "migrations_pending"));
    assert!(body["detail"].as_str().unwrap().contains(&newest));
}

#[tokio::test]
async fn readyz_is_not_ready_when_the_database_is_unreachable() {
    let app = TestApp::spawn().await;
    app.get("/readyz").await; // the pool now holds an open connection
    app.database.refuse_connections().await;
    let (status, body) = problem(app.get("/readyz").await).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (503, "database_unavailable"));
    // Liveness is unaffected: restarting the process would not help.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_incoming_one_is_kept() {
    let app = TestApp::spawn().await;
    let response =
        app.client.get(app.url("/healthz")).header("x-request-id", "lb-7f3a.42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "lb-7f3a.42");

    let generated = app.get("/healthz").await.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");

    // Garbage is not echoed into logs and headers; a fresh id replaces it.
    let response = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "<script>alert(1)</script>")
        .send()
        .await
        .unwrap();
    let replaced = response.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    let (_, body) = problem(response).await;
    assert_eq!(body["request_id"], replaced, "the problem body quotes the same id");
}

/// The value of the series `name` whose labels include `labels`, read from a Prometheus text
/// exposition.
pub(crate) fn metric_value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.strip_suffix('}')?),
            None => (series, ""),
        };
        let series_labels: Vec<(&str, &str)> = series_labels
            .split(',')
            .filter(|pair| !pair.is_empty())
            .filter_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                Some((key, value.strip_prefix('"')?.strip_suffix('"')?))
            })
            .collect();
        let matches = series_name == name && labels.iter().all(|label| series_labels.contains(label));
        matches.then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_report_pool_and_jobs() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.get("/healthz").await;
    }
    app.get("/v1/regions/rotterdam").await; // 401 without a token
    let mut conn = app.database.connect().await;
    diesel::sql_query(
        "INSERT INTO background_jobs (job_type, payload, max_attempts) VALUES ('send_alert_batch', '{}', 5), \
         ('send_alert_batch', '{}', 5), ('process_media', '{}', 5)",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let metrics = response.text().await.unwrap();

    let healthz = [("route", "/healthz"), ("method", "GET"), ("status", "200")];
    assert_eq!(metric_value(&metrics, "burgernet_http_requests_total", &healthz), Some(3.0), "{metrics}");
    assert_eq!(metric_value(&metrics, "burgernet_http_request_duration_seconds_count", &healthz), Some(3.0));
    // Routes are labelled by pattern, never by the concrete path.
    let region = [("route", "/v1/regions/{code}"), ("status", "401")];
    assert_eq!(metric_value(&metrics, "burgernet_http_requests_total", &region), Some(1.0), "{metrics}");
    assert!(!metrics.contains("/v1/regions/rotterdam"));

    assert_eq!(metric_value(&metrics, "burgernet_db_pool_connections", &[("state", "max")]), Some(8.0));
    let queued = |job_type| [("job_type", job_type), ("state", "queued")];
    assert_eq!(metric_value(&metrics, "burgernet_background_jobs", &queued("send_alert_batch")), Some(2.0));
    assert_eq!(metric_value(&metrics, "burgernet_background_jobs", &queued("process_media")), Some(1.0));
}

#[tokio::test]
async fn the_queue_gauges_report_due_oldest_and_dead_jobs_for_every_job_type() {
    let app = TestApp::spawn().await;
    app.database_exec(
        "INSERT INTO background_jobs (job_type, payload, max_attempts, run_at, state) VALUES \
         ('deliver_push', '{}', 5, now() - interval '90 seconds', 'queued'), \
         ('deliver_push', '{}', 5, now() - interval '10 seconds', 'queued'), \
         ('deliver_push', '{}', 5, now() + interval '1 hour', 'queued'), \
         ('process_media', '{}', 5, now() - interval '1 day', 'failed')",
    )
    .await;

    let metrics = app.get("/metrics").await.text().await.unwrap();
    let of = |job_type| [("job_type", job_type)];
    // The job due later is not in the queue's depth yet.
    assert_eq!(
        metric_value(&metrics, "burgernet_job_queue_depth", &of("deliver_push")),
        Some(2.0),
        "{metrics}"
    );
    let oldest =
        metric_value(&metrics, "burgernet_job_queue_oldest_age_seconds", &of("deliver_push")).unwrap();
    assert!((90.0..120.0).contains(&oldest), "{oldest}");
    assert_eq!(metric_value(&metrics, "burgernet_dead_jobs", &of("process_media")), Some(1.0));
    // A failed job is not waiting in the queue.
    assert_eq!(metric_value(&metrics, "burgernet_job_queue_depth", &of("process_media")), Some(0.0));
    // Idle job types are reported too, so alert rules see them.
    for job_type in burgernet_core::application::JOB_TYPES
        .into_iter()
        .filter(|t| !["deliver_push", "process_media"].contains(t))
    {
        assert_eq!(
            metric_value(&metrics, "burgernet_job_queue_depth", &of(job_type)),
            Some(0.0),
            "{job_type}"
        );
        assert_eq!(
            metric_value(&metrics, "burgernet_job_queue_oldest_age_seconds", &of(job_type)),
            Some(0.0)
        );
        assert_eq!(metric_value(&metrics, "burgernet_dead_jobs", &of(job_type)), Some(0.0));
    }
}

async fn app_with_workers() -> TestApp {
    let app = TestApp::spawn_with(TestAppOptions { workers: true, ..TestAppOptions::default() }).await;
    app.load_reference_data().await;
    app
}

/// GETs `path` from the workers' health server.
async fn worker_get(app: &TestApp, path: &str) -> reqwest::Response {
    let address = app.worker_address.as_deref().expect("the app runs workers");
    app.client.get(format!("{address}{path}")).send().await.expect("request sent")
}

async fn worker_metrics(app: &TestApp) -> String {
    worker_get(app, "/metrics").await.text().await.unwrap()
}

/// Lets the workers run every job that is due, then asserts that the series has `expected`;
/// returns the whole text of the workers' metrics.
async fn worker_metric_after_the_jobs(
    app: &TestApp,
    name: &str,
    labels: &[(&str, &str)],
    expected: f64,
) -> String {
    app.run_pending_jobs().await;
    let metrics = worker_metrics(app).await;
    assert_eq!(metric_value(&metrics, name, labels), Some(expected), "{name} {labels:?}: {metrics}");
    metrics
}

/// A worker's problem document: the API's shape (no request id: probes send none to correlate).
async fn assert_worker_problem(response: reqwest::Response, status: u16, code: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("urn:burgernet:problem:{code}"));
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn the_workers_serve_liveness_readiness_and_metrics_without_tokens() {
    let app = app_with_workers().await;

    let response = worker_get(&app, "/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"status": "ok"}));
    let response = worker_get(&app, "/readyz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"status": "ready"}));

    let response = worker_get(&app, "/metrics").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let metrics = response.text().await.unwrap();
    assert_eq!(metric_value(&metrics, "burgernet_alert_send_to_first_push_seconds_count", &[]), Some(0.0));
    assert_eq!(metric_value(&metrics, "burgernet_alert_send_to_last_push_seconds_count", &[]), Some(0.0));
    // The queue is the API's to report, so it is not counted twice.
    assert!(!metrics.contains("burgernet_job_queue_depth"), "{metrics}");

    app.database.refuse_connections().await;
    assert_worker_problem(worker_get(&app, "/readyz").await, 503, "database_unavailable").await;
    // Liveness is unaffected: restarting the worker would not bring the database back.
    let response = worker_get(&app, "/healthz").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn deliveries_provider_errors_and_the_time_to_push_are_counted_once() {
    let app = app_with_workers().await;
    let dispatcher = app.dispatcher_token("rotterdam");
    // An iPhone whose token APNs refuses (400 BadDeviceToken): the push fails, an SMS follows.
    let refused = ios_device(1);
    app.participant("+31620000101", Profile { devices: vec![refused.clone()], ..Profile::default() }).await;
    let refused_token = refused["push_token"].as_str().unwrap();
    app.database_exec(&format!(
        "UPDATE devices SET push_token = push_token || 'a' WHERE push_token = '{refused_token}'"
    ))
    .await;
    // One phone on each platform.
    let both = app
        .participant(
            "+31620000102",
            Profile { devices: vec![ios_device(2), android_device("both")], ..Profile::default() },
        )
        .await;
    app.participant("+31620000103", Profile { devices: vec![android_device("other")], ..Profile::default() })
        .await;
    // No phone app: SMS.
    app.participant("+31620000104", Profile::default()).await;
    // One of the two Android pushes meets a 503 first and is retried.
    app.fcm.faults().fail_next(1, burgernet_fakes::faults::Fault::ServerError);

    let mut body = alert_body(circle(ROTTERDAM, 2_000.0));
    // Not urgent: no SMS follows unacknowledged pushes while the test runs.
    body["urgent"] = json!(false);
    // Receipts follow a second after each SMS, as a gateway's do: after the worker recorded it.
    app.sms.set_receipts(&app.url("/v1/sms/receipts"), app.sms.webhook_secret(), Duration::from_secs(1));
    let alert = app.send_new_alert(&dispatcher, body).await;
    app.wait_until_delivered(&dispatcher, &alert).await;
    let metrics =
        worker_metric_after_the_jobs(&app, "burgernet_alert_send_to_first_push_seconds_count", &[], 1.0)
            .await;

    let deliveries = |channel, result| {
        metric_value(&metrics, "burgernet_deliveries_total", &[("channel", channel), ("result", result)])
    };
    assert_eq!(deliveries("push", "sent"), Some(3.0), "{metrics}");
    assert_eq!(deliveries("push", "retrying"), Some(1.0));
    assert_eq!(deliveries("push", "failed"), Some(1.0));
    assert_eq!(deliveries("sms", "sent"), Some(2.0));
    assert_eq!(deliveries("sms", "failed"), None);
    let errors = |provider, code| {
        metric_value(&metrics, "burgernet_provider_errors_total", &[("provider", provider), ("code", code)])
    };
    assert_eq!(errors("apns", "BadDeviceToken"), Some(1.0), "{metrics}");
    assert_eq!(errors("fcm", "UNAVAILABLE"), Some(1.0));
    assert_eq!(metrics.matches("burgernet_provider_errors_total{").count(), 2, "{metrics}");
    assert_eq!(metric_value(&metrics, "burgernet_alert_send_to_last_push_seconds_count", &[]), Some(1.0));
    let to_last_push = metric_value(&metrics, "burgernet_alert_send_to_last_push_seconds_sum", &[]).unwrap();
    let to_first_push =
        metric_value(&metrics, "burgernet_alert_send_to_first_push_seconds_sum", &[]).unwrap();
    assert!(
        (0.0..60.0).contains(&to_first_push) && to_first_push <= to_last_push,
        "{to_first_push} {to_last_push}"
    );

    // Exactly once: another housekeeping round, and a second worker process, observe nothing more.
    let mut conn = app.database.connect().await;
    let this_worker = app.worker_metrics.as_ref().unwrap();
    assert_eq!(timing::observe_finished_waves(&mut conn, None, this_worker).await.unwrap(), 0);
    let second_registry = metrics::new_registry();
    let second_worker = DeliveryMetrics::register(&second_registry);
    assert_eq!(timing::observe_finished_waves(&mut conn, None, &second_worker).await.unwrap(), 0);
    let second = metrics::encode(&second_registry);
    assert_eq!(metric_value(&second, "burgernet_alert_send_to_first_push_seconds_count", &[]), Some(0.0));
    let metrics = worker_metrics(&app).await;
    assert_eq!(metric_value(&metrics, "burgernet_alert_send_to_first_push_seconds_count", &[]), Some(1.0));

    // Arrivals are the API's to count: the gateway's receipts, and the app confirming a push.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let alert_receipts = loop {
        // Receipts of the alert's SMS, whose references are `message:participant`.
        let alert_receipts: Vec<_> = app
            .sms
            .receipts()
            .into_iter()
            .filter(|receipt| {
                let body: serde_json::Value = serde_json::from_str(&receipt.body).unwrap();
                body["reference"].as_str().is_some_and(|reference| reference.contains(':'))
            })
            .collect();
        if alert_receipts.len() == 2 || tokio::time::Instant::now() > deadline {
            break alert_receipts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let answers: Vec<_> = alert_receipts.iter().map(|receipt| receipt.answer).collect();
    assert_eq!(answers, [Some(204), Some(204)], "{alert_receipts:?}");
    let devices = app.get_json("/v1/me/devices", &both.access_token).await;
    let device_id = devices[0]["id"].as_str().unwrap();
    app.expect_ok(
        Method::POST,
        &format!("/v1/me/alerts/{alert}/receipts"),
        &both.access_token,
        json!({"kind": "received", "device_id": device_id}),
    )
    .await;
    let api_metrics = app.get("/metrics").await.text().await.unwrap();
    let arrived = |channel| {
        metric_value(
            &api_metrics,
            "burgernet_deliveries_total",
            &[("channel", channel), ("result", "delivered")],
        )
    };
    assert_eq!(arrived("sms"), Some(2.0), "{api_metrics}");
    assert_eq!(arrived("push"), Some(1.0));

    // Neither process exposes who was alerted, on which device, or where.
    for text in [&metrics, &api_metrics] {
        for secret in ["3162000010", "620000101", refused_token, "APA91b", "both:", "51.9225", "4.4792"] {
            assert!(!text.contains(secret), "{secret} in the metrics: {text}");
        }
    }
}

#[tokio::test]
async fn sms_gateway_errors_are_counted_by_the_process_that_met_them() {
    let app = app_with_workers().await;

    // The API sends sign-in codes: a gateway failure there shows in the API's metrics.
    app.sms.faults().fail_next(1, Fault::ServerError);
    assert_eq!(app.request_code_from("+31611111111", "198.51.100.7").await.status(), 502);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    // The gateway names its error in the body (`service_unavailable`); that is the code.
    let gateway_down = [("provider", "sms"), ("code", "service_unavailable")];
    assert_eq!(
        metric_value(&metrics, "burgernet_provider_errors_total", &gateway_down),
        Some(1.0),
        "{metrics}"
    );

    // The workers send notices: the sign-up confirmation after the first place meets a failing
    // gateway, which the workers count (and retry).
    let participant = app.sign_up("+31611111111").await;
    app.sms.faults().fail_next(1, Fault::ServerError);
    let home = json!({"kind": "home", "name": "Thuis", "latitude": 51.9225, "longitude": 4.4792,
                      "address": {"postcode": "3011 AD", "house_number": "1"}});
    let response = app.send_json_as(Method::POST, "/v1/me/places", &participant.access_token, &home).await;
    assert_eq!(response.status(), 201);
    let metrics =
        worker_metric_after_the_jobs(&app, "burgernet_provider_errors_total", &gateway_down, 1.0).await;
    assert!(!metrics.contains("611111111"), "{metrics}");
    // The retry reaches the participant.
    let confirmation = app.sms.wait_for_sent(2).await.pop().unwrap();
    assert!(confirmation.body.contains("bevestigd"), "{}", confirmation.body);
}
