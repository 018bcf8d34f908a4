//! The SQL of target groups (`crate::target_groups`): the groups of a region, their members (a
//! pending request or an approved member each), and what alerts need of them.

use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::result::{DatabaseErrorKind, Error};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::ids::{ParticipantId, RegionId, TargetGroupId};
use crate::vocabulary::MembershipStatus;
use crate::vocabulary::phone::PhoneNumber;
use crate::vocabulary::regions::RegionCode;

/// A target group as an alert names it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, serde::Serialize, utoipa::ToSchema)]
pub struct TargetGroupRef {
    #[diesel(sql_type = SqlUuid)]
    #[schema(value_type = uuid::Uuid)]
    pub id: TargetGroupId,
    #[diesel(sql_type = Text)]
    pub name: String,
}

/// The non-archived groups of `region` among `ids`, by name; the others are left out.
pub async fn usable_in_region(
    conn: &mut AsyncPgConnection,
    region: RegionId,
    ids: &[TargetGroupId],
) -> QueryResult<Vec<TargetGroupRef>> {
    diesel::sql_query(
        "SELECT id, name FROM target_groups
          WHERE id = ANY ($1) AND region_id = $2 AND archived_at IS NULL
          ORDER BY name, id",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<SqlUuid, _>(region.0)
    .load(conn)
    .await
}

/// Which uniqueness a write ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Another group of the region that is not archived has the name (in any case).
    NameTaken,
    /// Another group has the invitation code.
    CodeTaken,
}

/// The uniqueness `error` ran into, if it is a unique violation of `target_groups`.
pub fn conflict_of(error: &Error) -> Option<Conflict> {
    match error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => match info.constraint_name() {
            Some("target_groups_name_idx") => Some(Conflict::NameTaken),
            Some("target_groups_invitation_code_key") => Some(Conflict::CodeTaken),
            _ => None,
        },
        _ => None,
    }
}

pub struct NewGroup<'a> {
    pub id: TargetGroupId,
    pub region_id: RegionId,
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub owner_subject: &'a str,
    pub owner_name: Option<&'a str>,
    pub invitation_code: &'a str,
    pub created_by_subject: &'a str,
}

/// Fails with a unique violation (see [`conflict_of`]) when the name or the code is taken.
pub async fn insert(conn: &mut AsyncPgConnection, group: &NewGroup<'_>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO target_groups (id, region_id, name, description, owner_subject, owner_name,
                                    invitation_code, created_by_subject)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind::<SqlUuid, _>(group.id.0)
    .bind::<SqlUuid, _>(group.region_id.0)
    .bind::<Text, _>(group.name)
    .bind::<Nullable<Text>, _>(group.description)
    .bind::<Text, _>(group.owner_subject)
    .bind::<Nullable<Text>, _>(group.owner_name)
    .bind::<Text, _>(group.invitation_code)
    .bind::<Text, _>(group.created_by_subject)
    .execute(conn)
    .await?;
    Ok(())
}

/// A group as stored, with its region's code and how many members it has of each status.
#[derive(Debug, Clone, QueryableByName)]
pub struct GroupRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: TargetGroupId,
    #[diesel(sql_type = Text)]
    pub region_code: RegionCode,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub description: Option<String>,
    #[diesel(sql_type = Text)]
    pub owner_subject: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner_name: Option<String>,
    /// As stored: ten characters, no hyphens.
    #[diesel(sql_type = Text)]
    pub invitation_code: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub archived_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = BigInt)]
    pub approved_members: i64,
    #[diesel(sql_type = BigInt)]
    pub pending_members: i64,
}

const GROUP_COLUMNS: &str = "
    g.id, r.code AS region_code, g.name, g.description, g.owner_subject, g.owner_name,
    g.invitation_code, g.created_at, g.updated_at, g.archived_at,
    (SELECT count(*) FROM target_group_members m WHERE m.group_id = g.id AND m.status = 'approved')
        AS approved_members,
    (SELECT count(*) FROM target_group_members m WHERE m.group_id = g.id AND m.status = 'pending')
        AS pending_members
    FROM target_groups g JOIN regions r ON r.id = g.region_id";

pub async fn find(conn: &mut AsyncPgConnection, id: TargetGroupId) -> QueryResult<Option<GroupRow>> {
    diesel::sql_query(format!("SELECT {GROUP_COLUMNS} WHERE g.id = $1"))
        .bind::<SqlUuid, _>(id.0)
        .get_result(conn)
        .await
        .optional()
}

/// The groups of `region` (none: of every region), by region and name; archived ones only with
/// `with_archived`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    region: Option<&RegionCode>,
    with_archived: bool,
) -> QueryResult<Vec<GroupRow>> {
    diesel::sql_query(format!(
        "SELECT {GROUP_COLUMNS}
          WHERE ($1::text IS NULL OR r.code = $1) AND ($2 OR g.archived_at IS NULL)
          ORDER BY r.code, lower(g.name), g.archived_at NULLS FIRST, g.id"
    ))
    .bind::<Nullable<Text>, _>(region.map(RegionCode::as_str))
    .bind::<Bool, _>(with_archived)
    .load(conn)
    .await
}

/// Changes to a group; `None` keeps a field as it is.
#[derive(Debug, Default)]
pub struct GroupChanges<'a> {
    pub name: Option<&'a str>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<&'a str>>,
    /// The owner's subject and name, together.
    pub owner: Option<(&'a str, Option<&'a str>)>,
}

/// Changes a group that is not archived. Returns whether there was one; fails with a unique
/// violation (see [`conflict_of`]) when the new name is taken.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: TargetGroupId,
    changes: &GroupChanges<'_>,
) -> QueryResult<bool> {
    let (owner_subject, owner_name) = changes.owner.unzip();
    let changed = diesel::sql_query(
        "UPDATE target_groups
            SET name = coalesce($2, name),
                description = CASE WHEN $3 THEN $4 ELSE description END,
                owner_subject = coalesce($5, owner_subject),
                owner_name = CASE WHEN $5 IS NULL THEN owner_name ELSE $6 END,
                updated_at = now()
          WHERE id = $1 AND archived_at IS NULL",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<Nullable<Text>, _>(changes.name)
    .bind::<Bool, _>(changes.description.is_some())
    .bind::<Nullable<Text>, _>(changes.description.flatten())
    .bind::<Nullable<Text>, _>(owner_subject)
    .bind::<Nullable<Text>, _>(owner_name.flatten())
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Gives a group that is not archived a new invitation code. Returns whether there was one;
/// fails with a unique violation (see [`conflict_of`]) when the code is taken.
pub async fn set_invitation_code(
    conn: &mut AsyncPgConnection,
    id: TargetGroupId,
    code: &str,
) -> QueryResult<bool> {
    let changed = diesel::sql_query(
        "UPDATE target_groups SET invitation_code = $2, updated_at = now()
          WHERE id = $1 AND archived_at IS NULL",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<Text, _>(code)
    .execute(conn)
    .await?;
    Ok(changed == 1)
}

/// Archives the group (an archived one stays as it is) and deletes its pending requests; approved
/// members stay, as the alerts that reached them keep naming the group. Call in a transaction.
pub async fn archive(conn: &mut AsyncPgConnection, id: TargetGroupId) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE target_groups SET archived_at = now(), updated_at = now()
          WHERE id = $1 AND archived_at IS NULL",
    )
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
    .await?;
    diesel::sql_query("DELETE FROM target_group_members WHERE group_id = $1 AND status = 'pending'")
        .bind::<SqlUuid, _>(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// What asking to join came to.
#[derive(Debug, Clone, QueryableByName)]
pub struct JoinRequest {
    #[diesel(sql_type = SqlUuid)]
    pub group_id: TargetGroupId,
    /// False when the participant had asked (or was a member) already.
    #[diesel(sql_type = Bool)]
    pub added: bool,
}

/// The participant asks to join the non-archived group with the invitation code `code` (as
/// stored). None: no such group. The group is locked while the request is written, so a group
/// archived meanwhile takes none.
pub async fn request_membership(
    conn: &mut AsyncPgConnection,
    code: &str,
    participant: ParticipantId,
) -> QueryResult<Option<JoinRequest>> {
    diesel::sql_query(
        "WITH g AS (SELECT id FROM target_groups WHERE invitation_code = $1 AND archived_at IS NULL FOR SHARE),
              added AS (INSERT INTO target_group_members (group_id, participant_id, status)
                        SELECT id, $2, 'pending' FROM g
                        ON CONFLICT DO NOTHING RETURNING group_id)
         SELECT g.id AS group_id, EXISTS (SELECT 1 FROM added) AS added FROM g",
    )
    .bind::<Text, _>(code)
    .bind::<SqlUuid, _>(participant.0)
    .get_result(conn)
    .await
    .optional()
}

/// A membership as the participant sees it.
#[derive(Debug, Clone, QueryableByName)]
pub struct MembershipRow {
    #[diesel(sql_type = SqlUuid)]
    pub group_id: TargetGroupId,
    #[diesel(sql_type = Text)]
    pub group_name: String,
    #[diesel(sql_type = Text)]
    pub region_code: RegionCode,
    #[diesel(sql_type = Text)]
    pub status: MembershipStatus,
    #[diesel(sql_type = Timestamptz)]
    pub requested_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
}

/// The participant's requests and memberships, oldest first: of groups that are not archived, or
/// (`with_archived`, for their data export) of every group; with `group`, only that group's.
pub async fn memberships(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    group: Option<TargetGroupId>,
    with_archived: bool,
) -> QueryResult<Vec<MembershipRow>> {
    diesel::sql_query(
        "SELECT g.id AS group_id, g.name AS group_name, r.code AS region_code, m.status,
                m.requested_at, m.decided_at
           FROM target_group_members m
           JOIN target_groups g ON g.id = m.group_id
           JOIN regions r ON r.id = g.region_id
          WHERE m.participant_id = $1 AND ($3 OR g.archived_at IS NULL) AND ($2::uuid IS NULL OR g.id = $2)
          ORDER BY m.requested_at, g.id",
    )
    .bind::<SqlUuid, _>(participant.0)
    .bind::<Nullable<SqlUuid>, _>(group.map(|group| group.0))
    .bind::<Bool, _>(with_archived)
    .load(conn)
    .await
}

/// Deletes the participant's request or membership. Returns whether there was one.
pub async fn delete_membership(
    conn: &mut AsyncPgConnection,
    group: TargetGroupId,
    participant: ParticipantId,
) -> QueryResult<bool> {
    let deleted =
        diesel::sql_query("DELETE FROM target_group_members WHERE group_id = $1 AND participant_id = $2")
            .bind::<SqlUuid, _>(group.0)
            .bind::<SqlUuid, _>(participant.0)
            .execute(conn)
            .await?;
    Ok(deleted == 1)
}

/// A member (or a request) as the owner sees it.
#[derive(Debug, Clone, QueryableByName)]
pub struct MemberRow {
    #[diesel(sql_type = SqlUuid)]
    pub participant_id: ParticipantId,
    #[diesel(sql_type = Nullable<Text>)]
    pub display_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone_number: Option<PhoneNumber>,
    #[diesel(sql_type = Text)]
    pub status: MembershipStatus,
    #[diesel(sql_type = Timestamptz)]
    pub requested_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// One page of the group's members (of one status, or all), oldest request first, and how many
/// there are.
pub async fn members(
    conn: &mut AsyncPgConnection,
    group: TargetGroupId,
    status: Option<MembershipStatus>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<MemberRow>, i64)> {
    let rows = diesel::sql_query(
        "SELECT m.participant_id, p.display_name, p.phone_number, m.status, m.requested_at, m.decided_at
           FROM target_group_members m JOIN participants p ON p.id = m.participant_id
          WHERE m.group_id = $1 AND ($2::text IS NULL OR m.status = $2)
          ORDER BY m.requested_at, m.participant_id
          LIMIT $3 OFFSET $4",
    )
    .bind::<SqlUuid, _>(group.0)
    .bind::<Nullable<Text>, _>(status)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
    .await?;
    let total: Total = diesel::sql_query(
        "SELECT count(*) AS total FROM target_group_members
          WHERE group_id = $1 AND ($2::text IS NULL OR status = $2)",
    )
    .bind::<SqlUuid, _>(group.0)
    .bind::<Nullable<Text>, _>(status)
    .get_result(conn)
    .await?;
    Ok((rows, total.total))
}

/// Approves the participant's request (an approved member stays as approved, when and by whom it
/// was). None: they neither asked nor are a member.
pub async fn approve(
    conn: &mut AsyncPgConnection,
    group: TargetGroupId,
    participant: ParticipantId,
    decided_by_subject: &str,
) -> QueryResult<Option<MemberRow>> {
    diesel::sql_query(
        "WITH approved AS (
             UPDATE target_group_members
                SET status = 'approved', decided_at = coalesce(decided_at, now()),
                    decided_by_subject = coalesce(decided_by_subject, $3)
              WHERE group_id = $1 AND participant_id = $2
             RETURNING participant_id, status, requested_at, decided_at)
         SELECT a.participant_id, p.display_name, p.phone_number, a.status, a.requested_at, a.decided_at
           FROM approved a JOIN participants p ON p.id = a.participant_id",
    )
    .bind::<SqlUuid, _>(group.0)
    .bind::<SqlUuid, _>(participant.0)
    .bind::<Text, _>(decided_by_subject)
    .get_result(conn)
    .await
    .optional()
}

/// The participant is in no group any more, not even as a request (erasure).
pub async fn forget_participant(conn: &mut AsyncPgConnection, participant: ParticipantId) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM target_group_members WHERE participant_id = $1")
        .bind::<SqlUuid, _>(participant.0)
        .execute(conn)
        .await?;
    Ok(())
}
