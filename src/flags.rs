//! Command-line flags: parsed and validated here, with no I/O; `main.rs` turns them into work.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// airlock: the egress firewall between an AI agent and the outside world.
///
/// Runs on its embedded defaults with no configuration file; see `--config`.
#[derive(Debug, Parser)]
#[command(name = "airlock", version, propagate_version = true)]
pub struct Args {
    /// Configuration file (airlock.toml). Without one, the embedded defaults apply.
    #[arg(
        long,
        short,
        global = true,
        env = "AIRLOCK_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the redacting LLM egress proxy.
    ///
    /// Point the agent's LLM base URL at http://LISTEN/{upstream}, for example
    /// http://127.0.0.1:8787/anthropic. Stops on SIGTERM or Ctrl-C after draining requests.
    Serve,
    /// Manage the secrets the proxy keeps from leaving this server.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// The local CA that signs certificates for intercepted HTTPS_PROXY tunnels.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Token usage per hour, agent, upstream and model, as metered by `airlock serve`.
    Usage {
        /// How far back: a duration ("24h", "7d") or a date ("2026-11-01").
        #[arg(long, default_value = "24h")]
        since: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Redact a file (or stdin) with the vault and rules in force and print the result.
    ///
    /// Line structure is preserved; a one-line summary of matches per layer goes to stderr.
    Redact {
        /// The file to redact; stdin when absent or `-`.
        file: Option<PathBuf>,
        /// Print the findings as JSON (layer, rule, byte offsets, placeholder) instead of the
        /// redacted text. Values are never printed.
        #[arg(long, conflicts_with = "explain")]
        json: bool,
        /// Print one line per finding (where, which layer and rule, why) instead of the
        /// redacted text. Values are never printed.
        #[arg(long)]
        explain: bool,
    },
    /// Check redaction rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
}

/// `airlock rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Compile rule files and run every rule's examples and negative examples.
    ///
    /// Without PATH, checks the rules in force (embedded plus `[redaction] rule_files`).
    /// PATH may be a rule file or a directory of `*.toml` rule files. Problems are reported as
    /// FILE:LINE; the exit status is 1 when any check fails.
    Test {
        /// A rule file or a directory of them.
        path: Option<PathBuf>,
    },
}

/// `airlock vault ...`
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Add a secret. The value is read from stdin (never from the command line); one
    /// trailing newline is dropped. On a terminal the input is not echoed.
    Add {
        /// The secret's name: 1-64 characters from A-Z a-z 0-9 _ . - (it appears in
        /// placeholders as SECRET_REF(NAME)).
        name: String,
        #[command(flatten)]
        metadata: MetadataFlags,
    },
    /// Set a secret's value: adds it, or makes the value read from stdin its new version
    /// (the old value stays redacted for the retention period).
    Set {
        /// The secret's name.
        name: String,
        #[command(flatten)]
        metadata: MetadataFlags,
    },
    /// Show a secret's value: only with --reveal, and only to a terminal unless --force.
    /// Every reveal is audited.
    Get {
        /// The secret's name.
        name: String,
        /// Print the value.
        #[arg(long)]
        reveal: bool,
        /// Print it even when stdout is not a terminal (a pipe, a file).
        #[arg(long, requires = "reveal")]
        force: bool,
    },
    /// List secrets: names, metadata and times, never values.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Remove a secret with all its versions.
    #[command(alias = "remove")]
    Rm {
        /// The secret's name.
        name: String,
    },
    /// Re-encrypt every value under a new key and retire the old key.
    RotateKey,
    /// Import a provisioning file, then overwrite and delete it.
    Import {
        /// A JSON object of name -> value, or {"secrets": [{"name", "value", "description",
        /// "kind", "allowed_tools"}]}. Refused when it is a symlink, not yours, or readable by
        /// group or others.
        #[arg(long)]
        bootstrap: PathBuf,
    },
    /// Show the audit log.
    Audit {
        /// Verify the hash chain; exits non-zero naming the first broken row.
        #[arg(long)]
        verify: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `airlock ca ...`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Print the CA certificate (PEM), creating the CA on first use, for clients to trust.
    Export,
}

/// A secret's metadata, on `vault add` and `vault set`.
#[derive(Debug, clap::Args)]
pub struct MetadataFlags {
    /// What the secret is for.
    #[arg(long)]
    pub description: Option<String>,
    /// What sort of credential it is (api_key, password, oauth_token, ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// A tool that may resolve SECRET_REF(NAME) (repeat for several; none: no tool may).
    #[arg(long = "allow-tool", value_name = "TOOL")]
    pub allow_tools: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_consistent() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }
}
