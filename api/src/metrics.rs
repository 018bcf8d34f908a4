//! Prometheus metrics of the API process: requests by route and status, their latency, database
//! pool usage, the job queue (read from the database at each scrape; only the API reports it, so
//! it is not counted twice), and the deliveries whose arrival the API learns of (SMS delivery
//! receipts, app receipts), and the live event streams of alerts with the polls feeding them. The
//! workers expose what happens while delivering (`burgernet_core::metrics`).

use burgernet_core::db::{self, DbPool};
use burgernet_core::metrics::{self as shared, DeliveryCounter, ProviderErrorCounter};
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    pool_connections: IntGaugeVec,
    jobs: IntGaugeVec,
    queue_depth: IntGaugeVec,
    queue_oldest_age: GaugeVec,
    dead_jobs: IntGaugeVec,
    /// Deliveries confirmed by the SMS gateway or the app.
    pub deliveries: DeliveryCounter,
    /// Errors of the SMS gateway when sending sign-in codes.
    pub provider_errors: ProviderErrorCounter,
    pub event_streams: EventStreamMetrics,
}

/// The live event streams of alerts ([`crate::alert_events`]).
#[derive(Clone)]
pub struct EventStreamMetrics {
    /// Streams open now.
    pub open: IntGauge,
    /// Streams refused by a limit (`per_staff_member`, `per_process`).
    pub refused: IntCounterVec,
    /// Alerts being polled for their viewers now: one each, however many watch it.
    pub pollers: IntGauge,
    /// Reads of an alert's progress by the pollers.
    pub polls: IntCounter,
}

impl EventStreamMetrics {
    fn register(registry: &Registry) -> Self {
        let open = IntGauge::new("alert_event_streams_open", "Live event streams of alerts open now.")
            .expect("valid metric");
        let refused = IntCounterVec::new(
            Opts::new(
                "alert_event_streams_refused_total",
                "Event streams refused by a limit: per_staff_member or per_process.",
            ),
            &["limit"],
        )
        .expect("valid metric");
        let pollers = IntGauge::new(
            "alert_event_stream_pollers",
            "Alerts whose progress is being polled for their event streams now: one poller per \
             alert, however many streams watch it.",
        )
        .expect("valid metric");
        let polls = IntCounter::new(
            "alert_event_stream_polls_total",
            "Reads of an alert's progress (status, new dossier entries, counters) by the pollers.",
        )
        .expect("valid metric");
        for collector in [
            Box::new(open.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refused.clone()),
            Box::new(pollers.clone()),
            Box::new(polls.clone()),
        ] {
            registry.register(collector).expect("metric registered once");
        }
        Self { open, refused, pollers, polls }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = shared::new_registry();
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
        let by_job_type = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(name, help), &["job_type"]).expect("valid metric")
        };
        let queue_depth =
            by_job_type("job_queue_depth", "Queued background jobs whose run_at has come, by job type.");
        let queue_oldest_age = GaugeVec::new(
            Opts::new(
                "job_queue_oldest_age_seconds",
                "Seconds the oldest due queued job has waited past its run_at, by job type; 0 when \
                 none is due.",
            ),
            &["job_type"],
        )
        .expect("valid metric");
        let dead_jobs = by_job_type(
            "dead_jobs",
            "Background jobs that failed for good (state failed, kept for inspection), by job type.",
        );
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_duration.clone()),
            Box::new(pool_connections.clone()),
            Box::new(jobs.clone()),
            Box::new(queue_depth.clone()),
            Box::new(queue_oldest_age.clone()),
            Box::new(dead_jobs.clone()),
        ] {
            registry.register(collector).expect("metric registered once");
        }
        let deliveries = DeliveryCounter::register(&registry);
        let provider_errors = ProviderErrorCounter::register(&registry);
        let event_streams = EventStreamMetrics::register(&registry);
        Self {
            registry,
            requests,
            request_duration,
            pool_connections,
            jobs,
            queue_depth,
            queue_oldest_age,
            dead_jobs,
            deliveries,
            provider_errors,
            event_streams,
        }
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
        self.queue_depth.reset();
        self.queue_oldest_age.reset();
        self.dead_jobs.reset();
        match pool.get().await {
            Ok(mut conn) => {
                match db::jobs::count_by_type_and_state(&mut conn).await {
                    Ok(counts) => {
                        for (job_type, state, count) in counts {
                            self.jobs.with_label_values(&[job_type.as_str(), state.as_str()]).set(count);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot count background jobs for metrics"),
                }
                match db::jobs::queue_health(&mut conn, &burgernet_core::application::JOB_TYPES).await {
                    Ok(queues) => {
                        for queue in queues {
                            let job_type = [queue.job_type.as_str()];
                            self.queue_depth.with_label_values(&job_type).set(queue.due);
                            self.queue_oldest_age.with_label_values(&job_type).set(queue.oldest_due_seconds);
                            self.dead_jobs.with_label_values(&job_type).set(queue.dead);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot read the job queue for metrics"),
                }
            }
            Err(error) => tracing::warn!(%error, "no database connection for metrics"),
        }
        shared::encode(&self.registry)
    }
}
