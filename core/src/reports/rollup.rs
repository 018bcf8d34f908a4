//! Keeping the alert rollups that the reports of alert results, delivery and costs read: an
//! alert's rows are recomputed from its recipients, deliveries, tips and dossier while it is
//! active and for [`SETTLING`] after it closed (receipts, opens and SMS receipts still come in);
//! then they are final and never read the deliveries again. The workers' housekeeping calls
//! [`roll_up_alerts`] every minute; one worker at a time rolls up (an advisory lock).
//!
//! Figures per municipality are by the recipient's own municipality at the time of the roll-up.

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::alerts::content::{AlertTexts, MessageTexts};
use crate::alerts::delivery::render;
use crate::db::alert_rollups::{self as queries, SmsSegments};
use crate::db::alerts as alert_queries;
use crate::ids::AlertId;
use crate::providers::sms_text;
use crate::vocabulary::Language;
use crate::vocabulary::alerts::MessageKind;

/// How long after its close an alert's figures still change: late app receipts and opens, SMS
/// delivery receipts.
pub const SETTLING: TimeDelta = TimeDelta::hours(48);

#[derive(Debug, thiserror::Error)]
pub enum RollUpError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("the texts of alert {alert} do not parse: {error}")]
    Texts { alert: AlertId, error: serde_json::Error },
}

/// Alerts one round rolls up at most: a backlog (the first round after this release, a long
/// outage) is worked off over several rounds instead of in one long transaction.
pub const ALERTS_PER_ROUND: usize = 500;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollUpRound {
    /// Alerts whose rows were recomputed.
    pub rolled_up: usize,
    /// Alerts that could not be (logged; tried again next round).
    pub failed: usize,
    /// Another worker held the lock: this round did nothing.
    pub busy: bool,
}

/// Recomputes the rows of the sent alerts whose rows are missing or not final (active, or closed
/// less than [`SETTLING`] before `now`), the latest first and at most [`ALERTS_PER_ROUND`]. One
/// alert's failure does not stop the others.
pub async fn roll_up_alerts(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<RollUpRound, RollUpError> {
    conn.transaction(async |conn| {
        if !queries::try_lock(conn).await? {
            return Ok(RollUpRound { busy: true, ..RollUpRound::default() });
        }
        let mut round = RollUpRound::default();
        for alert in queries::alerts_to_roll_up(conn, ALERTS_PER_ROUND as i64).await? {
            // A savepoint each: a failing alert leaves the others' rows.
            match conn.transaction(async |conn| roll_up_alert(conn, alert, now).await).await {
                Ok(_) => round.rolled_up += 1,
                Err(error) => {
                    tracing::error!(%alert, %error, "could not roll up the alert's figures");
                    round.failed += 1;
                }
            }
        }
        Ok(round)
    })
    .await
}

/// Recomputes the rows of one alert (idempotent); false when it was not sent. Run it in a
/// transaction (as [`roll_up_alerts`] does), so that readers never see it without rows.
pub async fn roll_up_alert(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    now: DateTime<Utc>,
) -> Result<bool, RollUpError> {
    let segments = sms_segments(conn, alert).await?;
    Ok(queries::roll_up_alert(conn, alert, now, now - SETTLING, &segments).await?)
}

/// What one SMS of each of the alert's messages costs per language, in segments, as the delivery
/// renders it.
async fn sms_segments(conn: &mut AsyncPgConnection, alert: AlertId) -> Result<Vec<SmsSegments>, RollUpError> {
    let Some(row) = alert_queries::find_alert(conn, alert, false).await? else { return Ok(Vec::new()) };
    let texts_error = |error| RollUpError::Texts { alert, error };
    let alert_texts: AlertTexts = serde_json::from_value(row.texts).map_err(texts_error)?;
    let mut segments = Vec::new();
    for message in alert_queries::list_messages(conn, alert).await? {
        let message_texts: Option<MessageTexts> = match message.kind {
            MessageKind::Alert => None,
            _ => Some(serde_json::from_value(message.texts).map_err(texts_error)?),
        };
        for language in Language::ALL {
            let rendered = render::render(
                message.kind,
                row.purpose,
                &alert_texts,
                message_texts.as_ref(),
                row.call_back_number.as_deref(),
                *language,
            );
            let count = sms_text::prepare(&rendered.sms).segments;
            segments.push(SmsSegments {
                message_id: message.id,
                language: *language,
                segments: i32::try_from(count).unwrap_or(i32::MAX),
            });
        }
    }
    Ok(segments)
}
