//! Reading a request body into memory, decoded, so that every byte of it can be inspected.
//!
//! The body is read up to `max_body_bytes` (refused beyond, by `Content-Length` before a byte
//! is read when the client declares it), its `Content-Encoding` undone (identity, gzip,
//! deflate; anything else is refused, since what cannot be read cannot be redacted), and its
//! `Content-Type` checked: JSON must parse, text and form bodies pass as they are, and any
//! other type (binary uploads, multipart) is refused.

use std::io::Read;

use bytes::Bytes;
use http::header::{self, HeaderMap};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

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
    let encodings = encodings(headers)?;
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
    let bytes = decode(raw, &encodings, limit)?;
    check_type(headers, &bytes)?;
    Ok(bytes)
}

#[derive(Debug, Clone, Copy)]
enum Coding {
    Gzip,
    Deflate,
}

/// The body's codings, in the order they were applied.
fn encodings(headers: &HeaderMap) -> Result<Vec<Coding>, Refusal> {
    let mut out = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value.to_str().map_err(|_| Refusal::UnsupportedEncoding)?;
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            match token.to_ascii_lowercase().as_str() {
                "identity" => {}
                "gzip" | "x-gzip" => out.push(Coding::Gzip),
                "deflate" => out.push(Coding::Deflate),
                _ => return Err(Refusal::UnsupportedEncoding),
            }
        }
    }
    Ok(out)
}

fn decode(mut bytes: Bytes, codings: &[Coding], limit: usize) -> Result<Bytes, Refusal> {
    for coding in codings.iter().rev() {
        bytes =
            match coding {
                Coding::Gzip => inflate(flate2::read::MultiGzDecoder::new(&bytes[..]), limit)?,
                // HTTP's "deflate" is zlib-wrapped; some clients send raw deflate all the same.
                Coding::Deflate => inflate(flate2::read::ZlibDecoder::new(&bytes[..]), limit)
                    .or_else(|refusal| match refusal {
                        Refusal::UnreadableBody => {
                            inflate(flate2::read::DeflateDecoder::new(&bytes[..]), limit)
                        }
                        other => Err(other),
                    })?,
            };
    }
    Ok(bytes)
}

/// Decompresses with a ceiling, so a small compressed body cannot expand without bound.
fn inflate(reader: impl Read, limit: usize) -> Result<Bytes, Refusal> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| Refusal::UnreadableBody)?;
    if out.len() > limit {
        return Err(Refusal::BodyTooLarge { limit });
    }
    Ok(Bytes::from(out))
}

fn check_type(headers: &HeaderMap, bytes: &[u8]) -> Result<(), Refusal> {
    if bytes.is_empty() {
        return Ok(());
    }
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        // No declared type: inspectable only if it is text.
        return std::str::from_utf8(bytes)
            .map(|_| ())
            .map_err(|_| Refusal::UnsupportedContentType);
    };
    let media = value
        .to_str()
        .map_err(|_| Refusal::UnsupportedContentType)?
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"));
    let text = media.starts_with("text/")
        || media == "application/x-www-form-urlencoded"
        || media == "application/x-ndjson";
    if json {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|_| Refusal::InvalidJson)?;
    } else if !text {
        return Err(Refusal::UnsupportedContentType);
    }
    Ok(())
}
