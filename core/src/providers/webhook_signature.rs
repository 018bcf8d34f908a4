//! The signature our webhooks carry (the SMS gateway's delivery receipts, the mail provider's
//! bounces): `X-Signature-Timestamp: <unix seconds>` and
//! `X-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>` with a secret shared
//! with the provider. A timestamp more than [`MAX_CLOCK_SKEW`] from our clock is refused, so a
//! recorded request cannot be replayed later; the signature is compared in constant time. During a
//! rotation both the new and the previous secret are accepted.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

/// How far a signed request's `X-Signature-Timestamp` may be from our clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The shortest webhook secret we accept: enough that it cannot be guessed.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 32;

/// A webhook secret: at least [`MIN_WEBHOOK_SECRET_CHARS`] characters.
pub fn parse_webhook_secret(raw: &str) -> Result<Secret<String>, String> {
    if raw.chars().count() >= MIN_WEBHOOK_SECRET_CHARS {
        Ok(Secret::new(raw.to_string()))
    } else {
        Err(format!("must be at least {MIN_WEBHOOK_SECRET_CHARS} characters long"))
    }
}

/// Why a webhook's signature was not accepted. The texts hold neither the secret nor the
/// signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Signature-Timestamp or X-Signature header is missing")]
    Missing,
    #[error("X-Signature-Timestamp is not a number of seconds since 1970")]
    MalformedTimestamp,
    #[error("X-Signature-Timestamp is more than 5 minutes away from our clock")]
    Stale,
    #[error("X-Signature is not of the form sha256=<64 hex digits>")]
    MalformedSignature,
    #[error("X-Signature does not match the body")]
    Mismatch,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Signature` value for `body` sent at `timestamp` (unix seconds): `sha256=<hex>`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, &timestamp.to_string(), body).finalize().into_bytes();
    let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

/// Checks a webhook's `X-Signature-Timestamp` (`timestamp`) and `X-Signature` (`signature`)
/// against the raw body, at `now`. `secrets` are the current one and, during a rotation, the one
/// being replaced; the signature must match one of them.
pub fn verify(
    secrets: &[Secret<String>],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SignatureError::Missing);
    };
    if timestamp.is_empty() || timestamp.len() > 12 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::MalformedTimestamp);
    }
    let sent: i64 = timestamp.parse().map_err(|_| SignatureError::MalformedTimestamp)?;
    let skew = now.timestamp().abs_diff(sent);
    if skew > MAX_CLOCK_SKEW.as_secs() {
        return Err(SignatureError::Stale);
    }
    let expected = signature
        .strip_prefix("sha256=")
        .and_then(decode_hex)
        .filter(|bytes| bytes.len() == 32)
        .ok_or(SignatureError::MalformedSignature)?;
    let signed_by_one = secrets
        .iter()
        .any(|secret| mac(secret.expose().as_bytes(), timestamp, body).verify_slice(&expected).is_ok());
    if signed_by_one { Ok(()) } else { Err(SignatureError::Mismatch) }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEBHOOK_SECRET: &str = "a-webhook-secret-of-at-least-32-chars";

    fn secret() -> Secret<String> {
        Secret::new(WEBHOOK_SECRET.into())
    }

    const RECEIPT: &str =
        r#"{"id":"msg-1","reference":"delivery-42","status":"delivered","at":"2026-11-30T16:48:01Z"}"#;

    fn now() -> DateTime<Utc> {
        "2026-11-30T16:50:00Z".parse().unwrap()
    }

    fn check_one(timestamp: i64, signature: &str, body: &str) -> Result<(), SignatureError> {
        super::verify(&[secret()], Some(&timestamp.to_string()), Some(signature), body.as_bytes(), now())
    }

    #[test]
    fn the_signature_is_the_hmac_of_timestamp_dot_body() {
        // Computed independently: printf '1764521400.{}' | openssl dgst -sha256 -hmac <secret>
        assert_eq!(
            sign(WEBHOOK_SECRET.as_bytes(), 1764521400, b"{}"),
            "sha256=45da73e1348fbcd431517814a94a212baeb6d409a0c1008f7d4d950e69589eae"
        );
    }

    #[test]
    fn a_fresh_correct_signature_is_accepted() {
        let at = now().timestamp();
        let signature = sign(WEBHOOK_SECRET.as_bytes(), at, RECEIPT.as_bytes());
        assert_eq!(check_one(at, &signature, RECEIPT), Ok(()));
        assert_eq!(check_one(at, &signature.to_uppercase().replace("SHA256=", "sha256="), RECEIPT), Ok(()));
        let four_minutes = 4 * 60;
        for sent in [at - four_minutes, at + four_minutes] {
            let signature = sign(WEBHOOK_SECRET.as_bytes(), sent, RECEIPT.as_bytes());
            assert_eq!(check_one(sent, &signature, RECEIPT), Ok(()), "{sent}");
        }
    }

    #[test]
    fn a_wrong_key_body_or_timestamp_is_a_mismatch() {
        let at = now().timestamp();
        let signature = sign(WEBHOOK_SECRET.as_bytes(), at, RECEIPT.as_bytes());
        let other_key = sign(b"another-secret-of-at-least-32-characters", at, RECEIPT.as_bytes());
        assert_eq!(check_one(at, &other_key, RECEIPT), Err(SignatureError::Mismatch));
        let tampered = RECEIPT.replace("delivered", "failed");
        assert_eq!(check_one(at, &signature, &tampered), Err(SignatureError::Mismatch));
        assert_eq!(check_one(at - 1, &signature, RECEIPT), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_timestamp_more_than_five_minutes_off_is_stale() {
        let at = now().timestamp();
        for sent in [at - 301, at + 301, 0] {
            let signature = sign(WEBHOOK_SECRET.as_bytes(), sent, RECEIPT.as_bytes());
            assert_eq!(check_one(sent, &signature, RECEIPT), Err(SignatureError::Stale), "{sent}");
        }
    }

    #[test]
    fn missing_and_malformed_headers_are_refused() {
        let check = |timestamp: Option<&str>, signature: Option<&str>| {
            super::verify(&[secret()], timestamp, signature, RECEIPT.as_bytes(), now())
        };
        let at = now().timestamp().to_string();
        let good = sign(WEBHOOK_SECRET.as_bytes(), now().timestamp(), RECEIPT.as_bytes());
        assert_eq!(check(None, Some(&good)), Err(SignatureError::Missing));
        assert_eq!(check(Some(&at), None), Err(SignatureError::Missing));
        for timestamp in ["", "-1", "1.5", "soon", "99999999999999999999"] {
            assert_eq!(
                check(Some(timestamp), Some(&good)),
                Err(SignatureError::MalformedTimestamp),
                "{timestamp}"
            );
        }
        let hex = good.trim_start_matches("sha256=");
        for signature in
            [hex.to_string(), format!("sha1={hex}"), "sha256=zz".into(), format!("sha256={hex}00")]
        {
            assert_eq!(
                check(Some(&at), Some(&signature)),
                Err(SignatureError::MalformedSignature),
                "{signature}"
            );
        }
    }

    #[test]
    fn webhook_secrets_must_be_long() {
        assert!(parse_webhook_secret(&"x".repeat(31)).is_err());
        assert_eq!(parse_webhook_secret(&"x".repeat(32)).unwrap().expose().len(), 32);
    }
}
