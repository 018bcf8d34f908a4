//! One throwaway PostgreSQL + PostGIS cluster per test run (or the server in `DATABASE_URL`),
//! a template database migrated once, and a fresh clone of it for every test, so tests run in
//! parallel and never see each other's rows.
//!
//! As in production, two roles: the migration role (the cluster's superuser) owns the schema, and
//! the app and the tests connect as [`APP_ROLE`], which `migrate` grants only what the application
//! needs (the dossier: read and append). Tests that must act as the owner (tampering, extra
//! triggers) use [`TestDatabase::connect_as_owner`].

use std::time::Duration;

use burgernet_core::db::{self, DbPool};
use burgernet_core::secret::Secret;
use burgernet_local::postgres::{LocalPostgres, LocalPostgresOptions};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::OnceCell;

/// The application's database role in tests.
pub const APP_ROLE: &str = "burgernet_app";

/// Its password: the same in every test process, which may share a server (`DATABASE_URL`).
const APP_ROLE_PASSWORD: &str = "burgernetapptestpassword0123456789";

struct TestCluster {
    /// Connects to the maintenance database, to create test databases.
    admin_url: Secret<String>,
    /// Builds the URL of a database on this server.
    base_url: String,
    template: String,
    /// Kept so the cluster lives as long as the test process; the kernel stops it after.
    _server: Option<LocalPostgres>,
}

static CLUSTER: OnceCell<TestCluster> = OnceCell::const_new();

async fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(start_cluster).await
}

async fn start_cluster() -> TestCluster {
    let (server, admin_url) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => (None, Secret::new(url)),
        _ => {
            remove_abandoned_clusters();
            let data_dir = std::env::temp_dir().join(format!("{THROWAWAY_PREFIX}{}", uuid::Uuid::new_v4()));
            let server = tokio::task::spawn_blocking(move || {
                LocalPostgres::start(LocalPostgresOptions {
                    data_dir,
                    fast_and_unsafe: true,
                    settings: Vec::new(),
                })
            })
            .await
            .unwrap()
            .expect("start a throwaway PostgreSQL cluster (run scripts/install-deps first?)");
            let url = server.url("postgres");
            (Some(server), url)
        }
    };
    let base_url = strip_database(admin_url.expose());
    let template = format!("burgernet_template_{}", uuid::Uuid::new_v4().simple());
    execute(&admin_url, &format!("CREATE DATABASE {template}")).await;
    let template_url = format!("{base_url}/{template}");
    migrate_with_app_role(admin_url.expose(), &template_url).await;
    TestCluster { admin_url, base_url, template, _server: server }
}

/// The throwaway clusters' data directories are named this in the temporary directory.
const THROWAWAY_PREFIX: &str = "burgernet-test-";

/// Deletes the data directories of earlier runs' clusters whose server is gone: a test process
/// cannot clean up after itself (its cluster lives as long as the process), and a few gigabytes a
/// run would fill the disk of a machine that runs the suite often.
fn remove_abandoned_clusters() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for entry in entries.flatten() {
        let is_throwaway = entry.file_name().to_str().is_some_and(|name| name.starts_with(THROWAWAY_PREFIX));
        if !is_throwaway {
            continue;
        }
        let pid_file =
            std::fs::read_to_string(entry.path().join("cluster").join("postmaster.pid")).unwrap_or_default();
        let server_alive =
            pid_file.lines().next().and_then(|pid| pid.trim().parse::<i32>().ok()).is_some_and(|pid| {
                // SAFETY: signal 0 only checks that the process exists.
                unsafe { libc::kill(pid, 0) == 0 }
            });
        // A directory still being set up has no server yet: leave the young ones alone.
        let old = entry.metadata().and_then(|metadata| metadata.modified()).is_ok_and(|modified| {
            modified.elapsed().unwrap_or_default() > std::time::Duration::from_secs(600)
        });
        if !server_alive && old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Migrates the database at `url` (the owner's) as `burgernet migrate` does with
/// `BURGERNET_DATABASE_APP_ROLE` set, creating the application's role first.
async fn migrate_with_app_role(admin_url: &str, url: &str) {
    db::ensure_login_role(admin_url, APP_ROLE, &Secret::new(APP_ROLE_PASSWORD.into()))
        .await
        .expect("create the application's role");
    db::run_migrations(url).await.expect("migrate the database");
    db::grant_application_role(url, APP_ROLE).await.expect("grant the application's role its rights");
}

/// The URL of the same database as the application's role.
fn as_app_role(owner_url: &str) -> Secret<String> {
    let (scheme, rest) = owner_url.split_once("://").expect("a database URL");
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    Secret::new(format!("{scheme}://{APP_ROLE}:{APP_ROLE_PASSWORD}@{host}"))
}

fn strip_database(url: &str) -> String {
    let (before_query, _) = url.split_once('?').unwrap_or((url, ""));
    let slash = before_query.rfind('/').expect("a database URL has a path");
    before_query[..slash].to_string()
}

async fn execute(url: &Secret<String>, sql: &str) {
    let mut conn = db::connect(url.expose()).await.expect("connect to the test server");
    diesel::sql_query(sql).execute(&mut conn).await.unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// A migrated database of one's own.
pub struct TestDatabase {
    /// As the application's role: what the app and the tests use.
    pub url: Secret<String>,
    /// As the role that owns the schema (the migration role).
    pub owner_url: Secret<String>,
    pub name: String,
}

impl TestDatabase {
    pub async fn new() -> Self {
        let cluster = cluster().await;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let sql = format!("CREATE DATABASE {name} TEMPLATE {}", cluster.template);
        // The template may still show a closing connection for a moment after migrating.
        let mut attempt = 0;
        loop {
            let mut conn = db::connect(cluster.admin_url.expose()).await.expect("connect to the test server");
            match diesel::sql_query(&sql).execute(&mut conn).await {
                Ok(_) => break,
                Err(error) if attempt < 50 && error.to_string().contains("being accessed by other users") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("{sql}: {error}"),
            }
        }
        let owner_url = format!("{}/{name}", cluster.base_url);
        Self { url: as_app_role(&owner_url), owner_url: Secret::new(owner_url), name }
    }

    /// An empty database with nothing migrated (for migration tests): both URLs are the owner's.
    pub async fn empty() -> Self {
        let cluster = cluster().await;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        execute(&cluster.admin_url, &format!("CREATE DATABASE {name}")).await;
        let url = Secret::new(format!("{}/{name}", cluster.base_url));
        Self { url: url.clone(), owner_url: url, name }
    }

    /// Simulates losing the database: new connections are refused and open ones are cut.
    pub async fn refuse_connections(&self) {
        let cluster = cluster().await;
        execute(&cluster.admin_url, &format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", self.name)).await;
        execute(
            &cluster.admin_url,
            &format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
                self.name
            ),
        )
        .await;
    }

    pub async fn connect(&self) -> AsyncPgConnection {
        db::connect(self.url.expose()).await.expect("connect to the test database")
    }

    /// A connection as the role that owns the schema: for tests that do what the application's
    /// role may not (tamper with the dossier, add triggers).
    pub async fn connect_as_owner(&self) -> AsyncPgConnection {
        db::connect(self.owner_url.expose()).await.expect("connect to the test database as its owner")
    }

    pub fn pool(&self) -> DbPool {
        db::build_pool(&burgernet_core::db::DatabaseConfig { url: self.url.clone(), pool_size: 8 })
            .expect("build a pool")
    }
}

/// A PostgreSQL cluster of one test's own with one migrated database, which the test may stop
/// and start again (same port, same data) to see how the application rides out losing it.
pub struct OwnCluster {
    options: LocalPostgresOptions,
    port: u16,
    server: Option<LocalPostgres>,
    database: TestDatabase,
}

impl OwnCluster {
    const DATABASE: &str = "burgernet";

    pub async fn start() -> Self {
        let data_dir = std::env::temp_dir().join(format!("burgernet-own-{}", uuid::Uuid::new_v4()));
        let options = LocalPostgresOptions { data_dir, fast_and_unsafe: true, settings: Vec::new() };
        let server = start_server(options.clone(), None).await;
        let admin_url = server.url("postgres");
        execute(&admin_url, &format!("CREATE DATABASE {}", Self::DATABASE)).await;
        let owner_url = server.url(Self::DATABASE);
        migrate_with_app_role(admin_url.expose(), owner_url.expose()).await;
        let database =
            TestDatabase { url: as_app_role(owner_url.expose()), owner_url, name: Self::DATABASE.into() };
        Self { options, port: server.port(), server: Some(server), database }
    }

    /// The migrated database (its URL stays valid across restarts).
    pub fn database(&self) -> TestDatabase {
        TestDatabase {
            url: self.database.url.clone(),
            owner_url: self.database.owner_url.clone(),
            name: self.database.name.clone(),
        }
    }

    /// Shuts the server down (PostgreSQL's fast shutdown: sessions are cut, data is kept).
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
        }
    }

    /// Starts the stopped server again on its port, over its data.
    pub async fn restart(&mut self) {
        assert!(self.server.is_none(), "the cluster is running");
        self.server = Some(start_server(self.options.clone(), Some(self.port)).await);
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
        }
        let _ = std::fs::remove_dir_all(&self.options.data_dir);
    }
}

async fn start_server(options: LocalPostgresOptions, port: Option<u16>) -> LocalPostgres {
    tokio::task::spawn_blocking(move || match port {
        Some(port) => LocalPostgres::start_on_port(options, port),
        None => LocalPostgres::start(options),
    })
    .await
    .unwrap()
    .expect("start a PostgreSQL cluster of the test's own")
}
