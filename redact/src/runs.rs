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
    /// The byte-at-a-time definition, for tests: base64 is the table the rest of the engine
    /// reads it from, so the masks cannot drift from it.
    #[cfg(test)]
    pub(crate) fn holds(self, b: u8) -> bool {
        match self {
            Class::Token => token_byte(b),
            Class::Base64 => crate::opaque::BASE64[usize::from(b)],
        }
    }
}

/// The class masks of one text, one bit per byte, for both classes at once: the entropy
/// layer's token runs and the encoded-text pass's base64 runs come from one classification.
///
/// Only the stretches between skipped ranges (media) are classified and kept: a request
/// with a megabyte of image in it spent 5 % of its time zeroing and walking masks for blocks
/// no caller reads.
pub(crate) struct Masks {
    /// The classified stretches by first block: (first block, index of its first mask).
    stretches: Vec<(usize, usize)>,
    token: Vec<u64>,
    base64: Vec<u64>,
    /// Password bytes ([`password_byte`]): what [`Masks::run_grams`] reads; empty when not
    /// classified, and then the token bytes stand for them.
    password: Vec<u64>,
    len: usize,
}

impl Masks {
    /// Classifies the blocks of `text` that reach outside `skipped` (sorted, disjoint).
    /// Runs are asked for between skipped ranges only. Password bytes are token bytes here.
    pub(crate) fn new(text: &[u8], skipped: &[Range<usize>]) -> Self {
        Self::classify::<false>(text, skipped)
    }

    /// [`Masks::new`], with the symbols of [`password_byte`] classified too: only when a
    /// search needs them (the third test nearly doubled the classification's cost).
    pub(crate) fn with_passwords(text: &[u8], skipped: &[Range<usize>]) -> Self {
        Self::classify::<true>(text, skipped)
    }

    fn classify<const PASSWORDS: bool>(text: &[u8], skipped: &[Range<usize>]) -> Self {
        let mut masks = Masks {
            stretches: Vec::new(),
            token: Vec::new(),
            base64: Vec::new(),
            password: Vec::new(),
            len: text.len(),
        };
        // The first block not classified yet: a block two gaps share is classified once.
        let mut next = 0;
        let mut from = 0;
        let end = text.len();
        for skip in skipped.iter().chain(std::iter::once(&(end..end))) {
            let gap = from..skip.start.max(from).min(end);
            from = skip.end;
            if gap.is_empty() {
                continue;
            }
            let first = (gap.start / 64).max(next);
            let last = gap.end.div_ceil(64);
            if first >= last {
                continue;
            }
            if first != next || masks.stretches.is_empty() {
                masks.stretches.push((first, masks.token.len()));
            }
            let bytes = &text[first * 64..(last * 64).min(end)];
            for chunk in bytes.chunks(64) {
                let (token, base64, password) = chunk_masks::<PASSWORDS>(chunk);
                masks.token.push(token);
                masks.base64.push(base64);
                if PASSWORDS {
                    masks.password.push(password);
                }
            }
            next = last;
        }
        masks
    }

    /// The offsets of token bytes that stand alone (no token byte on either side: `a` and `7`
    /// in `a, 7`) with another such byte 2 to 17 bytes after them, in order.
    /// Bytes next to a skipped range count as standing alone.
    ///
    /// Single digits and letters are common in JSON and prose; two of them close together
    /// are rare, so the pairing is done on the masks and few offsets come out.
    pub(crate) fn lone_token_pairs(&self) -> Vec<usize> {
        let mut found = Vec::new();
        for (first, blocks) in self.stretch_blocks(&self.token) {
            let lone = |k: usize| {
                let Some(&bits) = blocks.get(k) else {
                    return 0;
                };
                let before = k.checked_sub(1).map_or(0, |j| blocks[j] >> 63);
                let after = blocks.get(k + 1).map_or(0, |&next| next & 1);
                // Bit i of `left`: byte i - 1 is a token byte; of `right`: byte i + 1 is.
                let left = (bits << 1) | before;
                let right = (bits >> 1) | (after << 63);
                bits & !left & !right
            };
            let mut next = lone(0);
            for k in 0..blocks.len() {
                let current = next;
                next = lone(k + 1);
                if current == 0 {
                    continue;
                }
                // Bit i of `partner`: a lone byte 2 to 17 bytes after byte i (shifted by two,
                // then smeared down by 1, 2, 4 and 8).
                let wide = (u128::from(current) | (u128::from(next) << 64)) >> 2;
                let wide = wide | wide >> 1;
                let wide = wide | wide >> 2;
                let wide = wide | wide >> 4;
                let partner = wide | wide >> 8;
                // Truncation keeps this block's 64 bits.
                found.extend(set_bits((first + k) * 64, current & partner as u64));
            }
        }
        found
    }

    /// Offsets where four pairs of token bytes start in a row, each pair followed by one byte
    /// that is not a token byte (`73:6b:5f:6c:`), in order: where hex pairs between colons may
    /// run. Only starts in a block's first 53 bytes are reported (the four pairs then end in
    /// it): a run of twelve pairs or more has starts every 3 bytes over 25, so one of them
    /// always is, and the caller walks back to the run's first pair. A block costs a few bit
    /// operations.
    pub(crate) fn pair_runs(&self) -> Vec<usize> {
        const STARTS: u64 = (1 << 53) - 1;
        let mut found = Vec::new();
        for (first, blocks) in self.stretch_blocks(&self.token) {
            for (k, &bits) in blocks.iter().enumerate() {
                // Bit i: bytes i and i + 1 are token bytes, byte i + 2 is not.
                let pairs = bits & bits >> 1 & !(bits >> 2);
                let runs = pairs & pairs >> 3 & pairs >> 6 & pairs >> 9 & STARTS;
                if runs != 0 {
                    found.extend(set_bits((first + k) * 64, runs));
                }
            }
        }
        found
    }

    /// The offsets that are multiples of 8 inside a run of at least `run` password bytes
    /// ([`password_byte`], or token bytes when not classified; 8 to 64) that started at most 7 bytes before them, in order:
    /// where a scan for stretches of `run` such bytes reads its grams (every such stretch holds one of these offsets, and
    /// the `run - 7` bytes from it). Prose and JSON have few of them; a block without any
    /// costs a few bit operations.
    pub(crate) fn run_grams(&self, run: usize) -> Vec<usize> {
        debug_assert!((8..=64).contains(&run));
        // Bit 0 of every byte: the sampled offsets of a block.
        const SAMPLED: u64 = 0x0101_0101_0101_0101;
        let shifts = widening_shifts(run);
        let classified = if self.password.is_empty() {
            &self.token
        } else {
            &self.password
        };
        let mut found = Vec::new();
        for (first, blocks) in self.stretch_blocks(classified) {
            // Bit j of a block's starts: bytes j..j + run are password bytes (read on into the
            // next block). The previous block's starts carry into this one.
            let mut previous = 0u64;
            for (k, &bits) in blocks.iter().enumerate() {
                // Runs inside the block, then the one run that may cross into the next: it
                // starts anywhere from its first byte here to `run` bytes before its end.
                let mut current = bits;
                for shift in shifts {
                    current &= current >> shift;
                }
                let here = bits.leading_ones() as usize;
                let there = blocks.get(k + 1).map_or(0, |n| n.trailing_ones() as usize);
                // (Most blocks fail the first test: runs this long are rare.)
                if here + there >= run && here > 0 {
                    // Starts past `64 - run` (the shifts found those before), from the run's
                    // first byte here, while `run` bytes reach no further than its end there.
                    let earliest = (64 - here).max(65 - run);
                    if let Some(latest) = (64 + there).checked_sub(run).map(|l| l.min(63)) {
                        if latest >= earliest {
                            current |= (u64::MAX >> (63 - (latest - earliest))) << earliest;
                        }
                    }
                }
                if current | previous != 0 {
                    // Bit p: a run started at one of p - 7 ..= p.
                    let mut smeared = u128::from(previous) | u128::from(current) << 64;
                    smeared |= smeared << 1;
                    smeared |= smeared << 2;
                    smeared |= smeared << 4;
                    found.extend(set_bits((first + k) * 64, (smeared >> 64) as u64 & SAMPLED));
                }
                previous = current;
            }
        }
        found
    }

    /// Each classified stretch's first block and its blocks' masks in `masks` (one of this
    /// text's mask vectors).
    fn stretch_blocks<'m>(&'m self, masks: &'m [u64]) -> impl Iterator<Item = (usize, &'m [u64])> {
        self.stretches
            .iter()
            .enumerate()
            .map(move |(i, &(first, at))| {
                let end = self
                    .stretches
                    .get(i + 1)
                    .map_or(masks.len(), |&(_, next)| next);
                (first, &masks[at..end])
            })
    }

    /// The length of the text classified.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The maximal runs of `class` bytes at least `min` long (2 to 64) inside `range`, in
    /// order; a run is cut where `range` ends.
    ///
    /// Only long runs are visited: a bit test finds them inside a block, and only a run that
    /// touches a block's edge is followed across it.
    pub(crate) fn long_runs(
        &self,
        range: Range<usize>,
        min: usize,
        class: Class,
    ) -> Vec<Range<usize>> {
        debug_assert!((2..=64).contains(&min) && range.end <= self.len);
        let masks = match class {
            Class::Token => &self.token,
            Class::Base64 => &self.base64,
        };
        let mut runs = Vec::new();
        if range.is_empty() {
            return runs;
        }
        // The stretch that holds `range`; blocks outside every stretch read as empty.
        let first = range.start / 64;
        let stretch = self.stretches.partition_point(|&(block, _)| block <= first);
        let Some(&(stretch_first, at)) = stretch.checked_sub(1).map(|i| &self.stretches[i]) else {
            return runs;
        };
        let stretch_end = self
            .stretches
            .get(stretch)
            .map_or(masks.len(), |&(_, next)| next);
        let masks = masks
            .get(at + (first - stretch_first)..stretch_end)
            .unwrap_or_default();
        // Worked out once here, so the test in the loop below is straight-line code.
        let shifts = widening_shifts(min);
        // Start of the run that reached the end of the previous block.
        let mut open: Option<usize> = None;
        let blocks = range.end.div_ceil(64) - first;
        for (block, &bits) in (first..).zip(masks.iter().take(blocks)) {
            let base = block * 64;
            // The bits of this block inside `range`: `n` of them counted from bit 0, fewer
            // at the front in the first block.
            let n = (range.end - base).min(64);
            let mut mask = bits & (u64::MAX >> (64 - n));
            if base < range.start {
                mask &= u64::MAX << (range.start - base);
            }
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
            // Bit i of `long` is set when bits i..i+min all are: a run of `min` inside the
            // block.
            let mut long = mask;
            for shift in shifts {
                long &= long >> shift;
            }
            while long != 0 {
                let at = long.trailing_zeros() as usize;
                // The run holding bit `at`: back to the clear bit below it, on to the one
                // above.
                let clear_below = !mask & ((1u64 << at) - 1);
                let start = 64 - clear_below.leading_zeros() as usize;
                let clear_above = !mask >> at;
                if clear_above == 0 {
                    // Only a whole block's last run gets here (a cut block's high bits are
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
            if range.end - start >= min {
                runs.push(start..range.end);
            }
        }
        runs
    }
}

/// The shifts that widen a one-bit test to a `width`-bit one (`bits &= bits >> shift` for
/// each), doubling while they can: six reach 64, and a shift of 0 changes nothing.
fn widening_shifts(width: usize) -> [usize; 6] {
    let mut shifts = [0usize; 6];
    let mut covered = 1;
    for shift in &mut shifts {
        *shift = covered.min(width - covered);
        covered += *shift;
    }
    shifts
}

/// Whether `b` is a token byte: a letter, a digit, `+`, `_` or `-` ([`Class::Token`]).
pub(crate) fn token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'_' | b'-')
}

/// Whether `b` is a byte of a made-up secret: a token byte or a symbol generated passwords
/// use, `! # $ % & * ? ^ | ~` (not those that structure text: quotes, `.`, `/`, `:`, `@`,
/// `=`, brackets, commas, white space).
pub(crate) fn password_byte(b: u8) -> bool {
    token_byte(b)
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'*' | b'?' | b'^' | b'|' | b'~'
        )
}

/// Bit `j` set when `chunk[j]` (at most 64 bytes) is a base64 byte.
pub(crate) fn base64_mask(chunk: &[u8]) -> u64 {
    chunk_masks::<false>(chunk).1
}

/// Bit `j` of each mask set when `chunk[j]` (at most 64 bytes) is of that class: token,
/// base64, password (0 unless `PASSWORDS`).
fn chunk_masks<const PASSWORDS: bool>(chunk: &[u8]) -> (u64, u64, u64) {
    if let Ok(full) = <&[u8; 64]>::try_from(chunk) {
        return block_masks::<PASSWORDS>(full);
    }
    let mut block = [0u8; 64];
    block[..chunk.len()].copy_from_slice(chunk);
    block_masks::<PASSWORDS>(&block)
}

/// [`chunk_masks`] of a whole block, read in place.
///
/// Two passes that the compiler vectorizes: one byte test per byte into a flag byte, then
/// eight flags at once gathered into eight bits. This ran at 2.5 times the speed of the
/// same tests done eight bytes to a word (SWAR) and 10 times that of setting a bit per byte.
fn block_masks<const PASSWORDS: bool>(block: &[u8; 64]) -> (u64, u64, u64) {
    let mut token = [0u8; 64];
    let mut padding = [0u8; 64];
    for ((token, padding), &b) in token.iter_mut().zip(padding.iter_mut()).zip(block) {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        // `|`, not `||`: no branches, so the loop vectorizes.
        let holds = (b.wrapping_sub(b'0') < 10) | letter | (b == b'+') | (b == b'_') | (b == b'-');
        *token = u8::from(holds);
        *padding = u8::from((b == b'/') | (b == b'='));
    }
    let token = gather(&token);
    let password = if PASSWORDS {
        let mut symbol = [0u8; 64];
        for (symbol, &b) in symbol.iter_mut().zip(block) {
            // `! # $ % &` are 0x21 and 0x23-0x26; then `* ? ^ | ~`.
            *symbol = u8::from(
                (b == b'!')
                    | (b.wrapping_sub(b'#') < 4)
                    | (b == b'*')
                    | (b == b'?')
                    | (b == b'^')
                    | (b == b'|')
                    | (b == b'~'),
            );
        }
        token | gather(&symbol)
    } else {
        0
    };
    (token, token | gather(&padding), password)
}

/// `base + i` for each set bit `i` of `mask`, lowest first.
pub(crate) fn set_bits(base: usize, mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let bit = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            base + bit
        })
    })
}

/// Bit `i` set when flag byte `i` is 1 (flags are 0 or 1).
pub(crate) fn gather(flags: &[u8; 64]) -> u64 {
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

    /// The runs of the whole text.
    fn long_runs(text: &[u8], min: usize, class: Class) -> Vec<Range<usize>> {
        Masks::new(text, &[]).long_runs(0..text.len(), min, class)
    }

    #[test]
    fn masks_agree_with_the_byte_test() {
        // Every byte at every position, among neighbours of every kind (no carries across).
        for b in 0..=255u8 {
            for j in 0..64 {
                for fill in [0u8, b'z', 0x7f, 0xff, b'/', b'='] {
                    let mut block = [fill; 64];
                    block[j] = b;
                    let (token, base64, password) = chunk_masks::<true>(&block);
                    type ByteTest = fn(u8) -> bool;
                    let tests: [(ByteTest, u64); 3] = [
                        (|b| Class::Token.holds(b), token),
                        (|b| Class::Base64.holds(b), base64),
                        (password_byte, password),
                    ];
                    for (holds, mask) in tests {
                        assert_eq!(mask >> j & 1 == 1, holds(b), "byte {b} at {j}");
                        assert_eq!(mask & !(1 << j), if holds(fill) { !(1u64 << j) } else { 0 });
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
        fn run_grams_are_where_the_naive_scan_finds_them(
            text in proptest::collection::vec(prop_oneof![10 => Just(b'x'), 2 => Just(b'!'), 1 => Just(b' '), 1 => any::<u8>()], 0..400),
            run in 8usize..=64,
        ) {
            let naive = |holds: fn(u8) -> bool| -> Vec<usize> {
                let at = |i: usize| text.get(i).is_some_and(|&b| holds(b));
                (0..text.len())
                    .step_by(8)
                    .filter(|&p| (p.saturating_sub(7)..=p).any(|start| (start..start + run).all(at)))
                    .collect()
            };
            prop_assert_eq!(Masks::with_passwords(&text, &[]).run_grams(run), naive(password_byte));
            // Without the symbols classified, token bytes stand for password bytes.
            prop_assert_eq!(Masks::new(&text, &[]).run_grams(run), naive(token_byte));
        }

        /// Four pairs of token bytes in a row, each with a byte of another class after it,
        /// starting in a block's first 53 bytes: what a byte walk finds.
        #[test]
        fn pair_runs_are_where_a_byte_walk_finds_them(
            text in proptest::collection::vec(prop_oneof![6 => Just(b'a'), 3 => Just(b':'), 1 => any::<u8>()], 0..400),
        ) {
            let token = |i: usize| text.get(i).is_some_and(|&b| token_byte(b));
            let naive: Vec<usize> = (0..text.len())
                .filter(|&i| i % 64 < 53)
                .filter(|&i| (0..4).all(|k| {
                    let p = i + 3 * k;
                    token(p) && token(p + 1) && !token(p + 2)
                }))
                .collect();
            prop_assert_eq!(Masks::new(&text, &[]).pair_runs(), naive);
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

        /// Lone token bytes with another 2 to 17 bytes on: what a byte walk finds, across
        /// block edges.
        #[test]
        fn lone_token_pairs_are_those_a_byte_walk_finds(
            text in proptest::collection::vec(prop_oneof![3 => Just(b' '), 2 => Just(b','), 2 => Just(b'a'), 1 => any::<u8>()], 0..400),
        ) {
            let lone = |i: usize| {
                Class::Token.holds(text[i])
                    && (i == 0 || !Class::Token.holds(text[i - 1]))
                    && text.get(i + 1).is_none_or(|&b| !Class::Token.holds(b))
            };
            let expected: Vec<usize> = (0..text.len())
                .filter(|&i| lone(i) && (i + 2..=i + 17).any(|j| j < text.len() && lone(j)))
                .collect();
            prop_assert_eq!(Masks::new(&text, &[]).lone_token_pairs(), expected);
        }

        /// Runs inside a part of the text, with other parts skipped when the masks were
        /// made: what a walk over that part alone finds.
        #[test]
        fn runs_in_a_range_are_those_of_the_range_alone(
            text in proptest::collection::vec(prop_oneof![8 => Just(b'x'), 1 => Just(b'='), 1 => any::<u8>()], 0..700),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 4),
            min in prop_oneof![Just(14usize), Just(32), 2usize..=64],
        ) {
            // Five ranges in order: read, skipped, read, skipped, read (some of them empty,
            // some sharing a block).
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(text.len() + 1)).collect();
            at.sort_unstable();
            let skipped = [at[0]..at[1], at[2]..at[3]];
            let masks = Masks::new(&text, &skipped);
            for read in [0..at[0], at[1]..at[2], at[3]..text.len()] {
                for class in CLASSES {
                    let expected: Vec<Range<usize>> = naive_runs(&text[read.clone()], min, class)
                        .into_iter()
                        .map(|r| read.start + r.start..read.start + r.end)
                        .collect();
                    prop_assert_eq!(masks.long_runs(read.clone(), min, class), expected);
                }
            }
        }
    }
}
