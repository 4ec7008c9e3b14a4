//! Bootstrap import: provisioning drops a file of secrets on the server, airlock stores them
//! and destroys the file.
//!
//! Accepted forms (JSON):
//! - an object of name → value: `{"stripe_key": "sk_live_…", "db_password": "…"}`;
//! - the richer form with metadata:
//!   `{"secrets": [{"name": "…", "value": "…", "description": "…", "kind": "…",
//!   "allowed_tools": ["…"]}]}`.
//!
//! The file is refused when it is a symlink, not owned by the running user, or readable or
//! writable by group or others. Every entry is validated before anything is written, all are
//! stored in one transaction (an unchanged value is skipped, a changed one becomes a new
//! version), and only then is the file overwritten and unlinked: re-running after a crash
//! finishes the job without duplicates. Values are parsed into zeroizing strings.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rusqlite::TransactionBehavior;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::audit::{Action, Outcome};
use crate::{Metadata, Secret, SecretName, Source, Vault, VaultError};

/// Bootstrap files larger than this are refused.
const MAX_FILE: u64 = 16 << 20;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportReport {
    /// New secrets.
    pub added: usize,
    /// Secrets whose value changed (a new version).
    pub updated: usize,
    /// Secrets already holding the value (a re-run).
    pub unchanged: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rich {
    secrets: Vec<RichEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RichEntry {
    name: String,
    value: SecretString,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    allowed_tools: Vec<String>,
}

impl Vault {
    /// Imports a bootstrap file, then overwrites and unlinks it.
    ///
    /// # Errors
    /// [`VaultError::Bootstrap`] for a refused file or entry (nothing imported, file kept);
    /// [`VaultError::Io`] when the file cannot be destroyed after a successful import.
    pub fn import_bootstrap(&mut self, path: &Path) -> Result<ImportReport, VaultError> {
        let refuse = |reason: String| VaultError::Bootstrap {
            path: path.to_owned(),
            reason,
        };
        let meta = fs::symlink_metadata(path).map_err(|e| refuse(e.to_string()))?;
        if meta.file_type().is_symlink() {
            return Err(refuse("is a symlink; give the file itself".into()));
        }
        if !meta.file_type().is_file() {
            return Err(refuse("is not a regular file".into()));
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(refuse(format!(
                "is owned by uid {}, not by the user running airlock (uid {me})",
                meta.uid()
            )));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(refuse(
                "is readable or writable by group or others; provision it with mode 0600".into(),
            ));
        }
        if meta.len() > MAX_FILE {
            return Err(refuse(format!("is larger than {MAX_FILE} bytes")));
        }
        let text = zeroize::Zeroizing::new(
            fs::read_to_string(path).map_err(|e| refuse(format!("cannot be read as text: {e}")))?,
        );
        let entries = parse(&text).map_err(refuse)?;
        // Validate everything first: one bad entry and nothing is written.
        let mut prepared = Vec::with_capacity(entries.len());
        for (name, value, metadata) in entries {
            let name = SecretName::new(&name).map_err(|e| refuse(e.to_string()))?;
            let value = Secret::new(value.expose_secret().as_bytes().to_vec());
            crate::check_value(&name, &value)
                .and_then(|()| metadata.validate())
                .map_err(|e| refuse(format!("{name}: {e}")))?;
            prepared.push((name, value, metadata));
        }
        let key = self.audit_key()?;
        let mut report = ImportReport::default();
        let mut sealed = Vec::with_capacity(prepared.len());
        for (name, value, metadata) in &prepared {
            let unchanged = self
                .current_value(name)?
                .is_some_and(|current| current.expose() == value.expose());
            if unchanged {
                report.unchanged += 1;
            } else {
                sealed.push((name, self.seal(value.expose())?, metadata));
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (name, ciphertext, metadata) in &sealed {
            let version = crate::set_in(
                &tx,
                &key,
                name,
                ciphertext,
                Some(metadata),
                Source::Bootstrap,
                "bootstrap",
            )?;
            if version == 1 {
                report.added += 1;
            } else {
                report.updated += 1;
            }
        }
        crate::audit::append(
            &tx,
            &key,
            Action::Import,
            &path.display().to_string(),
            Outcome::Ok,
            &format!(
                "{} added, {} updated, {} unchanged",
                report.added, report.updated, report.unchanged
            ),
        )?;
        tx.commit()?;
        destroy(path, meta.len())?;
        Ok(report)
    }
}

fn parse(text: &str) -> Result<Vec<(String, SecretString, Metadata)>, String> {
    if let Ok(rich) = serde_json::from_str::<Rich>(text) {
        return Ok(rich
            .secrets
            .into_iter()
            .map(|e| {
                (
                    e.name,
                    e.value,
                    Metadata {
                        description: e.description,
                        kind: e.kind,
                        allowed_tools: e.allowed_tools,
                    },
                )
            })
            .collect());
    }
    let plain: BTreeMap<String, SecretString> = serde_json::from_str(text).map_err(|e| {
        format!(
            "is neither a JSON object of name -> value nor {{\"secrets\": [...]}} (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    Ok(plain
        .into_iter()
        .map(|(name, value)| (name, value, Metadata::default()))
        .collect())
}

/// Unlinks the file (synced), then overwrites its bytes through a descriptor opened
/// before: at every instant the file is either whole at its path (a re-run finds every value
/// unchanged) or gone, never present but blanked.
fn destroy(path: &Path, len: u64) -> Result<(), VaultError> {
    let io = |source| VaultError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new().write(true).open(path).map_err(io)?;
    fs::remove_file(path).map_err(io)?;
    crate::key::sync_dir(path)?;
    file.write_all(&vec![0u8; usize::try_from(len).unwrap_or(0)])
        .map_err(io)?;
    file.sync_all().map_err(io)
}
