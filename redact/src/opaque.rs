//! Opaque runs: stretches of base64 (images, audio, files, ciphertext) inside a request: any
//! run this long, and a shorter one where media sits (a JSON `"data"` value, after a data
//! URL's `base64,`).
//!
//! The regex and entropy layers skip them: they hold no text with tokens in it, and any
//! "match" inside would be an accident of random data that corrupts the media. The registry
//! still scans them, so a known secret encoded inside a blob is still caught, and the engine
//! still reads any run that decodes to text (`encoded`).

use std::ops::Range;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::runs::{base64_mask, Class, Masks};

/// Runs of base64 text this long are media or ciphertext (an image block, a file), not text
/// with tokens in it: the regex layer skips them (the registry still scans them).
pub(crate) const OPAQUE_RUN: usize = 4096;

/// A base64 run this long where media sits is media: a small icon or a short audio clip.
const MEDIA_RUN: usize = 64;

/// Where media starts: after a data URL's `;base64,`, and in the value of a JSON `"data"` key
/// (Anthropic's `source.data`, OpenAI's `input_audio.data`), with or without a space.
fn media_starts(text: &[u8]) -> impl Iterator<Item = usize> + '_ {
    // Built once: a searcher made per call cost more than its search on a small request.
    static DATA_URL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b";base64,"));
    static DATA_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"data\":"));
    let data_urls = DATA_URL.find_iter(text).map(|at| at + 8);
    let data_values = DATA_KEY.find_iter(text).filter_map(|at| {
        let value = at + 7;
        let quote = value
            + text
                .get(value..)?
                .iter()
                .take_while(|&&b| b == b' ')
                .count();
        (text.get(quote) == Some(&b'"')).then_some(quote + 1)
    });
    data_urls.chain(data_values)
}

/// The opaque runs of `text`, sorted and disjoint.
pub(crate) fn runs(text: &[u8]) -> Vec<Range<usize>> {
    let mut runs = probed_runs(text, OPAQUE_RUN);
    let mut media = Vec::new();
    for start in media_starts(text) {
        // Media inside a long run ends where the run does: walking a megabyte of image a
        // second time was a fifth of the time of a request with a screenshot in it.
        let long = runs
            .get(runs.partition_point(|r| r.end <= start))
            .filter(|r| r.start <= start);
        let end = match long {
            Some(run) => run.end,
            None => {
                start
                    + text[start..]
                        .iter()
                        .position(|&b| !BASE64[usize::from(b)])
                        .unwrap_or(text.len() - start)
            }
        };
        if end - start >= MEDIA_RUN {
            media.push(start..end);
        }
    }
    if media.is_empty() {
        return runs;
    }
    // A media run is a whole run or the tail of one (after `base64,`): merge the overlaps.
    runs.extend(media);
    runs.sort_unstable_by_key(|r| (r.start, std::cmp::Reverse(r.end)));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(runs.len());
    for run in runs {
        match merged.last_mut() {
            Some(last) if run.start <= last.end => last.end = last.end.max(run.end),
            _ => merged.push(run),
        }
    }
    merged
}

/// The maximal runs of at least `min` (2 to 64) base64 characters in the text `masks`
/// classified, in order: `known` (sorted, disjoint, themselves maximal runs at least `min`
/// long, such as [`runs`]; `masks` may have skipped them) whole and unread, and the runs
/// between them.
pub(crate) fn base64_runs(masks: &Masks, min: usize, known: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut from = 0;
    let end = masks.len();
    for run in known.iter().chain(std::iter::once(&(end..end))) {
        found.extend(masks.long_runs(from..run.start.max(from), min, Class::Base64));
        if !run.is_empty() {
            found.push(run.clone());
        }
        from = run.end;
    }
    found
}

/// The maximal runs of at least `min` base64 characters, in order, for `min` well past a
/// block: one byte in `min` is read unless it is base64, which skips ordinary text many
/// bytes at a time.
pub(crate) fn probed_runs(text: &[u8], min: usize) -> Vec<Range<usize>> {
    let is_base64 = |b: u8| BASE64[usize::from(b)];
    let mut runs = Vec::new();
    // Any run of `min` bytes that starts at or after `from` covers the byte at
    // `from + min - 1`.
    let mut from = 0;
    while from + min <= text.len() {
        let probe = from + min - 1;
        if !is_base64(text[probe]) {
            from = probe + 1;
            continue;
        }
        let start = from
            + text[from..probe]
                .iter()
                .rposition(|&b| !is_base64(b))
                .map_or(0, |p| p + 1);
        let end = run_end(text, probe);
        if end - start >= min {
            runs.push(start..end);
        }
        from = end + 1;
    }
    runs
}

/// The end of the base64 run that holds `at`: a 64-byte block a step (classified as the
/// run finder does, without a branch per byte: media runs are megabytes long), then byte by
/// byte.
fn run_end(text: &[u8], at: usize) -> usize {
    let mut end = at;
    for block in text[at..].chunks_exact(64) {
        let base64 = base64_mask(block);
        if base64 != u64::MAX {
            return end + base64.trailing_ones() as usize;
        }
        end += 64;
    }
    end + text[end..]
        .iter()
        .position(|&b| !BASE64[usize::from(b)])
        .unwrap_or(text.len() - end)
}

/// Which bytes can appear in standard or URL-safe base64.
pub(crate) const BASE64: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'_' | b'-');
        b += 1;
    }
    table
};
