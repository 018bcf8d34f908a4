//! `burgernet bench`: benchmarks with one line of figures each.
//!
//! - `fanout`: the national fan-out, see [`fanout`];
//! - `media`: the photo work of the media worker, see [`media`];
//! - `location`: live location updates against the API, see [`location`];
//! - `reports`: the reports over a national year, see [`reports`];
//! - `fakes` (hidden): the fake APNs, FCM and SMS gateway in a process of their own, which the
//!   fan-out benchmark starts, with an endpoint for the figures and one that checks who received
//!   what.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use burgernet_core::env::{Env, parse};
use burgernet_core::secret::Secret;
use burgernet_core::secret::write_secret_file;
use burgernet_fakes::accepts::AcceptSpan;
use burgernet_fakes::apns::{ApnsTestCredentials, FakeApns};
use burgernet_fakes::fcm::{FakeFcm, FcmTestServiceAccount};
use burgernet_fakes::sms::FakeSmsGateway;
use burgernet_fakes::tls::LocalCertificateAuthority;
use burgernet_local::db::synthetic::{self, ExpectedTarget};
use burgernet_local::postgres::LocalPostgres;
use clap::Subcommand;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

mod fanout;
mod location;
mod media;
mod reports;

pub const BENCH_DIR_VARIABLE: &str = "BURGERNET_BENCH_DIR";

/// How long the fakes may take to start and to answer.
const FAKES_LIMIT: Duration = Duration::from_secs(60);

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Seed a synthetic national population (kept in .burgernet-bench/ for the next run), send one
    /// urgent alert over central Amsterdam to 2% of it (or to everyone), and print one line of
    /// figures.
    Fanout {
        /// Participants in the synthetic population.
        #[arg(long, default_value_t = 3_000_000, value_parser = clap::value_parser!(i64).range(1_000..=20_000_000))]
        participants: i64,
        /// Alert every participant (an AMBER Alert), not 2% of them.
        #[arg(long)]
        national: bool,
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
    /// Seed a year of alerts with their deliveries on the synthetic national population (kept in
    /// .burgernet-bench/ like the fan-out's), bring the rollups up to date, read the national
    /// participation, alert results and costs reports of the last twelve months, and print one
    /// line of figures.
    Reports {
        /// Participants in the synthetic population.
        #[arg(long, default_value_t = 3_000_000, value_parser = clap::value_parser!(i64).range(1_000..=20_000_000))]
        participants: i64,
    },
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
        BenchCommand::Fanout { participants, national } => fanout::run(env, participants, national).await,
        BenchCommand::Media { photos } => {
            let photos = usize::try_from(photos)?;
            let line = tokio::task::spawn_blocking(move || media::run(photos)).await??;
            println!("{line}");
            Ok(())
        }
        BenchCommand::Location(options) => location::run(env, options).await,
        BenchCommand::Reports { participants } => reports::run(env, participants).await,
        BenchCommand::Fakes { latency, dir } => run_fakes(latency, &dir).await,
    }
}

/// The benchmarks' own PostgreSQL: the memory of a database server, not of a laptop's local
/// mode (participants, their places and devices take 3–4 GB with their indexes at 3 M).
const SERVER_SETTINGS: [(&str, &str); 2] = [("shared_buffers", "6GB"), ("max_wal_size", "4GB")];

/// The benchmark directory and the database of the synthetic population of `participants`
/// (`bench_<N>`, which the fan-out and reports benchmarks share): in the directory's own
/// PostgreSQL, started here (stop it when done), unless `DATABASE_URL` names one.
async fn population_database(
    env: &Env,
    participants: i64,
) -> anyhow::Result<(PathBuf, Option<LocalPostgres>, Secret<String>)> {
    let dir = PathBuf::from(env.or(BENCH_DIR_VARIABLE, ".burgernet-bench".to_string(), parse::text)?);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let settings =
        SERVER_SETTINGS.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    let (postgres, database_url) =
        crate::dev::database(env, &dir, &format!("bench_{participants}"), settings).await?;
    Ok((dir, postgres, database_url))
}

/// Seeds the synthetic population of `participants` into a migrated database that has none;
/// refuses a database that holds one of another size.
async fn ensure_population(
    conn: &mut burgernet_core::db::Connection,
    participants: i64,
) -> anyhow::Result<()> {
    match synthetic::seeded_participants(conn).await? {
        Some(seeded) if seeded == participants => {}
        Some(seeded) => anyhow::bail!(
            "the database holds a synthetic population of {seeded}, not {participants}: use another \
             (or no) DATABASE_URL"
        ),
        None => {
            eprintln!("Seeding {participants} synthetic participants (once for this size) ...");
            let started = std::time::Instant::now();
            synthetic::seed(conn, participants).await?;
            eprintln!("Seeded in {:.1} s.", started.elapsed().as_secs_f64());
        }
    }
    Ok(())
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
            // The benchmarks measure push and SMS: their alerts do not call.
            .with_default("BURGERNET_CHANNEL_ORDER_SEARCH", "push,sms".to_string())
            .with_default("BURGERNET_CHANNEL_ORDER_ALARM", "push,sms".to_string())
    }

    /// The JSON answer of the fakes' stats server to `request`.
    async fn answer(request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        Ok(request.timeout(FAKES_LIMIT).send().await?.error_for_status()?.json().await?)
    }

    /// How many messages each fake accepted, and when the first and the last.
    async fn stats(&self) -> anyhow::Result<FakeStats> {
        let client = reqwest::Client::new();
        let stats = Self::answer(client.get(format!("{}/stats", self.field("stats_url")))).await?;
        Ok(FakeStats {
            apns: ProviderStats::read(&stats["apns"]),
            fcm: ProviderStats::read(&stats["fcm"]),
            sms: ProviderStats::read(&stats["sms"]),
        })
    }

    /// How many of `targets` the fakes never got, got more than once, or never got because they
    /// were not handed over.
    async fn check(&self, targets: &[ExpectedTarget]) -> anyhow::Result<TargetCheck> {
        let targets: Vec<Value> = targets
            .iter()
            .map(|t| json!({"provider": t.provider, "address": t.address, "handed_over": t.handed_over}))
            .collect();
        let client = reqwest::Client::new();
        let checked =
            Self::answer(client.post(format!("{}/check", self.field("stats_url"))).json(&targets)).await?;
        Ok(TargetCheck {
            missing: checked["missing"].as_u64().unwrap_or_default(),
            duplicates: checked["duplicates"].as_u64().unwrap_or_default(),
            not_handed_over: checked["not_handed_over"].as_u64().unwrap_or_default(),
        })
    }
}

struct FakeStats {
    apns: ProviderStats,
    fcm: ProviderStats,
    sms: ProviderStats,
}

/// What one fake accepted: how many, and when the first and the last (unix ms).
struct ProviderStats {
    total: u64,
    first: Option<i64>,
    last: Option<i64>,
}

impl ProviderStats {
    fn read(stats: &Value) -> Self {
        Self {
            total: stats["accepted"].as_u64().unwrap_or_default(),
            first: stats["first_accepted_ms"].as_i64(),
            last: stats["last_accepted_ms"].as_i64(),
        }
    }
}

/// Targets that got the alert never, more than once, or never because it was not handed over
/// to them (yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct TargetCheck {
    missing: u64,
    duplicates: u64,
    not_handed_over: u64,
}

impl TargetCheck {
    fn add(&mut self, other: TargetCheck) {
        self.missing += other.missing;
        self.duplicates += other.duplicates;
        self.not_handed_over += other.not_handed_over;
    }

    /// Classifies one target by how often its fake accepted it.
    fn count(&mut self, received: usize, handed_over: bool) {
        match received {
            0 if handed_over => self.missing += 1,
            0 => self.not_handed_over += 1,
            1 => {}
            _ => self.duplicates += 1,
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
    let fakes = Arc::new(Fakes { apns, fcm, sms, received: std::sync::OnceLock::new() });
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
        "stats_url": format!("http://{}", stats_listener.local_addr()?),
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
    /// Who received what, taken once the benchmark starts checking (the run is over by then).
    received: std::sync::OnceLock<HashMap<(&'static str, String), usize>>,
}

impl Fakes {
    fn stats(&self) -> Value {
        let sms_accepted = self.sms.sent().len();
        json!({
            "apns": provider_stats(self.apns.counts_by_token().values().sum(), self.apns.accept_span()),
            "fcm": provider_stats(self.fcm.counts_by_token().values().sum(), self.fcm.accept_span()),
            "sms": provider_stats(sms_accepted, self.sms.accept_span()),
        })
    }

    fn received(&self) -> &HashMap<(&'static str, String), usize> {
        self.received.get_or_init(|| {
            let mut received = HashMap::new();
            for (token, count) in self.apns.counts_by_token() {
                received.insert(("apns", token), count);
            }
            for (token, count) in self.fcm.counts_by_token() {
                received.insert(("fcm", token), count);
            }
            for message in self.sms.sent() {
                *received.entry(("sms", message.to)).or_default() += 1;
            }
            received
        })
    }

    /// Checks the targets `[{"provider", "address", "handed_over"}]` against what was received.
    fn check(&self, targets: &[Value]) -> Value {
        let received = self.received();
        let mut check = TargetCheck::default();
        for target in targets {
            let provider = match target["provider"].as_str() {
                Some("apns") => "apns",
                Some("fcm") => "fcm",
                _ => "sms",
            };
            let address = target["address"].as_str().unwrap_or_default().to_string();
            let count = received.get(&(provider, address)).copied().unwrap_or_default();
            check.count(count, target["handed_over"].as_bool().unwrap_or(true));
        }
        json!({"missing": check.missing, "duplicates": check.duplicates, "not_handed_over": check.not_handed_over})
    }
}

fn provider_stats(accepted: usize, span: AcceptSpan) -> Value {
    json!({
        "accepted": accepted,
        "first_accepted_ms": span.first.map(unix_ms),
        "last_accepted_ms": span.last.map(unix_ms),
    })
}

/// `GET /stats`: how many messages each fake accepted, and when it accepted its first and its last
/// (unix ms). `POST /check`: of the targets posted, how many the fakes never got or got more than
/// once.
async fn serve_stats(listener: tokio::net::TcpListener, fakes: Arc<Fakes>) -> anyhow::Result<()> {
    loop {
        let (tcp, _) = listener.accept().await?;
        let fakes = fakes.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let fakes = fakes.clone();
                    async move {
                        let json = |value: Value| {
                            hyper::Response::builder()
                                .header(hyper::header::CONTENT_TYPE, "application/json")
                                .body(Full::new(Bytes::from(value.to_string())))
                        };
                        match (request.method().as_str(), request.uri().path()) {
                            ("GET", "/stats") => json(fakes.stats()),
                            ("POST", "/check") => {
                                let body = request.into_body().collect().await.map(|body| body.to_bytes());
                                match body
                                    .ok()
                                    .and_then(|body| serde_json::from_slice::<Vec<Value>>(&body).ok())
                                {
                                    Some(targets) => {
                                        let fakes = fakes.clone();
                                        let checked =
                                            tokio::task::spawn_blocking(move || fakes.check(&targets)).await;
                                        json(checked.unwrap_or(Value::Null))
                                    }
                                    None => hyper::Response::builder().status(400).body(Full::default()),
                                }
                            }
                            _ => hyper::Response::builder().status(404).body(Full::default()),
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
