//! The media store: where uploaded photos and videos, their evidence copies and derived images
//! are kept.
//!
//! Participants upload straight to the store with presigned requests, so the API never carries
//! the bytes. Two backends behave the same way:
//!
//! - [`S3Store`]: any S3-compatible object store. Presigned SigV4 requests; the store itself
//!   checks signature, expiry, length, type and (where asked) the SHA-256.
//! - [`FilesystemStore`]: a directory on the API's host, for `dev` and small installs. The API
//!   itself answers the presigned URLs (`/v1/media-store/{key}`), signed with HMAC-SHA256, and
//!   enforces the same rules (see [`FilesystemStore::receive`] and [`FilesystemStore::serve`]).
//!
//! Configuration (read by [`MediaStore::from_env`]):
//!
//! - `BURGERNET_MEDIA_STORE`: `filesystem` (default) or `s3`;
//! - filesystem: `BURGERNET_MEDIA_DIR`, `BURGERNET_MEDIA_SIGNING_KEY` (at least 32 bytes) and
//!   `BURGERNET_PUBLIC_URL`;
//! - s3: `BURGERNET_S3_BUCKET`, `BURGERNET_S3_ACCESS_KEY_ID`, `BURGERNET_S3_SECRET_ACCESS_KEY`,
//!   optionally `BURGERNET_S3_ENDPOINT`, `BURGERNET_S3_REGION` (default `eu-west-1`),
//!   `BURGERNET_S3_FORCE_PATH_STYLE` (default: true with an endpoint) and `BURGERNET_S3_TIMEOUT`
//!   (default `30s`).

mod filesystem;
mod s3;

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, ReadBuf};

use crate::config::{ConfigError, Env};

pub use filesystem::{
    FilesystemStore, FilesystemStoreConfig, FilesystemUploadError, ReceivedObject, ServedObject,
};
pub use s3::{S3Store, S3StoreConfig};

/// Longest accepted key.
pub const MAX_KEY_LENGTH: usize = 200;

/// Part numbers of a multipart upload, as S3 allows them.
pub const PART_NUMBERS: std::ops::RangeInclusive<u16> = 1..=10_000;

/// A store key such as `uploads/<uuid>`, `evidence/<uuid>` or `derived/<uuid>/thumbnail.jpg`:
/// 1 to 200 characters of `[a-z0-9._/-]`, no leading or trailing `/`, no `..`, no `//`. Keys
/// are safe both as S3 keys and as relative paths below the filesystem store's root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    pub fn new(key: impl Into<String>) -> Result<Self, StoreError> {
        let key = key.into();
        let problem = if key.is_empty() || key.len() > MAX_KEY_LENGTH {
            Some("must be 1 to 200 characters long")
        } else if !key.bytes().all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'/' | b'-')) {
            Some("may only hold a-z, 0-9, '.', '_', '/' and '-'")
        } else if key.starts_with('/') || key.ends_with('/') {
            Some("may not start or end with '/'")
        } else if key.contains("..") || key.contains("//") {
            Some("may not contain '..' or '//'")
        } else if key.split('/').any(|segment| segment == ".") {
            Some("may not contain a '.' segment")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(StoreError::InvalidKey(problem)),
            None => Ok(Self(key)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the client must send, exactly: the method, the URL, and the headers to set (with these
/// values; a different length, type or checksum is refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// What a single-request upload must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    pub content_length: u64,
    pub content_type: String,
    pub sha256: [u8; 32],
}

/// One uploaded part of a multipart upload: its number and the ETag its upload answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub number: u16,
    pub etag: String,
}

/// The store's id of a multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartUploadId(pub String);

/// Why the parts named to complete a multipart upload were refused, by S3's codes. Nothing was
/// written and the upload stays open, so a corrected list can still complete it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidParts {
    /// `InvalidPartOrder`: the part numbers are not in ascending order, or one is repeated.
    #[error("InvalidPartOrder: the parts are not listed once each in ascending order")]
    Order,
    /// `InvalidPart`: a part was not uploaded, or its ETag is not the one given.
    #[error("InvalidPart: a part was not uploaded or has another ETag")]
    Part,
    /// The parts do not add up to the size the object was declared to have (S3 answers
    /// `InvalidRequest` to an `x-amz-mp-object-size` that differs).
    #[error("the parts do not add up to the declared size")]
    Size,
}

/// Why a store operation failed. The texts name keys at most, never contents or credentials.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no object at this key")]
    NotFound,
    #[error("invalid store key: {0}")]
    InvalidKey(&'static str),
    /// The request was not sent: an argument is out of range.
    #[error("invalid media store request: {0}")]
    InvalidRequest(String),
    /// The store could not be reached, timed out or failed (5xx, throttling): retry later.
    #[error("the media store is unavailable: {0}")]
    Unavailable(String),
    /// The store refused the request (4xx): retrying the same request does not help.
    #[error("the media store rejected the request: {0}")]
    Rejected(String),
    /// The store refused to complete a multipart upload from the parts named.
    #[error("the media store refused the part list: {0}")]
    InvalidParts(#[from] InvalidParts),
}

impl StoreError {
    /// Whether the same operation may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// An object's bytes, streamed from the store.
pub struct ObjectReader(Pin<Box<dyn AsyncRead + Send>>);

impl ObjectReader {
    fn new(reader: impl AsyncRead + Send + 'static) -> Self {
        Self(Box::pin(reader))
    }
}

impl ObjectReader {
    /// The bytes as a stream of chunks, for an HTTP response body.
    pub fn into_chunks(self) -> impl futures_util::Stream<Item = std::io::Result<hyper::body::Bytes>> + Send {
        futures_util::stream::try_unfold(self, |mut reader| async move {
            let mut chunk = vec![0; 64 * 1024];
            let read = tokio::io::AsyncReadExt::read(&mut reader, &mut chunk).await?;
            if read == 0 {
                return Ok(None);
            }
            chunk.truncate(read);
            Ok(Some((hyper::body::Bytes::from(chunk), reader)))
        })
    }
}

impl fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObjectReader")
    }
}

impl AsyncRead for ObjectReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.get_mut().0.as_mut().poll_read(cx, buf)
    }
}

/// What a write-once put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOnce {
    Written,
    /// Something was at the key already; it was left as it was.
    Exists,
}

/// The configured store. Cloning is cheap (shared clients and keys).
#[derive(Clone, Debug)]
pub enum MediaStore {
    S3(S3Store),
    Filesystem(FilesystemStore),
}

impl MediaStore {
    /// Reads `BURGERNET_MEDIA_STORE` and the chosen backend's variables (see the module docs).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let kind = env.or("BURGERNET_MEDIA_STORE", "filesystem".to_string(), |raw| match raw {
            "s3" | "filesystem" => Ok(raw.to_string()),
            other => Err(format!("expected s3 or filesystem, got {other:?}")),
        })?;
        Ok(match kind.as_str() {
            "s3" => Self::S3(S3Store::new(S3StoreConfig::from_env(env)?)),
            _ => Self::Filesystem(FilesystemStore::new(FilesystemStoreConfig::from_env(env)?)),
        })
    }

    /// A single PUT with the exact length and type signed, and the SHA-256 (S3: as
    /// `x-amz-checksum-sha256`, checked by the store; filesystem: checked by the API).
    pub async fn presign_upload(
        &self,
        key: &ObjectKey,
        spec: &UploadSpec,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        match self {
            Self::S3(store) => store.presign_upload(key, spec, ttl).await,
            Self::Filesystem(store) => store.presign_upload(key, spec, ttl),
        }
    }

    pub async fn start_multipart(
        &self,
        key: &ObjectKey,
        content_type: &str,
    ) -> Result<MultipartUploadId, StoreError> {
        match self {
            Self::S3(store) => store.start_multipart(key, content_type).await,
            Self::Filesystem(store) => store.start_multipart(key, content_type).await,
        }
    }

    /// One part's PUT, its exact length signed. Part numbers are 1 to 10000; the response's
    /// `ETag` header goes into [`CompletedPart`].
    pub async fn presign_part(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        number: u16,
        content_length: u64,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        if !PART_NUMBERS.contains(&number) {
            return Err(StoreError::InvalidRequest(format!("part number {number} is not within 1..=10000")));
        }
        match self {
            Self::S3(store) => store.presign_part(key, upload, number, content_length, ttl).await,
            Self::Filesystem(store) => store.presign_part(key, upload, number, content_length, ttl),
        }
    }

    /// Joins the parts, each once and in ascending order of number, into the object at `key`, when
    /// they add up to `total_bytes` (the declared size). Otherwise [`StoreError::InvalidParts`],
    /// before anything is written.
    pub async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        parts: &[CompletedPart],
        total_bytes: u64,
    ) -> Result<(), StoreError> {
        match self {
            Self::S3(store) => store.complete_multipart(key, upload, parts, total_bytes).await,
            Self::Filesystem(store) => store.complete_multipart(key, upload, parts, total_bytes).await,
        }
    }

    /// Idempotent: an unknown or already finished upload is Ok.
    pub async fn abort_multipart(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
    ) -> Result<(), StoreError> {
        match self {
            Self::S3(store) => store.abort_multipart(key, upload).await,
            Self::Filesystem(store) => store.abort_multipart(upload).await,
        }
    }

    /// Aborts every upload in parts still in progress for the key, whatever its id: for an upload
    /// whose id was never recorded (the declaration did not commit). Idempotent.
    pub async fn abort_multipart_uploads_of(&self, key: &ObjectKey) -> Result<(), StoreError> {
        match self {
            Self::S3(store) => store.abort_multipart_uploads_of(key).await,
            Self::Filesystem(store) => store.abort_multipart_uploads_of(key).await,
        }
    }

    /// The object's size in bytes; None when absent.
    pub async fn size(&self, key: &ObjectKey) -> Result<Option<u64>, StoreError> {
        match self {
            Self::S3(store) => store.size(key).await,
            Self::Filesystem(store) => store.size(key).await,
        }
    }

    /// Streams the object (never loads it whole). `Err(StoreError::NotFound)` when absent.
    pub async fn open(&self, key: &ObjectKey) -> Result<ObjectReader, StoreError> {
        match self {
            Self::S3(store) => store.open(key).await,
            Self::Filesystem(store) => store.open(key).await,
        }
    }

    pub async fn put(&self, key: &ObjectKey, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        check_content_type(content_type)?;
        match self {
            Self::S3(store) => store.put(key, bytes, content_type).await,
            Self::Filesystem(store) => store.put(key, bytes, content_type).await,
        }
    }

    /// Writes the object only if nothing is at `key` yet, and never replaces one: for records that
    /// must stay as first written (the dossier's checkpoints). S3: `If-None-Match: *`, and with
    /// `retain_until` Object Lock in compliance mode until then (the bucket must have Object Lock
    /// enabled); filesystem: the file is linked into place, which fails when the name is taken.
    pub async fn put_once(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
        retain_until: Option<DateTime<Utc>>,
    ) -> Result<PutOnce, StoreError> {
        check_content_type(content_type)?;
        match self {
            Self::S3(store) => store.put_once(key, bytes, content_type, retain_until).await,
            Self::Filesystem(store) => store.put_once(key, bytes, content_type).await,
        }
    }

    /// The keys of the objects in the folder `prefix` (say `dossier-checkpoints`), in key order.
    pub async fn list(&self, prefix: &ObjectKey) -> Result<Vec<ObjectKey>, StoreError> {
        let mut keys = match self {
            Self::S3(store) => store.list(prefix).await?,
            Self::Filesystem(store) => store.list(prefix).await?,
        };
        keys.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(keys)
    }

    /// The whole object, when it is at most `limit` bytes (larger: [`StoreError::InvalidRequest`]).
    pub async fn read_small(&self, key: &ObjectKey, limit: u64) -> Result<Vec<u8>, StoreError> {
        use tokio::io::AsyncReadExt;
        let mut bytes = Vec::new();
        self.open(key)
            .await?
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(|error| StoreError::Unavailable(format!("reading {key}: {}", error.kind())))?;
        if bytes.len() as u64 > limit {
            return Err(StoreError::InvalidRequest(format!("{key} is larger than {limit} bytes")));
        }
        Ok(bytes)
    }

    /// Server-side copy (objects up to 1 GiB), keeping the bytes and the content type.
    pub async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StoreError> {
        match self {
            Self::S3(store) => store.copy(from, to).await,
            Self::Filesystem(store) => store.copy(from, to).await,
        }
    }

    /// Idempotent: absent is Ok.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        match self {
            Self::S3(store) => store.delete(key).await,
            Self::Filesystem(store) => store.delete(key).await,
        }
    }

    /// A GET link that expires after `ttl`; with `download_name` the response carries
    /// `Content-Disposition: attachment; filename="<name>"` (names of `[A-Za-z0-9._-]`, 1 to 100).
    pub async fn presign_download(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<PresignedRequest, StoreError> {
        if let Some(name) = download_name {
            check_download_name(name)?;
        }
        match self {
            Self::S3(store) => store.presign_download(key, ttl, download_name).await,
            Self::Filesystem(store) => store.presign_download(key, ttl, download_name).await,
        }
    }
}

/// Shortest and longest signed link lifetimes (S3 allows up to 7 days).
const TTL_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(7 * 24 * 3600);

fn check_ttl(ttl: Duration) -> Result<(), StoreError> {
    if TTL_RANGE.contains(&ttl) {
        Ok(())
    } else {
        Err(StoreError::InvalidRequest("a link's lifetime must be between 1 second and 7 days".into()))
    }
}

/// A media type such as `image/jpeg`: printable ASCII without spaces, at most 100 characters, so
/// it can travel in a header and a query string unchanged.
fn check_content_type(content_type: &str) -> Result<(), StoreError> {
    let valid = (3..=100).contains(&content_type.len())
        && content_type.contains('/')
        && content_type.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidRequest("the content type is not a plain media type".into()))
    }
}

fn check_download_name(name: &str) -> Result<(), StoreError> {
    let valid = (1..=100).contains(&name.len())
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidRequest(
            "a download name may only hold A-Z, a-z, 0-9, '.', '_' and '-'".into(),
        ))
    }
}

fn content_disposition(download_name: &str) -> String {
    format!("attachment; filename=\"{download_name}\"")
}

fn expiry(ttl: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_the_documented_shapes_are_accepted() {
        for key in ["uploads/3f2a-11", "evidence/abc", "derived/abc/thumbnail.jpg", "a", "a_b-c.d/e"] {
            assert_eq!(ObjectKey::new(key).unwrap().as_str(), key);
        }
        assert!(ObjectKey::new("x".repeat(MAX_KEY_LENGTH)).is_ok());
    }

    #[test]
    fn keys_that_could_escape_or_confuse_are_refused() {
        for key in [
            "",
            "/uploads/a",
            "uploads/",
            "uploads//a",
            "uploads/../etc/passwd",
            "..",
            "./a",
            "a/./b",
            "Uploads/a",
            "uploads/a b",
            "uploads/a%2f",
            "uploads\\a",
            "uploads/é",
        ] {
            assert!(matches!(ObjectKey::new(key), Err(StoreError::InvalidKey(_))), "{key:?} was accepted");
        }
        assert!(ObjectKey::new("x".repeat(MAX_KEY_LENGTH + 1)).is_err());
    }

    #[test]
    fn only_unavailability_is_retryable() {
        assert!(StoreError::Unavailable("timeout".into()).is_retryable());
        assert!(!StoreError::Rejected("AccessDenied".into()).is_retryable());
        assert!(!StoreError::NotFound.is_retryable());
        assert!(!StoreError::InvalidKey("x").is_retryable());
    }

    #[test]
    fn content_types_and_download_names_are_plain() {
        assert!(check_content_type("image/jpeg").is_ok());
        assert!(check_content_type("video/mp4").is_ok());
        assert!(check_content_type("image/jpeg\r\nx-evil: 1").is_err());
        assert!(check_content_type("jpeg").is_err());
        assert!(check_download_name("tip-photo_1.jpg").is_ok());
        assert!(check_download_name("a\"b.jpg").is_err());
        assert!(check_download_name(".hidden").is_err());
        assert!(check_download_name("").is_err());
    }

    #[test]
    fn link_lifetimes_are_bounded() {
        assert!(check_ttl(Duration::from_secs(1)).is_ok());
        assert!(check_ttl(Duration::from_secs(7 * 24 * 3600)).is_ok());
        assert!(check_ttl(Duration::ZERO).is_err());
        assert!(check_ttl(Duration::from_secs(7 * 24 * 3600 + 1)).is_err());
    }
}
