//! Fixed-window rate limits, counted in the database so every API process shares them. Keys carry
//! a keyed hash of what is limited, so the counters table holds no phone numbers, addresses or
//! ids, and none can be found by trying every number or id without the server's key. Windows are
//! the clock's hours: a counter's start says in which hour it began, not which request began it,
//! so it cannot be joined to the row (an anonymous tip) written by that request.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::sign_in as queries;
use crate::secret::Secret;

pub const WINDOW: Duration = Duration::from_secs(3600);

/// The key of the counters' hashes, derived from a server secret.
#[derive(Clone)]
pub struct CounterKey(Secret<Vec<u8>>);

impl CounterKey {
    /// The key for `secret`, apart from every other key derived from it.
    pub fn derive(secret: &[u8]) -> Self {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        derive.update(b"burgernet rate limit counter key");
        Self(Secret::new(derive.finalize().into_bytes().to_vec()))
    }

    fn counter(&self, kind: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose()).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        let hex: String =
            mac.finalize().into_bytes().iter().take(16).map(|byte| format!("{byte:02x}")).collect();
        format!("{kind}:{hex}")
    }
}

impl fmt::Debug for CounterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CounterKey([redacted])")
    }
}

/// Counts one request of `kind` for `value` in the current hour. Over `limit`, answers how long to
/// wait until the window ends.
pub async fn count(
    conn: &mut AsyncPgConnection,
    key: &CounterKey,
    kind: &str,
    value: &str,
    limit: i32,
) -> diesel::QueryResult<Option<Duration>> {
    let window = queries::count_request(conn, &key.counter(kind, value)).await?;
    Ok((window.hits > limit).then(|| until(window.database_now, window.window_started_at + WINDOW)))
}

/// Whom a per-client limit counts: an IPv4 address, or the /64 network of an IPv6 address (one
/// subscriber's line gets a whole /64, so single IPv6 addresses would be endless fresh clients).
pub fn client_of(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

/// Whole seconds from `now` to `moment`, at least one.
pub fn until(now: DateTime<Utc>, moment: DateTime<Utc>) -> Duration {
    let seconds = (moment - now).num_milliseconds().max(0) as u64;
    Duration::from_secs(seconds.div_ceil(1000).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds_and_are_never_zero() {
        let now = Utc::now();
        assert_eq!(until(now, now + chrono::Duration::milliseconds(1500)), Duration::from_secs(2));
        assert_eq!(until(now, now - chrono::Duration::seconds(5)), Duration::from_secs(1));
    }

    #[test]
    fn an_ipv6_client_is_its_64_network() {
        let client = |raw: &str| client_of(raw.parse().unwrap());
        assert_eq!(client("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(client("2001:db8:1:2:ffff:1:2:3"), client("2001:db8:1:2::9"));
        assert_ne!(client("2001:db8:1:3::1"), client("2001:db8:1:2::1"));
        assert_eq!(client("192.0.2.7"), "192.0.2.7");
        assert_eq!(client("::ffff:192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn keys_hide_the_value_behind_the_server_key() {
        let key = CounterKey::derive(b"a server secret of enough random text");
        let limited = key.counter("sign-in:phone", "+31612345678");
        assert!(limited.starts_with("sign-in:phone:"));
        assert!(!limited.contains("612345678"));
        assert_ne!(limited, key.counter("sign-in:phone", "+31612345679"));
        assert_ne!(limited, key.counter("sign-in:client", "+31612345678"));
        let other = CounterKey::derive(b"another server secret of random text");
        assert_ne!(limited, other.counter("sign-in:phone", "+31612345678"), "without the key, no match");
    }
}
