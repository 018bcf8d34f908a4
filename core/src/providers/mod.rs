//! Clients for the providers that carry messages to participants: an SMS gateway over HTTP(S)
//! ([`sms`]) and e-mail over SMTP ([`email`]). Each is an enum of the real client and the local
//! stand-in that `burgernet dev` uses (the [`LocalOutbox`](crate::outbox::LocalOutbox)), so callers
//! hold one concrete type and never a trait object.
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
pub mod push;
pub mod sms;
pub mod sms_text;

use std::sync::Arc;

use anyhow::Context;
use rustls_platform_verifier::BuilderVerifierExt;

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
