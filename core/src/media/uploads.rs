//! The participant's side: declare a photo or video for a tip, upload it straight to the media
//! store with the presigned requests the answer holds, report completion, and follow its state.
//! The API never carries the bytes.
//!
//! A tip is the sender's when it names them, or, for an anonymous tip, when they show its
//! [`SenderKey`].

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};

use super::inspect::{MediaType, Rejection};
use super::processing::{MediaContext, ProcessMedia, store_failure};
use super::retention::RemoveMediaObjects;
use super::store::{
    CompletedPart, InvalidParts, MediaStore, MultipartUploadId, PresignedRequest, StoreError, UploadSpec,
};
use super::{MediaSettings, upload_key};
use crate::alerts::tips::SenderKey;
use crate::db::jobs as job_queries;
use crate::db::media::{self as queries, MediaRow, NewMedia};
use crate::db::tips::{self as tip_queries, TipOwnership};
use crate::idempotency::{self, Answer, Begun, IdempotencyError, IdempotencyKey, IdempotentRequest};
use crate::ids::JobId;
use crate::ids::{AlertId, MediaId, ParticipantId, TipId};
use crate::jobs::{BackgroundJob, JobError};
use crate::participants::rate_limits::{self, CounterKey};
use crate::vocabulary::InvalidInput;
use crate::vocabulary::alerts::AlertStatus;
use crate::vocabulary::media::{MediaKind, MediaState};

/// A file the app is about to upload.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaDeclaration {
    /// `image/jpeg`, `image/png`, `image/heic`, `image/webp`, `video/mp4` or `video/quicktime`.
    pub content_type: String,
    pub size_bytes: u64,
    /// The file's SHA-256, 64 hexadecimal digits. The upload is checked against it.
    pub sha256: String,
}

/// How to upload the file.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum UploadInstructions {
    /// One request with the whole file, exactly as given (method, URL, headers).
    Single { request: PresignedRequest },
    /// One request per part, in order: every part `part_size_bytes` long but the last. Report
    /// completion with each part's number and the `ETag` its answer carried.
    Multipart { part_size_bytes: u64, parts: Vec<PresignedRequest> },
}

/// Why a file was refused, in words the app can show.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaRejection {
    /// Stable: `hash_mismatch`, `size_mismatch`, `type_not_allowed`, `type_mismatch`,
    /// `image_unreadable`, `image_too_large`, `video_unreadable`, ...
    pub code: String,
    pub reason: String,
}

/// A photo or video as its sender sees it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MyMedia {
    #[schema(value_type = Uuid)]
    pub id: MediaId,
    pub kind: MediaKind,
    pub content_type: String,
    pub size_bytes: u64,
    pub state: MediaState,
    pub rejection: Option<MediaRejection>,
}

impl From<&MediaRow> for MyMedia {
    fn from(row: &MediaRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            content_type: row.content_type.clone(),
            size_bytes: u64::try_from(row.size_bytes).unwrap_or_default(),
            state: row.state,
            rejection: row.rejection_code.clone().map(|code| MediaRejection {
                code,
                reason: row.rejection_reason.clone().unwrap_or_default(),
            }),
        }
    }
}

/// A declared file and how to upload it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MediaUpload {
    pub media: MyMedia,
    pub upload: UploadInstructions,
}

/// The app's report that the upload is done.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadCompletion {
    /// For an upload in parts: every part's number and ETag.
    #[serde(default)]
    pub parts: Vec<UploadedPart>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadedPart {
    pub number: u16,
    pub etag: String,
}

/// A tip as its sender sees it, with the state of each file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyTip {
    #[schema(value_type = Uuid)]
    pub id: TipId,
    #[schema(value_type = Uuid)]
    pub alert_id: AlertId,
    pub anonymous: bool,
    pub media: Vec<MyMedia>,
}

/// The caller, and the key they show for an anonymous tip.
pub struct Sender<'a> {
    pub participant: ParticipantId,
    pub key: Option<&'a SenderKey>,
}

impl Sender<'_> {
    fn owns(&self, tip: &TipOwnership) -> bool {
        match (&tip.participant_id, &tip.sender_key_hash, self.key) {
            (Some(owner), _, _) => *owner == self.participant,
            (None, Some(hash), Some(key)) => key.hash() == *hash,
            (None, _, _) => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("There is no such tip of yours (for an anonymous tip, send its Tip-Sender-Key).")]
    TipNotFound,
    #[error("There is no such photo or video on this tip.")]
    MediaNotFound,
    #[error("This alert is closed; it takes no more photos or videos.")]
    AlertClosed,
    #[error("A tip holds at most {0} photos and videos.")]
    TooManyMedia(i64),
    #[error("You sent many photos and videos in a short time; please wait a little.")]
    RateLimited { retry_after: std::time::Duration },
    #[error("{}", .0.detail)]
    Invalid(#[from] InvalidInput),
    #[error("This Idempotency-Key was used before for a different request; use a new key for a new request.")]
    IdempotencyKeyReused,
    #[error("The file has not arrived in full; upload it (every part) first, then report completion.")]
    UploadMissing,
    #[error("Name each uploaded part once, in ascending order of number, with the ETag its upload answered.")]
    InvalidPartList,
    #[error("This upload can no longer be completed: it is {}.", .0.as_str())]
    NotPending(MediaState),
    #[error("The media store cannot be reached just now; please retry.")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<IdempotencyError> for MediaError {
    fn from(error: IdempotencyError) -> Self {
        match error {
            IdempotencyError::KeyReused => Self::IdempotencyKeyReused,
            IdempotencyError::Database(inner) => inner.into(),
        }
    }
}

/// A checked declaration.
struct Declared {
    media_type: MediaType,
    size_bytes: u64,
    sha256: [u8; 32],
}

impl MediaDeclaration {
    fn check(&self, settings: &MediaSettings) -> Result<Declared, InvalidInput> {
        let media_type = MediaType::from_mime(self.content_type.trim()).ok_or_else(|| {
            InvalidInput::new(
                "media_type_not_allowed",
                "Send photos as JPEG, PNG, HEIC or WebP and videos as MP4 or QuickTime.",
            )
        })?;
        let limit = match media_type.kind() {
            MediaKind::Photo => settings.max_photo_bytes,
            MediaKind::Video => settings.max_video_bytes,
        };
        if self.size_bytes == 0 {
            return Err(InvalidInput::new(
                "media_empty",
                format!("The {} is empty (0 bytes); send the file itself.", media_type.kind().as_str()),
            ));
        }
        if self.size_bytes > limit {
            return Err(InvalidInput::new(
                "media_too_large",
                format!("A {} may be at most {} MiB.", media_type.kind().as_str(), limit / (1024 * 1024)),
            ));
        }
        let sha256 = parse_sha256(&self.sha256)
            .ok_or_else(|| InvalidInput::new("invalid_sha256", "sha256 holds 64 hexadecimal digits."))?;
        Ok(Declared { media_type, size_bytes: self.size_bytes, sha256 })
    }
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

async fn own_tip(
    conn: &mut AsyncPgConnection,
    sender: &Sender<'_>,
    alert: AlertId,
    tip: TipId,
) -> Result<TipOwnership, MediaError> {
    tip_queries::lock_ownership(conn, alert, tip)
        .await?
        .filter(|ownership| sender.owns(ownership))
        .ok_or(MediaError::TipNotFound)
}

/// How long an upload in parts may wait for the declaration that created it before
/// [`AbortUnclaimedUpload`] aborts it. The declaration calls the job off as it commits (and fails
/// if the job has started), so this only has to outlast a slow store.
const UNCLAIMED_UPLOAD_GRACE: Duration = Duration::from_secs(15 * 60);

/// Declares a file for the tip and answers how to upload it. With an idempotency key, a retry
/// returns the first answer and declares nothing new.
///
/// No transaction waits for the store: an upload in parts is created before the transaction that
/// records it, and aborted when that transaction does not record it. A job queued before the
/// upload is created aborts it should the API stop in between.
#[allow(clippy::too_many_arguments)]
pub async fn declare(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    settings: &MediaSettings,
    counters: &CounterKey,
    sender: &Sender<'_>,
    alert: AlertId,
    tip: TipId,
    declaration: &MediaDeclaration,
    idempotency_key: Option<&IdempotencyKey>,
) -> Result<Answer<MediaUpload>, MediaError> {
    let declared = declaration.check(settings)?;
    let caller = format!("{}:{tip}", sender.participant);
    let request =
        idempotency_key.map(|key| IdempotentRequest { operation: "tip_media", caller: &caller, key });
    let media = MediaId::new();
    let multipart = if declared.size_bytes > settings.single_upload_max_bytes {
        Some(start_multipart(conn, store, media, &declared).await?)
    } else {
        None
    };
    let answer = conn
        .transaction(async |conn| {
            let pending = match idempotency::begin(conn, request.as_ref(), declaration).await? {
                Begun::Replay(value) => return Ok(Answer { value, replayed: true }),
                Begun::Fresh(pending) => pending,
            };
            let ownership = own_tip(conn, sender, alert, tip).await?;
            if ownership.alert_status == AlertStatus::Closed {
                return Err(MediaError::AlertClosed);
            }
            if queries::count_live_for_tip(conn, tip).await? >= settings.per_tip {
                return Err(MediaError::TooManyMedia(settings.per_tip));
            }
            let participant = sender.participant.to_string();
            if let Some(retry_after) =
                rate_limits::count(conn, counters, "media", &participant, settings.per_participant_per_hour)
                    .await?
            {
                return Err(MediaError::RateLimited { retry_after });
            }
            let upload =
                record_upload(conn, store, settings, alert, tip, media, &declared, multipart.as_ref())
                    .await?;
            pending.finish(conn, &upload).await?;
            Ok(Answer { value: upload, replayed: false })
        })
        .await;
    if let Some(started) = &multipart
        && !matches!(answer, Ok(Answer { replayed: false, .. }))
    {
        // Recorded nowhere: abort it now. Should the store fail, the queued job aborts it later.
        if let Err(error) = store.abort_multipart(&upload_key(media), &started.upload).await {
            tracing::warn!(%error, %media, "could not abort an upload in parts not recorded; its job will");
        }
    }
    answer
}

/// An upload in parts created for a declaration, and the job that aborts it unless the
/// declaration commits.
struct StartedUpload {
    upload: MultipartUploadId,
    abort_unless_recorded: JobId,
}

/// Queues [`AbortUnclaimedUpload`] (committed on its own, before the store is asked), then creates
/// the upload in parts. Called outside any transaction.
async fn start_multipart(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    media: MediaId,
    declared: &Declared,
) -> Result<StartedUpload, MediaError> {
    let abort_unless_recorded =
        AbortUnclaimedUpload { media_id: media }.enqueue_after(conn, UNCLAIMED_UPLOAD_GRACE).await?;
    let upload = store.start_multipart(&upload_key(media), declared.media_type.mime()).await?;
    Ok(StartedUpload { upload, abort_unless_recorded })
}

/// Records the file and answers how to upload it. Presigning is computed locally: it does not
/// call the store.
#[allow(clippy::too_many_arguments)]
async fn record_upload(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    settings: &MediaSettings,
    alert: AlertId,
    tip: TipId,
    id: MediaId,
    declared: &Declared,
    multipart: Option<&StartedUpload>,
) -> Result<MediaUpload, MediaError> {
    let key = upload_key(id);
    let content_type = declared.media_type.mime();
    let ttl = settings.upload_url_ttl;
    let (instructions, multipart) = match multipart {
        None => {
            let spec = UploadSpec {
                content_length: declared.size_bytes,
                content_type: content_type.to_string(),
                sha256: declared.sha256,
            };
            (UploadInstructions::Single { request: store.presign_upload(&key, &spec, ttl).await? }, None)
        }
        Some(started) => {
            // The row now holds the upload: the job must not abort it. Once started, it may
            // have aborted it already.
            if !job_queries::cancel_queued(conn, started.abort_unless_recorded).await? {
                return Err(StoreError::Unavailable("the upload in parts was given up".into()).into());
            }
            let part_size = settings.part_bytes;
            let mut parts = Vec::new();
            for (index, offset) in (0..declared.size_bytes).step_by(part_size as usize).enumerate() {
                let length = part_size.min(declared.size_bytes - offset);
                let number = u16::try_from(index + 1).map_err(|_| {
                    InvalidInput::new("media_too_large", "The file needs more than 10,000 parts.")
                })?;
                parts.push(store.presign_part(&key, &started.upload, number, length, ttl).await?);
            }
            let instructions = UploadInstructions::Multipart { part_size_bytes: part_size, parts };
            (instructions, Some((started.upload.0.as_str(), part_size as i64)))
        }
    };
    let row = queries::insert(
        conn,
        &NewMedia {
            id,
            tip,
            alert,
            kind: declared.media_type.kind(),
            content_type,
            size_bytes: declared.size_bytes as i64,
            sha256: &declared.sha256,
            multipart,
            upload_ttl: settings.abandon_after,
        },
    )
    .await?;
    Ok(MediaUpload { media: MyMedia::from(&row), upload: instructions })
}

/// Aborts the upload in parts created for a declaration that was never recorded (it failed, or
/// the API stopped before it committed). Queued before the upload is created, and called off by
/// the declaration that records it; its id unknown, the upload is found by its key, which is the
/// file's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AbortUnclaimedUpload {
    pub media_id: MediaId,
}

impl BackgroundJob for AbortUnclaimedUpload {
    const JOB_TYPE: &'static str = "abort_unclaimed_upload";
    const MAX_ATTEMPTS: i32 = 10;
    type Context = MediaContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        if queries::find(&mut conn, self.media_id).await.map_err(JobError::retryable)?.is_some() {
            return Ok(()); // recorded after all: expiry and retention see to it
        }
        drop(conn);
        ctx.store.abort_multipart_uploads_of(&upload_key(self.media_id)).await.map_err(store_failure)
    }
}

/// Records that the upload is done and hands the file to the worker. Completing again answers the
/// current state; an upload that has not arrived (in full) is refused and can be completed later.
///
/// The store is asked (and an upload in parts completed) outside any transaction; then a short
/// transaction locks the row and records the outcome, unless another completion or the expiry
/// came first.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    sender: &Sender<'_>,
    alert: AlertId,
    tip: TipId,
    media: MediaId,
    completion: &UploadCompletion,
) -> Result<MyMedia, MediaError> {
    own_tip(conn, sender, alert, tip).await?;
    let row =
        queries::find(conn, media).await?.filter(|row| row.tip_id == tip).ok_or(MediaError::MediaNotFound)?;
    match row.state {
        MediaState::PendingUpload => {}
        MediaState::Expired => return Err(MediaError::NotPending(MediaState::Expired)),
        _ => return Ok(MyMedia::from(&row)),
    }
    let arrived = arrived(store, &row, completion).await;
    let settled = conn
        .transaction(async |conn| {
            own_tip(conn, sender, alert, tip).await?;
            let row = queries::lock(conn, media)
                .await?
                .filter(|row| row.tip_id == tip)
                .ok_or(MediaError::MediaNotFound)?;
            match row.state {
                MediaState::PendingUpload => {}
                MediaState::Expired => {
                    // Expired meanwhile: what this completion wrote may have come after the
                    // expiry's removal.
                    if matches!(arrived, Ok(Some(_))) {
                        RemoveMediaObjects::of(std::slice::from_ref(&row)).enqueue(conn).await?;
                    }
                    return Ok(None);
                }
                // Another completion came first.
                _ => return Ok(Some(MyMedia::from(&row))),
            }
            match arrived? {
                None => return Err(MediaError::UploadMissing),
                Some(size) if size != row.size_bytes as u64 => {
                    let rejection = Rejection::size_mismatch();
                    queries::reject(conn, media, rejection.code, &rejection.reason).await?;
                    RemoveMediaObjects::of(std::slice::from_ref(&row)).enqueue(conn).await?;
                }
                Some(_) => {
                    queries::set_state(conn, media, MediaState::Uploaded).await?;
                    ProcessMedia { media_id: media }.enqueue(conn).await?;
                }
            }
            let row = queries::find(conn, media).await?.ok_or(MediaError::MediaNotFound)?;
            Ok(Some(MyMedia::from(&row)))
        })
        .await?;
    settled.ok_or(MediaError::NotPending(MediaState::Expired))
}

/// The size of what arrived at the file's key, after completing an upload in parts from the parts
/// named; None when nothing has.
async fn arrived(
    store: &MediaStore,
    row: &MediaRow,
    completion: &UploadCompletion,
) -> Result<Option<u64>, MediaError> {
    let key = upload_key(row.id);
    let arrived = store.size(&key).await?;
    // Parts become the object when completed; a completion repeated after a lost answer finds
    // the object already there.
    let (None, Some(upload)) = (arrived, &row.multipart_upload_id) else {
        return Ok(arrived);
    };
    let parts: Vec<CompletedPart> = completion
        .parts
        .iter()
        .map(|part| CompletedPart { number: part.number, etag: part.etag.clone() })
        .collect();
    if parts.is_empty() {
        return Err(MediaError::UploadMissing);
    }
    let upload = MultipartUploadId(upload.clone());
    store
        .complete_multipart(&key, &upload, &parts, row.size_bytes as u64)
        .await
        .map_err(completion_refused)?;
    Ok(store.size(&key).await?)
}

/// Why the store did not complete an upload from the parts named, for the app.
fn completion_refused(error: StoreError) -> MediaError {
    match error {
        StoreError::InvalidParts(InvalidParts::Order) => MediaError::InvalidPartList,
        error if error.is_retryable() => MediaError::Store(error),
        // A part not uploaded, another ETag, or parts left out: not arrived in full.
        _ => MediaError::UploadMissing,
    }
}

/// The sender's tip with the state of each file.
pub async fn my_tip(
    conn: &mut AsyncPgConnection,
    sender: &Sender<'_>,
    alert: AlertId,
    tip: TipId,
) -> Result<MyTip, MediaError> {
    let ownership = own_tip(conn, sender, alert, tip).await?;
    let media = queries::for_tip(conn, tip).await?;
    Ok(MyTip {
        id: tip,
        alert_id: alert,
        anonymous: ownership.participant_id.is_none(),
        media: media.iter().map(MyMedia::from).collect(),
    })
}
