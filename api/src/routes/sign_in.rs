//! Signing in by phone and keeping the session alive: request a code, trade it for tokens,
//! refresh, sign out.

use actix_web::{HttpResponse, delete, post, web};
use burgernet_core::ids::ParticipantId;
use burgernet_core::metrics::ErrorSource;
use burgernet_core::participants::sign_in::{self, SessionTokens};
use burgernet_core::vocabulary::Language;
use burgernet_core::vocabulary::phone::PhoneNumber;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::{ClientAddress, Participant};
use crate::error::{ApiError, JsonBodyProblems, ParticipantAccessProblems, Problem};
use crate::json::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    /// The participant's mobile number: E.164 (`+31612345678`) or Dutch national (`06 12345678`).
    /// Numbers from EU/EEA countries and Switzerland are accepted.
    pub phone_number: String,
    /// The language of the SMS; Dutch when absent.
    #[serde(default)]
    pub language: Option<Language>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CodeSentResponse {
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
    /// The earliest moment a new code may be requested.
    pub resend_after: DateTime<Utc>,
}

/// Send a six-digit sign-in code by SMS.
///
/// Who may call: anyone (this is how participants sign up and sign in). A code works for 10
/// minutes and allows 5 wrong tries, after which the number is locked for a while. Requests are
/// limited per number and per client; a refused request says when to retry (`Retry-After`).
/// The number of a participant the municipality removed gets no code: it gets an SMS saying why,
/// and the answer is the same as for any number.
#[utoipa::path(
    tag = "sign-in",
    request_body = CodeRequest,
    responses(
        (status = 202, description = "The code was handed to the SMS provider.", body = CodeSentResponse),
        JsonBodyProblems,
        (status = 422, description = "`invalid_body`, `invalid_phone_number`, `unsupported_phone_country`, or `phone_number_unreachable` (the provider refused the number).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`, `resend_too_soon`, `sign_in_locked` or `sign_in_budget_exhausted` (the hourly budget of codes for the number's country, or for all numbers, is spent); see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`sms_not_sent`: the SMS provider failed; nothing was sent. See `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/sign-in/codes")]
pub async fn request_code(
    state: web::Data<AppState>,
    client: ClientAddress,
    body: JsonBody<CodeRequest>,
) -> Result<HttpResponse, ApiError> {
    let phone = PhoneNumber::parse(&body.phone_number)?;
    let language = body.language.unwrap_or(Language::Dutch);
    let mut conn = state.db().await?;
    let sent =
        state.sign_in().request_code(&mut conn, &phone, &client.0, language).await.inspect_err(|error| {
            if let sign_in::SignInError::SmsNotSent(sms) = error {
                state.metrics.provider_errors.count(ErrorSource::Sms, &sms.provider_code());
            }
        })?;
    Ok(HttpResponse::Accepted()
        .json(CodeSentResponse { expires_at: sent.expires_at, resend_after: sent.resend_after }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeVerification {
    /// The number the code was sent to, as in the code request.
    pub phone_number: String,
    /// The six digits from the SMS.
    pub code: String,
}

/// A session's tokens. Keep the refresh token secret: it works once, and using it twice ends the
/// session.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionTokensResponse {
    pub participant_id: ParticipantId,
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// Trade it at `POST /v1/session/refresh` for a new pair before the access token expires.
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime<Utc>,
    /// True when this sign-in created the account.
    pub new_participant: bool,
}

impl From<SessionTokens> for SessionTokensResponse {
    fn from(tokens: SessionTokens) -> Self {
        Self {
            participant_id: tokens.participant_id,
            access_token: tokens.access_token.token.expose().clone(),
            access_token_expires_at: tokens.access_token.expires_at,
            refresh_token: tokens.refresh_token.expose().clone(),
            refresh_token_expires_at: tokens.refresh_token_expires_at,
            new_participant: tokens.new_participant,
        }
    }
}

/// Trade a correct code for a session; the first sign-in creates the participant.
///
/// Who may call: anyone holding the code sent to the number, unless the municipality has removed
/// its participant.
#[utoipa::path(
    tag = "sign-in",
    request_body = CodeVerification,
    responses(
        (status = 200, description = "Signed in.", body = SessionTokensResponse),
        JsonBodyProblems,
        (status = 403, description = "`participant_removed`: the code was right, but the municipality has removed this number's participant.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`, `invalid_phone_number`, `invalid_code`, `no_active_code`, `code_expired` or `code_incorrect` (the detail says how many tries are left).", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`, or `sign_in_locked` after too many wrong codes; see `Retry-After`.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/sign-in/tokens")]
pub async fn verify_code(
    state: web::Data<AppState>,
    client: ClientAddress,
    body: JsonBody<CodeVerification>,
) -> Result<web::Json<SessionTokensResponse>, ApiError> {
    let phone = PhoneNumber::parse(&body.phone_number)?;
    let code = body.code.trim();
    if code.len() != 6 || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(ApiError::unprocessable("invalid_code", "The code is the six digits from the SMS."));
    }
    let mut conn = state.db().await?;
    let tokens = state.sign_in().verify_code(&mut conn, &phone, code, &client.0).await?;
    Ok(web::Json(tokens.into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// Trade a refresh token for a new access and refresh token.
///
/// Who may call: anyone holding a refresh token. Each refresh token works once; presenting a used
/// one ends the whole session (someone else has a copy), and both holders must sign in again.
/// One exception: a retry with the same token within 10 seconds, while the token it was traded
/// for is still unused (the answer was lost on a bad connection), gets a new pair of the same
/// session, and the pair of the lost answer stops working.
#[utoipa::path(
    tag = "sign-in",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "The next pair of tokens.", body = SessionTokensResponse),
        JsonBodyProblems,
        (status = 401, description = "`invalid_refresh_token`, `refresh_token_expired`, `refresh_token_reused` (the session is now ended), `session_revoked`, or `participant_removed` (the municipality removed the participant, which ended the session).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`: the body lacks `refresh_token` or holds other fields.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/session/refresh")]
pub async fn refresh_session(
    state: web::Data<AppState>,
    body: JsonBody<RefreshRequest>,
) -> Result<web::Json<SessionTokensResponse>, ApiError> {
    let mut conn = state.db().await?;
    let tokens = state.sign_in().refresh(&mut conn, body.refresh_token.trim()).await?;
    Ok(web::Json(tokens.into()))
}

/// Sign out: end this session. Its access and refresh tokens stop working at once.
///
/// Who may call: a participant, for the session their access token belongs to.
#[utoipa::path(
    tag = "sign-in",
    security(("participant_token" = [])),
    responses(
        (status = 204, description = "Signed out."),
        ParticipantAccessProblems,
    )
)]
#[delete("/v1/session")]
pub async fn sign_out(
    state: web::Data<AppState>,
    participant: Participant,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db().await?;
    sign_in::sign_out(&mut conn, participant.0.session_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
