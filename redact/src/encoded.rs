//! Encoded text inside a request: runs of base64 or hex that decode to readable text (a file
//! an agent read and sent encoded, a Kubernetes secret's `data`, `xxd -p` output), and
//! percent-encoded text whose escapes hide its structure (`DB_PASSWORD%3D...%0A`, a form
//! field holding a config file), lists of byte literals (`0x44, 0x42, ...`), hex pairs
//! between colons, and backslash escapes that spell out letters (`\163\153`).
//!
//! This module only finds such runs and decodes them; the engine runs the regex and entropy
//! layers over the decoded text, and a finding there replaces the whole run (part of an
//! encoding cannot be replaced without corrupting the rest). Runs that decode to binary
//! (images, ciphertext, random tokens) are left alone here: most of them fail on their first
//! bytes, so the check costs little. One level of encoding is decoded, never more, and decoded
//! text is held in zeroizing buffers.

use std::ops::Range;
use std::sync::LazyLock;

use base64::Engine as _;
use memchr::memmem::Finder;
use zeroize::Zeroizing;

use crate::containers::{Container, ContainerKind};
use crate::opaque;
use crate::runs::Masks;

/// Shorter base64 runs are tokens and words, and would decode to too little text to hold an
/// assignment with its secret (32 characters are 24 bytes).
const MIN_BASE64_RUN: usize = 32;
/// Shorter hex runs are ids and digests prefixes; 32 hex characters are 16 bytes.
const MIN_HEX_RUN: usize = 32;
/// The prefix decoded before the whole run: random data fails here.
const PROBE: usize = 64;

/// A run of encoded text and what it decodes to.
pub(crate) struct Decoded {
    /// The run, in the scanned text's coordinates.
    pub(crate) span: Range<usize>,
    pub(crate) text: Zeroizing<Vec<u8>>,
}

/// Every run in `text` that decodes (base64, standard or URL-safe, or hex) to readable text.
/// `opaque` are the text's opaque runs: media is not read to its end a second time, and most
/// of it fails the head check.
/// Runs whose head is a document's signature go to `containers` (view coordinates).
pub(crate) fn decoded_runs(
    text: &[u8],
    opaque: &[Range<usize>],
    masks: &Masks,
    containers: &mut Vec<Container>,
) -> Vec<Decoded> {
    let mut found = Vec::new();
    // The end of the last run taken, wrapped lines included: the lines after its first are
    // runs of their own below.
    let mut covered = 0;
    for run in opaque::base64_runs(masks, MIN_BASE64_RUN, opaque) {
        if run.start < covered {
            continue;
        }
        let end = wrapped_end(text, run.start, run.end);
        covered = end;
        match decode(&text[run.start..end]) {
            Ok(decoded) => found.push(Decoded {
                span: run.start..end,
                text: decoded,
            }),
            Err(Some(kind)) => containers.push(Container {
                kind,
                span: run.start..end,
            }),
            Err(None) => {}
        }
    }
    percent_runs(text, &mut found);
    entity_runs(text, &mut found);
    crate::dumps::dump_runs(text, &mut found);
    byte_list_runs(text, &mut found);
    decimal_list_runs(text, &mut found);
    separated_hex_runs(text, masks, &mut found);
    escape_runs(text, &mut found);
    found
}

/// Hex pairs between colons (`73:6b:5f:6c:...`, as `openssl` prints bytes and as
/// `xxd -p | sed 's/../&:/g'` writes a value): at least [`MIN_BYTE_LIST`] pairs, read decoded
/// when they are text. Fingerprints and MAC addresses decode to binary or are shorter, and are
/// left alone. Found from the class masks: colons are everywhere in JSON and prose, and a
/// search that stopped at each one cost a sixth of the engine's time on the captures.
fn separated_hex_runs(text: &[u8], masks: &Masks, found: &mut Vec<Decoded>) {
    let pair_at = |i: usize| {
        text.get(i..i + 2)
            .is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit))
    };
    let mut at = 0;
    for inside in masks.pair_runs() {
        if inside < at || !pair_at(inside) {
            continue;
        }
        let mut start = inside;
        while start >= 3 && text[start - 1] == b':' && pair_at(start - 3) {
            start -= 3;
        }
        if start > 0 && text[start - 1].is_ascii_alphanumeric() {
            at = inside + 1;
            continue;
        }
        let mut end = start;
        let mut bytes = Zeroizing::new(Vec::new());
        while pair_at(end) && (bytes.is_empty() || text[end - 1] == b':') {
            bytes.push(hex_pair(&text[end..end + 2]));
            end += 3;
        }
        // The last pair's separator, if any, is not the run's.
        end -= 1;
        at = end;
        if bytes.len() >= MIN_BYTE_LIST
            && !text.get(end).is_some_and(u8::is_ascii_alphanumeric)
            && readable(&bytes)
        {
            found.push(Decoded {
                span: start..end,
                text: bytes,
            });
        }
    }
}

/// Runs of backslash escapes (`\163\153` octal, `\x73\x6b` hex), mixed with plain
/// characters, where an escape hides a letter or a digit: what `printf`, a shell's `$'...'`
/// and Python's `repr` of bytes write, and no encoder escapes a letter on its own. The rules
/// read them decoded.
fn escape_runs(text: &[u8], found: &mut Vec<Decoded>) {
    let plain = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-' | b'+' | b'/' | b'=')
    };
    let escape = |rest: &[u8]| -> Option<(u8, usize)> {
        match rest.strip_prefix(b"\\")? {
            [b'x', high, low, ..] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
                Some((hex_pair(&[*high, *low]), 4))
            }
            [a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7', ..] => {
                Some(((a - b'0') << 6 | (b - b'0') << 3 | (c - b'0'), 4))
            }
            _ => None,
        }
    };
    let runs = MixedRuns {
        next: |rest: &[u8]| memchr::memchr(b'\\', rest),
        plain,
        escape,
        hides: u8::is_ascii_alphanumeric,
    };
    runs.find(
        text,
        |decoded, hidden| hidden >= 4 && decoded.len() >= MIN_BYTE_LIST && readable(decoded),
        found,
    );
}

/// Runs of escapes mixed with plain characters, each found from a place `next` points at:
/// the run reaches back over plain bytes (not into the run before it) and on while escapes
/// or plain bytes follow, and is kept when `keep` accepts what it decodes to and how many of
/// its escapes hide a byte `hides` names.
struct MixedRuns<N, P, E> {
    /// Where the next escape may start, in the text after the last run.
    next: N,
    plain: P,
    /// The byte the escape at the start of a slice writes, and its length.
    escape: E,
    hides: fn(&u8) -> bool,
}

impl<N, P, E> MixedRuns<N, P, E>
where
    N: Fn(&[u8]) -> Option<usize>,
    P: Fn(u8) -> bool,
    E: Fn(&[u8]) -> Option<(u8, usize)>,
{
    fn find(&self, text: &[u8], keep: impl Fn(&[u8], usize) -> bool, found: &mut Vec<Decoded>) {
        let mut at = 0;
        while let Some(offset) = (self.next)(&text[at..]) {
            let first = at + offset;
            if (self.escape)(&text[first..]).is_none() {
                at = first + 1;
                continue;
            }
            let mut start = first;
            while start > at && (self.plain)(text[start - 1]) {
                start -= 1;
            }
            let mut decoded = Zeroizing::new(text[start..first].to_vec());
            let (mut end, mut hidden) = (first, 0);
            loop {
                if let Some((b, len)) = (self.escape)(&text[end..]) {
                    hidden += usize::from((self.hides)(&b));
                    decoded.push(b);
                    end += len;
                } else if text.get(end).is_some_and(|&b| (self.plain)(b)) {
                    decoded.push(text[end]);
                    end += 1;
                } else {
                    break;
                }
            }
            at = end;
            if keep(&decoded, hidden) {
                found.push(Decoded {
                    span: start..end,
                    text: decoded,
                });
            }
        }
    }
}

/// Percent-encoded runs (one form field's value or one URL component: `=` and `&` end them)
/// whose escapes hide an assignment, a line break or a quote (`%3D`,
/// `%3A`, `%0A`, `%22`, `%27`): the rules read them decoded. A URL whose escapes are only
/// path separators or punctuation reads well enough as it is, and is left alone so that a
/// finding in it replaces the secret only.
fn percent_runs(text: &[u8], found: &mut Vec<Decoded>) {
    let is_url_byte = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'%' | b'.' | b'_' | b'~' | b'-' | b'+' | b'*' | b'!')
    };
    let mut at = 0;
    while let Some(i) = memchr::memchr(b'%', &text[at..]) {
        let percent = at + i;
        let mut start = percent;
        while start > at && is_url_byte(text[start - 1]) {
            start -= 1;
        }
        let mut end = percent;
        while end < text.len() && is_url_byte(text[end]) {
            end += 1;
        }
        at = end.max(percent + 1);
        let run = &text[start..end];
        let hides_structure = memchr::memchr_iter(b'%', run).any(|p| {
            run.get(p + 1..p + 3)
                .filter(|code| code.iter().all(u8::is_ascii_hexdigit))
                .is_some_and(|code| hidden(hex_pair(code)))
        });
        if run.len() < MIN_BASE64_RUN / 2 || !hides_structure {
            continue;
        }
        let decoded = Zeroizing::new(percent_decode(run));
        if readable(&decoded) {
            found.push(Decoded {
                span: start..end,
                text: decoded,
            });
        }
    }
}

/// Whether an escaped character hides something: an assignment, a line break or a quote
/// (the text's structure), or a letter or digit, which no encoder escapes (a token spelled
/// out escape by escape so that no rule recognises it).
fn hidden(b: u8) -> bool {
    matches!(b, b'=' | b':' | b'\n' | b'"' | b'\'') || b.is_ascii_alphanumeric()
}

/// Runs of HTML numeric character references (`&#103;`, `&#x67;`), mixed with plain
/// characters, where a reference hides a letter, a digit or the text's structure: HTML
/// escapers write `&lt;` and `&amp;`, never a letter, so such a run spells out something
/// that must not be recognised. The rules read them decoded.
fn entity_runs(text: &[u8], found: &mut Vec<Decoded>) {
    static REFERENCE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"&#"));
    let runs = MixedRuns {
        next: |rest: &[u8]| REFERENCE.find(rest),
        plain: |b: u8| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'_' | b'~' | b'-' | b'+' | b'/' | b'=' | b':')
        },
        escape: reference,
        hides: |b: &u8| hidden(*b),
    };
    runs.find(
        text,
        |decoded, hidden| hidden > 0 && decoded.len() >= MIN_BASE64_RUN / 4 && readable(decoded),
        found,
    );
}

/// Lists of hex byte literals (`0x5a, 0x71, ...` in C, Rust, Python or JavaScript source, or
/// `0x5a 0x71 ...` as a debugger prints them): a value written as an array of its bytes,
/// which no rule or vault form reads. Runs of at least [`MIN_BYTE_LIST`] that read as text
/// are read decoded.
fn byte_list_runs(text: &[u8], found: &mut Vec<Decoded>) {
    static PREFIX: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"0x"));
    let mut at = 0;
    while let Some(i) = PREFIX.find(&text[at..]) {
        let start = at + i;
        // `0x` marks each item, so spaces alone may part them (a debugger's or a script's
        // printout); bare numbers need their commas.
        let (bytes, end) = byte_list(text, start, Parting::CommaOrSpace, |at| {
            byte_literal(&text[at..])
        });
        at = end.max(start + 2);
        if bytes.len() >= MIN_BYTE_LIST && readable(&bytes) {
            found.push(Decoded {
                span: start..end,
                text: bytes,
            });
        }
    }
}

/// Lists of decimal byte values (`72, 101, 108, ...`: Python's `list(b"...")`, a JavaScript
/// `Uint8Array`, the `data` of a Node `Buffer` written as JSON): a file or a value written as
/// its bytes. Runs of at least [`MIN_BYTE_LIST`] that read as text are read decoded.
///
/// Found from the `[` that opens the list (Python, JavaScript, JSON): searching from every
/// comma cost 18 % of the engine on a pretty-printed request, whose JSON holds thousands, and
/// from every `{` too (C and Java arrays) 8 %.
fn decimal_list_runs(text: &[u8], found: &mut Vec<Decoded>) {
    // A number's digits at `at` (1 to 3, not part of a longer number, a decimal or a word),
    // and the byte it writes.
    let number = |at: usize| -> Option<(u8, usize)> {
        let len = text[at..]
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_digit())
            .count();
        let after = text.get(at + len);
        if !(1..=3).contains(&len)
            || after.is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
            || (at > 0 && (text[at - 1].is_ascii_alphanumeric() || text[at - 1] == b'.'))
        {
            return None;
        }
        let value = text[at..at + len]
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        u8::try_from(value).ok().map(|byte| (byte, len))
    };
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'[', &text[at..]) {
        let open = at + offset;
        at = open + 1;
        let space = text[at..]
            .iter()
            .take(16)
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let start = at + space;
        // Most `[` open no list of numbers: tested here, before a list is set up (leaving it
        // to `byte_list` cost 5 % of the engine on a pretty-printed request).
        if number(start).is_none() {
            continue;
        }
        let (bytes, end) = byte_list(text, start, Parting::Comma, number);
        at = at.max(end);
        if bytes.len() >= MIN_BYTE_LIST && readable(&bytes) {
            found.push(Decoded {
                span: start..end,
                text: bytes,
            });
        }
    }
}

/// What may stand between two items of a byte list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parting {
    /// One comma, with spaces or line breaks around it.
    Comma,
    /// That, or spaces or line breaks alone.
    CommaOrSpace,
}

/// The bytes of the list whose first item starts at `start`, and where its last item ends:
/// items (`item` reads one at an offset, with its length) parted as `parting` allows.
fn byte_list(
    text: &[u8],
    start: usize,
    parting: Parting,
    item: impl Fn(usize) -> Option<(u8, usize)>,
) -> (Zeroizing<Vec<u8>>, usize) {
    let mut bytes = Zeroizing::new(Vec::new());
    let mut end = start;
    while let Some((byte, len)) = item(end) {
        bytes.push(byte);
        end += len;
        let gap = text[end..]
            .iter()
            .take(8)
            .take_while(|b| matches!(b, b',' | b' ' | b'\t' | b'\n' | b'\r'))
            .count();
        let next = end + gap;
        let commas = text[end..next].iter().filter(|&&b| b == b',').count();
        let parted = commas == 1 || (parting == Parting::CommaOrSpace && commas == 0 && next > end);
        if !parted || item(next).is_none() {
            break;
        }
        end = next;
    }
    (bytes, end)
}

/// Fewer byte literals in a row are flags and masks, not a value written out.
const MIN_BYTE_LIST: usize = 12;

/// The byte of the literal `0xNN` (one or two hex digits) `text` starts with, and its length.
fn byte_literal(text: &[u8]) -> Option<(u8, usize)> {
    let digits = text.strip_prefix(b"0x")?;
    let count = digits
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    match count {
        1 => Some((hex_pair(&[b'0', digits[0]]), 3)),
        2 => Some((hex_pair(&digits[..2]), 4)),
        _ => None,
    }
}

/// The ASCII character of the numeric reference `text` starts with, and its length.
fn reference(text: &[u8]) -> Option<(u8, usize)> {
    let rest = text.strip_prefix(b"&#")?;
    let (hex, digits) = match rest.first() {
        Some(b'x' | b'X') => (true, &rest[1..]),
        _ => (false, rest),
    };
    let count = digits
        .iter()
        .take(8)
        .take_while(|b| {
            if hex {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        })
        .count();
    if count == 0 || digits.get(count) != Some(&b';') {
        return None;
    }
    let number = std::str::from_utf8(&digits[..count]).ok()?;
    let value = u32::from_str_radix(number, if hex { 16 } else { 10 }).ok()?;
    let b = u8::try_from(value).ok().filter(u8::is_ascii)?;
    Some((b, 2 + usize::from(hex) + count + 1))
}

/// `%XX` escapes and `+` (a space in form fields) decoded; a stray `%` is kept.
fn percent_decode(run: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(run.len());
    let mut i = 0;
    while i < run.len() {
        match run[i] {
            b'%' if run
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                out.push(hex_pair(&run[i + 1..i + 3]));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Where a run that starts at `start` and whose first line ends at `end` ends. A run wrapped
/// at a fixed width (MIME, `base64` without `-w0`) goes on after a line break when the line so
/// far is a whole number of quads; its last line may be short.
fn wrapped_end(text: &[u8], start: usize, mut end: usize) -> usize {
    let mut line_start = start;
    loop {
        let line = end - line_start;
        let newline = match text.get(end..end + 2) {
            Some([b'\r', b'\n']) => 2,
            _ if text.get(end) == Some(&b'\n') => 1,
            _ => return end,
        };
        let next = end + newline;
        if line % 4 != 0 || !text.get(next).copied().is_some_and(is_base64) {
            return end;
        }
        line_start = next;
        end = next;
        while end < text.len() && is_base64(text[end]) {
            end += 1;
        }
    }
}

/// The run's first line, at most [`PROBE`] characters.
fn head(run: &[u8]) -> &[u8] {
    // Only the probe is searched for a line end: a run can be a megabyte of image.
    let probe = &run[..run.len().min(PROBE)];
    let end = probe
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(probe.len());
    &run[..end]
}

/// What the first characters of a run decode to: readable text (and whether the run is hex),
/// or a document's signature. Most runs are identifiers, tokens or media, and are settled
/// here without a copy of the run.
fn head_kind(run: &[u8]) -> Result<bool, Option<ContainerKind>> {
    let head = head(run);
    if run.len() >= MIN_HEX_RUN && head.iter().all(u8::is_ascii_hexdigit) {
        let decoded = Zeroizing::new(hex_decode(&head[..head.len() / 2 * 2]));
        return if readable(&decoded) {
            Ok(true)
        } else {
            Err(ContainerKind::of(&decoded))
        };
    }
    let url_safe = head.iter().any(|&b| b == b'-' || b == b'_');
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    let quads = head.iter().take_while(|&&b| b != b'=').count() / 4 * 4;
    let decoded = Zeroizing::new(engine.decode(&head[..quads]).map_err(|_| None)?);
    if readable(&decoded) {
        Ok(false)
    } else {
        Err(ContainerKind::of(&decoded))
    }
}

/// The decoded text of one run, when it is readable; otherwise the kind of document it
/// holds, if its head is one's signature.
fn decode(run: &[u8]) -> Result<Zeroizing<Vec<u8>>, Option<ContainerKind>> {
    let hex = head_kind(run)?;
    let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
        run.iter()
            .copied()
            .filter(|&b| b != b'\n' && b != b'\r')
            .collect(),
    );
    if hex && compact.len() % 2 == 0 && compact.iter().all(u8::is_ascii_hexdigit) {
        let text = Zeroizing::new(hex_decode(&compact));
        return if readable(&text) { Ok(text) } else { Err(None) };
    }
    let url_safe = compact.iter().any(|&b| b == b'-' || b == b'_');
    if url_safe && compact.iter().any(|&b| b == b'+' || b == b'/') {
        return Err(None);
    }
    let body = compact
        .iter()
        .rposition(|&b| b != b'=')
        .map_or(&compact[..0], |last| &compact[..=last]);
    // A length of 1 mod 4 cannot be base64; the run likely carries one stray character.
    let body = if body.len() % 4 == 1 {
        &body[..body.len() - 1]
    } else {
        body
    };
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    let text = Zeroizing::new(engine.decode(body).map_err(|_| None)?);
    if readable(&text) {
        Ok(text)
    } else {
        Err(None)
    }
}

/// Text a person or a program would write: valid UTF-8 (a character cut at the end is
/// allowed), no control characters but tab and line breaks, and some letters.
pub(crate) fn readable(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) if error.error_len().is_none() => {
            // Only the last character is cut off.
            match std::str::from_utf8(&bytes[..error.valid_up_to()]) {
                Ok(text) => text,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    valid.len() >= MIN_BASE64_RUN / 4 * 3 / 2
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        && valid.bytes().filter(u8::is_ascii_alphabetic).count() * 4 >= valid.len()
}

fn hex_decode(hex: &[u8]) -> Vec<u8> {
    hex.chunks_exact(2).map(hex_pair).collect()
}

/// Two hex digits (checked by the caller) as the byte they write.
pub(crate) fn hex_pair(pair: &[u8]) -> u8 {
    let digit = |b: u8| match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b.to_ascii_lowercase().wrapping_sub(b'a').wrapping_add(10),
    };
    digit(pair[0]) << 4 | digit(pair[1])
}

fn is_base64(b: u8) -> bool {
    opaque::BASE64[usize::from(b)]
}

const LENIENT: base64::engine::GeneralPurposeConfig = base64::engine::GeneralPurposeConfig::new()
    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};

    /// The runs of `input` that decode to text (no media in it).
    fn decoded(input: &str) -> Vec<Decoded> {
        let text = input.as_bytes();
        decoded_runs(text, &[], &Masks::new(text, &[]), &mut Vec::new())
    }

    fn texts(input: &str) -> Vec<String> {
        decoded(input)
            .iter()
            .map(|d| String::from_utf8_lossy(&d.text).into_owned())
            .collect()
    }

    #[test]
    fn base64_and_hex_of_text_are_decoded_with_their_spans() {
        // Built at run time: the repository's own sources are a benign corpus for the scanner.
        let env = format!("APP_ENV=prod\nDB_PASSWORD={}\n", "hunter2".repeat(2));
        for encoded in [
            B64.encode(&env),
            B64URL.encode(&env),
            hex_encode(env.as_bytes()),
        ] {
            let input = format!("file: {encoded} (from the server)");
            let runs = decoded(&input);
            assert_eq!(runs.len(), 1, "{input}");
            assert_eq!(&input[runs[0].span.clone()], encoded);
            assert_eq!(&runs[0].text[..], env.as_bytes());
        }
    }

    #[test]
    fn hex_pairs_between_colons_are_one_run_wherever_they_start() {
        // Built at run time: the repository's own sources are a benign corpus for the scanner.
        let value = format!("DB_PASSWORD={}", "hunter2".repeat(2));
        let colons = value
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        // Every offset in a block, and across a block's edge.
        for before in 0..140 {
            let input = format!("{} {colons} done", "x".repeat(before));
            let runs = decoded(&input);
            assert_eq!(runs.len(), 1, "{before}");
            assert_eq!(&input[runs[0].span.clone()], colons, "{before}");
            assert_eq!(&runs[0].text[..], value.as_bytes(), "{before}");
        }
        // Shorter than a value, or glued to a name: not a run.
        assert!(decoded("mac 02:42:ac:11:00:02 up").is_empty());
        assert!(decoded(&format!("id{colons}")).is_empty());
    }

    #[test]
    fn decimal_byte_lists_of_text_are_decoded_and_others_are_not() {
        // Built at run time: the repository's own sources are a benign corpus for the scanner.
        let env = format!("DB_PASSWORD={}\n", "hunter2".repeat(2));
        let decimal = |separator: &str| {
            env.bytes()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(separator)
        };
        for separator in [",", ", ", ",\n    "] {
            let list = decimal(separator);
            let input = format!(r#"{{"type":"Buffer","data":[{list}]}}"#);
            let runs = decoded(&input);
            assert_eq!(runs.len(), 1, "{input}");
            assert_eq!(&input[runs[0].span.clone()], list);
            assert_eq!(&runs[0].text[..], env.as_bytes());
        }
        // Numbers that are no text, decimals, and numbers beyond a byte are not read.
        for input in [
            "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]",
            "[0.71, 0.72, 0.83, 0.65, 0.81, 0.77, 0.79, 0.70, 0.68, 0.74, 0.80, 0.76]",
            "[300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312]",
        ] {
            assert!(decoded(input).is_empty(), "{input}");
        }
    }

    #[test]
    fn a_wrapped_run_is_one_run() {
        let env = "NOTE=a line of text, and a much longer line of text to wrap over".repeat(2);
        let encoded = B64.encode(&env);
        let wrapped: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        assert_eq!(texts(&wrapped.join("\n")), std::slice::from_ref(&env));
        assert_eq!(texts(&wrapped.join("\r\n")), [env]);
    }

    #[test]
    fn percent_encoding_that_hides_structure_is_decoded() {
        // Built at run time: the repository's own sources are a benign corpus for the scanner.
        let env = format!(
            "DB_PASSWORD={}\nAPI_URL=https://x.example/a b",
            "hunter2".repeat(2)
        );
        let encoded: String = env
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let input = format!("body: data={encoded}&submit=1 sent");
        let runs = decoded(&input);
        assert_eq!(runs.len(), 1, "{input}");
        // One form field's value: its name and the next field stay.
        assert!(input[runs[0].span.clone()].starts_with("DB_PASSWORD%3D"));
        assert!(input[runs[0].span.end..].starts_with("&submit=1"));
        assert!(
            String::from_utf8_lossy(&runs[0].text).contains(&env),
            "{input}"
        );
        // Escaped slashes and punctuation alone: left as they are.
        assert!(texts("https://x.example/login?next=%2Fhome%2Fdocs&lang=en%2DGB").is_empty());
    }

    #[test]
    fn binary_digests_words_and_tokens_are_not_text() {
        let random: Vec<u8> = (0u32..48)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for input in [
            B64.encode(&random),
            hex_encode(&random),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned(),
            "this_is_a_rather_long_identifier_name_in_code".to_owned(),
            format!("ghp_{}", "aBcDeFgHiJ".repeat(4)),
            "short".to_owned(),
        ] {
            assert!(texts(&input).is_empty(), "{input}");
        }
    }

    fn hex_encode(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
