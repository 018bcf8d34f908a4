//! Every `BURGERNET_RECRUITMENT_CHECK_INTERVAL` (30 s unless set), recruits into each recruiting
//! alert those whose place in its area has a time window that opened since the last look, and the
//! entrants a failed `recruit_entrants` left behind (see `alerts::delivery::recruitment`). Every worker does it: each alert's look holds the alert's
//! row and notes how far it got, so two workers never recruit the same window twice.

use std::sync::Arc;

use burgernet_core::alerts::delivery::recruitment;
use tokio::time::{MissedTickBehavior, interval};

use crate::runner::RunnerState;

pub(crate) async fn run(state: Arc<RunnerState>) {
    let mut ticker = interval(state.config.delivery.recruitment_check);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match recruitment::recruit_opened_windows(&state.pool, &state.config.delivery).await {
            Ok(0) => {}
            Ok(recruited) => {
                tracing::info!(recruited, "recruited those whose time window opened in an alert's area")
            }
            Err(error) => tracing::warn!(%error, "could not look for time windows opened in alerts' areas"),
        }
    }
}
