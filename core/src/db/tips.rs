//! The SQL of tips: a participant's answer to an alert, with or without their identity.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Double, Float4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::ids::{AlertId, TipId};

pub struct NewTip<'a> {
    pub id: TipId,
    pub alert: AlertId,
    /// `None` for an anonymous tip: nothing in the row names its sender.
    pub participant: Option<Uuid>,
    pub text: &'a str,
    pub seen_at: Option<DateTime<Utc>>,
    /// Latitude, longitude and accuracy in metres.
    pub location: Option<(f64, f64, f32)>,
    pub may_call_back: bool,
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
        "INSERT INTO tips (id, alert_id, participant_id, text, seen_at, location, accuracy_meters, may_call_back)
         VALUES ($1, $2, $3, $4, $5,
                 CASE WHEN $6::float8 IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint($7, $6), 4326) END,
                 $8, $9)
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
    .get_result::<Created>(conn)
    .await
    .map(|row| row.created_at)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct TipRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub participant_id: Option<Uuid>,
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
}

/// An alert's tips, newest first.
pub async fn list(conn: &mut AsyncPgConnection, alert: AlertId, limit: i64) -> QueryResult<Vec<TipRow>> {
    diesel::sql_query(
        "SELECT t.id, t.participant_id, t.text, t.seen_at, ST_Y(t.location) AS latitude,
                ST_X(t.location) AS longitude, t.accuracy_meters, t.may_call_back,
                CASE WHEN t.may_call_back THEN p.phone_number END AS call_back_phone, t.created_at
           FROM tips t LEFT JOIN participants p ON p.id = t.participant_id
          WHERE t.alert_id = $1
          ORDER BY t.created_at DESC, t.id
          LIMIT $2",
    )
    .bind::<SqlUuid, _>(alert.0)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await
}
