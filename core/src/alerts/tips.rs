//! Tips: what a participant who received an alert saw, sent to the control room while the alert
//! runs. A participant may send one anonymously: then nothing stored with it, not even the
//! dossier entry, names them. Photos and videos come with the media issue.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Actor, AlertStatus, dossier};
use crate::db::alerts as alert_queries;
use crate::db::tips::{self as queries, NewTip};
use crate::ids::{AlertId, ParticipantId, TipId};
use crate::participants::InvalidInput;
use crate::participants::places::Position;

pub const MAX_TIP_CHARS: usize = 2_000;

/// Where the participant saw it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TipLocation {
    pub latitude: f64,
    pub longitude: f64,
    /// The radius of the fix in metres, as the phone reports it (0 to 100000).
    pub accuracy_meters: f32,
}

/// A tip as the app sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTipRequest {
    /// What you saw; up to 2,000 characters.
    pub text: String,
    /// When you saw it.
    pub seen_at: Option<DateTime<Utc>>,
    pub location: Option<TipLocation>,
    /// The control room may call you back on your number.
    #[serde(default)]
    pub may_call_back: bool,
    /// Send without your identity: the tip cannot be traced to you, and nobody can call you back.
    #[serde(default)]
    pub anonymous: bool,
}

/// A parsed [`NewTipRequest`].
#[derive(Debug, Clone)]
pub struct TipDraft {
    text: String,
    seen_at: Option<DateTime<Utc>>,
    location: Option<(Position, f32)>,
    may_call_back: bool,
    anonymous: bool,
}

fn invalid(detail: impl Into<String>) -> InvalidInput {
    InvalidInput::new("invalid_tip", detail)
}

impl NewTipRequest {
    pub fn parse(self, now: DateTime<Utc>) -> Result<TipDraft, InvalidInput> {
        let text = self.text.trim();
        if text.is_empty() || text.chars().count() > MAX_TIP_CHARS {
            return Err(invalid(format!("The text has 1 to {MAX_TIP_CHARS} characters.")));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(invalid("The text may not hold control characters."));
        }
        if self.seen_at.is_some_and(|seen| seen > now + chrono::Duration::minutes(5)) {
            return Err(invalid("seen_at lies in the future."));
        }
        if self.anonymous && self.may_call_back {
            return Err(invalid("An anonymous tip cannot be called back; choose one."));
        }
        let location = self
            .location
            .map(|at| -> Result<(Position, f32), InvalidInput> {
                if !(0.0..=100_000.0).contains(&at.accuracy_meters) {
                    return Err(InvalidInput::new("invalid_accuracy", "The accuracy is 0 to 100000 metres."));
                }
                Ok((Position::parse(at.latitude, at.longitude)?, at.accuracy_meters))
            })
            .transpose()?;
        Ok(TipDraft {
            text: text.to_string(),
            seen_at: self.seen_at,
            location,
            may_call_back: self.may_call_back,
            anonymous: self.anonymous,
        })
    }
}

/// What the sender gets back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TipReceipt {
    #[schema(value_type = Uuid)]
    pub id: TipId,
    pub anonymous: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum TipError {
    #[error("You did not receive such an alert.")]
    NotFound,
    #[error("This alert is closed; it takes no more tips. Call 112 if it is urgent.")]
    AlertClosed,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Sends a tip about an active alert the participant received.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    alert: AlertId,
    tip: TipDraft,
) -> Result<TipReceipt, TipError> {
    conn.transaction(async |conn| {
        // Locked, so a tip and the closing cannot cross.
        let status = alert_queries::lock_status(conn, alert).await?.ok_or(TipError::NotFound)?;
        if !alert_queries::is_recipient(conn, alert, participant.0).await? {
            return Err(TipError::NotFound);
        }
        if AlertStatus::from_database(&status) == AlertStatus::Closed {
            return Err(TipError::AlertClosed);
        }
        let id = TipId::new();
        let created_at = queries::insert(
            conn,
            &NewTip {
                id,
                alert,
                participant: (!tip.anonymous).then_some(participant.0),
                text: &tip.text,
                seen_at: tip.seen_at,
                location: tip.location.map(|(at, accuracy)| (at.latitude(), at.longitude(), accuracy)),
                may_call_back: tip.may_call_back,
            },
        )
        .await?;
        let actor = if tip.anonymous { Actor::Anonymous } else { Actor::Participant(participant) };
        let mut body = json!({
            "tip_id": id,
            "text": tip.text,
            "seen_at": tip.seen_at,
            "has_location": tip.location.is_some(),
            "may_call_back": tip.may_call_back,
        });
        if !tip.anonymous {
            body["participant_id"] = json!(participant);
        }
        dossier::record(conn, alert, &actor, "tip", body).await?;
        Ok(TipReceipt { id, anonymous: tip.anonymous, created_at })
    })
    .await
}

/// A tip as the control room sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tip {
    #[schema(value_type = Uuid)]
    pub id: TipId,
    pub text: String,
    pub seen_at: Option<DateTime<Utc>>,
    pub location: Option<TipLocation>,
    pub anonymous: bool,
    /// The sender, unless the tip is anonymous.
    #[schema(value_type = Option<Uuid>)]
    pub participant_id: Option<ParticipantId>,
    pub may_call_back: bool,
    /// The number to call back, when the sender allowed it.
    pub call_back_phone_number: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The alert's tips, newest first; the viewing is recorded in the dossier.
pub async fn list(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    viewer: &Actor,
) -> diesel::QueryResult<Vec<Tip>> {
    let rows = queries::list(conn, alert, 500).await?;
    dossier::record(conn, alert, viewer, "tips_viewed", json!({ "tips": rows.len() })).await?;
    Ok(rows
        .into_iter()
        .map(|row| Tip {
            id: TipId(row.id),
            text: row.text,
            seen_at: row.seen_at,
            location: match (row.latitude, row.longitude) {
                (Some(latitude), Some(longitude)) => Some(TipLocation {
                    latitude,
                    longitude,
                    accuracy_meters: row.accuracy_meters.unwrap_or_default(),
                }),
                _ => None,
            },
            anonymous: row.participant_id.is_none(),
            participant_id: row.participant_id.map(ParticipantId),
            may_call_back: row.may_call_back,
            call_back_phone_number: row.call_back_phone,
            created_at: row.created_at,
        })
        .collect())
}
