//! The SQL of alerts' public pages: the unguessable id a real alert gets when it is sent, the
//! municipalities its area touches, the closed alerts of a region for the public feed, and the
//! closing reports written for the website.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::{alerts, closing_reports};
use crate::ids::{AlertId, RegionId};
use crate::vocabulary::alerts::{AlertPurpose, AlertStatus};

/// Gives the alert its public id.
pub async fn set_public_id(conn: &mut AsyncPgConnection, alert: AlertId, public_id: &str) -> QueryResult<()> {
    diesel::update(alerts::table.find(alert.0))
        .set(alerts::public_id.eq(public_id))
        .execute(conn)
        .await
        .map(drop)
}

/// The real, sent alert whose public id this is. The status and purpose are checked here too, so
/// an id that somehow sat on a draft or an exercise still opens nothing.
pub async fn find_by_public_id(
    conn: &mut AsyncPgConnection,
    public_id: &str,
) -> QueryResult<Option<AlertId>> {
    alerts::table
        .filter(alerts::public_id.eq(public_id))
        .filter(alerts::status.ne(AlertStatus::Draft))
        .filter(alerts::purpose.eq(AlertPurpose::Actual))
        .select(alerts::id)
        .first(conn)
        .await
        .optional()
}

/// The region's closed real alerts that have a public page, the latest closed first.
pub async fn closed_public_alerts(
    conn: &mut AsyncPgConnection,
    region: RegionId,
    limit: i64,
) -> QueryResult<Vec<AlertId>> {
    alerts::table
        .filter(alerts::region_id.eq(region.0))
        .filter(alerts::status.eq(AlertStatus::Closed))
        .filter(alerts::purpose.eq(AlertPurpose::Actual))
        .filter(alerts::public_id.is_not_null())
        .order_by((alerts::closed_at.desc(), alerts::id))
        .select(alerts::id)
        .limit(limit)
        .load(conn)
        .await
}

#[derive(Debug, QueryableByName)]
pub struct TouchedMunicipality {
    #[diesel(sql_type = SqlUuid)]
    pub alert_id: AlertId,
    #[diesel(sql_type = Text)]
    pub name: String,
}

/// The municipalities whose land the areas of these alerts (all waves) cover part of, by name; a
/// boundary the area only touches does not count.
pub async fn municipalities_touched(
    conn: &mut AsyncPgConnection,
    ids: &[AlertId],
) -> QueryResult<Vec<TouchedMunicipality>> {
    diesel::sql_query(
        "SELECT a.id AS alert_id, m.name
           FROM alerts a JOIN municipalities m
             ON ST_Intersects(m.boundary, a.area) AND NOT ST_Touches(m.boundary, a.area)
          WHERE a.id = ANY ($1)
          ORDER BY a.id, m.name",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = closing_reports)]
pub struct ClosingReportRow {
    pub alert_id: AlertId,
    pub text: String,
    pub written_by_subject: String,
    pub written_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Writes the alert's closing report, or replaces its text (keeping when it was first written).
pub async fn write_closing_report(
    conn: &mut AsyncPgConnection,
    alert: AlertId,
    text: &str,
    subject: &str,
) -> QueryResult<ClosingReportRow> {
    diesel::insert_into(closing_reports::table)
        .values((
            closing_reports::alert_id.eq(alert.0),
            closing_reports::text.eq(text),
            closing_reports::written_by_subject.eq(subject),
        ))
        .on_conflict(closing_reports::alert_id)
        .do_update()
        .set((
            closing_reports::text.eq(text),
            closing_reports::written_by_subject.eq(subject),
            closing_reports::updated_at.eq(diesel::dsl::now),
        ))
        .returning(ClosingReportRow::as_returning())
        .get_result(conn)
        .await
}

/// The closing reports of those of these alerts that have one.
pub async fn closing_reports_of(
    conn: &mut AsyncPgConnection,
    ids: &[AlertId],
) -> QueryResult<Vec<ClosingReportRow>> {
    closing_reports::table
        .filter(closing_reports::alert_id.eq_any(ids))
        .select(ClosingReportRow::as_select())
        .load(conn)
        .await
}
