//! Report 3, alert results: how many alerts, of what kind, how they ended, the success rates
//! the programme steers on (seed 003: hard success, and hard + soft as "maatschappelijk
//! succes"), reach, how fast the initial wave reached phones, tips, and receipts and opens.
//!
//! Which alerts count: for the country all; for a region the alerts of its control room; for a
//! municipality the alerts that reached its participants, with the recipients, receipts and
//! opens of its participants only (tips and push times are the alert's own). An alert counts in
//! the month of the day it was sent (Dutch time).
//!
//! Exercises and tests are not results: they are left out of every figure and shown apart, in
//! `exercises`.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::{Cell, ReportPeriod, ReportScope, Table};
use crate::alerts::reach::ReachCount;
use crate::db::alert_rollups::{self as queries, AlertGroupRow, RollupFilter};
use crate::vocabulary::Category;
use crate::vocabulary::alerts::Outcome;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertResultsReport {
    pub scope: ReportScope,
    pub period: ReportPeriod,
    /// The whole period.
    pub total: AlertResults,
    /// Each month the period touches, in order (months without alerts too).
    pub months: Vec<MonthResults>,
    /// Alerts per category and urgency (only those that occurred).
    pub by_category: Vec<CategoryCount>,
    /// Seconds from the send to the first and the last push of the initial wave.
    pub push_times: PushTimes,
    /// Per recipients' municipality in the scope: the alerts that reached its participants.
    pub municipalities: Vec<MunicipalityReach>,
    /// Exercises and tests of the period (alerts whose `purpose` is not `actual`), apart: they
    /// count in none of the figures above.
    pub exercises: AlertResults,
}

/// The figures of a set of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlertResults {
    pub alerts: i64,
    pub outcomes: Outcomes,
    /// Hard successes as a percentage of the alerts closed with a result other than cancelled
    /// (one decimal); none without such alerts.
    pub hard_success_percent: Option<f64>,
    /// Hard plus soft successes ("maatschappelijk succes"), likewise.
    pub hard_and_soft_success_percent: Option<f64>,
    /// Recipients, summed over the alerts.
    pub reach: ReachCount,
    pub tips: i64,
    /// Tips per alert (two decimals).
    pub tips_per_alert: Option<f64>,
    /// Recipients whose app confirmed receipt, and as a percentage of the reach (one decimal, only
    /// when the count is shown).
    pub acknowledged: ReachCount,
    pub acknowledged_percent: Option<f64>,
    /// Recipients who opened the alert in the app, likewise.
    pub opened: ReachCount,
    pub opened_percent: Option<f64>,
}

/// Alerts by how they ended; `active` not yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Outcomes {
    pub hard_success: i64,
    pub soft_success: i64,
    pub no_result: i64,
    pub cancelled: i64,
    pub active: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthResults {
    /// The month's first day.
    pub month: NaiveDate,
    #[serde(flatten)]
    pub results: AlertResults,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CategoryCount {
    pub category: Category,
    pub urgent: bool,
    pub alerts: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PushTimes {
    /// Alerts whose initial wave pushed (the others have no push times).
    pub alerts: i64,
    pub to_first_push: Percentiles,
    pub to_last_push: Percentiles,
}

/// Seconds (one decimal) over the alerts; none without alerts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Percentiles {
    pub median_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MunicipalityReach {
    /// `None`: participants in no municipality (the country's report only).
    pub cbs_code: Option<String>,
    pub name: Option<String>,
    /// Alerts that reached at least one of its participants.
    pub alerts: i64,
    pub reach: ReachCount,
    pub acknowledged: ReachCount,
    pub opened: ReachCount,
}

/// The alert results of `scope` over `period`, from the rollups.
pub async fn alert_results_report(
    conn: &mut AsyncPgConnection,
    scope: &ReportScope,
    period: &ReportPeriod,
) -> diesel::QueryResult<AlertResultsReport> {
    let codes = scope.municipality_codes();
    let filter = RollupFilter {
        first: period.first,
        after: period.after(),
        region: match scope {
            ReportScope::Region { id, .. } => Some(*id),
            _ => None,
        },
        municipalities: match scope {
            ReportScope::Municipality { .. } => codes.as_deref(),
            _ => None,
        },
    };
    let (groups, exercises): (Vec<AlertGroupRow>, Vec<AlertGroupRow>) =
        queries::alert_groups(conn, filter).await?.into_iter().partition(|group| group.purpose.is_actual());
    let times = queries::push_times(conn, filter).await?;
    let reach = queries::municipality_reach(conn, period.first, period.after(), codes.as_deref()).await?;
    let months = period
        .months()
        .into_iter()
        .map(|month| MonthResults {
            month,
            results: AlertResults::of(groups.iter().filter(|group| group.month == month)),
        })
        .collect();
    let mut by_category: Vec<CategoryCount> = Vec::new();
    for group in &groups {
        match by_category.iter_mut().find(|c| c.category == group.category && c.urgent == group.urgent) {
            Some(count) => count.alerts += group.alerts,
            None => by_category.push(CategoryCount {
                category: group.category,
                urgent: group.urgent,
                alerts: group.alerts,
            }),
        }
    }
    by_category.sort_by_key(|c| (c.category.as_str(), !c.urgent));
    Ok(AlertResultsReport {
        scope: scope.clone(),
        period: *period,
        total: AlertResults::of(groups.iter()),
        months,
        by_category,
        push_times: PushTimes {
            alerts: times.alerts,
            to_first_push: Percentiles {
                median_seconds: times.first_median.map(|s| round(s, 1)),
                p95_seconds: times.first_p95.map(|s| round(s, 1)),
            },
            to_last_push: Percentiles {
                median_seconds: times.last_median.map(|s| round(s, 1)),
                p95_seconds: times.last_p95.map(|s| round(s, 1)),
            },
        },
        municipalities: reach
            .into_iter()
            .map(|row| MunicipalityReach {
                cbs_code: row.municipality_cbs,
                name: row.name,
                alerts: row.alerts,
                reach: ReachCount::shown(row.recipients),
                acknowledged: ReachCount::shown(row.acknowledged),
                opened: ReachCount::shown(row.opened),
            })
            .collect(),
        exercises: AlertResults::of(exercises.iter()),
    })
}

impl AlertResults {
    fn of<'a>(groups: impl Iterator<Item = &'a AlertGroupRow>) -> Self {
        let (mut outcomes, mut alerts, mut recipients, mut acknowledged, mut opened, mut tips) =
            (Outcomes::default(), 0, 0, 0, 0, 0);
        for group in groups {
            alerts += group.alerts;
            recipients += group.recipients;
            acknowledged += group.acknowledged;
            opened += group.opened;
            tips += group.tips;
            let count = match group.outcome {
                Some(Outcome::HardSuccess) => &mut outcomes.hard_success,
                Some(Outcome::SoftSuccess) => &mut outcomes.soft_success,
                Some(Outcome::NoResult) => &mut outcomes.no_result,
                Some(Outcome::Cancelled) => &mut outcomes.cancelled,
                None => &mut outcomes.active,
            };
            *count += group.alerts;
        }
        let ran_their_course = outcomes.hard_success + outcomes.soft_success + outcomes.no_result;
        let share_shown = |part: i64| percent(part, recipients).filter(|_| part >= SHOWN_FROM);
        Self {
            alerts,
            hard_success_percent: percent(outcomes.hard_success, ran_their_course),
            hard_and_soft_success_percent: percent(
                outcomes.hard_success + outcomes.soft_success,
                ran_their_course,
            ),
            reach: ReachCount::shown(recipients),
            tips,
            tips_per_alert: (alerts > 0).then(|| round(tips as f64 / alerts as f64, 2)),
            acknowledged: ReachCount::shown(acknowledged),
            acknowledged_percent: share_shown(acknowledged),
            opened: ReachCount::shown(opened),
            opened_percent: share_shown(opened),
            outcomes,
        }
    }
}

/// The smallest count of people shown, so the smallest whose share is shown.
const SHOWN_FROM: i64 = 5;

/// `part` of `whole` in percent with one decimal; none of nothing.
pub(super) fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| round(100.0 * part as f64 / whole as f64, 1))
}

pub(super) fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}

impl AlertResultsReport {
    pub fn tables(&self) -> Vec<Table> {
        let mut results = Table::new(
            "Resultaten van acties",
            &[
                "maand",
                "acties",
                "hard succes",
                "zacht succes",
                "geen resultaat",
                "geannuleerd",
                "actief",
                "hard succes %",
                "hard + zacht succes %",
                "bereik",
                "tips",
                "tips per actie",
                "ontvangst bevestigd",
                "bevestigd %",
                "geopend",
                "geopend %",
            ],
        );
        let rows = self.months.iter().map(|m| (m.month.format("%Y-%m").to_string(), &m.results));
        let apart = ("oefeningen en tests (niet in het totaal)".to_string(), &self.exercises);
        for (label, r) in rows.chain([("totaal".to_string(), &self.total), apart]) {
            results.push(vec![
                Cell::Text(label),
                Cell::Number(r.alerts),
                Cell::Number(r.outcomes.hard_success),
                Cell::Number(r.outcomes.soft_success),
                Cell::Number(r.outcomes.no_result),
                Cell::Number(r.outcomes.cancelled),
                Cell::Number(r.outcomes.active),
                Cell::decimal(r.hard_success_percent, 1),
                Cell::decimal(r.hard_and_soft_success_percent, 1),
                Cell::People(r.reach),
                Cell::Number(r.tips),
                Cell::decimal(r.tips_per_alert, 2),
                Cell::People(r.acknowledged),
                Cell::decimal(r.acknowledged_percent, 1),
                Cell::People(r.opened),
                Cell::decimal(r.opened_percent, 1),
            ]);
        }
        let mut categories = Table::new("Acties per categorie", &["categorie", "urgent", "acties"]);
        for c in &self.by_category {
            categories.push(vec![
                Cell::text(c.category.as_str()),
                Cell::text(if c.urgent { "ja" } else { "nee" }),
                Cell::Number(c.alerts),
            ]);
        }
        let mut times =
            Table::new("Tijd van versturen tot push (eerste golf)", &["tot", "acties", "mediaan s", "p95 s"]);
        for (label, p) in
            [("eerste push", &self.push_times.to_first_push), ("laatste push", &self.push_times.to_last_push)]
        {
            times.push(vec![
                Cell::text(label),
                Cell::Number(self.push_times.alerts),
                Cell::decimal(p.median_seconds, 1),
                Cell::decimal(p.p95_seconds, 1),
            ]);
        }
        let mut municipalities = Table::new(
            "Per gemeente van de ontvangers",
            &["gemeente", "cbs-code", "acties", "bereik", "ontvangst bevestigd", "geopend"],
        );
        for m in &self.municipalities {
            municipalities.push(vec![
                Cell::text(m.name.clone().unwrap_or_else(|| "geen gemeente".into())),
                Cell::text(m.cbs_code.clone().unwrap_or_default()),
                Cell::Number(m.alerts),
                Cell::People(m.reach),
                Cell::People(m.acknowledged),
                Cell::People(m.opened),
            ]);
        }
        vec![results, categories, times, municipalities]
    }
}
