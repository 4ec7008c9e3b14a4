//! `airlock vault ...`: managing secrets, the key, bootstrap files and the audit log.

use std::io::{IsTerminal, Read, Write};

use airlock_vault::{Action, Metadata, Secret, SecretName, Vault};
use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::engine;
use crate::flags::{MetadataFlags, VaultCommand};

pub fn run(config: &Config, command: VaultCommand) -> Result<()> {
    let mut vault = engine::open_vault(config)?;
    match command {
        VaultCommand::Add { name, metadata } => {
            let name = SecretName::new(&name)?;
            let value = read_value(&name)?;
            vault.add_with(&name, &value, &metadata_from(metadata, None))?;
            eprintln!("airlock: added {name}; it is redacted as SECRET_REF({name})");
        }
        VaultCommand::Set { name, metadata } => {
            let name = SecretName::new(&name)?;
            let given = metadata.description.is_some()
                || metadata.kind.is_some()
                || !metadata.allow_tools.is_empty();
            let current = vault.list()?.into_iter().find(|s| s.name == name);
            let metadata =
                given.then(|| metadata_from(metadata, current.as_ref().map(|c| &c.metadata)));
            let value = read_value(&name)?;
            let version = vault.set(&name, &value, metadata.as_ref())?;
            if version == 1 {
                eprintln!("airlock: added {name}; it is redacted as SECRET_REF({name})");
            } else {
                eprintln!("airlock: {name} is now version {version}; older values stay redacted for the retention period");
            }
        }
        VaultCommand::Get {
            name,
            reveal,
            force,
        } => {
            let name = SecretName::new(&name)?;
            if !reveal {
                let info = vault.list()?.into_iter().find(|s| s.name == name);
                let Some(info) = info else {
                    bail!("no secret named {name:?}");
                };
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", info_json(&info))?;
                eprintln!("airlock: the value is shown only with --reveal");
                return Ok(());
            }
            if !force && !std::io::stdout().is_terminal() {
                vault.record_denied(Action::Reveal, &name, "stdout is not a terminal")?;
                bail!("refusing to print {name} to something that is not a terminal; add --force to do it anyway (audited)");
            }
            let value = vault.reveal(&name)?;
            let mut out = std::io::stdout().lock();
            out.write_all(value.expose())?;
            out.write_all(b"\n")?;
        }
        VaultCommand::List { json } => list(&vault, json)?,
        VaultCommand::Rm { name } => {
            let name = SecretName::new(&name)?;
            vault.remove(&name)?;
            eprintln!("airlock: removed {name}");
        }
        VaultCommand::RotateKey => {
            let count = vault.rotate_key()?;
            eprintln!(
                "airlock: {count} sealed values re-encrypted under a new key ({}); the old key is retired",
                vault.key_source().path().display()
            );
        }
        VaultCommand::Import { bootstrap } => {
            let report = vault.import_bootstrap(&bootstrap)?;
            eprintln!(
                "airlock: imported {}: {} added, {} updated, {} unchanged; the file was overwritten and removed",
                bootstrap.display(),
                report.added,
                report.updated,
                report.unchanged
            );
        }
        VaultCommand::Audit { verify, json } => audit(&mut vault, verify, json)?,
    }
    Ok(())
}

fn metadata_from(flags: MetadataFlags, current: Option<&Metadata>) -> Metadata {
    let current = current.cloned().unwrap_or_default();
    Metadata {
        description: flags.description.unwrap_or(current.description),
        kind: flags.kind.unwrap_or(current.kind),
        allowed_tools: if flags.allow_tools.is_empty() {
            current.allowed_tools
        } else {
            flags.allow_tools
        },
    }
}

fn info_json(s: &airlock_vault::SecretInfo) -> serde_json::Value {
    let time = |t| airlock_vault::format_time(t);
    serde_json::json!({
        "name": s.name.as_str(),
        "source": s.source.as_str(),
        "description": s.metadata.description,
        "kind": s.metadata.kind,
        "allowed_tools": s.metadata.allowed_tools,
        "version": s.version,
        "retained_versions": s.retained_versions,
        "created_at": time(s.created_at),
        "rotated_at": time(s.rotated_at),
        "last_used_at": s.last_used_at.map(time),
    })
}

fn list(vault: &Vault, json: bool) -> Result<()> {
    let list = vault.list()?;
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = list.iter().map(info_json).collect();
        writeln!(out, "{}", serde_json::Value::Array(rows))?;
        return Ok(());
    }
    let width = list
        .iter()
        .map(|s| s.name.as_str().len())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(
        out,
        "{:width$}  {:9}  {:>3}  {:20}  {:20}  TOOLS",
        "NAME", "SOURCE", "VER", "CREATED", "ROTATED"
    )?;
    for s in &list {
        writeln!(
            out,
            "{:width$}  {:9}  {:>3}  {:20}  {:20}  {}",
            s.name.as_str(),
            s.source.as_str(),
            s.version,
            airlock_vault::format_time(s.created_at),
            airlock_vault::format_time(s.rotated_at),
            s.metadata.allowed_tools.join(",")
        )?;
    }
    Ok(())
}

fn audit(vault: &mut Vault, verify: bool, json: bool) -> Result<()> {
    if verify {
        let rows = vault
            .verify_audit()
            .context("the audit log does not verify")?;
        eprintln!("airlock: audit log intact ({rows} rows)");
        return Ok(());
    }
    let entries = vault.audit_entries()?;
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "id": e.id,
                    "at": airlock_vault::format_time(e.at),
                    "action": e.action,
                    "name": e.name,
                    "outcome": e.outcome,
                    "detail": e.detail,
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::Value::Array(rows))?;
        return Ok(());
    }
    for e in &entries {
        writeln!(
            out,
            "{:>6}  {}  {:10}  {:9}  {}  {}",
            e.id,
            airlock_vault::format_time(e.at),
            e.action,
            e.outcome,
            e.name,
            e.detail
        )?;
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
