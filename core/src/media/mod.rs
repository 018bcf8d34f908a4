//! Photos and videos that participants attach to tips: evidence for the control room.
//!
//! The app uploads straight to the media store with presigned requests ([`uploads`]); a worker
//! verifies each upload, moves the original unchanged into the evidence area and writes derived
//! images and video previews without metadata ([`processing`]); the control room sees them
//! through short-lived, logged links ([`review`]); retention deletes them once their time is up
//! ([`retention`]).

pub mod inspect;
pub mod photo;
pub mod processing;
pub mod retention;
pub mod review;
pub mod store;
pub mod uploads;
pub mod video;

use std::time::Duration;

use crate::env::{ConfigError, Env, parse};
use crate::ids::MediaId;
use inspect::MediaType;
use store::{MediaStore, ObjectKey, StoreError};

impl MediaType {
    /// The usual file name extension, for downloads.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Heic => "heic",
            Self::Webp => "webp",
            Self::Mp4 => "mp4",
            Self::QuickTime => "mov",
        }
    }
}

const MIB: u64 = 1024 * 1024;

/// Limits on attached media, from the environment.
#[derive(Debug, Clone, Copy)]
pub struct MediaSettings {
    pub max_photo_bytes: u64,
    pub max_video_bytes: u64,
    /// Larger files are uploaded in parts (multipart).
    pub single_upload_max_bytes: u64,
    pub part_bytes: u64,
    /// How long upload requests stay valid.
    pub upload_url_ttl: Duration,
    /// Uploads not completed within this are expired and removed.
    pub abandon_after: Duration,
    pub per_tip: i64,
    pub per_participant_per_hour: i32,
    /// How long the control room's view and download links stay valid (at most 5 minutes).
    pub link_ttl: Duration,
}

impl MediaSettings {
    pub const MAX_LINK_TTL: Duration = Duration::from_secs(300);
    /// S3's smallest part but the last.
    const MIN_PART_BYTES: u64 = 5 * MIB;

    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let settings = Self {
            max_photo_bytes: env.or("BURGERNET_MEDIA_MAX_PHOTO_BYTES", 40 * MIB, parse::positive_number)?,
            max_video_bytes: env.or("BURGERNET_MEDIA_MAX_VIDEO_BYTES", 1024 * MIB, parse::positive_number)?,
            single_upload_max_bytes: env.or(
                "BURGERNET_MEDIA_SINGLE_UPLOAD_MAX_BYTES",
                100 * MIB,
                parse::positive_number,
            )?,
            part_bytes: env.or("BURGERNET_MEDIA_PART_BYTES", 64 * MIB, |raw| {
                let bytes: u64 = parse::number(raw)?;
                if bytes < Self::MIN_PART_BYTES {
                    return Err(format!("must be at least {} (5 MiB), got {raw:?}", Self::MIN_PART_BYTES));
                }
                Ok(bytes)
            })?,
            upload_url_ttl: env.or(
                "BURGERNET_MEDIA_UPLOAD_URL_TTL",
                Duration::from_secs(2 * 3600),
                parse::duration,
            )?,
            abandon_after: env.or(
                "BURGERNET_MEDIA_ABANDON_AFTER",
                Duration::from_secs(48 * 3600),
                parse::duration,
            )?,
            per_tip: env.or("BURGERNET_MEDIA_PER_TIP", 10, parse::positive_number)?,
            per_participant_per_hour: env.or("BURGERNET_MEDIA_PER_HOUR", 60, parse::positive_number)?,
            link_ttl: env.or("BURGERNET_MEDIA_LINK_TTL", Self::MAX_LINK_TTL, |raw| {
                let ttl = parse::duration(raw)?;
                if ttl > Self::MAX_LINK_TTL {
                    return Err(format!("may be at most 5m, got {raw:?}"));
                }
                Ok(ttl)
            })?,
        };
        Ok(settings)
    }
}

/// Where the app uploads the original.
pub fn upload_key(id: MediaId) -> ObjectKey {
    key(format!("uploads/{id}"))
}

/// Where the verified original is kept, unchanged.
pub fn evidence_key(id: MediaId) -> ObjectKey {
    key(format!("evidence/{id}"))
}

/// What the control room looks at: derived from the original, without metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Preview {
    /// Longest side 320 pixels.
    Thumbnail,
    /// Longest side 1600 pixels.
    Display,
    /// A frame of a video.
    Poster,
    /// A video as a browser plays it: H.264 and AAC in an MP4, at most 720p, without metadata.
    Video,
}

impl Preview {
    pub const ALL: [Self; 4] = [Self::Thumbnail, Self::Display, Self::Poster, Self::Video];

    /// The type the preview is stored and served as.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Thumbnail | Self::Display | Self::Poster => "image/jpeg",
            Self::Video => "video/mp4",
        }
    }
}

pub fn preview_key(id: MediaId, preview: Preview) -> ObjectKey {
    let name = match preview {
        Preview::Thumbnail => "thumbnail.jpg",
        Preview::Display => "display.jpg",
        Preview::Poster => "poster.jpg",
        Preview::Video => "preview.mp4",
    };
    key(format!("derived/{id}/{name}"))
}

/// Removes the upload, the original and everything derived from it.
pub async fn remove_objects(store: &MediaStore, media: MediaId) -> Result<(), StoreError> {
    store.delete(&upload_key(media)).await?;
    store.delete(&evidence_key(media)).await?;
    for preview in Preview::ALL {
        store.delete(&preview_key(media, preview)).await?;
    }
    Ok(())
}

fn key(text: String) -> ObjectKey {
    ObjectKey::new(text).expect("media keys are built from UUIDs and fixed names")
}
