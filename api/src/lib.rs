//! The Burgernet HTTP API. `build_server` assembles the app: routes (see `routes`), the edge
//! rules for bodies (see `json`), paths and queries, the telemetry middleware and the fallback
//! that turns unknown routes and wrong methods into problem documents.

pub mod alert_events;
pub mod auth;
pub mod console;
pub mod error;
mod html;
pub mod json;
pub mod metrics;
pub mod openapi;
mod public_page;
mod reference_page;
pub mod reports;
pub mod routes;
pub mod state;
pub mod telemetry;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use utoipa_actix_web::AppExt;

use crate::error::ApiError;
use crate::openapi::Contract;
use crate::state::AppState;
use crate::telemetry::current_request_id;

/// The routes of local mode, outside the contract: `GET /dev/outbox` when there is an outbox,
/// `/dev/identity/...` when there is a local identity provider.
#[cfg(feature = "local")]
fn local_mode_routes(config: &mut web::ServiceConfig, state: &AppState) {
    if state.dev_outbox.is_some() {
        config.service(routes::dev::outbox);
        config.route("/", web::get().to(console::to_console));
    }
    if let Some(provider) = &state.dev_identity {
        routes::dev_identity::configure(config, provider);
    }
}

/// A build without local mode has none.
#[cfg(not(feature = "local"))]
fn local_mode_routes(_: &mut web::ServiceConfig, _: &AppState) {}

/// Starts serving on `listener`; the returned server runs until stopped or signalled.
pub fn build_server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let contract = web::Data::from(Arc::new(Contract::new()));
    let server = HttpServer::new(move || {
        let max_body_bytes = state.max_body_bytes;
        App::new()
            .into_utoipa_app()
            .configure(routes::configure)
            .into_app()
            .configure(console::routes)
            .configure(|config| local_mode_routes(config, &state))
            .app_data(state.clone())
            .app_data(contract.clone())
            .app_data(web::JsonConfig::default().limit(max_body_bytes).error_handler(json::json_error))
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .default_service(web::to(no_such_route))
            .wrap(from_fn(refuse_nul_in_address))
            .wrap(from_fn(telemetry::observe))
    })
    .listen(listener)?
    .shutdown_timeout(20)
    // Callers decide when to stop (they also stop the workers and, locally, PostgreSQL).
    .disable_signals()
    .run();
    Ok(server)
}

fn path_error(error: PathError, _: &HttpRequest) -> actix_web::Error {
    let PathError::Deserialize(inner) = error else {
        return ApiError::bad_request("invalid_path_parameter", "A path parameter is not valid.").into();
    };
    ApiError::bad_request("invalid_path_parameter", format!("A path parameter is not valid: {inner}")).into()
}

fn query_error(error: QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_query", format!("The query string is not valid: {error}")).into()
}

/// Paths and queries are decoded into texts, and PostgreSQL cannot store the NUL character in
/// text; no parameter of ours accepts it (`%00`), so none reaches a handler. (Bodies: see
/// [`json`].)
async fn refuse_nul_in_address(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let refusal = if request.path().contains("%00") {
        ApiError::bad_request("invalid_path_parameter", "A path parameter holds the NUL character (%00).")
    } else if request.query_string().contains("%00") {
        ApiError::bad_request("invalid_query", "The query string holds the NUL character (%00).")
    } else {
        return Ok(next.call(request).await?.map_into_left_body());
    };
    Ok(request.error_response(refusal).map_into_right_body())
}

/// No route matched: 405 with `Allow` when the path exists under another method, else 404.
async fn no_such_route(request: HttpRequest, contract: web::Data<Contract>) -> HttpResponse {
    let allowed = contract.allowed_methods(request.path());
    if allowed.is_empty() {
        return ApiError::for_status(StatusCode::NOT_FOUND).problem_response(current_request_id());
    }
    let mut response =
        ApiError::for_status(StatusCode::METHOD_NOT_ALLOWED).problem_response(current_request_id());
    if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}
