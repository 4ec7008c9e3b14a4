//! The regex layer: token-format rules loaded from TOML, each with its own examples.
//!
//! A rule file is a list of `[[rule]]` tables (see `rules/redaction.toml`). Every rule carries
//! a regex whose first capture group is the secret (the whole match when it has none),
//! keywords for the prefilter (a rule's regex runs only on input that contains one of its
//! keywords, compared ASCII case-insensitively), and positive and negative examples that
//! [`RuleSet::check_examples`] runs. Rule ids appear in placeholders and metrics, so they are
//! restricted to placeholder-safe characters.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::BuildError;

/// Compiled regexes larger than this are refused: a rule must not be able to exhaust memory.
const REGEX_SIZE_LIMIT: usize = 4 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: toml::Spanned<String>,
    description: String,
    #[serde(default)]
    group: Option<String>,
    regex: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negative_examples: Vec<String>,
    /// Regexes a found value must not match (variables, placeholders, code).
    #[serde(default)]
    ignore_values: Vec<String>,
}

/// One compiled rule.
pub struct Rule {
    id: String,
    line: usize,
    description: String,
    group: Option<String>,
    regex: Regex,
    keywords: Vec<String>,
    examples: Vec<String>,
    negative_examples: Vec<String>,
    /// One regex over the `ignore_values` alternatives, if the rule has any.
    ignore: Option<Regex>,
}

impl Rule {
    /// The rule's id, as it appears in placeholders.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The line of the rule file that holds the rule's `id` (1-based).
    pub fn line(&self) -> usize {
        self.line
    }
    /// What the rule finds, for people.
    pub fn description(&self) -> &str {
        &self.description
    }
    /// The provider group (`cloud`, `vcs`, ...), if the file gives one.
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// Tie-break among rules that find the same span: the `generic` group yields to
    /// provider-specific rules, so the placeholder names the most precise rule.
    pub(crate) fn rank(&self) -> u8 {
        u8::from(self.group.as_deref() == Some("generic"))
    }
    /// Texts the rule must find a secret in.
    pub fn examples(&self) -> &[String] {
        &self.examples
    }
    /// Texts the rule must find nothing in.
    pub fn negative_examples(&self) -> &[String] {
        &self.negative_examples
    }

    /// The secret spans this rule finds in `text`: capture group 1 when the regex has one and
    /// it took part in the match, the whole match otherwise. Empty spans are dropped.
    pub(crate) fn find_spans<'t>(
        &'t self,
        text: &'t [u8],
    ) -> impl Iterator<Item = (usize, usize)> + 't {
        let has_group = self.regex.captures_len() > 1;
        self.regex.captures_iter(text).filter_map(move |caps| {
            let span = if has_group {
                caps.iter().skip(1).flatten().next().or_else(|| caps.get(0))
            } else {
                caps.get(0)
            }?;
            let ignored = self
                .ignore
                .as_ref()
                .is_some_and(|ignore| ignore.is_match(&text[span.start()..span.end()]));
            (span.start() < span.end() && !ignored).then_some((span.start(), span.end()))
        })
    }
}

/// A failed example, as [`RuleSet::check_examples`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleFailure {
    /// The rule whose example failed.
    pub rule_id: String,
    /// The line of the rule's `id` in its file.
    pub line: usize,
    /// `true` for a positive example that was not found, `false` for a negative one that was.
    pub positive: bool,
    /// Which example (0-based, in file order).
    pub index: usize,
}

impl std::fmt::Display for ExampleFailure {
    /// `LINE: rule "ID": ...`, to be prefixed with the file name as `FILE:`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, outcome) = if self.positive {
            ("example", "is not found")
        } else {
            ("negative example", "is flagged")
        };
        write!(
            f,
            "{}: rule {:?}: {kind} {} {outcome}",
            self.line,
            self.rule_id,
            self.index + 1
        )
    }
}

/// A set of compiled rules and the keyword prefilter over them.
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Keyword automaton; pattern `i` belongs to rule `keyword_rule[i]`.
    keywords: Option<AhoCorasick>,
    keyword_rule: Vec<usize>,
    /// Rules with no keyword: they run on every input.
    always: Vec<usize>,
}

impl RuleSet {
    /// An empty set: the regex layer finds nothing.
    pub fn empty() -> Self {
        RuleSet {
            rules: Vec::new(),
            keywords: None,
            keyword_rule: Vec::new(),
            always: Vec::new(),
        }
    }

    /// Parses and compiles a rule file. `source_name` (a path, or `embedded`) prefixes errors.
    ///
    /// # Errors
    /// A [`BuildError`] naming the file and, for a bad rule, the rule id: TOML syntax, an
    /// unknown field, an invalid id, a duplicate id, a regex that does not compile, a rule
    /// without examples or negative examples.
    pub fn from_toml(source_name: &str, text: &str) -> Result<Self, BuildError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| BuildError::RuleFile {
            source_name: source_name.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        let mut rules: Vec<Rule> = Vec::with_capacity(file.rule.len());
        for spec in file.rule {
            let line = line_of(text, spec.id.span().start);
            let id = spec.id.into_inner();
            let bad = |reason: String| BuildError::Rule {
                source_name: source_name.to_owned(),
                line,
                id: id.clone(),
                reason,
            };
            if !crate::placeholder::is_valid_name(&id) {
                return Err(bad(
                    "the id must be 1-64 characters from A-Z a-z 0-9 _ . -".into()
                ));
            }
            if rules.iter().any(|r| r.id == id) {
                return Err(bad("the id is used by an earlier rule".into()));
            }
            if spec.examples.is_empty() || spec.negative_examples.is_empty() {
                return Err(bad(
                    "every rule needs at least one example and one negative_example".into(),
                ));
            }
            if spec.keywords.iter().any(|k| k.is_empty()) {
                return Err(bad("keywords must not be empty strings".into()));
            }
            let regex = RegexBuilder::new(&spec.regex)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| bad(format!("the regex does not compile: {e}")))?;
            let ignore = if spec.ignore_values.is_empty() {
                None
            } else {
                let alternatives: Vec<String> = spec
                    .ignore_values
                    .iter()
                    .map(|v| format!("(?:{v})"))
                    .collect();
                Some(
                    RegexBuilder::new(&alternatives.join("|"))
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| {
                            bad(format!("an ignore_values regex does not compile: {e}"))
                        })?,
                )
            };
            rules.push(Rule {
                regex,
                ignore,
                id,
                line,
                description: spec.description,
                group: spec.group,
                keywords: spec.keywords,
                examples: spec.examples,
                negative_examples: spec.negative_examples,
            });
        }
        Self::index(rules)
    }

    fn index(rules: Vec<Rule>) -> Result<Self, BuildError> {
        let mut patterns = Vec::new();
        let mut keyword_rule = Vec::new();
        let mut always = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                always.push(i);
            }
            for keyword in &rule.keywords {
                patterns.push(keyword.as_bytes());
                keyword_rule.push(i);
            }
        }
        let keywords = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&patterns)
                    .map_err(|e| BuildError::Automaton {
                        what: "keyword",
                        message: e.to_string(),
                    })?,
            )
        };
        Ok(RuleSet {
            rules,
            keywords,
            keyword_rule,
            always,
        })
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Merges another set into this one (later files extend earlier ones).
    ///
    /// # Errors
    /// [`BuildError::Rule`] when both sets define the same id.
    pub fn extend(self, other: RuleSet, other_name: &str) -> Result<Self, BuildError> {
        let mut rules = self.rules;
        for rule in other.rules {
            if rules.iter().any(|r| r.id == rule.id) {
                return Err(BuildError::Rule {
                    source_name: other_name.to_owned(),
                    line: rule.line,
                    id: rule.id,
                    reason: "the id is already defined by an earlier rule file".into(),
                });
            }
            rules.push(rule);
        }
        Self::index(rules)
    }

    /// Indices of the rules whose keywords occur in `text`, plus those without keywords,
    /// in rule order.
    pub(crate) fn triggered(&self, text: &[u8]) -> Vec<usize> {
        let mut hit = vec![false; self.rules.len()];
        for &i in &self.always {
            hit[i] = true;
        }
        if let Some(ac) = &self.keywords {
            // Overlapping search: a short keyword must not hide a longer one that starts
            // at the same place.
            for m in ac.find_overlapping_iter(text) {
                hit[self.keyword_rule[m.pattern().as_usize()]] = true;
            }
        }
        hit.iter()
            .enumerate()
            .filter_map(|(i, &h)| h.then_some(i))
            .collect()
    }

    /// Runs every rule's examples through the regex layer alone. A positive example passes
    /// when its own rule finds something in it; a negative one when its own rule finds
    /// nothing (keyword prefilter included, as in production).
    pub fn check_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let fires = |text: &str| {
                let view = crate::json_view::View::new(text.as_bytes());
                self.triggered(view.text()).contains(&i)
                    && rule.find_spans(view.text()).next().is_some()
            };
            for (index, example) in rule.examples.iter().enumerate() {
                if !fires(example) {
                    failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        line: rule.line,
                        positive: true,
                        index,
                    });
                }
            }
            for (index, example) in rule.negative_examples.iter().enumerate() {
                if fires(example) {
                    failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        line: rule.line,
                        positive: false,
                        index,
                    });
                }
            }
        }
        failures
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}
