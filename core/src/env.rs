//! The environment reader: configuration comes from environment variables only. Each process
//! reads them once at start into typed values; a missing or malformed value stops start-up with a
//! message that names the variable. Each module reads its own settings with these; `config`
//! assembles them per process. The README lists every variable.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

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
}
