//! The SQL of the dossier's checkpoints (see `alerts::dossier::checkpoints`): which checkpoint
//! was written last, and which dossiers grew since their head was last anchored.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ids::AlertId;

/// The advisory lock that lets one writer of checkpoints at a time through (any fixed number;
/// this one spells "dossierc").
const CHECKPOINT_LOCK: i64 = 0x646f_7373_6965_7263;

/// The last entry of an alert's dossier.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct ChainHeadRow {
    #[diesel(sql_type = SqlUuid)]
    pub alert_id: AlertId,
    #[diesel(sql_type = Integer)]
    pub seq: i32,
    #[diesel(sql_type = Bytea)]
    pub hash: Vec<u8>,
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct LastCheckpoint {
    #[diesel(sql_type = BigInt)]
    number: i64,
    #[diesel(sql_type = Bytea)]
    digest: Vec<u8>,
}

#[derive(QueryableByName)]
struct EntryHash {
    #[diesel(sql_type = Bytea)]
    hash: Vec<u8>,
}

/// Takes the writers' lock for the rest of the transaction; false when another writer holds it.
pub async fn try_lock(conn: &mut AsyncPgConnection) -> diesel::QueryResult<bool> {
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked")
        .bind::<BigInt, _>(CHECKPOINT_LOCK)
        .get_result(conn)
        .await?;
    Ok(row.locked)
}

/// The number and digest of the last checkpoint written; None before the first.
pub async fn last(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<(i64, Vec<u8>)>> {
    let row: Option<LastCheckpoint> =
        diesel::sql_query("SELECT number, digest FROM dossier_checkpoints ORDER BY number DESC LIMIT 1")
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|row| (row.number, row.digest)))
}

/// The heads of the dossiers that grew since a checkpoint last anchored them (or never were), by
/// alert id, at most `limit`. One index probe per alert.
pub async fn unanchored_heads(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> diesel::QueryResult<Vec<ChainHeadRow>> {
    diesel::sql_query(
        "SELECT alerts.id AS alert_id, head.seq, head.hash
           FROM alerts
          CROSS JOIN LATERAL (SELECT seq, hash FROM alert_dossier
                               WHERE alert_id = alerts.id ORDER BY seq DESC LIMIT 1) head
           LEFT JOIN dossier_anchors anchor ON anchor.alert_id = alerts.id
          WHERE anchor.seq IS DISTINCT FROM head.seq
          ORDER BY alerts.id
          LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Remembers checkpoint `number` and the heads it anchors.
pub async fn record(
    conn: &mut AsyncPgConnection,
    number: i64,
    digest: &[u8],
    written_at: DateTime<Utc>,
    heads: &[(AlertId, i32)],
) -> diesel::QueryResult<()> {
    diesel::sql_query("INSERT INTO dossier_checkpoints (number, digest, written_at) VALUES ($1, $2, $3)")
        .bind::<BigInt, _>(number)
        .bind::<Bytea, _>(digest)
        .bind::<Timestamptz, _>(written_at)
        .execute(conn)
        .await?;
    let (alerts, seqs): (Vec<AlertId>, Vec<i32>) = heads.iter().copied().unzip();
    diesel::sql_query(
        "INSERT INTO dossier_anchors (alert_id, seq, checkpoint)
         SELECT alert_id, seq, $3 FROM unnest($1::uuid[], $2::integer[]) AS heads (alert_id, seq)
         ON CONFLICT (alert_id) DO UPDATE SET seq = excluded.seq, checkpoint = excluded.checkpoint",
    )
    .bind::<Array<SqlUuid>, _>(alerts)
    .bind::<Array<Integer>, _>(seqs)
    .bind::<BigInt, _>(number)
    .execute(conn)
    .await?;
    Ok(())
}

/// The hash of entry `seq` of the alert's dossier; None when there is no such entry.
pub async fn entry_hash(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    seq: i32,
) -> diesel::QueryResult<Option<Vec<u8>>> {
    let row: Option<EntryHash> =
        diesel::sql_query("SELECT hash FROM alert_dossier WHERE alert_id = $1 AND seq = $2")
            .bind::<SqlUuid, _>(alert.0)
            .bind::<Integer, _>(seq)
            .get_result(conn)
            .await
            .optional()?;
    Ok(row.map(|row| row.hash))
}

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Nullable<diesel::sql_types::Bool>)]
    flag: Option<bool>,
}

/// Whether the role this connection runs as could rewrite the dossier: a superuser, a member of
/// its owner's role (who may switch its triggers off) or one granted UPDATE, DELETE or TRUNCATE.
/// The application should run as a role that can only read and append (see `burgernet migrate`).
pub async fn role_can_rewrite_dossier(conn: &mut AsyncPgConnection) -> diesel::QueryResult<bool> {
    let row: Flag = diesel::sql_query(
        "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
             OR pg_has_role(current_user, relowner, 'USAGE')
             OR has_table_privilege(current_user, oid, 'UPDATE, DELETE, TRUNCATE') AS flag
           FROM pg_class WHERE oid = 'alert_dossier'::regclass",
    )
    .get_result(conn)
    .await?;
    Ok(row.flag.unwrap_or(true))
}

/// The latest head of an alert's dossier a checkpoint anchors, as this database remembers
/// writing it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct AnchorRow {
    /// The checkpoint's number.
    #[diesel(sql_type = BigInt)]
    pub checkpoint: i64,
    #[diesel(sql_type = Timestamptz)]
    pub written_at: DateTime<Utc>,
    /// The dossier entry it anchors.
    #[diesel(sql_type = Integer)]
    pub seq: i32,
}

pub async fn anchor_of(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
) -> diesel::QueryResult<Option<AnchorRow>> {
    diesel::sql_query(
        "SELECT anchor.checkpoint, checkpoint.written_at, anchor.seq
           FROM dossier_anchors anchor JOIN dossier_checkpoints checkpoint ON checkpoint.number = anchor.checkpoint
          WHERE anchor.alert_id = $1",
    )
    .bind::<SqlUuid, _>(alert.0)
    .get_result(conn)
    .await
    .optional()
}
