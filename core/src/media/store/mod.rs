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
mod objects;
mod s3;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::env::{ConfigError, Env};

pub use filesystem::{
    FilesystemStore, FilesystemStoreConfig, FilesystemUploadError, ReceivedObject, ServedObject,
};
pub use objects::{
    CompletedPart, InvalidParts, MAX_KEY_LENGTH, MultipartUploadId, ObjectKey, ObjectReader, PART_NUMBERS,
    PresignedRequest, PutOnce, StoreError, UploadSpec,
};
use objects::{check_content_type, check_download_name};
pub use s3::{S3Store, S3StoreConfig};

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

    /// Like [`MediaStore::put`], with the bytes of the local file at `path`, streamed rather than
    /// loaded whole (a video preview may run to many megabytes).
    pub async fn put_file(
        &self,
        key: &ObjectKey,
        path: &std::path::Path,
        content_type: &str,
    ) -> Result<(), StoreError> {
        check_content_type(content_type)?;
        match self {
            Self::S3(store) => store.put_file(key, path, content_type).await,
            Self::Filesystem(store) => store.put_file(key, path, content_type).await,
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

#[cfg(test)]
mod tests {
    use super::objects::check_ttl;
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
