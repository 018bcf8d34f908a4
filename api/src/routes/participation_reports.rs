//! Reports on participants: how many take part per municipality and how that changes
//! (`/v1/reports/participation`), and where they live, for the map (`/v1/reports/distribution`).

use actix_web::{HttpResponse, get, web};
use burgernet_core::reports::distribution::{self, DistributionReport};
use burgernet_core::reports::participation::{self, ParticipationReport};
use burgernet_core::reports::scope_for;

use crate::auth::Staff;
use crate::error::{ApiError, Problem, StaffAccessProblems};
use crate::reports::{self, ReportQuery};
use crate::state::AppState;

/// Participation per municipality: active participants against inhabitants, the share, how they
/// can be reached (app; SMS only; e-mail only), and whether the share is under the target
/// (`BURGERNET_PARTICIPATION_TARGET_PERCENT`, default 10); the scope's total; and per month of
/// the period who joined and who left, by reason, the net change and the active participants at
/// the month's end. Counts of people under 5 are shown as `{"fewer_than": 5}`.
///
/// The counts are those the workers make (every ten minutes at most): the last count on or before
/// the period's last day, made at `counted_at`. Joining and leaving are counted as they happen.
/// `format=csv` gives the same figures as a download.
///
/// Who may call: relations officers for their municipality, dispatchers and region managers for
/// their region and its municipalities, administrators for any and for the country (the default
/// for them). Without `region` or `municipality`, the caller's own scope.
#[utoipa::path(
    tag = "reports",
    security(("staff_token" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The report as JSON, or as `text/csv` with `format=csv`.", content((ParticipationReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A region or municipality that is not a code, or both (`invalid_scope`); a period that cannot be read (`invalid_period`); an unknown parameter or format (`invalid_query`).", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region or municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/participation")]
pub async fn participation_report(
    state: web::Data<AppState>,
    Staff(member): Staff,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = query.scope_request()?;
    let period = query.period()?;
    let mut conn = state.db().await?;
    let scope = scope_for(&mut conn, &member, &request).await?;
    let target = state.reports.participation_target_percent;
    let report = participation::participation_report(&mut conn, &scope, &period, target).await?;
    Ok(reports::respond(query.format(), "participation", &scope, &period, &report, || report.tables()))
}

/// Where the active participants of a region or municipality live, for the map, never as points:
/// per 500 m square of the national grid (RD New; named as CBS names its squares, e.g.
/// `E0920N4370`: the south-west corner in hectometres; with the square in WGS84 as a GeoJSON
/// Polygon), per 4-digit postcode area (homes whose postcode is known), and per municipality the
/// 10 squares overlapping it with the fewest participants (thin coverage; the reference data has
/// no inhabitants per square, so this is density, not a share). Each participant counts once, at
/// their home (else the place that made the municipality theirs). Squares and areas with fewer
/// than 5 participants are left out (their participants together are `not_shown_in_…`); the
/// thin-coverage squares show `{"fewer_than": 5}` for anything under 5, none included.
///
/// The figures are the state at the workers' last count (`as_of`; every ten minutes at most, with
/// the participation count; none before the first): `from`, `to` and `quarter` are read (and must
/// be valid) but do not change them. `format=csv` gives the same figures as a download (without the
/// outlines).
///
/// Who may call: relations officers for their municipality, dispatchers and region managers for
/// their region and its municipalities, administrators for any region or municipality. The
/// country as a whole is refused (400 `invalid_scope`): name a region or municipality.
#[utoipa::path(
    tag = "reports",
    security(("staff_token" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The report as JSON, or as `text/csv` with `format=csv`.", content((DistributionReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A region or municipality that is not a code, or both, or neither for an administrator (the country: `invalid_scope`); a period that cannot be read (`invalid_period`); an unknown parameter or format (`invalid_query`).", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region or municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/distribution")]
pub async fn distribution_report(
    state: web::Data<AppState>,
    Staff(member): Staff,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let request = query.scope_request()?;
    let period = query.period()?;
    let mut conn = state.db().await?;
    let scope = scope_for(&mut conn, &member, &request).await?;
    let report = distribution::distribution_report(&mut conn, &scope).await?;
    Ok(reports::respond(query.format(), "distribution", &scope, &period, &report, || report.tables()))
}
