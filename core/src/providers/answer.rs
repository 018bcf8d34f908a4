//! What a provider answered, and how a request that got no answer failed.

/// What a provider answered to one request, as its client read it: what metrics count and the
/// clients' errors are classified by. Every provider error carries one, filled where the answer was
/// read, so nobody has to read it back out of an error's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAnswer {
    /// The provider answered: the HTTP status (or the SMTP reply code), and the provider's own
    /// code for the error when it gave one fit to keep (APNs' `reason`, FCM's `errorCode` or
    /// Google's `status`, the gateway's `code`, the OAuth2 `error`).
    Answered { status: u16, code: Option<String> },
    /// No answer came within the time limit.
    Timeout,
    /// No answer came: the connection could not be made or broke (refused, TLS, HTTP/2, GOAWAY),
    /// or the request could not be made at all.
    Connect,
}

impl ProviderAnswer {
    /// An answer with a status and no code of the provider's own.
    pub fn status(status: u16) -> Self {
        Self::Answered { status, code: None }
    }

    /// An answer with a status and the provider's code for the error.
    pub fn coded(status: u16, code: impl Into<String>) -> Self {
        Self::Answered { status, code: Some(code.into()) }
    }

    /// The provider's own name for the answer, for metrics: its code where it gave one
    /// (`BadDeviceToken`, `UNREGISTERED`, `invalid_recipient`), else the status (`503`, `451`),
    /// or `timeout` / `connect` when no answer came. Unsanitised: see `metrics::error_code_label`.
    pub fn code(&self) -> String {
        match self {
            Self::Answered { code: Some(code), .. } => code.clone(),
            Self::Answered { status, code: None } => status.to_string(),
            Self::Timeout => "timeout".into(),
            Self::Connect => "connect".into(),
        }
    }
}

/// An error and its causes, joined, each said once: "tcp connect error: Connection refused (os
/// error 111)". These come from the network stack and never hold message contents.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if cause_text.contains(&text) {
            text = cause_text;
        } else if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_named_by_the_providers_code_else_its_status() {
        assert_eq!(ProviderAnswer::coded(503, "ServiceUnavailable").code(), "ServiceUnavailable");
        assert_eq!(ProviderAnswer::status(503).code(), "503");
        assert_eq!(ProviderAnswer::status(451).code(), "451");
        assert_eq!(ProviderAnswer::Timeout.code(), "timeout");
        assert_eq!(ProviderAnswer::Connect.code(), "connect");
    }
}
