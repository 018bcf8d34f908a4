//! Staff token keys fetched from the identity provider's JWKS URL
//! (`BURGERNET_STAFF_TOKEN_JWKS_URL`), kept fresh so that a key rotation at the identity provider
//! needs no restart here.
//!
//! The keys are fetched at start and then every [`JwksRefresh::every`] (10 minutes), and at once
//! when a token names a key id the cached keys do not have (a new key in use before our next
//! scheduled fetch). Fetches, whatever their cause, are at least [`JwksRefresh::at_most_every`]
//! (30 seconds) apart, so tokens with made-up key ids cannot make us hammer the identity provider.
//! A fetch that fails (unreachable, an error status, not a usable JWKS document) keeps the last good
//! keys and is logged; until the first fetch succeeds, no staff token verifies.

use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header;
use hyper::{Method, Request, StatusCode, Uri};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::keys::StaffKeys;
use crate::providers::http1::Http1Client;

/// JWKS documents larger than this are not read: real ones hold a few keys, a few KiB.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// How often the keys are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwksRefresh {
    /// The scheduled fetch: every 10 minutes.
    pub every: Duration,
    /// The least time between two fetches, scheduled or for an unknown key id: 30 seconds.
    pub at_most_every: Duration,
    /// How long one fetch may take, from connecting to the last byte: 5 seconds.
    pub timeout: Duration,
}

impl Default for JwksRefresh {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(10 * 60),
            at_most_every: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Where the identity provider publishes its keys, and how often to fetch them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksUrl {
    pub url: String,
    pub refresh: JwksRefresh,
}

impl JwksUrl {
    /// An `https://` URL (a query is allowed: some identity providers name a policy in it), or an
    /// `http://` one on this machine only: keys fetched over plain HTTP from elsewhere could be
    /// swapped on the way, and with them anyone could sign staff tokens. The value is not echoed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = "expected an https:// URL such as https://idp.example.nl/realms/politie/protocol/openid-connect/certs \
                        (http:// only on 127.0.0.1, ::1 or localhost), without user name, password or fragment";
        let url = url::Url::parse(raw).map_err(|_| expected.to_string())?;
        let local = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name == "localhost",
            None => false,
        };
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
        if !scheme_ok || url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
            return Err(expected.into());
        }
        if url.fragment().is_some() {
            return Err(expected.into());
        }
        raw.parse::<Uri>().map_err(|_| expected.to_string())?;
        Ok(Self { url: raw.to_string(), refresh: JwksRefresh::default() })
    }
}

/// The identity provider's keys as last fetched. Cheap to clone: clones share the cache.
#[derive(Clone)]
pub struct RemoteJwks {
    inner: Arc<Inner>,
}

struct Inner {
    url: Uri,
    client: Http1Client,
    refresh: JwksRefresh,
    /// The last good keys; none before the first successful fetch.
    keys: RwLock<Option<Arc<StaffKeys>>>,
    /// When the last fetch began. Held while fetching, so concurrent callers wait for that fetch
    /// instead of starting their own.
    last_fetch: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for RemoteJwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwks")
            .field("url", &self.inner.url.to_string())
            .field("refresh", &self.inner.refresh)
            .field("keys", &self.current())
            .finish()
    }
}

impl RemoteJwks {
    /// Starts fetching the keys now and every `refresh.every` after, on the current tokio runtime,
    /// for as long as a clone of the returned value lives.
    pub fn start(source: &JwksUrl) -> anyhow::Result<Self> {
        let url: Uri = source.url.parse()?;
        let inner = Arc::new(Inner {
            client: Http1Client::new(&url, source.refresh.timeout)?,
            url,
            refresh: source.refresh,
            keys: RwLock::new(None),
            last_fetch: Mutex::new(None),
        });
        tokio::spawn(refresh_on_schedule(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The keys to verify a token with: the cached ones, fetched anew first when the token names
    /// a key id they do not have (unless a fetch was made too recently). None until a fetch has
    /// succeeded.
    pub async fn keys_for(&self, key_id: Option<&str>) -> Option<Arc<StaffKeys>> {
        let known = self.current().filter(|keys| key_id.is_none_or(|id| keys.has_key_id(id)));
        if known.is_some() {
            return known;
        }
        self.fetch_unless_recent(key_id).await;
        self.current()
    }

    fn current(&self) -> Option<Arc<StaffKeys>> {
        self.inner.keys.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Fetches the keys, unless the last fetch began less than `at_most_every` ago or, for a
    /// token's key id, a fetch while we waited brought that key.
    async fn fetch_unless_recent(&self, key_id: Option<&str>) {
        let mut last_fetch = self.inner.last_fetch.lock().await;
        if let (Some(id), Some(keys)) = (key_id, self.current())
            && keys.has_key_id(id)
        {
            return;
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.inner.refresh.at_most_every) {
            return;
        }
        *last_fetch = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(url = %self.inner.url, ?keys, "fetched the staff token keys");
                *self.inner.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(keys));
            }
            Err(problem) => tracing::warn!(
                url = %self.inner.url,
                problem,
                "could not fetch the staff token keys; the last good keys stay in use"
            ),
        }
    }

    async fn fetch(&self) -> Result<StaffKeys, String> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(self.inner.url.clone())
            .header(header::ACCEPT, "application/jwk-set+json, application/json")
            .header(header::USER_AGENT, concat!("burgernet/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::new()))
            .map_err(|error| format!("could not build the request: {error}"))?;
        let (parts, body) =
            self.inner.client.exchange(request, MAX_JWKS_BYTES).await.map_err(|failed| failed.detail)?;
        if parts.status != StatusCode::OK {
            return Err(format!("HTTP {}", parts.status.as_u16()));
        }
        StaffKeys::parse_jwks(&body)
    }
}

async fn refresh_on_schedule(inner: Weak<Inner>) {
    loop {
        let Some(inner) = inner.upgrade() else { return };
        let every = inner.refresh.every;
        RemoteJwks { inner }.fetch_unless_recent(None).await;
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_urls_are_https_or_local() {
        for good in [
            "https://idp.politie.nl/realms/politie/protocol/openid-connect/certs",
            "https://tenant.b2clogin.com/tenant.onmicrosoft.com/discovery/v2.0/keys?p=b2c_1_signin",
            "http://127.0.0.1:8089/jwks",
            "http://localhost/jwks",
            "http://[::1]:9000/jwks",
        ] {
            assert_eq!(JwksUrl::parse(good).map(|url| url.url), Ok(good.to_string()));
        }
        for bad in [
            "http://idp.politie.nl/certs",
            "ftp://idp.politie.nl/certs",
            "https://user:hunter2@idp.politie.nl/certs",
            "https://idp.politie.nl/certs#keys",
            "idp.politie.nl/certs",
            "",
        ] {
            let problem = JwksUrl::parse(bad).unwrap_err();
            assert!(!problem.contains("hunter2"), "{problem}");
        }
    }
}
