//! Who may see an alert and who may act on it. Every alert service checks this itself before it
//! reads or changes anything, so no entry point (an HTTP route, the console, an admin task) can
//! leave it out: administrators see every region's alerts and act on none; dispatchers see and act
//! on their own region's.

use diesel_async::AsyncPgConnection;

use crate::auth::staff::{OutOfScope, StaffMember, StaffRole};
use crate::db::alerts::{self as queries, AlertRow};
use crate::db::reference_data as region_queries;
use crate::ids::{AlertId, RegionId};
use crate::vocabulary::regions::RegionCode;

/// Why a staff member may not have an alert.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("There is no such alert.")]
    NotFound,
    #[error(transparent)]
    OutOfScope(#[from] OutOfScope),
    /// The region the staff member's token names is not one Burgernet knows (`None`: the code is
    /// not even well-formed).
    #[error("Your region {} not known to Burgernet.", .0.as_ref().map_or("is".to_string(), |code| format!("{code:?} is")))]
    UnknownRegion(Option<String>),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Whether `staff` may see the alert of `region_code`.
pub fn may_see(staff: &StaffMember, region_code: &str) -> Result<(), AccessError> {
    Ok(staff.ensure_region(region_code)?)
}

/// Whether `staff` may act on (send, expand, update, close, assess the tips of) the alert of
/// `region_code`: only its own dispatchers, who may see it too.
pub fn may_act(staff: &StaffMember, region_code: &str) -> Result<(), AccessError> {
    Ok(staff.ensure_dispatcher_of(region_code)?)
}

/// Whether `staff` may write the public closing report of the alert of `region_code`: its own
/// dispatchers and region managers, under whom the control room's communication staff work. The
/// report is for the public, not an act on the alert, so region managers write it too.
pub fn may_write_closing_report(staff: &StaffMember, region_code: &str) -> Result<(), AccessError> {
    match &staff.role {
        StaffRole::Dispatcher { region } | StaffRole::RegionManager { region } if region == region_code => {
            Ok(())
        }
        _ => Err(OutOfScope.into()),
    }
}

/// Whether `staff` may keep the evidence of the alert of `region_code` past its retention (legal
/// holds): its own dispatchers, and administrators; not region managers, who read and keep nothing.
pub fn may_keep_evidence(staff: &StaffMember, region_code: &str) -> Result<(), AccessError> {
    match staff.role {
        StaffRole::RegionManager { .. } => Err(OutOfScope.into()),
        _ => may_see(staff, region_code),
    }
}

/// The alert's region, once `staff` is known to see it.
pub async fn region_seen_by(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    alert: AlertId,
) -> Result<String, AccessError> {
    let state = queries::find_state(conn, alert).await?.ok_or(AccessError::NotFound)?;
    may_see(staff, &state.region_code)?;
    Ok(state.region_code)
}

/// The alert (locked for the rest of the transaction when `lock`), once `staff` is known to see it.
pub async fn alert_seen_by(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    alert: AlertId,
    lock: bool,
) -> Result<AlertRow, AccessError> {
    let row = queries::find_alert(conn, alert, lock).await?.ok_or(AccessError::NotFound)?;
    may_see(staff, &row.region_code)?;
    Ok(row)
}

/// Whose alerts `staff` sees: every region's (administrators) or their own region's
/// (dispatchers).
pub async fn regions_seen_by(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
) -> Result<Regions, AccessError> {
    match &staff.role {
        StaffRole::Admin => Ok(Regions::All),
        StaffRole::Dispatcher { region } | StaffRole::RegionManager { region } => {
            Ok(match known_region(conn, region).await? {
                Some(region) => Regions::One(region),
                None => Regions::None,
            })
        }
        StaffRole::RelationsOfficer { .. } => Err(OutOfScope.into()),
    }
}

/// Which regions' alerts a staff member sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regions {
    All,
    One(RegionId),
    /// A dispatcher of a region Burgernet does not know.
    None,
}

/// The stored region a dispatcher draws alerts for. Only dispatchers draw alerts.
pub async fn dispatcher_region(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
) -> Result<RegionId, AccessError> {
    let StaffRole::Dispatcher { region } = &staff.role else { return Err(OutOfScope.into()) };
    known_region(conn, region).await?.ok_or_else(|| AccessError::UnknownRegion(Some(region.clone())))
}

async fn known_region(conn: &mut AsyncPgConnection, code: &str) -> Result<Option<RegionId>, AccessError> {
    let code = RegionCode::parse(code).map_err(|_| AccessError::UnknownRegion(None))?;
    Ok(region_queries::find_region(conn, &code).await?.map(|region| region.id))
}
