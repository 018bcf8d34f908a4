//! The SQL of signing in: one-time code challenges, rate-limit counters, sessions and their
//! refresh tokens. Times come from the database's `now()`, one clock for every API process.

use chrono::{DateTime, Utc};
use std::time::Duration;

use diesel::dsl;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Bytea, Integer, Interval, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{participant_sessions, refresh_tokens, sign_in_challenges};
use crate::ids::{ParticipantId, SessionId};
use crate::secret::SecretTokenHash;
use crate::vocabulary::SessionEnd;
use crate::vocabulary::phone::PhoneNumber;

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
    phone_number: &PhoneNumber,
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
    phone_number: &PhoneNumber,
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
    phone_number: &PhoneNumber,
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
    phone_number: &PhoneNumber,
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
    phone_number: &PhoneNumber,
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
        .values((participant_sessions::id.eq(session), participant_sessions::participant_id.eq(participant)))
        .execute(conn)
        .await?;
    Ok(session)
}

/// Stores a new refresh token of `session`; `rotated_from` is the token it was issued in exchange
/// for (none for the first token of a session).
pub async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    hash: &SecretTokenHash,
    expires_at: DateTime<Utc>,
    rotated_from: Option<&SecretTokenHash>,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(hash.0.as_slice()),
            refresh_tokens::session_id.eq(session),
            refresh_tokens::expires_at.eq(expires_at),
            refresh_tokens::rotated_from.eq(rotated_from.map(|previous| previous.0.to_vec())),
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
    /// Exchanged now: the caller stores the next token of the session, rotated from this one, in
    /// the same transaction.
    Exchanged {
        session: SessionId,
        participant: ParticipantId,
    },
    Expired,
    /// Used before (beyond the retry grace), or replaced: someone else holds a copy.
    Reused {
        session: SessionId,
    },
    /// The session has ended (signed out, reuse, erasure, removal).
    Revoked {
        reason: Option<SessionEnd>,
    },
}

#[derive(QueryableByName)]
struct FoundRefreshToken {
    #[diesel(sql_type = SqlUuid)]
    session_id: SessionId,
    #[diesel(sql_type = SqlUuid)]
    participant_id: ParticipantId,
    #[diesel(sql_type = Bool)]
    revoked: bool,
    #[diesel(sql_type = Nullable<Text>)]
    revoked_reason: Option<SessionEnd>,
    #[diesel(sql_type = Bool)]
    expired: bool,
    #[diesel(sql_type = Bool)]
    used: bool,
    #[diesel(sql_type = Bool)]
    used_within_grace: bool,
    #[diesel(sql_type = Bool)]
    replaced: bool,
}

/// Exchanges a refresh token, atomically: concurrent uses of one token queue on its row, so of
/// two, only one finds it fresh.
///
/// A token used less than `retry_grace` ago is exchanged once more, for a retry whose first answer
/// was lost, as long as nothing it was exchanged for has been used: those tokens are marked
/// replaced, so that if one turns up after all (a copy), it counts as reuse. A token used longer
/// ago, or after the session moved on, or a replaced one, is reuse.
pub async fn use_refresh_token(
    conn: &mut AsyncPgConnection,
    hash: &SecretTokenHash,
    retry_grace: Duration,
) -> QueryResult<RefreshTokenUse> {
    let found: Option<FoundRefreshToken> = diesel::sql_query(
        "SELECT s.id AS session_id, s.participant_id, s.revoked_at IS NOT NULL AS revoked,
                s.revoked_reason, t.expires_at <= now() AS expired, t.used_at IS NOT NULL AS used,
                coalesce(t.used_at > now() - $2, false) AS used_within_grace,
                t.replaced_at IS NOT NULL AS replaced
           FROM refresh_tokens t JOIN participant_sessions s ON s.id = t.session_id
          WHERE t.token_hash = $1
            FOR UPDATE",
    )
    .bind::<Bytea, _>(hash.0.as_slice())
    .bind::<Interval, _>(super::interval(retry_grace))
    .get_result(conn)
    .await
    .optional()?;
    let Some(found) = found else {
        return Ok(RefreshTokenUse::Unknown);
    };
    let session = found.session_id;
    if found.revoked {
        return Ok(RefreshTokenUse::Revoked { reason: found.revoked_reason });
    }
    if found.replaced || (found.used && !found.used_within_grace) {
        return Ok(RefreshTokenUse::Reused { session });
    }
    if found.expired {
        return Ok(RefreshTokenUse::Expired);
    }
    if found.used {
        // A retry. Replace first, then look: a use of the next token that commits meanwhile is
        // either waited for by the update (and then seen below) or finds its token replaced.
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::rotated_from.eq(hash.0.as_slice()))
                .filter(refresh_tokens::used_at.is_null())
                .filter(refresh_tokens::replaced_at.is_null()),
        )
        .set(refresh_tokens::replaced_at.eq(dsl::now))
        .execute(conn)
        .await?;
        let moved_on: bool = diesel::select(dsl::exists(
            refresh_tokens::table
                .filter(refresh_tokens::rotated_from.eq(hash.0.as_slice()))
                .filter(refresh_tokens::used_at.is_not_null()),
        ))
        .get_result(conn)
        .await?;
        if moved_on {
            return Ok(RefreshTokenUse::Reused { session });
        }
    } else {
        diesel::update(refresh_tokens::table.find(hash.0.as_slice()))
            .set(refresh_tokens::used_at.eq(dsl::now))
            .execute(conn)
            .await?;
    }
    diesel::update(participant_sessions::table.find(session))
        .set(participant_sessions::last_refreshed_at.eq(dsl::now))
        .execute(conn)
        .await?;
    Ok(RefreshTokenUse::Exchanged { session, participant: found.participant_id })
}

/// Ends a session; its access and refresh tokens stop working.
pub async fn revoke_session(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    reason: SessionEnd,
) -> QueryResult<()> {
    end_sessions(conn, participant_sessions::id.eq(session), reason).await
}

/// Ends every session of the participant that has not ended yet.
pub async fn revoke_participant_sessions(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    reason: SessionEnd,
) -> QueryResult<()> {
    end_sessions(conn, participant_sessions::participant_id.eq(participant), reason).await
}

async fn end_sessions(
    conn: &mut AsyncPgConnection,
    which: impl BoxableExpression<participant_sessions::table, Pg, SqlType = Bool> + 'static,
    reason: SessionEnd,
) -> QueryResult<()> {
    diesel::update(participant_sessions::table)
        .filter(which)
        .filter(participant_sessions::revoked_at.is_null())
        .set((participant_sessions::revoked_at.eq(dsl::now), participant_sessions::revoked_reason.eq(reason)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Where an access token's session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStanding {
    Active,
    /// Ended, with the recorded reason; none when the session is gone altogether (erasure).
    Ended(Option<SessionEnd>),
}

/// Whether an access token's session still stands: it exists, is the participant's and has not
/// been revoked.
pub async fn session_standing(
    conn: &mut AsyncPgConnection,
    session: SessionId,
    participant: ParticipantId,
) -> QueryResult<SessionStanding> {
    let found: Option<(bool, Option<SessionEnd>)> = participant_sessions::table
        .find(session)
        .filter(participant_sessions::participant_id.eq(participant))
        .select((participant_sessions::revoked_at.is_not_null(), participant_sessions::revoked_reason))
        .first(conn)
        .await
        .optional()?;
    Ok(match found {
        Some((false, _)) => SessionStanding::Active,
        Some((true, reason)) => SessionStanding::Ended(reason),
        None => SessionStanding::Ended(None),
    })
}
