//! Clients for the providers that carry messages to participants: an SMS gateway over HTTP(S)
//! ([`sms`], on the pooled HTTP/1.1 client of [`http1`]) and e-mail over SMTP ([`email`]). Each is an enum of the real client and the local
//! stand-in that `burgernet dev` uses (the [`LocalOutbox`](crate::outbox::LocalOutbox)), so callers
//! hold one concrete type and never a trait object. Push goes to APNs ([`apns`]) and FCM ([`fcm`])
//! (both behind [`push::PushSender`]) over HTTP/2 connections of our own (`http2.rs`).
//!
//! Errors from these clients follow the providers' rules and say whether a retry can help
//! (`is_retryable`). Their text never contains a phone number, an e-mail address or a message
//! body: bodies hold one-time codes and verification links, and error texts end up in logs and in
//! the job table.
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

/// The provider's code in an error detail the clients wrote: the reason in `HTTP 503 (reason)`,
/// else the status of `HTTP 503` or `SMTP 451 4.3.0`. `None` when no answer was read. FCM's
/// stand-in reason for a body without one (`http_503`) becomes the bare status.
pub(crate) fn answer_code(detail: &str) -> Option<String> {
    ["HTTP ", "SMTP "].iter().find_map(|protocol| {
        let rest = &detail[detail.find(protocol)? + protocol.len()..];
        let status = rest.get(..3).filter(|status| status.bytes().all(|b| b.is_ascii_digit()))?;
        let reason = rest[3..].strip_prefix(" (").and_then(|reason| reason.split_once(')')).map(|(r, _)| r);
        Some(match reason {
            Some(reason) if *protocol == "HTTP " => status_or_reason(reason).to_string(),
            _ => status.to_string(),
        })
    })
}

/// `503` for FCM's `http_503` (no reason in the body), else the reason itself.
pub(crate) fn status_or_reason(reason: &str) -> &str {
    reason
        .strip_prefix("http_")
        .filter(|status| status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(reason)
}

/// How a request that got no answer failed: `timeout` when the clients say it did not come in
/// time, else `connect` (refused, broken, TLS).
pub(crate) fn transport_code(detail: &str) -> &'static str {
    if detail.contains(" within ") || detail.contains(" in time") { "timeout" } else { "connect" }
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
    fn codes_are_read_from_the_details_the_clients_write() {
        assert_eq!(answer_code("HTTP 503 (ServiceUnavailable)").as_deref(), Some("ServiceUnavailable"));
        assert_eq!(answer_code("HTTP 502 (http_502)").as_deref(), Some("502"));
        assert_eq!(answer_code("HTTP 503").as_deref(), Some("503"));
        assert_eq!(answer_code("could not read the APNs answer (HTTP 500): x").as_deref(), Some("500"));
        assert_eq!(
            answer_code("the OAuth2 token endpoint answered HTTP 400 (invalid_grant)").as_deref(),
            Some("invalid_grant")
        );
        assert_eq!(answer_code("SMTP 451 4.3.0").as_deref(), Some("451"));
        assert_eq!(answer_code("no answer from APNs within 300ms"), None);
        assert_eq!(transport_code("no answer from APNs within 300ms"), "timeout");
        assert_eq!(transport_code("no answer from the mail server in time"), "timeout");
        assert_eq!(transport_code("could not connect: Connection refused (os error 111)"), "connect");
        assert_eq!(status_or_reason("http_404"), "404");
        assert_eq!(status_or_reason("UNREGISTERED"), "UNREGISTERED");
    }
}
