//! Requests the app may retry (mobile networks drop answers, not only requests). A request sent
//! with an `Idempotency-Key` stores its first answer in the same transaction as its write; a retry
//! with the same key gets that answer again and creates nothing. The key is kept only as a hash
//! over the operation, the caller and the client's key, and forgotten after a day.

use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::db::idempotency as queries;
use crate::participants::InvalidInput;

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
    fn key_hash(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        for part in [self.operation, self.caller, &self.key.0] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().into()
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
pub struct Pending(Option<[u8; 32]>);

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
        queries::Claim::New => Ok(Begun::Fresh(Pending(Some(key_hash)))),
        queries::Claim::Answered { request_hash, .. } if request_hash != body_hash => {
            Err(IdempotencyError::KeyReused)
        }
        queries::Claim::Answered { response, .. } => serde_json::from_value(response)
            .map(Begun::Replay)
            .map_err(|error| diesel::result::Error::DeserializationError(Box::new(error)).into()),
    }
}

impl Pending {
    pub async fn finish(
        self,
        conn: &mut AsyncPgConnection,
        answer: &impl Serialize,
    ) -> diesel::QueryResult<()> {
        let Some(key_hash) = self.0 else { return Ok(()) };
        let response = serde_json::to_value(answer)
            .map_err(|error| diesel::result::Error::SerializationError(Box::new(error)))?;
        queries::answer(conn, &key_hash, &response).await
    }
}
