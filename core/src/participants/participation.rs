//! How a municipality's participation stands: its active participants against its inhabitants,
//! its work lists (the queues of [`super::management`]) and how many participants each channel
//! reaches. Every count of people is shown as the reach preview shows it, exact from 5 on.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::management::VERIFICATION_GRACE;
use crate::alerts::reach::ReachCount;
use crate::auth::staff::StaffMember;
use crate::db::participants as participant_queries;
use crate::db::participation as queries;
use crate::db::reference_data as reference_queries;
use crate::reference_data::LookupError;
use crate::vocabulary::regions::CbsCode;

/// A municipality's participation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Participation {
    pub cbs_code: CbsCode,
    pub name: String,
    pub inhabitants: i32,
    /// Active participants the municipality manages.
    pub active: ReachCount,
    /// Active participants per 100 inhabitants (not rounded: a new municipality's first
    /// participants are a share well under 0.01%); `null` when `active` is not shown as a number
    /// (or the municipality has no inhabitants on record).
    pub share_percent: Option<f64>,
    /// The approval queue: sign-ups and moves waiting for the municipality's approval.
    pub awaiting_approval: ReachCount,
    /// The verification queue: active participants whose e-mail address is still unverified a
    /// week after it was set.
    pub awaiting_verification: ReachCount,
    /// The quarantine queue: participants with a channel that proved undeliverable.
    pub in_quarantine: ReachCount,
    pub reachable_by: ReachableBy,
    /// The approval policy: whether new participants (and those moving here) wait for approval.
    pub requires_approval: bool,
}

/// Active participants per channel they can be reached on (the rule the selection uses): one
/// participant may count under several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReachableBy {
    /// Push to the app: chosen, and a device registered.
    pub app: ReachCount,
    /// SMS: chosen, and a phone number known.
    pub sms: ReachCount,
    /// E-mail: chosen, and the address verified.
    pub email: ReachCount,
}

/// The municipality's participation, for its relations officers, the dispatchers of its region
/// and administrators. Scope first, so staff outside it cannot learn whether a code exists.
pub async fn participation_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    code: &CbsCode,
) -> Result<Participation, LookupError> {
    let municipality = reference_queries::find_municipality(conn, code).await?;
    let region = municipality.as_ref().and_then(|m| m.region.as_ref()).map(|r| r.as_str());
    staff.ensure_municipality(code.as_str(), region)?;
    let municipality =
        municipality.ok_or_else(|| LookupError::NoSuchMunicipality(code.as_str().to_string()))?;
    let counted =
        queries::municipality_participation(conn, code.as_str(), Utc::now() - VERIFICATION_GRACE).await?;
    let active = ReachCount::shown(counted.active);
    let requires_approval = participant_queries::requires_approval(conn, code.as_str()).await?;
    Ok(Participation {
        share_percent: share_percent(active, municipality.inhabitants),
        cbs_code: municipality.cbs_code,
        name: municipality.name,
        inhabitants: municipality.inhabitants,
        active,
        awaiting_approval: ReachCount::shown(counted.pending),
        awaiting_verification: ReachCount::shown(counted.email_unverified),
        in_quarantine: ReachCount::shown(counted.quarantined),
        reachable_by: ReachableBy {
            app: ReachCount::shown(counted.reachable_by_app),
            sms: ReachCount::shown(counted.reachable_by_sms),
            email: ReachCount::shown(counted.reachable_by_email),
        },
        requires_approval,
    })
}

/// The share of the inhabitants, computed only from a count that is shown: a share of a hidden
/// count would give the count away.
fn share_percent(active: ReachCount, inhabitants: i32) -> Option<f64> {
    match active {
        ReachCount::Exact { count } if inhabitants > 0 => Some(count as f64 * 100.0 / f64::from(inhabitants)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_given_only_for_a_count_that_is_shown() {
        assert_eq!(share_percent(ReachCount::shown(4), 100), None);
        assert_eq!(share_percent(ReachCount::shown(5), 0), None);
        assert_eq!(share_percent(ReachCount::shown(5), 200), Some(2.5));
        assert_eq!(share_percent(ReachCount::shown(7), 700_000), Some(0.001));
    }
}
