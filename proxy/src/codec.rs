//! HTTP content codings: the one place that knows gzip, deflate, brotli and zstd.
//!
//! Requests are decoded whole, with a ceiling, before they are inspected ([`decode_all`]);
//! responses are decoded as they stream ([`StreamDecoder`]) so that token usage can be read
//! from them. This module never guesses: a coding it does not know is an error for the
//! caller to act on (a request is refused; a response is relayed as it came, unmetered).

use std::io::{Read, Write};

use http::header::{self, HeaderMap};

/// A content coding airlock can undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    /// HTTP's "deflate" is zlib-wrapped; raw deflate is accepted too, as browsers do.
    Deflate,
    Brotli,
    Zstd,
}

/// Why a body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum CodecError {
    #[error("content coding not supported")]
    Unsupported,
    #[error("body is not valid for its content coding")]
    Corrupt,
    #[error("decoded body exceeds the limit")]
    TooLarge,
}

/// The codings named by `Content-Encoding`, in the order they were applied (`identity`
/// dropped).
pub(crate) fn codings(headers: &HeaderMap) -> Result<Vec<Coding>, CodecError> {
    let mut out = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let value = value.to_str().map_err(|_| CodecError::Unsupported)?;
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            out.push(match token.to_ascii_lowercase().as_str() {
                "identity" => continue,
                "gzip" | "x-gzip" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                "br" => Coding::Brotli,
                "zstd" => Coding::Zstd,
                _ => return Err(CodecError::Unsupported),
            });
        }
    }
    Ok(out)
}

/// Undoes `codings` (applied in order) on a whole body; the result never exceeds `limit`,
/// so a small compressed body cannot expand without bound.
pub(crate) fn decode_all(
    mut bytes: Vec<u8>,
    codings: &[Coding],
    limit: usize,
) -> Result<Vec<u8>, CodecError> {
    for coding in codings.iter().rev() {
        bytes = match coding {
            Coding::Gzip => read_capped(flate2::read::MultiGzDecoder::new(&bytes[..]), limit)?,
            Coding::Deflate => read_capped(flate2::read::ZlibDecoder::new(&bytes[..]), limit)
                .or_else(|error| match error {
                    CodecError::Corrupt => {
                        read_capped(flate2::read::DeflateDecoder::new(&bytes[..]), limit)
                    }
                    other => Err(other),
                })?,
            Coding::Brotli => read_capped(
                brotli_decompressor::Decompressor::new(&bytes[..], 8192),
                limit,
            )?,
            Coding::Zstd => {
                let reader = zstd::stream::read::Decoder::new(&bytes[..])
                    .map_err(|_| CodecError::Corrupt)?;
                read_capped(reader, limit)?
            }
        };
    }
    Ok(bytes)
}

fn read_capped(reader: impl Read, limit: usize) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| CodecError::Corrupt)?;
    if out.len() > limit {
        return Err(CodecError::TooLarge);
    }
    Ok(out)
}

/// The brotli decoder's internal buffer.
const BROTLI_BUFFER: usize = 4096;

/// Decodes a response body as it streams: each [`push`](Self::push) returns the decoded bytes
/// that input made available.
pub(crate) struct StreamDecoder {
    stages: Vec<Stage>,
    /// Whether any input came: an empty body (HEAD, 204, 304) is complete as it is, whatever
    /// `Content-Encoding` says.
    fed: bool,
}

enum Stage {
    Gzip(flate2::write::MultiGzDecoder<Vec<u8>>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    /// Raw deflate, chosen when the first bytes are not a zlib header.
    Deflate(flate2::write::DeflateDecoder<Vec<u8>>),
    /// "deflate" before its first two bytes (which tell zlib from raw) have been seen.
    DeflateUndecided(Vec<u8>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl StreamDecoder {
    /// A decoder for `codings` (as named by the response, in the order applied).
    pub(crate) fn new(codings: &[Coding]) -> Result<Self, CodecError> {
        let mut stages = Vec::with_capacity(codings.len());
        // The last coding applied is the first to undo.
        for coding in codings.iter().rev() {
            stages.push(match coding {
                Coding::Gzip => Stage::Gzip(flate2::write::MultiGzDecoder::new(Vec::new())),
                Coding::Deflate => Stage::DeflateUndecided(Vec::new()),
                Coding::Brotli => Stage::Brotli(Box::new(
                    brotli_decompressor::DecompressorWriter::new(Vec::new(), BROTLI_BUFFER),
                )),
                Coding::Zstd => Stage::Zstd(
                    zstd::stream::write::Decoder::new(Vec::new())
                        .map_err(|_| CodecError::Unsupported)?,
                ),
            });
        }
        Ok(StreamDecoder { stages, fed: false })
    }

    /// Feeds encoded bytes; returns what they decoded to (possibly nothing yet). Everything
    /// `input` decodes to is returned at once: responses come from allowlisted upstreams, and
    /// the proxy's reads are small.
    pub(crate) fn push(&mut self, input: &[u8]) -> Result<Vec<u8>, CodecError> {
        self.fed |= !input.is_empty();
        self.run(input, false)
    }

    /// Ends the stream: returns the last decoded bytes, or an error when the input stopped
    /// short of a complete encoding.
    pub(crate) fn finish(&mut self) -> Result<Vec<u8>, CodecError> {
        if !self.fed {
            return Ok(Vec::new());
        }
        self.run(&[], true)
    }

    /// Passes `input` through every stage in turn, ending each when `last`.
    fn run(&mut self, input: &[u8], last: bool) -> Result<Vec<u8>, CodecError> {
        let mut data = std::borrow::Cow::Borrowed(input);
        for stage in &mut self.stages {
            stage.write(&data)?;
            if last {
                stage.finish()?;
            }
            data = std::borrow::Cow::Owned(stage.take_output());
        }
        Ok(data.into_owned())
    }
}

impl Stage {
    fn write(&mut self, piece: &[u8]) -> Result<(), CodecError> {
        if piece.is_empty() {
            return Ok(());
        }
        let held;
        let piece = if let Stage::DeflateUndecided(seen) = self {
            seen.extend_from_slice(piece);
            if seen.len() < 2 {
                return Ok(());
            }
            // A zlib header is CMF (method 8 in the low nibble) then FLG with CMF·256+FLG a
            // multiple of 31; anything else is raw deflate.
            let zlib =
                seen[0] & 0x0f == 8 && (u16::from(seen[0]) << 8 | u16::from(seen[1])) % 31 == 0;
            held = std::mem::take(seen);
            *self = if zlib {
                Stage::Zlib(flate2::write::ZlibDecoder::new(Vec::new()))
            } else {
                Stage::Deflate(flate2::write::DeflateDecoder::new(Vec::new()))
            };
            &held[..]
        } else {
            piece
        };
        let result = match self {
            Stage::Gzip(d) => d.write_all(piece),
            Stage::Zlib(d) => d.write_all(piece),
            Stage::Deflate(d) => d.write_all(piece),
            Stage::Brotli(d) => d.write_all(piece),
            Stage::Zstd(d) => d.write_all(piece),
            Stage::DeflateUndecided(_) => Ok(()),
        };
        result.map_err(|_| CodecError::Corrupt)?;
        // Push through what the decoder holds, so output is not delayed to the next write.
        let flushed = match self {
            Stage::Gzip(d) => d.flush(),
            Stage::Zlib(d) => d.flush(),
            Stage::Deflate(d) => d.flush(),
            Stage::Brotli(d) => d.flush(),
            Stage::Zstd(d) => d.flush(),
            Stage::DeflateUndecided(_) => Ok(()),
        };
        flushed.map_err(|_| CodecError::Corrupt)
    }

    fn take_output(&mut self) -> Vec<u8> {
        match self {
            Stage::Gzip(d) => std::mem::take(d.get_mut()),
            Stage::Zlib(d) => std::mem::take(d.get_mut()),
            Stage::Deflate(d) => std::mem::take(d.get_mut()),
            Stage::Brotli(d) => std::mem::take(d.get_mut()),
            Stage::Zstd(d) => std::mem::take(d.get_mut()),
            Stage::DeflateUndecided(_) => Vec::new(),
        }
    }

    fn finish(&mut self) -> Result<(), CodecError> {
        let complete = match self {
            Stage::Gzip(d) => d.try_finish().is_ok(),
            Stage::Zlib(d) => d.try_finish().is_ok(),
            Stage::Deflate(d) => d.try_finish().is_ok(),
            // brotli reports a truncated stream on close.
            Stage::Brotli(d) => d.close().is_ok(),
            // zstd's streaming decoder cannot tell a cut frame: the meter then finds no usage.
            Stage::Zstd(d) => d.flush().is_ok(),
            // One byte is never a complete deflate stream; none is an empty body.
            Stage::DeflateUndecided(seen) => seen.is_empty(),
        };
        if complete {
            Ok(())
        } else {
            Err(CodecError::Corrupt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &[u8] = b"event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":57}}\n\n";

    fn encoded(coding: Coding, text: &[u8]) -> Vec<u8> {
        match coding {
            Coding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
            Coding::Deflate => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
            Coding::Brotli => {
                let mut out = Vec::new();
                {
                    let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                    e.write_all(text).unwrap();
                }
                out
            }
            Coding::Zstd => zstd::encode_all(text, 1).unwrap(),
        }
    }

    const ALL: [Coding; 4] = [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd];

    #[test]
    fn streamed_decoding_matches_the_text_whatever_the_chunking() {
        let text = TEXT.repeat(200);
        for coding in ALL {
            let wire = encoded(coding, &text);
            for piece in [1, 7, 64, 5000, wire.len()] {
                let mut decoder = StreamDecoder::new(&[coding]).unwrap();
                let mut out = Vec::new();
                for chunk in wire.chunks(piece) {
                    out.extend(decoder.push(chunk).unwrap());
                }
                out.extend(decoder.finish().unwrap());
                assert_eq!(out, text, "{coding:?} in pieces of {piece}");
            }
            assert_eq!(
                decode_all(wire, &[coding], 1 << 20).unwrap(),
                text,
                "{coding:?}"
            );
        }
    }

    #[test]
    fn output_is_not_held_back_until_the_end() {
        // The first event must be readable before the stream ends (usage is read as it goes).
        for coding in [Coding::Gzip, Coding::Deflate] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            let wire = if coding == Coding::Gzip {
                e.write_all(TEXT).unwrap();
                e.flush().unwrap();
                e.get_ref().clone()
            } else {
                z.write_all(TEXT).unwrap();
                z.flush().unwrap();
                z.get_ref().clone()
            };
            let mut decoder = StreamDecoder::new(&[coding]).unwrap();
            assert_eq!(decoder.push(&wire).unwrap(), TEXT, "{coding:?}");
        }
    }

    #[test]
    fn raw_deflate_and_stacked_codings_are_undone() {
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(TEXT).unwrap();
        let raw = raw.finish().unwrap();
        let mut decoder = StreamDecoder::new(&[Coding::Deflate]).unwrap();
        let mut out = decoder.push(&raw).unwrap();
        out.extend(decoder.finish().unwrap());
        assert_eq!(out, TEXT);
        assert_eq!(decode_all(raw, &[Coding::Deflate], 1 << 20).unwrap(), TEXT);
        // gzip applied first, then zstd: undone in reverse.
        let stacked = encoded(Coding::Zstd, &encoded(Coding::Gzip, TEXT));
        let mut decoder = StreamDecoder::new(&[Coding::Gzip, Coding::Zstd]).unwrap();
        let mut out = decoder.push(&stacked).unwrap();
        out.extend(decoder.finish().unwrap());
        assert_eq!(out, TEXT);
    }

    #[test]
    fn corrupt_truncated_and_oversized_bodies_are_errors() {
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli] {
            let wire = encoded(coding, &TEXT.repeat(50));
            let mut decoder = StreamDecoder::new(&[coding]).unwrap();
            let _ = decoder.push(&wire[..wire.len() / 2]);
            assert_eq!(
                decoder.finish(),
                Err(CodecError::Corrupt),
                "{coding:?} truncated"
            );
        }
        for coding in ALL {
            assert!(
                decode_all(b"definitely not compressed".to_vec(), &[coding], 1 << 20).is_err(),
                "{coding:?}"
            );
            let bomb = encoded(coding, &vec![b'a'; 100_000]);
            assert_eq!(
                decode_all(bomb, &[coding], 10_000),
                Err(CodecError::TooLarge),
                "{coding:?}"
            );
        }
    }

    #[test]
    fn an_empty_body_is_complete_whatever_its_coding() {
        for coding in ALL {
            let mut decoder = StreamDecoder::new(&[coding]).unwrap();
            assert_eq!(decoder.push(b""), Ok(Vec::new()));
            assert_eq!(decoder.finish(), Ok(Vec::new()), "{coding:?}");
        }
    }

    #[test]
    fn content_encoding_headers_are_read_in_order() {
        let mut headers = HeaderMap::new();
        headers.append(header::CONTENT_ENCODING, "gzip, identity".parse().unwrap());
        headers.append(header::CONTENT_ENCODING, "BR".parse().unwrap());
        assert_eq!(codings(&headers), Ok(vec![Coding::Gzip, Coding::Brotli]));
        headers.append(header::CONTENT_ENCODING, "compress".parse().unwrap());
        assert_eq!(codings(&headers), Err(CodecError::Unsupported));
    }
}
