//! Placeholders: the `SECRET_REF(...)` handles that replace secrets.
//!
//! A registry hit is named by its vault name. A detected value gets `<rule-id>.<8 hex>`, where
//! the hex is a keyed hash of the value: stable across requests (provider prompt caches keep
//! hitting) and useless to anyone without the key. Placeholders are ASCII with no quote or
//! backslash, so they can be spliced into JSON strings, headers and URLs as they are.

use zeroize::Zeroizing;

/// The key behind detected-value handles. Held by the vault; never logged.
#[derive(Clone)]
pub struct PlaceholderKey(ring::hmac::Key);

impl PlaceholderKey {
    /// Wraps key material of at least 32 bytes.
    ///
    /// # Errors
    /// [`crate::BuildError::PlaceholderKeyTooShort`] for shorter material.
    pub fn from_bytes(material: &[u8]) -> Result<Self, crate::BuildError> {
        if material.len() < 32 {
            return Err(crate::BuildError::PlaceholderKeyTooShort);
        }
        Ok(PlaceholderKey(ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            material,
        )))
    }

    /// The handle for a value detected by rule `rule_id`.
    pub(crate) fn detected(&self, rule_id: &str, value: &[u8]) -> String {
        let tag = ring::hmac::sign(&self.0, value);
        let digest = Zeroizing::new(tag.as_ref()[..4].to_vec());
        let mut out = String::with_capacity(rule_id.len() + 22);
        out.push_str("SECRET_REF(");
        out.push_str(rule_id);
        out.push('.');
        for byte in digest.iter() {
            out.push_str(&format!("{byte:02x}"));
        }
        out.push(')');
        out
    }
}

/// The handle for a registry secret.
pub(crate) fn named(name: &str) -> String {
    format!("SECRET_REF({name})")
}

/// What a part's handle adds to its secret's name.
pub(crate) const SUFFIX: &str = ".part";

/// Whether `handle` is a part's ([`part`]).
pub(crate) fn is_part(handle: &str) -> bool {
    handle
        .strip_suffix(')')
        .is_some_and(|inner| inner.ends_with(SUFFIX))
}

/// The handle for part of a registry secret (half a key, a token cut short): it names the
/// secret and says it is not all of it, and no vault name resolves it (a tool must not get
/// the whole value where the agent wrote part of it). Names are cut to keep the handle's name
/// within 64 characters, as every handle's is.
pub(crate) fn part(name: &str) -> String {
    // Vault names are ASCII: any cut is a character boundary.
    let name = name
        .get(..name.len().min(64 - SUFFIX.len()))
        .unwrap_or(name);
    format!("SECRET_REF({name}{SUFFIX})")
}

/// Whether `name` can stand inside a placeholder: what vault names and rule ids must satisfy.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
