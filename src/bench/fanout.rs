//! `burgernet bench fanout`: the national fan-out benchmark. Seeds (once per size) a synthetic
//! national population (`burgernet_local::db::synthetic`), starts the fake providers with 20 ms
//! latency in a process of their own (`burgernet bench fakes`), runs the API and the workers in
//! this process, sends one urgent alert, waits until it is delivered, and prints one line:
//!
//! `fanout participants=N recipients=N select_ms=X first_push_ms=X last_push_ms=X all_sent_ms=X
//! pushes_per_s=X sms=N sms_per_s=X sms_capped=N missing=N duplicates=N rss_mb=X`
//!
//! The alert goes over central Amsterdam to 2% of the participants (60,000 of 3,000,000), or with
//! `--national` to everyone. The SMS lane is held to `BURGERNET_SMS_RATE` (500/s here unless set),
//! the push providers' rates are set above what the fakes take (the benchmark measures Burgernet,
//! not Google's default quota). A national alert's SMS would take the SMS rate's time (1.2 M at
//! 500/s: 40 minutes), so the national run waits for its SMS only `SMS_WAIT_NATIONAL` after the
//! last push and counts the SMS not handed over by then as `sms_capped`.
//!
//! `select_ms` is the selection as the fan-out measured it (streaming the candidates out of the
//! spatial index); `first_push_ms`, `last_push_ms` and `all_sent_ms` run from the send request to
//! the first push, the last push and the last hand-over (push or SMS) a fake accepted;
//! `pushes_per_s` and `sms_per_s` are those accepted over the time between the first and the
//! last; `missing` and `duplicates` count devices (or, for recipients without the app, phones)
//! that received the alert never or more than once (SMS not handed over in a national run are
//! `sms_capped`, not missing); `rss_mb` is the peak resident memory of this process while it
//! delivered the alert.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use burgernet_core::auth::staff::StaffRole;
use burgernet_core::config::ApiConfig;
use burgernet_core::db;
use burgernet_core::env::Env;
use burgernet_core::ids::AlertId;
use burgernet_core::outbox::LocalOutbox;
use burgernet_core::secret::Secret;
use burgernet_local::db::synthetic;
use burgernet_local::identity::{
    DEV_AUDIENCE, DEV_ISSUER, DevIdentityProvider, StaffTokenRequest, mint_staff_token,
};
use serde_json::{Value, json};

use super::{FakesProcess, ensure_population, peak_rss_mb, population_database, unix_ms};
use crate::dev;

/// The share of all participants the alert's area should reach: 60,000 of 3,000,000, a dense
/// city centre at the national participation rate (design: 50,000 to 100,000).
const RECIPIENT_SHARE: f64 = 0.02;
/// Where the alert is: central Amsterdam.
const ALERT_CENTRE: (f64, f64) = (52.3731, 4.8926);
/// How long the fan-out may take before the benchmark gives up.
const FAN_OUT_LIMIT: Duration = Duration::from_secs(900);
/// A national run waits this long for SMS after the last push.
const SMS_WAIT_NATIONAL: Duration = Duration::from_secs(30);
/// The SMS lane's rate, a real gateway account's order, unless `BURGERNET_SMS_RATE` is set.
const SMS_RATE: &str = "500/s";
/// Push rates above what the fakes take, unless set.
const PUSH_RATE_ABOVE_THE_FAKES: &str = "10000000/min";
pub async fn run(env: Env, participants: i64, national: bool) -> anyhow::Result<()> {
    let (dir, postgres, database_url) = population_database(&env, participants).await?;
    let outcome = fanout_on(env, &dir, &database_url, participants, national).await;
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
    national: bool,
) -> anyhow::Result<String> {
    db::run_migrations(database_url.expose()).await?;
    let mut conn = db::connect(database_url.expose()).await?;
    ensure_population(&mut conn, participants).await?;
    synthetic::discard_pending_jobs(&mut conn).await?;
    if let Err(error) = synthetic::warm_up(&mut conn).await {
        eprintln!("Could not read the tables into memory first ({error}); the run starts cold.");
    }

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
        .with_default("BURGERNET_MEDIA_SIGNING_KEY", dev::local_secret(&dir.join("media-signing-key"))?)
        .with_default("BURGERNET_SMS_RATE", SMS_RATE)
        .with_default("BURGERNET_FCM_RATE", PUSH_RATE_ABOVE_THE_FAKES)
        .with_default("BURGERNET_APNS_RATE", PUSH_RATE_ABOVE_THE_FAKES)
        // Nobody acknowledges an alert in a benchmark: the fallback for that is not measured here.
        .with_default("BURGERNET_SMS_FALLBACK_AFTER", "1h")
        // The whole country is one area in the national run.
        .with_default("BURGERNET_ALERT_MAX_AREA_KM2", "100000");
    // Urgent alerts are not e-mailed; the local outbox stands in for an SMTP server nobody uses.
    let api = ApiConfig::from_env(&env)?;
    let service = dev::LocalService::start(&env, &api, listener, LocalOutbox::new(), None).await?;
    let measured = measure(&identity, address, &fakes, &mut conn, participants, national).await;
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
    national: bool,
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
    let area = if national {
        national_area()
    } else {
        let wanted = (participants as f64 * RECIPIENT_SHARE).round() as i64;
        circle(radius_reaching(&api, wanted).await?)
    };
    let alert = api.post("/v1/alerts", alert_body(area)).await?;
    let alert_id: uuid::Uuid =
        alert["id"].as_str().context("the created alert has no id")?.parse().context("the alert id")?;
    let alert_id = AlertId(alert_id);

    eprintln!("Sending the alert ...");
    let send_requested = SystemTime::now();
    api.post(&format!("/v1/alerts/{}/send", alert_id.0), json!({})).await?;
    wait_until_delivered(conn, alert_id, national).await?;
    let rss_mb = peak_rss_mb()?;
    let summary = synthetic::fan_out_summary(conn, alert_id).await?;

    let stats = fakes.stats().await?;
    let batches = db::recipients::next_batch_no(conn, alert_id).await?;
    // What the database counts as handed over is read in one snapshot, taken before the fakes
    // tally what they received: an SMS recorded in it was accepted before the tally, so the SMS
    // a national run leaves going out while it checks are never counted as missing.
    let check = conn
        .build_transaction()
        .repeatable_read()
        .read_only()
        .run(async |conn| {
            let mut check = super::TargetCheck::default();
            for first in (0..batches).step_by(100) {
                let targets = synthetic::expected_targets(conn, alert_id, first..first + 100).await?;
                check.add(fakes.check(&targets).await?);
            }
            anyhow::Ok(check)
        })
        .await?;
    let first_push = earliest(stats.apns.first, stats.fcm.first);
    let last_push = latest(stats.apns.last, stats.fcm.last);
    let since_send = |moment: Option<i64>| moment.map_or(-1, |at| at - unix_ms(send_requested));
    let pushes = stats.apns.total + stats.fcm.total;
    Ok(format!(
        "fanout participants={participants} recipients={recipients} select_ms={select_ms} \
         first_push_ms={first_push_ms} last_push_ms={last_push_ms} all_sent_ms={all_sent_ms} \
         pushes_per_s={pushes_per_s:.0} sms={sms} sms_per_s={sms_per_s:.0} sms_capped={sms_capped} \
         missing={missing} duplicates={duplicates} rss_mb={rss_mb:.0}",
        recipients = summary.recipients,
        select_ms = summary.select_ms.unwrap_or_default(),
        first_push_ms = since_send(first_push),
        last_push_ms = since_send(last_push),
        all_sent_ms = since_send(latest(last_push, stats.sms.last)),
        pushes_per_s = per_second(pushes, first_push, last_push),
        sms = stats.sms.total,
        sms_per_s = per_second(stats.sms.total, stats.sms.first, stats.sms.last),
        sms_capped = check.not_handed_over,
        missing = check.missing,
        duplicates = check.duplicates,
    ))
}

/// Waits until the alert is delivered: every lane of every batch, or in a national run every push
/// lane and then the SMS for at most [`SMS_WAIT_NATIONAL`].
async fn wait_until_delivered(
    conn: &mut db::Connection,
    alert: AlertId,
    national: bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + FAN_OUT_LIMIT;
    let mut pushes_done_at: Option<Instant> = None;
    loop {
        let progress = synthetic::fan_out_progress(conn, alert).await?;
        if progress.is_done() {
            return Ok(());
        }
        if national && progress.pushes_done() {
            let done_at = *pushes_done_at.get_or_insert_with(Instant::now);
            if done_at.elapsed() >= SMS_WAIT_NATIONAL {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("the fan-out did not finish within {FAN_OUT_LIMIT:?}: {progress:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn per_second(count: u64, first: Option<i64>, last: Option<i64>) -> f64 {
    match (first, last) {
        (Some(first), Some(last)) if last > first => count as f64 * 1000.0 / (last - first) as f64,
        _ => 0.0,
    }
}

/// The circle radius (m) around the alert centre whose reach is closest to `wanted`
/// participants, found by bisection over the API's reach preview (which shows a count under 5 only
/// as `{"fewer_than": 5}`: below any share worth measuring).
async fn radius_reaching(api: &Api, wanted: i64) -> anyhow::Result<f64> {
    let (mut low, mut high) = (100.0_f64, 10_000.0_f64);
    for _ in 0..10 {
        let middle = (low + high) / 2.0;
        let mut request = alert_body(circle(middle));
        for field in ["description", "texts", "call_back_number"] {
            request.as_object_mut().expect("an object").remove(field);
        }
        let reach = api.post("/v1/alerts/reach-preview", request).await?;
        let participants = &reach["participants"];
        let reached = match participants["count"].as_i64() {
            Some(count) => count,
            None if participants["fewer_than"].is_i64() => 0,
            None => bail!("the reach has no participants: {reach}"),
        };
        if reached < wanted {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok((low + high) / 2.0)
}

fn circle(radius_meters: f64) -> Value {
    let (latitude, longitude) = ALERT_CENTRE;
    json!({"type": "circle", "center": {"latitude": latitude, "longitude": longitude}, "radius_meters": radius_meters})
}

/// The land of the Netherlands with a margin: everyone of the synthetic population.
fn national_area() -> Value {
    let ring: Vec<Value> = synthetic::national_outline()
        .iter()
        .map(|(longitude, latitude)| json!([longitude, latitude]))
        .collect();
    json!({"type": "Polygon", "coordinates": [ring]})
}

fn alert_body(area: Value) -> Value {
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
        "area": area,
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
