//! The filesystem backend: a directory on the API's host, for `dev` and small installs.
//!
//! The API answers the presigned URLs itself, with the same rules S3 applies:
//!
//! ```text
//! PUT {public_url}/v1/media-store/{key}?expires=..&length=..&type=..&sha256=..&signature=..
//! PUT {public_url}/v1/media-store/{key}?expires=..&length=..&upload=..&part=..&signature=..
//! GET {public_url}/v1/media-store/{key}?expires=..&type=..[&name=..]&signature=..
//! ```
//!
//! `signature` is the unpadded base64url HMAC-SHA256, keyed with `BURGERNET_MEDIA_SIGNING_KEY`,
//! of `METHOD \n key \n` and the other parameters sorted by name and form-encoded. It is
//! compared in constant time before anything else is looked at; then the expiry (unix seconds),
//! the exact `Content-Length`, the `Content-Type` and the SHA-256 of the body (base64url).
//!
//! Layout below the root: `objects/<key>` holds the bytes, `types/<key>` the content type,
//! `multipart/<upload id>/` an upload in progress (its key, its type and `part-<n>` files with
//! their ETags). Bytes are written to a temporary file beside the target, synced and renamed, so
//! a refused or broken upload leaves nothing behind.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::objects::{
    CompletedPart, InvalidParts, MultipartUploadId, ObjectKey, ObjectReader, PART_NUMBERS, PresignedRequest,
    PutOnce, StoreError, UploadSpec, check_content_type, check_ttl, content_disposition, expiry,
};
use crate::env::{ConfigError, Env, parse};
use crate::secret::Secret;

/// The path below the public URL that the API serves the store's URLs on.
pub const ROUTE_PREFIX: &str = "/v1/media-store/";

/// Shortest accepted signing key.
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// The type an object without a recorded type is served as.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

#[derive(Debug, Clone)]
pub struct FilesystemStoreConfig {
    pub root: PathBuf,
    pub signing_key: Secret<Vec<u8>>,
    /// The API's public base URL (no trailing slash); signed URLs point there.
    pub public_url: String,
}

impl FilesystemStoreConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            root: env.required("BURGERNET_MEDIA_DIR", |raw| Ok(PathBuf::from(raw)))?,
            signing_key: env.required("BURGERNET_MEDIA_SIGNING_KEY", |raw| {
                if raw.len() >= MIN_SIGNING_KEY_BYTES {
                    Ok(Secret::new(raw.as_bytes().to_vec()))
                } else {
                    Err(format!("must be at least {MIN_SIGNING_KEY_BYTES} bytes long"))
                }
            })?,
            public_url: env.required("BURGERNET_PUBLIC_URL", parse::http_url)?,
        })
    }
}

/// The store in a directory. Cloning shares the configuration.
#[derive(Clone)]
pub struct FilesystemStore {
    inner: Arc<FilesystemStoreConfig>,
}

impl fmt::Debug for FilesystemStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilesystemStore").field("root", &self.inner.root).finish_non_exhaustive()
    }
}

/// Why the store refused a request to one of its URLs. `code()` is the stable problem code.
#[derive(Debug, thiserror::Error)]
pub enum FilesystemUploadError {
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature is missing or wrong")]
    SignatureInvalid,
    #[error("the body's length is not the signed length")]
    LengthMismatch,
    #[error("the Content-Type is not the signed type")]
    ContentTypeMismatch,
    #[error("the body's SHA-256 is not the signed checksum")]
    ChecksumMismatch,
    #[error("the body could not be read to its end")]
    BodyUnreadable,
    #[error("the multipart upload does not exist (completed or aborted)")]
    UploadNotFound,
    #[error("there is no object at this key")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl FilesystemUploadError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired => "upload_url_expired",
            Self::SignatureInvalid => "upload_signature_invalid",
            Self::LengthMismatch => "upload_length_mismatch",
            Self::ContentTypeMismatch => "upload_content_type_mismatch",
            Self::ChecksumMismatch => "upload_checksum_mismatch",
            Self::BodyUnreadable => "upload_body_unreadable",
            Self::UploadNotFound => "upload_not_found",
            Self::NotFound => "not_found",
            Self::Store(_) => "media_store_unavailable",
        }
    }
}

/// What an accepted PUT stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedObject {
    /// Quoted, as S3 sends it in the `ETag` header; parts are completed with it.
    pub etag: String,
}

/// What a valid GET link serves: the whole object, or one range of its bytes (browsers ask for
/// ranges to play and seek in a video).
#[derive(Debug)]
pub struct ServedObject {
    file: tokio::fs::File,
    pub content_length: u64,
    pub content_type: String,
    pub content_disposition: Option<String>,
}

impl ServedObject {
    pub fn into_reader(self) -> ObjectReader {
        ObjectReader::new(self.file)
    }

    /// The bytes from `first` to `last`, both included; `first <= last < content_length`.
    pub async fn into_range_reader(mut self, first: u64, last: u64) -> Result<ObjectReader, StoreError> {
        use tokio::io::AsyncSeekExt;
        debug_assert!(first <= last && last < self.content_length);
        self.file.seek(std::io::SeekFrom::Start(first)).await.map_err(io_error)?;
        Ok(ObjectReader::new(self.file.take(last - first + 1)))
    }
}

impl FilesystemStore {
    pub fn new(config: FilesystemStoreConfig) -> Self {
        Self { inner: Arc::new(config) }
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    fn object_path(&self, key: &ObjectKey) -> PathBuf {
        self.inner.root.join("objects").join(key.as_str())
    }

    fn type_path(&self, key: &ObjectKey) -> PathBuf {
        self.inner.root.join("types").join(key.as_str())
    }

    fn upload_dir(&self, upload: &str) -> Result<PathBuf, StoreError> {
        let valid = (1..=64).contains(&upload.len()) && upload.bytes().all(|b| b.is_ascii_hexdigit());
        if valid { Ok(self.inner.root.join("multipart").join(upload)) } else { Err(StoreError::NotFound) }
    }

    fn signature(&self, method: &str, key: &str, canonical_query: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.inner.signing_key.expose()).expect("HMAC takes any key");
        mac.update(method.as_bytes());
        mac.update(b"\n");
        mac.update(key.as_bytes());
        mac.update(b"\n");
        mac.update(canonical_query.as_bytes());
        mac
    }

    fn sign(
        &self,
        method: &str,
        key: &ObjectKey,
        mut params: BTreeMap<&'static str, String>,
        headers: BTreeMap<String, String>,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        check_ttl(ttl)?;
        let expires_at = expiry(ttl);
        params.insert("expires", expires_at.timestamp().to_string());
        let query = canonical_query(params.iter().map(|(name, value)| (*name, value.as_str())));
        let signature =
            URL_SAFE_NO_PAD.encode(self.signature(method, key.as_str(), &query).finalize().into_bytes());
        Ok(PresignedRequest {
            method: method.to_string(),
            url: format!("{}{ROUTE_PREFIX}{key}?{query}&signature={signature}", self.inner.public_url),
            headers,
            expires_at,
        })
    }

    /// Checks a URL's signature (first, in constant time) and expiry; returns its parameters.
    fn verify(
        &self,
        method: &str,
        key: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<BTreeMap<String, String>, FilesystemUploadError> {
        let mut params = BTreeMap::new();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            if params.insert(name.into_owned(), value.into_owned()).is_some() {
                return Err(FilesystemUploadError::SignatureInvalid);
            }
        }
        let signature = params
            .remove("signature")
            .and_then(|signature| URL_SAFE_NO_PAD.decode(signature).ok())
            .ok_or(FilesystemUploadError::SignatureInvalid)?;
        let canonical = canonical_query(params.iter().map(|(name, value)| (name.as_str(), value.as_str())));
        self.signature(method, key, &canonical)
            .verify_slice(&signature)
            .map_err(|_| FilesystemUploadError::SignatureInvalid)?;
        let expires = params
            .get("expires")
            .and_then(|raw| raw.parse::<i64>().ok())
            .ok_or(FilesystemUploadError::SignatureInvalid)?;
        if now.timestamp() >= expires {
            return Err(FilesystemUploadError::Expired);
        }
        Ok(params)
    }

    pub(super) fn presign_upload(
        &self,
        key: &ObjectKey,
        spec: &UploadSpec,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        check_content_type(&spec.content_type)?;
        let params = BTreeMap::from([
            ("length", spec.content_length.to_string()),
            ("type", spec.content_type.clone()),
            ("sha256", URL_SAFE_NO_PAD.encode(spec.sha256)),
        ]);
        let headers = BTreeMap::from([
            ("content-length".to_string(), spec.content_length.to_string()),
            ("content-type".to_string(), spec.content_type.clone()),
        ]);
        self.sign("PUT", key, params, headers, ttl)
    }

    pub(super) async fn start_multipart(
        &self,
        key: &ObjectKey,
        content_type: &str,
    ) -> Result<MultipartUploadId, StoreError> {
        check_content_type(content_type)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = self.upload_dir(&id)?;
        tokio::fs::create_dir_all(&dir).await.map_err(io_error)?;
        tokio::fs::write(dir.join("key"), key.as_str()).await.map_err(io_error)?;
        tokio::fs::write(dir.join("content-type"), content_type).await.map_err(io_error)?;
        Ok(MultipartUploadId(id))
    }

    pub(super) fn presign_part(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        number: u16,
        content_length: u64,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        let params = BTreeMap::from([
            ("length", content_length.to_string()),
            ("upload", upload.0.clone()),
            ("part", number.to_string()),
        ]);
        let headers = BTreeMap::from([("content-length".to_string(), content_length.to_string())]);
        self.sign("PUT", key, params, headers, ttl)
    }

    /// The upload's directory, when it exists and belongs to `key`.
    async fn upload_for(&self, key: &ObjectKey, upload: &str) -> Result<PathBuf, StoreError> {
        let dir = self.upload_dir(upload)?;
        match tokio::fs::read_to_string(dir.join("key")).await {
            Ok(owner) if owner == key.as_str() => Ok(dir),
            Ok(_) => Err(StoreError::NotFound),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NotFound),
            Err(error) => Err(io_error(error)),
        }
    }

    /// As S3 completes an upload: the list must name each part once, in ascending order
    /// (`InvalidPartOrder`), every part uploaded with the ETag given (`InvalidPart`), and the parts
    /// must add up to `total_bytes`; all checked before a byte is written.
    pub(super) async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        parts: &[CompletedPart],
        total_bytes: u64,
    ) -> Result<(), StoreError> {
        let dir = self.upload_for(key, &upload.0).await?;
        if parts.windows(2).any(|pair| pair[0].number >= pair[1].number) {
            return Err(InvalidParts::Order.into());
        }
        let not_uploaded = |error: std::io::Error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                InvalidParts::Part.into()
            } else {
                io_error(error)
            }
        };
        let mut sources = Vec::with_capacity(parts.len());
        let mut sum: u64 = 0;
        for part in parts {
            let path = dir.join(format!("part-{}", part.number));
            let etag = tokio::fs::read_to_string(path.with_extension("etag")).await.map_err(not_uploaded)?;
            if etag != part.etag {
                return Err(InvalidParts::Part.into());
            }
            let size = tokio::fs::metadata(&path).await.map_err(not_uploaded)?.len();
            sum = sum.saturating_add(size);
            sources.push((path, size));
        }
        if sum != total_bytes {
            return Err(InvalidParts::Size.into());
        }
        let content_type = tokio::fs::read_to_string(dir.join("content-type")).await.map_err(io_error)?;
        let target = self.object_path(key);
        let mut temp = TempFile::beside(&target).await?;
        for (path, size) in &sources {
            // No more than was counted, should a part be uploaded again meanwhile.
            let part = tokio::fs::File::open(path).await.map_err(not_uploaded)?;
            let copied = tokio::io::copy(&mut part.take(*size), &mut temp.file).await.map_err(io_error)?;
            if copied != *size {
                return Err(InvalidParts::Part.into());
            }
        }
        temp.persist(&target).await?;
        self.record_type(key, &content_type).await?;
        remove_dir_if_present(&dir).await
    }

    pub(super) async fn abort_multipart(&self, upload: &MultipartUploadId) -> Result<(), StoreError> {
        match self.upload_dir(&upload.0) {
            Ok(dir) => remove_dir_if_present(&dir).await,
            Err(_) => Ok(()),
        }
    }

    pub(super) async fn abort_multipart_uploads_of(&self, key: &ObjectKey) -> Result<(), StoreError> {
        let mut uploads = match tokio::fs::read_dir(self.inner.root.join("multipart")).await {
            Ok(uploads) => uploads,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(io_error(error)),
        };
        while let Some(upload) = uploads.next_entry().await.map_err(io_error)? {
            let Some(id) = upload.file_name().to_str().map(str::to_string) else { continue };
            match self.upload_for(key, &id).await {
                Ok(dir) => remove_dir_if_present(&dir).await?,
                Err(StoreError::NotFound) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    pub(super) async fn size(&self, key: &ObjectKey) -> Result<Option<u64>, StoreError> {
        match tokio::fs::metadata(self.object_path(key)).await {
            Ok(metadata) if metadata.is_file() => Ok(Some(metadata.len())),
            Ok(_) => Ok(None),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(io_error(error)),
        }
    }

    pub(super) async fn open(&self, key: &ObjectKey) -> Result<ObjectReader, StoreError> {
        Ok(ObjectReader::new(self.open_file(key).await?.0))
    }

    async fn open_file(&self, key: &ObjectKey) -> Result<(tokio::fs::File, u64), StoreError> {
        let file = tokio::fs::File::open(self.object_path(key)).await.map_err(not_found_or_io)?;
        let metadata = file.metadata().await.map_err(io_error)?;
        if !metadata.is_file() {
            return Err(StoreError::NotFound);
        }
        Ok((file, metadata.len()))
    }

    pub(super) async fn put(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let target = self.object_path(key);
        let mut temp = TempFile::beside(&target).await?;
        temp.file.write_all(&bytes).await.map_err(io_error)?;
        temp.persist(&target).await?;
        self.record_type(key, content_type).await
    }

    pub(super) async fn put_file(
        &self,
        key: &ObjectKey,
        path: &Path,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let target = self.object_path(key);
        let mut source = tokio::fs::File::open(path).await.map_err(io_error)?;
        let mut temp = TempFile::beside(&target).await?;
        tokio::io::copy(&mut source, &mut temp.file).await.map_err(io_error)?;
        temp.persist(&target).await?;
        self.record_type(key, content_type).await
    }

    pub(super) async fn put_once(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<PutOnce, StoreError> {
        let target = self.object_path(key);
        let mut temp = TempFile::beside(&target).await?;
        temp.file.write_all(&bytes).await.map_err(io_error)?;
        if !temp.persist_new(&target).await? {
            return Ok(PutOnce::Exists);
        }
        self.record_type(key, content_type).await?;
        Ok(PutOnce::Written)
    }

    pub(super) async fn list(&self, prefix: &ObjectKey) -> Result<Vec<ObjectKey>, StoreError> {
        let dir = self.inner.root.join("objects").join(prefix.as_str());
        let mut entries = match tokio::fs::read_dir(&dir).await {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(io_error(error)),
        };
        let mut keys = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(io_error)? {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            // Files being written start with a dot and are no objects yet.
            if name.starts_with('.') || !entry.file_type().await.map_err(io_error)?.is_file() {
                continue;
            }
            if let Ok(key) = ObjectKey::new(format!("{prefix}/{name}")) {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    pub(super) async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StoreError> {
        let (mut source, _) = self.open_file(from).await?;
        let content_type = self.recorded_type(from).await?;
        let target = self.object_path(to);
        let mut temp = TempFile::beside(&target).await?;
        tokio::io::copy(&mut source, &mut temp.file).await.map_err(io_error)?;
        temp.persist(&target).await?;
        self.record_type(to, &content_type).await
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        for path in [self.object_path(key), self.type_path(key)] {
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(io_error(error)),
            }
        }
        Ok(())
    }

    pub(super) async fn presign_download(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<PresignedRequest, StoreError> {
        let mut params = BTreeMap::from([("type", self.recorded_type(key).await?)]);
        if let Some(name) = download_name {
            params.insert("name", name.to_string());
        }
        self.sign("GET", key, params, BTreeMap::new(), ttl)
    }

    async fn record_type(&self, key: &ObjectKey, content_type: &str) -> Result<(), StoreError> {
        let target = self.type_path(key);
        let mut temp = TempFile::beside(&target).await?;
        temp.file.write_all(content_type.as_bytes()).await.map_err(io_error)?;
        temp.persist(&target).await
    }

    async fn recorded_type(&self, key: &ObjectKey) -> Result<String, StoreError> {
        match tokio::fs::read_to_string(self.type_path(key)).await {
            Ok(content_type) => Ok(content_type),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(DEFAULT_CONTENT_TYPE.into()),
            Err(error) => Err(io_error(error)),
        }
    }

    /// Answers a PUT to one of the store's URLs (`key` and `query` as in the request line,
    /// the request's `Content-Length` and `Content-Type`, its body). Keeps the body only when
    /// everything signed matches; otherwise nothing is stored.
    pub async fn receive<S, B, E>(
        &self,
        key: &str,
        query: &str,
        content_length: Option<u64>,
        content_type: Option<&str>,
        body: S,
    ) -> Result<ReceivedObject, FilesystemUploadError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
    {
        self.receive_at(key, query, content_length, content_type, body, Utc::now()).await
    }

    async fn receive_at<S, B, E>(
        &self,
        key: &str,
        query: &str,
        content_length: Option<u64>,
        content_type: Option<&str>,
        body: S,
        now: DateTime<Utc>,
    ) -> Result<ReceivedObject, FilesystemUploadError>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
    {
        let params = self.verify("PUT", key, query, now)?;
        let key = ObjectKey::new(key).map_err(|_| FilesystemUploadError::SignatureInvalid)?;
        let signed_length = params
            .get("length")
            .and_then(|raw| raw.parse::<u64>().ok())
            .ok_or(FilesystemUploadError::SignatureInvalid)?;
        if content_length != Some(signed_length) {
            return Err(FilesystemUploadError::LengthMismatch);
        }
        if let Some(upload) = params.get("upload") {
            let number = params
                .get("part")
                .and_then(|raw| raw.parse::<u16>().ok())
                .filter(|number| PART_NUMBERS.contains(number))
                .ok_or(FilesystemUploadError::SignatureInvalid)?;
            let dir = self.upload_for(&key, upload).await.map_err(|error| match error {
                StoreError::NotFound => FilesystemUploadError::UploadNotFound,
                other => other.into(),
            })?;
            let target = dir.join(format!("part-{number}"));
            let etag = write_checked(&target, body, signed_length, None).await?;
            tokio::fs::write(target.with_extension("etag"), &etag).await.map_err(io_error)?;
            return Ok(ReceivedObject { etag });
        }
        let signed_type = params.get("type").ok_or(FilesystemUploadError::SignatureInvalid)?;
        if content_type != Some(signed_type.as_str()) {
            return Err(FilesystemUploadError::ContentTypeMismatch);
        }
        let sha256 = match params.get("sha256") {
            Some(encoded) => Some(
                URL_SAFE_NO_PAD
                    .decode(encoded)
                    .ok()
                    .and_then(|digest| <[u8; 32]>::try_from(digest).ok())
                    .ok_or(FilesystemUploadError::SignatureInvalid)?,
            ),
            None => None,
        };
        let etag = write_checked(&self.object_path(&key), body, signed_length, sha256).await?;
        self.record_type(&key, signed_type).await?;
        Ok(ReceivedObject { etag })
    }

    /// Answers a GET of one of the store's URLs.
    pub async fn serve(&self, key: &str, query: &str) -> Result<ServedObject, FilesystemUploadError> {
        self.serve_at(key, query, Utc::now()).await
    }

    async fn serve_at(
        &self,
        key: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<ServedObject, FilesystemUploadError> {
        let params = self.verify("GET", key, query, now)?;
        let key = ObjectKey::new(key).map_err(|_| FilesystemUploadError::SignatureInvalid)?;
        let content_type = params.get("type").ok_or(FilesystemUploadError::SignatureInvalid)?.clone();
        let (file, content_length) = self.open_file(&key).await.map_err(|error| match error {
            StoreError::NotFound => FilesystemUploadError::NotFound,
            other => other.into(),
        })?;
        Ok(ServedObject {
            file,
            content_length,
            content_type,
            content_disposition: params.get("name").map(|name| content_disposition(name)),
        })
    }
}

fn canonical_query<'a>(params: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish()
}

/// Streams `body` into `target` when it is exactly `length` bytes (and, when given, has the
/// SHA-256 `sha256`); returns the quoted ETag (the base64url SHA-256).
async fn write_checked<S, B, E>(
    target: &Path,
    mut body: S,
    length: u64,
    sha256: Option<[u8; 32]>,
) -> Result<String, FilesystemUploadError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut temp = TempFile::beside(target).await?;
    let mut hasher = Sha256::new();
    let mut received: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| FilesystemUploadError::BodyUnreadable)?;
        let chunk = chunk.as_ref();
        received = received.saturating_add(chunk.len() as u64);
        if received > length {
            return Err(FilesystemUploadError::LengthMismatch);
        }
        hasher.update(chunk);
        temp.file.write_all(chunk).await.map_err(io_error)?;
    }
    if received != length {
        return Err(FilesystemUploadError::LengthMismatch);
    }
    let digest: [u8; 32] = hasher.finalize().into();
    if sha256.is_some_and(|expected| expected != digest) {
        return Err(FilesystemUploadError::ChecksumMismatch);
    }
    temp.persist(target).await?;
    Ok(format!("\"{}\"", URL_SAFE_NO_PAD.encode(digest)))
}

/// A file being written beside its target; removed unless persisted.
struct TempFile {
    path: Option<PathBuf>,
    file: tokio::fs::File,
}

impl TempFile {
    async fn beside(target: &Path) -> Result<Self, StoreError> {
        let dir = target.parent().ok_or_else(|| StoreError::InvalidRequest("no parent directory".into()))?;
        tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
        let name = target.file_name().and_then(|name| name.to_str()).unwrap_or("object");
        let path = dir.join(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
        let file =
            tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await.map_err(io_error)?;
        Ok(Self { path: Some(path), file })
    }

    /// Syncs the bytes and renames the file to `target`, replacing what was there.
    async fn persist(mut self, target: &Path) -> Result<(), StoreError> {
        self.file.flush().await.map_err(io_error)?;
        self.file.sync_all().await.map_err(io_error)?;
        let path = self.path.take().expect("persisted once");
        if let Err(error) = tokio::fs::rename(&path, target).await {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(io_error(error));
        }
        if let Some(dir) = target.parent() {
            // Make the rename itself durable.
            sync_dir(dir).await.map_err(io_error)?;
        }
        Ok(())
    }
}

impl TempFile {
    /// Like [`TempFile::persist`], but only when nothing is at `target` yet (a hard link fails
    /// when the name is taken, where a rename would replace). Returns whether it was.
    async fn persist_new(mut self, target: &Path) -> Result<bool, StoreError> {
        self.file.flush().await.map_err(io_error)?;
        self.file.sync_all().await.map_err(io_error)?;
        let path = self.path.take().expect("persisted once");
        let linked = tokio::fs::hard_link(&path, target).await;
        let _ = tokio::fs::remove_file(&path).await;
        match linked {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
            Err(error) => return Err(io_error(error)),
        }
        if let Some(dir) = target.parent() {
            sync_dir(dir).await.map_err(io_error)?;
        }
        Ok(true)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    tokio::fs::File::open(dir).await?.sync_all().await
}

async fn remove_dir_if_present(dir: &Path) -> Result<(), StoreError> {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(error)),
    }
}

fn not_found_or_io(error: std::io::Error) -> StoreError {
    if error.kind() == std::io::ErrorKind::NotFound { StoreError::NotFound } else { io_error(error) }
}

/// Local disk trouble (full, permissions): as unavailable as a remote store that fails.
fn io_error(error: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("media directory: {}", error.kind()))
}

impl From<std::io::Error> for FilesystemUploadError {
    fn from(error: std::io::Error) -> Self {
        Self::Store(io_error(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (FilesystemStore, PathBuf) {
        let root =
            std::env::temp_dir().join(format!("burgernet-media-test-{}", uuid::Uuid::new_v4().simple()));
        let store = FilesystemStore::new(FilesystemStoreConfig {
            root: root.clone(),
            signing_key: Secret::new(b"0123456789abcdef0123456789abcdef".to_vec()),
            public_url: "https://api.burgernet.test".into(),
        });
        (store, root)
    }

    fn spec(body: &[u8]) -> UploadSpec {
        UploadSpec {
            content_length: body.len() as u64,
            content_type: "image/jpeg".into(),
            sha256: Sha256::digest(body).into(),
        }
    }

    /// The key and query of a signed URL, as the API's route sees them.
    fn key_and_query(url: &str) -> (String, String) {
        let rest = url.strip_prefix("https://api.burgernet.test/v1/media-store/").unwrap();
        let (key, query) = rest.split_once('?').unwrap();
        (key.to_string(), query.to_string())
    }

    fn body(bytes: &[u8]) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Unpin {
        futures_util::stream::iter(bytes.chunks(3).map(|chunk| Ok(chunk.to_vec())).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn a_local_file_is_stored_and_its_link_serves_it_whole_or_a_range_of_it() {
        let (store, root) = store();
        let local = root.with_extension("local");
        std::fs::write(&local, b"0123456789").unwrap();
        let key = ObjectKey::new("derived/a/preview.mp4").unwrap();
        store.put_file(&key, &local, "video/mp4").await.unwrap();
        std::fs::remove_file(&local).unwrap();

        let link = store.presign_download(&key, Duration::from_secs(60), None).await.unwrap();
        let (k, q) = key_and_query(&link.url);
        let read = async |reader: ObjectReader| {
            let mut text = String::new();
            tokio::io::AsyncReadExt::read_to_string(&mut { reader }, &mut text).await.unwrap();
            text
        };
        let served = store.serve(&k, &q).await.unwrap();
        assert_eq!((served.content_length, served.content_type.as_str()), (10, "video/mp4"));
        assert_eq!(read(served.into_reader()).await, "0123456789");
        let served = store.serve(&k, &q).await.unwrap();
        assert_eq!(read(served.into_range_reader(2, 5).await.unwrap()).await, "2345");
        let served = store.serve(&k, &q).await.unwrap();
        assert_eq!(read(served.into_range_reader(9, 9).await.unwrap()).await, "9");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_signed_upload_is_kept_and_its_link_serves_it() {
        let (store, root) = store();
        let key = ObjectKey::new("uploads/a").unwrap();
        let bytes = b"photo bytes";
        let request = store.presign_upload(&key, &spec(bytes), Duration::from_secs(60)).unwrap();
        assert_eq!(request.method, "PUT");
        assert_eq!(request.headers["content-length"], "11");
        let (k, q) = key_and_query(&request.url);
        let received = store.receive(&k, &q, Some(11), Some("image/jpeg"), body(bytes)).await.unwrap();
        assert!(received.etag.starts_with('"'));
        assert_eq!(std::fs::read(root.join("objects/uploads/a")).unwrap(), bytes);

        let link = store.presign_download(&key, Duration::from_secs(60), Some("tip.jpg")).await.unwrap();
        let (k, q) = key_and_query(&link.url);
        let served = store.serve(&k, &q).await.unwrap();
        assert_eq!(served.content_length, 11);
        assert_eq!(served.content_type, "image/jpeg");
        assert_eq!(served.content_disposition.as_deref(), Some("attachment; filename=\"tip.jpg\""));
        // A download link is not an upload link, nor the other way round.
        assert!(matches!(
            store.receive(&k, &q, Some(11), Some("image/jpeg"), body(bytes)).await,
            Err(FilesystemUploadError::SignatureInvalid)
        ));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn any_change_to_a_signed_url_breaks_its_signature() {
        let (store, root) = store();
        let key = ObjectKey::new("uploads/a").unwrap();
        let request = store.presign_upload(&key, &spec(b"abc"), Duration::from_secs(60)).unwrap();
        let (k, q) = key_and_query(&request.url);
        let tampered = [
            ("uploads/b".to_string(), q.clone()),
            (k.clone(), q.replace("length=3", "length=4")),
            (k.clone(), q.replace("type=image%2Fjpeg", "type=text%2Fhtml")),
            (k.clone(), format!("{q}&extra=1")),
            (k.clone(), q.split("&signature=").next().unwrap().to_string()),
            (k.clone(), format!("{q}&signature=AAAA")),
        ];
        for (key, query) in tampered {
            let result = store.receive(&key, &query, Some(3), Some("image/jpeg"), body(b"abc")).await;
            assert!(
                matches!(result, Err(FilesystemUploadError::SignatureInvalid)),
                "{key}?{query}: {result:?}"
            );
        }
        assert!(!root.join("objects").exists(), "nothing was stored");
    }

    #[tokio::test]
    async fn an_expired_link_is_refused_after_its_last_second() {
        let (store, _root) = store();
        let key = ObjectKey::new("uploads/a").unwrap();
        let request = store.presign_upload(&key, &spec(b"abc"), Duration::from_secs(60)).unwrap();
        let (k, q) = key_and_query(&request.url);
        let later = request.expires_at + chrono::Duration::seconds(1);
        let result = store.receive_at(&k, &q, Some(3), Some("image/jpeg"), body(b"abc"), later).await;
        assert!(matches!(result, Err(FilesystemUploadError::Expired)), "{result:?}");
        let link = store.presign_download(&key, Duration::from_secs(5), None).await.unwrap();
        let (k, q) = key_and_query(&link.url);
        let result = store.serve_at(&k, &q, link.expires_at + chrono::Duration::seconds(1)).await;
        assert!(matches!(result, Err(FilesystemUploadError::Expired)), "{result:?}");
    }

    #[tokio::test]
    async fn length_type_and_checksum_must_be_the_signed_ones() {
        let (store, root) = store();
        let key = ObjectKey::new("uploads/a").unwrap();
        let request = store.presign_upload(&key, &spec(b"abcdef"), Duration::from_secs(60)).unwrap();
        let (k, q) = key_and_query(&request.url);
        let cases = [
            (Some(6), Some("image/jpeg"), &b"abcdefg"[..], "upload_length_mismatch"),
            (Some(6), Some("image/jpeg"), b"abcde", "upload_length_mismatch"),
            (Some(7), Some("image/jpeg"), b"abcdefg", "upload_length_mismatch"),
            (Some(6), Some("image/png"), b"abcdef", "upload_content_type_mismatch"),
            (Some(6), Some("image/jpeg"), b"abcxyz", "upload_checksum_mismatch"),
        ];
        for (length, content_type, bytes, code) in cases {
            let error = store.receive(&k, &q, length, content_type, body(bytes)).await.unwrap_err();
            assert_eq!(error.code(), code);
        }
        let leftovers: Vec<_> = std::fs::read_dir(root.join("objects/uploads")).unwrap().collect();
        assert!(leftovers.is_empty(), "refused bodies leave no files: {leftovers:?}");
        std::fs::remove_dir_all(root).unwrap();
    }

    /// An upload in parts of `parts`, each uploaded through its signed URL; returns the upload and
    /// each part as completion names it.
    async fn uploaded_in_parts(
        store: &FilesystemStore,
        key: &ObjectKey,
        parts: &[&[u8]],
    ) -> (MultipartUploadId, Vec<CompletedPart>) {
        let upload = store.start_multipart(key, "video/mp4").await.unwrap();
        let mut completed = Vec::new();
        for (index, bytes) in parts.iter().enumerate() {
            let number = u16::try_from(index + 1).unwrap();
            let length = bytes.len() as u64;
            let request = store.presign_part(key, &upload, number, length, Duration::from_secs(60)).unwrap();
            let (k, q) = key_and_query(&request.url);
            let received = store.receive(&k, &q, Some(length), None, body(bytes)).await.unwrap();
            completed.push(CompletedPart { number, etag: received.etag });
        }
        (upload, completed)
    }

    /// Completing with `list` is refused as `expected`, and nothing is written.
    async fn assert_refused(
        store: &FilesystemStore,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        list: &[CompletedPart],
        total_bytes: u64,
        expected: InvalidParts,
    ) {
        let numbers: Vec<u16> = list.iter().map(|part| part.number).collect();
        let refused = store.complete_multipart(key, upload, list, total_bytes).await;
        assert!(
            matches!(refused, Err(StoreError::InvalidParts(invalid)) if invalid == expected),
            "{numbers:?} of {total_bytes} bytes: {refused:?}"
        );
        assert_eq!(store.size(key).await.unwrap(), None, "{numbers:?}: something was written");
        let leftovers: Vec<_> = std::fs::read_dir(store.root().join("objects/uploads"))
            .map(|entries| entries.collect())
            .unwrap_or_default();
        assert!(leftovers.is_empty(), "{numbers:?}: {leftovers:?}");
    }

    #[tokio::test]
    async fn a_part_list_that_repeats_or_reorders_parts_is_refused_before_anything_is_written() {
        let (store, root) = store();
        let key = ObjectKey::new("uploads/a").unwrap();
        let (upload, parts) = uploaded_in_parts(&store, &key, &[b"first ", b"second ", b"last"]).await;
        let [first, second, last] = [parts[0].clone(), parts[1].clone(), parts[2].clone()];
        for list in [
            // Within the declared size, and (for a body of 64 KiB) many times over it.
            vec![first.clone(), first.clone()],
            vec![first.clone(); 1000],
            vec![first.clone(), second.clone(), second.clone(), last.clone()],
            vec![second.clone(), first.clone(), last.clone()],
            vec![first.clone(), last.clone(), second.clone()],
        ] {
            assert_refused(&store, &key, &upload, &list, 17, InvalidParts::Order).await;
        }
        // The upload is still open: the right list completes it.
        store.complete_multipart(&key, &upload, &parts, 17).await.unwrap();
        assert_eq!(std::fs::read(root.join("objects/uploads/a")).unwrap(), b"first second last");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn a_part_that_was_not_uploaded_or_has_another_etag_is_refused() {
        let (store, root) = store();
        let key = ObjectKey::new("uploads/a").unwrap();
        let (upload, parts) = uploaded_in_parts(&store, &key, &[b"first ", b"last"]).await;
        let unknown = CompletedPart { number: 3, etag: parts[1].etag.clone() };
        let other_etag = CompletedPart { number: 2, etag: parts[0].etag.clone() };
        for list in [vec![parts[0].clone(), parts[1].clone(), unknown], vec![parts[0].clone(), other_etag]] {
            assert_refused(&store, &key, &upload, &list, 10, InvalidParts::Part).await;
        }
        store.complete_multipart(&key, &upload, &parts, 10).await.unwrap();
        assert_eq!(store.size(&key).await.unwrap(), Some(10));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn parts_that_do_not_add_up_to_the_declared_size_are_refused() {
        let (store, root) = store();
        let key = ObjectKey::new("uploads/a").unwrap();
        let (upload, parts) = uploaded_in_parts(&store, &key, &[b"first ", b"second ", b"last"]).await;
        // A part left out, an empty list, and all parts of an upload declared otherwise.
        assert_refused(&store, &key, &upload, &[parts[0].clone(), parts[2].clone()], 17, InvalidParts::Size)
            .await;
        assert_refused(&store, &key, &upload, &[], 17, InvalidParts::Size).await;
        assert_refused(&store, &key, &upload, &parts, 16, InvalidParts::Size).await;
        assert_refused(&store, &key, &upload, &parts, 18, InvalidParts::Size).await;
        store.complete_multipart(&key, &upload, &parts, 17).await.unwrap();
        assert_eq!(store.size(&key).await.unwrap(), Some(17));
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn configuration_requires_a_long_signing_key_and_hides_it() {
        let env = Env::from_pairs([
            ("BURGERNET_MEDIA_DIR", "/var/lib/burgernet/media"),
            ("BURGERNET_MEDIA_SIGNING_KEY", "short"),
            ("BURGERNET_PUBLIC_URL", "https://api.burgernet.nl"),
        ]);
        let error = FilesystemStoreConfig::from_env(&env).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_MEDIA_SIGNING_KEY");
        assert!(!error.to_string().contains("short"));
        let env = Env::from_pairs([
            ("BURGERNET_MEDIA_DIR", "/var/lib/burgernet/media"),
            ("BURGERNET_MEDIA_SIGNING_KEY", "a-signing-key-of-at-least-32-bytes!"),
            ("BURGERNET_PUBLIC_URL", "https://api.burgernet.nl/"),
        ]);
        let config = FilesystemStoreConfig::from_env(&env).unwrap();
        assert_eq!(config.public_url, "https://api.burgernet.nl");
        assert!(!format!("{config:?}").contains("at-least-32"));
    }
}
