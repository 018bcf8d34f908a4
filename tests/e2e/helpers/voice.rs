//! The fake voice gateway (`burgernet_fakes::voice`) as our client sees it: a client configuration
//! and a sender pointing at it (core types, which the fakes crate does not know). And a receiver
//! for the call statuses it posts, keeping each request as it came.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use burgernet_core::providers::voice::{HttpVoiceGateway, VoiceGatewayConfig, VoiceSender};
use burgernet_core::secret::Secret;
pub use burgernet_fakes::voice::{CallOutcomeFake, FakeVoiceGateway, ReceivedCall};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub trait VoiceGatewayExt {
    /// A client configuration pointing at this gateway: its key, caller id and webhook secret, and
    /// a 5 s timeout.
    fn voice_gateway_config(&self) -> VoiceGatewayConfig;

    /// A real client for this gateway, built from [`Self::voice_gateway_config`].
    fn voice_sender(&self) -> VoiceSender {
        VoiceSender::Gateway(
            HttpVoiceGateway::new(self.voice_gateway_config()).expect("build the voice client"),
        )
    }
}

impl VoiceGatewayExt for FakeVoiceGateway {
    fn voice_gateway_config(&self) -> VoiceGatewayConfig {
        VoiceGatewayConfig {
            base_url: self.base_url().to_string(),
            api_key: Secret::new(self.api_key().to_string()),
            caller_id: self.caller_id().to_string(),
            timeout: Duration::from_secs(5),
            webhook_secret: Secret::new(self.webhook_secret().to_string()),
            previous_webhook_secret: None,
        }
    }
}

/// A webhook request as it arrived.
#[derive(Debug, Clone)]
pub struct ReceivedWebhook {
    pub path: String,
    /// `X-Signature-Timestamp`.
    pub timestamp: Option<String>,
    /// `X-Signature`.
    pub signature: Option<String>,
    pub body: Bytes,
}

/// A plain HTTP server on 127.0.0.1 that keeps every request and answers `204`; stops when
/// dropped. A request is kept before it is answered, so once the sender has its answer the
/// request is here.
pub struct WebhookReceiver {
    url: String,
    received: Arc<Mutex<Vec<ReceivedWebhook>>>,
    server: JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for the receiver");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn({
            let received = received.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let received = received.clone();
                    let service = hyper::service::service_fn(move |request| keep(request, received.clone()));
                    tokio::spawn(
                        hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service),
                    );
                }
            }
        });
        Self { url, received, server }
    }

    /// `http://127.0.0.1:<port>{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The requests so far, in the order they arrived.
    pub fn received(&self) -> Vec<ReceivedWebhook> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn keep(
    request: Request<Incoming>,
    received: Arc<Mutex<Vec<ReceivedWebhook>>>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let header =
        |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_string);
    let webhook = ReceivedWebhook {
        path: parts.uri.path().to_string(),
        timestamp: header("X-Signature-Timestamp"),
        signature: header("X-Signature"),
        body: body.collect().await?.to_bytes(),
    };
    received.lock().unwrap().push(webhook);
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    Ok(response)
}
