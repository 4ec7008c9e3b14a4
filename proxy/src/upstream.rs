//! Upstreams: the allowlist of where requests may go, and the client that takes them there.
//!
//! Each configured upstream is a base URL (`https://`, or `http://` for local model servers
//! and tests) with its own connection pool. TLS trusts the Mozilla roots built into the binary
//! plus, per upstream, the certificates of an optional `ca_file`. Nothing else is reachable:
//! the proxy never builds a URL from anything but a configured base and the request's path.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{PathAndQuery, Scheme, Uri};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::ProxyError;

/// What the operator configures for one upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// The name clients use as the first path segment.
    pub name: String,
    /// The base URL requests are appended to.
    pub url: String,
    /// Extra trust roots (PEM) for this upstream's TLS.
    pub ca_file: Option<PathBuf>,
    /// The credential to send, from the vault, in place of whatever the client sent.
    pub auth: Option<UpstreamAuth>,
}

/// An upstream's credential: a vault secret sent in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamAuth {
    /// The header (`x-api-key`, `authorization`, ...).
    pub header: String,
    /// The vault secret's name.
    pub secret: String,
    /// Send it as `Bearer <value>`.
    pub bearer: bool,
}

/// A validated credential rule.
pub(crate) struct Auth {
    pub(crate) header: http::HeaderName,
    pub(crate) secret: String,
    pub(crate) bearer: bool,
}

pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, Full<bytes::Bytes>>;

/// A ready upstream: its base URL, parsed, and its client.
pub(crate) struct Upstream {
    pub(crate) name: String,
    scheme: Scheme,
    authority: http::uri::Authority,
    /// The base path without a trailing slash ("" for the root).
    base_path: String,
    /// One client per accept worker, so a request's upstream connection lives on the thread
    /// that serves the request (no cross-thread wake-ups per frame).
    clients: Vec<HttpClient>,
    pub(crate) auth: Option<Auth>,
}

impl Upstream {
    pub(crate) fn new(
        config: &UpstreamConfig,
        connect_timeout: Duration,
    ) -> Result<Self, ProxyError> {
        let bad = |reason: &str| ProxyError::Upstream {
            name: config.name.clone(),
            reason: reason.to_owned(),
        };
        if config.name.is_empty()
            || !config
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(bad("the name must be non-empty, from A-Z a-z 0-9 _ - ."));
        }
        let uri: Uri = config
            .url
            .parse()
            .map_err(|_| bad("url is not a valid URL"))?;
        let scheme = uri
            .scheme()
            .cloned()
            .ok_or_else(|| bad("url needs a scheme"))?;
        if scheme != Scheme::HTTPS && scheme != Scheme::HTTP {
            return Err(bad(
                "url must start with https:// (or http:// for local servers)",
            ));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| bad("url needs a host"))?;
        if authority.as_str().contains('@') {
            return Err(bad("url must not carry credentials; use the vault"));
        }
        if uri.query().is_some() {
            return Err(bad("url must not have a query"));
        }
        let base_path = uri.path().trim_end_matches('/').to_owned();
        let auth = match &config.auth {
            None => None,
            Some(auth) => Some(Auth {
                header: http::HeaderName::from_bytes(auth.header.as_bytes())
                    .map_err(|_| bad("auth header is not a valid header name"))?,
                secret: auth.secret.clone(),
                bearer: auth.bearer,
            }),
        };
        Ok(Upstream {
            auth,
            name: config.name.clone(),
            scheme,
            authority,
            base_path,
            clients: (0..crate::server::workers())
                .map(|_| client(config, connect_timeout))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The client of the worker thread this runs on.
    pub(crate) fn client(&self) -> &HttpClient {
        &self.clients[crate::server::worker_index() % self.clients.len()]
    }

    /// Whether a tunnel to `host:port` reaches this upstream.
    pub(crate) fn serves(&self, host: &str, port: u16) -> bool {
        let default = if self.scheme == Scheme::HTTPS {
            443
        } else {
            80
        };
        self.authority.host().eq_ignore_ascii_case(host)
            && self.authority.port_u16().unwrap_or(default) == port
    }

    /// The upstream URL for a path the client sent to the upstream's own host.
    pub(crate) fn target_exact(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        let path_and_query: PathAndQuery = path_and_query.parse()?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }

    /// The upstream URL for the path (and query) that followed the upstream's name.
    pub(crate) fn target(&self, rest: &str) -> Result<Uri, http::Error> {
        let slash = if rest.starts_with('/') { "" } else { "/" };
        let path_and_query: PathAndQuery = format!("{}{slash}{rest}", self.base_path).parse()?;
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }
}

fn client(config: &UpstreamConfig, connect_timeout: Duration) -> Result<HttpClient, ProxyError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &config.ca_file {
        let ca_error = |reason: String| ProxyError::CaFile {
            name: config.name.clone(),
            path: path.clone(),
            reason,
        };
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| ca_error(e.to_string()))? {
            let cert = cert.map_err(|e| ca_error(e.to_string()))?;
            roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(ca_error("holds no PEM certificate".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ProxyError::Upstream {
            name: config.name.clone(),
            reason: format!("TLS setup: {e}"),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector))
}
