//! Forward-proxy mode: `CONNECT` tunnels from clients that honour `HTTPS_PROXY`.
//!
//! A tunnel to an allowlisted upstream's host is answered `200` and then intercepted: airlock
//! terminates the client's TLS with a leaf from its local CA ([`crate::ca`]) and handles every
//! request inside exactly like base-URL traffic (redacted, metered, forwarded over airlock's
//! own TLS to the upstream). A tunnel to any other host is refused with `403`, logged and
//! counted as a bypass attempt; nothing is ever relayed blindly.

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::stack::{handle_tunneled, refuse};
use crate::{full_body, Refusal, ResponseBody, Shared};

pub(crate) fn connect(
    shared: Arc<Shared>,
    request: Request<Incoming>,
    started: Instant,
) -> Response<ResponseBody> {
    let authority = request.uri().authority().cloned();
    let target = authority
        .as_ref()
        .map(|a| (a.host().to_owned(), a.port_u16().unwrap_or(443)));
    let upstream = target
        .as_ref()
        .and_then(|(host, port)| shared.upstreams.iter().position(|u| u.serves(host, *port)));
    let (Some((host, _)), Some(index), Some(ca)) = (target, upstream, shared.ca.get().cloned())
    else {
        shared.metrics.bypass_attempt();
        tracing::warn!(
            target = authority.as_ref().map_or("-", |a| a.as_str()),
            "CONNECT refused: not an upstream's host"
        );
        return refuse(&shared, None, started, Refusal::EgressNotAllowed);
    };
    let leaf = match ca.leaf(&host) {
        Ok(leaf) => leaf,
        Err(error) => {
            tracing::error!(%error, "cannot intercept the tunnel");
            return refuse(&shared, None, started, Refusal::UpstreamUnavailable);
        }
    };
    tracing::debug!(upstream = %shared.upstreams[index].name, "intercepting a CONNECT tunnel");
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(request).await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "the tunnel was not established");
                return;
            }
        };
        let mut tls = match rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        {
            Ok(builder) => builder
                .with_no_client_auth()
                .with_cert_resolver(Arc::new(crate::ca::LeafFor(leaf))),
            Err(error) => {
                tracing::error!(%error, "TLS setup for the tunnel failed");
                return;
            }
        };
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let stream = match acceptor.accept(TokioIo::new(upgraded)).await {
            Ok(stream) => stream,
            Err(error) => {
                // Typically a client that does not trust airlock's CA (`airlock ca export`).
                tracing::warn!(%error, "TLS inside the tunnel failed");
                return;
            }
        };
        let service = service_fn(move |request| {
            let shared = shared.clone();
            async move {
                Ok::<_, std::convert::Infallible>(handle_tunneled(shared, index, request).await)
            }
        });
        if let Err(error) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), service)
            .await
        {
            tracing::debug!(%error, "tunnel connection ended with an error");
        }
    });
    let mut response = Response::new(full_body(bytes::Bytes::new()));
    *response.status_mut() = http::StatusCode::OK;
    response
}
