//! The public side of real alerts, open to anyone without a token: an alert's page (HTML, with
//! Open Graph tags for link previews) and its icon, the text the app offers to share, and a
//! region's Atom feed of closed alerts with their outcomes and closing reports, as the website
//! shows them. What they show is decided in `burgernet_core::alerts::public_page`: never
//! participants, tips, counts or the drawn area. All are cacheable.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use burgernet_core::alerts::public_id::page_url;
use burgernet_core::alerts::public_page;
use burgernet_core::partners::ATOM_MEDIA_TYPE;
use burgernet_core::vocabulary::Language;
use serde::Deserialize;

use crate::error::{ApiError, Problem};
use crate::public_page::{self as page, PAGE_CACHING};
use crate::state::AppState;

/// How long caches may keep a feed.
const FEED_CACHING: &str = "public, max-age=300";

/// The public page of a sent real alert: its texts in Dutch (and English when written), its
/// category, the municipalities its area covers, its updates, the call-back number while it is
/// active, and once it is closed the outcome, the closing message and the closing report. Never
/// anything about participants or tips, no counts, not the area itself. Drafts, exercises and
/// tests have no page. Served with a strict Content-Security-Policy (no scripts), cacheable for a
/// minute.
///
/// Who may call: anyone; the address is the link to share.
#[utoipa::path(
    tag = "public",
    params(("public_id" = String, Path, description = "The alert's public id (`public_id` on the staff's view of it, the end of `share_url` on the participant's).")),
    responses(
        (status = 200, description = "The page.", body = String, content_type = "text/html"),
        (status = 404, description = "No sent real alert has this id; an HTML page says so.", body = String, content_type = "text/html"),
    )
)]
#[get("/public/alerts/{public_id}")]
pub async fn public_alert_page(
    state: web::Data<AppState>,
    public_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    Ok(match public_page::find(&mut conn, &public_id).await? {
        Some(alert) => page::alert_page(&alert, &page_url(&state.messaging.public_url, &alert.public_id)),
        None => page::no_such_alert(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShareTextQuery {
    /// `nl` (default) or `en`: English where the control room wrote it, else Dutch.
    #[param(inline)]
    pub language: Option<Language>,
}

/// The text the app offers to share: the title, one line on where the alert is and how it stands
/// (call-back number while active, outcome once closed), and the page's address.
///
/// Who may call: anyone.
#[utoipa::path(
    tag = "public",
    params(
        ("public_id" = String, Path, description = "The alert's public id."),
        ShareTextQuery,
    ),
    responses(
        (status = 200, description = "The text, three lines.", body = String, content_type = "text/plain"),
        (status = 400, description = "`invalid_query`.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No sent real alert has this id.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/public/alerts/{public_id}/share-text")]
pub async fn share_text(
    state: web::Data<AppState>,
    public_id: web::Path<String>,
    query: web::Query<ShareTextQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let alert = public_page::find(&mut conn, &public_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No alert has this public id."))?;
    let url = page_url(&state.messaging.public_url, &alert.public_id);
    let text = public_page::share_text(&alert, query.language.unwrap_or(Language::Dutch), &url);
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, PAGE_CACHING))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(text))
}

/// An Atom 1.0 feed of the region's closed real alerts, the latest closed first (at most 50): each
/// with its title, where it was, its outcome, its closing report (else its closing message) and a
/// link to its page. Cacheable for five minutes.
///
/// Who may call: anyone.
#[utoipa::path(
    tag = "public",
    params(("region_code" = String, Path, description = "The police region's code, e.g. `rotterdam`.")),
    responses(
        (status = 200, description = "The feed.", body = String, content_type = "application/atom+xml"),
        (status = 404, description = "No such region.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/public/regions/{region_code}/closed-alerts.atom")]
pub async fn closed_alerts_feed(
    state: web::Data<AppState>,
    region_code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    let feed = public_page::closed_in_region(&mut conn, &region_code)
        .await?
        .ok_or_else(|| ApiError::not_found("There is no such region."))?;
    Ok(HttpResponse::Ok()
        .content_type(ATOM_MEDIA_TYPE)
        .insert_header((header::CACHE_CONTROL, FEED_CACHING))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(feed.atom(&state.messaging.public_url)))
}

/// The icon of the public pages (SVG).
///
/// Who may call: anyone.
#[utoipa::path(
    tag = "public",
    responses((status = 200, description = "The icon.", body = String, content_type = "image/svg+xml"))
)]
#[get("/public/icon.svg")]
pub async fn public_icon() -> HttpResponse {
    page::icon()
}
