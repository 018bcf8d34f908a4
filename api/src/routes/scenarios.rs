//! Scenarios (inzetscenario's): a region's managers keep the alerts its control room sends again
//! and again as templates, and its dispatchers create alerts from them by filling in the
//! description. The rules are in `burgernet_core::scenarios`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use burgernet_core::alerts::progress::{self, Alert};
use burgernet_core::ids::ScenarioId;
use burgernet_core::scenarios::{self, Scenario, ScenarioAlertRequest, ScenarioRequest};
use burgernet_core::vocabulary::regions::RegionCode;

use crate::auth::{Dispatcher, ScenarioKeeper, Staff};
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

/// The region's scenarios, by name (archived ones left out), each with the fields of the
/// description its texts use (`placeholders`).
///
/// Who may call: the region's dispatchers and region managers, and administrators. Staff of
/// another region get 403 `out_of_scope`.
#[utoipa::path(
    tag = "scenarios",
    security(("staff_token" = [])),
    params(("region_code" = String, Path, description = "The region's code, e.g. `rotterdam`.")),
    responses(
        (status = 200, description = "The scenarios.", body = Vec<Scenario>),
        (status = 400, description = "`invalid_path_parameter`: not a region code.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`not_found`: no such region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/regions/{region_code}/scenarios")]
pub async fn list_scenarios(
    state: web::Data<AppState>,
    Staff(member): Staff,
    region_code: web::Path<RegionCode>,
) -> Result<web::Json<Vec<Scenario>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(scenarios::list(&mut conn, &member, &region_code).await?))
}

/// Create a scenario in the region: category, urgency, channels, the circle's default radius and
/// the texts as templates with placeholders for the description (`{person.clothing}`,
/// `{vehicle.licence_plate}`, ...).
///
/// Who may call: the region's region managers, and administrators.
#[utoipa::path(
    tag = "scenarios",
    security(("staff_token" = [])),
    params(("region_code" = String, Path, description = "The region's code, e.g. `rotterdam`.")),
    request_body = ScenarioRequest,
    responses(
        (status = 201, description = "The scenario.", body = Scenario),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "`not_found`: no such region.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`scenario_name_taken`: another scenario of the region that is not archived has the name.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_scenario_name`, `invalid_channels`, `invalid_radius`, or `invalid_template`: an unknown placeholder, a brace without its pair, texts that are not valid with the placeholders empty or at their longest plausible values, or fixed text that alone overflows the SMS.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/regions/{region_code}/scenarios")]
pub async fn create_scenario(
    state: web::Data<AppState>,
    ScenarioKeeper(member): ScenarioKeeper,
    region_code: web::Path<RegionCode>,
    body: JsonBody<ScenarioRequest>,
) -> Result<HttpResponse, ApiError> {
    let draft = body.into_inner().parse(&state.channel_orders)?;
    let mut conn = state.db().await?;
    let scenario = scenarios::create(&mut conn, &member, &region_code, draft).await?;
    Ok(HttpResponse::Created().json(scenario))
}

/// Replace everything a scenario says. Alerts made from it stay as they are.
///
/// Who may call: the region managers of its region, and administrators. To managers of another
/// region it does not exist (404).
#[utoipa::path(
    tag = "scenarios",
    security(("staff_token" = [])),
    params(("scenario_id" = uuid::Uuid, Path, description = "The scenario.")),
    request_body = ScenarioRequest,
    responses(
        (status = 200, description = "The scenario as it now is.", body = Scenario),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "`scenario_not_found`: no such scenario of your region.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`scenario_name_taken`, or `scenario_archived`: an archived scenario changes no more.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "As when creating one: `invalid_body`, `invalid_scenario_name`, `invalid_channels`, `invalid_radius` or `invalid_template`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/scenarios/{scenario_id}")]
pub async fn replace_scenario(
    state: web::Data<AppState>,
    ScenarioKeeper(member): ScenarioKeeper,
    scenario_id: web::Path<uuid::Uuid>,
    body: JsonBody<ScenarioRequest>,
) -> Result<web::Json<Scenario>, ApiError> {
    let draft = body.into_inner().parse(&state.channel_orders)?;
    let mut conn = state.db().await?;
    Ok(web::Json(scenarios::replace(&mut conn, &member, ScenarioId(*scenario_id), draft).await?))
}

/// Archive a scenario: it is listed no more and makes no alerts; the alerts made from it keep
/// naming it in their dossier. Archiving it again changes nothing.
///
/// Who may call: the region managers of its region, and administrators. To managers of another
/// region it does not exist (404).
#[utoipa::path(
    tag = "scenarios",
    security(("staff_token" = [])),
    params(("scenario_id" = uuid::Uuid, Path, description = "The scenario.")),
    responses(
        (status = 204, description = "Archived."),
        (status = 400, description = "`invalid_path_parameter`: the id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`scenario_not_found`: no such scenario of your region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/scenarios/{scenario_id}")]
pub async fn archive_scenario(
    state: web::Data<AppState>,
    ScenarioKeeper(member): ScenarioKeeper,
    scenario_id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    scenarios::archive(&mut conn, &member, ScenarioId(*scenario_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create an alert from a scenario, as a draft: the scenario gives the category, urgency,
/// channels and texts, you give the description (every field its texts use), the circle's
/// center and optionally its radius, the call-back number, the purpose and target groups. The
/// texts are rendered with your values in place and the draft is checked and recorded as every
/// draft is (`POST /v1/alerts`); its dossier names the scenario. Send it with
/// `POST /v1/alerts/{id}/send`.
///
/// Who may call: the dispatchers of the scenario's region. To dispatchers of another region it
/// does not exist (404).
#[utoipa::path(
    tag = "scenarios",
    security(("staff_token" = [])),
    params(("scenario_id" = uuid::Uuid, Path, description = "The scenario.")),
    request_body = ScenarioAlertRequest,
    responses(
        (status = 201, description = "The draft.", body = Alert),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "`scenario_not_found`: no such scenario of your region.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`scenario_archived`: an archived scenario makes no alerts.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`missing_placeholder`: the description leaves out a field the texts use (named); or what `POST /v1/alerts` refuses: `invalid_description`, `invalid_text` (a value made a text too long), `invalid_radius`, `area_outside_region`, `invalid_call_back_number`, `invalid_body`, ...", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/scenarios/{scenario_id}/alerts")]
pub async fn create_alert_from_scenario(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    scenario_id: web::Path<uuid::Uuid>,
    body: JsonBody<ScenarioAlertRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let id = scenarios::create_alert(
        &mut conn,
        &dispatcher.member,
        ScenarioId(*scenario_id),
        body.into_inner(),
        &state.channel_orders,
        state.alert_areas,
    )
    .await?;
    Ok(HttpResponse::Created().json(progress::view(&mut conn, &dispatcher.member, id).await?))
}
