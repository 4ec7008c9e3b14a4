//! Wiring: opening the vault under `home` and building the redaction engine from it.

use std::path::PathBuf;
use std::sync::Arc;

use airlock_redact::{PlaceholderKey, Redactor, RuleSet};
use std::io::IsTerminal;

use airlock_vault::{Secret, SecretName, Vault, VaultOptions};
use anyhow::{Context, Result};
use secrecy::SecretString;

use crate::config::Config;

/// The rules shipped with airlock, embedded so that a bare `airlock serve` has them.
pub const EMBEDDED_RULES: &str = include_str!("../rules/redaction.toml");

/// Opens the vault. Without an explicit home, a user who cannot create the system default
/// (`/var/lib/airlock`) gets a per-user home instead of an error.
pub fn open_vault(config: &Config) -> Result<Vault> {
    let options = vault_options(config)?;
    match Vault::open_with(&config.home, options.clone()) {
        Err(airlock_vault::VaultError::Io { source, .. })
            if !config.home_explicit && source.kind() == std::io::ErrorKind::PermissionDenied =>
        {
            let fallback = user_home()
                .context("cannot create /var/lib/airlock and $HOME is not set; set AIRLOCK_HOME")?;
            tracing::info!(home = %fallback.display(), "no access to /var/lib/airlock; using a per-user home");
            Vault::open_with(&fallback, options)
                .with_context(|| format!("opening the vault in {}", fallback.display()))
        }
        other => other.with_context(|| format!("opening the vault in {}", config.home.display())),
    }
}

/// The retention in force and the passphrase, when there is one: `AIRLOCK_VAULT_PASSPHRASE`,
/// or asked for on the terminal when the key is passphrase-protected. With the variable set
/// when no key exists yet, the new key is created passphrase-protected.
fn vault_options(config: &Config) -> Result<VaultOptions> {
    let from_env = std::env::var("AIRLOCK_VAULT_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty());
    let passphrase = match from_env {
        Some(p) => Some(SecretString::from(p)),
        None if config.home.join("vault.key.age").exists() && std::io::stdin().is_terminal() => {
            let typed = rpassword::prompt_password("vault passphrase: ")
                .context("reading the vault passphrase")?;
            Some(SecretString::from(typed))
        }
        None => None,
    };
    Ok(VaultOptions {
        retention: config.retention,
        passphrase,
    })
}

fn user_home() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("airlock"))
}

/// Compiles the embedded rules plus the operator's rule files.
pub fn load_rules(config: &Config) -> Result<RuleSet> {
    let mut rules = RuleSet::from_toml("embedded rules/redaction.toml", EMBEDDED_RULES)?;
    for path in &config.rule_files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read rule file {name}"))?;
        rules = rules.extend(RuleSet::from_toml(&name, &text)?, &name)?;
    }
    Ok(rules)
}

/// What the registry is built from: the vault's values (see [`Vault::registry_values`]),
/// apart from learned ones that are no longer worth remembering (letters alone, which read as
/// a word or a name: [`airlock_redact::worth_remembering`]), which earlier builds learned.
/// They stay in the vault, where `airlock vault rm` removes them.
pub fn registry_values(vault: &mut Vault) -> Result<Vec<(SecretName, Secret)>> {
    let learned: std::collections::HashSet<SecretName> = vault
        .list()?
        .into_iter()
        .filter(|info| info.source == airlock_vault::Source::Detected)
        .map(|info| info.name)
        .collect();
    let mut values = vault.registry_values()?;
    values.retain(|(name, value)| {
        !learned.contains(name) || airlock_redact::worth_remembering(value.expose())
    });
    Ok(values)
}

/// Builds the engine from `values` (what [`registry_values`] read), the rules in
/// force and the entropy setting. The values are passed in so that a caller which also needs
/// them (the proxy's credentials) decrypts the vault once.
pub fn build_redactor(
    vault: &mut Vault,
    config: &Config,
    rules: RuleSet,
    values: &[(SecretName, Secret)],
) -> Result<Arc<Redactor>> {
    let key = vault.placeholder_key()?;
    let mut builder = Redactor::builder(PlaceholderKey::from_bytes(key.expose())?);
    for (name, value) in values {
        builder.secret(name.as_str(), value.expose());
    }
    builder.rules(rules);
    builder.entropy(config.entropy);
    Ok(Arc::new(builder.build()?))
}
