//! The alert dossier (actiedossier): every event of an alert, append-only and tamper-evident,
//! usable later in the investigation. The database numbers entries, stamps their time, chains
//! each to the previous by SHA-256 and refuses to change or delete them (see the alerts
//! migration); [`verify`] recomputes the chain independently and names the first broken entry.
//!
//! Whoever can switch those triggers off could also re-chain a rewritten dossier, so the chain
//! heads are also anchored outside the database, in signed checkpoints (see [`checkpoints`]).
//!
//! Entries name participants by id only, never by phone number, address or position.

pub mod checkpoints;

use chrono::{DateTime, SecondsFormat, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Actor;
use crate::db::dossier::{self as queries, DossierEntryRow, NewDossierEntry};
use crate::hex;
use crate::ids::AlertId;

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
        &NewDossierEntry { alert_id: alert.0, kind, actor: &label, actor_name: actor.name(), body },
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
    #[schema(value_type = Object)]
    pub body: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
    /// SHA-256 of the previous entry, hex; absent for the first.
    pub prev_hash: Option<String>,
    /// SHA-256 of this entry, hex.
    pub hash: String,
}

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

/// Entries are read in pages of this many.
const PAGE: i64 = 1_000;

/// The whole dossier, oldest first.
pub async fn export(conn: &mut AsyncPgConnection, alert: AlertId) -> diesel::QueryResult<Vec<DossierEntry>> {
    let mut entries = Vec::new();
    loop {
        let after = entries.last().map_or(0, |entry: &DossierEntry| entry.seq);
        let page = queries::entries(conn, alert, after, PAGE).await?;
        let done = (page.len() as i64) < PAGE;
        entries.extend(page.into_iter().map(DossierEntry::from));
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenEntry {
    pub seq: i32,
    pub problem: String,
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
