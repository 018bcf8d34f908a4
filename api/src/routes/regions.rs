//! Police regions and their municipalities.

use actix_web::{HttpResponse, get, post, web};
use burgernet_core::reference_data;
use burgernet_core::reference_data::overview::{self, RegionOverview};
use burgernet_core::reference_data::region_map::{self, RegionMap};
use burgernet_core::vocabulary::regions::{CbsCode, Municipality, Region, RegionCode};
use serde::Deserialize;

use crate::auth::{Admin, Staff};
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

/// All police regions, with how many municipalities and inhabitants each covers.
///
/// Who may call: any staff member.
#[utoipa::path(
    tag = "reference data",
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The regions, by code.", body = [Region]),
        StaffAccessProblems,
    )
)]
#[get("/v1/regions")]
pub async fn list_regions(
    state: web::Data<AppState>,
    _staff: Staff,
) -> Result<web::Json<Vec<Region>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(reference_data::list_regions(&mut conn).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRegion {
    /// Lowercase letters, digits and hyphens, e.g. `rotterdam`.
    pub code: RegionCode,
    /// Display name, e.g. `Eenheid Rotterdam`.
    pub name: String,
    /// CBS codes of existing municipalities to place in the region (moved from any other).
    #[serde(default)]
    pub municipalities: Vec<CbsCode>,
}

/// Create a police region.
///
/// Who may call: administrators. Listed municipalities move into the new region. Nothing is
/// written when a municipality is unknown (422) or the code is taken (409).
#[utoipa::path(
    tag = "reference data",
    security(("staff_token" = [])),
    request_body = NewRegion,
    responses(
        (status = 201, description = "The region was created.", body = Region),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 409, description = "A region with this code exists.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_reference_data` (a code or name is not valid) or `unknown_reference` (unknown municipalities).", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/regions")]
pub async fn create_region(
    state: web::Data<AppState>,
    _admin: Admin,
    body: JsonBody<NewRegion>,
) -> Result<HttpResponse, ApiError> {
    let NewRegion { code, name, municipalities } = body.into_inner();
    let mut conn = state.db().await?;
    let region = reference_data::create_region(&mut conn, &code, &name, &municipalities).await?;
    Ok(HttpResponse::Created().json(region))
}

/// One police region.
///
/// Who may call: administrators, and dispatchers and region managers of this region.
#[utoipa::path(
    tag = "reference data",
    security(("staff_token" = [])),
    params(("code" = String, Path, description = "The region code, e.g. `rotterdam`.")),
    responses(
        (status = 200, description = "The region.", body = Region),
        (status = 400, description = "Not a valid region code.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/regions/{code}")]
pub async fn get_region(
    state: web::Data<AppState>,
    Staff(member): Staff,
    code: web::Path<RegionCode>,
) -> Result<web::Json<Region>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(reference_data::region_for(&mut conn, &member, &code).await?))
}

/// The municipalities of a police region.
///
/// Who may call: administrators, and dispatchers and region managers of this region.
#[utoipa::path(
    tag = "reference data",
    security(("staff_token" = [])),
    params(("code" = String, Path, description = "The region code, e.g. `rotterdam`.")),
    responses(
        (status = 200, description = "The region's municipalities, by CBS code.", body = [Municipality]),
        (status = 400, description = "Not a valid region code.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/regions/{code}/municipalities")]
pub async fn list_region_municipalities(
    state: web::Data<AppState>,
    Staff(member): Staff,
    code: web::Path<RegionCode>,
) -> Result<web::Json<Vec<Municipality>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(reference_data::municipalities_of_region_for(&mut conn, &member, &code).await?))
}

/// Every region at a glance: its municipalities and inhabitants, its active participants (under 5
/// shown as `{"fewer_than": 5}`), and its active and draft alerts.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "reference data",
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "Every region with its figures, by name.", body = [RegionOverview]),
        StaffAccessProblems,
    )
)]
#[get("/v1/regions/overview")]
pub async fn regions_overview(
    state: web::Data<AppState>,
    Admin(admin): Admin,
) -> Result<web::Json<Vec<RegionOverview>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(overview::overview_for(&mut conn, &admin).await?))
}

/// The region as a map draws it: the box around it, its municipalities' boundaries (a GeoJSON
/// FeatureCollection of MultiPolygons, simplified to within 20 m, coordinates to 6 decimals),
/// where its participants are dense, and its active alerts with their current areas (circles
/// as the polygons they are stored as).
///
/// Density counts the distinct active participants with a registered place (home, work, other;
/// never a live position) in each 1 km square of the Dutch national grid (RD New); a square with
/// fewer than 5 is left out entirely.
///
/// Who may call: administrators, and dispatchers and region managers of this region.
#[utoipa::path(
    tag = "reference data",
    security(("staff_token" = [])),
    params(("code" = String, Path, description = "The region code, e.g. `rotterdam`.")),
    responses(
        (status = 200, description = "The region's map.", body = RegionMap),
        (status = 400, description = "Not a valid region code (`invalid_path_parameter`).", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/regions/{code}/map")]
pub async fn get_region_map(
    state: web::Data<AppState>,
    Staff(member): Staff,
    code: web::Path<RegionCode>,
) -> Result<web::Json<RegionMap>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(region_map::region_map_for(&mut conn, &member, &code).await?))
}
