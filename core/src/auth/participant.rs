//! Participant tokens: a short-lived access token (HS256 JWT signed with our own secret) and an
//! opaque refresh token of which only a hash is stored, so a leaked database cannot mint sessions.

use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::TokenError;
use crate::env::{ConfigError, Env, parse};
use crate::ids::{ParticipantId, SessionId};
use crate::participants::rate_limits::CounterKey;
use crate::secret::{Secret, SecretTokenHash};

const ISSUER: &str = "burgernet";
const AUDIENCE: &str = "burgernet-app";
/// Distinguishes access tokens from any other token we may sign with the same key later.
const ACCESS_TOKEN_USE: &str = "participant_access";
const MIN_SECRET_BYTES: usize = 32;

/// The HMAC key for participant tokens, from `BURGERNET_PARTICIPANT_TOKEN_SECRET`.
#[derive(Clone)]
pub struct ParticipantTokenKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Keys the hashes of sign-in codes, so a copy of the database cannot be brute-forced
    /// offline (there are only a million six-digit codes).
    code_hash_key: Secret<Vec<u8>>,
    /// Keys the rate limits' counters, so they cannot be tied to a number or a participant.
    counter_key: CounterKey,
}

impl fmt::Debug for ParticipantTokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ParticipantTokenKey([redacted])")
    }
}

impl ParticipantTokenKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() < MIN_SECRET_BYTES {
            return Err(format!("must be at least {MIN_SECRET_BYTES} characters of random text"));
        }
        Ok(Self::from_secret(&Secret::new(raw.as_bytes().to_vec())))
    }

    pub fn from_secret(secret: &Secret<Vec<u8>>) -> Self {
        let mut derive = Hmac::<Sha256>::new_from_slice(secret.expose()).expect("HMAC takes any key length");
        derive.update(b"burgernet sign-in code hash key");
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            code_hash_key: Secret::new(derive.finalize().into_bytes().to_vec()),
            counter_key: CounterKey::derive(secret.expose()),
        }
    }

    /// The key of the rate limits' counters.
    pub fn counter_key(&self) -> &CounterKey {
        &self.counter_key
    }

    /// The stored form of a sign-in code sent to `phone_number`.
    pub fn sign_in_code_hash(&self, phone_number: &str, code: &str) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.code_hash_key.expose()).expect("HMAC takes any key length");
        mac.update(phone_number.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    aud: String,
    sub: ParticipantId,
    /// The session the token belongs to; signing out or erasing the account revokes it.
    sid: SessionId,
    iat: i64,
    exp: i64,
    #[serde(rename = "use")]
    token_use: String,
}

/// A token handed to the app, with the moment it stops working.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: Secret<String>,
    pub expires_at: DateTime<Utc>,
}

/// The participant a verified access token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthenticatedParticipant {
    pub participant_id: ParticipantId,
    pub session_id: SessionId,
    pub expires_at: DateTime<Utc>,
}

/// Issues and verifies participant access tokens.
#[derive(Debug, Clone)]
pub struct ParticipantTokens {
    key: ParticipantTokenKey,
    /// The key being rotated out: what it signed (access tokens, sign-in codes) still verifies
    /// until it is removed, so a rotation signs no one out.
    previous_key: Option<ParticipantTokenKey>,
    access_token_ttl: Duration,
    validation: Validation,
}

impl ParticipantTokens {
    pub fn new(key: ParticipantTokenKey, access_token_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Self { key, previous_key: None, access_token_ttl, validation }
    }

    /// Also accepts what `previous` signed (see `BURGERNET_PARTICIPANT_TOKEN_PREVIOUS_SECRET`).
    pub fn accepting_previous(mut self, previous: Option<ParticipantTokenKey>) -> Self {
        self.previous_key = previous;
        self
    }

    /// The key new tokens and sign-in codes are signed with.
    pub fn key(&self) -> &ParticipantTokenKey {
        &self.key
    }

    /// Whether `stored` is the hash of `code` for `phone_number` under the current or the
    /// previous key.
    pub fn sign_in_code_matches(&self, stored: &[u8], phone_number: &str, code: &str) -> bool {
        self.keys().any(|key| constant_time_eq(stored, &key.sign_in_code_hash(phone_number, code)))
    }

    fn keys(&self) -> impl Iterator<Item = &ParticipantTokenKey> {
        std::iter::once(&self.key).chain(self.previous_key.as_ref())
    }

    pub fn issue_access_token(
        &self,
        participant_id: ParticipantId,
        session_id: SessionId,
        now: DateTime<Utc>,
    ) -> IssuedToken {
        let expires_at = now + self.access_token_ttl;
        let claims = AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: participant_id,
            sid: session_id,
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            token_use: ACCESS_TOKEN_USE.into(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key.encoding)
            .expect("HS256 signing with an in-memory key cannot fail");
        IssuedToken { token: Secret::new(token), expires_at }
    }

    pub fn verify_access_token(&self, token: &str) -> Result<AuthenticatedParticipant, TokenError> {
        let mut decoded = jsonwebtoken::decode::<AccessClaims>(token, &self.key.decoding, &self.validation);
        if let (Err(error), Some(previous)) = (&decoded, &self.previous_key)
            && *error.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature
        {
            decoded = jsonwebtoken::decode::<AccessClaims>(token, &previous.decoding, &self.validation);
        }
        let data = decoded?;
        if data.claims.token_use != ACCESS_TOKEN_USE {
            return Err(TokenError::Invalid);
        }
        let expires_at = Utc.timestamp_opt(data.claims.exp, 0).single().ok_or(TokenError::Invalid)?;
        Ok(AuthenticatedParticipant {
            participant_id: data.claims.sub,
            session_id: data.claims.sid,
            expires_at,
        })
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// A new random secret token (a refresh token, an e-mail verification link): the value is handed
/// out once, only its hash is stored.
#[derive(Debug)]
pub struct NewSecretToken {
    pub token: Secret<String>,
    pub hash: SecretTokenHash,
}

impl NewSecretToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let hash = SecretTokenHash::of(&token);
        Self { token: Secret::new(token), hash }
    }
}

#[derive(Debug, Clone)]
pub struct ParticipantTokenConfig {
    pub key: ParticipantTokenKey,
    /// The key being rotated out, still accepted for verification.
    pub previous_key: Option<ParticipantTokenKey>,
    pub access_token_ttl: Duration,
}

impl ParticipantTokenConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            key: env.required("BURGERNET_PARTICIPANT_TOKEN_SECRET", ParticipantTokenKey::parse)?,
            previous_key: env
                .optional("BURGERNET_PARTICIPANT_TOKEN_PREVIOUS_SECRET", ParticipantTokenKey::parse)?,
            access_token_ttl: env.or(
                "BURGERNET_PARTICIPANT_ACCESS_TOKEN_TTL",
                Duration::from_secs(15 * 60),
                parse::duration,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(secret: &str) -> ParticipantTokens {
        ParticipantTokens::new(ParticipantTokenKey::parse(secret).unwrap(), Duration::from_secs(900))
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
    const NEXT_SECRET: &str = "fedcba9876543210fedcba9876543210-next";

    #[test]
    fn codes_compare_in_full() {
        assert!(constant_time_eq(b"123456", b"123456"));
        assert!(!constant_time_eq(b"123456", b"123457"));
        assert!(!constant_time_eq(b"12345", b"123456"));
    }

    #[test]
    fn during_a_rotation_what_the_previous_key_signed_still_verifies() {
        let before = tokens(SECRET);
        let participant = ParticipantId::new();
        let issued = before.issue_access_token(participant, SessionId::new(), Utc::now());
        let code_hash = before.key().sign_in_code_hash("+31612345678", "123456");

        let rotated =
            tokens(NEXT_SECRET).accepting_previous(Some(ParticipantTokenKey::parse(SECRET).unwrap()));
        assert_eq!(rotated.verify_access_token(issued.token.expose()).unwrap().participant_id, participant);
        assert!(rotated.sign_in_code_matches(&code_hash, "+31612345678", "123456"));
        assert!(!rotated.sign_in_code_matches(&code_hash, "+31612345678", "123457"));
        // New tokens are signed with the new key only.
        let fresh = rotated.issue_access_token(participant, SessionId::new(), Utc::now());
        assert_eq!(before.verify_access_token(fresh.token.expose()), Err(TokenError::Invalid));

        // Once the previous key is removed, what it signed no longer verifies.
        let after = tokens(NEXT_SECRET);
        assert_eq!(after.verify_access_token(issued.token.expose()), Err(TokenError::Invalid));
        assert!(!after.sign_in_code_matches(&code_hash, "+31612345678", "123456"));
    }

    #[test]
    fn the_previous_key_does_not_excuse_an_expired_token() {
        let before = tokens(SECRET);
        let issued = before.issue_access_token(
            ParticipantId::new(),
            SessionId::new(),
            Utc::now() - chrono::Duration::hours(1),
        );
        let rotated =
            tokens(NEXT_SECRET).accepting_previous(Some(ParticipantTokenKey::parse(SECRET).unwrap()));
        assert_eq!(rotated.verify_access_token(issued.token.expose()), Err(TokenError::Expired));
    }

    #[test]
    fn issued_token_verifies_for_its_participant() {
        let tokens = tokens(SECRET);
        let participant = ParticipantId::new();
        let session = SessionId::new();
        let now = Utc::now();
        let issued = tokens.issue_access_token(participant, session, now);
        let verified = tokens.verify_access_token(issued.token.expose()).unwrap();
        assert_eq!(verified.participant_id, participant);
        assert_eq!(verified.session_id, session);
        assert_eq!(verified.expires_at.timestamp(), (now + Duration::from_secs(900)).timestamp());
    }

    #[test]
    fn expired_token_is_rejected() {
        let tokens = tokens(SECRET);
        let issued = tokens.issue_access_token(
            ParticipantId::new(),
            SessionId::new(),
            Utc::now() - chrono::Duration::hours(1),
        );
        assert_eq!(tokens.verify_access_token(issued.token.expose()), Err(TokenError::Expired));
    }

    #[test]
    fn token_from_another_key_is_rejected() {
        let issued = tokens(SECRET).issue_access_token(ParticipantId::new(), SessionId::new(), Utc::now());
        let other = tokens("another-secret-that-is-long-enough-to-use");
        assert_eq!(other.verify_access_token(issued.token.expose()), Err(TokenError::Invalid));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(ParticipantTokenKey::parse("too-short").is_err());
    }

    #[test]
    fn sign_in_code_hashes_depend_on_key_number_and_code() {
        let key = ParticipantTokenKey::parse(SECRET).unwrap();
        let other_key = ParticipantTokenKey::parse("another-secret-that-is-long-enough-to-use").unwrap();
        let hash = key.sign_in_code_hash("+31612345678", "123456");
        assert_eq!(hash, key.sign_in_code_hash("+31612345678", "123456"));
        assert_ne!(hash, key.sign_in_code_hash("+31612345678", "123457"));
        assert_ne!(hash, key.sign_in_code_hash("+31612345679", "123456"));
        assert_ne!(hash, other_key.sign_in_code_hash("+31612345678", "123456"));
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let first = NewSecretToken::generate();
        let second = NewSecretToken::generate();
        assert_ne!(first.token.expose(), second.token.expose());
        assert_eq!(SecretTokenHash::of(first.token.expose()), first.hash);
        assert_ne!(first.hash, second.hash);
    }
}
