//! `burgernet bench fanout`: the national fan-out benchmark. Seeds (once per size) a synthetic
//! national population (`burgernet_core::db::synthetic`), starts the fake providers with 20 ms
//! latency in a process of their own (`burgernet bench fakes`), runs the API and the workers in
//! this process, sends one urgent alert over a city centre reaching 2% of the participants
//! (60,000 of 3,000,000), waits until every batch is delivered, and prints one line:
//!
//! `fanout participants=N recipients=N select_ms=X first_push_ms=X all_sent_ms=X pushes_per_s=X
//! sms=N missing=N duplicates=N rss_mb=X`
//!
//! `select_ms` is the recipient selection as the fan-out measured it; `first_push_ms` and
//! `all_sent_ms` run from the send request to the first push and to the last hand-over any fake
//! accepted; `pushes_per_s` is the pushes accepted over the time between the first and the last;
//! `missing` and `duplicates` count devices (or, for SMS recipients, phones) that received the alert
//! never or more than once; `rss_mb` is the peak resident memory of this process.
//!
//! `burgernet bench media`: the photo work of the media worker, see [`media`].
//!
//! `burgernet bench location`: live location updates against the API, see [`location`].

use std::collections::HashMap;
use std::io::BufRead;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use burgernet_core::auth::dev_identity::{
    DEV_AUDIENCE, DEV_ISSUER, DevIdentityProvider, StaffTokenRequest, mint_staff_token,
};
use burgernet_core::auth::staff::StaffRole;
use burgernet_core::config::{ApiConfig, Env, parse};
use burgernet_core::db::{self, synthetic};
use burgernet_core::ids::AlertId;
use burgernet_core::outbox::LocalOutbox;
use burgernet_core::secret::{Secret, write_secret_file};
use burgernet_fakes::accepts::AcceptSpan;
use burgernet_fakes::apns::{ApnsTestCredentials, FakeApns};
use burgernet_fakes::fcm::{FakeFcm, FcmTestServiceAccount};
use burgernet_fakes::sms::FakeSmsGateway;
use burgernet_fakes::tls::LocalCertificateAuthority;
use clap::Subcommand;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::dev;

mod location;
mod media;

pub const BENCH_DIR_VARIABLE: &str = "BURGERNET_BENCH_DIR";

/// The share of all participants the alert's area should reach: 60,000 of 3,000,000, a dense
/// city centre at the national participation rate (design: 50,000 to 100,000).
const RECIPIENT_SHARE: f64 = 0.02;
/// Where the alert is: central Amsterdam.
const ALERT_CENTRE: (f64, f64) = (52.3731, 4.8926);
/// How long the fan-out may take before the benchmark gives up.
const FAN_OUT_LIMIT: Duration = Duration::from_secs(600);
/// How long the fakes may take to start and to answer.
const FAKES_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Seed a synthetic national population (kept in .burgernet-bench/ for the next run), send one
    /// urgent alert over central Amsterdam to 2% of it, and print one line of figures.
    Fanout {
        /// Participants in the synthetic population.
        #[arg(long, default_value_t = 3_000_000, value_parser = clap::value_parser!(i64).range(1_000..=20_000_000))]
        participants: i64,
    },
    /// Make synthetic 12-megapixel phone photos, process them as the media worker does on every
    /// core, and print one line of figures.
    Media {
        /// Photos to make and process.
        #[arg(long, default_value_t = 48, value_parser = clap::value_parser!(u64).range(1..=10_000))]
        photos: u64,
    },
    /// Start the API (`burgernet serve`) and send it live location updates of signed-in
    /// participants over keep-alive connections; print one line of figures.
    Location(location::LocationOptions),
    /// Run the fake APNs, FCM and SMS gateway until stdin closes; print one JSON line with their
    /// URLs, credential files and the stats endpoint.
    #[command(hide = true)]
    Fakes {
        /// How long every answer of a fake waits.
        #[arg(long, default_value = "20ms", value_parser = parse::duration)]
        latency: Duration,
        /// Where the credential files go.
        #[arg(long)]
        dir: PathBuf,
    },
}

pub async fn run(command: BenchCommand, env: Env) -> anyhow::Result<()> {
    match command {
        BenchCommand::Fanout { participants } => fanout(env, participants).await,
        BenchCommand::Media { photos } => {
            let photos = usize::try_from(photos)?;
            let line = tokio::task::spawn_blocking(move || media::run(photos)).await??;
            println!("{line}");
            Ok(())
        }
        BenchCommand::Location(options) => location::run(env, options).await,
        BenchCommand::Fakes { latency, dir } => run_fakes(latency, &dir).await,
    }
}

// --- the fan-out benchmark ---

async fn fanout(env: Env, participants: i64) -> anyhow::Result<()> {
    let dir = PathBuf::from(env.or(BENCH_DIR_VARIABLE, ".burgernet-bench".to_string(), parse::text)?);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (postgres, database_url) = dev::database(&env, &dir, &format!("bench_{participants}")).await?;
    let outcome = fanout_on(env, &dir, &database_url, participants).await;
    if let Some(server) = postgres {
        tokio::task::spawn_blocking(move || server.stop()).await?;
    }
    let line = outcome?;
    println!("{line}");
    Ok(())
}

async fn fanout_on(
    env: Env,
    dir: &Path,
    database_url: &Secret<String>,
    participants: i64,
) -> anyhow::Result<String> {
    db::run_migrations(database_url.expose()).await?;
    let mut conn = db::connect(database_url.expose()).await?;
    match synthetic::seeded_participants(&mut conn).await? {
        Some(seeded) if seeded == participants => {}
        Some(seeded) => bail!(
            "the database holds a synthetic population of {seeded}, not {participants}: use another \
             (or no) DATABASE_URL"
        ),
        None => {
            eprintln!("Seeding {participants} synthetic participants (once for this size) ...");
            let started = Instant::now();
            synthetic::seed(&mut conn, participants).await?;
            eprintln!("Seeded in {:.1} s.", started.elapsed().as_secs_f64());
        }
    }
    synthetic::discard_pending_jobs(&mut conn).await?;

    let fakes = FakesProcess::start(&dir.join("fakes"))?;
    let identity = DevIdentityProvider::ensure(&dir.join("identity-provider"))?;
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot listen on a free local port")?;
    let address = listener.local_addr()?;
    let env = fakes
        .provider_env(env)
        .with_default("DATABASE_URL", database_url.expose().as_str())
        .with_default("BURGERNET_BIND", address.to_string())
        .with_default(
            "BURGERNET_PARTICIPANT_TOKEN_SECRET",
            dev::local_secret(&dir.join("participant-token-secret"))?,
        )
        .with_default("BURGERNET_STAFF_TOKEN_ISSUER", DEV_ISSUER)
        .with_default("BURGERNET_STAFF_TOKEN_AUDIENCE", DEV_AUDIENCE)
        .with_default("BURGERNET_STAFF_TOKEN_KEYS", identity.jwks_path.to_string_lossy())
        .with_default("BURGERNET_PUBLIC_URL", format!("http://{address}"))
        .with_default("BURGERNET_MEDIA_DIR", dir.join("media").to_string_lossy())
        .with_default("BURGERNET_MEDIA_SIGNING_KEY", dev::local_secret(&dir.join("media-signing-key"))?);
    // Urgent alerts are not e-mailed; the local outbox stands in for an SMTP server nobody uses.
    let api = ApiConfig::from_env(&env)?;
    let service = dev::LocalService::start(&env, &api, listener, Some(LocalOutbox::new())).await?;
    let measured = measure(&identity, address, &fakes, &mut conn, participants).await;
    service.stop().await?;
    drop(fakes);
    measured
}

async fn measure(
    identity: &DevIdentityProvider,
    address: SocketAddr,
    fakes: &FakesProcess,
    conn: &mut db::Connection,
    participants: i64,
) -> anyhow::Result<String> {
    let private_key = std::fs::read_to_string(&identity.private_key_path)?;
    let token = mint_staff_token(
        &private_key,
        &StaffTokenRequest {
            subject: "bench-dispatcher".into(),
            name: Some("Benchmark".into()),
            role: StaffRole::Dispatcher { region: synthetic::BENCH_REGION_CODE.into() },
            issuer: DEV_ISSUER.into(),
            audience: DEV_AUDIENCE.into(),
            lifetime: Duration::from_secs(3600),
        },
    )?;
    let api = Api { client: reqwest::Client::new(), base: format!("http://{address}"), token };
    let wanted = (participants as f64 * RECIPIENT_SHARE).round() as i64;
    let radius = radius_reaching(&api, wanted).await?;
    let alert = api.post("/v1/alerts", alert_body(radius)).await?;
    let alert_id: uuid::Uuid =
        alert["id"].as_str().context("the created alert has no id")?.parse().context("the alert id")?;

    let send_requested = SystemTime::now();
    api.post(&format!("/v1/alerts/{alert_id}/send"), json!({})).await?;
    let deadline = Instant::now() + FAN_OUT_LIMIT;
    let progress = loop {
        let progress = synthetic::fan_out_progress(conn, AlertId(alert_id)).await?;
        if progress.is_done() {
            break progress;
        }
        if Instant::now() > deadline {
            bail!("the fan-out did not finish within {FAN_OUT_LIMIT:?}: {progress:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let stats = fakes.stats().await?;
    let expected = synthetic::expected_targets(conn, AlertId(alert_id)).await?;
    let (mut missing, mut duplicates) = (0, 0);
    for target in &expected {
        match stats.count(&target.provider, &target.address) {
            0 => missing += 1,
            1 => {}
            _ => duplicates += 1,
        }
    }
    let pushes = stats.apns.total + stats.fcm.total;
    let first_push = earliest(stats.apns.first, stats.fcm.first);
    let last_push = latest(stats.apns.last, stats.fcm.last);
    let last_sent = latest(last_push, stats.sms.last);
    let send_ms = unix_ms(send_requested);
    let since_send = |moment: Option<i64>| moment.map_or(-1, |at| at - send_ms);
    let pushes_per_s = match (first_push, last_push) {
        (Some(first), Some(last)) if last > first => pushes as f64 * 1000.0 / (last - first) as f64,
        _ => 0.0,
    };
    Ok(format!(
        "fanout participants={participants} recipients={recipients} select_ms={select_ms} \
         first_push_ms={first_push_ms} all_sent_ms={all_sent_ms} pushes_per_s={pushes_per_s:.0} \
         sms={sms} missing={missing} duplicates={duplicates} rss_mb={rss_mb:.0}",
        recipients = progress.recipients,
        select_ms = progress.select_ms.unwrap_or_default(),
        first_push_ms = since_send(first_push),
        all_sent_ms = since_send(last_sent),
        sms = stats.sms.total,
        rss_mb = peak_rss_mb()?,
    ))
}

/// The circle radius (m) around the alert centre whose reach is closest to `wanted`
/// participants, found by bisection over the API's reach preview.
async fn radius_reaching(api: &Api, wanted: i64) -> anyhow::Result<f64> {
    let (mut low, mut high) = (100.0_f64, 10_000.0_f64);
    for _ in 0..10 {
        let middle = (low + high) / 2.0;
        let mut request = alert_body(middle);
        for field in ["description", "texts", "call_back_number"] {
            request.as_object_mut().expect("an object").remove(field);
        }
        let reach = api.post("/v1/alerts/reach-preview", request).await?;
        let reached = reach["participants"].as_i64().context("the reach has no participants")?;
        if reached < wanted {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok((low + high) / 2.0)
}

fn alert_body(radius_meters: f64) -> Value {
    let (latitude, longitude) = ALERT_CENTRE;
    json!({
        "category": "search",
        "urgent": true,
        "channels": ["push", "sms"],
        "description": {"free_text": "Vermiste jongen, 8 jaar, blauwe jas."},
        "texts": {
            "nl": {"title": "Vermist: jongen van 8", "message": "Blauwe jas, rode muts.", "instruction": "Bel 112 als u hem ziet."},
            "en": {"title": "Missing: boy aged 8", "message": "Blue coat, red hat.", "instruction": "Call 112 if you see him."}
        },
        "call_back_number": "0900-8844",
        "area": {"type": "circle", "center": {"latitude": latitude, "longitude": longitude}, "radius_meters": radius_meters},
    })
}

/// The API as a dispatcher calls it.
struct Api {
    client: reqwest::Client,
    base: String,
    token: Secret<String>,
}

impl Api {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.token.expose())
            .json(&body)
            .timeout(Duration::from_secs(60))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.into_iter().chain(b).min()
}

fn latest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.into_iter().chain(b).max()
}

fn unix_ms(moment: SystemTime) -> i64 {
    moment.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as i64
}

/// Peak resident memory of this process (`VmHWM`), in MB.
fn peak_rss_mb() -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kilobytes: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")?;
    Ok(kilobytes / 1024.0)
}

// --- the fakes, in a process of their own ---

/// What `burgernet bench fakes` prints: where the fakes are and the files with their credentials.
struct FakesProcess {
    child: Child,
    announced: Value,
}

impl Drop for FakesProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl FakesProcess {
    fn start(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut child = Command::new(std::env::current_exe()?)
            .args(["bench", "fakes", "--latency", "20ms", "--dir"])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the fakes' process")?;
        let stdout = child.stdout.take().context("the fakes' output")?;
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).context("read the fakes' announcement")?;
        let announced: Value = serde_json::from_str(&line)
            .with_context(|| format!("the fakes did not announce themselves: {line:?}"))?;
        Ok(Self { child, announced })
    }

    fn field(&self, name: &str) -> String {
        self.announced[name].as_str().unwrap_or_default().to_string()
    }

    /// The provider configuration that points the clients at the fakes.
    fn provider_env(&self, env: Env) -> Env {
        let read = |name: &str| std::fs::read_to_string(self.field(name)).unwrap_or_default();
        env.with_default("BURGERNET_APNS_KEY_FILE", self.field("apns_key_file"))
            .with_default("BURGERNET_APNS_KEY_ID", self.field("apns_key_id"))
            .with_default("BURGERNET_APNS_TEAM_ID", self.field("apns_team_id"))
            .with_default("BURGERNET_APNS_TOPIC", self.field("apns_topic"))
            .with_default("BURGERNET_APNS_URL", self.field("apns_url"))
            .with_default("BURGERNET_APNS_SANDBOX_URL", self.field("apns_url"))
            .with_default("BURGERNET_APNS_CA_FILE", self.field("ca_file"))
            .with_default("BURGERNET_FCM_SERVICE_ACCOUNT_FILE", self.field("fcm_service_account_file"))
            .with_default("BURGERNET_FCM_URL", self.field("fcm_url"))
            .with_default("BURGERNET_FCM_CA_FILE", self.field("ca_file"))
            .with_default("BURGERNET_SMS_GATEWAY_URL", self.field("sms_url"))
            .with_default("BURGERNET_SMS_GATEWAY_API_KEY", read("sms_api_key_file"))
            .with_default("BURGERNET_SMS_WEBHOOK_SECRET", read("sms_webhook_secret_file"))
    }

    async fn stats(&self) -> anyhow::Result<FakeStats> {
        let stats: Value = reqwest::Client::new()
            .get(self.field("stats_url"))
            .timeout(FAKES_LIMIT)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(FakeStats {
            apns: ProviderStats::read(&stats["apns"]),
            fcm: ProviderStats::read(&stats["fcm"]),
            sms: ProviderStats::read(&stats["sms"]),
        })
    }
}

struct FakeStats {
    apns: ProviderStats,
    fcm: ProviderStats,
    sms: ProviderStats,
}

impl FakeStats {
    fn count(&self, provider: &str, address: &str) -> u64 {
        let stats = match provider {
            "apns" => &self.apns,
            "fcm" => &self.fcm,
            _ => &self.sms,
        };
        stats.counts.get(address).copied().unwrap_or_default()
    }
}

struct ProviderStats {
    counts: HashMap<String, u64>,
    total: u64,
    first: Option<i64>,
    last: Option<i64>,
}

impl ProviderStats {
    fn read(stats: &Value) -> Self {
        let counts: HashMap<String, u64> = stats["counts"]
            .as_object()
            .map(|counts| {
                counts.iter().map(|(key, count)| (key.clone(), count.as_u64().unwrap_or_default())).collect()
            })
            .unwrap_or_default();
        Self {
            total: counts.values().sum(),
            counts,
            first: stats["first_accepted_ms"].as_i64(),
            last: stats["last_accepted_ms"].as_i64(),
        }
    }
}

/// The fakes' side: starts them, writes the credential files, announces, serves the stats, and
/// ends when its parent closes stdin (or dies).
async fn run_fakes(latency: Duration, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let ca = Arc::new(LocalCertificateAuthority::generate()?);
    let apns = FakeApns::start(ca.clone(), ApnsTestCredentials::generate()).await?;
    let account = tokio::task::spawn_blocking(|| FcmTestServiceAccount::generate("burgernet-bench")).await?;
    let fcm = FakeFcm::start(&ca, &account)?;
    let sms = FakeSmsGateway::start().await;
    apns.faults().set_latency(latency);
    fcm.faults().set_latency(latency);
    sms.faults().set_latency(latency);

    let file = |name: &str, contents: &str| -> anyhow::Result<String> {
        let path = dir.join(name);
        write_secret_file(&path, contents)?;
        Ok(path.canonicalize()?.to_string_lossy().into_owned())
    };
    let credentials = apns.credentials().clone();
    let fakes = Arc::new(Fakes { apns, fcm, sms });
    let stats_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let announcement = json!({
        "apns_url": fakes.apns.base_url(),
        "apns_key_file": file("apns-key.p8", &credentials.signing_key_pem)?,
        "apns_key_id": credentials.key_id,
        "apns_team_id": credentials.team_id,
        "apns_topic": credentials.topic,
        "fcm_url": fakes.fcm.base_url(),
        "fcm_service_account_file": file("fcm-service-account.json", fakes.fcm.service_account_json())?,
        "ca_file": file("ca.pem", ca.ca_pem())?,
        "sms_url": fakes.sms.base_url(),
        "sms_api_key_file": file("sms-api-key", fakes.sms.api_key())?,
        "sms_webhook_secret_file": file("sms-webhook-secret", fakes.sms.webhook_secret())?,
        "stats_url": format!("http://{}/stats", stats_listener.local_addr()?),
    });
    println!("{announcement}");

    tokio::select! {
        served = serve_stats(stats_listener, fakes) => served,
        _ = parent_gone() => Ok(()),
    }
}

struct Fakes {
    apns: FakeApns,
    fcm: FakeFcm,
    sms: FakeSmsGateway,
}

impl Fakes {
    fn stats(&self) -> Value {
        let mut sms_counts: HashMap<String, usize> = HashMap::new();
        for message in self.sms.sent() {
            *sms_counts.entry(message.to).or_default() += 1;
        }
        json!({
            "apns": provider_stats(self.apns.counts_by_token(), self.apns.accept_span()),
            "fcm": provider_stats(self.fcm.counts_by_token(), self.fcm.accept_span()),
            "sms": provider_stats(sms_counts, self.sms.accept_span()),
        })
    }
}

fn provider_stats(counts: HashMap<String, usize>, accepted: AcceptSpan) -> Value {
    json!({
        "counts": counts,
        "first_accepted_ms": accepted.first.map(unix_ms),
        "last_accepted_ms": accepted.last.map(unix_ms),
    })
}

/// `GET /stats`: per token (push) and per number (SMS) how often each fake accepted a message,
/// and when each accepted its first and its last (unix ms).
async fn serve_stats(listener: tokio::net::TcpListener, fakes: Arc<Fakes>) -> anyhow::Result<()> {
    loop {
        let (tcp, _) = listener.accept().await?;
        let fakes = fakes.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let fakes = fakes.clone();
                    async move {
                        if request.uri().path() == "/stats" {
                            hyper::Response::builder()
                                .header(hyper::header::CONTENT_TYPE, "application/json")
                                .body(Full::new(Bytes::from(fakes.stats().to_string())))
                        } else {
                            hyper::Response::builder().status(404).body(Full::default())
                        }
                    }
                });
            let _ =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
        });
    }
}

/// Resolves when stdin closes: the parent ended or dropped us.
async fn parent_gone() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
}
