//! `burgernet bench location`: live location updates (`PUT /v1/me/location`) against the real API.
//!
//! Signs in N participants directly in the database (each with "alerts where I am" on and a
//! home; not measured), starts `burgernet serve` as a child process on a free local port, and
//! sends updates with random positions in the Netherlands over keep-alive HTTP/1.1 connections,
//! each with one request in flight, like `wrk`. After a warm-up that is not measured it sends a
//! fixed number of updates and prints one line:
//!
//! `location participants=N population=N active_alerts=N inside_percent=X requests=N per_s=X
//! p50_ms=X p99_ms=X entrants=N`
//!
//! By default it runs on a small database of its own, with homes in the demo municipalities and
//! no alert. With `--population N` it runs on the fan-out benchmark's synthetic population of N
//! (seeded once, shared with it) and first sends `--active-alerts` alerts (10 unless set) over
//! the centres of the largest cities, which recruit those who enter their areas: then
//! `--inside-percent` of the updates (10 unless set) land inside one of them, and every update
//! makes the check that recruits (see `alerts::delivery::recruitment`). `entrants` counts the
//! participants the updates noted as entering an area (no worker runs, so they stay noted); the
//! alerts are closed at the end.
//!
//! The server runs in its own process and the load generator on one thread of this one, so the
//! generator takes at most one core and the scheduler shares the machine between the two as it
//! would between a server and its clients. Positions are never printed.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use burgernet_core::alerts::area::AreaLimits;
use burgernet_core::alerts::content::MessageTexts;
use burgernet_core::alerts::delivery::plan::ChannelOrders;
use burgernet_core::alerts::lifecycle::{self, NewAlertRequest};
use burgernet_core::auth::participant::{ParticipantTokenKey, ParticipantTokens};
use burgernet_core::auth::staff::{StaffMember, StaffRole};
use burgernet_core::db::{self, participants as participant_queries};
use burgernet_core::env::{Env, parse};
use burgernet_core::ids::AlertId;
use burgernet_core::participants::account::{self, AccountError, PlaceInput, ProfileChanges};
use burgernet_core::participants::rate_limits::CounterKey;
use burgernet_core::reference_data;
use burgernet_core::secret::Secret;
use burgernet_core::vocabulary::alerts::Outcome;
use burgernet_core::vocabulary::phone::PhoneNumber;
use burgernet_core::vocabulary::places::{PlaceKind, PlaceName, Position};
use burgernet_local::db::synthetic;
use burgernet_local::identity::{DEV_AUDIENCE, DEV_ISSUER, DevIdentityProvider};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rand::Rng;
use serde_json::json;

use super::{BENCH_DIR_VARIABLE, ensure_population, population_database};
use crate::dev;

/// Updates sent before the measured ones (fewer when fewer are measured): they open the API's
/// database connections and warm its caches.
const WARM_UP_REQUESTS: u64 = 2_000;
/// How long the API may take to become ready.
const SERVER_START_LIMIT: Duration = Duration::from_secs(60);
/// How long one update may take before the benchmark gives up.
const REQUEST_LIMIT: Duration = Duration::from_secs(30);
/// The demo municipalities (Rotterdam-Rijnmond) lie in this box: (south, west, north, east).
const DEMO_AREA: (f64, f64, f64, f64) = (51.63, 3.85, 52.05, 4.70);
/// The radius of each active alert's area, around a city centre.
const ALERT_RADIUS_METERS: f64 = 1_500.0;
/// How long the active alerts recruit: longer than any run.
const RECRUITING_WINDOW: Duration = Duration::from_secs(6 * 3600);

#[derive(Debug, clap::Args)]
pub struct LocationOptions {
    /// Signed-in participants whose phones report their position.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    participants: u64,
    /// Keep-alive connections to the API, each with one request in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=1_000))]
    connections: u64,
    /// Updates measured (a fixed count, not a duration), after a warm-up of up to 2,000.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    requests: u64,
    /// Run on the fan-out benchmark's synthetic population of this many participants (seeded
    /// once), with active alerts.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..=20_000_000))]
    population: Option<i64>,
    /// Alerts recruiting while the updates are sent, over the largest cities (10 unless set; only
    /// with `--population`).
    #[arg(long, requires = "population", value_parser = clap::value_parser!(u64).range(0..=40))]
    active_alerts: Option<u64>,
    /// The share of updates that land inside an active alert's area.
    #[arg(long, default_value_t = 10.0)]
    inside_percent: f64,
}

pub async fn run(env: Env, options: LocationOptions) -> anyhow::Result<()> {
    if !(0.0..=100.0).contains(&options.inside_percent) {
        bail!("--inside-percent is a percentage, 0 to 100");
    }
    let (dir, postgres, database_url) = match options.population {
        Some(population) => population_database(&env, population).await?,
        None => {
            let dir =
                PathBuf::from(env.or(BENCH_DIR_VARIABLE, ".burgernet-bench".to_string(), parse::text)?);
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let (postgres, database_url) = dev::database(&env, &dir, "bench_location", Vec::new()).await?;
            (dir, postgres, database_url)
        }
    };
    let outcome = run_on(&env, &dir, &database_url, &options).await;
    if let Some(server) = postgres {
        tokio::task::spawn_blocking(move || server.stop()).await?;
    }
    let line = outcome?;
    println!("{line}");
    Ok(())
}

async fn run_on(
    env: &Env,
    dir: &Path,
    database_url: &Secret<String>,
    options: &LocationOptions,
) -> anyhow::Result<String> {
    db::run_migrations(database_url.expose()).await?;
    let mut conn = db::connect(database_url.expose()).await?;
    match options.population {
        Some(population) => {
            ensure_population(&mut conn, population).await?;
            synthetic::discard_pending_jobs(&mut conn).await?;
        }
        None => reference_data::load_demo_reference_data(&mut conn).await?,
    }
    let active_alerts = options.active_alerts.unwrap_or(if options.population.is_some() { 10 } else { 0 });
    let alerts = send_active_alerts(&mut conn, active_alerts).await?;
    let mut signed_in = Vec::new();
    let measured = measure(env, dir, database_url, options, &mut conn, &alerts, &mut signed_in).await;
    let entrants = count_entrants(&mut conn, &alerts).await;
    close_active_alerts(&mut conn, &alerts).await?;
    if options.population.is_some() {
        // The population is shared with the other benchmarks: it stays as seeded.
        synthetic::remove_participants(&mut conn, &signed_in).await?;
    }
    let line = measured?.line(options, alerts.len(), entrants?);
    Ok(line)
}

/// Where the signed-in participants live.
#[derive(Debug, Clone, Copy)]
enum Homes {
    DemoMunicipalities,
    /// Anywhere on land (the synthetic population's municipalities cover it).
    Everywhere,
}

async fn measure(
    env: &Env,
    dir: &Path,
    database_url: &Secret<String>,
    options: &LocationOptions,
    conn: &mut db::Connection,
    alerts: &[ActiveAlert],
    signed_in: &mut Vec<uuid::Uuid>,
) -> anyhow::Result<Measured> {
    let homes = if options.population.is_some() { Homes::Everywhere } else { Homes::DemoMunicipalities };
    eprintln!("Signing in {} participants ...", options.participants);
    let token_secret = match env.optional("BURGERNET_PARTICIPANT_TOKEN_SECRET", parse::text)? {
        Some(secret) => secret,
        None => dev::local_secret(&dir.join("participant-token-secret"))?,
    };
    let tokens = ParticipantTokens::new(
        ParticipantTokenKey::parse(&token_secret).map_err(anyhow::Error::msg)?,
        // Longer than any run, so no token expires under load.
        Duration::from_secs(24 * 3600),
    );
    let mut access_tokens = Vec::new();
    for _ in 0..options.participants {
        let (participant, session) =
            sign_in_participant_with_live_location(conn, tokens.key().counter_key(), homes).await?;
        signed_in.push(participant.0);
        let token = tokens.issue_access_token(participant, session, chrono::Utc::now()).token;
        access_tokens.push(format!("Bearer {}", token.expose()));
    }

    let server = ServerProcess::start(env, dir, database_url, &token_secret).await?;
    eprintln!(
        "Measuring {} updates over {} connections (the API's log: {}) ...",
        options.requests,
        options.connections,
        server.log.display()
    );
    let areas = alerts.iter().map(|alert| alert.centre).collect();
    let inside_share = if alerts.is_empty() { 0.0 } else { options.inside_percent / 100.0 };
    let plan = Arc::new(Plan { address: server.address, access_tokens, areas, inside_share });
    let connections = options.connections;
    let (warm_up, to_measure) = (options.requests.min(WARM_UP_REQUESTS), options.requests);
    // The generator's own single thread: it cannot take more than one core from the server.
    let measured = std::thread::Builder::new()
        .name("location-load".into())
        .spawn(move || -> anyhow::Result<Measured> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(generate_load(plan, connections, warm_up, to_measure))
        })?
        .join()
        .map_err(|_| anyhow::anyhow!("the load generator panicked"))??;
    drop(server);
    Ok(measured)
}

/// An alert the benchmark sent, recruiting over a circle around `centre` (latitude, longitude).
struct ActiveAlert {
    id: AlertId,
    centre: (f64, f64),
}

/// The benchmark's dispatcher, of the synthetic population's region.
fn bench_dispatcher() -> StaffMember {
    StaffMember {
        subject: "bench-dispatcher".into(),
        name: Some("Benchmark".into()),
        role: StaffRole::Dispatcher { region: synthetic::BENCH_REGION_CODE.into() },
        token_expires_at: chrono::Utc::now() + chrono::TimeDelta::hours(6),
    }
}

/// Creates and sends `count` urgent alerts over the centres of the largest cities. Their
/// fan-outs stay queued (no worker runs): the updates meet alerts that recruit, as they would
/// during the first seconds of a real alert and for hours after.
async fn send_active_alerts(conn: &mut db::Connection, count: u64) -> anyhow::Result<Vec<ActiveAlert>> {
    let dispatcher = bench_dispatcher();
    let mut alerts = Vec::new();
    for &(_, city, latitude, longitude, _) in synthetic::CITIES.iter().take(count as usize) {
        let request: NewAlertRequest = serde_json::from_value(json!({
            "category": "search",
            "urgent": true,
            "channels": ["push", "sms"],
            "texts": {"nl": {"title": format!("Vermist in {city}"), "message": "Jongen van 8, blauwe jas.",
                             "instruction": "Bel 112 als u hem ziet."}},
            "call_back_number": "112",
            "area": {"type": "circle", "center": {"latitude": latitude, "longitude": longitude},
                     "radius_meters": ALERT_RADIUS_METERS},
        }))?;
        let draft = request
            .parse(&ChannelOrders::default())
            .map_err(|invalid| anyhow::anyhow!("{}", invalid.detail))?;
        let id = lifecycle::create(conn, &dispatcher, draft, AreaLimits::default())
            .await
            .map_err(|error| anyhow::anyhow!("cannot create the alert over {city}: {error:?}"))?;
        lifecycle::send(conn, &dispatcher, id, RECRUITING_WINDOW)
            .await
            .map_err(|error| anyhow::anyhow!("cannot send the alert over {city}: {error:?}"))?;
        alerts.push(ActiveAlert { id, centre: (latitude, longitude) });
    }
    Ok(alerts)
}

/// How many participants the updates noted as entering the alerts' areas.
async fn count_entrants(conn: &mut db::Connection, alerts: &[ActiveAlert]) -> anyhow::Result<usize> {
    let mut entrants = 0;
    for alert in alerts {
        entrants += db::recruitment::count_entrants(conn, alert.id).await?;
    }
    Ok(entrants)
}

/// Closes the benchmark's alerts, forgets their entrants and drops the jobs nobody ran.
async fn close_active_alerts(conn: &mut db::Connection, alerts: &[ActiveAlert]) -> anyhow::Result<()> {
    let dispatcher = bench_dispatcher();
    let texts: MessageTexts = serde_json::from_value(json!({"nl": {"message": "Einde van de benchmark."}}))?;
    for alert in alerts {
        lifecycle::close(conn, &dispatcher, alert.id, Outcome::Cancelled, texts.clone())
            .await
            .map_err(|error| anyhow::anyhow!("cannot close a benchmark alert: {error:?}"))?;
        db::recruitment::discard_entrants(conn, alert.id).await?;
    }
    synthetic::discard_pending_jobs(conn).await?;
    Ok(())
}

/// A new participant signed in on one session, with "alerts where I am" on and a home at a
/// random point of `homes`.
async fn sign_in_participant_with_live_location(
    conn: &mut db::Connection,
    counters: &CounterKey,
    homes: Homes,
) -> anyhow::Result<(burgernet_core::ids::ParticipantId, burgernet_core::ids::SessionId)> {
    let mut rng = rand::rng();
    // Never the number of someone of a synthetic population.
    let number = rng.random_range(synthetic::ADDED_PHONE_NUMBERS_FROM..100_000_000);
    let phone = PhoneNumber::parse(&format!("+316{number:08}"))?;
    let (participant, _) = participant_queries::find_or_create_by_phone(conn, &phone).await?;
    let session = db::sign_in::create_session(conn, participant).await?;
    let changes = ProfileChanges { alerts_where_i_am: Some(true), ..ProfileChanges::default() };
    account::update_profile(conn, counters, participant, changes).await?;
    let (south, west, north, east) = DEMO_AREA;
    for _ in 0..100 {
        let (latitude, longitude) = match homes {
            Homes::DemoMunicipalities => (rng.random_range(south..north), rng.random_range(west..east)),
            Homes::Everywhere => random_point_in_the_netherlands(),
        };
        let home = PlaceInput {
            kind: PlaceKind::Home,
            name: PlaceName::parse("Thuis")?,
            position: Position::parse(latitude, longitude)?,
            address: None,
            time_windows: Vec::new(),
        };
        match account::save_place(conn, participant, None, home).await {
            Ok(_) => return Ok((participant, session)),
            // Between the municipalities' boundaries (the box is larger): try another point.
            Err(AccountError::OutsideServiceArea) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    bail!("found no point inside a municipality for a home")
}

/// `burgernet serve` in a child process, killed when dropped.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
    log: PathBuf,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    /// Starts the API with this process's environment (its log level too: `info` unless
    /// `BURGERNET_LOG` says otherwise, as in production), the database and a free local port,
    /// and local defaults for what else it requires; then waits until `/readyz` answers 200. SMS
    /// and e-mail point at nothing: location updates send neither.
    async fn start(
        env: &Env,
        dir: &Path,
        database_url: &Secret<String>,
        participant_token_secret: &str,
    ) -> anyhow::Result<Self> {
        let address = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let identity = DevIdentityProvider::ensure(&dir.join("identity-provider"))?;
        let defaults = [
            ("BURGERNET_PARTICIPANT_TOKEN_SECRET", participant_token_secret.to_string()),
            ("BURGERNET_STAFF_TOKEN_ISSUER", DEV_ISSUER.to_string()),
            ("BURGERNET_STAFF_TOKEN_AUDIENCE", DEV_AUDIENCE.to_string()),
            ("BURGERNET_STAFF_TOKEN_KEYS", identity.jwks_path.to_string_lossy().into_owned()),
            ("BURGERNET_PUBLIC_URL", format!("http://{address}")),
            ("BURGERNET_SMS_GATEWAY_URL", "http://127.0.0.1:9".to_string()),
            ("BURGERNET_SMS_GATEWAY_API_KEY", "unused".to_string()),
            ("BURGERNET_SMS_WEBHOOK_SECRET", dev::local_secret(&dir.join("sms-webhook-secret"))?),
            ("BURGERNET_SMTP_URL", "smtp://127.0.0.1:25".to_string()),
            // The benchmark's alerts do not call.
            ("BURGERNET_CHANNEL_ORDER_SEARCH", "push,sms".to_string()),
            ("BURGERNET_CHANNEL_ORDER_ALARM", "push,sms".to_string()),
            ("BURGERNET_MEDIA_DIR", dir.join("media").to_string_lossy().into_owned()),
            ("BURGERNET_MEDIA_SIGNING_KEY", dev::local_secret(&dir.join("media-signing-key"))?),
        ];
        let log = dir.join("location-api.log");
        let mut command = Command::new(std::env::current_exe()?);
        command
            .arg("serve")
            .env("DATABASE_URL", database_url.expose())
            .env("BURGERNET_BIND", address.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).with_context(|| format!("cannot write {}", log.display()))?);
        for (name, value) in defaults {
            if !env.is_set(name) {
                command.env(name, value);
            }
        }
        let child = command.spawn().context("cannot start burgernet serve")?;
        let mut server = Self { child, address, log };
        server.wait_until_ready().await?;
        Ok(server)
    }

    async fn wait_until_ready(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        let url = format!("http://{}/readyz", self.address);
        let deadline = Instant::now() + SERVER_START_LIMIT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the API stopped ({status}); its log is {}", self.log.display());
            }
            let ready = client.get(&url).timeout(Duration::from_secs(5)).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the API was not ready within {SERVER_START_LIMIT:?}; its log is {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// What every connection needs to send updates.
struct Plan {
    address: SocketAddr,
    /// `Bearer ...` per participant.
    access_tokens: Vec<String>,
    /// The centres of the active alerts' circles.
    areas: Vec<(f64, f64)>,
    /// The share of updates inside one of them (0 to 1).
    inside_share: f64,
}

impl Plan {
    /// Where the next update says the phone is.
    fn next_position(&self) -> (f64, f64) {
        let mut rng = rand::rng();
        if self.areas.is_empty() || !rng.random_bool(self.inside_share) {
            return random_point_in_the_netherlands();
        }
        let (latitude, longitude) = self.areas[rng.random_range(0..self.areas.len())];
        // Uniform in the circle, a little inside its edge.
        let distance = 0.95 * ALERT_RADIUS_METERS * rng.random::<f64>().sqrt();
        let bearing = rng.random_range(0.0..std::f64::consts::TAU);
        let metres_per_degree = 111_320.0;
        (
            latitude + distance * bearing.cos() / metres_per_degree,
            longitude + distance * bearing.sin() / (metres_per_degree * latitude.to_radians().cos()),
        )
    }
}

type Connection = SendRequest<Full<Bytes>>;

/// Opens the connections, sends `warm_up` updates, then `measured` updates whose latencies it
/// keeps. Update n comes from participant n mod N, so with at least as many participants as
/// connections no participant has two updates in flight.
async fn generate_load(
    plan: Arc<Plan>,
    connections: u64,
    warm_up: u64,
    measured: u64,
) -> anyhow::Result<Measured> {
    let mut open = Vec::new();
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(plan.address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        open.push(sender);
    }
    let (open, _) = send_updates(&plan, open, 0..warm_up).await?;
    let started = Instant::now();
    let (_, mut latencies) = send_updates(&plan, open, warm_up..warm_up + measured).await?;
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(Measured { latencies, elapsed })
}

/// Sends the updates numbered `numbers` over the connections, each taking the next number when
/// its answer is in; returns the connections and the latencies.
async fn send_updates(
    plan: &Arc<Plan>,
    connections: Vec<Connection>,
    numbers: std::ops::Range<u64>,
) -> anyhow::Result<(Vec<Connection>, Vec<Duration>)> {
    let next = Arc::new(AtomicU64::new(numbers.start));
    let mut running = tokio::task::JoinSet::new();
    for mut connection in connections {
        let (plan, next, end) = (plan.clone(), next.clone(), numbers.end);
        running.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let number = next.fetch_add(1, Ordering::Relaxed);
                if number >= end {
                    return anyhow::Ok((connection, latencies));
                }
                let token = &plan.access_tokens[(number % plan.access_tokens.len() as u64) as usize];
                latencies
                    .push(send_update(&mut connection, plan.address, token, plan.next_position()).await?);
            }
        });
    }
    let (mut connections, mut latencies) = (Vec::new(), Vec::new());
    while let Some(finished) = running.join_next().await {
        let (connection, some) = finished??;
        connections.push(connection);
        latencies.extend(some);
    }
    Ok((connections, latencies))
}

/// One update with a random position; its latency, from sending to the whole answer read.
async fn send_update(
    connection: &mut Connection,
    address: SocketAddr,
    token: &str,
    (latitude, longitude): (f64, f64),
) -> anyhow::Result<Duration> {
    let accuracy: f64 = rand::rng().random_range(3.0..100.0);
    let body = json!({"latitude": latitude, "longitude": longitude, "accuracy_meters": accuracy});
    let request = hyper::Request::put("/v1/me/location")
        .header(hyper::header::HOST, address.to_string())
        .header(hyper::header::AUTHORIZATION, token)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))?;
    let started = Instant::now();
    let answered = tokio::time::timeout(REQUEST_LIMIT, async {
        connection.ready().await?;
        let response = connection.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    })
    .await
    .with_context(|| format!("an update took longer than {REQUEST_LIMIT:?}"))??;
    let latency = started.elapsed();
    let (status, body) = answered;
    if status != hyper::StatusCode::OK {
        // The problem's code says what went wrong; the body holds no position.
        let code = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|problem| problem["code"].as_str().map(str::to_string))
            .unwrap_or_default();
        bail!("an update was answered {status} {code}");
    }
    Ok(latency)
}

/// A random point on the Netherlands' land (the synthetic population's outline).
fn random_point_in_the_netherlands() -> (f64, f64) {
    let outline = land_outline();
    let mut rng = rand::rng();
    loop {
        let (latitude, longitude) = (rng.random_range(50.73..53.45), rng.random_range(3.37..7.21));
        if inside(outline, longitude, latitude) {
            return (latitude, longitude);
        }
    }
}

/// [`synthetic::LAND_OUTLINE`] as (longitude, latitude) corners.
fn land_outline() -> &'static [(f64, f64)] {
    static OUTLINE: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    OUTLINE.get_or_init(|| {
        synthetic::LAND_OUTLINE
            .trim_start_matches("POLYGON((")
            .trim_end_matches("))")
            .split(',')
            .map(|corner| {
                let mut numbers = corner.split_whitespace().map(|number| number.parse::<f64>());
                match (numbers.next(), numbers.next()) {
                    (Some(Ok(longitude)), Some(Ok(latitude))) => (longitude, latitude),
                    _ => panic!("the land outline is a WKT polygon of longitude latitude pairs"),
                }
            })
            .collect()
    })
}

/// Whether the point lies inside the polygon (ray casting).
fn inside(polygon: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut inside = false;
    for (&(x1, y1), &(x2, y2)) in polygon.iter().zip(polygon.iter().cycle().skip(1)) {
        if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
            inside = !inside;
        }
    }
    inside
}

/// The measured updates' latencies, sorted, and the time they took together.
struct Measured {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Measured {
    fn line(&self, options: &LocationOptions, active_alerts: usize, entrants: usize) -> String {
        let requests = self.latencies.len();
        format!(
            "location participants={participants} population={population} active_alerts={active_alerts} \
             inside_percent={inside_percent} requests={requests} per_s={per_s:.0} p50_ms={p50:.2} \
             p99_ms={p99:.2} entrants={entrants}",
            participants = options.participants,
            population = options.population.unwrap_or(0),
            inside_percent = if active_alerts == 0 { 0.0 } else { options.inside_percent },
            per_s = requests as f64 / self.elapsed.as_secs_f64(),
            p50 = self.percentile_ms(50.0),
            p99 = self.percentile_ms(99.0),
        )
    }

    /// The nearest-rank percentile.
    fn percentile_ms(&self, percent: f64) -> f64 {
        let rank = ((percent / 100.0) * self.latencies.len() as f64).ceil().max(1.0) as usize;
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }
}
