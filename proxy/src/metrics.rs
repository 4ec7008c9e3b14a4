//! Prometheus metrics, and the small HTTP endpoint that serves them with health checks.
//!
//! Labels carry upstream names, statuses, layers, rule ids, refusal reasons, agents and
//! models: operator-chosen or provider-reported names, never request content or secret
//! values (a registry match is counted under the layer, not under the secret's name).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::metering::Usage;
use crate::ProxyError;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    upstream: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabel {
    upstream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamFailureLabels {
    upstream: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MatchLabels {
    layer: String,
    rule: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    agent: String,
    model: String,
    kind: String,
}

/// Every metric the proxy keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    duration: Family<UpstreamLabel, Histogram>,
    overhead: Family<UpstreamLabel, Histogram>,
    matches: Family<MatchLabels, Counter>,
    chunks: Family<OutcomeLabel, Counter>,
    refusals: Family<ReasonLabel, Counter>,
    bypass: Counter,
    tokens: Family<TokenLabels, Counter>,
    upstream_errors: Family<UpstreamLabel, Counter>,
    stream_failures: Family<StreamFailureLabels, Counter>,
    ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh set, registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("airlock");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests answered, by upstream and status",
            requests.clone(),
        );
        // 50 µs to ~26 s.
        let seconds = || Histogram::new(exponential_buckets(0.000_05, 2.0, 20));
        let duration = Family::<UpstreamLabel, Histogram>::new_with_constructor(seconds);
        registry.register(
            "request_duration_seconds",
            "Time from request to response headers, upstream included",
            duration.clone(),
        );
        let overhead = Family::<UpstreamLabel, Histogram>::new_with_constructor(seconds);
        registry.register(
            "overhead_seconds",
            "airlock's own time per request: reading, decoding and redacting before forwarding",
            overhead.clone(),
        );
        let matches = Family::<MatchLabels, Counter>::default();
        registry.register(
            "redactions",
            "Values replaced, by layer and rule (registry matches under rule \"registry\")",
            matches.clone(),
        );
        let chunks = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "redaction_chunks",
            "Chunks of request bodies the layers scanned, or found in the memo of what earlier requests held (outcome scanned or remembered)",
            chunks.clone(),
        );
        let refusals = Family::<ReasonLabel, Counter>::default();
        registry.register("refusals", "Requests refused, by reason", refusals.clone());
        let bypass = Counter::default();
        registry.register(
            "bypass_attempts",
            "Requests for hosts outside the upstream allowlist (CONNECT or absolute-form)",
            bypass.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "tokens",
            "Tokens metered, by agent, model and kind",
            tokens.clone(),
        );
        let upstream_errors = Family::<UpstreamLabel, Counter>::default();
        registry.register(
            "upstream_errors",
            "Upstream connection, TLS or protocol failures",
            upstream_errors.clone(),
        );
        let stream_failures = Family::<StreamFailureLabels, Counter>::default();
        registry.register(
            "stream_failures",
            "Responses cut after their headers, by upstream and reason (reset, idle_timeout, undecodable)",
            stream_failures.clone(),
        );
        Metrics {
            registry,
            requests,
            duration,
            overhead,
            matches,
            chunks,
            refusals,
            bypass,
            tokens,
            upstream_errors,
            stream_failures,
            ready: AtomicBool::new(false),
        }
    }

    pub(crate) fn request(&self, upstream: &str, status: u16, total: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                upstream: upstream.to_owned(),
                status,
            })
            .inc();
        self.duration
            .get_or_create(&UpstreamLabel {
                upstream: upstream.to_owned(),
            })
            .observe(total.as_secs_f64());
    }

    pub(crate) fn overhead(&self, upstream: &str, spent: Duration) {
        self.overhead
            .get_or_create(&UpstreamLabel {
                upstream: upstream.to_owned(),
            })
            .observe(spent.as_secs_f64());
    }

    pub(crate) fn redaction(&self, layer: &str, rule: &str) {
        self.matches
            .get_or_create(&MatchLabels {
                layer: layer.to_owned(),
                rule: rule.to_owned(),
            })
            .inc();
    }

    pub(crate) fn chunks(&self, chunks: airlock_redact::Chunks) {
        for (outcome, count) in [
            ("scanned", chunks.scanned),
            ("remembered", chunks.remembered),
        ] {
            if count > 0 {
                self.chunks
                    .get_or_create(&OutcomeLabel { outcome })
                    .inc_by(count as u64);
            }
        }
    }

    pub(crate) fn refusal(&self, reason: &str) {
        self.refusals
            .get_or_create(&ReasonLabel {
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(crate) fn bypass_attempt(&self) {
        self.bypass.inc();
    }

    pub(crate) fn upstream_error(&self, upstream: &str) {
        self.upstream_errors
            .get_or_create(&UpstreamLabel {
                upstream: upstream.to_owned(),
            })
            .inc();
    }

    pub(crate) fn stream_failure(&self, upstream: &str, reason: &'static str) {
        self.stream_failures
            .get_or_create(&StreamFailureLabels {
                upstream: upstream.to_owned(),
                reason: reason.to_owned(),
            })
            .inc();
    }

    pub(crate) fn tokens(&self, usage: &Usage) {
        for (kind, n) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
            ("cache_creation", usage.cache_creation_tokens),
            ("cache_read", usage.cache_read_tokens),
        ] {
            if n > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        agent: usage.agent.clone(),
                        model: usage.model.clone(),
                        kind: kind.to_owned(),
                    })
                    .inc_by(n);
            }
        }
    }

    /// Marks the proxy ready (listening) or not (draining).
    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on `listen` until the task is dropped.
///
/// # Errors
/// [`ProxyError::Bind`] when the address cannot be bound.
pub async fn serve_metrics(
    listen: SocketAddr,
    metrics: Arc<Metrics>,
) -> Result<(SocketAddr, tokio::task::JoinHandle<()>), ProxyError> {
    let listener = crate::bind(listen).await?;
    let addr = listener.local_addr().map_err(|source| ProxyError::Bind {
        addr: listen,
        source,
    })?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(
                        move |request: http::Request<hyper::body::Incoming>| {
                            let metrics = metrics.clone();
                            async move {
                                let (status, content_type, body) = match request.uri().path() {
                            "/metrics" => (
                                StatusCode::OK,
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                                metrics.encode(),
                            ),
                            "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
                            "/readyz" if metrics.ready.load(Ordering::Relaxed) => {
                                (StatusCode::OK, "text/plain", "ready\n".to_owned())
                            }
                            "/readyz" => (
                                StatusCode::SERVICE_UNAVAILABLE,
                                "text/plain",
                                "not ready\n".to_owned(),
                            ),
                            _ => (StatusCode::NOT_FOUND, "text/plain", "not found\n".to_owned()),
                        };
                                Response::builder()
                                    .status(status)
                                    .header(http::header::CONTENT_TYPE, content_type)
                                    .body(http_body_util::Full::new(Bytes::from(body)))
                            }
                        },
                    );
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Ok((addr, task))
}
