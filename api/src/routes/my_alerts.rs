//! The participant's alerts: the ones they received, in their language, with updates and the
//! closing message, the receipts their app reports, and their tips with photos and videos.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use burgernet_core::alerts::answers::{self, AnswerRequest, MyAnswer};
use burgernet_core::alerts::progress::{self, ReceiptKind, ReceivedAlert};
use burgernet_core::alerts::tips::{self, NewTipRequest, SenderKey, TipReceipt};
use burgernet_core::idempotency::{Answer, IdempotencyKey};
use burgernet_core::ids::{AlertId, DeviceId, MediaId, TipId};
use burgernet_core::media::uploads::{
    self, MediaDeclaration, MediaUpload, MyMedia, MyTip, Sender, UploadCompletion,
};
use burgernet_core::metrics::DeliveryResult;
use burgernet_core::vocabulary::Channel;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Participant;
use crate::error::{ApiError, JsonBodyProblems, ParticipantAccessProblems, Problem};
use crate::json::JsonBody;
use crate::state::AppState;

/// The alerts you received, newest first (the latest 50).
///
/// Who may call: a participant, for their own alerts.
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    responses((status = 200, description = "Your alerts.", body = [ReceivedAlert]), ParticipantAccessProblems)
)]
#[get("/v1/me/alerts")]
pub async fn list_my_alerts(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<Vec<ReceivedAlert>>, ApiError> {
    let mut conn = state.db().await?;
    let public_url = &state.messaging.public_url;
    Ok(web::Json(progress::received(&mut conn, participant.id(), None, public_url).await?))
}

/// One alert you received, with its updates and closing message.
///
/// Who may call: a participant who received the alert.
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    responses(
        (status = 200, description = "The alert.", body = ReceivedAlert),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        ParticipantAccessProblems,
        (status = 404, description = "You did not receive such an alert.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/alerts/{alert_id}")]
pub async fn get_my_alert(
    state: web::Data<AppState>,
    participant: Participant,
    alert_id: web::Path<Uuid>,
) -> Result<web::Json<ReceivedAlert>, ApiError> {
    let mut conn = state.db().await?;
    let public_url = &state.messaging.public_url;
    let mut found =
        progress::received(&mut conn, participant.id(), Some(AlertId(*alert_id)), public_url).await?;
    found.pop().map(web::Json).ok_or_else(|| ApiError::not_found("You did not receive such an alert."))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub kind: ReceiptKind,
    /// The device that showed the push, when the app knows it: its push then counts as delivered.
    #[schema(value_type = Option<Uuid>)]
    pub device_id: Option<Uuid>,
}

/// Report that your app received or opened an alert. Receipts are idempotent: the first of each
/// kind counts. A `received` receipt stops the SMS that would otherwise follow an urgent push.
///
/// Who may call: a participant who received the alert.
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = Receipt,
    responses(
        (status = 204, description = "Recorded."),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "You did not receive such an alert.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: an unknown kind.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/alerts/{alert_id}/receipts")]
pub async fn report_receipt(
    state: web::Data<AppState>,
    participant: Participant,
    alert_id: web::Path<Uuid>,
    body: JsonBody<Receipt>,
) -> Result<HttpResponse, ApiError> {
    let Receipt { kind, device_id } = body.into_inner();
    let mut conn = state.db().await?;
    let delivered = progress::record_receipt(
        &mut conn,
        participant.id(),
        AlertId(*alert_id),
        kind,
        device_id.map(DeviceId),
    )
    .await?;
    // The app confirmed arrival: the push counts as delivered, as an SMS receipt does.
    state.metrics.deliveries.count(Channel::Push, DeliveryResult::Delivered, delivered as u64);
    Ok(HttpResponse::NoContent().finish())
}

/// The `Idempotency-Key` header, when the app sent one.
fn idempotency_key(request: &HttpRequest) -> Result<Option<IdempotencyKey>, ApiError> {
    request
        .headers()
        .get(IdempotencyKey::HEADER)
        .map(|value| IdempotencyKey::parse(value.to_str().unwrap_or_default()).map_err(ApiError::from))
        .transpose()
}

/// Marks an answer that repeats the first answer to the same idempotency key.
fn replayed<T: serde::Serialize>(status: StatusCode, answer: Answer<T>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    if answer.replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.json(answer.value)
}

fn sender<'a>(participant: &Participant, key: &'a Option<SenderKey>) -> Sender<'a> {
    Sender { participant: participant.id(), key: key.as_ref() }
}

fn sender_key(request: &HttpRequest) -> Option<SenderKey> {
    request.headers().get(SenderKey::HEADER).and_then(|value| value.to_str().ok()).map(SenderKey::from_header)
}

/// Send a tip about an active alert you received: what you saw, when and where, and whether the
/// control room may call you back. Choose `anonymous` and nothing stored names you; keep the
/// `sender_key` of the answer to attach photos and videos. Send an `Idempotency-Key` header so a
/// retry after a lost answer returns the first answer instead of a second tip.
///
/// Who may call: a participant who received the alert.
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(
        ("alert_id" = Uuid, Path, description = "The alert."),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters, new for each tip."),
    ),
    request_body = NewTipRequest,
    responses(
        (status = 201, description = "The control room has your tip. A retry with the same key answers the same, with `Idempotent-Replayed: true`.", body = TipReceipt),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "You did not receive such an alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_closed`: the alert is over and takes no more tips.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_tip`, `invalid_coordinates`, `invalid_accuracy`, `invalid_idempotency_key`, `idempotency_key_reused` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many tips this hour; see Retry-After.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/alerts/{alert_id}/tips")]
pub async fn send_tip(
    state: web::Data<AppState>,
    participant: Participant,
    request: HttpRequest,
    alert_id: web::Path<Uuid>,
    body: JsonBody<NewTipRequest>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&request)?;
    let mut conn = state.db().await?;
    let counters = state.participant_tokens.key().counter_key();
    let answer = tips::submit(
        &mut conn,
        &state.tips,
        counters,
        participant.id(),
        AlertId(*alert_id),
        &body,
        key.as_ref(),
    )
    .await?;
    Ok(replayed(StatusCode::CREATED, answer))
}

/// Answer an alert you received with one tap, or change your answer: `seen_now` (with your
/// position when your phone knows it: the control room gets it at once as a tip of high
/// priority), `searching`, `not_in_area` or `cannot_help`. The app offers these as actions on the
/// alert's notification (category `BURGERNET_ALERT_ANSWERS`) and in the alert (`answers`); an
/// `inform` alert takes none. The same answer again changes nothing, except that every `seen_now`
/// is a new sighting.
///
/// Who may call: a participant who received the alert, while it is active.
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = AnswerRequest,
    responses(
        (status = 200, description = "Your answer as it stands.", body = MyAnswer),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "You did not receive such an alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_closed`: the alert is over and takes no more answers.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`answer_not_offered` (an `inform` alert), `invalid_answer` (a position with an answer other than `seen_now`), `invalid_coordinates`, `invalid_accuracy` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many answers or tips this hour; see Retry-After.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/me/alerts/{alert_id}/answer")]
pub async fn answer_alert(
    state: web::Data<AppState>,
    participant: Participant,
    alert_id: web::Path<Uuid>,
    body: JsonBody<AnswerRequest>,
) -> Result<web::Json<MyAnswer>, ApiError> {
    let mut conn = state.db().await?;
    let counters = state.participant_tokens.key().counter_key();
    let request = body.into_inner();
    let answer =
        answers::answer(&mut conn, &state.tips, counters, participant.id(), AlertId(*alert_id), request)
            .await?;
    Ok(web::Json(answer))
}

/// One of your tips with the state of each photo and video. For an anonymous tip, send its
/// `Tip-Sender-Key`.
///
/// Who may call: the participant who sent the tip.
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(
        ("alert_id" = Uuid, Path, description = "The alert."),
        ("tip_id" = Uuid, Path, description = "The tip."),
        ("Tip-Sender-Key" = Option<String>, Header, description = "For an anonymous tip: the sender_key its receipt held."),
    ),
    responses(
        (status = 200, description = "The tip.", body = MyTip),
        (status = 400, description = "An id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        ParticipantAccessProblems,
        (status = 404, description = "No such tip of yours.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/alerts/{alert_id}/tips/{tip_id}")]
pub async fn get_my_tip(
    state: web::Data<AppState>,
    participant: Participant,
    request: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<MyTip>, ApiError> {
    let (alert_id, tip_id) = path.into_inner();
    let key = sender_key(&request);
    let mut conn = state.db().await?;
    Ok(web::Json(
        uploads::my_tip(&mut conn, &sender(&participant, &key), AlertId(alert_id), TipId(tip_id)).await?,
    ))
}

/// Attach a photo or video to your tip: declare its type, size and SHA-256, and upload it with the
/// request(s) in the answer, straight to the media store: one PUT up to the single-upload limit
/// (100 MiB), parts above it. Then report completion. Photos (JPEG, PNG, HEIC, WebP) up to 40 MiB,
/// video (MP4, QuickTime) up to 1 GiB, at most 10 per tip. Send an `Idempotency-Key` so a retry
/// does not declare the file twice.
///
/// Who may call: the participant who sent the tip (with its `Tip-Sender-Key` if anonymous).
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(
        ("alert_id" = Uuid, Path, description = "The alert."),
        ("tip_id" = Uuid, Path, description = "The tip."),
        ("Tip-Sender-Key" = Option<String>, Header, description = "For an anonymous tip: the sender_key its receipt held."),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters, new for each file."),
    ),
    request_body = MediaDeclaration,
    responses(
        (status = 201, description = "Declared; upload as the answer says.", body = MediaUpload),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "No such tip of yours.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_closed` or `too_many_media`.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`media_type_not_allowed`, `media_empty`, `media_too_large`, `invalid_sha256`, `invalid_idempotency_key`, `idempotency_key_reused` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many files this hour; see Retry-After.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`media_store_unavailable`: retry later.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/alerts/{alert_id}/tips/{tip_id}/media")]
pub async fn declare_media(
    state: web::Data<AppState>,
    participant: Participant,
    request: HttpRequest,
    path: web::Path<(Uuid, Uuid)>,
    body: JsonBody<MediaDeclaration>,
) -> Result<HttpResponse, ApiError> {
    let (alert_id, tip_id) = path.into_inner();
    let idempotency = idempotency_key(&request)?;
    let key = sender_key(&request);
    let mut conn = state.db().await?;
    let answer = uploads::declare(
        &mut conn,
        &state.media_store,
        &state.media,
        state.participant_tokens.key().counter_key(),
        &sender(&participant, &key),
        AlertId(alert_id),
        TipId(tip_id),
        &body,
        idempotency.as_ref(),
    )
    .await?;
    Ok(replayed(StatusCode::CREATED, answer))
}

/// Report that the upload is done (for an upload in parts, with each part's number and ETag). The
/// file is then checked and its state follows: `uploaded`, `processing`, then `ready` or
/// `rejected` with a reason. Reporting again answers the current state.
///
/// Who may call: the participant who sent the tip (with its `Tip-Sender-Key` if anonymous).
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(
        ("alert_id" = Uuid, Path, description = "The alert."),
        ("tip_id" = Uuid, Path, description = "The tip."),
        ("media_id" = Uuid, Path, description = "The photo or video."),
        ("Tip-Sender-Key" = Option<String>, Header, description = "For an anonymous tip: the sender_key its receipt held."),
    ),
    request_body = UploadCompletion,
    responses(
        (status = 200, description = "The file's state.", body = MyMedia),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "No such tip of yours, or no such file on it.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`upload_missing`: the file (or a part) has not arrived, or the parts named leave one out or carry another ETag; nothing was completed, so report again once every part is uploaded; `media_expired`: too late.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_part_list`: a part is named twice or out of ascending order; `invalid_body`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`media_store_unavailable`: retry later.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/alerts/{alert_id}/tips/{tip_id}/media/{media_id}/completion")]
pub async fn complete_media(
    state: web::Data<AppState>,
    participant: Participant,
    request: HttpRequest,
    path: web::Path<(Uuid, Uuid, Uuid)>,
    body: JsonBody<UploadCompletion>,
) -> Result<web::Json<MyMedia>, ApiError> {
    let (alert_id, tip_id, media_id) = path.into_inner();
    let key = sender_key(&request);
    let mut conn = state.db().await?;
    let media = uploads::complete(
        &mut conn,
        &state.media_store,
        &sender(&participant, &key),
        AlertId(alert_id),
        TipId(tip_id),
        MediaId(media_id),
        &body,
    )
    .await?;
    Ok(web::Json(media))
}
