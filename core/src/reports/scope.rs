//! Whose figures a report shows: the country, one region (with its municipalities) or one
//! municipality; and who may read them.

use diesel_async::AsyncPgConnection;
use serde::Serialize;

use crate::auth::staff::{OutOfScope, StaffMember, StaffRole};
use crate::ids::RegionId;
use crate::reference_data::{self, LookupError, municipality_for, region_for};
use crate::vocabulary::regions::{CbsCode, RegionCode};

/// What a report was asked for: a region or a municipality, or neither (the caller's own scope).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeRequest {
    pub region: Option<RegionCode>,
    pub municipality: Option<CbsCode>,
}

/// The scope a report covers, as its response names it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "level", rename_all = "snake_case")]
pub enum ReportScope {
    /// Every region and municipality.
    National { inhabitants: i64 },
    Region {
        code: RegionCode,
        name: String,
        inhabitants: i64,
        /// The region's id, for the data layer.
        #[serde(skip)]
        id: RegionId,
        /// The region's municipalities, for the data layer.
        #[serde(skip)]
        municipalities: Vec<CbsCode>,
    },
    Municipality {
        cbs_code: CbsCode,
        name: String,
        inhabitants: i64,
        /// The region it belongs to, if any.
        region: Option<RegionCode>,
    },
}

impl ReportScope {
    /// Inhabitants in the scope (reference data).
    pub fn inhabitants(&self) -> i64 {
        match self {
            Self::National { inhabitants }
            | Self::Region { inhabitants, .. }
            | Self::Municipality { inhabitants, .. } => *inhabitants,
        }
    }

    /// The municipalities in the scope, for filtering rollups kept per municipality; `None` for
    /// the country (every municipality, and figures of participants in none).
    pub fn municipality_codes(&self) -> Option<Vec<String>> {
        match self {
            Self::National { .. } => None,
            Self::Region { municipalities, .. } => {
                Some(municipalities.iter().map(|code| code.as_str().to_string()).collect())
            }
            Self::Municipality { cbs_code, .. } => Some(vec![cbs_code.as_str().to_string()]),
        }
    }

    /// The scope in a file name: `national`, the region's code or the CBS code.
    pub fn file_name_part(&self) -> String {
        match self {
            Self::National { .. } => "national".to_string(),
            Self::Region { code, .. } => code.as_str().to_string(),
            Self::Municipality { cbs_code, .. } => cbs_code.as_str().to_string(),
        }
    }
}

/// The scope `request` names, for `staff`; without a region or municipality, the staff member's
/// own (a relations officer's municipality, a dispatcher's or region manager's region, the
/// country for an administrator). Scope is checked before existence, so staff outside it cannot
/// learn whether a code exists. The country is for administrators only.
pub async fn scope_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    request: &ScopeRequest,
) -> Result<ReportScope, LookupError> {
    let own_region = |region: &str| RegionCode::parse(region).map_err(|_| LookupError::from(OutOfScope));
    let own_municipality = |code: &str| CbsCode::parse(code).map_err(|_| LookupError::from(OutOfScope));
    let (region, municipality) = match (&request.region, &request.municipality, &staff.role) {
        (Some(region), _, _) => (Some(region.clone()), None),
        (None, Some(municipality), _) => (None, Some(municipality.clone())),
        (None, None, StaffRole::Admin) => (None, None),
        (None, None, StaffRole::RelationsOfficer { municipality }) => {
            (None, Some(own_municipality(municipality)?))
        }
        (None, None, StaffRole::Dispatcher { region } | StaffRole::RegionManager { region }) => {
            (Some(own_region(region)?), None)
        }
    };
    if let Some(code) = municipality {
        let found = municipality_for(conn, staff, &code).await?;
        return Ok(ReportScope::Municipality {
            cbs_code: found.cbs_code,
            name: found.name,
            inhabitants: i64::from(found.inhabitants),
            region: found.region,
        });
    }
    if let Some(code) = region {
        let found = region_for(conn, staff, &code).await?;
        let municipalities = reference_data::municipalities_of_region_for(conn, staff, &code).await?;
        return Ok(ReportScope::Region {
            code: found.code,
            name: found.name,
            inhabitants: found.inhabitants,
            id: found.id,
            municipalities: municipalities.into_iter().map(|m| m.cbs_code).collect(),
        });
    }
    if !matches!(staff.role, StaffRole::Admin) {
        return Err(OutOfScope.into());
    }
    let inhabitants = reference_data::national_inhabitants(conn).await?;
    Ok(ReportScope::National { inhabitants })
}
