//! Reading a request body into memory, decoded, so that every byte of it can be inspected.
//!
//! The body is read up to `max_body_bytes` (refused beyond, by `Content-Length` before a byte
//! is read when the client declares it), its `Content-Encoding` undone (identity, gzip,
//! deflate, br, zstd; anything else is refused, since what cannot be read cannot be
//! redacted), and its `Content-Type` checked: JSON must be UTF-8 and parse, text and form
//! bodies must be UTF-8 without NULs, a charset other than UTF-8 or ASCII is refused (the
//! engine reads UTF-8), and any other type (binary uploads, multipart) is refused.

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::codec::{self, CodecError};
use crate::Refusal;

/// Reads, decodes and checks the body: the bytes returned are exactly what must be redacted.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
) -> Result<Bytes, Refusal> {
    let too_large = Refusal::BodyTooLarge { limit };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    // Refuse an undecodable encoding before reading anything.
    let codings = codec::codings(headers).map_err(|_| Refusal::UnsupportedEncoding)?;
    let raw = Limited::new(body, limit)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large
            } else {
                Refusal::UnreadableBody
            }
        })?
        .to_bytes();
    let bytes = if codings.is_empty() {
        raw
    } else {
        codec::decode_all(raw.to_vec(), &codings, limit)
            .map(Bytes::from)
            .map_err(|error| match error {
                CodecError::TooLarge => too_large,
                CodecError::Unsupported => Refusal::UnsupportedEncoding,
                CodecError::Corrupt => Refusal::UnreadableBody,
            })?
    };
    check_type(headers, &bytes)?;
    Ok(bytes)
}

fn check_type(headers: &HeaderMap, bytes: &[u8]) -> Result<(), Refusal> {
    if bytes.is_empty() {
        return Ok(());
    }
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        // No declared type: inspectable only if it is text.
        return readable_text(bytes)
            .then_some(())
            .ok_or(Refusal::UnsupportedContentType);
    };
    let value = value
        .to_str()
        .map_err(|_| Refusal::UnsupportedContentType)?;
    let mut params = value.split(';');
    let media = params
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    // The engine reads UTF-8 (ASCII included): text in another charset (UTF-16 puts a NUL
    // between the letters of every token) would pass every rule unseen.
    let charset_ok = params
        .filter_map(|p| p.split_once('='))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .all(|(_, v)| {
            let v = v.trim().trim_matches('"');
            ["utf-8", "utf8", "us-ascii", "ascii"]
                .iter()
                .any(|ok| v.eq_ignore_ascii_case(ok))
        });
    if !charset_ok {
        return Err(Refusal::UnsupportedContentType);
    }
    let json = media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"));
    let text = media.starts_with("text/")
        || media == "application/x-www-form-urlencoded"
        || media == "application/x-ndjson";
    if json {
        // JSON text is UTF-8 (RFC 8259), and serde skips over a string's bytes without
        // checking them: a byte that is not UTF-8 inside a string (an overlong `A`) is a letter
        // the engine never read that a lenient upstream might.
        let text = std::str::from_utf8(bytes).map_err(|_| Refusal::InvalidJson)?;
        serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|_| Refusal::InvalidJson)?;
    } else if !text || !readable_text(bytes) {
        return Err(Refusal::UnsupportedContentType);
    }
    Ok(())
}

/// Text the engine can read: UTF-8 without NULs (UTF-16 puts one between the letters of
/// every ASCII token, and is valid UTF-8 all the same).
fn readable_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok() && memchr::memchr(0, bytes).is_none()
}
