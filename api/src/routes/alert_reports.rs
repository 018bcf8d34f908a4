//! The reports on alerts: their results, the delivery funnel and the costs of messages (issue 17,
//! reports 3 to 5). Each reads the alert rollups that the workers keep (every minute, final two
//! days after an alert closed), for a scope and a period, as JSON or as a CSV download.

use actix_web::{HttpResponse, get, web};
use burgernet_core::reports::alert_results::{self, AlertResultsReport};
use burgernet_core::reports::costs::{self, CostsReport};
use burgernet_core::reports::delivery::{self, DeliveryReport};
use burgernet_core::reports::scope_for;

use crate::auth::Staff;
use crate::error::{ApiError, Problem, StaffAccessProblems};
use crate::reports::{self, ReportQuery};
use crate::state::AppState;

/// Alert results: alerts by category and urgency, outcomes, success rates (hard, and hard + soft:
/// "maatschappelijk succes", over the alerts closed with a result other than cancelled), reach,
/// seconds from send to the first and last push of the initial wave (median and p95 over the
/// alerts), tips per alert, and receipt and open rates; for the period and each of its months,
/// and per recipients' municipality.
///
/// Which alerts count, by the day they were sent (Dutch time): for the country all; for a region
/// the alerts of its control room; for a municipality the alerts that reached its participants,
/// with the reach, receipts and opens of its participants only (tips and push times are the
/// alert's own). Counts of people under 5 are `{"fewer_than": 5}`, and a rate only from a count
/// that is shown. Figures are those of the last roll-up (every minute).
///
/// Who may call: administrators (any scope, the country by default); dispatchers and region
/// managers (their region and its municipalities, their region by default); relations officers
/// (their municipality).
#[utoipa::path(
    tag = "reports",
    security(("staff_token" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The alert results, as JSON or (`format=csv`) as a CSV download.", content((AlertResultsReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_scope` (both region and municipality, or a code that is not one), `invalid_period` (a period that cannot be read, or over three years) or `invalid_query`.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region or municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/alert-results")]
pub async fn alert_results_report(
    state: web::Data<AppState>,
    Staff(member): Staff,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (request, period) = (query.scope_request()?, query.period()?);
    let mut conn = state.db().await?;
    let scope = scope_for(&mut conn, &member, &request).await?;
    let report = alert_results::alert_results_report(&mut conn, &scope, &period).await?;
    Ok(reports::respond(query.format(), "alert-results", &scope, &period, &report, || report.tables()))
}

/// The delivery funnel: per channel (push, SMS, e-mail) the messages sent (accepted by the
/// provider), delivered, failed, and the recipients who acknowledged and opened them; the SMS made
/// as a fallback by rule; the push devices removed because the provider declared their token
/// dead; for the period and each of its months.
///
/// Which messages count: all messages (alert, updates, closing) to the participants of the
/// scope's municipalities (the country: all participants), of the alerts sent in the period (by
/// the day they were sent, Dutch time). Counts of people under 5 are `{"fewer_than": 5}`.
///
/// Who may call: administrators (any scope, the country by default); dispatchers and region
/// managers (their region and its municipalities, their region by default); relations officers
/// (their municipality).
#[utoipa::path(
    tag = "reports",
    security(("staff_token" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The delivery funnel, as JSON or (`format=csv`) as a CSV download.", content((DeliveryReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_scope` (both region and municipality, or a code that is not one), `invalid_period` (a period that cannot be read, or over three years) or `invalid_query`.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region or municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/delivery")]
pub async fn delivery_report(
    state: web::Data<AppState>,
    Staff(member): Staff,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (request, period) = (query.scope_request()?, query.period()?);
    let mut conn = state.db().await?;
    let scope = scope_for(&mut conn, &member, &request).await?;
    let report = delivery::delivery_report(&mut conn, &scope, &period).await?;
    Ok(reports::respond(query.format(), "delivery", &scope, &period, &report, || report.tables()))
}

/// Costs: the messages per channel to the participants of each municipality (by the recipient's
/// own municipality), per month, priced with the configured tariffs (`BURGERNET_TARIFF_*_EUR`:
/// SMS per segment as rendered in the recipient's language, push, e-mail, voice per started
/// minute; there is no voice channel yet), and the cost per inhabitant.
///
/// Which messages count: those accepted by the provider, of the alerts sent in the period (by the
/// day they were sent, Dutch time), as in the delivery report.
///
/// Who may call: administrators (any scope, the country by default); dispatchers and region
/// managers (their region and its municipalities, their region by default); relations officers
/// (their municipality).
#[utoipa::path(
    tag = "reports",
    security(("staff_token" = [])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The costs, as JSON or (`format=csv`) as a CSV download.", content((CostsReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_scope` (both region and municipality, or a code that is not one), `invalid_period` (a period that cannot be read, or over three years) or `invalid_query`.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region or municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/costs")]
pub async fn costs_report(
    state: web::Data<AppState>,
    Staff(member): Staff,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let (request, period) = (query.scope_request()?, query.period()?);
    let mut conn = state.db().await?;
    let scope = scope_for(&mut conn, &member, &request).await?;
    let report = costs::costs_report(&mut conn, &scope, &period, &state.reports.tariffs).await?;
    Ok(reports::respond(query.format(), "costs", &scope, &period, &report, || report.tables()))
}
