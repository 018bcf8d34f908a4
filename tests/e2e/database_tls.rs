//! TLS to PostgreSQL (issue 14, point 14): against a cluster of the test's own that accepts only
//! TLS connections (`hostssl` in its pg_hba) and presents a certificate from a throwaway CA,
//! every kind of connection the application makes honours the URL's `sslmode` and
//! `sslrootcert`: the pool, single connections, migrations, readiness, database creation.

use std::path::PathBuf;

use burgernet_core::db;
use burgernet_core::db::DatabaseConfig;
use burgernet_core::secret::Secret;
use burgernet_fakes::tls::LocalCertificateAuthority;
use burgernet_local::postgres::{self, LocalPostgres, LocalPostgresOptions};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

#[derive(QueryableByName)]
struct SslInUse {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    ssl: bool,
}

/// Whether this session is encrypted, as the server sees it.
async fn encrypted(conn: &mut AsyncPgConnection) -> bool {
    diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .get_result::<SslInUse>(conn)
        .await
        .expect("read pg_stat_ssl")
        .ssl
}

/// A cluster with `ssl = on`, a certificate for `localhost` and `127.0.0.1` signed by a CA of its
/// own, and an `hba_file` that admits TCP clients over TLS only.
struct TlsCluster {
    dir: PathBuf,
    /// The CA that signed the server's certificate, in PEM.
    ca_file: PathBuf,
    server: Option<LocalPostgres>,
}

impl TlsCluster {
    async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("burgernet-own-tls-{}", uuid::Uuid::new_v4()));
        let tls_dir = dir.join("tls");
        std::fs::create_dir_all(&tls_dir).unwrap();
        let ca = LocalCertificateAuthority::generate().unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, ca.ca_pem()).unwrap();
        let server_files = [
            ("server.crt", ca.server_chain_pem()),
            ("server.key", ca.server_key_pem()),
            ("pg_hba.conf", "local all all peer\nhostssl all all 127.0.0.1/32 scram-sha-256\n"),
        ];
        for (name, contents) in server_files {
            std::fs::write(tls_dir.join(name), contents).unwrap();
            postgres::hand_to_server(&tls_dir.join(name)).unwrap();
        }
        postgres::hand_to_server(&tls_dir).unwrap();
        let file = |name: &str| tls_dir.join(name).display().to_string();
        let options = LocalPostgresOptions {
            data_dir: dir.join("data"),
            fast_and_unsafe: true,
            settings: vec![
                ("ssl".into(), "on".into()),
                ("ssl_cert_file".into(), file("server.crt")),
                ("ssl_key_file".into(), file("server.key")),
                ("hba_file".into(), file("pg_hba.conf")),
            ],
        };
        let server = tokio::task::spawn_blocking(move || LocalPostgres::start(options))
            .await
            .unwrap()
            .expect("start a PostgreSQL cluster with TLS");
        Self { dir, ca_file, server: Some(server) }
    }

    fn server(&self) -> &LocalPostgres {
        self.server.as_ref().expect("the cluster runs")
    }

    /// The URL of `database` as the superuser, with `query` (the TLS settings).
    fn url(&self, database: &str, query: &str) -> String {
        format!("{}?{query}", self.server().url(database).expose())
    }

    /// `sslmode=verify-full` against the CA that signed the server's certificate.
    fn verified_url(&self, database: &str) -> String {
        self.url(database, &format!("sslmode=verify-full&sslrootcert={}", self.ca_file.display()))
    }

    /// The URL of `database` by a host name the certificate does not hold, reaching the same
    /// server (`hostaddr`, as with libpq), with `query`.
    fn url_by_another_name(&self, database: &str, query: &str) -> String {
        self.url(database, &format!("hostaddr=127.0.0.1&{query}")).replacen(
            "@127.0.0.1:",
            "@db.burgernet.invalid:",
            1,
        )
    }
}

impl Drop for TlsCluster {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_servers_ca_encrypts_migrations_the_pool_and_single_connections() {
    let cluster = TlsCluster::start().await;

    db::create_database_if_missing(&cluster.verified_url("postgres"), "burgernet")
        .await
        .expect("create the database over verified TLS");
    let url = cluster.verified_url("burgernet");
    let applied = db::run_migrations(&url).await.expect("migrate over verified TLS");
    assert_eq!(applied, db::known_migration_versions());

    let pool = db::build_pool(&DatabaseConfig { url: Secret::new(url.clone()), pool_size: 2 }).unwrap();
    assert_eq!(db::check_ready(&pool).await, Ok(()));
    assert!(encrypted(&mut pool.get().await.expect("a pooled connection")).await);

    let mut conn = db::connect(&url).await.expect("connect over verified TLS");
    assert!(encrypted(&mut conn).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_and_the_default_prefer_encrypt_without_checking_the_certificate() {
    let cluster = TlsCluster::start().await;
    for query in ["sslmode=require", "sslmode=prefer", ""] {
        let mut conn = db::connect(&cluster.url("postgres", query))
            .await
            .unwrap_or_else(|error| panic!("connect with {query:?}: {error}"));
        assert!(encrypted(&mut conn).await, "{query:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_cannot_prove_who_it_is_or_a_client_without_tls_is_refused_with_the_reason() {
    let cluster = TlsCluster::start().await;

    let other_ca = LocalCertificateAuthority::generate().unwrap();
    let other_ca_file = cluster.dir.join("other-ca.pem");
    std::fs::write(&other_ca_file, other_ca.ca_pem()).unwrap();
    let wrong_ca =
        cluster.url("postgres", &format!("sslmode=verify-full&sslrootcert={}", other_ca_file.display()));
    let error = db::connect(&wrong_ca).await.err().expect("a certificate from another CA is refused");
    // (BadSignature rather than UnknownIssuer: both throwaway CAs bear the same name.)
    assert!(error.to_string().contains("TLS handshake: invalid peer certificate"), "{error}");
    // The pool, and so readiness, refuse it alike.
    let pool = db::build_pool(&DatabaseConfig { url: Secret::new(wrong_ca), pool_size: 1 }).unwrap();
    let error = pool.get().await.err().expect("the pool refuses it too");
    assert!(error.to_string().contains("invalid peer certificate"), "{error}");

    let ca = format!("sslrootcert={}", cluster.ca_file.display());
    let another_name = cluster.url_by_another_name("postgres", &format!("sslmode=verify-full&{ca}"));
    let error = db::connect(&another_name).await.err().expect("a certificate for another host is refused");
    assert!(error.to_string().contains("certificate not valid for name \"db.burgernet.invalid\""), "{error}");
    // verify-ca checks the chain only.
    let chain_only = cluster.url_by_another_name("postgres", &format!("sslmode=verify-ca&{ca}"));
    assert!(encrypted(&mut db::connect(&chain_only).await.expect("verify-ca ignores the name")).await);

    let error = db::connect(&cluster.url("postgres", "sslmode=disable"))
        .await
        .err()
        .expect("the server admits TLS connections only");
    assert!(error.to_string().contains("no encryption"), "{error}");
}
