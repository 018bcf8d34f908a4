//! The rounds of a lane run: the batch as the run sees it ([`Batch`]), and its hand-overs,
//! streamed through the providers' rates and the lane's window, with passing failures tried again
//! in up to [`ROUNDS_PER_RUN`] rounds with backoff.

use std::collections::HashMap;
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::OwnedSemaphorePermit;

use super::DeliveryContext;
use super::hand_over::{self, HandOver, MessageRef};
use super::plan::effective_channels;
use super::plan::{self, AlertRouting, DeviceTarget, Made, Recipient, Route};
use super::recording::{DeadDevice, Ledger, Outcome};
use super::render::{self, Rendered};
use super::throttle::{Deferred, LONGEST_WAIT_IN_A_RUN};
use crate::alerts::answers;
use crate::alerts::content::{AlertTexts, MessageTexts};
use crate::backoff::Backoff;
use crate::db::alerts::{self as alert_queries, AlertRow, MessageRow};
use crate::db::deliveries::{self as queries, DeliveryRecord};
use crate::ids::{AlertId, AlertMessageId, ParticipantId};
use crate::jobs::JobError;
use crate::vocabulary::alerts::{DeliveryState, Lane, MessageKind};
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::{Channel, Language, ParticipantStatus};

/// Rounds of sending within one run before the rest waits for the job's next run.
pub const ROUNDS_PER_RUN: u32 = 4;

/// The message and its alert; their absence is permanent (alerts are never deleted).
pub(super) async fn load(
    conn: &mut AsyncPgConnection,
    message: AlertMessageId,
) -> Result<(AlertRow, MessageRow), JobError> {
    let missing = || JobError::permanent(anyhow::anyhow!("the message or its alert does not exist"));
    let message = alert_queries::find_message(conn, message).await?.ok_or_else(missing)?;
    let alert = alert_queries::find_alert(conn, message.alert_id, false).await?.ok_or_else(missing)?;
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
    /// The one-tap answers the push offers (`answers::PUSH_CATEGORY`), comma-separated; empty for
    /// follow-ups and alerts that ask nothing.
    answers: String,
    pub(super) routing: AlertRouting,
    pub(super) contacts: Vec<Contact>,
    rendered: HashMap<Language, Rendered>,
    /// For follow-ups: the channels that carried the alert to each recipient.
    reached: HashMap<ParticipantId, Vec<Channel>>,
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
        let alert_id = alert.id;
        let message_id = message.id;
        let kind = message.kind;
        // Of the alert itself, each lane has its recipients (see `Route::lane`): the push lane and
        // the fallback after it those the selection found reachable by push, the SMS lane the
        // others. Only the lanes that may push need their devices.
        let push_expected = match (kind, lane) {
            (MessageKind::Alert, Lane::Push | Lane::FallbackSms | Lane::FallbackVoice) => Some(true),
            (MessageKind::Alert, Lane::Sms | Lane::Voice) => Some(false),
            _ => None,
        };
        let rows =
            queries::batch_contacts(conn, alert_id, batch_no, push_expected, message.to_answers.as_deref())
                .await?;
        let mut devices: HashMap<ParticipantId, Vec<DeviceTarget>> = HashMap::new();
        if matches!(lane, Lane::Push | Lane::FallbackSms | Lane::FallbackVoice) {
            let ids: Vec<ParticipantId> = rows.iter().map(|c| c.participant_id).collect();
            for device in queries::devices_of(conn, &ids).await? {
                devices.entry(device.participant_id).or_default().push(DeviceTarget {
                    id: device.id,
                    platform: device.platform,
                    token: device.push_token,
                    apns_environment: device.apns_environment,
                });
            }
        }
        let contacts = rows
            .into_iter()
            .map(|row| Contact {
                recipient: Recipient {
                    participant_id: row.participant_id,
                    active: row.status == ParticipantStatus::Active,
                    channels: row.channels,
                    has_phone: row.phone_number.is_some(),
                    has_verified_email: row.email.is_some(),
                    devices: devices.remove(&row.participant_id).unwrap_or_default(),
                    push_expected: row.push_expected,
                },
                language: row.language,
                phone: row.phone_number,
                email: row.email,
            })
            .collect();
        let made = queries::existing(conn, message_id, batch_no)
            .await?
            .into_iter()
            .map(|row| ((row.participant_id, row.channel, row.device_id), (row.state, row.attempts)))
            .collect();
        let mut reached: HashMap<ParticipantId, Vec<Channel>> = HashMap::new();
        if kind != MessageKind::Alert {
            for row in queries::reached_channels(conn, alert_id, batch_no).await? {
                reached.entry(row.participant_id).or_default().push(row.channel);
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
                    alert.purpose,
                    &alert_texts,
                    message_texts.as_ref(),
                    alert.call_back_number.as_deref(),
                    *language,
                );
                (*language, texts)
            })
            .collect();
        let channels = effective_channels(alert.urgent, &alert.channels);
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
            answers: match kind {
                MessageKind::Alert => answers::offered(alert.category)
                    .iter()
                    .map(|answer| answer.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                _ => String::new(),
            },
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
    pub(super) fn routes(&self, contact: &Contact, made: &Made) -> Vec<Route> {
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

    /// Whether an SMS or call of this message to `contact` waits for their push lane (see
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
            answers: &self.answers,
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
            matches!(made.get(&key), Some((DeliveryState::Retrying, _)))
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
            HandOver::Sent { provider_message_id } => (DeliveryState::Sent, provider_message_id, None),
            HandOver::Failed { code, dead_token } => {
                if let (Route::Push(device), Some(dead)) = (&route, dead_token) {
                    dead_device = Some(DeadDevice {
                        device_id: device.id,
                        token: device.token.clone(),
                        since: dead.since,
                        code: code.clone(),
                    });
                }
                (DeliveryState::Failed, None, Some(code))
            }
            HandOver::Retry { code, after } => {
                end.wait_hint = end.wait_hint.max(after);
                (if give_up { DeliveryState::Failed } else { DeliveryState::Retrying }, None, Some(code))
            }
        };
        made.insert(key, (state, previous.saturating_add(1)));
        let record = DeliveryRecord {
            alert_id: batch.alert_id,
            message_id: batch.message_id,
            batch_no: batch.batch_no,
            participant_id,
            channel: route.channel(),
            device_id: route.device_id(),
            platform: match &route {
                Route::Push(device) => Some(device.platform),
                _ => None,
            },
            reason: route.reason(),
            state,
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
            let reference = hand_over::reference(batch.message_id, contact.recipient.participant_id);
            Box::pin(hand_over::sms(ctx, contact.phone.as_ref(), &message.rendered.sms, &reference)).await
        }
        Route::Email => Box::pin(hand_over::email(ctx, contact.email.as_ref(), message.rendered)).await,
        Route::Voice(_) => {
            let call = hand_over::Call {
                phone: contact.phone.as_ref(),
                language: contact.language,
                script: &message.rendered.voice,
                reference: &hand_over::reference(batch.message_id, contact.recipient.participant_id),
            };
            Box::pin(hand_over::voice(ctx, call)).await
        }
    };
    Ok((outcome, place))
}
