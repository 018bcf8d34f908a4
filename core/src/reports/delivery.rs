//! Report 4, the delivery funnel: per channel what was sent, arrived, was acknowledged and
//! opened, and what failed; the SMS sent as a fallback by the rule that applied; and the push
//! devices removed because the provider declared their token dead.
//!
//! Which messages count: every message (alert, update, closing message) to the participants of
//! the scope's municipalities (the country: all participants), of the alerts sent in the period,
//! in the month the alert was sent (Dutch time).

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use super::{Cell, ReportPeriod, ReportScope, Table};
use crate::alerts::reach::ReachCount;
use crate::db::alert_rollups::{self as queries, ChannelMonthRow};
use crate::vocabulary::Channel;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryReport {
    pub scope: ReportScope,
    pub period: ReportPeriod,
    pub total: DeliveryFigures,
    /// Each month the period touches, in order.
    pub months: Vec<MonthDelivery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MonthDelivery {
    /// The month's first day.
    pub month: NaiveDate,
    #[serde(flatten)]
    pub figures: DeliveryFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeliveryFigures {
    /// Push, SMS and e-mail, always in that order.
    pub channels: Vec<ChannelFunnel>,
    pub sms_fallbacks: SmsFallbacks,
    /// Push devices removed because the provider declared their token dead.
    pub devices_removed: ReachCount,
}

/// One channel's messages.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChannelFunnel {
    pub channel: Channel,
    /// Accepted by the provider.
    pub sent: i64,
    /// Of those, confirmed arrived (the provider's receipt, or the app's for a push).
    pub delivered: i64,
    /// Failed for good (refused, or reported undeliverable after acceptance).
    pub failed: i64,
    /// Recipients reached on this channel whose app confirmed receipt (per alert).
    pub acknowledged: ReachCount,
    /// Recipients reached on this channel who opened the alert in the app (per alert).
    pub opened: ReachCount,
}

/// SMS made as a fallback, by rule (counted whatever became of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SmsFallbacks {
    /// The participant had no push device.
    pub no_push_device: i64,
    /// Every push to the participant failed.
    pub push_failed: i64,
    /// An urgent alert's push was not acknowledged in time.
    pub not_acknowledged: i64,
}

/// The delivery funnel of `scope` over `period`, from the rollups.
pub async fn delivery_report(
    conn: &mut AsyncPgConnection,
    scope: &ReportScope,
    period: &ReportPeriod,
) -> diesel::QueryResult<DeliveryReport> {
    let codes = scope.municipality_codes();
    let rows = queries::channel_months(conn, period.first, period.after(), codes.as_deref()).await?;
    Ok(DeliveryReport {
        scope: scope.clone(),
        period: *period,
        total: DeliveryFigures::of(&rows.iter().collect::<Vec<_>>()),
        months: period
            .months()
            .into_iter()
            .map(|month| MonthDelivery {
                month,
                figures: DeliveryFigures::of(
                    &rows.iter().filter(|row| row.month == month).collect::<Vec<_>>(),
                ),
            })
            .collect(),
    })
}

impl DeliveryFigures {
    fn of(rows: &[&ChannelMonthRow]) -> Self {
        let sum = |channel: Channel, figure: fn(&ChannelMonthRow) -> i64| -> i64 {
            rows.iter().filter(|row| row.channel == channel).map(|row| figure(row)).sum()
        };
        let all = |figure: fn(&ChannelMonthRow) -> i64| -> i64 { rows.iter().map(|row| figure(row)).sum() };
        Self {
            channels: Channel::ALL
                .iter()
                .map(|&channel| ChannelFunnel {
                    channel,
                    sent: sum(channel, |r| r.sent),
                    delivered: sum(channel, |r| r.delivered),
                    failed: sum(channel, |r| r.failed),
                    acknowledged: ReachCount::shown(sum(channel, |r| r.acknowledged)),
                    opened: ReachCount::shown(sum(channel, |r| r.opened)),
                })
                .collect(),
            sms_fallbacks: SmsFallbacks {
                no_push_device: all(|r| r.sms_no_push_device),
                push_failed: all(|r| r.sms_push_failed),
                not_acknowledged: all(|r| r.sms_not_acknowledged),
            },
            devices_removed: ReachCount::shown(all(|r| r.devices_removed)),
        }
    }
}

impl DeliveryReport {
    pub fn tables(&self) -> Vec<Table> {
        let mut funnel = Table::new(
            "Aflevering per kanaal",
            &["maand", "kanaal", "verstuurd", "afgeleverd", "mislukt", "ontvangst bevestigd", "geopend"],
        );
        let mut fallbacks = Table::new(
            "Sms als terugval en verwijderde toestellen",
            &["maand", "geen pushtoestel", "push mislukt", "push niet bevestigd", "toestellen verwijderd"],
        );
        let months = self.months.iter().map(|m| (m.month.format("%Y-%m").to_string(), &m.figures));
        for (label, figures) in months.chain(std::iter::once(("totaal".to_string(), &self.total))) {
            for c in &figures.channels {
                funnel.push(vec![
                    Cell::Text(label.clone()),
                    Cell::text(c.channel.as_str()),
                    Cell::Number(c.sent),
                    Cell::Number(c.delivered),
                    Cell::Number(c.failed),
                    Cell::People(c.acknowledged),
                    Cell::People(c.opened),
                ]);
            }
            fallbacks.push(vec![
                Cell::Text(label),
                Cell::Number(figures.sms_fallbacks.no_push_device),
                Cell::Number(figures.sms_fallbacks.push_failed),
                Cell::Number(figures.sms_fallbacks.not_acknowledged),
                Cell::People(figures.devices_removed),
            ]);
        }
        vec![funnel, fallbacks]
    }
}
