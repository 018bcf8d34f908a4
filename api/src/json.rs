//! Request bodies in JSON. Every handler reads its body through [`JsonBody`], so one place
//! refuses what no field of ours accepts, before any field is looked at: the NUL character
//! (U+0000), which PostgreSQL cannot store in text. Size, content type and malformed JSON are
//! refused as the `JsonConfig` set in `build_server` says, with [`json_error`]'s problems.

use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::ApiError;
use crate::state::AppState;

/// A request body in JSON, parsed into `T` once it is known to hold no NUL character.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // actix reads the body (limit, content type, syntax); the text is kept as it came.
        let text = web::Json::<Box<RawValue>>::from_request(request, payload);
        let request = request.clone();
        Box::pin(async move {
            let text = text.await?.into_inner();
            if holds_nul(text.get()) {
                return Err(ApiError::unprocessable("invalid_body", NUL_REFUSED).into());
            }
            serde_json::from_str(text.get())
                .map(JsonBody)
                .map_err(|error| json_error(JsonPayloadError::Deserialize(error), &request))
        })
    }
}

const NUL_REFUSED: &str =
    "A text in the request body holds the NUL character (U+0000), which no field accepts.";

/// Whether JSON text holds a NUL character in a string (or a key). JSON cannot carry control
/// characters raw, so the escape `\u0000` is the only way one arrives.
pub fn holds_nul(json: &str) -> bool {
    let mut rest = json.as_bytes();
    while let Some(at) = rest.iter().position(|&byte| byte == b'\\') {
        let escape = &rest[at + 1..];
        if escape.starts_with(b"u0000") {
            return true;
        }
        // Past the escaped character, so in `\\u0000` the `u0000` is text, not an escape.
        rest = escape.get(1..).unwrap_or_default();
    }
    false
}

/// The problem for a JSON body that is refused.
pub fn json_error(error: JsonPayloadError, request: &HttpRequest) -> actix_web::Error {
    let limit =
        request.app_data::<web::Data<AppState>>().map(|state| state.max_body_bytes).unwrap_or_default();
    let api_error = match &error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body may be at most {limit} bytes."),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The request body must be sent with Content-Type: application/json.",
        ),
        JsonPayloadError::Deserialize(inner) if inner.is_data() => ApiError::unprocessable(
            "invalid_body",
            format!("The request body does not have the expected fields: {inner}"),
        ),
        JsonPayloadError::Deserialize(inner) => {
            ApiError::bad_request("malformed_json", format!("The request body is not valid JSON: {inner}"))
        }
        _ => ApiError::bad_request("unreadable_body", "The request body could not be read."),
    };
    api_error.into()
}

/// For `#[serde(default, deserialize_with = "crate::json::present")]` on an `Option<Option<T>>`:
/// tells a field sent as `null` (clear it, `Some(None)`) from a field left out (keep it, `None`).
pub(crate) fn present<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_escaped_nul_is_a_nul() {
        assert!(holds_nul(r#"{"reason": "a\u0000b"}"#));
        assert!(holds_nul(r#"{"\u0000": 1}"#));
        assert!(holds_nul(r#"["\\\u0000"]"#), "an escaped backslash, then the NUL");
        assert!(!holds_nul(r#"{"path": "C:\\u0000"}"#), "a backslash, then the text u0000");
        assert!(!holds_nul(r#"{"text": "\u0001 \n \"quoted\" \u0030"}"#));
        assert!(!holds_nul(r#"{"trailing": "\\"}"#));
    }

    #[test]
    fn every_route_reads_json_bodies_through_the_checked_extractor() {
        let routes = concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes");
        for entry in std::fs::read_dir(routes).unwrap() {
            let path = entry.unwrap().path();
            let source = std::fs::read_to_string(&path).unwrap();
            assert!(!source.contains(": web::Json<"), "{} takes web::Json; take JsonBody", path.display());
        }
    }
}
