//! Which headers cross the proxy, in each direction.
//!
//! Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and are never forwarded,
//! including any header the `Connection` header names. Towards the upstream the proxy also
//! drops what it rewrites itself: `Host` (from the upstream URL), `Content-Length` and
//! `Content-Encoding` (the body was decoded and redacted), and asks for an identity response
//! so that the stream it relays (and will meter) is readable frame by frame, whatever the
//! client said in `Accept-Encoding`.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

/// Names the agent for metering: airlock's own header, else the agent the client's (dummy)
/// key is mapped to, else `default`.
pub(crate) const AGENT_HEADER: &str = "x-airlock-agent";

pub(crate) fn agent(
    headers: &HeaderMap,
    agents: &std::collections::HashMap<String, String>,
) -> String {
    let valid = |name: &str| {
        !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if let Some(name) = headers.get(AGENT_HEADER).and_then(|v| v.to_str().ok()) {
        if valid(name) {
            return name.to_owned();
        }
    }
    let key = headers
        .get("x-api-key")
        .or_else(|| headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    key.and_then(|k| agents.get(k))
        .cloned()
        .unwrap_or_else(|| "default".to_owned())
}

/// The headers a client may carry its own provider key in: all dropped when the upstream's
/// credential comes from the vault.
const CLIENT_CREDENTIALS: [&str; 4] = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];

/// Replaces whatever credential the client sent with the upstream's own.
pub(crate) fn set_credential(headers: &mut HeaderMap, name: &HeaderName, value: HeaderValue) {
    for header in CLIENT_CREDENTIALS {
        headers.remove(header);
    }
    headers.insert(name.clone(), value);
}

/// Redacts header values with the engine in force: a secret a tool or client put into a
/// custom header must not leave either. The client's own credential headers are left as they
/// are (they are the provider key when the upstream has no `auth`, and dropped when it has).
/// `found` sees every finding. Returns the values the regex and entropy layers detected,
/// for the learner.
pub(crate) fn redact(
    headers: &mut HeaderMap,
    redactor: &airlock_redact::Redactor,
    mut found: impl FnMut(&airlock_redact::Finding),
) -> Vec<airlock_redact::Detected> {
    let scanned = |name: &HeaderName| !CLIENT_CREDENTIALS.contains(&name.as_str());
    // One pass over all values joined by line breaks (which no header value can hold): the
    // common case, nothing found, costs one engine call instead of one per header.
    let mut joined = Vec::new();
    for (name, value) in headers.iter() {
        if scanned(name) {
            joined.extend_from_slice(value.as_bytes());
            joined.push(b'\n');
        }
    }
    if joined.is_empty() || redactor.redact(&joined).is_unchanged() {
        return Vec::new();
    }
    let mut detected = Vec::new();
    for (name, value) in headers.iter_mut() {
        if !scanned(name) {
            continue;
        }
        let mut redaction = redactor.redact(value.as_bytes());
        if redaction.is_unchanged() {
            continue;
        }
        redaction.findings().iter().for_each(&mut found);
        detected.extend(redaction.take_detected());
        // Placeholders are plain ASCII; a value that cannot be rebuilt is dropped to empty
        // rather than sent as it was.
        *value = HeaderValue::from_bytes(redaction.as_bytes())
            .unwrap_or_else(|_| HeaderValue::from_static(""));
    }
    detected
}

/// Headers for the upstream request, from the client's.
pub(crate) fn to_upstream(mut headers: HeaderMap) -> HeaderMap {
    strip_hop_by_hop(&mut headers);
    headers.remove(AGENT_HEADER);
    for name in [
        header::HOST,
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::EXPECT,
        header::ACCEPT_ENCODING,
    ] {
        headers.remove(name);
    }
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    headers
}

/// Headers for the client's response, from the upstream's.
pub(crate) fn to_client(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
}
