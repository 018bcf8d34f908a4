//! `burgernet dev`: the whole service on one machine with embedded defaults. Starts its own
//! PostgreSQL + PostGIS (unless `DATABASE_URL` is set), migrates, loads the demo municipalities
//! and region, and runs the API and the workers in one process on localhost:8080 (the workers'
//! health and metrics on localhost:8081), as a database role that can only read and append to
//! the dossier (`burgernet_app`; the cluster's superuser migrates), with local
//! stand-ins for push, SMS and e-mail whose messages appear at `GET /dev/outbox`. Push and SMS run
//! the real clients against the local fakes (see `local_providers`). Staff sign in through the
//! local identity provider at `/dev/identity` (an OpenID Connect provider with a sign-in page),
//! unless another identity provider is configured.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burgernet_api::state::AppState;
use burgernet_core::alerts::dossier::checkpoints::{self, CheckpointSettings};
use burgernet_core::config::{ApiConfig, WorkerConfig};
use burgernet_core::db::DatabaseConfig;
use burgernet_core::env::Env;
use burgernet_core::media::store::MediaStore;
use burgernet_core::metrics::{self, DeliveryMetrics};
use burgernet_core::outbox::LocalOutbox;
use burgernet_core::secret::{Secret, write_secret_file};
use burgernet_core::{db, reference_data};
use burgernet_local::identity::openid::{self, LocalOpenIdProvider};
use burgernet_local::identity::{DEV_AUDIENCE, DevIdentityProvider};
use burgernet_local::postgres::{LocalPostgres, LocalPostgresOptions};
use burgernet_workers::{HealthServer, WorkerHealth, stall_threshold};

use crate::local_providers::LocalProviders;
use crate::shutdown;

pub const DEV_DIR_VARIABLE: &str = "BURGERNET_DEV_DIR";
const DEV_DATABASE: &str = "burgernet";

pub fn dev_dir(env: &Env) -> anyhow::Result<PathBuf> {
    Ok(PathBuf::from(env.or(
        DEV_DIR_VARIABLE,
        ".burgernet-dev".to_string(),
        burgernet_core::env::parse::text,
    )?))
}

pub async fn run(env: Env) -> anyhow::Result<()> {
    let dir = dev_dir(&env)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;

    if !env.is_set("DATABASE_URL") {
        println!("Starting PostgreSQL in {} ...", dir.join("postgres").display());
    }
    let (postgres, database_url) = database(&env, &dir, DEV_DATABASE, Vec::new()).await?;

    let outcome = serve_locally(env, &dir, postgres.as_ref(), database_url.expose()).await;
    if let Some(server) = postgres {
        println!("Stopping PostgreSQL ...");
        tokio::task::spawn_blocking(move || server.stop()).await?;
    }
    outcome
}

/// The database at `DATABASE_URL`, else `database` on a PostgreSQL of our own with its data in
/// `dir/postgres` and `settings` on top of ours (returned, to be stopped at the end).
pub async fn database(
    env: &Env,
    dir: &Path,
    database: &str,
    settings: Vec<(String, String)>,
) -> anyhow::Result<(Option<LocalPostgres>, Secret<String>)> {
    if env.is_set("DATABASE_URL") {
        return Ok((None, DatabaseConfig::from_env(env)?.url));
    }
    let data_dir = dir.join("postgres");
    let server = tokio::task::spawn_blocking(move || {
        LocalPostgres::start(LocalPostgresOptions { data_dir, fast_and_unsafe: false, settings })
    })
    .await??;
    db::create_database_if_missing(server.url("postgres").expose(), database).await?;
    let url = server.url(database);
    Ok((Some(server), url))
}

/// The API and the workers running in this process.
pub struct LocalService {
    state: AppState,
    server: actix_web::dev::ServerHandle,
    running: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: burgernet_workers::RunnerHandle,
    /// What the workers' health server reports, until [`LocalService::serve_worker_health`].
    worker_health: Option<WorkerHealth>,
    health_server: Option<HealthServer>,
}

impl LocalService {
    /// Serves the API (as `api` says) on `listener`, with the local identity provider when there
    /// is one, and runs the workers (database and worker settings from `env`).
    pub async fn start(
        env: &Env,
        api: &ApiConfig,
        listener: TcpListener,
        outbox: LocalOutbox,
        identity: Option<LocalOpenIdProvider>,
    ) -> anyhow::Result<Self> {
        let database = DatabaseConfig::from_env(env)?;
        let workers = WorkerConfig::from_env(env)?;
        let pool = db::build_pool(&database)?;
        tokio::spawn({
            let pool = pool.clone();
            async move { checkpoints::warn_if_role_can_rewrite_dossier(&pool).await }
        });
        let store = MediaStore::from_env(env)?;
        let mut state = AppState::in_local_mode(api, pool.clone(), outbox, store.clone())?;
        if let Some(identity) = identity {
            state = state.with_dev_identity(identity);
        }
        let messaging = state.messaging.clone();
        // Tokens and connections ready before the first alert needs them.
        tokio::spawn({
            let push = messaging.push.clone();
            async move { push.warm_up().await }
        });
        let server = burgernet_api::build_server(listener, state.clone())?;
        let handle = server.handle();
        let running = tokio::spawn(server);
        let stall_after = stall_threshold(workers.poll_interval);
        let registry = metrics::new_registry();
        let delivery_metrics = DeliveryMetrics::register(&registry);
        let workers =
            burgernet_workers::application_runner(pool.clone(), workers, messaging, store, delivery_metrics)
                .start()
                .await;
        let worker_health = WorkerHealth { pool, heartbeat: workers.heartbeat(), registry, stall_after };
        Ok(Self {
            state,
            server: handle,
            running,
            workers,
            worker_health: Some(worker_health),
            health_server: None,
        })
    }

    /// Serves the workers' `/healthz`, `/readyz` and `/metrics` on `listener`.
    pub fn serve_worker_health(&mut self, listener: TcpListener) -> anyhow::Result<()> {
        let health = self.worker_health.take().context("the workers' health is served already")?;
        self.health_server = Some(HealthServer::start(listener, health)?);
        Ok(())
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.state.close_streams();
        self.server.stop(true).await;
        self.workers.shutdown().await;
        if let Some(health_server) = self.health_server {
            health_server.stop().await?;
        }
        self.running.await??;
        Ok(())
    }
}

/// The role local mode runs the API and the workers as, on a PostgreSQL of its own.
const APP_ROLE: &str = "burgernet_app";

/// `migration_url` owns the schema (on a PostgreSQL of our own: the cluster's superuser).
async fn serve_locally(
    env: Env,
    dir: &Path,
    postgres: Option<&LocalPostgres>,
    migration_url: &str,
) -> anyhow::Result<()> {
    let applied = db::run_migrations(migration_url).await?;
    if !applied.is_empty() {
        println!("Applied {} migrations.", applied.len());
    }
    let mut conn = db::connect(migration_url).await?;
    reference_data::load_demo_reference_data(&mut conn).await?;
    drop(conn);
    // On a PostgreSQL of its own, local mode runs as production should: the application as a role
    // that can only read and append to the dossier, never switch its triggers off.
    let database_url = match postgres {
        Some(server) => {
            let password = Secret::new(local_secret(&dir.join("database-app-password"))?);
            db::ensure_login_role(server.url("postgres").expose(), APP_ROLE, &password).await?;
            db::grant_application_role(migration_url, APP_ROLE).await?;
            write_secret_file(&dir.join("migration-database-url"), migration_url)?;
            server.url_as(APP_ROLE, &password, DEV_DATABASE)
        }
        None => Secret::new(migration_url.to_string()),
    };
    write_secret_file(&dir.join("database-url"), database_url.expose())?;
    let database_url = database_url.expose();

    let identity = DevIdentityProvider::ensure(&dir.join("identity-provider"))?;
    let bind = bind_address(&env)?;
    let public_url = public_url(&env)?;
    let issuer = openid::issuer_for(&public_url);
    // Staff sign in with the local identity provider unless keys of another one are given.
    let local_sign_in =
        !env.is_set("BURGERNET_STAFF_TOKEN_JWKS_URL") && !env.is_set("BURGERNET_STAFF_TOKEN_KEYS");
    let env = env
        .with_default("DATABASE_URL", database_url)
        .with_default("BURGERNET_BIND", bind.to_string())
        .with_default("BURGERNET_WORKER_BIND", "127.0.0.1:8081")
        .with_default(
            "BURGERNET_PARTICIPANT_TOKEN_SECRET",
            local_secret(&dir.join("participant-token-secret"))?,
        )
        .with_default("BURGERNET_STAFF_TOKEN_ISSUER", issuer.as_str())
        .with_default("BURGERNET_STAFF_TOKEN_AUDIENCE", DEV_AUDIENCE)
        .with_default("BURGERNET_PUBLIC_URL", public_url.as_str())
        .with_default("BURGERNET_MEDIA_DIR", dir.join("media").to_string_lossy())
        .with_default("BURGERNET_MEDIA_SIGNING_KEY", local_secret(&dir.join("media-signing-key"))?)
        // No background map unless one is configured: local mode works without internet.
        .with_default("BURGERNET_CONSOLE_TILES", "none")
        .with_default(CheckpointSettings::KEY_VARIABLE, local_secret(&dir.join("dossier-checkpoint-key"))?);
    // Staff keys from a real identity provider's JWKS URL, when one is given, else the local one's.
    let env = if env.is_set("BURGERNET_STAFF_TOKEN_JWKS_URL") {
        env
    } else {
        env.with_default("BURGERNET_STAFF_TOKEN_KEYS", identity.jwks_path.to_string_lossy())
    };
    let mut api = ApiConfig::from_env(&env)?;
    // Its tokens verify only when the API expects its issuer.
    let open_id_provider = if local_sign_in && api.staff_tokens.issuer == issuer {
        Some(identity.open_id_provider(&public_url, &api.staff_tokens.audience)?)
    } else {
        None
    };
    let sign_in = open_id_provider.as_ref().map(|provider| provider.issuer().to_string());
    if local_sign_in {
        identity.record_issuer(&api.staff_tokens.issuer)?;
    }
    let listener = TcpListener::bind(api.bind)
        .map_err(|error| anyhow::anyhow!("cannot listen on {}: {error}", api.bind))?;
    // Push and SMS go through the real clients to local fakes; what they accept shows in the
    // outbox. (E-mail goes straight to the outbox.)
    let outbox = LocalOutbox::new();
    let providers = LocalProviders::start(outbox.clone(), &format!("http://{}", api.bind)).await?;
    api.messaging.apns.get_or_insert_with(|| providers.apns_config());
    api.messaging.fcm.get_or_insert_with(|| providers.fcm_config());
    api.messaging.sms.get_or_insert_with(|| providers.sms_config());
    let worker_bind = WorkerConfig::from_env(&env)?.bind;
    let worker_listener = TcpListener::bind(worker_bind)
        .map_err(|error| anyhow::anyhow!("cannot listen on {worker_bind}: {error}"))?;
    let worker_listener_address = worker_listener.local_addr()?;
    let mut service = LocalService::start(&env, &api, listener, outbox, open_id_provider).await?;
    service.serve_worker_health(worker_listener)?;

    print_banner(&api, worker_listener_address, dir, sign_in.as_deref());
    shutdown::signalled().await;
    println!("Stopping ...");
    service.stop().await
}

/// `identity`: the local identity provider's issuer, when staff sign in there.
fn print_banner(api: &ApiConfig, worker_bind: std::net::SocketAddr, dir: &Path, identity: Option<&str>) {
    let base = format!("http://{}", api.bind);
    let workers = format!("http://{worker_bind}");
    let identity = match identity {
        Some(issuer) => format!("{issuer}   (sign-in page for the console: pick a role and a region)"),
        None => format!("{}   (the configured identity provider)", api.staff_tokens.issuer),
    };
    println!(
        "\nBurgernet is running (local mode).\n\
         \n  Console:        {base}/console/   (the control room's and municipalities' console)\
         \n  API:            {base}\
         \n  API reference:  {base}/docs\
         \n  Readiness:      {base}/readyz\
         \n  Workers:        {workers}/healthz, {workers}/readyz, {workers}/metrics\
         \n  Outbox:         {base}/dev/outbox   (push, SMS and e-mail the local stand-ins received)\
         \n  Identity:       {identity}\
         \n\nA staff token for the demo region (dispatcher), valid 8 hours:\
         \n  cargo run -q -- admin mint-staff-token --role dispatcher --region {region}\
         \nOther roles: --role admin, or --role relations_officer --municipality GM0599 (Rotterdam).\
         \nUse it as: curl -H \"Authorization: Bearer $TOKEN\" {base}/v1/staff/me\
         \n\nAdmin commands against this database: export DATABASE_URL=$(cat {dir}/database-url)\
         \n(verify-dossier also needs the media store's settings and BURGERNET_DOSSIER_CHECKPOINT_KEY: the\
         \nkeys are in {dir}, the media in {dir}/media)\
         \nPress Ctrl-C to stop everything (including the local PostgreSQL).\n",
        region = reference_data::DEMO_REGION_CODE,
        dir = dir.display(),
    );
}

/// The API's public base URL in local mode: `BURGERNET_PUBLIC_URL`, else `http://` and the
/// address it listens on. The local identity provider's issuer is under it.
pub fn public_url(env: &Env) -> anyhow::Result<String> {
    let listening = format!("http://{}", bind_address(env)?);
    Ok(env.or("BURGERNET_PUBLIC_URL", listening, burgernet_core::env::parse::http_url)?)
}

fn bind_address(env: &Env) -> anyhow::Result<std::net::SocketAddr> {
    Ok(env.or("BURGERNET_BIND", ([127, 0, 0, 1], 8080).into(), burgernet_core::env::parse::socket_addr)?)
}

/// A random secret kept in `path`, so tokens stay valid across restarts of local mode.
pub fn local_secret(path: &Path) -> anyhow::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_string());
    }
    let secret = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    write_secret_file(path, &secret)?;
    Ok(secret)
}
