//! What the SMS gateway ([`super::sms`]) and the voice gateway ([`super::voice`]) share: both take
//! one JSON request on one endpoint, answer it by the same rules, sign the webhooks they post us
//! the same way (`super::webhook_signature`) and are configured alike. Each provider's module
//! describes its own protocol; the shared parts are here, once:
//!
//! - [`JsonGateway`], the client of the endpoint: `POST {base_url}{path}` with `Authorization:
//!   Bearer <api key>`, `Content-Type` and `Accept` `application/json`, the answer read within the
//!   time limit (at most 64 KiB) and judged by [`interpret_response`]:
//!   - `201 Created` or `200 OK` with `{"id": "<provider's id>"}`: accepted;
//!   - errors carry `{"error": {"code": "...", "message": "..."}}`: `400`/`413`/`422` rejected
//!     (never retried), `401`/`403` our API key refused, `429` rate limited (for as long as
//!     `Retry-After` says, in seconds or as an HTTP date), anything else unavailable, as are
//!     time-outs, refused connections and answers we cannot read ([`GatewayError`]). Only the
//!     error's `code` is kept, and only when it looks like one ([`error_code`]), never its
//!     `message`: providers tend to repeat the recipient's number there.
//! - [`gateway_error!`], which declares a provider's error enum for those outcomes: its texts name
//!   the gateway and never the recipient or the body, and it says whether a retry may help
//!   (`is_retryable`, `retry_after`) and what the gateway answered (`provider_code`).
//! - [`GatewayVariables::read`]: the settings both gateways have (URL, API key, time-out, webhook
//!   secret and the one being replaced), from `BURGERNET_<GATEWAY>_...` ([`gateway_variables!`]).
//! - [`deliver_locally`]: what both gateways' local stand-ins do instead (the `local` feature).
//! - [`read_webhook`] and [`check_tokens`]: the checks of a webhook body the gateway posts us
//!   (after its signature was verified), whose errors never quote the body.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ProviderAnswer;
use super::http1::Http1Client;
use super::webhook_signature::parse_webhook_secret;
use crate::env::{ConfigError, Env, parse};
#[cfg(feature = "local")]
use crate::outbox::{LocalOutbox, OutboxChannel, OutgoingMessage};
use crate::secret::Secret;
use crate::vocabulary::phone::PhoneNumber;

/// Responses larger than this are not read: a gateway's answers are a few hundred bytes.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What a gateway's answer (or its absence) means, before it is named for its gateway: each
/// gateway's error enum ([`gateway_error!`]) has these variants and converts from this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GatewayError {
    Unauthorized,
    Rejected { detail: String, answer: ProviderAnswer },
    RateLimited { retry_after: Option<Duration> },
    Unavailable { detail: String, answer: ProviderAnswer },
}

/// Declares a gateway's error enum: the outcomes of [`GatewayError`] under the gateway's name,
/// with their texts, their methods and the conversion from [`GatewayError`].
///
/// `gateway` names the gateway in the texts (`"the SMS gateway"`), `refused` what it refuses
/// (`"the message"`), `api_key_variable` where an operator fixes a refused key. The texts never
/// hold anything of the request: no number, no body.
macro_rules! gateway_error {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            gateway: $gateway:literal,
            refused: $refused:literal,
            api_key_variable: $variable:literal $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            /// The gateway refused our credentials (401/403): an operator has to fix the
            /// configuration.
            Unauthorized,
            /// The gateway will never take this request (400/413/422), e.g. because the number
            /// cannot be reached. Retrying does not help.
            Rejected { detail: String, answer: $crate::providers::ProviderAnswer },
            /// Too many requests (429); try again after `retry_after` when the gateway said so.
            RateLimited { retry_after: Option<::std::time::Duration> },
            /// The gateway could not be reached or failed (5xx, time-out, connection refused, an
            /// answer we cannot read). Worth retrying later.
            Unavailable { detail: String, answer: $crate::providers::ProviderAnswer },
        }

        impl $name {
            /// Whether the same request again later may succeed.
            pub fn is_retryable(&self) -> bool {
                matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. })
            }

            /// How long the gateway asked us to wait before the next attempt, if it said.
            pub fn retry_after(&self) -> Option<::std::time::Duration> {
                match self {
                    Self::RateLimited { retry_after } => *retry_after,
                    _ => None,
                }
            }

            /// Our name for the outcome, as a failed delivery records it: `unauthorized`,
            /// `rejected`, `rate_limited` or `unavailable`.
            pub fn outcome_code(&self) -> &'static str {
                match self {
                    Self::Unauthorized => "unauthorized",
                    Self::Rejected { .. } => "rejected",
                    Self::RateLimited { .. } => "rate_limited",
                    Self::Unavailable { .. } => "unavailable",
                }
            }

            /// Whether a delivery should try again: when the gateway may take it later, and when
            /// it refused our key (an operator problem that a fix ends).
            pub fn worth_retrying(&self) -> bool {
                self.is_retryable() || matches!(self, Self::Unauthorized)
            }

            /// The gateway's own name for the error, for metrics: its error code where it gave one
            /// (`invalid_recipient`), else the HTTP status, or `timeout` / `connect` when no answer
            /// came ([`ProviderAnswer::code`](crate::providers::ProviderAnswer::code)). A refused
            /// key is `unauthorized` whatever the status.
            pub fn provider_code(&self) -> String {
                match self {
                    Self::Unauthorized => "unauthorized".into(),
                    Self::Rejected { answer, .. } | Self::Unavailable { answer, .. } => answer.code(),
                    Self::RateLimited { .. } => "429".into(),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self {
                    Self::Unauthorized => {
                        f.write_str(concat!($gateway, " refused our API key; check ", $variable))
                    }
                    Self::Rejected { detail, .. } => {
                        write!(f, concat!($gateway, " rejected ", $refused, ": {}"), detail)
                    }
                    Self::RateLimited { retry_after } => write!(
                        f,
                        concat!($gateway, " is rate limiting us{}"),
                        $crate::providers::json_gateway::retry_after_text(*retry_after)
                    ),
                    Self::Unavailable { detail, .. } => {
                        write!(f, concat!($gateway, " is unavailable: {}"), detail)
                    }
                }
            }
        }

        impl ::std::error::Error for $name {}

        impl From<$crate::providers::json_gateway::GatewayError> for $name {
            fn from(error: $crate::providers::json_gateway::GatewayError) -> Self {
                use $crate::providers::json_gateway::GatewayError;
                match error {
                    GatewayError::Unauthorized => Self::Unauthorized,
                    GatewayError::Rejected { detail, answer } => Self::Rejected { detail, answer },
                    GatewayError::RateLimited { retry_after } => Self::RateLimited { retry_after },
                    GatewayError::Unavailable { detail, answer } => Self::Unavailable { detail, answer },
                }
            }
        }
    };
}
pub(super) use gateway_error;

/// ` (retry after 30s)`, or nothing when the gateway did not say.
pub(super) fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(after) => format!(" (retry after {})", humantime::format_duration(after)),
        None => String::new(),
    }
}

/// The client of one gateway's endpoint. Cheap to clone (and small): clones share the connection
/// pool.
#[derive(Clone)]
pub(super) struct JsonGateway {
    inner: Arc<Endpoint>,
}

struct Endpoint {
    client: Http1Client,
    endpoint: Uri,
    authorization: HeaderValue,
}

impl JsonGateway {
    /// The client of `{base_url}{path}`, authorized with `api_key`; `name` is how its errors name
    /// the gateway (`SMS`: "the SMS gateway URL is not usable: ...").
    pub(super) fn new(
        name: &str,
        base_url: &str,
        path: &str,
        api_key: &Secret<String>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let base_url = parse::http_url(base_url)
            .map_err(|problem| anyhow::anyhow!("the {name} gateway URL is not usable: {problem}"))?;
        let endpoint: Uri =
            format!("{base_url}{path}").parse().with_context(|| format!("build the {name} gateway URL"))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", api_key.expose()))
            .map_err(|_| anyhow::anyhow!("the {name} gateway API key cannot be sent in a header"))?;
        authorization.set_sensitive(true);
        let client = Http1Client::new(&endpoint, timeout)?;
        Ok(Self { inner: Arc::new(Endpoint { client, endpoint, authorization }) })
    }

    /// The gateway client's `Debug`: its type `name`, the endpoint, the gateway's own `setting`
    /// and the time limit; never the key.
    pub(super) fn debug(
        &self,
        f: &mut fmt::Formatter<'_>,
        name: &str,
        (label, setting): (&str, &dyn fmt::Debug),
    ) -> fmt::Result {
        f.debug_struct(name)
            .field("endpoint", &self.inner.endpoint.to_string())
            .field(label, setting)
            .field("timeout", &self.inner.client.timeout())
            .finish_non_exhaustive()
    }

    /// Posts `body` and returns the id the gateway gave what it accepted, or why it did not accept
    /// it, in the gateway's own error `E`. A refusal is logged (debug) as `not_accepted`, with the
    /// number masked and our `reference`.
    pub(super) async fn post<E>(
        &self,
        body: &serde_json::Value,
        to: &PhoneNumber,
        reference: &str,
        not_accepted: &str,
    ) -> Result<String, E>
    where
        E: From<GatewayError> + fmt::Display,
    {
        let result = self.exchange(body).await.map_err(E::from);
        if let Err(error) = &result {
            tracing::debug!(to = %to.masked(), reference, %error, "{not_accepted}");
        }
        result
    }

    async fn exchange(&self, body: &serde_json::Value) -> Result<String, GatewayError> {
        let this = &*self.inner;
        let request = Request::builder()
            .method(Method::POST)
            .uri(this.endpoint.clone())
            .header(header::AUTHORIZATION, this.authorization.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, concat!("burgernet/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|_| unavailable("could not build the request", ProviderAnswer::Connect))?;
        let (parts, bytes) = this
            .client
            .exchange(request, MAX_RESPONSE_BYTES)
            .await
            .map_err(|failed| unavailable(failed.detail, failed.answer))?;
        interpret_response(parts.status, &parts.headers, &bytes)
    }
}

/// What the local stand-in of a gateway (the `local` feature only) does instead of sending: puts
/// the message or call in the local outbox, and returns the id it has there as the provider's
/// (`local-<outbox id>`).
#[cfg(feature = "local")]
pub(super) fn deliver_locally(
    outbox: &LocalOutbox,
    channel: OutboxChannel,
    to: &PhoneNumber,
    body: &str,
    metadata: serde_json::Value,
) -> String {
    let stored = outbox.deliver(OutgoingMessage {
        channel,
        recipient: to.as_str().to_string(),
        subject: None,
        body: body.to_string(),
        metadata,
    });
    format!("local-{}", stored.id)
}

fn unavailable(detail: impl Into<String>, answer: ProviderAnswer) -> GatewayError {
    GatewayError::Unavailable { detail: detail.into(), answer }
}

#[derive(Deserialize)]
struct Accepted {
    id: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
}

/// Turns a gateway's answer into the id of what it accepted, or why it did not; see the module
/// documentation for the rules.
pub(super) fn interpret_response(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, GatewayError> {
    if status == StatusCode::CREATED || status == StatusCode::OK {
        return match serde_json::from_slice::<Accepted>(body) {
            Ok(accepted) if !accepted.id.trim().is_empty() => Ok(accepted.id),
            _ => Err(unavailable(
                format!(
                    "HTTP {} without a message id in the response; the message may have been sent",
                    status.as_u16()
                ),
                ProviderAnswer::status(status.as_u16()),
            )),
        };
    }
    let status = status.as_u16();
    let code = error_code(body);
    // "HTTP 422 (invalid_recipient)"
    let detail = match &code {
        Some(code) => format!("HTTP {status} ({code})"),
        None => format!("HTTP {status}"),
    };
    let answer = ProviderAnswer::Answered { status, code };
    match status {
        400 | 413 | 422 => Err(GatewayError::Rejected { detail, answer }),
        401 | 403 => Err(GatewayError::Unauthorized),
        429 => Err(GatewayError::RateLimited { retry_after: retry_after(headers) }),
        _ => Err(unavailable(detail, answer)),
    }
}

/// The gateway's error code (`invalid_recipient`), when it has a machine-readable shape. The
/// gateway's free-text message is left out on purpose.
fn error_code(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorBody>(body).ok().and_then(|body| body.error.code).filter(|code| {
        (1..=64).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    })
}

/// `Retry-After` as a number of seconds or as an HTTP date.
pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.signed_duration_since(chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO);
    Some(wait)
}

/// An API key goes into a header: it must be printable ASCII without spaces.
pub fn parse_api_key(raw: &str) -> Result<Secret<String>, String> {
    if raw.chars().all(|c| c.is_ascii_graphic()) {
        Ok(Secret::new(raw.to_string()))
    } else {
        Err("must consist of printable ASCII characters without spaces".into())
    }
}

/// `+` followed by 8 to 15 digits, the first not zero.
pub(super) fn is_e164(raw: &str) -> bool {
    raw.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

/// The environment variables of one gateway's settings; [`gateway_variables!`] names them.
pub(super) struct GatewayVariables {
    /// `BURGERNET_<GATEWAY>_GATEWAY_URL`: unset, there is no gateway.
    pub url: &'static str,
    /// `BURGERNET_<GATEWAY>_GATEWAY_API_KEY`
    pub api_key: &'static str,
    /// `BURGERNET_<GATEWAY>_WEBHOOK_SECRET`
    pub webhook_secret: &'static str,
    /// `BURGERNET_<GATEWAY>_WEBHOOK_PREVIOUS_SECRET`, during a rotation.
    pub previous_webhook_secret: &'static str,
    /// `BURGERNET_<GATEWAY>_TIMEOUT`, default `10s`.
    pub timeout: &'static str,
    /// The gateway's own variables that are required with the URL, and a mistake without it.
    pub also_required: &'static [&'static str],
}

/// The [`GatewayVariables`] of the gateway named `$gateway` (`"SMS"`: `BURGERNET_SMS_GATEWAY_URL`,
/// ...), and its own variables that are required with the URL.
macro_rules! gateway_variables {
    ($gateway:literal, also_required: $also_required:expr) => {
        $crate::providers::json_gateway::GatewayVariables {
            url: concat!("BURGERNET_", $gateway, "_GATEWAY_URL"),
            api_key: concat!("BURGERNET_", $gateway, "_GATEWAY_API_KEY"),
            webhook_secret: concat!("BURGERNET_", $gateway, "_WEBHOOK_SECRET"),
            previous_webhook_secret: concat!("BURGERNET_", $gateway, "_WEBHOOK_PREVIOUS_SECRET"),
            timeout: concat!("BURGERNET_", $gateway, "_TIMEOUT"),
            also_required: $also_required,
        }
    };
}
pub(super) use gateway_variables;

/// The settings every gateway has.
#[derive(Debug)]
pub(super) struct GatewaySettings {
    /// Without a trailing slash.
    pub base_url: String,
    pub api_key: Secret<String>,
    pub timeout: Duration,
    pub webhook_secret: Secret<String>,
    pub previous_webhook_secret: Option<Secret<String>>,
}

impl GatewayVariables {
    /// Reads the gateway's settings: `Ok(None)` when the URL is unset (the key, the webhook
    /// secret and [`Self::also_required`] must then be unset too); with the URL, the key and the
    /// webhook secret are required and the time-out is `10s` unless set. `own` reads the gateway's
    /// own settings, right after the key.
    pub(super) fn read<T>(
        &self,
        env: &Env,
        own: impl FnOnce(&Env) -> Result<T, ConfigError>,
    ) -> Result<Option<(GatewaySettings, T)>, ConfigError> {
        let Some(base_url) = env.optional(self.url, parse::http_url)? else {
            let mut companions =
                [self.api_key, self.webhook_secret].into_iter().chain(self.also_required.iter().copied());
            if let Some(companion) = companions.find(|companion| env.is_set(companion)) {
                return Err(ConfigError {
                    variable: self.url,
                    problem: format!("is required when {companion} is set"),
                });
            }
            return Ok(None);
        };
        let api_key = env.required(self.api_key, parse_api_key)?;
        let own = own(env)?;
        let settings = GatewaySettings {
            base_url,
            api_key,
            timeout: env.or(self.timeout, Duration::from_secs(10), parse::duration)?,
            webhook_secret: env.required(self.webhook_secret, parse_webhook_secret)?,
            previous_webhook_secret: env.optional(self.previous_webhook_secret, parse_webhook_secret)?,
        };
        Ok(Some((settings, own)))
    }
}

/// The secrets a webhook may be signed with, current first.
pub(super) fn webhook_secrets(
    current: &Secret<String>,
    previous: &Option<Secret<String>>,
) -> Vec<Secret<String>> {
    std::iter::once(current.clone()).chain(previous.clone()).collect()
}

/// Reads a webhook's JSON body. What is wrong is said by its category and position only: serde's
/// own text may quote the body.
pub(super) fn read_webhook<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|error| {
        let what = match error.classify() {
            serde_json::error::Category::Data => "a field is missing, unknown or of the wrong type",
            _ => "it is not JSON",
        };
        format!("{what} (line {}, column {})", error.line(), error.column())
    })
}

/// Checks the gateway's id, our reference and the error code of a webhook body: each must be a
/// token as the gateway sends them ([`is_token`]). The problem names the field, not its value.
pub(super) fn check_tokens(id: &str, reference: &str, error_code: Option<&str>) -> Result<(), String> {
    let fields = [("id", Some(id)), ("reference", Some(reference)), ("error_code", error_code)];
    match fields.into_iter().find(|(_, value)| value.is_some_and(|value| !is_token(value))) {
        Some((field, _)) => {
            Err(format!("{field} must be 1 to 128 printable ASCII characters without spaces"))
        }
        None => Ok(()),
    }
}

/// An id, reference or error code as the gateway sends it: 1 to 128 printable ASCII characters
/// without spaces. Anything else is not what the protocol sends (and might be personal data).
fn is_token(text: &str) -> bool {
    (1..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    gateway_error! {
        /// The errors of a gateway of the tests.
        pub enum TestError {
            gateway: "the test gateway",
            refused: "the request",
            api_key_variable: "BURGERNET_TEST_GATEWAY_API_KEY",
        }
    }

    const VARIABLES: GatewayVariables = gateway_variables!("TEST", also_required: &["BURGERNET_TEST_OWN"]);

    const WEBHOOK_SECRET: &str = "a-webhook-secret-of-at-least-32-chars";

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    const CONFIGURED: [(&str, &str); 4] = [
        ("BURGERNET_TEST_GATEWAY_URL", "https://gateway.example.com/api/"),
        ("BURGERNET_TEST_GATEWAY_API_KEY", "key-123"),
        ("BURGERNET_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("BURGERNET_TEST_OWN", "own"),
    ];

    /// Reads the gateway's settings, and its own one as `BURGERNET_TEST_OWN` requires.
    fn read(pairs: &[(&str, &str)]) -> Result<Option<(GatewaySettings, String)>, ConfigError> {
        VARIABLES.read(&env(pairs), |env| env.required("BURGERNET_TEST_OWN", |raw| Ok(raw.to_string())))
    }

    #[test]
    fn a_delivery_retries_what_the_gateway_may_take_later_and_a_refused_key() {
        let unavailable =
            TestError::Unavailable { detail: "HTTP 503".into(), answer: ProviderAnswer::status(503) };
        let rejected = TestError::Rejected { detail: "HTTP 422".into(), answer: ProviderAnswer::status(422) };
        let limited = TestError::RateLimited { retry_after: None };
        let outcomes: Vec<(&str, bool)> = [TestError::Unauthorized, rejected, limited, unavailable]
            .iter()
            .map(|error| (error.outcome_code(), error.worth_retrying()))
            .collect();
        assert_eq!(
            outcomes,
            [("unauthorized", true), ("rejected", false), ("rate_limited", true), ("unavailable", true)]
        );
    }

    #[test]
    fn without_a_url_there_is_no_gateway() {
        assert!(read(&[]).unwrap().is_none());
    }

    #[test]
    fn a_key_secret_or_own_setting_without_a_url_is_a_mistake() {
        for (companion, value) in CONFIGURED.into_iter().skip(1) {
            let error = read(&[(companion, value)]).unwrap_err();
            assert_eq!(error.variable, "BURGERNET_TEST_GATEWAY_URL");
            assert!(error.to_string().contains(companion), "{error}");
            assert!(!error.to_string().contains(value), "{error}");
        }
    }

    #[test]
    fn reads_the_settings_with_defaults() {
        let (settings, own) = read(&CONFIGURED).unwrap().unwrap();
        assert_eq!(settings.base_url, "https://gateway.example.com/api");
        assert_eq!(settings.api_key.expose(), "key-123");
        assert_eq!(settings.timeout, Duration::from_secs(10));
        assert_eq!(settings.webhook_secret.expose(), WEBHOOK_SECRET);
        assert!(settings.previous_webhook_secret.is_none());
        assert_eq!(own, "own");
    }

    #[test]
    fn reads_the_timeout_and_a_previous_secret() {
        const NEXT: &str = "the-next-webhook-secret-of-32-chars-or-more";
        let mut pairs = CONFIGURED.to_vec();
        pairs.retain(|(name, _)| *name != "BURGERNET_TEST_WEBHOOK_SECRET");
        pairs.extend([
            ("BURGERNET_TEST_TIMEOUT", "2500ms"),
            ("BURGERNET_TEST_WEBHOOK_SECRET", NEXT),
            ("BURGERNET_TEST_WEBHOOK_PREVIOUS_SECRET", WEBHOOK_SECRET),
        ]);
        let (settings, _) = read(&pairs).unwrap().unwrap();
        assert_eq!(settings.timeout, Duration::from_millis(2500));
        let secrets = webhook_secrets(&settings.webhook_secret, &settings.previous_webhook_secret);
        let secrets: Vec<_> = secrets.iter().map(|secret| secret.expose().clone()).collect();
        assert_eq!(secrets, [NEXT, WEBHOOK_SECRET]);
    }

    #[test]
    fn the_key_the_webhook_secret_and_the_own_setting_are_required_with_the_url() {
        for missing in
            ["BURGERNET_TEST_GATEWAY_API_KEY", "BURGERNET_TEST_WEBHOOK_SECRET", "BURGERNET_TEST_OWN"]
        {
            let mut pairs = CONFIGURED.to_vec();
            pairs.retain(|(name, _)| *name != missing);
            assert_eq!(read(&pairs).unwrap_err().variable, missing);
        }
    }

    #[test]
    fn wrong_values_are_named_without_echoing_secrets() {
        for (variable, value) in [
            ("BURGERNET_TEST_GATEWAY_URL", "ftp://gateway.example.com"),
            ("BURGERNET_TEST_GATEWAY_URL", "gateway.example.com"),
            ("BURGERNET_TEST_GATEWAY_URL", "https://user:hunter2@gateway.example.com"),
            ("BURGERNET_TEST_GATEWAY_URL", "https://gateway.example.com/?key=hunter2"),
            ("BURGERNET_TEST_GATEWAY_API_KEY", "hunter2 with spaces"),
            ("BURGERNET_TEST_WEBHOOK_SECRET", "hunter2-is-too-short"),
            ("BURGERNET_TEST_WEBHOOK_PREVIOUS_SECRET", "hunter2-is-too-short"),
            ("BURGERNET_TEST_TIMEOUT", "soon"),
        ] {
            let mut pairs = CONFIGURED.to_vec();
            pairs.retain(|(name, _)| *name != variable);
            pairs.push((variable, value));
            let error = read(&pairs).map(|_| ()).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn the_client_builds_for_http_and_https_and_keeps_its_key_to_itself() {
        // https loads the system's certificate authorities (the ca-certificates package).
        for base_url in ["https://gateway.example.com", "http://127.0.0.1:9"] {
            let key = Secret::new("key-123".into());
            let client = JsonGateway::new("test", base_url, "/v1/requests", &key, Duration::from_secs(1))
                .unwrap_or_else(|error| panic!("{base_url}: {error}"));
            struct Printed(JsonGateway);
            impl fmt::Debug for Printed {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    self.0.debug(f, "TestGateway", ("sender", &"Burgernet"))
                }
            }
            assert_eq!(
                format!("{:?}", Printed(client)),
                format!(
                    r#"TestGateway {{ endpoint: "{base_url}/v1/requests", sender: "Burgernet", timeout: 1s, .. }}"#
                )
            );
        }
        let Err(error) =
            JsonGateway::new("test", "ftp://x", "/", &Secret::new("k".into()), Duration::from_secs(1))
        else {
            panic!("an ftp URL is not a gateway's");
        };
        assert!(error.to_string().starts_with("the test gateway URL is not usable"), "{error}");
    }

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Result<String, TestError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        }
        interpret_response(StatusCode::from_u16(status).unwrap(), &map, body.as_bytes())
            .map_err(TestError::from)
    }

    #[test]
    fn classifies_the_gateway_answers() {
        assert_eq!(answer(201, &[], r#"{"id":"m-1"}"#), Ok("m-1".into()));
        assert_eq!(answer(200, &[], r#"{"id":"m-2","status":"queued"}"#), Ok("m-2".into()));
        assert!(matches!(answer(201, &[], "{}"), Err(TestError::Unavailable { .. })));
        assert!(matches!(answer(200, &[], r#"{"id":" "}"#), Err(TestError::Unavailable { .. })));
        assert_eq!(answer(401, &[], ""), Err(TestError::Unauthorized));
        assert_eq!(answer(403, &[], ""), Err(TestError::Unauthorized));
        let rejected = answer(
            422,
            &[],
            r#"{"error":{"code":"invalid_recipient","message":"+31612345678 cannot receive SMS"}}"#,
        )
        .unwrap_err();
        assert_eq!(
            rejected,
            TestError::Rejected {
                detail: "HTTP 422 (invalid_recipient)".into(),
                answer: ProviderAnswer::coded(422, "invalid_recipient"),
            }
        );
        assert_eq!(rejected.provider_code(), "invalid_recipient");
        assert!(!rejected.is_retryable());
        assert_eq!(rejected.retry_after(), None);
        assert!(matches!(answer(400, &[], "not json"), Err(TestError::Rejected { .. })));
        assert!(matches!(answer(413, &[], ""), Err(TestError::Rejected { .. })));
        let limited = answer(429, &[("retry-after", "7")], "").unwrap_err();
        assert_eq!(limited, TestError::RateLimited { retry_after: Some(Duration::from_secs(7)) });
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(7)));
        assert!(limited.is_retryable());
        assert_eq!(answer(429, &[], "").unwrap_err().retry_after(), None);
        let unavailable = answer(503, &[], r#"{"error":{"code":"overloaded","message":"x"}}"#).unwrap_err();
        assert_eq!(
            unavailable,
            TestError::Unavailable {
                detail: "HTTP 503 (overloaded)".into(),
                answer: ProviderAnswer::coded(503, "overloaded"),
            }
        );
        assert!(unavailable.is_retryable());
        let not_found = answer(404, &[], "").unwrap_err();
        assert!(matches!(not_found, TestError::Unavailable { .. }));
        assert_eq!(not_found.provider_code(), "404");
        // A code that is not a code is left out rather than echoed; the status is counted.
        let odd = answer(422, &[], r#"{"error":{"code":"no such number +31612345678"}}"#).unwrap_err();
        assert_eq!(
            odd,
            TestError::Rejected { detail: "HTTP 422".into(), answer: ProviderAnswer::status(422) }
        );
        assert_eq!(odd.provider_code(), "422");
        // Accepted without an id: the status is what the gateway answered.
        assert_eq!(answer(201, &[], "{}").unwrap_err().provider_code(), "201");
        assert_eq!(answer(401, &[], "").unwrap_err().provider_code(), "unauthorized");
        assert_eq!(answer(429, &[], "").unwrap_err().provider_code(), "429");
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let at = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822().replace("+0000", "GMT");
        let wait = answer(429, &[("retry-after", &at)], "").unwrap_err().retry_after().unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
        let past = answer(429, &[("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT")], "").unwrap_err();
        assert_eq!(past.retry_after(), Some(Duration::ZERO));
    }

    #[test]
    fn error_texts_name_the_gateway_and_what_it_refused() {
        let texts = [
            TestError::Unauthorized,
            answer(422, &[], r#"{"error":{"code":"invalid_recipient","message":"+31612345678"}}"#)
                .unwrap_err(),
            TestError::RateLimited { retry_after: Some(Duration::from_secs(30)) },
            TestError::RateLimited { retry_after: None },
            TestError::Unavailable {
                detail: "no response within 10s".into(),
                answer: ProviderAnswer::Timeout,
            },
        ]
        .map(|error| error.to_string());
        assert_eq!(
            texts,
            [
                "the test gateway refused our API key; check BURGERNET_TEST_GATEWAY_API_KEY",
                "the test gateway rejected the request: HTTP 422 (invalid_recipient)",
                "the test gateway is rate limiting us (retry after 30s)",
                "the test gateway is rate limiting us",
                "the test gateway is unavailable: no response within 10s",
            ]
        );
        assert_eq!(
            TestError::Unavailable { detail: String::new(), answer: ProviderAnswer::Timeout }.provider_code(),
            "timeout"
        );
    }

    #[test]
    fn webhook_bodies_that_are_wrong_are_named_without_being_echoed() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            id: String,
        }
        assert_eq!(read_webhook::<Body>(br#"{"id":"m"}"#).unwrap().id, "m");
        for body in
            [&br#"not json +31612345678"#[..], br#"{"id":"m","to":"+31612345678"}"#, br#"{"id":31612345678}"#]
        {
            let problem = read_webhook::<Body>(body).unwrap_err();
            assert!(!problem.contains("31612345678"), "{problem}");
        }
        assert_eq!(check_tokens("m", "r", None), Ok(()));
        assert_eq!(check_tokens("m", "r", Some("unknown_subscriber")), Ok(()));
        for (id, reference, code, field) in [
            ("", "r", None, "id"),
            ("m", "+31 6 12345678", None, "reference"),
            ("m", "r", Some("no such number +31612345678"), "error_code"),
            (&*"m".repeat(129), "r", None, "id"),
        ] {
            let problem = check_tokens(id, reference, code).unwrap_err();
            assert_eq!(
                problem,
                format!("{field} must be 1 to 128 printable ASCII characters without spaces")
            );
        }
    }
}
