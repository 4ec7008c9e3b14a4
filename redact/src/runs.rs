//! Runs of one byte class (token characters, base64 characters) at least a given length,
//! found a 64-byte block at a time.
//!
//! This module owns only the classification and the run arithmetic: what a run means
//! (a token to judge, text that may be encoded) is its callers' business. It must stay free
//! of per-byte branches: prose is mostly short words, and a branch per byte on where a word
//! ends was the largest cost of both callers before they shared this.

use std::ops::Range;

/// Which bytes make up a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Letters, digits, `+`, `_` and `-`: the bytes of a credential token.
    Token,
    /// Standard or URL-safe base64 with padding: the token bytes, `/` and `=`.
    Base64,
}

impl Class {
    /// The byte-at-a-time definition, for the tail of a text and for tests.
    #[cfg(test)]
    pub(crate) fn holds(self, b: u8) -> bool {
        let token = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'_' | b'-');
        match self {
            Class::Token => token,
            Class::Base64 => token || matches!(b, b'/' | b'='),
        }
    }
}

/// The maximal runs of `class` bytes in `text` at least `min` long, in order. `min` must be
/// between 2 and 64.
///
/// Only long runs are visited: a bit test finds them inside a block, and only a run that
/// touches a block's edge is followed across it.
pub(crate) fn long_runs(text: &[u8], min: usize, class: Class) -> Vec<Range<usize>> {
    debug_assert!((2..=64).contains(&min));
    let mut runs = Vec::new();
    // Start of the run that reached the end of the previous block.
    let mut open: Option<usize> = None;
    for (block, chunk) in text.chunks(64).enumerate() {
        let base = block * 64;
        let n = chunk.len();
        // Bits at and past `n` are clear.
        let mut mask = chunk_mask(chunk, class);
        if let Some(start) = open {
            // The carried run ends at the block's first clear bit, or goes on past it.
            let ones = mask.trailing_ones() as usize;
            if ones == n {
                continue;
            }
            if base + ones - start >= min {
                runs.push(start..base + ones);
            }
            open = None;
            mask &= !((1u64 << ones) - 1);
        }
        // Bit i of `long` is set when bits i..i+min all are: a run of `min` inside the block.
        // Each step doubles the length covered, the last one tops it up to `min`.
        let mut long = mask;
        let mut covered = 1;
        while covered < min {
            let step = covered.min(min - covered);
            long &= long >> step;
            covered += step;
        }
        while long != 0 {
            let at = long.trailing_zeros() as usize;
            // The run holding bit `at`: back to the clear bit below it, on to the one above.
            let clear_below = !mask & ((1u64 << at) - 1);
            let start = 64 - clear_below.leading_zeros() as usize;
            let clear_above = !mask >> at;
            if clear_above == 0 {
                // Only a full block's last run gets here (a short block's high bits are
                // clear): it may go on in the next block.
                open = Some(base + start);
                break;
            }
            let end = at + clear_above.trailing_zeros() as usize;
            runs.push(base + start..base + end);
            long &= !((1u64 << end) - 1);
        }
        if open.is_none() && n == 64 {
            // A short run touching the block's end may go on in the next block.
            let tail = mask.leading_ones() as usize;
            if tail > 0 {
                open = Some(base + 64 - tail);
            }
        }
    }
    if let Some(start) = open {
        if text.len() - start >= min {
            runs.push(start..text.len());
        }
    }
    runs
}

/// Bit `j` set when `chunk[j]` (at most 64 bytes) is of `class`.
pub(crate) fn chunk_mask(chunk: &[u8], class: Class) -> u64 {
    if let Ok(full) = <&[u8; 64]>::try_from(chunk) {
        return block_mask(full, class);
    }
    let mut block = [0u8; 64];
    block[..chunk.len()].copy_from_slice(chunk);
    block_mask(&block, class)
}

/// [`chunk_mask`] of a whole block, read in place.
///
/// Two passes that the compiler vectorizes: one byte test per byte into a flag byte, then
/// eight flags at once gathered into eight bits. This ran at 2.5 times the speed of the
/// same tests done eight bytes to a word (SWAR) and 10 times that of setting a bit per byte.
fn block_mask(block: &[u8; 64], class: Class) -> u64 {
    let mut flags = [0u8; 64];
    for (flag, &b) in flags.iter_mut().zip(block) {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        // `|`, not `||`: no branches, so the loop vectorizes.
        let mut holds =
            (b.wrapping_sub(b'0') < 10) | letter | (b == b'+') | (b == b'_') | (b == b'-');
        if class == Class::Base64 {
            holds |= (b == b'/') | (b == b'=');
        }
        *flag = u8::from(holds);
    }
    let mut mask = 0u64;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(eight);
        // Byte i of the word is 0 or 1; the multiplication moves it to bit 56 + i.
        let gathered = u64::from_le_bytes(bytes).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        mask |= gathered << (8 * k);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CLASSES: [Class; 2] = [Class::Token, Class::Base64];

    /// The runs a byte-at-a-time walk finds.
    fn naive_runs(text: &[u8], min: usize, class: Class) -> Vec<Range<usize>> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if !class.holds(text[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < text.len() && class.holds(text[i]) {
                i += 1;
            }
            if i - start >= min {
                runs.push(start..i);
            }
        }
        runs
    }

    #[test]
    fn masks_agree_with_the_byte_test() {
        // Every byte at every position, among neighbours of every kind (no carries across).
        for class in CLASSES {
            for b in 0..=255u8 {
                for j in 0..64 {
                    for fill in [0u8, b'z', 0x7f, 0xff, b'/', b'='] {
                        let mut block = [fill; 64];
                        block[j] = b;
                        let mask = chunk_mask(&block, class);
                        assert_eq!(mask >> j & 1 == 1, class.holds(b), "byte {b} at {j}");
                        assert_eq!(
                            mask & !(1 << j),
                            if class.holds(fill) { !(1u64 << j) } else { 0 }
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_classes_differ_by_slash_and_padding() {
        let text = b"abc/def=ghi+jkl_mno-pqr";
        assert_eq!(long_runs(text, 4, Class::Token).len(), 1);
        assert_eq!(long_runs(text, 4, Class::Base64), vec![0..text.len()]);
    }

    proptest! {
        #[test]
        fn block_run_finder_equals_the_naive_one(
            pieces in proptest::collection::vec((0usize..150, prop_oneof![Just(b' '), Just(b'.'), Just(b'='), Just(b'"')]), 0..40),
            min in prop_oneof![Just(14usize), Just(32), 2usize..=64],
        ) {
            // Runs of every length, across block boundaries, separated by other bytes.
            let mut text = Vec::new();
            for (len, sep) in pieces {
                text.extend(std::iter::repeat_n(b'a', len));
                text.push(sep);
            }
            for class in CLASSES {
                prop_assert_eq!(long_runs(&text, min, class), naive_runs(&text, min, class));
            }
            text.pop();
            for class in CLASSES {
                prop_assert_eq!(long_runs(&text, min, class), naive_runs(&text, min, class));
            }
        }

        #[test]
        fn block_run_finder_equals_the_naive_one_on_any_bytes(
            text in proptest::collection::vec(prop_oneof![4 => Just(b'x'), 1 => Just(b'/'), 1 => any::<u8>()], 0..400),
            min in prop_oneof![Just(14usize), Just(32), 2usize..=64],
        ) {
            for class in CLASSES {
                prop_assert_eq!(long_runs(&text, min, class), naive_runs(&text, min, class));
            }
        }
    }
}
