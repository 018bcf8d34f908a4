//! One-tap answers: a recipient answers an alert from its notification (the push carries the
//! answers as actions, see [`PUSH_CATEGORY`]) or in the app, with one of `seen_now` (with the
//! phone's position when it gives one), `searching`, `not_in_area` or `cannot_help`, and may change
//! it. Only the latest answer is kept, on the recipient's row; the control room sees the counts
//! per answer in the counters (and so on the event stream), and every answer in the dossier. A
//! `seen_now` answer is also a tip of high priority, at the top of the tips list until assessed.
//! An update can go to the recipients with some answers only (`lifecycle::post_update`).

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::tips::{self, TipDraft, TipError, TipLocation, TipSettings};
use super::{Actor, Category, dossier};
use crate::db::alerts as queries;
use crate::ids::{AlertId, ParticipantId, TipId};
use crate::participants::rate_limits::{self, CounterKey};
use crate::vocabulary::InvalidInput;
use crate::vocabulary::alerts::{AlertAnswer, AlertStatus};

/// The notification category the app registers with these answers as actions: APNs
/// `aps.category`, FCM `android.notification.click_action`.
pub const PUSH_CATEGORY: &str = "BURGERNET_ALERT_ANSWERS";

/// Answers (changes included) one participant may give per hour, over all alerts.
const ANSWERS_PER_HOUR: i32 = 60;

/// The answers an alert of `category` takes: none for `inform` alerts, which ask nothing.
pub fn offered(category: Category) -> &'static [AlertAnswer] {
    match category {
        Category::Inform => &[],
        _ => AlertAnswer::ALL,
    }
}

/// An answer as the app sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub answer: AlertAnswer,
    /// Only with `seen_now`: where you are (what you see is near), if your phone knows.
    pub position: Option<TipLocation>,
}

/// Your answer as it stands.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MyAnswer {
    pub answer: AlertAnswer,
    /// When you gave this answer (the same answer again keeps the first time).
    pub answered_at: DateTime<Utc>,
    /// For `seen_now`: the tip it made for the control room.
    #[schema(value_type = Option<Uuid>)]
    pub tip_id: Option<TipId>,
}

/// Records the participant's answer to an active alert they received. A `seen_now` answer makes a
/// tip (each one: every time is a new sighting); the same other answer again changes nothing.
pub async fn answer(
    conn: &mut AsyncPgConnection,
    settings: &TipSettings,
    counters: &CounterKey,
    participant: ParticipantId,
    alert: AlertId,
    request: AnswerRequest,
) -> Result<MyAnswer, TipError> {
    let answer = request.answer;
    let position = match (answer, request.position) {
        (_, None) => None,
        (AlertAnswer::SeenNow, Some(position)) => Some(position.parse()?),
        (_, Some(_)) => {
            return Err(
                InvalidInput::new("invalid_answer", "Only a seen_now answer carries a position.").into()
            );
        }
    };
    conn.transaction(async |conn| {
        // Locked, so an answer and the closing cannot cross.
        let row = queries::find_alert(conn, alert, true).await?.ok_or(TipError::NotFound)?;
        if !queries::is_recipient(conn, alert, participant.0).await? {
            return Err(TipError::NotFound);
        }
        if row.status == AlertStatus::Closed {
            return Err(TipError::AlertClosed);
        }
        if !offered(row.category).contains(&answer) {
            return Err(InvalidInput::new(
                "answer_not_offered",
                "This alert only informs; it asks for no answer.",
            )
            .into());
        }
        let over_limit =
            rate_limits::count(conn, counters, "answers", &participant.to_string(), ANSWERS_PER_HOUR).await?;
        if let Some(retry_after) = over_limit {
            return Err(TipError::RateLimited { retry_after });
        }
        let tip = match answer {
            AlertAnswer::SeenNow => {
                let draft = TipDraft::seen_now(position, Utc::now());
                Some(tips::insert_tip(conn, settings, counters, participant, alert, draft).await?.id)
            }
            _ => None,
        };
        let recorded =
            queries::set_answer(conn, alert, participant, answer).await?.ok_or(TipError::NotFound)?;
        if recorded.previous != Some(answer) || tip.is_some() {
            let mut body = json!({
                "participant_id": participant,
                "answer": answer,
                "previous": recorded.previous,
                "tip_id": tip,
            });
            // The position reaches the control room's event stream with the answer, sealed with
            // the tip's key: the tip's retention removes it from the dossier too.
            if let (Some(tip), Some((at, accuracy))) = (tip, position) {
                let sealing = dossier::TipText::key_of(conn, tip).await?;
                let text = format!("{:.6}, {:.6} (±{accuracy:.0} m)", at.latitude(), at.longitude());
                body["position"] = sealing.seal("position", &text);
            }
            dossier::record(conn, alert, &Actor::Participant(participant), "answered", body).await?;
        }
        Ok(MyAnswer { answer, answered_at: recorded.answered_at, tip_id: tip })
    })
    .await
}
