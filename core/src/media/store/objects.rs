//! What both backends of the media store share: object keys, presigned requests, multipart
//! uploads, errors, and the checks every request gets whichever backend serves it.

use std::collections::BTreeMap;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, ReadBuf};

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
    pub(super) fn new(reader: impl AsyncRead + Send + 'static) -> Self {
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
/// Shortest and longest signed link lifetimes (S3 allows up to 7 days).
const TTL_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(7 * 24 * 3600);

pub(super) fn check_ttl(ttl: Duration) -> Result<(), StoreError> {
    if TTL_RANGE.contains(&ttl) {
        Ok(())
    } else {
        Err(StoreError::InvalidRequest("a link's lifetime must be between 1 second and 7 days".into()))
    }
}

/// A media type such as `image/jpeg`: printable ASCII without spaces, at most 100 characters, so
/// it can travel in a header and a query string unchanged.
pub(super) fn check_content_type(content_type: &str) -> Result<(), StoreError> {
    let valid = (3..=100).contains(&content_type.len())
        && content_type.contains('/')
        && content_type.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if valid {
        Ok(())
    } else {
        Err(StoreError::InvalidRequest("the content type is not a plain media type".into()))
    }
}

pub(super) fn check_download_name(name: &str) -> Result<(), StoreError> {
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

pub(super) fn content_disposition(download_name: &str) -> String {
    format!("attachment; filename=\"{download_name}\"")
}

pub(super) fn expiry(ttl: Duration) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX)
}
