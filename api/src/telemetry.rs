//! Request ids, request logging and request metrics, and the guarantee that every error response
//! is a problem document: one middleware that wraps the whole app.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use crate::error::{ApiError, PROBLEM_CONTENT_TYPE};
use crate::state::AppState;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    /// The id of the request being served; also in every log line of it and in problem bodies.
    static CURRENT_REQUEST_ID: String;
}

/// The id of the request this task is serving, if any.
pub fn current_request_id() -> Option<String> {
    CURRENT_REQUEST_ID.try_with(Clone::clone).ok()
}

/// Accepts a caller's `X-Request-Id` when it is a sane token (so ids follow a request across
/// services); anything else gets a fresh one.
fn request_id_for(request: &ServiceRequest) -> String {
    request
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = request_id_for(&request);
    let method = request.method().to_string();
    // Only the route pattern is logged: paths and queries may carry personal data.
    let route = request.match_pattern().unwrap_or_else(|| "unmatched".into());
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let span =
        tracing::info_span!("http_request", request_id = %request_id, method = %method, route = %route);

    let outcome =
        CURRENT_REQUEST_ID.scope(request_id.clone(), next.call(request).instrument(span.clone())).await;
    // Handlers' errors arrive here as responses; an `Err` comes only from a failing middleware
    // and is rendered by actix after us.
    let mut response = outcome?.map_into_boxed_body();

    if is_bare_error(&response) {
        response = into_problem(response, &request_id);
    }
    response
        .headers_mut()
        .insert(REQUEST_ID_HEADER, HeaderValue::from_str(&request_id).expect("request ids are ASCII tokens"));

    let status = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    if let Some(state) = state {
        state.metrics.observe_request(&route, &method, status, seconds);
    }
    span.in_scope(|| {
        tracing::info!(status, latency_ms = (seconds * 1000.0).round() as u64, "request served")
    });
    Ok(response)
}

/// Marks an error response in another protocol's format on purpose (the local identity
/// provider's OAuth token errors, RFC 6749 §5.2): it is left as it is.
pub struct OwnErrorFormat;

/// An error response that is not already a problem document (actix's own 404, 405, 413, ...).
/// HTML pages meant for people (the e-mail verification link) are left as they are.
fn is_bare_error(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    (status.is_client_error() || status.is_server_error())
        && content_type != Some(PROBLEM_CONTENT_TYPE)
        && !content_type.is_some_and(|value| value.starts_with("text/html"))
        && !response.response().extensions().contains::<OwnErrorFormat>()
}

fn into_problem(response: ServiceResponse<BoxBody>, request_id: &str) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let allow = response.headers().get(header::ALLOW).cloned();
    let (request, _) = response.into_parts();
    let mut problem = ApiError::for_status(status).problem_response(Some(request_id.to_string()));
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    ServiceResponse::new(request, problem)
}
