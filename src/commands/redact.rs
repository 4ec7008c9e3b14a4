//! `airlock redact [FILE]`: what the proxy would send, for a file or stdin.

use std::io::{Read, Write};

use airlock_redact::Layer;
use anyhow::{Context, Result};

use crate::config::Config;
use crate::engine;

pub fn run(config: &Config, file: Option<std::path::PathBuf>) -> Result<()> {
    let rules = engine::load_rules(config)?;
    let mut vault = engine::open_vault(config)?;
    let redactor = engine::build_redactor(&mut vault, config, rules)?;
    let input = match file.as_deref() {
        None => read_stdin()?,
        Some(path) if path.as_os_str() == "-" => read_stdin()?,
        Some(path) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
    };
    let redaction = redactor.redact_keeping_lines(&input);
    let mut out = std::io::stdout().lock();
    out.write_all(redaction.as_bytes())?;
    out.flush()?;
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
