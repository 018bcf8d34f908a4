//! Staff tokens, issued by the organisation's identity provider and verified here against its
//! public keys: a PEM file or a JWKS document read at start, or a JWKS document fetched from the
//! identity provider and kept fresh ([`super::jwks`]). Only asymmetric algorithms are ever
//! accepted, so a token "signed" with a public key as an HMAC secret cannot pass.
//!
//! What real identity providers send is accepted: `aud` as one string or an array that holds
//! ours, no `iat`, and `nbf`, which is checked with the same leeway for clock skew as `exp`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};

use super::TokenError;
use super::jwks::{JwksUrl, RemoteJwks};
use super::keys::StaffKeys;
use crate::env::{ConfigError, Env, parse};
use std::path::PathBuf;

/// Clock skew allowed between the identity provider and us, for `exp` and `nbf`.
const CLOCK_LEEWAY_SECONDS: u64 = 30;

/// Where the identity provider's public keys come from.
#[derive(Debug, Clone)]
pub enum StaffKeySource {
    /// Read once at start (`BURGERNET_STAFF_TOKEN_KEYS`).
    Fixed(StaffKeys),
    /// Fetched from the identity provider and kept fresh (`BURGERNET_STAFF_TOKEN_JWKS_URL`).
    Url(JwksUrl),
}

/// The signature algorithms accepted for staff tokens (`BURGERNET_STAFF_TOKEN_ALGORITHMS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffTokenAlgorithms(Vec<Algorithm>);

impl Default for StaffTokenAlgorithms {
    fn default() -> Self {
        Self(vec![Algorithm::RS256, Algorithm::ES256])
    }
}

impl StaffTokenAlgorithms {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let algorithms = raw
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| {
                let algorithm: Algorithm = name.parse().map_err(|_| format!("unknown algorithm {name:?}"))?;
                if algorithm.family() == jsonwebtoken::AlgorithmFamily::Hmac {
                    return Err(format!(
                        "{name} is a shared-secret algorithm; only public-key algorithms are allowed"
                    ));
                }
                Ok(algorithm)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if algorithms.is_empty() {
            return Err("name at least one algorithm, e.g. RS256,ES256".into());
        }
        Ok(Self(algorithms))
    }
}

/// What a staff member may do, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum StaffRole {
    /// A control-room dispatcher, scoped to one police region (by region code).
    Dispatcher { region: String },
    /// A municipality's relations officer, scoped to one municipality (by CBS code).
    RelationsOfficer { municipality: String },
    /// The manager of a police region's Burgernet ("Manager Burgernet"): reads everything of the
    /// region that its dispatchers read (alerts, dossiers, participation, reports) and acts on
    /// nothing.
    RegionManager { region: String },
    /// A national administrator.
    Admin,
}

impl StaffRole {
    /// The role as tokens name it (the `role` claim) and records store it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Dispatcher { .. } => "dispatcher",
            Self::RelationsOfficer { .. } => "relations_officer",
            Self::RegionManager { .. } => "region_manager",
            Self::Admin => "admin",
        }
    }

    /// The region a role is scoped to, if it is scoped to one.
    pub fn region(&self) -> Option<&str> {
        match self {
            Self::Dispatcher { region } | Self::RegionManager { region } => Some(region),
            Self::RelationsOfficer { .. } | Self::Admin => None,
        }
    }

    /// The municipality a role is scoped to, if it is scoped to one.
    pub fn municipality(&self) -> Option<&str> {
        match self {
            Self::RelationsOfficer { municipality } => Some(municipality),
            Self::Dispatcher { .. } | Self::RegionManager { .. } | Self::Admin => None,
        }
    }
}

/// A staff member whose token has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    /// The identity provider's subject identifier.
    pub subject: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub role: StaffRole,
    /// When the token that named them expires (its `exp`): what lasts beyond one request (an
    /// event stream) ends then.
    #[serde(skip)]
    pub token_expires_at: DateTime<Utc>,
}

/// The claims we read from a staff token; the identity provider may add others.
#[derive(Debug, Serialize, Deserialize)]
pub struct StaffClaims {
    pub iss: String,
    pub aud: Audience,
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
}

/// Whom a token is meant for: one audience or several (RFC 7519, section 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Several(Vec<String>),
}

/// A verified token that does not carry a usable Burgernet role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MissingRole(pub &'static str);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StaffTokenError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    MissingRole(#[from] MissingRole),
}

impl StaffClaims {
    fn into_member(self) -> Result<StaffMember, MissingRole> {
        let role = match self.role.as_deref() {
            Some("dispatcher") => StaffRole::Dispatcher {
                region: self
                    .region
                    .filter(|r| !r.is_empty())
                    .ok_or(MissingRole("a dispatcher token must name a region"))?,
            },
            Some("relations_officer") => StaffRole::RelationsOfficer {
                municipality: self
                    .municipality
                    .filter(|m| !m.is_empty())
                    .ok_or(MissingRole("a relations officer token must name a municipality"))?,
            },
            Some("region_manager") => StaffRole::RegionManager {
                region: self
                    .region
                    .filter(|r| !r.is_empty())
                    .ok_or(MissingRole("a region manager token must name a region"))?,
            },
            Some("admin") => StaffRole::Admin,
            _ => return Err(MissingRole("the token carries no Burgernet role")),
        };
        // Out of chrono's range only for an `exp` hundreds of millennia ahead.
        let token_expires_at = DateTime::from_timestamp(self.exp, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
        Ok(StaffMember { subject: self.sub, name: self.name, role, token_expires_at })
    }
}

/// Verifies staff tokens: signature by a configured key, an allowed algorithm, issuer, audience,
/// expiry and not-before, then a well-formed role.
#[derive(Debug, Clone)]
pub struct StaffTokenVerifier {
    keys: VerifierKeys,
    validation: Validation,
}

#[derive(Debug, Clone)]
enum VerifierKeys {
    Fixed(Arc<StaffKeys>),
    Remote(RemoteJwks),
}

impl StaffTokenVerifier {
    /// With keys from a URL, fetching them starts here, on the current tokio runtime.
    pub fn new(config: &StaffTokenConfig) -> anyhow::Result<Self> {
        let mut validation = Validation::new(config.algorithms.0[0]);
        validation.algorithms = config.algorithms.0.clone();
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = CLOCK_LEEWAY_SECONDS;
        let keys = match &config.keys {
            StaffKeySource::Fixed(keys) => VerifierKeys::Fixed(Arc::new(keys.clone())),
            StaffKeySource::Url(url) => VerifierKeys::Remote(RemoteJwks::start(url)?),
        };
        Ok(Self { keys, validation })
    }

    pub async fn verify(&self, token: &str) -> Result<StaffMember, StaffTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::from)?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(TokenError::DisallowedAlgorithm.into());
        }
        let keys = match &self.keys {
            VerifierKeys::Fixed(keys) => keys.clone(),
            VerifierKeys::Remote(remote) => {
                remote.keys_for(header.kid.as_deref()).await.ok_or(TokenError::UnknownKey)?
            }
        };
        // jsonwebtoken insists that every allowed algorithm fits the key's family, so verify
        // with exactly the (already allowed) algorithm the header names.
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        let mut last_error = TokenError::UnknownKey;
        for key in keys.candidates(header.kid.as_deref(), header.alg) {
            match jsonwebtoken::decode::<StaffClaims>(token, key, &validation) {
                Ok(data) => return Ok(data.claims.into_member()?),
                // A bad signature under one key may still verify under the next (key rotation).
                Err(error) => last_error = error.into(),
            }
        }
        Err(last_error.into())
    }
}

/// Refused: what was asked for belongs to another region or municipality than the staff
/// member's (or to none their role may see). The same answer every time, so it tells nothing
/// about the other region's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("This belongs to another region or municipality than yours.")]
pub struct OutOfScope;

impl StaffMember {
    /// What [`Self::may_access_region`] allows, as a result the services return.
    pub fn ensure_region(&self, region_code: &str) -> Result<(), OutOfScope> {
        if self.may_access_region(region_code) { Ok(()) } else { Err(OutOfScope) }
    }

    /// Acting on the region's alerts: its own dispatchers only (administrators read every region's
    /// alerts but act on none).
    pub fn ensure_dispatcher_of(&self, region_code: &str) -> Result<(), OutOfScope> {
        match &self.role {
            StaffRole::Dispatcher { region } if region == region_code => Ok(()),
            _ => Err(OutOfScope),
        }
    }

    /// What [`Self::may_access_municipality`] allows, as a result the services return.
    pub fn ensure_municipality(
        &self,
        cbs_code: &str,
        region_of_municipality: Option<&str>,
    ) -> Result<(), OutOfScope> {
        if self.may_access_municipality(cbs_code, region_of_municipality) { Ok(()) } else { Err(OutOfScope) }
    }

    /// Admins everywhere; dispatchers and region managers in their own region.
    pub fn may_access_region(&self, region_code: &str) -> bool {
        match &self.role {
            StaffRole::Admin => true,
            StaffRole::Dispatcher { region } | StaffRole::RegionManager { region } => region == region_code,
            StaffRole::RelationsOfficer { .. } => false,
        }
    }

    /// Admins everywhere; relations officers in their own municipality; dispatchers and region
    /// managers in the municipalities of their region.
    pub fn may_access_municipality(&self, cbs_code: &str, region_of_municipality: Option<&str>) -> bool {
        match &self.role {
            StaffRole::Admin => true,
            StaffRole::RelationsOfficer { municipality } => municipality == cbs_code,
            StaffRole::Dispatcher { region } | StaffRole::RegionManager { region } => {
                region_of_municipality == Some(region.as_str())
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct StaffTokenConfig {
    pub issuer: String,
    pub audience: String,
    pub keys: StaffKeySource,
    pub algorithms: StaffTokenAlgorithms,
}

impl StaffTokenConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        const FILE: &str = "BURGERNET_STAFF_TOKEN_KEYS";
        const URL: &str = "BURGERNET_STAFF_TOKEN_JWKS_URL";
        let keys = match (env.is_set(FILE), env.is_set(URL)) {
            (true, true) => {
                return Err(ConfigError {
                    variable: URL,
                    problem: format!("set either {FILE} or {URL}, not both"),
                });
            }
            (false, true) => StaffKeySource::Url(env.required(URL, JwksUrl::parse)?),
            (true, false) => StaffKeySource::Fixed(
                env.required(FILE, |raw| StaffKeys::load(PathBuf::from(raw).as_path()))?,
            ),
            (false, false) => {
                return Err(ConfigError {
                    variable: FILE,
                    problem: format!("is required unless {URL} is set"),
                });
            }
        };
        Ok(Self {
            issuer: env.required("BURGERNET_STAFF_TOKEN_ISSUER", parse::text)?,
            audience: env.required("BURGERNET_STAFF_TOKEN_AUDIENCE", parse::text)?,
            keys,
            algorithms: env.or(
                "BURGERNET_STAFF_TOKEN_ALGORITHMS",
                StaffTokenAlgorithms::default(),
                StaffTokenAlgorithms::parse,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_key_algorithms_may_be_configured() {
        assert!(StaffTokenAlgorithms::parse("HS256").is_err());
        assert!(StaffTokenAlgorithms::parse("none").is_err());
        assert!(StaffTokenAlgorithms::parse("").is_err());
        assert_eq!(
            StaffTokenAlgorithms::parse("ES256").unwrap(),
            StaffTokenAlgorithms(vec![Algorithm::ES256])
        );
    }

    #[test]
    fn roles_need_their_scope() {
        let claims = |role: &str| StaffClaims {
            iss: "i".into(),
            aud: Audience::One("a".into()),
            sub: "s".into(),
            exp: 0,
            nbf: None,
            iat: None,
            name: None,
            role: Some(role.into()),
            region: None,
            municipality: None,
        };
        assert!(claims("dispatcher").into_member().is_err());
        assert!(claims("relations_officer").into_member().is_err());
        assert!(claims("superuser").into_member().is_err());
        assert_eq!(claims("admin").into_member().unwrap().role, StaffRole::Admin);
    }

    #[test]
    fn scope_rules() {
        let member =
            |role| StaffMember { subject: "s".into(), name: None, role, token_expires_at: Utc::now() };
        let dispatcher = member(StaffRole::Dispatcher { region: "rotterdam".into() });
        assert!(dispatcher.may_access_region("rotterdam"));
        assert!(!dispatcher.may_access_region("amsterdam"));
        assert!(dispatcher.may_access_municipality("GM0599", Some("rotterdam")));
        assert!(!dispatcher.may_access_municipality("GM0363", Some("amsterdam")));
        assert!(!dispatcher.may_access_municipality("GM9999", None));
        let officer = member(StaffRole::RelationsOfficer { municipality: "GM0599".into() });
        assert!(officer.may_access_municipality("GM0599", Some("rotterdam")));
        assert!(!officer.may_access_municipality("GM0606", Some("rotterdam")));
        assert!(!officer.may_access_region("rotterdam"));
        let admin = member(StaffRole::Admin);
        assert!(admin.may_access_region("anywhere") && admin.may_access_municipality("GM0001", None));
    }
}
