//! A stand-in for the organisation's identity provider, for local use and tests only: an ES256
//! key pair on disk, its public half as a JWKS document the API can be pointed at, a way to
//! mint staff tokens with it (`burgernet admin mint-staff-token`), and an OpenID Connect provider
//! with a sign-in page for the console ([`openid`], served by the API under `/dev/identity`).

pub mod openid;
pub mod sign_in_page;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::SecretKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use rand::RngCore;

use burgernet_core::auth::staff::{Audience, StaffClaims, StaffRole};
use burgernet_core::secret::{Secret, write_secret_file};

/// The issuer of the local identity provider in `burgernet dev` on its default address
/// ([`openid::issuer_for`] `http://127.0.0.1:8080`).
pub const DEV_ISSUER: &str = "http://127.0.0.1:8080/dev/identity";
pub const DEV_AUDIENCE: &str = "burgernet-api";
pub const DEV_KEY_ID: &str = "burgernet-dev-1";

/// A freshly generated ES256 key pair.
pub struct DevKeyPair {
    pub key_id: String,
    pub private_pem: Secret<String>,
    pub public_pem: String,
    /// A JWKS document holding the public key.
    pub jwks: String,
}

impl DevKeyPair {
    /// A key pair with the key id [`DEV_KEY_ID`].
    pub fn generate() -> Self {
        Self::generate_with_key_id(DEV_KEY_ID)
    }

    /// A key pair with its own key id, as an identity provider names each key it rotates in.
    pub fn generate_with_key_id(key_id: &str) -> Self {
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            // Nearly every 32-byte string is a valid P-256 scalar; retry on the rare one that is not.
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let private_pem = secret.to_pkcs8_pem(LineEnding::LF).expect("encode a P-256 key").to_string();
        let public = secret.public_key();
        let public_pem = public.to_public_key_pem(LineEnding::LF).expect("encode a P-256 public key");
        let mut jwk: serde_json::Value =
            serde_json::from_str(&public.to_jwk_string()).expect("a JWK is JSON");
        jwk["kid"] = key_id.into();
        jwk["alg"] = "ES256".into();
        jwk["use"] = "sig".into();
        let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
        Self { key_id: key_id.to_string(), private_pem: Secret::new(private_pem), public_pem, jwks }
    }
}

/// Where the local identity provider keeps its files.
#[derive(Debug, Clone)]
pub struct DevIdentityProvider {
    pub private_key_path: PathBuf,
    pub jwks_path: PathBuf,
}

impl DevIdentityProvider {
    /// Uses the key pair in `dir`, generating one the first time.
    pub fn ensure(dir: &Path) -> anyhow::Result<Self> {
        let provider =
            Self { private_key_path: dir.join("private-key.pem"), jwks_path: dir.join("jwks.json") };
        if !provider.private_key_path.exists() || !provider.jwks_path.exists() {
            std::fs::create_dir_all(dir)?;
            let pair = DevKeyPair::generate();
            write_secret_file(&provider.private_key_path, pair.private_pem.expose())?;
            std::fs::write(&provider.jwks_path, pair.jwks)?;
        }
        Ok(provider)
    }

    /// Notes the issuer the running local mode expects, beside the key, so tokens minted later
    /// with that key carry it (`burgernet admin mint-staff-token`, see [`recorded_issuer`]).
    pub fn record_issuer(&self, issuer: &str) -> std::io::Result<()> {
        std::fs::write(self.private_key_path.with_file_name(ISSUER_FILE), issuer)
    }

    /// The OpenID Connect provider of the API at `public_url`, signing with this key pair.
    pub fn open_id_provider(
        &self,
        public_url: &str,
        api_audience: &str,
    ) -> anyhow::Result<openid::LocalOpenIdProvider> {
        let private_key = std::fs::read_to_string(&self.private_key_path)?;
        let jwks = std::fs::read_to_string(&self.jwks_path)?;
        openid::LocalOpenIdProvider::new(public_url, api_audience, Secret::new(private_key), jwks)
    }
}

const ISSUER_FILE: &str = "issuer";

/// The issuer local mode last used with the signing key at `private_key_path`, if it noted one.
pub fn recorded_issuer(private_key_path: &Path) -> Option<String> {
    let issuer = std::fs::read_to_string(private_key_path.with_file_name(ISSUER_FILE)).ok()?;
    Some(issuer.trim().to_string()).filter(|issuer| !issuer.is_empty())
}

/// What a minted staff token should say.
#[derive(Debug, Clone)]
pub struct StaffTokenRequest {
    pub subject: String,
    pub name: Option<String>,
    pub role: StaffRole,
    pub issuer: String,
    pub audience: String,
    pub lifetime: Duration,
}

/// Signs a staff token with an ES256 private key in PEM form.
pub fn mint_staff_token(
    private_key_pem: &str,
    request: &StaffTokenRequest,
) -> anyhow::Result<Secret<String>> {
    let key = EncodingKey::from_ec_pem(private_key_pem.as_bytes())?;
    let now = Utc::now().timestamp();
    let role = &request.role;
    let (region, municipality) = (role.region().map(str::to_string), role.municipality().map(str::to_string));
    let claims = StaffClaims {
        iss: request.issuer.clone(),
        aud: Audience::One(request.audience.clone()),
        sub: request.subject.clone(),
        nbf: None,
        iat: Some(now),
        exp: now + request.lifetime.as_secs() as i64,
        name: request.name.clone(),
        role: Some(role.name().into()),
        region,
        municipality,
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(DEV_KEY_ID.into());
    Ok(Secret::new(jsonwebtoken::encode(&header, &claims, &key)?))
}

/// Tokens of the local identity provider as the API's verifier sees them (the keys it publishes
/// in both forms, and only its public half).
#[cfg(test)]
mod tests {
    use burgernet_core::auth::TokenError;
    use burgernet_core::auth::keys::StaffKeys;
    use burgernet_core::auth::staff::{
        StaffKeySource, StaffTokenAlgorithms, StaffTokenConfig, StaffTokenError, StaffTokenVerifier,
    };

    use super::*;

    fn verifier(keys: StaffKeys) -> StaffTokenVerifier {
        StaffTokenVerifier::new(&StaffTokenConfig {
            issuer: "https://idp.test".into(),
            audience: "burgernet-api".into(),
            keys: StaffKeySource::Fixed(keys),
            algorithms: StaffTokenAlgorithms::default(),
        })
        .unwrap()
    }

    fn dispatcher_token(pair: &DevKeyPair) -> String {
        let request = StaffTokenRequest {
            subject: "d-1".into(),
            name: Some("D. Ispatcher".into()),
            role: StaffRole::Dispatcher { region: "rotterdam".into() },
            issuer: "https://idp.test".into(),
            audience: "burgernet-api".into(),
            lifetime: Duration::from_secs(600),
        };
        mint_staff_token(pair.private_pem.expose(), &request).unwrap().expose().clone()
    }

    #[tokio::test]
    async fn verifies_against_a_jwks_document_and_a_pem_key() {
        let pair = DevKeyPair::generate();
        let token = dispatcher_token(&pair);
        for keys in [
            StaffKeys::parse(pair.jwks.as_bytes()).unwrap(),
            StaffKeys::parse(pair.public_pem.as_bytes()).unwrap(),
        ] {
            let member = verifier(keys).verify(&token).await.unwrap();
            assert_eq!(member.role, StaffRole::Dispatcher { region: "rotterdam".into() });
            assert_eq!(member.subject, "d-1");
            let lifetime = member.token_expires_at - Utc::now();
            assert!((590..=600).contains(&lifetime.num_seconds()), "the token's exp: {lifetime}");
        }
    }

    #[tokio::test]
    async fn a_token_from_another_key_is_rejected() {
        let token = dispatcher_token(&DevKeyPair::generate());
        let keys = StaffKeys::parse(DevKeyPair::generate().public_pem.as_bytes()).unwrap();
        assert_eq!(verifier(keys).verify(&token).await, Err(StaffTokenError::Token(TokenError::Invalid)));
    }

    #[test]
    fn key_files_must_hold_public_keys() {
        let pair = DevKeyPair::generate();
        assert!(StaffKeys::parse(pair.private_pem.expose().as_bytes()).unwrap_err().contains("private key"));
        assert!(StaffKeys::parse(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).is_err());
        assert!(StaffKeys::parse(br#"{"keys":[]}"#).unwrap_err().contains("no keys"));
        assert!(StaffKeys::parse_jwks(pair.public_pem.as_bytes()).is_err());
        assert!(StaffKeys::parse(b"hello").is_err());
    }

    #[test]
    fn encryption_keys_in_a_jwks_document_are_left_out() {
        // As Keycloak publishes its realm keys: a signing key and an encryption key.
        let pair = DevKeyPair::generate();
        let mut document: serde_json::Value = serde_json::from_str(&pair.jwks).unwrap();
        let mut encryption = document["keys"][0].clone();
        encryption["kid"] = "enc-1".into();
        encryption["use"] = "enc".into();
        encryption["alg"] = "ECDH-ES+A256KW".into();
        document["keys"].as_array_mut().unwrap().push(encryption);
        let keys = StaffKeys::parse(document.to_string().as_bytes()).unwrap();
        assert!(keys.has_key_id(DEV_KEY_ID));
        assert!(!keys.has_key_id("enc-1"));
    }
}
