//! The control room's side: each file's state and facts, and short-lived links to look at the
//! derived images, to play a video's preview or, with a stated reason, to download the original.
//! Every link handed out is written to the alert's dossier with who asked for it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{MediaStore, StoreError};
use super::uploads::{MediaRejection, MyMedia};
use super::{MediaSettings, Preview, evidence_key, preview_key};
use crate::alerts::access::{self, AccessError};
use crate::alerts::{Actor, dossier};
use crate::auth::staff::StaffMember;
use crate::db::media::{self as queries, MediaRow};
use crate::hex;
use crate::ids::{AlertId, MediaId, TipId};
use crate::vocabulary::InvalidInput;
use crate::vocabulary::media::{MediaKind, MediaState};

/// A link that works for a few minutes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediaLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Where the file says it was taken.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct CapturePosition {
    pub latitude: f64,
    pub longitude: f64,
}

/// A photo or video as the control room sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReviewedMedia {
    #[schema(value_type = Uuid)]
    pub id: MediaId,
    pub kind: MediaKind,
    pub content_type: String,
    pub size_bytes: u64,
    /// The original's SHA-256 (hexadecimal), as declared by the app and verified by the worker.
    pub sha256: String,
    pub state: MediaState,
    pub rejection: Option<MediaRejection>,
    /// Whether derived images exist (not for HEIC photos, nor for videos without ffmpeg).
    pub has_preview: bool,
    /// The previews a link can be asked for (`POST …/media/{media_id}/views`): `thumbnail` and
    /// `display` of a photo; `poster` and `video` of a video, `video` being a preview a browser
    /// plays (H.264/AAC MP4, at most 720p, without metadata). Empty until the file is ready, and
    /// for a file without previews; a video whose transcoding failed or took too long has no
    /// `video`.
    pub previews: Vec<Preview>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_seconds: Option<f64>,
    pub codec: Option<String>,
    /// Restricted: the capture time from the file's own metadata: the camera's clock, read in the
    /// offset from UTC the file states, else as Dutch time (Europe/Amsterdam).
    pub captured_at: Option<DateTime<Utc>>,
    /// Restricted: the position from the file's own metadata.
    pub capture_position: Option<CapturePosition>,
    /// The thumbnail (photos) or poster (videos), for a few minutes.
    pub thumbnail: Option<MediaLink>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// No such alert, or one the staff member may not see.
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("There is no such photo or video in this alert.")]
    NotFound,
    #[error("This file is {}; it can be viewed once it is ready.", .0.as_str())]
    NotReady(MediaState),
    #[error("There is no such preview of this file.")]
    NoPreview,
    #[error("{}", .0.detail)]
    Invalid(#[from] InvalidInput),
    #[error("The media store cannot be reached just now; please retry.")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The previews a ready file has; the first is the one the list shows.
fn previews(row: &MediaRow) -> Vec<Preview> {
    let images = row.has_preview == Some(true);
    match row.kind {
        MediaKind::Video => [(images, Preview::Poster), (row.has_video_preview, Preview::Video)]
            .into_iter()
            .filter_map(|(has, preview)| has.then_some(preview))
            .collect(),
        _ if images => vec![Preview::Thumbnail, Preview::Display],
        _ => vec![],
    }
}

async fn link(
    store: &MediaStore,
    key: &super::store::ObjectKey,
    settings: &MediaSettings,
    download_name: Option<&str>,
) -> Result<MediaLink, StoreError> {
    let request = store.presign_download(key, settings.link_ttl, download_name).await?;
    Ok(MediaLink { url: request.url, expires_at: request.expires_at })
}

/// Every file of the alert's tips, by tip, with thumbnail links for those that are ready.
pub async fn for_alert(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    settings: &MediaSettings,
    alert: AlertId,
) -> Result<HashMap<TipId, Vec<ReviewedMedia>>, ReviewError> {
    let mut by_tip: HashMap<TipId, Vec<ReviewedMedia>> = HashMap::new();
    for row in queries::for_alert(conn, alert).await? {
        let ready = row.state == MediaState::Ready;
        let previews = if ready { previews(&row) } else { vec![] };
        let thumbnail = match previews.first() {
            Some(preview @ (Preview::Thumbnail | Preview::Poster)) => {
                Some(link(store, &preview_key(row.id, *preview), settings, None).await?)
            }
            _ => None,
        };
        let mine = MyMedia::from(&row);
        by_tip.entry(row.tip_id).or_default().push(ReviewedMedia {
            id: mine.id,
            kind: mine.kind,
            content_type: mine.content_type,
            size_bytes: mine.size_bytes,
            sha256: hex(&row.sha256),
            state: mine.state,
            rejection: mine.rejection,
            has_preview: row.has_preview.unwrap_or(false),
            previews,
            width: row.width,
            height: row.height,
            duration_seconds: row.duration_seconds,
            codec: row.codec,
            captured_at: row.captured_at,
            capture_position: row
                .capture_latitude
                .zip(row.capture_longitude)
                .map(|(latitude, longitude)| CapturePosition { latitude, longitude }),
            thumbnail,
        });
    }
    Ok(by_tip)
}

async fn ready_media(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    media: MediaId,
) -> Result<MediaRow, ReviewError> {
    let row =
        queries::find(conn, media).await?.filter(|row| row.alert_id == alert).ok_or(ReviewError::NotFound)?;
    match row.state {
        MediaState::Ready => Ok(row),
        other => Err(ReviewError::NotReady(other)),
    }
}

/// A link to one preview (thumbnail, display image, poster or playable video); the viewing is
/// written to the dossier first.
pub async fn view(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    settings: &MediaSettings,
    staff: &StaffMember,
    alert: AlertId,
    media: MediaId,
    preview: Preview,
) -> Result<MediaLink, ReviewError> {
    access::region_seen_by(conn, staff, alert).await?;
    let viewer = &Actor::staff(staff);
    conn.transaction(async |conn| {
        let row = ready_media(conn, alert, media).await?;
        if !previews(&row).contains(&preview) {
            return Err(ReviewError::NoPreview);
        }
        let body = json!({ "media_id": media, "tip_id": row.tip_id, "preview": preview });
        dossier::record(conn, alert, viewer, "media_viewed", body).await?;
        Ok(link(store, &preview_key(media, preview), settings, None).await?)
    })
    .await
}

/// Why the original is downloaded: required, and recorded.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OriginalDownloadRequest {
    /// 3 to 500 characters, e.g. "forwarded to the investigation team, case 2026-123".
    pub reason: String,
}

/// A link to download the original, unchanged; the reason is written to the dossier first.
pub async fn download_original(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    settings: &MediaSettings,
    staff: &StaffMember,
    alert: AlertId,
    media: MediaId,
    request: &OriginalDownloadRequest,
) -> Result<MediaLink, ReviewError> {
    access::region_seen_by(conn, staff, alert).await?;
    let viewer = &Actor::staff(staff);
    let reason = request.reason.trim();
    if !(3..=500).contains(&reason.chars().count()) || reason.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "invalid_reason",
            "State why you download the original (3 to 500 characters).",
        )
        .into());
    }
    conn.transaction(async |conn| {
        let row = ready_media(conn, alert, media).await?;
        let body =
            json!({ "media_id": media, "tip_id": row.tip_id, "reason": reason, "sha256": hex(&row.sha256) });
        dossier::record(conn, alert, viewer, "media_original_downloaded", body).await?;
        let extension =
            super::inspect::MediaType::from_mime(&row.content_type).map_or("bin", |kind| kind.extension());
        let name = format!("burgernet-{media}.{extension}");
        Ok(link(store, &evidence_key(media), settings, Some(&name)).await?)
    })
    .await
}
