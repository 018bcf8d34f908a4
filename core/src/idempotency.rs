//! Requests the app may retry (mobile networks drop answers, not only requests). A request sent
//! with an `Idempotency-Key` stores its first answer in the same transaction as its write; a retry
//! with the same key gets that answer again and creates nothing. The key is kept only as a hash
//! over the operation, the caller and the client's key, and forgotten after a day. The answer is
//! kept sealed (ChaCha20-Poly1305) with a key that only the client's key gives: the database holds
//! neither a secret shown once (an anonymous tip's sender key) nor anything else of the answer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::db::idempotency as queries;
use crate::sealing::SealingKey;
use crate::vocabulary::InvalidInput;

/// The client's key: 1 to 255 visible ASCII characters (a UUID, usually).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const HEADER: &'static str = "Idempotency-Key";

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(InvalidInput::new(
                "invalid_idempotency_key",
                "The Idempotency-Key header holds 1 to 255 visible ASCII characters.",
            ));
        }
        Ok(Self(raw.to_string()))
    }
}

/// One operation by one caller with one key.
pub struct IdempotentRequest<'a> {
    /// Names the operation, e.g. `"tip"`; the same client key may be used for different ones.
    pub operation: &'static str,
    /// Whoever calls, e.g. the participant's id.
    pub caller: &'a str,
    pub key: &'a IdempotencyKey,
}

impl IdempotentRequest<'_> {
    /// What the request is stored under.
    fn key_hash(&self) -> [u8; 32] {
        self.hash(b"")
    }

    /// What seals its answer: of another domain than [`Self::key_hash`], so the stored hash does
    /// not give it.
    fn answer_key(&self) -> AnswerKey {
        AnswerKey(self.hash(b"burgernet idempotent answer key"))
    }

    fn hash(&self, domain: &[u8]) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(domain);
        for part in [self.operation, self.caller, &self.key.0] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().into()
    }
}

/// Seals and opens one request's answer.
struct AnswerKey([u8; 32]);

impl AnswerKey {
    /// Each request has a key of its own that seals its one answer: a single-use seal.
    fn key(&self) -> SealingKey {
        SealingKey::from_bytes(self.0)
    }

    fn seal(&self, answer: &serde_json::Value) -> serde_json::Value {
        let sealed = self.key().seal_single_use(answer.to_string().as_bytes());
        serde_json::json!({ "sealed": STANDARD.encode(sealed) })
    }

    fn open(&self, stored: serde_json::Value) -> Option<serde_json::Value> {
        let sealed = STANDARD.decode(stored.get("sealed")?.as_str()?).ok()?;
        serde_json::from_slice(&self.key().open_single_use(&sealed)?).ok()
    }
}

/// The key was used before for a different request.
#[derive(Debug, thiserror::Error)]
pub enum IdempotencyError {
    #[error("This Idempotency-Key was used before for a different request; use a new key for a new request.")]
    KeyReused,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// What a replayable operation answered, and whether this was a replay of an earlier call.
pub struct Answer<T> {
    pub value: T,
    pub replayed: bool,
}

/// What [`begin`] found.
pub enum Begun<T> {
    /// Run the operation, then [`Pending::finish`] with its answer, in the same transaction.
    Fresh(Pending),
    /// The first answer to this request.
    Replay(T),
}

/// A claimed key (or none), waiting for its answer.
#[must_use]
pub struct Pending(Option<([u8; 32], AnswerKey)>);

/// Call first in the transaction of the operation. Without a request (no key sent) it is always
/// fresh. A concurrent retry waits here for the first to commit (the key's row is locked by its
/// insert) and then gets its answer; if the first rolls back, the retry runs anew.
pub async fn begin<T: DeserializeOwned>(
    conn: &mut AsyncPgConnection,
    request: Option<&IdempotentRequest<'_>>,
    body: &impl Serialize,
) -> Result<Begun<T>, IdempotencyError> {
    let Some(request) = request else {
        return Ok(Begun::Fresh(Pending(None)));
    };
    let key_hash = request.key_hash();
    let body_hash: [u8; 32] = Sha256::digest(serde_json::to_vec(body).unwrap_or_default()).into();
    match queries::claim(conn, &key_hash, &body_hash).await? {
        queries::Claim::New => Ok(Begun::Fresh(Pending(Some((key_hash, request.answer_key()))))),
        queries::Claim::Answered { request_hash, .. } if request_hash != body_hash => {
            Err(IdempotencyError::KeyReused)
        }
        queries::Claim::Answered { response, .. } => {
            let unreadable = || -> IdempotencyError {
                diesel::result::Error::DeserializationError("the stored answer does not open".into()).into()
            };
            let answer = request.answer_key().open(response).ok_or_else(unreadable)?;
            serde_json::from_value(answer)
                .map(Begun::Replay)
                .map_err(|error| diesel::result::Error::DeserializationError(Box::new(error)).into())
        }
    }
}

impl Pending {
    pub async fn finish(
        self,
        conn: &mut AsyncPgConnection,
        answer: &impl Serialize,
    ) -> diesel::QueryResult<()> {
        let Some((key_hash, answer_key)) = self.0 else { return Ok(()) };
        let response = serde_json::to_value(answer)
            .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
        queries::answer(conn, &key_hash, &answer_key.seal(&response)).await
    }
}

#[cfg(test)]
mod sealing_tests {
    use super::*;

    fn request<'a>(caller: &'a str, key: &'a IdempotencyKey) -> IdempotentRequest<'a> {
        IdempotentRequest { operation: "tip", caller, key }
    }

    #[test]
    fn an_answer_is_stored_sealed_and_opens_only_with_its_own_request() {
        let key = IdempotencyKey::parse("0b9d7d1e-5f0e-4a43-9d1c-1d2b8a7c6e5f").unwrap();
        let answer = serde_json::json!({"id": "t-1", "sender_key": "shown-once-secret"});
        let sealed = request("p-1", &key).answer_key().seal(&answer);
        assert!(!sealed.to_string().contains("shown-once-secret"), "{sealed}");
        assert!(!sealed.to_string().contains("t-1"), "{sealed}");
        assert_eq!(request("p-1", &key).answer_key().open(sealed.clone()), Some(answer));
        assert_eq!(request("p-2", &key).answer_key().open(sealed.clone()), None, "another caller");
        let other = IdempotencyKey::parse("another-key").unwrap();
        assert_eq!(request("p-1", &other).answer_key().open(sealed), None, "another key");
    }

    #[test]
    fn the_stored_hash_is_not_the_sealing_key() {
        let key = IdempotencyKey::parse("k").unwrap();
        assert_ne!(request("p-1", &key).key_hash(), request("p-1", &key).answer_key().0);
    }
}
