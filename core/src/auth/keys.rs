//! The identity provider's public keys, from a file (`BURGERNET_STAFF_TOKEN_KEYS`) or fetched
//! from its JWKS URL (`jwks`): PEM public keys (RSA or EC) or a JWKS document.

use std::fmt;
use std::path::Path;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

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
        let ids: Vec<_> = self.keys.iter().map(|k| k.key_id.as_deref().unwrap_or("(no kid)")).collect();
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
        let text = std::str::from_utf8(contents).map_err(|_| "is neither PEM nor JSON".to_string())?;
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            Self::from_jwks(trimmed)
        } else if trimmed.starts_with("-----BEGIN") {
            Self::from_pem(trimmed)
        } else {
            Err("is neither a PEM public key nor a JWKS document".into())
        }
    }

    /// A JWKS document, as an identity provider serves it.
    pub fn parse_jwks(contents: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(contents).map_err(|_| "is not a JWKS document".to_string())?;
        Self::from_jwks(text)
    }

    /// Whether a key has this key id (`kid`).
    pub fn has_key_id(&self, key_id: &str) -> bool {
        self.keys.iter().any(|key| key.key_id.as_deref() == Some(key_id))
    }

    fn from_pem(pem: &str) -> Result<Self, String> {
        if pem.contains("PRIVATE KEY") {
            return Err("holds a private key; give the identity provider's public key".into());
        }
        let key = DecodingKey::from_ec_pem(pem.as_bytes())
            .or_else(|_| DecodingKey::from_rsa_pem(pem.as_bytes()))
            .map_err(|_| "is not an RSA or EC public key in PEM form".to_string())?;
        Ok(Self { keys: vec![StaffKey { key_id: None, key }] })
    }

    fn from_jwks(json: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document =
            serde_json::from_str(json).map_err(|error| format!("is not a valid JWKS document: {error}"))?;
        let mut keys = Vec::new();
        for (index, value) in document.keys.into_iter().enumerate() {
            // Identity providers publish their encryption keys beside their signing keys
            // (Keycloak does), some with algorithms no token is signed with.
            if value.get("use").and_then(serde_json::Value::as_str) == Some("enc") {
                continue;
            }
            let jwk: Jwk = serde_json::from_value(value)
                .map_err(|error| format!("key {index} is not usable: {error}"))?;
            let key =
                DecodingKey::from_jwk(&jwk).map_err(|error| format!("key {index} is not usable: {error}"))?;
            if key.family() == jsonwebtoken::AlgorithmFamily::Hmac {
                return Err(format!("key {index} is a shared secret; only public keys are accepted"));
            }
            keys.push(StaffKey { key_id: jwk.common.key_id, key });
        }
        if keys.is_empty() {
            return Err("holds no keys to verify signatures with".into());
        }
        Ok(Self { keys })
    }

    pub(super) fn candidates<'a>(
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
