//! The Prometheus registry behind `/metrics`: request counts and latencies by route template,
//! stage durations, and the service's live numbers (queue depth, live actors, restarts,
//! take-overs). The service's numbers are read at scrape time: [`Metrics::scrape`] drains the
//! stage durations finished since the last scrape into the histogram and sets the gauges.

use std::time::Duration;

use codebegen_actors::service::{Service, ServiceMetrics};
use codebegen_schema::generation::Stage;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// The metrics registry; cheap to clone (all clones share the same series). `nodes` creates one
/// and passes it to [`crate::AppState::new`]; anything else may record into it through its
/// methods or register its own collectors on [`Metrics::registry`].
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    stage_duration: HistogramVec,
    queue_depth: IntGauge,
    live_actors: IntGaugeVec,
    restarts: IntCounter,
    takeovers: IntCounter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every codebegen series registered.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "codebegen_http_requests_total",
                "HTTP requests by route template, method and status.",
            ),
            &["route", "method", "status"],
        )
        .expect("static metric definition is valid");
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "codebegen_http_request_duration_seconds",
                "Time to the response head, by route template.",
            )
            .buckets(vec![
                0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["route"],
        )
        .expect("static metric definition is valid");
        let stage_duration = HistogramVec::new(
            HistogramOpts::new(
                "codebegen_generation_stage_duration_seconds",
                "Generation stage durations, by stage.",
            )
            .buckets(vec![
                0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
            ]),
            &["stage"],
        )
        .expect("static metric definition is valid");
        let queue_depth = IntGauge::new(
            "codebegen_scheduler_queue_depth",
            "Requests waiting in the scheduler.",
        )
        .expect("static metric definition is valid");
        let live_actors = IntGaugeVec::new(
            Opts::new("codebegen_actors_live", "Live actors by kind."),
            &["kind"],
        )
        .expect("static metric definition is valid");
        let restarts = IntCounter::new(
            "codebegen_actors_restarts_total",
            "Actor restarts since the node started.",
        )
        .expect("static metric definition is valid");
        let takeovers = IntCounter::new(
            "codebegen_generation_takeovers_total",
            "Generations this node took over from a node whose lease had lapsed.",
        )
        .expect("static metric definition is valid");
        let metrics = Metrics {
            registry,
            requests,
            request_duration,
            stage_duration,
            queue_depth,
            live_actors,
            restarts,
            takeovers,
        };
        for collector in metrics.collectors() {
            metrics
                .registry
                .register(collector)
                .expect("each series is registered once, on a fresh registry");
        }
        metrics
    }

    fn collectors(&self) -> Vec<Box<dyn prometheus::core::Collector>> {
        vec![
            Box::new(self.requests.clone()),
            Box::new(self.request_duration.clone()),
            Box::new(self.stage_duration.clone()),
            Box::new(self.queue_depth.clone()),
            Box::new(self.live_actors.clone()),
            Box::new(self.restarts.clone()),
            Box::new(self.takeovers.clone()),
        ]
    }

    /// The underlying registry, to register more collectors.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts one request and its time to the response head.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.request_duration
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    /// Records how long a stage took.
    pub fn observe_stage(&self, stage: Stage, elapsed: Duration) {
        self.observe_stage_seconds(stage.as_str(), elapsed.as_secs_f64());
    }

    /// Records how long a stage took, by stage name.
    pub fn observe_stage_seconds(&self, stage: &str, seconds: f64) {
        self.stage_duration
            .with_label_values(&[stage])
            .observe(seconds);
    }

    /// The text exposition of everything, after reading the service's numbers.
    pub fn scrape(&self, service: &Service) -> String {
        for (stage, seconds) in service.drain_stage_durations() {
            self.observe_stage_seconds(stage, seconds);
        }
        self.render(service.metrics())
    }

    /// The text exposition, after setting the gauges from `service`.
    pub fn render(&self, service: ServiceMetrics) -> String {
        let gauge = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.queue_depth.set(gauge(service.queue_depth));
        // A counter that follows the service's own count: add what is new since the last scrape.
        self.restarts
            .inc_by(service.restarts.saturating_sub(self.restarts.get()));
        self.takeovers
            .inc_by(service.takeovers.saturating_sub(self.takeovers.get()));
        self.live_actors
            .with_label_values(&["user"])
            .set(gauge(service.live_users));
        self.live_actors
            .with_label_values(&["generation"])
            .set(gauge(service.live_generations));
        self.live_actors
            .with_label_values(&["worker"])
            .set(gauge(service.live_workers));
        let mut out = Vec::new();
        if let Err(err) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %err, "metrics encoding failed");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_stages_and_gauges() {
        let metrics = Metrics::new();
        metrics.observe_request(
            "/api/v1/projects/{id}",
            "GET",
            404,
            Duration::from_millis(3),
        );
        metrics.observe_stage(Stage::Render, Duration::from_millis(250));
        let text = metrics.clone().render(ServiceMetrics {
            queue_depth: 3,
            live_workers: 2,
            takeovers: 1,
            ..Default::default()
        });
        assert!(text.contains(r#"codebegen_http_requests_total{method="GET",route="/api/v1/projects/{id}",status="404"} 1"#), "{text}");
        assert!(text.contains(
            r#"codebegen_http_request_duration_seconds_count{route="/api/v1/projects/{id}"} 1"#
        ));
        assert!(
            text.contains(r#"codebegen_generation_stage_duration_seconds_count{stage="render"} 1"#)
        );
        assert!(text.contains("codebegen_scheduler_queue_depth 3"));
        assert!(text.contains(r#"codebegen_actors_live{kind="worker"} 2"#));
        assert!(text.contains("codebegen_generation_takeovers_total 1"));
    }
}
