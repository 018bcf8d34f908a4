//! The municipal messages a participant received in the app (newsletters, preventive messages),
//! and the app's report that one was opened.

use actix_web::{HttpResponse, get, post, web};
use burgernet_core::ids::MunicipalMessageId;
use burgernet_core::messages::responses::{self, ReceivedMessage};
use uuid::Uuid;

use crate::auth::Participant;
use crate::error::{ApiError, ParticipantAccessProblems, Problem};
use crate::state::AppState;

const NOT_RECEIVED: &str = "You did not receive such a message in the app.";

/// The municipal messages you received in the app, newest first (the latest 50).
///
/// Who may call: a participant, for their own messages.
#[utoipa::path(
    tag = "my messages",
    security(("participant_token" = [])),
    responses((status = 200, description = "Your messages.", body = [ReceivedMessage]), ParticipantAccessProblems)
)]
#[get("/v1/me/messages")]
pub async fn list_my_messages(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<Vec<ReceivedMessage>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(responses::received(&mut conn, participant.id()).await?))
}

/// One municipal message you received in the app, in your language when the municipality wrote
/// one.
///
/// Who may call: a participant who received the message in the app.
#[utoipa::path(
    tag = "my messages",
    security(("participant_token" = [])),
    params(("message_id" = Uuid, Path, description = "The message (`municipal_message_id` in the push).")),
    responses(
        (status = 200, description = "The message.", body = ReceivedMessage),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        ParticipantAccessProblems,
        (status = 404, description = "You did not receive such a message in the app.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/me/messages/{message_id}")]
pub async fn get_my_message(
    state: web::Data<AppState>,
    participant: Participant,
    message_id: web::Path<Uuid>,
) -> Result<web::Json<ReceivedMessage>, ApiError> {
    let mut conn = state.db().await?;
    let id = MunicipalMessageId(message_id.into_inner());
    let message = responses::received_one(&mut conn, participant.id(), id).await?;
    Ok(web::Json(message.ok_or_else(|| ApiError::not_found(NOT_RECEIVED))?))
}

/// The app showed the message: it counts as opened in the municipality's figures. Reporting it
/// again changes nothing.
///
/// Who may call: a participant who received the message in the app.
#[utoipa::path(
    tag = "my messages",
    security(("participant_token" = [])),
    params(("message_id" = Uuid, Path, description = "The message.")),
    responses(
        (status = 204, description = "Recorded."),
        (status = 400, description = "The id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        ParticipantAccessProblems,
        (status = 404, description = "You did not receive such a message in the app.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/messages/{message_id}/opened")]
pub async fn report_opened(
    state: web::Data<AppState>,
    participant: Participant,
    message_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let id = MunicipalMessageId(message_id.into_inner());
    if responses::opened(&mut conn, participant.id(), id).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found(NOT_RECEIVED))
    }
}
