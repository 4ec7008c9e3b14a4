//! airlock's secret store.
//!
//! This crate owns the secrets of the customer's business tools and LLM providers: it keeps
//! them in a SQLite database under `home`, each value sealed with age under an X25519 key kept
//! in its own file (`vault.key`, mode 0600), and hands them out only as [`Secret`]s. It is the
//! only crate that ever holds plaintext at rest boundaries. It must never log, print or put a
//! value into an error; names (operator-chosen) are fine.
//!
//! The database runs in WAL mode with `synchronous=FULL`, so a write that returned is on disk.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod key;
mod secret;

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension};
use zeroize::Zeroizing;

pub use error::VaultError;
pub use secret::{Secret, SecretName, MAX_VALUE_LEN, MIN_VALUE_LEN};

/// The newest schema this build writes.
const SCHEMA_VERSION: i64 = 2;
/// The meta row holding the key behind detected-value placeholders.
const PLACEHOLDER_KEY: &str = "placeholder_key";

/// Where a secret came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// An operator added it.
    Manual,
    /// The proxy's regex or entropy layer found it in traffic and remembered it, so that
    /// the registry catches it from then on in every encoding.
    Detected,
}

impl Source {
    /// The name stored in the database and shown by `vault list`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Manual => "manual",
            Source::Detected => "detected",
        }
    }

    fn parse(text: &str) -> Source {
        if text == "detected" {
            Source::Detected
        } else {
            Source::Manual
        }
    }
}

/// A secret's metadata: what `vault list` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The name.
    pub name: SecretName,
    /// Where it came from.
    pub source: Source,
    /// When it was added.
    pub created_at: SystemTime,
    /// When its value last changed.
    pub updated_at: SystemTime,
}

/// An open vault.
pub struct Vault {
    conn: Connection,
    identity: age::x25519::Identity,
    home: PathBuf,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("home", &self.home)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Opens the vault under `home`, creating the directory (0700), the key and the database
    /// on first use.
    ///
    /// # Errors
    /// [`VaultError::Io`] when `home` cannot be created, [`VaultError::KeyFile`] for an
    /// untrusted key file, [`VaultError::Database`] when SQLite refuses the file.
    pub fn open(home: &Path) -> Result<Self, VaultError> {
        let io = |source| VaultError::Io {
            path: home.to_owned(),
            source,
        };
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(home)
            .map_err(io)?;
        let identity = key::load_or_create(&home.join("vault.key"))?;
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
        conn.busy_timeout(Duration::from_secs(5))?;
        migrate(&conn)?;
        Ok(Vault {
            conn,
            identity,
            home: home.to_owned(),
        })
    }

    /// The directory the vault lives in.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Stores a new secret.
    ///
    /// # Errors
    /// [`VaultError::AlreadyExists`], or the value's validation error; nothing is written then.
    pub fn add(&mut self, name: &SecretName, value: &Secret) -> Result<(), VaultError> {
        if self.insert(name, value, Source::Manual)? {
            Ok(())
        } else {
            Err(VaultError::AlreadyExists {
                name: name.to_string(),
            })
        }
    }

    /// Remembers a value the proxy detected in traffic, under its handle. Returns `false`
    /// (and changes nothing) when the vault already holds that name.
    ///
    /// # Errors
    /// The value's validation error, or [`VaultError::Database`].
    pub fn add_detected(&mut self, name: &SecretName, value: &Secret) -> Result<bool, VaultError> {
        self.insert(name, value, Source::Detected)
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
        source: Source,
    ) -> Result<bool, VaultError> {
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
        let sealed = self.seal(value.expose())?;
        let now = unix_now();
        let inserted = self.conn.execute(
            "INSERT INTO secrets (name, ciphertext, created_at, updated_at, source)
             VALUES (?1, ?2, ?3, ?3, ?4) ON CONFLICT(name) DO NOTHING",
            params![name.as_str(), sealed, now, source.as_str()],
        )?;
        Ok(inserted == 1)
    }

    /// Removes a secret.
    ///
    /// # Errors
    /// [`VaultError::NotFound`].
    pub fn remove(&mut self, name: &SecretName) -> Result<(), VaultError> {
        let removed = self.conn.execute(
            "DELETE FROM secrets WHERE name = ?1",
            params![name.as_str()],
        )?;
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
        let mut stmt = self
            .conn
            .prepare("SELECT name, created_at, updated_at, source FROM secrets ORDER BY name")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, created, updated, source) = row?;
            out.push(SecretInfo {
                name: SecretName::new(&name)?,
                source: Source::parse(&source),
                created_at: from_unix(created),
                updated_at: from_unix(updated),
            });
        }
        Ok(out)
    }

    /// Every secret with its value, by name: what the redaction registry is built from.
    ///
    /// # Errors
    /// [`VaultError::Undecryptable`] naming the first secret this key cannot open.
    pub fn secrets(&self) -> Result<Vec<(SecretName, Secret)>, VaultError> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, ciphertext FROM secrets ORDER BY name")?;
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

    /// The key behind the handles of detected values (`SECRET_REF(rule.hash)`), created on
    /// first use and kept sealed like any value so that handles stay stable across restarts.
    ///
    /// # Errors
    /// [`VaultError::Random`], [`VaultError::Undecryptable`], [`VaultError::Database`].
    pub fn placeholder_key(&mut self) -> Result<Secret, VaultError> {
        let stored: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT ciphertext FROM meta WHERE key = ?1",
                params![PLACEHOLDER_KEY],
                |row| row.get(0),
            )
            .optional()?;
        if let Some(sealed) = stored {
            return self.open_sealed(PLACEHOLDER_KEY, &sealed);
        }
        let mut material = Zeroizing::new(vec![0u8; 32]);
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut material)
            .map_err(|_| VaultError::Random)?;
        let sealed = self.seal(&material)?;
        // Another process may have created it meanwhile: keep theirs, so both agree.
        self.conn.execute(
            "INSERT INTO meta (key, ciphertext) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING",
            params![PLACEHOLDER_KEY, sealed],
        )?;
        let sealed: Vec<u8> = self.conn.query_row(
            "SELECT ciphertext FROM meta WHERE key = ?1",
            params![PLACEHOLDER_KEY],
            |row| row.get(0),
        )?;
        self.open_sealed(PLACEHOLDER_KEY, &sealed)
    }

    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        age::encrypt(&self.identity.to_public(), plaintext)
            .map_err(|e| VaultError::Encrypt(e.to_string()))
    }

    fn open_sealed(&self, name: &str, sealed: &[u8]) -> Result<Secret, VaultError> {
        let plain =
            age::decrypt(&self.identity, sealed).map_err(|_| VaultError::Undecryptable {
                name: name.to_owned(),
            })?;
        Ok(Secret::new(plain))
    }
}

fn migrate(conn: &Connection) -> Result<(), VaultError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(VaultError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS secrets (
                 name TEXT PRIMARY KEY NOT NULL,
                 ciphertext BLOB NOT NULL,
                 created_at INTEGER NOT NULL,
                 updated_at INTEGER NOT NULL
             ) STRICT;
             CREATE TABLE IF NOT EXISTS meta (
                 key TEXT PRIMARY KEY NOT NULL,
                 ciphertext BLOB NOT NULL
             ) STRICT;
             PRAGMA user_version = 1;
             COMMIT;",
        )?;
    }
    if version < 2 {
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             ALTER TABLE secrets ADD COLUMN source TEXT NOT NULL DEFAULT 'manual';
             PRAGMA user_version = 2;
             COMMIT;",
        )?;
    }
    Ok(())
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
