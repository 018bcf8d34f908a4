//! Fanning a message out to its recipients. Three jobs, each enqueued in the transaction that
//! causes it:
//!
//! - [`FanOutWave`] (after send and each expansion) snapshots the wave's recipients: everyone the
//!   area reaches who is not a recipient yet. A small first batch, picked from the first places the
//!   index finds in the area, is added before the whole area is matched, so the first pushes leave
//!   within moments; the rest follows in batches. Each batch gets a [`DeliverBatch`], so several
//!   workers share one alert;
//! - [`DeliverBatch`] hands one message to one batch's recipients by push, SMS and e-mail, as
//!   [`plan`] decides, retrying passing failures with backoff that honours `Retry-After` within a
//!   bounded budget. Results are recorded every [`RECORD_EVERY`] hand-overs with a dossier entry,
//!   while the next group is handed over, so a crash repeats at most those two groups, and a rerun
//!   marks them `resent_after_interruption`;
//! - [`SmsFallbackCheck`] (urgent alerts, after `sms_fallback_after`) sends an SMS to recipients
//!   whose devices got the push but who did not confirm receipt.

pub mod plan;
pub mod render;
pub mod timing;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection};
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Semaphore;
use uuid::Uuid;

use self::plan::{AlertRouting, DeviceTarget, Made, Recipient, Route, State};
use self::render::Rendered;
use super::content::{AlertTexts, MessageTexts};
use super::lifecycle::effective_channels;
use super::{Actor, AlertStatus, MessageKind, dossier};
use crate::db::DbPool;
use crate::db::alerts::{self as alert_queries, AlertRow, MatchedParticipant, MessageRow};
use crate::db::deliveries::{self as queries, DeliveryRecord};
use crate::ids::{AlertId, AlertMessageId, DeviceId};
use crate::jobs::{BackgroundJob, JobError};
use crate::metrics::{DeliveryMetrics, DeliveryResult, ErrorSource};
use crate::participants::devices::{ApnsEnvironment, Platform};
use crate::participants::email::EmailAddress;
use crate::participants::phone::PhoneNumber;
use crate::participants::{Channel, Language, ParticipantStatus};
use crate::providers::email::{EmailMessage, EmailSender};
use crate::providers::push::{PushError, PushNotification, PushSender};
use crate::providers::sms::{SmsError, SmsMessage, SmsSender};

/// Hand-overs recorded (with one dossier entry) at a time.
pub const RECORD_EVERY: usize = 100;

/// Hand-overs one batch job may have made without a record when its process dies: the group being
/// recorded and the group being handed over meanwhile.
pub const MAX_UNRECORDED_PER_JOB: usize = 2 * RECORD_EVERY;

/// Rounds of sending within one run of a batch job before it hands the rest back to the queue.
const ROUNDS_PER_RUN: u32 = 4;

/// Runs of a batch job that may send; the last one gives up on what still fails.
const SENDING_RUNS: i32 = 4;

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Recipients per batch (one job's work).
    pub batch_size: usize,
    /// Recipients in an alert's first batch: small, so the first pushes go out at once.
    pub first_batch_size: usize,
    /// Urgent alerts: an SMS follows when no device confirmed receipt within this time.
    pub sms_fallback_after: Duration,
    /// How long push providers keep trying to reach a device.
    pub push_lifetime: Duration,
    /// The first wait before retrying a passing failure; it doubles each round.
    pub retry_base: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            batch_size: 500,
            first_batch_size: 50,
            sms_fallback_after: Duration::from_secs(60),
            push_lifetime: Duration::from_secs(3600),
            retry_base: Duration::from_millis(500),
        }
    }
}

/// A provider that can ask us to slow down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Provider {
    Apns,
    Fcm,
    Sms,
    Email,
}

/// Bounds on the work in flight, shared by every job of the process, and the pauses providers
/// asked for with `Retry-After`: while one is paused, nobody in this process sends to it.
struct Limits {
    push: Semaphore,
    sms: Semaphore,
    email: Semaphore,
    paused_until: Mutex<HashMap<Provider, Instant>>,
}

impl Limits {
    async fn wait_while_paused(&self, provider: Provider) {
        loop {
            let until = self.paused_until.lock().unwrap_or_else(|e| e.into_inner()).get(&provider).copied();
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until.into()).await,
                _ => return,
            }
        }
    }

    fn pause(&self, provider: Provider, for_: Duration) {
        let until = Instant::now() + for_.min(Duration::from_secs(300));
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        let entry = paused.entry(provider).or_insert(until);
        *entry = (*entry).max(until);
    }
}

/// What the delivery jobs need.
#[derive(Clone)]
pub struct DeliveryContext {
    pub pool: DbPool,
    pub push: PushSender,
    pub sms: SmsSender,
    pub email: EmailSender,
    pub settings: DeliverySettings,
    /// Where hand-overs, provider errors and the time to the first and last push are counted.
    pub metrics: DeliveryMetrics,
    limits: Arc<Limits>,
}

impl DeliveryContext {
    pub fn new(
        pool: DbPool,
        push: PushSender,
        sms: SmsSender,
        email: EmailSender,
        settings: DeliverySettings,
        metrics: DeliveryMetrics,
    ) -> Self {
        let limits = Limits {
            // HTTP/2 multiplexes pushes; SMS gateways and mail servers take fewer at once.
            push: Semaphore::new(1_000),
            sms: Semaphore::new(64),
            email: Semaphore::new(16),
            paused_until: Mutex::new(HashMap::new()),
        };
        Self { pool, push, sms, email, settings, metrics, limits: Arc::new(limits) }
    }
}

fn retryable(error: impl Into<anyhow::Error>) -> JobError {
    JobError::retryable(error)
}

// --- fan-out ---

/// Snapshots the recipients of one wave of an alert and enqueues their batches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOutWave {
    pub alert_id: AlertId,
    pub message_id: AlertMessageId,
    pub wave: i16,
}

impl BackgroundJob for FanOutWave {
    const JOB_TYPE: &'static str = "fan_out_wave";
    const PRIORITY: i16 = 100;
    const MAX_ATTEMPTS: i32 = 10;
    type Context = DeliveryContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(retryable)?;
        let conn = &mut *conn;
        let alert = alert_queries::find_alert(conn, self.alert_id, false)
            .await?
            .ok_or_else(|| JobError::permanent(anyhow::anyhow!("the alert does not exist")))?;
        if AlertStatus::from_database(&alert.status) == AlertStatus::Closed {
            return Ok(());
        }
        let channels = effective_channels(alert.urgent, &alert.channels);
        let first_size = ctx.settings.first_batch_size.clamp(1, ctx.settings.batch_size.max(1));
        // A first handful goes out while the whole area is still being matched.
        let first = alert_queries::select_a_few_new_recipients(
            conn,
            self.alert_id,
            &alert.category,
            &channels,
            first_size,
        )
        .await?;
        let mut added = 0;
        let mut closed = false;
        if !first.is_empty() {
            match self.add_batch(conn, &first).await? {
                Some(count) => added += count,
                None => closed = true,
            }
        }
        let started = Instant::now();
        let rest = if closed {
            Vec::new()
        } else {
            alert_queries::select_new_recipients(conn, self.alert_id, &alert.category, &channels).await?
        };
        let select_ms = started.elapsed().as_millis() as u64;
        let (head, tail) = rest.split_at(if first.is_empty() { first_size.min(rest.len()) } else { 0 });
        for chunk in std::iter::once(head).chain(tail.chunks(ctx.settings.batch_size.max(1))) {
            if chunk.is_empty() {
                continue;
            }
            match self.add_batch(conn, chunk).await? {
                Some(count) => added += count,
                None => break,
            }
        }
        let by_live_location = first.iter().chain(&rest).filter(|m| m.matched_by == "live_location").count();
        dossier::record(
            conn,
            self.alert_id,
            &Actor::System,
            "recipients_selected",
            json!({
                "wave": self.wave,
                "message_id": self.message_id,
                "recipients": added,
                "matched_by_live_location": by_live_location,
                "select_ms": select_ms,
            }),
        )
        .await?;
        tracing::info!(alert_id = %self.alert_id, wave = self.wave, recipients = added, select_ms, "wave fanned out");
        if self.wave == 0 {
            // Its batches may all have finished before the last of them was added.
            timing::observe_if_finished(conn, self.alert_id, &ctx.metrics).await;
        }
        Ok(())
    }
}

impl FanOutWave {
    /// Adds one batch and its delivery jobs (the wave's alert, and every update so far). `None`
    /// when the alert was closed meanwhile: nobody more is to be alerted.
    async fn add_batch(
        &self,
        conn: &mut AsyncPgConnection,
        chunk: &[MatchedParticipant],
    ) -> Result<Option<usize>, JobError> {
        let outcome = conn
            .transaction(async |conn| {
                let status = alert_queries::lock_status(conn, self.alert_id).await?;
                if status.is_none_or(|status| AlertStatus::from_database(&status) == AlertStatus::Closed) {
                    return Ok::<_, diesel::result::Error>(None);
                }
                let batch_no = alert_queries::next_batch_no(conn, self.alert_id).await?;
                let added =
                    alert_queries::insert_recipients(conn, self.alert_id, self.wave, batch_no, chunk).await?;
                if added > 0 {
                    let updates = alert_queries::update_message_ids(conn, self.alert_id).await?;
                    for message in
                        std::iter::once(self.message_id).chain(updates.into_iter().map(AlertMessageId))
                    {
                        alert_queries::insert_delivery_batch(conn, message, batch_no, self.alert_id).await?;
                        DeliverBatch { message_id: message, batch_no }.enqueue(conn).await?;
                    }
                }
                Ok(Some(added))
            })
            .await?;
        Ok(outcome)
    }
}

// --- delivering a batch ---

/// Delivers one message to one batch of recipients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverBatch {
    pub message_id: AlertMessageId,
    pub batch_no: i32,
}

impl BackgroundJob for DeliverBatch {
    const JOB_TYPE: &'static str = "deliver_batch";
    const PRIORITY: i16 = 90;
    // Follow-ups wait (without sending) for earlier messages to reach the batch first.
    const MAX_ATTEMPTS: i32 = 100;
    type Context = DeliveryContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(retryable)?;
        let conn = &mut *conn;
        let (alert, message) = load(conn, self.message_id).await?;
        let alert_id = AlertId(alert.id);
        let kind = MessageKind::from_database(&message.kind);
        if kind != MessageKind::Alert
            && !queries::earlier_messages_delivered(conn, self.message_id, self.batch_no).await?
        {
            return Err(JobError::retry_after(
                Duration::from_secs(2),
                anyhow::anyhow!("waiting for the earlier messages to reach this batch"),
            ));
        }
        if kind == MessageKind::Alert && AlertStatus::from_database(&alert.status) == AlertStatus::Closed {
            // Closed before this batch was alerted: they get neither the alert nor the closing.
            queries::end_batch_run(conn, self.message_id, self.batch_no, true).await?;
            return Ok(());
        }
        let run = queries::start_batch(conn, self.message_id, self.batch_no).await?;
        let mut batch = Batch::load(conn, &alert, &message, self.batch_no, run.follows_interruption).await?;
        let routing = AlertRouting::new(
            alert.urgent,
            &effective_channels(alert.urgent, &alert.channels)
                .iter()
                .map(|c| Channel::from_database(c))
                .collect::<Vec<_>>(),
        );
        let reached: HashMap<Uuid, Vec<Channel>> = if kind == MessageKind::Alert {
            HashMap::new()
        } else {
            let mut reached: HashMap<Uuid, Vec<Channel>> = HashMap::new();
            for row in queries::reached_channels(conn, alert_id, self.batch_no).await? {
                reached.entry(row.participant_id).or_default().push(Channel::from_database(&row.channel));
            }
            reached
        };
        let planner = |recipient: &Recipient, made: &Made| match kind {
            MessageKind::Alert => plan::alert_routes(routing, recipient, made),
            _ => plan::follow_up_routes(
                recipient,
                reached.get(&recipient.participant_id).map(Vec::as_slice).unwrap_or_default(),
                made,
            ),
        };
        let outcome = batch.deliver(&ctx, conn, &planner, run.number >= SENDING_RUNS).await?;
        if let Some(wait) = outcome {
            queries::end_batch_run(conn, self.message_id, self.batch_no, false).await?;
            return Err(JobError::retry_after(
                wait,
                anyhow::anyhow!("some hand-overs failed for now; retrying"),
            ));
        }
        let sms_fallback = kind == MessageKind::Alert && alert.urgent && routing.sms;
        let fallback_after = ctx.settings.sms_fallback_after;
        conn.transaction(async |conn| {
            queries::end_batch_run(conn, self.message_id, self.batch_no, true).await?;
            if sms_fallback {
                SmsFallbackCheck { message_id: self.message_id, batch_no: self.batch_no }
                    .enqueue_after(conn, fallback_after)
                    .await?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .await?;
        if message.wave == Some(0) {
            timing::observe_if_finished(conn, alert_id, &ctx.metrics).await;
        }
        Ok(())
    }
}

/// For urgent alerts: an SMS to recipients whose devices got the push but who did not confirm
/// receipt in time, if they chose SMS.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SmsFallbackCheck {
    pub message_id: AlertMessageId,
    pub batch_no: i32,
}

impl BackgroundJob for SmsFallbackCheck {
    const JOB_TYPE: &'static str = "sms_fallback_check";
    const PRIORITY: i16 = 80;
    const MAX_ATTEMPTS: i32 = 6;
    type Context = DeliveryContext;

    async fn run(&self, ctx: Self::Context) -> Result<(), JobError> {
        let mut conn = ctx.pool.get().await.map_err(retryable)?;
        let conn = &mut *conn;
        let (alert, message) = load(conn, self.message_id).await?;
        if AlertStatus::from_database(&alert.status) == AlertStatus::Closed {
            return Ok(());
        }
        let alert_id = AlertId(alert.id);
        let unacknowledged =
            queries::unacknowledged_push_recipients(conn, alert_id, self.message_id, self.batch_no).await?;
        if unacknowledged.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::load(conn, &alert, &message, self.batch_no, false).await?;
        let planner = |recipient: &Recipient, made: &Made| -> Vec<Route> {
            let wants_sms = recipient.channels.contains(&Channel::Sms) && recipient.has_phone;
            let pending = matches!(
                made.get(&(recipient.participant_id, Channel::Sms, None)),
                None | Some((State::Retrying, _))
            );
            if recipient.active && wants_sms && pending && unacknowledged.contains(&recipient.participant_id)
            {
                vec![Route::Sms(plan::Reason::NotAcknowledged)]
            } else {
                Vec::new()
            }
        };
        match batch.deliver(&ctx, conn, &planner, false).await? {
            Some(wait) => Err(JobError::retry_after(
                wait,
                anyhow::anyhow!("some fallback SMS failed for now; retrying"),
            )),
            None => Ok(()),
        }
    }
}

/// The message and its alert; their absence is permanent (alerts are never deleted).
async fn load(
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
struct Contact {
    recipient: Recipient,
    language: Language,
    phone: Option<PhoneNumber>,
    email: Option<EmailAddress>,
}

/// One message to one batch: its recipients, the texts in each language, and what was made.
struct Batch {
    alert_id: AlertId,
    message_id: AlertMessageId,
    kind: MessageKind,
    batch_no: i32,
    urgent: bool,
    contacts: Vec<Contact>,
    rendered: HashMap<Language, Rendered>,
    made: Made,
    follows_interruption: bool,
}

/// A group's outcomes to be recorded, with the devices found dead.
type Outcomes = (Vec<DeliveryRecord>, Vec<DeadDevice>);
type DeadDevice = (Uuid, DeviceTarget, Option<chrono::DateTime<chrono::Utc>>, String);

/// How one hand-over ended.
enum HandOver {
    Sent(Option<String>),
    Failed { code: String, dead_token: Option<Option<chrono::DateTime<chrono::Utc>>> },
    Retry { code: String, after: Option<Duration> },
}

impl Batch {
    async fn load(
        conn: &mut AsyncPgConnection,
        alert: &AlertRow,
        message: &MessageRow,
        batch_no: i32,
        follows_interruption: bool,
    ) -> Result<Self, JobError> {
        let alert_id = AlertId(alert.id);
        let message_id = AlertMessageId(message.id);
        let kind = MessageKind::from_database(&message.kind);
        let contacts = queries::batch_contacts(conn, alert_id, batch_no).await?;
        let ids: Vec<Uuid> = contacts.iter().map(|c| c.participant_id).collect();
        let mut devices: HashMap<Uuid, Vec<DeviceTarget>> = HashMap::new();
        for device in queries::devices_of(conn, &ids).await? {
            devices.entry(device.participant_id).or_default().push(DeviceTarget {
                id: device.id,
                platform: Platform::from_database(&device.platform),
                token: device.push_token,
                apns_environment: device.apns_environment.as_deref().map(ApnsEnvironment::from_database),
            });
        }
        let contacts = contacts
            .into_iter()
            .map(|row| Contact {
                recipient: Recipient {
                    participant_id: row.participant_id,
                    active: row.status == ParticipantStatus::Active.as_str(),
                    channels: row.channels.iter().map(|c| Channel::from_database(c)).collect(),
                    has_phone: row.phone_number.is_some(),
                    has_verified_email: row.email.is_some(),
                    devices: devices.remove(&row.participant_id).unwrap_or_default(),
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
                (
                    *language,
                    render::render(
                        kind,
                        &alert_texts,
                        message_texts.as_ref(),
                        alert.call_back_number.as_deref(),
                        *language,
                    ),
                )
            })
            .collect();
        Ok(Self {
            alert_id,
            message_id,
            kind,
            batch_no,
            urgent: alert.urgent,
            contacts,
            rendered,
            made,
            follows_interruption,
        })
    }

    /// Sends what `planner` says is still needed, in rounds, recording as it goes. Returns how
    /// long to wait before the next run when passing failures remain (`None`: all done). On the
    /// `last_run`, what still fails after the last round fails for good.
    async fn deliver(
        &mut self,
        ctx: &DeliveryContext,
        conn: &mut AsyncPgConnection,
        planner: &(dyn Fn(&Recipient, &Made) -> Vec<Route> + Sync),
        last_run: bool,
    ) -> Result<Option<Duration>, JobError> {
        let mut wait_hint: Option<Duration> = None;
        let next_run_after = |hint: Option<Duration>| hint.unwrap_or_default().max(Duration::from_secs(1));
        for round in 0..=ROUNDS_PER_RUN {
            let planned = self.plan(planner);
            if planned.is_empty() {
                return Ok(None);
            }
            if round == ROUNDS_PER_RUN {
                // This run's retries are spent; what is new (an SMS for pushes that just failed
                // for good) still goes now, the rest waits for the next run.
                let fresh: Vec<_> =
                    planned.into_iter().filter(|(index, route)| !self.is_retry(*index, route)).collect();
                if !fresh.is_empty() {
                    wait_hint = wait_hint.max(self.send_all(ctx, conn, fresh, last_run).await?);
                }
                return Ok((!self.plan(planner).is_empty()).then(|| next_run_after(wait_hint)));
            }
            if round > 0 && planned.iter().any(|(index, route)| self.is_retry(*index, route)) {
                tokio::time::sleep(
                    backoff(ctx.settings.retry_base, round).max(wait_hint.unwrap_or_default()),
                )
                .await;
            }
            let give_up = last_run && round + 1 == ROUNDS_PER_RUN;
            wait_hint = self.send_all(ctx, conn, planned, give_up).await?;
        }
        Ok(None)
    }

    /// What is still to be handed over, pushes first: they are the fastest way to reach people,
    /// and an SMS gateway's smaller capacity should not hold them up.
    fn plan(&self, planner: &(dyn Fn(&Recipient, &Made) -> Vec<Route> + Sync)) -> Vec<(usize, Route)> {
        let mut planned: Vec<(usize, Route)> = self
            .contacts
            .iter()
            .enumerate()
            .flat_map(|(index, contact)| {
                planner(&contact.recipient, &self.made).into_iter().map(move |route| (index, route))
            })
            .collect();
        planned.sort_by_key(|(_, route)| route.channel() != Channel::Push);
        planned
    }

    fn is_retry(&self, index: usize, route: &Route) -> bool {
        let key = (self.contacts[index].recipient.participant_id, route.channel(), route.device_id());
        matches!(self.made.get(&key), Some((State::Retrying, _)))
    }

    /// Hands over `work` in groups of [`RECORD_EVERY`], recording each group while the next one
    /// is handed over. Returns the longest `Retry-After` a provider asked for.
    async fn send_all(
        &mut self,
        ctx: &DeliveryContext,
        conn: &mut AsyncPgConnection,
        work: Vec<(usize, Route)>,
        give_up: bool,
    ) -> Result<Option<Duration>, JobError> {
        let mut wait_hint: Option<Duration> = None;
        let expires_at = chrono::Utc::now() + ctx.settings.push_lifetime;
        let mut unrecorded: Option<Outcomes> = None;
        for group in work.chunks(RECORD_EVERY) {
            let handing_over =
                join_all(group.iter().map(|(index, route)| self.hand_over(ctx, *index, route, expires_at)));
            let outcomes = match unrecorded.take() {
                Some((records, dead_devices)) => {
                    let (recorded, outcomes) =
                        tokio::join!(self.record(ctx, conn, &records, &dead_devices), handing_over);
                    recorded?;
                    outcomes
                }
                None => handing_over.await,
            };
            let mut records = Vec::with_capacity(group.len());
            let mut dead_devices = Vec::new();
            for ((index, route), outcome) in group.iter().zip(outcomes) {
                let participant_id = self.contacts[*index].recipient.participant_id;
                let key = (participant_id, route.channel(), route.device_id());
                let previous = self.made.get(&key).map_or(0, |(_, attempts)| *attempts);
                let (state, provider_message_id, error_code) = match outcome {
                    HandOver::Sent(id) => (State::Sent, id, None),
                    HandOver::Failed { code, dead_token } => {
                        if let (Route::Push(device), Some(since)) = (route, dead_token) {
                            dead_devices.push((participant_id, device.clone(), since, code.clone()));
                        }
                        (State::Failed, None, Some(code))
                    }
                    HandOver::Retry { code, after } => {
                        wait_hint = wait_hint.max(after);
                        let state = if give_up { State::Failed } else { State::Retrying };
                        (state, None, Some(code))
                    }
                };
                self.made.insert(key, (state, previous + 1));
                let platform = match route {
                    Route::Push(device) => Some(device.platform.as_str()),
                    _ => None,
                };
                records.push(DeliveryRecord {
                    participant_id,
                    channel: route.channel().as_str(),
                    device_id: route.device_id(),
                    platform,
                    reason: route.reason().as_str(),
                    state: match state {
                        State::Sent => "sent",
                        State::Failed => "failed",
                        State::Retrying => "retrying",
                    },
                    attempts: previous.saturating_add(1),
                    resent_after_interruption: self.follows_interruption && previous == 0,
                    provider_message_id,
                    error_code,
                });
            }
            unrecorded = Some((records, dead_devices));
        }
        if let Some((records, dead_devices)) = unrecorded {
            self.record(ctx, conn, &records, &dead_devices).await?;
        }
        Ok(wait_hint)
    }

    /// Records a group's outcomes, removes dead devices, and writes the dossier entry: together.
    /// Once that is committed, the outcomes are counted.
    async fn record(
        &self,
        ctx: &DeliveryContext,
        conn: &mut AsyncPgConnection,
        records: &[DeliveryRecord],
        dead_devices: &[DeadDevice],
    ) -> Result<(), JobError> {
        let results: Vec<serde_json::Value> = records
            .iter()
            .map(|r| {
                json!({
                    "participant_id": r.participant_id,
                    "channel": r.channel,
                    "device_id": r.device_id,
                    "reason": r.reason,
                    "state": r.state,
                    "attempts": r.attempts,
                    "error_code": r.error_code,
                    "resent_after_interruption": r.resent_after_interruption,
                })
            })
            .collect();
        conn.transaction(async |conn| {
            queries::record(conn, self.alert_id, self.message_id, self.batch_no, records).await?;
            dossier::record(
                conn,
                self.alert_id,
                &Actor::System,
                "deliveries",
                json!({ "message_id": self.message_id, "kind": self.kind, "batch_no": self.batch_no, "results": results }),
            )
            .await?;
            for (participant_id, device, since, code) in dead_devices {
                if queries::remove_dead_device(conn, DeviceId(device.id), &device.token, *since).await? {
                    dossier::record(
                        conn,
                        self.alert_id,
                        &Actor::System,
                        "device_removed",
                        json!({ "participant_id": participant_id, "device_id": device.id, "reason": code }),
                    )
                    .await?;
                }
            }
            Ok::<_, diesel::result::Error>(())
        })
        .await?;
        for record in records {
            let result = match record.state {
                "sent" => DeliveryResult::Sent,
                "retrying" => DeliveryResult::Retrying,
                _ => DeliveryResult::Failed,
            };
            ctx.metrics.deliveries.count(Channel::from_database(record.channel), result, 1);
        }
        Ok(())
    }

    async fn hand_over(
        &self,
        ctx: &DeliveryContext,
        index: usize,
        route: &Route,
        expires_at: chrono::DateTime<chrono::Utc>,
    ) -> HandOver {
        let contact = &self.contacts[index];
        let rendered = &self.rendered[&contact.language];
        let limits = &ctx.limits;
        match route {
            Route::Push(device) => {
                let provider = match device.platform {
                    Platform::Ios => Provider::Apns,
                    Platform::Android => Provider::Fcm,
                };
                limits.wait_while_paused(provider).await;
                let _permit = limits.push.acquire().await;
                let alert_id = self.alert_id.to_string();
                let message_id = self.message_id.to_string();
                let data = [
                    ("alert_id", alert_id.as_str()),
                    ("message_id", message_id.as_str()),
                    ("kind", self.kind.as_str()),
                ];
                let notification = PushNotification {
                    token: &device.token,
                    title: &rendered.push_title,
                    body: &rendered.push_body,
                    urgent: self.urgent && self.kind != MessageKind::Closing,
                    collapse_id: &alert_id,
                    expires_at,
                    data: &data,
                };
                match ctx.push.send(device.platform, device.apns_environment, &notification).await {
                    Ok(accepted) => HandOver::Sent(accepted.provider_message_id),
                    Err(error) => {
                        let source = match device.platform {
                            Platform::Ios => ErrorSource::Apns,
                            Platform::Android => ErrorSource::Fcm,
                        };
                        ctx.metrics.provider_errors.count(source, &error.provider_code());
                        if let PushError::RateLimited { retry_after: Some(after), .. } = &error {
                            limits.pause(provider, *after);
                        }
                        classify_push(error)
                    }
                }
            }
            Route::Sms(_) => {
                let Some(phone) = &contact.phone else {
                    return HandOver::Failed { code: "no_phone_number".into(), dead_token: None };
                };
                limits.wait_while_paused(Provider::Sms).await;
                let _permit = limits.sms.acquire().await;
                let reference = format!("{}:{}", self.message_id, contact.recipient.participant_id);
                match ctx
                    .sms
                    .send(&SmsMessage { to: phone, body: &rendered.sms, reference: &reference })
                    .await
                {
                    Ok(sent) => HandOver::Sent(Some(sent.provider_message_id)),
                    Err(error) => {
                        ctx.metrics.provider_errors.count(ErrorSource::Sms, &error.provider_code());
                        if let Some(after) = error.retry_after() {
                            limits.pause(Provider::Sms, after);
                        }
                        classify_sms(&error)
                    }
                }
            }
            Route::Email => {
                let Some(address) = &contact.email else {
                    return HandOver::Failed { code: "no_verified_email".into(), dead_token: None };
                };
                limits.wait_while_paused(Provider::Email).await;
                let _permit = limits.email.acquire().await;
                let message = EmailMessage {
                    to: address.clone(),
                    subject: rendered.email_subject.clone(),
                    text_body: rendered.email_body.clone(),
                };
                let sent = ctx.email.send(&message).await;
                if let Err(error) = &sent {
                    ctx.metrics.provider_errors.count(ErrorSource::Smtp, &error.provider_code());
                }
                match sent {
                    Ok(sent) => HandOver::Sent(Some(sent.message_id)),
                    Err(error) if error.is_retryable() => {
                        HandOver::Retry { code: "unavailable".into(), after: None }
                    }
                    Err(error) => {
                        let code = if matches!(error, crate::providers::email::EmailError::Unauthorized) {
                            "unauthorized"
                        } else {
                            "rejected"
                        };
                        HandOver::Failed { code: code.into(), dead_token: None }
                    }
                }
            }
        }
    }
}

fn classify_push(error: PushError) -> HandOver {
    let code = error.code().to_string();
    match error {
        PushError::Unregistered { since, .. } => HandOver::Failed { code, dead_token: Some(since) },
        error if error.is_retryable() => HandOver::Retry { code, after: error.retry_after() },
        _ => HandOver::Failed { code, dead_token: None },
    }
}

fn classify_sms(error: &SmsError) -> HandOver {
    let code = match error {
        SmsError::Unauthorized => "unauthorized",
        SmsError::Rejected { .. } => "rejected",
        SmsError::RateLimited { .. } => "rate_limited",
        SmsError::Unavailable { .. } => "unavailable",
    };
    // Our key being refused is an operator problem that a fix can end: retry.
    if error.is_retryable() || matches!(error, SmsError::Unauthorized) {
        HandOver::Retry { code: code.into(), after: error.retry_after() }
    } else {
        HandOver::Failed { code: code.into(), dead_token: None }
    }
}

/// `base * 2^round` with up to 20% jitter, at most 10 s: spread out, so retries do not storm.
fn backoff(base: Duration, round: u32) -> Duration {
    let delay =
        base.saturating_mul(2u32.saturating_pow(round.saturating_sub(1))).min(Duration::from_secs(10));
    delay.mul_f64(0.8 + 0.2 * rand::random::<f64>())
}
