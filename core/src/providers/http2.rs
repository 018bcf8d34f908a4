//! HTTP/2 connections of our own to one push provider's server, shared by the APNs and FCM
//! clients: hyper's connection API over tokio-rustls, instead of hyper-util's pooled client, which
//! multiplexes everything over one connection per host (one connection caps a push provider at
//! its `SETTINGS_MAX_CONCURRENT_STREAMS` in flight).
//!
//! A fixed number of connections, opened on first use and used round-robin; each carries many
//! concurrent streams (hyper queues requests when the server's `SETTINGS_MAX_CONCURRENT_STREAMS`
//! is reached). TLS must agree on ALPN `h2`: there is no HTTP/1.1 fallback. A connection that
//! failed, closed or got GOAWAY is replaced on its next use; a request the connection gave back
//! unsent is sent once more on a fresh connection. Keep-alive pings notice connections that died
//! silently.
//!
//! Errors are [`PushError::Unavailable`] (with [`ProviderAnswer::Connect`], or the status of an
//! answer that could not be read) and name the server (`APNs production`, `FCM`), never the
//! request: its URL or body may hold a device token.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::client::conn::http2::{self, SendRequest};
use hyper::header::HeaderMap;
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::push::PushError;
use super::{ProviderAnswer, error_chain};

const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// An HTTP answer, read whole.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// Reads `response`'s body, refusing more than `max_bytes` (providers' answers are small).
    /// `peer` names the server in errors.
    pub(crate) async fn read(
        response: Response<Incoming>,
        max_bytes: usize,
        peer: &str,
    ) -> Result<Self, PushError> {
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, max_bytes)
            .collect()
            .await
            .map_err(|error| {
                PushError::unavailable(
                    format!("could not read the answer of {peer} (HTTP {}): {error}", parts.status.as_u16()),
                    ProviderAnswer::status(parts.status.as_u16()),
                )
            })?
            .to_bytes();
        Ok(Self { status: parts.status, headers: parts.headers, body })
    }
}

/// One HTTP/2 connection's request handle; clones share the connection.
type Connection = SendRequest<Full<Bytes>>;

/// A provider server and our connections to it.
pub(crate) struct Http2Connections {
    /// The server in error texts and logs: `APNs production`, `FCM`.
    peer: &'static str,
    base_url: String,
    host: String,
    port: u16,
    server_name: ServerName<'static>,
    tls: TlsConnector,
    max_answer_bytes: usize,
    slots: Box<[tokio::sync::Mutex<Option<Connection>>]>,
    next: AtomicUsize,
}

impl Http2Connections {
    /// `connections` connections to the server of `base_url` (`https://host[:port]`, a path is
    /// kept for [`base_url`](Self::base_url)), with `tls`'s trust settings and ALPN `h2`. Answers
    /// larger than `max_answer_bytes` are not read. Opens nothing yet.
    pub(crate) fn new(
        peer: &'static str,
        base_url: &str,
        connections: usize,
        mut tls: rustls::ClientConfig,
        max_answer_bytes: usize,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(connections > 0, "{peer} needs at least one connection");
        let base_url = base_url.trim_end_matches('/').to_string();
        let uri: Uri = base_url.parse().with_context(|| format!("parse the {peer} URL"))?;
        anyhow::ensure!(uri.scheme_str() == Some("https"), "the {peer} URL must be an https:// URL");
        let authority = uri.authority().with_context(|| format!("the {peer} URL has no host"))?;
        let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
        let server_name = ServerName::try_from(host.clone())
            .map_err(|_| anyhow::anyhow!("the {peer} URL's host is not a valid server name"))?;
        tls.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Self {
            peer,
            port: authority.port_u16().unwrap_or(443),
            base_url,
            host,
            server_name,
            tls: TlsConnector::from(Arc::new(tls)),
            max_answer_bytes,
            slots: (0..connections).map(|_| tokio::sync::Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        })
    }

    /// The server's URL without a trailing slash, for building request URIs.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How many connections are kept (at most; they open on first use).
    pub(crate) fn connections(&self) -> usize {
        self.slots.len()
    }

    /// Sends `request` on the next connection in turn and reads the whole answer. No time limit:
    /// callers bound it.
    pub(crate) async fn exchange(&self, mut request: Request<Full<Bytes>>) -> Result<Answer, PushError> {
        // A connection that closed (GOAWAY, an error) before taking the request hands it back
        // unsent; that one request may go out again on a fresh connection.
        let mut unsent_retry_left = true;
        let response = loop {
            let mut connection = self.connection().await?;
            match connection.try_send_request(request).await {
                Ok(response) => break response,
                Err(mut error) => match error.take_message() {
                    Some(unsent) if unsent_retry_left => {
                        unsent_retry_left = false;
                        request = unsent;
                    }
                    _ => {
                        return Err(PushError::unavailable(
                            format!(
                                "the connection to {} broke before an answer: {}",
                                self.peer,
                                error_chain(&error.into_error())
                            ),
                            ProviderAnswer::Connect,
                        ));
                    }
                },
            }
        };
        Answer::read(response, self.max_answer_bytes, self.peer).await
    }

    /// Opens every connection that is not open, so the first requests meet no handshake (and the
    /// server's SETTINGS, which lift the one-stream start, are in).
    pub(crate) async fn open_all(&self) -> Result<(), PushError> {
        for _ in 0..self.slots.len() {
            self.connection().await?;
        }
        Ok(())
    }

    /// The next connection in turn, opened (again) when it is not open.
    async fn connection(&self) -> Result<Connection, PushError> {
        let slot = &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len()];
        // Holding the slot while connecting makes concurrent senders wait for this one connection
        // instead of each opening their own.
        let mut open = slot.lock().await;
        if let Some(sender) = open.as_ref().filter(|sender| !sender.is_closed()) {
            return Ok(sender.clone());
        }
        *open = None;
        let sender = self.connect().await?;
        *open = Some(sender.clone());
        Ok(sender)
    }

    async fn connect(&self) -> Result<Connection, PushError> {
        let peer = self.peer;
        let unavailable = |detail| PushError::unavailable(detail, ProviderAnswer::Connect);
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| unavailable(format!("could not connect to {peer}: {}", error_chain(&error))))?;
        // Requests are small and latency matters more than packet count.
        tcp.set_nodelay(true)
            .map_err(|error| unavailable(format!("could not set up the connection to {peer}: {error}")))?;
        let stream = self.tls.connect(self.server_name.clone(), tcp).await.map_err(|error| {
            if refused_alpn(&error) {
                unavailable(format!("{peer} did not agree to HTTP/2 (it refused ALPN h2)"))
            } else {
                unavailable(format!("TLS with {peer} failed: {}", error_chain(&error)))
            }
        })?;
        if stream.get_ref().1.alpn_protocol() != Some(b"h2".as_slice()) {
            return Err(unavailable(format!("{peer} did not agree to HTTP/2")));
        }
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            // One stream until the server's SETTINGS say how many it takes: streams beyond its
            // limit would be refused (APNs starts token connections with a low limit).
            .initial_max_send_streams(1)
            .keep_alive_interval(KEEP_ALIVE_INTERVAL)
            .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
            .keep_alive_while_idle(true)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|error| unavailable(format!("HTTP/2 with {peer} failed: {}", error_chain(&error))))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(peer, error = %error_chain(&error), "HTTP/2 connection closed");
            }
        });
        Ok(sender)
    }
}

/// Whether the server ended the TLS handshake because it speaks none of our ALPN protocols (a
/// server that offers only HTTP/1.1).
fn refused_alpn(error: &std::io::Error) -> bool {
    error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).is_some_and(|error| {
        matches!(error, rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol))
    })
}
