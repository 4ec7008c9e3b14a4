//! Opaque runs: long stretches of base64 (images, audio, files, ciphertext) inside a request.
//!
//! The regex and entropy layers skip them: they hold no text with tokens in it, and any
//! "match" inside would be an accident of random data that corrupts the media. The registry
//! still scans them, so a known secret encoded inside a blob is still caught.

use std::ops::Range;

/// Runs of base64 text this long are media or ciphertext (an image block, a file), not text
/// with tokens in it: the regex layer skips them (the registry still scans them).
pub(crate) const OPAQUE_RUN: usize = 4096;

/// The runs of at least [`OPAQUE_RUN`] base64 characters, in order.
pub(crate) fn runs(text: &[u8]) -> Vec<Range<usize>> {
    let is_base64 = |b: u8| BASE64[usize::from(b)];
    let mut runs = Vec::new();
    // Any run of OPAQUE_RUN bytes that starts at or after `from` covers the byte at
    // `from + OPAQUE_RUN - 1`: probing that byte skips ordinary text almost for free.
    let mut from = 0;
    while from + OPAQUE_RUN <= text.len() {
        let probe = from + OPAQUE_RUN - 1;
        if !is_base64(text[probe]) {
            from = probe + 1;
            continue;
        }
        let start = from
            + text[from..probe]
                .iter()
                .rposition(|&b| !is_base64(b))
                .map_or(0, |p| p + 1);
        let end = probe
            + text[probe..]
                .iter()
                .position(|&b| !is_base64(b))
                .unwrap_or(text.len() - probe);
        if end - start >= OPAQUE_RUN {
            runs.push(start..end);
        }
        from = end + 1;
    }
    runs
}

/// Which bytes can appear in standard or URL-safe base64.
const BASE64: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-');
        b += 1;
    }
    table
};
