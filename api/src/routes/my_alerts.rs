//! The participant's alerts: the ones they received, in their language, with updates and the
//! closing message, the receipts their app reports, and their tips.

use actix_web::{HttpResponse, get, post, web};
use burgernet_core::alerts::progress::{self, ReceiptKind, ReceivedAlert};
use burgernet_core::alerts::tips::{self, NewTipRequest, TipReceipt};
use burgernet_core::ids::{AlertId, DeviceId};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Participant;
use crate::error::{ApiError, JsonBodyProblems, ParticipantAccessProblems, Problem};
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
    Ok(web::Json(progress::received(&mut conn, participant.id(), None).await?))
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
    let mut found = progress::received(&mut conn, participant.id(), Some(AlertId(*alert_id))).await?;
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
    body: web::Json<Receipt>,
) -> Result<HttpResponse, ApiError> {
    let Receipt { kind, device_id } = body.into_inner();
    let mut conn = state.db().await?;
    progress::record_receipt(&mut conn, participant.id(), AlertId(*alert_id), kind, device_id.map(DeviceId))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a tip about an active alert you received: what you saw, when and where, and whether the
/// control room may call you back. Choose `anonymous` and nothing stored names you.
///
/// Who may call: a participant who received the alert.
#[utoipa::path(
    tag = "my alerts",
    security(("participant_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = NewTipRequest,
    responses(
        (status = 201, description = "The control room has your tip.", body = TipReceipt),
        JsonBodyProblems,
        ParticipantAccessProblems,
        (status = 404, description = "You did not receive such an alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_closed`: the alert is over and takes no more tips.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_tip`, `invalid_coordinates`, `invalid_accuracy` or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/alerts/{alert_id}/tips")]
pub async fn send_tip(
    state: web::Data<AppState>,
    participant: Participant,
    alert_id: web::Path<Uuid>,
    body: web::Json<NewTipRequest>,
) -> Result<HttpResponse, ApiError> {
    let tip = body.into_inner().parse(chrono::Utc::now())?;
    let mut conn = state.db().await?;
    let receipt = tips::submit(&mut conn, participant.id(), AlertId(*alert_id), tip).await?;
    Ok(HttpResponse::Created().json(receipt))
}
