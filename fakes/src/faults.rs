//! What a fake should do to a request instead of, or before, answering it normally. Every fake
//! owns one [`Faults`]; tests and the benchmark set it through the fake's handle:
//!
//! ```ignore
//! fake.faults().set_latency(Duration::from_millis(20));      // every answer 20 ms later
//! fake.faults().fail_next(2, Fault::ServerError);            // the next two requests get 5xx
//! fake.faults().set_rates(Rates { server_error: 0.3, rate_limited: 0.05, ..Rates::default() });
//! ```
//!
//! Queued failures come first, then the random rates. What each fault looks like on the wire is the
//! fake's business (each answers like its provider).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// A failure a fake can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The provider's 5xx (APNs 503 ServiceUnavailable, FCM 503 UNAVAILABLE, gateway 503).
    ServerError,
    /// The provider's 429 with `Retry-After: retry_after_seconds`.
    RateLimited { retry_after_seconds: u64 },
    /// The connection is dropped without an answer (after reading the request).
    DropConnection,
}

/// Chances (0 to 1) that a request meets each fault.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rates {
    pub server_error: f64,
    pub rate_limited: f64,
    /// The `Retry-After` sent with random 429s.
    pub retry_after_seconds: u64,
    pub drop_connection: f64,
}

#[derive(Debug, Default)]
struct State {
    queued: VecDeque<Fault>,
    rates: Rates,
    latency: Duration,
}

#[derive(Debug, Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next `count` requests meet `fault`, before any random fault.
    pub fn fail_next(&self, count: usize, fault: Fault) {
        self.state().queued.extend(std::iter::repeat_n(fault, count));
    }

    pub fn set_rates(&self, rates: Rates) {
        self.state().rates = rates;
    }

    /// How long every answer waits from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.state().latency = latency;
    }

    pub fn latency(&self) -> Duration {
        self.state().latency
    }

    /// Clears queued faults, rates and latency.
    pub fn clear(&self) {
        *self.state() = State::default();
    }

    /// Decides the fate of one request: a fault, or `None` to answer normally.
    pub fn draw(&self) -> Option<Fault> {
        let mut state = self.state();
        if let Some(fault) = state.queued.pop_front() {
            return Some(fault);
        }
        let rates = state.rates;
        drop(state);
        let roll: f64 = rand::random();
        if roll < rates.server_error {
            Some(Fault::ServerError)
        } else if roll < rates.server_error + rates.rate_limited {
            Some(Fault::RateLimited { retry_after_seconds: rates.retry_after_seconds })
        } else if roll < rates.server_error + rates.rate_limited + rates.drop_connection {
            Some(Fault::DropConnection)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_first_then_the_rates() {
        let faults = Faults::default();
        faults.fail_next(2, Fault::ServerError);
        faults.set_rates(Rates { rate_limited: 1.0, retry_after_seconds: 3, ..Rates::default() });
        assert_eq!(faults.draw(), Some(Fault::ServerError));
        assert_eq!(faults.draw(), Some(Fault::ServerError));
        assert_eq!(faults.draw(), Some(Fault::RateLimited { retry_after_seconds: 3 }));
        faults.clear();
        assert_eq!(faults.draw(), None);
    }

    #[test]
    fn rates_are_roughly_honoured() {
        let faults = Faults::default();
        faults.set_rates(Rates { server_error: 0.3, ..Rates::default() });
        let failures = (0..10_000).filter(|_| faults.draw().is_some()).count();
        assert!((2_500..3_500).contains(&failures), "{failures}");
    }
}
