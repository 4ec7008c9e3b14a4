//! The vault key: an age X25519 identity, and where it comes from.
//!
//! Sources, in order of preference:
//! 1. a systemd credential, `$CREDENTIALS_DIRECTORY/vault.key` (so `LoadCredentialEncrypted=`
//!    keeps the key encrypted at rest by the host);
//! 2. a key file, `home/vault.key`, mode 0600, refused when group or others can read it;
//! 3. a passphrase-protected key file, `home/vault.key.age` (the identity sealed with age's
//!    scrypt recipient; for development machines without a credential store).
//!
//! Key files are created with `O_EXCL` and synced with their directory. A rotation writes the
//! new identity next to the old one (`*.next`) before the database switches to it; [`Key`]
//! promotes or discards that file once the database says which key it holds, so a crash at
//! any point leaves exactly one working key. This module never logs or prints key material.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::VaultError;

const KEY_FILE: &str = "vault.key";
const PASSPHRASE_FILE: &str = "vault.key.age";
const NEXT_SUFFIX: &str = ".next";

/// Where the vault key was loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A systemd credential file (read-only; rotate by replacing the credential).
    Credential(PathBuf),
    /// A plain key file under `home`.
    File(PathBuf),
    /// A passphrase-protected key file under `home`.
    Passphrase(PathBuf),
}

impl KeySource {
    /// The file the key is read from.
    pub fn path(&self) -> &Path {
        match self {
            KeySource::Credential(p) | KeySource::File(p) | KeySource::Passphrase(p) => p,
        }
    }

    /// A short name for messages and `vault status`.
    pub fn kind(&self) -> &'static str {
        match self {
            KeySource::Credential(_) => "systemd credential",
            KeySource::File(_) => "key file",
            KeySource::Passphrase(_) => "passphrase-protected key file",
        }
    }

    fn next_path(&self) -> PathBuf {
        let mut name = self.path().as_os_str().to_owned();
        name.push(NEXT_SUFFIX);
        PathBuf::from(name)
    }
}

/// The loaded identity and its source.
pub(crate) struct Key {
    pub(crate) identity: age::x25519::Identity,
    pub(crate) source: KeySource,
    /// Created by this load (there was no key anywhere).
    pub(crate) created: bool,
}

impl Key {
    /// Finds and loads the key for the vault under `home`, creating a key file (or, given a
    /// passphrase, a passphrase-protected one) when there is none anywhere.
    pub(crate) fn load(home: &Path, passphrase: Option<&SecretString>) -> Result<Key, VaultError> {
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let path = Path::new(&dir).join(KEY_FILE);
            if path.exists() {
                let identity = read_plain(&path, false)?;
                return Ok(Key {
                    identity,
                    source: KeySource::Credential(path),
                    created: false,
                });
            }
        }
        let file = home.join(KEY_FILE);
        let protected = home.join(PASSPHRASE_FILE);
        if fs::symlink_metadata(&file).is_ok() {
            let identity = read_plain(&file, true)?;
            return Ok(Key {
                identity,
                source: KeySource::File(file),
                created: false,
            });
        }
        if fs::symlink_metadata(&protected).is_ok() {
            let passphrase = passphrase.ok_or_else(|| VaultError::KeyFile {
                path: protected.clone(),
                reason: "is protected by a passphrase; set AIRLOCK_VAULT_PASSPHRASE or run from a terminal".into(),
            })?;
            let identity = read_protected(&protected, passphrase)?;
            return Ok(Key {
                identity,
                source: KeySource::Passphrase(protected),
                created: false,
            });
        }
        let identity = age::x25519::Identity::generate();
        // Another process may have created the file first: whatever is on disk wins, so
        // the identity is read back rather than kept.
        let (identity, source) = match passphrase {
            Some(p) => {
                write_new(&protected, &seal_with_passphrase(&identity, p)?)?;
                (
                    read_protected(&protected, p)?,
                    KeySource::Passphrase(protected),
                )
            }
            None => {
                write_new(&file, &plain_text(&identity))?;
                (read_plain(&file, true)?, KeySource::File(file))
            }
        };
        Ok(Key {
            identity,
            source,
            created: true,
        })
    }

    /// The identity a rotation left beside this key, if any.
    pub(crate) fn next(
        &self,
        passphrase: Option<&SecretString>,
    ) -> Result<Option<age::x25519::Identity>, VaultError> {
        let path = self.source.next_path();
        if fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        match &self.source {
            KeySource::Credential(_) => Ok(None),
            KeySource::File(_) => read_plain(&path, true).map(Some),
            KeySource::Passphrase(_) => {
                let passphrase = passphrase.ok_or_else(|| VaultError::KeyFile {
                    path: path.clone(),
                    reason: "needs the vault passphrase".into(),
                })?;
                read_protected(&path, passphrase).map(Some)
            }
        }
    }

    /// Writes `identity` as this key's successor (`*.next`), durably, replacing any
    /// leftover from an earlier attempt.
    pub(crate) fn write_next(
        &self,
        identity: &age::x25519::Identity,
        passphrase: Option<&SecretString>,
    ) -> Result<(), VaultError> {
        let contents = match &self.source {
            KeySource::Credential(path) => {
                return Err(VaultError::KeyFile {
                    path: path.clone(),
                    reason: "comes from a systemd credential, which airlock cannot rewrite; export the vault with a key file to rotate, or replace the credential".into(),
                })
            }
            KeySource::File(_) => plain_text(identity),
            KeySource::Passphrase(path) => {
                let passphrase = passphrase.ok_or_else(|| VaultError::KeyFile {
                    path: path.clone(),
                    reason: "needs the vault passphrase".into(),
                })?;
                seal_with_passphrase(identity, passphrase)?
            }
        };
        let next = self.source.next_path();
        remove_durably(&next)?;
        write_new(&next, &contents)
    }

    /// Makes the successor the key (an atomic rename, synced): called once the database holds
    /// values sealed for it.
    pub(crate) fn promote_next(
        &mut self,
        identity: age::x25519::Identity,
    ) -> Result<(), VaultError> {
        let next = self.source.next_path();
        let path = self.source.path().to_owned();
        // One atomic rename: at every instant `path` holds a whole key, old or new. The old
        // key's blocks are freed, not overwritten: scrubbing it first would leave a window
        // with no working key, and overwriting does not reliably erase on journaling
        // filesystems or SSDs anyway.
        fs::rename(&next, &path).map_err(|source| VaultError::Io {
            path: next.clone(),
            source,
        })?;
        sync_dir(&path)?;
        self.identity = identity;
        Ok(())
    }

    /// Removes a key this load created for a database that turned out to belong to another
    /// key, so the next attempt reports the missing key again instead of a wrong one.
    pub(crate) fn forget_created(&self) -> Result<(), VaultError> {
        if self.created {
            remove_durably(self.source.path())?;
        }
        Ok(())
    }

    /// Removes a successor the database never switched to.
    pub(crate) fn discard_next(&self) -> Result<(), VaultError> {
        remove_durably(&self.source.next_path())
    }
}

fn plain_text(identity: &age::x25519::Identity) -> Zeroizing<Vec<u8>> {
    let text = identity.to_string();
    let mut out = Zeroizing::new(text.expose_secret().as_bytes().to_vec());
    out.push(b'\n');
    out
}

fn seal_with_passphrase(
    identity: &age::x25519::Identity,
    passphrase: &SecretString,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let recipient = age::scrypt::Recipient::new(passphrase.clone());
    age::encrypt(&recipient, &plain_text(identity))
        .map(Zeroizing::new)
        .map_err(|e| VaultError::Encrypt(e.to_string()))
}

fn key_error(path: &Path, reason: &str) -> VaultError {
    VaultError::KeyFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Reads a plain identity file; `private` demands mode 0600-or-stricter and a regular file.
fn read_plain(path: &Path, private: bool) -> Result<age::x25519::Identity, VaultError> {
    if private {
        check_private(path)?;
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })?);
    age::x25519::Identity::from_str(text.trim()).map_err(|_| {
        key_error(
            path,
            "does not hold an age X25519 identity (AGE-SECRET-KEY-1...)",
        )
    })
}

fn read_protected(
    path: &Path,
    passphrase: &SecretString,
) -> Result<age::x25519::Identity, VaultError> {
    check_private(path)?;
    let sealed = fs::read(path).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })?;
    let identity = age::scrypt::Identity::new(passphrase.clone());
    let plain = Zeroizing::new(
        age::decrypt(&identity, &sealed)
            .map_err(|_| key_error(path, "cannot be opened with this passphrase"))?,
    );
    let text = std::str::from_utf8(&plain)
        .map_err(|_| key_error(path, "does not hold an age X25519 identity"))?;
    age::x25519::Identity::from_str(text.trim())
        .map_err(|_| key_error(path, "does not hold an age X25519 identity"))
}

fn check_private(path: &Path) -> Result<(), VaultError> {
    let meta = fs::symlink_metadata(path).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(key_error(
            path,
            "is not a regular file (symlinks are refused)",
        ));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(key_error(
            path,
            "is readable or writable by group or others; run `chmod 600` on it",
        ));
    }
    Ok(())
}

/// Creates `path` (0600, `O_EXCL`) with `contents`, synced with its directory. An existing
/// file is left alone (another process won the race).
fn write_new(path: &Path, contents: &[u8]) -> Result<(), VaultError> {
    let io = |source| VaultError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    file.write_all(contents).map_err(io)?;
    file.sync_all().map_err(io)?;
    sync_dir(path)
}

fn remove_durably(path: &Path) -> Result<(), VaultError> {
    if fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    scrub(path);
    fs::remove_file(path).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })?;
    sync_dir(path)
}

/// Best effort: overwrite a key file's bytes before it is unlinked or replaced.
fn scrub(path: &Path) {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.file_type().is_file() {
            if let Ok(mut file) = OpenOptions::new().write(true).open(path) {
                let zeros = vec![0u8; usize::try_from(meta.len()).unwrap_or(0)];
                let _ = file.write_all(&zeros);
                let _ = file.sync_all();
            }
        }
    }
}

pub(crate) fn sync_dir(path: &Path) -> Result<(), VaultError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| VaultError::Io {
            path: dir.to_owned(),
            source,
        })
}
