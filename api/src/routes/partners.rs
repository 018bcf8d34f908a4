//! Partners and their CAP feed: administrators give each partner system (signage, AMBER Alert, a
//! broadcaster) a key for some regions and categories, and the partner reads the CAP 1.2 messages
//! in that scope with it. The rules are in `burgernet_core::partners`.

use actix_web::{HttpResponse, delete, get, post, web};
use burgernet_core::alerts::cap;
use burgernet_core::ids::{AlertMessageId, PartnerKeyId};
use burgernet_core::partners::{self, FeedSource, IssuedPartnerKey, PartnerKey, PartnerKeyDraft};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::auth::{Admin, Partner};
use crate::error::{ApiError, JsonBodyProblems, Problem, StaffAccessProblems};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPartnerKeyBody {
    /// Whose key it is: 1 to 100 characters, like `Rijkswaterstaat matrixborden`.
    pub name: String,
    /// The codes of the regions whose alerts the partner reads (at least one; each must exist).
    pub regions: Vec<String>,
    /// The categories it reads: at least one of `inform`, `engage`, `alarm` and `search`.
    pub categories: Vec<String>,
    /// Exercises and tests too. Default `false`: a road sign must not show an exercise.
    pub include_exercises: Option<bool>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Only messages sent after this moment, in RFC 3339 (`2026-12-13T08:00:00.123456Z`): pass the
    /// `updated` of the newest entry you have.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<DateTime<Utc>>,
}

/// Give a partner a key to the CAP feed, for the regions and categories it may read. The key is in
/// this answer only: hand it to the partner; only its hash is kept.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "partners",
    security(("staff_token" = [])),
    request_body = NewPartnerKeyBody,
    responses(
        (status = 201, description = "The key, with the key itself (`key`), shown this once.", body = IssuedPartnerKey),
        JsonBodyProblems,
        StaffAccessProblems,
        (status = 422, description = "`invalid_body`, `invalid_partner_name`, `invalid_regions` (none, or not a region code), `unknown_region` or `invalid_categories`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/partner-keys")]
pub async fn create_partner_key(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    body: JsonBody<NewPartnerKeyBody>,
) -> Result<HttpResponse, ApiError> {
    let draft = PartnerKeyDraft::parse(
        &body.name,
        &body.regions,
        &body.categories,
        body.include_exercises.unwrap_or(false),
    )?;
    let mut conn = state.db().await?;
    let issued = partners::create(&mut conn, &admin, draft).await?;
    Ok(HttpResponse::Created().json(issued))
}

/// Every partner key, revoked ones too, oldest first: without the keys themselves.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "partners",
    security(("staff_token" = [])),
    responses((status = 200, description = "The keys.", body = Vec<PartnerKey>), StaffAccessProblems)
)]
#[get("/v1/partner-keys")]
pub async fn list_partner_keys(
    state: web::Data<AppState>,
    Admin(admin): Admin,
) -> Result<web::Json<Vec<PartnerKey>>, ApiError> {
    let mut conn = state.db().await?;
    Ok(web::Json(partners::list(&mut conn, &admin).await?))
}

/// Revoke a partner key: it opens nothing from the next request on. Revoking it again changes
/// nothing.
///
/// Who may call: administrators.
#[utoipa::path(
    tag = "partners",
    security(("staff_token" = [])),
    params(("key_id" = uuid::Uuid, Path, description = "The key.")),
    responses(
        (status = 204, description = "Revoked."),
        (status = 400, description = "`invalid_path_parameter`: the id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        StaffAccessProblems,
        (status = 404, description = "`partner_key_not_found`: no such key.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/partner-keys/{key_id}")]
pub async fn revoke_partner_key(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    key_id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    partners::revoke(&mut conn, &admin, PartnerKeyId(*key_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// An Atom 1.0 feed of the CAP 1.2 messages (the alert, each expansion, each update, the closing)
/// of the sent alerts in your key's regions and categories, newest first, at most 100. Each entry
/// has the message's id (`urn:uuid:...`), its Dutch headline as `title`, when it was sent as
/// `updated`, a link to the message on its own, and the CAP `<alert>` inline in `content`.
/// Exercises and tests only when your key includes them. Poll with `since`.
///
/// Who may call: partners, with their key in `X-Partner-Key`. Bearer tokens play no part.
#[utoipa::path(
    tag = "partner feed",
    security(("partner_key" = [])),
    params(FeedQuery),
    responses(
        (status = 200, description = "The feed.", body = String, content_type = "application/atom+xml"),
        (status = 400, description = "`invalid_query`: `since` is not an RFC 3339 time.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_partner_key`: no key, or an unknown or revoked one.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cap/feed")]
pub async fn cap_feed(
    state: web::Data<AppState>,
    Partner(partner): Partner,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let source = FeedSource { sender: &state.cap_sender, public_url: &state.messaging.public_url };
    let mut conn = state.db().await?;
    let feed = partners::feed(&mut conn, &partner, query.since, source).await?;
    Ok(HttpResponse::Ok().content_type(partners::ATOM_MEDIA_TYPE).body(feed))
}

/// One CAP 1.2 message of the feed, as its entry links to it.
///
/// Who may call: partners, with their key in `X-Partner-Key`, for messages in its scope. Bearer
/// tokens play no part.
#[utoipa::path(
    tag = "partner feed",
    security(("partner_key" = [])),
    params(("message_id" = uuid::Uuid, Path, description = "The message, as the feed's entry names it.")),
    responses(
        (status = 200, description = "The CAP 1.2 message.", body = String, content_type = "application/cap+xml"),
        (status = 400, description = "`invalid_path_parameter`: the id is not a UUID.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_partner_key`: no key, or an unknown or revoked one.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`message_not_found`: no such message in your key's scope.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/cap/messages/{message_id}")]
pub async fn partner_cap_message(
    state: web::Data<AppState>,
    Partner(partner): Partner,
    message_id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let xml =
        partners::cap_message(&mut conn, &partner, AlertMessageId(*message_id), &state.cap_sender).await?;
    Ok(HttpResponse::Ok().content_type(cap::MEDIA_TYPE).body(xml))
}
