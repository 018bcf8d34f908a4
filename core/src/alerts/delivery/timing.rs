//! How fast an alert reaches phones: the seconds from its send to the first and to the last push
//! of its initial wave, observed once per alert when that wave is finished. Whoever sees the wave
//! finish first observes it: the batch job that finishes last, the fan-out when it ends after its
//! batches, or the workers' housekeeping as a catch-up; the database decides who is first (see
//! [`queries::mark_push_timing`]), so several worker processes never observe an alert twice.

use diesel_async::AsyncPgConnection;

use crate::db::deliveries as queries;
use crate::ids::AlertId;
use crate::metrics::DeliveryMetrics;

/// Observes the initial waves that are finished: of `alert`, or of every alert when `None`.
/// Returns how many alerts were marked (those without any push observe nothing).
pub async fn observe_finished_waves(
    conn: &mut AsyncPgConnection,
    alert: Option<AlertId>,
    metrics: &DeliveryMetrics,
) -> diesel::QueryResult<usize> {
    let timings = queries::mark_push_timing(conn, alert).await?;
    for timing in &timings {
        if let (Some(first), Some(last)) = (timing.to_first_push, timing.to_last_push) {
            metrics.observe_push_timing(first, last);
        }
    }
    Ok(timings.len())
}

/// [`observe_finished_waves`] for one alert, from a job that may have finished its wave: a failure
/// is logged, not the job's (housekeeping catches up).
pub(super) async fn observe_if_finished(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    metrics: &DeliveryMetrics,
) {
    if let Err(error) = observe_finished_waves(conn, Some(alert), metrics).await {
        tracing::warn!(%alert, %error, "could not check whether the alert's initial wave is finished");
    }
}
