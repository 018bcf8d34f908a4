//! How an alert is doing, and what participants see of it: the control room's view (the alert
//! with its waves, messages and counters), the list of a region's alerts, and a participant's
//! alerts with their receipts (`received`, `opened`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::access::{self, AccessError, Regions};
use super::content::{AlertText, AlertTexts, Description, MessageTexts};
use super::public_id::page_url;
use super::public_page::{self, ClosingReport};
use super::{Actor, Category, Channel, answers, dossier};
use crate::auth::staff::StaffMember;
use crate::db::alerts::{self as queries, AlertRow, MessageRow};
use crate::db::deliveries as delivery_queries;
use crate::db::participants as participant_queries;
use crate::db::target_groups::TargetGroupRef;
use crate::ids::{AlertId, AlertMessageId, DeviceId, ParticipantId};
use crate::vocabulary::Language;
use crate::vocabulary::alerts::{AlertAnswer, AlertPurpose, AlertStatus, MessageKind, Outcome};

/// Deliveries on one channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChannelCounters {
    /// Failed for now; being retried.
    pub retrying: i64,
    /// Accepted by the provider.
    pub sent: i64,
    /// Confirmed arrived: by the device (push, the app's receipt) or the gateway (SMS receipt).
    pub delivered: i64,
    /// Failed for good.
    pub failed: i64,
    /// Recipients reached on this channel who confirmed receipt in the app.
    pub acknowledged: i64,
    /// Recipients reached on this channel who opened the alert in the app.
    pub opened: i64,
}

/// Recipients by their one-tap answer (each counts with their latest answer only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AnswerCounts {
    pub seen_now: i64,
    pub searching: i64,
    pub not_in_area: i64,
    pub cannot_help: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counters {
    pub recipients: i64,
    pub acknowledged: i64,
    pub opened: i64,
    pub tips: i64,
    /// Delivery batches still being worked on (0 once every message has been handed over).
    pub batches_pending: i64,
    /// Of the recipients, those who came into the area while the alert was active: their live
    /// position entered it, or the time window of a place of theirs in it opened.
    pub entered_area: i64,
    pub time_window: i64,
    /// The recipients' one-tap answers, as they stand now.
    pub answers: AnswerCounts,
    pub push: ChannelCounters,
    pub sms: ChannelCounters,
    pub email: ChannelCounters,
    /// Calls: `sent` placed with the gateway, `delivered` heard (answered, or by voicemail).
    pub voice: ChannelCounters,
}

pub async fn counters(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<Counters> {
    let totals = delivery_queries::recipient_counts(conn, alert).await?;
    let mut counters = Counters {
        recipients: totals.recipients,
        acknowledged: totals.acknowledged,
        opened: totals.opened,
        tips: totals.tips,
        batches_pending: totals.batches_pending,
        entered_area: totals.entered_area,
        time_window: totals.time_window,
        answers: AnswerCounts {
            seen_now: totals.seen_now,
            searching: totals.searching,
            not_in_area: totals.not_in_area,
            cannot_help: totals.cannot_help,
        },
        ..Counters::default()
    };
    for row in delivery_queries::channel_counts(conn, alert).await? {
        let channel = ChannelCounters {
            retrying: row.retrying,
            sent: row.sent,
            delivered: row.delivered,
            failed: row.failed,
            acknowledged: row.acknowledged,
            opened: row.opened,
        };
        match row.channel {
            Channel::Push => counters.push = channel,
            Channel::Sms => counters.sms = channel,
            Channel::Email => counters.email = channel,
            Channel::Voice => counters.voice = channel,
        }
    }
    Ok(counters)
}

/// A staff member as their token named them: who created an alert, or who asked for a reach
/// preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CreatedBy {
    pub subject: String,
    pub name: Option<String>,
}

/// One wave's area as it was drawn.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AreaWave {
    /// 0: the area the alert was created with; then one per expansion.
    pub wave: i16,
    #[schema(value_type = Object)]
    pub shape: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A message of an alert as the control room sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlertMessage {
    #[schema(value_type = Uuid)]
    pub id: AlertMessageId,
    pub kind: MessageKind,
    /// For `alert` messages: the wave they went to.
    pub wave: Option<i16>,
    /// `AlertTexts` for the alert itself, `MessageTexts` for updates and the closing message.
    #[schema(value_type = Object)]
    pub texts: serde_json::Value,
    pub created_at: DateTime<Utc>,
    /// For updates sent to some recipients only: the answers of those they went to.
    pub to_answers: Option<Vec<AlertAnswer>>,
}

impl From<MessageRow> for AlertMessage {
    fn from(row: MessageRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            wave: row.wave,
            texts: row.texts,
            created_at: row.created_at,
            to_answers: row.to_answers,
        }
    }
}

/// An alert as the control room sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Alert {
    #[schema(value_type = Uuid)]
    pub id: AlertId,
    /// The region's code, e.g. `rotterdam`.
    pub region: String,
    pub status: AlertStatus,
    pub category: Category,
    /// `exercise` or `test` (CAP's status): reaches only those who opted in to exercises, and
    /// every message says `OEFENING`; `actual` for a real alert.
    pub purpose: AlertPurpose,
    pub urgent: bool,
    pub channels: Vec<Channel>,
    pub description: Description,
    pub texts: AlertTexts,
    pub call_back_number: Option<String>,
    /// The area the alert covers now (all waves), as a GeoJSON MultiPolygon.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    pub areas: Vec<AreaWave>,
    /// Whether it reaches those its area reaches; false: only its target groups.
    pub reach_area: bool,
    /// The control room's reference for the incident (its incident system's number).
    pub incident_reference: Option<String>,
    /// The target groups whose approved members it reaches wherever they are.
    pub target_groups: Vec<TargetGroupRef>,
    pub outcome: Option<Outcome>,
    pub created_by: CreatedBy,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Until when those who come into the area (a live position that enters it, a place's time
    /// window that opens) become recipients too; none before the send and after the close.
    pub recruiting_until: Option<DateTime<Utc>>,
    pub messages: Vec<AlertMessage>,
    pub counters: Counters,
    /// The id of its public page, `/public/alerts/{public_id}`: real alerts get one when sent;
    /// drafts, exercises and tests have none.
    pub public_id: Option<String>,
    /// The public report written once it is closed (`PUT /v1/alerts/{id}/closing-report`).
    pub closing_report: Option<ClosingReport>,
}

/// An alert in a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertSummary {
    #[schema(value_type = Uuid)]
    pub id: AlertId,
    pub region: String,
    pub status: AlertStatus,
    pub category: Category,
    /// `exercise` or `test` (CAP's status): reaches only those who opted in to exercises, and
    /// every message says `OEFENING`; `actual` for a real alert.
    pub purpose: AlertPurpose,
    pub urgent: bool,
    /// The Dutch title.
    pub title: String,
    pub outcome: Option<Outcome>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

fn texts_of(row: &AlertRow) -> AlertTexts {
    serde_json::from_value(row.texts.clone()).expect("stored alert texts are AlertTexts")
}

impl From<AlertRow> for AlertSummary {
    fn from(row: AlertRow) -> Self {
        Self {
            title: texts_of(&row).nl.title,
            id: row.id,
            region: row.region_code,
            status: row.status,
            category: row.category,
            purpose: row.purpose,
            urgent: row.urgent,
            outcome: row.outcome,
            created_at: row.created_at,
            sent_at: row.sent_at,
            closed_at: row.closed_at,
        }
    }
}

/// Whether there is such an alert, for the operator's tasks (`burgernet admin`), which act outside
/// any staff member's scope.
pub async fn exists(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<bool> {
    Ok(queries::find_state(conn, alert).await?.is_some())
}

/// Whether the alert is closed (`false` when there is no such alert).
pub async fn is_closed(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<bool> {
    Ok(queries::find_state(conn, alert).await?.is_some_and(|state| state.status == AlertStatus::Closed))
}

/// One alert as a staff member who may see it looks it up; the look is recorded in the dossier
/// (`viewed`, once per quarter of an hour per person).
pub async fn look_up(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
) -> Result<Alert, AccessError> {
    let alert = view(conn, staff, id).await?;
    dossier::record_view(conn, id, &Actor::staff(staff), "viewed", json!({})).await?;
    Ok(alert)
}

/// One alert, for a staff member who may see it.
pub async fn view(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
) -> Result<Alert, AccessError> {
    let row = access::alert_seen_by(conn, staff, id, false).await?;
    Ok(view_of(conn, row).await?)
}

/// The alert of `row` with its areas, messages and counters.
pub async fn view_of(conn: &mut AsyncPgConnection, row: AlertRow) -> diesel::QueryResult<Alert> {
    let id = row.id;
    let areas = queries::list_areas(conn, id).await?;
    let messages = queries::list_messages(conn, id).await?;
    let counters = counters(conn, id).await?;
    let target_groups = queries::target_groups_of(conn, id).await?;
    let closing_report = public_page::closing_report(conn, id).await?;
    Ok(Alert {
        id,
        texts: texts_of(&row),
        description: serde_json::from_value(row.description).expect("a stored description is a Description"),
        region: row.region_code,
        status: row.status,
        category: row.category,
        purpose: row.purpose,
        urgent: row.urgent,
        channels: row.channels.clone(),
        call_back_number: row.call_back_number,
        area: serde_json::from_str(&row.area_geojson).expect("PostGIS writes GeoJSON"),
        areas: areas
            .into_iter()
            .map(|area| AreaWave { wave: area.wave, shape: area.shape, created_at: area.created_at })
            .collect(),
        reach_area: row.reach_area,
        incident_reference: row.incident_reference,
        target_groups,
        outcome: row.outcome,
        created_by: CreatedBy { subject: row.created_by_subject, name: row.created_by_name },
        created_at: row.created_at,
        sent_at: row.sent_at,
        closed_at: row.closed_at,
        recruiting_until: row.recruiting_until,
        messages: messages.into_iter().map(AlertMessage::from).collect(),
        counters,
        public_id: row.public_id,
        closing_report,
    })
}

/// The newest alerts first that `staff` sees: their region's, or every region's for administrators.
pub async fn list(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    status: Option<AlertStatus>,
    purpose: Option<AlertPurpose>,
    limit: i64,
) -> Result<Vec<AlertSummary>, AccessError> {
    let region = match access::regions_seen_by(conn, staff).await? {
        Regions::All => None,
        Regions::One(region) => Some(region),
        Regions::None => return Ok(Vec::new()),
    };
    let rows = queries::list_alerts(conn, region, status, purpose, limit).await?;
    Ok(rows.into_iter().map(AlertSummary::from).collect())
}

// --- the participant's side ---

/// A later message of an alert, in the participant's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FollowUp {
    pub message: String,
    pub sent_at: DateTime<Utc>,
}

/// An alert as a participant who received it sees it, in their language.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceivedAlert {
    #[schema(value_type = Uuid)]
    pub id: AlertId,
    pub status: AlertStatus,
    pub category: Category,
    /// `exercise` or `test`: not a real alert; the app shows it as an exercise (`OEFENING`).
    pub purpose: AlertPurpose,
    pub urgent: bool,
    pub text: AlertText,
    pub description: Description,
    pub call_back_number: Option<String>,
    /// Where to look out, as a GeoJSON MultiPolygon.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    pub sent_at: Option<DateTime<Utc>>,
    pub updates: Vec<FollowUp>,
    /// The closing message, once the alert is over.
    pub closing: Option<FollowUp>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When your app confirmed receipt and when you opened it.
    pub received_at: Option<DateTime<Utc>>,
    pub opened_at: Option<DateTime<Utc>>,
    /// Your one-tap answer, if you gave one (`PUT /v1/me/alerts/{id}/answer`).
    pub answer: Option<AlertAnswer>,
    /// The answers this alert takes (none for `inform` alerts, which ask nothing).
    pub answers: Vec<AlertAnswer>,
    /// The address of its public page, for the app to offer to share; none for exercises and tests.
    pub share_url: Option<String>,
}

/// How many of their latest alerts a participant sees.
pub const RECENT_ALERTS: i64 = 50;

/// The participant's alerts, newest first (`only`: just that one); `public_url` is the API's public
/// address (`BURGERNET_PUBLIC_URL`), under which their public pages are.
pub async fn received(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    only: Option<AlertId>,
    public_url: &str,
) -> diesel::QueryResult<Vec<ReceivedAlert>> {
    let language = participant_queries::find(conn, participant, false)
        .await?
        .map_or(Language::Dutch, |row| row.language);
    let rows = queries::received_alerts(conn, participant.0, only, RECENT_ALERTS).await?;
    let ids: Vec<AlertId> = rows.iter().map(|row| row.alert.id).collect();
    let mut messages: HashMap<AlertId, Vec<MessageRow>> = HashMap::new();
    for message in queries::messages_of(conn, &ids).await? {
        messages.entry(message.alert_id).or_default().push(message);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let alert = row.alert;
            let follow_ups = messages.remove(&alert.id).unwrap_or_default();
            let follow_up = |message: &MessageRow| FollowUp {
                message: serde_json::from_value::<MessageTexts>(message.texts.clone())
                    .expect("stored message texts are MessageTexts")
                    .in_language(language)
                    .message
                    .clone(),
                sent_at: message.created_at,
            };
            ReceivedAlert {
                id: alert.id,
                status: alert.status,
                category: alert.category,
                purpose: alert.purpose,
                urgent: alert.urgent,
                text: texts_of(&alert).in_language(language).clone(),
                description: serde_json::from_value(alert.description)
                    .expect("a stored description is a Description"),
                call_back_number: alert.call_back_number,
                area: serde_json::from_str(&alert.area_geojson).expect("PostGIS writes GeoJSON"),
                sent_at: alert.sent_at,
                // An update addressed to some answers only is theirs alone.
                updates: follow_ups
                    .iter()
                    .filter(|m| m.kind == MessageKind::Update)
                    .filter(|m| {
                        m.to_answers
                            .as_ref()
                            .is_none_or(|to| row.answer.is_some_and(|answer| to.contains(&answer)))
                    })
                    .map(follow_up)
                    .collect(),
                closing: follow_ups.iter().find(|m| m.kind == MessageKind::Closing).map(follow_up),
                closed_at: alert.closed_at,
                received_at: row.received_at,
                opened_at: row.opened_at,
                answer: row.answer,
                answers: answers::offered(alert.category).to_vec(),
                share_url: alert.public_id.as_deref().map(|id| page_url(public_url, id)),
            }
        })
        .collect())
}

/// What the app reports about an alert it showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// The push arrived on the device.
    Received,
    /// The participant opened the alert.
    Opened,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("You did not receive this alert.")]
    NotARecipient,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Records a receipt: the first of each kind goes into the dossier; with a device, that device's
/// push counts as delivered. Returns how many push deliveries this receipt made `delivered`.
pub async fn record_receipt(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    alert: AlertId,
    kind: ReceiptKind,
    device: Option<DeviceId>,
) -> Result<usize, ReceiptError> {
    conn.transaction(async |conn| {
        let first = delivery_queries::record_receipt(conn, alert, participant.0, kind == ReceiptKind::Opened)
            .await?
            .ok_or(ReceiptError::NotARecipient)?;
        let delivered = match device {
            Some(device) => {
                delivery_queries::mark_push_delivered(conn, alert, participant.0, device.0).await?
            }
            None => 0,
        };
        if first {
            let event = match kind {
                ReceiptKind::Received => "acknowledged",
                ReceiptKind::Opened => "opened",
            };
            dossier::record(
                conn,
                alert,
                &Actor::Participant(participant),
                event,
                json!({ "participant_id": participant, "device_id": device }),
            )
            .await?;
        }
        Ok(delivered)
    })
    .await
}
