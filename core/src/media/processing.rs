//! The worker's part: verify an uploaded file and keep it as evidence.
//!
//! In order: the size and SHA-256 of what arrived must match the declaration, and its real type
//! (from its first bytes) must be the declared one and allowed. Photos are decoded under limits
//! and get a thumbnail and a display image without metadata; capture time and position from the
//! file go into restricted fields. Videos are probed and get a poster frame and a preview a browser
//! plays, both without metadata. The original is then copied unchanged into the evidence area and
//! the upload removed. A refused file has its reason recorded, then is removed entirely. Each step
//! can be repeated, so a retry after a crash or a store failure is safe; a refusal is final once
//! recorded, and a retry only finishes the removal.

use std::path::PathBuf;
use std::sync::Arc;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::inspect::{MediaType, Rejection, verify_type};
use super::photo::{PhotoLimits, PhotoOutcome, process_photo};
use super::store::{MediaStore, ObjectKey, StoreError};
use super::video::{VideoOutcome, VideoTools, make_playable_preview, process_video};
use super::{Preview, evidence_key, preview_key, upload_key};
use crate::alerts::{Actor, dossier};
use crate::db::DbPool;
use crate::db::media::{self as queries, MediaFacts, MediaRow};
use crate::hex;
use crate::ids::MediaId;
use crate::jobs::{BackgroundJob, JobError};
use crate::vocabulary::media::{MediaKind, MediaState};

/// What processing needs from the worker.
#[derive(Clone)]
pub struct MediaContext {
    pub pool: DbPool,
    pub store: MediaStore,
    pub video: VideoTools,
    pub photo_limits: PhotoLimits,
    /// Decoding is CPU-bound: at most one photo per core at a time.
    photo_permits: Arc<Semaphore>,
}

impl MediaContext {
    pub fn new(pool: DbPool, store: MediaStore, video: VideoTools, photo_limits: PhotoLimits) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self { pool, store, video, photo_limits, photo_permits: Arc::new(Semaphore::new(cores)) }
    }
}

/// Checks one uploaded file and keeps it as evidence, or refuses it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessMedia {
    pub media_id: MediaId,
}

impl BackgroundJob for ProcessMedia {
    const JOB_TYPE: &'static str = "process_media";
    const MAX_ATTEMPTS: i32 = 6;
    type Context = MediaContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        let conn = &mut *conn;
        let Some(row) = queries::find(conn, self.media_id).await.map_err(JobError::retryable)? else {
            return Ok(()); // removed meanwhile (retention)
        };
        match row.state {
            MediaState::Uploaded | MediaState::Processing => {}
            // An earlier attempt refused the file and failed to remove all of it.
            MediaState::Rejected => {
                return super::remove_objects(&ctx.store, self.media_id).await.map_err(store_failure);
            }
            _ => return Ok(()),
        }
        queries::set_state(conn, self.media_id, MediaState::Processing).await.map_err(JobError::retryable)?;
        match examine(&ctx, &row).await.map_err(store_failure)? {
            Ok(facts) => {
                let evidence = evidence_key(self.media_id);
                ctx.store.copy(&upload_key(self.media_id), &evidence).await.map_err(store_failure)?;
                ctx.store.delete(&upload_key(self.media_id)).await.map_err(store_failure)?;
                record_ready(conn, &row, &facts).await.map_err(JobError::retryable)
            }
            // Recorded first: a store failure while removing the file must not have the refusal
            // decided again, or differently (the upload already gone), on the next attempt.
            Err(rejection) => {
                record_rejected(conn, &row, &rejection).await.map_err(JobError::retryable)?;
                super::remove_objects(&ctx.store, self.media_id).await.map_err(store_failure)
            }
        }
    }
}

pub(super) fn store_failure(error: StoreError) -> JobError {
    if error.is_retryable() { JobError::retryable(error) } else { JobError::permanent(error) }
}

/// Where the original is now: the upload area, or (when an earlier attempt stopped after copying
/// it) the evidence area.
async fn source_key(store: &MediaStore, media: MediaId) -> Result<Option<ObjectKey>, StoreError> {
    for key in [upload_key(media), evidence_key(media)] {
        if store.size(&key).await?.is_some() {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// Reads the file once, checks it and writes its previews. The outer error is the store's
/// (retry); the inner one refuses the file.
async fn examine(ctx: &MediaContext, row: &MediaRow) -> Result<Result<MediaFacts, Rejection>, StoreError> {
    let media = row.id;
    let Some(source) = source_key(&ctx.store, media).await? else {
        return Ok(Err(Rejection::upload_missing()));
    };
    let declared = MediaType::from_mime(&row.content_type);
    let expected_size = row.size_bytes as u64;
    let received = match declared.map(MediaType::kind) {
        Some(MediaKind::Video) => {
            let room = ctx.video.room_for_local_copy().await;
            Received::File(TempFile::create(media, room).await.map_err(local_failure)?)
        }
        _ => Received::Memory(Vec::with_capacity(expected_size as usize)),
    };
    let received = match read_verified(&ctx.store, &source, expected_size, &row.sha256, received).await? {
        Ok(received) => received,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let real_type = match verify_type(&row.content_type, received.head()) {
        Ok(real_type) => real_type,
        Err(rejection) => return Ok(Err(rejection)),
    };
    match received {
        Received::Memory(bytes) => photo(ctx, media, bytes, real_type).await,
        Received::File(file) => video(ctx, media, &file.path).await,
    }
}

async fn photo(
    ctx: &MediaContext,
    media: MediaId,
    bytes: Vec<u8>,
    media_type: MediaType,
) -> Result<Result<MediaFacts, Rejection>, StoreError> {
    let _permit = ctx.photo_permits.acquire().await.expect("the semaphore is never closed");
    let limits = ctx.photo_limits;
    let outcome = tokio::task::spawn_blocking(move || process_photo(&bytes, media_type, &limits))
        .await
        .unwrap_or_else(|_| Err(Rejection::image_unreadable()));
    let (facts, previews) = match outcome {
        Err(rejection) => return Ok(Err(rejection)),
        Ok(PhotoOutcome::NoPreview { metadata }) => (
            MediaFacts {
                captured_at: metadata.captured_at,
                captured_at_offset: metadata.captured_at_offset,
                capture_position: metadata.position,
                ..Default::default()
            },
            vec![],
        ),
        Ok(PhotoOutcome::Previewed { thumbnail, display, width, height, metadata }) => (
            MediaFacts {
                has_preview: true,
                width: i32::try_from(width).ok(),
                height: i32::try_from(height).ok(),
                captured_at: metadata.captured_at,
                captured_at_offset: metadata.captured_at_offset,
                capture_position: metadata.position,
                ..Default::default()
            },
            vec![(Preview::Thumbnail, thumbnail.jpeg), (Preview::Display, display.jpeg)],
        ),
    };
    for (preview, jpeg) in previews {
        ctx.store.put(&preview_key(media, preview), jpeg, preview.content_type()).await?;
    }
    Ok(Ok(facts))
}

async fn video(
    ctx: &MediaContext,
    media: MediaId,
    path: &std::path::Path,
) -> Result<Result<MediaFacts, Rejection>, StoreError> {
    let outcome = match process_video(&ctx.video, path).await {
        Ok(outcome) => outcome,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let (facts, poster) = match outcome {
        VideoOutcome::Previewed { facts, poster } => (facts, Some(poster)),
        VideoOutcome::NoPreview { facts: Some(facts) } => (facts, None),
        // ffprobe is missing or took too long: ffmpeg is not tried on it either.
        VideoOutcome::NoPreview { facts: None } => return Ok(Ok(MediaFacts::default())),
    };
    let has_preview = poster.is_some();
    if let Some(poster) = poster {
        let poster_type = Preview::Poster.content_type();
        ctx.store.put(&preview_key(media, Preview::Poster), poster.jpeg, poster_type).await?;
    }
    let playable = make_playable_preview(&ctx.video, path).await;
    if let Some(playable) = &playable {
        let key = preview_key(media, Preview::Video);
        ctx.store.put_file(&key, playable.path(), Preview::Video.content_type()).await?;
    }
    Ok(Ok(MediaFacts {
        has_preview,
        has_video_preview: playable.is_some(),
        width: i32::try_from(facts.width).ok(),
        height: i32::try_from(facts.height).ok(),
        duration_seconds: Some(facts.duration_seconds),
        codec: Some(facts.codec),
        ..Default::default()
    }))
}

/// A local file or stream failed while reading the object: worth another attempt.
fn local_failure(error: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("reading the object failed: {error}"))
}

/// Where the bytes go while they are read: memory for photos (at most the photo limit), a
/// temporary file for video (ffprobe and ffmpeg read files).
enum Received {
    Memory(Vec<u8>),
    File(TempFile),
}

impl Received {
    fn head(&self) -> &[u8] {
        match self {
            Self::Memory(bytes) => &bytes[..bytes.len().min(HEAD_BYTES)],
            Self::File(file) => &file.head,
        }
    }
}

/// The first bytes are kept for the type check.
const HEAD_BYTES: usize = 64;

/// A video's local copy. Removed when dropped, however processing ends: done, refused, or cut
/// short by a store error mid-read.
struct TempFile {
    path: PathBuf,
    file: tokio::fs::File,
    head: Vec<u8>,
    /// Given back when the file is gone (see `VideoTools::room_for_local_copy`).
    _room: OwnedSemaphorePermit,
}

impl TempFile {
    async fn create(media: MediaId, room: OwnedSemaphorePermit) -> std::io::Result<Self> {
        let path = std::env::temp_dir().join(format!("burgernet-media-{media}"));
        let file = tokio::fs::File::create(&path).await?;
        Ok(Self { path, file, head: Vec::new(), _room: room })
    }

    async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        let wanted = HEAD_BYTES.saturating_sub(self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..wanted]);
        self.file.write_all(chunk).await
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // Unlinking an open file is fine on the systems we run on; the handle closes right after.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Streams the object into `into`, hashing on the way; refuses it when it is longer or shorter
/// than declared or its hash differs.
async fn read_verified(
    store: &MediaStore,
    key: &ObjectKey,
    expected_size: u64,
    expected_sha256: &[u8],
    mut into: Received,
) -> Result<Result<Received, Rejection>, StoreError> {
    let mut reader = store.open(key).await?;
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = reader.read(&mut buffer).await.map_err(local_failure)?;
        if read == 0 {
            break;
        }
        size += read as u64;
        if size > expected_size {
            break;
        }
        let chunk = &buffer[..read];
        hash.update(chunk);
        match &mut into {
            Received::Memory(bytes) => bytes.extend_from_slice(chunk),
            Received::File(temp) => temp.write(chunk).await.map_err(local_failure)?,
        }
    }
    if let Received::File(temp) = &mut into {
        temp.file.flush().await.map_err(local_failure)?;
    }
    let refusal = if size != expected_size {
        Some(Rejection::size_mismatch())
    } else if hash.finalize()[..] != *expected_sha256 {
        Some(Rejection::hash_mismatch())
    } else {
        None
    };
    match refusal {
        Some(rejection) => Ok(Err(rejection)),
        None => Ok(Ok(into)),
    }
}

async fn record_ready(
    conn: &mut AsyncPgConnection,
    row: &MediaRow,
    facts: &MediaFacts,
) -> diesel::QueryResult<()> {
    conn.transaction(async |conn| {
        queries::mark_ready(conn, row.id, facts).await?;
        let body = json!({
            "media_id": row.id,
            "tip_id": row.tip_id,
            "kind": row.kind,
            "content_type": row.content_type,
            "size_bytes": row.size_bytes,
            "sha256": hex(&row.sha256),
            "has_preview": facts.has_preview,
            "has_video_preview": facts.has_video_preview,
        });
        dossier::record(conn, row.alert_id, &Actor::System, "media_ready", body).await?;
        Ok(())
    })
    .await
}

async fn record_rejected(
    conn: &mut AsyncPgConnection,
    row: &MediaRow,
    rejection: &Rejection,
) -> diesel::QueryResult<()> {
    conn.transaction(async |conn| {
        queries::reject(conn, row.id, rejection.code, &rejection.reason).await?;
        let body = json!({
            "media_id": row.id,
            "tip_id": row.tip_id,
            "code": rejection.code,
            "declared_sha256": hex(&row.sha256),
        });
        dossier::record(conn, row.alert_id, &Actor::System, "media_rejected", body).await?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_local_copy_is_removed_and_its_room_given_back_however_processing_ends() {
        let tools = VideoTools::new("ffprobe".into(), "ffmpeg".into(), Duration::from_secs(1), 1);
        let mut copy =
            TempFile::create(MediaId(uuid::Uuid::new_v4()), tools.room_for_local_copy().await).await.unwrap();
        copy.write(b"\0\0\0\x18ftypmp42").await.unwrap();
        let path = copy.path.clone();
        assert!(path.exists());

        // A second video waits: the disk a worker needs stays bounded.
        let second = tokio::time::timeout(Duration::from_millis(100), tools.room_for_local_copy()).await;
        assert!(second.is_err(), "a second local copy got room while the first was on disk");

        // As when the store fails mid-read: the copy is dropped without ceremony.
        drop(Received::File(copy));
        assert!(!path.exists());
        let _room = tokio::time::timeout(Duration::from_secs(1), tools.room_for_local_copy())
            .await
            .expect("the room is given back");
    }
}
