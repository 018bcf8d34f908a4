//! The SQL of municipal messages (`crate::messages`): the messages, who they went to, and what
//! became of each (sent, bounced, unsubscribed, opened in the app).

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::QueryResult;
use diesel::QueryableByName;
use diesel::sql_types::{
    Array, BigInt, Bool, Bytea, Double, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ids::{MunicipalMessageId, ParticipantId};
use crate::vocabulary::email::EmailAddress;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::{Channel, Language, MunicipalMessageKind, MunicipalMessageStatus};

pub struct NewMessage<'a> {
    pub id: MunicipalMessageId,
    pub municipality_cbs: &'a str,
    pub kind: MunicipalMessageKind,
    pub channels: &'a [Channel],
    pub texts: serde_json::Value,
    pub area_wkb: Option<&'a [u8]>,
    pub created_by_subject: &'a str,
    pub created_by_name: Option<&'a str>,
}

pub async fn insert(conn: &mut AsyncPgConnection, message: &NewMessage<'_>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO municipal_messages (id, municipality_cbs, kind, channels, texts, area,
                                         created_by_subject, created_by_name)
         VALUES ($1, $2, $3, $4, $5, ST_Multi(ST_GeomFromWKB($6, 4326)), $7, $8)",
    )
    .bind::<SqlUuid, _>(message.id.0)
    .bind::<Text, _>(message.municipality_cbs)
    .bind::<Text, _>(message.kind)
    .bind::<Array<Text>, _>(message.channels)
    .bind::<Jsonb, _>(&message.texts)
    .bind::<Nullable<Bytea>, _>(message.area_wkb)
    .bind::<Text, _>(message.created_by_subject)
    .bind::<Nullable<Text>, _>(message.created_by_name)
    .execute(conn)
    .await?;
    Ok(())
}

/// A message as stored, its area as GeoJSON.
#[derive(Debug, Clone, QueryableByName)]
pub struct MessageRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: MunicipalMessageId,
    #[diesel(sql_type = Text)]
    pub municipality_cbs: String,
    #[diesel(sql_type = Text)]
    pub municipality_name: String,
    #[diesel(sql_type = Text)]
    pub kind: MunicipalMessageKind,
    #[diesel(sql_type = Array<Text>)]
    pub channels: Vec<Channel>,
    #[diesel(sql_type = Jsonb)]
    pub texts: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    pub area_geojson: Option<String>,
    #[diesel(sql_type = Text)]
    pub status: MunicipalMessageStatus,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub send_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub created_by_subject: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub created_by_name: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sending_started_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sent_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub cancelled_at: Option<DateTime<Utc>>,
}

const MESSAGE_COLUMNS: &str =
    "m.id, m.municipality_cbs, mu.name AS municipality_name, m.kind, m.channels, m.texts,
        ST_AsGeoJSON(m.area, 6) AS area_geojson, m.status, m.send_at, m.created_by_subject,
        m.created_by_name, m.created_at, m.updated_at, m.sending_started_at, m.sent_at, m.cancelled_at
   FROM municipal_messages m JOIN municipalities mu ON mu.cbs_code = m.municipality_cbs";

/// The message, if it is one of the municipality's; `lock` holds it until the transaction ends.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: MunicipalMessageId,
    municipality_cbs: Option<&str>,
    lock: bool,
) -> QueryResult<Option<MessageRow>> {
    let lock = if lock { " FOR UPDATE OF m" } else { "" };
    diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.id = $1 AND ($2::text IS NULL OR m.municipality_cbs = $2){lock}"
    ))
    .bind::<SqlUuid, _>(id.0)
    .bind::<Nullable<Text>, _>(municipality_cbs)
    .get_result(conn)
    .await
    .optional()
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// One page of the municipality's messages, newest first, and how many there are.
pub async fn list(
    conn: &mut AsyncPgConnection,
    municipality_cbs: &str,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<MessageRow>, i64)> {
    let rows = diesel::sql_query(format!(
        "SELECT {MESSAGE_COLUMNS} WHERE m.municipality_cbs = $1
          ORDER BY m.created_at DESC, m.id LIMIT $2 OFFSET $3"
    ))
    .bind::<Text, _>(municipality_cbs)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
    .await?;
    let total: Total =
        diesel::sql_query("SELECT count(*) AS total FROM municipal_messages WHERE municipality_cbs = $1")
            .bind::<Text, _>(municipality_cbs)
            .get_result(conn)
            .await?;
    Ok((rows, total.total))
}

/// A draft becomes scheduled for `send_at`. Returns whether it was a draft.
pub async fn schedule(
    conn: &mut AsyncPgConnection,
    id: MunicipalMessageId,
    send_at: DateTime<Utc>,
) -> QueryResult<bool> {
    let changed = diesel::sql_query(
        "UPDATE municipal_messages SET status = 'scheduled', send_at = $2, updated_at = now()
          WHERE id = $1 AND status = 'draft'",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<Timestamptz, _>(send_at)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// A draft or scheduled message is cancelled. Returns whether it was either.
pub async fn cancel(conn: &mut AsyncPgConnection, id: MunicipalMessageId) -> QueryResult<bool> {
    let changed = diesel::sql_query(
        "UPDATE municipal_messages SET status = 'cancelled', cancelled_at = now(), updated_at = now()
          WHERE id = $1 AND status IN ('draft', 'scheduled')",
    )
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Who the message would reach now: per participant, each of the message's channels that can
/// reach them. Active participants the municipality manages who opted in to the message's kind
/// (with a place in its area, if it has one); e-mail only to a verified address that did not
/// bounce, push only with a device, SMS only with a number. `$1` is the message's id.
const AUDIENCE: &str = "
    SELECT p.id AS participant_id, c.channel
      FROM municipal_messages m
      JOIN participants p ON p.municipality_cbs = m.municipality_cbs
     CROSS JOIN LATERAL unnest(m.channels) AS c(channel)
     WHERE m.id = $1
       AND p.status = 'active' AND p.erased_at IS NULL
       AND m.kind = ANY (p.municipal_messages)
       AND (m.area IS NULL OR EXISTS (SELECT 1 FROM places pl
                                       WHERE pl.participant_id = p.id AND ST_Intersects(pl.location, m.area)))
       AND CASE c.channel
               WHEN 'email' THEN p.email IS NOT NULL AND p.email_verified_at IS NOT NULL
                                 AND p.email_bounced_at IS NULL
               WHEN 'push' THEN EXISTS (SELECT 1 FROM devices d WHERE d.participant_id = p.id)
               WHEN 'sms' THEN p.phone_number IS NOT NULL
               ELSE false
           END";

/// How many a count is of, per channel, and of participants on any channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AudienceCounts {
    pub participants: i64,
    pub push: i64,
    pub sms: i64,
    pub email: i64,
}

#[derive(QueryableByName)]
struct AudienceRow {
    #[diesel(sql_type = BigInt)]
    participants: i64,
    #[diesel(sql_type = BigInt)]
    push: i64,
    #[diesel(sql_type = BigInt)]
    sms: i64,
    #[diesel(sql_type = BigInt)]
    email: i64,
}

/// How many the message would reach if it were sent now.
pub async fn count_audience(
    conn: &mut AsyncPgConnection,
    id: MunicipalMessageId,
) -> QueryResult<AudienceCounts> {
    let row: AudienceRow = diesel::sql_query(format!(
        "SELECT count(DISTINCT participant_id) AS participants,
                count(*) FILTER (WHERE channel = 'push') AS push,
                count(*) FILTER (WHERE channel = 'sms') AS sms,
                count(*) FILTER (WHERE channel = 'email') AS email
           FROM ({AUDIENCE}) AS audience"
    ))
    .bind::<SqlUuid, _>(id.0)
    .get_result(conn)
    .await?;
    Ok(AudienceCounts { participants: row.participants, push: row.push, sms: row.sms, email: row.email })
}

/// A scheduled message whose time has come starts sending: its recipients are taken as they are
/// now. Returns how many (participant, channel) pairs, or none when the message was not scheduled
/// and due. Call inside a transaction that locked the message.
pub async fn start_sending(
    conn: &mut AsyncPgConnection,
    id: MunicipalMessageId,
) -> QueryResult<Option<usize>> {
    let started = diesel::sql_query(
        "UPDATE municipal_messages SET status = 'sending', sending_started_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'scheduled' AND send_at <= now()",
    )
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
    .await?;
    if started == 0 {
        return Ok(None);
    }
    let taken = diesel::sql_query(format!(
        "INSERT INTO municipal_message_recipients (message_id, participant_id, channel)
         SELECT $1, participant_id, channel FROM ({AUDIENCE}) AS audience
         ON CONFLICT DO NOTHING"
    ))
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
    .await?;
    Ok(Some(taken))
}

/// A recipient still to be sent to, with what sending needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct PendingRecipient {
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub channel: Channel,
    #[diesel(sql_type = Text)]
    pub language: Language,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<EmailAddress>,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone_number: Option<PhoneNumber>,
}

/// Up to `limit` recipients still to be sent to, in a stable order. Contact details are read now,
/// so a participant who removed their address since the recipients were taken gets nothing.
pub async fn pending_recipients(
    conn: &mut AsyncPgConnection,
    id: MunicipalMessageId,
    limit: i64,
) -> QueryResult<Vec<PendingRecipient>> {
    diesel::sql_query(
        "SELECT r.participant_id, r.channel, p.language,
                CASE WHEN p.email_verified_at IS NOT NULL AND p.email_bounced_at IS NULL THEN p.email END AS email,
                p.phone_number
           FROM municipal_message_recipients r JOIN participants p ON p.id = r.participant_id
          WHERE r.message_id = $1 AND r.state = 'pending'
          ORDER BY r.channel, r.participant_id
          LIMIT $2",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// What became of sending to one recipient.
pub enum SendOutcome<'a> {
    Sent { provider_message_id: Option<&'a str>, unsubscribe_token_hash: Option<&'a [u8]> },
    Failed { code: &'a str },
}

/// Records what became of sending to a pending recipient (a recipient already settled stays so).
pub async fn settle_recipient(
    conn: &mut AsyncPgConnection,
    id: MunicipalMessageId,
    participant: ParticipantId,
    channel: Channel,
    outcome: SendOutcome<'_>,
) -> QueryResult<()> {
    let (state, provider_message_id, token_hash, code) = match outcome {
        SendOutcome::Sent { provider_message_id, unsubscribe_token_hash } => {
            ("sent", provider_message_id, unsubscribe_token_hash, None)
        }
        SendOutcome::Failed { code } => ("failed", None, None, Some(code)),
    };
    diesel::sql_query(
        "UPDATE municipal_message_recipients
            SET state = $4, provider_message_id = $5, unsubscribe_token_hash = $6, failure_code = $7,
                sent_at = CASE WHEN $4 = 'sent' THEN now() END
          WHERE message_id = $1 AND participant_id = $2 AND channel = $3 AND state = 'pending'",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<SqlUuid, _>(participant.0)
    .bind::<Text, _>(channel)
    .bind::<Text, _>(state)
    .bind::<Nullable<Text>, _>(provider_message_id)
    .bind::<Nullable<Bytea>, _>(token_hash)
    .bind::<Nullable<Text>, _>(code)
    .execute(conn)
    .await?;
    Ok(())
}

/// A sending message with no recipient left pending becomes sent. Returns whether it did.
pub async fn finish_if_done(conn: &mut AsyncPgConnection, id: MunicipalMessageId) -> QueryResult<bool> {
    let finished = diesel::sql_query(
        "UPDATE municipal_messages SET status = 'sent', sent_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'sending'
            AND NOT EXISTS (SELECT 1 FROM municipal_message_recipients
                             WHERE message_id = $1 AND state = 'pending')",
    )
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
    .await?;
    Ok(finished == 1)
}

/// What became of a message, per channel, counted over its recipients.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct ChannelFigures {
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = BigInt)]
    pub recipients: i64,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = BigInt)]
    pub sent: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    #[diesel(sql_type = BigInt)]
    pub bounced: i64,
    #[diesel(sql_type = BigInt)]
    pub opened: i64,
}

/// Per message, per channel.
#[derive(Debug, Clone, QueryableByName)]
pub struct MessageChannelFigures {
    #[diesel(sql_type = SqlUuid)]
    pub message_id: MunicipalMessageId,
    #[diesel(embed)]
    pub figures: ChannelFigures,
}

/// Per message: participants reached on any channel, and those who unsubscribed through it.
#[derive(Debug, Clone, QueryableByName)]
pub struct MessagePeople {
    #[diesel(sql_type = SqlUuid)]
    pub message_id: MunicipalMessageId,
    #[diesel(sql_type = BigInt)]
    pub participants: i64,
    #[diesel(sql_type = BigInt)]
    pub unsubscribed: i64,
}

pub async fn figures(
    conn: &mut AsyncPgConnection,
    ids: &[MunicipalMessageId],
) -> QueryResult<(Vec<MessageChannelFigures>, Vec<MessagePeople>)> {
    let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
    let channels = diesel::sql_query(
        "SELECT message_id, channel, count(*) AS recipients,
                count(*) FILTER (WHERE state = 'pending') AS pending,
                count(*) FILTER (WHERE state = 'sent') AS sent,
                count(*) FILTER (WHERE state = 'failed') AS failed,
                count(*) FILTER (WHERE bounced_at IS NOT NULL) AS bounced,
                count(*) FILTER (WHERE opened_at IS NOT NULL) AS opened
           FROM municipal_message_recipients WHERE message_id = ANY ($1)
          GROUP BY message_id, channel ORDER BY message_id, channel",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)
    .await?;
    let people = diesel::sql_query(
        "SELECT message_id, count(DISTINCT participant_id) AS participants,
                count(DISTINCT participant_id) FILTER (WHERE unsubscribed_at IS NOT NULL) AS unsubscribed
           FROM municipal_message_recipients WHERE message_id = ANY ($1)
          GROUP BY message_id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)
    .await?;
    Ok((channels, people))
}

/// Whom an unsubscribe link is for.
#[derive(Debug, Clone, QueryableByName)]
pub struct UnsubscribeTarget {
    #[diesel(sql_type = SqlUuid)]
    pub message_id: MunicipalMessageId,
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub kind: MunicipalMessageKind,
    #[diesel(sql_type = Text)]
    pub language: Language,
    #[diesel(sql_type = Text)]
    pub municipality_name: String,
}

/// The recipient whose link carries the token with this hash.
pub async fn find_by_unsubscribe_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8; 32],
) -> QueryResult<Option<UnsubscribeTarget>> {
    diesel::sql_query(
        "SELECT r.message_id, r.participant_id, m.kind, p.language, mu.name AS municipality_name
           FROM municipal_message_recipients r
           JOIN municipal_messages m ON m.id = r.message_id
           JOIN municipalities mu ON mu.cbs_code = m.municipality_cbs
           JOIN participants p ON p.id = r.participant_id
          WHERE r.unsubscribe_token_hash = $1 AND p.erased_at IS NULL",
    )
    .bind::<Bytea, _>(token_hash.as_slice())
    .get_result(conn)
    .await
    .optional()
}

/// The participant no longer wants messages of `kind`; `message`, which carried the link (or the
/// complaint), counts it the first time.
pub async fn unsubscribe(
    conn: &mut AsyncPgConnection,
    message: MunicipalMessageId,
    participant: ParticipantId,
    kind: MunicipalMessageKind,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE participants SET municipal_messages = array_remove(municipal_messages, $2), updated_at = now()
          WHERE id = $1 AND $2 = ANY (municipal_messages)",
    )
    .bind::<SqlUuid, _>(participant.0)
    .bind::<Text, _>(kind)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "UPDATE municipal_message_recipients SET unsubscribed_at = now()
          WHERE message_id = $1 AND participant_id = $2 AND unsubscribed_at IS NULL",
    )
    .bind::<SqlUuid, _>(message.0)
    .bind::<SqlUuid, _>(participant.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whom a bounce is about.
#[derive(Debug, Clone, QueryableByName)]
pub struct BouncedRecipient {
    #[diesel(sql_type = SqlUuid)]
    pub message_id: MunicipalMessageId,
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Text)]
    pub kind: MunicipalMessageKind,
    /// When the e-mail went out.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sent_at: Option<DateTime<Utc>>,
}

/// Finds the recipient of the e-mail with our `Message-ID` (none when no municipal message of
/// ours has it) and, with `bounced`, records that it bounced (the first report counts).
pub async fn record_bounce(
    conn: &mut AsyncPgConnection,
    provider_message_id: &str,
    at: DateTime<Utc>,
    bounced: bool,
) -> QueryResult<Option<BouncedRecipient>> {
    diesel::sql_query(
        "UPDATE municipal_message_recipients r
            SET bounced_at = CASE WHEN $3 THEN coalesce(r.bounced_at, $2) ELSE r.bounced_at END
           FROM municipal_messages m
          WHERE r.provider_message_id = $1 AND r.channel = 'email' AND m.id = r.message_id
         RETURNING r.message_id, r.participant_id, m.kind, r.sent_at",
    )
    .bind::<Text, _>(provider_message_id)
    .bind::<Timestamptz, _>(at)
    .bind::<Bool, _>(bounced)
    .get_result(conn)
    .await
    .optional()
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = Bool)]
    found: bool,
}

/// Whether a municipal message's e-mail has this `Message-ID`.
pub async fn is_our_email(conn: &mut AsyncPgConnection, provider_message_id: &str) -> QueryResult<bool> {
    let row: Found = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM municipal_message_recipients
                         WHERE provider_message_id = $1 AND channel = 'email') AS found",
    )
    .bind::<Text, _>(provider_message_id)
    .get_result(conn)
    .await?;
    Ok(row.found)
}

/// The participant an alert's e-mail with this `Message-ID` went to, and when.
#[derive(Debug, Clone, QueryableByName)]
pub struct AlertEmailRecipient {
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn alert_email_recipient(
    conn: &mut AsyncPgConnection,
    provider_message_id: &str,
) -> QueryResult<Option<AlertEmailRecipient>> {
    diesel::sql_query(
        "SELECT participant_id, sent_at FROM deliveries
          WHERE provider_message_id = $1 AND channel = 'email' LIMIT 1",
    )
    .bind::<Text, _>(provider_message_id)
    .get_result(conn)
    .await
    .optional()
}

/// The participant's address bounced for good: it is unverified from now on and the participant
/// waits in the verification queue, unless they set another address after the mail went out
/// (`sent_at`). Returns whether the address was marked.
pub async fn mark_address_bounced(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    sent_at: Option<DateTime<Utc>>,
) -> QueryResult<bool> {
    let marked = diesel::sql_query(
        "UPDATE participants SET email_verified_at = NULL, email_bounced_at = coalesce(email_bounced_at, now()),
                                 updated_at = now()
          WHERE id = $1 AND email IS NOT NULL AND erased_at IS NULL
            AND (email_set_at IS NULL OR $2::timestamptz IS NULL OR email_set_at <= $2)",
    )
    .bind::<SqlUuid, _>(participant.0)
    .bind::<Nullable<Timestamptz>, _>(sent_at)
    .execute(conn)
    .await?;
    Ok(marked > 0)
}

/// A message the participant received in the app.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReceivedRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: MunicipalMessageId,
    #[diesel(sql_type = Text)]
    pub municipality_cbs: String,
    #[diesel(sql_type = Text)]
    pub municipality_name: String,
    #[diesel(sql_type = Text)]
    pub kind: MunicipalMessageKind,
    #[diesel(sql_type = Jsonb)]
    pub texts: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    pub sent_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    pub opened: bool,
}

const RECEIVED: &str = "
    SELECT m.id, m.municipality_cbs, mu.name AS municipality_name, m.kind, m.texts, r.sent_at,
           r.opened_at IS NOT NULL AS opened
      FROM municipal_message_recipients r
      JOIN municipal_messages m ON m.id = r.message_id
      JOIN municipalities mu ON mu.cbs_code = m.municipality_cbs
     WHERE r.participant_id = $1 AND r.channel = 'push' AND r.state = 'sent'";

/// The newest `limit` messages the participant received in the app.
pub async fn received(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    limit: i64,
) -> QueryResult<Vec<ReceivedRow>> {
    diesel::sql_query(format!("{RECEIVED} ORDER BY r.sent_at DESC, m.id LIMIT $2"))
        .bind::<SqlUuid, _>(participant.0)
        .bind::<BigInt, _>(limit)
        .load(conn)
        .await
}

/// One message the participant received in the app.
pub async fn received_one(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: MunicipalMessageId,
) -> QueryResult<Option<ReceivedRow>> {
    diesel::sql_query(format!("{RECEIVED} AND m.id = $2"))
        .bind::<SqlUuid, _>(participant.0)
        .bind::<SqlUuid, _>(id.0)
        .get_result(conn)
        .await
        .optional()
}

/// The participant opened the message in the app (the first time counts). Returns whether they
/// received it there.
pub async fn mark_opened(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    id: MunicipalMessageId,
) -> QueryResult<bool> {
    let found = diesel::sql_query(
        "UPDATE municipal_message_recipients SET opened_at = coalesce(opened_at, now())
          WHERE message_id = $1 AND participant_id = $2 AND channel = 'push' AND state = 'sent'",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<SqlUuid, _>(participant.0)
    .execute(conn)
    .await?;
    Ok(found > 0)
}

/// How far an area drawn for the municipality's message lies outside it.
#[derive(Debug, QueryableByName)]
pub struct MunicipalityPlacement {
    #[diesel(sql_type = Bool)]
    pub touches: bool,
    /// The surface of the area (km²) further from the municipality than the margin.
    #[diesel(sql_type = Double)]
    pub beyond_margin_km2: f64,
}

pub async fn place_in_municipality(
    conn: &mut AsyncPgConnection,
    wkb: &[u8],
    municipality_cbs: &str,
    margin_meters: f64,
) -> QueryResult<Option<MunicipalityPlacement>> {
    diesel::sql_query(
        "WITH area AS (SELECT ST_GeomFromWKB($1, 4326) AS g)
         SELECT ST_Intersects(m.boundary, area.g) AS touches,
                ST_Area(ST_Difference(area.g, ST_Buffer(m.boundary::geography, $3)::geometry)::geography) / 1e6
                    AS beyond_margin_km2
           FROM municipalities m, area WHERE m.cbs_code = $2",
    )
    .bind::<Bytea, _>(wkb)
    .bind::<Text, _>(municipality_cbs)
    .bind::<Double, _>(margin_meters)
    .get_result(conn)
    .await
    .optional()
}

/// The participant's unsubscribe links stop working and our e-mail ids are forgotten (erasure).
pub async fn forget_participant(conn: &mut AsyncPgConnection, participant: ParticipantId) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE municipal_message_recipients SET unsubscribe_token_hash = NULL, provider_message_id = NULL
          WHERE participant_id = $1",
    )
    .bind::<SqlUuid, _>(participant.0)
    .execute(conn)
    .await?;
    Ok(())
}
