//! `airlock redact [FILE]`: what the proxy would send, for a file or stdin.

use std::io::{Read, Write};

use airlock_redact::Layer;
use anyhow::{Context, Result};

use crate::config::Config;
use crate::engine;

/// What `airlock redact` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// The redacted text.
    Text,
    /// The findings as JSON.
    Json,
    /// One line per finding.
    Explain,
}

impl Output {
    pub fn from_flags(json: bool, explain: bool) -> Self {
        match (json, explain) {
            (true, _) => Output::Json,
            (_, true) => Output::Explain,
            _ => Output::Text,
        }
    }
}

pub fn run(config: &Config, file: Option<std::path::PathBuf>, output: Output) -> Result<()> {
    let rules = engine::load_rules(config)?;
    let mut vault = engine::open_vault(config)?;
    let values = engine::registry_values(&mut vault)?;
    let redactor = engine::build_redactor(&mut vault, config, rules, &values)?;
    let input = match file.as_deref() {
        None => read_stdin()?,
        Some(path) if path.as_os_str() == "-" => read_stdin()?,
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
    };
    let redaction = redactor.redact_keeping_lines(&input);
    let mut out = std::io::stdout().lock();
    match output {
        Output::Text => out.write_all(redaction.as_bytes())?,
        Output::Json => {
            let findings: Vec<_> = redaction
                .findings()
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "layer": f.layer.as_str(),
                        "rule": f.source,
                        "start": f.span.start,
                        "end": f.span.end,
                        "line": line_of(&input, f.span.start),
                        "placeholder": f.placeholder,
                    })
                })
                .collect();
            let containers: Vec<_> = redaction
                .containers()
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "kind": c.kind.code(),
                        "start": c.span.start,
                        "end": c.span.end,
                        "line": line_of(&input, c.span.start),
                    })
                })
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::json!({ "findings": findings, "containers": containers })
            )?;
        }
        Output::Explain => {
            for f in redaction.findings() {
                let why = match f.layer {
                    Layer::Registry if f.is_part() => {
                        format!("part of the value of vault secret {:?}", f.source)
                    }
                    Layer::Registry => format!("the value of vault secret {:?}", f.source),
                    Layer::Regex => {
                        let description = redactor.describe(&f.source).unwrap_or("");
                        format!("rule {}: {description}", f.source)
                    }
                    Layer::Entropy => {
                        format!("{}: a high-randomness token no rule claimed", f.source)
                    }
                };
                writeln!(
                    out,
                    "line {}, bytes {}..{} ({} bytes): {} layer, {why} -> {}",
                    line_of(&input, f.span.start),
                    f.span.start,
                    f.span.end,
                    f.span.len(),
                    f.layer.as_str(),
                    f.placeholder
                )?;
            }
        }
    }
    out.flush()?;
    for c in redaction.containers() {
        eprintln!(
            "airlock redact: line {}, bytes {}..{}: {} (encoded); only the registry can read inside it, and the proxy refuses it unless [proxy] documents = \"forward\"",
            line_of(&input, c.span.start),
            c.span.start,
            c.span.end,
            c.kind.name()
        );
    }
    eprintln!(
        "airlock redact: {} replaced (registry {}, regex {}, entropy {})",
        redaction.findings().len(),
        redaction.count(Layer::Registry),
        redaction.count(Layer::Regex),
        redaction.count(Layer::Entropy)
    );
    Ok(())
}

fn read_stdin() -> Result<Vec<u8>> {
    let mut input = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut input)
        .context("reading stdin")?;
    Ok(input)
}

/// The 1-based line number of byte `offset`.
fn line_of(input: &[u8], offset: usize) -> usize {
    1 + input[..offset.min(input.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}
