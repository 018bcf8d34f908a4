//! The SQL of signing in: one-time code challenges, rate-limit counters, sessions and their
//! refresh tokens. Times come from the database's `now()`, one clock for every API process.

use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{participant_sessions, refresh_tokens, sign_in_challenges};
use crate::auth::participant::SecretTokenHash;
use crate::ids::{ParticipantId, SessionId};

#[derive(QueryableByName)]
pub struct RateLimitWindow {
    #[diesel(sql_type = Integer)]
    pub hits: i32,
    #[diesel(sql_type = Timestamptz)]
    pub window_started_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub database_now: DateTime<Utc>,
}

/// Counts one request against `key` in the current hour of the clock and returns the count so far.
pub async fn count_request(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<RateLimitWindow> {
    diesel::sql_query(
        "INSERT INTO rate_limit_counters AS counter (key, window_started_at, hits)
         VALUES ($1, date_trunc('hour', now()), 1)
         ON CONFLICT (key) DO UPDATE SET
             window_started_at = date_trunc('hour', now()),
             hits = CASE WHEN counter.window_started_at < date_trunc('hour', now()) THEN 1 ELSE counter.hits + 1 END
         RETURNING hits, window_started_at, now() AS database_now",
    )
    .bind::<Text, _>(key)
    .get_result(conn)
    .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sign_in_challenges)]
pub struct StoredChallenge {
    pub code_hash: Vec<u8>,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub failed_attempts: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The challenge for a number, locked until the transaction ends, with the database's time.
pub async fn lock_challenge(
    conn: &mut AsyncPgConnection,
    phone_number: &str,
) -> QueryResult<(Option<StoredChallenge>, DateTime<Utc>)> {
    let challenge = sign_in_challenges::table
        .find(phone_number)
        .select(StoredChallenge::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let database_now = diesel::select(dsl::now.into_sql::<Timestamptz>()).get_result(conn).await?;
    Ok((challenge, database_now))
}

/// Replaces any earlier code for the number: the attempt count starts again.
pub async fn store_challenge(
    conn: &mut AsyncPgConnection,
    phone_number: &str,
    code_hash: &[u8; 32],
    sent_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(sign_in_challenges::table)
        .values((
            sign_in_challenges::phone_number.eq(phone_number),
            sign_in_challenges::code_hash.eq(code_hash.as_slice()),
            sign_in_challenges::sent_at.eq(sent_at),
            sign_in_challenges::expires_at.eq(expires_at),
        ))
        .on_conflict(sign_in_challenges::phone_number)
        .do_update()
        .set((
            sign_in_challenges::code_hash.eq(code_hash.as_slice()),
            sign_in_challenges::sent_at.eq(sent_at),
            sign_in_challenges::expires_at.eq(expires_at),
            sign_in_challenges::failed_attempts.eq(0),
            sign_in_challenges::locked_until.eq(None::<DateTime<Utc>>),
            sign_in_challenges::provider_message_id.eq(None::<String>),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_challenge_message_id(
    conn: &mut AsyncPgConnection,
    phone_number: &str,
    code_hash: &[u8; 32],
    provider_message_id: &str,
) -> QueryResult<()> {
    diesel::update(
        sign_in_challenges::table
            .find(phone_number)
            .filter(sign_in_challenges::code_hash.eq(code_hash.as_slice())),
    )
    .set(sign_in_challenges::provider_message_id.eq(provider_message_id))
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes the challenge, but only if it still holds this code (a newer one stays).
pub async fn delete_challenge(
    conn: &mut AsyncPgConnection,
    phone_number: &str,
    code_hash: &[u8],
) -> QueryResult<()> {
    diesel::delete(
        sign_in_challenges::table.find(phone_number).filter(sign_in_challenges::code_hash.eq(code_hash)),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a wrong code. With `lock_until` the attempts are used up: the code dies with the lock.
pub async fn record_failed_attempt(
    conn: &mut AsyncPgConnection,
    phone_number: &str,
    lock_until: Option<DateTime<Utc>>,
) -> QueryResult<()> {
    let challenge = sign_in_challenges::table.find(phone_number);
    match lock_until {
        None => {
            diesel::update(challenge)
                .set(sign_in_challenges::failed_attempts.eq(sign_in_challenges::failed_attempts + 1))
                .execute(conn)
                .await?
        }
        Some(until) => {
            diesel::update(challenge)
                .set((
                    sign_in_challenges::failed_attempts.eq(sign_in_challenges::failed_attempts + 1),
                    sign_in_challenges::locked_until.eq(until),
                    sign_in_challenges::expires_at.eq(dsl::now),
                ))
                .execute(conn)
                .await?
        }
    };
    Ok(())
}

pub async fn create_session(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> QueryResult<SessionId> {
    let session = SessionId::new();
    diesel::insert_into(participant_sessions::table)
        .values((
            participant_sessions::id.eq(session.0),
            participant_sessions::participant_id.eq(participant.0),
        ))
        .execute(conn)
        .await?;
    Ok(session)
}

pub async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    hash: &SecretTokenHash,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash.0.as_slice()),
            refresh_tokens::session_id.eq(session.0),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What using a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshTokenUse {
    /// Unknown token (or its session is gone).
    Unknown,
    /// Marked used now; the caller issues the next token of the session.
    Fresh {
        session: SessionId,
        participant: ParticipantId,
    },
    Expired,
    /// Used before: someone else holds a copy.
    Reused {
        session: SessionId,
    },
    /// The session was revoked (signed out, reuse, erasure).
    Revoked,
}

/// Marks the token used, atomically: of two concurrent uses, only one finds it fresh.
pub async fn use_refresh_token(
    conn: &mut AsyncPgConnection,
    hash: &SecretTokenHash,
) -> QueryResult<RefreshTokenUse> {
    let found: Option<(uuid::Uuid, uuid::Uuid, bool, bool, bool)> = refresh_tokens::table
        .inner_join(participant_sessions::table)
        .filter(refresh_tokens::token_hash.eq(hash.0.as_slice()))
        .select((
            participant_sessions::id,
            participant_sessions::participant_id,
            refresh_tokens::used_at.is_not_null(),
            participant_sessions::revoked_at.is_not_null(),
            refresh_tokens::expires_at.le(dsl::now),
        ))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((session, participant, used, revoked, expired)) = found else {
        return Ok(RefreshTokenUse::Unknown);
    };
    let session = SessionId(session);
    if revoked {
        return Ok(RefreshTokenUse::Revoked);
    }
    if used {
        return Ok(RefreshTokenUse::Reused { session });
    }
    if expired {
        return Ok(RefreshTokenUse::Expired);
    }
    diesel::update(refresh_tokens::table.find(hash.0.as_slice()))
        .set(refresh_tokens::used_at.eq(dsl::now))
        .execute(conn)
        .await?;
    diesel::update(participant_sessions::table.find(session.0))
        .set(participant_sessions::last_refreshed_at.eq(dsl::now))
        .execute(conn)
        .await?;
    Ok(RefreshTokenUse::Fresh { session, participant: ParticipantId(participant) })
}

/// Ends a session; its access and refresh tokens stop working.
pub async fn revoke_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    reason: &str,
) -> QueryResult<()> {
    diesel::update(
        participant_sessions::table.find(session.0).filter(participant_sessions::revoked_at.is_null()),
    )
    .set((participant_sessions::revoked_at.eq(dsl::now), participant_sessions::revoked_reason.eq(reason)))
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether an access token's session still stands.
pub async fn session_is_active(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    participant: ParticipantId,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        participant_sessions::table
            .find(session.0)
            .filter(participant_sessions::participant_id.eq(participant.0))
            .filter(participant_sessions::revoked_at.is_null()),
    ))
    .get_result(conn)
    .await
}
