//! A throwaway certificate authority for the fakes' TLS servers. Each [`LocalCertificateAuthority`]
//! is generated fresh (ECDSA P-256) and signs one server certificate valid for `localhost`,
//! `127.0.0.1` and `::1`. Clients trust [`LocalCertificateAuthority::ca_pem`] as an extra CA; nothing
//! else trusts it, and its private key never leaves the process.

use std::sync::Arc;

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The names the server certificate is valid for.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub struct LocalCertificateAuthority {
    ca_pem: String,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_chain_pem: String,
    server_key_der: Vec<u8>,
    server_key_pem: String,
}

impl std::fmt::Debug for LocalCertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCertificateAuthority").finish_non_exhaustive()
    }
}

impl LocalCertificateAuthority {
    /// A new authority and a server certificate signed by it.
    pub fn generate() -> anyhow::Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        let mut ca_name = DistinguishedName::new();
        ca_name.push(DnType::CommonName, "Burgernet local fake providers CA");
        ca_params.distinguished_name = ca_name;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)
            .context("generate the local certificate authority")?;

        let mut server_params = CertificateParams::new(SERVER_NAMES.map(String::from).to_vec())?;
        let mut server_name = DistinguishedName::new();
        server_name.push(DnType::CommonName, "localhost");
        server_params.distinguished_name = server_name;
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let server_key = KeyPair::generate()?;
        let server_certificate =
            server_params.signed_by(&server_key, &ca).context("sign the fake providers' certificate")?;

        Ok(Self {
            ca_pem: ca.pem(),
            ca_der: ca.der().clone(),
            server_chain: vec![server_certificate.der().clone(), ca.der().clone()],
            server_chain_pem: format!("{}{}", server_certificate.pem(), ca.pem()),
            server_key_der: server_key.serialize_der(),
            server_key_pem: server_key.serialize_pem(),
        })
    }

    /// The authority's certificate in PEM form: what a client adds to the CAs it trusts.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// The signed certificate and the authority's, in PEM: the certificate file of a server that
    /// is not one of ours (PostgreSQL's `ssl_cert_file`).
    pub fn server_chain_pem(&self) -> &str {
        &self.server_chain_pem
    }

    /// The signed certificate's private key in PEM (PKCS#8): PostgreSQL's `ssl_key_file`.
    pub fn server_key_pem(&self) -> &str {
        &self.server_key_pem
    }

    /// A TLS server configuration presenting the signed certificate, offering `alpn` protocols
    /// (e.g. `[b"h2"]` for an HTTP/2-only server like APNs).
    pub fn server_config(&self, alpn: &[&[u8]]) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.server_chain.clone(), key)?;
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// A TLS client configuration that trusts this authority and nothing else, for tests that talk
    /// to a fake directly.
    pub fn client_config(&self, alpn: &[&[u8]]) -> anyhow::Result<rustls::ClientConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca_der.clone())?;
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(config)
    }
}
