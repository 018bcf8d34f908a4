//! The SQL of tip media: photos and videos attached to tips, and their journey from upload to
//! evidence.

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    BigInt, Bool, Bytea, Double, Integer, Interval, Nullable, Text, Timestamp, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ids::{AlertId, MediaId, TipId};
use crate::vocabulary::media::{MediaKind, MediaState};

const COLUMNS: &str = "m.id, m.tip_id, m.alert_id, m.kind, m.content_type, m.size_bytes, m.sha256, m.state,
     m.multipart_upload_id, m.part_size_bytes, m.upload_expires_at, m.rejection_code, m.rejection_reason,
     m.has_preview, m.has_video_preview, m.width, m.height, m.duration_seconds, m.codec, m.captured_at,
     ST_Y(m.capture_location) AS capture_latitude, ST_X(m.capture_location) AS capture_longitude,
     m.created_at, m.processed_at";

#[derive(Debug, Clone, QueryableByName)]
pub struct MediaRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: MediaId,
    #[diesel(sql_type = SqlUuid)]
    pub tip_id: TipId,
    #[diesel(sql_type = SqlUuid)]
    pub alert_id: AlertId,
    #[diesel(sql_type = Text)]
    pub kind: MediaKind,
    #[diesel(sql_type = Text)]
    pub content_type: String,
    #[diesel(sql_type = BigInt)]
    pub size_bytes: i64,
    #[diesel(sql_type = Bytea)]
    pub sha256: Vec<u8>,
    #[diesel(sql_type = Text)]
    pub state: MediaState,
    #[diesel(sql_type = Nullable<Text>)]
    pub multipart_upload_id: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub part_size_bytes: Option<i64>,
    #[diesel(sql_type = Timestamptz)]
    pub upload_expires_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Text>)]
    pub rejection_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub rejection_reason: Option<String>,
    #[diesel(sql_type = Nullable<Bool>)]
    pub has_preview: Option<bool>,
    /// Whether a video has a preview a browser plays (`derived/<id>/preview.mp4`).
    #[diesel(sql_type = Bool)]
    pub has_video_preview: bool,
    #[diesel(sql_type = Nullable<Integer>)]
    pub width: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    pub height: Option<i32>,
    #[diesel(sql_type = Nullable<Double>)]
    pub duration_seconds: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub codec: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub captured_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Double>)]
    pub capture_latitude: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub capture_longitude: Option<f64>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub processed_at: Option<DateTime<Utc>>,
}

pub struct NewMedia<'a> {
    pub id: MediaId,
    pub tip: TipId,
    pub alert: AlertId,
    pub kind: MediaKind,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a [u8],
    /// The store's upload id and the part size, for an upload in parts.
    pub multipart: Option<(&'a str, i64)>,
    pub upload_ttl: std::time::Duration,
}

pub async fn insert(conn: &mut AsyncPgConnection, media: &NewMedia<'_>) -> QueryResult<MediaRow> {
    diesel::sql_query(format!(
        "WITH m AS (
            INSERT INTO tip_media (id, tip_id, alert_id, kind, content_type, size_bytes, sha256,
                                   multipart_upload_id, part_size_bytes, upload_expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + $10)
            RETURNING *)
         SELECT {COLUMNS} FROM m"
    ))
    .bind::<SqlUuid, _>(media.id)
    .bind::<SqlUuid, _>(media.tip)
    .bind::<SqlUuid, _>(media.alert)
    .bind::<Text, _>(media.kind)
    .bind::<Text, _>(media.content_type)
    .bind::<BigInt, _>(media.size_bytes)
    .bind::<Bytea, _>(media.sha256)
    .bind::<Nullable<Text>, _>(media.multipart.map(|(upload, _)| upload))
    .bind::<Nullable<BigInt>, _>(media.multipart.map(|(_, part)| part))
    .bind::<Interval, _>(super::interval(media.upload_ttl))
    .get_result(conn)
    .await
}

/// Media of the tip that count against its limit: all but the rejected and expired.
pub async fn count_live_for_tip(conn: &mut AsyncPgConnection, tip: TipId) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    diesel::sql_query(
        "SELECT count(*) AS count FROM tip_media WHERE tip_id = $1 AND state NOT IN ('rejected', 'expired')",
    )
    .bind::<SqlUuid, _>(tip)
    .get_result::<Count>(conn)
    .await
    .map(|row| row.count)
}

/// The media row, locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, id: MediaId) -> QueryResult<Option<MediaRow>> {
    diesel::sql_query(format!("SELECT {COLUMNS} FROM tip_media m WHERE m.id = $1 FOR UPDATE"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: MediaId) -> QueryResult<Option<MediaRow>> {
    diesel::sql_query(format!("SELECT {COLUMNS} FROM tip_media m WHERE m.id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// A tip's media, oldest first.
pub async fn for_tip(conn: &mut AsyncPgConnection, tip: TipId) -> QueryResult<Vec<MediaRow>> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM tip_media m WHERE m.tip_id = $1 ORDER BY m.created_at, m.id"
    ))
    .bind::<SqlUuid, _>(tip)
    .load(conn)
    .await
}

/// The media of an alert's tips, oldest first.
pub async fn for_alert(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<Vec<MediaRow>> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM tip_media m WHERE m.alert_id = $1 ORDER BY m.created_at, m.id"
    ))
    .bind::<SqlUuid, _>(alert)
    .load(conn)
    .await
}

pub async fn set_state(conn: &mut AsyncPgConnection, id: MediaId, state: MediaState) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE tip_media SET state = $2,
                uploaded_at = CASE WHEN $2 = 'uploaded' THEN now() ELSE uploaded_at END
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(state)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn reject(conn: &mut AsyncPgConnection, id: MediaId, code: &str, reason: &str) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE tip_media SET state = 'rejected', rejection_code = $2, rejection_reason = $3, processed_at = now()
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(code)
    .bind::<Text, _>(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// What processing learnt about a file.
#[derive(Debug, Clone, Default)]
pub struct MediaFacts {
    /// Derived images: a photo's thumbnail and display image, or a video's poster.
    pub has_preview: bool,
    /// A video's playable preview.
    pub has_video_preview: bool,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_seconds: Option<f64>,
    pub codec: Option<String>,
    /// The capture time as the camera's clock showed it.
    pub captured_at: Option<NaiveDateTime>,
    /// That clock's offset from UTC, when the file states it; without one, the clock is taken to
    /// show Dutch time (Europe/Amsterdam): tips are about incidents in the Netherlands.
    pub captured_at_offset: Option<FixedOffset>,
    /// Latitude and longitude from the file's own metadata.
    pub capture_position: Option<(f64, f64)>,
}

pub async fn mark_ready(conn: &mut AsyncPgConnection, id: MediaId, facts: &MediaFacts) -> QueryResult<()> {
    let (latitude, longitude) = facts.capture_position.unzip();
    diesel::sql_query(
        "UPDATE tip_media SET state = 'ready', has_preview = $2, width = $3, height = $4, duration_seconds = $5,
                codec = $6, has_video_preview = $11,
                captured_at = CASE WHEN $10::int4 IS NULL THEN $7::timestamp AT TIME ZONE 'Europe/Amsterdam'
                                   ELSE ($7::timestamp - make_interval(secs => $10)) AT TIME ZONE 'UTC' END,
                capture_location = CASE WHEN $8::float8 IS NULL THEN NULL
                                        ELSE ST_SetSRID(ST_MakePoint($9, $8), 4326) END,
                processed_at = now()
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Bool, _>(facts.has_preview)
    .bind::<Nullable<Integer>, _>(facts.width)
    .bind::<Nullable<Integer>, _>(facts.height)
    .bind::<Nullable<Double>, _>(facts.duration_seconds)
    .bind::<Nullable<Text>, _>(facts.codec.as_deref())
    .bind::<Nullable<Timestamp>, _>(facts.captured_at)
    .bind::<Nullable<Double>, _>(latitude)
    .bind::<Nullable<Double>, _>(longitude)
    .bind::<Nullable<Integer>, _>(facts.captured_at_offset.map(|offset| offset.local_minus_utc()))
    .bind::<Bool, _>(facts.has_video_preview)
    .execute(conn)
    .await?;
    Ok(())
}

/// Uploads never completed in time, locked so one worker handles each (`SKIP LOCKED`).
pub async fn lock_abandoned(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<MediaRow>> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM tip_media m
          WHERE m.state = 'pending_upload' AND m.upload_expires_at <= now()
          ORDER BY m.upload_expires_at LIMIT $1
          FOR UPDATE SKIP LOCKED"
    ))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// The media of these tips.
pub async fn for_tips(conn: &mut AsyncPgConnection, tips: &[TipId]) -> QueryResult<Vec<MediaRow>> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM tip_media m WHERE m.tip_id = ANY($1) ORDER BY m.created_at, m.id"
    ))
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(tips)
    .load(conn)
    .await
}
