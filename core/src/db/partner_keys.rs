//! The SQL of partner keys (the CAP feed's keys, kept as their SHA-256) and of the messages a key's
//! partner may read.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ids::{AlertId, AlertMessageId, PartnerKeyId};
use crate::vocabulary::Category;
use crate::vocabulary::regions::RegionCode;

/// A key as stored, without its hash.
#[derive(Debug, Clone, QueryableByName)]
pub struct PartnerKeyRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: PartnerKeyId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub key_prefix: String,
    #[diesel(sql_type = Array<Text>)]
    pub regions: Vec<RegionCode>,
    #[diesel(sql_type = Array<Text>)]
    pub categories: Vec<Category>,
    #[diesel(sql_type = Bool)]
    pub include_exercises: bool,
    #[diesel(sql_type = Text)]
    pub created_by_subject: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub revoked_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_used_at: Option<DateTime<Utc>>,
}

const KEY_COLUMNS: &str = "id, name, key_prefix, regions, categories, include_exercises, created_by_subject,
                           created_at, revoked_at, last_used_at";

pub struct NewPartnerKey<'a> {
    pub id: PartnerKeyId,
    pub name: &'a str,
    /// SHA-256 of the key.
    pub key_hash: &'a [u8],
    pub key_prefix: &'a str,
    pub regions: &'a [RegionCode],
    pub categories: &'a [Category],
    pub include_exercises: bool,
    pub created_by_subject: &'a str,
}

pub async fn insert(conn: &mut AsyncPgConnection, key: &NewPartnerKey<'_>) -> QueryResult<PartnerKeyRow> {
    diesel::sql_query(format!(
        "INSERT INTO partner_keys (id, name, key_hash, key_prefix, regions, categories, include_exercises,
                                   created_by_subject)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING {KEY_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(key.id.0)
    .bind::<Text, _>(key.name)
    .bind::<Bytea, _>(key.key_hash)
    .bind::<Text, _>(key.key_prefix)
    .bind::<Array<Text>, _>(key.regions)
    .bind::<Array<Text>, _>(key.categories)
    .bind::<Bool, _>(key.include_exercises)
    .bind::<Text, _>(key.created_by_subject)
    .get_result(conn)
    .await
}

/// Every key, revoked ones too, oldest first.
pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<PartnerKeyRow>> {
    diesel::sql_query(format!("SELECT {KEY_COLUMNS} FROM partner_keys ORDER BY created_at, id"))
        .load(conn)
        .await
}

/// Revokes the key (a revoked one keeps when it was revoked). Returns whether there is one.
pub async fn revoke(conn: &mut AsyncPgConnection, id: PartnerKeyId) -> QueryResult<bool> {
    let changed =
        diesel::sql_query("UPDATE partner_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1")
            .bind::<SqlUuid, _>(id.0)
            .execute(conn)
            .await?;
    Ok(changed == 1)
}

/// The unrevoked key with this hash, noting its use: `last_used_at` is written at most once a
/// minute, so a partner polling every few seconds does not write a row each time. The row comes
/// back as it was before.
pub async fn find_in_use(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
) -> QueryResult<Option<PartnerKeyRow>> {
    diesel::sql_query(format!(
        "WITH k AS (SELECT {KEY_COLUMNS} FROM partner_keys WHERE key_hash = $1 AND revoked_at IS NULL),
              used AS (UPDATE partner_keys p SET last_used_at = now() FROM k
                        WHERE p.id = k.id
                          AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'))
         SELECT * FROM k"
    ))
    .bind::<Bytea, _>(key_hash)
    .get_result(conn)
    .await
    .optional()
}

/// What a key lets its partner read.
#[derive(Debug, Clone, Copy)]
pub struct FeedScope<'a> {
    pub regions: &'a [RegionCode],
    pub categories: &'a [Category],
    /// Exercises and tests too; otherwise real alerts only.
    pub include_exercises: bool,
}

/// A CAP message in a partner's scope, and when it went out.
#[derive(Debug, Clone, QueryableByName)]
pub struct FeedMessageRow {
    #[diesel(sql_type = SqlUuid)]
    pub message_id: AlertMessageId,
    #[diesel(sql_type = SqlUuid)]
    pub alert_id: AlertId,
    #[diesel(sql_type = Timestamptz)]
    pub sent_at: DateTime<Utc>,
}

/// The CAP messages of sent alerts in `scope`, newest first: at most `limit`, only those sent after
/// `since`, and with `only` only that message. A message is written when it goes out (the alert's
/// first in the transaction that sends it), so `created_at` is its sent time. As
/// `alerts::cap::cap_messages` has it, the waves of those who came into the area (no drawn area)
/// are the same alert to more people, not a message of their own.
pub async fn feed_messages(
    conn: &mut AsyncPgConnection,
    scope: FeedScope<'_>,
    since: Option<DateTime<Utc>>,
    only: Option<AlertMessageId>,
    limit: i64,
) -> QueryResult<Vec<FeedMessageRow>> {
    diesel::sql_query(
        "SELECT m.id AS message_id, m.alert_id, m.created_at AS sent_at
           FROM alert_messages m
           JOIN alerts a ON a.id = m.alert_id
           JOIN regions r ON r.id = a.region_id
          WHERE a.status IN ('active', 'closed')
            AND r.code = ANY ($1) AND a.category = ANY ($2) AND ($3 OR a.purpose = 'actual')
            AND (m.kind <> 'alert'
                 OR EXISTS (SELECT 1 FROM alert_areas w
                             WHERE w.alert_id = m.alert_id AND w.wave = m.wave AND w.matched_by IS NULL))
            AND ($4::timestamptz IS NULL OR m.created_at > $4)
            AND ($5::uuid IS NULL OR m.id = $5)
          ORDER BY m.created_at DESC, m.id DESC
          LIMIT $6",
    )
    .bind::<Array<Text>, _>(scope.regions)
    .bind::<Array<Text>, _>(scope.categories)
    .bind::<Bool, _>(scope.include_exercises)
    .bind::<Nullable<Timestamptz>, _>(since)
    .bind::<Nullable<SqlUuid>, _>(only.map(|id| id.0))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}
