//! The types that carry secret values and names.
//!
//! [`Secret`] zeroizes on drop, has no `Debug` or `Display`, and hands out its bytes only
//! through [`Secret::expose`], so a value cannot end up in a log line by accident.

use secrecy::{ExposeSecret, SecretSlice};

use crate::VaultError;

/// Values shorter than this are refused: they would be found inside ordinary words.
pub const MIN_VALUE_LEN: usize = 8;
/// Values longer than this are refused.
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// A secret value. No `Debug`, no `Display`, no `Clone`; zeroized on drop.
pub struct Secret(SecretSlice<u8>);

impl Secret {
    /// Wraps bytes, taking ownership so no copy stays behind.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(SecretSlice::from(bytes))
    }

    /// The value. Every call site is a place where the value leaves the vault's control.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// Checks what a stored value must be: UTF-8 text, within the length limits.
    ///
    /// # Errors
    /// [`VaultError::ValueTooShort`], [`VaultError::ValueTooLong`], [`VaultError::ValueNotText`].
    pub fn validate(&self) -> Result<(), VaultError> {
        let len = self.expose().len();
        if len < MIN_VALUE_LEN {
            return Err(VaultError::ValueTooShort {
                len,
                min: MIN_VALUE_LEN,
            });
        }
        if len > MAX_VALUE_LEN {
            return Err(VaultError::ValueTooLong {
                len,
                max: MAX_VALUE_LEN,
            });
        }
        if std::str::from_utf8(self.expose()).is_err() {
            return Err(VaultError::ValueNotText);
        }
        Ok(())
    }
}

/// A validated vault name: what `SECRET_REF(name)` shows. Operator-chosen, not secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretName(String);

impl SecretName {
    /// Validates a name: 1-64 characters from `A-Z a-z 0-9 _ . -`, not ending in `.part`
    /// (`SECRET_REF(name.part)` stands for part of secret `name`, and must resolve to nothing).
    ///
    /// # Errors
    /// [`VaultError::InvalidName`].
    pub fn new(name: &str) -> Result<Self, VaultError> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            && !name.ends_with(".part");
        if ok {
            Ok(SecretName(name.to_owned()))
        } else {
            Err(VaultError::InvalidName {
                name: name.to_owned(),
            })
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SecretName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
