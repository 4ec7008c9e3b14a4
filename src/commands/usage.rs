//! `airlock usage`: the metered token counts, per hour, agent, upstream and model.

use std::io::Write;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::config::Config;
use crate::engine;

pub fn run(config: &Config, since: &str, json: bool) -> Result<()> {
    let from = parse_since(since)?;
    // The vault decides where home is (it may fall back to a per-user directory).
    let home = engine::open_vault(config)?.home().to_owned();
    let store = airlock_usage::UsageStore::open(&home)?;
    let rows = store.since(from)?;
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "hour": airlock_vault::format_time(r.at),
                    "agent": r.agent,
                    "upstream": r.upstream,
                    "model": r.model,
                    "requests": r.requests,
                    "input_tokens": r.input_tokens,
                    "output_tokens": r.output_tokens,
                    "cache_creation_tokens": r.cache_creation_tokens,
                    "cache_read_tokens": r.cache_read_tokens,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(rows))?;
        return Ok(());
    }
    writeln!(
        out,
        "{:20}  {:16}  {:10}  {:28}  {:>8}  {:>12}  {:>12}  {:>12}  {:>12}",
        "HOUR",
        "AGENT",
        "UPSTREAM",
        "MODEL",
        "REQUESTS",
        "INPUT",
        "OUTPUT",
        "CACHE_WRITE",
        "CACHE_READ"
    )?;
    for r in &rows {
        writeln!(
            out,
            "{:20}  {:16}  {:10}  {:28}  {:>8}  {:>12}  {:>12}  {:>12}  {:>12}",
            airlock_vault::format_time(r.at),
            r.agent,
            r.upstream,
            r.model,
            r.requests,
            r.input_tokens,
            r.output_tokens,
            r.cache_creation_tokens,
            r.cache_read_tokens
        )?;
    }
    Ok(())
}

/// A duration back from now ("24h", "7d") or a date or time ("2026-11-01",
/// "2026-11-01T08:00:00Z").
fn parse_since(text: &str) -> Result<SystemTime> {
    if let Ok(back) = humantime::parse_duration(text) {
        return Ok(SystemTime::now()
            .checked_sub(back)
            .unwrap_or(SystemTime::UNIX_EPOCH));
    }
    let stamp = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    humantime::parse_rfc3339(&stamp)
        .with_context(|| {
            format!("--since {text:?}: use a duration (\"24h\", \"7d\") or a date (\"2026-11-01\")")
        })
        .map(|t| t.max(SystemTime::UNIX_EPOCH + Duration::ZERO))
}
