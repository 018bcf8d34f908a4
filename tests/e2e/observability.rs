//! Health, readiness, request ids and metrics.

use burgernet_core::db;
use diesel_async::RunQueryDsl;

use crate::helpers::{TestApp, problem};

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
    let mut conn = app.database.connect().await;
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

fn metric_value(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let matches = series.starts_with(&format!("{name}{{"))
            && labels.iter().all(|(key, expected)| series.contains(&format!("{key}=\"{expected}\"")));
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
