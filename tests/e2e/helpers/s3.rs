//! A real S3 server for the media store's tests: `s3s` (the S3 protocol, SigV4 and presigned
//! URLs checked with the access key below) over `s3s-fs` (objects in a scratch directory), on a
//! TCP socket of 127.0.0.1.

use std::path::{Path, PathBuf};

use burgernet_core::config::Env;
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
    _root: ScratchDir,
}

impl FakeS3 {
    pub async fn start() -> Self {
        let root = ScratchDir::new("s3");
        std::fs::create_dir(root.path().join(BUCKET)).expect("create the bucket");
        let filesystem = s3s_fs::FileSystem::new(root.path()).expect("s3s-fs over the scratch directory");
        let mut builder = S3ServiceBuilder::new(AsS3Answers(filesystem));
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
        Self { endpoint, _root: root }
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

/// s3s-fs, answering unknown multipart uploads as S3 does: 404 `NoSuchUpload` where s3s-fs says
/// `AccessDenied` (with one access key, an upload that is not ours is one that does not exist).
struct AsS3Answers(s3s_fs::FileSystem);

fn no_such_upload(error: S3Error) -> S3Error {
    if *error.code() == S3ErrorCode::AccessDenied { s3_error!(NoSuchUpload) } else { error }
}

#[async_trait::async_trait]
impl S3 for AsS3Answers {
    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.0.put_object(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        self.0.get_object(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.0.head_object(req).await
    }

    async fn copy_object(&self, req: S3Request<CopyObjectInput>) -> S3Result<S3Response<CopyObjectOutput>> {
        self.0.copy_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.0.delete_object(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.0.create_multipart_upload(req).await
    }

    async fn upload_part(&self, req: S3Request<UploadPartInput>) -> S3Result<S3Response<UploadPartOutput>> {
        self.0.upload_part(req).await.map_err(no_such_upload)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.0.complete_multipart_upload(req).await.map_err(no_such_upload)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.0.abort_multipart_upload(req).await.map_err(no_such_upload)
    }
}
