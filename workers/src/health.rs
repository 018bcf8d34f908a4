//! The worker process's own small HTTP server for Kubernetes and Prometheus, without tokens:
//!
//! - `GET /healthz`: 200 `{"status":"ok"}` while the runner's slots go round their loop (each
//!   round beats the [`Heartbeat`], so does a slot while it runs a job); 503 `worker_stalled` when
//!   none has for longer than [`stall_threshold`]. A database outage does not stall the loop (a
//!   failed claim is a round too): restarting would not bring the database back;
//! - `GET /readyz`: 200 `{"status":"ready"}` when the database answers within 3 s and its schema
//!   is current, else 503 `database_unavailable` / `migrations_pending` (the API's check);
//! - `GET /metrics`: the Prometheus text of the process's registry (deliveries, provider errors,
//!   send-to-push timing).
//!
//! Problems are `application/problem+json` with a stable `code`, shaped like the API's.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, get, web};
use burgernet_core::db::{self, DbPool};
use burgernet_core::metrics;
use prometheus::Registry;
use serde_json::json;
use tokio::task::JoinHandle;

/// When the runner's slots last went round their loop.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    origin: Instant,
    /// Milliseconds from `origin` to the last beat.
    last: Arc<AtomicU64>,
}

impl Heartbeat {
    pub(crate) fn new() -> Self {
        Self { origin: Instant::now(), last: Arc::new(AtomicU64::new(0)) }
    }

    pub(crate) fn beat(&self) {
        self.beat_at(Instant::now());
    }

    fn beat_at(&self, at: Instant) {
        let millis = u64::try_from(at.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(millis, Ordering::Relaxed);
    }

    /// Whether no beat came in the `threshold` before `now`.
    fn stalled_at(&self, now: Instant, threshold: Duration) -> bool {
        let last = self.origin + Duration::from_millis(self.last.load(Ordering::Relaxed));
        now.saturating_duration_since(last) > threshold
    }
}

/// How long the loop may go without a beat before the worker counts as stalled: three poll
/// intervals (an idle slot is woken at least once per interval), and never less than 30 s.
pub fn stall_threshold(poll_interval: Duration) -> Duration {
    (poll_interval * 3).max(Duration::from_secs(30))
}

/// What the health server reports on.
pub struct WorkerHealth {
    pub pool: DbPool,
    pub heartbeat: Heartbeat,
    /// The process's metrics, rendered by `/metrics`.
    pub registry: Registry,
    /// See [`stall_threshold`].
    pub stall_after: Duration,
}

/// A health server running in the background.
pub struct HealthServer {
    handle: ServerHandle,
    running: JoinHandle<std::io::Result<()>>,
}

impl HealthServer {
    /// Serves `health` on `listener` until [`HealthServer::stop`].
    pub fn start(listener: TcpListener, health: WorkerHealth) -> std::io::Result<Self> {
        let server = health_server(listener, health)?;
        Ok(Self { handle: server.handle(), running: tokio::spawn(server) })
    }

    /// Finishes the requests in flight and stops. Call it after the runner's shutdown, so probes
    /// keep answering while jobs finish or are released.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.handle.stop(true).await;
        Ok(self.running.await??)
    }
}

/// The health server on `listener`; the caller runs it and stops it through its handle.
pub fn health_server(listener: TcpListener, health: WorkerHealth) -> std::io::Result<Server> {
    let health = web::Data::new(health);
    Ok(HttpServer::new(move || {
        App::new().app_data(health.clone()).service(healthz).service(readyz).service(render_metrics)
    })
    // Probes and scrapes are few and quick.
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(5)
    // The caller stops it, after the runner.
    .disable_signals()
    .run())
}

#[get("/healthz")]
async fn healthz(health: web::Data<WorkerHealth>) -> HttpResponse {
    if health.heartbeat.stalled_at(Instant::now(), health.stall_after) {
        tracing::error!(stall_after = ?health.stall_after, "the job runner's loop has stalled");
        return problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "worker_stalled",
            &format!(
                "The job runner's loop has not gone round for more than {} seconds.",
                health.stall_after.as_secs()
            ),
        );
    }
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[get("/readyz")]
async fn readyz(health: web::Data<WorkerHealth>) -> HttpResponse {
    match db::check_ready(&health.pool).await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(not_ready) => problem(StatusCode::SERVICE_UNAVAILABLE, not_ready.code(), &not_ready.to_string()),
    }
}

#[get("/metrics")]
async fn render_metrics(health: web::Data<WorkerHealth>) -> HttpResponse {
    HttpResponse::Ok().content_type(metrics::CONTENT_TYPE).body(metrics::encode(&health.registry))
}

/// A problem document as the API writes them (RFC 9457 with a stable `code`).
fn problem(status: StatusCode, code: &str, detail: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("application/problem+json").body(
        json!({
            "type": format!("urn:burgernet:problem:{code}"),
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": detail,
            "code": code,
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_is_three_poll_intervals_and_at_least_thirty_seconds() {
        assert_eq!(stall_threshold(Duration::from_secs(5)), Duration::from_secs(30));
        assert_eq!(stall_threshold(Duration::from_secs(20)), Duration::from_secs(60));
    }

    #[test]
    fn a_loop_that_stops_beating_is_stalled_once_the_threshold_has_passed() {
        let heartbeat = Heartbeat::new();
        let threshold = Duration::from_secs(30);
        let beat = Instant::now();
        heartbeat.beat_at(beat);
        // Beats are kept to the millisecond.
        assert!(!heartbeat.stalled_at(beat + Duration::from_millis(29_999), threshold));
        assert!(heartbeat.stalled_at(beat + Duration::from_millis(30_001), threshold));
        heartbeat.beat_at(beat + Duration::from_secs(40));
        assert!(!heartbeat.stalled_at(beat + Duration::from_secs(41), threshold));
    }

    #[actix_web::test]
    async fn a_stalled_loop_fails_liveness_with_worker_stalled() {
        use actix_web::test::{TestRequest, call_service, init_service, read_body_json};
        use burgernet_core::db::DatabaseConfig;
        use burgernet_core::secret::Secret;

        // Its last beat was a minute ago.
        let a_minute_ago = Instant::now().checked_sub(Duration::from_secs(60)).expect("up for a minute");
        let heartbeat = Heartbeat { origin: a_minute_ago, last: Arc::new(AtomicU64::new(0)) };
        // Never connected: liveness does not ask the database.
        let pool = db::build_pool(&DatabaseConfig {
            url: Secret::new("postgres://nobody@127.0.0.1:1/none".into()),
            pool_size: 1,
        })
        .unwrap();
        let health = WorkerHealth {
            pool,
            heartbeat: heartbeat.clone(),
            registry: Registry::new(),
            stall_after: Duration::from_secs(30),
        };
        let app = init_service(App::new().app_data(web::Data::new(health)).service(healthz)).await;

        let response = call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get("content-type").unwrap(), "application/problem+json");
        let body: serde_json::Value = read_body_json(response).await;
        assert_eq!(body["code"], "worker_stalled");
        assert_eq!(body["type"], "urn:burgernet:problem:worker_stalled");

        heartbeat.beat();
        let response = call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: serde_json::Value = read_body_json(response).await;
        assert_eq!(body, json!({"status": "ok"}));
    }

    #[test]
    fn a_late_beat_is_never_undone_by_an_earlier_one() {
        let heartbeat = Heartbeat::new();
        let now = Instant::now();
        heartbeat.beat_at(now + Duration::from_secs(60));
        heartbeat.beat_at(now);
        assert!(!heartbeat.stalled_at(now + Duration::from_secs(61), Duration::from_secs(30)));
    }
}
