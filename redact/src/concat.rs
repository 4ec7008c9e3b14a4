//! String literals joined with `+` (`"sk-live-" + "4eC39Hq..."` in JavaScript, Java, C#,
//! Python or Go): a value split across them is one value to whoever runs the code, and the
//! oldest way to slip a secret past a filter that looks for it whole.
//!
//! This module finds such chains and joins their contents, keeping where each piece came
//! from, so that the registry and the rules can read the joined string and a finding in it
//! can be replaced piece by piece, each inside its own quotes (the code, and any JSON around
//! it, stay well formed). It judges nothing itself. Escapes inside a literal are kept as written: a value
//! split across literals that also escape its characters is not put back together.

use std::ops::Range;

use zeroize::Zeroizing;

/// Longer literals are text, not pieces of a split value; a cap keeps a stray quote from
/// sending the search back through a whole document.
const MAX_LITERAL: usize = 512;
/// The most white space (line breaks included) between a literal and a `+`.
const MAX_GAP: usize = 16;

/// String literals joined with `+`, and their contents joined.
pub(crate) struct Chain {
    pub(crate) text: Zeroizing<Vec<u8>>,
    /// Each piece: where it starts in `text`, and its contents' span in the scanned text.
    pieces: Vec<(usize, Range<usize>)>,
}

impl Chain {
    /// The spans of the scanned text that hold bytes `range` of the joined text.
    pub(crate) fn spans(&self, range: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
        self.pieces.iter().filter_map(move |(at, span)| {
            let from = range.start.max(*at);
            let to = range.end.min(at + span.len());
            (from < to).then(|| span.start + (from - at)..span.start + (to - at))
        })
    }
}

/// Every chain of two or more quoted literals joined with `+` in `text` whose contents add up
/// to at least [`crate::MIN_SECRET_LEN`] bytes, in order.
pub(crate) fn chains(text: &[u8]) -> Vec<Chain> {
    let mut chains = Vec::new();
    let mut next = 0;
    for plus in memchr::memchr_iter(b'+', text) {
        if plus < next {
            continue;
        }
        let Some(first) = literal_before(text, plus) else {
            continue;
        };
        let mut pieces = vec![first];
        let mut joiner = plus;
        while let Some(piece) = literal_after(text, joiner) {
            let close = piece.end;
            pieces.push(piece);
            next = close + 1;
            match gap_after(text, close + 1) {
                Some(at) if text[at] == b'+' => joiner = at,
                _ => break,
            }
        }
        if pieces.len() < 2 {
            continue;
        }
        let mut joined = Zeroizing::new(Vec::new());
        let mut placed = Vec::with_capacity(pieces.len());
        for piece in pieces {
            placed.push((joined.len(), piece.clone()));
            joined.extend_from_slice(&text[piece]);
        }
        if joined.len() >= crate::MIN_SECRET_LEN {
            chains.push(Chain {
                text: joined,
                pieces: placed,
            });
        }
    }
    chains
}

/// The first byte after `from` that is not white space, within [`MAX_GAP`].
fn gap_after(text: &[u8], from: usize) -> Option<usize> {
    let gap = text
        .get(from..)?
        .iter()
        .take(MAX_GAP + 1)
        .position(|b| !b.is_ascii_whitespace())?;
    Some(from + gap)
}

/// The contents of the quoted literal that ends just before the `+` at `plus`.
fn literal_before(text: &[u8], plus: usize) -> Option<Range<usize>> {
    let gap = text[..plus]
        .iter()
        .rev()
        .take(MAX_GAP + 1)
        .position(|b| !b.is_ascii_whitespace())?;
    let close = plus - gap - 1;
    let quote = text[close];
    if !matches!(quote, b'"' | b'\'') {
        return None;
    }
    // The nearest unescaped quote of the same kind before it, on the same line.
    let floor = close.saturating_sub(MAX_LITERAL);
    let mut at = close;
    loop {
        let open = floor
            + text[floor..at]
                .iter()
                .rposition(|&b| b == quote || b == b'\n')?;
        if text[open] == b'\n' {
            return None;
        }
        if !escaped(text, open) {
            return Some(open + 1..close);
        }
        at = open;
    }
}

/// The contents of the quoted literal that starts just after the `+` at `plus`.
fn literal_after(text: &[u8], plus: usize) -> Option<Range<usize>> {
    let open = gap_after(text, plus + 1)?;
    let quote = text[open];
    if !matches!(quote, b'"' | b'\'') {
        return None;
    }
    let ceiling = (open + 1 + MAX_LITERAL).min(text.len());
    let mut at = open + 1;
    loop {
        let close = at
            + text[at..ceiling]
                .iter()
                .position(|&b| b == quote || b == b'\n')?;
        if text[close] == b'\n' {
            return None;
        }
        if !escaped(text, close) {
            return Some(open + 1..close);
        }
        at = close + 1;
    }
}

/// Whether the byte at `at` follows an odd run of backslashes.
fn escaped(text: &[u8], at: usize) -> bool {
    text[..at].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(text: &str) -> Vec<String> {
        chains(text.as_bytes())
            .iter()
            .map(|c| String::from_utf8_lossy(&c.text).into_owned())
            .collect()
    }

    #[test]
    fn joins_literals_across_plus_signs_spaces_and_line_breaks() {
        assert_eq!(
            joined(r#"const key = "sk-live-" + 'abc123' +"XYZ" ;"#),
            ["sk-live-abc123XYZ"]
        );
        assert_eq!(
            joined("token = (\"first-half\"\n    + \"second-half\")"),
            ["first-halfsecond-half"]
        );
        // Two chains in one text.
        assert_eq!(
            joined(r#"a = "12345" + "6789"; b = "abcd" + "efghij""#),
            ["123456789", "abcdefghij"]
        );
    }

    #[test]
    fn a_chain_ends_at_anything_but_a_literal() {
        // A variable between: the literals on either side are not one value.
        assert!(joined(r#"greeting = "Hello, " + name + " and welcome""#).is_empty());
        // Arithmetic and prose.
        assert!(joined("1 + 2 = 3, C++ and a+b").is_empty());
        // An escaped quote does not end a literal.
        assert_eq!(
            joined(r#"s = "say \"hi\" now" + "!!""#),
            [r#"say \"hi\" now!!"#]
        );
        // Too short to be a registry value.
        assert!(joined(r#""ab" + "cd""#).is_empty());
    }

    #[test]
    fn spans_map_the_joined_text_back_to_each_piece() {
        let text = r#"x = "abcd" + "efgh" + "ijkl""#;
        let chain = &chains(text.as_bytes())[0];
        let spans: Vec<&str> = chain.spans(2..10).map(|s| &text[s]).collect();
        assert_eq!(spans, ["cd", "efgh", "ij"]);
    }
}
