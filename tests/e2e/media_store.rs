//! The media store's conformance suite: every test runs against both backends, the S3 store on
//! a real S3 server (s3s over s3s-fs, signatures checked) and the filesystem store served by the
//! running app. Uploads and downloads go through a plain HTTP client with the presigned
//! requests, exactly as the app on a phone would send them.
//!
//! Where the two backends answer a refusal differently (S3's XML error codes, our problem
//! codes), the test names both.

use std::time::Duration;

use burgernet_core::media::store::{
    CompletedPart, InvalidParts, MediaStore, MultipartUploadId, ObjectKey, PresignedRequest, StoreError,
    UploadSpec,
};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::helpers::s3::{FakeS3, SECRET_ACCESS_KEY, s3_media_store};
use crate::helpers::{TestApp, TestAppOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    S3,
    Filesystem,
}

/// A store and whatever serves it, kept alive for the test.
struct StoreUnderTest {
    backend: Backend,
    store: MediaStore,
    http: reqwest::Client,
    _s3: Option<FakeS3>,
    _app: Option<TestApp>,
}

impl StoreUnderTest {
    async fn start(backend: Backend) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        match backend {
            Backend::S3 => {
                let s3 = FakeS3::start().await;
                Self { backend, store: s3.media_store(), http, _s3: Some(s3), _app: None }
            }
            Backend::Filesystem => {
                let app = TestApp::spawn_with(TestAppOptions::default()).await;
                let store = app.media_store.clone();
                assert!(matches!(store, MediaStore::Filesystem(_)));
                Self { backend, store, http, _s3: None, _app: Some(app) }
            }
        }
    }

    /// Sends `body` with the presigned request, setting its headers; the length header comes
    /// from the body itself, as any HTTP client does it.
    async fn send(&self, request: &PresignedRequest, body: Vec<u8>) -> reqwest::Response {
        self.send_with(request, body, |_, value| value.to_string()).await
    }

    /// Like `send`, with header values changed by `edit(name, signed value)`.
    async fn send_with(
        &self,
        request: &PresignedRequest,
        body: Vec<u8>,
        edit: impl Fn(&str, &str) -> String,
    ) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
        let mut builder = self.http.request(method, &request.url);
        for (name, value) in &request.headers {
            if name != "content-length" {
                builder = builder.header(name, edit(name, value));
            }
        }
        builder.body(body).send().await.expect("the request reaches the store")
    }

    /// The code of a refusal: the problem's `code` from our API, `<Code>` from S3.
    async fn refusal(&self, response: reqwest::Response) -> (u16, String) {
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "expected a refusal, got {status}");
        let body = response.text().await.unwrap();
        let code = match self.backend {
            Backend::Filesystem => {
                let problem: serde_json::Value = serde_json::from_str(&body).expect("a problem document");
                problem["code"].as_str().unwrap().to_string()
            }
            Backend::S3 => body
                .split_once("<Code>")
                .and_then(|(_, rest)| rest.split_once("</Code>"))
                .map(|(code, _)| code.to_string())
                .unwrap_or_else(|| panic!("an S3 error document: {body}")),
        };
        (status, code)
    }

    /// Which of the two codes this backend is expected to answer.
    fn expect<'a>(&self, s3: &'a str, filesystem: &'a str) -> &'a str {
        match self.backend {
            Backend::S3 => s3,
            Backend::Filesystem => filesystem,
        }
    }

    /// Uploads `parts` through presigned part requests, as parts 1, 2, ...; returns them as a
    /// completion names them.
    async fn upload_parts(
        &self,
        key: &ObjectKey,
        upload: &MultipartUploadId,
        parts: &[Vec<u8>],
    ) -> Vec<CompletedPart> {
        let mut completed = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            let number = index as u16 + 1;
            let request =
                self.store.presign_part(key, upload, number, part.len() as u64, MINUTE).await.unwrap();
            assert_eq!(request.headers["content-length"], part.len().to_string());
            let response = self.send(&request, part.clone()).await;
            assert_eq!(response.status(), 200, "part {number}");
            let etag = response.headers()["etag"].to_str().unwrap().to_string();
            completed.push(CompletedPart { number, etag });
        }
        completed
    }

    async fn read(&self, key: &ObjectKey) -> Vec<u8> {
        let mut reader = self.store.open(key).await.expect("the object opens");
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await.unwrap();
        bytes
    }
}

fn key(name: &str) -> ObjectKey {
    ObjectKey::new(format!("{name}/{}", uuid::Uuid::new_v4())).unwrap()
}

fn spec(body: &[u8], content_type: &str) -> UploadSpec {
    UploadSpec {
        content_length: body.len() as u64,
        content_type: content_type.into(),
        sha256: Sha256::digest(body).into(),
    }
}

/// Bytes that differ from position to position, so a reordering or a lost chunk shows.
fn pattern(length: usize, seed: u8) -> Vec<u8> {
    (0..length).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

const MINUTE: Duration = Duration::from_secs(60);

/// Waits until a link that expires at `expires_at` is past its last second.
async fn wait_past(request: &PresignedRequest) {
    let wait =
        (request.expires_at - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(1100);
    assert!(wait < Duration::from_secs(5), "links in these tests live 1 s");
    tokio::time::sleep(wait).await;
}

async fn a_presigned_upload_is_stored_byte_identical(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let body = pattern(100_000, 7);
    let request = under_test.store.presign_upload(&key, &spec(&body, "image/jpeg"), MINUTE).await.unwrap();
    assert_eq!(request.method, "PUT");
    assert_eq!(request.headers["content-type"], "image/jpeg");
    assert_eq!(request.headers["content-length"], "100000");
    let header_names: Vec<&str> = request.headers.keys().map(String::as_str).collect();
    match backend {
        // S3 checks the SHA-256 the client sends; our API checks the one in the URL.
        Backend::S3 => {
            assert_eq!(header_names, ["content-length", "content-type", "x-amz-checksum-sha256"]);
            let sha256 =
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Sha256::digest(&body));
            assert_eq!(request.headers["x-amz-checksum-sha256"], sha256);
        }
        Backend::Filesystem => assert_eq!(header_names, ["content-length", "content-type"]),
    }
    if backend == Backend::S3 {
        let (_, rest) = request.url.split_once("X-Amz-SignedHeaders=").expect("a SigV4 presigned URL");
        let signed = rest.split('&').next().unwrap().replace("%3B", ";");
        for header in ["content-length", "content-type", "x-amz-checksum-sha256"] {
            assert!(signed.split(';').any(|h| h == header), "{header} is not signed: {signed}");
        }
    }

    let response = under_test.send(&request, body.clone()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    assert_eq!(under_test.store.size(&key).await.unwrap(), Some(100_000));
    assert_eq!(under_test.read(&key).await, body);
}

async fn a_body_of_another_length_is_refused_and_nothing_is_stored(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let body = pattern(1000, 1);
    let request = under_test.store.presign_upload(&key, &spec(&body, "image/jpeg"), MINUTE).await.unwrap();
    for wrong in [pattern(1001, 1), pattern(999, 1), Vec::new()] {
        let response = under_test.send(&request, wrong).await;
        let (status, code) = under_test.refusal(response).await;
        assert_eq!(code, under_test.expect("SignatureDoesNotMatch", "upload_length_mismatch"), "{status}");
        assert_eq!(under_test.store.size(&key).await.unwrap(), None);
    }
}

async fn an_expired_upload_url_is_refused(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let body = pattern(10, 2);
    let request = under_test
        .store
        .presign_upload(&key, &spec(&body, "image/jpeg"), Duration::from_secs(1))
        .await
        .unwrap();
    wait_past(&request).await;
    let (status, code) = under_test.refusal(under_test.send(&request, body).await).await;
    assert_eq!(status, 403);
    assert_eq!(code, under_test.expect("AccessDenied", "upload_url_expired"));
    assert_eq!(under_test.store.size(&key).await.unwrap(), None);
}

async fn another_content_type_is_refused(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let body = pattern(10, 3);
    let request = under_test.store.presign_upload(&key, &spec(&body, "image/jpeg"), MINUTE).await.unwrap();
    let response = under_test
        .send_with(
            &request,
            body,
            |name, value| {
                if name == "content-type" { "text/html".into() } else { value.into() }
            },
        )
        .await;
    let (_, code) = under_test.refusal(response).await;
    assert_eq!(code, under_test.expect("SignatureDoesNotMatch", "upload_content_type_mismatch"));
    assert_eq!(under_test.store.size(&key).await.unwrap(), None);
}

async fn a_body_with_another_checksum_is_refused(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let body = pattern(64, 4);
    let request = under_test.store.presign_upload(&key, &spec(&body, "image/jpeg"), MINUTE).await.unwrap();
    let (status, code) = under_test.refusal(under_test.send(&request, pattern(64, 5)).await).await;
    assert_eq!(status, 400);
    assert_eq!(code, under_test.expect("BadDigest", "upload_checksum_mismatch"));
    // s3s-fs checks the checksum only after it has written the file (real S3 keeps nothing);
    // the filesystem store keeps nothing.
    if backend == Backend::Filesystem {
        assert_eq!(under_test.store.size(&key).await.unwrap(), None);
    }
}

async fn a_tampered_url_is_refused(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let body = pattern(10, 6);
    let request = under_test.store.presign_upload(&key, &spec(&body, "image/jpeg"), MINUTE).await.unwrap();
    let other_key = ObjectKey::new(format!("{}-x", key.as_str())).unwrap();
    let signature_param = match backend {
        Backend::S3 => "X-Amz-Signature=",
        Backend::Filesystem => "signature=",
    };
    let (before, after) = request.url.split_once(signature_param).unwrap();
    let flipped = if after.starts_with('0') { "1" } else { "0" };
    let tampered = [
        request.url.replace(key.as_str(), other_key.as_str()),
        format!("{before}{signature_param}{flipped}{}", &after[1..]),
    ];
    for url in tampered {
        let response =
            under_test.send(&PresignedRequest { url: url.clone(), ..request.clone() }, body.clone()).await;
        let (status, code) = under_test.refusal(response).await;
        assert_eq!(status, 403, "{url}");
        assert_eq!(code, under_test.expect("SignatureDoesNotMatch", "upload_signature_invalid"));
    }
    assert_eq!(under_test.store.size(&key).await.unwrap(), None);
    assert_eq!(under_test.store.size(&other_key).await.unwrap(), None);
}

async fn a_multipart_upload_of_three_parts_completes(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let parts = [pattern(5 * 1024 * 1024, 10), pattern(5 * 1024 * 1024, 11), pattern(1234, 12)];
    let upload = under_test.store.start_multipart(&key, "video/mp4").await.unwrap();
    let completed = under_test.upload_parts(&key, &upload, &parts).await;
    assert_eq!(under_test.store.size(&key).await.unwrap(), None, "nothing exists before completion");
    let whole = parts.concat();
    under_test.store.complete_multipart(&key, &upload, &completed, whole.len() as u64).await.unwrap();
    assert_eq!(under_test.store.size(&key).await.unwrap(), Some(whole.len() as u64));
    assert!(under_test.read(&key).await == whole, "the parts joined in order");
    let link = under_test.store.presign_download(&key, MINUTE, None).await.unwrap();
    let response = under_test.http.get(&link.url).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "video/mp4", "the type given at the start");
}

async fn a_part_of_another_length_is_refused(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let upload = under_test.store.start_multipart(&key, "video/mp4").await.unwrap();
    let request = under_test.store.presign_part(&key, &upload, 1, 100, MINUTE).await.unwrap();
    let (_, code) = under_test.refusal(under_test.send(&request, pattern(101, 1)).await).await;
    assert_eq!(code, under_test.expect("SignatureDoesNotMatch", "upload_length_mismatch"));
    under_test.store.abort_multipart(&key, &upload).await.unwrap();
}

/// S3's own checks of a completion, on both backends: each part once and in ascending order, every
/// part uploaded with the ETag named, and (with `x-amz-mp-object-size`) the declared total. A
/// refused list writes nothing and leaves the upload open.
async fn a_completion_with_an_invalid_part_list_is_refused_and_writes_nothing(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let parts = [pattern(5 * 1024 * 1024, 50), pattern(5 * 1024 * 1024, 51), pattern(1234, 52)];
    let total = parts.iter().map(Vec::len).sum::<usize>() as u64;
    let upload = under_test.store.start_multipart(&key, "video/mp4").await.unwrap();
    let uploaded = under_test.upload_parts(&key, &upload, &parts).await;
    let [first, second, last] = [uploaded[0].clone(), uploaded[1].clone(), uploaded[2].clone()];
    let unknown = CompletedPart { number: 4, etag: last.etag.clone() };
    let other_etag = CompletedPart { number: 3, etag: first.etag.clone() };
    let cases = [
        (vec![first.clone(), first.clone(), second.clone(), last.clone()], total, InvalidParts::Order),
        (vec![first.clone(); 500], total, InvalidParts::Order),
        (vec![second.clone(), first.clone(), last.clone()], total, InvalidParts::Order),
        (vec![first.clone(), last.clone(), second.clone()], total, InvalidParts::Order),
        (vec![first.clone(), second.clone(), last.clone(), unknown], total, InvalidParts::Part),
        (vec![first.clone(), second.clone(), other_etag], total, InvalidParts::Part),
        (vec![first.clone(), second.clone()], total, InvalidParts::Size),
        (uploaded.clone(), total + 1, InvalidParts::Size),
        (uploaded.clone(), total - 1, InvalidParts::Size),
    ];
    for (list, declared, expected) in cases {
        let numbers: Vec<u16> = list.iter().map(|part| part.number).collect();
        let refused = under_test.store.complete_multipart(&key, &upload, &list, declared).await;
        assert!(
            matches!(&refused, Err(StoreError::InvalidParts(invalid)) if *invalid == expected),
            "{numbers:?} of {declared} bytes: {refused:?}"
        );
        assert!(!refused.unwrap_err().is_retryable());
        assert_eq!(under_test.store.size(&key).await.unwrap(), None, "{numbers:?}: something was written");
    }
    under_test.store.complete_multipart(&key, &upload, &uploaded, total).await.unwrap();
    assert!(under_test.read(&key).await == parts.concat(), "the parts joined in order");
}

async fn an_aborted_multipart_upload_is_gone(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    let upload = under_test.store.start_multipart(&key, "video/mp4").await.unwrap();
    let part = pattern(1000, 20);
    let request = under_test.store.presign_part(&key, &upload, 1, 1000, MINUTE).await.unwrap();
    let response = under_test.send(&request, part).await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_string();

    under_test.store.abort_multipart(&key, &upload).await.unwrap();
    let completion =
        under_test.store.complete_multipart(&key, &upload, &[CompletedPart { number: 1, etag }], 1000).await;
    assert!(matches!(completion, Err(StoreError::NotFound)), "{completion:?}");
    let late_part = under_test.send(&request, pattern(1000, 20)).await;
    assert_eq!(late_part.status(), 404, "a part for an aborted upload is refused");
    assert_eq!(under_test.store.size(&key).await.unwrap(), None);
    under_test.store.abort_multipart(&key, &upload).await.expect("aborting again is fine");
}

async fn copy_keeps_the_bytes(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let from = key("uploads");
    let to = key("evidence");
    let body = pattern(70_000, 30);
    under_test.store.put(&from, body.clone(), "image/png").await.unwrap();
    under_test.store.copy(&from, &to).await.unwrap();
    assert_eq!(under_test.read(&to).await, body);
    assert_eq!(under_test.read(&from).await, body, "the source stays");
    let missing = under_test.store.copy(&key("uploads"), &key("evidence")).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

async fn delete_is_idempotent(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("derived");
    under_test.store.put(&key, b"thumbnail".to_vec(), "image/jpeg").await.unwrap();
    assert_eq!(under_test.store.size(&key).await.unwrap(), Some(9));
    under_test.store.delete(&key).await.unwrap();
    assert_eq!(under_test.store.size(&key).await.unwrap(), None);
    under_test.store.delete(&key).await.expect("deleting again is fine");
}

async fn an_absent_object_has_no_size_and_does_not_open(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("uploads");
    assert_eq!(under_test.store.size(&key).await.unwrap(), None);
    assert!(matches!(under_test.store.open(&key).await, Err(StoreError::NotFound)));
}

async fn a_download_link_serves_the_bytes_and_expires(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("evidence");
    let body = pattern(30_000, 40);
    under_test.store.put(&key, body.clone(), "image/jpeg").await.unwrap();

    let link = under_test.store.presign_download(&key, MINUTE, Some("tip-photo.jpg")).await.unwrap();
    assert_eq!(link.method, "GET");
    let response = under_test.http.get(&link.url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.headers()["content-length"], "30000");
    match backend {
        Backend::Filesystem => {
            assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"tip-photo.jpg\"");
        }
        // s3s-fs ignores response-content-disposition (AWS honours it); the link must ask for it.
        Backend::S3 => assert!(
            link.url.contains("response-content-disposition=attachment%3B%20filename%3D%22tip-photo.jpg%22"),
            "{}",
            link.url
        ),
    }
    assert!(response.bytes().await.unwrap() == body);

    let short = under_test.store.presign_download(&key, Duration::from_secs(1), None).await.unwrap();
    wait_past(&short).await;
    let (status, code) = under_test.refusal(under_test.http.get(&short.url).send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_eq!(code, under_test.expect("AccessDenied", "upload_url_expired"));
}

/// An upload whose id was never recorded is found by its key: every upload in progress of that
/// key is aborted, and none of another key, even one that begins with it.
async fn the_uploads_in_progress_of_a_key_are_aborted_whatever_their_ids(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let store = &under_test.store;
    let key = key("uploads");
    let longer = ObjectKey::new(format!("{key}-2")).unwrap();
    let first = store.start_multipart(&key, "video/mp4").await.unwrap();
    let second = store.start_multipart(&key, "video/mp4").await.unwrap();
    let kept = store.start_multipart(&longer, "video/mp4").await.unwrap();

    store.abort_multipart_uploads_of(&key).await.unwrap();
    for upload in [&first, &second] {
        let request = store.presign_part(&key, upload, 1, 1000, MINUTE).await.unwrap();
        assert_eq!(under_test.send(&request, pattern(1000, 30)).await.status(), 404, "aborted");
    }
    let request = store.presign_part(&longer, &kept, 1, 1000, MINUTE).await.unwrap();
    assert_eq!(under_test.send(&request, pattern(1000, 30)).await.status(), 200, "another key's");
    store.abort_multipart_uploads_of(&key).await.expect("aborting again is fine");
}

/// Each test once per backend: `media_store::s3::<test>` and `media_store::filesystem::<test>`.
/// A video preview is stored from the worker's local file, and a browser plays it by ranges.
async fn a_local_file_is_stored_and_its_link_serves_ranges_of_it(backend: Backend) {
    let under_test = StoreUnderTest::start(backend).await;
    let key = key("derived");
    let body = pattern(50_000, 50);
    let local = std::env::temp_dir().join(format!("burgernet-e2e-local-{}", uuid::Uuid::new_v4()));
    std::fs::write(&local, &body).unwrap();
    let stored = under_test.store.put_file(&key, &local, "video/mp4").await;
    std::fs::remove_file(&local).unwrap();
    stored.unwrap();
    assert_eq!(under_test.read(&key).await, body);

    let link = under_test.store.presign_download(&key, MINUTE, None).await.unwrap();
    let response = under_test.http.get(&link.url).header("Range", "bytes=1000-1999").send().await.unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(response.headers()["content-type"], "video/mp4");
    assert_eq!(response.headers()["content-range"], "bytes 1000-1999/50000");
    assert!(response.bytes().await.unwrap() == body[1000..2000]);
    let response = under_test.http.get(&link.url).header("Range", "bytes=-100").send().await.unwrap();
    assert_eq!(response.status(), 206);
    assert!(response.bytes().await.unwrap() == body[49_900..]);
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod s3 {
            $(#[tokio::test] async fn $test() { super::$test(super::Backend::S3).await })*
        }
        mod filesystem {
            $(#[tokio::test] async fn $test() { super::$test(super::Backend::Filesystem).await })*
        }
    };
}

conformance!(
    a_presigned_upload_is_stored_byte_identical,
    a_body_of_another_length_is_refused_and_nothing_is_stored,
    an_expired_upload_url_is_refused,
    another_content_type_is_refused,
    a_body_with_another_checksum_is_refused,
    a_tampered_url_is_refused,
    a_multipart_upload_of_three_parts_completes,
    a_completion_with_an_invalid_part_list_is_refused_and_writes_nothing,
    a_part_of_another_length_is_refused,
    an_aborted_multipart_upload_is_gone,
    the_uploads_in_progress_of_a_key_are_aborted_whatever_their_ids,
    copy_keeps_the_bytes,
    delete_is_idempotent,
    an_absent_object_has_no_size_and_does_not_open,
    a_download_link_serves_the_bytes_and_expires,
    a_local_file_is_stored_and_its_link_serves_ranges_of_it,
);

/// How the S3 client sorts failures: what a later retry may fix, and what it will not.
mod s3_failures {
    use super::*;

    #[tokio::test]
    async fn wrong_credentials_are_rejected_and_not_worth_retrying() {
        let s3 = FakeS3::start().await;
        let store = s3_media_store(&s3.endpoint, "not-the-secret-access-key");
        let error = store.put(&key("uploads"), b"x".to_vec(), "image/jpeg").await.unwrap_err();
        assert!(
            matches!(&error, StoreError::Rejected(code) if code == "403 SignatureDoesNotMatch"),
            "{error:?}"
        );
        assert!(!error.is_retryable());
        assert!(!format!("{error:?}").contains(SECRET_ACCESS_KEY));
    }

    #[tokio::test]
    async fn an_unreachable_store_is_unavailable_and_worth_retrying() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let store = s3_media_store(&endpoint, SECRET_ACCESS_KEY);
        let error = store.size(&key("uploads")).await.unwrap_err();
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
        assert!(error.is_retryable());
    }
}
