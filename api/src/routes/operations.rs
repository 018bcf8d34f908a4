//! Health, readiness, metrics and the contract. None of these need a token: probes and
//! Prometheus scrape them, and the contract is public.

use actix_web::{HttpResponse, get, web};
use burgernet_core::db;
use serde::Serialize;

use crate::error::{ApiError, Problem};
use crate::openapi::Contract;
use crate::state::AppState;

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Status {
    /// `ok` for liveness, `ready` for readiness.
    pub status: String,
}

/// Liveness: the process is up.
///
/// Who may call: anyone. Says nothing about the database; use `/readyz` for that.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The process is up.", body = Status)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Status> {
    web::Json(Status { status: "ok".into() })
}

/// Readiness: the database answers and its schema is current.
///
/// Who may call: anyone. Answers 503 while the database is unreachable or migrations are pending,
/// so a load balancer sends no traffic to an instance that cannot serve it.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve.", body = Status),
        (status = 503, description = "Not ready: the database is unreachable or migrations are pending.",
         body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Status>, ApiError> {
    db::check_ready(&state.pool)
        .await
        .map_err(|not_ready| ApiError::unavailable(not_ready.code(), not_ready.to_string()))?;
    Ok(web::Json(Status { status: "ready".into() }))
}

/// Metrics in the Prometheus text format.
///
/// Who may call: anyone who can reach the port; in production only the cluster's Prometheus
/// should (restrict it with a network policy). Request counts and latency by route and status
/// (`burgernet_http_requests_total`, `burgernet_http_request_duration_seconds`), database pool
/// usage (`burgernet_db_pool_connections`), background jobs by type and state
/// (`burgernet_background_jobs`), and the job queue read from the database at each scrape, for
/// every job type: due jobs (`burgernet_job_queue_depth`), how long the oldest due job has waited
/// (`burgernet_job_queue_oldest_age_seconds`, 0 when none is due) and jobs failed for good
/// (`burgernet_dead_jobs`). `burgernet_deliveries_total{channel, result="delivered"}` counts the
/// arrivals the API learns of: SMS delivery receipts (`result="failed"` for a failure report)
/// and app receipts naming their device (push). The workers serve the delivery, provider-error
/// and send-to-push metrics on a port of their own (`BURGERNET_WORKER_BIND`).
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4.", body = String,
               content_type = "text/plain; version=0.0.4"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let body = state.metrics.render(&state.pool).await;
    HttpResponse::Ok().content_type(burgernet_core::metrics::CONTENT_TYPE).body(body)
}

/// This API's OpenAPI 3 document.
///
/// Who may call: anyone. Identical to `openapi/openapi.json` in the repository.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The OpenAPI document.", body = Object, content_type = "application/json"))
)]
#[get("/openapi.json")]
pub async fn openapi_json(contract: web::Data<Contract>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(contract.json.clone())
}

/// A human-readable API reference.
///
/// Who may call: anyone. A self-contained HTML page (no scripts, nothing loaded from elsewhere),
/// rendered from the OpenAPI document.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "The API reference as HTML.", body = String, content_type = "text/html"))
)]
#[get("/docs")]
pub async fn reference(contract: web::Data<Contract>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(contract.reference_html.clone())
}
