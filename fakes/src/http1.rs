//! The plain HTTP/1.1 server under the fakes that speak it (the SMS gateway, the identity
//! provider): one accept loop, each connection served by the fake's handler.

use std::future::Future;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The fault that closes the connection without an answer: hyper drops a connection whose
/// service fails.
#[derive(Debug)]
pub(crate) struct DroppedConnection;

impl std::fmt::Display for DroppedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DroppedConnection {}

/// Accepts connections on `listener` until the task is aborted (which aborts the connections
/// too), answering every request with `handle`.
pub(crate) async fn serve<F, Answer>(listener: TcpListener, handle: F)
where
    F: Fn(Request<Incoming>) -> Answer + Clone + Send + 'static,
    Answer: Future<Output = Result<Response<Full<Bytes>>, DroppedConnection>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors, say: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let handle = handle.clone();
        connections.spawn(async move {
            // A connection ending early (our client gave up, or a dropped-connection fault) is
            // part of what the fakes are for.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}
