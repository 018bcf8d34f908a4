//! The SQL of idempotent requests: the first answer under a hash of the client's key.

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Jsonb};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

pub enum Claim {
    /// Nobody answered this key yet; the row is locked until the transaction ends.
    New,
    Answered {
        request_hash: Vec<u8>,
        response: serde_json::Value,
    },
}

/// Claims the key, or returns the answer already stored under it. A concurrent claim of the same
/// key waits here until the first transaction ends.
pub async fn claim(conn: &mut AsyncPgConnection, key_hash: &[u8], request_hash: &[u8]) -> QueryResult<Claim> {
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = Bytea)]
        request_hash: Vec<u8>,
        #[diesel(sql_type = Jsonb)]
        response: serde_json::Value,
    }
    let inserted = diesel::sql_query(
        "INSERT INTO idempotent_requests (key_hash, request_hash, status, response)
         VALUES ($1, $2, 0, 'null') ON CONFLICT (key_hash) DO NOTHING",
    )
    .bind::<Bytea, _>(key_hash)
    .bind::<Bytea, _>(request_hash)
    .execute(conn)
    .await?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let stored: Stored =
        diesel::sql_query("SELECT request_hash, response FROM idempotent_requests WHERE key_hash = $1")
            .bind::<Bytea, _>(key_hash)
            .get_result(conn)
            .await?;
    Ok(Claim::Answered { request_hash: stored.request_hash, response: stored.response })
}

pub async fn answer(
    conn: &mut AsyncPgConnection,
    key_hash: &[u8],
    response: &serde_json::Value,
) -> QueryResult<()> {
    diesel::sql_query("UPDATE idempotent_requests SET status = 1, response = $2 WHERE key_hash = $1")
        .bind::<Bytea, _>(key_hash)
        .bind::<Jsonb, _>(response)
        .execute(conn)
        .await?;
    Ok(())
}
