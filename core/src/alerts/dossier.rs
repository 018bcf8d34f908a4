//! The alert dossier (actiedossier): every event of an alert, append-only and tamper-evident,
//! usable later in the investigation. The database numbers entries, stamps their time, chains
//! each to the previous by SHA-256 and refuses to change or delete them (see the alerts
//! migration); [`verify`] recomputes the chain independently and names the first broken entry.
//!
//! Whoever can switch those triggers off could also re-chain a rewritten dossier, so the chain
//! heads are also anchored outside the database, in signed checkpoints (see [`checkpoints`]).
//!
//! Entries name participants by id only, never by phone number, address or position. Personal
//! free text (a tip's words, the control room's notes on a tip) is written sealed, see
//! [`TipText`], so that retention can destroy it without breaking the chain.

pub mod checkpoints;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Actor;
use super::access::{self, AccessError};
use crate::auth::staff::StaffMember;
use crate::db::dossier::{self as queries, DossierEntryRow, NewDossierEntry};
use crate::db::dossier_checkpoints as checkpoint_queries;
use crate::db::tips as tip_queries;
use crate::hex;
use crate::ids::{AlertId, TipId};
use crate::sealing::SealingKey;

/// Appends an event to the alert's dossier, on the connection of the transaction it belongs to.
pub async fn record(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    actor: &Actor,
    kind: &str,
    body: serde_json::Value,
) -> diesel::QueryResult<i32> {
    let label = actor.label();
    queries::append(
        conn,
        &NewDossierEntry { alert_id: alert, kind, actor: &label, actor_name: actor.name(), body },
    )
    .await
}

/// A staff member looked at the alert (`viewed`) or at part of it (`tips_viewed`). Recorded once
/// per quarter of an hour per person and kind, so a screen that refreshes does not bury the
/// dossier in views; the body is that of the first look.
pub async fn record_view(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    actor: &Actor,
    kind: &str,
    body: serde_json::Value,
) -> diesel::QueryResult<()> {
    const VIEW_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);
    if !queries::has_recent(conn, alert, kind, &actor.label(), VIEW_WINDOW).await? {
        record(conn, alert, actor, kind, body).await?;
    }
    Ok(())
}

/// A tip's personal text as the dossier keeps it: sealed with a key of the tip's own, which is
/// kept outside the chain (`tip_text_keys`). The chain hashes the sealed text. Retention deletes
/// the tip and its key with it: the words can then not be read by anyone, and every entry still
/// verifies. A participant's erasure keeps the key: their tips stay as evidence without their
/// identity (see `db::tips::detach_participant`) until the tips' own retention.
///
/// In a body, a sealed field is `{"sealed": "<base64>"}` next to the entry's `tip_id`.
pub struct TipText {
    tip: TipId,
    key: SealingKey,
}

impl TipText {
    /// The tip's key, made with its first sealed text. Call it after the tip's row is written, in
    /// the same transaction.
    pub async fn key_of(conn: &mut AsyncPgConnection, tip: TipId) -> diesel::QueryResult<Self> {
        let stored = tip_queries::text_key(conn, tip, SealingKey::generate().as_bytes()).await?;
        let key = SealingKey::from_slice(&stored).ok_or_else(|| {
            diesel::result::Error::DeserializationError("a tip text key is 32 bytes".into())
        })?;
        Ok(Self { tip, key })
    }

    /// `text` sealed as the body field `field` (it opens only there, for this tip).
    pub fn seal(&self, field: &str, text: &str) -> Value {
        json!({ SEALED: STANDARD.encode(self.key.seal(&Self::context(self.tip, field), text.as_bytes())) })
    }

    fn context(tip: TipId, field: &str) -> Vec<u8> {
        format!("dossier tip text {tip} {field}").into_bytes()
    }
}

const SEALED: &str = "sealed";

/// The sealed text of a body field, if it is one.
fn sealed_text(value: &Value) -> Option<&str> {
    let object = value.as_object()?;
    if object.len() != 1 {
        return None;
    }
    object.get(SEALED)?.as_str()
}

/// The tip whose key seals the body's sealed fields, when it has any.
fn sealing_tip(body: &Value) -> Option<TipId> {
    let fields = body.as_object()?;
    if !fields.values().any(|value| sealed_text(value).is_some()) {
        return None;
    }
    fields.get("tip_id")?.as_str()?.parse::<Uuid>().ok().map(TipId)
}

/// Opens the body's sealed fields with the tip's key. Without the key (retention destroyed it) a
/// field becomes `null` beside `<field>_removed: "retention"`; a text that does not open with the
/// key it has becomes `null` beside `<field>_unreadable: true`.
fn open_sealed_fields(body: &mut Value, tip: TipId, key: Option<&SealingKey>) {
    let Some(fields) = body.as_object_mut() else { return };
    let sealed: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), sealed_text(value)?.to_string())))
        .collect();
    for (name, text) in sealed {
        let Some(key) = key else {
            fields.insert(name.clone(), Value::Null);
            fields.insert(format!("{name}_removed"), json!("retention"));
            continue;
        };
        let opened = STANDARD
            .decode(&text)
            .ok()
            .and_then(|sealed| key.open(&TipText::context(tip, &name), &sealed))
            .and_then(|plain| String::from_utf8(plain).ok());
        match opened {
            Some(plain) => {
                fields.insert(name, json!(plain));
            }
            None => {
                tracing::warn!(tip_id = %tip, field = %name, "a sealed dossier text does not open with its tip's key");
                fields.insert(name.clone(), Value::Null);
                fields.insert(format!("{name}_unreadable"), json!(true));
            }
        }
    }
}

/// One entry as the export shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DossierEntry {
    pub seq: i32,
    /// What happened: `created`, `sent`, `deliveries`, `expanded`, `updated`, `closed`,
    /// `acknowledged`, `opened`, `tip`, `viewed`, `exported`, `device_removed`, `sms_receipt`, ...
    pub kind: String,
    /// `staff:<subject>`, `participant:<id>` or `system`.
    pub actor: String,
    pub actor_name: Option<String>,
    /// What the event was. A tip's words and notes on a tip (`text`, `note`) are shown as long as
    /// the tip is kept; after its retention they are `null` and `text_removed` / `note_removed`
    /// say `"retention"`.
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
    /// SHA-256 of the previous entry, hex; absent for the first.
    pub prev_hash: Option<String>,
    /// SHA-256 of this entry, hex.
    pub hash: String,
}

/// The entry as stored: sealed text stays sealed (see [`readable`]).
impl From<DossierEntryRow> for DossierEntry {
    fn from(row: DossierEntryRow) -> Self {
        Self {
            seq: row.seq,
            kind: row.kind,
            actor: row.actor,
            actor_name: row.actor_name,
            body: row.body,
            recorded_at: row.recorded_at,
            prev_hash: row.prev_hash.as_deref().map(hex),
            hash: hex(&row.hash),
        }
    }
}

/// Stored entries as people read them: sealed text opened while its tip's key exists, and
/// marked removed once retention destroyed it. The hashes stay those of the stored entries.
pub async fn readable(
    conn: &mut AsyncPgConnection,
    rows: Vec<DossierEntryRow>,
) -> diesel::QueryResult<Vec<DossierEntry>> {
    let mut tips: Vec<Uuid> = rows.iter().filter_map(|row| sealing_tip(&row.body)).map(|tip| tip.0).collect();
    tips.sort_unstable();
    tips.dedup();
    let keys: HashMap<Uuid, SealingKey> = if tips.is_empty() {
        HashMap::new()
    } else {
        tip_queries::text_keys(conn, &tips)
            .await?
            .into_iter()
            .filter_map(|(tip, key)| Some((tip, SealingKey::from_slice(&key)?)))
            .collect()
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut entry = DossierEntry::from(row);
            if let Some(tip) = sealing_tip(&entry.body) {
                open_sealed_fields(&mut entry.body, tip, keys.get(&tip.0));
            }
            entry
        })
        .collect())
}

/// Up to `limit` entries after entry `after_seq`, oldest first, [`readable`] (the live event
/// stream's page).
pub async fn entries_after(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    after_seq: i32,
    limit: i64,
) -> diesel::QueryResult<Vec<DossierEntry>> {
    let rows = queries::entries(conn, alert, after_seq, limit).await?;
    readable(conn, rows).await
}

/// The number of the alert's latest entry (0 when it has none).
pub async fn last_seq(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<i32> {
    queries::last_seq(conn, alert).await
}

/// Entries are read in pages of this many.
const PAGE: i64 = 1_000;

/// The whole dossier as a staff member who may see the alert exports it; the export is recorded
/// in it first (and so is its last entry).
pub async fn export_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    alert: AlertId,
) -> Result<Vec<DossierEntry>, AccessError> {
    access::region_seen_by(conn, staff, alert).await?;
    record(conn, alert, &Actor::staff(staff), "exported", json!({})).await?;
    Ok(export(conn, alert).await?)
}

/// The whole dossier, oldest first, [`readable`].
pub async fn export(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<Vec<DossierEntry>> {
    let mut entries = Vec::new();
    loop {
        let after = entries.last().map_or(0, |entry: &DossierEntry| entry.seq);
        let page = queries::entries(conn, alert, after, PAGE).await?;
        let done = (page.len() as i64) < PAGE;
        entries.extend(readable(conn, page).await?);
        if done {
            return Ok(entries);
        }
    }
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub entries: usize,
    /// The first entry that does not check out, and why; `None` when the chain is whole.
    pub first_broken: Option<BrokenEntry>,
}

/// The first entry of a dossier that does not check out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BrokenEntry {
    pub seq: i32,
    /// Why, in words: an entry missing, the link to the previous entry broken, or its contents
    /// changed after it was written.
    pub problem: String,
}

/// What the chain check found, as staff see it (`GET /v1/alerts/{id}/dossier/verification`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DossierVerification {
    /// Every entry checks out: numbered without gaps, each carrying its predecessor's hash and
    /// its own contents matching its hash.
    pub intact: bool,
    /// The entries that check out, from the first; all of them when the chain is intact.
    #[schema(value_type = u64)]
    pub entries: usize,
    /// The first entry that does not check out; `null` when the chain is intact.
    pub first_broken: Option<BrokenEntry>,
    /// The latest checkpoint that anchors this dossier outside the database, as the database
    /// records having written it; absent before the first. Holding the dossier against the signed
    /// checkpoints in the object store is `burgernet admin verify-dossier`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_checkpoint: Option<CheckpointAnchor>,
}

/// A checkpoint that anchors the dossier's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckpointAnchor {
    /// The checkpoint's number.
    pub number: i64,
    pub written_at: DateTime<Utc>,
    /// The dossier entry it anchors (its head when the checkpoint was written).
    pub seq: i32,
}

/// The alert's chain checked by [`verify`], for a staff member who may export the dossier (its
/// region's dispatchers, administrators). Reading the check changes nothing, the dossier neither.
pub async fn verification_for(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    alert: AlertId,
) -> Result<DossierVerification, AccessError> {
    access::region_seen_by(conn, staff, alert).await?;
    let Verification { entries, first_broken } = verify(conn, alert).await?;
    let last_checkpoint = checkpoint_queries::anchor_of(conn, alert).await?.map(|anchor| CheckpointAnchor {
        number: anchor.checkpoint,
        written_at: anchor.written_at,
        seq: anchor.seq,
    });
    Ok(DossierVerification { intact: first_broken.is_none(), entries, first_broken, last_checkpoint })
}

/// The text an entry's hash covers: each field as `<bytes>:<value>;` (the same as the
/// database's `alert_dossier_canonical_text`).
fn canonical_text(row: &DossierEntryRow, body_text: &str) -> String {
    let fields = [
        row.prev_hash.as_deref().map(hex).unwrap_or_default(),
        row.alert_id.to_string(),
        row.seq.to_string(),
        row.kind.clone(),
        row.actor.clone(),
        row.actor_name.clone().unwrap_or_default(),
        row.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        body_text.to_string(),
    ];
    fields.iter().map(|field| format!("{}:{field};", field.len())).collect()
}

/// Recomputes every entry's hash from its stored fields and checks that each entry names its
/// predecessor's hash and that the numbering has no gaps.
pub async fn verify(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<Verification> {
    let mut checked = 0usize;
    let mut previous: Option<(i32, Vec<u8>)> = None;
    loop {
        let after = previous.as_ref().map_or(0, |(seq, _)| *seq);
        let rows = queries::entries(conn, alert, after, PAGE).await?;
        let bodies = queries::body_texts(conn, alert, after, PAGE).await?;
        let done = (rows.len() as i64) < PAGE;
        for (row, (body_seq, body_text)) in rows.iter().zip(&bodies) {
            debug_assert_eq!(row.seq, *body_seq);
            if let Some(problem) = check_entry(row, body_text, previous.as_ref()) {
                return Ok(Verification {
                    entries: checked,
                    first_broken: Some(BrokenEntry { seq: row.seq, problem }),
                });
            }
            checked += 1;
            previous = Some((row.seq, row.hash.clone()));
        }
        if done {
            return Ok(Verification { entries: checked, first_broken: None });
        }
    }
}

fn check_entry(row: &DossierEntryRow, body_text: &str, previous: Option<&(i32, Vec<u8>)>) -> Option<String> {
    let expected_seq = previous.map_or(1, |(seq, _)| seq + 1);
    if row.seq != expected_seq {
        return Some(format!("expected entry {expected_seq} here, found {}: an entry is missing", row.seq));
    }
    if row.prev_hash.as_deref() != previous.map(|(_, hash)| hash.as_slice()) {
        return Some("it does not carry the previous entry's hash".into());
    }
    let computed = Sha256::digest(canonical_text(row, body_text).as_bytes());
    if computed[..] != row.hash[..] {
        return Some("its contents do not match its hash: it was changed after it was written".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tip_text() -> TipText {
        TipText { tip: TipId(Uuid::new_v4()), key: SealingKey::generate() }
    }

    #[test]
    fn a_sealed_text_opens_with_its_tips_key_and_reads_as_removed_without_it() {
        let sealing = tip_text();
        let stored =
            json!({"tip_id": sealing.tip, "text": sealing.seal("text", "Rode jas"), "may_call_back": true});
        assert!(!stored.to_string().contains("Rode jas"), "{stored}");
        assert_eq!(sealing_tip(&stored), Some(sealing.tip));

        let mut opened = stored.clone();
        open_sealed_fields(&mut opened, sealing.tip, Some(&sealing.key));
        assert_eq!(opened, json!({"tip_id": sealing.tip, "text": "Rode jas", "may_call_back": true}));

        let mut removed = stored;
        open_sealed_fields(&mut removed, sealing.tip, None);
        assert_eq!(
            removed,
            json!({"tip_id": sealing.tip, "text": null, "text_removed": "retention", "may_call_back": true})
        );
    }

    #[test]
    fn a_sealed_text_moved_to_another_field_or_tip_does_not_open() {
        let sealing = tip_text();
        let mut moved = json!({"tip_id": sealing.tip, "note": sealing.seal("text", "Rode jas")});
        open_sealed_fields(&mut moved, sealing.tip, Some(&sealing.key));
        assert_eq!(moved, json!({"tip_id": sealing.tip, "note": null, "note_unreadable": true}));
    }

    #[test]
    fn a_body_without_sealed_text_is_left_alone() {
        let body = json!({"tip_id": Uuid::new_v4(), "note": null, "reason": {"code": "x"}});
        assert_eq!(sealing_tip(&body), None);
    }
}
