//! Who is calling. Each role is an extractor: a handler that takes `Dispatcher` cannot run for
//! anyone else, so authorization cannot be forgotten. Scope checks against a specific region or
//! municipality happen in the handler with the `may_access_*` rules of `StaffMember`. A
//! participant's session is checked by `Participant` before the handler runs, or, for location
//! updates, by the one statement the handler runs (`ParticipantSessionCheckedInStatement`).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use burgernet_core::auth::participant::AuthenticatedParticipant;
use burgernet_core::auth::staff::{StaffMember, StaffRole, StaffTokenError};
use burgernet_core::ids::ParticipantId;
use burgernet_core::participants::account;
use burgernet_core::participants::rate_limits;
use futures_util::future::LocalBoxFuture;

use crate::error::ApiError;
use crate::state::AppState;

fn state(request: &HttpRequest) -> &web::Data<AppState> {
    request.app_data::<web::Data<AppState>>().expect("AppState is registered on the app")
}

/// The bearer token from `Authorization`.
fn bearer_token(request: &HttpRequest) -> Result<&str, ApiError> {
    let value = request.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthenticated("unauthenticated", "This endpoint needs an Authorization: Bearer token.")
    })?;
    let value = value.to_str().map_err(|_| {
        ApiError::unauthenticated("invalid_token", "The Authorization header is not readable text.")
    })?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthenticated(
            "invalid_token",
            "The Authorization header must be 'Bearer <token>'.",
        )),
    }
}

/// Verifies the bearer token as a staff token. Asynchronous because the identity provider's keys
/// may have to be fetched first (a token signed with a key we have not seen yet).
fn authenticate_staff(request: &HttpRequest) -> LocalBoxFuture<'static, Result<StaffMember, ApiError>> {
    let token = bearer_token(request).map(str::to_string);
    let state = state(request).clone();
    Box::pin(async move {
        let token = token?;
        match state.staff_tokens.verify(&token).await {
            Ok(member) => Ok(member),
            Err(StaffTokenError::MissingRole(missing)) => {
                Err(ApiError::forbidden("missing_role", missing.to_string()))
            }
            Err(StaffTokenError::Token(error)) => {
                if state.participant_tokens.verify_access_token(&token).is_ok() {
                    Err(ApiError::forbidden(
                        "staff_only",
                        "This endpoint is for control-room and municipal staff only.",
                    ))
                } else {
                    Err(error.into())
                }
            }
        }
    })
}

/// Any authenticated staff member.
#[derive(Debug, Clone)]
pub struct Staff(pub StaffMember);

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let member = authenticate_staff(request);
        Box::pin(async move { member.await.map(Staff) })
    }
}

/// Authenticates a staff member and keeps them only in the role `pick` accepts.
fn staff_in_role<T>(
    request: &HttpRequest,
    who: &'static str,
    pick: impl FnOnce(StaffMember) -> Result<T, StaffMember> + 'static,
) -> LocalBoxFuture<'static, Result<T, ApiError>> {
    let member = authenticate_staff(request);
    Box::pin(async move {
        pick(member.await?)
            .map_err(|_| ApiError::forbidden("role_required", format!("Only {who} may do this.")))
    })
}

/// A national administrator.
#[derive(Debug, Clone)]
pub struct Admin(pub StaffMember);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "administrators", |member| match member.role {
            StaffRole::Admin => Ok(Admin(member)),
            _ => Err(member),
        })
    }
}

/// A control-room dispatcher, with the region they are scoped to.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    pub member: StaffMember,
    pub region: String,
}

impl FromRequest for Dispatcher {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "dispatchers", |member| match &member.role {
            StaffRole::Dispatcher { region } => Ok(Dispatcher { region: region.clone(), member }),
            _ => Err(member),
        })
    }
}

/// A municipality's relations officer, with the municipality they are scoped to.
#[derive(Debug, Clone)]
pub struct RelationsOfficer {
    pub member: StaffMember,
    pub municipality: String,
}

impl FromRequest for RelationsOfficer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "relations officers", |member| match &member.role {
            StaffRole::RelationsOfficer { municipality } => {
                Ok(RelationsOfficer { municipality: municipality.clone(), member })
            }
            _ => Err(member),
        })
    }
}

/// Whoever manages participants: a relations officer (held to their own municipality by
/// [`ParticipantManager::ensure_municipality`]) or an administrator. Dispatchers see no
/// participant's personal data at all.
#[derive(Debug, Clone)]
pub struct ParticipantManager(pub StaffMember);

impl ParticipantManager {
    /// Refuses another municipality at once, before the request's input is judged (the services
    /// refuse it again whatever calls them).
    pub fn ensure_municipality(&self, cbs_code: &str) -> Result<(), ApiError> {
        ensure_scope(self.0.may_access_municipality(cbs_code, None))
    }
}

impl FromRequest for ParticipantManager {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "relations officers and administrators", |member| match &member.role {
            StaffRole::RelationsOfficer { .. } | StaffRole::Admin => Ok(ParticipantManager(member)),
            _ => Err(member),
        })
    }
}

/// Whoever may see alerts: a dispatcher or region manager (held to their own region by
/// [`AlertViewer::ensure_region`]) or an administrator. Relations officers see participants, not
/// alerts.
#[derive(Debug, Clone)]
pub struct AlertViewer(pub StaffMember);

impl AlertViewer {
    pub fn ensure_region(&self, region_code: &str) -> Result<(), ApiError> {
        ensure_scope(self.0.may_access_region(region_code))
    }
}

impl FromRequest for AlertViewer {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "dispatchers, region managers and administrators", |member| {
            match &member.role {
                StaffRole::Dispatcher { .. } | StaffRole::RegionManager { .. } | StaffRole::Admin => {
                    Ok(AlertViewer(member))
                }
                _ => Err(member),
            }
        })
    }
}

/// Whoever keeps a region's scenarios: a region manager (held to their own region by the
/// service) or an administrator.
#[derive(Debug, Clone)]
pub struct ScenarioKeeper(pub StaffMember);

impl FromRequest for ScenarioKeeper {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "region managers and administrators", |member| match &member.role {
            StaffRole::RegionManager { .. } | StaffRole::Admin => Ok(ScenarioKeeper(member)),
            _ => Err(member),
        })
    }
}

/// Whoever may keep an alert's evidence past its retention (legal holds): a dispatcher (held to
/// their own region by the service) or an administrator. Region managers read, and keep nothing.
#[derive(Debug, Clone)]
pub struct EvidenceKeeper(pub StaffMember);

impl FromRequest for EvidenceKeeper {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "dispatchers and administrators", |member| match &member.role {
            StaffRole::Dispatcher { .. } | StaffRole::Admin => Ok(EvidenceKeeper(member)),
            _ => Err(member),
        })
    }
}

/// Whoever writes the public closing report of a region's alerts: a dispatcher or region manager
/// (held to their own region by the service), under whom communication staff work.
#[derive(Debug, Clone)]
pub struct ReportWriter(pub StaffMember);

impl FromRequest for ReportWriter {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        staff_in_role(request, "dispatchers and region managers", |member| match &member.role {
            StaffRole::Dispatcher { .. } | StaffRole::RegionManager { .. } => Ok(ReportWriter(member)),
            _ => Err(member),
        })
    }
}

/// A participant signed in through the app, whose session has not ended (signed out, revoked
/// for refresh-token reuse, or erased): access tokens die with their session.
#[derive(Debug, Clone, Copy)]
pub struct Participant(pub AuthenticatedParticipant);

impl Participant {
    pub fn id(&self) -> ParticipantId {
        self.0.participant_id
    }
}

/// Verifies the bearer token as a participant's access token. A token that is not one is told
/// apart from a staff token (403 `participants_only`) only when it fails, off the hot path.
async fn verify_participant_token(
    state: &AppState,
    token: Result<String, ApiError>,
) -> Result<AuthenticatedParticipant, ApiError> {
    let token = token?;
    match state.participant_tokens.verify_access_token(&token) {
        Ok(participant) => Ok(participant),
        Err(error) => {
            if state.staff_tokens.verify(&token).await.is_ok() {
                Err(ApiError::forbidden(
                    "participants_only",
                    "This endpoint is for participants using the app.",
                ))
            } else {
                Err(error.into())
            }
        }
    }
}

impl FromRequest for Participant {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(request).map(str::to_string);
        let state = state(request).clone();
        Box::pin(async move {
            let participant = verify_participant_token(&state, token).await?;
            ensure_session_active(&state, &participant).await?;
            Ok(Participant(participant))
        })
    }
}

/// 401 `session_revoked` (or `participant_removed`) unless the token's session exists, is the
/// participant's and has not been revoked.
async fn ensure_session_active(
    state: &AppState,
    participant: &AuthenticatedParticipant,
) -> Result<(), ApiError> {
    let mut conn = state.db().await?;
    Ok(account::ensure_session_active(&mut conn, participant).await?)
}

/// A participant whose access token verified, with the session check left to the one data-layer
/// statement the endpoint runs: for hot endpoints (location updates) whose statement checks that
/// the token's session exists, is the participant's and is not revoked while it writes, saving a
/// query and a pooled connection per request. The claims come out only through
/// [`Self::claims_for_session_check`], to hand to such a statement.
#[derive(Debug, Clone, Copy)]
pub struct ParticipantSessionCheckedInStatement(AuthenticatedParticipant);

impl ParticipantSessionCheckedInStatement {
    /// The token's participant and session, for a data-layer function that checks the session
    /// in its own statement (its documentation says so).
    pub fn claims_for_session_check(&self) -> &AuthenticatedParticipant {
        &self.0
    }

    /// Checks the session on its own, for refusals made before the statement would run (an
    /// invalid body): an ended session is answered 401 first, as on every participant endpoint.
    pub async fn ensure_session_active(&self, state: &AppState) -> Result<(), ApiError> {
        ensure_session_active(state, &self.0).await
    }
}

impl FromRequest for ParticipantSessionCheckedInStatement {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(request).map(str::to_string);
        let state = state(request).clone();
        Box::pin(async move {
            verify_participant_token(&state, token).await.map(ParticipantSessionCheckedInStatement)
        })
    }
}

/// The caller's network address, for per-client rate limits (an IPv6 address by its /64).
/// Behind `trusted_proxy_hops` proxies it is read from `X-Forwarded-For` (counting from the
/// right, the part proxies wrote); otherwise it is the connection's peer.
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl FromRequest for ClientAddress {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let hops = state(request).trusted_proxy_hops;
        let peer = request.peer_addr().map(|address| address.ip());
        let forwarded = || -> Option<std::net::IpAddr> {
            let parts: Vec<&str> = request
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .map(str::trim)
                .collect();
            parts.get(parts.len().checked_sub(hops)?)?.parse().ok()
        };
        let address = if hops == 0 { peer } else { forwarded().or(peer) };
        ready(Ok(ClientAddress(address.map(rate_limits::client_of).unwrap_or_default())))
    }
}

/// Refuses a staff member outside their scope with the same answer every time.
pub fn ensure_scope(allowed: bool) -> Result<(), ApiError> {
    if allowed { Ok(()) } else { Err(burgernet_core::auth::staff::OutOfScope.into()) }
}

/// Checks a provider's signed webhook call (`X-Signature-Timestamp`, `X-Signature`, see
/// `burgernet_core::providers::webhook_signature`) against `secrets`; `what` names the call in
/// the log and the problem ("receipt", "report"). Bearer tokens play no part.
pub fn verify_webhook_signature(
    request: &HttpRequest,
    body: &[u8],
    secrets: &[burgernet_core::secret::Secret<String>],
    what: &str,
) -> Result<(), ApiError> {
    let header = |name: &str| request.headers().get(name).and_then(|value| value.to_str().ok());
    let verified = burgernet_core::providers::webhook_signature::verify(
        secrets,
        header("x-signature-timestamp"),
        header("x-signature"),
        body,
        chrono::Utc::now(),
    );
    verified.map_err(|error| {
        tracing::warn!(%error, "{what} refused: its signature does not hold");
        ApiError::unauthenticated(
            "invalid_signature",
            format!("The {what}'s signature is missing, stale or wrong."),
        )
    })
}

/// A partner system (signage, AMBER Alert, a broadcaster) with an unrevoked key in
/// `X-Partner-Key`, held to what its key lets it read. Bearer tokens play no part.
#[derive(Debug, Clone)]
pub struct Partner(pub burgernet_core::partners::AuthenticatedPartner);

impl FromRequest for Partner {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        use burgernet_core::partners::{self, KEY_HEADER, PartnerKeySecret};
        let presented = request
            .headers()
            .get(KEY_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(|value| PartnerKeySecret::presented(value.trim()));
        let state = state(request).clone();
        Box::pin(async move {
            let mut conn = state.db().await?;
            Ok(Partner(partners::authenticate(&mut conn, presented.as_ref()).await?))
        })
    }
}
