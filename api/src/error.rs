//! The one error type at the HTTP edge. Every error leaves as `application/problem+json`
//! (RFC 9457) with a stable machine-readable `code`; internal detail goes to the log, never to
//! the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use burgernet_core::auth::TokenError;
use serde::Serialize;

use crate::telemetry::current_request_id;

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:burgernet:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the kind of problem (the HTTP reason phrase).
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, for a person to read.
    pub detail: String,
    /// Stable machine-readable code; clients branch on this, not on `detail`.
    pub code: String,
    /// The request id, also sent as `X-Request-Id`; quote it when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Sent as `Retry-After` (whole seconds) with 429 and 503.
    pub retry_after: Option<std::time::Duration>,
    /// Logged, never sent.
    internal: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self { status, code, detail: detail.into(), retry_after: None, internal: None }
    }

    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    pub fn too_many_requests(
        code: &'static str,
        detail: impl Into<String>,
        wait: std::time::Duration,
    ) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, code, detail).retry_after(wait)
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    pub fn unauthenticated(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// Something broke on our side. The client learns only that; the cause is logged.
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal_error",
            detail: "Something went wrong on our side. It has been logged; please try again.".into(),
            retry_after: None,
            internal: Some(error.into()),
        }
    }

    /// The standard problem for a bare status (an unknown route, a wrong method, ...).
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("not_found", "There is nothing at this address."),
            StatusCode::METHOD_NOT_ALLOWED => {
                ("method_not_allowed", "This address does not accept this method; see the Allow header.")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload_too_large", "The request body is larger than allowed.")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported_media_type", "The request body must be sent as application/json.")
            }
            StatusCode::BAD_REQUEST => ("bad_request", "The request could not be understood."),
            StatusCode::UNAUTHORIZED => ("unauthenticated", "This endpoint needs a valid bearer token."),
            StatusCode::FORBIDDEN => ("forbidden", "You may not do this."),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request took too long to arrive."),
            StatusCode::URI_TOO_LONG => ("uri_too_long", "The request address is too long."),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
                ("headers_too_large", "The request headers are too large.")
            }
            StatusCode::NOT_ACCEPTABLE => ("not_acceptable", "We can only answer with JSON."),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "Too many requests; slow down."),
            status if status.is_server_error() => {
                ("internal_error", "Something went wrong on our side. It has been logged; please try again.")
            }
            _ => ("client_error", "The request was not accepted."),
        };
        Self::new(status, code, detail)
    }

    pub fn to_problem(&self, request_id: Option<String>) -> Problem {
        Problem {
            problem_type: format!("urn:burgernet:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            request_id,
        }
    }

    pub fn problem_response(&self, request_id: Option<String>) -> HttpResponse {
        if let Some(internal) = &self.internal {
            tracing::error!(error = format!("{internal:#}"), code = self.code, "request failed");
        }
        let mut response = HttpResponse::build(self.status).json(self.to_problem(request_id));
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_CONTENT_TYPE));
        if let Some(wait) = self.retry_after {
            let seconds = wait.as_secs().max(1).to_string();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_str(&seconds).expect("digits"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let challenge = match self.code {
                "unauthenticated" => "Bearer",
                _ => "Bearer error=\"invalid_token\"",
            };
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.problem_response(current_request_id())
    }
}

impl From<TokenError> for ApiError {
    fn from(error: TokenError) -> Self {
        let code = match error {
            TokenError::Expired => "token_expired",
            _ => "invalid_token",
        };
        Self::unauthenticated(code, error.to_string())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => Self::not_found("The requested item does not exist."),
            // The connection died under the request (the database restarted): as unavailable as
            // when no connection could be had at all. diesel-async reports a closed connection
            // (and any other failure to talk to the server) as `UnableToSendCommand`.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => {
                tracing::error!(error = %error, "the database connection closed during a request");
                Self::unavailable(
                    "database_unavailable",
                    "The service cannot reach its database right now; please retry.",
                )
            }
            other => Self::internal(other),
        }
    }
}

impl From<burgernet_core::db::PoolError> for ApiError {
    fn from(error: burgernet_core::db::PoolError) -> Self {
        tracing::error!(error = %error, "no database connection available");
        Self::unavailable(
            "database_unavailable",
            "The service cannot reach its database right now; please retry.",
        )
    }
}

impl From<burgernet_core::reference_data::ReferenceDataError> for ApiError {
    fn from(error: burgernet_core::reference_data::ReferenceDataError) -> Self {
        use burgernet_core::reference_data::ReferenceDataError;
        match error {
            ReferenceDataError::InvalidInput(_) | ReferenceDataError::InvalidFeatures(_) => {
                Self::unprocessable("invalid_reference_data", error.to_string())
            }
            ReferenceDataError::NotFound { .. } => {
                Self::unprocessable("unknown_reference", error.to_string())
            }
            ReferenceDataError::Conflict(_) => Self::conflict("already_exists", error.to_string()),
            ReferenceDataError::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::reference_data::LookupError> for ApiError {
    fn from(error: burgernet_core::reference_data::LookupError) -> Self {
        use burgernet_core::reference_data::LookupError as E;
        let detail = error.to_string();
        match error {
            E::OutOfScope(out_of_scope) => out_of_scope.into(),
            E::NoSuchRegion(_) | E::NoSuchMunicipality(_) => Self::not_found(detail),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::reports::distribution::DistributionError> for ApiError {
    fn from(error: burgernet_core::reports::distribution::DistributionError) -> Self {
        use burgernet_core::reports::distribution::DistributionError as E;
        match error {
            E::NationalScope => Self::bad_request("invalid_scope", error.to_string()),
            E::Database(inner) => inner.into(),
            E::Outline(_) => Self::internal(error),
        }
    }
}

/// What every staff endpoint answers to a caller who may not use it; listed in each operation's
/// responses beside its own.
#[derive(utoipa::IntoResponses)]
pub enum StaffAccessProblems {
    #[response(
        status = 401,
        description = "No token, or an invalid or expired one.",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
    #[response(
        status = 403,
        description = "A participant token, a token without a Burgernet role, or a role or scope that may not do this.",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
}

impl From<burgernet_core::vocabulary::InvalidInput> for ApiError {
    fn from(error: burgernet_core::vocabulary::InvalidInput) -> Self {
        Self::unprocessable(error.code, error.detail)
    }
}

impl From<burgernet_core::participants::sign_in::SignInError> for ApiError {
    fn from(error: burgernet_core::participants::sign_in::SignInError) -> Self {
        use burgernet_core::participants::sign_in::SignInError as E;
        use burgernet_core::providers::sms::SmsError;
        let detail = error.to_string();
        match error {
            E::RateLimited { retry_after } => Self::too_many_requests("rate_limited", detail, retry_after),
            E::BudgetExhausted { retry_after } => {
                Self::too_many_requests("sign_in_budget_exhausted", detail, retry_after)
            }
            E::ResendTooSoon { retry_after } => {
                Self::too_many_requests("resend_too_soon", detail, retry_after)
            }
            E::Locked { retry_after } => Self::too_many_requests("sign_in_locked", detail, retry_after),
            E::SmsNotSent(SmsError::Rejected { .. }) => Self::unprocessable(
                "phone_number_unreachable",
                "The SMS provider refused to deliver to this number; check the number or use another.",
            ),
            E::SmsNotSent(sms) => {
                tracing::error!(error = %sms, "a sign-in code could not be sent");
                let wait = sms.retry_after().unwrap_or(std::time::Duration::from_secs(30));
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "sms_not_sent",
                    "We could not send the code by SMS just now. Nothing was sent; please try again shortly.",
                )
                .retry_after(wait)
            }
            E::NoActiveCode => Self::unprocessable("no_active_code", detail),
            E::CodeExpired => Self::unprocessable("code_expired", detail),
            E::CodeIncorrect { .. } => Self::unprocessable("code_incorrect", detail),
            E::InvalidRefreshToken => Self::unauthenticated("invalid_refresh_token", detail),
            E::RefreshTokenExpired => Self::unauthenticated("refresh_token_expired", detail),
            E::RefreshTokenReused => Self::unauthenticated("refresh_token_reused", detail),
            E::SessionRevoked => Self::unauthenticated("session_revoked", detail),
            E::SessionEndedByRemoval => Self::unauthenticated("participant_removed", detail),
            E::ParticipantRemoved => Self::forbidden("participant_removed", detail),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::participants::account::AccountError> for ApiError {
    fn from(error: burgernet_core::participants::account::AccountError) -> Self {
        use burgernet_core::participants::account::AccountError as E;
        let detail = error.to_string();
        match error {
            E::AccountGone | E::SessionEnded => Self::unauthenticated("session_revoked", detail),
            E::ParticipantRemoved => Self::unauthenticated("participant_removed", detail),
            E::Invalid(invalid) => invalid.into(),
            E::TooManyPlaces => Self::conflict("too_many_places", detail),
            E::OutsideServiceArea => Self::unprocessable("outside_service_area", detail),
            E::PlaceNotFound | E::DeviceNotFound => Self::not_found(detail),
            E::TooManyDevices => Self::conflict("too_many_devices", detail),
            E::LiveLocationOff => Self::conflict("live_location_off", detail),
            E::TooManyVerificationEmails { retry_after } => {
                Self::too_many_requests("too_many_verification_emails", detail, retry_after)
            }
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::participants::management::ManagementError> for ApiError {
    fn from(error: burgernet_core::participants::management::ManagementError) -> Self {
        use burgernet_core::participants::management::ManagementError as E;
        let detail = error.to_string();
        match error {
            E::OutOfScope(out_of_scope) => out_of_scope.into(),
            E::NotFound | E::NoSuchMunicipality(_) => Self::not_found(detail),
            E::NotApplicable { .. } => Self::conflict("decision_not_applicable", detail),
            E::Invalid(invalid) => invalid.into(),
            E::Database(inner) => inner.into(),
        }
    }
}

/// What every participant endpoint answers to a caller who may not use it.
#[derive(utoipa::IntoResponses)]
pub enum ParticipantAccessProblems {
    #[response(
        status = 401,
        description = "No token, an invalid or expired one, or one of a session that has ended (`session_revoked`; `participant_removed` when the municipality removed the participant).",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
    #[response(status = 403, description = "A staff token.", content_type = "application/problem+json")]
    Forbidden(Problem),
}

/// What every operation with a JSON body may answer about the body itself.
#[derive(utoipa::IntoResponses)]
pub enum JsonBodyProblems {
    #[response(
        status = 400,
        description = "`malformed_json`: the body is not JSON; or `invalid_path_parameter`: a path parameter is malformed.",
        content_type = "application/problem+json"
    )]
    Malformed(Problem),
    #[response(
        status = 413,
        description = "`payload_too_large`: the body is too large.",
        content_type = "application/problem+json"
    )]
    TooLarge(Problem),
    #[response(
        status = 415,
        description = "`unsupported_media_type`: the body is not sent as application/json.",
        content_type = "application/problem+json"
    )]
    NotJson(Problem),
}

impl From<burgernet_core::messages::MessageError> for ApiError {
    fn from(error: burgernet_core::messages::MessageError) -> Self {
        use burgernet_core::messages::MessageError as E;
        let detail = error.to_string();
        match error {
            E::Lookup(lookup) => lookup.into(),
            E::NotFound => Self::not_found(detail),
            E::ChannelNotAllowed { .. } => Self::unprocessable("channel_not_allowed", detail),
            E::Invalid(invalid) => invalid.into(),
            E::Area(area) => area.into(),
            E::NotADraft(_) => Self::conflict("message_not_draft", detail),
            E::AlreadySending(_) => Self::conflict("message_already_sending", detail),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::alerts::area::AreaError> for ApiError {
    fn from(error: burgernet_core::alerts::area::AreaError) -> Self {
        use burgernet_core::alerts::area::AreaError as E;
        match error {
            E::Database(inner) => inner.into(),
            E::Invalid(invalid) => invalid.into(),
            other => Self::unprocessable(other.code(), other.to_string()),
        }
    }
}

impl From<burgernet_core::auth::staff::OutOfScope> for ApiError {
    fn from(error: burgernet_core::auth::staff::OutOfScope) -> Self {
        Self::forbidden("out_of_scope", error.to_string())
    }
}

impl From<burgernet_core::alerts::access::AccessError> for ApiError {
    fn from(error: burgernet_core::alerts::access::AccessError) -> Self {
        use burgernet_core::alerts::access::AccessError as E;
        let detail = error.to_string();
        match error {
            E::NotFound => Self::not_found(detail),
            E::OutOfScope(out_of_scope) => out_of_scope.into(),
            E::UnknownRegion(_) => Self::forbidden("unknown_region", detail),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::alerts::lifecycle::AlertError> for ApiError {
    fn from(error: burgernet_core::alerts::lifecycle::AlertError) -> Self {
        use burgernet_core::alerts::lifecycle::AlertError as E;
        let detail = error.to_string();
        if let Some(code) = error.status_code() {
            return Self::conflict(code, detail);
        }
        match error {
            E::Access(access) => access.into(),
            E::Area(area) => area.into(),
            E::Invalid(invalid) => invalid.into(),
            E::Database(inner) => inner.into(),
            E::WrongStatus { .. } | E::ReachesGroupsOnly => Self::conflict("alert_status", detail),
        }
    }
}

impl From<burgernet_core::target_groups::TargetGroupError> for ApiError {
    fn from(error: burgernet_core::target_groups::TargetGroupError) -> Self {
        use burgernet_core::target_groups::TargetGroupError as E;
        let (code, detail) = (error.code(), error.to_string());
        let status = match error {
            E::Invalid(invalid) => return invalid.into(),
            E::Database(inner) => return inner.into(),
            E::TooManyAttempts { retry_after } => return Self::too_many_requests(code, detail, retry_after),
            E::NotFound
            | E::NoSuchRegion(_)
            | E::MemberNotFound
            | E::UnknownInvitationCode
            | E::NotAMember => StatusCode::NOT_FOUND,
            E::AdminsOnly | E::NotGroupOwner | E::OutOfScope(_) | E::ParticipantNotActive(_) => {
                StatusCode::FORBIDDEN
            }
            E::NameTaken | E::Archived => StatusCode::CONFLICT,
        };
        Self::new(status, code, detail)
    }
}

impl From<burgernet_core::partners::PartnerError> for ApiError {
    fn from(error: burgernet_core::partners::PartnerError) -> Self {
        use burgernet_core::partners::PartnerError as E;
        let (code, detail) = (error.code(), error.to_string());
        let status = match error {
            E::Invalid(invalid) => return invalid.into(),
            E::Database(inner) => return inner.into(),
            E::InvalidKey => StatusCode::UNAUTHORIZED,
            E::AdminsOnly => StatusCode::FORBIDDEN,
            E::KeyNotFound | E::MessageNotFound => StatusCode::NOT_FOUND,
            E::UnknownRegion(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, code, detail)
    }
}

impl From<burgernet_core::scenarios::ScenarioError> for ApiError {
    fn from(error: burgernet_core::scenarios::ScenarioError) -> Self {
        use burgernet_core::scenarios::ScenarioError as E;
        let detail = error.to_string();
        match error {
            E::NotFound => Self::new(StatusCode::NOT_FOUND, "scenario_not_found", detail),
            E::NoSuchRegion(_) => Self::not_found(detail),
            E::RoleRequired(_) => Self::forbidden("role_required", detail),
            E::OutOfScope(out_of_scope) => out_of_scope.into(),
            E::NameTaken => Self::conflict("scenario_name_taken", detail),
            E::Archived => Self::conflict("scenario_archived", detail),
            E::Invalid(invalid) => invalid.into(),
            E::Alert(alert) => alert.into(),
            E::Unreadable(..) => Self::internal(error),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::alerts::progress::ReceiptError> for ApiError {
    fn from(error: burgernet_core::alerts::progress::ReceiptError) -> Self {
        use burgernet_core::alerts::progress::ReceiptError as E;
        match error {
            E::NotARecipient => Self::not_found(error.to_string()),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::alerts::tips::TipError> for ApiError {
    fn from(error: burgernet_core::alerts::tips::TipError) -> Self {
        use burgernet_core::alerts::tips::TipError as E;
        let detail = error.to_string();
        match error {
            E::NotFound => Self::not_found(detail),
            E::AlertClosed => Self::conflict("alert_closed", detail),
            E::RateLimited { retry_after } => Self::too_many_requests("rate_limited", detail, retry_after),
            E::IdempotencyKeyReused => Self::unprocessable("idempotency_key_reused", detail),
            E::Invalid(invalid) => invalid.into(),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::media::store::StoreError> for ApiError {
    fn from(error: burgernet_core::media::store::StoreError) -> Self {
        tracing::error!(error = %error, "the media store failed");
        Self::unavailable(
            "media_store_unavailable",
            "The media store cannot be reached just now; please retry.",
        )
    }
}

impl From<burgernet_core::media::uploads::MediaError> for ApiError {
    fn from(error: burgernet_core::media::uploads::MediaError) -> Self {
        use burgernet_core::media::uploads::MediaError as E;
        let detail = error.to_string();
        match error {
            E::TipNotFound | E::MediaNotFound => Self::not_found(detail),
            E::AlertClosed => Self::conflict("alert_closed", detail),
            E::TooManyMedia(_) => Self::conflict("too_many_media", detail),
            E::RateLimited { retry_after } => Self::too_many_requests("rate_limited", detail, retry_after),
            E::Invalid(invalid) => invalid.into(),
            E::IdempotencyKeyReused => Self::unprocessable("idempotency_key_reused", detail),
            E::UploadMissing => Self::conflict("upload_missing", detail),
            E::InvalidPartList => Self::unprocessable("invalid_part_list", detail),
            E::NotPending(_) => Self::conflict("media_expired", detail),
            E::Store(inner) => inner.into(),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::media::review::ReviewError> for ApiError {
    fn from(error: burgernet_core::media::review::ReviewError) -> Self {
        use burgernet_core::media::review::ReviewError as E;
        let detail = error.to_string();
        match error {
            E::Access(access) => access.into(),
            E::NotFound => Self::not_found(detail),
            E::NotReady(_) => Self::conflict("media_not_ready", detail),
            E::NoPreview => Self::conflict("no_preview", detail),
            E::Invalid(invalid) => invalid.into(),
            E::Store(inner) => inner.into(),
            E::Database(inner) => inner.into(),
        }
    }
}

impl From<burgernet_core::alerts::tip_review::TipReviewError> for ApiError {
    fn from(error: burgernet_core::alerts::tip_review::TipReviewError) -> Self {
        use burgernet_core::alerts::tip_review::TipReviewError as E;
        let detail = error.to_string();
        match error {
            E::Access(access) => access.into(),
            E::NotFound => Self::not_found(detail),
            E::Invalid(invalid) => invalid.into(),
            E::Database(inner) => inner.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    #[test]
    fn a_connection_lost_under_a_query_is_unavailable_not_an_internal_error() {
        // What diesel-async reports when the server closed the connection.
        let lost = Error::DatabaseError(
            DatabaseErrorKind::UnableToSendCommand,
            Box::new("connection closed".to_string()),
        );
        let error = ApiError::from(lost);
        assert_eq!((error.status, error.code), (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"));
    }
}
