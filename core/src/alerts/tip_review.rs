//! The control room's side of tips: the list with each tip's media, the assessment of a tip
//! (relevant, not relevant, forwarded to a unit) and legal holds that keep evidence past its
//! retention. Every step is written to the alert's dossier.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::{self, AccessError};
use super::tips::TipLocation;
use super::{Actor, dossier};
use crate::auth::staff::StaffMember;
use crate::db::tips::{self as queries, TipRow};
use crate::ids::{AlertId, ParticipantId, TipId};
use crate::media::MediaSettings;
use crate::media::review::{self, ReviewError, ReviewedMedia};
use crate::media::store::MediaStore;
use crate::vocabulary::alerts::{AlertAnswer, Assessment};
use crate::vocabulary::{InvalidInput, form_text};

/// The control room's assessment of a tip.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TipAssessment {
    pub assessment: Assessment,
    /// For `forwarded`: the unit, e.g. "Noodhulp Utrecht-Oost".
    pub forwarded_to: Option<String>,
    pub note: Option<String>,
    /// Who assessed it (staff subject) and when; not in a request.
    #[serde(default, skip_deserializing)]
    pub assessed_by: Option<String>,
    #[serde(default, skip_deserializing)]
    pub assessed_at: Option<DateTime<Utc>>,
}

/// A legal hold: the tip (or alert) is kept past its retention until the hold is lifted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LegalHold {
    pub reason: String,
    pub placed_by: Option<String>,
    pub placed_at: DateTime<Utc>,
}

/// How urgently the control room should look at a tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TipPriority {
    High,
    Normal,
}

/// A tip as the control room sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tip {
    #[schema(value_type = Uuid)]
    pub id: TipId,
    pub text: String,
    pub seen_at: Option<DateTime<Utc>>,
    pub location: Option<TipLocation>,
    /// No sender is known: the tip was sent anonymously, or its sender erased their account.
    pub anonymous: bool,
    #[schema(value_type = Option<Uuid>)]
    pub participant_id: Option<ParticipantId>,
    pub may_call_back: bool,
    /// The number to call back, when the sender allowed it.
    pub call_back_phone_number: Option<String>,
    pub created_at: DateTime<Utc>,
    /// `high` for a `seen_now` answer given from the alert's notification (see `answer`): someone
    /// sees what the alert describes, now. Those not assessed yet lead the list.
    pub priority: TipPriority,
    /// `seen_now` when the tip is a one-tap answer.
    pub answer: Option<AlertAnswer>,
    pub assessment: Option<TipAssessment>,
    pub legal_hold: Option<LegalHold>,
    /// Photos and videos, oldest first, with their state and a thumbnail link when ready.
    pub media: Vec<ReviewedMedia>,
}

impl Tip {
    fn from_row(row: TipRow, media: Vec<ReviewedMedia>) -> Self {
        Tip {
            id: row.id,
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
            participant_id: row.participant_id,
            may_call_back: row.may_call_back,
            call_back_phone_number: row.call_back_phone,
            created_at: row.created_at,
            priority: if row.answer == Some(AlertAnswer::SeenNow) {
                TipPriority::High
            } else {
                TipPriority::Normal
            },
            answer: row.answer,
            assessment: row.assessment.map(|assessment| TipAssessment {
                assessment,
                forwarded_to: row.forwarded_to,
                note: row.assessment_note,
                assessed_by: row.assessed_by_subject,
                assessed_at: row.assessed_at,
            }),
            legal_hold: row.legal_hold_reason.zip(row.legal_hold_at).map(|(reason, placed_at)| LegalHold {
                reason,
                placed_by: row.legal_hold_by,
                placed_at,
            }),
            media,
        }
    }
}

/// The alert's tips (`seen_now` answers not assessed yet first, then newest first), with their media; the viewing is recorded in the dossier (once
/// per quarter of an hour per person, as views of the alert are).
pub async fn list(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    settings: &MediaSettings,
    staff: &StaffMember,
    alert: AlertId,
) -> Result<Vec<Tip>, ReviewError> {
    access::region_seen_by(conn, staff, alert).await?;
    let viewer = &Actor::staff(staff);
    let rows = queries::list(conn, alert, 500).await?;
    let mut media = review::for_alert(conn, store, settings, alert).await?;
    let thumbnails: usize = media.values().flatten().filter(|item| item.thumbnail.is_some()).count();
    let body = json!({ "tips": rows.len(), "thumbnails": thumbnails });
    dossier::record_view(conn, alert, viewer, "tips_viewed", body).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let files = media.remove(&row.id).unwrap_or_default();
            Tip::from_row(row, files)
        })
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum TipReviewError {
    /// No such alert, or one the staff member may not see (or, to assess, act on).
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("This alert has no such tip.")]
    NotFound,
    #[error("{}", .0.detail)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

fn short_text(field: &'static str, raw: Option<&str>, max: usize) -> Result<Option<String>, InvalidInput> {
    let Some(raw) = raw else { return Ok(None) };
    form_text(raw, max, true).map_err(|_| {
        InvalidInput::new("invalid_assessment", format!("{field} has at most {max} characters."))
    })
}

/// Records what the control room made of the tip (replacing an earlier assessment).
pub async fn assess(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    alert: AlertId,
    tip: TipId,
    request: &TipAssessment,
) -> Result<TipAssessment, TipReviewError> {
    let region = access::region_seen_by(conn, staff, alert).await?;
    access::may_act(staff, &region)?;
    let assessor = &Actor::staff(staff);
    let forwarded_to = short_text("forwarded_to", request.forwarded_to.as_deref(), 200)?;
    let note = short_text("note", request.note.as_deref(), 2_000)?;
    if (request.assessment == Assessment::Forwarded) != forwarded_to.is_some() {
        return Err(InvalidInput::new(
            "invalid_assessment",
            "Name the unit in forwarded_to exactly when the assessment is forwarded.",
        )
        .into());
    }
    conn.transaction(async |conn| {
        let subject = assessor.subject();
        let assessment = request.assessment;
        if !queries::assess(conn, alert, tip, assessment, forwarded_to.as_deref(), note.as_deref(), &subject)
            .await?
        {
            return Err(TipReviewError::NotFound);
        }
        let sealing = dossier::TipText::key_of(conn, tip).await?;
        let note_sealed = note.as_deref().map(|note| sealing.seal("note", note));
        let body =
            json!({ "tip_id": tip, "assessment": assessment, "forwarded_to": forwarded_to, "note": note_sealed });
        dossier::record(conn, alert, assessor, "tip_assessed", body).await?;
        let row = queries::find(conn, alert, tip).await?.ok_or(TipReviewError::NotFound)?;
        Ok(Tip::from_row(row, vec![]).assessment.expect("just assessed"))
    })
    .await
}

/// Why evidence is held.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalHoldRequest {
    /// 3 to 500 characters, e.g. the case number of the investigation.
    pub reason: String,
}

/// Places or lifts a legal hold on one tip, or (without a tip) on every tip of the alert. Lifting
/// an absent hold changes nothing but is still recorded.
pub async fn set_legal_hold(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    alert: AlertId,
    tip: Option<TipId>,
    request: Option<&LegalHoldRequest>,
) -> Result<Option<LegalHold>, TipReviewError> {
    let region = access::region_seen_by(conn, staff, alert).await?;
    access::may_keep_evidence(staff, &region)?;
    let actor = &Actor::staff(staff);
    let reason = request
        .map(|request| {
            let reason = request.reason.trim();
            if !(3..=500).contains(&reason.chars().count()) || reason.chars().any(char::is_control) {
                return Err(InvalidInput::new(
                    "invalid_reason",
                    "State the reason for the hold (3 to 500 characters).",
                ));
            }
            Ok(reason.to_string())
        })
        .transpose()?;
    conn.transaction(async |conn| {
        let label = actor.subject();
        let hold = reason.as_deref().map(|reason| (reason, label.as_str()));
        if !queries::set_legal_hold(conn, alert, tip, hold).await? {
            return Err(TipReviewError::NotFound);
        }
        let kind = if reason.is_some() { "legal_hold_placed" } else { "legal_hold_lifted" };
        dossier::record(conn, alert, actor, kind, json!({ "tip_id": tip, "reason": reason })).await?;
        Ok(match tip {
            Some(tip) => queries::find(conn, alert, tip).await?.and_then(|row| {
                Some(LegalHold {
                    reason: row.legal_hold_reason?,
                    placed_by: row.legal_hold_by,
                    placed_at: row.legal_hold_at?,
                })
            }),
            None => queries::alert_legal_hold(conn, alert)
                .await?
                .map(|(reason, placed_by, placed_at)| LegalHold { reason, placed_by, placed_at }),
        })
    })
    .await
}
