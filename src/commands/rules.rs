//! `airlock rules test [PATH]`: compile rule files and run their examples, FILE:LINE on error.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use airlock_redact::RuleSet;
use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::engine::EMBEDDED_RULES;

/// A rule file to check: its name for messages, and its text.
struct Source {
    name: String,
    text: String,
}

pub fn test(config: &Config, path: Option<&Path>) -> Result<()> {
    let sources = match path {
        None => {
            let mut sources = vec![Source {
                name: "embedded rules/redaction.toml".into(),
                text: EMBEDDED_RULES.into(),
            }];
            for file in &config.rule_files {
                sources.push(read(file)?);
            }
            sources
        }
        Some(path) if path.is_dir() => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot list {}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            if files.is_empty() {
                bail!("{} holds no *.toml rule file", path.display());
            }
            files.iter().map(|f| read(f)).collect::<Result<_>>()?
        }
        Some(file) => vec![read(file)?],
    };

    let mut out = std::io::stdout().lock();
    let mut failed = 0usize;
    let mut seen: HashMap<String, String> = HashMap::new();
    for source in &sources {
        let rules = match RuleSet::from_toml(&source.name, &source.text) {
            Ok(rules) => rules,
            Err(error) => {
                writeln!(out, "{error}")?;
                failed += 1;
                continue;
            }
        };
        let examples: usize = rules
            .rules()
            .iter()
            .map(|r| r.examples().len() + r.negative_examples().len())
            .sum();
        let failures = rules.check_examples();
        for failure in &failures {
            writeln!(out, "{}:{failure}", source.name)?;
        }
        failed += failures.len();
        if failures.is_empty() {
            writeln!(
                out,
                "{}: {} rules, {examples} examples: ok",
                source.name,
                rules.rules().len()
            )?;
        }
        // Files are loaded together in production, so ids must be unique across them too.
        for rule in rules.rules() {
            if let Some(first) = seen.insert(rule.id().to_owned(), source.name.clone()) {
                writeln!(
                    out,
                    "{}:{}: rule {:?}: the id is already defined in {first}",
                    source.name,
                    rule.line(),
                    rule.id()
                )?;
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} rule check(s) failed");
    }
    Ok(())
}

fn read(path: &Path) -> Result<Source> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read rule file {}", path.display()))?;
    Ok(Source {
        name: path.display().to_string(),
        text,
    })
}
