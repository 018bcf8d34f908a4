//! The data layer: the connection pool, the embedded migrations and every SQL query. Query
//! functions take a connection (`&mut AsyncPgConnection`), so the same function works inside or
//! outside a transaction.

pub mod schema;

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseConfig;

pub use diesel_async::AsyncPgConnection as Connection;

pub type DbPool = Pool<AsyncPgConnection>;
pub type PooledConnection = Object<AsyncPgConnection>;

/// The migrations under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub fn build_pool(config: &DatabaseConfig) -> anyhow::Result<DbPool> {
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new(config.url.expose().clone());
    Ok(Pool::builder(manager).max_size(config.pool_size).build()?)
}

pub async fn connect(url: &str) -> ConnectionResult<AsyncPgConnection> {
    AsyncPgConnection::establish(url).await
}

/// Applies every pending migration and returns the versions it applied.
pub async fn run_migrations(url: &str) -> anyhow::Result<Vec<String>> {
    let connection = connect(url).await?;
    // diesel_migrations is synchronous; run it on a blocking thread over the async connection.
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut wrapper: AsyncConnectionWrapper<AsyncPgConnection> =
            AsyncConnectionWrapper::from(connection);
        let applied = wrapper
            .run_pending_migrations(MIGRATIONS)
            .map_err(|error| anyhow::anyhow!(error))?;
        Ok(applied
            .into_iter()
            .map(|version| version.to_string())
            .collect())
    })
    .await?
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
    Ok(known_migration_versions()
        .into_iter()
        .filter(|version| !applied.contains(version))
        .collect())
}
