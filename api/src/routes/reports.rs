//! The quarterly management report: the other reports of one region or municipality put
//! together, as JSON, as one CSV file, or as a page to print (or save as PDF from the browser).

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use burgernet_core::reports::management::{
    ManagementReport, ManagementReportError, ManagementRequest, management_report,
};
use burgernet_core::reports::{ReportPeriod, Table, scope_for};
use serde::Deserialize;

use crate::auth::Staff;
use crate::error::{ApiError, Problem, StaffAccessProblems};
use crate::reports::{self, PRINTABLE_POLICY};
use crate::state::AppState;

/// Which region or municipality, which quarter, in what form.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ManagementReportQuery {
    /// A police region's code. Without `region` or `municipality`: the caller's own region or
    /// municipality.
    pub region: Option<String>,
    /// A municipality's CBS code, e.g. `GM0599`. Not together with `region`.
    pub municipality: Option<String>,
    /// The quarter, e.g. `2026-Q3`. Required.
    pub quarter: Option<String>,
    /// `json` (default), `csv` (every table in one file) or `html` (a page to print).
    #[param(inline)]
    pub format: Option<ManagementReportFormat>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ManagementReportFormat {
    #[default]
    Json,
    Csv,
    Html,
}

impl From<ManagementReportError> for ApiError {
    fn from(error: ManagementReportError) -> Self {
        match error {
            ManagementReportError::NationalScope => Self::bad_request("invalid_scope", error.to_string()),
            ManagementReportError::Distribution(inner) => Self::internal(inner),
            ManagementReportError::Database(inner) => inner.into(),
        }
    }
}

/// The management report of a region or municipality for one quarter: participation,
/// distribution, alert results, delivery and costs, with the figures each of those reports
/// shows on its own for the same scope and period. Counts of people under 5 are shown as
/// `{"fewer_than": 5}` (`<5` in the files). The distribution is the current state.
///
/// Who may call: the municipality's relations officers (their municipality), dispatchers and
/// region managers (their region and its municipalities), administrators (every region and
/// municipality; the country as a whole has no management report).
#[utoipa::path(
    tag = "reports",
    security(("staff_token" = [])),
    params(ManagementReportQuery),
    responses(
        (status = 200, description = "The report: JSON, or with `format=csv` a CSV download (`text/csv`), or with `format=html` a self-contained page to print (`text/html`, no scripts).", content((ManagementReport = "application/json"), (String = "text/csv"), (String = "text/html"))),
        (status = 400, description = "`invalid_scope` (both region and municipality, a malformed code, or the country), `invalid_period` (no quarter, or not written like `2026-Q3`), or `invalid_query`.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such region or municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/reports/management")]
pub async fn management(
    state: web::Data<AppState>,
    Staff(member): Staff,
    query: web::Query<ManagementReportQuery>,
) -> Result<HttpResponse, ApiError> {
    let scope_request = reports::scope_request(query.region.as_deref(), query.municipality.as_deref())?;
    let quarter = query.quarter.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "invalid_period",
            "The management report covers a quarter: give quarter, e.g. 2026-Q3.",
        )
    })?;
    let period = ReportPeriod::quarter(quarter)?;
    let mut conn = state.db().await?;
    let scope = scope_for(&mut conn, &member, &scope_request).await?;
    let request = ManagementRequest {
        quarter,
        period,
        participation_target_percent: state.reports.participation_target_percent,
        tariffs: &state.reports.tariffs,
    };
    let report = management_report(&mut conn, &scope, request, chrono::Utc::now()).await?;
    drop(conn);
    let file_name = format!("managementrapportage_{}_{quarter}", scope.file_name_part());
    Ok(match query.format.unwrap_or_default() {
        ManagementReportFormat::Json => HttpResponse::Ok().json(&report),
        ManagementReportFormat::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}.csv\"")))
            .body(reports::csv(&titled_tables(&report))),
        ManagementReportFormat::Html => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CONTENT_SECURITY_POLICY, PRINTABLE_POLICY))
            .insert_header((header::CONTENT_DISPOSITION, format!("inline; filename=\"{file_name}.html\"")))
            .body(reports::printable(&title(&report), &facts(&report), &report.sections())),
    })
}

fn title(report: &ManagementReport) -> String {
    format!("Managementrapportage Burgernet {}", report.quarter)
}

/// What the page says about the report before its sections.
fn facts(report: &ManagementReport) -> Vec<(String, String)> {
    use burgernet_core::reports::ReportScope;
    let scope = match &report.scope {
        ReportScope::National { .. } => "Nederland".to_string(),
        ReportScope::Region { name, code, .. } => format!("Eenheid {name} ({code})", code = code.as_str()),
        ReportScope::Municipality { name, cbs_code, .. } => {
            format!("Gemeente {name} ({code})", code = cbs_code.as_str())
        }
    };
    vec![
        ("Voor".to_string(), scope),
        ("Periode".to_string(), format!("{} t/m {}", report.period.first, report.period.last)),
        ("Inwoners".to_string(), report.scope.inhabitants().to_string()),
        ("Gemaakt".to_string(), report.made_at.format("%Y-%m-%d %H:%M UTC").to_string()),
        ("Aantallen".to_string(), "Aantallen mensen onder 5 staan er als <5.".to_string()),
    ]
}

/// Every table of the report, its title led by its section's, for one CSV file.
fn titled_tables(report: &ManagementReport) -> Vec<Table> {
    report
        .sections()
        .into_iter()
        .flat_map(|section| {
            let heading = section.heading;
            section.tables.into_iter().map(move |mut table| {
                table.title = format!("{heading} – {}", table.title);
                table
            })
        })
        .collect()
}
