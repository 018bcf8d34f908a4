//! The SQL of tips: a participant's answer to an alert, with or without their identity.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Double, Float4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ids::{AlertId, ParticipantId, TipId};
use crate::vocabulary::alerts::{AlertAnswer, AlertStatus, Assessment};

pub struct NewTip<'a> {
    pub id: TipId,
    pub alert: AlertId,
    /// `None` for an anonymous tip: nothing in the row names its sender.
    pub participant: Option<ParticipantId>,
    /// For an anonymous tip: the hash of the key its sender holds.
    pub sender_key_hash: Option<Vec<u8>>,
    pub text: &'a str,
    pub seen_at: Option<DateTime<Utc>>,
    /// Latitude, longitude and accuracy in metres.
    pub location: Option<(f64, f64, f32)>,
    pub may_call_back: bool,
    /// `seen_now` for the tip of a one-tap answer.
    pub answer: Option<AlertAnswer>,
}

pub async fn insert(conn: &mut AsyncPgConnection, tip: &NewTip<'_>) -> QueryResult<DateTime<Utc>> {
    #[derive(QueryableByName)]
    struct Created {
        #[diesel(sql_type = Timestamptz)]
        created_at: DateTime<Utc>,
    }
    let (latitude, longitude, accuracy) =
        tip.location.map_or((None, None, None), |(lat, lon, acc)| (Some(lat), Some(lon), Some(acc)));
    diesel::sql_query(
        "INSERT INTO tips (id, alert_id, participant_id, text, seen_at, location, accuracy_meters, may_call_back,
                           sender_key_hash, answer)
         VALUES ($1, $2, $3, $4, $5,
                 CASE WHEN $6::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($7, $6), 4326) END,
                 $8, $9, $10, $11)
         RETURNING created_at",
    )
    .bind::<SqlUuid, _>(tip.id.0)
    .bind::<SqlUuid, _>(tip.alert.0)
    .bind::<Nullable<SqlUuid>, _>(tip.participant)
    .bind::<Text, _>(tip.text)
    .bind::<Nullable<Timestamptz>, _>(tip.seen_at)
    .bind::<Nullable<Double>, _>(latitude)
    .bind::<Nullable<Double>, _>(longitude)
    .bind::<Nullable<Float4>, _>(accuracy)
    .bind::<Bool, _>(tip.may_call_back)
    .bind::<Nullable<Bytea>, _>(tip.sender_key_hash.as_deref())
    .bind::<Nullable<Text>, _>(tip.answer)
    .get_result::<Created>(conn)
    .await
    .map(|row| row.created_at)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct TipRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: TipId,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub participant_id: Option<ParticipantId>,
    #[diesel(sql_type = Text)]
    pub text: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub seen_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Double>)]
    pub latitude: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub longitude: Option<f64>,
    #[diesel(sql_type = Nullable<Float4>)]
    pub accuracy_meters: Option<f32>,
    #[diesel(sql_type = Bool)]
    pub may_call_back: bool,
    /// The sender's phone number, only when they may be called back.
    #[diesel(sql_type = Nullable<Text>)]
    pub call_back_phone: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub assessment: Option<Assessment>,
    #[diesel(sql_type = Nullable<Text>)]
    pub assessment_note: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub forwarded_to: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub assessed_by_subject: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub assessed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub legal_hold_reason: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub legal_hold_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub legal_hold_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Text>)]
    pub answer: Option<AlertAnswer>,
}

const TIP_COLUMNS: &str = "t.id, t.participant_id, t.text, t.seen_at, ST_Y(t.location) AS latitude,
     ST_X(t.location) AS longitude, t.accuracy_meters, t.may_call_back,
     CASE WHEN t.may_call_back THEN p.phone_number END AS call_back_phone, t.created_at,
     t.assessment, t.assessment_note, t.forwarded_to, t.assessed_by_subject, t.assessed_at,
     t.legal_hold_reason, t.legal_hold_by, t.legal_hold_at, t.answer";

/// One tip of the alert.
pub async fn find(conn: &mut AsyncPgConnection, alert: AlertId, tip: TipId) -> QueryResult<Option<TipRow>> {
    diesel::sql_query(format!(
        "SELECT {TIP_COLUMNS} FROM tips t LEFT JOIN participants p ON p.id = t.participant_id
          WHERE t.alert_id = $1 AND t.id = $2"
    ))
    .bind::<SqlUuid, _>(alert.0)
    .bind::<SqlUuid, _>(tip.0)
    .get_result(conn)
    .await
    .optional()
}

/// An alert's tips: first the `seen_now` answers not assessed yet, then the rest, each newest
/// first.
pub async fn list(conn: &mut AsyncPgConnection, alert: AlertId, limit: i64) -> QueryResult<Vec<TipRow>> {
    diesel::sql_query(format!(
        "SELECT {TIP_COLUMNS} FROM tips t LEFT JOIN participants p ON p.id = t.participant_id
          WHERE t.alert_id = $1
          ORDER BY (t.answer IS NOT NULL AND t.assessment IS NULL) DESC, t.created_at DESC, t.id
          LIMIT $2"
    ))
    .bind::<SqlUuid, _>(alert.0)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}

/// Who may attach media to a tip, and whether its alert still runs.
#[derive(Debug, Clone, QueryableByName)]
pub struct TipOwnership {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub participant_id: Option<ParticipantId>,
    #[diesel(sql_type = Nullable<Bytea>)]
    pub sender_key_hash: Option<Vec<u8>>,
    #[diesel(sql_type = Text)]
    pub alert_status: AlertStatus,
}

/// The tip of that alert, locked until the transaction ends (so its media count cannot race).
pub async fn lock_ownership(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    tip: TipId,
) -> QueryResult<Option<TipOwnership>> {
    diesel::sql_query(
        "SELECT t.participant_id, t.sender_key_hash, a.status AS alert_status
           FROM tips t JOIN alerts a ON a.id = t.alert_id
          WHERE t.id = $1 AND t.alert_id = $2
            FOR NO KEY UPDATE OF t",
    )
    .bind::<SqlUuid, _>(tip.0)
    .bind::<SqlUuid, _>(alert.0)
    .get_result(conn)
    .await
    .optional()
}

/// Tips (with their alert) whose alert closed more than `retention` ago and that are on no legal
/// hold, neither their own nor their alert's; locked, skipping those another worker holds.
pub async fn lock_past_retention(
    conn: &mut AsyncPgConnection,
    retention: std::time::Duration,
    limit: i64,
) -> QueryResult<Vec<(Uuid, Uuid)>> {
    #[derive(QueryableByName)]
    struct Due {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        alert_id: Uuid,
    }
    let rows: Vec<Due> = diesel::sql_query(
        "SELECT t.id, t.alert_id FROM tips t JOIN alerts a ON a.id = t.alert_id
          WHERE a.closed_at <= now() - $1 AND a.legal_hold_at IS NULL AND t.legal_hold_at IS NULL
          ORDER BY a.closed_at LIMIT $2
            FOR UPDATE OF t SKIP LOCKED",
    )
    .bind::<diesel::sql_types::Interval, _>(super::interval(retention))
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| (row.id, row.alert_id)).collect())
}

/// Deletes tips; their media rows and their text keys (`tip_text_keys`) go with them.
pub async fn delete(conn: &mut AsyncPgConnection, tips: &[Uuid]) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM tips WHERE id = ANY($1)")
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(tips)
        .execute(conn)
        .await
}

/// Records the control room's assessment; false when the alert has no such tip.
pub async fn assess(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    tip: TipId,
    assessment: Assessment,
    forwarded_to: Option<&str>,
    note: Option<&str>,
    by: &str,
) -> QueryResult<bool> {
    diesel::sql_query(
        "UPDATE tips SET assessment = $3, forwarded_to = $4, assessment_note = $5, assessed_by_subject = $6,
                assessed_at = now()
          WHERE alert_id = $1 AND id = $2",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<SqlUuid, _>(tip.0)
    .bind::<Text, _>(assessment)
    .bind::<Nullable<Text>, _>(forwarded_to)
    .bind::<Nullable<Text>, _>(note)
    .bind::<Text, _>(by)
    .execute(conn)
    .await
    .map(|updated| updated == 1)
}

/// Places (`Some(reason)`) or lifts (`None`) a legal hold on one tip, or on the whole alert when
/// `tip` is `None`; false when there is no such tip or alert.
pub async fn set_legal_hold(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    tip: Option<TipId>,
    hold: Option<(&str, &str)>,
) -> QueryResult<bool> {
    let (reason, by) = hold.unzip();
    let query = match tip {
        Some(_) => {
            "UPDATE tips SET legal_hold_reason = $3, legal_hold_by = $4,
                           legal_hold_at = CASE WHEN $3::text IS NULL THEN NULL ELSE now() END
                     WHERE alert_id = $1 AND id = $2"
        }
        None => {
            "UPDATE alerts SET legal_hold_reason = $3, legal_hold_by = $4,
                        legal_hold_at = CASE WHEN $3::text IS NULL THEN NULL ELSE now() END
                  WHERE id = $1 AND $2::uuid IS NULL"
        }
    };
    diesel::sql_query(query)
        .bind::<SqlUuid, _>(alert.0)
        .bind::<Nullable<SqlUuid>, _>(tip.map(|tip| tip.0))
        .bind::<Nullable<Text>, _>(reason)
        .bind::<Nullable<Text>, _>(by)
        .execute(conn)
        .await
        .map(|updated| updated == 1)
}

/// The alert's legal hold: reason, by whom, since when.
pub async fn alert_legal_hold(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
) -> QueryResult<Option<(String, Option<String>, DateTime<Utc>)>> {
    #[derive(QueryableByName)]
    struct Hold {
        #[diesel(sql_type = Nullable<Text>)]
        legal_hold_reason: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        legal_hold_by: Option<String>,
        #[diesel(sql_type = Nullable<Timestamptz>)]
        legal_hold_at: Option<DateTime<Utc>>,
    }
    let hold: Option<Hold> =
        diesel::sql_query("SELECT legal_hold_reason, legal_hold_by, legal_hold_at FROM alerts WHERE id = $1")
            .bind::<SqlUuid, _>(alert.0)
            .get_result(conn)
            .await
            .optional()?;
    Ok(hold.and_then(|hold| Some((hold.legal_hold_reason?, hold.legal_hold_by, hold.legal_hold_at?))))
}

/// Erasing a participant: their tips stay as evidence, without their identity. Their words stay
/// too, readable in the tip and the dossier (the tip's text key is kept) until the tip's own
/// retention: a tip is a statement to the police about the alert's incident, not data about its
/// sender, and an investigation may rely on it.
pub async fn detach_participant(conn: &mut AsyncPgConnection, participant: Uuid) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE tips SET participant_id = NULL, may_call_back = false WHERE participant_id = $1",
    )
    .bind::<SqlUuid, _>(participant)
    .execute(conn)
    .await
}

/// The key that seals the tip's personal text in its alert's dossier: `new_key` is stored with the
/// first text sealed, and the stored key is returned ever after. Deleting the tip deletes it.
pub async fn text_key(conn: &mut AsyncPgConnection, tip: TipId, new_key: &[u8]) -> QueryResult<Vec<u8>> {
    use super::schema::tip_text_keys;
    diesel::insert_into(tip_text_keys::table)
        .values((tip_text_keys::tip_id.eq(tip.0), tip_text_keys::key.eq(new_key)))
        .on_conflict(tip_text_keys::tip_id)
        .do_update()
        .set(tip_text_keys::key.eq(tip_text_keys::key))
        .returning(tip_text_keys::key)
        .get_result(conn)
        .await
}

/// The keys of those tips that still have one (retention deletes a tip with its key).
pub async fn text_keys(conn: &mut AsyncPgConnection, tips: &[Uuid]) -> QueryResult<Vec<(Uuid, Vec<u8>)>> {
    use super::schema::tip_text_keys;
    tip_text_keys::table
        .filter(tip_text_keys::tip_id.eq_any(tips))
        .select((tip_text_keys::tip_id, tip_text_keys::key))
        .load(conn)
        .await
}
