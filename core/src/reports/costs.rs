//! Report 5, costs: the messages to the participants of each municipality (by the recipient's
//! own municipality, as costs are split per inhabitant) per month, priced with the configured
//! tariffs, and the cost per inhabitant.
//!
//! Which messages count: as in the delivery report, those accepted by the provider, of the
//! alerts sent in the period, in the month the alert was sent. An SMS costs its segments as the
//! delivery rendered it in the recipient's language.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::{Cell, ReportPeriod, ReportScope, Table};
use crate::db::alert_rollups::{self as queries, ChannelMonthRow};
use crate::vocabulary::Channel;

/// What a message costs, in millionths of a euro (settings `BURGERNET_TARIFF_*_EUR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tariffs {
    /// One SMS segment (default € 0.07).
    pub sms_segment_micros: i64,
    /// One push message (default € 0).
    pub push_micros: i64,
    /// One e-mail (default € 0.001).
    pub email_micros: i64,
    /// One started minute of a voice call (default € 0.10).
    pub voice_minute_micros: i64,
}

impl Default for Tariffs {
    fn default() -> Self {
        Self { sms_segment_micros: 70_000, push_micros: 0, email_micros: 1_000, voice_minute_micros: 100_000 }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostsReport {
    pub scope: ReportScope,
    pub period: ReportPeriod,
    pub tariffs: Tariffs,
    /// Inhabitants of the scope (reference data).
    pub inhabitants: i64,
    /// The whole scope over the whole period.
    pub total: Costs,
    /// Euros per inhabitant of the scope (six decimals); none without inhabitants.
    pub per_inhabitant_eur: Option<f64>,
    /// Each month the period touches, in order.
    pub months: Vec<MonthCosts>,
    /// Per municipality that was sent messages, over the whole period and per month.
    pub municipalities: Vec<MunicipalityCosts>,
}

/// Messages and what they cost. Euros have six decimals; sums are exact (kept in millionths).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Costs {
    pub push_messages: i64,
    pub sms_messages: i64,
    pub sms_segments: i64,
    pub email_messages: i64,
    /// Started minutes of voice calls, as the gateway bills them (its call statuses).
    pub voice_minutes: i64,
    pub push_eur: f64,
    pub sms_eur: f64,
    pub email_eur: f64,
    pub voice_eur: f64,
    pub total_eur: f64,
    #[serde(skip)]
    pub total_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthCosts {
    /// The month's first day.
    pub month: NaiveDate,
    #[serde(flatten)]
    pub costs: Costs,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MunicipalityCosts {
    /// `None`: participants in no municipality (the country's report only).
    pub cbs_code: Option<String>,
    pub name: Option<String>,
    pub inhabitants: Option<i64>,
    pub total: Costs,
    pub per_inhabitant_eur: Option<f64>,
    pub months: Vec<MonthCosts>,
}

/// The costs of `scope` over `period` at `tariffs`, from the rollups.
pub async fn costs_report(
    conn: &mut AsyncPgConnection,
    scope: &ReportScope,
    period: &ReportPeriod,
    tariffs: &Tariffs,
) -> diesel::QueryResult<CostsReport> {
    let codes = scope.municipality_codes();
    let rows = queries::channel_months(conn, period.first, period.after(), codes.as_deref()).await?;
    let months_of = |rows: &[&ChannelMonthRow]| -> Vec<MonthCosts> {
        period
            .months()
            .into_iter()
            .map(|month| MonthCosts {
                month,
                costs: Costs::of(rows.iter().copied().filter(|row| row.month == month), tariffs),
            })
            .collect()
    };
    let mut municipalities: Vec<MunicipalityCosts> = Vec::new();
    for row in &rows {
        if municipalities.iter().any(|m| m.cbs_code == row.municipality_cbs) {
            continue;
        }
        let of_municipality: Vec<&ChannelMonthRow> =
            rows.iter().filter(|other| other.municipality_cbs == row.municipality_cbs).collect();
        let total = Costs::of(of_municipality.iter().copied(), tariffs);
        let inhabitants = row.inhabitants.map(i64::from);
        municipalities.push(MunicipalityCosts {
            cbs_code: row.municipality_cbs.clone(),
            name: row.name.clone(),
            inhabitants,
            per_inhabitant_eur: inhabitants.and_then(|count| per_inhabitant(total.total_micros, count)),
            months: months_of(&of_municipality),
            total,
        });
    }
    municipalities.sort_by(|a, b| (a.name.is_none(), &a.name).cmp(&(b.name.is_none(), &b.name)));
    let all: Vec<&ChannelMonthRow> = rows.iter().collect();
    let total = Costs::of(all.iter().copied(), tariffs);
    Ok(CostsReport {
        scope: scope.clone(),
        period: *period,
        tariffs: *tariffs,
        inhabitants: scope.inhabitants(),
        per_inhabitant_eur: per_inhabitant(total.total_micros, scope.inhabitants()),
        total,
        months: months_of(&all),
        municipalities,
    })
}

fn euros(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

fn per_inhabitant(micros: i64, inhabitants: i64) -> Option<f64> {
    (inhabitants > 0).then(|| super::alert_results::round(euros(micros) / inhabitants as f64, 6))
}

impl Costs {
    fn of<'a>(rows: impl Iterator<Item = &'a ChannelMonthRow>, tariffs: &Tariffs) -> Self {
        let mut costs = Self::default();
        for row in rows {
            match row.channel {
                Channel::Push => costs.push_messages += row.sent,
                Channel::Sms => {
                    costs.sms_messages += row.sent;
                    costs.sms_segments += row.sms_segments;
                }
                Channel::Email => costs.email_messages += row.sent,
                Channel::Voice => costs.voice_minutes += row.voice_minutes,
            }
        }
        let push = costs.push_messages * tariffs.push_micros;
        let sms = costs.sms_segments * tariffs.sms_segment_micros;
        let email = costs.email_messages * tariffs.email_micros;
        let voice = costs.voice_minutes * tariffs.voice_minute_micros;
        costs.total_micros = push + sms + email + voice;
        costs.push_eur = euros(push);
        costs.sms_eur = euros(sms);
        costs.email_eur = euros(email);
        costs.voice_eur = euros(voice);
        costs.total_eur = euros(costs.total_micros);
        costs
    }

    fn cells(&self, tariffs: &Tariffs) -> Vec<Cell> {
        vec![
            Cell::Number(self.push_messages),
            Cell::Number(self.sms_messages),
            Cell::Number(self.sms_segments),
            Cell::Number(self.email_messages),
            Cell::Number(self.voice_minutes),
            Cell::Euros { micros: self.push_messages * tariffs.push_micros },
            Cell::Euros { micros: self.sms_segments * tariffs.sms_segment_micros },
            Cell::Euros { micros: self.email_messages * tariffs.email_micros },
            Cell::Euros { micros: self.voice_minutes * tariffs.voice_minute_micros },
            Cell::Euros { micros: self.total_micros },
        ]
    }
}

const COST_COLUMNS: [&str; 10] = [
    "push",
    "sms",
    "sms-segmenten",
    "e-mail",
    "spraak minuten",
    "kosten push",
    "kosten sms",
    "kosten e-mail",
    "kosten spraak",
    "kosten totaal",
];

impl CostsReport {
    pub fn tables(&self) -> Vec<Table> {
        let mut tariffs = Table::new("Tarieven", &["eenheid", "euro"]);
        for (unit, micros) in [
            ("sms-segment", self.tariffs.sms_segment_micros),
            ("push", self.tariffs.push_micros),
            ("e-mail", self.tariffs.email_micros),
            ("spraak per begonnen minuut", self.tariffs.voice_minute_micros),
        ] {
            tariffs.push(vec![Cell::text(unit), Cell::Euros { micros }]);
        }
        let mut columns = vec!["gemeente", "cbs-code", "inwoners"];
        columns.extend(COST_COLUMNS);
        columns.push("per inwoner");
        let mut per_municipality = Table::new("Kosten per gemeente", &columns);
        for m in &self.municipalities {
            let mut row = vec![
                Cell::text(m.name.clone().unwrap_or_else(|| "geen gemeente".into())),
                Cell::text(m.cbs_code.clone().unwrap_or_default()),
                m.inhabitants.map_or(Cell::Empty, Cell::Number),
            ];
            row.extend(m.total.cells(&self.tariffs));
            row.push(Cell::decimal(m.per_inhabitant_eur, 6));
            per_municipality.push(row);
        }
        let mut total = vec![Cell::text("totaal"), Cell::text(""), Cell::Number(self.inhabitants)];
        total.extend(self.total.cells(&self.tariffs));
        total.push(Cell::decimal(self.per_inhabitant_eur, 6));
        per_municipality.push(total);
        let mut columns = vec!["maand", "gemeente", "cbs-code"];
        columns.extend(COST_COLUMNS);
        let mut per_month = Table::new("Kosten per maand", &columns);
        for m in &self.municipalities {
            for month in &m.months {
                let mut row = vec![
                    Cell::Text(month.month.format("%Y-%m").to_string()),
                    Cell::text(m.name.clone().unwrap_or_else(|| "geen gemeente".into())),
                    Cell::text(m.cbs_code.clone().unwrap_or_default()),
                ];
                row.extend(month.costs.cells(&self.tariffs));
                per_month.push(row);
            }
        }
        for month in &self.months {
            let mut row = vec![
                Cell::Text(month.month.format("%Y-%m").to_string()),
                Cell::text("totaal"),
                Cell::text(""),
            ];
            row.extend(month.costs.cells(&self.tariffs));
            per_month.push(row);
        }
        vec![tariffs, per_municipality, per_month]
    }
}
