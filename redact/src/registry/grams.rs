//! A sampled q-gram index: exact multi-pattern search for large registries.
//!
//! An Aho-Corasick automaton over hundreds of thousands of forms is a large NFA whose every
//! input byte costs a state transition, far from the gigabyte per second the registry needs.
//! The input is cut into grams as wide as the index's step (4 bytes, or 8 when every form is
//! at least [`LONG_FORM_LEN`] bytes). Every form is at least `2 * step - 1` bytes long, so
//! any occurrence covers one whole gram, at an offset below the step inside the form. The
//! index keeps a bitmap of those grams (the `step` that start at offsets `0..step` of each
//! form, hashed) and looks each input gram up; only a set bit leads to a probe of a hash
//! table keyed by each form's first 8 bytes, and only a prefix hit to a full compare.
//!
//! Why 8-byte grams for long forms: with 10,000 secrets the forms' 4-byte grams covered most
//! of the 65,536 hex grams and all 10,000 of digits (a secret's hex and decimal-code forms),
//! so every hash, id or number in the input led to a probe; at 8 bytes they almost never do
//! (the registry with 10,000 secrets ran 28 % faster on the OpenClaw fixtures, criterion,
//! two alternating runs; bench/README.md, session 15).
//!
//! The index owns copies of the forms (zeroized on drop); it never logs or reveals them.

use zeroize::Zeroizing;

/// Input grams are read at every `SHORT_STEP`-th byte, or every `LONG_STEP`-th when all
/// forms are long enough: the scan then costs half as much (the registry was a tenth of the
/// engine's time on chat requests with 10 secrets).
const SHORT_STEP: usize = 4;
const LONG_STEP: usize = 8;
/// Forms are probed by their first 8 bytes.
const PREFIX: usize = 8;
/// The shortest form the index can hold: an occurrence must cover a whole sampled gram
/// (`2 * step - 1` bytes: a gram is as wide as the step) and a whole probe prefix.
pub(crate) const MIN_FORM_LEN: usize = max(2 * SHORT_STEP - 1, PREFIX);
/// Forms at least this long can be found reading a gram every `LONG_STEP` bytes.
pub(crate) const LONG_FORM_LEN: usize = max(2 * LONG_STEP - 1, PREFIX);

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Bits per indexed gram (and per form prefix) in the filters. Each filter is a blocked Bloom
/// filter: an entry sets two bits of one 64-bit word, so a lookup is one memory access (its
/// false-positive rate works out near 1.5 % at this density; not measured directly). False
/// positives, not the scan, dominate the cost: with 10,000 secrets on the OpenClaw fixtures a
/// one-bit filter ran at 540 MiB/s with 16 bits per gram and 861 MiB/s with 32; this one runs
/// at 2.97 GiB/s with 16 (criterion, one run each).
const BITS_PER_ENTRY: usize = 16;
const MIN_FILTER_WORDS: usize = 1 << 6;
const MAX_FILTER_WORDS: usize = 1 << 20;

pub(crate) struct GramIndex {
    /// Input grams are read at every `step`-th byte.
    step: usize,
    /// The grams at offsets `0..step` of every form.
    grams: Filter,
    /// Every form's first 8 bytes: checked before the table is probed.
    starts: Filter,
    /// Open-addressing table of form indexes + 1 (0 = empty), keyed by each form's prefix.
    slots: Vec<u32>,
    /// `64 - log2(slots)`.
    slot_shift: u32,
    /// Each form's first 8 bytes, as the table compares them.
    prefixes: Zeroizing<Vec<u64>>,
    forms: Vec<Zeroizing<Vec<u8>>>,
}

impl GramIndex {
    /// Indexes `forms`; `None` when one is shorter than [`MIN_FORM_LEN`].
    pub(crate) fn build(forms: Vec<Zeroizing<Vec<u8>>>) -> Option<Self> {
        if forms.iter().any(|f| f.len() < MIN_FORM_LEN) || forms.len() >= u32::MAX as usize {
            return None;
        }
        let step = if forms.iter().all(|f| f.len() >= LONG_FORM_LEN) {
            LONG_STEP
        } else {
            SHORT_STEP
        };
        let mut grams = Filter::with_entries(forms.len() * step);
        let mut starts = Filter::with_entries(forms.len());
        let slot_count = (forms.len() * 2).next_power_of_two().max(16);
        let slot_shift = 64 - slot_count.trailing_zeros();
        let mut slots = vec![0u32; slot_count];
        let mut prefixes = Zeroizing::new(Vec::with_capacity(forms.len()));
        for (index, form) in forms.iter().enumerate() {
            for offset in 0..step {
                grams.insert(gram_at(form, offset, step));
            }
            let prefix = gram_at(form, 0, PREFIX);
            starts.insert(prefix);
            prefixes.push(prefix);
            let mut slot = slot_hash(prefix, slot_shift);
            while slots[slot] != 0 {
                slot = (slot + 1) & (slot_count - 1);
            }
            // `index < u32::MAX` was checked above.
            slots[slot] = index as u32 + 1;
        }
        Some(GramIndex {
            step,
            grams,
            starts,
            slots,
            slot_shift,
            prefixes,
            forms,
        })
    }

    /// Every occurrence of every form as (start, end, form index), by start then length.
    pub(crate) fn find_all(&self, input: &[u8]) -> Vec<(usize, usize, usize)> {
        // The step as a constant: read from `self` in the loop, it cost a third of the scan.
        if self.step == LONG_STEP {
            self.scan::<LONG_STEP>(input)
        } else {
            self.scan::<SHORT_STEP>(input)
        }
    }

    fn scan<const STEP: usize>(&self, input: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut found = Vec::new();
        for (block, chunk) in input.chunks_exact(STEP).enumerate() {
            if self.grams.contains(gram_at(chunk, 0, STEP)) {
                // A form whose gram at `offset` this is starts at `at - offset`: probe the
                // candidates left to right so that `found` stays ordered by start.
                let at = block * STEP;
                for offset in (0..STEP).rev() {
                    if let Some(start) = at.checked_sub(offset) {
                        self.probe(input, start, &mut found);
                    }
                }
            }
        }
        found
    }

    fn probe(&self, input: &[u8], start: usize, found: &mut Vec<(usize, usize, usize)>) {
        if start + PREFIX > input.len() {
            return;
        }
        let prefix = gram_at(input, start, PREFIX);
        if !self.starts.contains(prefix) {
            return;
        }
        let first = found.len();
        let mut slot = slot_hash(prefix, self.slot_shift);
        loop {
            let entry = self.slots[slot];
            if entry == 0 {
                break;
            }
            let index = entry as usize - 1;
            if self.prefixes[index] == prefix {
                let form = &self.forms[index];
                if input[start..].starts_with(form) {
                    found.push((start, start + form.len(), index));
                }
            }
            slot = (slot + 1) & (self.slots.len() - 1);
        }
        found[first..].sort_unstable_by_key(|&(_, end, _)| end);
    }

    /// How many bytes apart the input grams are read.
    #[cfg(test)]
    pub(crate) fn step(&self) -> usize {
        self.step
    }

    pub(crate) fn memory_usage(&self) -> usize {
        self.grams.memory_usage()
            + self.starts.memory_usage()
            + self.slots.len() * 4
            + self.prefixes.len() * 8
            + self.forms.iter().map(|f| f.len()).sum::<usize>()
    }
}

/// The `width` bytes at `offset` as a key (`width` is 4 or 8: a gram, or a probe prefix).
#[inline(always)]
fn gram_at(form: &[u8], offset: usize, width: usize) -> u64 {
    let mut bytes = [0u8; 8];
    bytes[..width].copy_from_slice(&form[offset..offset + width]);
    u64::from_le_bytes(bytes)
}

/// A blocked Bloom filter over 64-bit keys with two bits per key.
pub(super) struct Filter {
    words: Vec<u64>,
    /// `64 - log2(words)`: the word index is the hash's top bits.
    shift: u32,
}

impl Filter {
    pub(super) fn with_entries(entries: usize) -> Self {
        let words = (entries * BITS_PER_ENTRY / 64)
            .next_power_of_two()
            .clamp(MIN_FILTER_WORDS, MAX_FILTER_WORDS);
        Filter {
            words: vec![0; words],
            shift: 64 - words.trailing_zeros(),
        }
    }

    /// The word index and the key's two bits in it; the word index takes at most 20 of the
    /// hash's top bits, the bits come from the 12 below them.
    fn locate(&self, key: u64) -> (usize, u64) {
        let h = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bits = (1 << ((h >> 32) & 63)) | (1 << ((h >> 38) & 63));
        ((h >> self.shift) as usize, bits)
    }

    pub(super) fn insert(&mut self, key: u64) {
        let (word, bits) = self.locate(key);
        self.words[word] |= bits;
    }

    pub(super) fn contains(&self, key: u64) -> bool {
        let (word, bits) = self.locate(key);
        self.words[word] & bits == bits
    }

    pub(super) fn memory_usage(&self) -> usize {
        self.words.len() * 8
    }
}

pub(super) fn slot_hash(prefix: u64, shift: u32) -> usize {
    (prefix.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}
