//! An unescaped view of JSON string content, with a map back to the raw bytes.
//!
//! Regex rules must see `"key:\nghp_…"` as a newline followed by a token, not as the letter
//! `n` glued to it, and a PEM block whose newlines are written `\n` as a PEM block. This module
//! decodes every JSON escape (`\n`, `\"`, `\/`, `\uXXXX` with surrogate pairs) into a view and
//! remembers, for every view byte, where its source starts in the raw input, so that a span
//! found in the view maps back to a raw span that starts and ends on escape boundaries (and the
//! replacement therefore never cuts an escape in half). It never allocates for input without
//! a backslash.

use std::borrow::Cow;

/// The text the regex layer scans, and how to get back to the raw input.
pub(crate) struct View<'a> {
    text: Cow<'a, [u8]>,
    /// `origin[i]` is the raw offset of the escape (or byte) that produced view byte `i`.
    /// Empty when the view is the raw input itself.
    origin: Vec<u32>,
    raw_len: usize,
}

impl<'a> View<'a> {
    /// Builds the view of `raw`; borrowed when there is nothing to unescape.
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        // Offsets are stored as u32 to keep the map at 4 bytes a byte; inputs beyond 4 GiB are
        // scanned raw (the proxy refuses such bodies long before this).
        if memchr::memchr(b'\\', raw).is_none() || raw.len() > u32::MAX as usize {
            return View {
                text: Cow::Borrowed(raw),
                origin: Vec::new(),
                raw_len: raw.len(),
            };
        }
        let mut text = Vec::with_capacity(raw.len());
        let mut origin = Vec::with_capacity(raw.len());
        let mut i = 0;
        while i < raw.len() {
            let Some(off) = memchr::memchr(b'\\', &raw[i..]) else {
                push_plain(&mut text, &mut origin, raw, i, raw.len());
                break;
            };
            let b = i + off;
            push_plain(&mut text, &mut origin, raw, i, b);
            let (ch, len) = decode_escape(raw, b);
            let mut utf8 = [0u8; 4];
            for &byte in ch.encode_utf8(&mut utf8).as_bytes() {
                text.push(byte);
                origin.push(b as u32);
            }
            i = b + len;
        }
        View {
            text: Cow::Owned(text),
            origin,
            raw_len: raw.len(),
        }
    }

    /// The bytes to scan.
    pub(crate) fn text(&self) -> &[u8] {
        &self.text
    }

    /// Maps a span of the view back to the raw input.
    pub(crate) fn raw_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.origin.is_empty() {
            return (start, end);
        }
        let raw_start = self.origin.get(start).map_or(self.raw_len, |&o| o as usize);
        let raw_end = self.origin.get(end).map_or(self.raw_len, |&o| o as usize);
        (raw_start, raw_end.max(raw_start))
    }
}

fn push_plain(text: &mut Vec<u8>, origin: &mut Vec<u32>, raw: &[u8], from: usize, to: usize) {
    text.extend_from_slice(&raw[from..to]);
    origin.extend((from..to).map(|o| o as u32));
}

/// Decodes the escape that starts at `raw[at] == b'\\'`: the character and how many raw bytes
/// it spans. Anything that is not a valid JSON escape stands for a literal backslash, so plain
/// text with backslashes (a Windows path in a log) is scanned as it is.
fn decode_escape(raw: &[u8], at: usize) -> (char, usize) {
    let simple = match raw.get(at + 1) {
        Some(b'n') => '\n',
        Some(b't') => '\t',
        Some(b'r') => '\r',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'"') => '"',
        Some(b'\\') => '\\',
        Some(b'/') => '/',
        Some(b'u') => return decode_unicode(raw, at),
        _ => return ('\\', 1),
    };
    (simple, 2)
}

fn decode_unicode(raw: &[u8], at: usize) -> (char, usize) {
    let Some(high) = hex4(raw, at + 2) else {
        return ('\\', 1);
    };
    if (0xD800..0xDC00).contains(&high) {
        // A high surrogate is only a character together with the low surrogate after it.
        if raw.get(at + 6) == Some(&b'\\') && raw.get(at + 7) == Some(&b'u') {
            if let Some(low) = hex4(raw, at + 8).filter(|l| (0xDC00..0xE000).contains(l)) {
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return (char::from_u32(code).unwrap_or('\u{FFFD}'), 12);
            }
        }
        return ('\u{FFFD}', 6);
    }
    (char::from_u32(high).unwrap_or('\u{FFFD}'), 6)
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// The raw span of the escape sequence that `pos` falls strictly inside, if any.
///
/// Registry matches are found on raw bytes; one that starts or ends inside an escape (a
/// secret that begins with `n` right after a `\\`) is widened to the whole escape so the
/// replacement keeps the JSON valid.
pub(crate) fn escape_around(raw: &[u8], pos: usize) -> Option<(usize, usize)> {
    let lowest = pos.saturating_sub(11);
    let mut b = pos;
    while b > lowest {
        b -= 1;
        if raw[b] != b'\\' {
            continue;
        }
        // The backslash opens an escape only if an even number of backslashes precede it.
        let run = raw[..b].iter().rev().take_while(|&&c| c == b'\\').count();
        if run % 2 == 1 {
            continue;
        }
        let (_, len) = decode_escape(raw, b);
        if b + len <= pos {
            return None;
        }
        // The second half of a surrogate pair belongs to the escape before it.
        if let Some(first) = b.checked_sub(6) {
            let opens_pair = raw[first] == b'\\'
                && raw.get(first + 1) == Some(&b'u')
                && hex4(raw, first + 2).is_some_and(|h| (0xD800..0xDC00).contains(&h))
                && raw[..first]
                    .iter()
                    .rev()
                    .take_while(|&&c| c == b'\\')
                    .count()
                    % 2
                    == 0;
            if opens_pair && decode_escape(raw, first).1 == 12 {
                return Some((first, b + len));
            }
        }
        return Some((b, b + len));
    }
    None
}
