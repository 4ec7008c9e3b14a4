//! One request's way through the proxy, top to bottom.
//!
//! route → read and decode the body → redact path and body → forward → relay the response.
//! Nothing reaches the upstream that did not pass through [`airlock_redact::Redactor`]:
//! [`forward`] accepts the body only as a [`airlock_redact::Redaction`].

use std::sync::Arc;
use std::time::Instant;

use airlock_redact::{Layer, Redaction};
use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use crate::codec::{self, StreamDecoder};
use crate::upstream::Upstream;
use crate::{body, headers, relay, route, BoxError, Refusal, ResponseBody, Shared};

/// Handles one client request; never fails (refusals become responses).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Response<ResponseBody> {
    let started = Instant::now();
    // 0. Forward-proxy requests: a tunnel to an upstream is intercepted, anything else is an
    //    attempt to reach a host that is not an upstream.
    if request.method() == http::Method::CONNECT {
        return crate::tunnel::connect(shared, request, started);
    }
    // HTTP/2 requests always carry `:authority` (the name the client used for airlock);
    // only an HTTP/1.1 absolute-form target asks airlock to act as a forward proxy. Either
    // way the upstream is chosen by the path alone, never by the authority.
    if request.uri().authority().is_some() && request.version() < http::Version::HTTP_2 {
        shared.metrics.bypass_attempt();
        tracing::warn!(
            method = %request.method(),
            host = request.uri().host().unwrap_or("-"),
            "forward-proxy request refused (plain-HTTP requests go to an upstream's base URL)"
        );
        return refuse(&shared, None, started, Refusal::EgressNotAllowed);
    }
    handle_routed(&shared, request, Route::ByPath, started).await
}

/// Handles a request that arrived inside an intercepted tunnel to `upstream`: its path is the
/// upstream's own, sent as it is.
pub(crate) async fn handle_tunneled(
    shared: Arc<Shared>,
    upstream: usize,
    request: Request<Incoming>,
) -> Response<ResponseBody> {
    handle_routed(&shared, request, Route::Tunnel(upstream), Instant::now()).await
}

/// How a request finds its upstream.
#[derive(Clone, Copy)]
enum Route {
    /// `/{upstream}/{rest}`: the rest is appended to the upstream's base URL.
    ByPath,
    /// Inside a tunnel to this upstream: the path is the one the client asked its host for.
    Tunnel(usize),
}

/// Takes a concurrency permit, finds the upstream, then stages 2 to 5.
async fn handle_routed(
    shared: &Shared,
    request: Request<Incoming>,
    route: Route,
    started: Instant,
) -> Response<ResponseBody> {
    let (parts, incoming) = request.into_parts();
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();

    // A permit per request, held until its response ends: beyond the limit, 503 at once
    // rather than a queue that grows with every stalled upstream.
    let Ok(permit) = shared.limit.clone().try_acquire_owned() else {
        return refuse(shared, None, started, Refusal::Overloaded);
    };

    // 1. Route: the first path segment must name a configured upstream (or the tunnel did).
    let routed = match route {
        Route::ByPath => route::route(&shared.upstreams, &path_and_query),
        Route::Tunnel(index) => shared
            .upstreams
            .get(index)
            .map(|upstream| (upstream, path_and_query.as_str())),
    };
    let Some((upstream, rest)) = routed else {
        return refuse(shared, None, started, Refusal::UnknownUpstream);
    };
    proceed(
        shared, upstream, rest, route, parts, incoming, started, permit,
    )
    .await
}

/// Stages 2 to 5 for a routed request.
#[allow(clippy::too_many_arguments)]
async fn proceed(
    shared: &Shared,
    upstream: &Upstream,
    rest: &str,
    route: Route,
    parts: http::request::Parts,
    incoming: Incoming,
    started: Instant,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Response<ResponseBody> {
    // 2. Read the whole body, decoded, and check that it can be inspected.
    let body = match body::read(&parts.headers, incoming, shared.max_body_bytes).await {
        Ok(body) => body,
        Err(refusal) => return refuse(shared, Some(upstream), started, refusal),
    };

    // A streamed chat completion is asked for its usage (for metering) when the client did
    // not ask; the extra chunk is taken out of the client's stream again. Done before
    // redaction, so what is sent is still exactly what the redactor produced.
    let (body, strip_usage_chunk) = match shared.engine.meter() {
        Some(_)
            if rest
                .split('?')
                .next()
                .is_some_and(|p| p.ends_with("/chat/completions")) =>
        {
            match crate::metering::ask_for_usage(&body) {
                Some(asked) => (asked, true),
                None => (body, false),
            }
        }
        _ => (body, false),
    };

    // 3. Redact the target and the body with the engine in force.
    let redactor = shared.engine.current();
    let target = redactor.redact(rest.as_bytes());
    let Some(uri) = std::str::from_utf8(target.as_bytes())
        .ok()
        .and_then(|rest| match route {
            Route::ByPath => upstream.target(rest).ok(),
            Route::Tunnel(_) => upstream.target_exact(rest).ok(),
        })
    else {
        return refuse(shared, Some(upstream), started, Refusal::InvalidTarget);
    };
    // In remembered chunks: the context an agent sends again each turn is not scanned again.
    let mut redacted = redactor.redact_request(&body);
    shared.metrics.chunks(redacted.chunks());
    if shared.documents == crate::DocumentPolicy::Refuse {
        if let Some(document) = redacted.containers().first() {
            let kind = document.kind;
            return refuse(
                shared,
                Some(upstream),
                started,
                Refusal::UninspectableDocument { kind },
            );
        }
    }
    shared.engine.learn(redacted.take_detected());
    let replaced = |layer| target.count(layer) + redacted.count(layer);
    let findings = (
        replaced(Layer::Registry),
        replaced(Layer::Regex),
        replaced(Layer::Entropy),
    );

    // 4. Headers: the agent is named for metering, and an upstream whose key lives in the
    //    vault gets that key in place of the client's.
    let agent = headers::agent(&parts.headers, &shared.agents);
    let mut outbound_headers = headers::to_upstream(parts.headers);
    let mut header_findings = Vec::new();
    let detected = headers::redact(&mut outbound_headers, &redactor, |f| {
        header_findings.push((f.layer, f.source.clone()));
    });
    shared.engine.learn(detected);
    if let Some(auth) = &upstream.auth {
        let Some(value) = shared.engine.credential(&auth.secret) else {
            tracing::warn!(upstream = %upstream.name, secret = %auth.secret, "the upstream's credential is not in the vault; add it with `airlock vault add`");
            return refuse(shared, Some(upstream), started, Refusal::CredentialMissing);
        };
        let value = if auth.bearer {
            let mut bearer = b"Bearer ".to_vec();
            bearer.extend_from_slice(value.as_bytes());
            match http::HeaderValue::from_bytes(&bearer) {
                Ok(mut v) => {
                    v.set_sensitive(true);
                    v
                }
                Err(_) => {
                    return refuse(shared, Some(upstream), started, Refusal::CredentialMissing)
                }
            }
        } else {
            value
        };
        headers::set_credential(&mut outbound_headers, &auth.header, value);
    }

    // 5. Forward, and relay the response as it streams in.
    let mut outbound = Request::new(());
    *outbound.method_mut() = parts.method;
    *outbound.uri_mut() = uri;
    *outbound.version_mut() = Version::HTTP_11;
    *outbound.headers_mut() = outbound_headers;
    for (layer, source) in target
        .findings()
        .iter()
        .chain(redacted.findings())
        .map(|f| (f.layer, f.source.as_str()))
        .chain(header_findings.iter().map(|(l, s)| (*l, s.as_str())))
    {
        let rule = match layer {
            Layer::Registry => "registry",
            _ => source,
        };
        shared.metrics.redaction(layer.as_str(), rule);
    }
    let overhead = started.elapsed();
    shared.metrics.overhead(&upstream.name, overhead);
    // An upstream that accepts and then never answers must not hold the request (and its
    // concurrency permit) forever.
    let Ok(response) = tokio::time::timeout(
        shared.upstream_timeout,
        forward(upstream, outbound, redacted, &body),
    )
    .await
    else {
        tracing::warn!(upstream = %upstream.name, timeout = ?shared.upstream_timeout, "upstream did not answer in time");
        shared.metrics.upstream_error(&upstream.name);
        return refuse(shared, Some(upstream), started, Refusal::UpstreamTimeout);
    };
    match response {
        Ok(mut response) => {
            headers::to_client(response.headers_mut());
            shared.metrics.request(
                &upstream.name,
                response.status().as_u16(),
                started.elapsed(),
            );
            tracing::info!(
                upstream = %upstream.name,
                agent = %agent,
                status = response.status().as_u16(),
                redacted_registry = findings.0,
                redacted_regex = findings.1,
                redacted_entropy = findings.2,
                overhead_us = overhead.as_micros() as u64,
                "forwarded"
            );
            relay(shared, upstream, agent, strip_usage_chunk, permit, response)
        }
        Err(error) => {
            tracing::warn!(upstream = %upstream.name, error = %error, "upstream failed");
            shared.metrics.upstream_error(&upstream.name);
            refuse(
                shared,
                Some(upstream),
                started,
                Refusal::UpstreamUnavailable,
            )
        }
    }
}

/// Sends a redacted body upstream. The body type is the proof that redaction ran; when it
/// replaced nothing, the bytes it was made from (`source`) go out without a copy.
async fn forward(
    upstream: &Upstream,
    head: Request<()>,
    body: Redaction<'_>,
    source: &Bytes,
) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
    let (parts, ()) = head.into_parts();
    let bytes = if body.is_unchanged() {
        source.clone()
    } else {
        Bytes::from(body.into_bytes())
    };
    let request = Request::from_parts(parts, Full::new(bytes));
    upstream.client().request(request).await
}

pub(crate) fn refuse(
    shared: &Shared,
    upstream: Option<&Upstream>,
    started: Instant,
    refusal: Refusal,
) -> Response<ResponseBody> {
    shared.metrics.refusal(refusal.code());
    shared.metrics.request(
        upstream.map_or("-", |u| u.name.as_str()),
        refusal.status().as_u16(),
        started.elapsed(),
    );
    tracing::warn!(
        upstream = upstream.map_or("-", |u| u.name.as_str()),
        reason = refusal.code(),
        status = refusal.status().as_u16(),
        "refused"
    );
    refusal.into_response(&shared.upstream_names)
}

/// Wraps the upstream's response for the way back: decoded when the meter must read an
/// encoded body, metered, and watched by the idle timer that also holds the permit.
fn relay(
    shared: &Shared,
    upstream: &Upstream,
    agent: String,
    strip_usage_chunk: bool,
    permit: tokio::sync::OwnedSemaphorePermit,
    response: Response<Incoming>,
) -> Response<ResponseBody> {
    let (mut head, body) = response.into_parts();
    let mut body = body.map_err(BoxError::from).boxed_unsync();
    if let Some(meter) = shared.engine.meter() {
        // airlock asks for identity; an upstream that compresses anyway is decoded here so
        // its usage can be read, and the client gets the identity bytes.
        match codec::codings(&head.headers)
            .and_then(|c| (!c.is_empty()).then(|| StreamDecoder::new(&c)).transpose())
        {
            Ok(Some(decoder)) => {
                head.headers.remove(http::header::CONTENT_ENCODING);
                head.headers.remove(http::header::CONTENT_LENGTH);
                body = relay::Decoded::new(body, decoder).boxed_unsync();
            }
            Ok(None) => {}
            Err(_) => {
                tracing::warn!(upstream = %upstream.name, "response coding not understood; relayed as it is, unmetered");
            }
        }
        let content_type = head
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let usage = crate::metering::Usage {
            agent,
            upstream: upstream.name.clone(),
            ..Default::default()
        };
        body = crate::metering::MeteredBody::new(
            body,
            content_type.as_deref(),
            usage,
            meter.clone(),
            strip_usage_chunk,
            shared.metrics.clone(),
        )
        .boxed_unsync();
    }
    let body = relay::Relay::new(
        body,
        shared.stream_idle_timeout,
        &upstream.name,
        shared.metrics.clone(),
        permit,
    );
    Response::from_parts(head, body.boxed_unsync())
}
