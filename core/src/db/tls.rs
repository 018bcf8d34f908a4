//! How the application reaches PostgreSQL: the database URL, read once into a [`Connector`] that
//! opens connections with TLS as the URL's `sslmode` and `sslrootcert` say, with libpq's meanings:
//!
//! | `sslmode`     | encrypted                    | server certificate checked             |
//! |---------------|------------------------------|----------------------------------------|
//! | `disable`     | never                        | -                                      |
//! | `prefer`      | when the server offers TLS   | no                                     |
//! | `require`     | always                       | no (with `sslrootcert`: as `verify-ca`) |
//! | `verify-ca`   | always                       | chains to a trusted CA                 |
//! | `verify-full` | always                       | chains to a trusted CA, names the host |
//!
//! Without `sslmode` the mode is `prefer`, libpq's default, so a URL means what it means to psql;
//! production should say `verify-full` (the chart's documentation does), and [`Connector`] warns
//! when it reaches a remote server without checking who answers. `sslrootcert` is a PEM file of
//! the certificate authorities to trust, and only those; without it (or `system`) the operating
//! system's. Unix sockets never use TLS (as libpq).
//!
//! tokio-postgres knows only `disable`, `prefer` and `require` and no `sslrootcert`, so this
//! module takes both out of the URL and hands tokio-postgres a rustls connector with a verifier
//! for the mode (ring provider, handed explicitly like the provider clients'). The connector
//! reports no channel binding: SCRAM authenticates without it, as over any non-TLS connection.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};

use anyhow::Context as _;
use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::Socket;
use tokio_postgres::config::Host;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::providers::error_chain;

/// The URL's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    const NAMES: [(&str, SslMode); 5] = [
        ("disable", SslMode::Disable),
        ("prefer", SslMode::Prefer),
        ("require", SslMode::Require),
        ("verify-ca", SslMode::VerifyCa),
        ("verify-full", SslMode::VerifyFull),
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES.iter().find(|(_, mode)| *mode == self).map_or("", |(name, _)| name)
    }

    /// Whether the server must prove who it is.
    pub fn verifies_server(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }
}

impl FromStr for SslMode {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Self::NAMES.iter().find(|(name, _)| *name == raw).map(|(_, mode)| *mode).ok_or_else(|| {
            // The value is no secret, and naming it helps; the URL around it may hold one.
            format!("sslmode {raw:?} is not one of disable, prefer, require, verify-ca, verify-full")
        })
    }
}

/// Where the trusted certificate authorities come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TrustedRoots {
    System,
    File(PathBuf),
}

/// A database URL taken apart: what tokio-postgres reads, and the TLS settings it does not.
#[derive(Debug)]
struct ParsedUrl {
    config: tokio_postgres::Config,
    mode: SslMode,
    roots: TrustedRoots,
}

impl ParsedUrl {
    /// Errors never hold the URL: it may carry a password.
    fn parse(url: &str) -> Result<Self, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut mode = None;
        let mut root_cert = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            // Percent-decoded as libpq does: a `+` stays a `+` (form decoding would make it a space).
            let pair_bytes = pair.replace('+', "%2B");
            let (key, value) = url::form_urlencoded::parse(pair_bytes.as_bytes()).next().unwrap_or_default();
            match &*key {
                "sslmode" => mode = Some(value.parse::<SslMode>()?),
                "sslrootcert" => root_cert = Some(value.into_owned()),
                _ => rest.push(pair),
            }
        }
        let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|error| format!("not a valid PostgreSQL URL: {}", error_chain(&error)))?;
        let roots = match root_cert.as_deref() {
            None | Some("system") => TrustedRoots::System,
            Some("") => return Err("sslrootcert is empty: name a CA file, or leave it out".into()),
            Some(path) => TrustedRoots::File(path.into()),
        };
        let mode = match mode.unwrap_or(SslMode::Prefer) {
            // libpq: with a CA file given, `require` checks the chain too.
            SslMode::Require if matches!(roots, TrustedRoots::File(_)) => SslMode::VerifyCa,
            // PostgreSQL speaks TLS over TCP only.
            _ if only_unix_sockets(&config) => SslMode::Disable,
            mode => mode,
        };
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        Ok(Self { config, mode, roots })
    }

    /// Whether every host is this machine (loopback or a Unix socket).
    fn is_local(&self) -> bool {
        let hosts_local = self.config.get_hosts().iter().all(|host| match host {
            Host::Tcp(name) => {
                name == "localhost" || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
            }
            Host::Unix(_) => true,
        });
        hosts_local && self.config.get_hostaddrs().iter().all(|address| address.is_loopback())
    }
}

fn only_unix_sockets(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|host| !matches!(host, Host::Tcp(_)))
        && config.get_hostaddrs().is_empty()
}

/// Checks a database URL without connecting or reading files: for configuration, so a wrong
/// `sslmode` stops start-up with a clear message.
pub fn check_url(url: &str) -> Result<(), String> {
    ParsedUrl::parse(url).map(|_| ())
}

/// Opens connections to the database named by a URL, with the TLS it asks for. Cheap to clone.
#[derive(Clone)]
pub struct Connector {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    mode: SslMode,
    local: bool,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds the password.
        f.debug_struct("Connector").field("sslmode", &self.mode).finish_non_exhaustive()
    }
}

impl Connector {
    /// Reads the URL and the CA file it names. Errors name the problem, never the URL.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let parsed = ParsedUrl::parse(url).map_err(|problem| anyhow::anyhow!("DATABASE_URL: {problem}"))?;
        let tls = MakeRustlsConnect(Arc::new(client_config(parsed.mode, &parsed.roots)?));
        Ok(Self { local: parsed.is_local(), config: parsed.config, tls, mode: parsed.mode })
    }

    /// Says so in the log when connections to a remote server do not check who answers.
    pub fn warn_if_unverified(&self) {
        if !self.local && !self.mode.verifies_server() {
            tracing::warn!(
                sslmode = self.mode.as_str(),
                "database connections do not verify the server's certificate: add \
                 sslmode=verify-full (and sslrootcert=<CA file>) to DATABASE_URL"
            );
        }
    }

    pub async fn connect(&self) -> Result<AsyncPgConnection, ConnectionError> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            // The chain says why ("... invalid peer certificate: UnknownIssuer"); the top alone
            // ("error performing TLS handshake") does not.
            .map_err(|error| ConnectionError::BadConnection(error_chain(&error)))?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await
    }
}

/// TLS settings for `mode`: the verifier is what differs.
fn client_config(mode: SslMode, roots: &TrustedRoots) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(EncryptOnly(provider.clone())),
        SslMode::VerifyCa => Arc::new(ChainOnly(chain_verifier(roots, provider.clone())?)),
        SslMode::VerifyFull => chain_verifier(roots, provider.clone())?,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("set up TLS with the ring crypto provider")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // PostgreSQL 17 checks the protocol name when a client offers one; older servers ignore it.
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(config)
}

/// Checks the chain and the host name against `roots`.
fn chain_verifier(
    roots: &TrustedRoots,
    provider: Arc<CryptoProvider>,
) -> anyhow::Result<Arc<dyn ServerCertVerifier>> {
    match roots {
        TrustedRoots::System => Ok(Arc::new(
            rustls_platform_verifier::Verifier::new(provider)
                .context("load the certificate authorities the system trusts")?,
        )),
        TrustedRoots::File(path) => {
            let mut store = rustls::RootCertStore::empty();
            for certificate in read_certificates(path)? {
                store
                    .add(certificate)
                    .with_context(|| format!("{}: not a usable CA certificate", path.display()))?;
            }
            Ok(rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                .build()
                .with_context(|| format!("cannot trust the CAs in {}", path.display()))?)
        }
    }
}

fn read_certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read the database CA file (sslrootcert) {}", path.display()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM file of certificates", path.display()))?;
    anyhow::ensure!(!certificates.is_empty(), "{}: holds no certificate", path.display());
    Ok(certificates)
}

/// `prefer` and `require`: encryption against eavesdropping, no proof of who answers. The
/// handshake signatures are still checked (they bind the key exchange to the presented key).
#[derive(Debug)]
struct EncryptOnly(Arc<CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trusted CA; the name in the certificate may differ from
/// the host connected to. (The chain is checked before the name, so a name error means the chain
/// passed.)
#[derive(Debug)]
struct ChainOnly(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// tokio-postgres's TLS hook over tokio-rustls.
#[derive(Clone)]
struct MakeRustlsConnect(Arc<rustls::ClientConfig>);

impl MakeTlsConnect<Socket> for MakeRustlsConnect {
    type Stream = RustlsStream;
    type TlsConnect = RustlsHandshake;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsHandshake, Self::Error> {
        // Called for every connection, TLS or not (a Unix socket's host is ""): a bad name only
        // matters once a handshake needs it.
        Ok(RustlsHandshake {
            config: self.0.clone(),
            server_name: ServerName::try_from(host.to_string()).ok(),
        })
    }
}

struct RustlsHandshake {
    config: Arc<rustls::ClientConfig>,
    server_name: Option<ServerName<'static>>,
}

impl TlsConnect<Socket> for RustlsHandshake {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move {
            let server_name = self.server_name.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "the database host is not a valid TLS server name",
                )
            })?;
            let stream = tokio_rustls::TlsConnector::from(self.config).connect(server_name, stream).await?;
            Ok(RustlsStream(stream))
        })
    }
}

struct RustlsStream(tokio_rustls::client::TlsStream<Socket>);

impl tokio_postgres::tls::TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> ParsedUrl {
        ParsedUrl::parse(url).unwrap()
    }

    #[test]
    fn sslmode_and_sslrootcert_are_read_and_taken_out_of_what_tokio_postgres_sees() {
        let parsed = parse(
            "postgres://app:pw@db.example.nl:5433/burgernet?sslmode=verify-full&application_name=api\
             &sslrootcert=%2Fetc%2Fdb+ca.crt",
        );
        assert_eq!(parsed.mode, SslMode::VerifyFull);
        assert_eq!(parsed.roots, TrustedRoots::File("/etc/db+ca.crt".into()));
        assert_eq!(parsed.config.get_application_name(), Some("api"));
        assert_eq!(parsed.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert_eq!(parsed.config.get_dbname(), Some("burgernet"));
    }

    #[test]
    fn without_sslmode_tls_is_used_when_offered_as_with_libpq() {
        let parsed = parse("postgres://db.example.nl/burgernet");
        assert_eq!(parsed.mode, SslMode::Prefer);
        assert_eq!(parsed.roots, TrustedRoots::System);
        assert!(!parsed.is_local());
    }

    #[test]
    fn require_with_a_ca_file_checks_the_chain_as_with_libpq() {
        assert_eq!(parse("postgres://h/d?sslmode=require").mode, SslMode::Require);
        assert_eq!(parse("postgres://h/d?sslmode=require&sslrootcert=/ca.pem").mode, SslMode::VerifyCa);
        assert_eq!(parse("postgres://h/d?sslmode=require&sslrootcert=system").roots, TrustedRoots::System);
    }

    #[test]
    fn a_unix_socket_never_uses_tls() {
        let parsed = parse("postgres://app@%2Frun%2Fpostgresql/burgernet?sslmode=verify-full");
        assert_eq!(parsed.mode, SslMode::Disable);
        assert!(parsed.is_local());
    }

    #[test]
    fn an_unknown_sslmode_is_named_and_the_password_is_not() {
        let error = ParsedUrl::parse("postgres://app:hunter2@h/d?sslmode=verify_full").unwrap_err();
        assert!(error.contains("\"verify_full\"") && error.contains("verify-full"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error = ParsedUrl::parse("postgres://app:hunter2@h/d?sslcompression=1").unwrap_err();
        assert!(error.contains("sslcompression") && !error.contains("hunter2"), "{error}");
    }

    #[test]
    fn a_missing_ca_file_is_an_error_naming_it() {
        let error = Connector::new("postgres://h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .unwrap_err()
            .to_string();
        assert!(error.contains("/nonexistent/ca.pem"), "{error}");
    }
}
