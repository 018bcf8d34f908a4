//! The municipality's side of participants (relatiebeheer): statuses and the decisions that
//! change them, the approval, verification and quarantine queues, and the record of every
//! staff action.
//!
//! Status rules: a participant is `active` from sign-up. When their managing municipality is
//! first set or changes (a place is saved) and that municipality requires approval, they become
//! `pending` until an officer approves. Becoming `active` sends a confirmation; being removed
//! sends a notice that they are signed off.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;

use super::account::{self, Place, StaffAction, staff_actions};
use super::membership::{self, Cause};
use super::notices::{Notice, NotifyParticipant};
use crate::auth::staff::{OutOfScope, StaffMember};
use crate::db::participants::{self as queries, NewStaffAction, ParticipantFilter, ParticipantRow};
use crate::db::sign_in as sign_in_queries;
use crate::ids::ParticipantId;
use crate::jobs::BackgroundJob;
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::{InvalidInput, ParticipantStatus, SessionEnd};

/// How long an e-mail address may stay unverified before the participant shows up in the
/// verification queue.
pub const VERIFICATION_GRACE: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// A participant as municipal staff see them in lists.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantSummary {
    #[schema(value_type = uuid::Uuid)]
    pub id: ParticipantId,
    pub status: ParticipantStatus,
    pub phone_number: PhoneNumber,
    pub display_name: Option<String>,
    pub email: Option<EmailAddress>,
    pub email_verified: bool,
    /// Why the e-mail address needs attention (and the participant is, after the week's grace for
    /// a new address, in the verification queue); none when it is verified or there is none.
    pub email_problem: Option<EmailProblem>,
    /// When a municipal message to the address bounced.
    pub email_bounced_at: Option<DateTime<Utc>>,
    pub municipality: Option<String>,
    pub signed_up_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
}

/// Why a participant's e-mail address needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailProblem {
    /// "E-mail bounced": the mail provider reported a message to it undeliverable; it gets no
    /// mail until the participant confirms it again or sets another.
    EmailBounced,
    /// The participant has not confirmed it through the link sent to it.
    EmailUnverified,
}

impl ParticipantSummary {
    fn from_row(row: ParticipantRow) -> Self {
        Self {
            id: row.id,
            status: row.status,
            phone_number: row.phone_number.expect("not erased"),
            display_name: row.display_name,
            email_problem: match (&row.email, row.email_verified_at, row.email_bounced_at) {
                (Some(_), _, Some(_)) => Some(EmailProblem::EmailBounced),
                (Some(_), None, None) => Some(EmailProblem::EmailUnverified),
                _ => None,
            },
            email_bounced_at: row.email_bounced_at,
            email: row.email,
            email_verified: row.email_verified_at.is_some(),
            municipality: row.municipality_cbs,
            signed_up_at: row.created_at,
            status_changed_at: row.status_changed_at,
        }
    }
}

/// One participant in full, for their municipality's officers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantRecord {
    #[serde(flatten)]
    pub summary: ParticipantSummary,
    pub places: Vec<Place>,
    /// Newest first.
    pub staff_actions: Vec<StaffAction>,
}

/// The work lists of a municipality (verificatiebak, quarantainebak, approvals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Queue {
    /// Pending sign-ups and moves into a municipality that requires approval.
    Approval,
    /// Active participants whose e-mail address bounced, or is still unverified after a week.
    Verification,
    /// Participants with a channel that proved undeliverable.
    Quarantine,
}

/// One page of a list: its number from 1 to [`Page::MAX_NUMBER`] and 1 to [`Page::MAX_SIZE`]
/// items a page. No municipality has a million participants, so even at one a page the last of
/// them is reached; beyond that a page number only ever found nothing (or, unbounded, overflowed
/// the offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    number: i64,
    size: i64,
}

impl Page {
    pub const MAX_NUMBER: i64 = 1_000_000;
    pub const MAX_SIZE: i64 = 100;

    /// The page asked for; absent values are the first page of 25.
    pub fn parse(number: Option<i64>, size: Option<i64>) -> Result<Self, InvalidInput> {
        let page = Self { number: number.unwrap_or(1), size: size.unwrap_or(25) };
        if !(1..=Self::MAX_NUMBER).contains(&page.number) || !(1..=Self::MAX_SIZE).contains(&page.size) {
            return Err(InvalidInput::new(
                "invalid_page",
                format!("page is 1 to {}; per_page is 1 to {}.", Self::MAX_NUMBER, Self::MAX_SIZE),
            ));
        }
        Ok(page)
    }

    pub fn number(self) -> i64 {
        self.number
    }

    pub fn size(self) -> i64 {
        self.size
    }

    /// Items before this page: at most 99,999,900, so it cannot overflow.
    pub fn offset(self) -> i64 {
        (self.number - 1) * self.size
    }
}

impl Default for Page {
    fn default() -> Self {
        Self { number: 1, size: 25 }
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub status: Option<ParticipantStatus>,
    pub queue: Option<Queue>,
    pub phone_number: Option<PhoneNumber>,
    pub postcode: Option<String>,
    pub page: Page,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantPage {
    pub items: Vec<ParticipantSummary>,
    pub page: i64,
    pub per_page: i64,
    /// Matching participants over all pages.
    pub total: i64,
}

/// The participants `staff` manages in the municipality, as `listing` asks.
pub async fn list(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    municipality_cbs: &str,
    listing: &Listing,
) -> Result<ParticipantPage, ManagementError> {
    staff.ensure_municipality(municipality_cbs, None)?;
    let mut statuses = listing.status.map(|status| vec![status]);
    let mut email_unverified_since = None;
    match listing.queue {
        None => {}
        Some(Queue::Approval) => statuses = Some(vec![ParticipantStatus::Pending]),
        Some(Queue::Quarantine) => statuses = Some(vec![ParticipantStatus::Quarantined]),
        Some(Queue::Verification) => {
            statuses = Some(vec![ParticipantStatus::Active]);
            email_unverified_since = Some(Utc::now() - VERIFICATION_GRACE);
        }
    }
    let filter = ParticipantFilter {
        municipality_cbs,
        statuses,
        phone_number: listing.phone_number.as_ref(),
        postcode: listing.postcode.as_deref(),
        email_unverified_since,
        limit: listing.page.size(),
        offset: listing.page.offset(),
    };
    let (rows, total) = queries::list_for_municipality(conn, &filter).await?;
    Ok(ParticipantPage {
        items: rows.into_iter().map(ParticipantSummary::from_row).collect(),
        page: listing.page.number(),
        per_page: listing.page.size(),
        total,
    })
}

/// The participant, if their managing municipality is this one and `staff` manages it.
pub async fn record(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    municipality_cbs: &str,
    participant: ParticipantId,
) -> Result<ParticipantRecord, ManagementError> {
    staff.ensure_municipality(municipality_cbs, None)?;
    let row = queries::find(conn, participant, false).await?.ok_or(ManagementError::NotFound)?;
    if row.municipality_cbs.as_deref() != Some(municipality_cbs) {
        return Err(ManagementError::NotFound);
    }
    Ok(ParticipantRecord {
        summary: ParticipantSummary::from_row(row),
        places: account::load_places(conn, &[participant])
            .await?
            .into_iter()
            .map(|(_, place)| place)
            .collect(),
        staff_actions: staff_actions(conn, participant).await?,
    })
}

/// Whether sign-ups in the municipality wait for its approval, as `staff` (who manages it) sets it.
pub async fn set_requires_approval(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    municipality_cbs: &str,
    requires_approval: bool,
) -> Result<(), ManagementError> {
    staff.ensure_municipality(municipality_cbs, None)?;
    if queries::set_requires_approval(conn, municipality_cbs, requires_approval).await? == 0 {
        return Err(ManagementError::NoSuchMunicipality(municipality_cbs.to_string()));
    }
    Ok(())
}

/// A decision by municipal staff about a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// pending → active
    Approve,
    /// pending → removed
    Reject,
    /// active → quarantined
    Quarantine,
    /// quarantined → active
    Reinstate,
    /// pending, active or quarantined → removed
    Remove,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Quarantine => "quarantine",
            Decision::Reinstate => "reinstate",
            Decision::Remove => "remove",
        }
    }

    /// What the decision is to the participation report's count of who joins and leaves.
    pub(crate) fn cause(self) -> Cause {
        match self {
            Decision::Approve => Cause::Approval,
            Decision::Reinstate => Cause::Reinstatement,
            Decision::Quarantine => Cause::Quarantine,
            Decision::Reject | Decision::Remove => Cause::Removal,
        }
    }

    /// The status the decision leads to from `from`, if it applies there.
    pub fn transition(self, from: ParticipantStatus) -> Option<ParticipantStatus> {
        use ParticipantStatus::*;
        match (self, from) {
            (Decision::Approve, Pending) => Some(Active),
            (Decision::Reject, Pending) => Some(Removed),
            (Decision::Quarantine, Active) => Some(Quarantined),
            (Decision::Reinstate, Quarantined) => Some(Active),
            (Decision::Remove, Pending | Active | Quarantined) => Some(Removed),
            _ => None,
        }
    }
}

/// Why a municipal task was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// Another municipality than the staff member's (or one their role may not manage).
    #[error(transparent)]
    OutOfScope(#[from] OutOfScope),
    #[error("There is no such participant in this municipality.")]
    NotFound,
    #[error("There is no municipality {0}.")]
    NoSuchMunicipality(String),
    #[error("A participant who is {from} cannot be {decision}d.", from = .from.as_str(), decision = .decision.as_str())]
    NotApplicable { decision: Decision, from: ParticipantStatus },
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// A reason as staff wrote it: trimmed, 1 to 1000 characters.
pub fn parse_reason(raw: &str) -> Result<String, InvalidInput> {
    let reason = raw.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(InvalidInput::new("invalid_reason", "Give a reason of 1 to 1000 characters."));
    }
    Ok(reason.to_string())
}

/// Applies a decision, records who took it and why, and sends the participant the message it
/// causes, all in one transaction. A decision that removes the participant ends all their
/// sessions in it too (sign-in then stays closed to their number, see `sign_in`).
pub async fn decide(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    municipality_cbs: &str,
    participant: ParticipantId,
    decision: Decision,
    reason: &str,
) -> Result<ParticipantRecord, ManagementError> {
    staff.ensure_municipality(municipality_cbs, None)?;
    conn.transaction(async |conn| {
        let row = queries::find(conn, participant, true).await?.ok_or(ManagementError::NotFound)?;
        if row.municipality_cbs.as_deref() != Some(municipality_cbs) {
            return Err(ManagementError::NotFound);
        }
        let from = row.status;
        let to = decision.transition(from).ok_or(ManagementError::NotApplicable { decision, from })?;
        membership::change_status(conn, &row, to, Some(municipality_cbs), decision.cause()).await?;
        queries::insert_staff_action(
            conn,
            &NewStaffAction {
                participant,
                municipality_cbs: Some(municipality_cbs),
                staff_subject: &staff.subject,
                staff_name: staff.name.as_deref(),
                staff_role: staff.role.name(),
                action: decision.as_str(),
                from_status: Some(from),
                to_status: Some(to),
                reason,
            },
        )
        .await?;
        if to == ParticipantStatus::Removed {
            sign_in_queries::revoke_participant_sessions(conn, participant, SessionEnd::ParticipantRemoved)
                .await?;
        }
        let notice = match to {
            ParticipantStatus::Active => Some(Notice::Activated),
            ParticipantStatus::Removed => Some(Notice::Removed),
            _ => None,
        };
        if let Some(notice) = notice {
            NotifyParticipant { participant_id: participant, notice }.enqueue(conn).await?;
        }
        record(conn, staff, municipality_cbs, participant).await
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_apply_only_from_their_statuses() {
        use ParticipantStatus::*;
        assert_eq!(Decision::Approve.transition(Pending), Some(Active));
        assert_eq!(Decision::Approve.transition(Active), None);
        assert_eq!(Decision::Reject.transition(Pending), Some(Removed));
        assert_eq!(Decision::Reject.transition(Quarantined), None);
        assert_eq!(Decision::Quarantine.transition(Active), Some(Quarantined));
        assert_eq!(Decision::Quarantine.transition(Pending), None);
        assert_eq!(Decision::Reinstate.transition(Quarantined), Some(Active));
        assert_eq!(Decision::Reinstate.transition(Removed), None);
        for from in [Pending, Active, Quarantined] {
            assert_eq!(Decision::Remove.transition(from), Some(Removed));
        }
        assert_eq!(Decision::Remove.transition(Removed), None);
    }

    #[test]
    fn pages_are_bounded_so_the_offset_always_fits() {
        assert_eq!(Page::parse(None, None).unwrap(), Page::default());
        let deepest = Page::parse(Some(Page::MAX_NUMBER), Some(Page::MAX_SIZE)).unwrap();
        assert_eq!(deepest.offset(), 99_999_900);
        for (number, size) in [(0, 25), (Page::MAX_NUMBER + 1, 1), (i64::MAX, 100), (1, 0), (1, 101)] {
            assert_eq!(Page::parse(Some(number), Some(size)).unwrap_err().code, "invalid_page");
        }
    }

    #[test]
    fn reasons_are_required_and_bounded() {
        assert_eq!(parse_reason("  Nummer bestaat niet  ").unwrap(), "Nummer bestaat niet");
        assert_eq!(parse_reason("   ").unwrap_err().code, "invalid_reason");
        assert!(parse_reason(&"x".repeat(1001)).is_err());
    }
}
