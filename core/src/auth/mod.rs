//! Tokens: participant tokens are issued and verified by this service; staff tokens come from
//! the organisation's identity provider and are only verified here. The HTTP extractors that use
//! these live in the API crate.

pub mod jwks;
pub mod keys;
pub mod participant;
pub mod staff;

/// Why a presented token was not accepted. Each maps to a stable error code at the HTTP edge;
/// the detail is safe to show to the client (it never contains the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (its nbf lies ahead)")]
    NotYetValid,
    #[error("the token is malformed or its signature is not valid")]
    Invalid,
    #[error("the token was issued by an issuer this service does not trust")]
    WrongIssuer,
    #[error("the token was issued for another audience")]
    WrongAudience,
    #[error("the token is signed with an algorithm this service does not accept")]
    DisallowedAlgorithm,
    #[error("the token is signed with a key this service does not know")]
    UnknownKey,
}

impl From<jsonwebtoken::errors::Error> for TokenError {
    fn from(error: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind;
        match error.kind() {
            ErrorKind::ExpiredSignature => Self::Expired,
            ErrorKind::ImmatureSignature => Self::NotYetValid,
            ErrorKind::InvalidIssuer => Self::WrongIssuer,
            ErrorKind::InvalidAudience => Self::WrongAudience,
            ErrorKind::InvalidAlgorithm
            | ErrorKind::InvalidAlgorithmName
            | ErrorKind::UnsupportedAlgorithm => Self::DisallowedAlgorithm,
            _ => Self::Invalid,
        }
    }
}
