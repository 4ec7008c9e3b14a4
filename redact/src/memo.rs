//! The redactions of the parts of a JSON request body that a conversation sends again.
//!
//! An agent resends its whole context on every turn: the system prompt, every tool's schema
//! and every earlier message, with the new message at the end. This module cuts a body into
//! chunks at the elements of its top-level arrays (messages, tools, input items, system
//! blocks) and remembers what redacting each chunk found, keyed by a keyed hash of its
//! bytes, so that only the chunks not seen before are scanned.
//!
//! It owns the cutting, the memo and its bound, and nothing about what is a secret: a chunk
//! is redacted by the engine like any input, with the bytes before it for context (or, in a
//! body mostly new, its findings are taken from one scan of the whole body). It never
//! keeps a chunk's bytes or a value, only the keyed hash (under a random key made per engine
//! and kept in memory only) and the findings, which hold placeholders. A memo belongs to one
//! engine: a new vault or rule set is a new engine with an empty memo, so a result is never
//! read under other secrets or rules than those that made it.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use crate::{Container, Finding};

/// A chunk is cut no shorter than this (the last one of an array or body may be): the
/// per-call work of a redaction (the view, the scans' set-up) stays small beside the scan.
const CHUNK: usize = 2048;

/// Bodies shorter than this are redacted whole: hashing and cutting would cost more than the
/// scan saves.
pub(crate) const MIN_BODY: usize = 2 * CHUNK;

/// Bytes before a chunk that its redaction reads as context and does not replace: the
/// entropy layer's context words (40 bytes back) and the start of a rule's window stay as
/// they are in the whole body.
const CONTEXT: usize = 96;

/// Chunks remembered: two generations of half this many each (an entry is counted at 128
/// bytes plus its findings, [`Entry::size`]); a chunk read again moves to the young generation, and when the young
/// one fills, the old one is dropped.
const ENTRIES: usize = 8192;

/// And at most about this many bytes of entries: a chunk can hold thousands of findings (a
/// dump of keys), and an agent could send many such.
const BYTES: usize = 8 << 20;

/// Where a body is cut: byte offsets, increasing, after 0.
///
/// A cut is made before each element of a top-level array that is an object or an array
/// (never between the strings of an array: a value spelled out one character to a string
/// must stay whole), once the chunk since the last cut is at least [`CHUNK`] long, and before
/// each top-level member that is itself that long, so that the cuts inside one array do not
/// move when another member (the messages, before the tools) grows. `None` when the body is
/// not a JSON object as far as the cutting reads it: such a body is redacted whole.
pub(crate) fn cuts(body: &[u8]) -> Option<Vec<usize>> {
    let mut cuts = Vec::new();
    let mut last = 0;
    let mut i = skip_ws(body, 0);
    if body.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(body, i + 1);
    if body.get(i) == Some(&b'}') {
        return end_of_body(body, i + 1).then_some(cuts);
    }
    loop {
        let member = i;
        i = skip_string(body, i)?;
        i = skip_ws(body, i);
        if body.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(body, i + 1);
        let value = i;
        // An array's elements are found on the way through it (one pass, not two).
        let (elements, end) = if body.get(value) == Some(&b'[') {
            elements(body, value)?
        } else {
            (Vec::new(), skip_value(body, value)?)
        };
        if end - member >= CHUNK && member > last {
            cuts.push(member);
            last = member;
        }
        for element in elements {
            if element - last >= CHUNK && matches!(body[element], b'{' | b'[') {
                cuts.push(element);
                last = element;
            }
        }
        i = skip_ws(body, end);
        match body.get(i) {
            Some(b',') => i = skip_ws(body, i + 1),
            Some(b'}') => return end_of_body(body, i + 1).then_some(cuts),
            _ => return None,
        }
    }
}

/// The start of each element of the array at `open`, and the offset after the array.
fn elements(body: &[u8], open: usize) -> Option<(Vec<usize>, usize)> {
    let mut starts = Vec::new();
    let mut i = skip_ws(body, open + 1);
    if body.get(i) == Some(&b']') {
        return Some((starts, i + 1));
    }
    loop {
        starts.push(i);
        i = skip_ws(body, skip_value(body, i)?);
        match body.get(i) {
            Some(b',') => i = skip_ws(body, i + 1),
            Some(b']') => return Some((starts, i + 1)),
            _ => return None,
        }
    }
}

fn end_of_body(body: &[u8], i: usize) -> bool {
    skip_ws(body, i) == body.len()
}

fn skip_ws(body: &[u8], mut i: usize) -> usize {
    while body
        .get(i)
        .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        i += 1;
    }
    i
}

/// The offset after the string that starts at `i`.
fn skip_string(body: &[u8], i: usize) -> Option<usize> {
    if body.get(i) != Some(&b'"') {
        return None;
    }
    // Quote to quote: a prompt's strings hold far more escapes (`\n`) than escaped quotes,
    // and a quote after an odd number of backslashes is one of those.
    let mut at = i + 1;
    loop {
        at += memchr::memchr(b'"', body.get(at..)?)?;
        let backslashes = body[i + 1..at]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return Some(at + 1);
        }
        at += 1;
    }
}

/// The offset after the value that starts at `i`.
fn skip_value(body: &[u8], i: usize) -> Option<usize> {
    match *body.get(i)? {
        b'"' => skip_string(body, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut at = i;
            loop {
                match *body.get(at)? {
                    b'"' => {
                        at = skip_string(body, at)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(at + 1);
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
        }
        _ => {
            let len = body[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
                .count();
            (len > 0).then_some(i + len)
        }
    }
}

/// The chunk between two cuts, as redacted: `read` is what the engine reads (the chunk and
/// up to [`CONTEXT`] bytes before it), `own` the part of it whose findings are the chunk's.
pub(crate) struct Chunk {
    pub(crate) read: Range<usize>,
    pub(crate) own: usize,
}

/// The chunks of a body of `len` bytes cut at `cuts`.
pub(crate) fn chunks(body: &[u8], cuts: &[usize]) -> Vec<Chunk> {
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend_from_slice(cuts);
    bounds.push(body.len());
    bounds
        .windows(2)
        .map(|w| {
            let mut from = w[0].saturating_sub(CONTEXT);
            // Start on a character, not inside one.
            while from < w[0] && body[from] & 0xC0 == 0x80 {
                from += 1;
            }
            Chunk {
                read: from..w[1],
                own: w[0] - from,
            }
        })
        .collect()
}

/// What redacting one chunk found, in the coordinates of the bytes it read.
pub(crate) struct Entry {
    pub(crate) findings: Vec<Finding>,
    pub(crate) containers: Vec<Container>,
}

/// A chunk's name in the memo: a keyed hash of the bytes read and the context's length.
pub(crate) type ChunkKey = [u8; 16];

/// Remembered chunk redactions, by [`ChunkKey`].
pub(crate) struct Memo {
    /// `None` when the system could not supply a random key.
    key: Option<ring::aead::LessSafeKey>,
    generations: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    young: HashMap<ChunkKey, Arc<Entry>>,
    old: HashMap<ChunkKey, Arc<Entry>>,
    /// The young generation's size, by [`Entry::size`].
    young_bytes: usize,
}

impl Entry {
    /// About what the entry holds in memory, with its key and map slot.
    fn size(&self) -> usize {
        let findings: usize = self
            .findings
            .iter()
            .map(|f| std::mem::size_of::<Finding>() + f.source.len() + f.placeholder.len())
            .sum();
        128 + findings + self.containers.len() * std::mem::size_of::<Container>()
    }
}

impl Memo {
    /// An empty memo with a fresh key.
    pub(crate) fn new() -> Self {
        use ring::rand::SecureRandom;
        use zeroize::Zeroize;
        // The key must be unknown to whoever chooses the bytes (a known key lets them write a
        // chunk that takes a clean chunk's findings): with no randomness to make one, nothing
        // is remembered and every body is scanned whole.
        let mut bytes = [0u8; 32];
        let key = ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .ok()
            .and_then(|()| ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &bytes).ok())
            .map(ring::aead::LessSafeKey::new);
        bytes.zeroize();
        Memo {
            key,
            generations: Mutex::new(Generations::default()),
        }
    }

    /// The memo key of `bytes` read with `own` bytes of context; `scratch` is working space
    /// (its contents are overwritten).
    ///
    /// This is AES-GCM's tag over the bytes encrypted under a nonce that holds `own`: GHASH,
    /// a polynomial over GF(2^128) evaluated at a secret point (a universal hash), of the
    /// ciphertext and its length, masked with AES of the nonce. What the memo needs is that no
    /// one can choose two inputs with the same key, and for inputs chosen without the AES key
    /// two distinct ones of n blocks collide with probability at most (n + 1) / 2^128 (the
    /// ciphertexts differ by exactly what the inputs differ by). Neither tags nor ciphertexts
    /// are ever shown to anyone, so the fixed nonce (what makes the same bytes get the same
    /// key) gives away nothing. It runs on the CPU's AES and carry-less multiply: with
    /// HMAC-SHA256 in its place a remembered 36 KB request took 23 µs, with it 8.5 µs
    /// (criterion, bench/README.md).
    ///
    /// `None` when there is no key (see [`Memo::new`]) or the bytes are more than AES-GCM
    /// takes: the body is then scanned whole.
    pub(crate) fn key(&self, bytes: &[u8], own: usize, scratch: &mut Vec<u8>) -> Option<ChunkKey> {
        let key = self.key.as_ref()?;
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&(own as u64).to_le_bytes());
        scratch.clear();
        scratch.extend_from_slice(bytes);
        let tag = key
            .seal_in_place_separate_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::empty(),
                scratch,
            )
            .ok()?;
        let mut out = [0u8; 16];
        out.copy_from_slice(tag.as_ref());
        Some(out)
    }

    /// The entries of `keys`, in order, looked up under one lock (a body's chunks are many).
    pub(crate) fn get_all(&self, keys: &[ChunkKey]) -> Vec<Option<Arc<Entry>>> {
        // A poisoned lock only means another request panicked mid-insert; the maps are
        // still whole.
        let mut generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter().map(|key| generations.get(key)).collect()
    }

    pub(crate) fn insert(&self, key: ChunkKey, entry: Arc<Entry>) {
        let mut generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        generations.insert(key, entry);
    }

    /// How many chunks are remembered, and about how many bytes they take.
    #[cfg(test)]
    pub(crate) fn len_and_size(&self) -> (usize, usize) {
        let generations = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        let size =
            |map: &HashMap<ChunkKey, Arc<Entry>>| map.values().map(|e| e.size()).sum::<usize>();
        (
            generations.young.len() + generations.old.len(),
            size(&generations.young) + size(&generations.old),
        )
    }
}

impl Generations {
    /// A chunk read again moves to the young generation.
    fn get(&mut self, key: &ChunkKey) -> Option<Arc<Entry>> {
        if let Some(entry) = self.young.get(key) {
            return Some(entry.clone());
        }
        let entry = self.old.remove(key)?;
        self.insert(*key, entry.clone());
        Some(entry)
    }

    fn insert(&mut self, key: ChunkKey, entry: Arc<Entry>) {
        let size = entry.size();
        if self.young.len() >= ENTRIES / 2 || self.young_bytes + size > BYTES / 2 {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
        // One entry larger than a generation is not kept at all.
        if size <= BYTES / 2 {
            self.young_bytes += size;
            self.young.insert(key, entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_with(messages: usize, each: usize) -> Vec<u8> {
        let text = "x".repeat(each);
        let list: Vec<String> = (0..messages)
            .map(|i| format!("{{\"role\":\"user\",\"content\":\"{i} {text}\"}}"))
            .collect();
        format!(
            "{{\"model\":\"m\", \"messages\": [ {} ], \"stream\":true}}",
            list.join(", ")
        )
        .into_bytes()
    }

    #[test]
    fn cuts_fall_before_elements_at_least_a_chunk_apart() {
        let body = body_with(40, 300);
        let cuts = cuts(&body).unwrap();
        assert!(!cuts.is_empty());
        // Before the messages member (long enough to be cut before), then before messages.
        assert_eq!(&body[cuts[0]..cuts[0] + 10], b"\"messages\"");
        for pair in cuts.windows(2) {
            assert_eq!(body[pair[1]], b'{');
            assert!(body[..pair[1]].trim_ascii_end().ends_with(b","));
            assert!(pair[1] - pair[0] >= CHUNK);
        }
    }

    #[test]
    fn a_new_message_moves_no_earlier_cut() {
        let before = body_with(40, 300);
        let after = body_with(41, 300);
        let (a, b) = (cuts(&before).unwrap(), cuts(&after).unwrap());
        assert_eq!(a[..], b[..a.len()]);
    }

    #[test]
    fn what_is_not_an_object_is_not_cut() {
        for body in [
            &b"[1,2]"[..],
            b"{\"a\": 1",
            b"{\"a\": 1} x",
            b"{\"a\" 1}",
            b"{\"a\": [1, }",
            b"{\"a\": \"unterminated",
            b"",
        ] {
            assert!(cuts(body).is_none(), "{:?}", String::from_utf8_lossy(body));
        }
        assert_eq!(cuts(b" { } "), Some(Vec::new()));
    }

    #[test]
    fn strings_in_an_array_are_never_cut_apart() {
        let letters: Vec<String> = (0..3000).map(|i| format!("\"{}\"", i % 10)).collect();
        let body = format!("{{\"input\": [{}]}}", letters.join(", "));
        // Only before the member, which is long enough to be a chunk of its own.
        assert_eq!(cuts(body.as_bytes()), Some(vec![1]));
    }

    #[test]
    fn a_chunk_reads_context_from_a_character_boundary() {
        // Cuts at odd offsets: 96 bytes back is the second byte of an `é`.
        let body = "é".repeat(3000).into_bytes();
        for chunk in chunks(&body, &[2001, 4001]) {
            assert!(std::str::from_utf8(&body[chunk.read.start..]).is_ok());
            assert!(chunk.own <= CONTEXT);
        }
    }

    fn key_of(memo: &Memo, bytes: &[u8], own: usize) -> ChunkKey {
        memo.key(bytes, own, &mut Vec::new())
            .expect("a short input has a key")
    }

    #[test]
    fn a_key_names_the_bytes_their_context_and_the_memo() {
        let memo = Memo::new();
        let body = b"{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
        assert_eq!(key_of(&memo, body, 0), key_of(&memo, body, 0));
        // The same bytes with another context length, one byte changed, a byte added (a
        // zero, which the padding to whole blocks would hide if the length were not hashed).
        assert_ne!(key_of(&memo, body, 0), key_of(&memo, body, 1));
        let mut changed = body.to_vec();
        changed[20] ^= 1;
        assert_ne!(key_of(&memo, body, 0), key_of(&memo, &changed, 0));
        let mut longer = body.to_vec();
        longer.push(0);
        assert_ne!(key_of(&memo, body, 0), key_of(&memo, &longer, 0));
        assert_ne!(key_of(&memo, b"", 0), key_of(&memo, &[0], 0));
        // The scratch space's earlier contents do not matter.
        let mut scratch = b"left over from a longer chunk".repeat(10);
        assert_eq!(
            memo.key(body, 0, &mut scratch),
            Some(key_of(&memo, body, 0))
        );
        // Each memo has its own key: a key seen in one says nothing in another.
        assert_ne!(key_of(&memo, body, 0), key_of(&Memo::new(), body, 0));
    }

    #[test]
    fn the_memo_is_bounded() {
        let memo = Memo::new();
        for i in 0..(3 * ENTRIES) {
            let key = key_of(&memo, &i.to_le_bytes(), 0);
            memo.insert(
                key,
                Arc::new(Entry {
                    findings: Vec::new(),
                    containers: Vec::new(),
                }),
            );
        }
        assert!(memo.len_and_size().0 <= ENTRIES);
        let key = key_of(&memo, &(3 * ENTRIES - 1).to_le_bytes(), 0);
        assert!(memo.get_all(&[key])[0].is_some());
    }

    #[test]
    fn chunks_full_of_findings_are_bounded_by_size() {
        let memo = Memo::new();
        let finding = |i: usize| Finding {
            layer: crate::Layer::Regex,
            source: "generic.quoted_assignment".to_owned(),
            span: i..i + 8,
            placeholder: "SECRET_REF(generic.quoted_assignment.0123abcd)".to_owned(),
        };
        for i in 0..200 {
            let findings = (0..2000).map(finding).collect();
            let key = key_of(&memo, &(i as u64).to_le_bytes(), 0);
            memo.insert(
                key,
                Arc::new(Entry {
                    findings,
                    containers: Vec::new(),
                }),
            );
        }
        let (count, size) = memo.len_and_size();
        assert!(size <= BYTES, "{size} bytes in {count} entries");
        assert!(count > 0);
    }
}
