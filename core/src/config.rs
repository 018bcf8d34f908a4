//! Configuration comes from environment variables only. Each process reads them once at start
//! into typed values; a missing or malformed value stops start-up with a message that names
//! the variable. The README lists every variable; keep it in step with this file.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::alerts::area::{AreaLimits, MAX_REGION_MARGIN_METERS};
use crate::alerts::delivery::DeliverySettings;
use crate::alerts::delivery::throttle::Rate;
use crate::auth::jwks::JwksUrl;
use crate::auth::participant::ParticipantTokenKey;
use crate::auth::staff::{StaffKeySource, StaffKeys, StaffTokenAlgorithms};
use crate::participants::sign_in::SignInPolicy;
use crate::providers::apns::ApnsConfig;
use crate::providers::email::SmtpConfig;
use crate::providers::fcm::FcmConfig;
use crate::providers::sms::SmsGatewayConfig;
use crate::secret::Secret;

/// A configuration value that is missing or wrong. Never carries the value itself: it may be a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error in {variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// A snapshot of the environment variables, read once.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets: show only which variables are set.
        f.debug_struct("Env").field("variables", &self.vars.keys().collect::<Vec<_>>()).finish()
    }
}

impl Env {
    pub fn from_process() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// Returns a copy with `name` set, unless it is set already (used by `dev` for its defaults).
    pub fn with_default(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.entry(name.to_string()).or_insert_with(|| value.into());
        self
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str).filter(|value| !value.trim().is_empty())
    }

    pub fn required<T>(
        &self,
        variable: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let raw = self
            .raw(variable)
            .ok_or_else(|| ConfigError { variable, problem: "is required but not set".into() })?;
        parse(raw.trim()).map_err(|problem| ConfigError { variable, problem })
    }

    pub fn optional<T>(
        &self,
        variable: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        match self.raw(variable) {
            None => Ok(None),
            Some(raw) => parse(raw.trim()).map(Some).map_err(|problem| ConfigError { variable, problem }),
        }
    }

    pub fn or<T>(
        &self,
        variable: &'static str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        Ok(self.optional(variable, parse)?.unwrap_or(default))
    }
}

/// Parsers for the value shapes our variables use.
pub mod parse {
    use super::*;

    pub fn text(raw: &str) -> Result<String, String> {
        Ok(raw.to_string())
    }

    pub fn number<T: FromStr>(raw: &str) -> Result<T, String> {
        raw.parse().map_err(|_| format!("expected a whole number, got {raw:?}"))
    }

    pub fn positive_number<T: FromStr + PartialOrd + Default>(raw: &str) -> Result<T, String> {
        let value: T = number(raw)?;
        if value > T::default() { Ok(value) } else { Err(format!("must be greater than zero, got {raw:?}")) }
    }

    /// Durations such as `30s`, `15m`, `2h`.
    pub fn duration(raw: &str) -> Result<Duration, String> {
        let value = humantime::parse_duration(raw)
            .map_err(|_| format!("expected a duration such as 30s, 15m or 2h, got {raw:?}"))?;
        if value.is_zero() { Err("must be longer than zero".into()) } else { Ok(value) }
    }

    /// Distances such as `5km`, `2.5km` or `800m` (`0`: none), in metres.
    pub fn distance(raw: &str) -> Result<f64, String> {
        let wrong = || format!("expected a distance such as 5km or 800m, got {raw:?}");
        let (number, meters_per_unit) = if let Some(number) = raw.strip_suffix("km") {
            (number, 1_000.0)
        } else if let Some(number) = raw.strip_suffix('m') {
            (number, 1.0)
        } else if raw == "0" {
            (raw, 1.0)
        } else {
            return Err(wrong());
        };
        let value: f64 = number.trim().parse().map_err(|_| wrong())?;
        if !value.is_finite() || value < 0.0 {
            return Err(wrong());
        }
        Ok(value * meters_per_unit)
    }

    /// An `http://` or `https://` base URL: a host, optionally a path prefix, nothing else (no
    /// credentials, query or fragment). Kept without a trailing slash. The value is not echoed:
    /// a URL may carry credentials.
    pub fn http_url(raw: &str) -> Result<String, String> {
        let expected = "expected an http:// or https:// URL such as https://api.burgernet.nl, without \
                        user name, password, query or fragment";
        let uri: hyper::Uri = raw.parse().map_err(|_| expected.to_string())?;
        let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
        let Some(authority) = uri.authority() else { return Err(expected.into()) };
        if !scheme_ok
            || authority.host().is_empty()
            || authority.as_str().contains('@')
            || raw.contains(['?', '#'])
        {
            return Err(expected.into());
        }
        Ok(raw.trim_end_matches('/').to_string())
    }

    pub fn socket_addr(raw: &str) -> Result<SocketAddr, String> {
        raw.parse().map_err(|_| format!("expected an address such as 0.0.0.0:8080, got {raw:?}"))
    }

    /// Whether `name` is a PostgreSQL identifier as written unquoted: lowercase letters, digits and
    /// `_`, not starting with a digit, at most 63 characters. Role and database names that go into
    /// SQL statements (which cannot take them as parameters) must be.
    pub fn is_plain_identifier(name: &str) -> bool {
        (1..=63).contains(&name.len())
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }

    /// A PostgreSQL role name as created unquoted (see [`is_plain_identifier`]).
    pub fn database_role(raw: &str) -> Result<String, String> {
        if is_plain_identifier(raw) {
            Ok(raw.to_string())
        } else {
            Err(format!("expected a role name of lowercase letters, digits and _, got {raw:?}"))
        }
    }

    pub fn postgres_url(raw: &str) -> Result<Secret<String>, String> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            // Its sslmode and the rest, so a typo stops start-up rather than the first connection.
            crate::db::tls::check_url(raw)?;
            Ok(Secret::new(raw.to_string()))
        } else {
            // Do not echo the value: it may hold a password.
            Err("expected a URL starting with postgres:// or postgresql://".into())
        }
    }
}

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
pub struct DatabaseConfig {
    pub url: Secret<String>,
    pub pool_size: usize,
}

impl DatabaseConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            url: env.required("DATABASE_URL", parse::postgres_url)?,
            pool_size: env.or("BURGERNET_DB_POOL_SIZE", 16, parse::positive_number)?,
        })
    }
}

/// What `migrate` needs besides `DATABASE_URL` (the migration role's, which owns the schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationConfig {
    /// The role the API and the workers connect as (`BURGERNET_DATABASE_APP_ROLE`): after
    /// migrating, `migrate` grants it what the application needs and no more, so it cannot change
    /// or delete the dossier. None: the application shares the migration role (tests, small
    /// installs).
    pub app_role: Option<String>,
}

impl MigrationConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self { app_role: env.optional("BURGERNET_DATABASE_APP_ROLE", parse::database_role)? })
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
    /// How many reverse proxies in front of the API append to `X-Forwarded-For`; the client
    /// address is the entry that many places from the right. 0: the connection's peer address.
    pub trusted_proxy_hops: usize,
    pub messaging: MessagingConfig,
    pub alert_areas: AreaLimits,
    pub tips: crate::alerts::tips::TipSettings,
    pub media: crate::media::MediaSettings,
    pub event_streams: EventStreamSettings,
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
            trusted_proxy_hops: env.or("BURGERNET_TRUSTED_PROXY_HOPS", 0, parse::number)?,
            messaging: MessagingConfig::from_env(env)?,
            alert_areas: Self::alert_areas_from_env(env)?,
            tips: crate::alerts::tips::TipSettings::from_env(env)?,
            media: crate::media::MediaSettings::from_env(env)?,
            event_streams: EventStreamSettings::from_env(env)?,
        })
    }
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

/// How messages reach participants. Without a gateway or SMTP server only local mode can run:
/// it uses its local stand-in instead.
#[derive(Debug, Clone)]
pub struct MessagingConfig {
    pub apns: Option<ApnsConfig>,
    pub fcm: Option<FcmConfig>,
    pub sms: Option<SmsGatewayConfig>,
    pub smtp: Option<SmtpConfig>,
    /// The API's public base URL, used in links sent to participants.
    pub public_url: String,
}

impl MessagingConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            apns: ApnsConfig::from_env(env)?,
            fcm: FcmConfig::from_env(env)?,
            sms: SmsGatewayConfig::from_env(env)?,
            smtp: SmtpConfig::from_env(env)?,
            public_url: env.required("BURGERNET_PUBLIC_URL", parse::http_url)?,
        })
    }

    /// For `serve` and `work`: real providers are required.
    pub fn require_providers(&self) -> Result<(), ConfigError> {
        if self.sms.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_SMS_GATEWAY_URL",
                problem: "is required: sign-in codes and notices go out by SMS".into(),
            });
        }
        if self.smtp.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_SMTP_URL",
                problem: "is required: e-mail verification and notices go out by e-mail".into(),
            });
        }
        Ok(())
    }

    /// For `work`: alerts go out by push, so both push providers are required too.
    pub fn require_push_providers(&self) -> Result<(), ConfigError> {
        if self.apns.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_APNS_KEY_FILE",
                problem: "is required: alerts reach iPhones through APNs".into(),
            });
        }
        if self.fcm.is_none() {
            return Err(ConfigError {
                variable: "BURGERNET_FCM_SERVICE_ACCOUNT_FILE",
                problem: "is required: alerts reach Android phones through FCM".into(),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct ParticipantTokenConfig {
    pub key: ParticipantTokenKey,
    /// The key being rotated out, still accepted for verification.
    pub previous_key: Option<ParticipantTokenKey>,
    pub access_token_ttl: Duration,
}

impl ParticipantTokenConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            key: env.required("BURGERNET_PARTICIPANT_TOKEN_SECRET", ParticipantTokenKey::parse)?,
            previous_key: env
                .optional("BURGERNET_PARTICIPANT_TOKEN_PREVIOUS_SECRET", ParticipantTokenKey::parse)?,
            access_token_ttl: env.or(
                "BURGERNET_PARTICIPANT_ACCESS_TOKEN_TTL",
                Duration::from_secs(15 * 60),
                parse::duration,
            )?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct StaffTokenConfig {
    pub issuer: String,
    pub audience: String,
    pub keys: StaffKeySource,
    pub algorithms: StaffTokenAlgorithms,
}

impl StaffTokenConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        const FILE: &str = "BURGERNET_STAFF_TOKEN_KEYS";
        const URL: &str = "BURGERNET_STAFF_TOKEN_JWKS_URL";
        let keys = match (env.is_set(FILE), env.is_set(URL)) {
            (true, true) => {
                return Err(ConfigError {
                    variable: URL,
                    problem: format!("set either {FILE} or {URL}, not both"),
                });
            }
            (false, true) => StaffKeySource::Url(env.required(URL, JwksUrl::parse)?),
            (true, false) => StaffKeySource::Fixed(
                env.required(FILE, |raw| StaffKeys::load(PathBuf::from(raw).as_path()))?,
            ),
            (false, false) => {
                return Err(ConfigError {
                    variable: FILE,
                    problem: format!("is required unless {URL} is set"),
                });
            }
        };
        Ok(Self {
            issuer: env.required("BURGERNET_STAFF_TOKEN_ISSUER", parse::text)?,
            audience: env.required("BURGERNET_STAFF_TOKEN_AUDIENCE", parse::text)?,
            keys,
            algorithms: env.or(
                "BURGERNET_STAFF_TOKEN_ALGORITHMS",
                StaffTokenAlgorithms::default(),
                StaffTokenAlgorithms::parse,
            )?,
        })
    }
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
/// held to their providers' rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneJobs {
    pub push: usize,
    pub sms: usize,
    pub email: usize,
}

impl Default for LaneJobs {
    fn default() -> Self {
        Self { push: 8, sms: 4, email: 2 }
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
        apns_rate: rate("BURGERNET_APNS_RATE", defaults.apns_rate)?,
        fcm_rate: rate("BURGERNET_FCM_RATE", defaults.fcm_rate)?,
        sms_rate: rate("BURGERNET_SMS_RATE", defaults.sms_rate)?,
        email_rate: rate("BURGERNET_EMAIL_RATE", defaults.email_rate)?,
        ..defaults
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
