//! Configuration comes from environment variables only. Each process reads them once at start
//! into typed values; a missing or malformed value stops start-up with a message that names
//! the variable. The README lists every variable; keep it in step with this file.

use std::net::SocketAddr;
use std::time::Duration;

use crate::alerts::area::{AreaLimits, MAX_REGION_MARGIN_METERS};
use crate::alerts::delivery::DeliverySettings;
use crate::alerts::delivery::throttle::Rate;
use crate::auth::participant::ParticipantTokenConfig;
use crate::auth::staff::StaffTokenConfig;
use crate::env::{ConfigError, Env, parse};
use crate::participants::notices::MessagingConfig;
use crate::participants::sign_in::SignInPolicy;
use crate::reports::costs::Tariffs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `info,burgernet_api=debug`.
    pub filter: String,
}

impl LogConfig {
    pub fn from_env(env: &Env, default_format: LogFormat) -> Result<Self, ConfigError> {
        let format = env.or("BURGERNET_LOG_FORMAT", default_format, |raw| match raw {
            "json" => Ok(LogFormat::Json),
            "pretty" => Ok(LogFormat::Pretty),
            other => Err(format!("expected json or pretty, got {other:?}")),
        })?;
        let filter = env.or("BURGERNET_LOG", "info".to_string(), parse::text)?;
        Ok(Self { format, filter })
    }
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub bind: SocketAddr,
    /// Largest accepted request body; larger ones get 413.
    pub max_body_bytes: usize,
    pub participant_tokens: ParticipantTokenConfig,
    pub staff_tokens: StaffTokenConfig,
    pub sign_in: SignInPolicy,
    /// How long a participant's live position is used before it is deleted.
    pub live_location_ttl: Duration,
    /// How long after its send an active alert keeps recruiting those who enter its area
    /// (`BURGERNET_ALERT_RECRUITING_WINDOW`, 2 h unless set).
    pub recruiting_window: Duration,
    /// How many reverse proxies in front of the API append to `X-Forwarded-For`; the client
    /// address is the entry that many places from the right. 0: the connection's peer address.
    pub trusted_proxy_hops: usize,
    pub messaging: MessagingConfig,
    pub alert_areas: AreaLimits,
    pub tips: crate::alerts::tips::TipSettings,
    pub media: crate::media::MediaSettings,
    pub event_streams: EventStreamSettings,
    pub console: ConsoleConfig,
    pub reports: ReportSettings,
    /// Which channels each kind of municipal message may use
    /// (`BURGERNET_MUNICIPAL_MESSAGE_CHANNELS`).
    pub municipal_message_channels: crate::messages::AllowedChannels,
    /// Who we are in CAP messages (`BURGERNET_CAP_SENDER`, default `burgernet.nl`).
    pub cap_sender: crate::alerts::cap::CapSender,
}

impl ApiConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            bind: env.or("BURGERNET_BIND", ([0, 0, 0, 0], 8080).into(), parse::socket_addr)?,
            max_body_bytes: env.or("BURGERNET_MAX_BODY_BYTES", 64 * 1024, parse::positive_number)?,
            participant_tokens: ParticipantTokenConfig::from_env(env)?,
            staff_tokens: StaffTokenConfig::from_env(env)?,
            sign_in: sign_in_policy(env)?,
            live_location_ttl: env.or(
                "BURGERNET_LIVE_LOCATION_TTL",
                Duration::from_secs(2 * 3600),
                parse::duration,
            )?,
            recruiting_window: env.or(
                "BURGERNET_ALERT_RECRUITING_WINDOW",
                Duration::from_secs(2 * 3600),
                parse::duration,
            )?,
            trusted_proxy_hops: env.or("BURGERNET_TRUSTED_PROXY_HOPS", 0, parse::number)?,
            messaging: MessagingConfig::from_env(env)?,
            alert_areas: Self::alert_areas_from_env(env)?,
            tips: crate::alerts::tips::TipSettings::from_env(env)?,
            media: crate::media::MediaSettings::from_env(env)?,
            event_streams: EventStreamSettings::from_env(env)?,
            console: ConsoleConfig::from_env(env)?,
            reports: ReportSettings::from_env(env)?,
            municipal_message_channels: env.or(
                "BURGERNET_MUNICIPAL_MESSAGE_CHANNELS",
                crate::messages::AllowedChannels::default(),
                crate::messages::AllowedChannels::parse,
            )?,
            cap_sender: env.or(
                "BURGERNET_CAP_SENDER",
                crate::alerts::cap::CapSender::default(),
                crate::alerts::cap::CapSender::parse,
            )?,
        })
    }
}

/// The browser console (`/console/`): how it signs staff in and what it may load.
///
/// It is a public OpenID Connect client (authorization code flow with PKCE) of the organisation's
/// identity provider: `BURGERNET_CONSOLE_OIDC_ISSUER` (default: the staff tokens' issuer; the
/// console reads `{issuer}/.well-known/openid-configuration`), `BURGERNET_CONSOLE_OIDC_CLIENT_ID`
/// (default `burgernet-console`), `BURGERNET_CONSOLE_OIDC_SCOPES` (default `openid profile`), and
/// the redirect URI `{BURGERNET_PUBLIC_URL}/console/` (`BURGERNET_CONSOLE_REDIRECT_URI` to differ).
/// `BURGERNET_CONSOLE_TILES` is the background map as an XYZ URL template (default PDOK's BRT
/// achtergrondkaart; `none` for none), `BURGERNET_CONSOLE_TILE_ATTRIBUTION` its credit line, and
/// `BURGERNET_CONSOLE_MEDIA_ORIGIN` the origin of the media store's links when they are not the
/// API's own (an S3 endpoint): the console's Content-Security-Policy allows these hosts and no
/// other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleConfig {
    pub oidc_issuer: String,
    pub oidc_client_id: String,
    pub oidc_scopes: String,
    pub redirect_uri: String,
    pub tiles: Option<TileService>,
    pub media_origin: Option<String>,
}

/// A background map of XYZ tiles in Web Mercator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileService {
    /// With `{z}`, `{x}` and `{y}`, e.g. PDOK's BRT achtergrondkaart.
    pub url_template: String,
    pub attribution: String,
}

/// The Dutch government's public background map (Kadaster, via PDOK), in Web Mercator tiles.
pub const PDOK_BRT_TILES: &str =
    "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/standaard/EPSG:3857/{z}/{x}/{y}.png";
const PDOK_BRT_ATTRIBUTION: &str = "Kaartgegevens © Kadaster (PDOK BRT-Achtergrondkaart)";

impl ConsoleConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let staff_issuer = env.or("BURGERNET_STAFF_TOKEN_ISSUER", String::new(), parse::text)?;
        let oidc_issuer = env.or("BURGERNET_CONSOLE_OIDC_ISSUER", staff_issuer, parse::http_url)?;
        let redirect_uri = match env.optional("BURGERNET_CONSOLE_REDIRECT_URI", parse::http_url)? {
            Some(uri) => uri,
            None => format!("{}/console/", env.or("BURGERNET_PUBLIC_URL", String::new(), parse::http_url)?),
        };
        let tiles = env.or("BURGERNET_CONSOLE_TILES", Some(PDOK_BRT_TILES.to_string()), tile_template)?;
        let attribution = env.or(
            "BURGERNET_CONSOLE_TILE_ATTRIBUTION",
            match &tiles {
                Some(template) if template == PDOK_BRT_TILES => PDOK_BRT_ATTRIBUTION.to_string(),
                _ => String::new(),
            },
            parse::text,
        )?;
        Ok(Self {
            oidc_issuer,
            oidc_client_id: env.or(
                "BURGERNET_CONSOLE_OIDC_CLIENT_ID",
                "burgernet-console".into(),
                parse::text,
            )?,
            oidc_scopes: env.or("BURGERNET_CONSOLE_OIDC_SCOPES", "openid profile".into(), parse::text)?,
            redirect_uri,
            tiles: tiles.map(|url_template| TileService { url_template, attribution }),
            media_origin: env.optional("BURGERNET_CONSOLE_MEDIA_ORIGIN", origin)?,
        })
    }
}

/// `none`, or an https (http on loopback only) URL template with `{z}`, `{x}` and `{y}`.
fn tile_template(raw: &str) -> Result<Option<String>, String> {
    if raw == "none" {
        return Ok(None);
    }
    let expected = "expected `none` or an https:// URL template with {z}, {x} and {y}";
    if !["{z}", "{x}", "{y}"].iter().all(|part| raw.contains(part)) {
        return Err(expected.into());
    }
    let (scheme, rest) = raw.split_once("://").ok_or(expected)?;
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
    if host.is_empty()
        || !(scheme == "https" || (scheme == "http" && loopback))
        || raw.contains(['"', ' ', ';'])
    {
        return Err(expected.into());
    }
    Ok(Some(raw.to_string()))
}

/// An origin such as `https://media.burgernet.nl`: scheme, host and port, nothing else.
fn origin(raw: &str) -> Result<String, String> {
    let url = parse::http_url(raw)?;
    let after_scheme = url.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
    if after_scheme.contains('/') {
        return Err("expected an origin such as https://media.burgernet.nl, without a path".into());
    }
    Ok(url)
}

/// The reports' settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportSettings {
    /// The share of inhabitants (percent) a municipality's active participants should reach
    /// (`BURGERNET_PARTICIPATION_TARGET_PERCENT`, default 10, the seeds' norm): the participation
    /// report flags municipalities under it.
    pub participation_target_percent: f64,
    /// What messages cost, for the costs report (`BURGERNET_TARIFF_*_EUR`).
    pub tariffs: Tariffs,
}

impl ReportSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            participation_target_percent: env.or("BURGERNET_PARTICIPATION_TARGET_PERCENT", 10.0, percent)?,
            tariffs: tariffs_from_env(env)?,
        })
    }
}

impl Default for ReportSettings {
    /// The settings of an environment that sets none.
    fn default() -> Self {
        Self { participation_target_percent: 10.0, tariffs: Tariffs::default() }
    }
}

/// A percentage above 0 and at most 100, e.g. `10` or `7.5`.
fn percent(raw: &str) -> Result<f64, String> {
    raw.trim().parse::<f64>().ok().filter(|value| *value > 0.0 && *value <= 100.0).ok_or_else(|| {
        format!("expected a percentage above 0 and at most 100, such as 10 or 7.5, got {raw:?}")
    })
}

/// Limits on the control room's live event streams of alerts, per API process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventStreamSettings {
    /// Streams one staff member may have open at once (a dispatcher may watch on a few screens).
    pub per_staff_member: usize,
    /// Streams open at once in all.
    pub per_process: usize,
    /// Longest silence on a stream before a keep-alive comment: proxies keep the connection, and
    /// a client that left is noticed (and its stream's place freed) within two of these.
    pub keep_alive: Duration,
}

impl EventStreamSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            per_staff_member: env.or("BURGERNET_EVENT_STREAMS_PER_STAFF", 5, parse::positive_number)?,
            per_process: env.or("BURGERNET_EVENT_STREAMS_PER_PROCESS", 500, parse::positive_number)?,
            keep_alive: env.or(
                "BURGERNET_EVENT_STREAM_KEEP_ALIVE",
                Duration::from_secs(15),
                parse::duration,
            )?,
        })
    }
}

impl ApiConfig {
    fn alert_areas_from_env(env: &Env) -> Result<AreaLimits, ConfigError> {
        let defaults = AreaLimits::default();
        Ok(AreaLimits {
            max_surface_km2: env.or(
                "BURGERNET_ALERT_MAX_AREA_KM2",
                defaults.max_surface_km2,
                parse::positive_number,
            )?,
            region_margin_meters: env.or(
                "BURGERNET_ALERT_REGION_MARGIN",
                defaults.region_margin_meters,
                region_margin,
            )?,
        })
    }
}

/// How far an alert's area may reach across its region's border: `0` to 50 km.
fn region_margin(raw: &str) -> Result<f64, String> {
    let meters = parse::distance(raw)?;
    if meters > MAX_REGION_MARGIN_METERS {
        return Err(format!("must be at most 50km, got {raw:?}"));
    }
    Ok(meters)
}

/// The tariffs of the costs report: euros as decimal text (`0.07`), kept in millionths.
fn tariffs_from_env(env: &Env) -> Result<Tariffs, ConfigError> {
    let defaults = Tariffs::default();
    Ok(Tariffs {
        sms_segment_micros: env.or("BURGERNET_TARIFF_SMS_SEGMENT_EUR", defaults.sms_segment_micros, euros)?,
        push_micros: env.or("BURGERNET_TARIFF_PUSH_EUR", defaults.push_micros, euros)?,
        email_micros: env.or("BURGERNET_TARIFF_EMAIL_EUR", defaults.email_micros, euros)?,
        voice_minute_micros: env.or(
            "BURGERNET_TARIFF_VOICE_MINUTE_EUR",
            defaults.voice_minute_micros,
            euros,
        )?,
    })
}

/// Euros written as `0.07` (a dot, at most six decimals, at most € 1,000), in millionths.
fn euros(raw: &str) -> Result<i64, String> {
    let refused = || {
        format!("expected an amount in euros such as 0.07 (at most 6 decimals, at most 1000), got {raw:?}")
    };
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (raw.contains('.') && !digits(fraction)) || fraction.len() > 6 || whole.len() > 4 {
        return Err(refused());
    }
    let whole: i64 = whole.parse().map_err(|_| refused())?;
    let fraction: i64 = format!("{fraction:0<6}").parse().map_err(|_| refused())?;
    let micros = whole * 1_000_000 + fraction;
    if micros > 1_000 * 1_000_000 {
        return Err(refused());
    }
    Ok(micros)
}

fn sign_in_policy(env: &Env) -> Result<SignInPolicy, ConfigError> {
    let defaults = SignInPolicy::default();
    Ok(SignInPolicy {
        lockout: env.or("BURGERNET_SIGN_IN_LOCKOUT", defaults.lockout, parse::duration)?,
        resend_interval: env.or(
            "BURGERNET_SIGN_IN_RESEND_INTERVAL",
            defaults.resend_interval,
            parse::duration,
        )?,
        codes_per_phone_per_hour: env.or(
            "BURGERNET_SIGN_IN_CODES_PER_PHONE_PER_HOUR",
            defaults.codes_per_phone_per_hour,
            parse::positive_number,
        )?,
        requests_per_client_per_hour: env.or(
            "BURGERNET_SIGN_IN_REQUESTS_PER_CLIENT_PER_HOUR",
            defaults.requests_per_client_per_hour,
            parse::positive_number,
        )?,
        codes_per_hour: env.or(
            "BURGERNET_SIGN_IN_CODES_PER_HOUR",
            defaults.codes_per_hour,
            parse::positive_number,
        )?,
        codes_per_foreign_country_per_hour: env.or(
            "BURGERNET_SIGN_IN_CODES_PER_FOREIGN_COUNTRY_PER_HOUR",
            defaults.codes_per_foreign_country_per_hour,
            parse::positive_number,
        )?,
        refresh_token_ttl: env.or(
            "BURGERNET_PARTICIPANT_REFRESH_TOKEN_TTL",
            defaults.refresh_token_ttl,
            parse::duration,
        )?,
        ..defaults
    })
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Where the worker serves `/healthz`, `/readyz` and `/metrics`.
    pub bind: SocketAddr,
    /// Jobs one worker process runs at the same time, besides the delivery lanes' jobs.
    pub concurrency: usize,
    /// Delivery jobs of each lane one worker process runs at the same time.
    pub lane_jobs: LaneJobs,
    /// How long a claimed job stays leased without a heartbeat before another worker may take it.
    pub lease: Duration,
    /// How often an idle worker looks for work when no notification arrives.
    pub poll_interval: Duration,
    /// How long shutdown waits for running jobs before releasing them to other workers.
    pub shutdown_grace: Duration,
    pub delivery: DeliverySettings,
    /// ffprobe and ffmpeg, for videos attached to tips.
    pub video: crate::media::video::VideoTools,
    /// Tips and their media are deleted this long after their alert closed, unless on hold.
    pub tip_retention: Duration,
    /// Signing the dossier's checkpoints; None: none are written (`work` requires them).
    pub dossier_checkpoints: Option<crate::alerts::dossier::checkpoints::CheckpointSettings>,
}

impl WorkerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let config = Self {
            bind: env.or("BURGERNET_WORKER_BIND", ([0, 0, 0, 0], 8081).into(), parse::socket_addr)?,
            concurrency: env.or("BURGERNET_WORKER_CONCURRENCY", 8, parse::positive_number)?,
            lane_jobs: LaneJobs {
                push: env.or("BURGERNET_PUSH_LANE_JOBS", LaneJobs::default().push, parse::positive_number)?,
                sms: env.or("BURGERNET_SMS_LANE_JOBS", LaneJobs::default().sms, parse::positive_number)?,
                email: env.or(
                    "BURGERNET_EMAIL_LANE_JOBS",
                    LaneJobs::default().email,
                    parse::positive_number,
                )?,
                voice: env.or(
                    "BURGERNET_VOICE_LANE_JOBS",
                    LaneJobs::default().voice,
                    parse::positive_number,
                )?,
            },
            lease: env.or("BURGERNET_JOB_LEASE", Duration::from_secs(60), parse::duration)?,
            poll_interval: env.or("BURGERNET_JOB_POLL_INTERVAL", Duration::from_secs(5), parse::duration)?,
            shutdown_grace: env.or("BURGERNET_SHUTDOWN_GRACE", Duration::from_secs(20), parse::duration)?,
            delivery: delivery_settings(env)?,
            video: crate::media::video::VideoTools::from_env(env)?,
            tip_retention: crate::alerts::tips::TipSettings::from_env(env)?.retention,
            dossier_checkpoints: crate::alerts::dossier::checkpoints::CheckpointSettings::from_env(env)?,
        };
        if config.lease < Duration::from_secs(2) {
            return Err(ConfigError {
                variable: "BURGERNET_JOB_LEASE",
                problem: "must be at least 2s".into(),
            });
        }
        Ok(config)
    }
}

/// Delivery jobs per lane that one worker process runs at once. A push job keeps many pushes in
/// flight (the lane's window is shared by its jobs), so a few jobs fill it; SMS and e-mail are
/// held to their providers' rates, and calls to the voice gateway's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneJobs {
    pub push: usize,
    pub sms: usize,
    pub email: usize,
    pub voice: usize,
}

impl Default for LaneJobs {
    fn default() -> Self {
        Self { push: 8, sms: 4, email: 2, voice: 2 }
    }
}

fn delivery_settings(env: &Env) -> Result<DeliverySettings, ConfigError> {
    let defaults = DeliverySettings::default();
    let rate = |variable: &'static str, default: Option<Rate>| {
        env.or(variable, default, |raw| match raw {
            "none" => Ok(None),
            raw => Rate::parse(raw).map(Some),
        })
    };
    Ok(DeliverySettings {
        batch_size: env.or("BURGERNET_FANOUT_BATCH_SIZE", defaults.batch_size, parse::positive_number)?,
        sms_fallback_after: env.or(
            "BURGERNET_SMS_FALLBACK_AFTER",
            defaults.sms_fallback_after,
            parse::duration,
        )?,
        push_lifetime: env.or("BURGERNET_PUSH_LIFETIME", defaults.push_lifetime, parse::duration)?,
        push_window: env.or("BURGERNET_PUSH_WINDOW", defaults.push_window, parse::positive_number)?,
        sms_window: env.or("BURGERNET_SMS_CONCURRENCY", defaults.sms_window, parse::positive_number)?,
        email_window: env.or("BURGERNET_EMAIL_CONCURRENCY", defaults.email_window, parse::positive_number)?,
        voice_window: env.or("BURGERNET_VOICE_CONCURRENCY", defaults.voice_window, parse::positive_number)?,
        apns_rate: rate("BURGERNET_APNS_RATE", defaults.apns_rate)?,
        fcm_rate: rate("BURGERNET_FCM_RATE", defaults.fcm_rate)?,
        sms_rate: rate("BURGERNET_SMS_RATE", defaults.sms_rate)?,
        email_rate: rate("BURGERNET_EMAIL_RATE", defaults.email_rate)?,
        voice_rate: rate("BURGERNET_VOICE_RATE", defaults.voice_rate)?,
        municipal_email_rate: env.or(
            "BURGERNET_MUNICIPAL_EMAIL_RATE",
            defaults.municipal_email_rate,
            Rate::parse,
        )?,
        recruitment_check: env.or(
            "BURGERNET_RECRUITMENT_CHECK_INTERVAL",
            defaults.recruitment_check,
            parse::duration,
        )?,
        ..defaults
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{DatabaseConfig, MigrationConfig};

    #[test]
    fn the_participation_target_is_a_percentage_ten_by_default() {
        let target = |pairs: Vec<(&str, &str)>| {
            ReportSettings::from_env(&Env::from_pairs(pairs)).map(|s| s.participation_target_percent)
        };
        assert_eq!(target(vec![]).unwrap(), 10.0);
        assert_eq!(target(vec![("BURGERNET_PARTICIPATION_TARGET_PERCENT", "7.5")]).unwrap(), 7.5);
        for wrong in ["0", "-1", "100.5", "ten", "NaN"] {
            assert!(target(vec![("BURGERNET_PARTICIPATION_TARGET_PERCENT", wrong)]).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_console_signs_in_with_the_staff_issuer_and_shows_pdok_by_default() {
        let env = Env::from_pairs([
            ("BURGERNET_STAFF_TOKEN_ISSUER", "https://idp.politie.test/realms/burgernet"),
            ("BURGERNET_PUBLIC_URL", "https://api.burgernet.test/"),
        ]);
        let console = ConsoleConfig::from_env(&env).unwrap();
        assert_eq!(console.oidc_issuer, "https://idp.politie.test/realms/burgernet");
        assert_eq!(console.oidc_client_id, "burgernet-console");
        assert_eq!(console.redirect_uri, "https://api.burgernet.test/console/");
        let tiles = console.tiles.expect("PDOK by default");
        assert_eq!(tiles.url_template, PDOK_BRT_TILES);
        assert!(tiles.attribution.contains("Kadaster"), "{}", tiles.attribution);
        assert_eq!(console.media_origin, None);
    }

    #[test]
    fn console_tiles_are_none_or_an_https_template_and_the_media_origin_is_an_origin() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut all = vec![
                ("BURGERNET_STAFF_TOKEN_ISSUER", "https://idp.test"),
                ("BURGERNET_PUBLIC_URL", "https://api.test"),
            ];
            all.extend_from_slice(pairs);
            ConsoleConfig::from_env(&Env::from_pairs(all))
        };
        assert_eq!(with(&[("BURGERNET_CONSOLE_TILES", "none")]).unwrap().tiles, None);
        let own = with(&[("BURGERNET_CONSOLE_TILES", "https://tiles.test/{z}/{x}/{y}.png")]).unwrap();
        assert_eq!(own.tiles.unwrap().attribution, "", "no credit line is invented for another service");
        assert!(with(&[("BURGERNET_CONSOLE_TILES", "http://127.0.0.1:9000/{z}/{x}/{y}.png")]).is_ok());
        for wrong in
            ["http://tiles.test/{z}/{x}/{y}.png", "https://tiles.test/{z}/{x}.png", "tiles.test/{z}/{x}/{y}"]
        {
            let error = with(&[("BURGERNET_CONSOLE_TILES", wrong)]).unwrap_err();
            assert_eq!(error.variable, "BURGERNET_CONSOLE_TILES", "{wrong}");
        }
        let media = with(&[("BURGERNET_CONSOLE_MEDIA_ORIGIN", "https://media.burgernet.test")]).unwrap();
        assert_eq!(media.media_origin.as_deref(), Some("https://media.burgernet.test"));
        let error = with(&[("BURGERNET_CONSOLE_MEDIA_ORIGIN", "https://media.test/bucket")]).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_CONSOLE_MEDIA_ORIGIN");
    }

    #[test]
    fn missing_required_variable_is_named() {
        let error = DatabaseConfig::from_env(&Env::default()).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL");
        assert_eq!(error.to_string(), "configuration error in DATABASE_URL: is required but not set");
    }

    #[test]
    fn malformed_value_is_named_without_echoing_secrets() {
        let env = Env::from_pairs([("DATABASE_URL", "mysql://root:hunter2@db")]);
        let error = DatabaseConfig::from_env(&env).unwrap_err();
        assert_eq!(error.variable, "DATABASE_URL");
        assert!(!error.to_string().contains("hunter2"));
    }

    #[test]
    fn an_unknown_sslmode_stops_start_up_naming_it_without_the_password() {
        let env = Env::from_pairs([("DATABASE_URL", "postgres://app:hunter2@db/burgernet?sslmode=verify")]);
        let error = DatabaseConfig::from_env(&env).unwrap_err().to_string();
        assert!(error.contains("DATABASE_URL") && error.contains("sslmode \"verify\""), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let env = Env::from_pairs([(
            "DATABASE_URL",
            "postgres://app:hunter2@db/burgernet?sslmode=verify-full&sslrootcert=/etc/burgernet/database-ca/ca.crt",
        )]);
        assert!(DatabaseConfig::from_env(&env).is_ok());
    }

    #[test]
    fn defaults_apply_and_values_parse() {
        let env = Env::from_pairs([
            ("DATABASE_URL", "postgres://localhost/burgernet"),
            ("BURGERNET_DB_POOL_SIZE", "4"),
        ]);
        let config = DatabaseConfig::from_env(&env).unwrap();
        assert_eq!(config.pool_size, 4);
        let workers = WorkerConfig::from_env(&Env::from_pairs([("BURGERNET_JOB_LEASE", "90s")])).unwrap();
        assert_eq!(workers.lease, Duration::from_secs(90));
        assert_eq!(workers.concurrency, 8);
        assert_eq!(workers.bind, SocketAddr::from(([0, 0, 0, 0], 8081)));
    }

    #[test]
    fn the_worker_listens_where_it_is_told() {
        let env = Env::from_pairs([("BURGERNET_WORKER_BIND", "127.0.0.1:9101")]);
        assert_eq!(WorkerConfig::from_env(&env).unwrap().bind, SocketAddr::from(([127, 0, 0, 1], 9101)));
        let error =
            WorkerConfig::from_env(&Env::from_pairs([("BURGERNET_WORKER_BIND", "8081")])).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_WORKER_BIND");
    }

    #[test]
    fn wrong_shapes_are_rejected() {
        for (variable, value) in [
            ("BURGERNET_WORKER_CONCURRENCY", "0"),
            ("BURGERNET_WORKER_CONCURRENCY", "many"),
            ("BURGERNET_JOB_LEASE", "soon"),
            ("BURGERNET_JOB_LEASE", "1s"),
            ("BURGERNET_JOB_POLL_INTERVAL", "0s"),
        ] {
            let error = WorkerConfig::from_env(&Env::from_pairs([(variable, value)])).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
        }
        let error = LogConfig::from_env(&Env::from_pairs([("BURGERNET_LOG_FORMAT", "xml")]), LogFormat::Json)
            .unwrap_err();
        assert_eq!(error.variable, "BURGERNET_LOG_FORMAT");
    }

    #[test]
    fn a_short_previous_participant_secret_is_refused_without_echoing_it() {
        let env = Env::from_pairs([
            ("BURGERNET_PARTICIPANT_TOKEN_SECRET", "0123456789abcdef0123456789abcdef-current"),
            ("BURGERNET_PARTICIPANT_TOKEN_PREVIOUS_SECRET", "hunter2"),
        ]);
        let error = ParticipantTokenConfig::from_env(&env).unwrap_err();
        assert_eq!(error.variable, "BURGERNET_PARTICIPANT_TOKEN_PREVIOUS_SECRET");
        assert!(!error.to_string().contains("hunter2"));
        let without = Env::from_pairs([(
            "BURGERNET_PARTICIPANT_TOKEN_SECRET",
            "0123456789abcdef0123456789abcdef-current",
        )]);
        assert!(ParticipantTokenConfig::from_env(&without).unwrap().previous_key.is_none());
    }

    #[test]
    fn the_margin_across_a_region_border_is_a_distance_up_to_50_km() {
        let margin = |value: &str| {
            ApiConfig::alert_areas_from_env(&Env::from_pairs([("BURGERNET_ALERT_REGION_MARGIN", value)]))
                .map(|limits| limits.region_margin_meters)
        };
        assert_eq!(ApiConfig::alert_areas_from_env(&Env::default()).unwrap(), AreaLimits::default());
        assert_eq!(AreaLimits::default().region_margin_meters, 5_000.0);
        for (value, meters) in
            [("5km", 5_000.0), ("2.5km", 2_500.0), ("800m", 800.0), ("0", 0.0), ("50km", 50_000.0)]
        {
            assert_eq!(margin(value), Ok(meters), "{value}");
        }
        for value in ["5", "-1km", "51km", "5 miles", "km", "NaNkm"] {
            assert_eq!(margin(value).unwrap_err().variable, "BURGERNET_ALERT_REGION_MARGIN", "{value}");
        }
    }

    #[test]
    fn staff_token_keys_come_from_a_file_or_from_a_jwks_url() {
        let env = |pairs: &[(&str, &str)]| {
            let mut all = vec![
                ("BURGERNET_STAFF_TOKEN_ISSUER", "https://idp.politie.test"),
                ("BURGERNET_STAFF_TOKEN_AUDIENCE", "burgernet-api"),
            ];
            all.extend_from_slice(pairs);
            Env::from_pairs(all)
        };
        let url = "https://idp.politie.test/realms/politie/protocol/openid-connect/certs";
        assert!(StaffTokenConfig::from_env(&env(&[("BURGERNET_STAFF_TOKEN_JWKS_URL", url)])).is_ok());
        // A query is part of some identity providers' key URLs (Azure AD B2C's policy).
        let with_query =
            "https://tenant.b2clogin.com/tenant.onmicrosoft.com/discovery/v2.0/keys?p=b2c_1_signin";
        assert!(StaffTokenConfig::from_env(&env(&[("BURGERNET_STAFF_TOKEN_JWKS_URL", with_query)])).is_ok());

        // Keys fetched over plain HTTP could be swapped on the way: only for this machine.
        let error =
            StaffTokenConfig::from_env(&env(&[("BURGERNET_STAFF_TOKEN_JWKS_URL", "http://idp.test/certs")]))
                .unwrap_err();
        assert_eq!(error.variable, "BURGERNET_STAFF_TOKEN_JWKS_URL");
        assert!(
            StaffTokenConfig::from_env(&env(&[(
                "BURGERNET_STAFF_TOKEN_JWKS_URL",
                "http://127.0.0.1:8089/jwks"
            )]))
            .is_ok()
        );

        let both =
            env(&[("BURGERNET_STAFF_TOKEN_JWKS_URL", url), ("BURGERNET_STAFF_TOKEN_KEYS", "/keys.pem")]);
        assert!(StaffTokenConfig::from_env(&both).unwrap_err().problem.contains("not both"));
        let neither = StaffTokenConfig::from_env(&env(&[])).unwrap_err();
        assert_eq!(neither.variable, "BURGERNET_STAFF_TOKEN_KEYS");
        assert!(neither.problem.contains("BURGERNET_STAFF_TOKEN_JWKS_URL"), "{neither}");
    }

    #[test]
    fn the_application_role_is_a_plain_role_name() {
        let role = |value: &str| {
            MigrationConfig::from_env(&Env::from_pairs([("BURGERNET_DATABASE_APP_ROLE", value)]))
        };
        assert_eq!(role("burgernet_app").unwrap().app_role.as_deref(), Some("burgernet_app"));
        assert_eq!(MigrationConfig::from_env(&Env::default()).unwrap().app_role, None);
        for value in ["Burgernet", "app\"; DROP TABLE alerts; --", "1app", "app-role"] {
            assert_eq!(role(value).unwrap_err().variable, "BURGERNET_DATABASE_APP_ROLE", "{value}");
        }
    }

    #[test]
    fn blank_values_count_as_unset() {
        let env = Env::from_pairs([("DATABASE_URL", "   ")]);
        assert_eq!(DatabaseConfig::from_env(&env).unwrap_err().problem, "is required but not set");
    }

    #[test]
    fn tariffs_are_euros_with_at_most_six_decimals() {
        let tariffs =
            |pairs: &[(&'static str, &'static str)]| tariffs_from_env(&Env::from_pairs(pairs.to_vec()));
        assert_eq!(tariffs(&[]).unwrap(), Tariffs::default());
        assert_eq!(Tariffs::default().sms_segment_micros, 70_000, "€ 0.07 a segment");
        let set = tariffs(&[
            ("BURGERNET_TARIFF_SMS_SEGMENT_EUR", "0.0625"),
            ("BURGERNET_TARIFF_PUSH_EUR", "0"),
            ("BURGERNET_TARIFF_EMAIL_EUR", "0.000001"),
            ("BURGERNET_TARIFF_VOICE_MINUTE_EUR", "1.5"),
        ])
        .unwrap();
        assert_eq!(
            set,
            Tariffs {
                sms_segment_micros: 62_500,
                push_micros: 0,
                email_micros: 1,
                voice_minute_micros: 1_500_000
            }
        );
        for value in ["-0.07", "0,07", "0.0000001", "€0.07", "1e-2", ".07", "7.", "1001", "NaN"] {
            let refused = tariffs(&[("BURGERNET_TARIFF_SMS_SEGMENT_EUR", value)]).unwrap_err();
            assert_eq!(refused.variable, "BURGERNET_TARIFF_SMS_SEGMENT_EUR", "{value}");
        }
    }
}
