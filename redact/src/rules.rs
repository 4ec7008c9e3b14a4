//! The regex layer: token-format rules loaded from TOML, each with its own examples.
//!
//! A rule file is a list of `[[rule]]` tables (see `rules/redaction.toml`). Regexes are
//! compiled with ASCII semantics (`\b`, `\s`, `\w`, `.` and `(?i)` work on bytes). Every rule carries
//! a regex whose first capture group is the secret (the whole match when it has none),
//! keywords for the prefilter (a rule's regex runs only on input that contains one of its
//! keywords, compared ASCII case-insensitively), and positive and negative examples that
//! [`RuleSet::check_examples`] runs. Rule ids appear in placeholders and metrics, so they are
//! restricted to placeholder-safe characters.

use std::collections::HashMap;

use regex_automata::meta::Regex;
use std::ops::Range;

use serde::Deserialize;

use crate::checks::Check;
use crate::keywords::{Hit, KeywordScanner};
use crate::BuildError;

/// Compiled regexes larger than this are refused: a rule must not be able to exhaust memory.
const REGEX_SIZE_LIMIT: usize = 4 << 20;
/// How far after a keyword a rule's regex looks, unless the rule sets `window`.
pub const DEFAULT_WINDOW: usize = 512;
/// How far before a keyword a rule's regex looks: key names before the keyword
/// (`REACT_APP_AUTH_PASSWORD`), URL schemes before `://`.
const LOOK_BEHIND: usize = 192;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    /// Named lists of `ignore_values` patterns that rules in the same file share by name.
    #[serde(default)]
    ignore_sets: std::collections::BTreeMap<String, Vec<String>>,
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
    /// Names of `[ignore_sets]` whose patterns join `ignore_values`.
    #[serde(default)]
    ignore: Vec<String>,
    /// How many bytes after a keyword the regex may reach (default [`DEFAULT_WINDOW`]).
    window: Option<usize>,
    /// How many bytes before a keyword the regex starts (default 192): a match that
    /// starts at its keyword needs only a few, for `\b`.
    look_behind: Option<usize>,
    /// A structure the found value must have.
    #[serde(default)]
    check: Option<Check>,
    /// Where every match starts, if the rule knows: the regex is then tried there for each
    /// keyword hit, not searched for across the window.
    #[serde(default)]
    anchor: Option<Anchor>,
}

/// Where a rule's matches start, relative to the keyword hit that opens it.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
enum Anchor {
    /// Where the keyword starts (takes no `look_behind`).
    Keyword,
    /// At the last line start or `"` before the keyword, at most `look_behind` bytes back: a
    /// regex that begins `(?m)(?:^|")` and allows neither a line break nor a quote before its
    /// keyword can start nowhere else.
    Line,
}

/// One compiled rule.
#[derive(Clone)]
pub struct Rule {
    id: String,
    line: usize,
    description: String,
    group: Option<String>,
    regex: Regex,
    /// Where the regex is tried: once at each window's start (the anchor), or searched for
    /// through the window, match after match. Searched for instead, an anchored rule scanned
    /// every byte of every window (the two generic assignment rules' windows were the larger
    /// part of the regex layer's time).
    anchor: Option<Anchor>,
    keywords: Vec<String>,
    examples: Vec<String>,
    negative_examples: Vec<String>,
    /// The value filters: one regex per `[ignore_sets]` entry the rule names (compiled once
    /// for every rule that names it) and one over its own `ignore_values`.
    ignore: Vec<Regex>,
    window: usize,
    look_behind: usize,
    check: Option<Check>,
}

impl Rule {
    /// How far from a changed byte a match of this rule that reads it can reach: the
    /// look-behind before a keyword, the keyword and the window after it.
    fn reach(&self) -> usize {
        let longest_keyword = self.keywords.iter().map(String::len).max().unwrap_or(0);
        self.look_behind + longest_keyword + self.window
    }

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

    /// The secret spans this rule finds in each of `windows` of `text` (the text before a
    /// window is context for `\b` and `^`): capture group 1 when the regex has one and it took
    /// part in the match, the whole match otherwise. Empty and ignored values are dropped.
    pub(crate) fn find_spans(
        &self,
        text: &[u8],
        windows: &[Range<usize>],
        out: &mut Vec<(usize, usize)>,
    ) {
        // One set of capture slots for all the windows: one per hit was an allocation per
        // keyword hit.
        let mut caps = self.regex.create_captures();
        for window in windows {
            let haystack = regex_automata::Input::new(&text[..window.end]);
            if self.anchor.is_some() {
                let input = haystack
                    .range(window.start..)
                    .anchored(regex_automata::Anchored::Yes);
                self.regex.search_captures(&input, &mut caps);
                self.keep_captured(text, &caps, out);
                continue;
            }
            let mut at = window.start;
            while at <= window.end {
                self.regex
                    .search_captures(&haystack.clone().range(at..), &mut caps);
                let Some(whole) = self.keep_captured(text, &caps, out) else {
                    break;
                };
                at = whole.end.max(whole.start + 1);
            }
        }
    }

    /// Keeps the span of a match in `caps` (its first group that took part, else the whole
    /// match) and returns the whole match's span; `None` when nothing matched.
    fn keep_captured(
        &self,
        text: &[u8],
        caps: &regex_automata::util::captures::Captures,
        out: &mut Vec<(usize, usize)>,
    ) -> Option<Range<usize>> {
        let whole = caps.get_match()?.span();
        let span = (1..caps.group_len())
            .find_map(|group| caps.get_group(group))
            .unwrap_or(whole);
        self.keep(text, whole.start, span.start, span.end, out);
        Some(whole.range())
    }

    /// Adds a found span, widened to whole characters, unless it is empty or its value is
    /// ignored or fails the check (which also reads the match before the value, from
    /// `match_start`: the name a value is assigned to). Classes read bytes, so a capture of
    /// bounded length (`[^\s]{4,62}`) can stop inside a multi-byte character, and replacing up
    /// to there would leave the output neither UTF-8 nor JSON.
    fn keep(
        &self,
        text: &[u8],
        match_start: usize,
        start: usize,
        end: usize,
        out: &mut Vec<(usize, usize)>,
    ) {
        let inside = |b: &u8| b & 0xC0 == 0x80;
        let mut start = start;
        while start > 0 && text.get(start).is_some_and(inside) {
            start -= 1;
        }
        let mut end = end;
        while text.get(end).is_some_and(inside) {
            end += 1;
        }
        let value = &text[start..end];
        let ignored = self.ignore.iter().any(|i| i.is_match(value))
            || self.check.is_some_and(|check| {
                !check.passes_found(text, match_start.min(start)..start, value)
            });
        if start < end && !ignored {
            out.push((start, end));
        }
    }
}

/// A rule's regex: bytes, ASCII classes, no one-pass DFA.
///
/// ASCII: token formats are ASCII, and a Unicode `\b` on non-ASCII text would push the regex
/// engine off its fast path (measured: 14 MB/s against 600). No one-pass DFA: it is built
/// when the regex is compiled, one state per position of a counted repetition, and was 19 KB
/// of the 35 KB of a `[A-Za-z0-9_-]{64}` rule and 3.3 MB of the rule set's 13.8 MB. The
/// captures of a match come from the bounded backtracker instead, over the match's few bytes
/// (the captures and fixtures redacted as fast, measured side by side).
fn rule_regex(pattern: &str) -> Result<Regex, String> {
    Regex::builder()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(
            regex_automata::meta::Config::new()
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .utf8_empty(false)
                .onepass(false),
        )
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// One regex over `patterns` as alternatives, compiled once per distinct list: a set such as
/// `not_a_value` is named by dozens of rules, and compiled into each rule's own filter (27
/// distinct lists) it cost its memory again in each: 0.7 MB of the proxy's idle RSS.
fn compiled_ignore(
    compiled: &mut HashMap<String, Regex>,
    patterns: &[String],
) -> Result<Regex, String> {
    let pattern = patterns
        .iter()
        .map(|v| format!("(?:{v})"))
        .collect::<Vec<_>>()
        .join("|");
    if let Some(regex) = compiled.get(&pattern) {
        return Ok(regex.clone());
    }
    let regex = rule_regex(&pattern)
        .map_err(|e| format!("an ignore_values regex does not compile: {e}"))?;
    compiled.insert(pattern, regex.clone());
    Ok(regex)
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
    /// The example failed only as the whole content of a JSON string (a chat message), where
    /// a closing quote, not a line end, follows it.
    pub in_json_string: bool,
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
            "{}: rule {:?}: {kind} {} {outcome}{}",
            self.line,
            self.rule_id,
            self.index + 1,
            if self.in_json_string {
                " as the content of a JSON string"
            } else {
                ""
            }
        )
    }
}

/// A rule that can reach further than this from a change (its look-behind, keyword and
/// window) is wide: the passes that look again around what was replaced run it over regions
/// of its own. The rest reach a few hundred bytes, the widest (a private key's body, a JSON
/// `"value"` pair) tens of kilobytes, and looking that far around every replacement with
/// every rule scanned a 40 KB request with one secret in it twice.
const WIDE_REACH: usize = 2048;

/// Which of a set's rules a scan runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scope {
    /// Every rule.
    All,
    /// Only the rules that are not wide: their regions are scanned by the set's
    /// [`RuleSet::wide_rules`].
    Near,
}

/// A set of compiled rules and the keyword prefilter over them. Cloning is cheap: compiled
/// regexes and automata are shared.
#[derive(Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Keyword automaton; a hit on pattern `i` triggers the rules `keyword_rules[i]`.
    keywords: Option<std::sync::Arc<KeywordScanner>>,
    keyword_rules: Vec<Vec<usize>>,
    /// Whether keyword `i` is a stem of a secret column's name (the table pass reads at
    /// those hits, from the same scan).
    table_stems: Vec<bool>,
    /// Rules with no keyword: they run on every input.
    always: Vec<usize>,
    /// Which rules are wide (see [`WIDE_REACH`]), and those rules as a set of their own.
    wide: Vec<bool>,
    wide_set: Option<std::sync::Arc<RuleSet>>,
}

impl RuleSet {
    /// An empty set: the regex layer finds nothing.
    pub fn empty() -> Self {
        RuleSet {
            rules: Vec::new(),
            keywords: None,
            keyword_rules: Vec::new(),
            table_stems: Vec::new(),
            always: Vec::new(),
            wide: Vec::new(),
            wide_set: None,
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
        // Rules that name the same value filters share one compiled regex: a set such as
        // `not_a_value` is named by dozens of rules, and each copy cost its own memory.
        let mut compiled_ignores: HashMap<String, Regex> = HashMap::new();
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
            let mut ignore: Vec<Regex> = Vec::new();
            for name in &spec.ignore {
                let set = file.ignore_sets.get(name).ok_or_else(|| {
                    bad(format!(
                        "ignore names {name:?}, which is not an [ignore_sets] entry of this file"
                    ))
                })?;
                ignore.push(compiled_ignore(&mut compiled_ignores, set).map_err(&bad)?);
            }
            if !spec.ignore_values.is_empty() {
                ignore.push(
                    compiled_ignore(&mut compiled_ignores, &spec.ignore_values).map_err(&bad)?,
                );
            }
            match spec.anchor {
                Some(_) if spec.keywords.is_empty() => {
                    return Err(bad("an anchored rule needs keywords to anchor at".into()));
                }
                Some(Anchor::Keyword) if spec.look_behind.is_some() => {
                    return Err(bad(
                        "an anchored rule starts at its keywords: it takes no look_behind".into(),
                    ));
                }
                _ => {}
            }
            let regex = rule_regex(&spec.regex)
                .map_err(|e| bad(format!("the regex does not compile: {e}")))?;
            rules.push(Rule {
                regex,
                anchor: spec.anchor,
                ignore,
                window: spec.window.unwrap_or(DEFAULT_WINDOW),
                look_behind: spec.look_behind.unwrap_or(LOOK_BEHIND),
                check: spec.check,
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
        let wide: Vec<bool> = rules.iter().map(|r| r.reach() > WIDE_REACH).collect();
        let wide_set = if wide.contains(&true) {
            let wide_rules = rules.iter().zip(&wide).filter(|(_, &w)| w);
            let set = Self::index_flat(wide_rules.map(|(r, _)| r.clone()).collect());
            Some(std::sync::Arc::new(set))
        } else {
            None
        };
        Ok(RuleSet {
            wide,
            wide_set,
            ..Self::index_flat(rules)
        })
    }

    /// The set's keyword scan and rule lists, with no rule wide.
    fn index_flat(rules: Vec<Rule>) -> Self {
        let mut always = Vec::new();
        let mut distinct: Vec<String> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if rule.keywords.is_empty() {
                always.push(i);
            }
            for keyword in &rule.keywords {
                let keyword = keyword.to_ascii_lowercase();
                if !distinct.contains(&keyword) {
                    distinct.push(keyword);
                }
            }
        }
        // The table pass runs with the rules and shares their keyword scan.
        if !rules.is_empty() {
            for stem in crate::tables::STEMS {
                if !distinct.iter().any(|k| k == stem) {
                    distinct.push((*stem).to_owned());
                }
            }
        }
        let table_stems = distinct
            .iter()
            .map(|k| crate::tables::STEMS.contains(&k.as_str()))
            .collect();
        // The scan reports every occurrence, overlapping ones too ("password" also reports
        // "pass"), so each keyword opens exactly the rules that list it.
        let keyword_rules: Vec<Vec<usize>> = distinct
            .iter()
            .map(|found| {
                rules
                    .iter()
                    .enumerate()
                    .filter(|(_, rule)| rule.keywords.iter().any(|k| k.eq_ignore_ascii_case(found)))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        let keywords =
            (!distinct.is_empty()).then(|| std::sync::Arc::new(KeywordScanner::new(&distinct)));
        RuleSet {
            wide: vec![false; rules.len()],
            wide_set: None,
            rules,
            keywords,
            keyword_rules,
            table_stems,
            always,
        }
    }

    /// How far from a change a match of one of the `scope`'s rules that involves it can
    /// reach (see [`Rule::reach`]).
    pub(crate) fn reach(&self, scope: Scope) -> usize {
        self.rules
            .iter()
            .zip(&self.wide)
            .filter(|(_, &wide)| scope == Scope::All || !wide)
            .map(|(rule, _)| rule.reach())
            .max()
            .unwrap_or(0)
    }

    /// The wide rules (see [`WIDE_REACH`]) as a set of their own, if there are any: a scan
    /// of [`Scope::Near`] leaves them out.
    pub(crate) fn wide_rules(&self) -> Option<&RuleSet> {
        self.wide_set.as_deref()
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

    /// The rules to run on `text` and where: for each rule with a keyword in the text, the
    /// merged windows around its keyword hits; rules without keywords get the whole text.
    /// In rule order. Where a secret column's name stem occurs (outside media) is added to
    /// `stems`, in text order.
    pub(crate) fn windows(
        &self,
        text: &[u8],
        opaque: &[Range<usize>],
        scope: Scope,
        stems: &mut Vec<usize>,
    ) -> Vec<(usize, Vec<Range<usize>>)> {
        let runs = |index: &usize| scope == Scope::All || !self.wide[*index];
        // (rule, window) pairs, sorted and merged at the end: most inputs open few rules, so
        // nothing is allocated per rule of the set.
        let mut opened: Vec<(usize, Range<usize>)> = self
            .always
            .iter()
            .filter(|i| runs(i))
            .map(|&i| (i, 0..text.len()))
            .collect();
        let Some(ac) = &self.keywords else {
            return self.finish(text, opened, opaque);
        };
        let (hits, opaque) = keyword_hits(ac, text, opaque);
        let in_opaque = |at: usize| {
            let i = opaque.partition_point(|r| r.end <= at);
            opaque.get(i).is_some_and(|r| r.start <= at)
        };
        for &m in &hits {
            if in_opaque(m.start) {
                continue;
            }
            if self.table_stems[m.keyword] {
                stems.push(m.start);
            }
            for &index in self.keyword_rules[m.keyword].iter().filter(|i| runs(i)) {
                let rule = &self.rules[index];
                let start = match rule.anchor {
                    Some(Anchor::Keyword) => m.start,
                    Some(Anchor::Line) => match line_start(text, m.start, rule.look_behind) {
                        Some(start) => start,
                        None => continue,
                    },
                    None => m.start.saturating_sub(rule.look_behind),
                };
                let end = text.len().min(m.end.saturating_add(rule.window));
                opened.push((index, start..end));
            }
        }
        self.finish(text, opened, &opaque)
    }

    /// Finishes each rule's windows: past the token each ends in (never into a media run),
    /// merged per rule, in rule order.
    fn finish(
        &self,
        text: &[u8],
        mut opened: Vec<(usize, Range<usize>)>,
        opaque: &[Range<usize>],
    ) -> Vec<(usize, Vec<Range<usize>>)> {
        for (_, w) in &mut opened {
            // Media runs are sorted and disjoint: the one that could hold the end, if any.
            let run = opaque.get(opaque.partition_point(|r| r.end <= w.end));
            w.end = match run.filter(|r| r.contains(&w.end)) {
                // Never run on into a media blob: no token is cut there, since the blob is
                // one run of token bytes that starts where the window stops.
                Some(run) => run.start.max(w.start),
                None => finish_token(text, w.end),
            };
        }
        opened.sort_unstable_by_key(|(i, w)| (*i, w.start));
        let mut per_rule: Vec<(usize, Vec<Range<usize>>)> = Vec::new();
        for (i, w) in opened {
            let anchored = self.rules[i].anchor.is_some();
            match per_rule.last_mut() {
                // Overlapping or touching windows of one rule merge, so that no byte is
                // scanned twice. An anchored rule's windows keep their starts (each is a
                // keyword hit); hits at one start (`pass`, `password`) share the widest.
                Some((rule, windows)) if *rule == i => match windows.last_mut() {
                    Some(last) if anchored && w.start == last.start => {
                        last.end = last.end.max(w.end);
                    }
                    Some(last) if !anchored && w.start <= last.end => {
                        last.end = last.end.max(w.end);
                    }
                    _ => windows.push(w),
                },
                _ => per_rule.push((i, vec![w])),
            }
        }
        // An anchored match may run as far as a searched one would: to the end of the run of
        // overlapping windows its own belongs to (a quoted value longer than one window, with
        // more keywords inside it, is read to its end either way).
        for (i, windows) in &mut per_rule {
            if self.rules[*i].anchor.is_none() {
                continue;
            }
            let mut group = 0;
            while group < windows.len() {
                let mut reach = windows[group].end;
                let mut next = group + 1;
                while next < windows.len() && windows[next].start <= reach {
                    reach = reach.max(windows[next].end);
                    next += 1;
                }
                for window in &mut windows[group..next] {
                    window.end = reach;
                }
                group = next;
            }
        }
        per_rule
    }

    /// Runs every rule's examples through the regex layer alone. A positive example passes
    /// when its own rule finds something in it; a negative one when its own rule finds
    /// nothing (keyword prefilter included, as in production). Each example is tried twice:
    /// as it is, and as the whole content of a JSON string, as an agent sends it in a chat
    /// message, where a closing quote follows it instead of a line end.
    pub fn check_examples(&self) -> Vec<ExampleFailure> {
        let mut failures = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let fires = |text: &str| {
                let view = crate::json_view::View::new(text.as_bytes());
                let mut spans = Vec::new();
                let opaque = crate::opaque::runs(view.text());
                let windows = self.windows(view.text(), &opaque, Scope::All, &mut Vec::new());
                for (index, windows) in windows {
                    if index == i {
                        rule.find_spans(view.text(), &windows, &mut spans);
                    }
                }
                !spans.is_empty()
            };
            let in_message =
                |text: &str| serde_json::json!({ "role": "user", "content": text }).to_string();
            let mut check = |positive: bool, index: usize, example: &str| {
                let plain = fires(example) == positive;
                if !plain || fires(&in_message(example)) != positive {
                    failures.push(ExampleFailure {
                        rule_id: rule.id.clone(),
                        line: rule.line,
                        positive,
                        index,
                        in_json_string: plain,
                    });
                }
            };
            for (index, example) in rule.examples.iter().enumerate() {
                check(true, index, example);
            }
            for (index, example) in rule.negative_examples.iter().enumerate() {
                check(false, index, example);
            }
        }
        failures
    }
}

/// Where a line-anchored match that holds the keyword at `at` must start: just after the last
/// line break before it or at the last `"`, whichever is later, if that is at most
/// `look_behind` bytes back (the text's start counts as a line start). `None`: no such start
/// within reach, so no match the window search could find.
fn line_start(text: &[u8], at: usize, look_behind: usize) -> Option<usize> {
    let from = at.saturating_sub(look_behind);
    // A line break one byte before the reach still starts a line inside it.
    let scan = &text[from.saturating_sub(1)..at];
    match memchr::memrchr2(b'\n', b'"', scan) {
        Some(i) => {
            let j = from.saturating_sub(1) + i;
            match text[j] {
                b'"' if j >= from => Some(j),
                b'"' => None,
                _ => Some(j + 1),
            }
        }
        None if from == 0 => Some(0),
        None => None,
    }
}

/// The keyword hits in `text` that rules act on, and the opaque runs that stay opaque.
///
/// A run that starts with a keyword is a prefixed token (a base64-encoded PEM key, a long
/// JWT), not anonymous media: it is read like text. Hits inside the other runs open nothing,
/// so those runs are not scanned at all: only the text between them, each stretch running on
/// `longest - 1` bytes into the next run so that a keyword starting before it is seen whole.
/// On a request with a screenshot in it the scan of the image was a third of all the time.
pub(crate) fn keyword_hits(
    ac: &KeywordScanner,
    text: &[u8],
    opaque: &[Range<usize>],
) -> (Vec<Hit>, Vec<Range<usize>>) {
    let longest = ac.longest();
    let opaque: Vec<Range<usize>> = opaque
        .iter()
        .filter(|run| {
            let head = &text[run.start..text.len().min(run.start + longest)];
            !ac.find_all(head).iter().any(|hit| hit.start == 0)
        })
        .cloned()
        .collect();
    if opaque.is_empty() {
        return (ac.find_all(text), opaque);
    }
    let mut hits = Vec::new();
    let mut from = 0;
    for run in opaque
        .iter()
        .chain(std::iter::once(&(text.len()..text.len())))
    {
        let to = text.len().min(run.start + longest.saturating_sub(1));
        if from < to {
            hits.extend(
                ac.find_all(&text[from..to])
                    .into_iter()
                    .map(|hit| Hit {
                        start: hit.start + from,
                        end: hit.end + from,
                        keyword: hit.keyword,
                    })
                    .filter(|hit| hit.start < run.start),
            );
        }
        from = run.end;
    }
    (hits, opaque)
}

/// Moves a window's end past the token it falls in, so a match is never cut short by the
/// window and part of a secret left behind.
fn finish_token(text: &[u8], end: usize) -> usize {
    end + text[end..]
        .iter()
        .take_while(|&&b| {
            !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b',' | b';' | b'<' | b'>'))
        })
        .count()
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}
