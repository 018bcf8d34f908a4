//! Report 1, participation: per municipality its active participants against its inhabitants,
//! how they can be reached, and whether the share is under the target (seed 003: municipalities
//! under 10% are flagged for recruitment); and per month who joined and who left, and why.
//!
//! Read from two rollups, never from the participants themselves: the counts the workers'
//! housekeeping keeps ([`count_participation`], at most every ten minutes; the report shows the
//! last count on or before the period's last day, and when it was made) and the changes counted
//! in the same transaction as each change (`participants::membership`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;

use super::{Cell, ReportPeriod, ReportScope, Table, dutch_date};
use crate::alerts::reach::ReachCount;
use crate::db::participation_reports as queries;
use crate::vocabulary::ParticipationReason;

/// How often the workers count participation at most (every worker tries every minute).
pub const COUNTING_INTERVAL: TimeDelta = TimeDelta::minutes(10);

/// The participation report of a scope over a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ParticipationReport {
    pub scope: ReportScope,
    pub period: ReportPeriod,
    /// The share of inhabitants a municipality should reach (percent); under it, `below_target`.
    pub target_percent: f64,
    /// When the counts shown were made (the latest of the scope's municipalities); `null` when
    /// participation was never counted up to the period's end.
    pub counted_at: Option<DateTime<Utc>>,
    /// Every municipality of the scope, by name.
    pub municipalities: Vec<MunicipalityParticipation>,
    /// The scope as a whole (the country: every municipality's participants against every
    /// inhabitant).
    pub total: ParticipationFigures,
    /// Every month the period touches, in order.
    pub months: Vec<MonthlyParticipation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MunicipalityParticipation {
    pub cbs_code: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: ParticipationFigures,
}

/// Active participants against inhabitants, and how they can be reached. The split follows the
/// selection's rule for a channel (`reach_of`): push when chosen and a device is registered, SMS
/// when chosen and a phone number is known, e-mail when chosen and the address is verified. Each
/// participant counts under one: `app` if the app reaches them, else `sms_only` if SMS does, else
/// `email_only` if e-mail does; active participants no channel reaches are counted in `active`
/// only.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ParticipationFigures {
    /// From the reference data.
    pub inhabitants: i64,
    /// Active participants (status active, managed by the municipality).
    pub active: ReachCount,
    /// Active participants per 100 inhabitants; `null` when `active` is not shown as a number or
    /// there are no inhabitants on record.
    pub share_percent: Option<f64>,
    pub app: ReachCount,
    pub sms_only: ReachCount,
    pub email_only: ReachCount,
    /// Whether the share (from the exact count) is under the target; false without inhabitants
    /// on record.
    pub below_target: bool,
}

/// One month of the trend. A participant joins a municipality by signing up (their first
/// place), by its approval, by reinstatement from quarantine or by moving in, and leaves it by
/// signing off, removal, quarantine, moving out or removing their last place; a move between two
/// municipalities of the scope counts on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthlyParticipation {
    /// The month's first day.
    pub month: NaiveDate,
    /// Participants who joined.
    pub sign_ups: ReachCount,
    /// Participants who left.
    pub sign_offs: ReachCount,
    /// Every reason, those that join first, each with how many.
    pub reasons: Vec<ReasonCount>,
    /// `sign_ups` minus `sign_offs`; `null` unless both are shown as numbers.
    pub net: Option<i64>,
    /// Active participants as last counted in the month (the latest count for the running
    /// month); `null` when nothing was counted in it.
    pub active_at_month_end: Option<ReachCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReasonCount {
    pub reason: ParticipationReason,
    /// Whether the reason joins the municipality (else it leaves it).
    pub joins: bool,
    pub participants: ReachCount,
}

/// Counts every municipality's active participants now (one counter at a time: while another
/// holds the lock this returns None) and keeps the count as that of today in Dutch time; and
/// where they live, for the distribution report, in the same transaction. Returns the number of
/// municipalities counted.
pub async fn count_participation(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<Option<usize>, diesel::result::Error> {
    conn.transaction(async |conn| {
        if !queries::try_lock_counting(conn).await? {
            return Ok(None);
        }
        let counted = queries::count_participation(conn, dutch_date(now), now).await?;
        queries::count_distribution(conn, super::distribution::CELL_METRES as f64).await?;
        Ok(Some(counted))
    })
    .await
}

/// Counts participation when the last count (by any worker) is [`COUNTING_INTERVAL`] old or
/// there is none; None when not due or another worker is counting.
pub async fn count_participation_when_due(
    conn: &mut AsyncPgConnection,
) -> Result<Option<usize>, diesel::result::Error> {
    let now = Utc::now();
    let last = queries::last_counted_at(conn).await?;
    if last.is_some_and(|last| now - last < COUNTING_INTERVAL) {
        return Ok(None);
    }
    count_participation(conn, now).await
}

/// The participation report of `scope` over `period`; municipalities under `target_percent` are
/// flagged. The scope was checked by `scope_for`.
pub async fn participation_report(
    conn: &mut AsyncPgConnection,
    scope: &ReportScope,
    period: &ReportPeriod,
    target_percent: f64,
) -> Result<ParticipationReport, diesel::result::Error> {
    let codes = scope.municipality_codes();
    let codes = codes.as_deref();
    let counted = queries::municipality_counts(conn, codes, period.last).await?;
    let months_from = period.months().first().copied().unwrap_or(period.first);
    let changes = queries::monthly_changes(conn, codes, period.first, period.after()).await?;
    let month_ends = queries::active_at_month_ends(conn, codes, months_from, period.after()).await?;

    let mut total = Counted::default();
    let mut counted_at = None;
    let municipalities = counted
        .into_iter()
        .map(|row| {
            let figures = Counted {
                active: row.active.map_or(0, i64::from),
                app: row.app.map_or(0, i64::from),
                sms_only: row.sms_only.map_or(0, i64::from),
                email_only: row.email_only.map_or(0, i64::from),
            };
            total.add(&figures);
            counted_at = counted_at.max(row.counted_at);
            MunicipalityParticipation {
                cbs_code: row.cbs_code,
                name: row.name,
                figures: figures.shown(i64::from(row.inhabitants), target_percent),
            }
        })
        .collect();

    let mut by_month: HashMap<(NaiveDate, ParticipationReason), i64> = HashMap::new();
    for row in changes {
        *by_month.entry((row.month, row.reason)).or_default() += row.participants;
    }
    let month_ends: HashMap<NaiveDate, i64> =
        month_ends.into_iter().map(|row| (row.month, row.active)).collect();
    let months = period
        .months()
        .into_iter()
        .map(|month| {
            let count = |reason| by_month.get(&(month, reason)).copied().unwrap_or(0);
            let sum = |joins: bool| {
                ParticipationReason::ALL
                    .iter()
                    .filter(|reason| reason.joins() == joins)
                    .map(|r| count(*r))
                    .sum()
            };
            let (joined, left): (i64, i64) = (sum(true), sum(false));
            let (sign_ups, sign_offs) = (ReachCount::shown(joined), ReachCount::shown(left));
            let both_shown =
                matches!((sign_ups, sign_offs), (ReachCount::Exact { .. }, ReachCount::Exact { .. }));
            MonthlyParticipation {
                month,
                sign_ups,
                sign_offs,
                reasons: ParticipationReason::ALL
                    .iter()
                    .map(|reason| ReasonCount {
                        reason: *reason,
                        joins: reason.joins(),
                        participants: ReachCount::shown(count(*reason)),
                    })
                    .collect(),
                net: both_shown.then_some(joined - left),
                active_at_month_end: month_ends.get(&month).map(|active| ReachCount::shown(*active)),
            }
        })
        .collect();

    Ok(ParticipationReport {
        scope: scope.clone(),
        period: *period,
        target_percent,
        counted_at,
        municipalities,
        total: total.shown(scope.inhabitants(), target_percent),
        months,
    })
}

/// Exact counts, before they are shown.
#[derive(Debug, Default)]
struct Counted {
    active: i64,
    app: i64,
    sms_only: i64,
    email_only: i64,
}

impl Counted {
    fn add(&mut self, other: &Counted) {
        self.active += other.active;
        self.app += other.app;
        self.sms_only += other.sms_only;
        self.email_only += other.email_only;
    }

    fn shown(&self, inhabitants: i64, target_percent: f64) -> ParticipationFigures {
        let active = ReachCount::shown(self.active);
        let exact_share = (inhabitants > 0).then(|| self.active as f64 * 100.0 / inhabitants as f64);
        ParticipationFigures {
            inhabitants,
            active,
            share_percent: exact_share.filter(|_| matches!(active, ReachCount::Exact { .. })),
            app: ReachCount::shown(self.app),
            sms_only: ReachCount::shown(self.sms_only),
            email_only: ReachCount::shown(self.email_only),
            below_target: exact_share.is_some_and(|share| share < target_percent),
        }
    }
}

impl ParticipationReport {
    /// The figures as tables: the municipalities with the total last, then the monthly trend.
    pub fn tables(&self) -> Vec<Table> {
        let mut participation = Table::new(
            "Deelname per gemeente",
            &[
                "cbs_code",
                "gemeente",
                "inwoners",
                "actieve deelnemers",
                "aandeel %",
                "app",
                "alleen sms",
                "alleen e-mail",
                "onder doel",
            ],
        );
        let row = |code: &str, name: &str, figures: &ParticipationFigures| {
            vec![
                Cell::text(code),
                Cell::text(name),
                Cell::Number(figures.inhabitants),
                Cell::People(figures.active),
                Cell::decimal(figures.share_percent, 2),
                Cell::People(figures.app),
                Cell::People(figures.sms_only),
                Cell::People(figures.email_only),
                Cell::text(if figures.below_target { "ja" } else { "nee" }),
            ]
        };
        for municipality in &self.municipalities {
            participation.push(row(&municipality.cbs_code, &municipality.name, &municipality.figures));
        }
        participation.push(row("", "Totaal", &self.total));

        let mut columns = vec!["maand", "aanmeldingen", "afmeldingen", "netto", "actief aan einde maand"];
        columns.extend(ParticipationReason::ALL.iter().map(|reason| reason.as_str()));
        let mut trend = Table::new("Verloop per maand", &columns);
        for month in &self.months {
            let mut cells = vec![
                Cell::text(month.month.format("%Y-%m").to_string()),
                Cell::People(month.sign_ups),
                Cell::People(month.sign_offs),
                month.net.map_or(Cell::Empty, Cell::Number),
                month.active_at_month_end.map_or(Cell::Empty, Cell::People),
            ];
            cells.extend(month.reasons.iter().map(|reason| Cell::People(reason.participants)));
            trend.push(cells);
        }
        vec![participation, trend]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_and_flag_come_from_the_exact_count_but_the_share_is_shown_only_with_it() {
        let counted = |active| Counted { active, app: active, sms_only: 0, email_only: 0 };
        let shown = counted(4).shown(1000, 10.0);
        assert_eq!(
            (shown.active, shown.share_percent, shown.below_target),
            (ReachCount::shown(4), None, true)
        );
        let shown = counted(150).shown(1000, 10.0);
        assert_eq!((shown.share_percent, shown.below_target), (Some(15.0), false));
        let shown = counted(99).shown(1000, 10.0);
        assert_eq!((shown.share_percent, shown.below_target), (Some(9.9), true));
        let shown = counted(7).shown(0, 10.0);
        assert_eq!((shown.share_percent, shown.below_target), (None, false), "no inhabitants on record");
    }
}
