//! Errors: why the proxy could not start, and why a request was refused.
//!
//! Every refusal becomes a JSON error response in one place, [`Refusal::into_response`], with
//! a body both the OpenAI and the Anthropic SDKs can parse. Messages never echo request
//! content: a path segment or a body could itself be a secret.

use std::path::PathBuf;

use bytes::Bytes;
use http::{header, Response, StatusCode};

use crate::ResponseBody;

/// Why the proxy could not be set up. The operator must act on these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The listener's TLS configuration cannot be used.
    #[error("listener TLS: {reason}")]
    ListenerTls {
        /// What is wrong.
        reason: String,
    },
    /// The local CA for tunnel interception cannot be loaded or used.
    #[error("local CA: {reason}")]
    LocalCa {
        /// What is wrong.
        reason: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// An upstream's configuration is unusable.
    #[error("upstream {name:?}: {reason}")]
    Upstream {
        /// The upstream's name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An upstream's `ca_file` could not be read or parsed.
    #[error("upstream {name:?}: ca_file {path}: {reason}")]
    CaFile {
        /// The upstream's name.
        name: String,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Accepting connections failed.
    #[error("accepting connections failed: {0}")]
    Accept(std::io::Error),
}

/// Why a request was not forwarded (or its upstream failed). Each variant names whose move it
/// is: the client's request, or the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The first path segment names no configured upstream.
    UnknownUpstream,
    /// The body is larger than `max_body_bytes` (before or after decoding).
    BodyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The body's `Content-Encoding` is one the proxy cannot decode.
    UnsupportedEncoding,
    /// The body is of a type the proxy cannot inspect.
    UnsupportedContentType,
    /// The body claims to be JSON but does not parse.
    InvalidJson,
    /// The body could not be read from the client, or failed to decode.
    UnreadableBody,
    /// The request target could not be rebuilt after redaction.
    InvalidTarget,
    /// The upstream could not be reached or failed before answering.
    UpstreamUnavailable,
    /// The upstream's credential is a vault secret the vault does not hold: the client's own
    /// (dummy) key is never sent in its place.
    CredentialMissing,
    /// A forward-proxy request (`CONNECT`, or an absolute URL): egress goes only to the
    /// configured upstreams, through their base URLs.
    EgressNotAllowed,
    /// `max_concurrent_requests` are in flight.
    Overloaded,
    /// The upstream sent no response headers within `upstream_timeout`.
    UpstreamTimeout,
    /// The body carries an encoded document (PDF, Office file, archive) that the engine
    /// cannot read inside, and `[proxy] documents` is `refuse`.
    UninspectableDocument {
        /// What the document is.
        kind: airlock_redact::ContainerKind,
    },
}

impl Refusal {
    /// The HTTP status for this refusal.
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::UnknownUpstream => StatusCode::NOT_FOUND,
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::UnsupportedEncoding | Refusal::UnsupportedContentType => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Refusal::InvalidJson | Refusal::UnreadableBody | Refusal::InvalidTarget => {
                StatusCode::BAD_REQUEST
            }
            Refusal::UpstreamUnavailable => StatusCode::BAD_GATEWAY,
            Refusal::CredentialMissing => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::EgressNotAllowed => StatusCode::FORBIDDEN,
            Refusal::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Refusal::UninspectableDocument { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    /// A stable machine-readable reason, for clients, logs and metrics.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownUpstream => "unknown_upstream",
            Refusal::BodyTooLarge { .. } => "body_too_large",
            Refusal::UnsupportedEncoding => "unsupported_content_encoding",
            Refusal::UnsupportedContentType => "unsupported_content_type",
            Refusal::InvalidJson => "invalid_json",
            Refusal::UnreadableBody => "unreadable_body",
            Refusal::InvalidTarget => "invalid_target",
            Refusal::UpstreamUnavailable => "upstream_unavailable",
            Refusal::CredentialMissing => "upstream_credential_missing",
            Refusal::EgressNotAllowed => "egress_not_allowed",
            Refusal::Overloaded => "overloaded",
            Refusal::UpstreamTimeout => "upstream_timeout",
            Refusal::UninspectableDocument { .. } => "uninspectable_document",
        }
    }

    fn message(self, upstreams: &str) -> String {
        match self {
            Refusal::UnknownUpstream => format!(
                "airlock: the first path segment must name a configured upstream ({upstreams}); nothing was forwarded"
            ),
            Refusal::BodyTooLarge { limit } => format!(
                "airlock: the request body exceeds max_body_bytes ({limit} bytes); nothing was forwarded"
            ),
            Refusal::UnsupportedEncoding => "airlock: the request's Content-Encoding cannot be decoded for inspection (supported: identity, gzip, deflate, br, zstd); nothing was forwarded".into(),
            Refusal::UnsupportedContentType => "airlock: the request body's Content-Type cannot be inspected (JSON, text and form bodies can); nothing was forwarded".into(),
            Refusal::InvalidJson => "airlock: the request body is declared as JSON but is not valid JSON; nothing was forwarded".into(),
            Refusal::UnreadableBody => "airlock: the request body could not be read or decoded; nothing was forwarded".into(),
            Refusal::InvalidTarget => "airlock: the request target is not a valid URI; nothing was forwarded".into(),
            Refusal::UpstreamUnavailable => "airlock: the upstream could not be reached or failed before answering".into(),
            Refusal::UpstreamTimeout => "airlock: the upstream did not answer within upstream_timeout; the request was abandoned".into(),
            Refusal::Overloaded => "airlock: too many requests in flight (max_concurrent_requests); retry shortly; nothing was forwarded".into(),
            Refusal::EgressNotAllowed => format!("airlock: forward-proxy requests (CONNECT, absolute URLs) are refused; use http://<airlock>/<upstream>/... as the base URL, with <upstream> one of: {upstreams}; nothing was forwarded"),
            Refusal::CredentialMissing => "airlock: this upstream's API key comes from the vault, which does not hold it (the operator's log names the secret); nothing was forwarded".into(),
            Refusal::UninspectableDocument { kind } => format!(
                "airlock: the request carries {} (encoded), whose content cannot be inspected for secrets; send its text instead, or the operator can set [proxy] documents = \"forward\"; nothing was forwarded",
                kind.name()
            ),
        }
    }

    /// The client-facing response. `upstreams` lists configured names for the 404 hint.
    pub fn into_response(self, upstreams: &str) -> Response<ResponseBody> {
        let body = serde_json::json!({
            "type": "error",
            "error": {
                "type": "airlock_error",
                "code": self.code(),
                "message": self.message(upstreams),
            }
        });
        let mut response = Response::new(crate::full_body(Bytes::from(body.to_string())));
        *response.status_mut() = self.status();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        response
    }
}
