//! An alert's life: a draft is created, sent, perhaps expanded and updated, and closed with an
//! outcome and a closing message. Each step is one transaction that locks the alert, checks that
//! the step fits its status, records itself in the dossier, and enqueues the jobs it causes, so a
//! step that is saved is a step that will be carried out.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use serde_json::json;

use super::access::{self, AccessError};
use super::area::{AreaError, AreaLimits, validate};
use super::content::{AlertTexts, Description, MessageTexts, parse_call_back_number};
use super::delivery::FanOutWave;
use super::delivery::lanes::lane_job;
use super::delivery::plan::{AlertRouting, ChannelOrders, effective_channels, follow_up_lanes};
use super::{Actor, Category, Channel, audience, dossier, public_id};
use crate::auth::staff::StaffMember;
use crate::db::alerts::{self as queries, AlertRow, NewAlert};
use crate::db::jobs;
use crate::db::recipients::{self, NewLaneBatch};
use crate::db::scenarios::ScenarioRef;
use crate::ids::{AlertId, AlertMessageId, TargetGroupId};
use crate::jobs::BackgroundJob;
use crate::vocabulary::alerts::{AlertAnswer, AlertPurpose, AlertStatus, MessageKind, Outcome};
use crate::vocabulary::area::{AreaShape, DrawnArea};
use crate::vocabulary::{InvalidInput, distinct, form_text};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// No such alert, or one of another region than the staff member's.
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("This alert is {}; it cannot be {action}.", .status.as_str())]
    WrongStatus { status: AlertStatus, action: &'static str },
    #[error(transparent)]
    Area(#[from] AreaError),
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The alert reaches its target groups only; its area is not for reaching anyone.
    #[error("This alert reaches its target groups only; its area cannot be expanded.")]
    ReachesGroupsOnly,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<audience::AudienceError> for AlertError {
    fn from(error: audience::AudienceError) -> Self {
        match error {
            audience::AudienceError::Invalid(invalid) => Self::Invalid(invalid),
            audience::AudienceError::Database(error) => Self::Database(error),
        }
    }
}

impl AlertError {
    /// The stable code of a status conflict.
    pub fn status_code(&self) -> Option<&'static str> {
        match self {
            Self::WrongStatus { status: AlertStatus::Closed, .. } => Some("alert_closed"),
            Self::WrongStatus { status: AlertStatus::Active, .. } => Some("alert_already_sent"),
            Self::WrongStatus { status: AlertStatus::Draft, .. } => Some("alert_not_sent"),
            Self::ReachesGroupsOnly => Some("alert_reaches_groups_only"),
            _ => None,
        }
    }
}

/// A new alert as the control room sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlertRequest {
    pub category: Category,
    /// `exercise` or `test` (CAP's status values) to practise or test: it then reaches only
    /// participants who opted in to exercises, and every message and dossier entry says so.
    /// Default `actual`.
    #[serde(default)]
    pub purpose: AlertPurpose,
    /// Time-critical: pushes break through focus modes, and SMS replaces an unacknowledged push.
    pub urgent: bool,
    /// The channels to use; each participant is reached on those of them they chose. E-mail is
    /// used only for non-urgent alerts. `voice` (a call that reads the alert) only where the
    /// category's channel order has calls (by default `search` and `alarm`). The alert keeps them
    /// in that order: push first, then SMS and calls as the order puts them (a participant gets
    /// the first of these they chose), then e-mail.
    pub channels: Vec<Channel>,
    #[serde(default)]
    pub description: Description,
    pub texts: AlertTexts,
    /// The number participants call with what they saw, e.g. `0900-8844` or `112`.
    pub call_back_number: Option<String>,
    /// Where to look out. Unless `reach_area` is false, everyone it reaches (home, work, current
    /// position) is alerted.
    pub area: AreaShape,
    /// Target groups of the dispatcher's region whose approved members are alerted too, wherever
    /// they are (once each, also when they are in the area); at most 20.
    #[serde(default)]
    #[schema(value_type = Vec<Uuid>)]
    pub target_groups: Vec<TargetGroupId>,
    /// False: alert the target groups only; the area then only shows where to look. Default true.
    #[serde(default = "audience::reaches_area")]
    pub reach_area: bool,
    /// The control room's reference for the incident, e.g. its incident system's number (at most
    /// 100 characters). It goes out in the alert's CAP messages (`incidents`).
    #[serde(default)]
    pub incident_reference: Option<String>,
}

/// A parsed [`NewAlertRequest`].
#[derive(Debug, Clone)]
pub struct AlertDraft {
    pub category: Category,
    pub purpose: AlertPurpose,
    pub urgent: bool,
    pub channels: Vec<Channel>,
    pub description: Description,
    pub texts: AlertTexts,
    pub call_back_number: Option<String>,
    pub area: DrawnArea,
    pub target_groups: Vec<TargetGroupId>,
    pub reach_area: bool,
    pub incident_reference: Option<String>,
    /// The scenario it was made from, named in the dossier.
    pub scenario: Option<ScenarioRef>,
}

impl NewAlertRequest {
    /// Checks the request; `orders` says where each category puts SMS and calls.
    pub fn parse(self, orders: &ChannelOrders) -> Result<AlertDraft, InvalidInput> {
        let channels = orders.alert_channels(self.category, self.urgent, &self.channels)?;
        Ok(AlertDraft {
            category: self.category,
            purpose: self.purpose,
            urgent: self.urgent,
            channels,
            description: Description::parse(self.description)?,
            texts: AlertTexts::parse(self.texts)?,
            call_back_number: self.call_back_number.as_deref().map(parse_call_back_number).transpose()?,
            area: DrawnArea::parse(self.area)?,
            target_groups: audience::parse_target_groups(self.reach_area, &self.target_groups)?,
            reach_area: self.reach_area,
            incident_reference: self
                .incident_reference
                .as_deref()
                .map(parse_incident_reference)
                .transpose()?,
            scenario: None,
        })
    }
}

/// An incident reference: trimmed, 1 to 100 characters, no control characters.
fn parse_incident_reference(raw: &str) -> Result<String, InvalidInput> {
    form_text(raw, 100, false).ok().flatten().ok_or_else(|| {
        InvalidInput::new(
            "invalid_incident_reference",
            "The incident reference has 1 to 100 characters, without control characters.",
        )
    })
}

/// Saves a draft for the dispatcher's region; nothing is sent yet.
pub async fn create(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    draft: AlertDraft,
    limits: AreaLimits,
) -> Result<AlertId, AlertError> {
    let region = access::dispatcher_region(conn, staff).await?;
    let actor = &Actor::staff(staff);
    let area = validate(conn, &draft.area, region, limits).await?;
    let id = AlertId::new();
    let shape = serde_json::to_value(&area.shape).expect("an area shape serializes");
    let subject = actor.subject();
    conn.transaction(async |conn| {
        queries::insert_alert(
            conn,
            &NewAlert {
                id,
                region,
                category: draft.category,
                purpose: draft.purpose,
                reach_area: draft.reach_area,
                urgent: draft.urgent,
                channels: draft.channels.clone(),
                description: serde_json::to_value(&draft.description).expect("a description serializes"),
                texts: serde_json::to_value(&draft.texts).expect("texts serialize"),
                call_back_number: draft.call_back_number.as_deref(),
                area_wkb: &area.geometry_wkb,
                created_by_subject: &subject,
                created_by_name: actor.name(),
                incident_reference: draft.incident_reference.as_deref(),
            },
        )
        .await?;
        queries::add_area(conn, id, &shape, &area.geometry_wkb, &subject).await?;
        let target_groups = audience::name_target_groups(conn, id, region, &draft.target_groups).await?;
        dossier::record(
            conn,
            id,
            actor,
            "created",
            json!({
                "category": draft.category,
                "purpose": draft.purpose,
                "urgent": draft.urgent,
                "channels": draft.channels,
                "description": draft.description,
                "texts": draft.texts,
                "call_back_number": draft.call_back_number,
                "area": shape,
                "surface_km2": area.surface_km2,
                "reach_area": draft.reach_area,
                "target_groups": target_groups,
                "incident_reference": draft.incident_reference,
                "scenario": draft.scenario,
            }),
        )
        .await?;
        Ok(id)
    })
    .await
}

/// The alert, locked for a change, if it is in one of `allowed` statuses.
async fn lock_in_status(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    allowed: AlertStatus,
    action: &'static str,
) -> Result<AlertRow, AlertError> {
    let alert = access::alert_seen_by(conn, staff, id, true).await?;
    access::may_act(staff, &alert.region_code)?;
    let status = alert.status;
    if status != allowed {
        return Err(AlertError::WrongStatus { status, action });
    }
    Ok(alert)
}

/// Sends a draft: marks it active, records it, and enqueues the fan-out of wave 0. From then on
/// it recruits those who enter its area for `recruiting_window` (see
/// [`super::delivery::recruitment`]). Returns the alert as it now is, read once (locked) for the
/// whole request.
pub async fn send(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    recruiting_window: Duration,
) -> Result<AlertRow, AlertError> {
    let actor = &Actor::staff(staff);
    conn.transaction(async |conn| {
        let mut alert = lock_in_status(conn, staff, id, AlertStatus::Draft, "sent").await?;
        let channels = effective_channels(alert.urgent, &alert.channels);
        let (sent_at, recruiting_until) = queries::mark_sent(conn, id, recruiting_window, &channels).await?;
        alert.sent_at = Some(sent_at);
        alert.recruiting_until = recruiting_until;
        alert.status = AlertStatus::Active;
        public_id::assign_public_id(conn, &mut alert).await?;
        let message = AlertMessageId::new();
        queries::insert_message(
            conn,
            message,
            id,
            MessageKind::Alert,
            Some(0),
            &alert.texts,
            &actor.subject(),
        )
        .await?;
        dossier::record(conn, id, actor, "sent", json!({ "message_id": message, "wave": 0 })).await?;
        FanOutWave { alert_id: id, message_id: message, wave: 0 }.enqueue(conn).await?;
        Ok(alert)
    })
    .await
}

/// Adds an area to an active alert; only participants not reached yet are notified.
pub async fn expand(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    area: DrawnArea,
    limits: AreaLimits,
) -> Result<i16, AlertError> {
    let actor = &Actor::staff(staff);
    let region = {
        let alert = access::alert_seen_by(conn, staff, id, false).await?;
        access::may_act(staff, &alert.region_code)?;
        alert.region_id
    };
    let area = validate(conn, &area, region, limits).await?;
    let shape = serde_json::to_value(&area.shape).expect("an area shape serializes");
    conn.transaction(async |conn| {
        let alert = lock_in_status(conn, staff, id, AlertStatus::Active, "expanded").await?;
        if !alert.reach_area {
            return Err(AlertError::ReachesGroupsOnly);
        }
        let wave = queries::add_area(conn, id, &shape, &area.geometry_wkb, &actor.subject()).await?;
        let message = AlertMessageId::new();
        queries::insert_message(
            conn,
            message,
            id,
            MessageKind::Alert,
            Some(wave),
            &alert.texts,
            &actor.subject(),
        )
        .await?;
        dossier::record(
            conn,
            id,
            actor,
            "expanded",
            json!({ "wave": wave, "message_id": message, "area": shape, "surface_km2": area.surface_km2 }),
        )
        .await?;
        FanOutWave { alert_id: id, message_id: message, wave }.enqueue(conn).await?;
        Ok(wave)
    })
    .await
}

/// Saves a follow-up (an update or the closing message) and queues it for every batch of
/// recipients the alert has so far, in every lane of the alert's channels. Batches added later by
/// a running fan-out pick up updates themselves (see [`FanOutWave`]).
async fn send_follow_up(
    conn: &mut AsyncPgConnection,
    alert: &AlertRow,
    actor: &Actor,
    kind: MessageKind,
    texts: &MessageTexts,
) -> diesel::QueryResult<AlertMessageId> {
    let alert_id = alert.id;
    let message = AlertMessageId::new();
    let texts = serde_json::to_value(texts).expect("texts serialize");
    queries::insert_message(conn, message, alert_id, kind, None, &texts, &actor.subject()).await?;
    let channels = effective_channels(alert.urgent, &alert.channels);
    let lanes = follow_up_lanes(AlertRouting::new(alert.urgent, &channels));
    let batches = recipients::batch_numbers(conn, alert_id).await?;
    let lane_batches: Vec<NewLaneBatch> = batches
        .iter()
        .flat_map(|batch_no| {
            lanes.iter().map(move |lane| NewLaneBatch {
                message_id: message,
                batch_no: *batch_no,
                lane: *lane,
            })
        })
        .collect();
    recipients::insert_lane_batches(conn, alert_id, &lane_batches).await?;
    let lane_jobs: Vec<_> = lane_batches.iter().map(|l| lane_job(l.lane, message, l.batch_no)).collect();
    jobs::insert_many(conn, &lane_jobs).await?;
    Ok(message)
}

/// An extra message to everyone the alert reached, e.g. "last seen heading north", or with
/// `to_answers` only to the recipients whose answer is one of them when it is delivered (e.g.
/// those `searching`).
pub async fn post_update(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    texts: MessageTexts,
    to_answers: Option<Vec<AlertAnswer>>,
) -> Result<AlertMessageId, AlertError> {
    let actor = &Actor::staff(staff);
    let to_answers = to_answers.map(|answers| distinct(&answers));
    if to_answers.as_ref().is_some_and(Vec::is_empty) {
        return Err(InvalidInput::new(
            "invalid_answers",
            "Name at least one answer, or leave to_answers out.",
        )
        .into());
    }
    conn.transaction(async |conn| {
        let alert = lock_in_status(conn, staff, id, AlertStatus::Active, "updated").await?;
        let message = send_follow_up(conn, &alert, actor, MessageKind::Update, &texts).await?;
        if let Some(answers) = &to_answers {
            queries::address_to_answers(conn, message, answers).await?;
        }
        dossier::record(
            conn,
            id,
            actor,
            "updated",
            json!({ "message_id": message, "texts": texts, "to_answers": to_answers }),
        )
        .await?;
        Ok(message)
    })
    .await
}

/// Closes an active alert with its outcome; the closing message goes to everyone reached, by the
/// channels that reached them. A closed alert accepts nothing more.
pub async fn close(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: AlertId,
    outcome: Outcome,
    texts: MessageTexts,
) -> Result<AlertMessageId, AlertError> {
    let actor = &Actor::staff(staff);
    conn.transaction(async |conn| {
        let alert = lock_in_status(conn, staff, id, AlertStatus::Active, "closed").await?;
        queries::mark_closed(conn, id, outcome).await?;
        let message = send_follow_up(conn, &alert, actor, MessageKind::Closing, &texts).await?;
        dossier::record(
            conn,
            id,
            actor,
            "closed",
            json!({ "outcome": outcome, "message_id": message, "texts": texts }),
        )
        .await?;
        Ok(message)
    })
    .await
}
