//! String literals joined into one value: with `+` (`"sk-live-" + "4eC39Hq..."` in JavaScript,
//! Java, C#, Python or Go), `.` (PHP, Perl), `..` (Lua), `&` (Visual Basic), `||` (SQL), or
//! only white space between them (Python's and C's adjacent literals). A value split across
//! them is one value to whoever runs the code, and the oldest way to slip a secret past a
//! filter that looks for it whole.
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
/// The most white space (line breaks included) between a literal and a joiner.
const MAX_GAP: usize = 16;

/// Joined string literals, and their contents joined.
pub(crate) struct Chain {
    pub(crate) text: Zeroizing<Vec<u8>>,
    /// Each piece: where it starts in `text`, and its contents' span in the scanned text.
    pieces: Vec<(usize, Range<usize>)>,
}

impl Chain {
    /// The contents of `pieces` (spans of `text`, in order) joined.
    pub(crate) fn join(text: &[u8], pieces: impl IntoIterator<Item = Range<usize>>) -> Self {
        let mut joined = Zeroizing::new(Vec::new());
        let mut placed = Vec::new();
        for piece in pieces {
            placed.push((joined.len(), piece.clone()));
            joined.extend_from_slice(&text[piece]);
        }
        Chain {
            text: joined,
            pieces: placed,
        }
    }

    /// Where each piece's quotes are in the scanned text: the opening and the closing one.
    pub(crate) fn quotes(&self) -> impl Iterator<Item = usize> + '_ {
        self.pieces
            .iter()
            .flat_map(|(_, span)| [span.start - 1, span.end])
    }

    /// The spans of the scanned text that hold bytes `range` of the joined text.
    pub(crate) fn spans(&self, range: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
        self.pieces.iter().filter_map(move |(at, span)| {
            let from = range.start.max(*at);
            let to = range.end.min(at + span.len());
            (from < to).then(|| span.start + (from - at)..span.start + (to - at))
        })
    }
}

/// Every chain of two or more joined quoted literals in `text` whose contents add up to at
/// least [`crate::MIN_SECRET_LEN`] bytes, in order.
pub(crate) fn chains(text: &[u8]) -> Vec<Chain> {
    let mut chains = Vec::new();
    let mut next = 0;
    // Every quote that a joiner and another literal follow may close a chain's first piece.
    for close in quotes_before_joiners(text) {
        if close < next {
            continue;
        }
        let Some(mut open) = joined_literal_after(text, close) else {
            continue;
        };
        let Some(first) = literal_closed_at(text, close) else {
            continue;
        };
        let mut pieces = vec![first];
        while let Some(piece) = literal_opened_at(text, open) {
            let close = piece.end;
            pieces.push(piece);
            next = close + 1;
            match joined_literal_after(text, close) {
                Some(after) => open = after,
                None => break,
            }
        }
        if pieces.len() < 2 {
            continue;
        }
        let chain = Chain::join(text, pieces);
        if chain.text.len() >= crate::MIN_SECRET_LEN {
            chains.push(chain);
        }
    }
    chains
}

/// Every quote followed by a byte that may start a joiner (white space, `+`, `.`, `&`, `|`),
/// in order.
///
/// JSON puts a quote every few bytes, nearly all followed by `:`, `,` or a bracket: found one
/// by one, they cost the whole engine 11 % on the captures (`perf`). Tested a 64-byte block
/// at a time instead, without a branch per byte (the flag-and-gather arithmetic of
/// [`crate::runs`]), only the few that pass are looked at.
fn quotes_before_joiners(text: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    for start in (0..text.len()).step_by(64) {
        // The block and the byte after it, read in place; the last one padded with zeros.
        let padded;
        let window = match text.get(start..start + 65) {
            Some(window) => window,
            None => {
                let mut copy = [0u8; 65];
                copy[..text.len() - start].copy_from_slice(&text[start..]);
                padded = copy;
                &padded[..]
            }
        };
        found.extend(crate::runs::set_bits(start, joint_mask(window)));
    }
    found
}

/// Bit i set when `window[i]` (i < 64) is a quote and `window[i + 1]` may start a joiner
/// (or is a control byte).
fn joint_mask(window: &[u8]) -> u64 {
    let mut flags = [0u8; 64];
    for ((flag, &b), &after) in flags.iter_mut().zip(window).zip(&window[1..]) {
        // `|` and `&`, not `||` and `&&`: no branches, so the loop vectorizes.
        let quote = (b == b'"') | (b == b'\'');
        // White space and control bytes at once (a superset: each hit is checked after).
        let joiner =
            (after <= b' ') | (after == b'+') | (after == b'.') | (after == b'&') | (after == b'|');
        *flag = u8::from(quote & joiner);
    }
    // Most blocks have none: an OR of the flags is cheaper than gathering them.
    if flags.iter().fold(0, |any, &flag| any | flag) == 0 {
        return 0;
    }
    crate::runs::gather(&flags)
}

/// The opening quote of the literal joined to the one that closes at `close`, if a joiner
/// follows it: an operator between white space, or white space alone (at least one byte:
/// `''` and `""` inside a literal are SQL's and CSV's escaped quotes, and `""` an empty
/// string, not two literals).
fn joined_literal_after(text: &[u8], close: usize) -> Option<usize> {
    let at = gap_after(text, close + 1)?;
    let operator = match text[at] {
        b'"' | b'\'' => return (at > close + 1).then_some(at),
        b'+' | b'&' => 1,
        b'.' if text.get(at + 1) == Some(&b'.') => 2,
        b'.' => 1,
        b'|' if text.get(at + 1) == Some(&b'|') => 2,
        _ => return None,
    };
    let open = gap_after(text, at + operator)?;
    matches!(text[open], b'"' | b'\'').then_some(open)
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

/// The contents of the quoted literal whose closing quote is at `close`.
fn literal_closed_at(text: &[u8], close: usize) -> Option<Range<usize>> {
    let quote = text[close];
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

/// The contents of the quoted literal whose opening quote is at `open`.
fn literal_opened_at(text: &[u8], open: usize) -> Option<Range<usize>> {
    let quote = text[open];
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
    fn joins_literals_across_each_language_s_joiner() {
        for code in [
            r#"$key = 'sk-live-' . "abc123XYZ";"#,      // PHP, Perl
            r#"local key = "sk-live-".."abc123XYZ""#,   // Lua
            r#"key = "sk-live-" & "abc123XYZ""#,        // Visual Basic
            r#"SELECT 'sk-live-' || 'abc123XYZ';"#,     // SQL
            "key = (\"sk-live-\"\n       'abc123XYZ')", // Python, C: adjacent literals
        ] {
            assert_eq!(joined(code), ["sk-live-abc123XYZ"], "{code}");
        }
        // Joiners mixed in one chain.
        assert_eq!(
            joined(r#"k = "Vault" . 'Value' + "-2024" "-xyz""#),
            ["VaultValue-2024-xyz"]
        );
    }

    #[test]
    fn quotes_without_a_joiner_are_not_a_chain() {
        // JSON: a colon or a comma between strings, and empty strings.
        assert!(
            joined(r#"{"name": "abcdefgh", "empty": "", "more": ["12345678", ""]}"#).is_empty()
        );
        // Doubled quotes are SQL's and CSV's escape, not two literals.
        assert!(joined("INSERT INTO t VALUES ('it''s a long value here');").is_empty());
        assert!(joined(r#"name,"say ""hello"" to them""#).is_empty());
        // A single `|` or a word between literals.
        assert!(joined(r#"cmd = "abcdefgh" | "ijklmnop""#).is_empty());
        assert!(joined(r#"x = "abcdefgh" if ok else "ijklmnop""#).is_empty());
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

    proptest::proptest! {
        /// Quotes before a joiner byte, found a block at a time: every one a byte walk finds,
        /// across block edges (a quote last in the text may be reported too: nothing follows
        /// it to join).
        #[test]
        fn quotes_before_joiners_are_those_a_byte_walk_finds(
            text in proptest::collection::vec(proptest::prop_oneof![
                3 => proptest::strategy::Just(b'"'), 2 => proptest::strategy::Just(b' '),
                1 => proptest::strategy::Just(b'+'), 1 => proptest::strategy::Just(b'\''),
                2 => proptest::strategy::Just(b'a'), 1 => proptest::prelude::any::<u8>()
            ], 0..400),
        ) {
            let joiner = |b: u8| b <= b' ' || matches!(b, b'+' | b'.' | b'&' | b'|');
            let expected: Vec<usize> = (0..text.len())
                .filter(|&i| matches!(text[i], b'"' | b'\''))
                .filter(|&i| text.get(i + 1).is_none_or(|&b| joiner(b)))
                .collect();
            proptest::prop_assert_eq!(quotes_before_joiners(&text), expected);
        }
    }

    #[test]
    fn spans_map_the_joined_text_back_to_each_piece() {
        let text = r#"x = "abcd" + "efgh" + "ijkl""#;
        let chain = &chains(text.as_bytes())[0];
        let spans: Vec<&str> = chain.spans(2..10).map(|s| &text[s]).collect();
        assert_eq!(spans, ["cd", "efgh", "ij"]);
    }
}
