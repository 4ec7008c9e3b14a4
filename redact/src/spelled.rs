//! A value spelled out a character at a time, with the same separator between every two
//! characters: `V, q, 7, ...`, one character a line, `["V", "q", "7", ...]`, `` `V` `q` ``,
//! letters between non-breaking spaces. A model reads the value; a filter that looks for it
//! whole does not.
//!
//! This module finds such runs and joins their characters, keeping where each came from, for
//! the layers to read: a known value, or a token a rule or entropy finds, in one is replaced
//! from its first character to its last. It judges nothing itself, and only ASCII characters are joined (a separator is at most
//! seven bytes of anything but letters and digits).

use crate::concat::Chain;
use crate::runs::Masks;

/// The longest separator: `", "` between JSON strings is four bytes, `` ` ` `` three. Two
/// characters that stand alone 2 to 17 bytes apart start a search ([`Masks::lone_token_pairs`]):
/// the two ends of one separator, or of two with a punctuation character between.
const MAX_SEPARATOR: usize = 7;

/// Every run of at least [`crate::MIN_SECRET_LEN`] ASCII characters with one separator
/// between each two, in `text` (whose class masks are `masks`), in order.
///
/// A run is found from a character that stands alone (no letter, digit, `+`, `_` or `-` on
/// either side) with another one a few bytes on (the token masks say where, a block at a
/// time), and a separator that follows it and repeats, then followed both ways one character
/// and one separator at a time.
pub(crate) fn runs(text: &[u8], masks: &Masks) -> Vec<Chain> {
    let mut runs = Vec::new();
    let mut done = 0;
    for a in masks.lone_token_pairs() {
        if a < done {
            continue;
        }
        // Each separator that repeats after the next character: a separator of punctuation
        // reads as characters too (`V | q` is also `V`, `|`, `q` one space apart), so every
        // reading is kept, and the registry finds the value in the right one.
        let mut reach = done;
        for period in 2..=MAX_SEPARATOR + 1 {
            let Some(separator) = text.get(a + 1..a + period) else {
                break;
            };
            if separator.iter().any(u8::is_ascii_alphanumeric) {
                break;
            }
            // Most candidates fail here: the separator's first byte does not come again
            // after the next character, nor its last byte before this one.
            if text.get(a + period + 1) != Some(&separator[0])
                && (a == 0 || text[a - 1] != separator[period - 2])
            {
                continue;
            }
            if let Some((first, last)) = run_around(text, a, period, done) {
                runs.push(Chain::join(
                    text,
                    (first..=last).step_by(period).map(|at| at..at + 1),
                ));
                reach = reach.max(last + 1);
            }
        }
        done = reach;
    }
    runs
}

/// The first and last characters of the run through the character at `a` whose characters
/// are `period` bytes apart, if it is long enough; it starts at `done` or later.
fn run_around(text: &[u8], a: usize, period: usize, done: usize) -> Option<(usize, usize)> {
    let separator = &text[a + 1..a + period];
    let token = |at: usize| text.get(at).is_some_and(|&c| crate::runs::token_byte(c));
    let graphic = |at: usize| text.get(at).is_some_and(u8::is_ascii_graphic);
    // The separator between this cell and the next, or the one before it.
    let followed = |cell: usize| text.get(cell + 1..cell + period) == Some(separator);
    let preceded = |cell: usize| cell >= period - 1 && &text[cell + 1 - period..cell] == separator;
    // A run's first and last characters stand alone on their open side: no letter or
    // digit glued to them, nor, for punctuation, anything but space (`key:` then one
    // character a line is not `:` spelled out).
    let opens =
        |cell: usize| cell == 0 || (!token(cell - 1) && (token(cell) || !graphic(cell - 1)));
    let closes = |cell: usize| !token(cell + 1) && (token(cell) || !graphic(cell + 1));
    // Back to the first character.
    let mut first = a;
    while preceded(first) && first >= period && first - period >= done {
        let cell = first - period;
        if !graphic(cell) || !(preceded(cell) || opens(cell)) {
            break;
        }
        first = cell;
    }
    if !preceded(first) && !opens(first) {
        first += period;
    }
    // On to the last.
    let mut last = a;
    while followed(last) && graphic(last + period) {
        let cell = last + period;
        if !followed(cell) && !closes(cell) {
            break;
        }
        last = cell;
    }
    (last >= first && (last - first) / period + 1 >= crate::MIN_SECRET_LEN).then_some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spelled(text: &str) -> Vec<String> {
        let masks = Masks::new(text.as_bytes(), &[]);
        runs(text.as_bytes(), &masks)
            .iter()
            .map(|c| String::from_utf8_lossy(&c.text).into_owned())
            .collect()
    }

    #[test]
    fn joins_characters_between_any_one_separator() {
        for text in [
            "key: V, q, 7, -, p, L, m, 2, X, z!",
            "key: V,q,7,-,p,L,m,2,X,z.",
            "key:\nV\nq\n7\n-\np\nL\nm\n2\nX\nz\n",
            r#"chars = ["V", "q", "7", "-", "p", "L", "m", "2", "X", "z"]"#,
            "`V` `q` `7` `-` `p` `L` `m` `2` `X` `z`",
            "V\u{a0}q\u{a0}7\u{a0}-\u{a0}p\u{a0}L\u{a0}m\u{a0}2\u{a0}X\u{a0}z",
            "V | q | 7 | - | p | L | m | 2 | X | z",
        ] {
            assert!(spelled(text).contains(&"Vq7-pLm2Xz".to_owned()), "{text:?}");
        }
        // Punctuation among the characters, at either end too.
        assert_eq!(spelled("pw = #, a, b, c, d, !, e, f, $"), ["#abcd!ef$"]);
        // Not the punctuation glued to what comes before or after.
        assert_eq!(spelled("pw:\na\nb\nc\nd\n!\ne\nf\ng\n;x"), ["abcd!efg"]);
    }

    #[test]
    fn text_is_not_a_spelled_out_value() {
        for text in [
            "a b c",                                        // too short
            "The quick brown fox jumps over the lazy dog",  // words
            r#"{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}"#,  // JSON members
            "x = [1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5]", // numbers
        ] {
            assert!(spelled(text).is_empty(), "{text:?}: {:?}", spelled(text));
        }
        // Separators that change are two runs, each too short.
        assert!(spelled("a, b, c, d; e; f; g; h").is_empty());
    }
}
