//! Keeping to what each provider allows: a rate per provider, shared by every worker process, and
//! the pauses a provider asks for.
//!
//! - **Rate**: a token bucket per provider in the database (`provider_rate_buckets`), refilled at
//!   the configured rate and holding at most a tenth of a second's worth, so the rate holds
//!   however many worker processes send. A process takes a share of the tokens at a time
//!   (a twentieth of a second's worth, once it has gathered), so the database is asked about
//!   twenty times a second per provider, not once a message. FCM's default project quota is 600,000 messages a minute;
//!   APNs publishes none (no rate unless one is set); SMS gateways take about 200–500 a second per
//!   account.
//! - **Pauses**: a `Retry-After` pauses that provider for this process (with up to 20% jitter on
//!   top, so processes do not come back in step), and FCM's `QUOTA_EXCEEDED` for at least a minute,
//!   as Google asks. A hand-over that meets a short pause waits it out; one that meets a long one is
//!   deferred to the job's next run, so its lane slot is not held.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;

use crate::backoff::Backoff;
use crate::db::{DbPool, provider_quotas};
use crate::providers::push::PushError;
use crate::providers::sms::SmsError;

/// Messages per second a provider may be sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
}

impl Rate {
    /// `500/s`, `600000/min` or `36000/h`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || format!("expected a rate such as 500/s or 600000/min, got {raw:?}");
        let (count, unit) = raw.split_once('/').ok_or_else(expected)?;
        let count: f64 = count.trim().replace('_', "").parse().map_err(|_| expected())?;
        let seconds = match unit.trim() {
            "s" => 1.0,
            "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(expected()),
        };
        if !(count.is_finite() && count > 0.0) {
            return Err(format!("must be more than zero, got {raw:?}"));
        }
        Ok(Self { per_second: count / seconds })
    }

    /// The most tokens the shared bucket holds: a tenth of a second's worth (at least one), so
    /// an idle spell is not followed by a burst above the rate.
    fn burst(self) -> f64 {
        (self.per_second / 10.0).max(1.0)
    }

    /// The tokens one process takes at a time: a twentieth of a second's worth (at least one).
    fn share(self) -> u32 {
        (self.per_second / 20.0).clamp(1.0, 10_000.0) as u32
    }
}

/// A token bucket's state: its tokens, as of when it was last refilled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketState {
    pub tokens: f64,
    pub refilled_at: DateTime<Utc>,
}

/// What taking from a bucket gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Taken {
    /// Tokens granted: all that were asked for, or none.
    pub granted: u32,
    pub left: BucketState,
    /// With nothing granted: when enough will be there.
    pub next_token_in: Option<Duration>,
}

/// Refills the bucket for the time since it was last refilled (up to the rate's burst), then
/// takes `wanted` tokens if they are there, else nothing: a drained bucket is not handed out a
/// token at a time (a database round trip each), but in shares, when one has gathered.
pub fn take_tokens(rate: Rate, state: BucketState, now: DateTime<Utc>, wanted: u32) -> Taken {
    let elapsed = (now - state.refilled_at).to_std().unwrap_or_default().as_secs_f64();
    let tokens = (state.tokens + elapsed * rate.per_second).min(rate.burst());
    let wanted = f64::from(wanted).min(rate.burst().floor()).max(1.0);
    let granted = if tokens >= wanted { wanted as u32 } else { 0 };
    let left = BucketState { tokens: tokens - f64::from(granted), refilled_at: now.max(state.refilled_at) };
    let next_token_in =
        (granted == 0).then(|| Duration::from_secs_f64(((wanted - tokens) / rate.per_second).max(0.0)));
    Taken { granted, left, next_token_in }
}

/// How long a provider asked to be left alone, from a push error: its `Retry-After` (on a 429 or
/// a 5xx), and for FCM's `QUOTA_EXCEEDED` at least a minute. A 429 without either (APNs
/// `TooManyRequests`: too many pushes to one device) pauses nothing: that push is retried with
/// backoff.
pub fn push_pause(error: &PushError) -> Option<Duration> {
    let quota_exceeded = matches!(error, PushError::RateLimited { reason, .. } if reason == "QUOTA_EXCEEDED");
    match (error.retry_after(), quota_exceeded) {
        (after, true) => Some(after.unwrap_or_default().max(QUOTA_EXCEEDED_PAUSE)),
        (Some(after), false) => Some(after),
        (None, false) => None,
    }
}

/// How long the SMS gateway asked to be left alone (`Retry-After` on a 429 or 503).
pub fn sms_pause(error: &SmsError) -> Option<Duration> {
    error.retry_after()
}

/// Google asks senders who exceed the project's FCM quota to back off for at least a minute.
pub const QUOTA_EXCEEDED_PAUSE: Duration = Duration::from_secs(60);

/// The longest pause a hand-over waits out; after a longer one it is deferred to the job's next
/// run.
pub const LONGEST_WAIT_IN_A_RUN: Duration = Duration::from_secs(10);

/// The longest pause honoured: a provider asking for more is asked again after this.
const LONGEST_PAUSE: Duration = Duration::from_secs(300);

/// Jitter on top of pauses.
const PAUSE_JITTER: f64 = 0.2;

/// One provider as this process sees it: its shared rate and its pause.
pub struct ProviderGate {
    /// The provider's key in `provider_rate_buckets`.
    name: &'static str,
    rate: Option<Rate>,
    pool: DbPool,
    /// Tokens this process took from the shared bucket and has not used yet.
    allowance: tokio::sync::Mutex<u32>,
    paused_until: Mutex<Option<Instant>>,
}

/// A hand-over that should not go now: the provider is paused for this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferred {
    pub for_at_least: Duration,
}

impl ProviderGate {
    pub fn new(name: &'static str, rate: Option<Rate>, pool: DbPool) -> Self {
        Self { name, rate, pool, allowance: tokio::sync::Mutex::new(0), paused_until: Mutex::new(None) }
    }

    /// Waits until one message may go to the provider: a pause up to [`LONGEST_WAIT_IN_A_RUN`]
    /// is waited out, a longer one defers the message; then a token of the rate is taken.
    pub async fn admit(&self) -> Result<(), Deferred> {
        if let Some(remaining) = self.pause_remaining() {
            if remaining > LONGEST_WAIT_IN_A_RUN {
                return Err(Deferred { for_at_least: remaining });
            }
            tokio::time::sleep(remaining).await;
        }
        let Some(rate) = self.rate else { return Ok(()) };
        let mut allowance = self.allowance.lock().await;
        while *allowance == 0 {
            match self.take_share(rate).await {
                Ok(taken) if taken.granted > 0 => *allowance = taken.granted,
                Ok(taken) => tokio::time::sleep(taken.next_token_in.unwrap_or_default()).await,
                Err(error) => {
                    tracing::warn!(provider = self.name, %error, "could not take from the provider's quota");
                    return Err(Deferred { for_at_least: Duration::from_secs(1) });
                }
            }
        }
        *allowance -= 1;
        Ok(())
    }

    async fn take_share(&self, rate: Rate) -> anyhow::Result<Taken> {
        let mut conn = self.pool.get().await?;
        let name = self.name;
        let taken = conn
            .transaction(async |conn| {
                let stored = provider_quotas::lock_bucket(conn, name, rate.burst()).await?;
                let state = BucketState { tokens: stored.tokens, refilled_at: stored.refilled_at };
                let taken = take_tokens(rate, state, stored.now, rate.share());
                provider_quotas::store_bucket(conn, name, taken.left.tokens, taken.left.refilled_at).await?;
                Ok::<_, diesel::result::Error>(taken)
            })
            .await?;
        Ok(taken)
    }

    /// The provider asked to be left alone for `wait`: nothing goes to it from this process until
    /// then (plus jitter), nor for longer than [`LONGEST_PAUSE`].
    pub fn pause(&self, wait: Duration) {
        let wait = Backoff::spread_with(PAUSE_JITTER, wait, rand::random()).min(LONGEST_PAUSE);
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        *paused = Some(paused.map_or(until, |current| current.max(until)));
    }

    /// How much of a pause is left, if any.
    pub fn pause_remaining(&self) -> Option<Duration> {
        let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        paused.and_then(|until| until.checked_duration_since(Instant::now())).filter(|left| !left.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderAnswer;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    #[test]
    fn rates_are_read_per_second_minute_or_hour() {
        assert_eq!(Rate::parse("500/s").unwrap().per_second, 500.0);
        assert_eq!(Rate::parse("600000/min").unwrap().per_second, 10_000.0);
        assert_eq!(Rate::parse("600_000/min").unwrap().per_second, 10_000.0);
        assert_eq!(Rate::parse("36000/h").unwrap().per_second, 10.0);
        for wrong in ["500", "500/day", "fast/s", "0/s", "-5/s", "inf/s"] {
            assert!(Rate::parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn a_bucket_refills_at_the_rate_and_holds_a_tenth_of_a_second() {
        let rate = Rate { per_second: 500.0 };
        let empty = BucketState { tokens: 0.0, refilled_at: at(0) };
        // 50 ms at 500/s: 25 tokens, a share.
        let taken = take_tokens(rate, empty, at(50), 25);
        assert_eq!(taken.granted, 25);
        assert_eq!(taken.left, BucketState { tokens: 0.0, refilled_at: at(50) });
        // A long idle spell fills it to 50 (0.1 s), no more.
        let full = take_tokens(rate, empty, at(60_000), 25).left;
        assert_eq!(full.tokens, 25.0);
        // Asking for more than it can ever hold gets what it holds at most.
        assert_eq!(take_tokens(rate, empty, at(60_000), 1_000).granted, 50);
    }

    #[test]
    fn a_drained_bucket_hands_out_shares_not_single_tokens() {
        let rate = Rate { per_second: 500.0 };
        // 20 ms: 10 of the 25 wanted are there; nothing yet, and the rest takes 30 ms.
        let taken = take_tokens(rate, BucketState { tokens: 0.0, refilled_at: at(0) }, at(20), 25);
        assert_eq!(taken.granted, 0);
        assert_eq!(taken.next_token_in, Some(Duration::from_millis(30)));
        // What was there stays.
        assert!((taken.left.tokens - 10.0).abs() < 1e-9);
        assert_eq!(take_tokens(rate, taken.left, at(50), 25).granted, 25);
    }

    #[test]
    fn over_a_second_the_grants_add_up_to_the_rate() {
        let rate = Rate { per_second: 500.0 };
        let mut state = BucketState { tokens: 0.0, refilled_at: at(0) };
        let mut granted = 0;
        // Processes asking every millisecond for their share.
        for ms in 1..=1_000 {
            let taken = take_tokens(rate, state, at(ms), rate.share());
            granted += taken.granted;
            state = taken.left;
        }
        // One second at the rate, but for what is still in the bucket (less than a share).
        assert!(state.tokens < f64::from(rate.share()), "{state:?}");
        assert!((f64::from(granted) + state.tokens - 500.0).abs() < 1e-6, "{granted} granted, {state:?}");
    }

    #[test]
    fn a_clock_that_went_back_grants_nothing_extra() {
        let rate = Rate { per_second: 500.0 };
        let taken = take_tokens(rate, BucketState { tokens: 30.0, refilled_at: at(1_000) }, at(0), 25);
        assert_eq!(taken.granted, 25);
        assert_eq!(taken.left, BucketState { tokens: 5.0, refilled_at: at(1_000) });
    }

    #[test]
    fn pauses_follow_the_providers_rules() {
        let limited = |reason: &str, after: Option<u64>| PushError::RateLimited {
            reason: reason.into(),
            retry_after: after.map(Duration::from_secs),
            answer: ProviderAnswer::coded(429, reason),
        };
        // FCM's quota: at least a minute, longer when asked.
        assert_eq!(push_pause(&limited("QUOTA_EXCEEDED", None)), Some(Duration::from_secs(60)));
        assert_eq!(push_pause(&limited("QUOTA_EXCEEDED", Some(5))), Some(Duration::from_secs(60)));
        assert_eq!(push_pause(&limited("QUOTA_EXCEEDED", Some(90))), Some(Duration::from_secs(90)));
        // Retry-After otherwise.
        assert_eq!(
            push_pause(&limited("TooManyProviderTokenUpdates", Some(3))),
            Some(Duration::from_secs(3))
        );
        let unavailable = PushError::Unavailable {
            detail: "HTTP 503".into(),
            retry_after: Some(Duration::from_secs(2)),
            answer: ProviderAnswer::status(503),
        };
        assert_eq!(push_pause(&unavailable), Some(Duration::from_secs(2)));
        // Too many pushes to one device says nothing about the others.
        assert_eq!(push_pause(&limited("TooManyRequests", None)), None);
        let rejected = PushError::Rejected {
            status: 400,
            reason: "BadTopic".into(),
            answer: Some(ProviderAnswer::coded(400, "BadTopic")),
        };
        assert_eq!(push_pause(&rejected), None);
    }
}
