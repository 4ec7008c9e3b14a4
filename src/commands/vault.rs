//! `airlock vault ...`: adding, listing and removing secrets.

use std::io::{IsTerminal, Read, Write};

use airlock_vault::{Secret, SecretName};
use anyhow::{Context, Result};

use crate::config::Config;
use crate::engine;
use crate::flags::VaultCommand;

pub fn run(config: &Config, command: VaultCommand) -> Result<()> {
    let mut vault = engine::open_vault(config)?;
    match command {
        VaultCommand::Add { name } => {
            let name = SecretName::new(&name)?;
            let value = read_value(&name)?;
            vault.add(&name, &value)?;
            eprintln!("airlock: added {name}; it is redacted as SECRET_REF({name})");
        }
        VaultCommand::List { json } => {
            let list = vault.list()?;
            let mut out = std::io::stdout().lock();
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|s| {
                        serde_json::json!({
                            "name": s.name.as_str(),
                            "source": s.source.as_str(),
                            "created_at": airlock_vault::format_time(s.created_at),
                            "updated_at": airlock_vault::format_time(s.updated_at),
                        })
                    })
                    .collect();
                writeln!(out, "{}", serde_json::Value::Array(rows))?;
            } else {
                let width = list
                    .iter()
                    .map(|s| s.name.as_str().len())
                    .max()
                    .unwrap_or(0)
                    .max(4);
                writeln!(
                    out,
                    "{:width$}  {:8}  {:20}  UPDATED",
                    "NAME", "SOURCE", "CREATED"
                )?;
                for s in &list {
                    writeln!(
                        out,
                        "{:width$}  {:8}  {:20}  {}",
                        s.name.as_str(),
                        s.source.as_str(),
                        airlock_vault::format_time(s.created_at),
                        airlock_vault::format_time(s.updated_at)
                    )?;
                }
            }
        }
        VaultCommand::Rm { name } => {
            let name = SecretName::new(&name)?;
            vault.remove(&name)?;
            eprintln!("airlock: removed {name}");
        }
    }
    Ok(())
}

/// Reads a secret value from stdin: hidden when typed at a terminal, otherwise piped in
/// whole. One trailing newline (`\n` or `\r\n`) is dropped.
fn read_value(name: &SecretName) -> Result<Secret> {
    let stdin = std::io::stdin();
    let mut bytes = if stdin.is_terminal() {
        let typed = rpassword::prompt_password(format!("value for {name} (not echoed): "))
            .context("reading the value from the terminal")?;
        typed.into_bytes()
    } else {
        let mut buf = Vec::new();
        stdin
            .lock()
            .take(airlock_vault::MAX_VALUE_LEN as u64 + 3)
            .read_to_end(&mut buf)
            .context("reading the value from stdin")?;
        buf
    };
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    Ok(Secret::new(bytes))
}
