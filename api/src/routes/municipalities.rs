//! Municipalities.

use actix_web::{get, web};
use burgernet_core::participants::participation::{self, Participation};
use burgernet_core::reference_data;
use burgernet_core::vocabulary::regions::{CbsCode, Municipality};

use crate::auth::Staff;
use crate::error::{ApiError, Problem, StaffAccessProblems};
use crate::state::AppState;

/// One municipality: name, inhabitants, region and where it lies.
///
/// Who may call: administrators, the municipality's own relations officers, and dispatchers and
/// region managers of the region it belongs to.
#[utoipa::path(
    tag = "reference data",
    security(("staff_token" = [])),
    params(("cbs_code" = String, Path, description = "The CBS code, e.g. `GM0599` (Rotterdam).")),
    responses(
        (status = 200, description = "The municipality.", body = Municipality),
        (status = 400, description = "Not a valid CBS code.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/municipalities/{cbs_code}")]
pub async fn get_municipality(
    state: web::Data<AppState>,
    Staff(member): Staff,
    cbs_code: web::Path<CbsCode>,
) -> Result<web::Json<Municipality>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(reference_data::municipality_for(&mut conn, &member, &cbs_code).await?))
}

/// How the municipality's participation stands: active participants against its inhabitants,
/// its approval, verification and quarantine queues, and how many participants each channel
/// reaches. Counts under 5 are shown as `{"fewer_than": 5}`, and the share only from a count
/// that is shown.
///
/// Who may call: administrators, the municipality's own relations officers, and dispatchers and
/// region managers of the region it belongs to.
#[utoipa::path(
    tag = "participant management",
    security(("staff_token" = [])),
    params(("cbs_code" = String, Path, description = "The CBS code, e.g. `GM0599` (Rotterdam).")),
    responses(
        (status = 200, description = "The municipality's participation.", body = Participation),
        (status = 400, description = "Not a valid CBS code (`invalid_path_parameter`).", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/municipalities/{cbs_code}/participation")]
pub async fn municipality_participation(
    state: web::Data<AppState>,
    Staff(member): Staff,
    cbs_code: web::Path<CbsCode>,
) -> Result<web::Json<Participation>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(participation::participation_for(&mut conn, &member, &cbs_code).await?))
}
