//! Staff tokens, issued by the organisation's identity provider and verified here against its
//! public keys (a PEM file or a JWKS document). Only asymmetric algorithms are ever accepted, so
//! a token "signed" with a public key as an HMAC secret cannot pass.

use std::fmt;
use std::path::Path;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};

use super::TokenError;
use crate::config::StaffTokenConfig;

/// One verification key, with its key id when the JWKS document gives one.
#[derive(Clone)]
struct StaffKey {
    key_id: Option<String>,
    key: DecodingKey,
}

/// The identity provider's public keys.
#[derive(Clone)]
pub struct StaffKeys {
    keys: Vec<StaffKey>,
}

impl fmt::Debug for StaffKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<_> = self
            .keys
            .iter()
            .map(|k| k.key_id.as_deref().unwrap_or("(no kid)"))
            .collect();
        f.debug_struct("StaffKeys").field("key_ids", &ids).finish()
    }
}

impl StaffKeys {
    /// Reads a PEM public key (RSA or EC) or a JWKS document from a file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let contents = std::fs::read(path)
            .map_err(|error| format!("cannot read key file {}: {error}", path.display()))?;
        Self::parse(&contents).map_err(|problem| format!("key file {}: {problem}", path.display()))
    }

    pub fn parse(contents: &[u8]) -> Result<Self, String> {
        let text =
            std::str::from_utf8(contents).map_err(|_| "is neither PEM nor JSON".to_string())?;
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            Self::from_jwks(trimmed)
        } else if trimmed.starts_with("-----BEGIN") {
            Self::from_pem(trimmed)
        } else {
            Err("is neither a PEM public key nor a JWKS document".into())
        }
    }

    fn from_pem(pem: &str) -> Result<Self, String> {
        if pem.contains("PRIVATE KEY") {
            return Err("holds a private key; give the identity provider's public key".into());
        }
        let key = DecodingKey::from_ec_pem(pem.as_bytes())
            .or_else(|_| DecodingKey::from_rsa_pem(pem.as_bytes()))
            .map_err(|_| "is not an RSA or EC public key in PEM form".to_string())?;
        Ok(Self {
            keys: vec![StaffKey { key_id: None, key }],
        })
    }

    fn from_jwks(json: &str) -> Result<Self, String> {
        let set: JwkSet = serde_json::from_str(json)
            .map_err(|error| format!("is not a valid JWKS document: {error}"))?;
        let keys = set
            .keys
            .iter()
            .enumerate()
            .map(|(index, jwk)| {
                let key = DecodingKey::from_jwk(jwk)
                    .map_err(|error| format!("key {index} is not usable: {error}"))?;
                if key.family() == jsonwebtoken::AlgorithmFamily::Hmac {
                    return Err(format!(
                        "key {index} is a shared secret; only public keys are accepted"
                    ));
                }
                Ok(StaffKey {
                    key_id: jwk.common.key_id.clone(),
                    key,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("holds no keys".into());
        }
        Ok(Self { keys })
    }

    fn candidates<'a>(
        &'a self,
        key_id: Option<&'a str>,
        algorithm: Algorithm,
    ) -> impl Iterator<Item = &'a DecodingKey> {
        self.keys
            .iter()
            .filter(move |k| match (key_id, k.key_id.as_deref()) {
                (Some(wanted), Some(have)) => wanted == have,
                (Some(_), None) => true,
                (None, _) => true,
            })
            .filter(move |k| k.key.family() == algorithm.family())
            .map(|k| &k.key)
    }
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
                    return Err(format!("{name} is a shared-secret algorithm; only public-key algorithms are allowed"));
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
    /// A national administrator.
    Admin,
}

/// A staff member whose token has been verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    /// The identity provider's subject identifier.
    pub subject: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub role: StaffRole,
}

/// The claims we read from a staff token; the identity provider may add others.
#[derive(Debug, Serialize, Deserialize)]
pub struct StaffClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
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
        let role =
            match self.role.as_deref() {
                Some("dispatcher") => StaffRole::Dispatcher {
                    region: self
                        .region
                        .filter(|r| !r.is_empty())
                        .ok_or(MissingRole("a dispatcher token must name a region"))?,
                },
                Some("relations_officer") => StaffRole::RelationsOfficer {
                    municipality: self.municipality.filter(|m| !m.is_empty()).ok_or(
                        MissingRole("a relations officer token must name a municipality"),
                    )?,
                },
                Some("admin") => StaffRole::Admin,
                _ => return Err(MissingRole("the token carries no Burgernet role")),
            };
        Ok(StaffMember {
            subject: self.sub,
            name: self.name,
            role,
        })
    }
}

/// Verifies staff tokens: signature by a configured key, an allowed algorithm, issuer, audience
/// and expiry, then a well-formed role.
#[derive(Debug, Clone)]
pub struct StaffTokenVerifier {
    keys: StaffKeys,
    validation: Validation,
}

impl StaffTokenVerifier {
    pub fn new(config: &StaffTokenConfig) -> Self {
        let mut validation = Validation::new(config.algorithms.0[0]);
        validation.algorithms = config.algorithms.0.clone();
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;
        Self {
            keys: config.keys.clone(),
            validation,
        }
    }

    pub fn verify(&self, token: &str) -> Result<StaffMember, StaffTokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(TokenError::from)?;
        if !self.validation.algorithms.contains(&header.alg) {
            return Err(TokenError::DisallowedAlgorithm.into());
        }
        let mut last_error = TokenError::UnknownKey;
        for key in self.keys.candidates(header.kid.as_deref(), header.alg) {
            match jsonwebtoken::decode::<StaffClaims>(token, key, &self.validation) {
                Ok(data) => return Ok(data.claims.into_member()?),
                // A bad signature under one key may still verify under the next (key rotation).
                Err(error) => last_error = error.into(),
            }
        }
        Err(last_error.into())
    }
}
