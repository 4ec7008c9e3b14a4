//! Parts of registry values: a stretch of [`FRAGMENT_LEN`] bytes or more of a known value,
//! sent without the rest of it.
//!
//! An agent that shows "the first half" of a key, cuts a token in two across messages, or
//! quotes a password with its last characters changed still sends most of the secret. The
//! forms index ([`super::grams`]) finds a value only whole; this index finds any stretch of
//! at least [`FRAGMENT_LEN`] bytes of a value, raw, and reports it at its full length.
//!
//! Not every stretch of a value is the value's own. The head of a provider's token
//! (`sk-ant-api03-`, `xoxb-123456789012-`, a JWT's header) is shared by every token of its
//! kind, and a stretch of words, a host name or a path (`hooks.slack.com`, `/services/`) is
//! ordinary text. So a stretch counts only when it holds a *distinctive window*: 12 bytes
//! with at most 4 of the value's head in them, of the characters made-up secrets are made of,
//! with seven or more distinct bytes, letters and digits or symbols or a random-looking mix of
//! cases ([`is_distinctive`]), and found in no other value. Values that hold a private key's armour are left to the rules (every key of a kind
//! starts with the same DER header), and so are values longer than [`MAX_VALUE_LEN`].
//!
//! It never logs or reveals a value; its copies are zeroized on drop.

use std::collections::HashMap;

use zeroize::Zeroizing;

use super::grams::{slot_hash, Filter};

/// The shortest stretch of a value replaced on its own: the length of the window that the
/// engine's invariants say must never survive.
pub(crate) const FRAGMENT_LEN: usize = 12;
/// Input grams are 5 bytes read at every 8th byte: any stretch of [`FRAGMENT_LEN`] bytes
/// holds one whole (its first multiple of 8 is at most 7 bytes in, and 7 + 5 <= 12). Five
/// bytes, not four: 10,000 values have some 360,000 4-byte grams, about 2 % of all base64 ones
/// (worked out, not measured), so a random gram often led to a probe; with five the registry
/// alone read base64 media at 1.48 GiB/s instead of 1.33 (criterion, 10,000 secrets, one run
/// each).
const GRAM: usize = 5;
const STEP: usize = 8;
const GRAM_MASK: u64 = (1 << (8 * GRAM)) - 1;
/// Longer values (a service account's JSON on one line, a certificate) are documents, not
/// tokens: their parts are shared with every document of their kind.
const MAX_VALUE_LEN: usize = 1024;
/// In a value that is a URL, windows lie in runs of password bytes at least this long.
const URL_RUN: usize = 16;
/// A token's public head (`sk-proj-`, `github_pat_`) ends at a separator this early.
const HEAD_SEARCH: usize = 16;
/// A distinctive window may hold this much of the head, and so at least 8 of the value's own
/// bytes: `sk_live_51HgXqL2eZ` gives away ten of a Stripe key's own characters, and its
/// windows past the head (`51HgXqL2eZ..`) are not all in it.
const HEAD_IN_WINDOW: usize = 4;
pub(crate) struct Fragments {
    /// The 4-byte grams of every distinctive window.
    grams: Filter,
    /// Open-addressing table of `entries` indexes + 1 (0 = empty), one slot a distinct gram:
    /// the first of that gram's entries (they are sorted by gram).
    slots: Vec<u32>,
    slot_shift: u32,
    entries: Zeroizing<Vec<Entry>>,
    values: Vec<Indexed>,
    /// Some distinctive window holds a symbol that is not a token byte (`!`, `#`, ...).
    symbols: bool,
}

/// Where a gram stands in a value. The gram is five of the value's bytes: zeroized with the
/// table.
struct Entry {
    gram: u64,
    value: u32,
    offset: u32,
}

impl zeroize::Zeroize for Entry {
    fn zeroize(&mut self) {
        self.gram.zeroize();
    }
}

struct Indexed {
    bytes: Zeroizing<Vec<u8>>,
    /// `distinctive[i]`: the window at `i..i + FRAGMENT_LEN` is distinctive.
    distinctive: Vec<bool>,
    /// The value's index in the registry's names.
    owner: usize,
}

impl Fragments {
    /// Indexes the distinctive windows of `values` (value, owner); `None` when no value has
    /// one.
    pub(crate) fn build<'a>(values: impl IntoIterator<Item = (&'a [u8], usize)>) -> Option<Self> {
        let mut indexed: Vec<Indexed> = values
            .into_iter()
            .filter(|(value, _)| may_have_parts(value))
            .map(|(value, owner)| {
                let head = public_head(value);
                let in_long_run = long_run_windows(value);
                let distinctive = (0..=value.len() - FRAGMENT_LEN)
                    .map(|i| {
                        i + HEAD_IN_WINDOW >= head
                            && in_long_run(i)
                            && is_distinctive(&value[i..i + FRAGMENT_LEN])
                    })
                    .collect();
                Indexed {
                    bytes: Zeroizing::new(value.to_vec()),
                    distinctive,
                    owner,
                }
            })
            .collect();
        // A window two values share (two keys of one provider, two versions of one
        // password) says neither.
        // `None`: held by two values or more.
        let mut holders: HashMap<&[u8], Option<usize>> = HashMap::new();
        for (v, value) in indexed.iter().enumerate() {
            for (i, _) in value.distinctive.iter().enumerate().filter(|(_, d)| **d) {
                holders
                    .entry(&value.bytes[i..i + FRAGMENT_LEN])
                    .and_modify(|holder| {
                        if *holder != Some(v) {
                            *holder = None;
                        }
                    })
                    .or_insert(Some(v));
            }
        }
        let own: Vec<Vec<bool>> = indexed
            .iter()
            .enumerate()
            .map(|(v, value)| {
                let window = |i: usize| &value.bytes[i..i + FRAGMENT_LEN];
                (0..value.distinctive.len())
                    .map(|i| value.distinctive[i] && holders.get(window(i)) == Some(&Some(v)))
                    .collect()
            })
            .collect();
        drop(holders);
        for (value, own) in indexed.iter_mut().zip(own) {
            value.distinctive = own;
        }
        indexed.retain(|value| value.distinctive.iter().any(|d| *d));
        if indexed.is_empty() || indexed.len() >= u32::MAX as usize {
            return None;
        }
        // Every gram inside a distinctive window: a stretch holding such a window is found
        // from whichever of its grams the input is read at. Counted first, so that the table
        // is never moved (a moved buffer would leave grams behind, unzeroized).
        let gram_offsets = |value: &Indexed| {
            let mut covered_to = 0;
            let mut offsets = Vec::new();
            for (i, _) in value.distinctive.iter().enumerate().filter(|(_, d)| **d) {
                offsets.extend(i.max(covered_to)..=i + FRAGMENT_LEN - GRAM);
                covered_to = i + FRAGMENT_LEN - GRAM + 1;
            }
            offsets
        };
        let offsets: Vec<Vec<usize>> = indexed.iter().map(gram_offsets).collect();
        let mut entries = Zeroizing::new(Vec::with_capacity(offsets.iter().map(Vec::len).sum()));
        for (v, (value, offsets)) in indexed.iter().zip(&offsets).enumerate() {
            for &offset in offsets {
                entries.push(Entry {
                    gram: gram_at(&value.bytes, offset),
                    value: v as u32,
                    offset: offset as u32,
                });
            }
        }
        entries.sort_unstable_by_key(|e| (e.gram, e.value, e.offset));
        let mut grams = Filter::with_entries(entries.len());
        let distinct = entries.chunk_by(|a, b| a.gram == b.gram).count();
        let slot_count = (distinct * 2).next_power_of_two().max(16);
        let slot_shift = 64 - slot_count.trailing_zeros();
        let mut slots = vec![0u32; slot_count];
        let mut first = 0;
        for run in entries.chunk_by(|a, b| a.gram == b.gram) {
            let gram = run[0].gram;
            grams.insert(gram);
            let mut slot = slot_hash(gram, slot_shift);
            while slots[slot] != 0 {
                slot = (slot + 1) & (slot_count - 1);
            }
            slots[slot] = u32::try_from(first + 1).ok()?;
            first += run.len();
        }
        let symbols = indexed.iter().any(|value| {
            value.distinctive.iter().enumerate().any(|(i, d)| {
                *d && !value.bytes[i..i + FRAGMENT_LEN]
                    .iter()
                    .all(|&b| crate::runs::token_byte(b))
            })
        });
        Some(Fragments {
            grams,
            slots,
            slot_shift,
            entries,
            values: indexed,
            symbols,
        })
    }

    /// Every stretch of a value in `input` that holds one of its distinctive windows, at its
    /// full length, as (start, end, owner, whether it is the whole value), by start: a whole
    /// value is reported too, for the texts the forms are not matched in (a value escaped
    /// three times over, read through the view). Parts found may overlap (two values sharing
    /// bytes beside a window).
    ///
    /// `grams`: where to read, in order: every multiple of [`STEP`] ([`Fragments::every_step`]),
    /// or only those inside a run of [`FRAGMENT_LEN`] password bytes (the engine has them from
    /// its class masks, [`crate::runs::Masks::run_grams`]). A distinctive window holds a
    /// whole gram at one of them.
    pub(crate) fn find(
        &self,
        input: &[u8],
        grams: impl IntoIterator<Item = usize>,
    ) -> Vec<(usize, usize, usize, bool)> {
        let mut found: Vec<(usize, usize, usize, bool)> = Vec::new();
        // Grams before this lie inside a part already found: a stretch reaching past it holds
        // a whole gram at or after it.
        let mut resume = 0;
        for at in grams {
            if at < resume || at + GRAM > input.len() {
                continue;
            }
            let gram = gram_at(input, at);
            // A gram with a space in it lies in no distinctive window.
            if is_graphic(gram) && self.grams.contains(gram) {
                for entry in self.entries_of(gram) {
                    if let Some(part) = self.extend(input, at, entry) {
                        resume = resume.max(part.1);
                        found.push(part);
                    }
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Every multiple of [`STEP`] in `input`: the grams to read without class masks.
    pub(crate) fn every_step(input: &[u8]) -> impl Iterator<Item = usize> {
        (0..input.len()).step_by(STEP)
    }

    /// Whether a distinctive window holds a symbol that is not a token byte.
    pub(crate) fn has_symbols(&self) -> bool {
        self.symbols
    }

    fn entries_of(&self, gram: u64) -> &[Entry] {
        let mut slot = slot_hash(gram, self.slot_shift);
        loop {
            let first = self.slots[slot] as usize;
            if first == 0 {
                return &[];
            }
            if self.entries[first - 1].gram == gram {
                let run = &self.entries[first - 1..];
                let len = run.iter().take_while(|e| e.gram == gram).count();
                return &run[..len];
            }
            slot = (slot + 1) & (self.slots.len() - 1);
        }
    }

    /// The stretch of `entry`'s value that matches the input around `at`, if it holds a
    /// distinctive window.
    fn extend(
        &self,
        input: &[u8],
        at: usize,
        entry: &Entry,
    ) -> Option<(usize, usize, usize, bool)> {
        let value = &self.values[entry.value as usize];
        let bytes = &value.bytes;
        let offset = entry.offset as usize;
        let before = input[..at]
            .iter()
            .rev()
            .zip(bytes[..offset].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        let after = input[at..]
            .iter()
            .zip(&bytes[offset..])
            .take_while(|(a, b)| a == b)
            .count();
        let (first, last) = (offset - before, offset + after);
        let whole = first == 0 && last == bytes.len();
        (last - first >= FRAGMENT_LEN
            && value.distinctive[first..=last - FRAGMENT_LEN]
                .iter()
                .any(|d| *d))
        .then_some((at - before, at + after, value.owner, whole))
    }

    pub(crate) fn memory_usage(&self) -> usize {
        self.grams.memory_usage()
            + self.slots.len() * 4
            + self.entries.len() * std::mem::size_of::<Entry>()
            + self
                .values
                .iter()
                .map(|v| v.bytes.len() + v.distinctive.len())
                .sum::<usize>()
    }
}

/// Whether every byte of a gram is graphic ASCII (`0x21..=0x7e`), with no branch per byte:
/// no byte below `0x21` (the borrow sets its top bit) and none above `0x7e` (the carry
/// does).
#[inline]
fn is_graphic(gram: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101 & GRAM_MASK;
    const HIGH: u64 = ONES * 0x80;
    let below = gram.wrapping_sub(ONES * 0x21) & !gram & HIGH;
    let above = (gram.wrapping_add(ONES) | gram) & HIGH;
    below | above == 0
}

/// The `GRAM` bytes at `at`, little-endian.
#[inline(always)]
fn gram_at(bytes: &[u8], at: usize) -> u64 {
    // One 8-byte load where the input has the bytes, as it has but at its end.
    if let Some(eight) = bytes.get(at..at + 8) {
        let mut gram = [0u8; 8];
        gram.copy_from_slice(eight);
        return u64::from_le_bytes(gram) & GRAM_MASK;
    }
    let mut gram = [0u8; 8];
    gram[..GRAM].copy_from_slice(&bytes[at..at + GRAM]);
    u64::from_le_bytes(gram)
}

/// Values whose parts are worth finding: longer than a window, no longer than a token gets,
/// and not a private key (its DER header is every key's of its kind).
fn may_have_parts(value: &[u8]) -> bool {
    (FRAGMENT_LEN + 1..=MAX_VALUE_LEN).contains(&value.len())
        && memchr::memmem::find(value, b"PRIVATE KEY").is_none()
        && memchr::memmem::find(value, b"-----BEGIN").is_none()
}

/// Whether the window at `i` lies in a run of password bytes long enough: in a URL
/// (`postgres://...`, a webhook) at least [`URL_RUN`] bytes, where a password, a token or a
/// path's secret segment stands, and not a host name or a short path piece
/// (`ip-10-0-1-23`, `T0123ABCD`) that the rest of the traffic may name too.
fn long_run_windows(value: &[u8]) -> impl Fn(usize) -> bool + '_ {
    let min = if memchr::memmem::find(value, b"://").is_some() {
        URL_RUN
    } else {
        FRAGMENT_LEN
    };
    move |i: usize| {
        let password = |b: &&u8| crate::runs::password_byte(**b);
        let before = value[..i].iter().rev().take_while(password).count();
        let after = value[i..].iter().take_while(password).count();
        before + after >= min
    }
}

/// Where the value's own bytes start: after a JWT's header and claims (shared by every token
/// its issuer signs), or after a provider's prefix (`sk-ant-api03-`, `ghp_`, `xoxb-1234-`):
/// the last `-`, `_` or `.` in the first [`HEAD_SEARCH`] bytes, when every piece before it is
/// a word, a number or a word and a number (`sk`, `api03`, `1234`), as prefixes are and
/// random bytes seldom are (`n3oshpf0a_`).
pub(crate) fn public_head(value: &[u8]) -> usize {
    if value.starts_with(b"eyJ") {
        return memchr::memrchr(b'.', value).map_or(0, |dot| dot + 1);
    }
    let search = &value[..value.len().min(HEAD_SEARCH)];
    let Some(end) = search.iter().rposition(|b| matches!(b, b'-' | b'_' | b'.')) else {
        return 0;
    };
    let prefix_like = |piece: &[u8]| {
        let letters = piece.iter().take_while(|b| b.is_ascii_alphabetic()).count();
        !piece.is_empty() && piece[letters..].iter().all(u8::is_ascii_digit)
    };
    if search[..end]
        .split(|b| matches!(b, b'-' | b'_' | b'.'))
        .all(prefix_like)
    {
        end + 1
    } else {
        0
    }
}

/// Whether a window is one value's own: the bytes of a made-up secret only (letters, digits,
/// `+ _ -` and `! # $ % & * ? ^ | ~`: no quotes, `.`, `/`, `:`, `@`, `=`, brackets or
/// spaces), seven or more distinct, a letter, and marks of randomness: two digits or symbols
/// other than `_` and `-`, or six
/// changes between lower case, upper case and digits from byte to byte, or one digit and
/// five changes, or four letters of each case and five changes. `CompanyNameX`,
/// `MyCompanyNam`, `CompanyName2`, `ecret-passwo` and `services/T01` are not;
/// `Kx9mQ2vLp7Zr`, `3fa9c0e1b7d2`, `Winter2025Se`, `HFKsyXOyTRvq` and `Tr0ub4dor&3x` are.
pub(crate) fn is_distinctive(window: &[u8]) -> bool {
    if !window.iter().all(|&b| crate::runs::password_byte(b)) {
        return false;
    }
    let mut seen = [false; 128];
    for &b in window {
        seen[usize::from(b)] = true;
    }
    let kind = |b: u8| match b {
        b'a'..=b'z' => Some(0),
        b'A'..=b'Z' => Some(1),
        b'0'..=b'9' => Some(2),
        _ => None,
    };
    let letters = window.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let marks = window
        .iter()
        .filter(|&&b| b.is_ascii_digit() || !matches!(b, b'_' | b'-') && !b.is_ascii_alphabetic())
        .count();
    let changes = window
        .windows(2)
        .filter(|pair| matches!((kind(pair[0]), kind(pair[1])), (Some(a), Some(b)) if a != b))
        .count();
    let upper = window.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lower = letters - upper;
    // Random letters mix the cases throughout; words run together (`MyCompanyNam`) have a
    // capital every few letters.
    let mixed = upper >= 4 && lower >= 4 && changes >= 5;
    seen.iter().filter(|s| **s).count() >= 7
        && letters > 0
        && (marks >= 2 || changes >= 6 || (marks == 1 && changes >= 5) || mixed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts found (whole values left out), as text and owner.
    fn parts(values: &[&str], input: &str) -> Vec<(String, usize)> {
        let index = Fragments::build(values.iter().enumerate().map(|(i, v)| (v.as_bytes(), i)));
        index.map_or_else(Vec::new, |index| {
            index
                .find(input.as_bytes(), Fragments::every_step(input.as_bytes()))
                .into_iter()
                .filter(|&(_, _, _, whole)| !whole)
                .map(|(start, end, owner, _)| (input[start..end].to_owned(), owner))
                .collect()
        })
    }

    #[test]
    fn a_stretch_of_a_value_is_found_at_its_full_length() {
        let key = "sk-ant-api03-Kx9mQ2vLp7ZrT4wN8bYc1dFg6hJk3sMn5qRt";
        let first_half = "sk-ant-api03-Kx9mQ2vLp7ZrT4wN";
        let input = format!("the key begins {first_half}... and ends ...hJk3sMn5qRt ok");
        // (The last eleven bytes are too few to be a part.)
        assert_eq!(parts(&[key], &input), vec![(first_half.to_owned(), 0)]);
        // Every stretch of 12 bytes with at most 4 of the head, at every offset in the input.
        for start in 9..=key.len() - FRAGMENT_LEN {
            for pad in 0..STEP {
                let part = &key[start..start + FRAGMENT_LEN];
                let input = format!("{}{part}.", " ".repeat(pad));
                assert_eq!(
                    parts(&[key], &input),
                    vec![(part.to_owned(), 0)],
                    "{start} {pad}"
                );
            }
        }
        // Eleven bytes are not a part.
        assert!(parts(&[key], &key[20..31]).is_empty());
    }

    #[test]
    fn the_whole_value_is_reported_as_whole() {
        let key = "Kx9mQ2vLp7ZrT4wN8bYc";
        assert!(parts(&[key], &format!("x {key} y")).is_empty());
        let index = Fragments::build([(key.as_bytes(), 0)]).unwrap();
        let input = format!("x {key} y");
        assert_eq!(
            index.find(input.as_bytes(), Fragments::every_step(input.as_bytes())),
            vec![(2, 2 + key.len(), 0, true)]
        );
        assert_eq!(parts(&[key], &format!("x {}", &key[..19])).len(), 1);
    }

    #[test]
    fn shared_heads_and_ordinary_text_are_not_parts() {
        // A provider's prefix, one value's or two values' shared bytes.
        let key = "sk-ant-api03-Kx9mQ2vLp7ZrT4wN8bYc";
        assert!(parts(&[key], "sk-ant-api03-").is_empty());
        assert!(parts(&[key], "sk-ant-api03-Kx9mQ2v").is_empty());
        assert_eq!(parts(&[key], "sk-ant-api03-Kx9mQ2vL").len(), 1);
        assert!(parts(
            &["AKIAQ7RPZX4UV3SW9TYA", "AKIAQ7RPZX4UV3LM2NBC"],
            "AKIAQ7RPZX4UV3 and more"
        )
        .is_empty());
        // A JWT's header and claims.
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.Kx9mQ2vLp7ZrT4wN8bYc1dFg6hJk3sMn";
        assert!(parts(
            &[jwt],
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.other"
        )
        .is_empty());
        assert_eq!(parts(&[jwt], "sig Kx9mQ2vLp7ZrT4wN8bYc").len(), 1);
        // Host names, paths and words from a webhook or a password.
        let hook = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/Kx9mQ2vLp7ZrT4wN8bYc";
        assert!(parts(
            &[hook],
            "post to https://hooks.slack.com/services/T0123ABCD/"
        )
        .is_empty());
        assert_eq!(parts(&[hook], "token Kx9mQ2vLp7ZrT4wN").len(), 1);
        let url = "postgres://app:Kx9mQ2vLp7ZrT4wN8b@ip-10-0-1-23.ec2.internal:5432/app";
        assert!(parts(&[url], "ssh ip-10-0-1-23.ec2.internal").is_empty());
        assert_eq!(parts(&[url], "password Kx9mQ2vLp7Zr").len(), 1);
        assert!(parts(&["MyCompanyName2024!"], "MyCompanyName rocks").is_empty());
        assert!(parts(&["correcthorsebatterystaple"], "horsebatterystaple").is_empty());
        // A private key's armour and body.
        let pem = "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
        assert!(parts(&[pem], "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn the_graphic_test_agrees_with_its_definition(gram: u64, byte in 0u8..=255, at in 0..GRAM) {
            let mut bytes = (gram & GRAM_MASK).to_le_bytes();
            bytes[at] = byte;
            let gram = u64::from_le_bytes(bytes);
            proptest::prop_assert_eq!(
                is_graphic(gram),
                bytes[..GRAM].iter().all(|b| (0x21..=0x7e).contains(b))
            );
        }
    }

    #[test]
    fn windows_are_judged_as_documented() {
        for yes in [
            "Kx9mQ2vLp7Zr",
            "3fa9c0e1b7d2",
            "Winter2025Se",
            "Tr0ub4dor-3x",
            "Tr0ub4dor&3x",
            "x8#Kq!2m$zWp",
            "aZbYcXdWeVfU",
        ] {
            assert!(is_distinctive(yes.as_bytes()), "{yes}");
        }
        for no in [
            "CompanyNameX",
            "MyCompanyNam",
            "CompanyName2",
            "HelloWorldFo",
            "ecret-passwo",
            "a-b-c-d-e-f-",
            "Tr0ub4dor@3x",
            "jdoe!acmecor",
            "hooks.slack.",
            "services/T01",
            "123456789012",
            "aaaa1111aaaa",
            "abc def ghij",
        ] {
            assert!(!is_distinctive(no.as_bytes()), "{no}");
        }
        assert_eq!(public_head(b"sk-ant-api03-Kx9m"), 13);
        assert_eq!(public_head(b"xoxb-1234567890-123"), 16);
        assert_eq!(public_head(b"github_pat_11ABCDEF"), 11);
        assert_eq!(public_head(b"dop_v1_Kx9mQ2vLp"), 7);
        assert_eq!(public_head(b"Kx9mQ2vLp7ZrT4wN"), 0);
        assert_eq!(public_head(b"9x-mQ2vLp7ZrT4wN"), 0);
        assert_eq!(public_head(b"n3oshpf0a_1p50vunv5"), 0);
        assert_eq!(public_head(b"A#?A?~|A~^|$?_|~?#aa"), 0);
    }
}
