//! A real S3 server for the media store's tests: `s3s` (the S3 protocol, SigV4 and presigned
//! URLs checked with the access key below) over `s3s-fs` (objects in a scratch directory), on a
//! TCP socket of 127.0.0.1. A test can hold requests of one operation until it lets them go (a
//! slow store) or have them fail (a store down).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burgernet_core::env::Env;
use burgernet_core::media::store::MediaStore;
use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use tokio::net::TcpListener;

pub const BUCKET: &str = "burgernet-media";
pub const ACCESS_KEY_ID: &str = "AKIABURGERNETTEST";
pub const SECRET_ACCESS_KEY: &str = "burgernet-test-secret-access-key-0123456789";

/// A directory removed, with everything in it, when dropped.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(purpose: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("burgernet-e2e-{purpose}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create a scratch directory");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The S3 server; it stops when the test's runtime ends.
pub struct FakeS3 {
    pub endpoint: String,
    faults: Arc<Faults>,
    uploads: Arc<Mutex<HashMap<String, Upload>>>,
    object_locks: Arc<Mutex<HashMap<String, String>>>,
    _root: ScratchDir,
}

/// The operations a test can hold or fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum S3Operation {
    PutObject,
    HeadObject,
    DeleteObject,
    CreateMultipartUpload,
    CompleteMultipartUpload,
    AbortMultipartUpload,
}

#[derive(Default)]
struct Faults {
    held: Mutex<HashMap<S3Operation, Arc<Gate>>>,
    failing: Mutex<HashSet<S3Operation>>,
}

/// Where held requests wait: a semaphore without permits, closed to let them all go.
struct Gate {
    arrived: AtomicUsize,
    arrival: tokio::sync::Notify,
    open: tokio::sync::Semaphore,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            arrived: AtomicUsize::new(0),
            arrival: tokio::sync::Notify::new(),
            open: tokio::sync::Semaphore::new(0),
        }
    }
}

impl Faults {
    /// Called first by every operation: waits while the operation is held, fails it if failing.
    async fn pass(&self, operation: S3Operation) -> S3Result<()> {
        let gate = self.held.lock().unwrap().get(&operation).cloned();
        if let Some(gate) = gate {
            gate.arrived.fetch_add(1, Ordering::SeqCst);
            gate.arrival.notify_waiters();
            let _ = gate.open.acquire().await;
        }
        if self.failing.lock().unwrap().contains(&operation) {
            return Err(s3_error!(ServiceUnavailable));
        }
        Ok(())
    }
}

/// Requests of one operation, held until this is dropped.
pub struct Held {
    operation: S3Operation,
    gate: Arc<Gate>,
    faults: Arc<Faults>,
}

impl Held {
    /// Waits until a request is being held.
    pub async fn arrived(&self) {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let arrival = self.gate.arrival.notified();
                if self.gate.arrived.load(Ordering::SeqCst) > 0 {
                    return;
                }
                arrival.await;
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("no {:?} request arrived", self.operation));
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.faults.held.lock().unwrap().remove(&self.operation);
        self.gate.open.close();
    }
}

impl FakeS3 {
    pub async fn start() -> Self {
        let root = ScratchDir::new("s3");
        std::fs::create_dir(root.path().join(BUCKET)).expect("create the bucket");
        let filesystem = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs over the scratch directory");
        let faults = Arc::new(Faults::default());
        let uploads = Arc::new(Mutex::default());
        let object_locks = Arc::new(Mutex::default());
        let answers = AsS3Answers {
            filesystem,
            faults: faults.clone(),
            uploads: Arc::clone(&uploads),
            object_locks: object_locks.clone(),
        };
        let mut builder = S3ServiceBuilder::new(answers);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY_ID, SECRET_ACCESS_KEY));
        let service = builder.build();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a random port");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { endpoint, faults, uploads, object_locks, _root: root }
    }

    /// Holds every request of `operation` (before it is carried out) until the answer is dropped.
    pub fn hold(&self, operation: S3Operation) -> Held {
        let gate = Arc::new(Gate::default());
        self.faults.held.lock().unwrap().insert(operation, gate.clone());
        Held { operation, gate, faults: self.faults.clone() }
    }

    /// From now on `operation` fails with 503 ServiceUnavailable (`false`: works again).
    pub fn fail(&self, operation: S3Operation, failing: bool) {
        let mut failing_now = self.faults.failing.lock().unwrap();
        if failing {
            failing_now.insert(operation);
        } else {
            failing_now.remove(&operation);
        }
    }

    /// The keys of the multipart uploads in progress, one per upload.
    pub fn uploads_in_progress(&self) -> Vec<String> {
        let mut keys: Vec<String> =
            self.uploads.lock().unwrap().values().map(|upload| upload.key.clone()).collect();
        keys.sort();
        keys
    }

    /// The Object Lock mode (`COMPLIANCE`, `GOVERNANCE`) `key` was written with, if any.
    pub fn object_lock(&self, key: &str) -> Option<String> {
        self.object_locks.lock().unwrap().get(key).cloned()
    }

    /// A media store on this server, configured as an operator would.
    pub fn media_store(&self) -> MediaStore {
        s3_media_store(&self.endpoint, SECRET_ACCESS_KEY)
    }
}

/// An S3 media store at `endpoint`, signing with `secret_access_key`.
pub fn s3_media_store(endpoint: &str, secret_access_key: &str) -> MediaStore {
    MediaStore::from_env(&Env::from_pairs([
        ("BURGERNET_MEDIA_STORE", "s3"),
        ("BURGERNET_S3_ENDPOINT", endpoint),
        ("BURGERNET_S3_BUCKET", BUCKET),
        ("BURGERNET_S3_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("BURGERNET_S3_SECRET_ACCESS_KEY", secret_access_key),
        ("BURGERNET_S3_TIMEOUT", "10s"),
    ]))
    .expect("the S3 store's configuration")
}

/// s3s-fs, answering as S3 does where it does not:
///
/// - an unknown multipart upload is 404 `NoSuchUpload` where s3s-fs says `AccessDenied` (with one
///   access key, an upload that is not ours is one that does not exist);
/// - a completion's part list is checked as S3 checks it, before anything is written and with the
///   upload left open (s3s-fs takes any ETag, wants the numbers 1, 2, 3, ..., and drops the upload
///   before it looks): `InvalidPartOrder` for numbers not ascending or repeated, `InvalidPart` for
///   a part not uploaded or of another ETag, `InvalidRequest` for parts that do not add up to
///   `x-amz-mp-object-size`;
/// - the uploads in progress are listed (s3s-fs does not list them), by prefix, in one page.
struct AsS3Answers {
    filesystem: s3s_fs::FileSystem,
    faults: Arc<Faults>,
    /// The multipart uploads in progress, by id.
    uploads: Arc<Mutex<HashMap<String, Upload>>>,
    /// The Object Lock mode each key was last written with, when one was asked for.
    object_locks: Arc<Mutex<HashMap<String, String>>>,
}

struct Upload {
    key: String,
    /// The ETag and size of each uploaded part, by number.
    parts: HashMap<i32, (String, i64)>,
}

impl AsS3Answers {
    fn check_part_list(&self, input: &CompleteMultipartUploadInput) -> S3Result<()> {
        let uploads = self.uploads.lock().unwrap();
        let Some(Upload { parts: uploaded, .. }) = uploads.get(&input.upload_id) else {
            return Err(s3_error!(NoSuchUpload));
        };
        let listed =
            input.multipart_upload.as_ref().and_then(|upload| upload.parts.as_deref()).unwrap_or_default();
        let numbers: Vec<i32> = listed.iter().map(|part| part.part_number.unwrap_or_default()).collect();
        if numbers.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(s3_error!(InvalidPartOrder));
        }
        let mut total = 0;
        for (part, number) in listed.iter().zip(numbers) {
            let Some((etag, size)) = uploaded.get(&number) else {
                return Err(s3_error!(InvalidPart));
            };
            if part.e_tag.as_ref().map(ETag::value) != Some(etag.as_str()) {
                return Err(s3_error!(InvalidPart));
            }
            total += size;
        }
        match input.mpu_object_size {
            Some(declared) if declared != total => Err(s3_error!(InvalidRequest)),
            _ => Ok(()),
        }
    }
}

fn no_such_upload(error: S3Error) -> S3Error {
    if *error.code() == S3ErrorCode::AccessDenied { s3_error!(NoSuchUpload) } else { error }
}

#[async_trait::async_trait]
impl S3 for AsS3Answers {
    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.faults.pass(S3Operation::PutObject).await?;
        let key = req.input.key.clone();
        let lock = req.input.object_lock_mode.as_ref().map(|mode| mode.as_str().to_string());
        let response = self.filesystem.put_object(req).await?;
        // s3s-fs keeps no Object Lock; remember what was asked, for the tests to see.
        if let Some(mode) = lock {
            self.object_locks.lock().unwrap().insert(key, mode);
        }
        Ok(response)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.filesystem.list_objects_v2(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.filesystem.get_object(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.faults.pass(S3Operation::HeadObject).await?;
        self.filesystem.head_object(req).await
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.filesystem.copy_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.faults.pass(S3Operation::DeleteObject).await?;
        self.filesystem.delete_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.faults.pass(S3Operation::CreateMultipartUpload).await?;
        let key = req.input.key.clone();
        let response = self.filesystem.create_multipart_upload(req).await?;
        if let Some(upload) = &response.output.upload_id {
            self.uploads.lock().unwrap().insert(upload.clone(), Upload { key, parts: HashMap::new() });
        }
        Ok(response)
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        let (upload, number) = (req.input.upload_id.clone(), req.input.part_number);
        let size = req.input.content_length.unwrap_or_default();
        let response = self.filesystem.upload_part(req).await.map_err(no_such_upload)?;
        if let (Some(upload), Some(etag)) =
            (self.uploads.lock().unwrap().get_mut(&upload), &response.output.e_tag)
        {
            upload.parts.insert(number, (etag.value().to_string(), size));
        }
        Ok(response)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.faults.pass(S3Operation::CompleteMultipartUpload).await?;
        self.check_part_list(&req.input)?;
        let upload = req.input.upload_id.clone();
        let response = self.filesystem.complete_multipart_upload(req).await.map_err(no_such_upload)?;
        self.uploads.lock().unwrap().remove(&upload);
        Ok(response)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.faults.pass(S3Operation::AbortMultipartUpload).await?;
        let upload = req.input.upload_id.clone();
        let response = self.filesystem.abort_multipart_upload(req).await.map_err(no_such_upload)?;
        self.uploads.lock().unwrap().remove(&upload);
        Ok(response)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let prefix = req.input.prefix.clone().unwrap_or_default();
        let mut uploads: Vec<MultipartUpload> = self
            .uploads
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, upload)| upload.key.starts_with(&prefix))
            .map(|(id, upload)| MultipartUpload {
                key: Some(upload.key.clone()),
                upload_id: Some(id.clone()),
                ..Default::default()
            })
            .collect();
        uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        Ok(S3Response::new(ListMultipartUploadsOutput {
            bucket: Some(req.input.bucket.clone()),
            prefix: req.input.prefix.clone(),
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        }))
    }
}
