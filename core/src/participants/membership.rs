//! Who is an active participant of which municipality, and why that changes. Every change of a
//! participant's status or managing municipality goes through [`change_status`] (erasure through
//! [`count_changes`]), which counts joining and leaving for the participation report in the same
//! transaction as the change, so the report's sign-ups and sign-offs cannot drift from the truth.

use diesel_async::AsyncPgConnection;

use crate::db::participants::{self as queries, ParticipantRow};
use crate::db::participation_reports as report_queries;
use crate::vocabulary::{ParticipantStatus, ParticipationReason};

/// What changed a participant's status or municipality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// Their places changed: the first place, a move, or the last place removed.
    Places,
    /// The municipality approved them.
    Approval,
    /// Staff let them back in from quarantine.
    Reinstatement,
    /// Staff, or the system on an SMS receipt, quarantined them.
    Quarantine,
    /// The municipality or an administrator removed them (or rejected their sign-up).
    Removal,
    /// They erased their account.
    Erasure,
}

/// Sets the participant's status and managing municipality, `before` being their row as it was
/// (locked), and counts what that changes for the participation report.
pub(crate) async fn change_status(
    conn: &mut AsyncPgConnection,
    before: &ParticipantRow,
    status: ParticipantStatus,
    municipality: Option<&str>,
    cause: Cause,
) -> Result<(), diesel::result::Error> {
    queries::set_status_and_municipality(conn, before.id, status, municipality).await?;
    count_changes(conn, before, status, municipality, cause).await
}

/// Counts for the participation report that the participant, `before` being their row as it
/// was, now has `status` in `municipality`.
pub(crate) async fn count_changes(
    conn: &mut AsyncPgConnection,
    before: &ParticipantRow,
    status: ParticipantStatus,
    municipality: Option<&str>,
    cause: Cause,
) -> Result<(), diesel::result::Error> {
    let before_municipality = before.municipality_cbs.as_deref();
    for (cbs_code, reason) in changes((before.status, before_municipality), (status, municipality), cause) {
        report_queries::count_change(conn, cbs_code, reason).await?;
    }
    Ok(())
}

/// Which municipality the participant leaves and which they join, and why, going from `before`
/// to `after` (status and managing municipality). A participant is an active participant of a
/// municipality when their status is `active` and it manages them: pending, quarantined and
/// removed participants are no one's, so rejecting a pending sign-up changes nothing here.
fn changes<'a>(
    (before_status, before_municipality): (ParticipantStatus, Option<&'a str>),
    (after_status, after_municipality): (ParticipantStatus, Option<&'a str>),
    cause: Cause,
) -> Vec<(&'a str, ParticipationReason)> {
    use ParticipationReason::*;
    let active_in =
        |status, municipality: Option<&'a str>| municipality.filter(|_| status == ParticipantStatus::Active);
    let was = active_in(before_status, before_municipality);
    let is = active_in(after_status, after_municipality);
    if was == is {
        return Vec::new();
    }
    let mut changes = Vec::new();
    if let Some(left) = was {
        let reason = match cause {
            Cause::Erasure => SignedOff,
            Cause::Quarantine => Quarantined,
            // Approval and reinstatement lead to active: only a removal can be left.
            Cause::Removal | Cause::Approval | Cause::Reinstatement => Removed,
            Cause::Places if after_municipality.is_none() => NoPlaceLeft,
            Cause::Places => MovedOut,
        };
        changes.push((left, reason));
    }
    if let Some(joined) = is {
        let reason = match cause {
            Cause::Reinstatement => Some(Reinstated),
            Cause::Approval => Some(Approved),
            Cause::Places if before_municipality.is_none() => Some(SignedUp),
            Cause::Places => Some(MovedIn),
            // These lead away from active.
            Cause::Quarantine | Cause::Removal | Cause::Erasure => None,
        };
        changes.extend(reason.map(|reason| (joined, reason)));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantStatus::{Active, Pending, Quarantined, Removed};
    use ParticipationReason as Reason;

    const ROTTERDAM: Option<&str> = Some("GM0599");
    const SCHIEDAM: Option<&str> = Some("GM0606");

    #[test]
    fn the_first_place_signs_up_unless_the_municipality_approves_first() {
        assert_eq!(
            changes((Active, None), (Active, ROTTERDAM), Cause::Places),
            [("GM0599", Reason::SignedUp)]
        );
        assert_eq!(changes((Active, None), (Pending, ROTTERDAM), Cause::Places), []);
        let approve = Cause::Approval;
        assert_eq!(
            changes((Pending, ROTTERDAM), (Active, ROTTERDAM), approve),
            [("GM0599", Reason::Approved)]
        );
        let reject = Cause::Removal;
        assert_eq!(changes((Pending, ROTTERDAM), (Removed, ROTTERDAM), reject), [], "never was active");
    }

    #[test]
    fn a_move_leaves_one_municipality_and_joins_the_other_or_waits_for_its_approval() {
        assert_eq!(
            changes((Active, ROTTERDAM), (Active, SCHIEDAM), Cause::Places),
            [("GM0599", Reason::MovedOut), ("GM0606", Reason::MovedIn)]
        );
        assert_eq!(
            changes((Active, ROTTERDAM), (Pending, SCHIEDAM), Cause::Places),
            [("GM0599", Reason::MovedOut)]
        );
        assert_eq!(
            changes((Active, ROTTERDAM), (Active, None), Cause::Places),
            [("GM0599", Reason::NoPlaceLeft)]
        );
        assert_eq!(changes((Quarantined, ROTTERDAM), (Quarantined, SCHIEDAM), Cause::Places), []);
    }

    #[test]
    fn decisions_and_erasure_leave_with_their_own_reason() {
        assert_eq!(
            changes((Active, ROTTERDAM), (Quarantined, ROTTERDAM), Cause::Quarantine),
            [("GM0599", Reason::Quarantined)]
        );
        assert_eq!(
            changes((Quarantined, ROTTERDAM), (Active, ROTTERDAM), Cause::Reinstatement),
            [("GM0599", Reason::Reinstated)]
        );
        assert_eq!(
            changes((Active, ROTTERDAM), (Removed, ROTTERDAM), Cause::Removal),
            [("GM0599", Reason::Removed)]
        );
        assert_eq!(changes((Quarantined, ROTTERDAM), (Removed, ROTTERDAM), Cause::Removal), []);
        assert_eq!(
            changes((Active, ROTTERDAM), (Removed, None), Cause::Erasure),
            [("GM0599", Reason::SignedOff)]
        );
        assert_eq!(changes((Pending, ROTTERDAM), (Removed, None), Cause::Erasure), []);
        assert_eq!(changes((Active, None), (Removed, None), Cause::Erasure), [], "signed up without a place");
    }
}
