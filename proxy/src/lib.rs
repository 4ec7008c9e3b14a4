//! airlock's localhost egress proxy.
//!
//! This crate owns the HTTP listener that OpenClaw uses as its LLM base URL, routing each
//! request to a configured upstream (`/{upstream}/{rest}` → `{url}{rest}`), redacting the
//! request target and body with the [`airlock_redact::Redactor`] in force (an [`Engine`],
//! swappable while requests run) before anything is sent, and streaming the upstream's response back as it arrives (SSE frames are relayed
//! one by one, never held until the end). It fails closed: a body it cannot fully inspect is
//! refused with a JSON error and nothing is forwarded.
//!
//! It must never know secret values beyond what the engine holds, log request or response
//! content, or reach a host that is not a configured upstream.
//!
//! # Brief overview
//! - [`Proxy::bind`] validates the configuration, builds one client per upstream and binds.
//! - [`Proxy::serve`] accepts connections until its shutdown future resolves, then drains;
//!   `server.rs` runs one single-threaded accept worker per core.
//! - `relay.rs` is the response's way back: decoding for the meter (`metering.rs`), the idle
//!   timer, the concurrency permit.
//! - `stack.rs` is one request's path, top to bottom; `body.rs`, `headers.rs`, `route.rs` and
//!   `upstream.rs` are its stages; `codec.rs` undoes content codings both ways; `error.rs` turns every refusal into a response;
//!   `engine.rs` holds the engine in force and hands detected values to the learner.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod body;
mod ca;
mod codec;
mod engine;
mod error;
mod headers;
mod metering;
mod metrics;
mod relay;
mod route;
mod server;
mod stack;
mod tunnel;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

pub use ca::LocalCa;
pub use engine::Engine;
pub use error::{ProxyError, Refusal};
pub use metering::{Meter, Usage};
pub use metrics::{serve_metrics, Metrics};
pub use upstream::{UpstreamAuth, UpstreamConfig};

/// The default `max_body_bytes`: 32 MiB, enough for long agent sessions with images.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// What the proxy needs to run.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where to listen (loopback).
    pub listen: SocketAddr,
    /// The largest request body accepted, before and after decoding.
    pub max_body_bytes: usize,
    /// The allowlist of upstreams.
    pub upstreams: Vec<UpstreamConfig>,
    /// What happens to a request that carries an encoded document (PDF, Office file,
    /// archive) whose content the engine cannot read.
    pub documents: DocumentPolicy,
    /// Agent names by the (dummy) key a client sends: for metering.
    pub agents: std::collections::HashMap<String, String>,
    /// Requests handled at once; beyond it the proxy answers 503 at once.
    pub max_concurrent_requests: usize,
    /// TLS on the listener, if any.
    pub tls: Option<ListenerTls>,
    /// How long an upstream may take to send its response headers.
    pub upstream_timeout: std::time::Duration,
    /// How long a response body may go without a frame before the stream is cut.
    pub stream_idle_timeout: std::time::Duration,
    /// How long opening a connection to an upstream (TCP) may take.
    pub connect_timeout: std::time::Duration,
}

/// What to do with a request that carries an encoded document the engine cannot read inside
/// (a PDF, an Office file, an archive): only the registry sees into one, and then only where
/// it is stored uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentPolicy {
    /// Refuse the request (422, `uninspectable_document`): fail closed.
    #[default]
    Refuse,
    /// Forward it, redacted as far as the engine can read.
    Forward,
}

/// The default `upstream_timeout`: non-streamed completions can take minutes.
pub const DEFAULT_UPSTREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);

/// The default `connect_timeout`: a provider that does not accept within this is down.
pub const DEFAULT_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The default `stream_idle_timeout`: providers send keep-alive events within seconds, but a
/// reasoning model may think for minutes between visible tokens.
pub const DEFAULT_STREAM_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Where the listener's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenerTls {
    /// PEM files: the certificate chain and its private key.
    Files {
        /// Certificate chain, leaf first.
        cert: std::path::PathBuf,
        /// The private key.
        key: std::path::PathBuf,
    },
    /// A certificate for `localhost` and `127.0.0.1` from airlock's local CA.
    LocalCa,
}

/// The default `max_concurrent_requests`.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 512;

/// The acceptor for the listener: rustls with the ring provider, HTTP/2 and HTTP/1.1 by ALPN.
fn tls_acceptor(
    tls: &ListenerTls,
    ca: Option<&Arc<LocalCa>>,
) -> Result<tokio_rustls::TlsAcceptor, ProxyError> {
    use rustls_pki_types::pem::PemObject;
    let bad = |reason: String| ProxyError::ListenerTls { reason };
    let builder = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_no_client_auth();
    let mut config = match tls {
        ListenerTls::Files { cert, key } => {
            let chain = rustls_pki_types::CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| bad(format!("{}: {e}", cert.display())))?;
            let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key)
                .map_err(|e| bad(format!("{}: {e}", key.display())))?;
            builder
                .with_single_cert(chain, key)
                .map_err(|e| bad(e.to_string()))?
        }
        ListenerTls::LocalCa => {
            let ca =
                ca.ok_or_else(|| bad("no local CA to issue the listener's certificate".into()))?;
            let leaf = ca.leaf_for_names(&["localhost", "127.0.0.1"])?;
            builder.with_cert_resolver(Arc::new(ca::LeafFor(leaf)))
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The error a response body ends with: the upstream's, or why airlock cut the stream.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Binds a listener, naming the address when it cannot.
pub(crate) async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ProxyError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ProxyError::Bind { addr, source })
}

/// The body of every response the proxy sends: relayed upstream frames or its own errors.
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

pub(crate) fn full_body(bytes: Bytes) -> ResponseBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// State shared by every connection.
pub(crate) struct Shared {
    upstreams: Vec<upstream::Upstream>,
    /// Configured names, for the unknown-upstream hint.
    upstream_names: String,
    max_body_bytes: usize,
    engine: Arc<Engine>,
    agents: std::collections::HashMap<String, String>,
    metrics: Arc<Metrics>,
    /// One permit per request in flight (held until its response body ends).
    limit: Arc<tokio::sync::Semaphore>,
    max_concurrent: usize,
    /// Signs leaves for intercepted tunnels; without it every CONNECT is refused. Shared by
    /// every configuration a reload installs.
    ca: Arc<std::sync::OnceLock<Arc<LocalCa>>>,
    upstream_timeout: std::time::Duration,
    stream_idle_timeout: std::time::Duration,
    documents: DocumentPolicy,
}

impl Shared {
    fn new(
        config: ProxyConfig,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ProxyError> {
        let mut upstreams: Vec<upstream::Upstream> = Vec::with_capacity(config.upstreams.len());
        for upstream_config in &config.upstreams {
            if upstreams.iter().any(|u| u.name == upstream_config.name) {
                return Err(ProxyError::Upstream {
                    name: upstream_config.name.clone(),
                    reason: "configured twice".into(),
                });
            }
            upstreams.push(upstream::Upstream::new(
                upstream_config,
                config.connect_timeout,
            )?);
        }
        let upstream_names = upstreams
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let max_concurrent = config.max_concurrent_requests.max(1);
        Ok(Shared {
            upstreams,
            upstream_names,
            max_body_bytes: config.max_body_bytes,
            engine,
            agents: config.agents,
            metrics,
            limit: Arc::new(tokio::sync::Semaphore::new(max_concurrent)),
            max_concurrent,
            ca: Arc::new(std::sync::OnceLock::new()),
            upstream_timeout: config.upstream_timeout,
            stream_idle_timeout: config.stream_idle_timeout,
            documents: config.documents,
        })
    }
}

/// A bound proxy, ready to serve.
pub struct Proxy {
    listeners: Vec<std::net::TcpListener>,
    shared: Arc<ArcSwap<Shared>>,
    tls: Option<ListenerTls>,
}

/// Swaps the configuration of a running proxy (SIGHUP): upstreams, limits and agents change
/// for the requests that start afterwards; requests in flight finish as they began.
#[derive(Clone)]
pub struct Reloader {
    shared: Arc<ArcSwap<Shared>>,
}

impl Reloader {
    /// Validates `config` and installs it. The listen address cannot change without a
    /// restart; it is ignored here.
    ///
    /// # Errors
    /// [`ProxyError::Upstream`] or [`ProxyError::CaFile`]: the running configuration stays.
    pub fn reload(&self, config: ProxyConfig) -> Result<(), ProxyError> {
        let current = self.shared.load_full();
        let mut next = Shared::new(config, current.engine.clone(), current.metrics.clone())?;
        next.ca = current.ca.clone();
        if next.max_concurrent == current.max_concurrent {
            // Keep counting the requests already in flight.
            next.limit = current.limit.clone();
        }
        self.shared.store(Arc::new(next));
        Ok(())
    }
}

impl Proxy {
    /// Checks the configuration, builds the upstream clients and binds the listener.
    ///
    /// # Errors
    /// [`ProxyError::Upstream`] or [`ProxyError::CaFile`] for a bad upstream,
    /// [`ProxyError::Bind`] when the address cannot be bound.
    pub async fn bind(
        config: ProxyConfig,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
    ) -> Result<Self, ProxyError> {
        let listen = config.listen;
        let tls = config.tls.clone();
        let shared = Shared::new(config, engine, metrics)?;
        let listeners = server::bind_workers(listen)?;
        Ok(Proxy {
            listeners,
            shared: Arc::new(ArcSwap::from_pointee(shared)),
            tls,
        })
    }

    /// Intercepts `CONNECT` tunnels to upstream hosts with leaves from `ca` (without one,
    /// every tunnel is refused).
    pub fn with_local_ca(self, ca: Arc<LocalCa>) -> Self {
        // Set once, before serving; a second call keeps the first CA.
        let _ = self.shared.load().ca.set(ca);
        self
    }

    /// A handle that reloads this proxy's configuration while it serves.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            shared: self.shared.clone(),
        }
    }

    /// The address actually bound (useful with port 0).
    ///
    /// # Errors
    /// The OS error if the socket has no address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listeners
            .first()
            .ok_or_else(|| std::io::Error::other("no listener"))?
            .local_addr()
    }

    /// Serves until `shutdown` resolves, then stops accepting and waits up to `drain` for
    /// in-flight requests and streams to finish.
    ///
    /// # Errors
    /// [`ProxyError::Accept`] when the listener fails for good.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()>,
        drain: std::time::Duration,
    ) -> Result<(), ProxyError> {
        let acceptor = match &self.tls {
            None => None,
            Some(tls) => Some(tls_acceptor(tls, self.shared.load().ca.get())?),
        };
        server::serve(self.listeners, self.shared, acceptor, shutdown, drain).await
    }

    /// Whether the listener speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }
}
