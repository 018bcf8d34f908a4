//! The SQL of the alert dossier. Appending is the only write there is: the database numbers the
//! entry, stamps its time, chains its hash to the previous entry's, and refuses updates and
//! deletes (see the alerts migration).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::alert_dossier;
use crate::ids::AlertId;

/// An entry to append; `seq`, `recorded_at` and the hashes come from the database.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = alert_dossier)]
pub struct NewDossierEntry<'a> {
    pub alert_id: AlertId,
    pub kind: &'a str,
    /// `staff:<subject>`, `participant:<id>` or `system`.
    pub actor: &'a str,
    pub actor_name: Option<&'a str>,
    pub body: serde_json::Value,
}

/// A stored entry, as the verifier and the export read it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alert_dossier)]
pub struct DossierEntryRow {
    pub alert_id: AlertId,
    pub seq: i32,
    pub kind: String,
    pub actor: String,
    pub actor_name: Option<String>,
    pub body: serde_json::Value,
    pub recorded_at: DateTime<Utc>,
    pub prev_hash: Option<Vec<u8>>,
    pub hash: Vec<u8>,
}

/// Appends one entry; returns its sequence number. Call it on the connection of the transaction
/// whose change it records, so the record and the change commit together.
pub async fn append(conn: &mut AsyncPgConnection, entry: &NewDossierEntry<'_>) -> QueryResult<i32> {
    diesel::insert_into(alert_dossier::table)
        .values(entry.clone())
        .returning(alert_dossier::seq)
        .get_result(conn)
        .await
}

/// The entries after `after_seq` (0: from the start), oldest first, at most `limit`.
pub async fn entries(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    after_seq: i32,
    limit: i64,
) -> QueryResult<Vec<DossierEntryRow>> {
    alert_dossier::table
        .filter(alert_dossier::alert_id.eq(alert.0))
        .filter(alert_dossier::seq.gt(after_seq))
        .order_by(alert_dossier::seq)
        .limit(limit)
        .select(DossierEntryRow::as_select())
        .load(conn)
        .await
}

/// Each entry's body exactly as the database renders it (`body::text`), which is what its hash
/// covers; the verifier needs these bytes, not a re-serialisation.
pub async fn body_texts(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    after_seq: i32,
    limit: i64,
) -> QueryResult<Vec<(i32, String)>> {
    alert_dossier::table
        .filter(alert_dossier::alert_id.eq(alert.0))
        .filter(alert_dossier::seq.gt(after_seq))
        .order_by(alert_dossier::seq)
        .limit(limit)
        .select((alert_dossier::seq, diesel::dsl::sql::<diesel::sql_types::Text>("body::text")))
        .load(conn)
        .await
}

/// The number of the alert's latest entry (0 when it has none).
pub async fn last_seq(conn: &mut AsyncPgConnection, alert: AlertId) -> QueryResult<i32> {
    alert_dossier::table
        .filter(alert_dossier::alert_id.eq(alert.0))
        .select(diesel::dsl::max(alert_dossier::seq))
        .first::<Option<i32>>(conn)
        .await
        .map(Option::unwrap_or_default)
}

/// Whether `actor` has an entry of `kind` in the alert's dossier from the last `within`.
pub async fn has_recent(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    kind: &str,
    actor: &str,
    within: std::time::Duration,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        alert_dossier::table
            .filter(alert_dossier::alert_id.eq(alert.0))
            .filter(alert_dossier::kind.eq(kind))
            .filter(alert_dossier::actor.eq(actor))
            .filter(alert_dossier::recorded_at.gt(Utc::now() - within)),
    ))
    .get_result(conn)
    .await
}
