//! The data layer: the connection pool, the embedded migrations and every SQL query. Query
//! functions take a connection (`&mut AsyncPgConnection`), so the same function works inside or
//! outside a transaction.

pub mod alert_rollups;
pub mod alerts;
pub mod deliveries;
pub mod dossier;
pub mod dossier_checkpoints;
pub mod idempotency;
pub mod jobs;
pub mod media;
pub mod municipal_messages;
pub mod participants;
pub mod participation;
pub mod participation_reports;
pub mod partner_keys;
pub mod provider_quotas;
pub mod public_pages;
pub mod reach_previews;
pub mod receipts;
pub mod recipients;
pub mod recruitment;
pub mod reference_data;
pub mod scenarios;
pub mod schema;
pub mod sign_in;
pub mod target_groups;
pub mod tips;
pub mod tls;

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::env::parse::{self, is_plain_identifier};
use crate::env::{ConfigError, Env};
use crate::secret::Secret;

pub use diesel_async::AsyncPgConnection as Connection;

pub type DbPool = Pool<AsyncPgConnection>;
pub type PooledConnection = Object<AsyncPgConnection>;
pub type PoolError = diesel_async::pooled_connection::deadpool::PoolError;

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: Secret<String>,
    pub pool_size: usize,
}

impl DatabaseConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.required("DATABASE_URL", postgres_url)?,
            pool_size: env.or("BURGERNET_DB_POOL_SIZE", 16, parse::positive_number)?,
        })
    }
}

/// What `migrate` needs besides `DATABASE_URL` (the migration role's, which owns the schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationConfig {
    /// The role the API and the workers connect as (`BURGERNET_DATABASE_APP_ROLE`): after
    /// migrating, `migrate` grants it what the application needs and no more, so it cannot change
    /// or delete the dossier. None: the application shares the migration role (tests, small
    /// installs).
    pub app_role: Option<String>,
}

impl MigrationConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { app_role: env.optional("BURGERNET_DATABASE_APP_ROLE", parse::database_role)? })
    }
}

/// A `postgres://` URL whose TLS parameters we understand.
fn postgres_url(raw: &str) -> Result<Secret<String>, String> {
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        // Its sslmode and the rest, so a typo stops start-up rather than the first connection.
        tls::check_url(raw)?;
        Ok(Secret::new(raw.to_string()))
    } else {
        // Do not echo the value: it may hold a password.
        Err("expected a URL starting with postgres:// or postgresql://".into())
    }
}

/// The migrations under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// A duration as a PostgreSQL `interval`, for `now() + $n` in queries.
pub(crate) fn interval(duration: std::time::Duration) -> diesel::pg::data_types::PgInterval {
    diesel::pg::data_types::PgInterval::from_microseconds(
        i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
    )
}

pub fn build_pool(config: &DatabaseConfig) -> anyhow::Result<DbPool> {
    // No test query on every checkout (diesel-async's default): it is a round trip and a
    // statement per request, a sixth of a location update's throughput (`bench location`). A
    // connection the server closed (a restart) or left in a broken transaction is still dropped
    // at checkout, as diesel-async checks both whatever the method; one that breaks under a query
    // answers 503.
    let mut manager_config = ManagerConfig::default();
    manager_config.recycling_method = RecyclingMethod::Fast;
    // Every pooled connection comes from the connector, with the TLS the URL asks for (diesel's
    // own setup would connect without TLS).
    let connector = tls::Connector::new(config.url.expose())?;
    connector.warn_if_unverified();
    manager_config.custom_setup = Box::new(move |_url| {
        let connector = connector.clone();
        Box::pin(async move { connector.connect().await })
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        config.url.expose().clone(),
        manager_config,
    );
    // Bounded waits: a saturated or unreachable database becomes an error the caller can report,
    // not a request that hangs.
    let timeout = Some(std::time::Duration::from_secs(5));
    Ok(Pool::builder(manager)
        .max_size(config.pool_size)
        .wait_timeout(timeout)
        .create_timeout(timeout)
        .recycle_timeout(timeout)
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
}

/// One connection, with the TLS the URL asks for (see [`tls`]).
pub async fn connect(url: &str) -> ConnectionResult<AsyncPgConnection> {
    let connector =
        tls::Connector::new(url).map_err(|error| ConnectionError::BadConnection(format!("{error:#}")))?;
    connector.connect().await
}

/// The advisory lock key `migrate` holds (any fixed number; this one spells "burgern").
const MIGRATION_LOCK: i64 = 0x0062_7572_6765_726e;

/// Applies every pending migration and returns the versions it applied.
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let mut connection = connect(url).await?;
    // Two `migrate` runs at once (a hook retried while the first still runs, an operator by
    // hand) must not both apply a migration: the second waits here, then finds nothing to do.
    // The session lock ends with the connection.
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
        .execute(&mut connection)
        .await?;
    // diesel_migrations is synchronous; run it on a blocking thread over the async connection.
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> = AsyncConnectionWrapper::from(connection);
        let applied = wrapper.run_pending_migrations(MIGRATIONS).map_err(|error| anyhow::anyhow!(error))?;
        Ok(applied.into_iter().map(|version| version.to_string()).collect())
    })
    .await?
}

/// Gives the application's role (`BURGERNET_DATABASE_APP_ROLE`) what the API and the workers
/// need on the schema and no more: reading and writing the ordinary tables and using their
/// sequences, but only reading and appending to the audit records (the dossier and the log of
/// reach previews), and never altering, truncating or owning anything, so it cannot switch the
/// dossier's triggers off. Run by every `migrate`, after the migrations, so tables added later are
/// covered; `url` is the migration role's, which owns the schema.
pub async fn grant_application_role(url: &str, role: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        is_plain_identifier(role),
        "role names here are lowercase letters, digits and underscores"
    );
    let mut connection = connect(url).await?;
    let grants = [
        format!("GRANT USAGE ON SCHEMA public TO \"{role}\""),
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM \"{role}\""),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \"{role}\""),
        format!(
            "REVOKE INSERT, UPDATE, DELETE ON __diesel_schema_migrations, spatial_ref_sys FROM \"{role}\""
        ),
        format!("REVOKE UPDATE, DELETE ON alert_dossier, reach_previews FROM \"{role}\""),
        format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM \"{role}\""),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO \"{role}\""),
    ];
    connection
        .transaction(async |conn| {
            #[derive(QueryableByName)]
            struct Same {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                same: bool,
            }
            let same: Same = diesel::sql_query("SELECT current_user = $1 AS same")
                .bind::<diesel::sql_types::Text, _>(role)
                .get_result(conn)
                .await?;
            anyhow::ensure!(
                !same.same,
                "the application role {role} is the role migrating: give the application a role of its own"
            );
            for grant in &grants {
                diesel::sql_query(grant).execute(conn).await?;
            }
            Ok(())
        })
        .await
}

/// Creates the login role `role` with `password` on the server behind `admin_url`, or sets its
/// password when it exists (local mode and the tests: the application's role). The password is
/// random text of letters and digits.
pub async fn ensure_login_role(admin_url: &str, role: &str, password: &Secret<String>) -> anyhow::Result<()> {
    anyhow::ensure!(
        is_plain_identifier(role),
        "role names here are lowercase letters, digits and underscores"
    );
    anyhow::ensure!(
        password.expose().bytes().all(|b| b.is_ascii_alphanumeric()),
        "passwords here are letters and digits"
    );
    let mut conn = connect(admin_url).await?;
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(role)
            .get_result(&mut conn)
            .await?;
    let verb = if found.exists { "ALTER" } else { "CREATE" };
    let statement = format!("{verb} ROLE \"{role}\" LOGIN PASSWORD '{}'", password.expose());
    if let Err(error) = diesel::sql_query(statement).execute(&mut conn).await {
        // Two test processes may create it at once; the other one's is as good.
        let taken = matches!(
            &error,
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
        );
        anyhow::ensure!(taken, "cannot create the role {role}: {error}");
    }
    Ok(())
}

/// Versions of the embedded migrations, in order.
pub fn known_migration_versions() -> Vec<String> {
    use diesel::migration::MigrationSource;
    MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .expect("embedded migrations are readable")
        .iter()
        .map(|migration| migration.name().version().to_string())
        .collect()
}

diesel::table! {
    __diesel_schema_migrations (version) {
        version -> VarChar,
    }
}

/// Embedded migrations the database has not applied yet (empty when the schema is current).
pub async fn pending_migrations(conn: &mut AsyncPgConnection) -> QueryResult<Vec<String>> {
    let applied: BTreeSet<String> = __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .load(conn)
        .await?
        .into_iter()
        .collect();
    Ok(known_migration_versions().into_iter().filter(|version| !applied.contains(version)).collect())
}

/// How long readiness waits for the database.
pub const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// Why a process cannot serve yet: what `/readyz` of the API and of the workers reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("The database did not answer within 3 seconds.")]
    DatabaseUnavailable,
    #[error("The database schema is behind this release; pending migrations: {}.", .0.join(", "))]
    MigrationsPending(Vec<String>),
}

impl NotReady {
    /// The problem `code` it is reported with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::DatabaseUnavailable => "database_unavailable",
            Self::MigrationsPending(_) => "migrations_pending",
        }
    }
}

/// Whether the database answers within [`READINESS_TIMEOUT`] and its schema is this release's.
pub async fn check_ready(pool: &DbPool) -> Result<(), NotReady> {
    let check = async {
        let mut conn = pool.get().await.map_err(|error| {
            tracing::warn!(%error, "readiness: no database connection");
            NotReady::DatabaseUnavailable
        })?;
        pending_migrations(&mut conn).await.map_err(|error| {
            tracing::warn!(%error, "readiness query failed");
            NotReady::DatabaseUnavailable
        })
    };
    let pending =
        tokio::time::timeout(READINESS_TIMEOUT, check).await.map_err(|_| NotReady::DatabaseUnavailable)??;
    if pending.is_empty() { Ok(()) } else { Err(NotReady::MigrationsPending(pending)) }
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Creates `name` on the server behind `maintenance_url` unless it exists (used by local mode).
pub async fn create_database_if_missing(maintenance_url: &str, name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        is_plain_identifier(name),
        "database names here are lowercase letters, digits and underscores"
    );
    let mut conn = connect(maintenance_url).await?;
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result(&mut conn)
            .await?;
    if !found.exists {
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).await?;
    }
    Ok(())
}
