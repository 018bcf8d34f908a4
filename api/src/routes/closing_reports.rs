//! The closing report of an alert: what the control room's communication staff write for the
//! public once a real alert is closed, shown on its public page and in its region's feed. The
//! rules are in `burgernet_core::alerts::public_page`.

use actix_web::{put, web};
use burgernet_core::alerts::public_page::{self, ClosingReport, ClosingReportError, ClosingReportRequest};
use burgernet_core::ids::AlertId;
use uuid::Uuid;

use crate::auth::ReportWriter;
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

impl From<ClosingReportError> for ApiError {
    fn from(error: ClosingReportError) -> Self {
        let detail = error.to_string();
        match error {
            ClosingReportError::Access(access) => access.into(),
            ClosingReportError::NotClosed(_) => Self::conflict("alert_not_closed", detail),
            ClosingReportError::NotPublic => Self::conflict("alert_not_public", detail),
            ClosingReportError::Invalid(invalid) => invalid.into(),
            ClosingReportError::Database(inner) => inner.into(),
        }
    }
}

/// Write the public closing report of a closed real alert, or rewrite it: what happened and how
/// it ended, for the public page and the region's feed. Recorded in the dossier
/// (`closing_report_written`) each time.
///
/// Who may call: dispatchers and region managers of the alert's region (the control room's
/// communication staff work under them).
#[utoipa::path(
    tag = "alerts",
    security(("staff_token" = [])),
    params(("alert_id" = Uuid, Path, description = "The alert.")),
    request_body = ClosingReportRequest,
    responses(
        (status = 200, description = "The report as it now stands.", body = ClosingReport),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such alert.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`alert_not_closed` (a draft or an active alert) or `alert_not_public` (an exercise or a test, which has no public page).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_closing_report` (empty, over 4,000 characters, or control characters other than line breaks) or `invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/alerts/{alert_id}/closing-report")]
pub async fn write_closing_report(
    state: web::Data<AppState>,
    writer: ReportWriter,
    alert_id: web::Path<Uuid>,
    body: JsonBody<ClosingReportRequest>,
) -> Result<web::Json<ClosingReport>, ApiError> {
    let mut conn = state.db().await?;
    let report =
        public_page::write_closing_report(&mut conn, &writer.0, AlertId(*alert_id), body.into_inner())
            .await?;
    Ok(web::Json(report))
}
