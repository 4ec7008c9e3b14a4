//! The keyword scan that decides where the regex layer runs: every occurrence of every rule
//! keyword, ASCII case ignored, overlapping ones included.
//!
//! This module owns the automaton and its scan, and nothing else: which rules a keyword opens
//! and how wide their windows are is `rules.rs`'s business.
//!
//! Why not the `aho-corasick` crate's DFA: with ~300 keywords, many of two or three bytes, no
//! prefilter can skip input, and its scan is one dependent table load per byte (~620 MB/s
//! here, half of all the engine's time on chat requests). The same automaton walked over four
//! slices of the input at once keeps four independent loads in flight. Each slice after the
//! first starts `longest keyword - 1` bytes early, so a keyword that straddles a cut is still
//! seen whole, and only hits ending inside a slice's own part are reported, so none twice.
//! A test checks the hits against `aho-corasick`'s overlapping search.
//!
//! The scan waits on table loads, so the table's size is its speed. ~640 keywords make
//! ~2,900 states, one row each with an entry per byte class: with a class for every byte a
//! keyword uses, rows were 107 entries wide (1.3 MB in all). Bytes past ASCII now share one
//! class (hits of the keywords that hold them are confirmed against their bytes), rows are 63
//! wide (720 KB), and the classes of frequent bytes come first, so ordinary text touches few
//! cache lines of each row: the captures ran 9-12 % faster in all.
//!
//! The lane loop is short of registers, so it is kept to the bare walk: the lanes are
//! sub-slices of one length (no bounds check per byte), and match states are numbered from a
//! power of two up, so one test of the four states or-ed together says whether any lane
//! matched. Together these cut the engine's instructions by 9 % on the captures and on a 4 KB
//! chat request.

use std::collections::VecDeque;

/// Below this many bytes one slice is scanned: the cuts cost more than they gain.
const SPLIT_AT: usize = 512;

/// How many slices are walked at once: 4 measured fastest here (6 and 8 were 10-15 % slower).
const LANES: usize = 4;

/// An Aho-Corasick DFA over ASCII-case-folded keywords, every transition precomputed.
pub(crate) struct KeywordScanner {
    /// Byte → equivalence class; upper-case letters share the class of their lower case.
    classes: [u8; 256],
    /// Transitions: `next = table[state + class]`. States are premultiplied by `stride`.
    table: Vec<u32>,
    stride: u32,
    /// States at or above this one end at least one keyword; a power of two, and no state
    /// below it has its bit set.
    first_match: u32,
    /// For each match state (by `(state - first_match) / stride`), the keywords ending there.
    outputs: Vec<Vec<u32>>,
    /// Each keyword's length.
    lengths: Vec<usize>,
    /// For each keyword with bytes past ASCII, those bytes (lower-cased), which a hit must
    /// match: the automaton sees them all as one class.
    confirm: Vec<Option<Vec<u8>>>,
    longest: usize,
}

/// One occurrence: where it is and which keyword (its index in the list built from); hits
/// sort by start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) keyword: usize,
}

impl KeywordScanner {
    /// Builds the automaton. Keywords must be distinct once lower-cased and non-empty.
    pub(crate) fn new(keywords: &[String]) -> Self {
        let lowered: Vec<Vec<u8>> = keywords
            .iter()
            .map(|k| k.as_bytes().to_ascii_lowercase())
            .collect();
        // Byte classes: one per distinct ASCII byte (case folded) a keyword uses, one for all
        // bytes past ASCII if a keyword uses any, and one for the rest.
        let mut used = [false; 256];
        for keyword in &lowered {
            for &b in keyword {
                used[usize::from(b)] = true;
            }
        }
        // Frequent bytes first, so that the transitions a scan of ordinary text takes out of
        // each state sit together in a few cache lines of its row.
        let frequent = b"etaoinsrhldcumfpgwybvkxjqz_-.:=\"' 0123456789/";
        let rest = (0..0x80u8).filter(|b| !frequent.contains(b));
        let mut classes = [0u8; 256];
        let mut count = 1u32;
        for b in frequent.iter().copied().chain(rest) {
            if used[usize::from(b)] {
                classes[usize::from(b)] = count as u8;
                count += 1;
            }
        }
        // Every byte past ASCII shares one class: the few keywords in other scripts
        // (`contraseña`, `пароль`) brought 46 classes of their own, and the table's rows,
        // one entry per class, were twice as wide for them. A hit of such a keyword is
        // confirmed against its bytes instead.
        if used[0x80..].contains(&true) {
            classes[0x80..].fill(count as u8);
            count += 1;
        }
        for upper in b'A'..=b'Z' {
            classes[usize::from(upper)] = classes[usize::from(upper.to_ascii_lowercase())];
        }
        let stride = count as usize;

        // The trie: children by class, keyword ending at each node.
        let mut children: Vec<Vec<u32>> = vec![vec![u32::MAX; stride]];
        let mut ends: Vec<Vec<u32>> = vec![Vec::new()];
        for (index, keyword) in lowered.iter().enumerate() {
            let mut node = 0usize;
            for &b in keyword {
                let class = usize::from(classes[usize::from(b)]);
                if children[node][class] == u32::MAX {
                    children[node][class] = children.len() as u32;
                    children.push(vec![u32::MAX; stride]);
                    ends.push(Vec::new());
                }
                node = children[node][class] as usize;
            }
            ends[node].push(index as u32);
        }

        // Breadth first: each node's failure link, its full transitions, and its outputs (its
        // own keywords plus those of its failure link, which end here too).
        let nodes = children.len();
        let mut fail = vec![0u32; nodes];
        let mut delta = vec![vec![0u32; stride]; nodes];
        let mut queue = VecDeque::new();
        for class in 0..stride {
            let child = children[0][class];
            if child != u32::MAX {
                delta[0][class] = child;
                queue.push_back(child as usize);
            }
        }
        while let Some(node) = queue.pop_front() {
            let inherited = ends[fail[node] as usize].clone();
            ends[node].extend(inherited);
            for class in 0..stride {
                let child = children[node][class];
                if child == u32::MAX {
                    delta[node][class] = delta[fail[node] as usize][class];
                } else {
                    fail[child as usize] = delta[fail[node] as usize][class];
                    delta[node][class] = child;
                    queue.push_back(child as usize);
                }
            }
        }

        // Renumber: non-match states first (the root stays 0), then match states from the
        // next power of two on, so that "is any lane's state a match" is one test of the
        // lanes' states or-ed together. The rows in the gap are never read; the table is
        // zeroed lazily, so their pages are never touched either.
        let mut order: Vec<usize> = (0..nodes).filter(|&n| ends[n].is_empty()).collect();
        let non_match = order.len();
        order.extend((0..nodes).filter(|&n| !ends[n].is_empty()));
        let first_match = (non_match * stride).next_power_of_two();
        let place = |new: usize| {
            if new < non_match {
                new * stride
            } else {
                first_match + (new - non_match) * stride
            }
        };
        let mut renamed = vec![0u32; nodes];
        for (new, &old) in order.iter().enumerate() {
            renamed[old] = place(new) as u32;
        }
        let mut table = vec![0u32; first_match + (nodes - non_match) * stride];
        let mut outputs = Vec::with_capacity(nodes - non_match);
        for (new, &old) in order.iter().enumerate() {
            let row = &mut table[place(new)..place(new) + stride];
            for (entry, &next) in row.iter_mut().zip(&delta[old]) {
                *entry = renamed[next as usize];
            }
            if new >= non_match {
                outputs.push(std::mem::take(&mut ends[old]));
            }
        }
        let lengths: Vec<usize> = lowered.iter().map(Vec::len).collect();
        let confirm = lowered
            .iter()
            .map(|k| (!k.is_ascii()).then(|| k.clone()))
            .collect();
        KeywordScanner {
            classes,
            table,
            stride: stride as u32,
            first_match: first_match as u32,
            outputs,
            longest: lengths.iter().copied().max().unwrap_or(0),
            lengths,
            confirm,
        }
    }

    /// The longest keyword's length in bytes.
    pub(crate) fn longest(&self) -> usize {
        self.longest
    }

    /// Every occurrence of every keyword in `text`, sorted by start.
    pub(crate) fn find_all(&self, text: &[u8]) -> Vec<Hit> {
        let mut hits = Vec::new();
        if text.len() < SPLIT_AT || self.longest == 0 {
            self.scan_one(text, &mut hits);
        } else {
            self.scan_lanes::<LANES>(text, &mut hits);
        }
        hits.sort_unstable();
        hits
    }

    /// Scans `text` in one walk from the root.
    fn scan_one(&self, text: &[u8], hits: &mut Vec<Hit>) {
        let mut state = 0u32;
        for (i, &b) in text.iter().enumerate() {
            state = self.table[(state + u32::from(self.classes[usize::from(b)])) as usize];
            if state >= self.first_match {
                self.report(text, state, i + 1, hits);
            }
        }
    }

    /// `N` slices of the text walked in lock step; each starts early enough to see a
    /// keyword that straddles its cut.
    fn scan_lanes<const N: usize>(&self, text: &[u8], hits: &mut Vec<Hit>) {
        let back = self.longest - 1;
        let part = text.len() / N;
        let cut = |k: usize| if k == N { text.len() } else { k * part };
        let starts: [usize; N] = std::array::from_fn(|k| cut(k).saturating_sub(back));
        // Each lane runs from its start to its slice's end; the common length is walked in
        // lock step, the rest of each lane alone.
        let ends: [usize; N] = std::array::from_fn(|k| cut(k + 1));
        let common = (0..N).map(|k| ends[k] - starts[k]).min().unwrap_or(0);
        let step = |state: u32, byte: u8| {
            self.table[(state + u32::from(self.classes[usize::from(byte)])) as usize]
        };
        let mut state = [0u32; N];
        let lanes: [&[u8]; N] = std::array::from_fn(|k| &text[starts[k]..starts[k] + common]);
        for i in 0..common {
            for (s, lane) in state.iter_mut().zip(&lanes) {
                *s = step(*s, lane[i]);
            }
            if state.iter().fold(0, |any, &s| any | s) >= self.first_match {
                for (k, &s) in state.iter().enumerate() {
                    let end = starts[k] + i + 1;
                    if s >= self.first_match && end > cut(k) {
                        self.report(text, s, end, hits);
                    }
                }
            }
        }
        for (k, &s) in state.iter().enumerate() {
            let mut s = s;
            let from = starts[k] + common;
            for (at, &byte) in (from..).zip(&text[from..ends[k]]) {
                s = step(s, byte);
                if s >= self.first_match && at + 1 > cut(k) {
                    self.report(text, s, at + 1, hits);
                }
            }
        }
    }

    fn report(&self, text: &[u8], state: u32, end: usize, hits: &mut Vec<Hit>) {
        let index = ((state - self.first_match) / self.stride) as usize;
        for &keyword in &self.outputs[index] {
            let keyword = keyword as usize;
            let start = end - self.lengths[keyword];
            if let Some(bytes) = &self.confirm[keyword] {
                if !text[start..end].eq_ignore_ascii_case(bytes) {
                    continue;
                }
            }
            hits.push(Hit {
                start,
                end,
                keyword,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn expected(keywords: &[String], text: &[u8]) -> Vec<Hit> {
        let ac = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(keywords)
            .unwrap();
        let mut hits: Vec<Hit> = ac
            .find_overlapping_iter(text)
            .map(|m| Hit {
                start: m.start(),
                end: m.end(),
                keyword: m.pattern().as_usize(),
            })
            .collect();
        hits.sort_unstable();
        hits
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn finds_overlapping_and_nested_keywords_in_any_case() {
        let keywords = words(&["pass", "password", "word", "sk-", "ab", "b"]);
        let text = b"my PassWord is sk-ab; abab";
        assert_eq!(
            KeywordScanner::new(&keywords).find_all(text),
            expected(&keywords, text)
        );
    }

    #[test]
    fn keywords_across_the_cuts_are_found_once() {
        let keywords = words(&["token", "api_key", "x"]);
        // Long enough to be cut in four; keywords at every offset around the cuts.
        let mut text = Vec::new();
        while text.len() < 4000 {
            text.extend_from_slice(b"..token.api_KEY..x");
            text.push(b' ' + (text.len() % 7) as u8);
        }
        for len in [512, 513, 999, 1000, 1001, 2048, text.len()] {
            let text = &text[..len];
            assert_eq!(
                KeywordScanner::new(&keywords).find_all(text),
                expected(&keywords, text),
                "length {len}"
            );
        }
    }

    proptest! {
        #[test]
        fn agrees_with_aho_corasick(
            keywords in proptest::collection::btree_set("[a-cA-C_-]{1,6}", 1..20),
            text in proptest::collection::vec(
                prop_oneof![Just(b'a'), Just(b'B'), Just(b'c'), Just(b'_'), Just(b'-'), Just(b'z')],
                0..3000,
            ),
        ) {
            let mut lowered: Vec<String> = keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
            lowered.sort();
            lowered.dedup();
            prop_assert_eq!(
                KeywordScanner::new(&lowered).find_all(&text),
                expected(&lowered, &text)
            );
        }

        /// Keywords in other scripts share one byte class past ASCII: text full of other
        /// letters of the same byte length must not pass for them.
        #[test]
        fn agrees_with_aho_corasick_past_ascii(
            keywords in proptest::collection::btree_set("[aBñéпд-]{1,4}", 1..12),
            text in proptest::collection::vec(
                prop_oneof![Just("a"), Just("b"), Just("ñ"), Just("é"), Just("п"), Just("д"), Just("ж"), Just("-")],
                0..1500,
            ),
        ) {
            let mut lowered: Vec<String> = keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
            lowered.sort();
            lowered.dedup();
            let text = text.concat().into_bytes();
            prop_assert_eq!(
                KeywordScanner::new(&lowered).find_all(&text),
                expected(&lowered, &text)
            );
        }
    }
}
