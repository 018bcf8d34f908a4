//! The period a report covers: whole days in Dutch time (Europe/Amsterdam), as the rollups count
//! them.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc, Weekday};
use serde::Serialize;

/// The longest period one report covers: enough for three years side by side, little enough that
/// no request reads without bound.
const LONGEST_DAYS: i64 = 3 * 366;

/// From `first` to `last`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportPeriod {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// Why a period cannot be read; `code` is the problem's machine-readable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct InvalidPeriod {
    pub code: &'static str,
    pub detail: String,
}

fn invalid(detail: impl Into<String>) -> InvalidPeriod {
    InvalidPeriod { code: "invalid_period", detail: detail.into() }
}

impl ReportPeriod {
    /// From the query's `from` and `to` (dates, both included) or `quarter` (`2026-Q3`); without
    /// either, the twelve months up to and including `today`'s month.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        quarter: Option<&str>,
        today: NaiveDate,
    ) -> Result<Self, InvalidPeriod> {
        let period = match (from, to, quarter) {
            (None, None, Some(quarter)) => Self::quarter(quarter)?,
            (_, _, Some(_)) => return Err(invalid("Give either quarter or from and to, not both.")),
            (Some(from), Some(to), None) => Self { first: date(from, "from")?, last: date(to, "to")? },
            (Some(_), None, None) | (None, Some(_), None) => {
                return Err(invalid("Give both from and to (dates, both included)."));
            }
            (None, None, None) => {
                let this_month = today.with_day(1).unwrap_or(today);
                let first = this_month.checked_sub_months(Months::new(11)).unwrap_or(this_month);
                let last = this_month.checked_add_months(Months::new(1)).and_then(|next| next.pred_opt());
                Self { first, last: last.unwrap_or(today) }
            }
        };
        if period.last < period.first {
            return Err(invalid("The period ends before it starts: to is before from."));
        }
        if period.days() > LONGEST_DAYS {
            return Err(invalid(format!("A report covers at most {LONGEST_DAYS} days.")));
        }
        Ok(period)
    }

    /// A calendar quarter, written `2026-Q3`.
    pub fn quarter(text: &str) -> Result<Self, InvalidPeriod> {
        let not_a_quarter = || invalid(format!("quarter must be written like 2026-Q3, not {text:?}."));
        let (year, quarter) = text.split_once("-Q").ok_or_else(not_a_quarter)?;
        let year: i32 =
            year.parse().ok().filter(|year| (2000..=2100).contains(year)).ok_or_else(not_a_quarter)?;
        let quarter: u32 = quarter.parse().ok().filter(|q| (1..=4).contains(q)).ok_or_else(not_a_quarter)?;
        let first = NaiveDate::from_ymd_opt(year, 3 * quarter - 2, 1).ok_or_else(not_a_quarter)?;
        let last = first
            .checked_add_months(Months::new(3))
            .and_then(|next| next.pred_opt())
            .ok_or_else(not_a_quarter)?;
        Ok(Self { first, last })
    }

    /// Days in the period, the first and last included.
    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }

    /// The first day after the period: rollups are read `day >= first AND day < after`.
    pub fn after(&self) -> NaiveDate {
        self.last.succ_opt().unwrap_or(self.last)
    }

    /// The months the period touches, as their first days, in order (for monthly trends).
    pub fn months(&self) -> Vec<NaiveDate> {
        let mut month = self.first.with_day(1).unwrap_or(self.first);
        let mut months = Vec::new();
        while month <= self.last {
            months.push(month);
            match month.checked_add_months(Months::new(1)) {
                Some(next) => month = next,
                None => break,
            }
        }
        months
    }

    /// The period as a file name's part: `2026-07-01_2026-09-30`.
    pub fn file_name_part(&self) -> String {
        format!("{}_{}", self.first, self.last)
    }
}

/// The date in the Netherlands at `moment` (see [`dutch_time`]).
pub fn dutch_date(moment: DateTime<Utc>) -> NaiveDate {
    dutch_time(moment).date()
}

/// The time on Dutch clocks at `moment`: UTC+1, and UTC+2 from the last Sunday of March to the
/// last Sunday of October (at 01:00 UTC both), as the rollups' `AT TIME ZONE 'Europe/Amsterdam'`.
pub fn dutch_time(moment: DateTime<Utc>) -> NaiveDateTime {
    let year = moment.year();
    let last_sunday = |month: u32| {
        let first_of_next = NaiveDate::from_ymd_opt(year, month + 1, 1).expect("March or October");
        let last = first_of_next.pred_opt().expect("a day before");
        let back = last.weekday().num_days_from_sunday();
        (last - TimeDelta::days(i64::from(back)))
            .and_time(NaiveTime::from_hms_opt(1, 0, 0).expect("01:00"))
            .and_utc()
    };
    debug_assert_eq!(last_sunday(3).weekday(), Weekday::Sun);
    let summer = moment >= last_sunday(3) && moment < last_sunday(10);
    (moment + TimeDelta::hours(if summer { 2 } else { 1 })).naive_utc()
}

fn date(text: &str, field: &str) -> Result<NaiveDate, InvalidPeriod> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .filter(|date| (2000..=2100).contains(&date.year()))
        .ok_or_else(|| invalid(format!("{field} must be a date written like 2026-07-01.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_quarter_is_its_three_calendar_months() {
        let period = ReportPeriod::parse(None, None, Some("2024-Q1"), day("2026-12-06")).unwrap();
        assert_eq!((period.first, period.last), (day("2024-01-01"), day("2024-03-31")));
        assert_eq!(period.days(), 91, "2024 is a leap year");
        assert_eq!(period.after(), day("2024-04-01"));
        let q4 = ReportPeriod::quarter("2026-Q4").unwrap();
        assert_eq!((q4.first, q4.last), (day("2026-10-01"), day("2026-12-31")));
        assert_eq!(q4.months(), [day("2026-10-01"), day("2026-11-01"), day("2026-12-01")]);
    }

    #[test]
    fn without_a_period_a_report_covers_the_twelve_months_up_to_this_one() {
        let period = ReportPeriod::parse(None, None, None, day("2026-12-06")).unwrap();
        assert_eq!((period.first, period.last), (day("2026-01-01"), day("2026-12-31")));
        assert_eq!(period.months().len(), 12);
        let period = ReportPeriod::parse(None, None, None, day("2026-03-31")).unwrap();
        assert_eq!((period.first, period.last), (day("2025-04-01"), day("2026-03-31")));
    }

    #[test]
    fn the_dutch_date_follows_summer_time() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc);
        assert_eq!(dutch_date(at("2026-01-15T22:59:59Z")), day("2026-01-15"));
        assert_eq!(dutch_date(at("2026-01-15T23:00:00Z")), day("2026-01-16"));
        assert_eq!(dutch_date(at("2026-07-15T21:59:59Z")), day("2026-07-15"));
        assert_eq!(dutch_date(at("2026-07-15T22:00:00Z")), day("2026-07-16"));
        // 2026: summer time from 29 March to 25 October, at 01:00 UTC.
        assert_eq!(dutch_date(at("2026-03-29T00:59:59Z")), day("2026-03-29"));
        assert_eq!(dutch_date(at("2026-03-28T22:30:00Z")), day("2026-03-28"));
        assert_eq!(dutch_date(at("2026-10-24T22:30:00Z")), day("2026-10-25"));
        assert_eq!(dutch_date(at("2026-10-25T23:30:00Z")), day("2026-10-26"));
        assert_eq!(dutch_date(at("2026-10-25T22:30:00Z")), day("2026-10-25"));
    }

    #[test]
    fn dates_are_both_included() {
        let period =
            ReportPeriod::parse(Some("2026-02-15"), Some("2026-04-01"), None, day("2026-12-06")).unwrap();
        assert_eq!(period.days(), 46);
        assert_eq!(period.months(), [day("2026-02-01"), day("2026-03-01"), day("2026-04-01")]);
        assert_eq!(period.file_name_part(), "2026-02-15_2026-04-01");
    }

    #[test]
    fn a_period_that_cannot_be_read_is_refused_with_the_reason() {
        let today = day("2026-12-06");
        for (from, to, quarter) in [
            (Some("2026-05-01"), Some("2026-04-30"), None),
            (Some("2026-05-01"), None, None),
            (None, Some("2026-05-01"), None),
            (Some("2026-5-1x"), Some("2026-06-01"), None),
            (Some("1999-12-31"), Some("2000-01-31"), None),
            (Some("2020-01-01"), Some("2026-01-01"), None),
            (None, None, Some("2026-Q5")),
            (None, None, Some("2026Q1")),
            (Some("2026-01-01"), Some("2026-02-01"), Some("2026-Q1")),
        ] {
            let refused = ReportPeriod::parse(from, to, quarter, today).unwrap_err();
            assert_eq!(refused.code, "invalid_period", "{from:?} {to:?} {quarter:?}");
        }
    }
}
