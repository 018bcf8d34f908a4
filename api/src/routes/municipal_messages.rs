//! A municipality's messages to its own participants (Burgernetmail: newsletters and preventive
//! messages): write, preview, schedule, cancel, and read with their figures.

use actix_web::{HttpResponse, get, post, web};
use burgernet_core::ids::MunicipalMessageId;
use burgernet_core::messages::{self, Draft, MessagePage, MessageReach, MessageTexts, MunicipalMessage};
use burgernet_core::participants::management::Page;
use burgernet_core::vocabulary::area::AreaShape;
use burgernet_core::vocabulary::regions::CbsCode;
use burgernet_core::vocabulary::{Channel, MunicipalMessageKind};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::{ParticipantManager, Staff};
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessageBody {
    pub kind: MunicipalMessageKind,
    /// `email` and/or `push`; which each kind may use is a setting (by default both, never SMS).
    pub channels: Vec<Channel>,
    /// Dutch always; English for participants who chose English, optional.
    pub texts: MessageTexts,
    /// Only participants with a place in this area (drawn within the municipality, as an alert's
    /// area is drawn); left out: every participant of the municipality who opted in.
    pub area: Option<AreaShape>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// When to send it, at most 92 days ahead; left out (or a moment just past): now.
    pub send_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MessagePageQuery {
    /// From 1 to 1,000,000; default 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 1 to 100; default 25.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

fn message_path(path: web::Path<(CbsCode, uuid::Uuid)>) -> (CbsCode, MunicipalMessageId) {
    let (cbs_code, id) = path.into_inner();
    (cbs_code, MunicipalMessageId(id))
}

/// Write a message to the municipality's participants, as a draft.
///
/// Who may call: the municipality's relations officers, and administrators. The message goes only
/// to active participants of the municipality who opted in to its kind, by the channels chosen.
#[utoipa::path(
    tag = "municipal messages",
    security(("staff_token" = [])),
    params(("cbs_code" = String, Path, description = "The municipality's CBS code, e.g. `GM0599`.")),
    request_body = NewMessageBody,
    responses(
        (status = 201, description = "The draft.", body = MunicipalMessage),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such municipality.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_message_text`, `invalid_channels`, `channel_not_allowed` (the kind may not use it), or the area: `invalid_area`, `invalid_radius`, `too_many_vertices`, `area_too_small`, `area_too_large`, `area_outside_municipality`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/municipalities/{cbs_code}/messages")]
pub async fn create_message(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    cbs_code: web::Path<CbsCode>,
    body: JsonBody<NewMessageBody>,
) -> Result<HttpResponse, ApiError> {
    manager.ensure_municipality(cbs_code.as_str())?;
    let body = body.into_inner();
    let draft = Draft { kind: body.kind, channels: body.channels, texts: body.texts, area: body.area };
    let mut conn = state.db().await?;
    let message = messages::create(
        &mut conn,
        &manager.0,
        &cbs_code,
        draft,
        &state.municipal_message_channels,
        state.alert_areas,
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/v1/municipalities/{}/messages/{}", cbs_code.as_str(), message.id),
        ))
        .json(message))
}

/// The municipality's messages, newest first, each with its figures once it started sending.
///
/// Who may call: the municipality's relations officers; dispatchers and region managers of its
/// region (to read); administrators. Counts of people under 5 are shown as `{"fewer_than": 5}`.
#[utoipa::path(
    tag = "municipal messages",
    security(("staff_token" = [])),
    params(("cbs_code" = String, Path, description = "The municipality's CBS code."), MessagePageQuery),
    responses(
        (status = 200, description = "One page of messages.", body = MessagePage),
        (status = 400, description = "A malformed CBS code or query (`invalid_query`).", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/municipalities/{cbs_code}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    Staff(member): Staff,
    cbs_code: web::Path<CbsCode>,
    query: web::Query<MessagePageQuery>,
) -> Result<web::Json<MessagePage>, ApiError> {
    let page = Page::parse(query.page, query.per_page)
        .map_err(|invalid| ApiError::bad_request("invalid_query", invalid.detail))?;
    let mut conn = state.db().await?;
    Ok(web::Json(messages::list(&mut conn, &member, &cbs_code, page).await?))
}

/// One message with its figures: recipients, and per channel pending, sent, failed, bounced
/// (e-mail) and opened in the app (push); participants who unsubscribed through it.
///
/// Who may call: as for the list.
#[utoipa::path(
    tag = "municipal messages",
    security(("staff_token" = [])),
    params(
        ("cbs_code" = String, Path, description = "The municipality's CBS code."),
        ("message_id" = uuid::Uuid, Path, description = "The message."),
    ),
    responses(
        (status = 200, description = "The message.", body = MunicipalMessage),
        (status = 400, description = "A malformed CBS code or id.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such municipality, or no such message of it.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/municipalities/{cbs_code}/messages/{message_id}")]
pub async fn get_message(
    state: web::Data<AppState>,
    Staff(member): Staff,
    path: web::Path<(CbsCode, uuid::Uuid)>,
) -> Result<web::Json<MunicipalMessage>, ApiError> {
    let (cbs_code, id) = message_path(path);
    let mut conn = state.db().await?;
    Ok(web::Json(messages::get(&mut conn, &member, &cbs_code, id).await?))
}

/// How many the message would reach if it were sent now: participants, and per channel.
///
/// Who may call: the municipality's relations officers, and administrators. Counts under 5 are
/// shown as `{"fewer_than": 5}`.
#[utoipa::path(
    tag = "municipal messages",
    security(("staff_token" = [])),
    params(
        ("cbs_code" = String, Path, description = "The municipality's CBS code."),
        ("message_id" = uuid::Uuid, Path, description = "The message."),
    ),
    responses(
        (status = 200, description = "The reach now.", body = MessageReach),
        (status = 400, description = "A malformed CBS code or id.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such municipality, or no such message of it.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/municipalities/{cbs_code}/messages/{message_id}/preview")]
pub async fn preview_message(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    path: web::Path<(CbsCode, uuid::Uuid)>,
) -> Result<web::Json<MessageReach>, ApiError> {
    let (cbs_code, id) = message_path(path);
    manager.ensure_municipality(cbs_code.as_str())?;
    let mut conn = state.db().await?;
    Ok(web::Json(messages::preview(&mut conn, &manager.0, &cbs_code, id).await?))
}

/// Schedule a draft, for a time or now. It is sent in the background; its recipients are taken
/// when sending starts.
///
/// Who may call: the municipality's relations officers, and administrators.
#[utoipa::path(
    tag = "municipal messages",
    security(("staff_token" = [])),
    params(
        ("cbs_code" = String, Path, description = "The municipality's CBS code."),
        ("message_id" = uuid::Uuid, Path, description = "The message."),
    ),
    request_body = ScheduleBody,
    responses(
        (status = 200, description = "The scheduled message.", body = MunicipalMessage),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such municipality, or no such message of it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`message_not_draft`: it was scheduled, sent or cancelled already.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, or `invalid_send_at`: in the past or more than 92 days ahead.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/municipalities/{cbs_code}/messages/{message_id}/schedule")]
pub async fn schedule_message(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    path: web::Path<(CbsCode, uuid::Uuid)>,
    body: JsonBody<ScheduleBody>,
) -> Result<web::Json<MunicipalMessage>, ApiError> {
    let (cbs_code, id) = message_path(path);
    manager.ensure_municipality(cbs_code.as_str())?;
    let send_at = body.into_inner().send_at;
    let mut conn = state.db().await?;
    Ok(web::Json(messages::schedule(&mut conn, &manager.0, &cbs_code, id, send_at).await?))
}

/// Cancel a draft or scheduled message: nobody receives it. Cancelling it again changes nothing.
///
/// Who may call: the municipality's relations officers, and administrators.
#[utoipa::path(
    tag = "municipal messages",
    security(("staff_token" = [])),
    params(
        ("cbs_code" = String, Path, description = "The municipality's CBS code."),
        ("message_id" = uuid::Uuid, Path, description = "The message."),
    ),
    responses(
        (status = 200, description = "The cancelled message.", body = MunicipalMessage),
        (status = 400, description = "A malformed CBS code or id.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such municipality, or no such message of it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`message_already_sending`: it is being sent or was sent.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/municipalities/{cbs_code}/messages/{message_id}/cancel")]
pub async fn cancel_message(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    path: web::Path<(CbsCode, uuid::Uuid)>,
) -> Result<web::Json<MunicipalMessage>, ApiError> {
    let (cbs_code, id) = message_path(path);
    manager.ensure_municipality(cbs_code.as_str())?;
    let mut conn = state.db().await?;
    Ok(web::Json(messages::cancel(&mut conn, &manager.0, &cbs_code, id).await?))
}
