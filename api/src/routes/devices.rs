//! The participant's push devices.

use actix_web::{HttpResponse, delete, get, post, put, web};
use burgernet_core::ids::DeviceId;
use burgernet_core::participants::account::{self, Device, DeviceInput};
use burgernet_core::vocabulary::InvalidInput;
use burgernet_core::vocabulary::devices::{
    ApnsEnvironment, AppVersion, Locale, Platform, PushToken, check_apns_environment,
};
use serde::Deserialize;

use crate::auth::Participant;
use crate::error::{ApiError, JsonBodyProblems, ParticipantAccessProblems, Problem};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceBody {
    pub platform: Platform,
    /// The APNs device token (hexadecimal) on iOS, the FCM registration token on Android.
    pub push_token: String,
    /// Required on iOS (`sandbox` for development builds), absent on Android.
    #[serde(default)]
    pub apns_environment: Option<ApnsEnvironment>,
    /// The app's version, e.g. `2.4.1`.
    pub app_version: String,
    /// The device's locale, e.g. `nl-NL`.
    pub locale: String,
}

impl DeviceBody {
    fn parse(self) -> Result<DeviceInput, InvalidInput> {
        Ok(DeviceInput {
            push_token: PushToken::parse(self.platform, &self.push_token)?,
            apns_environment: check_apns_environment(self.platform, self.apns_environment)?,
            platform: self.platform,
            app_version: AppVersion::parse(&self.app_version)?,
            locale: Locale::parse(&self.locale)?,
        })
    }
}

/// Your push devices.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 200, description = "The devices, oldest first.", body = [Device]), ParticipantAccessProblems)
)]
#[get("/v1/me/devices")]
pub async fn list_devices(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<Vec<Device>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(account::devices(&mut conn, participant.id()).await?))
}

/// Register a push device.
///
/// Who may call: a participant. A token registered before (by you or by someone else, e.g. on a
/// phone that changed hands) moves to you: a token has one owner.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    request_body = DeviceBody,
    responses(
        (status = 200, description = "The token was registered already; it is now yours and up to date.", body = Device),
        (status = 201, description = "Registered.", body = Device),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 409, description = "`too_many_devices`: at most 10 per participant.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_push_token`, `invalid_device`, `invalid_app_version` or `invalid_locale`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/devices")]
pub async fn register_device(
    state: web::Data<AppState>,
    participant: Participant,
    body: JsonBody<DeviceBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner().parse()?;
    let mut conn = state.db().await?;
    let (device, created) = account::register_device(&mut conn, participant.id(), input).await?;
    Ok(if created { HttpResponse::Created().json(device) } else { HttpResponse::Ok().json(device) })
}

/// Update a device: a refreshed token, a new app version or locale.
///
/// Who may call: a participant, for their own devices.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    params(("device_id" = uuid::Uuid, Path, description = "The device.")),
    request_body = DeviceBody,
    responses(
        (status = 200, description = "The device.", body = Device),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "You have no such device.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "As for registering: `invalid_body`, `invalid_push_token`, `invalid_device`, `invalid_app_version` or `invalid_locale`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/me/devices/{device_id}")]
pub async fn update_device(
    state: web::Data<AppState>,
    participant: Participant,
    device_id: web::Path<uuid::Uuid>,
    body: JsonBody<DeviceBody>,
) -> Result<web::Json<Device>, ApiError> {
    let input = body.into_inner().parse()?;
    let mut conn = state.db().await?;
    Ok(web::Json(account::update_device(&mut conn, participant.id(), DeviceId(*device_id), input).await?))
}

/// Remove a device; it receives no more pushes.
///
/// Who may call: a participant, for their own devices.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    params(("device_id" = uuid::Uuid, Path, description = "The device.")),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        ParticipantAccessProblems,
        (status = 404, description = "You have no such device.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/devices/{device_id}")]
pub async fn remove_device(
    state: web::Data<AppState>,
    participant: Participant,
    device_id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    account::remove_device(&mut conn, participant.id(), DeviceId(*device_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
