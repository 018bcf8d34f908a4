//! Logs: JSON lines in production (one object per line, with the request span's fields such as
//! `request_id`), readable text in local mode.

use burgernet_core::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

pub fn init(config: &LogConfig) -> anyhow::Result<()> {
    // Held at info whatever the filter says, because their debug messages carry personal data:
    // actix-web quotes raw request paths, tokio-postgres logs every bound query parameter.
    let filter = EnvFilter::try_new(format!("{},actix_web=info,tokio_postgres=info", config.filter))
        .map_err(|error| anyhow::anyhow!("configuration error in BURGERNET_LOG: {error}"))?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match config.format {
        LogFormat::Json => {
            builder.json().with_current_span(true).with_span_list(false).flatten_event(true).init()
        }
        LogFormat::Pretty => builder.compact().init(),
    }
    Ok(())
}
