//! An unescaped view of JSON string content, with a map back to the raw bytes.
//!
//! Regex rules must see `"key:\nghp_…"` as a newline followed by a token, not as the letter
//! `n` glued to it, and a PEM block whose newlines are written `\n` as a PEM block. This module
//! decodes every JSON escape (`\n`, `\"`, `\/`, `\uXXXX` with surrogate pairs), and those of
//! JSON strings nested in one (`\\n` in tool-call arguments, `\\\\n` in a JSON file a tool
//! call writes), into a view. It remembers, for every view byte, where its source starts in
//! the raw input, so that a span found in the view maps back to a raw span that starts and
//! ends on escape boundaries (and the replacement therefore never cuts an escape in half).
//! Invisible characters (zero-width spaces, soft hyphens, NULs, surrogate escapes without
//! their other half), raw or escaped, are left out of the view, so that a token written with
//! one between its letters is still seen whole; fullwidth forms of ASCII (`ｇｈｐ＿…`, which a
//! model reads as the ASCII it mirrors) are seen as that ASCII. It never allocates for input
//! without a backslash, an invisible character or a fullwidth form.

use std::borrow::Cow;

/// The text the regex layer scans, and how to get back to the raw input.
pub(crate) struct View<'a> {
    raw: &'a [u8],
    text: Cow<'a, [u8]>,
    /// Where the view and the raw input line up: at each escape and right after it, by view
    /// offset. Between two anchors the view is a plain copy of the raw bytes. Empty when the
    /// view is the raw input itself. Sparse, so building a view costs little more than the
    /// copy.
    anchors: Vec<Anchor>,
    /// Whether an invisible character was left out, or a fullwidth form read as ASCII.
    rewrote_chars: bool,
    /// Whether a `\\u` escape spelled out a letter or a digit.
    spelled_out: bool,
}

#[derive(Clone, Copy)]
struct Anchor {
    view: u32,
    raw: u32,
    /// `false` for the bytes an escape decodes to: all of them map to the escape's start.
    plain: bool,
}

impl<'a> View<'a> {
    /// Builds the view of `raw`; borrowed when there is nothing to unescape or leave out.
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        // Offsets are stored as u32; inputs beyond 4 GiB are scanned raw (the proxy refuses
        // such bodies long before this).
        // Most text holds no invisible character or fullwidth form: one scan says so, and the
        // copy below then skips the search in every stretch between escapes.
        let unseen = next_unseen(raw, 0).is_some();
        if (!unseen && memchr::memchr(b'\\', raw).is_none()) || raw.len() > u32::MAX as usize {
            return View {
                raw,
                text: Cow::Borrowed(raw),
                anchors: Vec::new(),
                rewrote_chars: false,
                spelled_out: false,
            };
        }
        let mut text = Vec::with_capacity(raw.len());
        let mut anchors = vec![Anchor {
            view: 0,
            raw: 0,
            plain: true,
        }];
        let mut i = 0;
        let mut rewrote_chars = false;
        let mut spelled_out = false;
        // Offsets fit in u32: checked above, and the view is never longer than the input.
        while let Some(off) = memchr::memchr(b'\\', &raw[i..]) {
            let b = i + off;
            if unseen {
                rewrote_chars |= copy_visible(raw, i, b, &mut text, &mut anchors);
            } else {
                text.extend_from_slice(&raw[i..b]);
            }
            let (escaped, len) = decode_nested(raw, b);
            let ch = fold_width(escaped);
            rewrote_chars |= ch != escaped;
            // Only a `\u` escape decodes to a letter or digit.
            spelled_out |= ch.is_ascii_alphanumeric();
            if is_invisible(ch) {
                rewrote_chars = true;
            } else {
                anchors.push(Anchor {
                    view: text.len() as u32,
                    raw: b as u32,
                    plain: false,
                });
                let mut utf8 = [0u8; 4];
                text.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
            }
            i = b + len;
            anchors.push(Anchor {
                view: text.len() as u32,
                raw: i as u32,
                plain: true,
            });
        }
        if unseen {
            rewrote_chars |= copy_visible(raw, i, raw.len(), &mut text, &mut anchors);
        } else {
            text.extend_from_slice(&raw[i..]);
        }
        View {
            raw,
            text: Cow::Owned(text),
            anchors,
            rewrote_chars,
            spelled_out,
        }
    }

    /// The input the view was built from.
    pub(crate) fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The bytes to scan.
    pub(crate) fn text(&self) -> &[u8] {
        &self.text
    }

    /// Whether an invisible character was left out of the view or a fullwidth form written as
    /// ASCII (what the tests check of it).
    #[cfg(test)]
    pub(crate) fn rewrote_chars(&self) -> bool {
        self.rewrote_chars
    }

    /// Whether the view may show a known secret that the raw input hides: an invisible
    /// character was left out, or `\\u` escapes spelled out letters or digits.
    pub(crate) fn hides_from_raw(&self) -> bool {
        self.rewrote_chars || self.spelled_out
    }

    /// Maps a span of the view back to the raw input.
    pub(crate) fn raw_span(&self, start: usize, end: usize) -> (usize, usize) {
        if self.anchors.is_empty() {
            return (start, end);
        }
        let raw_start = self.raw_offset(start);
        let raw_end = self.raw_offset(end);
        (raw_start, raw_end.max(raw_start))
    }

    /// How many raw bytes wrote view byte `at`: 1 for a byte written as it is, the escape's
    /// length for one that an escape wrote (`\"` 2, `\\\"` 4). Tells a quote of a nested
    /// string from one of the string around it.
    pub(crate) fn raw_width(&self, at: usize) -> usize {
        let (start, end) = self.raw_span(at, at + 1);
        end - start
    }

    /// The raw offset of the escape or byte that produced view byte `at` (the input's end
    /// for the view's end).
    fn raw_offset(&self, at: usize) -> usize {
        if at >= self.text.len() {
            return self.raw.len();
        }
        // The last anchor at or before `at`: of anchors at the same view offset (an escape's
        // two when it yields nothing, an invisible character's after the one before it), the
        // later one is the one that covers `at`.
        let next = self.anchors.partition_point(|a| a.view as usize <= at);
        let anchor = self.anchors[next.saturating_sub(1)];
        if anchor.plain {
            anchor.raw as usize + (at - anchor.view as usize)
        } else {
            anchor.raw as usize
        }
    }
}

/// Characters that show nothing (NUL, soft hyphen, zero-width spaces and joiners, direction
/// marks, word joiners, the byte-order mark). The view leaves them out: a token with one
/// between each of its letters reads as the token to a model, and must to the rules too.
fn is_invisible(ch: char) -> bool {
    matches!(ch, '\u{0}' | '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

/// Whether `raw` may hide a known secret from a scan of its raw bytes: an invisible character
/// written raw or as a `\\u` escape (at any nesting depth; a lone surrogate counts), a
/// fullwidth form (raw or escaped), or a letter or digit written as a `\\u` escape, which no
/// JSON encoder does (they escape quotes, controls and at most non-ASCII and `<>&`), so such
/// escapes spell a value out. Only then does the registry need to read the view too. A scan
/// that finds nothing in most text, and lets a registry-only engine skip building a view.
pub(crate) fn may_hide_from_registry(raw: &[u8]) -> bool {
    static ESCAPE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\\u"));
    // Each escape decoded whole: the second half of a surrogate pair is not a lone one.
    let mut after = 0;
    next_unseen(raw, 0).is_some()
        || ESCAPE.find_iter(raw).any(|at| {
            if at < after {
                return false;
            }
            let (ch, len) = decode_unicode(raw, at);
            after = at + len;
            is_invisible(ch) || fold_width(ch) != ch || ch.is_ascii_alphanumeric()
        })
}

/// The ASCII character a fullwidth form mirrors (U+FF01..U+FF5E: `ｇ` for `g`, `＿` for `_`),
/// or the character itself.
fn fold_width(ch: char) -> char {
    match ch {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
        _ => ch,
    }
}

/// The next character written raw (UTF-8) in `raw[from..]` that the view does not show as it
/// is: where, how long, and the ASCII byte it shows instead (`None`: invisible, left out).
fn next_unseen(raw: &[u8], from: usize) -> Option<(usize, usize, Option<u8>)> {
    memchr::memchr3_iter(0xC2, 0xE2, 0xEF, &raw[from..]).find_map(|off| {
        let at = from + off;
        match raw[at..] {
            [0xC2, 0xAD, ..] => Some((at, 2, None)),
            [0xE2, 0x80, 0x8B..=0x8F, ..] | [0xE2, 0x81, 0xA0..=0xA4, ..] => Some((at, 3, None)),
            [0xEF, 0xBB, 0xBF, ..] => Some((at, 3, None)),
            // U+FF01..U+FF3F and U+FF40..U+FF5E: ASCII 0x21..0x5F and 0x60..0x7E.
            [0xEF, 0xBC, low @ 0x81..=0xBF, ..] => Some((at, 3, Some(low - 0x81 + 0x21))),
            [0xEF, 0xBD, low @ 0x80..=0x9E, ..] => Some((at, 3, Some(low - 0x80 + 0x60))),
            _ => None,
        }
    })
}

/// Copies `raw[from..to]` into the view, leaving out invisible characters and writing
/// fullwidth forms as their ASCII; after each an anchor says where the raw bytes resume.
/// Returns whether the view differs from the raw bytes there.
fn copy_visible(
    raw: &[u8],
    from: usize,
    to: usize,
    text: &mut Vec<u8>,
    anchors: &mut Vec<Anchor>,
) -> bool {
    let mut at = from;
    let mut changed = false;
    while let Some((skip, len, ascii)) = next_unseen(&raw[..to], at) {
        changed = true;
        text.extend_from_slice(&raw[at..skip]);
        if let Some(ascii) = ascii {
            anchors.push(Anchor {
                view: text.len() as u32,
                raw: skip as u32,
                plain: false,
            });
            text.push(ascii);
        }
        at = skip + len;
        anchors.push(Anchor {
            view: text.len() as u32,
            raw: at as u32,
            plain: true,
        });
    }
    text.extend_from_slice(&raw[at..to]);
    changed
}

/// How many levels of JSON strings nested in JSON strings the view decodes. Three are
/// common: a tool call (its `arguments` are a JSON string in the body) that writes a JSON
/// file, or a JSON tool result holding a JSON document. One more leaves room for a document
/// embedded in those; past that each level doubles the backslashes and none is seen.
const MAX_DEPTH: u8 = 4;

/// Decodes the escape at `raw[at]`, and when it is an escaped backslash that opens an escape
/// of a JSON string nested in this one (a tool call's `arguments`, a tool result that is
/// itself JSON: `\\n`, `\\\"`, `\\u0041`; a JSON file written by a tool call:
/// `\\\\n`), that escape too, down to [`MAX_DEPTH`] levels. Rules must see the nested
/// string's newline as a newline, not as a backslash glued to the token after it (which hides
/// `\b`-anchored formats and line-start assignments), and its closing quote as a quote, or a
/// capture runs through it. The price is paid by prose that holds a literal backslash before
/// one of `ntrbf"/u`: the rules see a control character there.
fn decode_nested(raw: &[u8], at: usize) -> (char, usize) {
    let (ch, len) = decode_escape(raw, at);
    if ch != '\\' || len != 2 {
        return (ch, len);
    }
    // The deepest level's character: made of whole characters of each level above, so its raw
    // span starts and ends on escape boundaries of every level.
    char_at(raw, at, MAX_DEPTH).map_or((ch, len), |(deeper, deeper_len, _)| (deeper, deeper_len))
}

/// The character that starts at `raw[at]` in the text `depth` string levels down (1: the body's
/// strings unescaped): the character, how many raw bytes it spans, and whether an escape at
/// that level wrote it. A `"` that no escape wrote closes its string, so it cannot be the
/// second character of an escape one level further down. `None` past the input's end or at a
/// byte that starts no escape (outside ASCII).
fn char_at(raw: &[u8], at: usize, depth: u8) -> Option<(char, usize, bool)> {
    if depth <= 1 {
        return match *raw.get(at)? {
            b'\\' => {
                let (ch, len) = decode_escape(raw, at);
                Some((ch, len, len > 1))
            }
            b if b.is_ascii() => Some((b as char, 1, false)),
            _ => None,
        };
    }
    let (first, first_len, escaped) = char_at(raw, at, depth - 1)?;
    // Only a backslash that the level above wrote as an escape opens one here; a literal one
    // (an invalid escape read as itself) stays literal.
    let literal = Some((first, first_len, false));
    if first != '\\' || !escaped {
        return literal;
    }
    let Some((second, second_len, second_escaped)) = char_at(raw, at + first_len, depth - 1) else {
        return literal;
    };
    let inner = match second {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'b' => '\u{8}',
        'f' => '\u{c}',
        '"' if second_escaped => '"',
        '/' => '/',
        '\\' => '\\',
        // A surrogate pair in a nested string is left as it is (a literal backslash).
        'u' => {
            return match hex4(raw, at + first_len + second_len) {
                Some(code) if !(0xD800..0xE000).contains(&code) => Some((
                    char::from_u32(code).unwrap_or('\u{FFFD}'),
                    first_len + second_len + 4,
                    true,
                )),
                _ => literal,
            }
        }
        _ => return literal,
    };
    Some((inner, first_len + second_len, true))
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

/// What a surrogate escape without its other half decodes to: NUL, which the view leaves out
/// like an invisible character. Such an escape is no character at all; a model reads it as
/// nothing or as a replacement mark, so a token with one between its letters still reads as
/// the token (`AKIA...\\ud800...`), and must to the rules too.
const LONE_SURROGATE: char = '\u{0}';

fn decode_unicode(raw: &[u8], at: usize) -> (char, usize) {
    let Some(high) = hex4(raw, at + 2) else {
        return ('\\', 1);
    };
    if (0xD800..0xDC00).contains(&high) {
        // A high surrogate is only a character together with the low surrogate after it.
        if raw.get(at + 6) == Some(&b'\\') && raw.get(at + 7) == Some(&b'u') {
            if let Some(low) = hex4(raw, at + 8).filter(|l| (0xDC00..0xE000).contains(l)) {
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return (char::from_u32(code).unwrap_or(LONE_SURROGATE), 12);
            }
        }
        return (LONE_SURROGATE, 6);
    }
    // A low surrogate here had no high one before it.
    (char::from_u32(high).unwrap_or(LONE_SURROGATE), 6)
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
