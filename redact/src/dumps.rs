//! Hex dumps: the output of `xxd` and `hexdump -C`, read back into the bytes they show.
//!
//! An agent that inspects a file byte by byte sends its dump: the text of the file is there
//! twice, as hex pairs no rule or vault form matches and as a column of characters cut every
//! 16 bytes, so a password or a key split across two lines passes every layer. This module
//! finds runs of consecutive dump lines (each offset follows on from the line before) and
//! rebuilds the bytes they show; the engine reads those like any other decoded text, and a
//! finding replaces the whole dump.
//!
//! It only parses: it never decides what is secret, and the bytes it rebuilds are held in
//! zeroizing buffers. `od -c` is not read back: the view the engine reads decodes its `\n`
//! cells into line breaks, which cut its lines apart (its character cells still show the text,
//! cut every 16 bytes).

use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input};
use zeroize::Zeroizing;

use crate::encoded::{hex_pair, readable, Decoded};

/// One parsed line.
struct Line {
    offset: u64,
    /// Each group's bytes and the column just after it.
    groups: Vec<(Zeroizing<Vec<u8>>, usize)>,
}

/// Every run of consecutive dump lines in `text` whose bytes read as text.
///
/// A dump is looked for only where an offset ending in `0` is followed by `: ` (xxd) or two
/// spaces (hexdump -C): a search for those three bytes skips ordinary text. Every dump that
/// starts at a multiple of 16 (a whole file, or its head) has such a line at its start, and
/// the lines after it are read whatever their offsets; a dump started at another offset
/// (`xxd -s 1`) has none and is not read back.
pub(crate) fn dump_runs(text: &[u8], found: &mut Vec<Decoded>) {
    // Both needles in one pass (a packed SIMD searcher): a `memmem` pass per needle costs
    // 2-5 % of the engine on the OpenClaw captures; needles for every hex digit (32) cost
    // 30 %, and `": "` with two spaces alone 20 % (the searcher's prefilter keys on the space).
    static AFTER_OFFSET: LazyLock<Option<AhoCorasick>> =
        LazyLock::new(|| AhoCorasick::new(["0: ", "0  "]).ok());
    let Some(after_offset) = AFTER_OFFSET.as_ref() else {
        return;
    };
    let next = |from: usize| {
        (from < text.len())
            .then(|| after_offset.find(Input::new(text).span(from..text.len())))
            .flatten()
            .map_or(usize::MAX, |m| m.start())
    };
    let mut hit = next(0);
    let mut run: Vec<(Range<usize>, Line)> = Vec::new();
    while hit != usize::MAX {
        // The offset runs back over hex digits from its last `0`, and starts a line or a JSON
        // string (a tool result's first line).
        let digits = text[..=hit]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let start = hit + 1 - digits;
        let mut resume = hit + 1;
        if digits >= 6 && (start == 0 || matches!(text[start - 1], b'\n' | b'"')) {
            let mut at = start;
            while at < text.len() {
                let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
                let line_end = at
                    + text[at..end]
                        .strip_suffix(b"\r")
                        .map_or(end - at, <[u8]>::len);
                match parse(&text[at..line_end]) {
                    Some(line) if run.last().is_none_or(|(_, last)| line.offset > last.offset) => {
                        run.push((at..line_end, line));
                    }
                    _ => break,
                }
                at = end + 1;
            }
            if let Some((last, _)) = run.last() {
                resume = resume.max(last.end);
                finish(&run, found);
                run.clear();
            }
        }
        hit = next(resume);
    }
}

/// Rebuilds the bytes of a run of parsed lines, cutting it where an offset does not follow on.
fn finish(run: &[(Range<usize>, Line)], found: &mut Vec<Decoded>) {
    let mut first = 0;
    let mut bytes = Zeroizing::new(Vec::new());
    // The column where the previous full line's bytes ended: a last line's groups beyond it
    // are its character column, not bytes.
    let mut bytes_end_column = usize::MAX;
    for (i, (_, line)) in run.iter().enumerate() {
        let taken = match run.get(i + 1) {
            // A full line shows exactly as many bytes as the next offset moves on.
            Some((_, next)) => {
                let width = next.offset - line.offset;
                take_exactly(line, width)
            }
            // The last line (or the offset alone that ends `hexdump -C`): whatever lies
            // within the full lines' byte columns.
            None => Some(take_within(line, bytes_end_column)),
        };
        match taken {
            Some((shown, column)) => {
                bytes.extend_from_slice(&shown);
                bytes_end_column = bytes_end_column.min(column.max(1));
            }
            None => {
                push(run, first, i, &mut bytes, found);
                first = i + 1;
                bytes_end_column = usize::MAX;
            }
        }
    }
    push(run, first, run.len(), &mut bytes, found);
}

/// Hands on the bytes of lines `first..end` (each of which showed its bytes) as one dump.
fn push(
    run: &[(Range<usize>, Line)],
    first: usize,
    end: usize,
    bytes: &mut Zeroizing<Vec<u8>>,
    found: &mut Vec<Decoded>,
) {
    let text = std::mem::take(bytes);
    // A single line is read back too: its character column shows the text whole, but its hex
    // column shows it again, in groups no vault form matches (a proptest found the one-line
    // dump of a file's tail that kept a vault value's hex).
    if end > first && readable(&text) {
        found.push(Decoded {
            span: run[first].0.start..run[end - 1].0.end,
            text,
        });
    }
}

/// The line's first `width` bytes, exactly at a group's end, and the column after them.
fn take_exactly(line: &Line, width: u64) -> Option<(Zeroizing<Vec<u8>>, usize)> {
    let mut shown = Zeroizing::new(Vec::new());
    for (group, column) in &line.groups {
        shown.extend_from_slice(group);
        if shown.len() as u64 == width {
            return Some((shown, *column));
        }
        if shown.len() as u64 > width {
            return None;
        }
    }
    None
}

/// The line's groups that end at or before `column`.
fn take_within(line: &Line, column: usize) -> (Zeroizing<Vec<u8>>, usize) {
    let mut shown = Zeroizing::new(Vec::new());
    let mut end = 0;
    for (group, after) in line.groups.iter().take_while(|(_, after)| *after <= column) {
        shown.extend_from_slice(group);
        end = *after;
    }
    (shown, end)
}

/// A dump line: its offset and byte groups, or `None` for any other line.
fn parse(line: &[u8]) -> Option<Line> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if !(6..=16).contains(&digits) {
        return None;
    }
    let offset = u64::from_str_radix(std::str::from_utf8(&line[..digits]).ok()?, 16).ok()?;
    // xxd: `offset: `; hexdump -C: `offset  `, and its last line is the offset alone.
    let groups = match &line[digits..] {
        [b':', b' ', ..] | [b' ', b' ', ..] => hex_groups(line, digits + 2),
        [] => Vec::new(),
        _ => return None,
    };
    if groups.is_empty() && digits < line.len() {
        return None;
    }
    Some(Line { offset, groups })
}

/// Space-separated groups of hex pairs after `from`, up to the first word that is not one.
fn hex_groups(line: &[u8], from: usize) -> Vec<(Zeroizing<Vec<u8>>, usize)> {
    let mut groups = Vec::new();
    let mut at = from;
    loop {
        let spaces = line[at..].iter().take_while(|&&b| b == b' ').count();
        if spaces > 2 && !groups.is_empty() {
            break; // xxd pads its last line before the character column.
        }
        let start = at + spaces;
        let len = line[start..]
            .iter()
            .take_while(|b| !b.is_ascii_whitespace())
            .count();
        let word = &line[start..start + len];
        if len == 0 || len % 2 != 0 || len > 16 || !word.iter().all(u8::is_ascii_hexdigit) {
            break;
        }
        let bytes = word.chunks_exact(2).map(hex_pair).collect();
        groups.push((Zeroizing::new(bytes), start + len));
        at = start + len;
    }
    groups
}
