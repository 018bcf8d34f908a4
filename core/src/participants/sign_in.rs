//! Signing in by phone: a six-digit code by SMS, then a session of rotating refresh tokens.
//!
//! Rules: a code lives `code_ttl` (10 minutes) and allows `max_attempts` (5) wrong tries, after
//! which the number is locked for `lockout`; a new code is sent at most every
//! `resend_interval`; code requests are counted per phone number and per client address, and
//! verifications per client address. A refresh token works once: using it again means a copy
//! exists somewhere, so the whole session is revoked. The one exception is a retry within
//! [`REFRESH_RETRY_GRACE`] of the first use, before the session moved on (see [`SignIn::refresh`]).
//!
//! A participant the municipality removed cannot sign in again. Asking for a code for their
//! number is answered as for any number (the endpoint must not tell strangers who was removed),
//! but the SMS says why instead of carrying a code; a code sent before the removal signs no one
//! in (`ParticipantRemoved`, told only to whoever proved they hold the phone).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::Rng;

use super::rate_limits::{self, CounterKey, until};
use crate::auth::participant::{IssuedToken, NewSecretToken, ParticipantTokens};
use crate::db::sign_in::RefreshTokenUse;
use crate::db::{participants as participant_queries, sign_in as queries};
use crate::ids::{ParticipantId, SessionId};
use crate::providers::sms::{SmsError, SmsMessage, SmsSender};
use crate::secret::Secret;
use crate::secret::SecretTokenHash;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::{Language, ParticipantStatus, SessionEnd};

/// How long after a refresh token was used a retry with it is still answered (see
/// [`SignIn::refresh`]): long enough for an app to retry a refresh whose answer was lost on a bad
/// connection, short enough that a copy replayed later is still caught as reuse.
pub const REFRESH_RETRY_GRACE: Duration = Duration::from_secs(10);

/// Limits of the sign-in flow; see the module doc. Configured by `BURGERNET_SIGN_IN_*`.
#[derive(Debug, Clone)]
pub struct SignInPolicy {
    pub code_ttl: Duration,
    pub max_attempts: i32,
    pub lockout: Duration,
    pub resend_interval: Duration,
    pub codes_per_phone_per_hour: i32,
    pub requests_per_client_per_hour: i32,
    /// Sign-in codes sent per hour to all numbers together: what SMS pumping (fraud that makes
    /// us send codes to premium numbers) may cost at most.
    pub codes_per_hour: i32,
    /// Sign-in codes sent per hour to the numbers of one country other than the Netherlands.
    pub codes_per_foreign_country_per_hour: i32,
    pub refresh_token_ttl: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            code_ttl: Duration::from_secs(10 * 60),
            max_attempts: 5,
            lockout: Duration::from_secs(15 * 60),
            resend_interval: Duration::from_secs(60),
            codes_per_phone_per_hour: 5,
            requests_per_client_per_hour: 30,
            codes_per_hour: 20_000,
            codes_per_foreign_country_per_hour: 100,
            refresh_token_ttl: Duration::from_secs(90 * 24 * 3600),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("Too many sign-in requests; try again later.")]
    RateLimited { retry_after: Duration },
    #[error(
        "Sign-in codes cannot be sent to numbers of this country (or at all) for a while; try again later."
    )]
    BudgetExhausted { retry_after: Duration },
    #[error("A code was sent a moment ago; wait before asking for another.")]
    ResendTooSoon { retry_after: Duration },
    #[error("Too many wrong codes; signing in with this number is locked for a while.")]
    Locked { retry_after: Duration },
    #[error("The code could not be sent by SMS.")]
    SmsNotSent(#[source] SmsError),
    #[error("No code is outstanding for this number; ask for a new one.")]
    NoActiveCode,
    #[error("The code has expired; ask for a new one.")]
    CodeExpired,
    #[error("The code is not correct; {attempts_left} attempts left.")]
    CodeIncorrect { attempts_left: i32 },
    #[error("The refresh token is not valid.")]
    InvalidRefreshToken,
    #[error("The refresh token has expired; sign in again.")]
    RefreshTokenExpired,
    #[error("The refresh token was already used, so the session has been ended; sign in again.")]
    RefreshTokenReused,
    #[error("The session has ended; sign in again.")]
    SessionRevoked,
    #[error(
        "Your municipality has signed you off Burgernet, which ended this session. Questions? Contact your municipality."
    )]
    SessionEndedByRemoval,
    #[error(
        "Your municipality has signed you off Burgernet, so this number cannot sign in. Questions? Contact your municipality."
    )]
    ParticipantRemoved,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// A code on its way.
#[derive(Debug, Clone, Copy)]
pub struct CodeSent {
    pub expires_at: DateTime<Utc>,
    pub resend_after: DateTime<Utc>,
}

/// What the app keeps after signing in or refreshing.
#[derive(Debug)]
pub struct SessionTokens {
    pub participant_id: ParticipantId,
    pub session_id: SessionId,
    pub access_token: IssuedToken,
    pub refresh_token: Secret<String>,
    pub refresh_token_expires_at: DateTime<Utc>,
    /// True when this sign-in created the participant.
    pub new_participant: bool,
}

pub struct SignIn<'a> {
    pub policy: &'a SignInPolicy,
    pub tokens: &'a ParticipantTokens,
    pub sms: &'a SmsSender,
}

async fn enforce_rate(
    conn: &mut AsyncPgConnection,
    key: &CounterKey,
    kind: &str,
    value: &str,
    limit: i32,
) -> Result<(), SignInError> {
    match rate_limits::count(conn, key, kind, value, limit).await? {
        Some(retry_after) => Err(SignInError::RateLimited { retry_after }),
        None => Ok(()),
    }
}

/// The hourly budgets of codes: one for every number of a foreign country together, and one for
/// all numbers. Reaching one is what SMS pumping looks like, so it is logged as an error for
/// whoever is on call.
async fn enforce_budgets(
    conn: &mut AsyncPgConnection,
    counters: &CounterKey,
    phone: &PhoneNumber,
    policy: &SignInPolicy,
) -> Result<(), SignInError> {
    let country = phone.country_code();
    let mut budgets = vec![("sign-in:all", "all", policy.codes_per_hour)];
    if country != "31" {
        budgets.push(("sign-in:country", country, policy.codes_per_foreign_country_per_hour));
    }
    for (kind, value, limit) in budgets {
        if let Some(retry_after) = rate_limits::count(conn, counters, kind, value, limit).await? {
            tracing::error!(budget = kind, country, limit, "the hourly budget of sign-in codes is spent");
            return Err(SignInError::BudgetExhausted { retry_after });
        }
    }
    Ok(())
}

fn sms_text(language: Language, code: &str) -> String {
    match language {
        Language::Dutch => format!("Je Burgernet-code is {code}. Deel deze code met niemand."),
        Language::English => format!("Your Burgernet code is {code}. Do not share this code with anyone."),
    }
}

/// What a removed participant's phone gets instead of a code.
fn removed_sms_text(language: Language) -> &'static str {
    match language {
        Language::Dutch => {
            "Burgernet: je gemeente heeft je afgemeld, dus met dit nummer kun je je niet aanmelden. \
             Vragen? Neem contact op met je gemeente."
        }
        Language::English => {
            "Burgernet: your municipality has signed you off, so this number cannot sign in. \
             Questions? Contact your municipality."
        }
    }
}

impl SignIn<'_> {
    /// Sends a new code to `phone`. Fails, rather than pretending, when the SMS does not go out.
    ///
    /// For the number of a removed participant everything happens as for any other number (the
    /// limits, the stored challenge, the answer), but the SMS says that they were signed off
    /// instead of carrying the code, so nobody learns the code and the answer reveals nothing.
    pub async fn request_code(
        &self,
        conn: &mut AsyncPgConnection,
        phone: &PhoneNumber,
        client: &str,
        language: Language,
    ) -> Result<CodeSent, SignInError> {
        let counters = self.tokens.key().counter_key();
        enforce_rate(conn, counters, "sign-in:client", client, self.policy.requests_per_client_per_hour)
            .await?;
        let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
        let code_hash = self.tokens.key().sign_in_code_hash(phone.as_str(), &code);
        let policy = self.policy;
        let (sent, removed) = conn
            .transaction(async |conn| {
                let (existing, now) = queries::lock_challenge(conn, phone).await?;
                if let Some(existing) = &existing {
                    if let Some(locked_until) = existing.locked_until.filter(|until| *until > now) {
                        return Err(SignInError::Locked { retry_after: until(now, locked_until) });
                    }
                    let resend_after = existing.sent_at + policy.resend_interval;
                    if resend_after > now && existing.expires_at > now {
                        return Err(SignInError::ResendTooSoon { retry_after: until(now, resend_after) });
                    }
                }
                enforce_rate(
                    conn,
                    counters,
                    "sign-in:phone",
                    phone.as_str(),
                    policy.codes_per_phone_per_hour,
                )
                .await?;
                enforce_budgets(conn, counters, phone, policy).await?;
                let expires_at = now + policy.code_ttl;
                queries::store_challenge(conn, phone, &code_hash, now, expires_at).await?;
                let removed = participant_queries::status_by_phone(conn, phone).await?
                    == Some(ParticipantStatus::Removed);
                Ok::<_, SignInError>((
                    CodeSent { expires_at, resend_after: now + policy.resend_interval },
                    removed,
                ))
            })
            .await?;

        let reference = uuid::Uuid::new_v4().to_string();
        let text = if removed { removed_sms_text(language).to_string() } else { sms_text(language, &code) };
        let message = SmsMessage { to: phone, body: &text, reference: &reference };
        match self.sms.send(&message).await {
            Ok(delivered) => {
                queries::set_challenge_message_id(conn, phone, &code_hash, &delivered.provider_message_id)
                    .await?;
                Ok(sent)
            }
            Err(error) => {
                // The code never arrived: forget it, so asking again is not held up by the
                // resend interval.
                queries::delete_challenge(conn, phone, &code_hash).await?;
                Err(SignInError::SmsNotSent(error))
            }
        }
    }

    /// Checks a code; a correct one signs the participant in, creating them on first use.
    pub async fn verify_code(
        &self,
        conn: &mut AsyncPgConnection,
        phone: &PhoneNumber,
        code: &str,
        client: &str,
    ) -> Result<SessionTokens, SignInError> {
        let counters = self.tokens.key().counter_key();
        enforce_rate(conn, counters, "sign-in:client", client, self.policy.requests_per_client_per_hour)
            .await?;
        let policy = self.policy;
        // A wrong code must be counted even though the call fails, so the outcome is decided
        // inside the transaction and the error raised after it commits.
        conn.transaction(async |conn| -> Result<Result<SessionTokens, SignInError>, SignInError> {
            let (challenge, now) = queries::lock_challenge(conn, phone).await?;
            let Some(challenge) = challenge else {
                return Ok(Err(SignInError::NoActiveCode));
            };
            if let Some(locked_until) = challenge.locked_until.filter(|until| *until > now) {
                return Ok(Err(SignInError::Locked { retry_after: until(now, locked_until) }));
            }
            if challenge.expires_at <= now {
                queries::delete_challenge(conn, phone, &challenge.code_hash).await?;
                return Ok(Err(SignInError::CodeExpired));
            }
            if !self.tokens.sign_in_code_matches(&challenge.code_hash, phone.as_str(), code) {
                let attempts = challenge.failed_attempts + 1;
                if attempts >= policy.max_attempts {
                    let locked_until = now + policy.lockout;
                    queries::record_failed_attempt(conn, phone, Some(locked_until)).await?;
                    return Ok(Err(SignInError::Locked { retry_after: policy.lockout }));
                }
                queries::record_failed_attempt(conn, phone, None).await?;
                return Ok(Err(SignInError::CodeIncorrect { attempts_left: policy.max_attempts - attempts }));
            }
            queries::delete_challenge(conn, phone, &challenge.code_hash).await?;
            let (participant, new_participant) =
                participant_queries::find_or_create_by_phone(conn, phone).await?;
            // Locked, so that a removal either comes first and is seen here, or comes after
            // and ends the session created here.
            let row = participant_queries::find(conn, participant, true).await?;
            if row.is_some_and(|row| row.status == ParticipantStatus::Removed) {
                return Ok(Err(SignInError::ParticipantRemoved));
            }
            let session = queries::create_session(conn, participant).await?;
            let mut tokens = self.issue(conn, participant, session, None).await?;
            tokens.new_participant = new_participant;
            Ok(Ok(tokens))
        })
        .await?
    }

    /// Trades a refresh token for a new pair. Reuse ends the session for every holder.
    ///
    /// The old token is retired and the next one stored in one transaction, so a failure in
    /// between leaves the old token as it was. A retry with the same token within
    /// [`REFRESH_RETRY_GRACE`] (the first answer was lost on a bad connection) gets a new pair of
    /// the same session, and the pair of the lost answer stops working: should that one turn up,
    /// it counts as reuse. A token replayed after the grace, or after the session moved on, is
    /// reuse.
    pub async fn refresh(
        &self,
        conn: &mut AsyncPgConnection,
        refresh_token: &str,
    ) -> Result<SessionTokens, SignInError> {
        let hash = SecretTokenHash::of(refresh_token);
        // Ending the session on reuse must commit although the call fails, so the outcome is
        // decided inside the transaction and the error raised after it commits.
        conn.transaction(async |conn| -> Result<Result<SessionTokens, SignInError>, SignInError> {
            Ok(match queries::use_refresh_token(conn, &hash, REFRESH_RETRY_GRACE).await? {
                RefreshTokenUse::Exchanged { session, participant } => {
                    Ok(self.issue(conn, participant, session, Some(&hash)).await?)
                }
                RefreshTokenUse::Reused { session } => {
                    queries::revoke_session(conn, session, SessionEnd::RefreshTokenReused).await?;
                    Err(SignInError::RefreshTokenReused)
                }
                RefreshTokenUse::Unknown => Err(SignInError::InvalidRefreshToken),
                RefreshTokenUse::Expired => Err(SignInError::RefreshTokenExpired),
                RefreshTokenUse::Revoked { reason: Some(SessionEnd::ParticipantRemoved) } => {
                    Err(SignInError::SessionEndedByRemoval)
                }
                RefreshTokenUse::Revoked { .. } => Err(SignInError::SessionRevoked),
            })
        })
        .await?
    }

    /// A new access token and the next refresh token of the session, stored in the caller's
    /// transaction.
    async fn issue(
        &self,
        conn: &mut AsyncPgConnection,
        participant: ParticipantId,
        session: SessionId,
        rotated_from: Option<&SecretTokenHash>,
    ) -> Result<SessionTokens, SignInError> {
        let now = Utc::now();
        let refresh = NewSecretToken::generate();
        let refresh_token_expires_at = now + self.policy.refresh_token_ttl;
        queries::insert_refresh_token(conn, session, &refresh.hash, refresh_token_expires_at, rotated_from)
            .await?;
        Ok(SessionTokens {
            participant_id: participant,
            session_id: session,
            access_token: self.tokens.issue_access_token(participant, session, now),
            refresh_token: refresh.token,
            refresh_token_expires_at,
            new_participant: false,
        })
    }
}

/// Ends the session the caller signed in with.
pub async fn sign_out(conn: &mut AsyncPgConnection, session: SessionId) -> Result<(), diesel::result::Error> {
    queries::revoke_session(conn, session, SessionEnd::SignedOut).await
}
