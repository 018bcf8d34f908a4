//! The control room's side of tips: the list with each tip's photos and videos, short-lived links
//! to look at them (and, with a reason, to download an original), the assessment of a tip, and
//! legal holds that keep evidence past its retention. Everything is written to the dossier.

use actix_web::{HttpResponse, delete, get, post, put, web};
use burgernet_core::alerts::tip_review::{self, LegalHold, LegalHoldRequest, Tip, TipAssessment};
use burgernet_core::ids::{AlertId, MediaId, TipId};
use burgernet_core::media::Preview;
use burgernet_core::media::review::{self, MediaLink, OriginalDownloadRequest};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{AlertViewer, Dispatcher, EvidenceKeeper};
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

/// The alert's tips, newest first: where and when the sender saw it, the number to call back if
/// they allowed it, the assessment, a legal hold, and each photo and video with its state,
/// verified hash, restricted capture metadata and a thumbnail link (valid 5 minutes). The viewing
/// is recorded in the dossier (once per quarter of an hour per staff member).
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "The tips.", body = [Tip]),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`media_store_unavailable`: retry later.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/alerts/{alert_id}/tips")]
pub async fn list_tips(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    alert_id: web::Path<Uuid>,
) -> Result<web::Json<Vec<Tip>>, ApiError> {
    let alert = AlertId(*alert_id);
    let mut conn = state.db().await?;
    let tips = tip_review::list(&mut conn, &state.media_store, &state.media, &viewer.0, alert).await?;
    Ok(web::Json(tips))
}

/// Record what the control room made of a tip: `relevant`, `not_relevant`, or `forwarded` to a
/// unit (named in `forwarded_to`), with a note. A new assessment replaces the earlier one; both
/// stay in the dossier.
///
/// Who may call: dispatchers of the alert's region.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert."), ("tip_id" = Uuid, Path, description = "The tip.")),
    request_body = TipAssessment,
    responses(
        (status = 200, description = "The assessment as recorded.", body = TipAssessment),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert, or no such tip in it.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_assessment` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/alerts/{alert_id}/tips/{tip_id}/assessment")]
pub async fn assess_tip(
    state: web::Data<AppState>,
    dispatcher: Dispatcher,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<TipAssessment>,
) -> Result<web::Json<TipAssessment>, ApiError> {
    let (alert, tip) = path.into_inner();
    let mut conn = state.db().await?;
    Ok(web::Json(tip_review::assess(&mut conn, &dispatcher.member, AlertId(alert), TipId(tip), &body).await?))
}

/// Place a legal hold on a tip: it and its media are kept past the retention period until the
/// hold is lifted.
///
/// Who may call: dispatchers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert."), ("tip_id" = Uuid, Path, description = "The tip.")),
    request_body = LegalHoldRequest,
    responses(
        (status = 200, description = "The hold.", body = LegalHold),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert, or no such tip in it.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_reason` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/alerts/{alert_id}/tips/{tip_id}/legal-hold")]
pub async fn place_tip_hold(
    state: web::Data<AppState>,
    keeper: EvidenceKeeper,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<LegalHoldRequest>,
) -> Result<HttpResponse, ApiError> {
    let (alert, tip) = path.into_inner();
    legal_hold(&state, &keeper, AlertId(alert), Some(TipId(tip)), Some(&body)).await
}

/// Lift a tip's legal hold: it is deleted with the rest once its retention has passed.
///
/// Who may call: dispatchers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert."), ("tip_id" = Uuid, Path, description = "The tip.")),
    responses(
        (status = 204, description = "No hold remains."),
        (status = 400, description = "An id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert, or no such tip in it.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/alerts/{alert_id}/tips/{tip_id}/legal-hold")]
pub async fn lift_tip_hold(
    state: web::Data<AppState>,
    keeper: EvidenceKeeper,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (alert, tip) = path.into_inner();
    legal_hold(&state, &keeper, AlertId(alert), Some(TipId(tip)), None).await
}

/// Place a legal hold on the whole alert: all its tips and media are kept past the retention
/// period until the hold is lifted.
///
/// Who may call: dispatchers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = LegalHoldRequest,
    responses(
        (status = 200, description = "The hold.", body = LegalHold),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_reason` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/alerts/{alert_id}/legal-hold")]
pub async fn place_alert_hold(
    state: web::Data<AppState>,
    keeper: EvidenceKeeper,
    alert_id: web::Path<Uuid>,
    body: JsonBody<LegalHoldRequest>,
) -> Result<HttpResponse, ApiError> {
    legal_hold(&state, &keeper, AlertId(*alert_id), None, Some(&body)).await
}

/// Lift the alert's legal hold (holds on single tips stay).
///
/// Who may call: dispatchers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 204, description = "No hold remains on the alert."),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/alerts/{alert_id}/legal-hold")]
pub async fn lift_alert_hold(
    state: web::Data<AppState>,
    keeper: EvidenceKeeper,
    alert_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    legal_hold(&state, &keeper, AlertId(*alert_id), None, None).await
}

async fn legal_hold(
    state: &AppState,
    keeper: &EvidenceKeeper,
    alert: AlertId,
    tip: Option<TipId>,
    request: Option<&LegalHoldRequest>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let hold = tip_review::set_legal_hold(&mut conn, &keeper.0, alert, tip, request).await?;
    Ok(match hold {
        Some(hold) => HttpResponse::Ok().json(hold),
        None => HttpResponse::NoContent().finish(),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewRequest {
    /// `thumbnail` or `display` for a photo, `poster` or `video` for a video: one of the file's
    /// `previews`.
    pub preview: Preview,
}

/// A link to a photo's thumbnail or display image, or a video's poster frame or playable preview
/// (`video/mp4`: H.264 and AAC, at most 720p, for a `<video>` element; the link answers `Range`
/// requests), valid for at most 5 minutes. Previews carry no metadata. The viewing is recorded in
/// the dossier.
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert."), ("media_id" = Uuid, Path, description = "The photo or video.")),
    request_body = ViewRequest,
    responses(
        (status = 200, description = "The link.", body = MediaLink),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert, or no such file in it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`media_not_ready`, or `no_preview`: the file has no such preview (see its `previews`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`media_store_unavailable`: the link could not be made; retry later.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/{alert_id}/media/{media_id}/views")]
pub async fn view_media(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<ViewRequest>,
) -> Result<web::Json<MediaLink>, ApiError> {
    let (alert, media) = path.into_inner();
    let mut conn = state.db().await?;
    let link = review::view(
        &mut conn,
        &state.media_store,
        &state.media,
        &viewer.0,
        AlertId(alert),
        MediaId(media),
        body.preview,
    )
    .await?;
    Ok(web::Json(link))
}

/// A link to download the original, unchanged, valid for at most 5 minutes. A reason is required;
/// it is recorded in the dossier with who asked.
///
/// Who may call: dispatchers and region managers of the alert's region, and administrators.
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert."), ("media_id" = Uuid, Path, description = "The photo or video.")),
    request_body = OriginalDownloadRequest,
    responses(
        (status = 200, description = "The link.", body = MediaLink),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert, or no such file in it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`media_not_ready`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_reason` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`media_store_unavailable`: the link could not be made; retry later.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/alerts/{alert_id}/media/{media_id}/original-downloads")]
pub async fn download_original(
    state: web::Data<AppState>,
    viewer: AlertViewer,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<OriginalDownloadRequest>,
) -> Result<web::Json<MediaLink>, ApiError> {
    let (alert, media) = path.into_inner();
    let mut conn = state.db().await?;
    let link = review::download_original(
        &mut conn,
        &state.media_store,
        &state.media,
        &viewer.0,
        AlertId(alert),
        MediaId(media),
        &body,
    )
    .await?;
    Ok(web::Json(link))
}
