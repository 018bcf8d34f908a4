//! Whom an alert reaches besides its area: the target groups a dispatcher names (doelgroepen,
//! seed 001: a municipality's enforcement officers, a shopping centre's security staff). Their
//! approved members are alerted wherever they are, once each, also when the area reaches them
//! too; an alert may reach its groups only (`reach_area: false`), its area then only showing
//! where to look. The groups themselves and their members are kept in [`crate::target_groups`].

use diesel_async::AsyncPgConnection;

use crate::db::alerts as queries;
use crate::db::target_groups::{self as group_queries, TargetGroupRef};
use crate::ids::{AlertId, RegionId, TargetGroupId};
use crate::vocabulary::{InvalidInput, distinct};

/// The most target groups one alert names.
pub const MAX_TARGET_GROUPS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The default of `reach_area`: an alert reaches its area.
pub fn reaches_area() -> bool {
    true
}

/// The target groups asked for, each once, checked against `reach_area`: an alert that does not
/// reach its area must name a group, or it would reach nobody.
pub fn parse_target_groups(
    reach_area: bool,
    groups: &[TargetGroupId],
) -> Result<Vec<TargetGroupId>, InvalidInput> {
    let groups = distinct(groups);
    if groups.len() > MAX_TARGET_GROUPS {
        return Err(InvalidInput::new(
            "invalid_target_groups",
            format!("An alert names at most {MAX_TARGET_GROUPS} target groups."),
        ));
    }
    if !reach_area && groups.is_empty() {
        return Err(InvalidInput::new(
            "invalid_target_groups",
            "An alert that does not reach its area must name at least one target group.",
        ));
    }
    Ok(groups)
}

/// All of `groups`, or the refusal: a group of another region, or archived, is not the
/// dispatcher's to name.
fn all_of(
    groups: &[TargetGroupId],
    found: Vec<TargetGroupRef>,
) -> Result<Vec<TargetGroupRef>, AudienceError> {
    if found.len() != groups.len() {
        return Err(AudienceError::Invalid(InvalidInput::new(
            "unknown_target_group",
            "A target group named is not one of your region's (or it was archived).",
        )));
    }
    Ok(found)
}

/// Checks that `groups` are target groups of `region` still in use; returns them by name.
pub async fn usable_target_groups(
    conn: &mut AsyncPgConnection,
    region: RegionId,
    groups: &[TargetGroupId],
) -> Result<Vec<TargetGroupRef>, AudienceError> {
    all_of(groups, group_queries::usable_in_region(conn, region, groups).await?)
}

/// Names `groups` (of `region`, in use) as the alert's, in the transaction that creates it.
pub async fn name_target_groups(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    region: RegionId,
    groups: &[TargetGroupId],
) -> Result<Vec<TargetGroupRef>, AudienceError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    all_of(groups, queries::add_target_groups(conn, alert, region, groups).await?)
}
