//! The participant's own session.

use actix_web::{get, web};
use burgernet_core::ids::ParticipantId;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::auth::Participant;
use crate::error::Problem;

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Session {
    pub participant_id: ParticipantId,
    /// When the access token stops working; refresh before then.
    pub expires_at: DateTime<Utc>,
}

/// The session the app's access token belongs to.
///
/// Who may call: a participant with a valid access token. The app uses it to check whether it
/// is still signed in and when to refresh.
#[utoipa::path(
    tag = "participants",
    security(("participant_token" = [])),
    responses(
        (status = 200, description = "The session.", body = Session),
        (status = 401, description = "No token, or an invalid or expired one.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A staff token.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/session")]
pub async fn current_session(Participant(participant): Participant) -> web::Json<Session> {
    web::Json(Session { participant_id: participant.participant_id, expires_at: participant.expires_at })
}
