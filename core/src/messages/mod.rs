//! Municipal messages (Burgernetmail): what a municipality writes to its own participants, a
//! newsletter or a preventive message (after a series of burglaries, say, perhaps only to one
//! area of the municipality), by e-mail and in the app.
//!
//! A relations officer (or an administrator) writes a draft, previews how many it would reach,
//! schedules it for a time (or now), and may cancel it until it starts sending. It goes only to
//! active participants of the municipality who opted in to its kind in their choices; which
//! channels each kind may use is a setting ([`AllowedChannels`]). Dispatchers and region managers
//! of the region read the messages and their figures. Sending is the job in [`sending`]; what
//! comes back (unsubscribes, bounces, opened in the app) is in [`responses`].
//!
//! Every count of people staff see is a [`ReachCount`]: exact from 5 on.

pub mod content;
pub mod responses;
pub mod sending;

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;

use crate::alerts::area::{AreaError, AreaLimits, validate_for_municipality};
use crate::alerts::reach::ReachCount;
use crate::auth::staff::{OutOfScope, StaffMember};
use crate::db::municipal_messages::{self as queries, AudienceCounts, MessageRow, NewMessage};
use crate::ids::MunicipalMessageId;
use crate::jobs::BackgroundJob;
use crate::participants::management::Page;
use crate::reference_data::{LookupError, municipality_for};
use crate::vocabulary::area::{AreaShape, DrawnArea};
use crate::vocabulary::regions::CbsCode;
use crate::vocabulary::{Channel, InvalidInput, MunicipalMessageKind, MunicipalMessageStatus};
use content::stored_texts;
pub use content::{MessageText, MessageTexts};
use sending::SendMunicipalMessage;

/// How far ahead a message may be scheduled.
pub const LONGEST_SCHEDULE: TimeDelta = TimeDelta::days(92);
/// A time this little in the past still means "now" (clocks differ a little).
const CLOCK_SLACK: TimeDelta = TimeDelta::minutes(5);

/// Which channels each kind of message may use (`BURGERNET_MUNICIPAL_MESSAGE_CHANNELS`, e.g.
/// `newsletter=email+push,prevention=email+push+sms`). By default both kinds go by e-mail and
/// app push, never by SMS: SMS costs money per message and is kept for alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedChannels(BTreeMap<MunicipalMessageKind, Vec<Channel>>);

impl Default for AllowedChannels {
    fn default() -> Self {
        Self(
            MunicipalMessageKind::ALL
                .iter()
                .map(|kind| (*kind, vec![Channel::Push, Channel::Email]))
                .collect(),
        )
    }
}

impl AllowedChannels {
    /// `kind=channel+channel,...`; a kind left out keeps the default (e-mail and push).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let expected = || {
            format!(
                "expected kinds and their channels such as newsletter=email+push,prevention=email+push+sms, got {raw:?}"
            )
        };
        let mut allowed = Self::default();
        for part in raw.split(',').map(str::trim).filter(|part| !part.is_empty()) {
            let (kind, channels) = part.split_once('=').ok_or_else(expected)?;
            let kind = MunicipalMessageKind::from_name(kind.trim()).ok_or_else(expected)?;
            // Municipal messages are news, never a phone call.
            let channels = channels
                .split('+')
                .map(|channel| {
                    Channel::from_name(channel.trim()).filter(|c| *c != Channel::Voice).ok_or_else(expected)
                })
                .collect::<Result<Vec<_>, _>>()?;
            if channels.is_empty() {
                return Err(expected());
            }
            allowed.0.insert(kind, crate::vocabulary::distinct(&channels));
        }
        Ok(allowed)
    }

    pub fn for_kind(&self, kind: MunicipalMessageKind) -> &[Channel] {
        self.0.get(&kind).map_or(&[], Vec::as_slice)
    }
}

/// A message as its writer gives it, before it is checked.
#[derive(Debug, Clone)]
pub struct Draft {
    pub kind: MunicipalMessageKind,
    pub channels: Vec<Channel>,
    pub texts: MessageTexts,
    pub area: Option<AreaShape>,
}

/// A count of people for staff, per channel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelReach {
    pub channel: Channel,
    pub recipients: ReachCount,
}

/// How many a message would reach if it were sent now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageReach {
    /// Participants on any channel.
    pub participants: ReachCount,
    pub channels: Vec<ChannelReach>,
    pub counted_at: DateTime<Utc>,
}

/// What became of a message on one channel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChannelFigures {
    pub channel: Channel,
    pub recipients: ReachCount,
    /// Not yet handed to the provider.
    pub pending: ReachCount,
    /// Accepted by the provider (the mail server, APNs or FCM, the SMS gateway).
    pub sent: ReachCount,
    /// Refused by the provider for good, or nothing left to send to (a device or address removed).
    pub failed: ReachCount,
    /// E-mail only: the mail provider reported the message undeliverable.
    pub bounced: ReachCount,
    /// App push only: opened in the app.
    pub opened: ReachCount,
}

/// What became of a message: the recipients taken when it started sending, per channel.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageFigures {
    /// Participants on any channel.
    pub recipients: ReachCount,
    /// Participants who unsubscribed from this kind through this message's link.
    pub unsubscribed: ReachCount,
    pub channels: Vec<ChannelFigures>,
}

/// A municipal message as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MunicipalMessage {
    #[schema(value_type = uuid::Uuid)]
    pub id: MunicipalMessageId,
    /// CBS code of the municipality.
    pub municipality: String,
    pub municipality_name: String,
    pub kind: MunicipalMessageKind,
    pub channels: Vec<Channel>,
    pub texts: MessageTexts,
    /// Only participants with a place in this area (a GeoJSON MultiPolygon in WGS84); none: the
    /// whole municipality.
    #[schema(value_type = Option<Object>)]
    pub area: Option<serde_json::Value>,
    pub status: MunicipalMessageStatus,
    /// When it is (or was) to be sent; none for a draft.
    pub send_at: Option<DateTime<Utc>>,
    /// Who wrote it: their name if the token had one, else their subject.
    pub written_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sending_started_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Once it started sending.
    pub figures: Option<MessageFigures>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessagePage {
    pub items: Vec<MunicipalMessage>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Why a municipal message could not be written, scheduled, cancelled or shown.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error("There is no such message of this municipality.")]
    NotFound,
    #[error("A {kind} may go by {allowed}; not by {channel}.", kind = .kind.as_str(), channel = .channel.as_str(), allowed = join(.allowed))]
    ChannelNotAllowed { kind: MunicipalMessageKind, channel: Channel, allowed: Vec<Channel> },
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Area(#[from] AreaError),
    #[error("The message is {}; only a draft can be scheduled.", .0.as_str())]
    NotADraft(MunicipalMessageStatus),
    #[error("The message is {}; it can no longer be cancelled.", .0.as_str())]
    AlreadySending(MunicipalMessageStatus),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<OutOfScope> for MessageError {
    fn from(error: OutOfScope) -> Self {
        Self::Lookup(error.into())
    }
}

fn join(channels: &[Channel]) -> String {
    let names: Vec<&str> = channels.iter().map(|channel| channel.as_str()).collect();
    if names.is_empty() { "no channel".into() } else { names.join(" or ") }
}

/// The municipality, for a staff member who writes its messages: its relations officers and
/// administrators.
async fn writable_municipality(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    cbs_code: &CbsCode,
) -> Result<(), MessageError> {
    staff.ensure_municipality(cbs_code.as_str(), None)?;
    municipality_for(conn, staff, cbs_code).await?;
    Ok(())
}

/// Writes a draft for the municipality.
pub async fn create(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    cbs_code: &CbsCode,
    draft: Draft,
    allowed: &AllowedChannels,
    limits: AreaLimits,
) -> Result<MunicipalMessage, MessageError> {
    writable_municipality(conn, staff, cbs_code).await?;
    let texts = draft.texts.parse()?;
    if draft.channels.is_empty() {
        return Err(
            InvalidInput::new("invalid_channels", "Choose at least one channel: email or push.").into()
        );
    }
    let channels = crate::vocabulary::distinct(&draft.channels);
    let allowed_here = allowed.for_kind(draft.kind);
    if let Some(channel) = channels.iter().find(|channel| !allowed_here.contains(channel)) {
        return Err(MessageError::ChannelNotAllowed {
            kind: draft.kind,
            channel: *channel,
            allowed: allowed_here.to_vec(),
        });
    }
    let area = match draft.area {
        Some(shape) => {
            let drawn = DrawnArea::parse(shape)?;
            Some(validate_for_municipality(conn, &drawn, cbs_code.as_str(), limits).await?)
        }
        None => None,
    };
    let id = MunicipalMessageId::new();
    queries::insert(
        conn,
        &NewMessage {
            id,
            municipality_cbs: cbs_code.as_str(),
            kind: draft.kind,
            channels: &channels,
            texts: serde_json::to_value(&texts).expect("texts serialize"),
            area_wkb: area.as_ref().map(|area| area.geometry_wkb.as_slice()),
            created_by_subject: &staff.subject,
            created_by_name: staff.name.as_deref(),
        },
    )
    .await?;
    let row = queries::find(conn, id, None, false).await?.ok_or(MessageError::NotFound)?;
    Ok(without_figures(row))
}

/// The municipality's messages, newest first, with their figures. Who: its relations officers,
/// the dispatchers and region managers of its region, administrators.
pub async fn list(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    cbs_code: &CbsCode,
    page: Page,
) -> Result<MessagePage, MessageError> {
    municipality_for(conn, staff, cbs_code).await?;
    let (rows, total) = queries::list(conn, cbs_code.as_str(), page.size(), page.offset()).await?;
    Ok(MessagePage {
        items: with_figures(conn, rows).await?,
        page: page.number(),
        per_page: page.size(),
        total,
    })
}

/// One message with its figures; who as for [`list`].
pub async fn get(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    cbs_code: &CbsCode,
    id: MunicipalMessageId,
) -> Result<MunicipalMessage, MessageError> {
    municipality_for(conn, staff, cbs_code).await?;
    shown(conn, cbs_code, id).await
}

/// The message with its figures, for a caller already checked.
async fn shown(
    conn: &mut AsyncPgConnection,
    cbs_code: &CbsCode,
    id: MunicipalMessageId,
) -> Result<MunicipalMessage, MessageError> {
    let row = queries::find(conn, id, Some(cbs_code.as_str()), false).await?.ok_or(MessageError::NotFound)?;
    Ok(with_figures(conn, vec![row]).await?.remove(0))
}

/// How many the message would reach if it were sent now. Who: those who write the
/// municipality's messages.
pub async fn preview(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    cbs_code: &CbsCode,
    id: MunicipalMessageId,
) -> Result<MessageReach, MessageError> {
    writable_municipality(conn, staff, cbs_code).await?;
    let row = queries::find(conn, id, Some(cbs_code.as_str()), false).await?.ok_or(MessageError::NotFound)?;
    let counts = queries::count_audience(conn, id).await?;
    Ok(reach(&row.channels, counts))
}

fn reach(channels: &[Channel], counts: AudienceCounts) -> MessageReach {
    MessageReach {
        participants: ReachCount::shown(counts.participants),
        channels: channels
            .iter()
            .map(|channel| ChannelReach {
                channel: *channel,
                recipients: ReachCount::shown(match channel {
                    Channel::Push => counts.push,
                    Channel::Sms => counts.sms,
                    Channel::Email => counts.email,
                    // Never allowed for municipal messages (`AllowedChannels`).
                    Channel::Voice => 0,
                }),
            })
            .collect(),
        counted_at: Utc::now(),
    }
}

/// Schedules a draft for `send_at` (none, or a moment just past: now). The job that sends it is
/// enqueued in the same transaction, to run at that time.
pub async fn schedule(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    cbs_code: &CbsCode,
    id: MunicipalMessageId,
    send_at: Option<DateTime<Utc>>,
) -> Result<MunicipalMessage, MessageError> {
    writable_municipality(conn, staff, cbs_code).await?;
    let now = Utc::now();
    let send_at = match send_at {
        None => now,
        Some(at) if at < now - CLOCK_SLACK || at > now + LONGEST_SCHEDULE => {
            return Err(InvalidInput::new(
                "invalid_send_at",
                format!(
                    "send_at must lie between now and {} days ahead; leave it out to send now.",
                    LONGEST_SCHEDULE.num_days()
                ),
            )
            .into());
        }
        Some(at) => at.max(now),
    };
    conn.transaction(async |conn| {
        let row =
            queries::find(conn, id, Some(cbs_code.as_str()), true).await?.ok_or(MessageError::NotFound)?;
        if !queries::schedule(conn, id, send_at).await? {
            return Err(MessageError::NotADraft(row.status));
        }
        let delay = (send_at - now).to_std().unwrap_or_default();
        SendMunicipalMessage { message_id: id }.enqueue_after(conn, delay).await?;
        Ok(())
    })
    .await?;
    shown(conn, cbs_code, id).await
}

/// Cancels a draft or scheduled message; cancelling a cancelled one again changes nothing. A
/// message that started sending cannot be called back.
pub async fn cancel(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    cbs_code: &CbsCode,
    id: MunicipalMessageId,
) -> Result<MunicipalMessage, MessageError> {
    writable_municipality(conn, staff, cbs_code).await?;
    conn.transaction(async |conn| {
        let row =
            queries::find(conn, id, Some(cbs_code.as_str()), true).await?.ok_or(MessageError::NotFound)?;
        match row.status {
            MunicipalMessageStatus::Cancelled => Ok(()),
            MunicipalMessageStatus::Sending | MunicipalMessageStatus::Sent => {
                Err(MessageError::AlreadySending(row.status))
            }
            MunicipalMessageStatus::Draft | MunicipalMessageStatus::Scheduled => {
                queries::cancel(conn, id).await?;
                Ok(())
            }
        }
    })
    .await?;
    shown(conn, cbs_code, id).await
}

fn without_figures(row: MessageRow) -> MunicipalMessage {
    MunicipalMessage {
        id: row.id,
        municipality: row.municipality_cbs,
        municipality_name: row.municipality_name,
        kind: row.kind,
        channels: row.channels,
        texts: stored_texts(&row.texts),
        area: row.area_geojson.and_then(|geojson| serde_json::from_str(&geojson).ok()),
        status: row.status,
        send_at: row.send_at,
        written_by: row.created_by_name.unwrap_or(row.created_by_subject),
        created_at: row.created_at,
        updated_at: row.updated_at,
        sending_started_at: row.sending_started_at,
        sent_at: row.sent_at,
        cancelled_at: row.cancelled_at,
        figures: None,
    }
}

async fn with_figures(
    conn: &mut AsyncPgConnection,
    rows: Vec<MessageRow>,
) -> Result<Vec<MunicipalMessage>, MessageError> {
    let started: Vec<MunicipalMessageId> =
        rows.iter().filter(|row| row.sending_started_at.is_some()).map(|row| row.id).collect();
    let (channels, people) =
        if started.is_empty() { (Vec::new(), Vec::new()) } else { queries::figures(conn, &started).await? };
    Ok(rows
        .into_iter()
        .map(|row| {
            let started = row.sending_started_at.is_some();
            let id = row.id;
            let mut message = without_figures(row);
            if started {
                let of_message = people.iter().find(|people| people.message_id == id);
                message.figures = Some(MessageFigures {
                    recipients: ReachCount::shown(of_message.map_or(0, |people| people.participants)),
                    unsubscribed: ReachCount::shown(of_message.map_or(0, |people| people.unsubscribed)),
                    channels: message
                        .channels
                        .iter()
                        .map(|channel| {
                            let figures = channels
                                .iter()
                                .find(|row| row.message_id == id && row.figures.channel == channel.as_str())
                                .map(|row| row.figures.clone())
                                .unwrap_or_default();
                            ChannelFigures {
                                channel: *channel,
                                recipients: ReachCount::shown(figures.recipients),
                                pending: ReachCount::shown(figures.pending),
                                sent: ReachCount::shown(figures.sent),
                                failed: ReachCount::shown(figures.failed),
                                bounced: ReachCount::shown(figures.bounced),
                                opened: ReachCount::shown(figures.opened),
                            }
                        })
                        .collect(),
                });
            }
            message
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_per_kind_default_to_email_and_push_and_can_be_set() {
        let default = AllowedChannels::default();
        assert_eq!(default.for_kind(MunicipalMessageKind::Newsletter), [Channel::Push, Channel::Email]);
        let set = AllowedChannels::parse("prevention=email+push+sms, newsletter=email").unwrap();
        assert_eq!(set.for_kind(MunicipalMessageKind::Newsletter), [Channel::Email]);
        assert_eq!(
            set.for_kind(MunicipalMessageKind::Prevention),
            [Channel::Push, Channel::Sms, Channel::Email]
        );
        assert_eq!(AllowedChannels::parse("").unwrap(), default);
        for wrong in ["newsletter", "newsletter=fax", "flyer=email", "newsletter=", "prevention=email+voice"]
        {
            assert!(AllowedChannels::parse(wrong).is_err(), "{wrong}");
        }
    }
}
