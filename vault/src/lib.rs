//! airlock's secret store.
//!
//! This crate owns the secrets of the customer's business tools and LLM providers: it keeps
//! them in a SQLite database under `home`, each value sealed with age under an X25519 key
//! ([`key`]: a systemd credential, a key file or a passphrase-protected key file), and hands
//! them out only as [`Secret`]s. Every value a secret has had is a row in `versions`; older
//! ones are kept for the retention period (they stay in the redaction registry meanwhile).
//! Every read, write, resolution, rotation and failed attempt is appended to a hash-chained
//! audit log ([`audit`]). It must never log, print or put a value into an error; names
//! (operator-chosen) are fine.
//!
//! The database runs in WAL mode with `synchronous=FULL`, so a write that returned is on
//! disk, and every change is one transaction together with its audit row.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod audit;
mod error;
mod import;
mod key;
mod resolve;
mod schema;
mod secret;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use secrecy::SecretString;
use zeroize::Zeroizing;

pub use audit::{Action, Entry as AuditEntry, Outcome};
pub use error::VaultError;
pub use import::ImportReport;
pub use key::KeySource;
pub use secret::{Secret, SecretName, MAX_VALUE_LEN, MIN_VALUE_LEN};

/// The meta row holding the key behind detected-value placeholders.
const PLACEHOLDER_KEY: &str = "placeholder_key";
/// The meta row holding the audit chain's HMAC key.
const AUDIT_KEY: &str = "audit_key";
/// The settings row naming the recipient every value is sealed for.
const RECIPIENT: &str = "recipient";
/// How long older versions are kept unless configured.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// Where a secret came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An operator added it.
    Manual,
    /// Provisioning put it there (`vault import --bootstrap`).
    Bootstrap,
    /// The proxy's regex or entropy layer found it in traffic and remembered it, so that
    /// the registry catches it from then on in every encoding.
    Detected,
}

impl Source {
    /// The name stored in the database and shown by `vault list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Bootstrap => "bootstrap",
            Source::Detected => "detected",
        }
    }

    fn parse(text: &str) -> Source {
        match text {
            "detected" => Source::Detected,
            "bootstrap" => Source::Bootstrap,
            _ => Source::Manual,
        }
    }
}

/// What an operator says about a secret. Not secret.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Free text.
    pub description: String,
    /// What sort of credential (`api_key`, `password`, `oauth_token`, ...).
    pub kind: String,
    /// The tools that may resolve `SECRET_REF(name)`; none means no tool may.
    pub allowed_tools: Vec<String>,
}

impl Metadata {
    fn validate(&self) -> Result<(), VaultError> {
        for tool in &self.allowed_tools {
            let ok = !tool.is_empty()
                && tool.len() <= 64
                && tool
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
            if !ok {
                return Err(VaultError::InvalidTool { tool: tool.clone() });
            }
        }
        Ok(())
    }

    fn tools_column(&self) -> String {
        self.allowed_tools.join(",")
    }
}

/// A secret's metadata: what `vault list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The name.
    pub name: SecretName,
    /// Where it came from.
    pub source: Source,
    /// Description, kind and allowed tools.
    pub metadata: Metadata,
    /// When it was added.
    pub created_at: SystemTime,
    /// When its current value was set.
    pub rotated_at: SystemTime,
    /// When a tool last resolved it.
    pub last_used_at: Option<SystemTime>,
    /// The current version (1 for a value never changed).
    pub version: i64,
    /// Older values still kept (and still redacted).
    pub retained_versions: usize,
}

/// How to open a vault.
#[derive(Clone)]
pub struct VaultOptions {
    /// How long a replaced value is kept (and redacted).
    pub retention: Duration,
    /// The passphrase for a passphrase-protected key (or to create one).
    pub passphrase: Option<SecretString>,
}

impl Default for VaultOptions {
    fn default() -> Self {
        VaultOptions {
            retention: DEFAULT_RETENTION,
            passphrase: None,
        }
    }
}

/// An open vault.
pub struct Vault {
    conn: Connection,
    key: key::Key,
    home: PathBuf,
    options: VaultOptions,
    audit_key: Option<audit::AuditKey>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("home", &self.home)
            .field("key", &self.key.source)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens the vault under `home` with default options.
    ///
    /// # Errors
    /// As [`Vault::open_with`].
    pub fn open(home: &Path) -> Result<Self, VaultError> {
        Self::open_with(home, VaultOptions::default())
    }

    /// Opens the vault under `home`, creating the directory (0700), the key and the database
    /// on first use; finishes or rolls back a key rotation a crash interrupted; drops older
    /// versions past the retention.
    ///
    /// # Errors
    /// [`VaultError::Io`] when `home` cannot be created, [`VaultError::KeyFile`] for an
    /// untrusted key file, [`VaultError::WrongKey`] for a key that does not open this
    /// database, [`VaultError::Database`] when SQLite refuses the file.
    pub fn open_with(home: &Path, options: VaultOptions) -> Result<Self, VaultError> {
        let io = |source| VaultError::Io {
            path: home.to_owned(),
            source,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(home)
            .map_err(io)?;
        let key = key::Key::load(home, options.passphrase.as_ref())?;
        let db_path = home.join("vault.db");
        let conn = Connection::open(&db_path)?;
        // The database holds only ciphertext, but keep it private all the same.
        fs::set_permissions(&db_path, fs::Permissions::from_mode(0o600)).map_err(|source| {
            VaultError::Io {
                path: db_path.clone(),
                source,
            }
        })?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        schema::migrate(&conn)?;
        let mut vault = Vault {
            conn,
            key,
            home: home.to_owned(),
            options,
            audit_key: None,
        };
        vault.reconcile_key()?;
        vault.prune()?;
        Ok(vault)
    }

    /// Makes the key on disk and the database agree after a rotation a crash interrupted:
    /// the database says which recipient its values are sealed for.
    fn reconcile_key(&mut self) -> Result<(), VaultError> {
        let mine = self.key.identity.to_public().to_string();
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = ?1",
                params![RECIPIENT],
                |r| r.get(0),
            )
            .optional()?;
        match stored {
            None => {
                self.conn.execute(
                    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
                    params![RECIPIENT, mine],
                )?;
                self.key.discard_next()
            }
            Some(stored) if stored == mine => self.key.discard_next(),
            Some(stored) => match self.key.next(self.options.passphrase.as_ref())? {
                Some(next) if next.to_public().to_string() == stored => self.key.promote_next(next),
                _ if self.key.created => {
                    self.key.forget_created()?;
                    Err(VaultError::KeyFile {
                        path: self.key.source.path().to_owned(),
                        reason: "is missing, and the vault database was sealed for a key; restore the key file (or its systemd credential)".into(),
                    })
                }
                _ => Err(VaultError::WrongKey {
                    path: self.key.source.path().to_owned(),
                }),
            },
        }
    }

    fn prune(&mut self) -> Result<(), VaultError> {
        let cutoff = unix_now()
            .saturating_sub(i64::try_from(self.options.retention.as_secs()).unwrap_or(i64::MAX));
        self.conn.execute(
            "DELETE FROM versions WHERE retired_at IS NOT NULL AND retired_at < ?1",
            params![cutoff],
        )?;
        Ok(())
    }

    /// The directory the vault lives in.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Where the key came from.
    pub fn key_source(&self) -> &KeySource {
        &self.key.source
    }

    /// Stores a new secret with no metadata.
    ///
    /// # Errors
    /// [`VaultError::AlreadyExists`], or the value's validation error; nothing is written then.
    pub fn add(&mut self, name: &SecretName, value: &Secret) -> Result<(), VaultError> {
        self.add_with(name, value, &Metadata::default())
    }

    /// Stores a new secret.
    ///
    /// # Errors
    /// [`VaultError::AlreadyExists`], or a validation error; nothing is written then.
    pub fn add_with(
        &mut self,
        name: &SecretName,
        value: &Secret,
        metadata: &Metadata,
    ) -> Result<(), VaultError> {
        if self.insert(name, value, metadata, Source::Manual)? {
            Ok(())
        } else {
            Err(VaultError::AlreadyExists {
                name: name.to_string(),
            })
        }
    }

    /// Sets a secret's value: a new secret, or a new version of an existing one (the old
    /// value is kept for the retention period and stays redacted). `metadata`, when given,
    /// replaces the stored metadata. Returns the new version number.
    ///
    /// # Errors
    /// A validation error; nothing is written then.
    pub fn set(
        &mut self,
        name: &SecretName,
        value: &Secret,
        metadata: Option<&Metadata>,
    ) -> Result<i64, VaultError> {
        check_value(name, value)?;
        if let Some(m) = metadata {
            m.validate()?;
        }
        let sealed = self.seal(value.expose())?;
        let key = self.audit_key()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = set_in(&tx, &key, name, &sealed, metadata, Source::Manual, "")?;
        tx.commit()?;
        Ok(version)
    }

    /// Remembers a value the proxy detected in traffic, under its handle. Returns `false`
    /// (and changes nothing) when the vault already holds that name.
    ///
    /// # Errors
    /// The value's validation error, or [`VaultError::Database`].
    pub fn add_detected(&mut self, name: &SecretName, value: &Secret) -> Result<bool, VaultError> {
        self.insert(name, value, &Metadata::default(), Source::Detected)
    }

    /// How many secrets came from `source`.
    ///
    /// # Errors
    /// [`VaultError::Database`].
    pub fn count(&self, source: Source) -> Result<usize, VaultError> {
        let count: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM secrets WHERE source = ?1",
            params![source.as_str()],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    fn insert(
        &mut self,
        name: &SecretName,
        value: &Secret,
        metadata: &Metadata,
        source: Source,
    ) -> Result<bool, VaultError> {
        check_value(name, value)?;
        metadata.validate()?;
        let sealed = self.seal(value.expose())?;
        let key = self.audit_key()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM secrets WHERE name = ?1)",
            params![name.as_str()],
            |r| r.get(0),
        )?;
        if exists {
            return Ok(false);
        }
        set_in(&tx, &key, name, &sealed, Some(metadata), source, "")?;
        tx.commit()?;
        Ok(true)
    }

    /// Removes a secret with all its versions.
    ///
    /// # Errors
    /// [`VaultError::NotFound`].
    pub fn remove(&mut self, name: &SecretName) -> Result<(), VaultError> {
        let key = self.audit_key()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let removed = tx.execute(
            "DELETE FROM secrets WHERE name = ?1",
            params![name.as_str()],
        )?;
        let outcome = if removed == 0 {
            Outcome::NotFound
        } else {
            Outcome::Ok
        };
        audit::append(&tx, &key, Action::Remove, name.as_str(), outcome, "")?;
        tx.commit()?;
        if removed == 0 {
            return Err(VaultError::NotFound {
                name: name.to_string(),
            });
        }
        Ok(())
    }

    /// Every secret's metadata, by name.
    ///
    /// # Errors
    /// [`VaultError::Database`].
    pub fn list(&self) -> Result<Vec<SecretInfo>, VaultError> {
        let mut stmt = self.conn.prepare(
            "SELECT s.name, s.source, s.description, s.kind, s.allowed_tools, s.created_at,
                    s.rotated_at, s.last_used_at,
                    (SELECT MAX(version) FROM versions v WHERE v.name = s.name),
                    (SELECT COUNT(*) FROM versions v WHERE v.name = s.name
                         AND v.retired_at IS NOT NULL)
             FROM secrets s ORDER BY s.name",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, Option<i64>>(7)?,
                row.get::<_, Option<i64>>(8)?,
                row.get::<_, i64>(9)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, source, description, kind, tools, created, rotated, used, version, kept) =
                row?;
            out.push(SecretInfo {
                name: SecretName::new(&name)?,
                source: Source::parse(&source),
                metadata: Metadata {
                    description,
                    kind,
                    allowed_tools: split_tools(&tools),
                },
                created_at: from_unix(created),
                rotated_at: from_unix(rotated),
                last_used_at: used.map(from_unix),
                version: version.unwrap_or(0),
                retained_versions: usize::try_from(kept).unwrap_or(0),
            });
        }
        Ok(out)
    }

    /// Every secret's current value, by name.
    ///
    /// # Errors
    /// [`VaultError::Undecryptable`] naming the first secret this key cannot open.
    pub fn secrets(&self) -> Result<Vec<(SecretName, Secret)>, VaultError> {
        self.values("WHERE retired_at IS NULL")
    }

    /// What the redaction registry is built from: every current value and every older one
    /// still retained, each under its secret's name; by name, each secret's versions oldest
    /// first (so its current value comes last). Audited as one `load`.
    ///
    /// # Errors
    /// [`VaultError::Undecryptable`] naming the first secret this key cannot open.
    pub fn registry_values(&mut self) -> Result<Vec<(SecretName, Secret)>, VaultError> {
        let values = self.values("")?;
        self.record(
            Action::Load,
            "",
            Outcome::Ok,
            &format!("{} values", values.len()),
        )?;
        Ok(values)
    }

    fn values(&self, filter: &str) -> Result<Vec<(SecretName, Secret)>, VaultError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT name, ciphertext FROM versions {filter} ORDER BY name, version"
        ))?;
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, sealed) = row?;
            let value = self.open_sealed(&name, &sealed)?;
            out.push((SecretName::new(&name)?, value));
        }
        Ok(out)
    }

    /// A secret's current value, for an operator (`vault get --reveal`). Audited.
    ///
    /// # Errors
    /// [`VaultError::NotFound`] (audited too).
    pub fn reveal(&mut self, name: &SecretName) -> Result<Secret, VaultError> {
        let Some(value) = self.current_value(name)? else {
            self.record(Action::Reveal, name.as_str(), Outcome::NotFound, "")?;
            return Err(VaultError::NotFound {
                name: name.to_string(),
            });
        };
        self.record(Action::Reveal, name.as_str(), Outcome::Ok, "")?;
        Ok(value)
    }

    /// A secret's current value, if the secret exists. Not audited: callers record what
    /// they do with it.
    fn current_value(&self, name: &SecretName) -> Result<Option<Secret>, VaultError> {
        let sealed: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT ciphertext FROM versions WHERE name = ?1 AND retired_at IS NULL",
                params![name.as_str()],
                |r| r.get(0),
            )
            .optional()?;
        sealed
            .map(|sealed| self.open_sealed(name.as_str(), &sealed))
            .transpose()
    }

    /// Records an attempt that was refused before it reached the vault (a reveal to a
    /// non-terminal, say).
    ///
    /// # Errors
    /// [`VaultError::Database`].
    pub fn record_denied(
        &mut self,
        action: Action,
        name: &SecretName,
        reason: &str,
    ) -> Result<(), VaultError> {
        self.record(action, name.as_str(), Outcome::Denied, reason)
    }

    fn record(
        &mut self,
        action: Action,
        name: &str,
        outcome: Outcome,
        detail: &str,
    ) -> Result<(), VaultError> {
        let key = self.audit_key()?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        audit::append(&tx, &key, action, name, outcome, detail)?;
        tx.commit()?;
        Ok(())
    }

    /// The audit log, oldest first.
    ///
    /// # Errors
    /// [`VaultError::Database`].
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, VaultError> {
        audit::entries(&self.conn)
    }

    /// Verifies the audit chain; the number of rows when intact.
    ///
    /// # Errors
    /// [`VaultError::AuditBroken`] naming the first row that does not fit.
    pub fn verify_audit(&mut self) -> Result<usize, VaultError> {
        let key = self.audit_key()?;
        audit::verify(&self.conn, &key)
    }

    /// Re-encrypts every value under a new key in one transaction, then retires the old key.
    /// A crash at any point leaves the old key (nothing committed) or the new one (committed;
    /// the next open finishes the switch) working, never a mix. Returns how many sealed
    /// rows were re-encrypted.
    ///
    /// # Errors
    /// [`VaultError::KeyFile`] for a key airlock cannot rewrite (a systemd credential);
    /// [`VaultError::Undecryptable`] when a stored value cannot be opened (nothing changes).
    pub fn rotate_key(&mut self) -> Result<usize, VaultError> {
        let audit_key = self.audit_key()?;
        let new = age::x25519::Identity::generate();
        self.key
            .write_next(&new, self.options.passphrase.as_ref())?;
        match self.reseal_all(&audit_key, &new) {
            Ok(count) => {
                self.key.promote_next(new)?;
                Ok(count)
            }
            Err(error) => {
                // Nothing was committed: the old key stays the key.
                let _ = self.key.discard_next();
                Err(error)
            }
        }
    }

    /// Re-encrypts every sealed row for `new` and records it, in one transaction.
    fn reseal_all(
        &mut self,
        audit_key: &audit::AuditKey,
        new: &age::x25519::Identity,
    ) -> Result<usize, VaultError> {
        let recipient = new.to_public();
        let mut resealed: Vec<(&str, String, i64, Vec<u8>)> = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT name, version, ciphertext FROM versions")?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })?;
            for row in rows {
                let (name, version, sealed) = row?;
                let plain = self.open_sealed(&name, &sealed)?;
                resealed.push((
                    "versions",
                    name,
                    version,
                    seal_for(&recipient, plain.expose())?,
                ));
            }
            let mut stmt = self.conn.prepare("SELECT key, ciphertext FROM meta")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            for row in rows {
                let (name, sealed) = row?;
                let plain = self.open_sealed(&name, &sealed)?;
                resealed.push(("meta", name, 0, seal_for(&recipient, plain.expose())?));
            }
        }
        let count = resealed.len();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (table, name, version, sealed) in &resealed {
            if *table == "versions" {
                tx.execute(
                    "UPDATE versions SET ciphertext = ?1 WHERE name = ?2 AND version = ?3",
                    params![sealed, name, version],
                )?;
            } else {
                tx.execute(
                    "UPDATE meta SET ciphertext = ?1 WHERE key = ?2",
                    params![sealed, name],
                )?;
            }
        }
        tx.execute(
            "UPDATE settings SET value = ?1 WHERE key = ?2",
            params![recipient.to_string(), RECIPIENT],
        )?;
        audit::append(
            &tx,
            audit_key,
            Action::RotateKey,
            "",
            Outcome::Ok,
            &format!("{count} sealed values"),
        )?;
        tx.commit()?;
        Ok(count)
    }

    /// Whether another connection changed the database since the last call (SQLite's
    /// `data_version`): the proxy polls this to pick up vault changes without a restart.
    ///
    /// # Errors
    /// [`VaultError::Database`].
    pub fn data_version(&self) -> Result<i64, VaultError> {
        Ok(self
            .conn
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    /// A digest of every retained value as stored (sealed, with its name, version and
    /// retirement): everything the proxy's registry and credentials are built from. It changes
    /// when a value is added, set, retired, removed, learned or re-sealed, and not when only
    /// the audit log grows. A watcher that reloads on [`Vault::data_version`] alone is set off
    /// by every audit entry, among them the one its own reload writes: two proxies sharing a
    /// home then reloaded each other without end.
    ///
    /// # Errors
    /// [`VaultError::Database`].
    pub fn values_fingerprint(&self) -> Result<[u8; 32], VaultError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, version, retired_at, ciphertext FROM versions ORDER BY name, version",
        )?;
        let mut rows = stmt.query([])?;
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        while let Some(row) = rows.next()? {
            let name: String = row.get(0)?;
            let version: i64 = row.get(1)?;
            let retired: Option<i64> = row.get(2)?;
            let sealed: Vec<u8> = row.get(3)?;
            // Lengths first, so no two different tables hash the same bytes.
            digest.update(&(name.len() as u64).to_le_bytes());
            digest.update(name.as_bytes());
            digest.update(&version.to_le_bytes());
            digest.update(&retired.map_or([0xff; 8], i64::to_le_bytes));
            digest.update(&(sealed.len() as u64).to_le_bytes());
            digest.update(&sealed);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.finish().as_ref());
        Ok(out)
    }

    /// The key behind the handles of detected values (`SECRET_REF(rule.hash)`), created on
    /// first use and kept sealed like any value so that handles stay stable across restarts.
    ///
    /// # Errors
    /// [`VaultError::Random`], [`VaultError::Undecryptable`], [`VaultError::Database`].
    pub fn placeholder_key(&mut self) -> Result<Secret, VaultError> {
        self.meta_key(PLACEHOLDER_KEY)
    }

    fn audit_key(&mut self) -> Result<audit::AuditKey, VaultError> {
        if let Some(key) = &self.audit_key {
            return Ok(key.clone());
        }
        let material = self.meta_key(AUDIT_KEY)?;
        let key = audit::AuditKey::new(material.expose());
        self.audit_key = Some(key.clone());
        Ok(key)
    }

    /// A 32-byte random key kept sealed in `meta`, created on first use.
    fn meta_key(&mut self, entry: &str) -> Result<Secret, VaultError> {
        let stored: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT ciphertext FROM meta WHERE key = ?1",
                params![entry],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(sealed) = stored {
            return self.open_sealed(entry, &sealed);
        }
        let mut material = Zeroizing::new(vec![0u8; 32]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut material)
            .map_err(|_| VaultError::Random)?;
        let sealed = self.seal(&material)?;
        // Another process may have created it meanwhile: keep theirs, so both agree.
        self.conn.execute(
            "INSERT INTO meta (key, ciphertext) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
            params![entry, sealed],
        )?;
        let sealed: Vec<u8> = self.conn.query_row(
            "SELECT ciphertext FROM meta WHERE key = ?1",
            params![entry],
            |row| row.get(0),
        )?;
        self.open_sealed(entry, &sealed)
    }

    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        seal_for(&self.key.identity.to_public(), plaintext)
    }

    fn open_sealed(&self, name: &str, sealed: &[u8]) -> Result<Secret, VaultError> {
        let plain =
            age::decrypt(&self.key.identity, sealed).map_err(|_| VaultError::Undecryptable {
                name: name.to_owned(),
            })?;
        Ok(Secret::new(plain))
    }
}

fn seal_for(recipient: &age::x25519::Recipient, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
    age::encrypt(recipient, plaintext).map_err(|e| VaultError::Encrypt(e.to_string()))
}

/// What every stored value must be; the name must not show part of it.
fn check_value(name: &SecretName, value: &Secret) -> Result<(), VaultError> {
    value.validate()?;
    let n = name.as_str().as_bytes();
    if n.len() >= 4
        && value
            .expose()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
    {
        return Err(VaultError::NameInValue {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Creates the secret or adds a version, with its audit row, inside `tx`. Returns the
/// version written.
fn set_in(
    tx: &Connection,
    key: &audit::AuditKey,
    name: &SecretName,
    sealed: &[u8],
    metadata: Option<&Metadata>,
    source: Source,
    detail: &str,
) -> Result<i64, VaultError> {
    let now = unix_now();
    let current: Option<i64> = tx
        .query_row(
            "SELECT MAX(version) FROM versions WHERE name = ?1",
            params![name.as_str()],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    let version = match current {
        Some(current) => {
            tx.execute(
                "UPDATE versions SET retired_at = ?1 WHERE name = ?2 AND retired_at IS NULL",
                params![now, name.as_str()],
            )?;
            tx.execute(
                "UPDATE secrets SET rotated_at = ?1 WHERE name = ?2",
                params![now, name.as_str()],
            )?;
            if let Some(m) = metadata {
                tx.execute(
                    "UPDATE secrets SET description = ?1, kind = ?2, allowed_tools = ?3
                     WHERE name = ?4",
                    params![m.description, m.kind, m.tools_column(), name.as_str()],
                )?;
            }
            current + 1
        }
        None => {
            let m = metadata.cloned().unwrap_or_default();
            tx.execute(
                "INSERT INTO secrets (name, created_at, rotated_at, source, description, kind,
                                      allowed_tools)
                 VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6)",
                params![
                    name.as_str(),
                    now,
                    source.as_str(),
                    m.description,
                    m.kind,
                    m.tools_column()
                ],
            )?;
            1
        }
    };
    tx.execute(
        "INSERT INTO versions (name, version, ciphertext, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![name.as_str(), version, sealed, now],
    )?;
    let action = match (source, version) {
        (Source::Detected, _) => Action::Learn,
        (_, 1) => Action::Add,
        _ => Action::Set,
    };
    let detail = if detail.is_empty() {
        format!("version {version}")
    } else {
        format!("version {version}; {detail}")
    };
    audit::append(tx, key, action, name.as_str(), Outcome::Ok, &detail)?;
    Ok(version)
}

fn split_tools(column: &str) -> Vec<String> {
    column
        .split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn from_unix(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Formats a time for people: RFC 3339, seconds precision, UTC.
pub fn format_time(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests;
