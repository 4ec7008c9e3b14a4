//! The registry layer: every known secret value, in each form an agent might send it in.
//!
//! Each value is expanded into its encoded forms ([`forms`]) and all forms go into one
//! matcher, leftmost-longest, in two parts: a sampled gram index ([`grams`]) for the forms of
//! 15 bytes or more, and a gram index or an Aho-Corasick automaton for the shorter.
//! Values shorter than [`crate::MIN_SECRET_LEN`] are refused at build time: a short value
//! would be found inside ordinary words. A second index ([`fragments`]) finds parts of the raw
//! values sent without the rest. The registry never logs or reveals a value.

mod forms;
pub(crate) mod fragments;
mod grams;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use zeroize::Zeroizing;

use crate::BuildError;
pub(crate) use forms::{common_forms, encoded_forms};
pub(crate) use fragments::FRAGMENT_LEN;

/// Up to this many forms an automaton is a DFA (measured: 145 MB for 1,000 secrets' forms);
/// beyond, a contiguous NFA.
///
/// The gram index is preferred at every size it can hold: a value has a dozen or more forms
/// (base64 at three alignments and base32 at five, ...), so the forms of even ten secrets
/// start with nearly every letter and digit, an automaton's start-byte prefilter never skips
/// and it walks every byte (about 30 % of all-layers time on the OpenClaw fixtures with 10
/// secrets; the index reads one gram in four bytes).
const DFA_MAX_FORMS: usize = 500;

/// Up to this many short forms go in an automaton (its vector prefilter takes up to 64
/// patterns); beyond, a gram index.
const SHORT_AUTOMATON_MAX_FORMS: usize = 64;

/// The forms long enough to read a gram every 8 bytes, or the others: one short value (an
/// 8-character password) would otherwise halve the step for all of them.
struct Part {
    index: PartIndex,
    /// `ids[local form index] = form index` (into `owner`).
    ids: Vec<u32>,
}

enum PartIndex {
    Grams(grams::GramIndex),
    /// A few short forms (a handful of short passwords), or forms too short for an index:
    /// an automaton whose prefilter skips to their rare bytes costs less than reading a gram
    /// every 4 bytes of the input.
    Automaton(AhoCorasick),
}

/// What [`Registry::find_parts`] found: a stretch of secret `name`'s value, or all of it.
#[derive(Clone, Copy)]
pub(crate) struct FoundPart<'a> {
    pub(crate) name: &'a str,
    pub(crate) whole: bool,
}

pub(crate) struct Registry {
    /// None, one or two parts (long forms, short forms).
    parts: Vec<Part>,
    /// `owner[form] = index into names`.
    owner: Vec<usize>,
    names: Vec<String>,
    /// Stretches of the raw values: `None` when no value has a distinctive one.
    fragments: Option<fragments::Fragments>,
}

impl Registry {
    pub(crate) fn build(secrets: &[(String, Zeroizing<Vec<u8>>)]) -> Result<Self, BuildError> {
        let mut names = Vec::with_capacity(secrets.len());
        // Sorted by name so that when two names hold the same value the placeholder does not
        // depend on insertion order: the first name keeps a shared form.
        let mut sorted: Vec<&(String, Zeroizing<Vec<u8>>)> = secrets.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut owned_forms: Vec<(Zeroizing<Vec<u8>>, usize)> = Vec::new();
        for (name, value) in &sorted {
            let index = names.len();
            names.push(name.clone());
            owned_forms.extend(encoded_forms(value).into_iter().map(|f| (f, index)));
        }
        let fragments = fragments::Fragments::build(
            sorted
                .iter()
                .enumerate()
                .map(|(index, (_, value))| (value.as_slice(), index)),
        );
        // Stable: among equal forms the first owner stays first and is the one kept.
        owned_forms.sort_by(|a, b| a.0.cmp(&b.0));
        owned_forms.dedup_by(|later, earlier| later.0 == earlier.0);
        let (forms, owner): (Vec<Zeroizing<Vec<u8>>>, Vec<usize>) = owned_forms.into_iter().unzip();
        let (long, short): (Vec<_>, Vec<_>) = forms
            .into_iter()
            .enumerate()
            .partition(|(_, f)| f.len() >= grams::LONG_FORM_LEN);
        let mut parts = Vec::new();
        for part in [long, short] {
            if part.is_empty() {
                continue;
            }
            let too_many = || BuildError::Automaton {
                what: "registry",
                message: "too many forms".to_owned(),
            };
            let mut ids = Vec::with_capacity(part.len());
            let mut forms = Vec::with_capacity(part.len());
            for (id, form) in part {
                ids.push(u32::try_from(id).map_err(|_| too_many())?);
                forms.push(form);
            }
            let indexable = forms.iter().all(|f| f.len() >= grams::MIN_FORM_LEN);
            let index = if indexable
                && (forms.len() > SHORT_AUTOMATON_MAX_FORMS
                    || forms[0].len() >= grams::LONG_FORM_LEN)
            {
                PartIndex::Grams(grams::GramIndex::build(forms).ok_or_else(too_many)?)
            } else {
                let kind = if forms.len() <= DFA_MAX_FORMS {
                    AhoCorasickKind::DFA
                } else {
                    AhoCorasickKind::ContiguousNFA
                };
                PartIndex::Automaton(
                    AhoCorasickBuilder::new()
                        .match_kind(MatchKind::Standard)
                        .kind(Some(kind))
                        .build(forms.iter().map(|f| f.as_slice()))
                        .map_err(|e| BuildError::Automaton {
                            what: "registry",
                            message: e.to_string(),
                        })?,
                )
            };
            parts.push(Part { index, ids });
        }
        Ok(Registry {
            parts,
            owner,
            names,
            fragments,
        })
    }

    /// Non-overlapping leftmost-longest matches: (start, end, secret name).
    pub(crate) fn find<'a>(&'a self, input: &[u8]) -> Vec<(usize, usize, &'a str)> {
        let name = |form: usize| self.names[self.owner[form]].as_str();
        // Every occurrence in each part, then by start and length (an automaton reports them
        // by end; the sort is cheap, occurrences are few).
        let mut all = Vec::new();
        for part in &self.parts {
            let id = |form: usize| part.ids[form] as usize;
            match &part.index {
                PartIndex::Grams(index) => all.extend(
                    index
                        .find_all(input)
                        .into_iter()
                        .map(|(start, end, form)| (start, end, id(form))),
                ),
                PartIndex::Automaton(ac) => all.extend(
                    ac.find_overlapping_iter(input)
                        .map(|m| (m.start(), m.end(), id(m.pattern().as_usize()))),
                ),
            }
        }
        all.sort_unstable_by_key(|&(start, end, _)| (start, end));
        // Keep the longest at each start and skip what overlaps a kept one, as leftmost-longest
        // search does.
        let mut out: Vec<(usize, usize, &str)> = Vec::new();
        let mut kept_end = 0;
        for (start, end, form) in all {
            match out.last_mut() {
                // A longer form at the same start (a shorter one overlaps the kept one and
                // falls through to be skipped).
                Some(last) if last.0 == start && end > last.1 => {
                    *last = (start, end, name(form));
                    kept_end = end;
                }
                _ if start >= kept_end => {
                    out.push((start, end, name(form)));
                    kept_end = end;
                }
                _ => {}
            }
        }
        out
    }

    /// Stretches of at least [`fragments::FRAGMENT_LEN`] bytes of a value sent without the
    /// rest of it (see [`fragments`]), read from the grams at `grams` (see
    /// [`fragments::Fragments::find`]; [`Registry::every_gram`] reads them all): (start, end,
    /// secret name and whether it is the whole value), by start. They may overlap each other
    /// and what [`Registry::find`] finds.
    pub(crate) fn find_parts<'a>(
        &'a self,
        input: &[u8],
        grams: impl IntoIterator<Item = usize>,
    ) -> Vec<(usize, usize, FoundPart<'a>)> {
        self.fragments.as_ref().map_or_else(Vec::new, |fragments| {
            fragments
                .find(input, grams)
                .into_iter()
                .map(|(start, end, owner, whole)| {
                    let name = self.names[owner].as_str();
                    (start, end, FoundPart { name, whole })
                })
                .collect()
        })
    }

    /// Every gram [`Registry::find_parts`] may read in `input`.
    pub(crate) fn every_gram(input: &[u8]) -> impl Iterator<Item = usize> {
        fragments::Fragments::every_step(input)
    }

    /// Whether any value has a part worth finding.
    pub(crate) fn has_parts(&self) -> bool {
        self.fragments.is_some()
    }

    /// Whether a part worth finding holds a password's symbol (`!`, `#`, ...): the engine
    /// then classifies those bytes for [`Registry::find_parts`] too.
    pub(crate) fn parts_need_passwords(&self) -> bool {
        self.fragments.as_ref().is_some_and(|f| f.has_symbols())
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    pub(crate) fn memory_usage(&self) -> usize {
        self.fragments.as_ref().map_or(0, |f| f.memory_usage())
            + self
                .parts
                .iter()
                .map(|p| {
                    p.ids.len() * 4
                        + match &p.index {
                            PartIndex::Grams(index) => index.memory_usage(),
                            PartIndex::Automaton(ac) => ac.memory_usage(),
                        }
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    //! The gram index must find exactly what a leftmost-longest automaton over the same
    //! forms finds: same spans, same owners.
    use super::*;
    use proptest::prelude::*;

    fn registry(values: &[Vec<u8>]) -> Registry {
        let secrets: Vec<(String, Zeroizing<Vec<u8>>)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("s{i:04}"), Zeroizing::new(v.clone())))
            .collect();
        Registry::build(&secrets).unwrap()
    }

    fn reference(
        registry: &Registry,
        values: &[Vec<u8>],
        input: &[u8],
    ) -> Vec<(usize, usize, String)> {
        let mut forms: Vec<(Zeroizing<Vec<u8>>, usize)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            forms.extend(encoded_forms(v).into_iter().map(|f| (f, i)));
        }
        forms.sort_by(|a, b| a.0.cmp(&b.0));
        forms.dedup_by(|l, e| l.0 == e.0);
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(forms.iter().map(|f| f.0.as_slice()))
            .unwrap();
        assert_eq!(registry.names.len(), values.len());
        ac.find_iter(input)
            .map(|m| {
                (
                    m.start(),
                    m.end(),
                    format!("s{:04}", forms[m.pattern().as_usize()].1),
                )
            })
            .collect()
    }

    /// Forms planted among filler that shares their bytes, some glued, some cut short: the
    /// registry finds what the automaton finds.
    fn plant_and_compare(
        values: &[Vec<u8>],
        plan: &[(prop::sample::Index, prop::sample::Index, Vec<u8>)],
        steps: &[usize],
    ) -> Result<(), TestCaseError> {
        let registry = registry(values);
        let built: Vec<usize> = registry
            .parts
            .iter()
            .map(|p| match &p.index {
                PartIndex::Grams(index) => index.step(),
                PartIndex::Automaton(_) => 0,
            })
            .collect();
        prop_assert_eq!(built, steps);
        let mut input = Vec::new();
        for (secret, form, filler) in plan {
            input.extend_from_slice(filler);
            let forms = encoded_forms(&values[secret.index(values.len())]);
            let form = &forms[form.index(forms.len())];
            if filler.len() % 5 == 4 {
                input.extend_from_slice(&form[..form.len() - 1]);
            } else {
                input.extend_from_slice(form);
            }
        }
        let got: Vec<(usize, usize, String)> = registry
            .find(&input)
            .into_iter()
            .map(|(s, e, n)| (s, e, n.to_owned()))
            .collect();
        prop_assert_eq!(got, reference(&registry, values, &input));
        Ok(())
    }

    fn plan() -> impl Strategy<Value = Vec<(prop::sample::Index, prop::sample::Index, Vec<u8>)>> {
        proptest::collection::vec(
            (
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), any::<u8>()], 0..12),
            ),
            1..40,
        )
    }

    fn value(len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![Just(b'a'), Just(b'b'), Just(b'/'), Just(b'"'), 0u8..=255],
            len,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// With a value of 8 bytes among long ones: the long forms keep their own index, the
        /// few short ones go in an automaton (a step of 0 here).
        #[test]
        fn a_short_value_among_long_ones_equals_the_automaton(
            short in value(8..9),
            mut values in proptest::collection::vec(value(15..24), 0..90),
            plan in plan(),
        ) {
            values.push(short);
            plant_and_compare(&values, &plan, &[8, 0])?;
        }

        /// Many short values: their forms get a gram index read every 4 bytes.
        #[test]
        fn many_short_values_equal_the_automaton(
            values in proptest::collection::vec(value(8..12), 40..90),
            plan in plan(),
        ) {
            plant_and_compare(&values, &plan, &[8, 4])?;
        }

        /// Every value 15 bytes or more (so is every form): every eighth input gram is read.
        #[test]
        fn gram_index_with_long_forms_equals_the_automaton(
            values in proptest::collection::vec(value(15..24), 1..90),
            plan in plan(),
        ) {
            plant_and_compare(&values, &plan, &[8])?;
        }
    }
}
