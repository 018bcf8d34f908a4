//! What the push clients ([`apns`](super::apns), [`fcm`](super::fcm)) share: the notification to
//! send, what the provider answered, and how its errors are classified. The classification follows
//! the providers' own rules (see design.md section 4):
//!
//! - the token is dead (APNs 410 `Unregistered` or 400 `BadDeviceToken`, FCM `UNREGISTERED`):
//!   [`PushError::Unregistered`]; the device is removed and never tried again;
//! - slow down (429) or a passing failure (5xx, a broken connection, GOAWAY, a time-out):
//!   [`PushError::RateLimited`] / [`PushError::Unavailable`], retried with backoff that honours
//!   `Retry-After`, within a bounded budget;
//! - anything else the provider refuses (other 4xx): [`PushError::Rejected`], never retried;
//! - our own credentials refused even after a fresh token: [`PushError::Unauthorized`], an operator
//!   problem, retried later (a key rotation may be under way).
//!
//! Error texts never contain the device token or the message: they end up in logs, job errors and
//! the alert dossier.

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::ProviderAnswer;

/// One notification for one device.
#[derive(Debug, Clone)]
pub struct PushNotification<'a> {
    /// The device's token: APNs hex device token, or FCM registration token.
    pub token: &'a str,
    /// Shown in bold above the text.
    pub title: &'a str,
    /// The text. Clients shorten it (at a word boundary, with "…") when the payload would
    /// exceed the provider's 4 KB limit.
    pub body: &'a str,
    /// Time-critical: APNs priority 10 with interruption level `time-sensitive`, FCM Android
    /// priority `HIGH`. Otherwise APNs priority 5 (level `active`), FCM `NORMAL`.
    pub urgent: bool,
    /// Notifications with the same collapse id replace each other on the device (the alert's id,
    /// so an update replaces the alert). APNs `apns-collapse-id` (at most 64 bytes), FCM
    /// `collapse_key`.
    pub collapse_id: &'a str,
    /// After this moment the provider stops trying to deliver (APNs `apns-expiration`, FCM `ttl`).
    pub expires_at: DateTime<Utc>,
    /// Custom key/value data for the app (alert id, message id, kind); strings only, which both
    /// providers accept.
    pub data: &'a [(&'a str, &'a str)],
    /// The notification category the app registered with actions (APNs `aps.category`, FCM
    /// `android.notification.click_action`), e.g. the one-tap answers to an alert.
    pub category: Option<&'a str>,
}

/// The provider accepted the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushAccepted {
    /// APNs `apns-id`, or the FCM message name (`projects/.../messages/...`).
    pub provider_message_id: Option<String>,
}

/// Why a push was not accepted. Each error carries what the provider answered ([`ProviderAnswer`]);
/// those the client decides without asking (a token that cannot be one, a payload that cannot
/// fit, a provider token it cannot sign) carry none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The token will never work again: remove the device. `since` is when the provider learned
    /// so (APNs' `timestamp` with 410); a device registered again after that moment is kept.
    #[error("the device token is no longer valid ({reason})")]
    Unregistered { reason: String, since: Option<DateTime<Utc>>, answer: Option<ProviderAnswer> },
    /// 429: too many requests.
    #[error("the push provider is rate limiting us ({reason}){}", after_text(*.retry_after))]
    RateLimited { reason: String, retry_after: Option<Duration>, answer: ProviderAnswer },
    /// 5xx, a refused or broken connection, GOAWAY, a time-out: try again later.
    #[error("the push provider is unavailable: {detail}{}", after_text(*.retry_after))]
    Unavailable { detail: String, retry_after: Option<Duration>, answer: ProviderAnswer },
    /// Any other refusal of this notification (a 4xx): retrying cannot help.
    #[error("the push provider rejected the notification: HTTP {status} ({reason})")]
    Rejected { status: u16, reason: String, answer: Option<ProviderAnswer> },
    /// The provider refused our credentials, even after a fresh token.
    #[error("the push provider refused our credentials: {detail}")]
    Unauthorized { detail: String, answer: Option<ProviderAnswer> },
}

fn after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(after) => format!(", retry after {}", humantime::format_duration(after)),
        None => String::new(),
    }
}

impl PushError {
    /// A passing failure without the provider's `Retry-After`: no answer, a broken connection.
    pub(crate) fn unavailable(detail: impl Into<String>, answer: ProviderAnswer) -> Self {
        Self::Unavailable { detail: detail.into(), retry_after: None, answer }
    }

    /// Whether sending the same notification again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Unauthorized { .. })
    }

    /// How long the provider asked us to wait, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short stable code for delivery records and metrics: the provider's reason where it gave
    /// one (`Unregistered`, `BadDeviceToken`, `UNREGISTERED`, `TooManyRequests`, ...), else
    /// `unavailable` or `unauthorized`.
    pub fn code(&self) -> &str {
        match self {
            Self::Unregistered { reason, .. }
            | Self::RateLimited { reason, .. }
            | Self::Rejected { reason, .. } => reason,
            Self::Unavailable { .. } => "unavailable",
            Self::Unauthorized { .. } => "unauthorized",
        }
    }

    /// The provider's own name for the error, for metrics: [`ProviderAnswer::code`] (its reason,
    /// else the HTTP status, or `timeout` / `connect`); for an error decided without asking, the
    /// reason the provider gives such a request, or `unauthorized` for credentials we could not
    /// make. Unsanitised: see `metrics::error_code_label`.
    pub fn provider_code(&self) -> String {
        match self {
            Self::RateLimited { answer, .. } | Self::Unavailable { answer, .. } => answer.code(),
            Self::Unregistered { reason, answer, .. } | Self::Rejected { reason, answer, .. } => {
                answer.as_ref().map_or_else(|| reason.clone(), ProviderAnswer::code)
            }
            Self::Unauthorized { answer, .. } => {
                answer.as_ref().map_or_else(|| "unauthorized".into(), ProviderAnswer::code)
            }
        }
    }
}

const ELLIPSIS: &str = "…";

/// `text` in at most `max_bytes` bytes: cut at a character boundary, at a word boundary when one
/// is near, and ending in "…" when anything was cut.
pub(crate) fn shorten(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let Some(room) = max_bytes.checked_sub(ELLIPSIS.len()) else { return Cow::Borrowed("") };
    let cut = text.floor_char_boundary(room);
    let head = &text[..cut];
    let ends_a_word = text[cut..].starts_with(char::is_whitespace);
    let head = match head.rfind(char::is_whitespace) {
        // A word boundary is worth losing at most half of what fits.
        Some(space) if !ends_a_word && space >= cut / 2 => &head[..space],
        _ => head,
    };
    Cow::Owned(format!("{}{ELLIPSIS}", head.trim_end()))
}

/// The longest shortening of `body` (see [`shorten`]) for which the whole notification `fits` the
/// provider's limit; `None` when not even an empty body fits.
pub(crate) fn fit_body<'a>(body: &'a str, fits: impl Fn(&str) -> bool) -> Option<Cow<'a, str>> {
    if fits(body) {
        return Some(Cow::Borrowed(body));
    }
    if !fits("") {
        return None;
    }
    // `low` always fits, `high` never does.
    let (mut low, mut high) = (0, body.len());
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if fits(&shorten(body, middle)) { low = middle } else { high = middle }
    }
    Some(shorten(body, low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_prefers_a_word_boundary_and_ends_with_an_ellipsis() {
        assert_eq!(shorten("kort", 10), "kort");
        assert_eq!(shorten("een lange zin over een fiets", 16), "een lange zin…");
        assert_eq!(shorten("een lange", 9), "een lange");
        // A cut right after a word keeps the word.
        assert_eq!(shorten("een lange zin", 12), "een lange…");
        assert_eq!(shorten("een twee drie", 11), "een twee…");
        // One long word is cut inside, at a character boundary.
        assert_eq!(shorten("ééééééé", 8), "éé…");
        assert_eq!(shorten("eentweedrie vier", 9), "eentwe…");
        assert_eq!(shorten("abc", 2), "");
    }

    #[test]
    fn the_longest_body_that_fits_is_kept() {
        let body = "een lange zin over een fiets";
        assert_eq!(fit_body(body, |_| true).as_deref(), Some(body));
        assert_eq!(fit_body(body, |text| text.len() <= 16).as_deref(), Some("een lange zin…"));
        assert_eq!(fit_body(body, |_| false), None);
    }

    #[test]
    fn classification() {
        let gone = PushError::Unregistered {
            reason: "Unregistered".into(),
            since: None,
            answer: Some(ProviderAnswer::coded(410, "Unregistered")),
        };
        assert!(!gone.is_retryable());
        assert_eq!(gone.code(), "Unregistered");
        let limited = PushError::RateLimited {
            reason: "TooManyRequests".into(),
            retry_after: Some(Duration::from_secs(3)),
            answer: ProviderAnswer::coded(429, "TooManyRequests"),
        };
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            limited.to_string(),
            "the push provider is rate limiting us (TooManyRequests), retry after 3s"
        );
        let too_large = PushError::Rejected { status: 413, reason: "PayloadTooLarge".into(), answer: None };
        assert!(!too_large.is_retryable());
        assert!(PushError::unavailable("HTTP 503", ProviderAnswer::status(503)).is_retryable());
    }

    #[test]
    fn provider_codes_name_the_error_as_the_provider_does() {
        let code = |error: PushError| error.provider_code();
        // Decided by the client itself, in the provider's words.
        assert_eq!(
            code(PushError::Unregistered { reason: "BadDeviceToken".into(), since: None, answer: None }),
            "BadDeviceToken"
        );
        // FCM's stand-in reason for an answer without a code is recorded; the status is counted.
        let rejected = PushError::Rejected {
            status: 404,
            reason: "http_404".into(),
            answer: Some(ProviderAnswer::status(404)),
        };
        assert_eq!((rejected.code(), code(rejected.clone()).as_str()), ("http_404", "404"));
        let unavailable = |answer| PushError::unavailable("(only for logs)", answer);
        assert_eq!(code(unavailable(ProviderAnswer::coded(503, "UNAVAILABLE"))), "UNAVAILABLE");
        assert_eq!(code(unavailable(ProviderAnswer::status(503))), "503");
        assert_eq!(code(unavailable(ProviderAnswer::Timeout)), "timeout");
        assert_eq!(code(unavailable(ProviderAnswer::Connect)), "connect");
        assert_eq!(
            code(PushError::Unauthorized {
                detail: "HTTP 403 (InvalidProviderToken)".into(),
                answer: Some(ProviderAnswer::coded(403, "InvalidProviderToken")),
            }),
            "InvalidProviderToken"
        );
        assert_eq!(
            code(PushError::Unauthorized {
                detail: "could not sign the provider token".into(),
                answer: None
            }),
            "unauthorized"
        );
    }
}
