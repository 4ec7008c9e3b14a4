//! `SECRET_REF(name)` resolution: the one place a value leaves the vault for a tool.
//!
//! The gate hands over a tool call's JSON arguments and the tool's name; every reference in
//! them is replaced with its secret's value, but only when every referenced secret allows
//! that tool. Otherwise nothing is resolved and the error names the reference (never a
//! value). The replacement is done on the JSON text (a reference can only sit inside a
//! string there), each value JSON-escaped, so no parsed copy of a value is left behind.
//! Every resolution and every refusal is audited.

use rusqlite::{params, OptionalExtension};
use zeroize::Zeroizing;

use crate::audit::{Action, Outcome};
use crate::{Secret, SecretName, Vault, VaultError};

const OPEN: &str = "SECRET_REF(";

impl Vault {
    /// Resolves every `SECRET_REF(name)` in `arguments` (JSON text) for `tool`, returning the
    /// arguments with values in place (still JSON).
    ///
    /// # Errors
    /// [`VaultError::ArgumentsNotJson`]; [`VaultError::UnknownRef`] or
    /// [`VaultError::RefNotAllowed`] for the first reference that cannot be resolved (then
    /// nothing is resolved).
    pub fn resolve(&mut self, arguments: &str, tool: &str) -> Result<Secret, VaultError> {
        serde_json::from_str::<serde::de::IgnoredAny>(arguments)
            .map_err(|e| VaultError::ArgumentsNotJson(e.to_string()))?;
        let refs = references(arguments);
        // Check every reference before resolving any.
        for (_, _, name) in &refs {
            let allowed: Option<String> = self
                .conn
                .query_row(
                    "SELECT allowed_tools FROM secrets WHERE name = ?1",
                    params![name.as_str()],
                    |r| r.get(0),
                )
                .optional()?;
            let detail = format!("tool {tool}");
            match allowed {
                None => {
                    self.record(Action::Resolve, name.as_str(), Outcome::NotFound, &detail)?;
                    return Err(VaultError::UnknownRef {
                        name: name.to_string(),
                    });
                }
                Some(tools) if !crate::split_tools(&tools).iter().any(|t| t == tool) => {
                    self.record(Action::Resolve, name.as_str(), Outcome::Denied, &detail)?;
                    return Err(VaultError::RefNotAllowed {
                        name: name.to_string(),
                        tool: tool.to_owned(),
                    });
                }
                Some(_) => {}
            }
        }
        // Each referenced secret decrypted once, however often it is referenced.
        let mut names: Vec<&SecretName> = refs.iter().map(|(_, _, n)| n).collect();
        names.sort();
        names.dedup();
        let mut values = Vec::with_capacity(names.len());
        for name in &names {
            let value = self
                .current_value(name)?
                .ok_or_else(|| VaultError::UnknownRef {
                    name: name.to_string(),
                })?;
            values.push(value);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(arguments.len()));
        let mut at = 0;
        for (start, end, name) in &refs {
            out.extend_from_slice(&arguments.as_bytes()[at..*start]);
            if let Ok(i) = names.binary_search(&name) {
                json_escape_into(values[i].expose(), &mut out);
            }
            at = *end;
        }
        out.extend_from_slice(&arguments.as_bytes()[at..]);
        let now = crate::unix_now();
        for name in names {
            self.conn.execute(
                "UPDATE secrets SET last_used_at = ?1 WHERE name = ?2",
                params![now, name.as_str()],
            )?;
            self.record(
                Action::Resolve,
                name.as_str(),
                Outcome::Ok,
                &format!("tool {tool}"),
            )?;
        }
        Ok(Secret::new(std::mem::take(&mut *out)))
    }
}

/// Every well-formed `SECRET_REF(name)` in `text`: (start, end, name), in order.
fn references(text: &str) -> Vec<(usize, usize, SecretName)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find(OPEN) {
        let start = from + offset;
        let name_start = start + OPEN.len();
        from = name_start;
        let Some(close) = text[name_start..].find(')') else {
            break;
        };
        if let Ok(name) = SecretName::new(&text[name_start..name_start + close]) {
            out.push((start, name_start + close + 1, name));
            from = name_start + close + 1;
        }
    }
    out
}

/// Appends `value` as it must appear inside a JSON string.
fn json_escape_into(value: &[u8], out: &mut Vec<u8>) {
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            c => out.push(c),
        }
    }
}
