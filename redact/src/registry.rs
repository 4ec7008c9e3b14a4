//! The registry layer: every known secret value, in each form an agent might send it in.
//!
//! One Aho-Corasick automaton (leftmost-longest) holds every form of every value: the raw
//! bytes and the JSON-escaped form. Values shorter than [`crate::MIN_SECRET_LEN`] are refused
//! at build time: a short value would be found inside ordinary words.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use zeroize::Zeroizing;

use crate::BuildError;

pub(crate) struct Registry {
    automaton: Option<AhoCorasick>,
    /// `owner[pattern] = index into names`.
    owner: Vec<usize>,
    names: Vec<String>,
}

impl Registry {
    pub(crate) fn build(secrets: &[(String, Zeroizing<Vec<u8>>)]) -> Result<Self, BuildError> {
        let mut names = Vec::with_capacity(secrets.len());
        let mut forms: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut owner = Vec::new();
        // Sorted by name so that when two names hold the same value the placeholder does not
        // depend on insertion order.
        let mut sorted: Vec<&(String, Zeroizing<Vec<u8>>)> = secrets.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, value) in sorted {
            let index = names.len();
            names.push(name.clone());
            for form in encoded_forms(value) {
                if !forms.iter().any(|f| **f == *form) {
                    forms.push(form);
                    owner.push(index);
                }
            }
        }
        let automaton = if forms.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(forms.iter().map(|f| f.as_slice()))
                    .or_else(|_| {
                        // Very large registries exceed the DFA's size limit; the contiguous
                        // NFA is slower but has no such limit.
                        AhoCorasickBuilder::new()
                            .match_kind(MatchKind::LeftmostLongest)
                            .build(forms.iter().map(|f| f.as_slice()))
                    })
                    .map_err(|e| BuildError::Automaton {
                        what: "registry",
                        message: e.to_string(),
                    })?,
            )
        };
        Ok(Registry {
            automaton,
            owner,
            names,
        })
    }

    /// Non-overlapping leftmost-longest matches: (start, end, secret name).
    pub(crate) fn find<'a>(
        &'a self,
        input: &'a [u8],
    ) -> impl Iterator<Item = (usize, usize, &'a str)> + 'a {
        self.automaton.iter().flat_map(move |ac| {
            ac.find_iter(input).map(move |m| {
                let name = &self.names[self.owner[m.pattern().as_usize()]];
                (m.start(), m.end(), name.as_str())
            })
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn memory_usage(&self) -> usize {
        self.automaton.as_ref().map_or(0, AhoCorasick::memory_usage)
    }
}

/// The forms of one value that the registry matches. The raw form always comes first.
///
/// JSON-escaped twice as well as once: tool-call arguments travel as a JSON document inside a
/// JSON string (OpenAI `arguments`), so a quote in a secret arrives as `\\\"` there.
fn encoded_forms(value: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut forms = vec![Zeroizing::new(value.to_vec())];
    let once = json_escaped(value);
    if *once != value {
        let twice = json_escaped(&once);
        forms.push(once);
        forms.push(twice);
    }
    forms
}

/// The value as a JSON encoder writes it inside a string: `"` `\` and control characters
/// escaped, everything else (including `/` and non-ASCII) as it is.
fn json_escaped(value: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() + 8));
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
    out
}
