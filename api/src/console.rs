//! The console: the staff's single-page app (`console/` in the repository, bundled by
//! `scripts/build-console`), embedded in the binary so that it is served by every `burgernet
//! serve` and loads nothing from elsewhere. It is a client of the public API like any other: it
//! signs staff in with the organisation's identity provider and calls `/v1/...` with their token.
//!
//! Its pages carry a strict Content-Security-Policy: scripts and styles only from here (no inline
//! ones), pictures also from the configured tile service and media store, connections only to the
//! API and the identity provider.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use burgernet_core::config::ConsoleConfig;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::state::AppState;

struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
    /// A strong validator of `bytes`, computed on first use.
    entity_tag: OnceLock<String>,
}

macro_rules! asset {
    ($file:literal, $content_type:literal) => {
        Asset {
            content_type: $content_type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../console/dist/", $file)),
            entity_tag: OnceLock::new(),
        }
    };
}

static INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");
static SCRIPT: Asset = asset!("app.js", "text/javascript; charset=utf-8");
static STYLE: Asset = asset!("app.css", "text/css; charset=utf-8");

/// What the console's pages may load, and what the console needs to know at start.
#[derive(Debug, Clone)]
pub struct ConsoleSite {
    content_security_policy: HeaderValue,
    settings: serde_json::Value,
}

#[derive(Serialize)]
struct Settings<'a> {
    oidc: OidcSettings<'a>,
    tiles: Option<TileSettings<'a>>,
    /// Local mode: the identity provider is the local stand-in (the sign-in page says so).
    local_mode: bool,
}

#[derive(Serialize)]
struct OidcSettings<'a> {
    issuer: &'a str,
    client_id: &'a str,
    scopes: &'a str,
    redirect_uri: &'a str,
}

#[derive(Serialize)]
struct TileSettings<'a> {
    url: &'a str,
    attribution: &'a str,
}

impl ConsoleSite {
    pub fn new(config: &ConsoleConfig, local_mode: bool) -> Self {
        let identity_provider = origin_of(&config.oidc_issuer);
        let tiles = config.tiles.as_ref().and_then(|tiles| origin_of(&tiles.url_template));
        let media = config.media_origin.clone();
        let sources = |extra: &[Option<&String>]| {
            extra.iter().flatten().map(|origin| format!(" {origin}")).collect::<String>()
        };
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self'; \
             img-src 'self' data: blob:{images}; media-src 'self' blob:{media_sources}; \
             connect-src 'self'{connect}; form-action 'self'{connect}; object-src 'none'; \
             base-uri 'none'; frame-ancestors 'none'",
            images = sources(&[tiles.as_ref(), media.as_ref()]),
            media_sources = sources(&[media.as_ref()]),
            connect = sources(&[identity_provider.as_ref()]),
        );
        let settings = Settings {
            oidc: OidcSettings {
                issuer: &config.oidc_issuer,
                client_id: &config.oidc_client_id,
                scopes: &config.oidc_scopes,
                redirect_uri: &config.redirect_uri,
            },
            tiles: config
                .tiles
                .as_ref()
                .map(|tiles| TileSettings { url: &tiles.url_template, attribution: &tiles.attribution }),
            local_mode,
        };
        Self {
            content_security_policy: HeaderValue::from_str(&policy)
                .expect("origins are checked URLs, so the policy is a valid header"),
            settings: serde_json::to_value(settings).expect("settings serialize"),
        }
    }
}

/// `https://host:port` of a URL, `None` when it is not an http(s) URL with a host.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split('/').next().filter(|authority| !authority.is_empty())?;
    matches!(scheme, "http" | "https").then(|| format!("{scheme}://{authority}"))
}

/// `/console/...`, and `/console` itself leading there.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/console", web::get().to(to_console))
        .route("/console/", web::get().to(index))
        .route("/console/app.js", web::get().to(script))
        .route("/console/app.css", web::get().to(style))
        .route("/console/settings.json", web::get().to(settings));
}

/// `GET /` of local mode: the console is what a person starting `burgernet dev` wants.
pub async fn to_console() -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, "/console/")).finish()
}

async fn index(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    serve(&INDEX, &state.console, &request)
}

async fn script(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    serve(&SCRIPT, &state.console, &request)
}

async fn style(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    serve(&STYLE, &state.console, &request)
}

async fn settings(state: web::Data<AppState>) -> HttpResponse {
    with_site_headers(&mut HttpResponse::Ok(), &state.console)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(&state.console.settings)
}

/// An asset with a validator, so a reload costs a 304 and a new build is fetched at once.
fn serve(asset: &'static Asset, site: &ConsoleSite, request: &HttpRequest) -> HttpResponse {
    let tag = entity_tag(asset);
    let unchanged = request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|candidate| candidate.trim() == tag));
    let mut response = if unchanged { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    with_site_headers(&mut response, site)
        .insert_header((header::ETAG, tag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if unchanged { response.finish() } else { response.content_type(asset.content_type).body(asset.bytes) }
}

fn with_site_headers<'a>(
    response: &'a mut actix_web::HttpResponseBuilder,
    site: &ConsoleSite,
) -> &'a mut actix_web::HttpResponseBuilder {
    response
        .insert_header((header::CONTENT_SECURITY_POLICY, site.content_security_policy.clone()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header(("permissions-policy", "geolocation=(), camera=(), microphone=()"))
}

fn entity_tag(asset: &'static Asset) -> &'static str {
    asset.entity_tag.get_or_init(|| {
        let digest = Sha256::digest(asset.bytes);
        let hex: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
        format!("\"{hex}\"")
    })
}

#[cfg(test)]
mod tests {
    use burgernet_core::config::{PDOK_BRT_TILES, TileService};

    use super::*;

    #[test]
    fn the_policy_allows_the_tile_service_the_media_store_and_the_identity_provider_and_nothing_else() {
        let config = ConsoleConfig {
            oidc_issuer: "https://idp.politie.test/realms/burgernet".into(),
            oidc_client_id: "burgernet-console".into(),
            oidc_scopes: "openid profile".into(),
            redirect_uri: "https://burgernet.test/console/".into(),
            tiles: Some(TileService { url_template: PDOK_BRT_TILES.into(), attribution: "Kadaster".into() }),
            media_origin: Some("https://media.burgernet.test".into()),
        };
        let site = ConsoleSite::new(&config, false);
        let policy = site.content_security_policy.to_str().unwrap();
        assert_eq!(
            policy,
            "default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self'; \
             img-src 'self' data: blob: https://service.pdok.nl https://media.burgernet.test; \
             media-src 'self' blob: https://media.burgernet.test; \
             connect-src 'self' https://idp.politie.test; form-action 'self' https://idp.politie.test; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        );
        assert_eq!(site.settings["tiles"]["url"], PDOK_BRT_TILES);
        assert_eq!(site.settings["oidc"]["issuer"], "https://idp.politie.test/realms/burgernet");
        assert_eq!(site.settings["local_mode"], false);
    }

    #[test]
    fn without_a_tile_service_the_policy_names_no_other_host_for_pictures() {
        let config = ConsoleConfig {
            oidc_issuer: "http://127.0.0.1:8080/dev/identity".into(),
            oidc_client_id: "burgernet-console".into(),
            oidc_scopes: "openid profile".into(),
            redirect_uri: "http://127.0.0.1:8080/console/".into(),
            tiles: None,
            media_origin: None,
        };
        let site = ConsoleSite::new(&config, true);
        let policy = site.content_security_policy.to_str().unwrap();
        assert!(policy.contains("img-src 'self' data: blob:; media-src 'self' blob:;"), "{policy}");
        assert!(policy.contains("connect-src 'self' http://127.0.0.1:8080;"), "{policy}");
        assert_eq!(site.settings["tiles"], serde_json::Value::Null);
    }
}
