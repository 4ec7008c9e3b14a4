//! airlock's redaction engine.
//!
//! This crate owns finding secrets in bytes and replacing them with `SECRET_REF(...)`
//! placeholders. It is pure: no I/O, no sockets, no files, no async, no logging, and it never
//! puts a matched value into an error, a `Debug` string or a finding. Callers hand it bytes and
//! get back bytes plus findings (layer, rule or secret name, span, placeholder).
//!
//! # Brief overview
//! - [`Redactor`] is built once with [`Redactor::builder`] from the registry secrets (known
//!   values, from the vault), a [`RuleSet`] (token formats, from `rules/redaction.toml`) and a
//!   [`PlaceholderKey`], then shared (`Send + Sync`) and used for every request.
//! - [`Redactor::redact`] runs the layers in order: registry (exact known values, in every
//!   encoded form, and any stretch of 12 bytes or more of a value sent without the rest,
//!   under `SECRET_REF(name.part)`) → regex rules (on JSON string content unescaped, nested
//!   strings too), with the table pass (cells under a header that names a secret) → entropy; base64, hex or
//!   percent-encoding that decodes to text, character references, arrays of byte literals
//!   and hex dumps are read decoded by all three, and a finding there replaces the whole
//!   encoded run. An earlier layer wins an overlap, but every byte
//!   any layer flags is replaced: where a later layer's match reaches past an earlier one, the
//!   rest is replaced too, so no part of a secret survives. A value the rules or entropy
//!   found is replaced wherever else the input holds it (`replace_repeats`), if it looks
//!   made up.
//! - [`Redactor::redact_request`] is the proxy's entry: the same redaction, done in chunks
//!   of a JSON body whose findings the engine remembers, so that the conversation an agent
//!   resends on every turn is scanned once (`memo`).
//! - The result is a [`Redaction`], which only this crate can make: the proxy's upstream
//!   client accepts nothing else, so an unredacted body cannot be forwarded by mistake.
//!
//! Replacements never cut a JSON escape sequence in half, so the output is valid JSON
//! whenever the input was.
//!
//! # Resource usage
//! The registry is a sampled gram index (about 3.8 KB per secret: 37.8 MB for 10,000, with
//! the base32, backwards, recased, spaced and numeric forms, and the index of their parts);
//! [`Redactor::memory_usage`] reports the real heap size. Build once and reuse: building costs
//! far more than a scan.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod checks;
mod concat;
mod containers;
mod dumps;
mod encoded;
mod entropy;
mod error;
mod json_view;
mod keywords;
mod memo;
mod opaque;
mod placeholder;
mod registry;
mod rules;
mod runs;
mod spelled;
mod tables;

use std::borrow::Cow;
use std::ops::Range;

use zeroize::Zeroizing;

pub use checks::Check;
pub use containers::{Container, ContainerKind};
pub use error::BuildError;
pub use placeholder::{is_valid_name, PlaceholderKey};
pub use rules::{ExampleFailure, Rule, RuleSet};

/// Registry values shorter than this are refused: they would match inside ordinary text.
pub const MIN_SECRET_LEN: usize = 8;

/// Found values longer than this are not searched for again elsewhere in the same input
/// (see `replace_repeats`): a secret is rarely longer, and a whole encoded file is not
/// worth expanding into every form.
const REPEAT_MAX_LEN: usize = 1024;

/// How often the regex layer may run again on its own output (see `redact_with`). Each pass
/// replaces new bytes, so the bound only matters for adversarial chains of glued tokens.
const MAX_REGEX_PASSES: usize = 8;

/// Which layer found a secret. Earlier layers win overlaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// An exact known value from the vault.
    Registry,
    /// A token-format rule.
    Regex,
    /// A high-randomness token no rule claimed.
    Entropy,
}

impl Layer {
    /// The layer's name in summaries and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Registry => "registry",
            Layer::Regex => "regex",
            Layer::Entropy => "entropy",
        }
    }
}

/// One replaced span. Never holds the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The layer that found it.
    pub layer: Layer,
    /// The vault name (registry) or rule id (regex).
    pub source: String,
    /// The replaced bytes of the input.
    pub span: Range<usize>,
    /// What replaced them.
    pub placeholder: String,
}

impl Finding {
    /// Whether this is part of a registry secret sent without the rest (its placeholder is
    /// `SECRET_REF(name.part)`), not the whole value.
    pub fn is_part(&self) -> bool {
        self.layer == Layer::Registry && placeholder::is_part(&self.placeholder)
    }
}

/// Redacted bytes and what was replaced. Only [`Redactor::redact`] makes one.
pub struct Redaction<'a> {
    output: Cow<'a, [u8]>,
    findings: Vec<Finding>,
    detected: Vec<Detected>,
    containers: Vec<Container>,
    chunks: Chunks,
}

/// How [`Redactor::redact_request`] read a body: how many of its chunks were scanned and how
/// many were found in the memo. Both zero for a body read whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chunks {
    /// Chunks the layers scanned (and the memo now holds).
    pub scanned: usize,
    /// Chunks whose findings came from the memo, unscanned.
    pub remembered: usize,
}

/// A value the regex or entropy layer found, under its handle: what the caller may remember
/// (in the vault) so that the registry catches it from then on, in every encoding. No
/// `Debug`, no `Clone`; zeroized on drop.
pub struct Detected {
    handle: String,
    value: Zeroizing<Vec<u8>>,
}

/// Whether a replaced value is worth remembering for the registry, which then replaces it
/// everywhere, in any context. A value of letters alone, with at most `_ . : -` or spaces
/// between them, reads as a word or a name (`access_token`, `Whitespace`, `open sesame`): a
/// rule that took one for a value once would have the registry take that word out of every
/// later request. So does a documentation example that counts through the alphabet
/// (`AbCdEf...123456`, `a1b2c3d4...`): a key's slot holding one is replaced, but the example
/// is no one's secret. Such values are still replaced wherever a rule finds them.
pub fn worth_remembering(value: &[u8]) -> bool {
    !value
        .iter()
        .all(|b| b.is_ascii_alphabetic() || b"_.:- ".contains(b))
        && !entropy::looks_like_sequence(value)
}

impl Detected {
    /// The handle: `<rule-id>.<8 hex>`, what the placeholder shows, usable as a vault name.
    pub fn handle(&self) -> &str {
        &self.handle
    }
    /// The value, as the rule read it (JSON escapes decoded).
    pub fn expose(&self) -> &[u8] {
        &self.value
    }
}

impl<'a> Redaction<'a> {
    /// The redacted bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.output
    }
    /// Whether nothing was replaced: the output is the input itself.
    pub fn is_unchanged(&self) -> bool {
        matches!(self.output, Cow::Borrowed(_))
    }
    /// The redacted bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.output.into_owned()
    }
    /// The replaced spans, in input order.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }
    /// How many spans `layer` replaced.
    pub fn count(&self, layer: Layer) -> usize {
        self.findings.iter().filter(|f| f.layer == layer).count()
    }
    /// The values the regex and entropy layers replaced, one per handle, apart from values
    /// of letters alone (see [`worth_remembering`]).
    pub fn detected(&self) -> &[Detected] {
        &self.detected
    }
    /// Documents in the input whose content no layer but the registry could read (a PDF,
    /// an Office file, an archive, sent base64- or hex-encoded), in input order. The
    /// redacted output still holds them as they came: whether they may leave is the caller's
    /// decision.
    pub fn containers(&self) -> &[Container] {
        &self.containers
    }
    /// How the body was read, in chunks or whole (see [`Redactor::redact_request`]).
    pub fn chunks(&self) -> Chunks {
        self.chunks
    }
    /// Takes the detected values out (see [`Redaction::detected`]).
    pub fn take_detected(&mut self) -> Vec<Detected> {
        std::mem::take(&mut self.detected)
    }
}

impl std::fmt::Debug for Redaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The output is redacted, but its size and findings are all a log ever needs.
        f.debug_struct("Redaction")
            .field("len", &self.output.len())
            .field("findings", &self.findings)
            .field("containers", &self.containers)
            .field("chunks", &self.chunks)
            .finish()
    }
}

/// Collects what a [`Redactor`] is built from.
pub struct RedactorBuilder {
    key: PlaceholderKey,
    secrets: Vec<(String, Zeroizing<Vec<u8>>)>,
    rules: RuleSet,
    entropy: bool,
}

impl RedactorBuilder {
    /// Adds a registry secret under its vault name. The value is copied into zeroizing memory.
    pub fn secret(&mut self, name: &str, value: &[u8]) -> &mut Self {
        self.secrets
            .push((name.to_owned(), Zeroizing::new(value.to_vec())));
        self
    }

    /// Sets the regex layer's rules (none by default).
    pub fn rules(&mut self, rules: RuleSet) -> &mut Self {
        self.rules = rules;
        self
    }

    /// Turns the entropy layer on or off (off by default).
    pub fn entropy(&mut self, enabled: bool) -> &mut Self {
        self.entropy = enabled;
        self
    }

    /// Builds the engine.
    ///
    /// # Errors
    /// [`BuildError::InvalidSecretName`] or [`BuildError::SecretTooShort`] for a bad registry
    /// entry, [`BuildError::Automaton`] when the automaton cannot be built.
    pub fn build(self) -> Result<Redactor, BuildError> {
        for (name, value) in &self.secrets {
            if !is_valid_name(name) {
                return Err(BuildError::InvalidSecretName { name: name.clone() });
            }
            if value.len() < MIN_SECRET_LEN {
                return Err(BuildError::SecretTooShort {
                    name: name.clone(),
                    min: MIN_SECRET_LEN,
                });
            }
            if name_in_value(name, value) {
                return Err(BuildError::NameInValue { name: name.clone() });
            }
        }
        Ok(Redactor {
            registry: registry::Registry::build(&self.secrets)?,
            rules: self.rules,
            entropy: if self.entropy {
                Some(entropy::Entropy::new()?)
            } else {
                None
            },
            key: self.key,
            memo: memo::Memo::new(),
        })
    }
}

/// The redaction engine: immutable once built, shared across requests.
pub struct Redactor {
    registry: registry::Registry,
    rules: RuleSet,
    entropy: Option<entropy::Entropy>,
    key: PlaceholderKey,
    /// What [`Redactor::redact_request`] found in chunks of earlier bodies.
    memo: memo::Memo,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("registry_secrets", &self.registry.len())
            .field("rules", &self.rules.rules().len())
            .field("entropy", &self.entropy.is_some())
            .finish_non_exhaustive()
    }
}

/// What the regex or entropy layer found first in a run's text (decoded or spelled out),
/// which the whole run is replaced for.
struct FoundInside {
    layer: Layer,
    rank: u8,
    rule_id: String,
    /// In the run's text.
    span: Range<usize>,
}

/// A span some layer wants replaced, before overlaps are settled.
struct Candidate {
    layer: Layer,
    /// Within a layer, lower ranks win ties: specific rules before generic ones.
    rank: u8,
    start: usize,
    end: usize,
    source: String,
    placeholder: String,
    /// The value as the layer read it, for the regex and entropy layers.
    value: Option<Zeroizing<Vec<u8>>>,
}

impl Candidate {
    /// The vault secret `name` at `start..end`, under its own placeholder.
    fn registry(start: usize, end: usize, name: &str) -> Self {
        Candidate {
            layer: Layer::Registry,
            rank: 0,
            start,
            end,
            source: name.to_owned(),
            placeholder: placeholder::named(name),
            value: None,
        }
    }

    /// A value the regex or entropy layer found, at `start..end`; `value` is what is learned
    /// (of a value replaced in pieces, one piece carries it).
    fn detected(
        (layer, rank, rule_id): (Layer, u8, &str),
        start: usize,
        end: usize,
        placeholder: String,
        value: Option<Zeroizing<Vec<u8>>>,
    ) -> Self {
        Candidate {
            layer,
            rank,
            start,
            end,
            source: rule_id.to_owned(),
            placeholder,
            value,
        }
    }
}

impl Redactor {
    /// Starts a builder; `key` makes the handles of detected values.
    pub fn builder(key: PlaceholderKey) -> RedactorBuilder {
        RedactorBuilder {
            key,
            secrets: Vec::new(),
            rules: RuleSet::empty(),
            entropy: false,
        }
    }

    /// A builder for an engine with this one's rules, entropy setting and key, and no registry
    /// secrets: to rebuild the registry (a vault change, a learned value) without compiling
    /// the rules again.
    pub fn rebuilder(&self) -> RedactorBuilder {
        RedactorBuilder {
            key: self.key.clone(),
            secrets: Vec::new(),
            rules: self.rules.clone(),
            entropy: self.entropy.is_some(),
        }
    }

    /// How many registry secrets the engine holds.
    pub fn registry_len(&self) -> usize {
        self.registry.len()
    }

    /// The rules of the regex layer.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// What a regex-layer finding's source finds, for people: its rule's description, or
    /// that of the table pass (which runs with the rules but is no rule of the file).
    pub fn describe(&self, source: &str) -> Option<&str> {
        if source == tables::RULE_ID {
            return Some(tables::DESCRIPTION);
        }
        self.rules
            .rules()
            .iter()
            .find(|r| r.id() == source)
            .map(|r| r.description())
    }

    /// Heap bytes held by the automata (regexes not included).
    pub fn memory_usage(&self) -> usize {
        self.registry.memory_usage()
    }

    /// Redacts `input`. Borrows it unchanged when nothing is found.
    pub fn redact<'a>(&self, input: &'a [u8]) -> Redaction<'a> {
        self.redact_with(input, false)
    }

    /// Redacts a request body as [`Redactor::redact`] does, remembering what each part of it
    /// held so that the parts sent again are not scanned again.
    ///
    /// An agent resends its context on every turn (system prompt, tool schemas, earlier
    /// messages). A JSON object body of 4 KiB or more is cut before elements of its top-level
    /// arrays into chunks of at least 2 KiB; each chunk is redacted with up to 96 bytes before
    /// it as context, and its findings are remembered under a keyed hash of those bytes
    /// (AES-GCM's tag). A chunk seen before costs the hash, not a scan. A body mostly new (more
    /// than half its bytes in chunks not seen) is scanned whole, once, and what it held is
    /// remembered chunk by chunk: scanning many small chunks costs more than one scan of the
    /// whole. The memo is this engine's own (an engine built from a changed vault or rule set
    /// starts empty) and holds at most 8,192 chunks and about 8 MiB of findings.
    ///
    /// The result is `redact`'s on the same body, except where a rule's match or the
    /// entropy layer's context would reach from one top-level element into another further
    /// than that context; detected values are reported only when their chunk is scanned.
    ///
    /// # Resource usage
    /// An entry is counted at 128 bytes plus its findings; no chunk's bytes are kept.
    pub fn redact_request<'a>(&self, body: &'a [u8]) -> Redaction<'a> {
        if body.len() < memo::MIN_BODY {
            return self.redact(body);
        }
        match memo::cuts(body) {
            Some(cuts) if !cuts.is_empty() => self
                .redact_in_chunks(body, &cuts)
                .unwrap_or_else(|| self.redact(body)),
            _ => self.redact(body),
        }
    }

    /// `None` when a finding reaches across a cut: the body is then redacted whole.
    fn redact_in_chunks<'a>(&self, body: &'a [u8], cuts: &[usize]) -> Option<Redaction<'a>> {
        let pieces = memo::chunks(body, cuts);
        let mut scratch = Vec::new();
        let keys: Vec<memo::ChunkKey> = pieces
            .iter()
            .map(|chunk| {
                self.memo
                    .key(&body[chunk.read.clone()], chunk.own, &mut scratch)
            })
            .collect::<Option<_>>()?;
        let known = self.memo.get_all(&keys);
        let mut chunks = Chunks::default();
        let mut new_bytes = 0;
        for (chunk, entry) in pieces.iter().zip(&known) {
            match entry {
                Some(_) => chunks.remembered += 1,
                None => {
                    chunks.scanned += 1;
                    new_bytes += chunk.read.len() - chunk.own;
                }
            }
        }
        // Mostly new (a conversation's first request): one scan of the whole body costs less
        // than one per chunk, and what it found is remembered chunk by chunk. The chunks
        // already remembered are remembered again as this scan read them: a rule that reaches
        // further back than a chunk's context can find there what a scan of the chunk alone
        // did not (or the reverse), and the same body sent again must come out the same.
        if new_bytes * 2 > body.len() {
            let mut whole = self.redact(body);
            whole.chunks = chunks;
            for (chunk, key) in pieces.iter().zip(keys) {
                self.remember_from_whole(&whole, chunk, key);
            }
            return Some(whole);
        }
        let mut findings = Vec::new();
        let mut containers = Vec::new();
        let mut detected: Vec<Detected> = Vec::new();
        // Remembered only once every chunk is read: a chunk that gives up (a finding across
        // its cut) sends the body to a whole scan, and the chunks read before it must not
        // then answer the next request with what their own scan found (the whole one may
        // differ), or the same body would come out two ways.
        let mut new_entries = Vec::new();
        for ((chunk, key), known) in pieces.iter().zip(keys).zip(known) {
            let bytes = &body[chunk.read.clone()];
            let entry = match known {
                Some(entry) => entry,
                None => {
                    let mut redaction = self.redact(bytes);
                    let own = chunk.own;
                    if redaction
                        .findings
                        .iter()
                        .any(|f| f.span.start < own && f.span.end > own)
                    {
                        return None;
                    }
                    for value in redaction.take_detected() {
                        if !detected.iter().any(|d| d.handle == value.handle) {
                            detected.push(value);
                        }
                    }
                    let entry = std::sync::Arc::new(memo::Entry {
                        findings: std::mem::take(&mut redaction.findings)
                            .into_iter()
                            .filter(|f| f.span.start >= own)
                            .collect(),
                        containers: std::mem::take(&mut redaction.containers)
                            .into_iter()
                            .filter(|c| c.span.start >= own)
                            .collect(),
                    });
                    new_entries.push((key, entry.clone()));
                    entry
                }
            };
            let shift =
                |span: &Range<usize>| span.start + chunk.read.start..span.end + chunk.read.start;
            findings.extend(entry.findings.iter().map(|f| Finding {
                span: shift(&f.span),
                ..f.clone()
            }));
            containers.extend(entry.containers.iter().map(|c| Container {
                kind: c.kind,
                span: shift(&c.span),
            }));
        }
        for (key, entry) in new_entries {
            self.memo.insert(key, entry);
        }
        replace_repeats(body, &mut findings, &detected);
        let (output, _) = splice(body, &findings, false);
        Some(Redaction {
            output,
            findings,
            detected,
            containers,
            chunks,
        })
    }

    /// Remembers what the scan of a whole body found in one of its chunks, unless a finding
    /// reaches across the chunk's edges (the chunk's own scan would cut it differently).
    fn remember_from_whole(&self, whole: &Redaction<'_>, chunk: &memo::Chunk, key: memo::ChunkKey) {
        let own = chunk.read.start + chunk.own..chunk.read.end;
        let crosses = |span: &Range<usize>| {
            (span.start < own.start && span.end > own.start)
                || (span.start < own.end && span.end > own.end)
        };
        if whole.findings.iter().any(|f| crosses(&f.span)) {
            return;
        }
        let base = chunk.read.start;
        let entry = memo::Entry {
            findings: whole
                .findings
                .iter()
                .filter(|f| own.contains(&f.span.start))
                .map(|f| Finding {
                    span: f.span.start - base..f.span.end - base,
                    ..f.clone()
                })
                .collect(),
            containers: whole
                .containers
                .iter()
                .filter(|c| own.contains(&c.span.start))
                .map(|c| Container {
                    kind: c.kind,
                    span: c.span.start - base..c.span.end - base,
                })
                .collect(),
        };
        self.memo.insert(key, std::sync::Arc::new(entry));
    }

    /// Redacts `input` for line-oriented output: a replaced span that held line breaks is
    /// followed by as many `\n`, so line numbers in a redacted file still match the original.
    pub fn redact_keeping_lines<'a>(&self, input: &'a [u8]) -> Redaction<'a> {
        self.redact_with(input, true)
    }

    fn redact_with<'a>(&self, input: &'a [u8], keep_lines: bool) -> Redaction<'a> {
        let mut candidates = Vec::new();
        self.registry_candidates(input, self.registry.find(input), &mut candidates);
        // The view the rules read; a registry-only engine needs one only where invisible
        // characters or escaped letters may hide a secret.
        let view = (self.scans_patterns() || json_view::may_hide_from_registry(input))
            .then(|| json_view::View::new(input));
        // A known secret with invisible characters between its letters (a zero-width space
        // after each), or spelled out in `\u` escapes, is still that secret to a model: the
        // registry reads the view too.
        if let Some(view) = view.as_ref().filter(|v| v.hides_from_raw()) {
            let found = self
                .registry
                .find(view.text())
                .into_iter()
                .map(|(start, end, name)| {
                    let (start, end) = view.raw_span(start, end);
                    (start, end, name)
                });
            self.registry_candidates(input, found, &mut candidates);
        }
        // A known secret split across joined string literals (`+`, `.`, side by side) is still
        // that secret to whoever runs the code: each piece is replaced inside its own quotes.
        // The chains are found once, here, and the rules read them too (`pattern_candidates`).
        let chains = view.as_ref().map(literal_chains).unwrap_or_default();
        // The view's byte classes, made once: the entropy layer, the encoded-text pass and
        // the spelled-out runs below all read them.
        let passwords = self.registry.parts_need_passwords();
        let classes = view.as_ref().map(|view| classify(view.text(), passwords));
        // Part of a known value sent without the rest (half a key, a token cut in two across
        // messages) still gives most of it away: replaced under a handle of its own. Parts
        // are read in the view where its masks show a run of 12 bytes a made-up secret may
        // hold (the view reads through escapes, and most of a request is in no such run), or
        // in the whole input.
        if self.registry.has_parts() {
            let parts = match (&view, &classes) {
                (Some(view), Some((_, masks))) => {
                    let grams = masks.run_grams(registry::FRAGMENT_LEN);
                    let parts = self.registry.find_parts(view.text(), grams);
                    parts
                        .into_iter()
                        .map(|(start, end, part)| {
                            let (start, end) = view.raw_span(start, end);
                            (start, end, part)
                        })
                        .collect()
                }
                _ => self
                    .registry
                    .find_parts(input, registry::Registry::every_gram(input)),
            };
            self.part_candidates(input, parts, &mut candidates);
        }
        // Values spelled out a character at a time (`V, q, 7, ...`, one a line, an array of
        // one-letter strings): the registry reads them here, the other layers in the first
        // pass below.
        let spelled = match (&view, &classes) {
            (Some(view), Some((_, masks))) => spelled::runs(view.text(), masks),
            _ => Vec::new(),
        };
        if let Some(view) = &view {
            // Parts of a value too (`"sk_live_51Hg" + "XqL2eZvK"`, half a key spelled out).
            let parts_of = |text: &[u8]| {
                self.registry
                    .find_parts(text, registry::Registry::every_gram(text))
            };
            for chain in &chains {
                let found = self.registry.find(&chain.text);
                let pieces = found.into_iter().flat_map(|f| chain_pieces(view, chain, f));
                self.registry_candidates(input, pieces, &mut candidates);
                let parts = parts_of(&chain.text);
                let pieces = parts.into_iter().flat_map(|f| chain_pieces(view, chain, f));
                self.part_candidates(input, pieces, &mut candidates);
            }
            // A known secret spelled out is replaced from its first character to its last.
            for run in &spelled {
                let found = self.registry.find(&run.text);
                let spans = found
                    .into_iter()
                    .filter_map(|f| spelled_found(view, run, f));
                self.registry_candidates(input, spans, &mut candidates);
                let parts = parts_of(&run.text);
                let spans = parts
                    .into_iter()
                    .filter_map(|f| spelled_found(view, run, f));
                self.part_candidates(input, spans, &mut candidates);
            }
        }
        // Findings in input coordinates: sorted, disjoint.
        let mut findings = settle(candidates, &[]);
        let mut detected = Vec::new();
        // The regex layer reads the input as it came (a token that contains a registry secret
        // is still a token), then runs again on the text as replaced so far until it finds
        // nothing new: a replacement can turn its neighbour into a standalone token (a word
        // boundary appears), and redacting the output a second time must change nothing.
        //
        // Later passes look only around what the previous pass replaced: a replacement changes
        // nothing beyond the reach of a rule's window, and scanning the whole text again would
        // double the cost of every request that holds a secret.
        let mut fresh: Vec<Range<usize>> = findings.iter().map(|f| f.span.clone()).collect();
        let mut containers = Vec::new();
        for pass in 0..MAX_REGEX_PASSES {
            let (text, segments) = if pass == 0 {
                let segments = findings
                    .iter()
                    .map(|f| Segment {
                        text: f.span.clone(),
                        input: f.span.clone(),
                    })
                    .collect();
                (Cow::Borrowed(input), segments)
            } else {
                splice(input, &findings, false)
            };
            let mut candidates = Vec::new();
            if pass == 0 {
                // The view of the input, built above.
                if let (Some(view), Some(classes)) = (&view, &classes) {
                    self.pattern_candidates(
                        rules::Scope::All,
                        view,
                        &chains,
                        classes,
                        &mut candidates,
                        &mut containers,
                    );
                    self.spelled_candidates(view, &spelled, &mut candidates);
                }
            } else if self.scans_patterns() {
                // (A registry-only engine has nothing to look for again.)
                let changed: Vec<Range<usize>> = segments
                    .iter()
                    .filter(|s| {
                        fresh
                            .binary_search_by_key(&s.input.start, |f| f.start)
                            .is_ok()
                    })
                    .map(|s| s.text.clone())
                    .collect();
                // Every layer reads a few hundred bytes around each change (and a token that
                // ends at one); the few rules that reach further (a private key's body) read
                // regions of their own.
                let near = self.rules.reach(rules::Scope::Near).max(entropy::MAX_TOKEN);
                // Found once for both kinds of region: no region starts inside one.
                let pem: Vec<Range<usize>> = entropy::pem_blocks(&text)
                    .into_iter()
                    .map(|(span, _)| span)
                    .collect();
                for region in neighbourhoods(&text, &changed, &pem, near + REGION_SLACK) {
                    let first = candidates.len();
                    // Documents were all seen in the first pass; a region may cut one.
                    let view = json_view::View::new(&text[region.clone()]);
                    let classes = classify(view.text(), false);
                    let chains = literal_chains(&view);
                    self.pattern_candidates(
                        rules::Scope::Near,
                        &view,
                        &chains,
                        &classes,
                        &mut candidates,
                        &mut Vec::new(),
                    );
                    place_found(&mut candidates, first, &region, near);
                }
                if let Some(wide) = self.rules.wide_rules() {
                    let reach = wide.reach(rules::Scope::All);
                    for region in neighbourhoods(&text, &changed, &pem, reach + REGION_SLACK) {
                        let first = candidates.len();
                        let view = json_view::View::new(&text[region.clone()]);
                        self.wide_candidates(wide, &view, &mut candidates);
                        place_found(&mut candidates, first, &region, reach);
                    }
                }
            }
            let mut values: Vec<(String, Zeroizing<Vec<u8>>)> = candidates
                .iter_mut()
                .filter_map(|c| Some((c.placeholder.clone(), c.value.take()?)))
                .collect();
            let blocked: Vec<Range<usize>> = segments.iter().map(|s| s.text.clone()).collect();
            let new = settle(candidates, &blocked);
            // Remember each replaced value once, under its handle.
            values.retain(|(placeholder, _)| new.iter().any(|f| &f.placeholder == placeholder));
            for (placeholder, value) in values {
                let handle = placeholder
                    .trim_start_matches("SECRET_REF(")
                    .trim_end_matches(')')
                    .to_owned();
                if worth_remembering(&value)
                    && !detected.iter().any(|d: &Detected| d.handle == handle)
                {
                    detected.push(Detected { handle, value });
                }
            }
            // After the first pass on the raw input, one pass on the replaced text always
            // runs when anything was replaced; later passes only while they find more.
            if new.is_empty() && (pass > 0 || findings.is_empty()) {
                break;
            }
            // The first later pass looks around the registry's replacements too.
            if pass > 0 {
                fresh.clear();
            }
            for mut finding in new {
                finding.span =
                    to_input(&segments, finding.span.start)..to_input(&segments, finding.span.end);
                fresh.push(finding.span.clone());
                let at = findings.partition_point(|f| f.span.start < finding.span.start);
                findings.insert(at, finding);
            }
            // Copies of what was found are replaced before the next pass, which then reads
            // around them too: a copy replaced can leave a word boundary a rule needs
            // (`...!xecho "pw" | sudo -S`), and redacting the output again must find nothing.
            fresh.extend(replace_repeats(input, &mut findings, &detected));
            fresh.sort_by_key(|r| r.start);
        }
        if findings.is_empty() {
            return Redaction {
                output: Cow::Borrowed(input),
                findings,
                detected,
                containers,
                chunks: Chunks::default(),
            };
        }
        let (output, _) = splice(input, &findings, keep_lines);
        Redaction {
            output: Cow::Owned(output.into_owned()),
            findings,
            detected,
            containers,
            chunks: Chunks::default(),
        }
    }

    /// Whether the regex or the entropy layer runs: without them only the registry does.
    fn scans_patterns(&self) -> bool {
        !self.rules.rules().is_empty() || self.entropy.is_some()
    }

    /// Registry matches (spans of `input`) as candidates: widened to whole escapes, and
    /// never inside our own placeholders.
    fn registry_candidates<'n>(
        &self,
        input: &[u8],
        found: impl IntoIterator<Item = (usize, usize, &'n str)>,
        candidates: &mut Vec<Candidate>,
    ) {
        candidates.extend(
            registry_spans(input, found)
                .map(|(start, end, name)| Candidate::registry(start, end, name)),
        );
    }

    /// Parts of registry values (spans of `input`) as candidates, the same way: a part under
    /// its own handle, a whole value (found where the forms are not matched) under its name.
    fn part_candidates<'n>(
        &self,
        input: &[u8],
        found: impl IntoIterator<Item = (usize, usize, registry::FoundPart<'n>)>,
        candidates: &mut Vec<Candidate>,
    ) {
        candidates.extend(registry_spans(input, found).map(|(start, end, part)| {
            let whole = Candidate::registry(start, end, part.name);
            if part.whole {
                whole
            } else {
                Candidate {
                    rank: 1,
                    placeholder: placeholder::part(part.name),
                    ..whole
                }
            }
        }));
    }

    /// The regex and entropy layers' candidates in `input` (raw coordinates); `chains` are
    /// the view's string literals joined (see [`concat`]), and the opaque runs and class
    /// masks its [`classify`].
    fn pattern_candidates(
        &self,
        scope: rules::Scope,
        view: &json_view::View<'_>,
        chains: &[concat::Chain],
        (opaque, masks): &(Vec<Range<usize>>, runs::Masks),
        candidates: &mut Vec<Candidate>,
        containers: &mut Vec<Container>,
    ) {
        if !self.scans_patterns() {
            return;
        }
        let input = view.raw();
        let text = view.text();
        self.scan_layers(
            scope,
            text,
            opaque,
            masks,
            |layer, rank, rule_id, start, end| {
                candidates.extend(self.found_candidate(view, (layer, rank, rule_id), start..end));
            },
        );
        // A token split across joined string literals (`"ghp_" + "..."`, `'ghp_' . '...'`):
        // the rules read the literals joined, and a match that spans two or more of them is
        // replaced piece by piece under one handle. Not the entropy layer: joined code strings are
        // random-looking too often (split base64 of public certificates, test vectors).
        for chain in chains {
            let found = &mut |layer, rank, rule_id: &str, start, end| {
                if chain.spans(start..end).nth(1).is_none() {
                    // Inside one literal: the scan of the text found it already.
                    return;
                }
                let value = &chain.text[start..end];
                let placeholder = self.key.detected(rule_id, value);
                let mut learned = Some(Zeroizing::new(value.to_vec()));
                for piece in chain.spans(start..end) {
                    let (raw_start, raw_end) = view.raw_span(piece.start, piece.end);
                    if raw_start >= raw_end || is_placeholder_at(input, raw_start, raw_end) {
                        continue;
                    }
                    candidates.push(Candidate::detected(
                        (layer, rank, rule_id),
                        raw_start,
                        raw_end,
                        placeholder.clone(),
                        learned.take(),
                    ));
                }
            };
            self.scan_rules(&self.rules, scope, &chain.text, &[], found);
        }
        // Text sent encoded: a finding in what a run decodes to replaces the whole run, under
        // the handle of the value found inside (learned, it is then caught in every encoding).
        let first_container = containers.len();
        let decoded = encoded::decoded_runs(text, opaque, masks, containers);
        for container in &mut containers[first_container..] {
            let (start, end) = view.raw_span(container.span.start, container.span.end);
            container.span = start..end;
        }
        for run in decoded {
            // A known secret in what the run decodes to (a vault value in an encoded file,
            // spelled out in character references, percent-encoded twice): the whole run.
            if let Some(&(_, _, name)) = self.registry.find(&run.text).first() {
                let (raw_start, raw_end) = run_span(view, &run);
                if raw_start < raw_end && !is_placeholder_at(input, raw_start, raw_end) {
                    candidates.push(Candidate::registry(raw_start, raw_end, name));
                    continue;
                }
            }
            // Part of a known value in it (half a key in a file sent encoded): the whole run,
            // under the part's handle.
            let parts = self
                .registry
                .find_parts(&run.text, registry::Registry::every_gram(&run.text));
            if let Some(&(_, _, part)) = parts.first() {
                let (raw_start, raw_end) = run_span(view, &run);
                let before = candidates.len();
                self.part_candidates(input, [(raw_start, raw_end, part)], candidates);
                if candidates.len() > before {
                    continue;
                }
            }
            if let Some(found) = self.first_found_in(&run.text) {
                let span = run_span(view, &run);
                candidates.extend(self.run_candidate(input, span, &run.text, found));
            }
        }
    }

    /// The candidate for a span of the view (`found`) that a rule or the entropy layer
    /// reported; none for an empty span or one already a placeholder.
    fn found_candidate(
        &self,
        view: &json_view::View<'_>,
        (layer, rank, rule_id): (Layer, u8, &str),
        found: Range<usize>,
    ) -> Option<Candidate> {
        let input = view.raw();
        let text = view.text();
        let start = found.start;
        let mut end = nested_string_end(text, start, found.end);
        let (raw_start, mut raw_end) = view.raw_span(start, end);
        // The view decodes `\"`, so a greedy capture can run past the quote that closes a
        // JSON string; the secret cannot continue there, and the quote must stay. The value
        // ends there too: what is hashed into the handle and learned is what is replaced,
        // so the handle is the one the same value gets anywhere else.
        if let Some(quote) = structural_quote(&input[raw_start..raw_end]) {
            raw_end = raw_start + quote;
            end = (start..end)
                .rev()
                .find(|&v| view.raw_span(start, v).1 <= raw_end)
                .unwrap_or(start);
        }
        if raw_start >= raw_end || is_placeholder_at(input, raw_start, raw_end) {
            return None;
        }
        Some(Candidate::detected(
            (layer, rank, rule_id),
            raw_start,
            raw_end,
            self.key.detected(rule_id, &text[start..end]),
            Some(Zeroizing::new(text[start..end].to_vec())),
        ))
    }

    /// The candidates of the `wide` rules (and of the table pass their keyword scan feeds) in
    /// a region read again after a replacement. The entropy layer, joined literals and
    /// encoded runs reach no further than the near rules, whose regions read them.
    fn wide_candidates(
        &self,
        wide: &RuleSet,
        view: &json_view::View<'_>,
        candidates: &mut Vec<Candidate>,
    ) {
        let opaque = opaque::runs(view.text());
        let found = &mut |layer, rank, rule_id: &str, start, end| {
            candidates.extend(self.found_candidate(view, (layer, rank, rule_id), start..end));
        };
        self.scan_rules(wide, rules::Scope::All, view.text(), &opaque, found);
    }

    /// The regex and entropy layers' candidates in values spelled out a character at a time:
    /// a token a rule or entropy finds in what a run spells (`s k - a n t - ...`, an array of
    /// one-character strings) replaces the run from its first character to its last, under
    /// the handle of the value found.
    fn spelled_candidates(
        &self,
        view: &json_view::View<'_>,
        spelled: &[concat::Chain],
        candidates: &mut Vec<Candidate>,
    ) {
        if !self.scans_patterns() {
            return;
        }
        let input = view.raw();
        for run in spelled {
            let Some(found) = self.first_found_in(&run.text) else {
                continue;
            };
            if let Some(span) = spelled_span(view, run, found.span.clone()) {
                candidates.extend(self.run_candidate(input, span, &run.text, found));
            }
        }
    }

    /// The candidate replacing a whole run (`start..end` of `input`) for what the layers
    /// `found` in its text, under the handle of the value found; none for an empty span or
    /// one already a placeholder.
    fn run_candidate(
        &self,
        input: &[u8],
        (start, end): (usize, usize),
        text: &[u8],
        found: FoundInside,
    ) -> Option<Candidate> {
        if start >= end || is_placeholder_at(input, start, end) {
            return None;
        }
        let value = &text[found.span];
        Some(Candidate::detected(
            (found.layer, found.rank, &found.rule_id),
            start,
            end,
            self.key.detected(&found.rule_id, value),
            Some(Zeroizing::new(value.to_vec())),
        ))
    }

    /// The first span the regex or entropy layer finds in `text` (what a run decodes to or
    /// spells, read on its own), with the layer, rank and rule that found it: one finding is
    /// enough to replace the whole run.
    fn first_found_in(&self, text: &[u8]) -> Option<FoundInside> {
        let opaque = opaque::runs(text);
        let mut first = None;
        self.scan_layers(
            rules::Scope::All,
            text,
            &opaque,
            &runs::Masks::new(text, &opaque),
            |layer, rank, rule_id, start, end| {
                if first.is_none() {
                    first = Some(FoundInside {
                        layer,
                        rank,
                        rule_id: rule_id.to_owned(),
                        span: start..end,
                    });
                }
            },
        );
        first
    }

    /// Runs the regex and entropy layers over `text` (its opaque runs and class masks
    /// given), reporting each span found.
    fn scan_layers(
        &self,
        scope: rules::Scope,
        text: &[u8],
        opaque: &[Range<usize>],
        masks: &runs::Masks,
        mut found: impl FnMut(Layer, u8, &str, usize, usize),
    ) {
        self.scan_rules(&self.rules, scope, text, opaque, &mut found);
        if let Some(entropy) = &self.entropy {
            entropy.scan(text, opaque, masks, |start, end, alphabet| {
                found(Layer::Entropy, 0, alphabet.rule_id(), start, end);
            });
        }
    }

    /// The regex layer alone (the `scope` of `rules`, and the table pass) over `text`.
    fn scan_rules(
        &self,
        rules: &RuleSet,
        scope: rules::Scope,
        text: &[u8],
        opaque: &[Range<usize>],
        found: &mut impl FnMut(Layer, u8, &str, usize, usize),
    ) {
        let mut spans = Vec::new();
        let mut stems = Vec::new();
        for (index, windows) in rules.windows(text, opaque, scope, &mut stems) {
            let rule = &rules.rules()[index];
            spans.clear();
            rule.find_spans(text, &windows, &mut spans);
            // Windows are disjoint, but one match may run from one into the next.
            spans.sort_unstable();
            spans.dedup();
            for &(start, end) in &spans {
                found(Layer::Regex, rule.rank(), rule.id(), start, end);
            }
        }
        tables::scan(text, &stems, |start, end| {
            found(Layer::Regex, 1, tables::RULE_ID, start, end);
        });
    }
}

/// Whether a secret's name (4 bytes or more) occurs in its value, ignoring ASCII case: its
/// placeholder `SECRET_REF(name)` would then repeat part of the secret.
pub fn name_in_value(name: &str, value: &[u8]) -> bool {
    let name = name.as_bytes();
    name.len() >= 4
        && value
            .windows(name.len())
            .any(|w| w.eq_ignore_ascii_case(name))
}

/// The view's joined string literals ([`concat`]) whose quotes were all written at one level
/// of JSON nesting. The view decodes `\"`, so a quote that an escape wrote can sit next to
/// one the body wrote itself: the "literal" between them is JSON structure (`"],"` after a
/// string that ends in an escaped quote), and replacing it would break the body.
fn literal_chains(view: &json_view::View<'_>) -> Vec<concat::Chain> {
    let mut chains = concat::chains(view.text());
    // In a JSON document every `"` inside a string is escaped: an unescaped one is the
    // document's own, and neither it nor what lies between two of them (`'…'\n"},{"`: a
    // quoted word, a newline, then the end of one message and the start of the next) is a
    // literal of the text.
    let json = is_json_document(view.raw());
    chains.retain(|chain| {
        let mut widths = chain.quotes().map(|at| view.raw_width(at));
        let first = widths.next();
        let document_quote = |at: usize| view.text()[at] == b'"' && view.raw_width(at) == 1;
        let crosses_strings = |span: Range<usize>| {
            let (start, end) = view.raw_span(span.start, span.end);
            structural_quote(&view.raw()[start..end]).is_some()
        };
        widths.all(|width| Some(width) == first)
            && !(json
                && (chain.quotes().any(document_quote)
                    || chain.spans(0..chain.text.len()).any(crosses_strings)))
    });
    chains
}

/// Whether `raw` is a JSON object or array (by its first byte that is not white space): the
/// proxy's request bodies, whose own quotes and numbers are structure, not text.
fn is_json_document(raw: &[u8]) -> bool {
    matches!(
        raw.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// The raw span from the first to the last character that spell `found` (a span of the
/// run's joined text) out; `None` for an empty span.
fn spelled_span(
    view: &json_view::View<'_>,
    run: &concat::Chain,
    found: Range<usize>,
) -> Option<(usize, usize)> {
    let mut spans = run.spans(found);
    let first = spans.next()?;
    let last = spans.last().unwrap_or_else(|| first.clone());
    Some(view.raw_span(first.start, last.end))
}

/// A decoded run's span in raw coordinates, ending before the quote that closes its JSON
/// string (a dump's last line runs to its line's end, which in a JSON body is the string's).
fn run_span(view: &json_view::View<'_>, run: &encoded::Decoded) -> (usize, usize) {
    let (start, end) = view.raw_span(run.span.start, run.span.end);
    match structural_quote(&view.raw()[start..end]) {
        Some(quote) => (start, start + quote),
        None => (start, end),
    }
}

/// The offset of the first `"` in `raw` that is not escaped (not preceded by an odd run of
/// backslashes): where a JSON string ends.
fn structural_quote(raw: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'"', &raw[at..]) {
        let quote = at + offset;
        if backslashes_before(raw, quote) % 2 == 0 {
            return Some(quote);
        }
        at = quote + 1;
    }
    None
}

/// How many backslashes stand right before `raw[at]`: an odd count escapes it.
fn backslashes_before(raw: &[u8], at: usize) -> usize {
    raw[..at].iter().rev().take_while(|&&b| b == b'\\').count()
}

/// Where a capture must end, in the view, if it runs past the quote that closes a JSON string
/// nested in the body (tool-call arguments are a JSON document in a JSON string; the view
/// decodes every level, so that quote reads as a bare `"`): at a `"` that JSON structure
/// follows (`,`, `:`, `}`, `]`, or nothing). A quote inside a secret is followed by more of
/// it. Cutting there keeps the nested document valid JSON after the replacement.
fn nested_string_end(text: &[u8], start: usize, end: usize) -> usize {
    let mut at = start;
    while let Some(offset) = memchr::memchr(b'"', &text[at..end]) {
        let quote = at + offset;
        let next = text[quote + 1..].iter().find(|b| !b.is_ascii_whitespace());
        if matches!(next, None | Some(b',' | b':' | b'}' | b']')) {
            return quote;
        }
        at = quote + 1;
    }
    end
}

/// A value the regex or entropy layer found is a secret wherever else it stands in the same
/// input: a password given once after `password:` and typed again bare further on (the
/// agent's reply, a tool call's arguments, a second flag of the same command) is replaced
/// there too, under the same placeholder, in the forms a value most often takes again
/// ([`registry::common_forms`]; once the value is learned, the registry reads every form).
/// The values are what `detected` holds and the bytes each finding replaced (a remembered
/// chunk's findings carry no value); those shorter than [`MIN_SECRET_LEN`] are left alone,
/// as the registry refuses them, those longer than [`REPEAT_MAX_LEN`] (a whole encoded file,
/// which its own finding already names) and plain words (see [`looks_made_up`]).
///
/// Returns the spans of the copies it added.
fn replace_repeats(
    input: &[u8],
    findings: &mut Vec<Finding>,
    detected: &[Detected],
) -> Vec<Range<usize>> {
    // Each value searched for, with the index of the finding it came from.
    let mut values: Vec<(usize, Zeroizing<Vec<u8>>)> = Vec::new();
    let mut add = |origin: usize, value: &[u8]| {
        let fits = (MIN_SECRET_LEN..=REPEAT_MAX_LEN).contains(&value.len());
        if fits && looks_made_up(value) && !values.iter().any(|(_, v)| v.as_slice() == value) {
            values.push((origin, Zeroizing::new(value.to_vec())));
        }
    };
    for (index, finding) in findings.iter().enumerate() {
        if finding.layer != Layer::Registry {
            add(index, &input[finding.span.clone()]);
        }
    }
    for value in detected {
        let placeholder = placeholder::named(&value.handle);
        if let Some(index) = findings
            .iter()
            .position(|f| f.layer != Layer::Registry && f.placeholder == placeholder)
        {
            add(index, &value.value);
        }
    }
    // A few values in a few forms each: one direct search per form costs less than building
    // an automaton over them (measured: 100 µs and more for two values on a 36 KB body).
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    for (origin, value) in &values {
        for form in registry::common_forms(value) {
            found.extend(
                memchr::memmem::find_iter(input, form.as_slice())
                    .map(|start| (start, start + form.len(), *origin)),
            );
        }
    }
    // Leftmost-longest, disjoint.
    found.sort_unstable_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
    let mut repeats: Vec<Finding> = Vec::new();
    for (start, end, origin) in found {
        // A match that starts or ends inside a JSON escape is not the value: a value read
        // with a trailing backslash (`x\`) matches the `\` of the `\n` that follows a copy
        // of it, and the escape holds a newline, not the backslash. Kept, it made the whole
        // body's output depend on whether the value was read this time or remembered.
        if widen_to_escapes(input, start, end) != (start, end) {
            continue;
        }
        let at = findings.partition_point(|f| f.span.end <= start);
        let overlaps = findings.get(at).is_some_and(|f| f.span.start < end);
        let after_last = repeats.last().is_none_or(|r| r.span.end <= start);
        if start < end && after_last && !overlaps && !is_placeholder_at(input, start, end) {
            repeats.push(Finding {
                span: start..end,
                ..findings[origin].clone()
            });
        }
    }
    let added = repeats.iter().map(|r| r.span.clone()).collect();
    for repeat in repeats {
        let at = findings.partition_point(|f| f.span.start < repeat.span.start);
        findings.insert(at, repeat);
    }
    added
}

/// Whether a found value looks made up rather than written: letters and digits, and a
/// password's symbols among them (`Summer70#prhZ`) or letters that are not mostly words
/// (`aB3xQ9...`, hex). Only such a value is searched for again in the rest of the input.
/// A rule may rightly take `postgres` in `POSTGRES_PASSWORD=postgres` for a password, and a
/// generic rule reading code takes an identifier for a value now and then
/// (`X509KeyUsageFlags`, `token_type`); replacing every copy of those would mangle the code
/// and commands the agent works on (measured on source code: the findings nearly doubled).
fn looks_made_up(value: &[u8]) -> bool {
    let has = |class: fn(&u8) -> bool| value.iter().any(class);
    if has(u8::is_ascii_whitespace) || !has(u8::is_ascii_alphabetic) || !has(u8::is_ascii_digit) {
        return false;
    }
    if value.iter().any(|b| b"!@#$%^&*+=?~|".contains(b)) {
        return true;
    }
    // Letters in word-like pieces (`Key`, `usage`: cut before each capital, three letters or
    // more, two of them small), against all letters.
    let (mut letters, mut in_words) = (0usize, 0usize);
    let (mut piece, mut small) = (0usize, 0usize);
    let mut close = |piece: usize, small: usize| {
        if piece >= 3 && small >= 2 {
            in_words += piece;
        }
    };
    for &b in value {
        if b.is_ascii_uppercase() {
            close(piece, small);
            (piece, small) = (1, 0);
        } else if b.is_ascii_lowercase() {
            (piece, small) = (piece + 1, small + 1);
        } else {
            close(piece, small);
            (piece, small) = (0, 0);
            continue;
        }
        letters += 1;
    }
    close(piece, small);
    in_words * 2 < letters
}

/// Registry spans widened to whole escapes, without those inside our own placeholders.
fn registry_spans<'a, T, F>(
    input: &'a [u8],
    found: F,
) -> impl Iterator<Item = (usize, usize, T)> + 'a
where
    F: IntoIterator<Item = (usize, usize, T)>,
    F::IntoIter: 'a,
{
    found.into_iter().filter_map(move |(start, end, what)| {
        let (start, end) = widen_to_escapes(input, start, end);
        (start < end && !is_placeholder_at(input, start, end)).then_some((start, end, what))
    })
}

/// A registry match in a chain's joined text as the raw spans of its pieces.
fn chain_pieces<'c, T: Copy + 'c>(
    view: &'c json_view::View<'_>,
    chain: &'c concat::Chain,
    (start, end, what): (usize, usize, T),
) -> impl Iterator<Item = (usize, usize, T)> + 'c {
    chain.spans(start..end).map(move |span| {
        let (start, end) = view.raw_span(span.start, span.end);
        (start, end, what)
    })
}

/// A registry match in what a spelled-out run spells as the raw span from its first character
/// to its last.
fn spelled_found<T>(
    view: &json_view::View<'_>,
    run: &concat::Chain,
    (start, end, what): (usize, usize, T),
) -> Option<(usize, usize, T)> {
    spelled_span(view, run, start..end).map(|(start, end)| (start, end, what))
}

/// Widens a raw span so that it neither starts nor ends inside a JSON escape sequence.
fn widen_to_escapes(input: &[u8], start: usize, end: usize) -> (usize, usize) {
    let start = json_view::escape_around(input, start).map_or(start, |(s, _)| s);
    let end = json_view::escape_around(input, end).map_or(end, |(_, e)| e);
    (start, end)
}

/// Whether the span is made of our own placeholders only (one, part of one, or several in a
/// row): redacting twice must change nothing, so a rule that happens to match handles' text
/// is ignored there.
fn is_placeholder_at(input: &[u8], start: usize, end: usize) -> bool {
    let mut at = start;
    while at < end {
        match placeholder_around(input, at) {
            Some(close) => at = close,
            None => return false,
        }
    }
    true
}

/// If `at` lies in a `SECRET_REF(name)` handle, where that handle ends.
fn placeholder_around(input: &[u8], at: usize) -> Option<usize> {
    const OPEN: &[u8] = b"SECRET_REF(";
    const LONGEST: usize = OPEN.len() + 64 + 1;
    let from = at.saturating_sub(LONGEST - 1);
    let window = &input[from..(at + OPEN.len()).min(input.len())];
    // The last handle that opens at or before `at`.
    let open = (0..window.len())
        .rev()
        .find(|&i| from + i <= at && window[i..].starts_with(OPEN))?;
    let body = from + open + OPEN.len();
    let name_len = input[body..]
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        .count();
    let close = body + name_len;
    (input.get(close) == Some(&b')') && at <= close).then_some(close + 1)
}

/// The opaque (media) runs of `text` and the class masks of the rest (`passwords`: with the
/// symbols of made-up passwords, for the registry's parts).
fn classify(text: &[u8], passwords: bool) -> (Vec<Range<usize>>, runs::Masks) {
    let opaque = opaque::runs(text);
    let masks = if passwords {
        runs::Masks::with_passwords(text, &opaque)
    } else {
        runs::Masks::new(text, &opaque)
    };
    (opaque, masks)
}

/// Settles overlaps: candidates are taken layer by layer, leftmost-longest within a layer;
/// the part of a candidate already claimed (or `blocked`: placeholders already in the text)
/// stays with its first claimant, and whatever is left of it is replaced under its own
/// placeholder. Returns the new claims only, sorted and disjoint.
fn settle(mut candidates: Vec<Candidate>, blocked: &[Range<usize>]) -> Vec<Finding> {
    candidates.sort_by_key(|c| (c.layer, c.start, std::cmp::Reverse(c.end), c.rank));
    // Every claimed span, disjoint and sorted by start; `None` marks a blocked one.
    let mut claimed: Vec<(Range<usize>, Option<Finding>)> =
        blocked.iter().map(|r| (r.clone(), None)).collect();
    for c in candidates {
        let mut pieces = Vec::new();
        let mut at = c.start;
        let first = claimed.partition_point(|(span, _)| span.end <= c.start);
        for (span, _) in claimed[first..]
            .iter()
            .take_while(|(span, _)| span.start < c.end)
        {
            if span.start > at {
                pieces.push(at..span.start);
            }
            at = at.max(span.end);
        }
        if at < c.end {
            pieces.push(at..c.end);
        }
        for span in pieces {
            let position = claimed.partition_point(|(s, _)| s.start < span.start);
            let finding = Finding {
                layer: c.layer,
                source: c.source.clone(),
                span: span.clone(),
                placeholder: c.placeholder.clone(),
            };
            claimed.insert(position, (span, Some(finding)));
        }
    }
    claimed.into_iter().filter_map(|(_, f)| f).collect()
}

/// Where a placeholder stands in spliced text, and what it replaced in the input.
struct Segment {
    text: Range<usize>,
    input: Range<usize>,
}

/// The input with every finding replaced by its placeholder (followed by as many newlines
/// as the span held when `keep_lines`), and where each placeholder landed.
fn splice<'a>(
    input: &'a [u8],
    findings: &[Finding],
    keep_lines: bool,
) -> (Cow<'a, [u8]>, Vec<Segment>) {
    if findings.is_empty() {
        return (Cow::Borrowed(input), Vec::new());
    }
    let mut out = Vec::with_capacity(input.len());
    let mut segments = Vec::with_capacity(findings.len());
    let mut at = 0;
    let mut strings = JsonStrings::of(input);
    for finding in findings {
        out.extend_from_slice(&input[at..finding.span.start]);
        let start = out.len();
        let quote = strings
            .as_mut()
            .and_then(|strings| strings.quote_for(finding.span.start));
        let quote = quote.unwrap_or_default();
        out.extend_from_slice(quote);
        out.extend_from_slice(finding.placeholder.as_bytes());
        out.extend_from_slice(quote);
        if keep_lines {
            let breaks = memchr::memchr_iter(b'\n', &input[finding.span.clone()]).count();
            out.resize(out.len() + breaks, b'\n');
        }
        segments.push(Segment {
            text: start..out.len(),
            input: finding.span.clone(),
        });
        at = finding.span.end;
    }
    out.extend_from_slice(&input[at..]);
    (Cow::Owned(out), segments)
}

/// Where a JSON body's strings are, read forwards once as placeholders are written: a value
/// found among the document's own numbers (`"keypair": [174, 47, ...]` in a tool call's
/// input, or in its arguments, a JSON document inside a string) is replaced by a placeholder
/// in quotes, written as the document's own quotes are there (`"`, `\"`), or the body would
/// stop being JSON. A value inside a string's text needs none.
struct JsonStrings<'a> {
    raw: &'a [u8],
    /// Read up to here; a string is open at this point when `open`.
    read: usize,
    open: bool,
}

impl<'a> JsonStrings<'a> {
    /// `None` for input that is not a JSON object or array.
    fn of(raw: &'a [u8]) -> Option<Self> {
        is_json_document(raw).then_some(JsonStrings {
            raw,
            read: 0,
            open: false,
        })
    }

    /// The quote a placeholder at `at` needs on each side, if `at` (whose offsets come in
    /// order) starts a number among JSON structure. Strings are read only up to such a place:
    /// most placeholders stand in text, and a body with none costs no reading.
    fn quote_for(&mut self, at: usize) -> Option<&'a [u8]> {
        let raw = self.raw;
        if !raw
            .get(at)
            .is_some_and(|&b| b.is_ascii_digit() || b == b'-')
        {
            return None;
        }
        // Before it, past white space (raw, or escaped once or more in a nested document:
        // `\n`, `\\n`): an opening bracket, a comma or a colon.
        let mut before = at;
        loop {
            match raw[..before] {
                [.., b' ' | b'\t' | b'\r' | b'\n'] => before -= 1,
                [.., b'\\', b'n' | b't' | b'r'] => {
                    before -= 1;
                    while raw[..before].ends_with(b"\\") {
                        before -= 1;
                    }
                }
                _ => break,
            }
        }
        if !matches!(raw[..before].last(), Some(b'[' | b',' | b':')) {
            return None;
        }
        self.read_to(at);
        if !self.open {
            return Some(b"\"");
        }
        // Inside a string: structure of a document nested in it only when the last quote
        // before is escaped and closes a key or a value: only structure lies between, a `:`
        // or `,` among it (`{\"keypair\": [`). After an opening quote (`\"[174, ...`) the
        // numbers are a nested string's text.
        let quote = memchr::memrchr(b'"', &raw[..before])?;
        let slashes = backslashes_before(raw, quote);
        let between = &raw[quote + 1..before];
        let structural = between
            .iter()
            .all(|b| matches!(b, b'[' | b',' | b':' | b' ' | b'\\' | b'n' | b't' | b'r'))
            && between.iter().any(|b| matches!(b, b',' | b':'));
        (slashes % 2 == 1 && structural).then(|| &raw[quote - slashes..=quote])
    }

    /// Reads quotes and escapes up to `to`.
    fn read_to(&mut self, to: usize) {
        while self.read < to {
            let Some(next) = memchr::memchr2(b'"', b'\\', &self.raw[self.read..to]) else {
                self.read = to;
                return;
            };
            let at = self.read + next;
            if self.raw[at] == b'\\' {
                // An escape inside a string: the byte after it is not a quote of the document.
                self.read = at + if self.open { 2 } else { 1 };
            } else {
                self.open = !self.open;
                self.read = at + 1;
            }
        }
    }
}

/// Context a later pass reads beyond a rule's reach on each side of a change: entropy's
/// context words and JSON key, and the rest of a token at the edge.
const REGION_SLACK: usize = 256;

/// Where a text is cut into regions searched on their own must not split a token, an escape
/// or a JSON string's quote from its content: after a space, line break, comma or
/// structural bracket. Searching this far for one before giving up (then the region simply
/// grows to the text's edge).
const CUT_SEARCH: usize = 64 * 1024;

/// Where a region that would start at `start` starts instead: not inside a PEM block, whose
/// lines the entropy layer reads as public only under its `-----BEGIN` line, kilobytes back
/// in a certificate chain. (Context a token is judged by that sits just before it, such as a
/// hash word or an SSH key's type, is cut off only for what [`place_found`] drops.) `pem`:
/// the text's PEM blocks, in order.
fn context_start(start: usize, pem: &[Range<usize>]) -> usize {
    let block = pem.partition_point(|span| span.end <= start);
    match pem.get(block) {
        Some(span) if span.start < start => span.start,
        _ => start,
    }
}

/// Moves the candidates a scan of `region` found (from `first` on) to text coordinates, and
/// drops those that end in its first `reach` bytes when it starts inside the text.
///
/// The region reaches `reach` (and more) before each change it was cut around, and a match or
/// token that a change can alter reads the changed bytes or ends next to them: one that ends
/// that far before every change was there, alike, in the pass before. But near its edge a
/// region cuts off what a finding is judged by (the hash word before a digest): what is found
/// there is found for the cut, not for the change.
fn place_found(candidates: &mut Vec<Candidate>, first: usize, region: &Range<usize>, reach: usize) {
    let found = candidates.split_off(first);
    let trusted_from = if region.start > 0 {
        region.start + reach
    } else {
        0
    };
    candidates.extend(found.into_iter().filter_map(|mut candidate| {
        candidate.start += region.start;
        candidate.end += region.start;
        (candidate.end >= trusted_from).then_some(candidate)
    }));
}

/// The merged regions of `text` within `reach` bytes of each changed range (in order), their
/// edges moved outwards to safe cut points and their starts out of the `pem` blocks.
fn neighbourhoods(
    text: &[u8],
    changed: &[Range<usize>],
    pem: &[Range<usize>],
    reach: usize,
) -> Vec<Range<usize>> {
    let is_cut = |b: u8| {
        matches!(
            b,
            b' ' | b'\n' | b'\r' | b'\t' | b',' | b'{' | b'}' | b'[' | b']'
        )
    };
    let mut regions: Vec<Range<usize>> = Vec::new();
    for range in changed {
        let mut start = range.start.saturating_sub(reach);
        let floor = start.saturating_sub(CUT_SEARCH);
        while start > floor && !is_cut(text[start - 1]) {
            start -= 1;
        }
        if start == floor {
            start = 0;
        }
        let start = context_start(start, pem);
        let mut end = text.len().min(range.end.saturating_add(reach));
        let ceiling = text.len().min(end.saturating_add(CUT_SEARCH));
        while end < ceiling && !is_cut(text[end]) {
            end += 1;
        }
        if end == ceiling {
            end = text.len();
        }
        match regions.last_mut() {
            Some(last) if start <= last.end => {
                last.start = last.start.min(start);
                last.end = last.end.max(end);
            }
            _ => regions.push(start..end),
        }
    }
    regions
}

/// Maps a position of spliced text that is not inside a placeholder back to the input.
fn to_input(segments: &[Segment], position: usize) -> usize {
    let before = segments.partition_point(|s| s.text.end <= position);
    match before.checked_sub(1).map(|i| &segments[i]) {
        Some(last) => last.input.end + (position - last.text.end),
        None => position,
    }
}

#[cfg(test)]
mod tests;
