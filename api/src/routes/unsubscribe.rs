//! One-click unsubscribe from municipal messages (RFC 8058): the link in every newsletter's
//! `List-Unsubscribe` header and footer. It works without signing in: the token in the link is
//! the proof, it was sent only to the participant's own address.
//!
//! A `GET` only shows a page with a button, because mail scanners and link previews follow links;
//! the `POST` (from that button, or from the mail client's own unsubscribe button with the body
//! `List-Unsubscribe=One-Click`) unsubscribes. Unsubscribing again answers the same.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use burgernet_core::messages::responses::{self, UnsubscribeLink};
use burgernet_core::vocabulary::{Language, MunicipalMessageKind};

use crate::error::ApiError;
use crate::html::{escape, notice_page};
use crate::state::AppState;

/// The page's policy: no scripts, nothing loaded, the form posts back here only.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The page about an unsubscribe link, with a button that unsubscribes.
///
/// Who may call: anyone holding the link (it was sent only to the participant's address).
#[utoipa::path(
    tag = "municipal messages",
    params(("token" = String, Path, description = "The token from the e-mail's link.")),
    responses(
        (status = 200, description = "An HTML page saying what the button unsubscribes from.", body = String, content_type = "text/html"),
        (status = 404, description = "An unknown link; an HTML page says so.", body = String, content_type = "text/html"),
    )
)]
#[get("/v1/unsubscribe/{token}")]
pub async fn unsubscribe_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    Ok(match responses::unsubscribe_link(&mut conn, &token).await? {
        Some(link) => {
            let (title, text, button) = match link.language {
                Language::Dutch => (
                    "Afmelden",
                    format!(
                        "Wilt u geen {} van de gemeente {} meer ontvangen?",
                        kind_nl(link.kind),
                        link.municipality_name
                    ),
                    "Afmelden",
                ),
                Language::English => (
                    "Unsubscribe",
                    format!(
                        "No longer receive {} from the municipality of {}?",
                        kind_en(link.kind),
                        link.municipality_name
                    ),
                    "Unsubscribe",
                ),
            };
            let form = format!("<form method=\"post\"><button type=\"submit\">{button}</button></form>");
            page(StatusCode::OK, title, &escape(&text), &form)
        }
        None => unknown_link(),
    })
}

/// Unsubscribe from the kind of message the link came with (newsletters or preventive messages).
///
/// Who may call: anyone holding the link. The body is ignored (mail clients send
/// `List-Unsubscribe=One-Click`). Idempotent: a second time answers the same.
#[utoipa::path(
    tag = "municipal messages",
    params(("token" = String, Path, description = "The token from the e-mail's link.")),
    responses(
        (status = 200, description = "Unsubscribed; an HTML page says so.", body = String, content_type = "text/html"),
        (status = 404, description = "An unknown link; an HTML page says so.", body = String, content_type = "text/html"),
    )
)]
#[post("/v1/unsubscribe/{token}")]
pub async fn unsubscribe(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    Ok(match responses::unsubscribe(&mut conn, &token).await? {
        Some(link) => done(&link),
        None => unknown_link(),
    })
}

fn done(link: &UnsubscribeLink) -> HttpResponse {
    let (title, text) = match link.language {
        Language::Dutch => (
            "Afgemeld",
            format!(
                "U ontvangt geen {} van de gemeente {} meer. Burgernet-alerts blijft u ontvangen. \
                 In de app kunt u dit weer aanzetten.",
                kind_nl(link.kind),
                link.municipality_name
            ),
        ),
        Language::English => (
            "Unsubscribed",
            format!(
                "You will no longer receive {} from the municipality of {}. You still receive Burgernet alerts. \
                 You can switch this back on in the app.",
                kind_en(link.kind),
                link.municipality_name
            ),
        ),
    };
    page(StatusCode::OK, title, &escape(&text), "")
}

fn unknown_link() -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        "Link werkt niet / Link does not work",
        "Deze afmeldlink is onbekend. In de app kunt u zelf kiezen welke berichten u ontvangt. / \
         This unsubscribe link is unknown. You can choose which messages you receive in the app.",
        "",
    )
}

fn kind_nl(kind: MunicipalMessageKind) -> &'static str {
    match kind {
        MunicipalMessageKind::Newsletter => "nieuwsbrieven",
        MunicipalMessageKind::Prevention => "preventieberichten",
    }
}

fn kind_en(kind: MunicipalMessageKind) -> &'static str {
    match kind {
        MunicipalMessageKind::Newsletter => "newsletters",
        MunicipalMessageKind::Prevention => "prevention messages",
    }
}

/// A small self-contained page; `text` and `extra` are HTML already.
fn page(status: StatusCode, title: &str, text: &str, extra: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", PAGE_POLICY))
        // The URL holds the token: it must not travel on as a Referer, nor be kept by a cache.
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("Cache-Control", "no-store"))
        .body(notice_page(title, &format!("<p>{text}</p>{extra}")))
}
