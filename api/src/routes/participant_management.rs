//! The municipality's side of participants: lists and search, the work queues, one
//! participant's record, decisions about their status, and whether sign-ups need approval.

use actix_web::{get, post, put, web};
use burgernet_core::ids::ParticipantId;
use burgernet_core::participants::management::{
    self, Decision, Listing, Page, ParticipantPage, ParticipantRecord, Queue, parse_reason,
};
use burgernet_core::vocabulary::ParticipantStatus;
use burgernet_core::vocabulary::phone::PhoneNumber;
use burgernet_core::vocabulary::places::normalise_postcode;
use burgernet_core::vocabulary::regions::CbsCode;
use serde::{Deserialize, Serialize};

use crate::auth::ParticipantManager;
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only participants with this status.
    pub status: Option<ParticipantStatus>,
    /// Exact phone number, in any form the app accepts.
    pub phone_number: Option<String>,
    /// Participants with a place at this postcode, e.g. `3011 AD`.
    pub postcode: Option<String>,
    /// From 1 to 1,000,000; default 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 1 to 100; default 25.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// From 1 to 1,000,000; default 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// 1 to 100; default 25.
    #[param(minimum = 1, maximum = 100)]
    pub per_page: Option<i64>,
}

/// The page asked for in the query; out of bounds, the query is refused like any malformed one.
fn requested_page(number: Option<i64>, size: Option<i64>) -> Result<Page, ApiError> {
    Page::parse(number, size).map_err(|invalid| ApiError::bad_request("invalid_query", invalid.detail))
}

/// The participants the municipality manages, oldest sign-up first.
///
/// Who may call: the municipality's relations officers, and administrators. Dispatchers see no
/// participants.
#[utoipa::path(
    tag = "participant management",
    security(("staff_token" = [])),
    params(("cbs_code" = String, Path, description = "The municipality's CBS code, e.g. `GM0599`."), ListQuery),
    responses(
        (status = 200, description = "One page of participants.", body = ParticipantPage),
        (status = 400, description = "A malformed CBS code or query.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 422, description = "`invalid_phone_number`, `unsupported_phone_country` or `invalid_postal_address` in the search.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/municipalities/{cbs_code}/participants")]
pub async fn list_participants(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    cbs_code: web::Path<CbsCode>,
    query: web::Query<ListQuery>,
) -> Result<web::Json<ParticipantPage>, ApiError> {
    manager.ensure_municipality(cbs_code.as_str())?;
    let query = query.into_inner();
    let page = requested_page(query.page, query.per_page)?;
    let postcode = match query.postcode {
        Some(raw) => Some(normalise_postcode(&raw).ok_or_else(|| {
            ApiError::unprocessable("invalid_postal_address", "A postcode has four digits and two letters.")
        })?),
        None => None,
    };
    let listing = Listing {
        status: query.status,
        queue: None,
        phone_number: query.phone_number.as_deref().map(PhoneNumber::parse).transpose()?,
        postcode,
        page,
    };
    let mut conn = state.db().await?;
    Ok(web::Json(management::list(&mut conn, &manager.0, cbs_code.as_str(), &listing).await?))
}

/// A work queue of the municipality: `approval` (pending sign-ups), `verification` (e-mail
/// bounced, or unverified after a week; `email_problem` says which) or `quarantine` (a channel proved undeliverable).
///
/// Who may call: the municipality's relations officers, and administrators.
#[utoipa::path(
    tag = "participant management",
    security(("staff_token" = [])),
    params(
        ("cbs_code" = String, Path, description = "The municipality's CBS code."),
        ("queue" = inline(Queue), Path, description = "The queue."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of the queue, oldest first.", body = ParticipantPage),
        (status = 400, description = "A malformed CBS code, queue or query.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
    )
)]
#[get("/v1/municipalities/{cbs_code}/queues/{queue}")]
pub async fn list_queue(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    path: web::Path<(CbsCode, Queue)>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ParticipantPage>, ApiError> {
    let (cbs_code, queue) = path.into_inner();
    manager.ensure_municipality(cbs_code.as_str())?;
    let listing = Listing {
        queue: Some(queue),
        page: requested_page(query.page, query.per_page)?,
        ..Listing::default()
    };
    let mut conn = state.db().await?;
    Ok(web::Json(management::list(&mut conn, &manager.0, cbs_code.as_str(), &listing).await?))
}

/// One participant of the municipality: contact details, status, places and the staff actions
/// taken on them.
///
/// Who may call: the municipality's relations officers, and administrators.
#[utoipa::path(
    tag = "participant management",
    security(("staff_token" = [])),
    params(
        ("cbs_code" = String, Path, description = "The municipality's CBS code."),
        ("participant_id" = uuid::Uuid, Path, description = "The participant."),
    ),
    responses(
        (status = 200, description = "The participant.", body = ParticipantRecord),
        (status = 400, description = "A malformed CBS code or id.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "No such participant in this municipality.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/municipalities/{cbs_code}/participants/{participant_id}")]
pub async fn get_participant(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    path: web::Path<(CbsCode, uuid::Uuid)>,
) -> Result<web::Json<ParticipantRecord>, ApiError> {
    let (cbs_code, participant) = path.into_inner();
    let mut conn = state.db().await?;
    Ok(web::Json(
        management::record(&mut conn, &manager.0, cbs_code.as_str(), ParticipantId(participant)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub decision: Decision,
    /// Why, in 1 to 1000 characters; recorded and shown to the municipality's officers.
    pub reason: String,
}

/// Decide about a participant: approve or reject a pending sign-up, quarantine, reinstate or
/// remove.
///
/// Who may call: the municipality's relations officers, and administrators. The decision is
/// recorded with who took it and why. Becoming active sends the participant a confirmation;
/// being rejected or removed sends a notice.
#[utoipa::path(
    tag = "participant management",
    security(("staff_token" = [])),
    params(
        ("cbs_code" = String, Path, description = "The municipality's CBS code."),
        ("participant_id" = uuid::Uuid, Path, description = "The participant."),
    ),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "The participant after the decision.", body = ParticipantRecord),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such participant in this municipality.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`decision_not_applicable`: not from the participant's current status.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body` or `invalid_reason`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/municipalities/{cbs_code}/participants/{participant_id}/decisions")]
pub async fn decide(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    path: web::Path<(CbsCode, uuid::Uuid)>,
    body: JsonBody<DecisionBody>,
) -> Result<web::Json<ParticipantRecord>, ApiError> {
    let (cbs_code, participant) = path.into_inner();
    manager.ensure_municipality(cbs_code.as_str())?;
    let reason = parse_reason(&body.reason)?;
    let mut conn = state.db().await?;
    let record = management::decide(
        &mut conn,
        &manager.0,
        cbs_code.as_str(),
        ParticipantId(participant),
        body.decision,
        &reason,
    )
    .await?;
    Ok(web::Json(record))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalPolicy {
    /// Whether new participants (and participants moving their home here) wait for approval.
    pub requires_approval: bool,
}

/// Set whether the municipality approves new participants before they receive alerts.
///
/// Who may call: the municipality's relations officers, and administrators.
#[utoipa::path(
    tag = "participant management",
    security(("staff_token" = [])),
    params(("cbs_code" = String, Path, description = "The municipality's CBS code.")),
    request_body = ApprovalPolicy,
    responses(
        (status = 200, description = "The policy now in force.", body = ApprovalPolicy),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 404, description = "No such municipality.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/municipalities/{cbs_code}/approval-policy")]
pub async fn set_approval_policy(
    state: web::Data<AppState>,
    manager: ParticipantManager,
    cbs_code: web::Path<CbsCode>,
    body: JsonBody<ApprovalPolicy>,
) -> Result<web::Json<ApprovalPolicy>, ApiError> {
    let mut conn = state.db().await?;
    management::set_requires_approval(&mut conn, &manager.0, cbs_code.as_str(), body.requires_approval)
        .await?;
    Ok(web::Json(body.into_inner()))
}
