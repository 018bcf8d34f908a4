//! Clients for the providers that carry messages to participants: an SMS gateway over HTTP(S)
//! ([`sms`], on the pooled HTTP/1.1 client of [`http1`]) and e-mail over SMTP ([`email`]). Each is an enum of the real client and the local
//! stand-in that `burgernet dev` uses (the [`LocalOutbox`](crate::outbox::LocalOutbox)), so callers
//! hold one concrete type and never a trait object. Push goes to APNs ([`apns`]) and FCM ([`fcm`])
//! (both behind [`push::PushSender`]) over HTTP/2 connections of our own (`http2.rs`).
//!
//! Errors from these clients follow the providers' rules, say whether a retry can help
//! (`is_retryable`) and carry what the provider answered ([`ProviderAnswer`]), which metrics
//! count. Their text never contains a phone number, an e-mail address or a message body: bodies
//! hold one-time codes and verification links, and error texts end up in logs and in the job
//! table.
//!
//! TLS: every provider client uses [`tls_client_config`]: rustls with the *ring* crypto provider,
//! handed to the client explicitly. No process-wide default crypto provider is installed, and
//! reqwest is built without TLS, on purpose: reqwest's `rustls-no-provider` feature makes every
//! reqwest client in the process (the test harness's too) panic on build unless a default provider
//! was installed first, and its `rustls` feature pulls in aws-lc.

pub mod apns;
pub mod email;
pub mod fcm;
pub mod http1;
mod http2;
pub mod push;
pub mod sms;
pub mod sms_text;

use std::sync::Arc;

use crate::env::{ConfigError, Env, parse};
use anyhow::Context;
use apns::ApnsConfig;
use email::SmtpConfig;
use fcm::FcmConfig;
use rustls_platform_verifier::BuilderVerifierExt;
use sms::SmsGatewayConfig;

/// The TLS client settings for talking to providers: rustls with the ring crypto provider, TLS 1.2
/// and 1.3, and the certificate authorities the operating system trusts (on Linux the
/// `ca-certificates` bundle, or the file named by `SSL_CERT_FILE`). ALPN is left for the caller to
/// set. Fails when the system trusts no certificate authority at all.
pub fn tls_client_config() -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("set up TLS with the ring crypto provider")?
        .with_platform_verifier()
        .context("load the certificate authorities the system trusts (is ca-certificates installed?)")?
        .with_no_client_auth();
    Ok(config)
}

/// [`tls_client_config`], trusting also the certificate authorities in `extra_ca_pem` (a PEM
/// bundle): a provider reached through an inspecting proxy, or a local fake in tests and local
/// mode. Without extra certificates it is [`tls_client_config`].
pub fn tls_client_config_trusting(extra_ca_pem: Option<&str>) -> anyhow::Result<rustls::ClientConfig> {
    let Some(pem) = extra_ca_pem else { return tls_client_config() };
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let extra: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .context("read the extra trusted certificate authorities (PEM)")?;
    anyhow::ensure!(!extra.is_empty(), "the extra trusted CA file holds no certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
        .context("load the certificate authorities the system trusts, and the extra ones")?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("set up TLS with the ring crypto provider")?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
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

/// How messages reach participants. Without a gateway or SMTP server only local mode can run:
/// it uses its local stand-in instead.
#[derive(Debug, Clone)]
pub struct MessagingConfig {
    pub apns: Option<ApnsConfig>,
    pub fcm: Option<FcmConfig>,
    pub sms: Option<SmsGatewayConfig>,
    pub smtp: Option<SmtpConfig>,
    /// The API's public base URL, used in links sent to participants.
    pub public_url: String,
}

impl MessagingConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            apns: ApnsConfig::from_env(env)?,
            fcm: FcmConfig::from_env(env)?,
            sms: SmsGatewayConfig::from_env(env)?,
            smtp: SmtpConfig::from_env(env)?,
            public_url: env.required("BURGERNET_PUBLIC_URL", parse::http_url)?,
        })
    }

    /// For `serve` and `work`: real providers are required.
    pub fn require_providers(&self) -> Result<(), ConfigError> {
        if self.sms.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_SMS_GATEWAY_URL",
                problem: "is required: sign-in codes and notices go out by SMS".into(),
            });
        }
        if self.smtp.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_SMTP_URL",
                problem: "is required: e-mail verification and notices go out by e-mail".into(),
            });
        }
        Ok(())
    }

    /// For `work`: alerts go out by push, so both push providers are required too.
    pub fn require_push_providers(&self) -> Result<(), ConfigError> {
        if self.apns.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_APNS_KEY_FILE",
                problem: "is required: alerts reach iPhones through APNs".into(),
            });
        }
        if self.fcm.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_FCM_SERVICE_ACCOUNT_FILE",
                problem: "is required: alerts reach Android phones through FCM".into(),
            });
        }
        Ok(())
    }
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
