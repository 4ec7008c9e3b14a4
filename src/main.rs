//! The `airlock` binary: parses flags, wires the library crates together, maps results to
//! exit codes. No business logic lives here.
#![forbid(unsafe_code)]

mod config;
mod engine;
mod flags;

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use airlock_redact::Layer;
use airlock_vault::{Secret, SecretName};
use anyhow::{Context, Result};
use clap::Parser;

use crate::config::Config;
use crate::flags::{Args, Command, LogFormat, VaultCommand};

/// How long in-flight requests may take to finish after SIGTERM.
const DRAIN: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(args.log_format);
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("airlock: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIRLOCK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run(args: Args) -> Result<()> {
    let config = Config::load(args.config.as_deref())?;
    match args.command {
        Command::Serve => serve(config),
        Command::Vault(command) => vault(&config, command),
        Command::Redact { file } => redact(&config, file),
    }
}

fn serve(config: Config) -> Result<()> {
    let rules = engine::load_rules(&config)?;
    let mut vault = engine::open_vault(&config)?;
    let redactor = engine::build_redactor(&mut vault, rules)?;
    drop(vault);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let registry = redactor.registry_len();
        let rules = redactor.rules().rules().len();
        let proxy = airlock_proxy::Proxy::bind(config.proxy, redactor).await?;
        let addr = proxy.local_addr().context("reading the bound address")?;
        tracing::info!(
            registry_secrets = registry,
            rules,
            "airlock proxy listening on http://{addr}"
        );
        proxy.serve(shutdown_signal(), DRAIN).await?;
        Ok(())
    })
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot watch SIGTERM; only Ctrl-C stops the proxy");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
}

fn vault(config: &Config, command: VaultCommand) -> Result<()> {
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
                writeln!(out, "{:width$}  {:20}  UPDATED", "NAME", "CREATED")?;
                for s in &list {
                    writeln!(
                        out,
                        "{:width$}  {:20}  {}",
                        s.name.as_str(),
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

fn redact(config: &Config, file: Option<std::path::PathBuf>) -> Result<()> {
    let rules = engine::load_rules(config)?;
    let mut vault = engine::open_vault(config)?;
    let redactor = engine::build_redactor(&mut vault, rules)?;
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
        "airlock redact: {} replaced (registry {}, regex {})",
        redaction.findings().len(),
        redaction.count(Layer::Registry),
        redaction.count(Layer::Regex)
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
