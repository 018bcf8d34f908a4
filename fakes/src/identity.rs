//! `FakeIdentityProvider`: a real HTTP/1.1 server on 127.0.0.1 that publishes a JWKS document the
//! way an organisation's identity provider does (Keycloak's `.../protocol/openid-connect/certs`,
//! Azure AD's `.../discovery/v2.0/keys`), so the client that fetches staff token keys runs
//! against a real socket. The test decides what the document holds and changes it to rotate keys.
//!
//! ```ignore
//! let idp = FakeIdentityProvider::start(&jwks).await;
//! // ... point BURGERNET_STAFF_TOKEN_JWKS_URL at idp.jwks_url() ...
//! idp.publish(&rotated_jwks);                          // the next fetch gets the new keys
//! idp.faults().fail_next(1, Fault::ServerError);      // the next fetch gets 503
//! assert_eq!(idp.fetches(), 2);
//! ```
//!
//! `GET /jwks` answers `200` with the document (`Content-Type: application/json`), or the fault
//! [`Faults`] draws: `503`, `429` with `Retry-After`, or a connection closed without an answer.
//! Anything else is `404` or `405`.

use std::sync::{Arc, Mutex, PoisonError};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::faults::{Fault, Faults};
use crate::http1::{self, DroppedConnection};

struct Shared {
    jwks: Mutex<String>,
    fetches: Mutex<usize>,
    faults: Faults,
}

/// The fake identity provider; stops when dropped.
pub struct FakeIdentityProvider {
    jwks_url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl FakeIdentityProvider {
    /// Starts on a free port of 127.0.0.1, publishing `jwks`.
    pub async fn start(jwks: &str) -> Self {
        let shared = Arc::new(Shared {
            jwks: Mutex::new(jwks.to_string()),
            fetches: Mutex::new(0),
            faults: Faults::default(),
        });
        let listener =
            TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for the fake identity provider");
        let address = listener.local_addr().expect("the fake identity provider's address");
        let server = tokio::spawn(http1::serve(listener, {
            let shared = shared.clone();
            move |request| answer(request, shared.clone())
        }));
        Self { jwks_url: format!("http://{address}/jwks"), shared, server }
    }

    /// Where the keys are published: `http://127.0.0.1:<port>/jwks`.
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// From now on, the keys published are `jwks`.
    pub fn publish(&self, jwks: &str) {
        *self.shared.jwks.lock().unwrap_or_else(PoisonError::into_inner) = jwks.to_string();
    }

    /// Requests for the keys so far, failed ones included.
    pub fn fetches(&self) -> usize {
        *self.shared.fetches.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The failures and latency to apply to `GET /jwks`.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }
}

impl Drop for FakeIdentityProvider {
    fn drop(&mut self) {
        // Aborting the accept loop drops its set of connections, which aborts them too.
        self.server.abort();
    }
}

async fn answer(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, DroppedConnection> {
    if request.uri().path() != "/jwks" {
        return Ok(plain(StatusCode::NOT_FOUND, "Not Found"));
    }
    if request.method() != Method::GET {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
        return Ok(response);
    }
    *shared.fetches.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match shared.faults.draw() {
        Some(Fault::ServerError) => return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")),
        Some(Fault::RateLimited { retry_after_seconds }) => {
            let mut response = plain(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            return Ok(response);
        }
        Some(Fault::DropConnection) => return Err(DroppedConnection),
        None => {}
    }
    let jwks = shared.jwks.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut response = Response::new(Full::new(Bytes::from(jwks)));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    Ok(response)
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}
