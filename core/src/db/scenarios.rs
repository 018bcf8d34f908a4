//! The SQL of scenarios (`crate::scenarios`): the alert templates a region keeps.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::{Array, Bool, Double, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ids::{RegionId, ScenarioId};
use crate::vocabulary::regions::RegionCode;
use crate::vocabulary::{Category, Channel};

/// A scenario as an alert's dossier names it: by id, and by the name it had then.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScenarioRef {
    pub id: ScenarioId,
    pub name: String,
}

/// Whether `error` is the unique violation of another scenario of the region, not archived, with
/// the same name (in any case).
pub fn is_name_taken(error: &Error) -> bool {
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name() == Some("scenarios_name_idx")
    )
}

/// What a scenario says, as written when it is created or replaced.
pub struct ScenarioFields<'a> {
    pub name: &'a str,
    pub category: Category,
    pub urgent: bool,
    pub channels: &'a [Channel],
    pub radius_meters: f64,
    pub texts: &'a serde_json::Value,
}

/// Binds `fields` as the query's next six parameters, in the order of [`ScenarioFields`].
fn bind_fields<'a>(
    query: BoxedSqlQuery<'a, Pg, SqlQuery>,
    fields: &ScenarioFields<'a>,
) -> BoxedSqlQuery<'a, Pg, SqlQuery> {
    query
        .bind::<Text, _>(fields.name)
        .bind::<Text, _>(fields.category)
        .bind::<Bool, _>(fields.urgent)
        .bind::<Array<Text>, _>(fields.channels)
        .bind::<Double, _>(fields.radius_meters)
        .bind::<Jsonb, _>(fields.texts)
}

/// Fails with a unique violation (see [`is_name_taken`]) when the name is taken.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: ScenarioId,
    region: RegionId,
    fields: &ScenarioFields<'_>,
    created_by_subject: &str,
) -> QueryResult<()> {
    let query = diesel::sql_query(
        "INSERT INTO scenarios (id, region_id, name, category, urgent, channels, radius_meters, texts,
                                created_by_subject)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .into_boxed()
    .bind::<SqlUuid, _>(id.0)
    .bind::<SqlUuid, _>(region.0);
    bind_fields(query, fields).bind::<Text, _>(created_by_subject).execute(conn).await?;
    Ok(())
}

/// A scenario as stored, with its region's code.
#[derive(Debug, Clone, QueryableByName)]
pub struct ScenarioRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: ScenarioId,
    #[diesel(sql_type = Text)]
    pub region_code: RegionCode,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub category: Category,
    #[diesel(sql_type = Bool)]
    pub urgent: bool,
    #[diesel(sql_type = Array<Text>)]
    pub channels: Vec<Channel>,
    #[diesel(sql_type = Double)]
    pub radius_meters: f64,
    #[diesel(sql_type = Jsonb)]
    pub texts: serde_json::Value,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub archived_at: Option<DateTime<Utc>>,
}

const SCENARIO_COLUMNS: &str = "
    s.id, r.code AS region_code, s.name, s.category, s.urgent, s.channels, s.radius_meters, s.texts,
    s.created_at, s.updated_at, s.archived_at
    FROM scenarios s JOIN regions r ON r.id = s.region_id";

pub async fn find(conn: &mut AsyncPgConnection, id: ScenarioId) -> QueryResult<Option<ScenarioRow>> {
    diesel::sql_query(format!("SELECT {SCENARIO_COLUMNS} WHERE s.id = $1"))
        .bind::<SqlUuid, _>(id.0)
        .get_result(conn)
        .await
        .optional()
}

/// The region's scenarios that are not archived, by name.
pub async fn list(conn: &mut AsyncPgConnection, region: RegionId) -> QueryResult<Vec<ScenarioRow>> {
    diesel::sql_query(format!(
        "SELECT {SCENARIO_COLUMNS} WHERE s.region_id = $1 AND s.archived_at IS NULL ORDER BY lower(s.name), s.id"
    ))
    .bind::<SqlUuid, _>(region.0)
    .load(conn)
    .await
}

/// Replaces what a scenario that is not archived says. Returns whether there was one; fails with
/// a unique violation (see [`is_name_taken`]) when the new name is taken.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    id: ScenarioId,
    fields: &ScenarioFields<'_>,
) -> QueryResult<bool> {
    let query = diesel::sql_query(
        "UPDATE scenarios
            SET name = $2, category = $3, urgent = $4, channels = $5, radius_meters = $6, texts = $7,
                updated_at = now()
          WHERE id = $1 AND archived_at IS NULL",
    )
    .into_boxed()
    .bind::<SqlUuid, _>(id.0);
    let changed = bind_fields(query, fields).execute(conn).await?;
    Ok(changed == 1)
}

/// Archives the scenario; an archived one stays as it is.
pub async fn archive(conn: &mut AsyncPgConnection, id: ScenarioId) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE scenarios SET archived_at = now(), updated_at = now() WHERE id = $1 AND archived_at IS NULL",
    )
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
    .await?;
    Ok(())
}
