//! Target groups (doelgroepen, seed 001): per region, named lists of participants an alert can
//! reach besides (or instead of) those in its area, wherever they are: a municipality's
//! enforcement officers, a shopping centre's security staff, taxi drivers.
//!
//! Administrators keep the groups of every region: they create, rename, hand over and archive
//! them. Each group has an owner, a staff member of its region named by the subject of their
//! token, who hands out the group's invitation code and approves who joined with it; an
//! administrator may do what the owner does. A participant joins by typing the code in the app
//! (a pending request) and is a member once approved. Staff of the region see the groups and how
//! many members each has (a [`ReachCount`], exact from 5 on); only the owner and administrators
//! see the code and the members. Staff of another region learn nothing of a group: it does not
//! exist for them.
//!
//! Invitation codes are ten characters of an alphabet without look-alikes, drawn from a
//! cryptographically secure generator: 32^10 (about 10^15) codes, and a participant may try 10
//! an hour ([`JOIN_ATTEMPTS_PER_HOUR`]), so guessing one is hopeless. A new code replaces the old
//! one at once. Archiving a group deletes its pending requests and takes no new ones; approved
//! members stay, as the alerts that reached them keep naming the group.
//!
//! Which groups an alert may name (`db::target_groups::usable_in_region`) and how their members
//! are reached belong to the alerts.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::Rng;
use serde::Serialize;

use crate::alerts::reach::ReachCount;
use crate::auth::staff::{OutOfScope, StaffMember, StaffRole};
use crate::db::participants as participant_queries;
use crate::db::reference_data as region_queries;
pub use crate::db::target_groups::TargetGroupRef;
use crate::db::target_groups::{
    self as queries, Conflict, GroupChanges, GroupRow, MemberRow, MembershipRow, NewGroup, conflict_of,
};
use crate::ids::{ParticipantId, TargetGroupId};
use crate::participants::management::Page;
use crate::participants::rate_limits::{self, CounterKey};
pub use crate::vocabulary::MembershipStatus;
use crate::vocabulary::regions::{CbsCode, RegionCode};
use crate::vocabulary::{InvalidInput, ParticipantStatus, form_text};

/// Invitation codes one participant may try per hour, right or wrong.
pub const JOIN_ATTEMPTS_PER_HOUR: i32 = 10;

/// The characters of invitation codes: capitals and digits without look-alikes (no I, O, 0, 1).
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LENGTH: usize = 10;
/// New codes drawn when one is taken, before giving up (with 32^10 codes, one clash is rare).
const CODE_DRAWS: usize = 5;

/// A group's invitation code: ten characters of [`CODE_ALPHABET`], stored as such and handed out
/// in groups of four with hyphens (`ABCD-EFGH-JK`).
#[derive(Clone, PartialEq, Eq)]
pub struct InvitationCode(String);

impl InvitationCode {
    /// A new code from the thread's cryptographically secure generator, each character uniform.
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Self(
            (0..CODE_LENGTH)
                .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
                .collect(),
        )
    }

    /// A code as someone typed it: in any case, with or without hyphens and spaces.
    pub fn parse(typed: &str) -> Result<Self, InvalidInput> {
        let code: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if code.len() == CODE_LENGTH && code.bytes().all(|byte| CODE_ALPHABET.contains(&byte)) {
            Ok(Self(code))
        } else {
            Err(InvalidInput::new(
                "invalid_invitation_code",
                "An invitation code has 10 letters and digits, like ABCD-EFGH-JK.",
            ))
        }
    }

    /// As stored: ten characters, no hyphens.
    pub fn as_stored(&self) -> &str {
        &self.0
    }

    /// As handed out: `ABCD-EFGH-JK`.
    pub fn shown(&self) -> String {
        format!("{}-{}-{}", &self.0[..4], &self.0[4..8], &self.0[8..])
    }
}

/// The code opens a group; it stays out of logs.
impl fmt::Debug for InvitationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InvitationCode([redacted])")
    }
}

/// Text of 1 to `max` characters once trimmed, without control characters (but line breaks,
/// where `line_breaks` allows them).
fn parse_text(
    raw: &str,
    max: usize,
    line_breaks: bool,
    invalid: impl FnOnce() -> InvalidInput,
) -> Result<String, InvalidInput> {
    form_text(raw, max, line_breaks).ok().flatten().ok_or_else(invalid)
}

/// A group's name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName(String);

impl GroupName {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        parse_text(raw, 100, false, || {
            InvalidInput::new(
                "invalid_group_name",
                "A name has 1 to 100 characters and no control characters.",
            )
        })
        .map(Self)
    }
}

/// What a group is for: 1 to 500 characters; line breaks allowed, no other control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription(String);

impl GroupDescription {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        parse_text(&raw.replace("\r\n", "\n"), 500, true, || {
            InvalidInput::new(
                "invalid_group_description",
                "A description has 1 to 500 characters and no control characters but line breaks.",
            )
        })
        .map(Self)
    }
}

/// The staff member who approves a group's members: the subject of their token (as the identity
/// provider names them) and, to show, their name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupOwner {
    /// The `sub` of the owner's token.
    pub subject: String,
    pub name: Option<String>,
}

impl GroupOwner {
    /// A subject of 1 to 200 characters and a name of 1 to 200, neither with control characters.
    pub fn parse(subject: &str, name: Option<&str>) -> Result<Self, InvalidInput> {
        let invalid = || {
            InvalidInput::new(
                "invalid_owner",
                "An owner's subject and name have 1 to 200 characters each and no control characters.",
            )
        };
        // A subject is an identifier: taken as it is, not trimmed.
        if !(1..=200).contains(&subject.chars().count()) || subject.chars().any(char::is_control) {
            return Err(invalid());
        }
        let name = name.map(|name| parse_text(name, 200, false, invalid)).transpose()?;
        Ok(Self { subject: subject.to_string(), name })
    }

    /// The staff member themselves, their name left out when it cannot be stored.
    fn of(staff: &StaffMember) -> Result<Self, InvalidInput> {
        Self::parse(&staff.subject, staff.name.as_deref())
            .or_else(|_| Self::parse(&staff.subject, None))
            .map_err(|_| {
                InvalidInput::new(
                    "invalid_owner",
                    "Your token's subject cannot be stored as an owner; name the owner.",
                )
            })
    }
}

/// A new group as an administrator gives it.
#[derive(Debug, Clone)]
pub struct GroupDraft {
    pub name: GroupName,
    pub description: Option<GroupDescription>,
    /// None: the administrator who creates it.
    pub owner: Option<GroupOwner>,
}

/// Changes to a group; `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct GroupEdit {
    pub name: Option<GroupName>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<GroupDescription>>,
    pub owner: Option<GroupOwner>,
}

/// How many members a group has, as staff see counts of people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MemberCounts {
    pub approved: ReachCount,
    /// Requests the owner has not approved yet.
    pub pending: ReachCount,
}

/// A target group as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TargetGroup {
    #[schema(value_type = uuid::Uuid)]
    pub id: TargetGroupId,
    /// The code of the region it belongs to.
    pub region: RegionCode,
    pub name: String,
    pub description: Option<String>,
    pub owner: GroupOwner,
    pub members: MemberCounts,
    /// For the owner and administrators only, as it is handed out (`ABCD-EFGH-JK`); null for
    /// everyone else.
    pub invitation_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it was archived: it takes no members and no alert can name it since.
    pub archived_at: Option<DateTime<Utc>>,
}

/// A member, or a request to join, as the owner sees it: enough to recognise who asked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupMember {
    #[schema(value_type = uuid::Uuid)]
    pub participant_id: ParticipantId,
    /// The name the participant gave in the app, if any.
    pub display_name: Option<String>,
    /// Masked: the country code and the last two digits, like `+31*******78`.
    pub phone_number: Option<String>,
    pub status: MembershipStatus,
    pub requested_at: DateTime<Utc>,
    /// When it was approved.
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberPage {
    pub items: Vec<GroupMember>,
    pub page: i64,
    pub per_page: i64,
    /// Matching members over all pages.
    pub total: i64,
}

/// A group as its members see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupSummary {
    #[schema(value_type = uuid::Uuid)]
    pub id: TargetGroupId,
    pub name: String,
    /// The code of its region.
    pub region: RegionCode,
}

/// The participant's request to join a group, or their membership.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Membership {
    pub group: GroupSummary,
    /// `pending` until the group's owner approves.
    pub status: MembershipStatus,
    pub requested_at: DateTime<Utc>,
    /// When it was approved.
    pub decided_at: Option<DateTime<Utc>>,
}

/// What joining came to.
#[derive(Debug, Clone)]
pub struct Joined {
    pub membership: Membership,
    /// False when the participant had asked (or was a member) already.
    pub new: bool,
}

/// Why a target group could not be shown, changed or joined. Each has a stable code
/// ([`Self::code`]).
#[derive(Debug, thiserror::Error)]
pub enum TargetGroupError {
    /// No such group, or one of another region than the staff member's: the same answer.
    #[error("There is no such target group.")]
    NotFound,
    #[error("There is no region {0}.")]
    NoSuchRegion(String),
    #[error("Only administrators may do this.")]
    AdminsOnly,
    /// Staff of the group's region who are not its owner.
    #[error("Only the group's owner and administrators may do this.")]
    NotGroupOwner,
    #[error(transparent)]
    OutOfScope(#[from] OutOfScope),
    #[error("Another target group of the region has this name.")]
    NameTaken,
    #[error("The target group is archived: it takes no members and no more changes.")]
    Archived,
    #[error("The participant has not asked to join this group and is not a member.")]
    MemberNotFound,
    #[error("No target group has this invitation code. Check it with whoever gave it to you.")]
    UnknownInvitationCode,
    #[error("Too many invitation codes were tried for this account in the last hour; try again later.")]
    TooManyAttempts { retry_after: Duration },
    #[error("Only active participants can join a target group; your participation is {}.", .0.as_str())]
    ParticipantNotActive(ParticipantStatus),
    #[error("You are not in this target group and have not asked to join it.")]
    NotAMember,
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl TargetGroupError {
    /// The problem `code` it is reported with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "target_group_not_found",
            Self::NoSuchRegion(_) => "not_found",
            Self::AdminsOnly => "role_required",
            Self::NotGroupOwner => "not_group_owner",
            Self::OutOfScope(_) => "out_of_scope",
            Self::NameTaken => "target_group_name_taken",
            Self::Archived => "target_group_archived",
            Self::MemberNotFound => "member_not_found",
            Self::UnknownInvitationCode => "unknown_invitation_code",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::ParticipantNotActive(_) => "participant_not_active",
            Self::NotAMember => "not_a_member",
            Self::Invalid(invalid) => invalid.code,
            Self::Database(_) => "internal_error",
        }
    }
}

/// What a staff member may do with one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Admin,
    /// The owner, acting in a role of the group's region.
    Owner,
    /// Staff of the group's region: they see it, without its code or members.
    RegionStaff,
}

impl Standing {
    fn sees_code_and_members(self) -> bool {
        matches!(self, Self::Admin | Self::Owner)
    }
}

/// The region a staff member works in: a dispatcher's or region manager's own, a relations
/// officer's municipality's. None for administrators (every region), and for a municipality in
/// no region.
async fn home_region(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
) -> diesel::QueryResult<Option<RegionCode>> {
    match &staff.role {
        StaffRole::Dispatcher { region } | StaffRole::RegionManager { region } => {
            Ok(RegionCode::parse(region).ok())
        }
        StaffRole::RelationsOfficer { municipality } => match CbsCode::parse(municipality) {
            Ok(code) => region_queries::municipality_region(conn, &code).await,
            Err(_) => Ok(None),
        },
        StaffRole::Admin => Ok(None),
    }
}

/// The staff member's standing with `group`, given their home region; none when the group is
/// not theirs to see.
fn standing_in(staff: &StaffMember, home: Option<&RegionCode>, group: &GroupRow) -> Option<Standing> {
    if staff.role == StaffRole::Admin {
        Some(Standing::Admin)
    } else if home != Some(&group.region_code) {
        None
    } else if staff.subject == group.owner_subject {
        Some(Standing::Owner)
    } else {
        Some(Standing::RegionStaff)
    }
}

/// The group, for a staff member who may see it; to everyone else it does not exist.
async fn visible_group(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
) -> Result<(GroupRow, Standing), TargetGroupError> {
    let group = queries::find(conn, id).await?.ok_or(TargetGroupError::NotFound)?;
    let home = home_region(conn, staff).await?;
    let standing = standing_in(staff, home.as_ref(), &group).ok_or(TargetGroupError::NotFound)?;
    Ok((group, standing))
}

/// The group, for its owner or an administrator.
async fn owned_group(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
) -> Result<GroupRow, TargetGroupError> {
    let (group, standing) = visible_group(conn, staff, id).await?;
    if standing.sees_code_and_members() { Ok(group) } else { Err(TargetGroupError::NotGroupOwner) }
}

fn ensure_admin(staff: &StaffMember) -> Result<(), TargetGroupError> {
    if staff.role == StaffRole::Admin { Ok(()) } else { Err(TargetGroupError::AdminsOnly) }
}

fn shown(group: GroupRow, standing: Standing) -> TargetGroup {
    TargetGroup {
        id: group.id,
        region: group.region_code,
        name: group.name,
        description: group.description,
        owner: GroupOwner { subject: group.owner_subject, name: group.owner_name },
        members: MemberCounts {
            approved: ReachCount::shown(group.approved_members),
            pending: ReachCount::shown(group.pending_members),
        },
        invitation_code: standing
            .sees_code_and_members()
            .then(|| InvitationCode(group.invitation_code).shown()),
        created_at: group.created_at,
        updated_at: group.updated_at,
        archived_at: group.archived_at,
    }
}

/// Runs `write` with a new code until it finds one no other group has.
async fn with_new_code<T>(
    conn: &mut AsyncPgConnection,
    mut write: impl AsyncFnMut(&mut AsyncPgConnection, &InvitationCode) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    let mut draws = 1;
    loop {
        match write(conn, &InvitationCode::generate()).await {
            Err(error) if conflict_of(&error) == Some(Conflict::CodeTaken) && draws < CODE_DRAWS => {
                draws += 1
            }
            result => return result,
        }
    }
}

/// The name is another group's: [`TargetGroupError::NameTaken`].
fn name_taken(error: diesel::result::Error) -> TargetGroupError {
    if conflict_of(&error) == Some(Conflict::NameTaken) { TargetGroupError::NameTaken } else { error.into() }
}

/// Creates a group in the region, with a new invitation code. Who: administrators.
pub async fn create(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    region: &RegionCode,
    draft: GroupDraft,
) -> Result<TargetGroup, TargetGroupError> {
    ensure_admin(staff)?;
    let region_id = region_queries::find_region(conn, region)
        .await?
        .ok_or_else(|| TargetGroupError::NoSuchRegion(region.as_str().to_string()))?
        .id;
    let owner = match draft.owner {
        Some(owner) => owner,
        None => GroupOwner::of(staff)?,
    };
    let id = TargetGroupId::new();
    with_new_code(conn, async |conn, code| {
        let group = NewGroup {
            id,
            region_id,
            name: &draft.name.0,
            description: draft.description.as_ref().map(|description| description.0.as_str()),
            owner_subject: &owner.subject,
            owner_name: owner.name.as_deref(),
            invitation_code: code.as_stored(),
            created_by_subject: &staff.subject,
        };
        queries::insert(conn, &group).await
    })
    .await
    .map_err(name_taken)?;
    let group = queries::find(conn, id).await?.ok_or(TargetGroupError::NotFound)?;
    Ok(shown(group, Standing::Admin))
}

/// The groups a staff member may see, by region and name: administrators those of `region` (none:
/// of every region); everyone else those of their own region, which `region` may name. Archived
/// groups only `with_archived`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    region: Option<&RegionCode>,
    with_archived: bool,
) -> Result<Vec<TargetGroup>, TargetGroupError> {
    let home = home_region(conn, staff).await?;
    let region = if staff.role == StaffRole::Admin {
        region.cloned()
    } else {
        match (region, &home) {
            (Some(wanted), Some(own)) if wanted != own => return Err(OutOfScope.into()),
            (Some(_), None) => return Err(OutOfScope.into()),
            (_, None) => return Ok(Vec::new()),
            (_, Some(own)) => Some(own.clone()),
        }
    };
    let groups = queries::list(conn, region.as_ref(), with_archived).await?;
    Ok(groups
        .into_iter()
        .filter_map(|group| standing_in(staff, home.as_ref(), &group).map(|standing| shown(group, standing)))
        .collect())
}

/// One group. Who: staff of its region, and administrators.
pub async fn get(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
) -> Result<TargetGroup, TargetGroupError> {
    let (group, standing) = visible_group(conn, staff, id).await?;
    Ok(shown(group, standing))
}

/// Renames a group, changes its description or hands it to another owner. Who: administrators.
pub async fn edit(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
    wanted: GroupEdit,
) -> Result<TargetGroup, TargetGroupError> {
    ensure_admin(staff)?;
    let group = queries::find(conn, id).await?.ok_or(TargetGroupError::NotFound)?;
    if group.archived_at.is_some() {
        return Err(TargetGroupError::Archived);
    }
    let changes = GroupChanges {
        name: wanted.name.as_ref().map(|name| name.0.as_str()),
        description: wanted
            .description
            .as_ref()
            .map(|description| description.as_ref().map(|d| d.0.as_str())),
        owner: wanted.owner.as_ref().map(|owner| (owner.subject.as_str(), owner.name.as_deref())),
    };
    if !queries::update(conn, id, &changes).await.map_err(name_taken)? {
        return Err(TargetGroupError::Archived);
    }
    get(conn, staff, id).await
}

/// Archives a group: its pending requests are deleted and it takes no new ones; approved members
/// stay. Archiving it again changes nothing. Who: administrators.
pub async fn archive(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
) -> Result<(), TargetGroupError> {
    ensure_admin(staff)?;
    queries::find(conn, id).await?.ok_or(TargetGroupError::NotFound)?;
    conn.transaction(async |conn| queries::archive(conn, id).await).await?;
    Ok(())
}

/// Gives the group a new invitation code; the old one stops working at once. Who: its owner, and
/// administrators.
pub async fn renew_invitation_code(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
) -> Result<TargetGroup, TargetGroupError> {
    let group = owned_group(conn, staff, id).await?;
    if group.archived_at.is_some() {
        return Err(TargetGroupError::Archived);
    }
    let renewed = with_new_code(conn, async |conn, code| {
        queries::set_invitation_code(conn, id, code.as_stored()).await
    })
    .await?;
    if !renewed {
        return Err(TargetGroupError::Archived);
    }
    get(conn, staff, id).await
}

fn member(row: MemberRow) -> GroupMember {
    GroupMember {
        participant_id: row.participant_id,
        display_name: row.display_name,
        phone_number: row.phone_number.map(|phone| phone.masked()),
        status: row.status,
        requested_at: row.requested_at,
        decided_at: row.decided_at,
    }
}

/// The group's members and requests (of one status, or all), oldest request first. Who: its
/// owner, and administrators.
pub async fn members(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
    status: Option<MembershipStatus>,
    page: Page,
) -> Result<MemberPage, TargetGroupError> {
    owned_group(conn, staff, id).await?;
    let (rows, total) = queries::members(conn, id, status, page.size(), page.offset()).await?;
    Ok(MemberPage {
        items: rows.into_iter().map(member).collect(),
        page: page.number(),
        per_page: page.size(),
        total,
    })
}

/// Approves a participant's request to join; approving a member again changes nothing. Who: the
/// group's owner, and administrators.
pub async fn approve(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
    participant: ParticipantId,
) -> Result<GroupMember, TargetGroupError> {
    let group = owned_group(conn, staff, id).await?;
    if group.archived_at.is_some() {
        return Err(TargetGroupError::Archived);
    }
    let approved = queries::approve(conn, id, participant, &staff.subject).await?;
    approved.map(member).ok_or(TargetGroupError::MemberNotFound)
}

/// Rejects a participant's request, or removes a member. Who: the group's owner, and
/// administrators (also of an archived group).
pub async fn remove_member(
    conn: &mut AsyncPgConnection,
    staff: &StaffMember,
    id: TargetGroupId,
    participant: ParticipantId,
) -> Result<(), TargetGroupError> {
    owned_group(conn, staff, id).await?;
    if queries::delete_membership(conn, id, participant).await? {
        Ok(())
    } else {
        Err(TargetGroupError::MemberNotFound)
    }
}

fn membership(row: MembershipRow) -> Membership {
    Membership {
        group: GroupSummary { id: row.group_id, name: row.group_name, region: row.region_code },
        status: row.status,
        requested_at: row.requested_at,
        decided_at: row.decided_at,
    }
}

/// The participant asks to join the group with `code`; the group's owner then approves (or not).
/// Asking again answers with the request (or membership) there is. Every attempt counts against
/// [`JOIN_ATTEMPTS_PER_HOUR`], so codes cannot be found by trying. Who: active participants.
pub async fn join(
    conn: &mut AsyncPgConnection,
    counters: &CounterKey,
    participant: ParticipantId,
    code: &InvitationCode,
) -> Result<Joined, TargetGroupError> {
    let status = participant_queries::find(conn, participant, false)
        .await?
        .map_or(ParticipantStatus::Removed, |row| row.status);
    if status != ParticipantStatus::Active {
        return Err(TargetGroupError::ParticipantNotActive(status));
    }
    // Counted on its own, before the code is looked up: a wrong code counts too.
    let over_limit = rate_limits::count(
        conn,
        counters,
        "target-group-join",
        &participant.to_string(),
        JOIN_ATTEMPTS_PER_HOUR,
    )
    .await?;
    if let Some(retry_after) = over_limit {
        return Err(TargetGroupError::TooManyAttempts { retry_after });
    }
    let request = queries::request_membership(conn, code.as_stored(), participant)
        .await?
        .ok_or(TargetGroupError::UnknownInvitationCode)?;
    let row = queries::memberships(conn, participant, Some(request.group_id), false)
        .await?
        .into_iter()
        .next()
        .ok_or(TargetGroupError::UnknownInvitationCode)?;
    Ok(Joined { membership: membership(row), new: request.added })
}

/// The participant's requests and memberships, oldest first (those of archived groups left out).
pub async fn memberships(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
) -> Result<Vec<Membership>, TargetGroupError> {
    Ok(queries::memberships(conn, participant, None, false).await?.into_iter().map(membership).collect())
}

/// The participant leaves the group, or withdraws their request.
pub async fn leave(
    conn: &mut AsyncPgConnection,
    participant: ParticipantId,
    group: TargetGroupId,
) -> Result<(), TargetGroupError> {
    if queries::delete_membership(conn, group, participant).await? {
        Ok(())
    } else {
        Err(TargetGroupError::NotAMember)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_characters_without_look_alikes() {
        for _ in 0..200 {
            let code = InvitationCode::generate();
            assert_eq!(code.as_stored().len(), 10);
            assert!(!code.as_stored().contains(['I', 'O', '0', '1']), "{}", code.as_stored());
            assert_eq!(InvitationCode::parse(code.as_stored()), Ok(code.clone()));
            assert_eq!(InvitationCode::parse(&code.shown()), Ok(code));
        }
        assert_ne!(InvitationCode::generate(), InvitationCode::generate());
    }

    #[test]
    fn codes_are_typed_in_any_case_with_or_without_hyphens_and_spaces() {
        let code = InvitationCode::parse("ABCD-EFGH-JK").unwrap();
        assert_eq!(code.as_stored(), "ABCDEFGHJK");
        assert_eq!(code.shown(), "ABCD-EFGH-JK");
        for typed in ["abcd efgh jk", " AbCdEfGhJk ", "abcd-efgh-jk", "ab-cd-ef-gh-jk"] {
            assert_eq!(InvitationCode::parse(typed), Ok(code.clone()), "{typed}");
        }
        for wrong in ["", "ABCD-EFGH-J", "ABCD-EFGH-JKL", "ABCD-EFGH-J0", "ABCD-EFGH-JI", "ÄBCD-EFGH-JK"] {
            assert_eq!(InvitationCode::parse(wrong).unwrap_err().code, "invalid_invitation_code", "{wrong}");
        }
        assert_eq!(format!("{code:?}"), "InvitationCode([redacted])");
    }

    #[test]
    fn names_descriptions_and_owners_are_checked() {
        assert_eq!(GroupName::parse("  Taxichauffeurs  ").unwrap(), GroupName("Taxichauffeurs".into()));
        assert!(GroupName::parse(&"x".repeat(100)).is_ok());
        for wrong in [String::new(), "   ".into(), "x".repeat(101), "tab\there".into(), "two\nlines".into()] {
            assert_eq!(GroupName::parse(&wrong).unwrap_err().code, "invalid_group_name", "{wrong:?}");
        }
        assert_eq!(GroupDescription::parse("Eén\r\ntwee").unwrap(), GroupDescription("Eén\ntwee".into()));
        assert!(GroupDescription::parse(&"x".repeat(501)).is_err());
        assert!(GroupDescription::parse("bell\u{7}").is_err());
        let owner = GroupOwner::parse("staff-7", Some(" Dienstleider ")).unwrap();
        assert_eq!(owner, GroupOwner { subject: "staff-7".into(), name: Some("Dienstleider".into()) });
        assert!(GroupOwner::parse("", None).is_err());
        assert!(GroupOwner::parse(&"s".repeat(201), None).is_err());
        assert!(GroupOwner::parse("staff-7", Some("")).is_err());
    }
}
