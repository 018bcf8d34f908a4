//! A participant's own account: profile and choices, places, live location, devices, export
//! and erasure. Every change that causes a message enqueues it in the same transaction.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;

use super::membership::{self, Cause};
use super::notices::{Notice, NotifyParticipant};
use super::rate_limits::{self, CounterKey};
use crate::alerts::delivery::RecruitEntrants;
use crate::auth::participant::AuthenticatedParticipant;
use crate::db::participants::{
    self as queries, DeviceRow, DeviceValues, ParticipantRow, PlaceRow, PlaceValues,
};
use crate::db::sign_in::{self as sign_in_queries, SessionStanding};
use crate::db::target_groups as target_group_queries;
use crate::ids::{DeviceId, ParticipantId, PlaceId};
use crate::jobs::BackgroundJob;
use crate::vocabulary::devices::{ApnsEnvironment, AppVersion, Locale, Platform, PushToken};
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::places::{
    MAX_PLACES_PER_PARTICIPANT, PlaceKind, PlaceName, Position, PostalAddress, TimeWindow, Weekday,
};
use crate::vocabulary::{
    Category, Channel, InvalidInput, Language, MembershipStatus, MunicipalMessageKind, ParticipantStatus,
    SessionEnd,
};

/// Push devices one participant may register (phones, tablets).
pub const MAX_DEVICES_PER_PARTICIPANT: i64 = 10;

/// Verification e-mails one participant may cause, and one address may receive, per hour (as
/// sign-in codes per number): switching between addresses must not make us a mailer.
pub const VERIFICATION_EMAILS_PER_HOUR: i32 = 5;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The participant no longer exists (erased); their token is stale.
    #[error("This account no longer exists.")]
    AccountGone,
    /// The access token's session has ended (signed out, revoked, or the account erased).
    #[error("This session has ended; sign in again.")]
    SessionEnded,
    /// The session ended because the municipality removed the participant.
    #[error(
        "Your municipality has signed you off Burgernet, which ended this session. Questions? Contact your municipality."
    )]
    ParticipantRemoved,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("A participant can have at most {MAX_PLACES_PER_PARTICIPANT} places.")]
    TooManyPlaces,
    #[error("This point lies outside the area Burgernet serves.")]
    OutsideServiceArea,
    #[error("There is no such place in your account.")]
    PlaceNotFound,
    #[error("There is no such device in your account.")]
    DeviceNotFound,
    #[error("A participant can have at most {MAX_DEVICES_PER_PARTICIPANT} devices.")]
    TooManyDevices,
    #[error("Alerts where you are is switched off; switch it on in your profile first.")]
    LiveLocationOff,
    #[error(
        "Too many verification e-mails were sent for this account or to this address in the last hour, \
         so your profile was not changed; try again later."
    )]
    TooManyVerificationEmails { retry_after: Duration },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Profile {
    #[schema(value_type = Uuid)]
    pub id: ParticipantId,
    pub status: ParticipantStatus,
    pub phone_number: PhoneNumber,
    pub display_name: Option<String>,
    pub email: Option<EmailAddress>,
    /// Whether the e-mail address was confirmed through the link sent to it.
    pub email_verified: bool,
    pub language: Language,
    pub channels: Vec<Channel>,
    pub categories: Vec<Category>,
    /// "Alerts where I am": whether the app shares its latest position.
    pub alerts_where_i_am: bool,
    /// Whether they take part in exercises and tests (alerts marked `OEFENING`); only those who
    /// do are reached by them.
    pub exercises: bool,
    /// The kinds of message from the municipality the participant wants (by e-mail and in the
    /// app); none until they opt in.
    pub municipal_messages: Vec<MunicipalMessageKind>,
    /// CBS code of the municipality that manages the participant (that of their home, else of
    /// their first place); none before the first place.
    pub municipality: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Profile {
    pub(crate) fn from_row(row: ParticipantRow) -> Self {
        Self {
            id: row.id,
            status: row.status,
            phone_number: row.phone_number.expect("not erased"),
            display_name: row.display_name,
            email: row.email,
            email_verified: row.email_verified_at.is_some(),
            language: row.language,
            channels: row.channels,
            categories: row.categories,
            alerts_where_i_am: row.live_location_enabled,
            exercises: row.exercises,
            municipal_messages: row.municipal_messages,
            municipality: row.municipality_cbs,
            created_at: row.created_at,
        }
    }
}

/// Changes to a profile; absent fields stay as they are.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub display_name: Option<Option<String>>,
    pub email: Option<Option<EmailAddress>>,
    pub language: Option<Language>,
    pub channels: Option<Vec<Channel>>,
    pub categories: Option<Vec<Category>>,
    pub alerts_where_i_am: Option<bool>,
    pub exercises: Option<bool>,
    pub municipal_messages: Option<Vec<MunicipalMessageKind>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Place {
    #[schema(value_type = Uuid)]
    pub id: PlaceId,
    pub kind: PlaceKind,
    pub name: PlaceName,
    pub position: Position,
    pub address: Option<PostalAddress>,
    /// CBS code of the municipality the place lies in.
    pub municipality: String,
    /// When the place counts (Europe/Amsterdam time); empty means always.
    pub time_windows: Vec<TimeWindow>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A place as the participant describes it, validated.
#[derive(Debug, Clone)]
pub struct PlaceInput {
    pub kind: PlaceKind,
    pub name: PlaceName,
    pub position: Position,
    pub address: Option<PostalAddress>,
    pub time_windows: Vec<TimeWindow>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LiveLocation {
    pub position: Position,
    pub accuracy_meters: f32,
    pub recorded_at: DateTime<Utc>,
    /// After this moment the position is no longer used and is deleted.
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Device {
    #[schema(value_type = Uuid)]
    pub id: DeviceId,
    pub platform: Platform,
    pub push_token: PushToken,
    pub apns_environment: Option<ApnsEnvironment>,
    pub app_version: AppVersion,
    pub locale: Locale,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A device as the app registers it, validated.
#[derive(Debug, Clone)]
pub struct DeviceInput {
    pub platform: Platform,
    pub push_token: PushToken,
    pub apns_environment: Option<ApnsEnvironment>,
    pub app_version: AppVersion,
    pub locale: Locale,
}

impl DeviceInput {
    fn values(&self) -> DeviceValues<'_> {
        DeviceValues {
            platform: self.platform,
            push_token: &self.push_token,
            apns_environment: self.apns_environment,
            app_version: &self.app_version,
            locale: &self.locale,
        }
    }
}

fn device_from_row(row: DeviceRow) -> Device {
    Device {
        id: row.id,
        platform: row.platform,
        push_token: row.push_token,
        apns_environment: row.apns_environment,
        app_version: row.app_version,
        locale: row.locale,
        registered_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Everything held about a participant, as one document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ParticipantExport {
    pub exported_at: DateTime<Utc>,
    pub profile: Profile,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub status_changed_at: DateTime<Utc>,
    pub places: Vec<Place>,
    pub live_location: Option<LiveLocation>,
    pub devices: Vec<Device>,
    /// What municipal staff did with the account, and why.
    pub staff_actions: Vec<StaffAction>,
    /// Signed-in sessions are listed by count only: their tokens are secrets.
    pub active_sessions: i64,
    /// The target groups they asked to join or belong to (archived groups too).
    pub target_groups: Vec<ExportedMembership>,
}

/// A target group membership as the export lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportedMembership {
    pub group: String,
    /// The code of the group's region.
    pub region: String,
    pub status: MembershipStatus,
    pub requested_at: DateTime<Utc>,
    /// When the owner approved it.
    pub decided_at: Option<DateTime<Utc>>,
}

pub(crate) async fn require(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    lock: bool,
) -> Result<ParticipantRow, AccountError> {
    queries::find(conn, participant, lock).await?.ok_or(AccountError::AccountGone)
}

pub async fn profile(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Profile, AccountError> {
    Ok(Profile::from_row(require(conn, participant, false).await?))
}

pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    counters: &CounterKey,
    participant: ParticipantId,
    changes: ProfileChanges,
) -> Result<Profile, AccountError> {
    conn.transaction(async |conn| {
        let current = require(conn, participant, true).await?;
        let mut update = queries::ProfileUpdate {
            display_name: changes.display_name,
            language: changes.language,
            channels: changes.channels.map(|channels| crate::vocabulary::distinct(&channels)),
            categories: changes.categories.map(|categories| crate::vocabulary::distinct(&categories)),
            live_location_enabled: changes.alerts_where_i_am,
            exercises: changes.exercises,
            municipal_messages: changes.municipal_messages.map(|kinds| crate::vocabulary::distinct(&kinds)),
            ..Default::default()
        };
        let mut send_verification = false;
        if let Some(email) = changes.email
            && email != current.email
        {
            if let Some(address) = &email {
                limit_verification_emails(conn, counters, participant, address.as_str()).await?;
                send_verification = true;
            }
            update.email_set_at = Some(email.as_ref().map(|_| Utc::now()));
            update.email = Some(email);
            update.email_verified_at = Some(None);
            // A new address has not bounced.
            update.email_bounced_at = Some(None);
        }
        queries::update_profile(conn, participant, &update).await?;
        if changes.alerts_where_i_am == Some(false) {
            queries::delete_live_location(conn, participant).await?;
        }
        if send_verification {
            NotifyParticipant { participant_id: participant, notice: Notice::VerifyEmail }
                .enqueue(conn)
                .await?;
        }
        Ok(Profile::from_row(require(conn, participant, false).await?))
    })
    .await
}

/// Counts a verification e-mail against the participant and the address. Over the limit the
/// whole change is refused; counted inside its transaction, a refusal counts nothing.
async fn limit_verification_emails(
    conn: &mut AsyncPgConnection,
    counters: &CounterKey,
    participant: ParticipantId,
    address: &str,
) -> Result<(), AccountError> {
    // One mailbox, however its address is capitalised.
    let limited = [
        ("email-verification:participant", participant.to_string()),
        ("email-verification:address", address.to_lowercase()),
    ];
    for (kind, value) in limited {
        if let Some(retry_after) =
            rate_limits::count(conn, counters, kind, &value, VERIFICATION_EMAILS_PER_HOUR).await?
        {
            return Err(AccountError::TooManyVerificationEmails { retry_after });
        }
    }
    Ok(())
}

/// Confirms an e-mail address from the link sent to it. Returns the participant's language, or
/// none when the link is unknown, expired or for an address no longer set.
pub async fn confirm_email(
    conn: &mut AsyncPgConnection,
    token: &str,
) -> Result<Option<Language>, diesel::result::Error> {
    let hash = crate::secret::SecretTokenHash::of(token).0;
    queries::confirm_email_verification(conn, &hash).await
}

// --- staff actions and the managing municipality ---

/// Something a staff member did with a participant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffAction {
    pub id: i64,
    pub action: String,
    pub from_status: Option<ParticipantStatus>,
    pub to_status: Option<ParticipantStatus>,
    pub reason: String,
    /// The staff member's id at the identity provider.
    pub staff_subject: String,
    pub staff_name: Option<String>,
    pub staff_role: String,
    pub at: DateTime<Utc>,
}

pub async fn staff_actions(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Vec<StaffAction>, diesel::result::Error> {
    Ok(queries::list_staff_actions(conn, participant)
        .await?
        .into_iter()
        .map(|row| StaffAction {
            id: row.id,
            action: row.action,
            from_status: row.from_status,
            to_status: row.to_status,
            reason: row.reason,
            staff_subject: row.staff_subject,
            staff_name: row.staff_name,
            staff_role: row.staff_role,
            at: row.created_at,
        })
        .collect())
}

/// Keeps the participant's managing municipality in step with their places, and their status
/// with the municipality's approval rule. Call inside the transaction that changed the places,
/// with the participant row as it was before (locked).
pub(crate) async fn follow_managing_municipality(
    conn: &mut AsyncPgConnection,
    before: &ParticipantRow,
) -> Result<(), diesel::result::Error> {
    let participant = before.id;
    let municipality = queries::managing_municipality(conn, participant).await?;
    if municipality == before.municipality_cbs {
        return Ok(());
    }
    let status = before.status;
    let mut new_status = status;
    if let Some(cbs_code) = &municipality
        && status == ParticipantStatus::Active
    {
        if queries::requires_approval(conn, cbs_code).await? {
            new_status = ParticipantStatus::Pending;
        } else if before.municipality_cbs.is_none() {
            // The first place completes the sign-up.
            NotifyParticipant { participant_id: participant, notice: Notice::Activated }
                .enqueue(conn)
                .await?;
        }
    }
    membership::change_status(conn, before, new_status, municipality.as_deref(), Cause::Places).await
}

// --- places ---

pub(crate) async fn load_places(
    conn: &mut AsyncPgConnection,
    participant_ids: &[ParticipantId],
) -> Result<Vec<(ParticipantId, Place)>, diesel::result::Error> {
    let rows = queries::list_places(conn, participant_ids).await?;
    let place_ids: Vec<PlaceId> = rows.iter().map(|row| row.id).collect();
    let mut windows: HashMap<PlaceId, Vec<TimeWindow>> = HashMap::new();
    for row in queries::list_time_windows(conn, &place_ids).await? {
        let days: Vec<Weekday> =
            row.days.iter().filter_map(|day| Weekday::from_iso_number(*day as u8)).collect();
        let window = TimeWindow::new(&days, row.from_minute as u16, row.until_minute as u16)
            .expect("stored windows were validated when written");
        windows.entry(row.place_id).or_default().push(window);
    }
    Ok(rows.into_iter().map(|row| (row.participant_id, place_from_row(row, &mut windows))).collect())
}

fn place_from_row(row: PlaceRow, windows: &mut HashMap<PlaceId, Vec<TimeWindow>>) -> Place {
    Place {
        id: row.id,
        kind: row.kind,
        name: row.name,
        position: Position::parse(row.latitude, row.longitude).expect("stored positions are valid"),
        address: row.address,
        municipality: row.municipality_cbs,
        time_windows: windows.remove(&row.id).unwrap_or_default(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

pub async fn places(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Vec<Place>, AccountError> {
    require(conn, participant, false).await?;
    Ok(load_places(conn, &[participant]).await?.into_iter().map(|(_, place)| place).collect())
}

/// Adds a place (`existing` none) or replaces one. The place is assigned to the municipality
/// containing it; the participant's managing municipality, and with it their status, follows.
pub async fn save_place(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    existing: Option<PlaceId>,
    input: PlaceInput,
) -> Result<Place, AccountError> {
    conn.transaction(async |conn| {
        let row = require(conn, participant, true).await?;
        if existing.is_none()
            && queries::count_places(conn, participant).await? >= MAX_PLACES_PER_PARTICIPANT as i64
        {
            return Err(AccountError::TooManyPlaces);
        }
        let municipality =
            queries::municipality_containing(conn, input.position.latitude(), input.position.longitude())
                .await?
                .ok_or(AccountError::OutsideServiceArea)?;
        let id = existing.unwrap_or_default();
        let values = PlaceValues {
            kind: input.kind,
            name: &input.name,
            latitude: input.position.latitude(),
            longitude: input.position.longitude(),
            address: input.address.as_ref(),
            municipality_cbs: &municipality,
            time_windows: input
                .time_windows
                .iter()
                .map(|window| {
                    let days = window.days().iter().map(|day| day.iso_number() as i16).collect();
                    (days, window.from_minute() as i16, window.until_minute() as i16)
                })
                .collect(),
        };
        if !queries::save_place(conn, participant, id, &values, existing.is_some()).await? {
            return Err(AccountError::PlaceNotFound);
        }
        follow_managing_municipality(conn, &row).await?;
        let mut places = load_places(conn, &[participant]).await?;
        let index = places.iter().position(|(_, place)| place.id == id).expect("the place was just saved");
        Ok(places.swap_remove(index).1)
    })
    .await
}

pub async fn remove_place(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    place: PlaceId,
) -> Result<(), AccountError> {
    conn.transaction(async |conn| {
        let row = require(conn, participant, true).await?;
        if !queries::delete_place(conn, participant, place).await? {
            return Err(AccountError::PlaceNotFound);
        }
        follow_managing_municipality(conn, &row).await?;
        Ok(())
    })
    .await
}

// --- live location ---

/// Stores the position the participant's phone reported. The statement that stores it also
/// checks the access token's session (see [`queries::upsert_live_location_in_session`]), so
/// callers need not check it first; only a refused report costs more queries, to say why. A
/// position inside a recruiting alert's area makes them its recipient within seconds (see
/// [`RecruitEntrants`]).
pub async fn update_live_location(
    conn: &mut AsyncPgConnection,
    caller: &AuthenticatedParticipant,
    position: Position,
    accuracy_meters: f32,
    ttl: Duration,
) -> Result<LiveLocation, AccountError> {
    let (session, participant) = (caller.session_id, caller.participant_id);
    let stored = queries::upsert_live_location_in_session(
        conn,
        session,
        participant,
        (position.latitude(), position.longitude()),
        accuracy_meters,
        ttl,
        RecruitEntrants::kind(),
    )
    .await?;
    if let Some(row) = stored {
        return Ok(live_location_from_row(row));
    }
    ensure_session_active(conn, caller).await?;
    require(conn, participant, false).await?;
    Err(AccountError::LiveLocationOff)
}

/// Refuses an access token whose session has ended (signed out, revoked for refresh-token reuse,
/// erased, or the participant removed), saying which where the caller may know.
pub async fn ensure_session_active(
    conn: &mut AsyncPgConnection,
    caller: &AuthenticatedParticipant,
) -> Result<(), AccountError> {
    match sign_in_queries::session_standing(conn, caller.session_id, caller.participant_id).await? {
        SessionStanding::Active => Ok(()),
        SessionStanding::Ended(Some(SessionEnd::ParticipantRemoved)) => Err(AccountError::ParticipantRemoved),
        SessionStanding::Ended(_) => Err(AccountError::SessionEnded),
    }
}

fn live_location_from_row(row: queries::LiveLocationRow) -> LiveLocation {
    LiveLocation {
        position: Position::parse(row.latitude, row.longitude).expect("stored positions are valid"),
        accuracy_meters: row.accuracy_meters,
        recorded_at: row.recorded_at,
        expires_at: row.expires_at,
    }
}

pub async fn forget_live_location(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<(), AccountError> {
    require(conn, participant, false).await?;
    Ok(queries::delete_live_location(conn, participant).await?)
}

pub async fn live_location(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Option<LiveLocation>, AccountError> {
    require(conn, participant, false).await?;
    Ok(queries::find_live_location(conn, participant).await?.map(live_location_from_row))
}

// --- devices ---

pub async fn devices(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Vec<Device>, AccountError> {
    require(conn, participant, false).await?;
    Ok(queries::list_devices(conn, participant).await?.into_iter().map(device_from_row).collect())
}

/// Registers a device; a token someone else registered moves to this participant. Returns the
/// device and whether it is new to this participant.
pub async fn register_device(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    input: DeviceInput,
) -> Result<(Device, bool), AccountError> {
    conn.transaction(async |conn| {
        require(conn, participant, true).await?;
        let (row, created) = queries::register_device(conn, participant, &input.values()).await?;
        if queries::count_devices(conn, participant).await? > MAX_DEVICES_PER_PARTICIPANT {
            return Err(AccountError::TooManyDevices);
        }
        Ok((device_from_row(row), created))
    })
    .await
}

pub async fn update_device(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    device: DeviceId,
    input: DeviceInput,
) -> Result<Device, AccountError> {
    conn.transaction(async |conn| {
        require(conn, participant, true).await?;
        let row = queries::update_device(conn, participant, device, &input.values())
            .await?
            .ok_or(AccountError::DeviceNotFound)?;
        Ok(device_from_row(row))
    })
    .await
}

pub async fn remove_device(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    device: DeviceId,
) -> Result<(), AccountError> {
    require(conn, participant, false).await?;
    if queries::delete_device(conn, participant, device).await? {
        Ok(())
    } else {
        Err(AccountError::DeviceNotFound)
    }
}

// --- export and erasure ---

pub async fn export(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<ParticipantExport, AccountError> {
    let row = require(conn, participant, false).await?;
    let email_verified_at = row.email_verified_at;
    let status_changed_at = row.status_changed_at;
    Ok(ParticipantExport {
        exported_at: Utc::now(),
        profile: Profile::from_row(row),
        email_verified_at,
        status_changed_at,
        places: load_places(conn, &[participant]).await?.into_iter().map(|(_, place)| place).collect(),
        live_location: queries::find_live_location(conn, participant).await?.map(live_location_from_row),
        devices: queries::list_devices(conn, participant).await?.into_iter().map(device_from_row).collect(),
        staff_actions: staff_actions(conn, participant).await?,
        active_sessions: queries::count_active_sessions(conn, participant).await?,
        target_groups: target_group_queries::memberships(conn, participant, None, true)
            .await?
            .into_iter()
            .map(|row| ExportedMembership {
                group: row.group_name,
                region: row.region_code.as_str().to_string(),
                status: row.status,
                requested_at: row.requested_at,
                decided_at: row.decided_at,
            })
            .collect(),
    })
}

/// Erases the account for real: places, devices, live location, contact details and sessions
/// are deleted; a row without identity stays for the records of alerts already sent. The
/// unsubscribe confirmation goes out first, while the details to send it still exist; if it
/// cannot be sent the erasure still happens. Returns whether the confirmation went out.
pub async fn erase(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    messaging: &super::notices::Messaging,
) -> Result<bool, AccountError> {
    let row = require(conn, participant, false).await?;
    let confirmed = match messaging.send_notice(&row, Notice::Unsubscribed).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(error = %error, "the unsubscribe confirmation could not be sent; erasing anyway");
            false
        }
    };
    conn.transaction(async |conn| {
        // Locked and read again: the row read above is from before the confirmation went out.
        let Some(before) = queries::find(conn, participant, true).await? else { return Ok(()) };
        queries::erase(conn, participant).await?;
        membership::count_changes(conn, &before, ParticipantStatus::Removed, None, Cause::Erasure).await
    })
    .await?;
    Ok(confirmed)
}
