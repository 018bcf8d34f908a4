//! The lanes: one message to one batch is delivered by one job per lane, and each lane has its
//! own job slots (see `burgernet_workers`), its own window of hand-overs in flight, and its
//! providers' rates. A batch's SMS, held to the gateway's rate, never delays its own pushes nor
//! the next batch's.
//!
//! A lane job streams its hand-overs: each waits for its provider's rate and pause, then for a
//! place in the lane's window, and its outcome goes to the process's recorder as soon as it comes
//! back, while the other hand-overs are still out. Passing failures are tried again in up to
//! [`ROUNDS_PER_RUN`] rounds with backoff; what still fails is left to the job's next run, and the
//! last of [`SENDING_RUNS`] runs gives up on it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::hand_over::{self, HandOver, MessageRef};
use super::plan::{self, AlertRouting, DeviceTarget, Made, Recipient, Route, State};
use super::recording::{DeadDevice, Ledger, Outcome};
use super::render::{self, Rendered};
use super::throttle::{Deferred, LONGEST_WAIT_IN_A_RUN, ProviderGate};
use super::{DeliveryContext, DeliverySettings, fallback, timing};
use crate::alerts::content::{AlertTexts, MessageTexts};
use crate::alerts::lifecycle::effective_channels;
use crate::alerts::{AlertStatus, MessageKind};
use crate::backoff::Backoff;
use crate::db::DbPool;
use crate::db::alerts::{self as alert_queries, AlertRow, MessageRow};
use crate::db::deliveries::{self as queries, DeliveryRecord, LaneKey};
use crate::db::jobs::NewJob;
use crate::ids::{AlertId, AlertMessageId};
use crate::jobs::{BackgroundJob, JobError};
use crate::participants::devices::{ApnsEnvironment, Platform};
use crate::participants::email::EmailAddress;
use crate::participants::phone::PhoneNumber;
use crate::participants::{Channel, Language, ParticipantStatus, text_enum};

text_enum!(
    /// A lane of delivery work.
    Lane {
        Push => "push",
        Sms => "sms",
        Email => "email",
        /// The SMS to recipients the push lane was meant to reach: after their pushes failed for
        /// good (or their device went before it was tried). Queued when the push lane ends.
        FallbackSms => "fallback_sms",
    }
);

impl Lane {
    pub fn channel(self) -> Channel {
        match self {
            Self::Push => Channel::Push,
            Self::Sms | Self::FallbackSms => Channel::Sms,
            Self::Email => Channel::Email,
        }
    }

    /// The lanes of earlier messages that a follow-up in this lane waits for, batch by batch, so
    /// that it arrives after them: its own channel's, and for SMS also the push lane's (whose end
    /// queues the SMS after failed pushes).
    fn follows(self) -> &'static [&'static str] {
        match self {
            Self::Push => &["push"],
            Self::Sms | Self::FallbackSms => &["push", "sms", "fallback_sms"],
            Self::Email => &["email"],
        }
    }

    /// The job that delivers `message` to `batch_no` in this lane, ready to be inserted.
    pub fn job(self, message_id: AlertMessageId, batch_no: i32) -> NewJob<'static> {
        let batch = LaneBatch { message_id, batch_no };
        match self {
            Self::Push => DeliverPush(batch).new_job(Duration::ZERO),
            Self::Sms => DeliverSms(batch).new_job(Duration::ZERO),
            Self::Email => DeliverEmail(batch).new_job(Duration::ZERO),
            Self::FallbackSms => super::DeliverFallbackSms(batch).new_job(Duration::ZERO),
        }
    }
}

/// One message to one batch: what every lane job carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneBatch {
    pub message_id: AlertMessageId,
    pub batch_no: i32,
}

/// Runs of a lane job that may send; the last one gives up on what still fails.
const SENDING_RUNS: i32 = 4;

/// Rounds of sending within one run before the rest waits for the job's next run.
pub const ROUNDS_PER_RUN: u32 = 4;

/// A lane job's runs that fail or are deferred by a provider's pause (a follow-up waiting for the
/// messages before it spends none): a provider may ask for many pauses within one alert.
const LANE_JOB_ATTEMPTS: i32 = 1_000;

macro_rules! lane_job {
    ($(#[$doc:meta])* $name:ident, $lane:expr, $job_type:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub LaneBatch);

        impl BackgroundJob for $name {
            const JOB_TYPE: &'static str = $job_type;
            const PRIORITY: i16 = 90;
            const MAX_ATTEMPTS: i32 = LANE_JOB_ATTEMPTS;
            type Context = DeliveryContext;

            async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
                deliver(&ctx, $lane, self.0).await
            }
        }
    };
}

lane_job!(
    /// Delivers one message to one batch by push.
    DeliverPush, Lane::Push, "deliver_push"
);
lane_job!(
    /// Delivers one message to one batch by SMS (to those with no push to wait for).
    DeliverSms, Lane::Sms, "deliver_sms"
);
lane_job!(
    /// Delivers one message to one batch by e-mail.
    DeliverEmail, Lane::Email, "deliver_email"
);

/// A lane's share of the process: pushes (or SMS, e-mails) at the provider at once, and places
/// for hand-overs not yet recorded (twice the window: one window at the provider, one being
/// recorded).
pub(super) struct LaneWindow {
    in_flight: Semaphore,
    places: Arc<Semaphore>,
}

impl LaneWindow {
    fn new(window: usize) -> Self {
        let window = window.max(1);
        Self { in_flight: Semaphore::new(window), places: Arc::new(Semaphore::new(2 * window)) }
    }
}

/// The windows of the lanes and the gates of the providers, one of each per process.
pub(super) struct Lanes {
    push: LaneWindow,
    sms: LaneWindow,
    email: LaneWindow,
    pub(super) apns: ProviderGate,
    pub(super) fcm: ProviderGate,
    pub(super) sms_gateway: ProviderGate,
    pub(super) smtp: ProviderGate,
}

impl Lanes {
    pub(super) fn new(settings: &DeliverySettings, pool: &DbPool) -> Self {
        Self {
            push: LaneWindow::new(settings.push_window),
            sms: LaneWindow::new(settings.sms_window),
            email: LaneWindow::new(settings.email_window),
            apns: ProviderGate::new("apns", settings.apns_rate, pool.clone()),
            fcm: ProviderGate::new("fcm", settings.fcm_rate, pool.clone()),
            sms_gateway: ProviderGate::new("sms", settings.sms_rate, pool.clone()),
            smtp: ProviderGate::new("smtp", settings.email_rate, pool.clone()),
        }
    }

    fn window(&self, channel: Channel) -> &LaneWindow {
        match channel {
            Channel::Push => &self.push,
            Channel::Sms => &self.sms,
            Channel::Email => &self.email,
        }
    }

    fn gate(&self, route: &Route) -> &ProviderGate {
        match route {
            Route::Push(device) => match device.platform {
                Platform::Ios => &self.apns,
                Platform::Android => &self.fcm,
            },
            Route::Sms(_) => &self.sms_gateway,
            Route::Email => &self.smtp,
        }
    }
}

/// Delivers one message to one batch in `lane`: one run of a lane job.
pub(super) async fn deliver(ctx: &DeliveryContext, lane: Lane, job: LaneBatch) -> Result<(), JobError> {
    let key = LaneKey { message: job.message_id, batch_no: job.batch_no, lane: lane.as_str() };
    let (batch, run) = {
        let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
        let conn = &mut *conn;
        let (alert, message) = load(conn, job.message_id).await?;
        let kind = MessageKind::from_database(&message.kind);
        if kind != MessageKind::Alert
            && !queries::earlier_lanes_finished(conn, job.message_id, job.batch_no, lane.follows()).await?
        {
            return Err(JobError::not_yet(
                follow_up_wait(&message),
                anyhow::anyhow!("waiting for the earlier messages to reach this batch"),
            ));
        }
        if kind == MessageKind::Alert && AlertStatus::from_database(&alert.status) == AlertStatus::Closed {
            // Closed before this batch was alerted here: no alert, and so no closing either.
            queries::finish_lane_unsent(conn, key).await?;
            return Ok(());
        }
        let run = queries::start_lane_run(conn, key).await?;
        (Batch::load(conn, &alert, &message, job.batch_no, lane, run.follows_interruption).await?, run)
    };
    let mut made = batch.made_before();
    let planner = |contact: &Contact, made: &Made| batch.routes(contact, made);
    let wait = deliver_rounds(ctx, &batch, &planner, &mut made, run.number >= SENDING_RUNS).await?;
    let mut conn = ctx.pool.get().await.map_err(JobError::retryable)?;
    let conn = &mut *conn;
    if let Some(wait) = wait {
        queries::end_lane_run(conn, key, false).await?;
        return Err(JobError::retry_after(wait, anyhow::anyhow!("some hand-overs failed for now; retrying")));
    }
    let ends_push_lane_of_alert = lane == Lane::Push && batch.kind == MessageKind::Alert;
    conn.transaction(async |conn| {
        queries::end_lane_run(conn, key, true).await?;
        if ends_push_lane_of_alert {
            fallback::after_push_lane(conn, &batch, &made, &ctx.settings).await?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    if ends_push_lane_of_alert && batch.wave == Some(0) {
        timing::observe_if_finished(conn, batch.alert_id, &ctx.metrics).await;
    }
    Ok(())
}

/// How long a follow-up waits before looking again whether earlier messages reached its batch:
/// longer the longer it has waited (a national alert's SMS take a while), 2 s to a minute.
fn follow_up_wait(message: &MessageRow) -> Duration {
    let waited = (chrono::Utc::now() - message.created_at).to_std().unwrap_or_default();
    Backoff::spread_with(
        0.5,
        (waited / 10).clamp(Duration::from_secs(2), Duration::from_secs(60)),
        rand::random(),
    )
}

/// The message and its alert; their absence is permanent (alerts are never deleted).
pub(super) async fn load(
    conn: &mut AsyncPgConnection,
    message: AlertMessageId,
) -> Result<(AlertRow, MessageRow), JobError> {
    let missing = || JobError::permanent(anyhow::anyhow!("the message or its alert does not exist"));
    let message = alert_queries::find_message(conn, message).await?.ok_or_else(missing)?;
    let alert =
        alert_queries::find_alert(conn, AlertId(message.alert_id), false).await?.ok_or_else(missing)?;
    Ok((alert, message))
}

/// A recipient with the details a hand-over needs.
pub(super) struct Contact {
    pub(super) recipient: Recipient,
    language: Language,
    phone: Option<PhoneNumber>,
    email: Option<EmailAddress>,
}

/// One message to one batch, as a lane run sees it: its recipients, the texts in each language,
/// and what was made before the run.
pub(super) struct Batch {
    pub(super) alert_id: AlertId,
    pub(super) message_id: AlertMessageId,
    /// The ids as every push carries them.
    alert_id_text: String,
    message_id_text: String,
    pub(super) kind: MessageKind,
    pub(super) wave: Option<i16>,
    pub(super) batch_no: i32,
    lane: Lane,
    pub(super) urgent: bool,
    pub(super) routing: AlertRouting,
    pub(super) contacts: Vec<Contact>,
    rendered: HashMap<Language, Rendered>,
    /// For follow-ups: the channels that carried the alert to each recipient.
    reached: HashMap<Uuid, Vec<Channel>>,
    /// What was made before this run.
    made: Made,
    follows_interruption: bool,
}

impl Batch {
    pub(super) async fn load(
        conn: &mut AsyncPgConnection,
        alert: &AlertRow,
        message: &MessageRow,
        batch_no: i32,
        lane: Lane,
        follows_interruption: bool,
    ) -> Result<Self, JobError> {
        let alert_id = AlertId(alert.id);
        let message_id = AlertMessageId(message.id);
        let kind = MessageKind::from_database(&message.kind);
        // Of the alert itself, each lane has its recipients (see `Route::lane`): the push lane and
        // the fallback after it those the selection found reachable by push, the SMS lane the
        // others. Only the lanes that may push need their devices.
        let push_expected = match (kind, lane) {
            (MessageKind::Alert, Lane::Push | Lane::FallbackSms) => Some(true),
            (MessageKind::Alert, Lane::Sms) => Some(false),
            _ => None,
        };
        let rows = queries::batch_contacts(conn, alert_id, batch_no, push_expected).await?;
        let mut devices: HashMap<Uuid, Vec<DeviceTarget>> = HashMap::new();
        if matches!(lane, Lane::Push | Lane::FallbackSms) {
            let ids: Vec<Uuid> = rows.iter().map(|c| c.participant_id).collect();
            for device in queries::devices_of(conn, &ids).await? {
                devices.entry(device.participant_id).or_default().push(DeviceTarget {
                    id: device.id,
                    platform: Platform::from_database(&device.platform),
                    token: device.push_token,
                    apns_environment: device.apns_environment.as_deref().map(ApnsEnvironment::from_database),
                });
            }
        }
        let contacts = rows
            .into_iter()
            .map(|row| Contact {
                recipient: Recipient {
                    participant_id: row.participant_id,
                    active: row.status == ParticipantStatus::Active.as_str(),
                    channels: row.channels.iter().map(|c| Channel::from_database(c)).collect(),
                    has_phone: row.phone_number.is_some(),
                    has_verified_email: row.email.is_some(),
                    devices: devices.remove(&row.participant_id).unwrap_or_default(),
                    push_expected: row.push_expected,
                },
                language: Language::from_database(&row.language),
                phone: row.phone_number.map(PhoneNumber::from_database),
                email: row.email.map(EmailAddress::from_database),
            })
            .collect();
        let made = queries::existing(conn, message_id, batch_no)
            .await?
            .into_iter()
            .map(|row| {
                let state = match row.state.as_str() {
                    "retrying" => State::Retrying,
                    "failed" => State::Failed,
                    _ => State::Sent,
                };
                (
                    (row.participant_id, Channel::from_database(&row.channel), row.device_id),
                    (state, row.attempts),
                )
            })
            .collect();
        let mut reached: HashMap<Uuid, Vec<Channel>> = HashMap::new();
        if kind != MessageKind::Alert {
            for row in queries::reached_channels(conn, alert_id, batch_no).await? {
                reached.entry(row.participant_id).or_default().push(Channel::from_database(&row.channel));
            }
        }
        let alert_texts: AlertTexts = serde_json::from_value(alert.texts.clone()).map_err(|error| {
            JobError::permanent(anyhow::Error::new(error).context("the alert's texts do not parse"))
        })?;
        let message_texts: Option<MessageTexts> = if kind == MessageKind::Alert {
            None
        } else {
            Some(serde_json::from_value(message.texts.clone()).map_err(|error| {
                JobError::permanent(anyhow::Error::new(error).context("the message's texts do not parse"))
            })?)
        };
        let rendered = Language::ALL
            .iter()
            .map(|language| {
                let texts = render::render(
                    kind,
                    &alert_texts,
                    message_texts.as_ref(),
                    alert.call_back_number.as_deref(),
                    *language,
                );
                (*language, texts)
            })
            .collect();
        let channels: Vec<Channel> = effective_channels(alert.urgent, &alert.channels)
            .iter()
            .map(|c| Channel::from_database(c))
            .collect();
        Ok(Self {
            alert_id,
            message_id,
            alert_id_text: alert_id.to_string(),
            message_id_text: message_id.to_string(),
            kind,
            wave: message.wave,
            batch_no,
            lane,
            urgent: alert.urgent,
            routing: AlertRouting::new(alert.urgent, &channels),
            contacts,
            rendered,
            reached,
            made,
            follows_interruption,
        })
    }

    /// What was made before this run, for the run to add to.
    pub(super) fn made_before(&self) -> Made {
        self.made.clone()
    }

    /// The routes of this batch's lane that `contact` still needs.
    fn routes(&self, contact: &Contact, made: &Made) -> Vec<Route> {
        self.all_routes(contact, made)
            .into_iter()
            .filter(|route| route.lane(self.after_push(contact)) == self.lane)
            .collect()
    }

    /// Every route `contact` still needs for this message, whatever the lane.
    pub(super) fn all_routes(&self, contact: &Contact, made: &Made) -> Vec<Route> {
        let recipient = &contact.recipient;
        match self.kind {
            MessageKind::Alert => plan::alert_routes(self.routing, recipient, made),
            _ => plan::follow_up_routes(
                recipient,
                self.reached.get(&recipient.participant_id).map(Vec::as_slice).unwrap_or_default(),
                made,
            ),
        }
    }

    /// Whether an SMS of this message to `contact` waits for their push lane (see
    /// [`Route::lane`]): only the alert's, and only for the push lane's recipients.
    pub(super) fn after_push(&self, contact: &Contact) -> bool {
        self.kind == MessageKind::Alert && contact.recipient.push_expected
    }

    /// The lane windows and message parts a hand-over of `contact` needs.
    fn message_for(&self, contact: &Contact) -> MessageRef<'_> {
        MessageRef {
            alert_id: &self.alert_id_text,
            message_id: &self.message_id_text,
            kind: self.kind,
            urgent: self.urgent,
            rendered: &self.rendered[&contact.language],
        }
    }
}

/// Sends what `planner` says is still needed, in rounds, recording as it goes. Returns how long
/// to wait before the next run when something is left (`None`: all done). On the `last_run`,
/// what still fails after its last round fails for good.
pub(super) async fn deliver_rounds(
    ctx: &DeliveryContext,
    batch: &Batch,
    planner: &(dyn Fn(&Contact, &Made) -> Vec<Route> + Sync),
    made: &mut Made,
    last_run: bool,
) -> Result<Option<Duration>, JobError> {
    let round_backoff = Backoff { base: ctx.settings.retry_base, cap: Duration::from_secs(10), jitter: 0.2 };
    let mut wait_hint: Option<Duration> = None;
    let next_run_after = |hint: Option<Duration>| hint.unwrap_or_default().max(Duration::from_secs(1));
    for round in 0..=ROUNDS_PER_RUN {
        let planned = plan(batch, planner, made);
        if planned.is_empty() {
            return Ok(None);
        }
        let is_retry = |(index, route): &(usize, Route)| {
            let key = (batch.contacts[*index].recipient.participant_id, route.channel(), route.device_id());
            matches!(made.get(&key), Some((State::Retrying, _)))
        };
        if round == ROUNDS_PER_RUN {
            // This run's retries are spent; what is new still goes now, the rest waits.
            let fresh: Vec<_> = planned.into_iter().filter(|work| !is_retry(work)).collect();
            if !fresh.is_empty() {
                let ended = hand_over_all(ctx, batch, fresh, made, last_run).await?;
                wait_hint = wait_hint.max(ended.wait_hint).max(ended.deferred);
            }
            return Ok((!plan(batch, planner, made).is_empty()).then(|| next_run_after(wait_hint)));
        }
        if round > 0 && planned.iter().any(is_retry) {
            let wait = round_backoff.delay(round).max(wait_hint.unwrap_or_default());
            if wait > LONGEST_WAIT_IN_A_RUN {
                // A provider paused for long: its hand-overs wait for the next run, not in a slot.
                return Ok(Some(wait));
            }
            tokio::time::sleep(wait).await;
        }
        let give_up = last_run && round + 1 == ROUNDS_PER_RUN;
        let ended = hand_over_all(ctx, batch, planned, made, give_up).await?;
        if let Some(deferred) = ended.deferred {
            // A provider paused for long: leave its hand-overs to the next run, not this slot.
            return Ok(Some(next_run_after(Some(deferred.max(ended.wait_hint.unwrap_or_default())))));
        }
        wait_hint = ended.wait_hint;
    }
    Ok(None)
}

/// What is still to be handed over in this lane, pushes first (the fastest way to reach people).
fn plan(
    batch: &Batch,
    planner: &(dyn Fn(&Contact, &Made) -> Vec<Route> + Sync),
    made: &Made,
) -> Vec<(usize, Route)> {
    let mut planned: Vec<(usize, Route)> = batch
        .contacts
        .iter()
        .enumerate()
        .flat_map(|(index, contact)| planner(contact, made).into_iter().map(move |route| (index, route)))
        .collect();
    planned.sort_by_key(|(_, route)| route.channel() != Channel::Push);
    planned
}

/// How a round of hand-overs ended.
struct RoundEnd {
    /// The longest `Retry-After` a provider gave with a passing failure.
    wait_hint: Option<Duration>,
    /// Hand-overs not made because their provider is paused, for at least this long.
    deferred: Option<Duration>,
}

/// Hands over `work` as a stream, each as soon as its provider and the lane's window allow, and
/// hands every outcome to the recorder as it comes back; returns once all are recorded.
async fn hand_over_all(
    ctx: &DeliveryContext,
    batch: &Batch,
    work: Vec<(usize, Route)>,
    made: &mut Made,
    give_up: bool,
) -> Result<RoundEnd, JobError> {
    let expires_at = chrono::Utc::now() + ctx.settings.push_lifetime;
    let ledger = Ledger::default();
    let mut end = RoundEnd { wait_hint: None, deferred: None };
    let mut pending: FuturesUnordered<_> = work
        .into_iter()
        .map(|(index, route)| async move {
            let outcome = hand_over_one(ctx, batch, &batch.contacts[index], &route, expires_at).await;
            (index, route, outcome)
        })
        .collect();
    while let Some((index, route, handed)) = pending.next().await {
        let (outcome, place) = match handed {
            Ok(handed) => handed,
            Err(deferred) => {
                end.deferred = end.deferred.max(Some(deferred.for_at_least));
                continue;
            }
        };
        let contact = &batch.contacts[index];
        let participant_id = contact.recipient.participant_id;
        let key = (participant_id, route.channel(), route.device_id());
        let previous = made.get(&key).map_or(0, |(_, attempts)| *attempts);
        let mut dead_device = None;
        let (state, provider_message_id, error_code) = match outcome {
            HandOver::Sent { provider_message_id } => (State::Sent, provider_message_id, None),
            HandOver::Failed { code, dead_token } => {
                if let (Route::Push(device), Some(dead)) = (&route, dead_token) {
                    dead_device = Some(DeadDevice {
                        device_id: device.id,
                        token: device.token.clone(),
                        since: dead.since,
                        code: code.clone(),
                    });
                }
                (State::Failed, None, Some(code))
            }
            HandOver::Retry { code, after } => {
                end.wait_hint = end.wait_hint.max(after);
                (if give_up { State::Failed } else { State::Retrying }, None, Some(code))
            }
        };
        made.insert(key, (state, previous.saturating_add(1)));
        let record = DeliveryRecord {
            alert_id: batch.alert_id,
            message_id: batch.message_id,
            batch_no: batch.batch_no,
            participant_id,
            channel: route.channel().as_str(),
            device_id: route.device_id(),
            platform: match &route {
                Route::Push(device) => Some(device.platform.as_str()),
                _ => None,
            },
            reason: route.reason().as_str(),
            state: match state {
                State::Sent => "sent",
                State::Failed => "failed",
                State::Retrying => "retrying",
            },
            attempts: previous.saturating_add(1),
            resent_after_interruption: batch.follows_interruption && previous == 0,
            provider_message_id,
            error_code,
        };
        ctx.recorder.submit(Outcome { record, kind: batch.kind, dead_device }, &ledger, place);
    }
    ledger.settled().await.map_err(JobError::retryable)?;
    Ok(end)
}

/// One hand-over: its provider's rate and pause first (so a paused provider holds no place of
/// the lane), then a place for its outcome and a place in the window. Not made (`Err`) while its
/// provider is paused for longer than a run should wait.
async fn hand_over_one(
    ctx: &DeliveryContext,
    batch: &Batch,
    contact: &Contact,
    route: &Route,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Result<(HandOver, OwnedSemaphorePermit), Deferred> {
    ctx.lanes.gate(route).admit().await?;
    let window = ctx.lanes.window(route.channel());
    let place = window.places.clone().acquire_owned().await.expect("lane places are never closed");
    let _in_flight = window.in_flight.acquire().await.expect("lane windows are never closed");
    let message = batch.message_for(contact);
    // Boxed: a lane keeps hundreds of these waiting, and unboxed each would carry the whole state
    // of a provider exchange from the start.
    let outcome = match route {
        Route::Push(device) => Box::pin(hand_over::push(ctx, &message, device, expires_at)).await,
        Route::Sms(_) => {
            let reference = format!("{}:{}", batch.message_id, contact.recipient.participant_id);
            Box::pin(hand_over::sms(ctx, contact.phone.as_ref(), &message.rendered.sms, &reference)).await
        }
        Route::Email => Box::pin(hand_over::email(ctx, contact.email.as_ref(), message.rendered)).await,
    };
    Ok((outcome, place))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::delivery::fallback::DeliverFallbackSms;

    /// The database marks a lane's batch abandoned when the job `deliver_<lane>` fails for good
    /// (migration `follow_ups`): the names must stay in step.
    #[test]
    fn each_lane_is_delivered_by_the_job_named_after_it() {
        assert_eq!(DeliverPush::JOB_TYPE, format!("deliver_{}", Lane::Push.as_str()));
        assert_eq!(DeliverSms::JOB_TYPE, format!("deliver_{}", Lane::Sms.as_str()));
        assert_eq!(DeliverEmail::JOB_TYPE, format!("deliver_{}", Lane::Email.as_str()));
        assert_eq!(DeliverFallbackSms::JOB_TYPE, format!("deliver_{}", Lane::FallbackSms.as_str()));
    }
}
