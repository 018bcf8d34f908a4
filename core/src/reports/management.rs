//! The management report (MARAP, seed 002): one document per region or municipality per quarter
//! that puts the other reports together — participation, distribution, alert results, delivery
//! and costs — with the same figures each of them shows on its own.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alert_results::{AlertResultsReport, alert_results_report};
use super::costs::{CostsReport, Tariffs, costs_report};
use super::delivery::{DeliveryReport, delivery_report};
use super::distribution::{DistributionError, DistributionReport, distribution_report};
use super::participation::{ParticipationReport, participation_report};
use super::{ReportPeriod, ReportScope, Section};

/// The quarter's reports of one region or municipality.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ManagementReport {
    pub scope: ReportScope,
    /// The quarter, e.g. `2026-Q3`.
    pub quarter: String,
    pub period: ReportPeriod,
    pub made_at: DateTime<Utc>,
    pub participation: ParticipationReport,
    /// Where participants live now (the state when the report was made, not at the quarter's end).
    pub distribution: DistributionReport,
    pub alert_results: AlertResultsReport,
    pub delivery: DeliveryReport,
    pub costs: CostsReport,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagementReportError {
    /// The country has no management report: it is made per region or municipality.
    #[error("The management report is made for a region or a municipality; name one.")]
    NationalScope,
    #[error(transparent)]
    Distribution(DistributionError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<DistributionError> for ManagementReportError {
    fn from(error: DistributionError) -> Self {
        match error {
            DistributionError::NationalScope => Self::NationalScope,
            other => Self::Distribution(other),
        }
    }
}

/// What the management report is made of: the quarter and the settings of the reports it
/// includes.
#[derive(Debug, Clone, Copy)]
pub struct ManagementRequest<'a> {
    /// The quarter as written, e.g. `2026-Q3`, and its period ([`ReportPeriod::quarter`]).
    pub quarter: &'a str,
    pub period: ReportPeriod,
    pub participation_target_percent: f64,
    pub tariffs: &'a Tariffs,
}

/// The management report of `scope` for the requested quarter. The scope was checked by
/// `scope_for`.
pub async fn management_report(
    conn: &mut diesel_async::AsyncPgConnection,
    scope: &ReportScope,
    request: ManagementRequest<'_>,
    now: DateTime<Utc>,
) -> Result<ManagementReport, ManagementReportError> {
    let ManagementRequest { quarter, period, participation_target_percent, tariffs } = request;
    let period = &period;
    if matches!(scope, ReportScope::National { .. }) {
        return Err(ManagementReportError::NationalScope);
    }
    Ok(ManagementReport {
        scope: scope.clone(),
        quarter: quarter.to_string(),
        period: *period,
        made_at: now,
        participation: participation_report(conn, scope, period, participation_target_percent).await?,
        distribution: distribution_report(conn, scope).await?,
        alert_results: alert_results_report(conn, scope, period).await?,
        delivery: delivery_report(conn, scope, period).await?,
        costs: costs_report(conn, scope, period, tariffs).await?,
    })
}

impl ManagementReport {
    /// The report's parts in order, each with the tables its own report has.
    pub fn sections(&self) -> Vec<Section> {
        let section = |heading: &str, tables| Section { heading: heading.to_string(), tables };
        vec![
            section("1. Deelname", self.participation.tables()),
            section("2. Spreiding van deelnemers", self.distribution.tables()),
            section("3. Resultaten van Burgernetacties", self.alert_results.tables()),
            section("4. Bezorging per kanaal", self.delivery.tables()),
            section("5. Kosten", self.costs.tables()),
        ]
    }
}
