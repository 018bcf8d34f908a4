//! `serve`, `work` and `migrate`: the production processes.

use std::net::TcpListener;

use burgernet_api::state::AppState;
use burgernet_core::alerts::dossier::checkpoints::{self, CheckpointSettings};
use burgernet_core::config::{ApiConfig, WorkerConfig};
use burgernet_core::db;
use burgernet_core::db::{DatabaseConfig, MigrationConfig};
use burgernet_core::env::Env;
use burgernet_core::media::store::MediaStore;
use burgernet_core::metrics::{self, DeliveryMetrics};
use burgernet_core::participants::notices::Messaging;
use burgernet_core::participants::notices::MessagingConfig;
use burgernet_workers::{HealthServer, WorkerHealth, application_runner, stall_threshold};

use crate::shutdown;

pub async fn serve(env: &Env) -> anyhow::Result<()> {
    let database = DatabaseConfig::from_env(env)?;
    let api = ApiConfig::from_env(env)?;
    api.messaging.require_providers()?;
    let pool = db::build_pool(&database)?;
    tokio::spawn(warn_if_role_can_rewrite_dossier(pool.clone()));
    let listener = TcpListener::bind(api.bind)
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", api.bind))?;
    let state = AppState::new(&api, pool, MediaStore::from_env(env)?)?;
    let streams = state.clone();
    let server = burgernet_api::build_server(listener, state)?;
    tracing::info!(address = %api.bind, "serving the API");
    let handle = server.handle();
    let running = tokio::spawn(server);
    shutdown::signalled().await;
    tracing::info!("stopping: finishing requests in flight");
    streams.close_streams();
    handle.stop(true).await;
    running.await??;
    Ok(())
}

pub async fn work(env: &Env) -> anyhow::Result<()> {
    let database = DatabaseConfig::from_env(env)?;
    let workers = WorkerConfig::from_env(env)?;
    let messaging = MessagingConfig::from_env(env)?;
    messaging.require_providers()?;
    messaging.require_push_providers()?;
    // The dossier must be anchored outside the database: the workers sign its checkpoints.
    CheckpointSettings::required(env)?;
    let messaging = Messaging::from_config(&messaging)?;
    let pool = db::build_pool(&database)?;
    tokio::spawn(warn_if_role_can_rewrite_dossier(pool.clone()));
    let listener = TcpListener::bind(workers.bind)
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", workers.bind))?;
    let address = listener.local_addr()?;
    let stall_after = stall_threshold(workers.poll_interval);
    let registry = metrics::new_registry();
    let delivery_metrics = DeliveryMetrics::register(&registry);
    let store = MediaStore::from_env(env)?;
    // Tokens and connections ready before the first alert needs them.
    tokio::spawn({
        let push = messaging.push.clone();
        async move { push.warm_up().await }
    });
    let handle = application_runner(pool.clone(), workers, messaging, store, delivery_metrics).start().await;
    let health = WorkerHealth { pool, heartbeat: handle.heartbeat(), registry, stall_after };
    let health = HealthServer::start(listener, health)?;
    tracing::info!(%address, "workers running; serving /healthz, /readyz and /metrics");
    shutdown::signalled().await;
    tracing::info!("stopping: finishing or releasing running jobs");
    handle.shutdown().await;
    health.stop().await
}

pub async fn migrate(env: &Env) -> anyhow::Result<()> {
    let database = DatabaseConfig::from_env(env)?;
    let migration = MigrationConfig::from_env(env)?;
    let applied = db::run_migrations(database.url.expose()).await?;
    if applied.is_empty() {
        println!("The database schema is current; nothing to apply.");
    } else {
        for version in &applied {
            println!("applied {version}");
        }
    }
    if let Some(role) = &migration.app_role {
        db::grant_application_role(database.url.expose(), role).await?;
        println!("granted the application role {role} its rights (the dossier: read and append only)");
    }
    Ok(())
}

async fn warn_if_role_can_rewrite_dossier(pool: db::DbPool) {
    checkpoints::warn_if_role_can_rewrite_dossier(&pool).await;
}
