//! The audit log of reach previews, read back. Rows are written only by the statement that counts
//! a preview ([`super::recipients::reach`]); the table refuses changes afterwards.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::recipients::ReachRow;
use super::schema::{reach_previews, regions};
use crate::ids::{AlertId, RegionId};
use crate::vocabulary::{Category, Channel};

/// One recorded preview, with its region's code.
#[derive(Debug, Clone, Queryable)]
pub struct RecordedPreviewRow {
    pub id: i64,
    pub previewed_at: DateTime<Utc>,
    pub staff_subject: String,
    pub staff_name: Option<String>,
    pub region_code: String,
    pub alert_id: Option<AlertId>,
    pub area_sha256: Vec<u8>,
    pub category: Category,
    pub channels: Vec<Channel>,
    pub counts: ReachRow,
}

/// Recorded previews newest first, of one region or all, older than `before` (an id) if given.
pub async fn list(
    conn: &mut AsyncPgConnection,
    region: Option<RegionId>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<RecordedPreviewRow>> {
    let mut query = reach_previews::table
        .inner_join(regions::table)
        .select((
            reach_previews::id,
            reach_previews::previewed_at,
            reach_previews::staff_subject,
            reach_previews::staff_name,
            regions::code,
            reach_previews::alert_id,
            reach_previews::area_sha256,
            reach_previews::category,
            reach_previews::channels,
            (
                reach_previews::participants,
                reach_previews::push_participants,
                reach_previews::ios_devices,
                reach_previews::android_devices,
                reach_previews::sms_participants,
                reach_previews::sms_fallback_participants,
                reach_previews::voice_participants,
                reach_previews::voice_fallback_participants,
                reach_previews::email_participants,
                reach_previews::target_group_participants,
            ),
        ))
        .into_boxed();
    if let Some(region) = region {
        query = query.filter(reach_previews::region_id.eq(region.0));
    }
    if let Some(before) = before {
        query = query.filter(reach_previews::id.lt(before));
    }
    query.order_by(reach_previews::id.desc()).limit(limit).load(conn).await
}
