//! Target groups (doelgroepen): administrators keep them per region, each group's owner hands out
//! its invitation code and approves who joined with it, and participants join, see and leave
//! their groups in the app. The rules are in `burgernet_core::target_groups`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use burgernet_core::ids::{ParticipantId, TargetGroupId};
use burgernet_core::participants::management::Page;
use burgernet_core::target_groups::{
    self, GroupDescription, GroupDraft, GroupEdit, GroupMember, GroupName, GroupOwner, InvitationCode,
    MemberPage, Membership, MembershipStatus, TargetGroup,
};
use burgernet_core::vocabulary::InvalidInput;
use burgernet_core::vocabulary::regions::RegionCode;
use serde::Deserialize;

use crate::auth::{Admin, Participant, Staff};
use crate::error::{ApiError, JsonBodyProblems, ParticipantAccessProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerBody {
    /// The `sub` of the owner's token, as the identity provider names them: 1 to 200 characters.
    /// They act as owner in a role of the group's region (dispatcher, region manager, or relations
    /// officer of one of its municipalities).
    pub subject: String,
    /// Their name, to show: 1 to 200 characters.
    pub name: Option<String>,
}

impl OwnerBody {
    fn parse(&self) -> Result<GroupOwner, InvalidInput> {
        GroupOwner::parse(&self.subject, self.name.as_deref())
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroupBody {
    /// 1 to 100 characters, unique among the region's groups that are not archived.
    pub name: String,
    /// What the group is for: 1 to 500 characters.
    pub description: Option<String>,
    /// Who approves its members; left out: you.
    pub owner: Option<OwnerBody>,
}

impl NewGroupBody {
    fn parse(&self) -> Result<GroupDraft, InvalidInput> {
        Ok(GroupDraft {
            name: GroupName::parse(&self.name)?,
            description: self.description.as_deref().map(GroupDescription::parse).transpose()?,
            owner: self.owner.as_ref().map(OwnerBody::parse).transpose()?,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// 1 to 100 characters, unique among the region's groups that are not archived.
    pub name: Option<String>,
    /// 1 to 500 characters; `null` removes it.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// Hands the group to another owner.
    pub owner: Option<OwnerBody>,
}

impl GroupPatch {
    fn parse(&self) -> Result<GroupEdit, InvalidInput> {
        let description = match &self.description {
            Some(Some(description)) => Some(Some(GroupDescription::parse(description)?)),
            Some(None) => Some(None),
            None => None,
        };
        Ok(GroupEdit {
            name: self.name.as_deref().map(GroupName::parse).transpose()?,
            description,
            owner: self.owner.as_ref().map(OwnerBody::parse).transpose()?,
        })
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GroupListQuery {
    /// Administrators: only this region's groups (left out: every region's). Others see their own
    /// region's groups only, and may name it.
    #[param(value_type = Option<String>)]
    pub region: Option<RegionCode>,
    /// `true`: archived groups too. Default `false`.
    pub archived: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MemberListQuery {
    /// Only requests (`pending`) or only members (`approved`); left out: both.
    pub status: Option<MembershipStatus>,
    /// From 1 to 1,000,000; default 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 1 to 100; default 25.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinBody {
    /// The group's invitation code, as its owner gave it (`ABCD-EFGH-JK`): in any case, with or
    /// without hyphens and spaces.
    pub invitation_code: String,
}

fn member_path(path: web::Path<(uuid::Uuid, uuid::Uuid)>) -> (TargetGroupId, ParticipantId) {
    let (group, participant) = path.into_inner();
    (TargetGroupId(group), ParticipantId(participant))
}

/// Create a target group in the region, with an invitation code for its owner to hand out.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(("region_code" = String, Path, description = "The region's code, e.g. `rotterdam`.")),
    request_body = NewGroupBody,
    responses(
        (status = 201, description = "The group, with its invitation code.", body = TargetGroup),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "`not_found`: no such region.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`target_group_name_taken`: another group of the region that is not archived has the name.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_group_name`, `invalid_group_description` or `invalid_owner`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/regions/{region_code}/target-groups")]
pub async fn create_target_group(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    region_code: web::Path<RegionCode>,
    body: JsonBody<NewGroupBody>,
) -> Result<HttpResponse, ApiError> {
    let draft = body.parse()?;
    let mut conn = state.db().await?;
    let group = target_groups::create(&mut conn, &admin, &region_code, draft).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/target-groups/{}", group.id)))
        .json(group))
}

/// The target groups you may see, by region and name, with how many members each has (counts
/// under 5 as `{"fewer_than": 5}`). The invitation code only for the groups you own (all, for
/// administrators).
///
/// Who may call: dispatchers and region managers (their region's groups), relations officers
/// (the groups of their municipality's region), and administrators (every region's).
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(GroupListQuery),
    responses(
        (status = 200, description = "The groups.", body = Vec<TargetGroup>),
        (status = 400, description = "`invalid_query`: a malformed region code or `archived`.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
    )
)]
#[get("/v1/target-groups")]
pub async fn list_target_groups(
    state: web::Data<AppState>,
    Staff(member): Staff,
    query: web::Query<GroupListQuery>,
) -> Result<web::Json<Vec<TargetGroup>>, ApiError> {
    let query = query.into_inner();
    let mut conn = state.db().await?;
    let groups =
        target_groups::list(&mut conn, &member, query.region.as_ref(), query.archived.unwrap_or(false))
            .await?;
    Ok(web::Json(groups))
}

/// One target group, archived or not.
///
/// Who may call: staff of the group's region (as for the list), and administrators. To anyone
/// else the group does not exist (404).
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(("group_id" = uuid::Uuid, Path, description = "The group.")),
    responses(
        (status = 200, description = "The group.", body = TargetGroup),
        (status = 400, description = "`invalid_path_parameter`: the id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`target_group_not_found`: no such group of your region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/target-groups/{group_id}")]
pub async fn get_target_group(
    state: web::Data<AppState>,
    Staff(member): Staff,
    group_id: web::Path<uuid::Uuid>,
) -> Result<web::Json<TargetGroup>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(target_groups::get(&mut conn, &member, TargetGroupId(*group_id)).await?))
}

/// Rename a target group, change its description, or hand it to another owner; fields left out
/// stay as they are.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(("group_id" = uuid::Uuid, Path, description = "The group.")),
    request_body = GroupPatch,
    responses(
        (status = 200, description = "The changed group.", body = TargetGroup),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "`target_group_not_found`: no such group.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`target_group_name_taken`, or `target_group_archived`: an archived group changes no more.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_group_name`, `invalid_group_description` or `invalid_owner`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/v1/target-groups/{group_id}")]
pub async fn update_target_group(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    group_id: web::Path<uuid::Uuid>,
    body: JsonBody<GroupPatch>,
) -> Result<web::Json<TargetGroup>, ApiError> {
    let edit = body.parse()?;
    let mut conn = state.db().await?;
    Ok(web::Json(target_groups::edit(&mut conn, &admin, TargetGroupId(*group_id), edit).await?))
}

/// Archive a target group: its pending requests are deleted, it takes no new members and no alert
/// can name it any more. Approved members stay, as the alerts that reached them keep naming the
/// group. Archiving it again changes nothing.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(("group_id" = uuid::Uuid, Path, description = "The group.")),
    responses(
        (status = 204, description = "Archived."),
        (status = 400, description = "`invalid_path_parameter`: the id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`target_group_not_found`: no such group.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/target-groups/{group_id}")]
pub async fn archive_target_group(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    group_id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    target_groups::archive(&mut conn, &admin, TargetGroupId(*group_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Give the group a new invitation code, when the old one went further than it should: the old
/// one stops working at once. Requests made with it stay.
///
/// Who may call: the group's owner, and administrators.
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(("group_id" = uuid::Uuid, Path, description = "The group.")),
    responses(
        (status = 200, description = "The group, with its new code.", body = TargetGroup),
        (status = 400, description = "`invalid_path_parameter`: the id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`target_group_not_found`: no such group of your region.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`target_group_archived`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/target-groups/{group_id}/invitation-code")]
pub async fn renew_invitation_code(
    state: web::Data<AppState>,
    Staff(member): Staff,
    group_id: web::Path<uuid::Uuid>,
) -> Result<web::Json<TargetGroup>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(target_groups::renew_invitation_code(&mut conn, &member, TargetGroupId(*group_id)).await?))
}

/// The group's members and the requests to join it, oldest request first: each with the name the
/// participant gave in the app and their phone number masked (`+31*******78`), enough to
/// recognise who asked.
///
/// Who may call: the group's owner, and administrators.
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(("group_id" = uuid::Uuid, Path, description = "The group."), MemberListQuery),
    responses(
        (status = 200, description = "One page of members.", body = MemberPage),
        (status = 400, description = "`invalid_path_parameter`, or `invalid_query`: an unknown status or a page out of bounds.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`target_group_not_found`: no such group of your region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/target-groups/{group_id}/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    Staff(member): Staff,
    group_id: web::Path<uuid::Uuid>,
    query: web::Query<MemberListQuery>,
) -> Result<web::Json<MemberPage>, ApiError> {
    let page = Page::parse(query.page, query.per_page)
        .map_err(|invalid| ApiError::bad_request("invalid_query", invalid.detail))?;
    let mut conn = state.db().await?;
    let members =
        target_groups::members(&mut conn, &member, TargetGroupId(*group_id), query.status, page).await?;
    Ok(web::Json(members))
}

/// Approve a participant's request to join: alerts naming the group reach them from now on.
/// Approving a member again changes nothing.
///
/// Who may call: the group's owner, and administrators.
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(
        ("group_id" = uuid::Uuid, Path, description = "The group."),
        ("participant_id" = uuid::Uuid, Path, description = "The participant who asked to join."),
    ),
    responses(
        (status = 200, description = "The member.", body = GroupMember),
        (status = 400, description = "`invalid_path_parameter`: an id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`target_group_not_found`: no such group of your region; or `member_not_found`: the participant did not ask to join.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`target_group_archived`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/target-groups/{group_id}/members/{participant_id}")]
pub async fn approve_member(
    state: web::Data<AppState>,
    Staff(member): Staff,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<web::Json<GroupMember>, ApiError> {
    let (group, participant) = member_path(path);
    let mut conn = state.db().await?;
    Ok(web::Json(target_groups::approve(&mut conn, &member, group, participant).await?))
}

/// Reject a participant's request to join, or remove a member.
///
/// Who may call: the group's owner, and administrators.
#[utoipa::path(
    tag = "target groups",
    security(("staff_token" = [])),
    params(
        ("group_id" = uuid::Uuid, Path, description = "The group."),
        ("participant_id" = uuid::Uuid, Path, description = "The member, or the participant who asked to join."),
    ),
    responses(
        (status = 204, description = "Rejected or removed."),
        (status = 400, description = "`invalid_path_parameter`: an id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`target_group_not_found`: no such group of your region; or `member_not_found`: the participant is not a member and did not ask to join.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/target-groups/{group_id}/members/{participant_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    Staff(member): Staff,
    path: web::Path<(uuid::Uuid, uuid::Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (group, participant) = member_path(path);
    let mut conn = state.db().await?;
    target_groups::remove_member(&mut conn, &member, group, participant).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Join a target group with the invitation code its owner gave you. You are a member once the
/// owner approves; until then your request is `pending`. At most 10 codes an hour may be tried,
/// right or wrong.
///
/// Who may call: an active participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    request_body = JoinBody,
    responses(
        (status = 201, description = "Your request to join.", body = Membership),
        (status = 200, description = "You had asked already, or are a member: your request or membership as it is.", body = Membership),
        JsonBodyProblems,
        (status = 401, description = "No token, an invalid or expired one, or one of a session that has ended (`session_revoked`; `participant_removed` when the municipality removed the participant).", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A staff token; or `participant_not_active`: your participation is pending approval or quarantined.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`unknown_invitation_code`: no group (that is not archived) has this code.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, or `invalid_invitation_code`: not 10 letters and digits.", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`: 10 codes were tried this hour; see Retry-After.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/me/target-groups")]
pub async fn join_target_group(
    state: web::Data<AppState>,
    participant: Participant,
    body: JsonBody<JoinBody>,
) -> Result<HttpResponse, ApiError> {
    let code = InvitationCode::parse(&body.invitation_code)?;
    let mut conn = state.db().await?;
    let counters = state.participant_tokens.key().counter_key();
    let joined = target_groups::join(&mut conn, counters, participant.id(), &code).await?;
    let status = if joined.new { StatusCode::CREATED } else { StatusCode::OK };
    Ok(HttpResponse::build(status).json(joined.membership))
}

/// Your requests to join target groups and your memberships, oldest first.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    responses((status = 200, description = "Your requests and memberships.", body = Vec<Membership>), ParticipantAccessProblems)
)]
#[get("/v1/me/target-groups")]
pub async fn list_my_target_groups(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<web::Json<Vec<Membership>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(target_groups::memberships(&mut conn, participant.id()).await?))
}

/// Leave a target group, or withdraw your request to join it.
///
/// Who may call: a participant, for their own account.
#[utoipa::path(
    tag = "my account",
    security(("participant_token" = [])),
    params(("group_id" = uuid::Uuid, Path, description = "The group.")),
    responses(
        (status = 204, description = "You left it."),
        (status = 400, description = "`invalid_path_parameter`: the id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        ParticipantAccessProblems,
        (status = 404, description = "`not_a_member`: you are not in this group and did not ask to join it.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/me/target-groups/{group_id}")]
pub async fn leave_target_group(
    state: web::Data<AppState>,
    participant: Participant,
    group_id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    target_groups::leave(&mut conn, participant.id(), TargetGroupId(*group_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
