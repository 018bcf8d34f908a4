//! Tips: what a participant who received an alert saw, sent to the control room while the alert
//! runs. A participant may send one anonymously: then nothing stored with it, not even the
//! dossier entry, names them; a key only they hold lets them attach photos and videos
//! ([`crate::media`]). The control room assesses each tip and may place it on legal hold; tips are
//! deleted a configured time after their alert closed ([`crate::media::retention`]).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Actor, dossier};
use crate::db::alerts as alert_queries;
use crate::db::tips::{self as queries, NewTip};
use crate::env::{ConfigError, Env, parse};
use crate::idempotency::{self, Answer, Begun, IdempotencyError, IdempotencyKey, IdempotentRequest};
use crate::ids::{AlertId, ParticipantId, TipId};
use crate::participants::rate_limits::{self, CounterKey};
use crate::vocabulary::InvalidInput;
use crate::vocabulary::alerts::{AlertAnswer, AlertStatus};
use crate::vocabulary::places::Position;

pub const MAX_TIP_CHARS: usize = 2_000;

/// Where the participant saw it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TipLocation {
    pub latitude: f64,
    pub longitude: f64,
    /// The radius of the fix in metres, as the phone reports it (0 to 100000).
    pub accuracy_meters: f32,
}

/// A tip as the app sends it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTipRequest {
    /// What you saw; up to 2,000 characters.
    pub text: String,
    /// When you saw it.
    pub seen_at: Option<DateTime<Utc>>,
    pub location: Option<TipLocation>,
    /// The control room may call you back on your number.
    #[serde(default)]
    pub may_call_back: bool,
    /// Send without your identity: the tip cannot be traced to you, and nobody can call you back.
    #[serde(default)]
    pub anonymous: bool,
}

/// A parsed [`NewTipRequest`], or a `seen_now` answer (see [`super::answers`]).
#[derive(Debug, Clone)]
pub struct TipDraft {
    text: String,
    seen_at: Option<DateTime<Utc>>,
    location: Option<(Position, f32)>,
    may_call_back: bool,
    anonymous: bool,
    answer: Option<AlertAnswer>,
}

/// The text of a tip made by a `seen_now` answer, as the control room reads it.
pub const SEEN_NOW_TEXT: &str = "Nu gezien (antwoord met één tik op de melding)";

impl TipDraft {
    /// The tip a `seen_now` answer makes: seen now, where the phone was when given.
    pub(super) fn seen_now(location: Option<(Position, f32)>, now: DateTime<Utc>) -> Self {
        Self {
            text: SEEN_NOW_TEXT.to_string(),
            seen_at: Some(now),
            location,
            may_call_back: false,
            anonymous: false,
            answer: Some(AlertAnswer::SeenNow),
        }
    }
}

impl TipLocation {
    /// The position and its accuracy, checked.
    pub fn parse(self) -> Result<(Position, f32), InvalidInput> {
        if !(0.0..=100_000.0).contains(&self.accuracy_meters) {
            return Err(InvalidInput::new("invalid_accuracy", "The accuracy is 0 to 100000 metres."));
        }
        Ok((Position::parse(self.latitude, self.longitude)?, self.accuracy_meters))
    }
}

fn invalid(detail: impl Into<String>) -> InvalidInput {
    InvalidInput::new("invalid_tip", detail)
}

impl NewTipRequest {
    pub fn parse(self, now: DateTime<Utc>) -> Result<TipDraft, InvalidInput> {
        let text = self.text.trim();
        if text.is_empty() || text.chars().count() > MAX_TIP_CHARS {
            return Err(invalid(format!("The text has 1 to {MAX_TIP_CHARS} characters.")));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(invalid("The text may not hold control characters."));
        }
        if self.seen_at.is_some_and(|seen| seen > now + chrono::Duration::minutes(5)) {
            return Err(invalid("seen_at lies in the future."));
        }
        if self.anonymous && self.may_call_back {
            return Err(invalid("An anonymous tip cannot be called back; choose one."));
        }
        let location = self.location.map(TipLocation::parse).transpose()?;
        Ok(TipDraft {
            text: text.to_string(),
            seen_at: self.seen_at,
            location,
            may_call_back: self.may_call_back,
            anonymous: self.anonymous,
            answer: None,
        })
    }
}

/// What the sender gets back.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TipReceipt {
    #[schema(value_type = Uuid)]
    pub id: TipId,
    pub anonymous: bool,
    /// Only for an anonymous tip, and only in this answer: the key that proves the tip is yours
    /// (send it as `Tip-Sender-Key` to attach photos or videos). Nothing stored names you, so
    /// nothing else can.
    pub sender_key: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Limits on tips, from the environment.
#[derive(Debug, Clone, Copy)]
pub struct TipSettings {
    /// Tips one participant may send per hour.
    pub per_participant_per_hour: i32,
    /// Tips and their media are deleted this long after their alert closed, unless on legal hold.
    pub retention: Duration,
}

impl TipSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let days: u32 = env.or("BURGERNET_TIP_RETENTION_DAYS", 90, parse::positive_number)?;
        Ok(Self {
            per_participant_per_hour: env.or("BURGERNET_TIPS_PER_HOUR", 20, parse::positive_number)?,
            retention: Duration::from_secs(u64::from(days) * 86_400),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TipError {
    #[error("You did not receive such an alert.")]
    NotFound,
    #[error("This alert is closed; it takes no more tips. Call 112 if it is urgent.")]
    AlertClosed,
    #[error("You sent many tips in a short time; please wait a little. Call 112 if it is urgent.")]
    RateLimited { retry_after: std::time::Duration },
    #[error("This Idempotency-Key was used before for a different request; use a new key for a new request.")]
    IdempotencyKeyReused,
    #[error("{}", .0.detail)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<IdempotencyError> for TipError {
    fn from(error: IdempotencyError) -> Self {
        match error {
            IdempotencyError::KeyReused => Self::IdempotencyKeyReused,
            IdempotencyError::Database(inner) => inner.into(),
        }
    }
}

/// Sends a tip about an active alert the participant received. With an idempotency key, a retry
/// returns the first answer and creates nothing.
pub async fn submit(
    conn: &mut AsyncPgConnection,
    settings: &TipSettings,
    counters: &CounterKey,
    participant: ParticipantId,
    alert: AlertId,
    tip: &NewTipRequest,
    idempotency_key: Option<&IdempotencyKey>,
) -> Result<Answer<TipReceipt>, TipError> {
    let draft = tip.clone().parse(Utc::now())?;
    let caller = participant.to_string();
    let request = idempotency_key.map(|key| IdempotentRequest { operation: "tip", caller: &caller, key });
    conn.transaction(async |conn| {
        let pending = match idempotency::begin(conn, request.as_ref(), tip).await? {
            Begun::Replay(value) => return Ok(Answer { value, replayed: true }),
            Begun::Fresh(pending) => pending,
        };
        let receipt = insert_tip(conn, settings, counters, participant, alert, draft).await?;
        pending.finish(conn, &receipt).await?;
        Ok(Answer { value: receipt, replayed: false })
    })
    .await
}

/// Saves the tip in the caller's transaction, if the participant received the alert, it is
/// active, and they are within their hourly number of tips; records it in the dossier.
pub(super) async fn insert_tip(
    conn: &mut AsyncPgConnection,
    settings: &TipSettings,
    counters: &CounterKey,
    participant: ParticipantId,
    alert: AlertId,
    tip: TipDraft,
) -> Result<TipReceipt, TipError> {
    // Locked, so a tip and the closing cannot cross.
    let status = alert_queries::lock_status(conn, alert).await?.ok_or(TipError::NotFound)?;
    if !alert_queries::is_recipient(conn, alert, participant.0).await? {
        return Err(TipError::NotFound);
    }
    if status == AlertStatus::Closed {
        return Err(TipError::AlertClosed);
    }
    let over_limit = rate_limits::count(
        conn,
        counters,
        "tips",
        &participant.to_string(),
        settings.per_participant_per_hour,
    )
    .await?;
    if let Some(retry_after) = over_limit {
        return Err(TipError::RateLimited { retry_after });
    }
    let id = TipId::new();
    let sender_key = tip.anonymous.then(SenderKey::generate);
    let created_at = queries::insert(
        conn,
        &NewTip {
            id,
            alert,
            participant: (!tip.anonymous).then_some(participant),
            sender_key_hash: sender_key.as_ref().map(SenderKey::hash),
            text: &tip.text,
            seen_at: tip.seen_at,
            location: tip.location.map(|(at, accuracy)| (at.latitude(), at.longitude(), accuracy)),
            may_call_back: tip.may_call_back,
            answer: tip.answer,
        },
    )
    .await?;
    let actor = if tip.anonymous { Actor::Anonymous } else { Actor::Participant(participant) };
    let sealing = dossier::TipText::key_of(conn, id).await?;
    let mut body = json!({
        "tip_id": id,
        "text": sealing.seal("text", &tip.text),
        "seen_at": tip.seen_at,
        "has_location": tip.location.is_some(),
        "may_call_back": tip.may_call_back,
        "answer": tip.answer,
    });
    if !tip.anonymous {
        body["participant_id"] = json!(participant);
    }
    dossier::record(conn, alert, &actor, "tip", body).await?;
    Ok(TipReceipt { id, anonymous: tip.anonymous, sender_key: sender_key.map(SenderKey::reveal), created_at })
}

/// The secret an anonymous sender keeps to show a tip is theirs; only its hash is stored.
pub struct SenderKey(String);

impl SenderKey {
    pub const HEADER: &'static str = "Tip-Sender-Key";

    fn generate() -> Self {
        Self(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
    }

    pub fn from_header(raw: &str) -> Self {
        Self(raw.to_string())
    }

    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.0.as_bytes()).to_vec()
    }

    fn reveal(self) -> String {
        self.0
    }
}
