//! The filesystem media store's signed URLs (see `burgernet_core::media::store`): uploads and
//! downloads of photos and videos when the media live on the API's own disk. With an S3 store
//! these URLs point at the object store instead, and these routes answer 404.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, Header, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use burgernet_core::media::store::{FilesystemStore, FilesystemUploadError, MediaStore, StoreError};

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// An object's bytes, sent and served as they are.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ObjectBytes(pub Vec<u8>);

/// Upload an object, or one part of a multipart upload, with a signed URL.
///
/// Who may call: anyone with a URL the API handed out; the signature in it is the authority and
/// bearer tokens play no part. Send exactly the headers the URL came with: `Content-Length` (and, for a
/// whole object, `Content-Type`) must be the signed ones, and a whole object's SHA-256 must be the
/// signed checksum. A refused upload stores nothing.
#[utoipa::path(
    tag = "media store",
    params(
        ("key" = String, Path, description = "The store key, such as `uploads/<id>`."),
        ("expires" = i64, Query, description = "When the URL expires, in seconds since 1970."),
        ("signature" = String, Query, description = "The URL's signature; other signed parameters (`length`, `type`, `sha256`, `upload`, `part`) come with it."),
    ),
    request_body(content = ObjectBytes, content_type = "*/*", description = "The object's bytes."),
    responses(
        (status = 200, description = "Stored. The `ETag` header identifies a part when completing a multipart upload.",
         headers(("ETag" = String, description = "The body's checksum, quoted."))),
        (status = 400, description = "`upload_length_mismatch`, `upload_content_type_mismatch`, `upload_checksum_mismatch` or `upload_body_unreadable`: the body is not what was signed.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`upload_signature_invalid` or `upload_url_expired`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`upload_not_found`: the multipart upload was completed or aborted; `not_found`: this API keeps no media itself.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`media_store_unavailable`: the media directory cannot be written.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/media-store/{key:.*}")]
pub async fn upload_object(
    state: web::Data<AppState>,
    request: HttpRequest,
    key: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let store = filesystem_store(&state)?;
    let header = |name| request.headers().get(name).and_then(|value| value.to_str().ok());
    let content_length = header(header::CONTENT_LENGTH).and_then(|value| value.parse::<u64>().ok());
    let content_type = header(header::CONTENT_TYPE);
    let received = store.receive(&key, request.query_string(), content_length, content_type, body).await?;
    let mut response = HttpResponse::Ok().finish();
    if let Ok(etag) = HeaderValue::from_str(&received.etag) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// Download an object with a signed URL.
///
/// Who may call: anyone with a URL the API handed out; the signature in it is the authority. The
/// response carries the object's type, its length and, when the link names a file,
/// `Content-Disposition: attachment`. A `Range` header asking for one range of bytes (as browsers
/// do to play and seek in a video) is answered with just those bytes; any other `Range` header
/// is answered with the whole object.
#[utoipa::path(
    tag = "media store",
    params(
        ("key" = String, Path, description = "The store key, such as `evidence/<id>`."),
        ("expires" = i64, Query, description = "When the URL expires, in seconds since 1970."),
        ("signature" = String, Query, description = "The URL's signature; other signed parameters (`type`, `name`) come with it."),
        ("Range" = Option<String>, Header, description = "One range of bytes, such as `bytes=0-1023`, `bytes=1024-` or `bytes=-512`."),
    ),
    responses(
        (status = 200, description = "The object's bytes.", content_type = "application/octet-stream", body = ObjectBytes,
         headers(("Accept-Ranges" = String, description = "`bytes`."))),
        (status = 206, description = "The range of bytes asked for.", content_type = "application/octet-stream", body = ObjectBytes,
         headers(("Content-Range" = String, description = "Which bytes, such as `bytes 0-1023/4096`."))),
        (status = 403, description = "`upload_signature_invalid` or `upload_url_expired`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no object at this key.", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "`range_not_satisfiable`: the range lies outside the object.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`media_store_unavailable`: the media directory cannot be read.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/media-store/{key:.*}")]
pub async fn download_object(
    state: web::Data<AppState>,
    request: HttpRequest,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = filesystem_store(&state)?;
    let served = store.serve(&key, request.query_string()).await?;
    let length = served.content_length;
    let range = requested_range(&request, length)?;
    let mut response = match range {
        Some(_) => HttpResponse::PartialContent(),
        None => HttpResponse::Ok(),
    };
    response
        .insert_header((header::CONTENT_TYPE, served.content_type.clone()))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    if let Some(disposition) = &served.content_disposition {
        response.insert_header((header::CONTENT_DISPOSITION, disposition.clone()));
    }
    let reader = match range {
        Some((first, last)) => {
            response
                .insert_header((header::CONTENT_RANGE, format!("bytes {first}-{last}/{length}")))
                .no_chunking(last - first + 1);
            served.into_range_reader(first, last).await.map_err(FilesystemUploadError::Store)?
        }
        None => {
            response.no_chunking(length);
            served.into_reader()
        }
    };
    Ok(response.streaming(reader.into_chunks()))
}

/// The one range of bytes the request asks for, first and last included. Anything else (several
/// ranges, another unit, a header that does not parse) gets the whole object, as HTTP allows.
fn requested_range(request: &HttpRequest, length: u64) -> Result<Option<(u64, u64)>, ApiError> {
    if !request.headers().contains_key(header::RANGE) {
        return Ok(None);
    }
    match header::Range::parse(request) {
        Ok(header::Range::Bytes(ranges)) if ranges.len() == 1 => {
            ranges[0].to_satisfiable_range(length).map(Some).ok_or_else(|| {
                ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable",
                    format!("The range lies outside the object, which is {length} bytes long."),
                )
            })
        }
        _ => Ok(None),
    }
}

fn filesystem_store(state: &AppState) -> Result<&FilesystemStore, ApiError> {
    match &state.media_store {
        MediaStore::Filesystem(store) => Ok(store),
        _ => Err(ApiError::for_status(StatusCode::NOT_FOUND)),
    }
}

impl From<FilesystemUploadError> for ApiError {
    fn from(error: FilesystemUploadError) -> Self {
        use FilesystemUploadError as E;
        let code = error.code();
        let detail = error.to_string();
        match error {
            E::Expired | E::SignatureInvalid => Self::forbidden(code, detail),
            E::LengthMismatch | E::ContentTypeMismatch | E::ChecksumMismatch | E::BodyUnreadable => {
                Self::bad_request(code, detail)
            }
            E::UploadNotFound => Self::new(StatusCode::NOT_FOUND, code, detail),
            E::NotFound => Self::not_found(detail),
            E::Store(store @ StoreError::Unavailable(_)) => {
                tracing::error!(error = %store, "the media store failed");
                Self::unavailable(code, "The media store cannot be reached right now; please retry.")
            }
            E::Store(other) => Self::internal(other),
        }
    }
}
