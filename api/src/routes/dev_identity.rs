//! The local identity provider's OpenID Connect endpoints under `/dev/identity`, only in local
//! mode with the local provider (see `burgernet_local::identity::openid`, where every check
//! lives); not part of the contract. Pages and redirects carry a Content-Security-Policy that
//! allows no script, only our stylesheet, and forms that lead to us or the console.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use burgernet_core::reference_data;
use burgernet_core::vocabulary::regions::{Municipality, Region};
use burgernet_local::identity::openid::{
    AuthorizationRefusal, LocalOpenIdProvider, PATH, Parameters, SignInForm, TokenError,
};
use burgernet_local::identity::sign_in_page::{self, STYLESHEET, SignInPage};

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::OwnErrorFormat;

/// Registers the provider's routes, with the headers every answer of theirs carries.
pub fn configure(config: &mut web::ServiceConfig, provider: &LocalOpenIdProvider) {
    let policy = format!(
        "default-src 'none'; style-src 'self'; form-action 'self' {}; frame-ancestors 'none'",
        provider.redirect_origin()
    );
    config.service(
        web::scope(PATH)
            .wrap(
                DefaultHeaders::new()
                    .add((header::CONTENT_SECURITY_POLICY, policy))
                    .add((header::CACHE_CONTROL, "no-store"))
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    // Codes travel in addresses: no address of ours goes elsewhere as a referrer.
                    .add((header::REFERRER_POLICY, "no-referrer")),
            )
            .service(discovery)
            .service(jwks)
            .service(stylesheet)
            .service(authorization_page)
            .service(sign_in)
            .service(token)
            .service(end_session),
    );
}

fn provider(state: &AppState) -> Result<&LocalOpenIdProvider, ApiError> {
    state
        .dev_identity
        .as_deref()
        .ok_or_else(|| ApiError::not_found("The local identity provider exists only in local mode."))
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type(ContentType::html()).body(body)
}

fn see_other(location: String) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((header::LOCATION, location)).finish()
}

fn refused(refusal: AuthorizationRefusal) -> HttpResponse {
    match refusal {
        AuthorizationRefusal::Untrusted(reason) => {
            html(StatusCode::BAD_REQUEST, sign_in_page::refusal_page(&reason))
        }
        AuthorizationRefusal::Redirect(location) => see_other(location),
    }
}

/// The regions and municipalities to choose from, by name.
async fn directory(state: &AppState) -> Result<(Vec<Region>, Vec<Municipality>), ApiError> {
    let mut conn = state.db().await?;
    let regions = reference_data::list_regions(&mut conn).await?;
    let municipalities = reference_data::list_municipalities(&mut conn, None).await?;
    Ok((regions, municipalities))
}

#[get("/.well-known/openid-configuration")]
async fn discovery(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(provider(&state)?.discovery()))
}

#[get("/jwks.json")]
async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let jwks = provider(&state)?.jwks().to_string();
    Ok(HttpResponse::Ok().content_type(ContentType::json()).body(jwks))
}

#[get("/style.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok().content_type("text/css; charset=utf-8").body(STYLESHEET)
}

/// The sign-in page for a checked authorization request.
#[get("/authorize")]
async fn authorization_page(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let provider = provider(&state)?;
    let authorization =
        match provider.check_authorization(&Parameters::parse(request.query_string().as_bytes())) {
            Ok(authorization) => authorization,
            Err(refusal) => return Ok(refused(refusal)),
        };
    let (regions, municipalities) = directory(&state).await?;
    let form = SignInForm::initial(&regions, &municipalities);
    let page = SignInPage {
        request: &authorization,
        form: &form,
        regions: &regions,
        municipalities: &municipalities,
        error: None,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// The sign-in form: the request checked again, then the choice; a good choice goes back to the
/// client with a code, a bad one shows the page again with what was chosen.
#[post("/authorize")]
async fn sign_in(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let provider = provider(&state)?;
    let parameters = Parameters::parse(&body);
    let authorization = match provider.check_authorization(&parameters) {
        Ok(authorization) => authorization,
        Err(refusal) => return Ok(refused(refusal)),
    };
    let (regions, municipalities) = directory(&state).await?;
    let form = SignInForm::from_parameters(&parameters);
    let (status, error) = match form.choose(&regions, &municipalities) {
        Ok(identity) => match provider.grant(authorization.clone(), identity, chrono::Utc::now()) {
            Ok(location) => return Ok(see_other(location)),
            Err(busy) => (StatusCode::SERVICE_UNAVAILABLE, busy.to_string()),
        },
        Err(problem) => (StatusCode::UNPROCESSABLE_ENTITY, problem.to_string()),
    };
    let page = SignInPage {
        request: &authorization,
        form: &form,
        regions: &regions,
        municipalities: &municipalities,
        error: Some(&error),
    };
    Ok(html(status, page.render()))
}

/// The token endpoint: a code and its verifier for the tokens (errors as RFC 6749 §5.2 says).
#[post("/token")]
async fn token(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let provider = provider(&state)?;
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| {
            media_type.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    let outcome = if is_form {
        provider.exchange(&Parameters::parse(&body), chrono::Utc::now())
    } else {
        Err(TokenError {
            error: "invalid_request",
            error_description: "the body must be application/x-www-form-urlencoded".into(),
        })
    };
    Ok(match outcome {
        Ok(tokens) => HttpResponse::Ok().insert_header((header::PRAGMA, "no-cache")).json(tokens),
        Err(refusal) => {
            let status = match refusal.error {
                "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            let mut response = HttpResponse::build(status).json(refusal);
            // OAuth clients read `error`; this is not a problem document.
            response.extensions_mut().insert(OwnErrorFormat);
            response
        }
    })
}

/// Signing out (RP-initiated logout): back to the console when it asks, else a page saying so.
#[get("/end-session")]
async fn end_session(state: web::Data<AppState>, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Ok(match provider(&state)?.end_session(&Parameters::parse(request.query_string().as_bytes())) {
        Some(location) => see_other(location),
        None => html(StatusCode::OK, sign_in_page::signed_out_page()),
    })
}
