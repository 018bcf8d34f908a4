//! Prometheus metrics: requests by route and status, their latency, database pool usage and
//! background jobs by type and state.

use burgernet_core::db::{self, DbPool};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    pool_connections: IntGaugeVec,
    jobs: IntGaugeVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("burgernet".into()), None).expect("valid registry prefix");
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route pattern, method and status."),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route pattern and status.",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "db_pool_connections",
                "Database pool connections by state (in_use, idle, max, waiting).",
            ),
            &["state"],
        )
        .expect("valid metric");
        let jobs = IntGaugeVec::new(
            Opts::new("background_jobs", "Background jobs in the queue by job type and state."),
            &["job_type", "state"],
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_duration.clone()),
            Box::new(pool_connections.clone()),
            Box::new(jobs.clone()),
        ] {
            registry.register(collector).expect("metric registered once");
        }
        Self { registry, requests, request_duration, pool_connections, jobs }
    }

    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [route, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.request_duration.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, with pool and queue gauges read fresh. If the database cannot be
    /// reached the job gauges are left out rather than failing the scrape.
    pub async fn render(&self, pool: &DbPool) -> String {
        let status = pool.status();
        let in_use = status.size.saturating_sub(status.available);
        self.pool_connections.with_label_values(&["in_use"]).set(in_use as i64);
        self.pool_connections.with_label_values(&["idle"]).set(status.available as i64);
        self.pool_connections.with_label_values(&["max"]).set(status.max_size as i64);
        self.pool_connections.with_label_values(&["waiting"]).set(status.waiting as i64);

        self.jobs.reset();
        match pool.get().await {
            Ok(mut conn) => match db::jobs::count_by_type_and_state(&mut conn).await {
                Ok(counts) => {
                    for (job_type, state, count) in counts {
                        self.jobs.with_label_values(&[job_type.as_str(), state.as_str()]).set(count);
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot count background jobs for metrics"),
            },
            Err(error) => tracing::warn!(%error, "no database connection for metrics"),
        }

        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer).expect("text encoding cannot fail");
        String::from_utf8(buffer).expect("prometheus text is UTF-8")
    }
}
