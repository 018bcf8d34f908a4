//! The SQL of provider quotas: one token bucket per provider, shared by every worker process.
//! The arithmetic is the caller's (`alerts::delivery::throttle`); this module only reads the
//! bucket under a row lock, with the database's clock, and stores what is left.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Double, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// A provider's bucket as stored, and the database's time when it was read.
#[derive(Debug, Clone, Copy, PartialEq, QueryableByName)]
pub struct StoredBucket {
    #[diesel(sql_type = Double)]
    pub tokens: f64,
    #[diesel(sql_type = Timestamptz)]
    pub refilled_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub now: DateTime<Utc>,
}

/// Reads the provider's bucket and locks it until the transaction ends; a provider met for the
/// first time starts with `initial_tokens`. Call inside a transaction.
pub async fn lock_bucket(
    conn: &mut AsyncPgConnection,
    provider: &str,
    initial_tokens: f64,
) -> QueryResult<StoredBucket> {
    diesel::sql_query(
        "INSERT INTO provider_rate_buckets (provider, tokens, refilled_at) VALUES ($1, $2, clock_timestamp())
         ON CONFLICT (provider) DO NOTHING",
    )
    .bind::<Text, _>(provider)
    .bind::<Double, _>(initial_tokens)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "SELECT tokens, refilled_at, clock_timestamp() AS now FROM provider_rate_buckets
          WHERE provider = $1 FOR UPDATE",
    )
    .bind::<Text, _>(provider)
    .get_result(conn)
    .await
}

/// Stores what is left in the provider's bucket.
pub async fn store_bucket(
    conn: &mut AsyncPgConnection,
    provider: &str,
    tokens: f64,
    refilled_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::sql_query("UPDATE provider_rate_buckets SET tokens = $2, refilled_at = $3 WHERE provider = $1")
        .bind::<Text, _>(provider)
        .bind::<Double, _>(tokens)
        .bind::<Timestamptz, _>(refilled_at)
        .execute(conn)
        .await
        .map(drop)
}
