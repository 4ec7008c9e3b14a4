//! The audit log: one row per read, write, resolution, rotation and failed attempt,
//! hash-chained so that editing, deleting or reordering rows is detected.
//!
//! Each row carries the previous row's hash and its own: an HMAC-SHA256, under a key sealed
//! in the vault like a value, over the previous hash and every field. Without the vault key
//! nobody can forge a row. The newest row's hash is also bound into `settings.audit_head`
//! (HMAC over its id and hash), so cutting rows off the end is detected too. Rows name
//! secrets and tools, never values.

use std::time::SystemTime;

use ring::hmac;
use rusqlite::{params, Connection, OptionalExtension};

use crate::VaultError;

const HEAD: &str = "audit_head";

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A secret was created.
    Add,
    /// A secret got a new version.
    Set,
    /// A secret was removed.
    Remove,
    /// A value was shown to an operator.
    Reveal,
    /// A `SECRET_REF` was resolved for a tool.
    Resolve,
    /// Every value was re-encrypted under a new key.
    RotateKey,
    /// A bootstrap file was imported.
    Import,
    /// The proxy remembered a value it detected in traffic.
    Learn,
    /// The redaction registry read every value.
    Load,
}

impl Action {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Add => "add",
            Action::Set => "set",
            Action::Remove => "remove",
            Action::Reveal => "reveal",
            Action::Resolve => "resolve",
            Action::RotateKey => "rotate-key",
            Action::Import => "import",
            Action::Learn => "learn",
            Action::Load => "load",
        }
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Ok,
    /// Refused by policy (a tool not allowed, output not a terminal).
    Denied,
    /// The secret does not exist.
    NotFound,
}

impl Outcome {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not-found",
        }
    }
}

/// One audit row, as `vault audit` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the chain, from 1.
    pub id: i64,
    /// When.
    pub at: SystemTime,
    /// What (`add`, `reveal`, ...).
    pub action: String,
    /// The secret (or the file, for an import); empty when none.
    pub name: String,
    /// `ok`, `denied`, `not-found`.
    pub outcome: String,
    /// More about it (a tool, a version, a count); never a value.
    pub detail: String,
}

#[derive(Clone)]
pub(crate) struct AuditKey(hmac::Key);

impl AuditKey {
    pub(crate) fn new(material: &[u8]) -> Self {
        AuditKey(hmac::Key::new(hmac::HMAC_SHA256, material))
    }

    fn row_hash(&self, prev: &[u8], entry: &Entry, at: i64) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.0);
        // Length-prefixed fields: no two different rows encode alike.
        for field in [
            prev,
            &entry.id.to_be_bytes(),
            &at.to_be_bytes(),
            entry.action.as_bytes(),
            entry.name.as_bytes(),
            entry.outcome.as_bytes(),
            entry.detail.as_bytes(),
        ] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field);
        }
        ctx.sign().as_ref().to_vec()
    }

    fn head(&self, id: i64, hash: &[u8]) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(b"head");
        ctx.update(&id.to_be_bytes());
        ctx.update(hash);
        hex(ctx.sign().as_ref())
    }
}

/// Appends a row; call inside the transaction of the change it records.
pub(crate) fn append(
    conn: &Connection,
    key: &AuditKey,
    action: Action,
    name: &str,
    outcome: Outcome,
    detail: &str,
) -> Result<(), VaultError> {
    let last: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let (id, prev) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, vec![0u8; 32]),
    };
    let at = crate::unix_now();
    let entry = Entry {
        id,
        at: crate::from_unix(at),
        action: action.as_str().to_owned(),
        name: name.to_owned(),
        outcome: outcome.as_str().to_owned(),
        detail: detail.to_owned(),
    };
    let hash = key.row_hash(&prev, &entry, at);
    conn.execute(
        "INSERT INTO audit (id, at, action, name, outcome, detail, prev, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            at,
            entry.action,
            entry.name,
            entry.outcome,
            entry.detail,
            prev,
            hash
        ],
    )?;
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![HEAD, key.head(id, &hash)],
    )?;
    Ok(())
}

/// Every row, oldest first.
pub(crate) fn entries(conn: &Connection) -> Result<Vec<Entry>, VaultError> {
    let mut stmt =
        conn.prepare("SELECT id, at, action, name, outcome, detail FROM audit ORDER BY id")?;
    let rows = stmt.query_map([], |row| {
        Ok(Entry {
            id: row.get(0)?,
            at: crate::from_unix(row.get(1)?),
            action: row.get(2)?,
            name: row.get(3)?,
            outcome: row.get(4)?,
            detail: row.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Walks the chain; the number of rows when it is intact.
///
/// # Errors
/// [`VaultError::AuditBroken`] naming the first row that does not fit.
pub(crate) fn verify(conn: &Connection, key: &AuditKey) -> Result<usize, VaultError> {
    let mut stmt = conn.prepare(
        "SELECT id, at, action, name, outcome, detail, prev, hash FROM audit ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_prev = vec![0u8; 32];
    let mut expected_id = 1;
    let mut last: Option<(i64, Vec<u8>)> = None;
    while let Some(row) = rows.next()? {
        let at: i64 = row.get(1)?;
        let entry = Entry {
            id: row.get(0)?,
            at: crate::from_unix(at),
            action: row.get(2)?,
            name: row.get(3)?,
            outcome: row.get(4)?,
            detail: row.get(5)?,
        };
        let prev: Vec<u8> = row.get(6)?;
        let hash: Vec<u8> = row.get(7)?;
        let broken = |reason: &str| VaultError::AuditBroken {
            row: entry.id,
            reason: reason.to_owned(),
        };
        if entry.id != expected_id {
            return Err(VaultError::AuditBroken {
                row: expected_id,
                reason: format!("is missing (the next row is {})", entry.id),
            });
        }
        if prev != expected_prev {
            return Err(broken(
                "does not follow the row before it (rows deleted or reordered)",
            ));
        }
        if key.row_hash(&prev, &entry, at) != hash {
            return Err(broken("was changed after it was written"));
        }
        expected_prev = hash.clone();
        expected_id += 1;
        last = Some((entry.id, hash));
    }
    let head: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            params![HEAD],
            |r| r.get(0),
        )
        .optional()?;
    match (last, head) {
        (None, None) => Ok(0),
        (Some((id, hash)), Some(head)) if key.head(id, &hash) == head => {
            Ok(usize::try_from(id).unwrap_or(usize::MAX))
        }
        (last, _) => Err(VaultError::AuditBroken {
            row: last.map_or(1, |(id, _)| id + 1),
            reason: "is missing: the log was cut short (its recorded end does not match)".into(),
        }),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
