//! The vault key: an age X25519 identity in its own file under `home`.
//!
//! The file is created once, with mode 0600 and `O_EXCL` (two processes racing to create it
//! cannot both win), and refused later if anyone but its owner can read it.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::str::FromStr;

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use crate::VaultError;

/// Loads the identity from `path`, creating it first if there is none.
pub(crate) fn load_or_create(path: &Path) -> Result<age::x25519::Identity, VaultError> {
    match create(path) {
        Ok(identity) => return Ok(identity),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(VaultError::Io {
                path: path.to_owned(),
                source,
            })
        }
    }
    let key_error = |reason: &str| VaultError::KeyFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let meta = fs::symlink_metadata(path).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.file_type().is_file() {
        return Err(key_error("is not a regular file (symlinks are refused)"));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(key_error(
            "is readable or writable by group or others; run `chmod 600` on it",
        ));
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| VaultError::Io {
        path: path.to_owned(),
        source,
    })?);
    age::x25519::Identity::from_str(text.trim())
        .map_err(|_| key_error("does not hold an age X25519 identity (AGE-SECRET-KEY-1...)"))
}

fn create(path: &Path) -> std::io::Result<age::x25519::Identity> {
    let identity = age::x25519::Identity::generate();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let text = identity.to_string();
    file.write_all(text.expose_secret().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(identity)
}
