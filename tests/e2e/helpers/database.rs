//! One throwaway PostgreSQL + PostGIS cluster per test run (or the server in `DATABASE_URL`),
//! a template database migrated once, and a fresh clone of it for every test, so tests run in
//! parallel and never see each other's rows.

use std::time::Duration;

use burgernet_core::db::{self, DbPool};
use burgernet_core::local_postgres::{LocalPostgres, LocalPostgresOptions};
use burgernet_core::secret::Secret;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::OnceCell;

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
    db::run_migrations(&template_url).await.expect("migrate the template database");
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
    pub url: Secret<String>,
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
        Self { url: Secret::new(format!("{}/{name}", cluster.base_url)), name }
    }

    /// An empty database with nothing migrated (for migration tests).
    pub async fn empty() -> Self {
        let cluster = cluster().await;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        execute(&cluster.admin_url, &format!("CREATE DATABASE {name}")).await;
        Self { url: Secret::new(format!("{}/{name}", cluster.base_url)), name }
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

    pub fn pool(&self) -> DbPool {
        db::build_pool(&burgernet_core::config::DatabaseConfig { url: self.url.clone(), pool_size: 8 })
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
        let url = server.url(Self::DATABASE);
        db::run_migrations(url.expose()).await.expect("migrate the database");
        let database = TestDatabase { url, name: Self::DATABASE.into() };
        Self { options, port: server.port(), server: Some(server), database }
    }

    /// The migrated database (its URL stays valid across restarts).
    pub fn database(&self) -> TestDatabase {
        TestDatabase { url: self.database.url.clone(), name: self.database.name.clone() }
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
