//! Checkpoints anchor the dossier outside the database. The hash chain shows an edit to an entry,
//! but whoever can switch the dossier's triggers off can also recompute every hash after the
//! edit. So at least every minute the workers write a checkpoint to the object store: the head
//! (last entry number and its hash) of every dossier that grew since the previous checkpoint,
//! the digest of that previous checkpoint, and an HMAC-SHA256 over all of it under a key the
//! database never sees (`BURGERNET_DOSSIER_CHECKPOINT_KEY`). A checkpoint is written once under
//! its own key (`dossier-checkpoints/<number>.json`) and never overwritten; on S3 it can be kept
//! under Object Lock (`BURGERNET_DOSSIER_CHECKPOINT_RETENTION`). [`verify`] holds a dossier
//! against every checkpoint: a re-chained rewrite, or cutting entries off, no longer matches.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{self, dossier_checkpoints as queries};
use crate::env::{ConfigError, Env, parse};
use crate::hex;
use crate::ids::AlertId;
use crate::media::store::{MediaStore, ObjectKey, PutOnce, StoreError};
use crate::secret::Secret;

/// The folder of the store the checkpoints are kept in.
pub const FOLDER: &str = "dossier-checkpoints";

/// Shortest accepted key.
pub const MIN_KEY_BYTES: usize = 32;

/// Most heads in one checkpoint; more wait for the next one.
const MAX_HEADS: i64 = 10_000;

/// Largest checkpoint object read (10,000 heads take about 1.4 MB).
const MAX_CHECKPOINT_BYTES: u64 = 4 * 1024 * 1024;

/// The key that signs checkpoints. Never printed.
#[derive(Clone)]
pub struct CheckpointKey(Secret<Vec<u8>>);

impl fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckpointKey([redacted])")
    }
}

impl CheckpointKey {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() < MIN_KEY_BYTES {
            return Err(format!("must be at least {MIN_KEY_BYTES} characters of random text"));
        }
        Ok(Self(Secret::new(raw.as_bytes().to_vec())))
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(self.0.expose()).expect("HMAC takes any key length")
    }
}

/// How checkpoints are written: `BURGERNET_DOSSIER_CHECKPOINT_KEY` and, for an S3 bucket with
/// Object Lock, `BURGERNET_DOSSIER_CHECKPOINT_RETENTION` (how long each is locked, e.g. `3650d`).
#[derive(Debug, Clone)]
pub struct CheckpointSettings {
    pub key: CheckpointKey,
    pub retention: Option<Duration>,
}

impl CheckpointSettings {
    pub const KEY_VARIABLE: &str = "BURGERNET_DOSSIER_CHECKPOINT_KEY";

    /// None when no key is set.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let retention = env.optional("BURGERNET_DOSSIER_CHECKPOINT_RETENTION", parse::duration)?;
        let Some(key) = env.optional(Self::KEY_VARIABLE, CheckpointKey::parse)? else {
            if retention.is_some() {
                return Err(ConfigError {
                    variable: Self::KEY_VARIABLE,
                    problem: "is required with BURGERNET_DOSSIER_CHECKPOINT_RETENTION".into(),
                });
            }
            return Ok(None);
        };
        Ok(Some(Self { key, retention }))
    }

    /// For `work` and `admin verify-dossier`: without a key the dossier has no anchor.
    pub fn required(env: &Env) -> Result<Self, ConfigError> {
        Self::from_env(env)?.ok_or(ConfigError {
            variable: Self::KEY_VARIABLE,
            problem: "is required: it signs the dossier's checkpoints in the object store".into(),
        })
    }
}

/// The last entry of one alert's dossier, as a checkpoint names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub alert_id: AlertId,
    pub seq: i32,
    /// SHA-256 of the entry, hex.
    pub hash: String,
}

/// One checkpoint as stored (plus its `hmac_sha256`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// 1, 2, 3, ...: one more than the checkpoint before.
    pub number: i64,
    /// The digest of the checkpoint before, hex; absent for the first.
    pub previous: Option<String>,
    pub written_at: DateTime<Utc>,
    pub heads: Vec<ChainHead>,
}

#[derive(Serialize, Deserialize)]
struct SignedCheckpoint {
    #[serde(flatten)]
    checkpoint: Checkpoint,
    hmac_sha256: String,
}

impl Checkpoint {
    /// Where checkpoint `number` is kept; zero-padded, so key order is number order.
    pub fn object_key(number: i64) -> ObjectKey {
        ObjectKey::new(format!("{FOLDER}/{number:012}.json")).expect("a valid key")
    }

    /// The number in a checkpoint's key, as [`Checkpoint::object_key`] writes it.
    fn number_of(key: &ObjectKey) -> Option<i64> {
        key.as_str().strip_prefix(FOLDER)?.strip_prefix('/')?.strip_suffix(".json")?.parse().ok()
    }

    /// The text the signature and the digest cover: one field a line, each head as
    /// `<alert>:<seq>:<hash>`.
    fn signed_text(&self) -> String {
        let mut text = format!(
            "burgernet dossier checkpoint v1\n{}\n{}\n{}\n",
            self.number,
            self.previous.as_deref().unwrap_or_default(),
            self.written_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        );
        for head in &self.heads {
            text.push_str(&format!("{}:{}:{}\n", head.alert_id, head.seq, head.hash));
        }
        text
    }

    /// What the next checkpoint links to.
    pub fn digest(&self) -> Vec<u8> {
        Sha256::digest(self.signed_text().as_bytes()).to_vec()
    }

    fn signature(&self, key: &CheckpointKey) -> Hmac<Sha256> {
        let mut mac = key.mac();
        mac.update(self.signed_text().as_bytes());
        mac
    }

    /// The signed object's bytes.
    pub fn seal(&self, key: &CheckpointKey) -> Vec<u8> {
        let signed = SignedCheckpoint {
            checkpoint: self.clone(),
            hmac_sha256: hex(&self.signature(key).finalize().into_bytes()),
        };
        serde_json::to_vec_pretty(&signed).expect("a checkpoint serialises")
    }

    /// Reads a stored checkpoint, when its signature holds.
    pub fn open(bytes: &[u8], key: &CheckpointKey) -> Result<Self, String> {
        let signed: SignedCheckpoint =
            serde_json::from_slice(bytes).map_err(|error| format!("it is not a checkpoint ({error})"))?;
        let signature = unhex(&signed.hmac_sha256).ok_or("its signature is not hexadecimal")?;
        signed
            .checkpoint
            .signature(key)
            .verify_slice(&signature)
            .map_err(|_| "its signature does not match: it was forged or altered".to_string())?;
        Ok(signed.checkpoint)
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok()).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store holds something under the key of the checkpoint to write that is not a valid
    /// checkpoint of ours: someone wrote there.
    #[error("{key} in the store is not a checkpoint this key signed: {problem}")]
    Foreign { key: ObjectKey, problem: String },
}

/// Writes the next checkpoint, when a dossier grew since the last; returns its number. One writer
/// at a time (an advisory lock; the others skip the round). The lock is held while the object is
/// written, a few kilobytes, so that two workers never race for one number; should the
/// transaction fail after the write, the next round finds the object and adopts it.
pub async fn write_checkpoint(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    settings: &CheckpointSettings,
) -> Result<Option<i64>, CheckpointError> {
    conn.transaction(async |conn| {
        if !queries::try_lock(conn).await? {
            return Ok(None);
        }
        let last = queries::last(conn).await?;
        let number = last.as_ref().map_or(1, |(number, _)| number + 1);
        let key = Checkpoint::object_key(number);
        let heads = queries::unanchored_heads(conn, MAX_HEADS).await?;
        let checkpoint = Checkpoint {
            number,
            previous: last.as_ref().map(|(_, digest)| hex(digest)),
            written_at: Utc::now(),
            heads: heads
                .into_iter()
                .map(|head| ChainHead { alert_id: head.alert_id, seq: head.seq, hash: hex(&head.hash) })
                .collect(),
        };
        if checkpoint.heads.is_empty() {
            return Ok(None);
        }
        let retain_until = settings.retention.map(|retention| {
            checkpoint.written_at + chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX)
        });
        let written =
            store.put_once(&key, checkpoint.seal(&settings.key), "application/json", retain_until).await?;
        let recorded = match written {
            PutOnce::Written => checkpoint,
            // Written before, by a round whose transaction did not commit: adopt it.
            PutOnce::Exists => {
                let bytes = store.read_small(&key, MAX_CHECKPOINT_BYTES).await?;
                let stored = Checkpoint::open(&bytes, &settings.key)
                    .map_err(|problem| CheckpointError::Foreign { key: key.clone(), problem })?;
                if stored.number != number || stored.previous != checkpoint.previous {
                    return Err(CheckpointError::Foreign {
                        key,
                        problem: "it does not follow the last checkpoint recorded".into(),
                    });
                }
                stored
            }
        };
        let heads: Vec<(AlertId, i32)> =
            recorded.heads.iter().map(|head| (head.alert_id, head.seq)).collect();
        queries::record(conn, number, &recorded.digest(), recorded.written_at, &heads).await?;
        Ok(Some(number))
    })
    .await
}

/// One checkpoint that disagrees with the dossier, or with the checkpoints around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointProblem {
    /// The checkpoint's key in the store.
    pub checkpoint: String,
    pub problem: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointVerification {
    /// Checkpoints read.
    pub checkpoints: usize,
    /// Heads of this alert's dossier that they anchor.
    pub anchored_heads: usize,
    pub problems: Vec<CheckpointProblem>,
}

/// Holds the alert's dossier against every checkpoint in the store: each must carry a valid
/// signature and link to the one before it, and every head of this alert it names must be in the
/// dossier with exactly that hash.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    store: &MediaStore,
    key: &CheckpointKey,
    alert: AlertId,
) -> Result<CheckpointVerification, CheckpointError> {
    let folder = ObjectKey::new(FOLDER).expect("a valid key");
    let mut problems = Vec::new();
    let mut problem = |object: &ObjectKey, problem: String| {
        problems.push(CheckpointProblem { checkpoint: object.to_string(), problem })
    };
    // The number of the checkpoint read before this one, and its digest when it could be read.
    let mut previous: Option<(i64, Option<Vec<u8>>)> = None;
    let mut anchored_heads = 0;
    let mut checkpoints = 0;
    for object in store.list(&folder).await? {
        checkpoints += 1;
        let checkpoint = match store.read_small(&object, MAX_CHECKPOINT_BYTES).await {
            Ok(bytes) => Checkpoint::open(&bytes, key),
            Err(StoreError::InvalidRequest(too_large)) => Err(too_large),
            Err(error) => return Err(error.into()),
        };
        let checkpoint = match checkpoint {
            Ok(checkpoint) => checkpoint,
            Err(why) => {
                problem(&object, why);
                previous = Checkpoint::number_of(&object).map(|number| (number, None));
                continue;
            }
        };
        if Checkpoint::object_key(checkpoint.number) != object {
            problem(&object, format!("it says it is checkpoint {}: it was moved", checkpoint.number));
        }
        let expected_number = previous.as_ref().map_or(1, |(number, _)| number + 1);
        if checkpoint.number > expected_number {
            problem(
                &object,
                format!("checkpoints {expected_number} to {} before it are missing", checkpoint.number - 1),
            );
        } else if let Some((number, Some(digest))) =
            previous.as_ref().filter(|(number, _)| *number + 1 == checkpoint.number)
            && checkpoint.previous.as_deref() != Some(hex(digest).as_str())
        {
            problem(&object, format!("it does not link to checkpoint {number}: one of the two was replaced"));
        }
        for head in checkpoint.heads.iter().filter(|head| head.alert_id == alert) {
            anchored_heads += 1;
            match queries::entry_hash(conn, alert, head.seq).await? {
                None => problem(
                    &object,
                    format!(
                        "it anchors entry {}, which is missing from the dossier: entries were cut off",
                        head.seq
                    ),
                ),
                Some(hash) if hex(&hash) != head.hash => problem(
                    &object,
                    format!(
                        "it anchors entry {} with hash {}, but the dossier's entry {} has hash {}: the dossier \
                         was rewritten",
                        head.seq,
                        head.hash,
                        head.seq,
                        hex(&hash)
                    ),
                ),
                Some(_) => {}
            }
        }
        previous = Some((checkpoint.number, Some(checkpoint.digest())));
    }
    Ok(CheckpointVerification { checkpoints, anchored_heads, problems })
}

/// Warns (at start-up) when the application's database role could rewrite the dossier unseen by
/// the chain: the checkpoints still show it, but the role should not have the power.
pub async fn warn_if_role_can_rewrite_dossier(pool: &db::DbPool) {
    let Ok(mut conn) = pool.get().await else { return };
    match queries::role_can_rewrite_dossier(&mut conn).await {
        Ok(true) => tracing::warn!(
            "the application's database role can change or delete dossier entries (it owns the table, \
             is a superuser or was granted more than SELECT and INSERT); run it as the role `burgernet \
             migrate` grants to (BURGERNET_DATABASE_APP_ROLE)"
        ),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "could not check the application's rights on the dossier"),
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn key(text: &str) -> CheckpointKey {
        CheckpointKey::parse(&format!("{text}-0123456789abcdef0123456789abcdef")).unwrap()
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            number: 7,
            previous: Some("ab".repeat(32)),
            written_at: "2026-12-08T03:00:00.123456Z".parse().unwrap(),
            heads: vec![ChainHead { alert_id: AlertId(Uuid::nil()), seq: 4, hash: "cd".repeat(32) }],
        }
    }

    #[test]
    fn a_sealed_checkpoint_opens_with_its_key_only() {
        let sealed = checkpoint().seal(&key("one"));
        assert_eq!(Checkpoint::open(&sealed, &key("one")).unwrap(), checkpoint());
        let error = Checkpoint::open(&sealed, &key("two")).unwrap_err();
        assert!(error.contains("signature does not match"), "{error}");
    }

    #[test]
    fn any_change_to_a_sealed_checkpoint_breaks_its_signature() {
        let sealed = String::from_utf8(checkpoint().seal(&key("one"))).unwrap();
        for (from, to) in [("\"seq\": 4", "\"seq\": 3"), ("\"number\": 7", "\"number\": 8"), ("cdcd", "cdce")]
        {
            assert!(sealed.contains(from), "{sealed}");
            let altered = sealed.replacen(from, to, 1);
            assert!(Checkpoint::open(altered.as_bytes(), &key("one")).is_err(), "{from} -> {to}");
        }
    }

    #[test]
    fn keys_carry_the_number_in_order() {
        assert_eq!(Checkpoint::object_key(42).as_str(), "dossier-checkpoints/000000000042.json");
        assert_eq!(Checkpoint::number_of(&Checkpoint::object_key(42)), Some(42));
        assert!(Checkpoint::object_key(9).as_str() < Checkpoint::object_key(10).as_str());
    }

    #[test]
    fn the_key_is_long_and_never_printed() {
        assert!(CheckpointKey::parse("short").is_err());
        let env = Env::from_pairs([(CheckpointSettings::KEY_VARIABLE, "hunter2")]);
        let error = CheckpointSettings::from_env(&env).unwrap_err();
        assert!(!error.to_string().contains("hunter2"));
        let settings = CheckpointSettings::required(&Env::from_pairs([(
            CheckpointSettings::KEY_VARIABLE,
            "hunter2-0123456789abcdef0123456789abcdef",
        )]))
        .unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert_eq!(
            CheckpointSettings::required(&Env::default()).unwrap_err().variable,
            CheckpointSettings::KEY_VARIABLE
        );
    }
}
