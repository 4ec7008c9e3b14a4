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
    let mut runs = Vec::new();
    if text.len() < OPAQUE_RUN {
        return runs;
    }
    let mut i = 0;
    while i < text.len() {
        let start = i;
        while i < text.len() && BASE64[usize::from(text[i])] {
            i += 1;
        }
        if i - start >= OPAQUE_RUN {
            runs.push(start..i);
        }
        i += 1;
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
