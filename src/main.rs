//! The `airlock` binary: parses flags, wires the library crates together, maps results to
//! exit codes. No business logic lives here.
#![forbid(unsafe_code)]

mod commands;
mod config;
mod engine;
mod flags;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;

use clap::Parser;

use crate::config::Config;
use crate::flags::{Args, Command, LogFormat, RulesCommand};

fn main() -> ExitCode {
    // Before anything holds a secret: no core file, no ptrace by other users, no
    // /proc/PID/mem for them.
    let hardened = harden_process();
    let args = Args::parse();
    init_logging(args.log_format);
    if let Err(error) = hardened {
        tracing::warn!(%error, "could not disable core dumps; a crash could write memory to disk");
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("airlock: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// Disables core dumps (`RLIMIT_CORE` = 0) and marks the process non-dumpable
/// (`PR_SET_DUMPABLE` = 0), so secrets in memory are not written out by a crash.
fn harden_process() -> std::io::Result<()> {
    use rustix::process::{set_dumpable_behavior, setrlimit, DumpableBehavior, Resource, Rlimit};
    setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )?;
    set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    Ok(())
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
        Command::Serve => commands::serve::run(config, args.config.clone()),
        Command::Vault(command) => commands::vault::run(&config, command),
        Command::Ca(flags::CaCommand::Export) => {
            let home = engine::open_vault(&config)?.home().to_owned();
            let ca = airlock_proxy::LocalCa::load_or_create(&home)?;
            print!("{}", ca.cert_pem());
            Ok(())
        }
        Command::Usage { since, json } => commands::usage::run(&config, &since, json),
        Command::Redact {
            file,
            json,
            explain,
        } => commands::redact::run(
            &config,
            file,
            commands::redact::Output::from_flags(json, explain),
        ),
        Command::Rules(RulesCommand::Test { path }) => {
            commands::rules::test(&config, path.as_deref())
        }
    }
}
