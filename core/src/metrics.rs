//! The Prometheus metrics of delivering alerts, shared by the processes that expose them: the
//! workers count hand-overs, provider errors and the time from send to push; the API counts the
//! arrivals it learns of (SMS delivery receipts, app receipts). Each process owns a [`Registry`]
//! (from [`new_registry`]) and hands the handles below to the code where outcomes happen.
//!
//! Label values are closed sets or sanitised codes ([`error_code_label`]): never a phone number,
//! token, address or position, and never unbounded.

use prometheus::{Encoder, Histogram, HistogramOpts, IntCounterVec, Opts, Registry, TextEncoder};

use crate::vocabulary::Channel;
use crate::vocabulary::devices::Platform;

/// The media type of the text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A registry whose metric names all start with `burgernet_`.
pub fn new_registry() -> Registry {
    Registry::new_custom(Some("burgernet".into()), None).expect("valid registry prefix")
}

/// The text exposition of everything in `registry`.
pub fn encode(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut buffer).expect("text encoding cannot fail");
    String::from_utf8(buffer).expect("prometheus text is UTF-8")
}

/// How a delivery ended, as `burgernet_deliveries_total` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryResult {
    /// The provider accepted it.
    Sent,
    /// A passing failure; it will be tried again.
    Retrying,
    /// Failed for good.
    Failed,
    /// The provider or the device confirmed arrival.
    Delivered,
}

impl DeliveryResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
            Self::Delivered => "delivered",
        }
    }
}

/// `burgernet_deliveries_total{channel, result}`.
#[derive(Clone)]
pub struct DeliveryCounter {
    deliveries: IntCounterVec,
}

impl DeliveryCounter {
    pub fn register(registry: &Registry) -> Self {
        let deliveries = IntCounterVec::new(
            Opts::new(
                "deliveries_total",
                "Alert deliveries by channel (push, sms, email) and result: sent (accepted by the \
                 provider), retrying (a passing failure), failed (for good), delivered (arrival \
                 confirmed by the SMS gateway or the app).",
            ),
            &["channel", "result"],
        )
        .expect("valid metric");
        registry.register(Box::new(deliveries.clone())).expect("metric registered once");
        Self { deliveries }
    }

    pub fn count(&self, channel: Channel, result: DeliveryResult, deliveries: u64) {
        self.deliveries.with_label_values(&[channel.as_str(), result.as_str()]).inc_by(deliveries);
    }
}

/// The provider behind an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSource {
    Apns,
    Fcm,
    Sms,
    Smtp,
    Voice,
}

impl ErrorSource {
    /// The push provider of a device's platform: APNs for iOS, FCM for Android.
    pub fn push_provider(platform: Platform) -> Self {
        match platform {
            Platform::Ios => Self::Apns,
            Platform::Android => Self::Fcm,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apns => "apns",
            Self::Fcm => "fcm",
            Self::Sms => "sms",
            Self::Smtp => "smtp",
            Self::Voice => "voice",
        }
    }
}

/// Longest error code kept as a label value.
const MAX_CODE_LEN: usize = 40;

/// A provider's error code as a label value: the code itself when it looks like one (letters,
/// digits and `_`, at most 40 characters), else `other`, so a provider cannot grow the number of
/// series without bound.
pub fn error_code_label(code: &str) -> &str {
    let looks_like_a_code = (1..=MAX_CODE_LEN).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if looks_like_a_code { code } else { "other" }
}

/// `burgernet_provider_errors_total`: error answers from the providers, in whichever process
/// talks to them (the workers deliver; the API sends sign-in codes).
#[derive(Clone)]
pub struct ProviderErrorCounter {
    errors: IntCounterVec,
}

impl ProviderErrorCounter {
    pub fn register(registry: &Registry) -> Self {
        let errors = IntCounterVec::new(
            Opts::new(
                "provider_errors_total",
                "Errors from the delivery providers (apns, fcm, sms, smtp) by the provider's error \
                 code, the HTTP status when it gave none, or timeout/connect for transport failures.",
            ),
            &["provider", "code"],
        )
        .expect("valid metric");
        registry.register(Box::new(errors.clone())).expect("metric registered once");
        Self { errors }
    }

    /// Counts one error answer (or transport failure) of `source`; `code` is sanitised.
    pub fn count(&self, source: ErrorSource, code: &str) {
        self.errors.with_label_values(&[source.as_str(), error_code_label(code)]).inc();
    }
}

/// Seconds from an alert's send to its first and last push: the buckets of both histograms.
const PUSH_TIMING_BUCKETS: [f64; 11] = [1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];

/// What the workers measure of delivering alerts.
#[derive(Clone)]
pub struct DeliveryMetrics {
    pub deliveries: DeliveryCounter,
    pub provider_errors: ProviderErrorCounter,
    send_to_first_push: Histogram,
    send_to_last_push: Histogram,
}

impl DeliveryMetrics {
    pub fn register(registry: &Registry) -> Self {
        let histogram = |name: &str, help: &str| {
            let histogram =
                Histogram::with_opts(HistogramOpts::new(name, help).buckets(PUSH_TIMING_BUCKETS.to_vec()))
                    .expect("valid metric");
            registry.register(Box::new(histogram.clone())).expect("metric registered once");
            histogram
        };
        Self {
            deliveries: DeliveryCounter::register(registry),
            provider_errors: ProviderErrorCounter::register(registry),
            send_to_first_push: histogram(
                "alert_send_to_first_push_seconds",
                "Seconds from an alert's send to the first push its initial wave handed to a \
                 provider; observed once per alert when that wave is finished.",
            ),
            send_to_last_push: histogram(
                "alert_send_to_last_push_seconds",
                "Seconds from an alert's send to the last push its initial wave handed to a \
                 provider; observed once per alert when that wave is finished.",
            ),
        }
    }

    /// Observes one alert's initial wave: seconds from send to its first and last push.
    pub fn observe_push_timing(&self, to_first_push: f64, to_last_push: f64) {
        self.send_to_first_push.observe(to_first_push);
        self.send_to_last_push.observe(to_last_push);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_stay_bounded() {
        assert_eq!(error_code_label("BadDeviceToken"), "BadDeviceToken");
        assert_eq!(error_code_label("QUOTA_EXCEEDED"), "QUOTA_EXCEEDED");
        assert_eq!(error_code_label("503"), "503");
        assert_eq!(error_code_label(""), "other");
        assert_eq!(error_code_label("not a code"), "other");
        assert_eq!(error_code_label("x{le=\"1\"}"), "other");
        assert_eq!(error_code_label(&"A".repeat(40)), "A".repeat(40));
        assert_eq!(error_code_label(&"A".repeat(41)), "other");
    }

    #[test]
    fn metrics_are_exposed_with_the_prefix_and_their_labels() {
        let registry = new_registry();
        let metrics = DeliveryMetrics::register(&registry);
        metrics.deliveries.count(Channel::Push, DeliveryResult::Sent, 2);
        metrics.provider_errors.count(ErrorSource::Fcm, "UNAVAILABLE");
        metrics.provider_errors.count(ErrorSource::Apns, "+31612345678");
        metrics.observe_push_timing(0.5, 12.0);
        let text = encode(&registry);
        assert!(text.contains("burgernet_deliveries_total{channel=\"push\",result=\"sent\"} 2"), "{text}");
        assert!(text.contains("burgernet_provider_errors_total{code=\"UNAVAILABLE\",provider=\"fcm\"} 1"));
        assert!(text.contains("burgernet_provider_errors_total{code=\"other\",provider=\"apns\"} 1"));
        assert!(!text.contains("+316"));
        assert!(text.contains("burgernet_alert_send_to_first_push_seconds_bucket{le=\"1\"} 1"), "{text}");
        assert!(text.contains("burgernet_alert_send_to_last_push_seconds_bucket{le=\"10\"} 0"));
        assert!(text.contains("burgernet_alert_send_to_last_push_seconds_bucket{le=\"15\"} 1"));
        assert!(text.contains("burgernet_alert_send_to_last_push_seconds_count 1"));
    }
}
