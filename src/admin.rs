//! `burgernet admin ...`: operator tasks from the command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use burgernet_core::alerts::dossier::checkpoints::{self, CheckpointSettings};
use burgernet_core::alerts::{dossier, progress};
#[cfg(feature = "local")]
use burgernet_core::auth::staff::StaffRole;
use burgernet_core::db;
use burgernet_core::db::DatabaseConfig;
use burgernet_core::env::{Env, parse};
use burgernet_core::ids::AlertId;
use burgernet_core::media::store::MediaStore;
use burgernet_core::reference_data;
use burgernet_core::vocabulary::regions::{CbsCode, RegionCode};
#[cfg(feature = "local")]
use burgernet_local::identity::openid::issuer_for;
#[cfg(feature = "local")]
use burgernet_local::identity::{DEV_AUDIENCE, StaffTokenRequest, mint_staff_token, recorded_issuer};
use clap::{Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a police region, optionally with the municipalities it covers (needs DATABASE_URL).
    CreateRegion {
        /// Short lowercase code, e.g. `rotterdam`.
        #[arg(long)]
        code: String,
        /// Display name, e.g. `Eenheid Rotterdam`.
        #[arg(long)]
        name: String,
        /// CBS code of a municipality in the region; repeat or separate with commas.
        #[arg(long = "municipality", value_delimiter = ',')]
        municipalities: Vec<String>,
    },
    /// Load municipalities from a GeoJSON FeatureCollection (needs DATABASE_URL). All or nothing:
    /// any bad feature is reported by index and nothing is written.
    LoadMunicipalities {
        /// Features with properties `cbs_code`, `name`, `inhabitants` and optional `region`,
        /// geometry Polygon or MultiPolygon in WGS84.
        file: PathBuf,
        /// Assign every loaded municipality to this existing region.
        #[arg(long)]
        region: Option<String>,
    },
    /// Sign a staff token with the local identity provider's key, for local use and testing (not in
    /// a build without local mode).
    MintStaffToken {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Region code, for dispatchers.
        #[arg(long)]
        region: Option<String>,
        /// CBS code, for relations officers.
        #[arg(long)]
        municipality: Option<String>,
        #[arg(long, default_value = "local-staff")]
        subject: String,
        #[arg(long)]
        name: Option<String>,
        /// How long the token is valid, e.g. `8h`.
        #[arg(long, default_value = "8h", value_parser = parse::duration)]
        valid_for: Duration,
        /// The ES256 private key; defaults to the one `burgernet dev` created.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// List jobs that failed for good (out of attempts, or a permanent error), newest first
    /// (needs DATABASE_URL). Payloads are not shown: they may hold personal data.
    FailedJobs {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a job that failed for good back in the queue, with its attempts reset (needs
    /// DATABASE_URL). For after its cause is fixed: delivery jobs skip what they already handed
    /// over, so a retried batch reaches only those it did not reach.
    RetryFailedJob {
        /// The job's id, as `failed-jobs` lists it.
        job_id: i64,
    },
    /// Check an alert's dossier: recompute every entry's hash and its link to the one before, and
    /// hold it against every signed checkpoint in the object store (needs DATABASE_URL, the media
    /// store's settings and BURGERNET_DOSSIER_CHECKPOINT_KEY). Exits non-zero and names the first
    /// broken entry, or each checkpoint that disagrees, when the dossier does not hold.
    VerifyDossier {
        /// The alert's id.
        alert_id: uuid::Uuid,
    },
    /// Print the OpenAPI document the code defines (the contract committed as openapi/openapi.json).
    Openapi,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum RoleArg {
    Dispatcher,
    RelationsOfficer,
    RegionManager,
    Admin,
}

pub async fn run(command: AdminCommand, env: &Env) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateRegion { code, name, municipalities } => {
            let code = RegionCode::parse(&code)?;
            let municipalities =
                municipalities.iter().map(|m| CbsCode::parse(m.trim())).collect::<Result<Vec<_>, _>>()?;
            let mut conn = connect(env).await?;
            let region = reference_data::create_region(&mut conn, &code, &name, &municipalities).await?;
            println!(
                "Created region {} ({}) with {} municipalities.",
                region.code.as_str(),
                region.name,
                region.municipality_count
            );
        }
        AdminCommand::LoadMunicipalities { file, region } => {
            let region = region.as_deref().map(RegionCode::parse).transpose()?;
            let geojson =
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut conn = connect(env).await?;
            let summary = reference_data::load_municipalities(&mut conn, &geojson, region.as_ref()).await?;
            println!("{summary}");
        }
        #[cfg(not(feature = "local"))]
        AdminCommand::MintStaffToken { .. } => return Err(crate::no_local_mode("admin mint-staff-token")),
        #[cfg(feature = "local")]
        AdminCommand::MintStaffToken { role, region, municipality, subject, name, valid_for, key } => {
            let role = match role {
                RoleArg::Dispatcher => {
                    StaffRole::Dispatcher { region: region.context("a dispatcher needs --region")? }
                }
                RoleArg::RelationsOfficer => StaffRole::RelationsOfficer {
                    municipality: municipality.context("a relations officer needs --municipality")?,
                },
                RoleArg::RegionManager => {
                    StaffRole::RegionManager { region: region.context("a region manager needs --region")? }
                }
                RoleArg::Admin => StaffRole::Admin,
            };
            let key_path = match key {
                Some(path) => path,
                None => crate::dev::dev_dir(env)?.join("identity-provider").join("private-key.pem"),
            };
            let private_key = std::fs::read_to_string(&key_path).with_context(|| {
                format!(
                    "cannot read the signing key {} (run `burgernet dev` once, or pass --key)",
                    key_path.display()
                )
            })?;
            // By default the issuer the local mode using this key expects: as it noted, else as
            // it would with this environment.
            let local_issuer = match recorded_issuer(&key_path) {
                Some(issuer) => issuer,
                None => issuer_for(&crate::dev::public_url(env)?),
            };
            let request = StaffTokenRequest {
                subject,
                name,
                role,
                issuer: env.or("BURGERNET_STAFF_TOKEN_ISSUER", local_issuer, parse::text)?,
                audience: env.or("BURGERNET_STAFF_TOKEN_AUDIENCE", DEV_AUDIENCE.to_string(), parse::text)?,
                lifetime: valid_for,
            };
            println!("{}", mint_staff_token(&private_key, &request)?.expose());
        }
        AdminCommand::FailedJobs { limit } => {
            let mut conn = connect(env).await?;
            let failed = db::jobs::list_failed(&mut conn, limit).await?;
            if failed.is_empty() {
                println!("No failed jobs.");
            }
            for job in failed {
                println!(
                    "{} {} attempts={}/{} failed_at={} error={}",
                    job.id,
                    job.job_type,
                    job.attempts,
                    job.max_attempts,
                    job.updated_at.to_rfc3339(),
                    job.last_error.as_deref().unwrap_or("(none)")
                );
            }
        }
        AdminCommand::RetryFailedJob { job_id } => {
            let mut conn = connect(env).await?;
            if !db::jobs::requeue_failed(&mut conn, burgernet_core::ids::JobId(job_id)).await? {
                anyhow::bail!("job {job_id} is not a failed job (it may have been retried already)");
            }
            println!("job {job_id} is queued again");
        }
        AdminCommand::VerifyDossier { alert_id } => {
            let settings = CheckpointSettings::required(env)?;
            let store = MediaStore::from_env(env)?;
            let mut conn = connect(env).await?;
            let alert = AlertId(alert_id);
            if !progress::exists(&mut conn, alert).await? {
                anyhow::bail!("there is no alert {alert_id}");
            }
            let verification = dossier::verify(&mut conn, alert).await?;
            let anchors = checkpoints::verify(&mut conn, &store, &settings.key, alert).await?;
            for problem in &anchors.problems {
                eprintln!("checkpoint {} disagrees: {}", problem.checkpoint, problem.problem);
            }
            if let Some(broken) = verification.first_broken {
                anyhow::bail!(
                    "the dossier of alert {alert_id} is broken at entry {}: {} ({} entries before it check out)",
                    broken.seq,
                    broken.problem,
                    verification.entries
                );
            }
            if !anchors.problems.is_empty() {
                anyhow::bail!(
                    "the dossier of alert {alert_id} does not match {} of its checkpoints (above), although its \
                     own chain holds: it was rewritten and re-chained, or the checkpoints were tampered with",
                    anchors.problems.len()
                );
            }
            println!("The dossier of alert {alert_id} is intact: {} entries.", verification.entries);
            if anchors.anchored_heads == 0 {
                println!(
                    "No checkpoint anchors it yet ({} checkpoints read; the workers write one every minute).",
                    anchors.checkpoints
                );
            } else {
                println!(
                    "It matches the {} checkpoints of it ({} checkpoints read, all signed and linked).",
                    anchors.anchored_heads, anchors.checkpoints
                );
            }
        }
        AdminCommand::Openapi => {
            println!("{}", burgernet_api::openapi::Contract::new().json);
        }
    }
    Ok(())
}

async fn connect(env: &Env) -> anyhow::Result<db::Connection> {
    let database = DatabaseConfig::from_env(env)?;
    db::connect(database.url.expose()).await.context("cannot connect to the database")
}
