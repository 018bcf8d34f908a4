//! Every region at a glance, for administrators: its municipalities and inhabitants, its
//! participants, and its alerts under way and in preparation.

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use serde::Serialize;

use crate::alerts::reach::ReachCount;
use crate::auth::staff::{OutOfScope, StaffMember, StaffRole};
use crate::db::alerts as alert_queries;
use crate::db::participation as participation_queries;
use crate::db::reference_data as queries;
use crate::vocabulary::alerts::AlertStatus;
use crate::vocabulary::regions::RegionCode;

/// One region's figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RegionOverview {
    pub code: RegionCode,
    pub name: String,
    /// How many municipalities it covers.
    pub municipalities: i64,
    /// Sum of the inhabitants of its municipalities.
    pub inhabitants: i64,
    /// Active participants managed by its municipalities; under 5 shown as `{"fewer_than": 5}`.
    pub active_participants: ReachCount,
    /// Alerts sent and not yet closed.
    pub active_alerts: i64,
    /// Alerts saved as drafts, not yet sent.
    pub draft_alerts: i64,
}

/// Every region by name with its figures; administrators only.
pub async fn overview_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
) -> Result<Vec<RegionOverview>, super::LookupError> {
    if !matches!(staff.role, StaffRole::Admin) {
        return Err(OutOfScope.into());
    }
    let participants: HashMap<_, _> =
        participation_queries::active_per_region(conn).await?.into_iter().collect();
    let active: HashMap<_, _> =
        alert_queries::count_per_region(conn, AlertStatus::Active).await?.into_iter().collect();
    let drafts: HashMap<_, _> =
        alert_queries::count_per_region(conn, AlertStatus::Draft).await?.into_iter().collect();
    Ok(queries::list_regions(conn)
        .await?
        .into_iter()
        .map(|region| RegionOverview {
            active_participants: ReachCount::shown(participants.get(&region.id).copied().unwrap_or(0)),
            active_alerts: active.get(&region.id).copied().unwrap_or(0),
            draft_alerts: drafts.get(&region.id).copied().unwrap_or(0),
            code: region.code,
            name: region.name,
            municipalities: region.municipality_count,
            inhabitants: region.inhabitants,
        })
        .collect())
}
