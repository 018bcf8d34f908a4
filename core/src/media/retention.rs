//! What is kept and for how long. Uploads never completed are expired after a while (including
//! parts of abandoned multipart uploads). Tips and their media are deleted a configured time after
//! their alert closed, unless the tip or the alert is on legal hold; each removal is recorded in
//! the alert's dossier with the hashes of the files removed. Workers run both every minute; rows
//! are taken with `SKIP LOCKED`, so several workers share the work.
//!
//! The store is never called inside these transactions: the rows change and a
//! [`RemoveMediaObjects`] job is queued in one transaction, and the job removes the objects after
//! the commit. A rollback so removes nothing whose row remains, and a crash loses no removal.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::processing::{MediaContext, store_failure};
use super::store::MultipartUploadId;
use super::upload_key;
use crate::alerts::{Actor, dossier};
use crate::db::media::MediaRow;
use crate::db::{media as media_queries, tips as tip_queries};
use crate::hex;
use crate::ids::{AlertId, MediaId, TipId};
use crate::jobs::{BackgroundJob, JobError};
use crate::vocabulary::media::MediaState;

/// Rows handled per run, so one run stays short.
const BATCH: i64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Expires uploads not completed in time; a job removes what arrived of them. Returns how many.
pub async fn expire_abandoned_uploads(conn: &mut AsyncPgConnection) -> Result<usize, RetentionError> {
    conn.transaction(async |conn| {
        let abandoned = media_queries::lock_abandoned(conn, BATCH).await?;
        for row in &abandoned {
            media_queries::set_state(conn, row.id, MediaState::Expired).await?;
        }
        RemoveMediaObjects::of(&abandoned).enqueue_if_any(conn).await?;
        Ok(abandoned.len())
    })
    .await
}

/// Deletes tips (with their media) whose alert closed more than `retention` ago, unless on legal
/// hold; a job removes their files. Returns how many tips were removed.
pub async fn enforce(conn: &mut AsyncPgConnection, retention: Duration) -> Result<usize, RetentionError> {
    conn.transaction(async |conn| {
        let due = tip_queries::lock_past_retention(conn, retention, BATCH).await?;
        let mut by_alert: std::collections::BTreeMap<uuid::Uuid, Vec<uuid::Uuid>> = Default::default();
        for (tip, alert) in &due {
            by_alert.entry(*alert).or_default().push(*tip);
        }
        for (alert, tips) in by_alert {
            let tip_ids: Vec<TipId> = tips.iter().copied().map(TipId).collect();
            let media = media_queries::for_tips(conn, &tip_ids).await?;
            RemoveMediaObjects::of(&media).enqueue_if_any(conn).await?;
            // Their text keys go with them, so their words sealed in the dossier can no longer
            // be read (see `alerts::dossier::TipText`).
            tip_queries::delete(conn, &tips).await?;
            let removed_media: Vec<_> = media
                .iter()
                .map(|row| json!({ "media_id": row.id, "tip_id": row.tip_id, "sha256": hex(&row.sha256), "state": row.state }))
                .collect();
            let body = json!({
                "tips": tip_ids,
                "media": removed_media,
                "retention_days": retention.as_secs() / 86_400,
            });
            dossier::record(conn, AlertId(alert), &Actor::System, "retention_removed", body).await?;
        }
        Ok(due.len())
    })
    .await
}

/// Removes from the store everything of files whose rows were expired or deleted: an upload in
/// parts still open, the upload, the original and the derived images. Queued in the transaction
/// that changes the rows; every step is idempotent, so a retry after a partial run is safe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveMediaObjects {
    pub media: Vec<RemovedMedia>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemovedMedia {
    pub media_id: MediaId,
    /// The store's id of its upload in parts, if it had one.
    pub multipart_upload_id: Option<String>,
}

impl RemoveMediaObjects {
    pub fn of(rows: &[MediaRow]) -> Self {
        let media = rows
            .iter()
            .map(|row| RemovedMedia {
                media_id: row.id,
                multipart_upload_id: row.multipart_upload_id.clone(),
            })
            .collect();
        Self { media }
    }

    /// Queues the job, unless there is nothing to remove.
    pub async fn enqueue_if_any(&self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
        if !self.media.is_empty() {
            self.enqueue(conn).await?;
        }
        Ok(())
    }
}

impl BackgroundJob for RemoveMediaObjects {
    const JOB_TYPE: &'static str = "remove_media_objects";
    /// With the backoff's doubling from 5 s, about an hour and a half of store outage; then the
    /// job is kept as failed, for an operator to requeue.
    const MAX_ATTEMPTS: i32 = 10;
    type Context = MediaContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        for removed in &self.media {
            let media = removed.media_id;
            if let Some(upload) = &removed.multipart_upload_id {
                ctx.store
                    .abort_multipart(&upload_key(media), &MultipartUploadId(upload.clone()))
                    .await
                    .map_err(store_failure)?;
            }
            super::remove_objects(&ctx.store, media).await.map_err(store_failure)?;
        }
        Ok(())
    }
}

/// What the workers do each housekeeping round: expire abandoned uploads and enforce retention.
#[derive(Clone)]
pub struct EvidenceUpkeep {
    pub retention: Duration,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpkeepDone {
    pub expired_uploads: usize,
    pub removed_tips: usize,
}

impl UpkeepDone {
    pub fn is_empty(&self) -> bool {
        self.expired_uploads == 0 && self.removed_tips == 0
    }
}

impl EvidenceUpkeep {
    pub async fn run(&self, conn: &mut AsyncPgConnection) -> Result<UpkeepDone, RetentionError> {
        Ok(UpkeepDone {
            expired_uploads: expire_abandoned_uploads(conn).await?,
            removed_tips: enforce(conn, self.retention).await?,
        })
    }
}
