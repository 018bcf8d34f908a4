//! A pooled HTTP/1.1 client for the providers we reach with one request and one answer: the SMS
//! gateway, and the identity provider's signing keys (`auth::jwks`). https goes over rustls with
//! the system's certificate authorities ([`super::tls_client_config`]); plain http loads no
//! certificates at all. Every exchange has one time limit, from connecting to the last byte of the
//! answer, and answers larger than the caller allows are not read.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::http::response::Parts;
use hyper::{Request, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{ProviderAnswer, error_chain};

/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Http1Client {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl Http1Client {
    /// A client for the scheme of `endpoint` (https or http) whose exchanges take at most
    /// `timeout`.
    pub fn new(endpoint: &Uri, timeout: Duration) -> anyhow::Result<Self> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(timeout));
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let connector = if endpoint.scheme_str() == Some("https") {
            // hyper-rustls sets ALPN (http/1.1) itself.
            builder
                .with_tls_config(super::tls_client_config()?)
                .https_only()
                .enable_http1()
                .wrap_connector(http)
        } else {
            // Plain HTTP (a local relay, the tests): no certificates are needed, and none are
            // loaded, so this also works on machines without a CA bundle.
            builder
                .with_tls_config(plain_http_only_tls()?)
                .https_or_http()
                .enable_http1()
                .wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(Self { client, timeout })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` and reads the whole answer, at most `max_body_bytes` of it, within the
    /// time limit.
    pub async fn exchange(
        &self,
        request: Request<Full<Bytes>>,
        max_body_bytes: usize,
    ) -> Result<(Parts, Bytes), ExchangeFailed> {
        let exchange = async {
            let response = self.client.request(request).await.map_err(|error| {
                let what = if error.is_connect() { "could not connect" } else { "the request failed" };
                // hyper-util's own text ("client error (Connect)") adds nothing to its cause's.
                let cause = error_chain(std::error::Error::source(&error).unwrap_or(&error));
                ExchangeFailed { detail: format!("{what}: {cause}"), answer: ProviderAnswer::Connect }
            })?;
            let (parts, body) = response.into_parts();
            let bytes = Limited::new(body, max_body_bytes)
                .collect()
                .await
                .map_err(|error| {
                    let status = parts.status.as_u16();
                    ExchangeFailed {
                        detail: format!("could not read the response (HTTP {status}): {error}"),
                        answer: ProviderAnswer::status(status),
                    }
                })?
                .to_bytes();
            Ok((parts, bytes))
        };
        tokio::time::timeout(self.timeout, exchange).await.map_err(|_| ExchangeFailed {
            detail: format!("no response within {}", humantime::format_duration(self.timeout)),
            answer: ProviderAnswer::Timeout,
        })?
    }
}

/// Why an exchange brought no whole answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeFailed {
    /// What failed, in words fit for logs (they come from the network stack, never from the
    /// request): `could not connect: ...`, `the request failed: ...`, `could not read the response
    /// (HTTP 200): ...` or `no response within 10s`.
    pub detail: String,
    /// [`ProviderAnswer::Connect`], [`ProviderAnswer::Timeout`], or the status of an answer whose
    /// body could not be read.
    pub answer: ProviderAnswer,
}

/// A TLS config that trusts nobody, for a connector that only ever speaks plain HTTP.
fn plain_http_only_tls() -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}
