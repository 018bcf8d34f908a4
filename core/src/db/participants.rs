//! The SQL of participants and what they register: profile, places with their time windows,
//! the live location, devices, staff actions, and erasure. Positions go in and out only through
//! PostGIS functions.

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{
    Array, Double, Float4, Integer, Interval, Nullable, SmallInt, Text, Timestamptz, Untyped, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::jobs::JobKind;
use super::schema::{
    devices, email_verifications, live_locations, participant_sessions, participant_staff_actions,
    participants, place_time_windows, places, sign_in_challenges,
};
use crate::ids::{DeviceId, ParticipantId, PlaceId, SessionId};
use crate::vocabulary::devices::{ApnsEnvironment, AppVersion, Locale, Platform, PushToken};
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::places::{PlaceKind, PlaceName, PostalAddress};
use crate::vocabulary::{Category, Channel, Language, MunicipalMessageKind, ParticipantStatus};

/// The participant's row, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participants)]
pub struct ParticipantRow {
    pub id: ParticipantId,
    pub status: ParticipantStatus,
    pub phone_number: Option<PhoneNumber>,
    pub display_name: Option<String>,
    pub email: Option<EmailAddress>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub email_set_at: Option<DateTime<Utc>>,
    pub language: Language,
    pub channels: Vec<Channel>,
    pub categories: Vec<Category>,
    pub live_location_enabled: bool,
    pub municipality_cbs: Option<String>,
    pub status_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The kinds of municipal message the participant opted in to.
    pub municipal_messages: Vec<MunicipalMessageKind>,
    /// When a municipal message to the address bounced (the address is unverified since).
    pub email_bounced_at: Option<DateTime<Utc>>,
    /// Opted in to exercises and tests.
    pub exercises: bool,
}

/// The participant with this number, created (active, with default choices) if there is none.
pub async fn find_or_create_by_phone(
    conn: &mut AsyncPgConnection,
    phone: &PhoneNumber,
) -> QueryResult<(ParticipantId, bool)> {
    let created: Option<ParticipantId> = diesel::insert_into(participants::table)
        .values((participants::id.eq(ParticipantId::new()), participants::phone_number.eq(phone)))
        .on_conflict(participants::phone_number)
        .do_nothing()
        .returning(participants::id)
        .get_result(conn)
        .await
        .optional()?;
    if let Some(id) = created {
        return Ok((id, true));
    }
    let id = participants::table
        .filter(participants::phone_number.eq(phone))
        .select(participants::id)
        .first(conn)
        .await?;
    Ok((id, false))
}

/// The status of the participant with this number, if there is one.
pub async fn status_by_phone(
    conn: &mut AsyncPgConnection,
    phone: &PhoneNumber,
) -> QueryResult<Option<ParticipantStatus>> {
    participants::table
        .filter(participants::phone_number.eq(phone))
        .select(participants::status)
        .first(conn)
        .await
        .optional()
}

/// A participant who has not been erased; `lock` holds the row until the transaction ends, so
/// concurrent changes to their places and status queue up.
pub async fn find(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    lock: bool,
) -> QueryResult<Option<ParticipantRow>> {
    let query = participants::table
        .find(participant)
        .filter(participants::erased_at.is_null())
        .select(ParticipantRow::as_select());
    if lock { query.for_update().first(conn).await.optional() } else { query.first(conn).await.optional() }
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = participants)]
pub struct ProfileUpdate {
    pub display_name: Option<Option<String>>,
    pub email: Option<Option<EmailAddress>>,
    pub email_verified_at: Option<Option<DateTime<Utc>>>,
    pub email_set_at: Option<Option<DateTime<Utc>>>,
    pub language: Option<Language>,
    pub channels: Option<Vec<Channel>>,
    pub categories: Option<Vec<Category>>,
    pub live_location_enabled: Option<bool>,
    pub municipal_messages: Option<Vec<MunicipalMessageKind>>,
    pub email_bounced_at: Option<Option<DateTime<Utc>>>,
    pub exercises: Option<bool>,
}

impl ProfileUpdate {
    /// Whether the update sets nothing (an UPDATE with nothing to set is an error in diesel).
    fn changes_nothing(&self) -> bool {
        let Self {
            display_name,
            email,
            email_verified_at,
            email_set_at,
            language,
            channels,
            categories,
            live_location_enabled,
            municipal_messages,
            email_bounced_at,
            exercises,
        } = self;
        display_name.is_none()
            && email.is_none()
            && email_verified_at.is_none()
            && email_set_at.is_none()
            && language.is_none()
            && channels.is_none()
            && categories.is_none()
            && live_location_enabled.is_none()
            && municipal_messages.is_none()
            && email_bounced_at.is_none()
            && exercises.is_none()
    }
}

/// Sets what `update` holds; an update that holds nothing changes nothing.
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    update: &ProfileUpdate,
) -> QueryResult<()> {
    if update.changes_nothing() {
        return Ok(());
    }
    diesel::update(participants::table.find(participant)).set(update).execute(conn).await?;
    Ok(())
}

pub async fn set_status_and_municipality(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    status: ParticipantStatus,
    municipality_cbs: Option<&str>,
) -> QueryResult<()> {
    diesel::update(participants::table.find(participant))
        .set((
            participants::municipality_cbs.eq(municipality_cbs),
            participants::status_changed_at.eq(diesel::dsl::case_when(
                participants::status.ne(status),
                now.into_sql::<Timestamptz>(),
            )
            .otherwise(participants::status_changed_at)),
            participants::status.eq(status),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn requires_approval(conn: &mut AsyncPgConnection, cbs_code: &str) -> QueryResult<bool> {
    super::schema::municipalities::table
        .find(cbs_code)
        .select(super::schema::municipalities::requires_approval)
        .first(conn)
        .await
}

pub async fn set_requires_approval(
    conn: &mut AsyncPgConnection,
    cbs_code: &str,
    requires_approval: bool,
) -> QueryResult<usize> {
    diesel::update(super::schema::municipalities::table.find(cbs_code))
        .set(super::schema::municipalities::requires_approval.eq(requires_approval))
        .execute(conn)
        .await
}

// --- e-mail verification ---

pub async fn replace_email_verification(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    token_hash: &[u8; 32],
    email: &EmailAddress,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(email_verifications::table.filter(email_verifications::participant_id.eq(participant)))
        .execute(conn)
        .await?;
    diesel::insert_into(email_verifications::table)
        .values((
            email_verifications::token_hash.eq(token_hash.as_slice()),
            email_verifications::participant_id.eq(participant),
            email_verifications::email.eq(email),
            email_verifications::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the address verified if the link is current and the participant still has that
/// address. Returns the participant's language when it worked.
pub async fn confirm_email_verification(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8; 32],
) -> QueryResult<Option<Language>> {
    let found: Option<(ParticipantId, EmailAddress)> = diesel::delete(
        email_verifications::table
            .filter(email_verifications::token_hash.eq(token_hash.as_slice()))
            .filter(email_verifications::expires_at.gt(now)),
    )
    .returning((email_verifications::participant_id, email_verifications::email))
    .get_result(conn)
    .await
    .optional()?;
    let Some((participant, email)) = found else { return Ok(None) };
    diesel::update(
        participants::table
            .find(participant)
            .filter(participants::email.eq(&email))
            .filter(participants::erased_at.is_null()),
    )
    .set((participants::email_verified_at.eq(now), participants::email_bounced_at.eq(None::<DateTime<Utc>>)))
    .returning(participants::language)
    .get_result(conn)
    .await
    .optional()
}

// --- places ---

#[derive(Debug, Clone, QueryableByName)]
pub struct PlaceRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: PlaceId,
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub kind: PlaceKind,
    #[diesel(sql_type = Text)]
    pub name: PlaceName,
    #[diesel(sql_type = Double)]
    pub latitude: f64,
    #[diesel(sql_type = Double)]
    pub longitude: f64,
    /// The `postcode` and `house_number` columns.
    #[diesel(embed)]
    pub address: Option<PostalAddress>,
    #[diesel(sql_type = Text)]
    pub municipality_cbs: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

const PLACE_COLUMNS: &str =
    "id, participant_id, kind, name, ST_Y(location) AS latitude, ST_X(location) AS longitude,
     postcode, house_number, municipality_cbs, created_at, updated_at";

/// The places of these participants, oldest first.
pub async fn list_places(
    conn: &mut AsyncPgConnection,
    participant_ids: &[ParticipantId],
) -> QueryResult<Vec<PlaceRow>> {
    diesel::sql_query(format!(
        "SELECT {PLACE_COLUMNS} FROM places WHERE participant_id = ANY($1) ORDER BY created_at, id"
    ))
    .bind::<Array<SqlUuid>, _>(participant_ids)
    .load(conn)
    .await
}

#[derive(Debug, Clone, Queryable)]
pub struct TimeWindowRow {
    pub place_id: PlaceId,
    pub days: Vec<i16>,
    pub from_minute: i16,
    pub until_minute: i16,
}

pub async fn list_time_windows(
    conn: &mut AsyncPgConnection,
    place_ids: &[PlaceId],
) -> QueryResult<Vec<TimeWindowRow>> {
    place_time_windows::table
        .filter(place_time_windows::place_id.eq_any(place_ids))
        .order((place_time_windows::place_id, place_time_windows::position))
        .select((
            place_time_windows::place_id,
            place_time_windows::days,
            place_time_windows::from_minute,
            place_time_windows::until_minute,
        ))
        .load(conn)
        .await
}

#[derive(QueryableByName)]
struct CbsCodeRow {
    #[diesel(sql_type = Text)]
    cbs_code: String,
}

/// The municipality whose boundary contains the point; none when it lies outside every loaded
/// municipality, i.e. outside the service area.
pub async fn municipality_containing(
    conn: &mut AsyncPgConnection,
    latitude: f64,
    longitude: f64,
) -> QueryResult<Option<String>> {
    let row: Option<CbsCodeRow> = diesel::sql_query(
        "SELECT cbs_code FROM municipalities
          WHERE ST_Covers(boundary, ST_SetSRID(ST_MakePoint($1, $2), 4326))
          ORDER BY cbs_code LIMIT 1",
    )
    .bind::<Double, _>(longitude)
    .bind::<Double, _>(latitude)
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.map(|row| row.cbs_code))
}

/// The fields of a place as written.
pub struct PlaceValues<'a> {
    pub kind: PlaceKind,
    pub name: &'a PlaceName,
    pub latitude: f64,
    pub longitude: f64,
    pub address: Option<&'a PostalAddress>,
    pub municipality_cbs: &'a str,
    /// (ISO days, from minute, until minute)
    pub time_windows: Vec<(Vec<i16>, i16, i16)>,
}

pub async fn count_places(conn: &mut AsyncPgConnection, participant: ParticipantId) -> QueryResult<i64> {
    places::table.filter(places::participant_id.eq(participant)).count().get_result(conn).await
}

/// Inserts the place, or replaces the participant's place `id` with these values. Returns false
/// when `id` is not one of the participant's places.
pub async fn save_place(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: PlaceId,
    values: &PlaceValues<'_>,
    replace: bool,
) -> QueryResult<bool> {
    let sql = if replace {
        "UPDATE places SET kind = $3, name = $4, location = ST_SetSRID(ST_MakePoint($5, $6), 4326),
                postcode = $7, house_number = $8, municipality_cbs = $9
          WHERE id = $1 AND participant_id = $2"
    } else {
        "INSERT INTO places (id, participant_id, kind, name, location, postcode, house_number, municipality_cbs)
         VALUES ($1, $2, $3, $4, ST_SetSRID(ST_MakePoint($5, $6), 4326), $7, $8, $9)"
    };
    let written = diesel::sql_query(sql)
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(participant)
        .bind::<Text, _>(values.kind)
        .bind::<Text, _>(values.name)
        .bind::<Double, _>(values.longitude)
        .bind::<Double, _>(values.latitude)
        .bind::<Nullable<Text>, _>(values.address.map(PostalAddress::postcode))
        .bind::<Nullable<Text>, _>(values.address.map(PostalAddress::house_number))
        .bind::<Text, _>(values.municipality_cbs)
        .execute(conn)
        .await?;
    if written == 0 {
        return Ok(false);
    }
    diesel::delete(place_time_windows::table.filter(place_time_windows::place_id.eq(id)))
        .execute(conn)
        .await?;
    let rows: Vec<_> = values
        .time_windows
        .iter()
        .enumerate()
        .map(|(position, (days, from, until))| {
            (
                place_time_windows::place_id.eq(id),
                place_time_windows::position.eq(position as i16),
                place_time_windows::days.eq(days.clone()),
                place_time_windows::from_minute.eq(*from),
                place_time_windows::until_minute.eq(*until),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(place_time_windows::table).values(rows).execute(conn).await?;
    }
    Ok(true)
}

pub async fn delete_place(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: PlaceId,
) -> QueryResult<bool> {
    let deleted = diesel::delete(places::table.find(id).filter(places::participant_id.eq(participant)))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

/// The municipality that manages the participant: their home's, else their first place's.
pub async fn managing_municipality(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> QueryResult<Option<String>> {
    places::table
        .filter(places::participant_id.eq(participant))
        .order((places::kind.ne(PlaceKind::Home), places::created_at, places::id))
        .select(places::municipality_cbs)
        .first(conn)
        .await
        .optional()
}

// --- live location ---

#[derive(Debug, Clone, QueryableByName)]
pub struct LiveLocationRow {
    #[diesel(sql_type = Double)]
    pub latitude: f64,
    #[diesel(sql_type = Double)]
    pub longitude: f64,
    #[diesel(sql_type = Float4)]
    pub accuracy_meters: f32,
    #[diesel(sql_type = Timestamptz)]
    pub recorded_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
}

/// Replaces the participant's one position (there is never more than one row per participant)
/// if the access token's session stands (it exists, is theirs, is not revoked) and they have
/// "alerts where I am" switched on; none otherwise. One statement, as it runs for every position
/// report: the session check other endpoints make in a query of their own is part of it.
/// `FOR SHARE` waits for a concurrent opt-out or erasure and then sees it, so no position is
/// written after one.
///
/// The same statement notes the participant as an entrant of every recruiting alert whose area
/// the position lies in, whose category they want on one of its channels, and whose recipient
/// they are not yet (`area_entrants`), and queues `recruit` for each such alert unless one is
/// queued already: they are alerted within seconds, and the entrant and the job commit with the
/// position. What this costs grows with the alerts recruiting now (an index of their areas), not
/// with participants.
pub async fn upsert_live_location_in_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    participant: ParticipantId,
    position: (f64, f64),
    accuracy_meters: f32,
    ttl: std::time::Duration,
    recruit: JobKind,
) -> QueryResult<Option<LiveLocationRow>> {
    let (latitude, longitude) = position;
    UpsertLiveLocationInSession {
        session: session.0,
        participant: participant.0,
        longitude,
        latitude,
        accuracy_meters,
        ttl: super::interval(ttl),
        recruit,
    }
    .get_result(conn)
    .await
    .optional()
}

/// The statement of [`upsert_live_location_in_session`]. Not a `sql_query`: diesel prepares
/// those anew on every run (one more round trip, and PostgreSQL parses and plans again), while
/// this one's text never changes, so each connection prepares it once.
struct UpsertLiveLocationInSession {
    session: Uuid,
    participant: Uuid,
    longitude: f64,
    latitude: f64,
    accuracy_meters: f32,
    ttl: diesel::pg::data_types::PgInterval,
    recruit: JobKind,
}

impl QueryFragment<Pg> for UpsertLiveLocationInSession {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // The row is updated when it exists (nearly always) and inserted only when it does not:
        // an `INSERT .. ON CONFLICT` alone would run the insert trigger, which computes the
        // participant's reach, on every report, only to throw it away on the conflict.
        out.push_sql(
            "WITH report AS (
                 SELECT participants.id AS participant_id,
                        ST_SetSRID(ST_MakePoint(",
        );
        out.push_bind_param::<Double, _>(&self.longitude)?;
        out.push_sql(", ");
        out.push_bind_param::<Double, _>(&self.latitude)?;
        out.push_sql("), 4326) AS location, ");
        out.push_bind_param::<Float4, _>(&self.accuracy_meters)?;
        out.push_sql(" AS accuracy_meters, now() AS recorded_at, now() + ");
        out.push_bind_param::<Interval, _>(&self.ttl)?;
        out.push_sql(
            " AS expires_at
                   FROM participant_sessions
                   JOIN participants ON participants.id = participant_sessions.participant_id
                  WHERE participant_sessions.id = ",
        );
        out.push_bind_param::<SqlUuid, _>(&self.session)?;
        out.push_sql(" AND participant_sessions.participant_id = ");
        out.push_bind_param::<SqlUuid, _>(&self.participant)?;
        out.push_sql(
            "
                    AND participant_sessions.revoked_at IS NULL
                    AND participants.live_location_enabled AND participants.erased_at IS NULL
                    FOR SHARE OF participants),
             moved AS (
                 UPDATE live_locations
                    SET location = report.location, accuracy_meters = report.accuracy_meters,
                        recorded_at = report.recorded_at, expires_at = report.expires_at
                   FROM report
                  WHERE live_locations.participant_id = report.participant_id
              RETURNING live_locations.participant_id, live_locations.location, live_locations.accuracy_meters,
                        live_locations.recorded_at, live_locations.expires_at,
                        live_locations.reach_categories, live_locations.reach_channels),
             placed AS (
                 INSERT INTO live_locations (participant_id, location, accuracy_meters, recorded_at, expires_at)
                 SELECT participant_id, location, accuracy_meters, recorded_at, expires_at FROM report
                  WHERE NOT EXISTS (SELECT 1 FROM moved)
                     ON CONFLICT (participant_id) DO UPDATE
                    SET location = excluded.location, accuracy_meters = excluded.accuracy_meters,
                        recorded_at = excluded.recorded_at, expires_at = excluded.expires_at
              RETURNING participant_id, location, accuracy_meters, recorded_at, expires_at,
                        reach_categories, reach_channels),
             stored AS (SELECT * FROM moved UNION ALL SELECT * FROM placed),
             entered AS (
                 INSERT INTO area_entrants (alert_id, participant_id)
                 SELECT alerts.id, stored.participant_id
                   FROM stored
                   JOIN alerts ON alerts.recruiting_until > now() AND ST_Intersects(alerts.area, stored.location)
                  WHERE alerts.reach_key = ANY (stored.reach_categories)
                    AND stored.reach_channels && alerts.recruiting_channels
                    AND NOT EXISTS (SELECT 1 FROM alert_recipients r
                                     WHERE r.participant_id = stored.participant_id AND r.alert_id = alerts.id)
                     ON CONFLICT DO NOTHING
              RETURNING alert_id),
             recruit AS (
                 INSERT INTO background_jobs (job_type, payload, priority, max_attempts)
                 SELECT ",
        );
        out.push_bind_param::<Text, _>(&self.recruit.job_type)?;
        out.push_sql(", jsonb_build_object('alert_id', alert_id), ");
        out.push_bind_param::<SmallInt, _>(&self.recruit.priority)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.recruit.max_attempts)?;
        out.push_sql(
            "
                   FROM (SELECT DISTINCT alert_id FROM entered) AS entered
                  WHERE NOT EXISTS (SELECT 1 FROM background_jobs queued
                                     WHERE queued.job_type = ",
        );
        out.push_bind_param::<Text, _>(&self.recruit.job_type)?;
        out.push_sql(
            " AND queued.state = 'queued'
                                       AND queued.payload = jsonb_build_object('alert_id', entered.alert_id)))
             SELECT ST_Y(location) AS latitude, ST_X(location) AS longitude, accuracy_meters,
                    recorded_at, expires_at
               FROM stored",
        );
        Ok(())
    }
}

impl QueryId for UpsertLiveLocationInSession {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for UpsertLiveLocationInSession {
    type SqlType = Untyped;
}

/// The participant's position unless it has expired.
pub async fn find_live_location(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> QueryResult<Option<LiveLocationRow>> {
    diesel::sql_query(
        "SELECT ST_Y(location) AS latitude, ST_X(location) AS longitude, accuracy_meters, recorded_at, expires_at
           FROM live_locations WHERE participant_id = $1 AND expires_at > now()",
    )
    .bind::<SqlUuid, _>(participant)
    .get_result(conn)
    .await
    .optional()
}

pub async fn delete_live_location(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> QueryResult<()> {
    diesel::delete(live_locations::table.find(participant)).execute(conn).await?;
    Ok(())
}

/// Removes what has outlived its purpose: expired positions, codes and counters. Run
/// periodically by the workers.
pub async fn purge_expired(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
    let locations = diesel::delete(live_locations::table.filter(live_locations::expires_at.le(now)))
        .execute(conn)
        .await?;
    let challenges = diesel::delete(
        sign_in_challenges::table
            .filter(sign_in_challenges::expires_at.le(now))
            .filter(sign_in_challenges::locked_until.is_null().or(sign_in_challenges::locked_until.le(now))),
    )
    .execute(conn)
    .await?;
    let verifications =
        diesel::delete(email_verifications::table.filter(email_verifications::expires_at.le(now)))
            .execute(conn)
            .await?;
    let counters = diesel::sql_query(
        "DELETE FROM rate_limit_counters WHERE window_started_at < now() - interval '1 day'",
    )
    .execute(conn)
    .await?;
    let tokens = diesel::sql_query("DELETE FROM refresh_tokens WHERE expires_at <= now() - interval '1 day'")
        .execute(conn)
        .await?;
    let answers =
        diesel::sql_query("DELETE FROM idempotent_requests WHERE created_at < now() - interval '1 day'")
            .execute(conn)
            .await?;
    Ok(locations + challenges + verifications + counters + tokens + answers)
}

// --- devices ---

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = devices)]
pub struct DeviceRow {
    pub id: DeviceId,
    pub platform: Platform,
    pub push_token: PushToken,
    pub apns_environment: Option<ApnsEnvironment>,
    pub app_version: AppVersion,
    pub locale: Locale,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct DeviceValues<'a> {
    pub platform: Platform,
    pub push_token: &'a PushToken,
    pub apns_environment: Option<ApnsEnvironment>,
    pub app_version: &'a AppVersion,
    pub locale: &'a Locale,
}

pub async fn list_devices(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> QueryResult<Vec<DeviceRow>> {
    devices::table
        .filter(devices::participant_id.eq(participant))
        .order((devices::created_at, devices::id))
        .select(DeviceRow::as_select())
        .load(conn)
        .await
}

/// Registers the token for the participant. A token already registered (by them or by someone
/// else) is taken over with its row: one token, one owner. Returns the row and whether it is new
/// to this participant.
pub async fn register_device(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    values: &DeviceValues<'_>,
) -> QueryResult<(DeviceRow, bool)> {
    let previous_owner: Option<ParticipantId> = devices::table
        .filter(devices::platform.eq(values.platform))
        .filter(devices::push_token.eq(values.push_token))
        .select(devices::participant_id)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let row: DeviceRow = diesel::insert_into(devices::table)
        .values((
            devices::id.eq(DeviceId::new()),
            devices::participant_id.eq(participant),
            devices::platform.eq(values.platform),
            devices::push_token.eq(values.push_token),
            devices::apns_environment.eq(values.apns_environment),
            devices::app_version.eq(values.app_version),
            devices::locale.eq(values.locale),
        ))
        .on_conflict((devices::platform, devices::push_token))
        .do_update()
        .set((
            devices::participant_id.eq(participant),
            devices::apns_environment.eq(values.apns_environment),
            devices::app_version.eq(values.app_version),
            devices::locale.eq(values.locale),
        ))
        .returning(DeviceRow::as_returning())
        .get_result(conn)
        .await?;
    Ok((row, previous_owner != Some(participant)))
}

/// Updates one of the participant's devices (a rotated token, a new app version). A token held
/// by another device row is moved here.
pub async fn update_device(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: DeviceId,
    values: &DeviceValues<'_>,
) -> QueryResult<Option<DeviceRow>> {
    diesel::delete(
        devices::table
            .filter(devices::platform.eq(values.platform))
            .filter(devices::push_token.eq(values.push_token))
            .filter(devices::id.ne(id)),
    )
    .execute(conn)
    .await?;
    diesel::update(devices::table.find(id).filter(devices::participant_id.eq(participant)))
        .set((
            devices::platform.eq(values.platform),
            devices::push_token.eq(values.push_token),
            devices::apns_environment.eq(values.apns_environment),
            devices::app_version.eq(values.app_version),
            devices::locale.eq(values.locale),
        ))
        .returning(DeviceRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn delete_device(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: DeviceId,
) -> QueryResult<bool> {
    let deleted = diesel::delete(devices::table.find(id).filter(devices::participant_id.eq(participant)))
        .execute(conn)
        .await?;
    Ok(deleted > 0)
}

pub async fn count_devices(conn: &mut AsyncPgConnection, participant: ParticipantId) -> QueryResult<i64> {
    devices::table.filter(devices::participant_id.eq(participant)).count().get_result(conn).await
}

// --- erasure ---

/// Deletes everything that identifies the participant and keeps a row without identity, so
/// records of alerts already sent keep their reference.
pub async fn erase(conn: &mut AsyncPgConnection, participant: ParticipantId) -> QueryResult<()> {
    let id = participant.0;
    diesel::delete(places::table.filter(places::participant_id.eq(id))).execute(conn).await?;
    diesel::delete(devices::table.filter(devices::participant_id.eq(id))).execute(conn).await?;
    diesel::delete(live_locations::table.find(id)).execute(conn).await?;
    super::tips::detach_participant(conn, id).await?;
    super::municipal_messages::forget_participant(conn, participant).await?;
    super::target_groups::forget_participant(conn, participant).await?;
    diesel::delete(email_verifications::table.filter(email_verifications::participant_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::delete(participant_sessions::table.filter(participant_sessions::participant_id.eq(id)))
        .execute(conn)
        .await?;
    diesel::update(participants::table.find(id))
        .set((
            participants::phone_number.eq(None::<String>),
            participants::display_name.eq(None::<String>),
            participants::email.eq(None::<String>),
            participants::email_verified_at.eq(None::<DateTime<Utc>>),
            participants::email_set_at.eq(None::<DateTime<Utc>>),
            participants::email_bounced_at.eq(None::<DateTime<Utc>>),
            participants::municipal_messages.eq(Vec::<MunicipalMessageKind>::new()),
            participants::live_location_enabled.eq(false),
            participants::status.eq(ParticipantStatus::Removed),
            participants::status_changed_at.eq(now),
            participants::erased_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

// --- staff actions ---

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = participant_staff_actions)]
pub struct StaffActionRow {
    pub id: i64,
    pub participant_id: ParticipantId,
    pub staff_subject: String,
    pub staff_name: Option<String>,
    pub staff_role: String,
    pub action: String,
    pub from_status: Option<ParticipantStatus>,
    pub to_status: Option<ParticipantStatus>,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewStaffAction<'a> {
    pub participant: ParticipantId,
    pub municipality_cbs: Option<&'a str>,
    pub staff_subject: &'a str,
    pub staff_name: Option<&'a str>,
    pub staff_role: &'a str,
    pub action: &'a str,
    pub from_status: Option<ParticipantStatus>,
    pub to_status: Option<ParticipantStatus>,
    pub reason: &'a str,
}

pub async fn insert_staff_action(
    conn: &mut AsyncPgConnection,
    action: &NewStaffAction<'_>,
) -> QueryResult<StaffActionRow> {
    diesel::insert_into(participant_staff_actions::table)
        .values((
            participant_staff_actions::participant_id.eq(action.participant),
            participant_staff_actions::municipality_cbs.eq(action.municipality_cbs),
            participant_staff_actions::staff_subject.eq(action.staff_subject),
            participant_staff_actions::staff_name.eq(action.staff_name),
            participant_staff_actions::staff_role.eq(action.staff_role),
            participant_staff_actions::action.eq(action.action),
            participant_staff_actions::from_status.eq(action.from_status),
            participant_staff_actions::to_status.eq(action.to_status),
            participant_staff_actions::reason.eq(action.reason),
        ))
        .returning(StaffActionRow::as_returning())
        .get_result(conn)
        .await
}

/// Staff actions on the participant, newest first.
pub async fn list_staff_actions(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> QueryResult<Vec<StaffActionRow>> {
    participant_staff_actions::table
        .filter(participant_staff_actions::participant_id.eq(participant))
        .order(participant_staff_actions::id.desc())
        .select(StaffActionRow::as_select())
        .load(conn)
        .await
}

// --- the municipality's view ---

/// Which participants of a municipality to list.
pub struct ParticipantFilter<'a> {
    pub municipality_cbs: &'a str,
    pub statuses: Option<Vec<ParticipantStatus>>,
    pub phone_number: Option<&'a PhoneNumber>,
    pub postcode: Option<&'a str>,
    /// Only those whose e-mail address bounced, or was set before this moment and is still
    /// unverified.
    pub email_unverified_since: Option<DateTime<Utc>>,
    pub limit: i64,
    pub offset: i64,
}

/// One page of the municipality's participants, oldest sign-up first, and the total count.
pub async fn list_for_municipality(
    conn: &mut AsyncPgConnection,
    filter: &ParticipantFilter<'_>,
) -> QueryResult<(Vec<ParticipantRow>, i64)> {
    let query =
        || {
            let mut query = participants::table
                .filter(participants::municipality_cbs.eq(filter.municipality_cbs))
                .filter(participants::erased_at.is_null())
                .into_boxed();
            if let Some(statuses) = &filter.statuses {
                query = query.filter(participants::status.eq_any(statuses.clone()));
            }
            if let Some(phone) = filter.phone_number {
                query = query.filter(participants::phone_number.eq(phone));
            }
            if let Some(postcode) = filter.postcode {
                query = query.filter(participants::id.eq_any(
                    places::table.filter(places::postcode.eq(postcode)).select(places::participant_id),
                ));
            }
            if let Some(since) = filter.email_unverified_since {
                query =
                    query.filter(participants::email_bounced_at.is_not_null().or(
                        participants::email_verified_at.is_null().and(participants::email_set_at.le(since)),
                    ));
            }
            query
        };
    let total = query().count().get_result(conn).await?;
    let rows = query()
        .order((participants::created_at, participants::id))
        .limit(filter.limit)
        .offset(filter.offset)
        .select(ParticipantRow::as_select())
        .load(conn)
        .await?;
    Ok((rows, total))
}

pub async fn count_active_sessions(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> QueryResult<i64> {
    participant_sessions::table
        .filter(participant_sessions::participant_id.eq(participant))
        .filter(participant_sessions::revoked_at.is_null())
        .count()
        .get_result(conn)
        .await
}
