//! The audit log of reach previews: every preview of an area's reach, by whom and when, with a
//! hash of the area (never the area) and what it showed. Administrators read it, to see who
//! previewed what and how often.

use actix_web::{get, web};
use burgernet_core::alerts::reach::{self, RecordedPreview};
use burgernet_core::reference_data;
use burgernet_core::vocabulary::regions::RegionCode;
use serde::Deserialize;

use crate::auth::Admin;
use crate::error::{ApiError, Problem, StaffAccessProblems};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PreviewLogQuery {
    /// Only previews of areas in this region, e.g. `rotterdam`.
    #[param(value_type = Option<String>)]
    pub region: Option<RegionCode>,
    /// Only entries before this one (an `id`), for the next page.
    pub before: Option<i64>,
    /// 1 to 200; default 50.
    pub limit: Option<i64>,
}

/// The reach previews recorded, newest first, with who asked and when, which region (and alert),
/// a SHA-256 of the area (never the area itself) and the counts as the preview showed them.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(PreviewLogQuery),
    responses(
        (status = 200, description = "The recorded previews.", body = [RecordedPreview]),
        (status = 400, description = "A malformed query (`invalid_query`).", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
    )
)]
#[get("/v1/reach-previews")]
pub async fn list_reach_previews(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<PreviewLogQuery>,
) -> Result<web::Json<Vec<RecordedPreview>>, ApiError> {
    let PreviewLogQuery { region, before, limit } = query.into_inner();
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("invalid_query", "limit is 1 to 200."));
    }
    let mut conn = state.db().await?;
    let region = match region {
        Some(code) => match reference_data::find_region(&mut conn, &code).await? {
            Some(region) => Some(region.id),
            // No such region: nothing was previewed in it.
            None => return Ok(web::Json(Vec::new())),
        },
        None => None,
    };
    Ok(web::Json(reach::recorded_previews(&mut conn, region, before, limit).await?))
}
