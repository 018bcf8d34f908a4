//! Fixed-window rate limits, counted in the database so every API process shares them. Keys carry
//! a hash of what is limited, so the counters table holds no phone numbers, addresses or ids.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};

use crate::db::sign_in as queries;

pub const WINDOW: Duration = Duration::from_secs(3600);

fn key(kind: &str, value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    format!("{kind}:{hex}")
}

/// Counts one request of `kind` for `value` in the current hour. Over `limit`, answers how long to
/// wait until the window ends.
pub async fn count(
    conn: &mut AsyncPgConnection,
    kind: &str,
    value: &str,
    limit: i32,
) -> diesel::QueryResult<Option<Duration>> {
    let window = queries::count_request(conn, &key(kind, value), WINDOW).await?;
    Ok((window.hits > limit).then(|| until(window.database_now, window.window_started_at + WINDOW)))
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
    fn keys_hide_the_value() {
        let limited = key("sign-in:phone", "+31612345678");
        assert!(limited.starts_with("sign-in:phone:"));
        assert!(!limited.contains("612345678"));
        assert_ne!(limited, key("sign-in:phone", "+31612345679"));
    }
}
