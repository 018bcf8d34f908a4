//! Live areas: while an alert recruits (from its send until it closes, at most
//! `BURGERNET_ALERT_RECRUITING_WINDOW`), those who come into its area become its recipients too,
//! in a wave of their own, and get the alert and every update sent so far:
//!
//! - a participant with "alerts where I am" whose position update lands in the area: the update
//!   notes them as an entrant and queues [`RecruitEntrants`] (see
//!   `db::participants::upsert_live_location_in_session`), which makes them recipients within
//!   seconds (`matched_by = entered_area`);
//! - a participant whose place in the area has a time window that opens (work from 9:00): the
//!   workers look every [`DeliverySettings::recruitment_check`] ([`recruit_opened_windows`],
//!   `matched_by = time_window`).
//!
//! Each recruitment is one transaction that holds the alert's row, waits until its drawn waves
//! have all their recipients (their batch numbers are taken as the fan-out starts), and then adds
//! the wave, its recipients in batches, their lanes and jobs, and a dossier entry naming the
//! recipients by id. Someone who is a recipient already is not recruited again, so leaving the
//! area and coming back alerts nobody twice. Nothing records where anyone was: an entrant row
//! holds no time and no position and is gone once recruited (see migration `live_areas`).

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::fan_out::{BatchCut, WaveCut, write_batches};
use super::plan::{AlertRouting, effective_channels};
use super::{DeliveryContext, DeliverySettings};
use crate::alerts::{Actor, dossier};
use crate::db::alerts::{self as alert_queries, AlertRow};
use crate::db::recipients::{self, Candidate};
use crate::db::recruitment::{self as queries, MatchedBy};
use crate::db::{DbPool, PoolError};
use crate::ids::{AlertId, AlertMessageId};
use crate::jobs::{BackgroundJob, JobError};
use crate::vocabulary::alerts::{AlertStatus, MessageKind};

/// Makes the alert's entrants (see the module docs) its recipients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecruitEntrants {
    pub alert_id: AlertId,
}

impl BackgroundJob for RecruitEntrants {
    const JOB_TYPE: &'static str = "recruit_entrants";
    /// As urgent as a fan-out: it is one.
    const PRIORITY: i16 = 100;
    const MAX_ATTEMPTS: i32 = 10;
    type Context = DeliveryContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        let recruited = conn
            .transaction(async |conn| {
                let Some(alert) = hold_recruiting_alert(conn, self.alert_id).await? else {
                    queries::discard_entrants(conn, self.alert_id).await?;
                    return Ok(Some(0));
                };
                if !drawn_waves_selected(conn, self.alert_id).await? {
                    return Ok(None);
                }
                recruit_entrants(conn, &ctx.settings, &alert).await.map(Some)
            })
            .await?;
        match recruited {
            Some(_) => Ok(()),
            None => Err(JobError::not_yet(
                Duration::from_secs(1),
                anyhow::anyhow!("waiting for the alert's waves to have their recipients"),
            )),
        }
    }
}

/// Recruits, for every alert that recruits now, those whose place in its area has a time window
/// that opened since the last look, and any entrants a [`RecruitEntrants`] left behind (it failed
/// for good); returns how many. An alert whose drawn waves are still being cut is looked at next
/// time (the look covers the minutes since the last one that ran).
pub async fn recruit_opened_windows(
    pool: &DbPool,
    settings: &DeliverySettings,
) -> Result<usize, RecruitmentError> {
    let mut conn = pool.get().await?;
    let mut recruited = 0;
    for alert_id in queries::recruiting_alerts(&mut conn).await? {
        recruited += conn
            .transaction(async |conn| {
                let Some(alert) = hold_recruiting_alert(conn, alert_id).await? else {
                    return Ok::<_, diesel::result::Error>(0);
                };
                if !drawn_waves_selected(conn, alert_id).await? {
                    return Ok(0);
                }
                let channels = effective_channels(alert.urgent, &alert.channels);
                let opened =
                    queries::take_opened_windows(conn, alert_id, alert.reach_key(), &channels).await?;
                let by_window = recruit(conn, settings, &alert, MatchedBy::TimeWindow, opened).await?;
                Ok(by_window + recruit_entrants(conn, settings, &alert).await?)
            })
            .await?;
    }
    Ok(recruited)
}

/// Why a look for opened time windows (and entrants left behind) failed; the next one tries again.
#[derive(Debug, thiserror::Error)]
pub enum RecruitmentError {
    #[error("no database connection: {0}")]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// The alert, locked against other changes until the transaction ends, if it recruits now.
async fn hold_recruiting_alert(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
) -> diesel::QueryResult<Option<AlertRow>> {
    let row = alert_queries::find_alert(conn, alert, true).await?;
    Ok(row.filter(|row| {
        row.status == AlertStatus::Active
            && row.recruiting_until.is_some_and(|until| until > chrono::Utc::now())
    }))
}

/// Makes the alert's entrants its recipients, in the caller's transaction; returns how many.
async fn recruit_entrants(
    conn: &mut AsyncPgConnection,
    settings: &DeliverySettings,
    alert: &AlertRow,
) -> diesel::QueryResult<usize> {
    let channels = effective_channels(alert.urgent, &alert.channels);
    let entrants = queries::take_entrants(conn, alert.id, alert.reach_key(), &channels).await?;
    recruit(conn, settings, alert, MatchedBy::EnteredArea, entrants).await
}

/// Whether every wave of the alert so far has all its recipients.
async fn drawn_waves_selected(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<bool> {
    recipients::earlier_waves_selected(conn, alert, i16::MAX).await
}

/// Makes `candidates` (one row each, none a recipient yet) recipients of a new wave of the alert,
/// in the caller's transaction; returns how many.
async fn recruit(
    conn: &mut AsyncPgConnection,
    settings: &DeliverySettings,
    alert: &AlertRow,
    matched_by: MatchedBy,
    candidates: Vec<Candidate>,
) -> diesel::QueryResult<usize> {
    if candidates.is_empty() {
        return Ok(0);
    }
    let actor = Actor::System;
    let wave = queries::add_recruited_wave(conn, alert.id, matched_by, &actor.subject()).await?;
    let message = match queries::recruits_message(conn, alert.id).await? {
        Some(message) => message,
        None => {
            let message = AlertMessageId::new();
            alert_queries::insert_message(
                conn,
                message,
                alert.id,
                MessageKind::Alert,
                Some(wave),
                &alert.texts,
                &actor.subject(),
            )
            .await?;
            message
        }
    };
    let channels = effective_channels(alert.urgent, &alert.channels);
    let routing = AlertRouting::new(alert.urgent, &channels);
    let participants: Vec<_> = candidates.iter().map(|candidate| candidate.participant_id).collect();
    let batch_size = settings.batch_size.max(1);
    let mut batch_no = recipients::next_batch_no(conn, alert.id).await?;
    let mut batches = vec![BatchCut::new(batch_no, batch_size)];
    for candidate in candidates {
        if batches.last().is_some_and(BatchCut::is_full) {
            batch_no += 1;
            batches.push(BatchCut::new(batch_no, batch_size));
        }
        if let Some(batch) = batches.last_mut() {
            batch.add(candidate, routing);
        }
    }
    let cut = WaveCut { alert: alert.id, message, wave, routing };
    let written = write_batches(conn, &cut, &batches).await?;
    dossier::record(
        conn,
        alert.id,
        &actor,
        "recruited",
        json!({
            "wave": wave,
            "message_id": message,
            "matched_by": matched_by,
            "recipients": written.recipients,
            "batches": written.batches,
            "participant_ids": participants,
        }),
    )
    .await?;
    tracing::info!(alert_id = %alert.id, wave, matched_by = matched_by.as_str(), recipients = written.recipients, "recruited a wave");
    Ok(participants.len())
}
