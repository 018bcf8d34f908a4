//! TLS for provider clients: rustls with the *ring* crypto provider, handed to each client
//! explicitly (see the module docs of `providers`).

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
