//! Who an area reaches, before anything is sent: participants, and per channel how many get it
//! and on how many devices. The same matching rule selects the recipients of a wave (see
//! `db::recipients::stream_candidates`): one participant is one recipient, however many of their
//! places match.
//!
//! A preview must not tell where one person lives or is now (design.md section 6: counts about
//! people shown to staff are never below 5). So every count is shown as a [`ReachCount`]: exact
//! from 5 on, and under 5 only as "fewer than 5", none included; together with the smallest area
//! (`area::MIN_SURFACE_M2`) a preview cannot single out a house. Every preview is recorded in an
//! audit log (who, when, a hash of the area, the exact counts) by the statement that counts it,
//! and administrators read that log ([`recorded_previews`]). The exact number of people an alert
//! reached is in its counters and dossier once it is sent.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};

use super::access::{self, AccessError};
use super::area::{AreaLimits, validate};
use super::delivery::plan::{ChannelOrders, effective_channels};
use super::lifecycle::AlertError;
use super::progress::CreatedBy;
use super::{Actor, Category, Channel, audience};
use crate::auth::staff::StaffMember;
use crate::db::alerts::{self as queries, AlertRow};
use crate::db::reach_previews::{self, RecordedPreviewRow};
use crate::db::recipients::{self, Audience, PreviewRecord, ReachRow};
use crate::ids::{AlertId, RegionId, TargetGroupId};
use crate::vocabulary::alerts::{AlertPurpose, AlertStatus};
use crate::vocabulary::area::{AreaShape, DrawnArea};

/// Counts under this are shown only as "fewer than" it.
pub const SMALLEST_COUNT_SHOWN: i64 = 5;

/// A count of people or devices as staff see it: the number itself from 5 on (`{"count": 12}`);
/// under 5, only that it is under 5 (`{"fewer_than": 5}`), which holds for none too. An object
/// rather than a number with a flag, so that a client cannot read a hidden count as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ReachCount {
    /// Exactly this many; 5 or more.
    Exact {
        #[schema(minimum = 5)]
        count: i64,
    },
    /// Fewer than `fewer_than` (always 5), perhaps none: the exact number is not shown.
    FewerThan {
        #[schema(minimum = 5, maximum = 5)]
        fewer_than: i64,
    },
}

impl ReachCount {
    pub fn shown(count: i64) -> Self {
        if count >= SMALLEST_COUNT_SHOWN {
            Self::Exact { count }
        } else {
            Self::FewerThan { fewer_than: SMALLEST_COUNT_SHOWN }
        }
    }
}

/// Who an area reaches now, as shown to staff: each count a `ReachCount`, exact from 5 on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reach {
    /// Participants the alert would go to.
    pub participants: ReachCount,
    pub push: PushReach,
    pub sms: SmsReach,
    pub email: EmailReach,
    pub voice: VoiceReach,
    /// Participants reached as members of the target groups named (wherever they are; some may
    /// be in the area too, and count once in `participants`).
    pub target_groups: ReachCount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PushReach {
    /// Participants who get a push (they chose push and have a device).
    pub participants: ReachCount,
    pub ios_devices: ReachCount,
    pub android_devices: ReachCount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SmsReach {
    /// Participants who get an SMS straight away (no push for them, and SMS is the first of the
    /// alert's phone channels they chose).
    pub participants: ReachCount,
    /// Push recipients whose first phone channel is SMS, whom the SMS fallback can still reach.
    pub fallback_participants: ReachCount,
}

/// Calls, where the alert's channels include `voice`: to those whose first phone channel, in the
/// alert's order, is a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VoiceReach {
    /// Participants who get a call straight away (no push for them).
    pub participants: ReachCount,
    /// Push recipients a call can still reach when their pushes fail.
    pub fallback_participants: ReachCount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EmailReach {
    /// Participants who get an e-mail (non-urgent alerts only).
    pub participants: ReachCount,
}

impl Reach {
    /// The exact counts as staff may see them.
    fn shown(row: &ReachRow) -> Self {
        Self {
            participants: ReachCount::shown(row.participants),
            push: PushReach {
                participants: ReachCount::shown(row.push_participants),
                ios_devices: ReachCount::shown(row.ios_devices),
                android_devices: ReachCount::shown(row.android_devices),
            },
            sms: SmsReach {
                participants: ReachCount::shown(row.sms_participants),
                fallback_participants: ReachCount::shown(row.sms_fallback_participants),
            },
            email: EmailReach { participants: ReachCount::shown(row.email_participants) },
            voice: VoiceReach {
                participants: ReachCount::shown(row.voice_participants),
                fallback_participants: ReachCount::shown(row.voice_fallback_participants),
            },
            target_groups: ReachCount::shown(row.target_group_participants),
        }
    }
}

/// What a dispatcher previews before creating an alert.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReachRequest {
    pub category: Category,
    /// As the alert will be sent: an `exercise` or `test` counts only those who opted in to
    /// exercises. Default `actual`.
    #[serde(default)]
    pub purpose: AlertPurpose,
    pub urgent: bool,
    pub channels: Vec<Channel>,
    pub area: AreaShape,
    /// As the alert will name them: their approved members count too (`target_groups`).
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>)]
    pub target_groups: Vec<TargetGroupId>,
    /// False: count the target groups only. Default true.
    #[serde(default = "audience::reaches_area")]
    pub reach_area: bool,
}

/// The reach of an area a dispatcher drew for their region, checked as an alert's area would be,
/// and recorded as theirs.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    request: ReachRequest,
    limits: AreaLimits,
    orders: &ChannelOrders,
) -> Result<Reach, AlertError> {
    let region = access::dispatcher_region(conn, staff).await?;
    let viewer = &Actor::staff(staff);
    let channels = effective_channels(
        request.urgent,
        &orders.alert_channels(request.category, request.urgent, &request.channels)?,
    );
    let drawn = DrawnArea::parse(request.area)?;
    let groups = audience::parse_target_groups(request.reach_area, &request.target_groups)?;
    let area = validate(conn, &drawn, region, limits).await?;
    audience::usable_target_groups(conn, region, &groups).await?;
    let subject = viewer.subject();
    let record = PreviewRecord {
        staff_subject: &subject,
        staff_name: viewer.name(),
        region,
        alert: None,
        only_new_recipients: false,
    };
    let counted = recipients::reach(
        conn,
        Audience { area_wkb: &area.geometry_wkb, reach_area: request.reach_area, target_groups: &groups },
        request.category,
        request.purpose,
        &channels,
        record,
    )
    .await?;
    Ok(Reach::shown(&counted))
}

/// The reach of a saved alert's current area, for a staff member who may see the alert, recorded
/// as theirs.
pub async fn of_alert(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
) -> Result<Reach, AlertError> {
    let alert = &access::alert_seen_by(conn, staff, id, false).await?;
    let wkb = queries::area_wkb(conn, id).await?;
    reach_for_alert(conn, staff, alert, &wkb, false).await
}

/// What expanding an active alert by `extra` would add: everyone the expanded area (the current
/// one with `extra`) reaches now who is not a recipient of the alert yet, which is whom the
/// expansion's wave alerts (in practice those in the extra part, and anyone in the current area
/// who became reachable since). Checked as the expansion itself is (the caller's region, the
/// area's rules, the alert's status), and recorded in the audit log like every preview, with the
/// alert's id and the hash of the expanded area. While a wave's recipients are still being
/// selected, those it has not reached yet count as new: the expansion would not alert them twice.
pub async fn of_expansion(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    extra: DrawnArea,
    limits: AreaLimits,
) -> Result<Reach, AlertError> {
    let alert = &access::alert_seen_by(conn, staff, id, false).await?;
    access::may_act(staff, &alert.region_code)?;
    let extra = validate(conn, &extra, alert.region_id, limits).await?;
    if alert.status != AlertStatus::Active {
        return Err(AlertError::WrongStatus { status: alert.status, action: "expanded" });
    }
    if !alert.reach_area {
        return Err(AlertError::ReachesGroupsOnly);
    }
    let wkb =
        queries::area_with_extra_wkb(conn, id, &extra.geometry_wkb).await?.ok_or(AccessError::NotFound)?;
    reach_for_alert(conn, staff, alert, &wkb, true).await
}

/// The reach of the area `wkb` for `alert`'s category and channels (only those not yet its
/// recipients with `only_new_recipients`), recorded in the audit log as `staff`'s, with the alert.
async fn reach_for_alert(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    alert: &AlertRow,
    wkb: &[u8],
    only_new_recipients: bool,
) -> Result<Reach, AlertError> {
    let viewer = &Actor::staff(staff);
    let channels = effective_channels(alert.urgent, &alert.channels);
    let subject = viewer.subject();
    let record = PreviewRecord {
        staff_subject: &subject,
        staff_name: viewer.name(),
        region: alert.region_id,
        alert: Some(alert.id),
        only_new_recipients,
    };
    let groups: Vec<TargetGroupId> =
        queries::target_groups_of(conn, alert.id).await?.into_iter().map(|group| group.id).collect();
    let audience = Audience { area_wkb: wkb, reach_area: alert.reach_area, target_groups: &groups };
    let counted = recipients::reach(conn, audience, alert.category, alert.purpose, &channels, record).await?;
    Ok(Reach::shown(&counted))
}

/// One reach preview as the audit log recorded it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordedPreview {
    /// Grows with every preview; pass it as `before` for the entries before it.
    pub id: i64,
    pub previewed_at: DateTime<Utc>,
    /// Who asked, as their token named them.
    pub staff: CreatedBy,
    /// The region the area was checked against.
    pub region: String,
    /// The alert whose reach was asked (`GET /v1/alerts/{id}/reach`), or whose expansion was
    /// previewed (`POST /v1/alerts/{id}/expansion-preview`: then the area is the expanded one and
    /// its recipients so far were not counted); `null` for a preview of a drawn area.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub alert_id: Option<AlertId>,
    /// SHA-256 (hex) of the area as counted: its WKB (the validated MultiPolygon, SRID 4326, as
    /// PostGIS' `ST_AsBinary` writes it). The area itself is not kept; hash a known area the same
    /// way to find its previews.
    pub area_sha256: String,
    pub category: Category,
    /// The channels counted (e-mail left out of urgent alerts).
    pub channels: Vec<Channel>,
    /// What the preview showed.
    pub reach: Reach,
}

impl From<RecordedPreviewRow> for RecordedPreview {
    fn from(row: RecordedPreviewRow) -> Self {
        Self {
            id: row.id,
            previewed_at: row.previewed_at,
            staff: CreatedBy { subject: row.staff_subject, name: row.staff_name },
            region: row.region_code,
            alert_id: row.alert_id,
            area_sha256: crate::hex(&row.area_sha256),
            category: row.category,
            channels: row.channels.clone(),
            reach: Reach::shown(&row.counts),
        }
    }
}

/// Recorded previews, newest first: of one region or all, before the entry `before` if given.
pub async fn recorded_previews(
    conn: &mut AsyncPgConnection,
    region: Option<RegionId>,
    before: Option<i64>,
    limit: i64,
) -> diesel::QueryResult<Vec<RecordedPreview>> {
    let rows = reach_previews::list(conn, region, before, limit).await?;
    Ok(rows.into_iter().map(RecordedPreview::from).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_under_five_are_shown_only_as_fewer_than_five() {
        for hidden in 0..5 {
            assert_eq!(ReachCount::shown(hidden), ReachCount::FewerThan { fewer_than: 5 });
        }
        assert_eq!(ReachCount::shown(5), ReachCount::Exact { count: 5 });
        assert_eq!(serde_json::to_value(ReachCount::shown(1)).unwrap(), serde_json::json!({"fewer_than": 5}));
        assert_eq!(
            serde_json::to_value(ReachCount::shown(60_000)).unwrap(),
            serde_json::json!({"count": 60_000})
        );
    }
}
