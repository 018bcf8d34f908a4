//! How long to wait before trying again: one rule for the whole program (a job's next attempt, a
//! delivery's next round, a provider's pause). The wait doubles with every attempt up to a cap,
//! and a random part of it is taken off, so work that failed together does not come back
//! together ("in step") and storm the provider or the database again.

use std::time::Duration;

/// The shape of one kind of wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait, however many failures.
    pub cap: Duration,
    /// The share of the wait that jitter may take off (0 to 1).
    pub jitter: f64,
}

impl Backoff {
    /// The wait before attempt `attempt + 1` after attempt `attempt` (counting from 1) failed:
    /// `base * 2^(attempt - 1)`, at most `cap`, less a random share of up to `jitter`.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random())
    }

    /// [`delay`](Self::delay) with the random draw given (0 to 1), for tests.
    pub fn delay_with(&self, attempt: u32, random: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        let delay = self.base.saturating_mul(2u32.saturating_pow(doublings)).min(self.cap);
        delay.mul_f64(1.0 - self.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0))
    }

    /// `wait` (a provider's `Retry-After`, a quota's minimum) made longer by a random share of
    /// up to `jitter`: never shorter than asked, and not the same moment for every worker.
    pub fn spread(&self, wait: Duration) -> Duration {
        Self::spread_with(self.jitter, wait, rand::random())
    }

    /// [`spread`](Self::spread) with the random draw given (0 to 1), for tests.
    pub fn spread_with(jitter: f64, wait: Duration, random: f64) -> Duration {
        wait.mul_f64(1.0 + jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOBS: Backoff =
        Backoff { base: Duration::from_secs(5), cap: Duration::from_secs(3600), jitter: 0.1 };

    #[test]
    fn the_wait_doubles_from_the_base() {
        let delays: Vec<u64> = (1..=5).map(|attempt| JOBS.delay_with(attempt, 0.0).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80]);
    }

    #[test]
    fn the_wait_is_capped() {
        assert_eq!(JOBS.delay_with(11, 0.0), JOBS.cap);
        assert_eq!(JOBS.delay_with(u32::MAX, 0.0), JOBS.cap);
    }

    #[test]
    fn jitter_shortens_by_at_most_its_share() {
        assert_eq!(JOBS.delay_with(2, 1.0), Duration::from_secs(9));
        assert_eq!(JOBS.delay_with(20, 1.0), JOBS.cap.mul_f64(0.9));
        // Out-of-range draws are clamped rather than trusted.
        assert_eq!(JOBS.delay_with(1, 7.0), Duration::from_millis(4500));
        assert_eq!(JOBS.delay_with(1, -1.0), JOBS.base);
    }

    #[test]
    fn attempt_zero_gets_the_base() {
        assert_eq!(JOBS.delay_with(0, 0.0), JOBS.base);
    }

    #[test]
    fn a_wait_asked_for_is_only_ever_lengthened() {
        let minute = Duration::from_secs(60);
        assert_eq!(Backoff::spread_with(0.2, minute, 0.0), minute);
        assert_eq!(Backoff::spread_with(0.2, minute, 1.0), Duration::from_secs(72));
        assert_eq!(Backoff::spread_with(0.2, minute, 0.5), Duration::from_secs(66));
    }
}
