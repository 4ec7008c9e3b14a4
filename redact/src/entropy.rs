//! The entropy layer: high-randomness tokens that no rule claims.
//!
//! A token is a run of `A-Z a-z 0-9 + _ -` (with up to two trailing `=`) in the unescaped
//! view. It is flagged when its Shannon entropy reaches what random strings of its length and
//! alphabet reach 99 times in 100 (hex and the wider alphabets have their own tables), lower
//! near a context word (`key`, `secret`, `token`, `password`, `auth`, ...). It never fires on:
//! tokens that are all digits or all letters, UUIDs, hex digests after a hash word (`sha256`,
//! `integrity`, `commit`, ...), base64 digests of a digest's exact length after their
//! algorithm's name (lockfiles' `sha512-...`, `go.sum`'s `h1:...`, a wheel's `sha256=...`),
//! mangled C++ symbols (`_ZNKSt5ctypeIwE8do_widenEPKcS2_Pw`), names in code (a path or a call
//! after them, a declaration keyword before: `XSalsa20Poly1305::new`), placeholder-looking values
//! (`xxxx`, `****`, `EXAMPLE`), provider object ids (`toolu_`, `call_`, `msg_`, Stripe's
//! `cus_`, ...), values of JSON keys that hold ids, cursors, entity tags, signatures or media
//! (`id`, `*_id`, `next_cursor`, `etag`, `signature`, `encrypted_content`, `data`), base64 after `base64,` (data URLs), or tokens longer than
//! [`MAX_TOKEN`] (media and ciphertext, which the registry still scans).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem::Finder;
use std::sync::LazyLock;

use crate::runs::{Class, Masks};

/// Shorter tokens are never flagged: too few characters to tell random from words.
const MIN_TOKEN: usize = 16;
/// Without a context word, tokens must be at least this long.
const MIN_TOKEN_NO_CONTEXT: usize = 20;
/// Without a context word, hex must be this long: shorter hex is ids and hashes.
const MIN_HEX_NO_CONTEXT: usize = 32;
/// A token must have a run this long without `_` or `-`.
const MIN_RUN: usize = 12;
/// Longer tokens are media or ciphertext, not credentials.
pub(crate) const MAX_TOKEN: usize = 1024;
/// How far before a token a context word counts.
const CONTEXT_WINDOW: usize = 40;

/// The token's alphabet, which sets its threshold and names its placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alphabet {
    Hex,
    Mixed,
}

impl Alphabet {
    pub(crate) fn rule_id(self) -> &'static str {
        match self {
            Alphabet::Hex => "entropy.hex",
            Alphabet::Mixed => "entropy.token",
        }
    }
}

/// The first percentile of the entropy of random strings, by length: hex, then 62-64
/// character alphabets. Measured on 2,000 random strings per length.
const P1_HEX: [(usize, f64); 6] = [
    (16, 2.70),
    (20, 2.90),
    (24, 3.07),
    (32, 3.26),
    (40, 3.40),
    (64, 3.63),
];
const P1_MIXED: [(usize, f64); 6] = [
    (16, 3.33),
    (20, 3.65),
    (24, 3.89),
    (32, 4.20),
    (40, 4.47),
    (64, 4.89),
];

/// The same for letters of one case and digits (36 characters): `k8x2q...`, `K8X2Q...`.
/// Their entropy tops out lower, so the mixed-case table missed one in four of them.
const P1_ONE_CASE: [(usize, f64); 6] = [
    (16, 3.15),
    (20, 3.41),
    (24, 3.61),
    (32, 3.91),
    (40, 4.11),
    (64, 4.46),
];

fn threshold(alphabet: Alphabet, judged: &[u8], context: bool) -> f64 {
    // Not for names joined by `_` or `-` (`AV_386_2_AVX512VPOPCDQ`): constants are one case.
    let one_case = || {
        let shape = Shape::of(judged);
        !shape.separated && !shape.mixed_case
    };
    let table = match alphabet {
        Alphabet::Hex => &P1_HEX,
        Alphabet::Mixed if one_case() => &P1_ONE_CASE,
        Alphabet::Mixed => &P1_MIXED,
    };
    let len = judged.len();
    let base = interpolate(table, len);
    // Near a context word, accept the lower tail of random strings too.
    if context {
        base - 0.25
    } else {
        base
    }
}

fn interpolate(table: &[(usize, f64)], len: usize) -> f64 {
    let (first, last) = (table[0], table[table.len() - 1]);
    if len <= first.0 {
        return first.1;
    }
    if len >= last.0 {
        // Past the table, entropy keeps growing slowly; stay at the last value (conservative).
        return last.1;
    }
    for pair in table.windows(2) {
        let ((l0, h0), (l1, h1)) = (pair[0], pair[1]);
        if len <= l1 {
            return h0 + (h1 - h0) * (len - l0) as f64 / (l1 - l0) as f64;
        }
    }
    last.1
}

/// Words that make a nearby token more likely a credential.
const CONTEXT_WORDS: &[&str] = &[
    "key",
    "secret",
    "token",
    "passw",
    "pwd",
    "auth",
    "credential",
    "bearer",
    "private",
    "access",
    "session",
    "cookie",
    "signing",
];
/// Words after which a hex token is a digest, not a secret.
const HASH_WORDS: &[&str] = &[
    "sha1",
    "sha-1",
    "sha256",
    "sha-256",
    "sha384",
    "sha512",
    "sha-512",
    "md5",
    "integrity",
    "commit",
    "checksum",
    "digest",
    "hash",
    "etag",
    "revision",
    "rev ",
    "blake",
    "fingerprint",
    "object",
    "tree ",
    "parent ",
    // Git hosts' URLs name a commit in the path: /blob/<sha>/, /tree/<sha>, /raw/<sha>/.
    "/blob/",
    "/tree/",
    "/raw/",
    "oid",
    "trace",
    "span",
    "request",
    "correlation",
    "uuid",
    "guid",
    "nonce",
    "salt",
    "build",
    "image",
    "container",
    "layer",
];
/// Provider object ids: random, public, everywhere in agent traffic.
const ID_PREFIXES: &[&str] = &[
    // age recipients are public keys (the identity is `AGE-SECRET-KEY-1...`, a rule's).
    "age1",
    "toolu_",
    "srvtoolu_",
    "call_",
    "msg_",
    "resp_",
    "rs_",
    "fc_",
    "chatcmpl-",
    "req_",
    "file-",
    "file_",
    "asst_",
    "thread_",
    "run_",
    "step_",
    "batch_",
    "evt_",
    "ws_",
    "ctc_",
    "mcp_",
    // Stripe objects: cards, invoices, prices, products, subscriptions, payments, charges,
    // accounts (not `tok_`, a card's one-time token, or `re_`, a Resend key's prefix).
    "card_",
    "in_",
    "ii_",
    "pi_",
    "pm_",
    "py_",
    "ch_",
    "cus_",
    "sub_",
    "si_",
    "prod_",
    "price_",
    "txn_",
    "seti_",
    "src_",
    "acct_",
    "po_",
    "tr_",
];
/// JSON keys whose values are ids, signatures or media, never credentials.
const SKIPPED_KEYS: &[&str] = &["signature", "encrypted_content", "data", "b64_json"];

/// The automata for context and hash words, built once per engine.
#[derive(Clone)]
pub(crate) struct Entropy {
    context: AhoCorasick,
    hash: AhoCorasick,
}

impl Entropy {
    pub(crate) fn new() -> Result<Self, crate::BuildError> {
        let build = |words: &[&str], what: &'static str| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostFirst)
                .build(words)
                .map_err(|e| crate::BuildError::Automaton {
                    what,
                    message: e.to_string(),
                })
        };
        Ok(Entropy {
            context: build(CONTEXT_WORDS, "entropy context")?,
            hash: build(HASH_WORDS, "entropy hash-word")?,
        })
    }

    /// Calls `found(start, end, alphabet)` for every flagged token of `text`, whose class
    /// masks are `masks` (made with `opaque` skipped).
    pub(crate) fn scan(
        &self,
        text: &[u8],
        opaque: &[std::ops::Range<usize>],
        masks: &Masks,
        mut found: impl FnMut(usize, usize, Alphabet),
    ) {
        // Media runs, and certificates and public keys (random-looking by nature and not
        // secret), in order: tokens starting inside them are skipped.
        let mut skipped: Vec<std::ops::Range<usize>> =
            opaque.iter().cloned().chain(public_blocks(text)).collect();
        skipped.sort_by_key(|r| r.start);
        // Merged, so that the gaps between them are what is scanned.
        let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(skipped.len());
        for range in skipped {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        let mut gap_start = 0;
        for gap in merged
            .iter()
            .map(|r| r.start..r.end)
            .chain(std::iter::once(text.len()..text.len()))
        {
            let segment = gap_start.min(gap.start)..gap.start;
            gap_start = gap.end;
            // Only runs long enough to make a token of MIN_TOKEN bytes with its padding can
            // matter; finding them a block at a time keeps the scan free of per-byte
            // branches. Skipped ranges (media, certificates) are not read at all.
            for run in masks.long_runs(segment.clone(), MIN_TOKEN - 2, Class::Token) {
                let (start, run_end) = (run.start, run.end);
                let padding = text[run_end..]
                    .iter()
                    .take(2)
                    .take_while(|&&b| b == b'=')
                    .count();
                let end = run_end + padding;
                if end - start >= MIN_TOKEN {
                    if let Some(alphabet) = self.judge(text, start, end) {
                        found(start, end, alphabet);
                    }
                }
            }
            self.slash_joined(text, segment, &mut found);
        }
    }

    /// Base64 with `/` in it (`wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`, half of all AWS
    /// secret keys): the slashes cut it into runs too short to judge alone, or judged one by
    /// one and replaced in part. The run joined across its slashes is judged whole, unless
    /// it reads as a path (it starts or ends with a slash, sits in a URL or a file name, is
    /// of one case, or reads as words).
    fn slash_joined(
        &self,
        text: &[u8],
        segment: std::ops::Range<usize>,
        found: &mut impl FnMut(usize, usize, Alphabet),
    ) {
        let mut next = segment.start;
        for slash in memchr::memchr_iter(b'/', &text[segment.clone()]) {
            let slash = segment.start + slash;
            // Most slashes are in URLs and paths: a neighbour that is not base64, or is a
            // slash, ends the look at once.
            let joins = |at: Option<usize>| {
                at.and_then(|i| text.get(i))
                    .is_some_and(|&b| b != b'/' && base64_byte(b))
            };
            if slash < next
                || slash == segment.start
                || !joins(slash.checked_sub(1))
                || !joins(Some(slash + 1))
            {
                continue;
            }
            let start = slash
                - text[segment.start..slash]
                    .iter()
                    .rev()
                    .take_while(|&&b| base64_byte(b))
                    .count();
            let run_end = slash
                + text[slash..segment.end]
                    .iter()
                    .take_while(|&&b| base64_byte(b))
                    .count();
            next = run_end;
            let end = run_end
                + text[run_end..segment.end]
                    .iter()
                    .take(2)
                    .take_while(|&&b| b == b'=')
                    .count();
            let run = &text[start..run_end];
            let before = start.checked_sub(1).map(|i| text[i]);
            let after = text.get(end).copied();
            // A path or URL: `/usr/lib`, `dir/`, `host.com/x`, `scheme:x/y`, `x/y.rs`.
            if !(MIN_TOKEN..=MAX_TOKEN).contains(&(end - start))
                || run.first() == Some(&b'/')
                || run.last() == Some(&b'/')
                || before.is_some_and(|b| b".:~@\\-_".contains(&b))
                || after.is_some_and(|b| b".-_\\".contains(&b))
            {
                continue;
            }
            // Random base64 has a slash in 64 bytes, mixes cases and holds digits.
            let (mut slashes, mut digits, mut upper, mut lower) = (0, 0, 0, 0);
            for &b in run {
                match b {
                    b'/' => slashes += 1,
                    b'0'..=b'9' => digits += 1,
                    b'A'..=b'Z' => upper += 1,
                    b'a'..=b'z' => lower += 1,
                    _ => {}
                }
            }
            if slashes * 8 > run.len() || digits == 0 || upper < 2 || lower < 2 {
                continue;
            }
            // Cheapest tests first: most runs that get here are paths of words.
            if looks_like_words(run) || looks_like_sequence(run) || looks_like_placeholder(run) {
                continue;
            }
            let context = self.context_before(text, start);
            if !random_enough(run, Alphabet::Mixed, context)
                || in_ssh_key(text, start)
                || self
                    .hash
                    .is_match(&text[start.saturating_sub(CONTEXT_WINDOW)..start])
                || holds_ids_or_media(text, start)
                || in_public_slot(text, start)
                || in_named_digest(text, start)
            {
                continue;
            }
            found(start, end, Alphabet::Mixed);
        }
    }

    /// Whether a context word stands in the [`CONTEXT_WINDOW`] bytes before `start`.
    fn context_before(&self, text: &[u8], start: usize) -> bool {
        let window_start = start.saturating_sub(CONTEXT_WINDOW);
        // Our own placeholders name rules (`SECRET_REF(slack.token.…)`): a context word inside
        // one says nothing about the next token, and counting it would make redaction depend
        // on what was already replaced (and so not idempotent).
        self.context
            .find_iter(&text[window_start..start])
            .any(|m| !inside_placeholder(text, window_start + m.start()))
    }

    fn judge(&self, text: &[u8], start: usize, end: usize) -> Option<Alphabet> {
        let token = &text[start..end];
        let len = token.len();
        if !(MIN_TOKEN..=MAX_TOKEN).contains(&len) {
            return None;
        }
        let core = token
            .strip_suffix(b"==")
            .or_else(|| token.strip_suffix(b"="))
            .unwrap_or(token);
        // Words joined by `_` or `-` (`windows_aarch64_gnullvm`) are names; random tokens
        // that happen to contain those characters still have long unbroken runs. Among runs
        // of the longest length, a hex one is preferred: a hex run behind a name
        // (`libc-94d2f48bd38a8056`, build and image ids) is judged as hex on its own.
        let runs = || core.split(|&b| b == b'_' || b == b'-');
        let longest_len = runs().map(<[u8]>::len).max().unwrap_or(0);
        if longest_len < MIN_RUN {
            return None;
        }
        let longest = runs()
            .filter(|run| run.len() == longest_len)
            .find(|run| is_hex(run))
            .or_else(|| runs().find(|run| run.len() == longest_len))
            .unwrap_or(core);
        let digits = core.iter().filter(|b| b.is_ascii_digit()).count();
        let letters = core.iter().filter(|b| b.is_ascii_alphabetic()).count();
        // One letter among digits is a number (`988465674311582e+307`), not a token.
        if letters < 2 {
            return None;
        }
        // Letters alone are names (`getElementById`, `PRODUCTION`), except both cases after
        // a context word, not read as words: one random token of 27 base64 characters in
        // 100 has no digit (`BROWSERBASE_KEY=bb_live_FgBEwavpz...`). Words cover nearly all
        // of a name's letters (`CryptMsgDllCNGExportKeyAgree`: all) and 60 % of random
        // letters' (median; 84 % at the 95th percentile). The context is looked for after
        // these tests: most such tokens are names, and the search costs more.
        if digits == 0
            && !(core.len() >= MIN_TOKEN_NO_CONTEXT
                && Shape::of(longest).mixed_case
                && word_coverage(longest) < 0.8)
        {
            return None;
        }
        let context = self.context_before(text, start);
        if digits == 0 && !context {
            return None;
        }
        let (alphabet, judged) = if is_hex(longest) {
            (Alphabet::Hex, longest)
        } else {
            (Alphabet::Mixed, core)
        };
        let before = &text[start.saturating_sub(CONTEXT_WINDOW)..start];
        if !random_enough(judged, alphabet, context) {
            return None;
        }
        // The bigram test reads letters as English; a hex run's letters are a-f only, whose
        // pairs are a third common bigrams (`ab`, `de`, `ec`, ...), so random hex would "read
        // as words" one time in five. A hex run is judged by its entropy and length alone.
        if alphabet == Alphabet::Mixed && (looks_like_words(core) || looks_like_words(longest))
            || looks_like_sequence(core)
        {
            return None;
        }
        // Without a context word, SHA-1 and SHA-256 lengths, and hex in a URL path, are
        // digests and commit ids far more often than credentials.
        if alphabet == Alphabet::Hex
            && !context
            && (matches!(judged.len(), 40 | 64) || before.ends_with(b"/"))
        {
            return None;
        }
        // A commit pinned after `@` (`uses: actions/checkout@<sha>`, `pkg@<sha>`), even with
        // a context word on the line before.
        if alphabet == Alphabet::Hex && judged.len() == 40 && before.ends_with(b"@") {
            return None;
        }
        if looks_like_placeholder(core)
            || is_uuid(token)
            || ID_PREFIXES.iter().any(|p| token.starts_with(p.as_bytes()))
                // A Stripe client secret is its object's id, `_secret_` and the secret.
                && !token.windows(8).any(|w| w == b"_secret_")
        {
            return None;
        }
        if token.starts_with(b"sha") && token.iter().take(8).any(|&b| b == b'-') {
            return None; // Subresource integrity: sha512-<base64>.
        }
        if alphabet == Alphabet::Hex && self.hash.is_match(before) {
            return None;
        }
        // Data URLs, number literals, and SSH public keys.
        if before.ends_with(b"base64,") || token.starts_with(b"0x") || in_ssh_key(text, start) {
            return None;
        }
        if holds_ids_or_media(text, start) || in_public_slot(text, start) {
            return None;
        }
        if alphabet == Alphabet::Mixed
            && (!context && is_mangled_symbol(token)
                || is_code_identifier(text, start, end)
                || in_named_digest(text, start))
        {
            return None;
        }
        Some(alphabet)
    }
}

/// Whether `judged` is long enough, and its entropy high enough, for a random string of its
/// alphabet (the bar is lower after a context word).
fn random_enough(judged: &[u8], alphabet: Alphabet, context: bool) -> bool {
    let min_len = match (alphabet, context) {
        (_, true) => MIN_TOKEN,
        (Alphabet::Hex, false) => MIN_HEX_NO_CONTEXT,
        (Alphabet::Mixed, false) => MIN_TOKEN_NO_CONTEXT,
    };
    judged.len() >= min_len && shannon(judged) >= threshold(alphabet, judged, context)
}

/// The lengths of digests in base64 without padding: MD5; SHA-1; SHA-224; SHA-256, BLAKE2s
/// and BLAKE3; SHA-384; SHA-512 and BLAKE2b.
const DIGEST_BASE64_LENGTHS: [usize; 6] = [22, 27, 38, 43, 64, 86];

/// Hash algorithms as lockfiles, manifests and HTTP headers name them before a digest in
/// base64 (`h1` is the hash of a Go module in `go.sum`), and names of digests.
const DIGEST_NAMES: &[&str] = &[
    "md5",
    "content-md5",
    "sha1",
    "sha-1",
    "sha224",
    "sha-224",
    "sha256",
    "sha-256",
    "sha384",
    "sha-384",
    "sha512",
    "sha-512",
    "sha3-256",
    "sha3-384",
    "sha3-512",
    "blake2b",
    "blake2s",
    "blake3",
    "h1",
    // OAuth PKCE: the SHA-256 of the verifier, which the client sends in the clear.
    "code_challenge",
];

fn is_digest_name(word: &[u8]) -> bool {
    DIGEST_NAMES
        .iter()
        .any(|name| word.eq_ignore_ascii_case(name.as_bytes()))
}

/// Whether the token at `start` lies in a digest written in base64 right after the name of
/// its algorithm: `"integrity": "sha512-<digest>"` (npm, yarn, pnpm, HTML), `h1:<digest>`
/// (`go.sum`), `sha256=<digest>` (a wheel's `RECORD`), `Digest: sha-256=<digest>`,
/// `Content-MD5: <digest>`. A lockfile holds one for every package, random by construction.
///
/// The base64 around the token must be exactly a digest's length (with its padding or none),
/// so a token after a hash word that is not a digest's size is still judged: a secret
/// disguised as a digest would have to be one's exact length and sit after the name.
fn in_named_digest(text: &[u8], start: usize) -> bool {
    // Either base64 alphabet: the run is cut at the name's `=` or `:`, not at its `-`.
    let either_alphabet = |b: &u8| b.is_ascii_alphanumeric() || b"+/_-".contains(b);
    let run_start = start
        - text[..start]
            .iter()
            .rev()
            .take(MAX_TOKEN)
            .take_while(|b| either_alphabet(b))
            .count();
    let run_end = start
        + text[start..]
            .iter()
            .take(MAX_TOKEN)
            .take_while(|b| either_alphabet(b))
            .count();
    let mut run = &text[run_start..run_end];
    // SRI and Nix name the algorithm inside the run: `sha512-<digest>`.
    let named_inside = match run.iter().take(9).position(|&b| b == b'-') {
        Some(dash) if is_digest_name(&run[..dash]) => {
            run = &run[dash + 1..];
            true
        }
        _ => false,
    };
    let padding = text[run_end..]
        .iter()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count();
    if !DIGEST_BASE64_LENGTHS.contains(&run.len())
        || padding != 0 && padding != (4 - run.len() % 4) % 4
    {
        return false;
    }
    named_inside || {
        // `sha256=`, `h1:`, `"sha256": "`, `Content-MD5: `.
        let before = &text[..run_start];
        let separators = before
            .iter()
            .rev()
            .take(4)
            .take_while(|b| b"=:\"' ".contains(b))
            .count();
        let before = &before[..before.len() - separators];
        let name_len = before
            .iter()
            .rev()
            .take(16)
            .take_while(|b| b.is_ascii_alphanumeric() || b"-_".contains(b))
            .count();
        separators > 0 && is_digest_name(&before[before.len() - name_len..])
    }
}

/// Whether the token at `start..end` is a name in code: a path or a call goes on after it
/// (`XSalsa20Poly1305::new(&key)`, `D3DKMTUpdateGpuVirtualAddress(`), or a declaration
/// keyword stands before it (`pub const WHvX64RegisterFpMmx0: i32`, `struct
/// Ed25519SigningKey {`). Code is full of context words (`key`, `token`), which lower the bar
/// for the names around them; a secret is a literal, and never sits there.
fn is_code_identifier(text: &[u8], start: usize, end: usize) -> bool {
    let after = &text[end..text.len().min(end + 2)];
    let before = &text[start.saturating_sub(10)..start];
    after == b"::"
        || after.first() == Some(&b'(')
        || before.ends_with(b"::")
        || [
            &b"fn "[..],
            b"struct ",
            b"enum ",
            b"impl ",
            b"trait ",
            b"const ",
            b"static ",
            b"class ",
            b"def ",
            b"interface ",
        ]
        .iter()
        .any(|keyword| before.ends_with(keyword))
}

/// Whether the token is a C++ (or Rust) symbol as the Itanium ABI mangles it, as linker
/// errors and symbol lists show them (`_ZNKSt5ctypeIwE8do_widenEPKcS2_Pw`): `_Z`, a few
/// letters of qualifiers, then a name written as its length and its bytes, followed by what
/// may follow a name (another name, the end of a nested name, template arguments, a
/// constructor or a type).
fn is_mangled_symbol(token: &[u8]) -> bool {
    let Some(rest) = token
        .strip_prefix(b"__Z")
        .or_else(|| token.strip_prefix(b"_Z"))
    else {
        return false;
    };
    let qualifiers = rest
        .iter()
        .take(8)
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let rest = &rest[qualifiers..];
    let digits = rest
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let len = rest[..digits]
        .iter()
        .fold(0usize, |n, &d| n * 10 + usize::from(d - b'0'));
    let Some(name) = rest.get(digits..digits + len) else {
        return false;
    };
    let next = rest.get(digits + len).copied();
    digits > 0
        && len >= 2
        && (name[0].is_ascii_alphabetic() || name[0] == b'_')
        && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && next.is_none_or(|b| b.is_ascii_digit() || b"CDEIKPRSv".contains(&b))
}

/// Whether the token at `start` is the value of a JSON key that holds ids, cursors, entity
/// tags, signatures or media (`id`, `*_id`, `next_cursor`, `etag`, [`SKIPPED_KEYS`]).
fn holds_ids_or_media(text: &[u8], start: usize) -> bool {
    json_key_before(text, start).is_some_and(|key| {
        let lower = key.to_ascii_lowercase();
        lower.ends_with(b"id")
            // Pagination cursors (`next_cursor`, `endCursor`) and entity tags.
            || lower.ends_with(b"cursor")
            || lower.ends_with(b"etag")
            || SKIPPED_KEYS.iter().any(|k| lower == k.as_bytes())
    })
}

/// The bytes of base64 text apart from its padding: a run of them that holds a `/` is what
/// the slash-joined pass judges, and an SSH public key is one.
fn base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// The spans of PEM blocks that hold public material (certificates, public keys, CSRs).
fn public_blocks(text: &[u8]) -> Vec<std::ops::Range<usize>> {
    pem_blocks(text)
        .into_iter()
        .filter(|(_, armor)| *armor == Armor::Public)
        .map(|(span, _)| span)
        .collect()
}

/// What a PEM block's label says it holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Armor {
    /// A private key (`PRIVATE` in the label).
    Private,
    /// Certificates, public keys, requests: public by nature.
    Public,
}

/// The spans of the PEM blocks in `text`, in order, each from its `-----BEGIN ` to the end of
/// the next `-----END ` (or to the text's end, for a block cut off), with what it holds.
pub(crate) fn pem_blocks(text: &[u8]) -> Vec<(std::ops::Range<usize>, Armor)> {
    // Built once: a searcher costs more to build than a scan of a chat request.
    static BEGIN_AT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(BEGIN));
    static END_AT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(END));
    const BEGIN: &[u8] = b"-----BEGIN ";
    const END: &[u8] = b"-----END ";
    let mut blocks = Vec::new();
    let mut at = 0;
    while let Some(offset) = BEGIN_AT.find(&text[at..]) {
        let start = at + offset;
        let label_end = start
            + BEGIN.len()
            + text[start + BEGIN.len()..]
                .iter()
                .take(40)
                .take_while(|&&b| b != b'-')
                .count();
        let label = &text[start + BEGIN.len()..label_end];
        let end = END_AT
            .find(&text[label_end..])
            .map_or(text.len(), |o| label_end + o + END.len());
        let armor = if label.windows(7).any(|w| w == b"PRIVATE") {
            Armor::Private
        } else {
            Armor::Public
        };
        blocks.push((start..end, armor));
        at = end.max(start + 1);
    }
    blocks
}

/// Whether the token at `start` is part of an SSH public key (`ssh-ed25519 AAAAC3...`),
/// whose slashes cut it into runs: the base64 it sits in starts with `AAAA` after a key type.
/// Asked only of tokens judged random, so a scan for keys costs nothing on other text.
fn in_ssh_key(text: &[u8], start: usize) -> bool {
    // Padding ends a key, so the walk back from inside one never meets it.
    let key_start = start
        - text[start.saturating_sub(8192)..start]
            .iter()
            .rev()
            .take_while(|&&b| base64_byte(b))
            .count();
    text[key_start..].starts_with(b"AAAA")
        && key_start > 0
        && text[key_start - 1] == b' '
        && ssh_key_type_before(&text[..key_start])
}

/// Whether the text before a token ends in an SSH public key type (`ssh-rsa `, ...).
fn ssh_key_type_before(before: &[u8]) -> bool {
    let word_start = before[..before.len() - 1]
        .iter()
        .rposition(|b| b.is_ascii_whitespace() || *b == b'"')
        .map_or(0, |p| p + 1);
    let word = &before[word_start..before.len() - 1];
    word.starts_with(b"ssh-") || word.starts_with(b"ecdsa-sha2-") || word.starts_with(b"sk-ssh-")
}

/// Whether byte `at` of `text` lies inside a `SECRET_REF(...)` handle.
fn inside_placeholder(text: &[u8], at: usize) -> bool {
    const OPEN: &[u8] = b"SECRET_REF(";
    let from = at.saturating_sub(80);
    let to = (at + OPEN.len()).min(text.len());
    // The last handle opening at or before `at` (its own "SECRET" counts as inside).
    let mut window = &text[from..to];
    while let Some(open) = memchr::memmem::rfind(window, OPEN) {
        if from + open <= at {
            return !text[from + open..at].contains(&b')');
        }
        window = &window[..open];
    }
    false
}

/// Hex digits in one case (mixed-case letters are not hex output).
fn is_hex(run: &[u8]) -> bool {
    run.iter().all(u8::is_ascii_hexdigit) && !mixed_case(run)
}

/// Upper- and lower-case letters both.
fn mixed_case(text: &[u8]) -> bool {
    text.iter().any(u8::is_ascii_uppercase) && text.iter().any(u8::is_ascii_lowercase)
}

/// Bits per character.
fn shannon(token: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in token {
        counts[usize::from(b)] += 1;
    }
    let n = token.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The 100 most frequent letter pairs of English prose (measured on crate READMEs): the
/// adjacent letters of names made of words mostly form them, those of random strings rarely
/// (about one pair in seven).
const COMMON_BIGRAMS: &str = "ab ac ad al an ap ar as at ba be bl bu ca ce ch co cr ct de di do ea ec \
    ed el en er es et ex fo ge ha he hi ht ic il im in io is it la ld le li ll lo ly ma me mi mp na \
    nc nd ne ng no ns nt oc of om on or ou pa pe pl pr ps ra re ri ro rs ru se sh si st su ta te \
    th ti to tp tr tt ub un ur us ut ve wi";

/// [`COMMON_BIGRAMS`] as a 26 x 26 table, built at compile time.
const BIGRAM_TABLE: [[bool; 26]; 26] = {
    let mut table = [[false; 26]; 26];
    let text = COMMON_BIGRAMS.as_bytes();
    let mut i = 0;
    while i + 1 < text.len() {
        let (a, b) = (text[i], text[i + 1]);
        if a.is_ascii_lowercase() && b.is_ascii_lowercase() {
            table[(a - b'a') as usize][(b - b'a') as usize] = true;
            i += 2;
        } else {
            i += 1;
        }
    }
    table
};

fn is_common_bigram(a: u8, b: u8) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a.is_ascii_lowercase()
        && b.is_ascii_lowercase()
        && BIGRAM_TABLE[usize::from(a - b'a')][usize::from(b - b'a')]
}

/// Whether the token reads as words (`SplitByUtf8BoundaryIfWindows`, `AT_L1I_CACHEGEOMETRY`):
/// its adjacent letters form common English pairs more often than random strings do 99 times
/// in 100 at that length.
fn looks_like_words(token: &[u8]) -> bool {
    let (mut pairs, mut common) = (0usize, 0usize);
    for w in token.windows(2) {
        if w[0].is_ascii_alphabetic() && w[1].is_ascii_alphabetic() {
            pairs += 1;
            common += usize::from(is_common_bigram(w[0], w[1]));
        }
    }
    if pairs < 4 {
        return false;
    }
    let bigrams = common as f64 / pairs as f64;
    let limit = if token.len() >= 24 { 0.42 } else { 0.5 };
    // camelCase and snake_case names: mostly words, and the pairs still lean English. A
    // token of one case with no separator has no word boundaries to read: every run of
    // three letters would count as a word (`dovowi9n74...`, random, read as 40 % words).
    let shape = Shape::of(token);
    bigrams >= limit
        || ((shape.mixed_case || shape.separated) && word_coverage(token) >= 0.65 && bigrams >= 0.3)
}

/// How a token is written: what tells names (`snake_case`, `camelCase`, `CONSTANTS`) from
/// random strings of one case.
struct Shape {
    /// Upper- and lower-case letters both.
    mixed_case: bool,
    /// Words joined by `_` or `-`. Not a random part behind a prefix (`svc_` and 40 random
    /// lower-case letters and digits): a part of [`RANDOM_PART`] bytes or more whose digits
    /// are more than one in eight is random (a shorter one, of [`SHORT_RANDOM_PART`], needs
    /// more), and the token is read as it would be without the prefix. Long parts of words run
    /// together (`maxfreepagedpoolchunks`, a Windows constant with a version digit) hold few
    /// digits.
    separated: bool,
}

/// How long a part must be to be taken for a random one: longer than words run together with
/// a few digits get (libsodium's scrypt function names, 20 bytes).
const RANDOM_PART: usize = 24;

/// A shorter part is taken for a random one only with digits a quarter of it or more, and
/// letters and digits mixed through it (as often as one byte in four the next is of the other
/// kind): random lower-case letters and digits are expected to hold 28 % digits and to switch
/// 40 % of the time (10 in 36, and 2 × 0.28 × 0.72); names with a version number in them
/// (libsodium's `crypto_pwhash_scryptsalsa208sha256`) switch three times in their 20-byte
/// part.
const SHORT_RANDOM_PART: usize = 16;

impl Shape {
    fn of(token: &[u8]) -> Self {
        let separator = |b: &u8| *b == b'_' || *b == b'-';
        let random_part = |part: &[u8]| {
            let digits = part.iter().filter(|b| b.is_ascii_digit()).count();
            let switches = part
                .windows(2)
                .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
                .count();
            (part.len() >= RANDOM_PART && digits * 8 > part.len())
                || (part.len() >= SHORT_RANDOM_PART
                    && digits * 4 >= part.len()
                    && switches * 4 >= part.len())
        };
        // The case of a random part is the token's: a lower-case prefix (`rpa_`) before 44
        // random capitals and digits does not make the token mixed-case.
        let random = token.split(separator).find(|part| random_part(part));
        Shape {
            mixed_case: mixed_case(random.unwrap_or(token)),
            separated: token.iter().any(separator) && random.is_none(),
        }
    }
}

/// The share of the token covered by letter words of three or more (`Private`, `Key`,
/// `HTTP`), splitting at case changes the way camelCase is read.
fn word_coverage(token: &[u8]) -> f64 {
    let n = token.len();
    let run = |from: usize, test: fn(&u8) -> bool| {
        from + token[from..].iter().take_while(|b| test(b)).count()
    };
    let word = |len: usize| if len >= 3 { len } else { 0 };
    let (mut i, mut covered) = (0, 0);
    while i < n {
        if token[i].is_ascii_uppercase() {
            let upper_end = run(i, u8::is_ascii_uppercase);
            if upper_end < n && token[upper_end].is_ascii_lowercase() {
                // `HTTPRequest`: the acronym, then a word that starts at its last capital.
                covered += word(upper_end - 1 - i);
                let lower_end = run(upper_end, u8::is_ascii_lowercase);
                covered += word(lower_end - (upper_end - 1));
                i = lower_end;
            } else {
                covered += word(upper_end - i);
                i = upper_end;
            }
        } else if token[i].is_ascii_lowercase() {
            let lower_end = run(i, u8::is_ascii_lowercase);
            covered += word(lower_end - i);
            i = lower_end;
        } else {
            i += 1;
        }
    }
    covered as f64 / n.max(1) as f64
}

/// Whether the token is written, not drawn at random: mostly runs of consecutive characters
/// (`abcdef0123456789`), a run of eight (`...-ABCDEFGHIJKL-...`), or letters or digits that
/// count up or down through their alphabet between the others (`a1b2c3d4e5f6...`,
/// `X9y8Z7a6B5c4...`): the example keys of documentation.
pub(crate) fn looks_like_sequence(token: &[u8]) -> bool {
    // One pass, no allocation: this runs on every slash-joined run the entropy layer reads,
    // most of them paths.
    let (mut steps, mut run, mut longest_run) = (0, 0, 0);
    let mut letters = Counting::new(26);
    let mut digits = Counting::new(10);
    for (i, &b) in token.iter().enumerate() {
        if i > 0 && b == token[i - 1].wrapping_add(1) {
            (steps, run) = (steps + 1, run + 1);
            longest_run = longest_run.max(run);
        } else {
            run = 0;
        }
        if b.is_ascii_alphabetic() {
            letters.push(b.to_ascii_lowercase() - b'a');
        } else if b.is_ascii_digit() {
            digits.push(b - b'0');
        }
    }
    steps * 5 >= token.len() * 2 || longest_run >= 7 || letters.counts() || digits.counts()
}

/// Letters (or digits) read in order, and how often one is next to the one before in the
/// alphabet, up or down (`z` next to `a`). Each pair of a random alphabet's letters does so 2
/// times in 26 (digits 2 in 10); counting through the alphabet, three times in four.
struct Counting {
    size: u8,
    previous: Option<u8>,
    seen: usize,
    stepping: usize,
}

impl Counting {
    fn new(size: u8) -> Self {
        Counting {
            size,
            previous: None,
            seen: 0,
            stepping: 0,
        }
    }

    fn push(&mut self, value: u8) {
        if let Some(previous) = self.previous {
            let up = (value + self.size - previous) % self.size;
            self.stepping += usize::from(up == 1 || up == self.size - 1);
        }
        self.previous = Some(value);
        self.seen += 1;
    }

    /// Eight or more, three in four of them next to the one before.
    fn counts(&self) -> bool {
        self.seen >= 8 && self.stepping * 4 >= (self.seen - 1) * 3
    }
}

/// Whether the token at `start` is the value of a name that says it is public
/// (`PublicKey = ...` in a WireGuard config, `"publicKey": "..."`, `VAPID_PUBLIC_KEY=`,
/// `pubkey:`): random by construction and meant to be shared. The name's `key` is a context
/// word, which would otherwise lower the bar for it.
fn in_public_slot(text: &[u8], start: usize) -> bool {
    // Back over what is allowed between a name and its value, one kind at a time.
    let back = |mut i: usize, skip: fn(u8) -> bool| {
        while i > 0 && skip(text[i - 1]) {
            i -= 1;
        }
        i
    };
    let quote = |b: u8| b == b'"' || b == b'\'';
    let blank = |b: u8| b == b' ' || b == b'\t';
    let before_operator = back(back(start, quote), blank);
    let operator = back(before_operator, |b| b == b'=' || b == b':');
    if operator == before_operator || before_operator - operator > 2 {
        return false;
    }
    let name_end = back(back(operator, blank), quote);
    let name_start = back(name_end, |b| {
        b.is_ascii_alphanumeric() || b"_.-".contains(&b)
    })
    .max(name_end.saturating_sub(64));
    let name = text[name_start..name_end].to_ascii_lowercase();
    name.windows(6).any(|w| w == b"public" || w == b"pubkey")
}

fn looks_like_placeholder(token: &[u8]) -> bool {
    let lower = token.to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    has(b"xxxx")
        || has(b"example")
        || has(b"****")
        || has(b"secret_ref")
        || has(b"placeholder")
        || has(b"redacted")
        || has(b"changeme")
}

fn is_uuid(token: &[u8]) -> bool {
    let groups: Vec<&[u8]> = token.split(|&b| b == b'-').collect();
    groups.len() == 5
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.iter().all(u8::is_ascii_hexdigit))
}

/// The key of the JSON member whose string value starts at `start`, if the text there has
/// the shape `"key": "` (whitespace allowed).
fn json_key_before(text: &[u8], start: usize) -> Option<&[u8]> {
    let mut i = start;
    let back = |i: &mut usize| -> Option<u8> {
        *i = i.checked_sub(1)?;
        Some(text[*i])
    };
    if back(&mut i)? != b'"' {
        return None;
    }
    let mut c = back(&mut i)?;
    while c.is_ascii_whitespace() {
        c = back(&mut i)?;
    }
    if c != b':' {
        return None;
    }
    c = back(&mut i)?;
    while c.is_ascii_whitespace() {
        c = back(&mut i)?;
    }
    if c != b'"' {
        return None;
    }
    let key_end = i;
    let lowest = key_end.saturating_sub(64);
    while i > lowest {
        i -= 1;
        if text[i] == b'"' {
            return Some(&text[i + 1..key_end]);
        }
    }
    None
}
