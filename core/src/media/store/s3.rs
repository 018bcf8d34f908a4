//! The S3 backend: any S3-compatible store (AWS, MinIO, Ceph, Garage, ...), over the SDK's hyper
//! client on rustls with the ring provider handed explicitly.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart as S3CompletedPart, ObjectLockMode};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::objects::{
    CompletedPart, InvalidParts, MultipartUploadId, ObjectKey, ObjectReader, PresignedRequest, PutOnce,
    StoreError, UploadSpec, check_content_type, check_ttl, content_disposition, expiry,
};
use crate::env::{ConfigError, Env, parse};
use crate::secret::Secret;

/// Where the bucket is and how to sign in.
#[derive(Debug, Clone)]
pub struct S3StoreConfig {
    /// `http(s)://host[:port]` of a non-AWS store; None: AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: Secret<String>,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`; most self-hosted
    /// stores need it.
    pub force_path_style: bool,
    /// The longest one call may take, retries included.
    pub timeout: Duration,
}

impl S3StoreConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let endpoint = env.optional("BURGERNET_S3_ENDPOINT", parse::http_url)?;
        Ok(Self {
            force_path_style: env.or(
                "BURGERNET_S3_FORCE_PATH_STYLE",
                endpoint.is_some(),
                |raw| match raw {
                    "true" => Ok(true),
                    "false" => Ok(false),
                    other => Err(format!("expected true or false, got {other:?}")),
                },
            )?,
            endpoint,
            region: env.or("BURGERNET_S3_REGION", "eu-west-1".to_string(), |raw| {
                if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    Ok(raw.to_string())
                } else {
                    Err(format!("expected a region such as eu-west-1, got {raw:?}"))
                }
            })?,
            bucket: env.required("BURGERNET_S3_BUCKET", |raw| {
                let valid = (3..=63).contains(&raw.len())
                    && raw
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
                if valid { Ok(raw.to_string()) } else { Err(format!("{raw:?} is not a valid bucket name")) }
            })?,
            access_key_id: env.required("BURGERNET_S3_ACCESS_KEY_ID", parse::text)?,
            secret_access_key: env
                .required("BURGERNET_S3_SECRET_ACCESS_KEY", |raw| Ok(Secret::new(raw.into())))?,
            timeout: env.or("BURGERNET_S3_TIMEOUT", Duration::from_secs(30), parse::duration)?,
        })
    }
}

/// A client for one bucket. Cloning shares the connection pool.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: Arc<str>,
    timeout: Duration,
}

/// The longest a server-side copy may take.
const COPY_TIMEOUT: Duration = Duration::from_secs(5 * 60);

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store").field("bucket", &self.bucket).finish_non_exhaustive()
    }
}

impl S3Store {
    pub fn new(config: S3StoreConfig) -> Self {
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let credentials = Credentials::new(
            config.access_key_id,
            config.secret_access_key.expose().clone(),
            None,
            None,
            "burgernet-environment",
        );
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5).min(config.timeout))
            .operation_attempt_timeout(config.timeout)
            .operation_timeout(config.timeout)
            .build();
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region))
            .credentials_provider(credentials)
            .http_client(http_client)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .force_path_style(config.force_path_style)
            // Non-AWS stores often reject or mangle the SDK's default CRC checksums (aws-chunked
            // trailers); send and check checksums only where S3 requires them.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket.into(),
            timeout: config.timeout,
        }
    }

    pub(super) async fn presign_upload(
        &self,
        key: &ObjectKey,
        spec: &UploadSpec,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        check_content_type(&spec.content_type)?;
        let sha256 = base64::engine::general_purpose::STANDARD.encode(spec.sha256);
        let presigned = self
            .client
            .put_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .content_length(signed_length(spec.content_length)?)
            .content_type(&spec.content_type)
            .checksum_sha256(sha256)
            .presigned(presigning(ttl)?)
            .await
            .map_err(map_error)?;
        Ok(into_presigned_request(presigned, ttl))
    }

    pub(super) async fn start_multipart(
        &self,
        key: &ObjectKey,
        content_type: &str,
    ) -> Result<MultipartUploadId, StoreError> {
        check_content_type(content_type)?;
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .send()
            .await
            .map_err(map_error)?;
        created
            .upload_id
            .map(MultipartUploadId)
            .ok_or_else(|| StoreError::Unavailable("the store answered without an upload id".into()))
    }

    pub(super) async fn presign_part(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        number: u16,
        content_length: u64,
        ttl: Duration,
    ) -> Result<PresignedRequest, StoreError> {
        let presigned = self
            .client
            .upload_part()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .upload_id(&upload.0)
            .part_number(i32::from(number))
            .content_length(signed_length(content_length)?)
            .presigned(presigning(ttl)?)
            .await
            .map_err(map_error)?;
        Ok(into_presigned_request(presigned, ttl))
    }

    /// S3 itself checks the list and, with `x-amz-mp-object-size`, the total.
    pub(super) async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        parts: &[CompletedPart],
        total_bytes: u64,
    ) -> Result<(), StoreError> {
        let total_bytes = i64::try_from(total_bytes)
            .map_err(|_| StoreError::InvalidRequest("the declared size is too large".into()))?;
        let parts = parts
            .iter()
            .map(|part| {
                S3CompletedPart::builder().part_number(i32::from(part.number)).e_tag(&part.etag).build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .upload_id(&upload.0)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .mpu_object_size(total_bytes)
            .send()
            .await
            .map_err(|error| {
                let invalid = match error.as_service_error().and_then(ProvideErrorMetadata::code) {
                    Some("InvalidPartOrder") => Some(InvalidParts::Order),
                    Some("InvalidPart") => Some(InvalidParts::Part),
                    // What S3 answers when the parts do not add up to x-amz-mp-object-size.
                    Some("InvalidRequest") => Some(InvalidParts::Size),
                    _ => None,
                };
                invalid.map_or_else(|| map_error(error), StoreError::from)
            })?;
        Ok(())
    }

    pub(super) async fn abort_multipart(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .abort_multipart_upload()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .upload_id(&upload.0)
            .send()
            .await
            .map_err(map_error);
        match result {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Lists the uploads in progress under the key (S3 lists by prefix; only the exact key counts)
    /// and aborts each.
    pub(super) async fn abort_multipart_uploads_of(&self, key: &ObjectKey) -> Result<(), StoreError> {
        let mut markers: (Option<String>, Option<String>) = (None, None);
        loop {
            let listed = self
                .client
                .list_multipart_uploads()
                .bucket(&*self.bucket)
                .prefix(key.as_str())
                .set_key_marker(markers.0.take())
                .set_upload_id_marker(markers.1.take())
                .send()
                .await
                .map_err(map_error)?;
            for upload in listed.uploads() {
                if let (Some(of), Some(id)) = (upload.key(), upload.upload_id())
                    && of == key.as_str()
                {
                    self.abort_multipart(key, &MultipartUploadId(id.to_string())).await?;
                }
            }
            if listed.is_truncated() != Some(true) {
                return Ok(());
            }
            markers = (listed.next_key_marker, listed.next_upload_id_marker);
        }
    }

    pub(super) async fn size(&self, key: &ObjectKey) -> Result<Option<u64>, StoreError> {
        let head =
            self.client.head_object().bucket(&*self.bucket).key(key.as_str()).send().await.map_err(map_error);
        match head {
            Ok(head) => {
                let length = head.content_length.unwrap_or_default();
                Ok(Some(u64::try_from(length).unwrap_or_default()))
            }
            Err(StoreError::NotFound) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub(super) async fn open(&self, key: &ObjectKey) -> Result<ObjectReader, StoreError> {
        let object = self
            .client
            .get_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(map_error)?;
        Ok(ObjectReader::new(object.body.into_async_read()))
    }

    pub(super) async fn put(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    pub(super) async fn put_file(
        &self,
        key: &ObjectKey,
        path: &std::path::Path,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|error| StoreError::Unavailable(format!("reading the local file failed: {error}")))?;
        self.client
            .put_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .body(body)
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    pub(super) async fn put_once(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
        retain_until: Option<DateTime<Utc>>,
    ) -> Result<PutOnce, StoreError> {
        // A checksum travels along: S3 requires one with Object Lock, and it keeps the bytes whole.
        let checksum = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
        let mut request = self
            .client
            .put_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .if_none_match("*")
            .checksum_sha256(checksum)
            .body(ByteStream::from(bytes));
        if let Some(until) = retain_until {
            request = request.object_lock_mode(ObjectLockMode::Compliance).object_lock_retain_until_date(
                aws_sdk_s3::primitives::DateTime::from_secs(until.timestamp()),
            );
        }
        match request.send().await {
            Ok(_) => Ok(PutOnce::Written),
            // 412: the key is taken. (A 409 is a conditional write racing ours: an error, and the
            // caller's next round finds the key taken or free.)
            Err(SdkError::ServiceError(context)) if context.raw().status().as_u16() == 412 => {
                Ok(PutOnce::Exists)
            }
            Err(error) => Err(map_error(error)),
        }
    }

    pub(super) async fn list(&self, prefix: &ObjectKey) -> Result<Vec<ObjectKey>, StoreError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&*self.bucket)
            .prefix(format!("{prefix}/"))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(map_error)?;
            keys.extend(page.contents().iter().filter_map(|object| ObjectKey::new(object.key()?).ok()));
        }
        Ok(keys)
    }

    pub(super) async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<(), StoreError> {
        // Keys hold only characters that need no escaping in `x-amz-copy-source`. The store copies
        // up to 1 GiB before it answers: that may take longer than other calls.
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(COPY_TIMEOUT.max(self.timeout))
            .operation_timeout(COPY_TIMEOUT.max(self.timeout))
            .build();
        self.client
            .copy_object()
            .bucket(&*self.bucket)
            .key(to.as_str())
            .copy_source(format!("{}/{}", self.bucket, from.as_str()))
            .customize()
            .config_override(aws_sdk_s3::Config::builder().timeout_config(timeouts))
            .send()
            .await
            .map_err(map_error)?;
        Ok(())
    }

    pub(super) async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(map_error);
        match result {
            Ok(_) | Err(StoreError::NotFound) => Ok(()),
            Err(error) => Err(error),
        }
    }

    pub(super) async fn presign_download(
        &self,
        key: &ObjectKey,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<PresignedRequest, StoreError> {
        let presigned = self
            .client
            .get_object()
            .bucket(&*self.bucket)
            .key(key.as_str())
            .set_response_content_disposition(download_name.map(content_disposition))
            .presigned(presigning(ttl)?)
            .await
            .map_err(map_error)?;
        Ok(into_presigned_request(presigned, ttl))
    }
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, StoreError> {
    check_ttl(ttl)?;
    PresigningConfig::expires_in(ttl).map_err(|error| StoreError::InvalidRequest(error.to_string()))
}

fn signed_length(length: u64) -> Result<i64, StoreError> {
    i64::try_from(length).map_err(|_| StoreError::InvalidRequest("the length is too large".into()))
}

/// The SDK puts every header it set into `X-Amz-SignedHeaders` (content-length and content-type
/// included), and lists them here: the client must send exactly these.
fn into_presigned_request(
    presigned: aws_sdk_s3::presigning::PresignedRequest,
    ttl: Duration,
) -> PresignedRequest {
    let headers: BTreeMap<String, String> =
        presigned.headers().map(|(name, value)| (name.to_ascii_lowercase(), value.to_string())).collect();
    PresignedRequest {
        method: presigned.method().to_string(),
        url: presigned.uri().to_string(),
        headers,
        expires_at: expiry(ttl),
    }
}

/// Sorts the SDK's errors into the store's: 404 (and S3's "no such ..." codes) is NotFound;
/// time-outs, connection failures, 5xx, 429 and throttling are retryable; other 4xx are not.
/// Only the store's error code is kept, never its message.
fn map_error<E: ProvideErrorMetadata>(error: SdkError<E, HttpResponse>) -> StoreError {
    match error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or("no error code").to_string();
            service_error(status, code)
        }
        SdkError::TimeoutError(_) => StoreError::Unavailable("the request timed out".into()),
        SdkError::DispatchFailure(failure) => {
            let kind = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "connection failed"
            } else {
                "could not be sent"
            };
            StoreError::Unavailable(format!("the request {kind}"))
        }
        SdkError::ResponseError(context) => {
            let status = context.raw().status().as_u16();
            service_error(status, "an unreadable answer".into())
        }
        SdkError::ConstructionFailure(_) => {
            StoreError::InvalidRequest("the request could not be built".into())
        }
        _ => StoreError::Unavailable("unexpected failure of the S3 client".into()),
    }
}

fn service_error(status: u16, code: String) -> StoreError {
    let no_such = matches!(code.as_str(), "NoSuchKey" | "NoSuchUpload" | "NotFound");
    match status {
        404 => StoreError::NotFound,
        _ if no_such => StoreError::NotFound,
        429 | 500..=599 => StoreError::Unavailable(format!("{status} {code}")),
        _ if matches!(
            code.as_str(),
            "SlowDown" | "RequestTimeout" | "InternalError" | "ServiceUnavailable"
        ) =>
        {
            StoreError::Unavailable(format!("{status} {code}"))
        }
        _ => StoreError::Rejected(format!("{status} {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_are_sorted_by_retryability() {
        assert!(matches!(service_error(404, "NoSuchKey".into()), StoreError::NotFound));
        assert!(matches!(service_error(404, "NoSuchBucket".into()), StoreError::NotFound));
        assert!(matches!(service_error(400, "NoSuchUpload".into()), StoreError::NotFound));
        assert!(service_error(503, "SlowDown".into()).is_retryable());
        assert!(service_error(500, "InternalError".into()).is_retryable());
        assert!(service_error(429, "TooManyRequests".into()).is_retryable());
        assert!(service_error(400, "RequestTimeout".into()).is_retryable());
        assert!(!service_error(403, "AccessDenied".into()).is_retryable());
        assert!(!service_error(403, "SignatureDoesNotMatch".into()).is_retryable());
        assert!(!service_error(400, "EntityTooSmall".into()).is_retryable());
    }

    #[test]
    fn configuration_needs_a_bucket_and_keys_and_never_prints_the_secret() {
        let env = Env::from_pairs([
            ("BURGERNET_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("BURGERNET_S3_BUCKET", "burgernet-media"),
            ("BURGERNET_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("BURGERNET_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-very-secret"),
        ]);
        let config = S3StoreConfig::from_env(&env).unwrap();
        assert!(config.force_path_style, "path style is the default with an endpoint");
        assert_eq!(config.region, "eu-west-1");
        assert!(!format!("{config:?}").contains("very-secret"));
        let store = S3Store::new(config);
        assert!(!format!("{store:?}").contains("very-secret"));

        let without_bucket = Env::from_pairs([
            ("BURGERNET_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("BURGERNET_S3_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-very-secret"),
        ]);
        assert_eq!(S3StoreConfig::from_env(&without_bucket).unwrap_err().variable, "BURGERNET_S3_BUCKET");
        let aws = Env::from_pairs([
            ("BURGERNET_S3_BUCKET", "burgernet-media"),
            ("BURGERNET_S3_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("BURGERNET_S3_SECRET_ACCESS_KEY", "x"),
        ]);
        assert!(!S3StoreConfig::from_env(&aws).unwrap().force_path_style);
        let bad_flag = Env::from_pairs([("BURGERNET_S3_FORCE_PATH_STYLE", "yes")]);
        assert_eq!(S3StoreConfig::from_env(&bad_flag).unwrap_err().variable, "BURGERNET_S3_FORCE_PATH_STYLE");
    }
}
