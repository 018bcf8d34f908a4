//! `burgernet bench reports`: the reports over a national dataset. On the fan-out benchmark's
//! synthetic population (3 M participants by default, seeded once per size, shared with
//! `bench fanout`) it seeds once a year of alerts with their deliveries
//! (`burgernet_local::db::synthetic_year`), brings the rollups up to date as the workers'
//! housekeeping does, and then reads the reports for the whole country over the last twelve
//! months as an administrator would, through the same services the endpoints call, JSON
//! included. It prints one line:
//!
//! `reports participants=N alerts=N deliveries=N participation_ms=X results_ms=X costs_ms=X`
//!
//! Each `_ms` is the median of [`RUNS`] reads of that report after one read that warms the cache
//! (a running server's state), each read on a connection of the pool.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use burgernet_core::auth::staff::{StaffMember, StaffRole};
use burgernet_core::config::ReportSettings;
use burgernet_core::db;
use burgernet_core::env::Env;
use burgernet_core::reports::{
    self, ReportPeriod, ScopeRequest, alert_results, costs, participation, rollup,
};
use burgernet_local::db::{synthetic, synthetic_year};
use chrono::Utc;

use super::{ensure_population, population_database};

/// Reads of each report measured.
const RUNS: usize = 5;
pub async fn run(env: Env, participants: i64) -> anyhow::Result<()> {
    let (_dir, postgres, database_url) = population_database(&env, participants).await?;
    let outcome = async {
        db::run_migrations(database_url.expose()).await?;
        let mut conn = db::connect(database_url.expose()).await?;
        let (alerts, deliveries) = seed(&mut conn, participants).await?;
        roll_up(&mut conn).await?;
        let [participation, results, costs] = measure(&mut conn).await?;
        Ok::<_, anyhow::Error>(format!(
            "reports participants={participants} alerts={alerts} deliveries={deliveries} \
             participation_ms={participation:.1} results_ms={results:.1} costs_ms={costs:.1}"
        ))
    }
    .await;
    if let Some(server) = postgres {
        tokio::task::spawn_blocking(move || server.stop()).await?;
    }
    println!("{}", outcome?);
    Ok(())
}

/// The population and the year of alerts, seeded when missing; returns the year's alerts and
/// deliveries.
async fn seed(conn: &mut db::Connection, participants: i64) -> anyhow::Result<(i64, i64)> {
    ensure_population(conn, participants).await?;
    synthetic::discard_pending_jobs(conn).await?;
    if let Some(year) = synthetic_year::seeded_year(conn).await? {
        return Ok(year);
    }
    eprintln!(
        "Seeding a year of alerts ({} of them) with their deliveries (once) ...",
        synthetic_year::ALERTS_PER_YEAR
    );
    let started = Instant::now();
    synthetic_year::seed_year(conn, participants).await?;
    eprintln!("Seeded in {:.1} s.", started.elapsed().as_secs_f64());
    synthetic_year::seeded_year(conn).await?.context("the year of alerts was not seeded")
}

/// Brings the rollups up to date as the workers' housekeeping does: today's participation count
/// (and, once, a year of history before it), and every alert's rollup rows.
async fn roll_up(conn: &mut db::Connection) -> anyhow::Result<()> {
    let started = Instant::now();
    participation::count_participation(conn, Utc::now()).await?;
    synthetic_year::seed_participation_history(conn).await?;
    let mut rolled_up = 0;
    loop {
        let round = rollup::roll_up_alerts(conn, Utc::now()).await?;
        rolled_up += round.rolled_up;
        if round.busy {
            bail!("another process holds the rollup lock: is a worker running on this database?");
        }
        if round.failed > 0 {
            bail!("{} alerts could not be rolled up (see the log)", round.failed);
        }
        // A round takes the newest alerts without final rows; a short round took all there were.
        if round.rolled_up < rollup::ALERTS_PER_ROUND {
            break;
        }
        eprintln!("Rolled up {rolled_up} alerts ...");
    }
    eprintln!(
        "Rollups up to date in {:.1} s ({rolled_up} alerts rolled up).",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The medians of reading the participation, alert results and costs reports of the whole
/// country over the last twelve months, as the endpoints do (scope, report, JSON).
async fn measure(conn: &mut db::Connection) -> anyhow::Result<[f64; 3]> {
    let admin = administrator();
    let scope = reports::scope_for(conn, &admin, &ScopeRequest::default()).await?;
    let period = ReportPeriod::parse(None, None, None, reports::dutch_date(Utc::now()))?;
    let settings = ReportSettings::default();
    let mut samples: [Vec<Duration>; 3] = Default::default();
    for run in 0..=RUNS {
        let started = Instant::now();
        let report =
            participation::participation_report(conn, &scope, &period, settings.participation_target_percent)
                .await?;
        serde_json::to_vec(&report)?;
        let participation = started.elapsed();
        let started = Instant::now();
        let report = alert_results::alert_results_report(conn, &scope, &period).await?;
        serde_json::to_vec(&report)?;
        let results = started.elapsed();
        let started = Instant::now();
        let report = costs::costs_report(conn, &scope, &period, &settings.tariffs).await?;
        serde_json::to_vec(&report)?;
        let costs = started.elapsed();
        // The first read of each warms the cache, as on a server that has been running.
        if run > 0 {
            for (sample, took) in samples.iter_mut().zip([participation, results, costs]) {
                sample.push(took);
            }
        }
    }
    Ok(samples.map(median))
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

fn administrator() -> StaffMember {
    StaffMember {
        subject: "bench-reports".into(),
        name: Some("Benchmark".into()),
        role: StaffRole::Admin,
        token_expires_at: Utc::now() + chrono::TimeDelta::hours(1),
    }
}
