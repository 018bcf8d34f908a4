//! Routes that exist only in `burgernet dev`; they are not part of the contract.

use actix_web::{get, web};
use burgernet_core::outbox::OutboxMessage;
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct OutboxQuery {
    limit: Option<usize>,
}

/// Every message the local push, SMS and e-mail stand-ins received, newest first.
#[get("/dev/outbox")]
pub async fn outbox(
    state: web::Data<AppState>,
    query: web::Query<OutboxQuery>,
) -> Result<web::Json<Vec<OutboxMessage>>, ApiError> {
    let outbox = state
        .dev_outbox
        .as_ref()
        .ok_or_else(|| ApiError::not_found("The outbox exists only in local mode."))?;
    let limit = query.limit.unwrap_or(100).min(1000);
    Ok(web::Json(outbox.newest_first(limit)))
}
