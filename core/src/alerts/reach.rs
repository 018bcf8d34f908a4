//! Who an area reaches, before anything is sent: participants, and per channel how many get it
//! and on how many devices. The same matching rule selects the recipients of a wave (see
//! `db::recipients::stream_candidates`): one participant is one recipient, however many of their
//! places match.

use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::area::{AreaLimits, AreaShape, DrawnArea, validate};
use super::lifecycle::{AlertError, effective_channels};
use super::{Category, Channel};
use crate::db::alerts::{self as queries};
use crate::db::recipients::{self, ReachRow};
use crate::ids::{AlertId, RegionId};
use crate::participants::{InvalidInput, distinct};

/// Who an area reaches now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reach {
    /// Participants the alert would go to.
    pub participants: i64,
    pub push: PushReach,
    pub sms: SmsReach,
    pub email: EmailReach,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PushReach {
    /// Participants who get a push (they chose push and have a device).
    pub participants: i64,
    pub ios_devices: i64,
    pub android_devices: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SmsReach {
    /// Participants who get an SMS straight away (no push for them).
    pub participants: i64,
    /// Push recipients who also chose SMS, whom the SMS fallback can still reach.
    pub fallback_participants: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EmailReach {
    /// Participants who get an e-mail (non-urgent alerts only).
    pub participants: i64,
}

impl From<ReachRow> for Reach {
    fn from(row: ReachRow) -> Self {
        Self {
            participants: row.participants,
            push: PushReach {
                participants: row.push_participants,
                ios_devices: row.ios_devices,
                android_devices: row.android_devices,
            },
            sms: SmsReach {
                participants: row.sms_participants,
                fallback_participants: row.sms_fallback_participants,
            },
            email: EmailReach { participants: row.email_participants },
        }
    }
}

/// What a dispatcher previews before creating an alert.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReachRequest {
    pub category: Category,
    pub urgent: bool,
    pub channels: Vec<Channel>,
    pub area: AreaShape,
}

fn channel_names(urgent: bool, channels: &[Channel]) -> Result<Vec<String>, InvalidInput> {
    let channels = distinct(channels);
    if channels.is_empty() {
        return Err(InvalidInput::new("invalid_channels", "Name at least one channel."));
    }
    let names: Vec<String> = channels.iter().map(|c| c.as_str().to_string()).collect();
    Ok(effective_channels(urgent, &names))
}

/// The reach of an area drawn for `region`, checked as an alert's area would be.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    region: RegionId,
    request: ReachRequest,
    limits: AreaLimits,
) -> Result<Reach, AlertError> {
    let channels = channel_names(request.urgent, &request.channels)?;
    let drawn = DrawnArea::parse(request.area)?;
    let area = validate(conn, &drawn, region, limits).await?;
    Ok(recipients::reach(conn, &area.geometry_wkb, request.category.as_str(), &channels).await?.into())
}

/// The reach of a saved alert's current area.
pub async fn of_alert(conn: &mut AsyncPgConnection, alert: &queries::AlertRow) -> Result<Reach, AlertError> {
    let wkb = queries::area_wkb(conn, AlertId(alert.id)).await?;
    let channels = effective_channels(alert.urgent, &alert.channels);
    Ok(recipients::reach(conn, &wkb, &alert.category, &channels).await?.into())
}
