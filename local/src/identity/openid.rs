//! The local identity provider as a small OpenID Connect provider, for local mode and the tests
//! only: the authorization code flow with PKCE (S256) for one public client, the console at
//! `{public_url}/console/`. Its sign-in page ([`super::sign_in_page`]) lets anyone pick a role and
//! a region or municipality; what it issues are the staff tokens of [`super::mint_staff_token`],
//! which the API verifies like those of the organisation's real identity provider.
//!
//! The API's handlers (`api/src/routes/dev_identity.rs`) only parse and answer; every check is
//! here. Codes live in memory: local mode is one process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use burgernet_core::auth::staff::StaffRole;
use burgernet_core::secret::Secret;
use burgernet_core::vocabulary::regions::{Municipality, Region};

use super::{DEV_KEY_ID, StaffTokenRequest, mint_staff_token};

/// The console's client id: a public client (no secret), so PKCE is required.
pub const CONSOLE_CLIENT_ID: &str = "burgernet-console";
/// How long a code may wait for its exchange.
pub const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// At most this many codes wait at once; expired ones are dropped first.
pub const MAX_PENDING_CODES: usize = 1000;
/// Longer parameters are refused: `state` and `nonce` travel back in URLs and tokens.
const MAX_PARAMETER_CHARS: usize = 1024;
const MAX_NAME_CHARS: usize = 100;
const SUPPORTED_SCOPES: [&str; 2] = ["openid", "profile"];
/// Where the provider lives on the API's own origin.
pub const PATH: &str = "/dev/identity";

/// The issuer of the local identity provider served by the API at `public_url`.
pub fn issuer_for(public_url: &str) -> String {
    format!("{}{PATH}", public_url.trim_end_matches('/'))
}

/// The console's address at `public_url`: its only redirect URI and post-logout URI.
pub fn console_url_for(public_url: &str) -> String {
    format!("{}/console/", public_url.trim_end_matches('/'))
}

/// `BASE64URL(SHA256(verifier))`, the S256 code challenge of RFC 7636.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A code verifier as RFC 7636 §4.1 allows: 43 to 128 unreserved characters.
fn is_code_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge: the base64url form (no padding) of 32 bytes.
fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43 && URL_SAFE_NO_PAD.decode(challenge).is_ok_and(|bytes| bytes.len() == 32)
}

/// Query or form parameters. A parameter sent without a value counts as absent, and none may be
/// sent twice (RFC 6749 §3.1).
#[derive(Debug, Default, Clone)]
pub struct Parameters {
    values: HashMap<String, String>,
    repeated: Vec<String>,
}

impl Parameters {
    /// Parses `application/x-www-form-urlencoded` text (a query string or a form body).
    pub fn parse(encoded: &[u8]) -> Self {
        let mut parameters = Self::default();
        for (name, value) in url::form_urlencoded::parse(encoded) {
            if value.is_empty() {
                continue;
            }
            if parameters.values.insert(name.to_string(), value.into_owned()).is_some() {
                parameters.repeated.push(name.into_owned());
            }
        }
        parameters
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The value, unless the parameter is repeated or too long.
    fn single(&self, name: &str) -> Result<Option<&str>, String> {
        if self.repeated.iter().any(|repeated| repeated == name) {
            return Err(format!("{name} is given more than once"));
        }
        match self.get(name) {
            Some(value) if value.chars().count() > MAX_PARAMETER_CHARS => {
                Err(format!("{name} is longer than {MAX_PARAMETER_CHARS} characters"))
            }
            value => Ok(value),
        }
    }
}

/// A checked authorization request (RFC 6749 §4.1.1 with RFC 7636's challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    /// As the client asked for it.
    pub scope: String,
    pub nonce: Option<String>,
}

impl AuthorizationRequest {
    /// The request's parameters, for the sign-in form to send back with the choice.
    pub fn parameters(&self) -> Vec<(&'static str, &str)> {
        let mut parameters = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", self.scope.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        parameters.extend(self.state.as_deref().map(|state| ("state", state)));
        parameters.extend(self.nonce.as_deref().map(|nonce| ("nonce", nonce)));
        parameters
    }

    /// The scopes granted: the supported ones asked for.
    fn granted_scope(&self) -> String {
        let granted: Vec<&str> =
            self.scope.split(' ').filter(|scope| SUPPORTED_SCOPES.contains(scope)).collect();
        granted.join(" ")
    }
}

/// Why an authorization request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationRefusal {
    /// The client or its redirect URI is not known: tell the person at the browser, never
    /// redirect to an unchecked address (RFC 6749 §4.1.2.1).
    Untrusted(String),
    /// Tell the client: redirect to this address with `error` (and `state`).
    Redirect(String),
}

/// A staff role as a person reads it on the sign-in page.
pub fn role_in_words(role: &str) -> Option<(&'static str, &'static str)> {
    match role {
        "dispatcher" => Some(("Meldkamercentralist", "Dispatcher, one police region")),
        "relations_officer" => Some(("Relatiebeheerder gemeente", "Relations officer, one municipality")),
        "region_manager" => Some(("Manager Burgernet", "Region manager, reads one police region")),
        "admin" => Some(("Beheerder", "Administrator")),
        _ => None,
    }
}

pub const ROLES: [&str; 4] = ["dispatcher", "relations_officer", "region_manager", "admin"];

/// How long the tokens of a sign-in stay valid: a working shift, or short, to try what an expired
/// session does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionLength {
    EightHours,
    FifteenMinutes,
    OneMinute,
}

impl SessionLength {
    pub const ALL: [SessionLength; 3] = [Self::EightHours, Self::FifteenMinutes, Self::OneMinute];

    /// The value in the form.
    pub fn value(self) -> &'static str {
        match self {
            Self::EightHours => "8h",
            Self::FifteenMinutes => "15m",
            Self::OneMinute => "1m",
        }
    }

    /// In Dutch and English.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Self::EightHours => ("8 uur", "8 hours"),
            Self::FifteenMinutes => ("15 minuten", "15 minutes"),
            Self::OneMinute => ("1 minuut", "1 minute"),
        }
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(match self {
            Self::EightHours => 8 * 3600,
            Self::FifteenMinutes => 15 * 60,
            Self::OneMinute => 60,
        })
    }

    fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|length| length.value() == value)
    }
}

/// What the person filled in on the sign-in page, as sent (shown again after a mistake).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInForm {
    pub name: String,
    pub role: String,
    pub region: String,
    pub municipality: String,
    pub session: String,
}

impl SignInForm {
    /// The form as the page first shows it: a dispatcher of the first region, and that region's
    /// first municipality for a relations officer.
    pub fn initial(regions: &[Region], municipalities: &[Municipality]) -> Self {
        let region = regions.first().map(|region| &region.code);
        let municipality = municipalities
            .iter()
            .find(|municipality| region.is_some() && municipality.region.as_ref() == region)
            .or(municipalities.first());
        Self {
            name: "Meldkamer Test".into(),
            role: "dispatcher".into(),
            region: region.map(|code| code.as_str().to_string()).unwrap_or_default(),
            municipality: municipality
                .map(|municipality| municipality.cbs_code.as_str().to_string())
                .unwrap_or_default(),
            session: SessionLength::EightHours.value().into(),
        }
    }

    pub fn from_parameters(parameters: &Parameters) -> Self {
        let field = |name: &str| parameters.get(name).unwrap_or_default().to_string();
        Self {
            name: field("name"),
            role: field("role"),
            region: field("region"),
            municipality: field("municipality"),
            session: field("session"),
        }
    }

    /// The identity chosen, if the choice holds: a known role, a name, and the region or
    /// municipality the role needs, which must exist.
    pub fn choose(
        &self,
        regions: &[Region],
        municipalities: &[Municipality],
    ) -> Result<ChosenIdentity, &'static str> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(
                "Vul een naam in van hoogstens 100 tekens. (Enter a name of at most 100 characters.)",
            );
        }
        let role = match self.role.as_str() {
            "dispatcher" | "region_manager" => {
                let region = regions
                    .iter()
                    .find(|region| !self.region.is_empty() && region.code.as_str() == self.region)
                    .ok_or("Kies de regio. (A dispatcher or region manager needs a region.)")?
                    .code
                    .as_str()
                    .to_string();
                if self.role == "dispatcher" {
                    StaffRole::Dispatcher { region }
                } else {
                    StaffRole::RegionManager { region }
                }
            }
            "relations_officer" => {
                let municipality = municipalities
                    .iter()
                    .find(|municipality| {
                        !self.municipality.is_empty() && municipality.cbs_code.as_str() == self.municipality
                    })
                    .ok_or("Kies de gemeente. (A relations officer needs a municipality.)")?;
                StaffRole::RelationsOfficer { municipality: municipality.cbs_code.as_str().to_string() }
            }
            "admin" => StaffRole::Admin,
            _ => return Err("Kies een rol. (Choose a role.)"),
        };
        let session = SessionLength::parse(&self.session)
            .ok_or("Kies hoe lang de sessie duurt. (Choose a session length.)")?;
        Ok(ChosenIdentity { name: name.to_string(), role, session })
    }
}

/// Who signs in, as chosen on the sign-in page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenIdentity {
    pub name: String,
    pub role: StaffRole,
    pub session: SessionLength,
}

impl ChosenIdentity {
    /// The same person (name, role and scope) gets the same subject at every sign-in, as at a
    /// real identity provider.
    pub fn subject(&self) -> String {
        let role = &self.role;
        let scope = format!("{}\n{}", role.name(), role.region().or(role.municipality()).unwrap_or_default());
        let digest = Sha256::digest(format!("{scope}\n{}", self.name).as_bytes());
        let hex: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
        format!("local-{hex}")
    }
}

/// The sign-in could not be completed now: too many codes are waiting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Te veel aanmeldingen tegelijk; probeer het zo opnieuw. (Too many sign-ins at once; try again shortly.)"
)]
pub struct TooManyPendingCodes;

/// The answer of the token endpoint (RFC 6749 §5.1).
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub id_token: String,
    pub scope: String,
}

/// A refused token request (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenError {
    pub error: &'static str,
    pub error_description: String,
}

impl TokenError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { error, error_description: description.into() }
    }
}

struct PendingCode {
    request: AuthorizationRequest,
    identity: ChosenIdentity,
    expires_at: DateTime<Utc>,
}

/// The claims of an ID token (OpenID Connect Core §2).
#[derive(Serialize)]
struct IdTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    name: &'a str,
}

/// The local OpenID Connect provider: its settings, key and the codes waiting for exchange.
pub struct LocalOpenIdProvider {
    issuer: String,
    /// The API's audience: the `aud` of the access tokens.
    api_audience: String,
    console_url: String,
    private_key_pem: Secret<String>,
    id_token_key: EncodingKey,
    jwks: String,
    codes: Mutex<HashMap<String, PendingCode>>,
}

impl std::fmt::Debug for LocalOpenIdProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalOpenIdProvider").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl LocalOpenIdProvider {
    /// The provider of the API at `public_url`, signing with `private_key_pem` (ES256), whose
    /// public half `jwks` publishes; its access tokens are for `api_audience`.
    pub fn new(
        public_url: &str,
        api_audience: &str,
        private_key_pem: Secret<String>,
        jwks: String,
    ) -> anyhow::Result<Self> {
        let id_token_key = EncodingKey::from_ec_pem(private_key_pem.expose().as_bytes())?;
        Ok(Self {
            issuer: issuer_for(public_url),
            api_audience: api_audience.to_string(),
            console_url: console_url_for(public_url),
            private_key_pem,
            id_token_key,
            jwks,
            codes: Mutex::new(HashMap::new()),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public keys, a JWKS document.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    /// The origin (`scheme://host:port`) of the redirect URI, where the sign-in form leads.
    pub fn redirect_origin(&self) -> String {
        url::Url::parse(&self.console_url).map(|url| url.origin().ascii_serialization()).unwrap_or_default()
    }

    /// The discovery document (OpenID Connect Discovery §3).
    pub fn discovery(&self) -> serde_json::Value {
        let issuer = &self.issuer;
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks.json"),
            "end_session_endpoint": format!("{issuer}/end-session"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "subject_types_supported": ["public"],
            "scopes_supported": SUPPORTED_SCOPES,
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "name", "role", "region", "municipality"],
            "token_endpoint_auth_methods_supported": ["none"],
            "authorization_response_iss_parameter_supported": true,
        })
    }

    /// Checks an authorization request (RFC 6749 §4.1.2.1): the client and its redirect URI
    /// first, since errors go back by redirect only once the redirect URI is known to be the
    /// client's.
    pub fn check_authorization(
        &self,
        parameters: &Parameters,
    ) -> Result<AuthorizationRequest, AuthorizationRefusal> {
        let untrusted = AuthorizationRefusal::Untrusted;
        let client_id = parameters.single("client_id").map_err(untrusted)?;
        if client_id != Some(CONSOLE_CLIENT_ID) {
            return Err(untrusted(format!(
                "Onbekende client. (Unknown client_id; this provider knows only {CONSOLE_CLIENT_ID}.)"
            )));
        }
        let redirect_uri = parameters.single("redirect_uri").map_err(untrusted)?;
        if redirect_uri != Some(self.console_url.as_str()) {
            return Err(untrusted(format!(
                "Dit terugkeeradres is niet toegestaan. (The redirect_uri is not registered; the \
                 console's is {}.)",
                self.console_url
            )));
        }
        let state = match parameters.single("state") {
            Ok(state) => state,
            // A state that cannot be sent back is not sent back.
            Err(problem) => return Err(self.refusal(None, "invalid_request", &problem)),
        };
        let refuse = |error: &str, description: &str| self.refusal(state, error, description);
        let single =
            |name: &str| parameters.single(name).map_err(|problem| refuse("invalid_request", &problem));
        match single("response_type")? {
            Some("code") => {}
            Some(_) => {
                return Err(refuse("unsupported_response_type", "only response_type=code is supported"));
            }
            None => return Err(refuse("invalid_request", "response_type is missing")),
        }
        let scope = single("scope")?.unwrap_or_default();
        if !scope.split(' ').any(|scope| scope == "openid") {
            return Err(refuse("invalid_scope", "the scope must include openid"));
        }
        let code_challenge = single("code_challenge")?
            .ok_or_else(|| refuse("invalid_request", "code_challenge is required (PKCE)"))?;
        if single("code_challenge_method")? != Some("S256") {
            return Err(refuse("invalid_request", "code_challenge_method must be S256"));
        }
        if !is_s256_challenge(code_challenge) {
            return Err(refuse("invalid_request", "code_challenge is not an S256 challenge"));
        }
        let nonce = single("nonce")?;
        Ok(AuthorizationRequest {
            client_id: CONSOLE_CLIENT_ID.to_string(),
            redirect_uri: self.console_url.clone(),
            state: state.map(str::to_string),
            code_challenge: code_challenge.to_string(),
            scope: scope.to_string(),
            nonce: nonce.map(str::to_string),
        })
    }

    fn refusal(&self, state: Option<&str>, error: &str, description: &str) -> AuthorizationRefusal {
        AuthorizationRefusal::Redirect(self.redirect_with(
            &self.console_url,
            &[("error", error), ("error_description", description)],
            state,
        ))
    }

    /// `base` with the parameters, the state (when there is one) and our issuer (RFC 9207).
    fn redirect_with(&self, base: &str, parameters: &[(&str, &str)], state: Option<&str>) -> String {
        let mut url = url::Url::parse(base).expect("the console's URL is a URL");
        {
            let mut query = url.query_pairs_mut();
            query.extend_pairs(parameters);
            if let Some(state) = state {
                query.append_pair("state", state);
            }
            query.append_pair("iss", &self.issuer);
        }
        url.into()
    }

    /// Issues a one-time code for `identity` and returns where to send the browser: the
    /// client's redirect URI with the code and state.
    pub fn grant(
        &self,
        request: AuthorizationRequest,
        identity: ChosenIdentity,
        now: DateTime<Utc>,
    ) -> Result<String, TooManyPendingCodes> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let code = URL_SAFE_NO_PAD.encode(bytes);
        let mut codes = self.codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        codes.retain(|_, pending| pending.expires_at > now);
        if codes.len() >= MAX_PENDING_CODES {
            return Err(TooManyPendingCodes);
        }
        let redirect =
            self.redirect_with(&request.redirect_uri, &[("code", &code)], request.state.as_deref());
        let expires_at = now + CODE_LIFETIME;
        codes.insert(code, PendingCode { request, identity, expires_at });
        Ok(redirect)
    }

    /// How many codes wait for their exchange.
    pub fn pending_codes(&self) -> usize {
        self.codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// The token request (RFC 6749 §4.1.3, RFC 7636 §4.6). A code works once: it is burned when
    /// presented, whether the exchange succeeds or not.
    pub fn exchange(&self, parameters: &Parameters, now: DateTime<Utc>) -> Result<TokenResponse, TokenError> {
        let invalid_request = |problem: String| TokenError::new("invalid_request", problem);
        let single = |name: &str| parameters.single(name).map_err(invalid_request);
        match single("grant_type")? {
            Some("authorization_code") => {}
            Some(_) => {
                return Err(TokenError::new(
                    "unsupported_grant_type",
                    "only authorization_code is supported",
                ));
            }
            None => return Err(invalid_request("grant_type is missing".into())),
        }
        if single("client_id")? != Some(CONSOLE_CLIENT_ID) {
            return Err(TokenError::new("invalid_client", "unknown or missing client_id"));
        }
        let code = single("code")?.ok_or_else(|| invalid_request("code is missing".into()))?;
        let pending = self.codes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(code);
        let invalid_grant = |description: &str| TokenError::new("invalid_grant", description);
        let pending = pending.ok_or_else(|| invalid_grant("the code is unknown or was used already"))?;
        if pending.expires_at <= now {
            return Err(invalid_grant("the code has expired"));
        }
        if pending.request.client_id != CONSOLE_CLIENT_ID {
            return Err(invalid_grant("the code was issued to another client"));
        }
        if single("redirect_uri")? != Some(pending.request.redirect_uri.as_str()) {
            return Err(invalid_grant("redirect_uri differs from the authorization request's"));
        }
        let verifier =
            single("code_verifier")?.ok_or_else(|| invalid_request("code_verifier is missing".into()))?;
        if !is_code_verifier(verifier) || s256_challenge(verifier) != pending.request.code_challenge {
            return Err(invalid_grant("code_verifier does not match the code_challenge"));
        }
        self.tokens(&pending.request, &pending.identity, now).map_err(|error| {
            TokenError::new("server_error", format!("the tokens could not be signed: {error}"))
        })
    }

    fn tokens(
        &self,
        request: &AuthorizationRequest,
        identity: &ChosenIdentity,
        now: DateTime<Utc>,
    ) -> anyhow::Result<TokenResponse> {
        let subject = identity.subject();
        let lifetime = identity.session.duration();
        let access_token = mint_staff_token(
            self.private_key_pem.expose(),
            &StaffTokenRequest {
                subject: subject.clone(),
                name: Some(identity.name.clone()),
                role: identity.role.clone(),
                issuer: self.issuer.clone(),
                audience: self.api_audience.clone(),
                lifetime,
            },
        )?;
        let claims = IdTokenClaims {
            iss: &self.issuer,
            sub: &subject,
            aud: &request.client_id,
            iat: now.timestamp(),
            exp: now.timestamp() + lifetime.as_secs() as i64,
            nonce: request.nonce.as_deref(),
            name: &identity.name,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(DEV_KEY_ID.into());
        let id_token = jsonwebtoken::encode(&header, &claims, &self.id_token_key)?;
        Ok(TokenResponse {
            access_token: access_token.expose().clone(),
            token_type: "Bearer",
            expires_in: lifetime.as_secs(),
            id_token,
            scope: request.granted_scope(),
        })
    }

    /// Where to send the browser after signing out (RP-initiated logout): the console, when
    /// that is where it asks to go; else nowhere (show a page).
    pub fn end_session(&self, parameters: &Parameters) -> Option<String> {
        let target = parameters.single("post_logout_redirect_uri").ok().flatten()?;
        if target != self.console_url {
            return None;
        }
        let state = parameters.single("state").ok().flatten();
        let mut url = url::Url::parse(target).ok()?;
        if let Some(state) = state {
            url.query_pairs_mut().append_pair("state", state);
        }
        Some(url.into())
    }
}

#[cfg(test)]
mod tests {
    use burgernet_core::auth::keys::StaffKeys;
    use burgernet_core::auth::staff::{
        StaffKeySource, StaffTokenAlgorithms, StaffTokenConfig, StaffTokenVerifier,
    };
    use burgernet_core::ids::RegionId;
    use burgernet_core::vocabulary::regions::{BoundingBox, CbsCode, LonLat, RegionCode};

    use super::super::DevKeyPair;
    use super::*;

    const PUBLIC_URL: &str = "http://127.0.0.1:8080";
    const CONSOLE: &str = "http://127.0.0.1:8080/console/";
    /// RFC 7636 Appendix B's example.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn provider() -> (LocalOpenIdProvider, DevKeyPair) {
        let pair = DevKeyPair::generate();
        let provider = LocalOpenIdProvider::new(
            PUBLIC_URL,
            "burgernet-api",
            pair.private_pem.clone(),
            pair.jwks.clone(),
        )
        .unwrap();
        (provider, pair)
    }

    /// The console's authorization request, with `changes` (an empty value leaves a parameter out).
    fn authorization(changes: &[(&str, &str)]) -> Parameters {
        Parameters::parse(authorization_query(changes).as_bytes())
    }

    fn authorization_query(changes: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", CONSOLE_CLIENT_ID),
            ("redirect_uri", CONSOLE),
            ("scope", "openid profile"),
            ("state", "s-1"),
            ("nonce", "n-1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for &(name, value) in changes {
            match pairs.iter_mut().find(|(existing, _)| *existing == name) {
                Some(pair) => pair.1 = value,
                None => pairs.push((name, value)),
            }
        }
        url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }

    fn dispatcher() -> ChosenIdentity {
        ChosenIdentity {
            name: "Meldkamer Test".into(),
            role: StaffRole::Dispatcher { region: "rotterdam".into() },
            session: SessionLength::FifteenMinutes,
        }
    }

    /// Grants a code for the standard request and returns it.
    fn code_granted(provider: &LocalOpenIdProvider, now: DateTime<Utc>) -> String {
        let request = provider.check_authorization(&authorization(&[])).unwrap();
        let redirect = url::Url::parse(&provider.grant(request, dispatcher(), now).unwrap()).unwrap();
        let pairs: HashMap<String, String> = redirect.query_pairs().into_owned().collect();
        assert_eq!(pairs["state"], "s-1");
        assert_eq!(pairs["iss"], "http://127.0.0.1:8080/dev/identity");
        assert!(redirect.as_str().starts_with(CONSOLE), "{redirect}");
        pairs["code"].clone()
    }

    fn token_request(code: &str, verifier: &str) -> Parameters {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", CONSOLE)
            .append_pair("client_id", CONSOLE_CLIENT_ID)
            .append_pair("code_verifier", verifier)
            .finish();
        Parameters::parse(body.as_bytes())
    }

    #[test]
    fn the_s256_challenge_is_rfc_7636s() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        assert!(is_s256_challenge(CHALLENGE));
        assert!(!is_s256_challenge(&format!("{CHALLENGE}A")), "32 bytes, no more");
        assert!(!is_s256_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"), "base64url, not base64");
        assert!(is_code_verifier(VERIFIER));
        assert!(!is_code_verifier("too-short"));
        assert!(!is_code_verifier(&format!("{VERIFIER} with spaces")));
    }

    #[tokio::test]
    async fn a_code_becomes_a_staff_token_the_api_accepts() {
        let (provider, pair) = provider();
        let now = Utc::now();
        let code = code_granted(&provider, now);
        let tokens = provider.exchange(&token_request(&code, VERIFIER), now).unwrap();
        assert_eq!(
            (tokens.token_type, tokens.expires_in, tokens.scope.as_str()),
            ("Bearer", 900, "openid profile")
        );

        let verifier = StaffTokenVerifier::new(&StaffTokenConfig {
            issuer: "http://127.0.0.1:8080/dev/identity".into(),
            audience: "burgernet-api".into(),
            keys: StaffKeySource::Fixed(StaffKeys::parse(pair.jwks.as_bytes()).unwrap()),
            algorithms: StaffTokenAlgorithms::default(),
        })
        .unwrap();
        let member = verifier.verify(&tokens.access_token).await.unwrap();
        assert_eq!(member.role, StaffRole::Dispatcher { region: "rotterdam".into() });
        assert_eq!(member.subject, dispatcher().subject());

        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&[CONSOLE_CLIENT_ID]);
        validation.set_issuer(&["http://127.0.0.1:8080/dev/identity"]);
        let key = jsonwebtoken::DecodingKey::from_ec_pem(pair.public_pem.as_bytes()).unwrap();
        let id_token =
            jsonwebtoken::decode::<serde_json::Value>(&tokens.id_token, &key, &validation).unwrap();
        assert_eq!(id_token.claims["nonce"], "n-1");
        assert_eq!(id_token.claims["name"], "Meldkamer Test");
        assert_eq!(id_token.header.kid.as_deref(), Some(DEV_KEY_ID));
    }

    #[test]
    fn a_code_works_once_and_a_wrong_verifier_burns_it() {
        let (provider, _) = provider();
        let now = Utc::now();
        let code = code_granted(&provider, now);
        let wrong = "x".repeat(43);
        assert_eq!(provider.exchange(&token_request(&code, &wrong), now).unwrap_err().error, "invalid_grant");
        assert_eq!(
            provider.exchange(&token_request(&code, VERIFIER), now).unwrap_err().error,
            "invalid_grant"
        );

        let code = code_granted(&provider, now);
        provider.exchange(&token_request(&code, VERIFIER), now).unwrap();
        let reused = provider.exchange(&token_request(&code, VERIFIER), now).unwrap_err();
        assert_eq!(reused.error, "invalid_grant");
        assert!(reused.error_description.contains("used already"), "{reused:?}");
    }

    #[test]
    fn a_code_expires_after_a_minute() {
        let (provider, _) = provider();
        let issued = Utc::now();
        let code = code_granted(&provider, issued);
        let late = provider.exchange(&token_request(&code, VERIFIER), issued + CODE_LIFETIME).unwrap_err();
        assert_eq!((late.error, late.error_description.as_str()), ("invalid_grant", "the code has expired"));

        let code = code_granted(&provider, issued);
        let just_in_time = issued + CODE_LIFETIME - chrono::Duration::seconds(1);
        assert!(provider.exchange(&token_request(&code, VERIFIER), just_in_time).is_ok());
    }

    #[test]
    fn expired_codes_are_dropped_and_the_store_is_bounded() {
        let (provider, _) = provider();
        let now = Utc::now();
        for _ in 0..MAX_PENDING_CODES {
            code_granted(&provider, now);
        }
        let request = provider.check_authorization(&authorization(&[])).unwrap();
        assert_eq!(provider.grant(request.clone(), dispatcher(), now), Err(TooManyPendingCodes));
        assert_eq!(provider.pending_codes(), MAX_PENDING_CODES);

        let later = now + CODE_LIFETIME;
        assert!(provider.grant(request, dispatcher(), later).is_ok());
        assert_eq!(provider.pending_codes(), 1, "the expired codes are gone");
    }

    #[test]
    fn token_requests_are_refused_per_rfc_6749() {
        let (provider, _) = provider();
        let now = Utc::now();
        let refused =
            |body: &str| provider.exchange(&Parameters::parse(body.as_bytes()), now).unwrap_err().error;
        assert_eq!(refused("grant_type=password&client_id=burgernet-console"), "unsupported_grant_type");
        assert_eq!(refused("client_id=burgernet-console&code=x"), "invalid_request");
        assert_eq!(refused("grant_type=authorization_code&client_id=other&code=x"), "invalid_client");
        assert_eq!(refused("grant_type=authorization_code&client_id=burgernet-console"), "invalid_request");
        assert_eq!(
            refused(
                "grant_type=authorization_code&grant_type=authorization_code&client_id=burgernet-console"
            ),
            "invalid_request"
        );

        let code = code_granted(&provider, now);
        let mut request = token_request(&code, VERIFIER);
        request.values.insert("redirect_uri".into(), "http://127.0.0.1:8080/elsewhere/".into());
        assert_eq!(provider.exchange(&request, now).unwrap_err().error, "invalid_grant");
    }

    #[test]
    fn authorization_errors_redirect_only_to_the_registered_uri() {
        let (provider, _) = provider();
        let untrusted = |query: &str| {
            matches!(
                provider.check_authorization(&Parameters::parse(query.as_bytes())),
                Err(AuthorizationRefusal::Untrusted(_))
            )
        };
        assert!(untrusted("client_id=other&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconsole%2F"));
        assert!(untrusted("client_id=burgernet-console&redirect_uri=https%3A%2F%2Fevil.test%2F"));
        assert!(untrusted(
            "client_id=burgernet-console&redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconsole%2Fx"
        ));
        assert!(untrusted("client_id=burgernet-console"));

        let redirected =
            |changes: &[(&str, &str)]| match provider.check_authorization(&authorization(changes)) {
                Err(AuthorizationRefusal::Redirect(to)) => {
                    let url = url::Url::parse(&to).unwrap();
                    assert!(to.starts_with(CONSOLE), "{to}");
                    let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();
                    assert_eq!(pairs.get("state").map(String::as_str), Some("s-1"), "{to}");
                    pairs["error"].clone()
                }
                other => panic!("{other:?}"),
            };
        assert_eq!(redirected(&[("code_challenge_method", "plain")]), "invalid_request");
        assert_eq!(redirected(&[("code_challenge_method", "")]), "invalid_request", "plain is the default");
        assert_eq!(redirected(&[("code_challenge", "")]), "invalid_request");
        assert_eq!(redirected(&[("code_challenge", "not-a-challenge")]), "invalid_request");
        assert_eq!(redirected(&[("response_type", "")]), "invalid_request");
        assert_eq!(redirected(&[("response_type", "token")]), "unsupported_response_type");
        assert_eq!(redirected(&[("scope", "profile")]), "invalid_scope");
        let repeated = Parameters::parse(format!("{}&nonce=n-2", authorization_query(&[])).as_bytes());
        assert!(matches!(provider.check_authorization(&repeated), Err(AuthorizationRefusal::Redirect(_))));
        let request = provider.check_authorization(&authorization(&[])).unwrap();
        assert_eq!(request.granted_scope(), "openid profile");
    }

    fn rotterdam() -> (Vec<Region>, Vec<Municipality>) {
        let region = Region {
            id: RegionId::new(),
            code: RegionCode::parse("rotterdam").unwrap(),
            name: "Eenheid Rotterdam".into(),
            municipality_count: 1,
            inhabitants: 1,
        };
        let municipality = Municipality {
            cbs_code: CbsCode::parse("GM0599").unwrap(),
            name: "Rotterdam".into(),
            inhabitants: 1,
            region: Some(region.code.clone()),
            bounding_box: BoundingBox { min_lon: 4.0, min_lat: 51.8, max_lon: 4.6, max_lat: 52.0 },
            centroid: LonLat { lon: 4.4, lat: 51.9 },
        };
        (vec![region], vec![municipality])
    }

    #[test]
    fn a_role_needs_its_scope_and_the_scope_must_exist() {
        let (regions, municipalities) = rotterdam();
        let form = SignInForm::initial(&regions, &municipalities);
        assert_eq!(
            form.choose(&regions, &municipalities).unwrap(),
            ChosenIdentity {
                name: "Meldkamer Test".into(),
                role: StaffRole::Dispatcher { region: "rotterdam".into() },
                session: SessionLength::EightHours,
            }
        );
        let with = |change: fn(&mut SignInForm)| {
            let mut form = form.clone();
            change(&mut form);
            form.choose(&regions, &municipalities)
        };
        assert!(with(|form| form.region = String::new()).is_err());
        assert!(with(|form| form.region = "utrecht".into()).is_err());
        assert!(
            with(|form| (form.role, form.municipality) = ("relations_officer".into(), String::new()))
                .is_err()
        );
        assert!(
            with(|form| (form.role, form.municipality) = ("relations_officer".into(), "GM0363".into()))
                .is_err()
        );
        assert_eq!(
            with(|form| form.role = "relations_officer".into()).unwrap().role,
            StaffRole::RelationsOfficer { municipality: "GM0599".into() }
        );
        assert_eq!(with(|form| form.role = "admin".into()).unwrap().role, StaffRole::Admin);
        assert_eq!(
            with(|form| form.role = "region_manager".into()).unwrap().role,
            StaffRole::RegionManager { region: "rotterdam".into() }
        );
        assert!(with(|form| (form.role, form.region) = ("region_manager".into(), "utrecht".into())).is_err());
        assert!(with(|form| form.role = "superuser".into()).is_err());
        assert!(with(|form| form.name = "   ".into()).is_err());
        assert!(with(|form| form.session = "1y".into()).is_err());
        assert_eq!(
            with(|form| form.session = "1m".into()).unwrap().session.duration(),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn the_subject_is_stable_per_name_role_and_scope() {
        let other_region =
            ChosenIdentity { role: StaffRole::Dispatcher { region: "amsterdam".into() }, ..dispatcher() };
        let other_name = ChosenIdentity { name: "Iemand Anders".into(), ..dispatcher() };
        assert_eq!(dispatcher().subject(), dispatcher().subject());
        assert_ne!(dispatcher().subject(), other_region.subject());
        assert_ne!(dispatcher().subject(), other_name.subject());
    }

    #[test]
    fn signing_out_returns_only_to_the_console() {
        let (provider, _) = provider();
        let end = |query: &str| provider.end_session(&Parameters::parse(query.as_bytes()));
        assert_eq!(
            end("post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fconsole%2F&state=a%20b").as_deref(),
            Some("http://127.0.0.1:8080/console/?state=a+b")
        );
        assert_eq!(end("post_logout_redirect_uri=https%3A%2F%2Fevil.test%2F"), None);
        assert_eq!(end(""), None);
    }
}
