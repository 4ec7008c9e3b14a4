//! The database schema and its migrations. Each step runs in its own transaction and bumps
//! `user_version`, so an interrupted upgrade resumes where it stopped.

use rusqlite::Connection;

use crate::VaultError;

/// The newest schema this build writes.
pub(crate) const VERSION: i64 = 3;

pub(crate) fn migrate(conn: &Connection) -> Result<(), VaultError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > VERSION {
        return Err(VaultError::SchemaTooNew {
            found: version,
            supported: VERSION,
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
    if version < 3 {
        // Values move to `versions` (one row per value a secret has had; the current one has
        // no `retired_at`); secrets gain their metadata; `settings` holds public facts (the
        // key's recipient, the audit head); `audit` is the hash-chained log.
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             CREATE TABLE versions (
                 name TEXT NOT NULL REFERENCES secrets(name) ON DELETE CASCADE,
                 version INTEGER NOT NULL,
                 ciphertext BLOB NOT NULL,
                 created_at INTEGER NOT NULL,
                 retired_at INTEGER,
                 PRIMARY KEY (name, version)
             ) STRICT;
             INSERT INTO versions (name, version, ciphertext, created_at)
                 SELECT name, 1, ciphertext, updated_at FROM secrets;
             ALTER TABLE secrets DROP COLUMN ciphertext;
             ALTER TABLE secrets RENAME COLUMN updated_at TO rotated_at;
             ALTER TABLE secrets ADD COLUMN description TEXT NOT NULL DEFAULT '';
             ALTER TABLE secrets ADD COLUMN kind TEXT NOT NULL DEFAULT '';
             ALTER TABLE secrets ADD COLUMN allowed_tools TEXT NOT NULL DEFAULT '';
             ALTER TABLE secrets ADD COLUMN last_used_at INTEGER;
             CREATE TABLE settings (
                 key TEXT PRIMARY KEY NOT NULL,
                 value TEXT NOT NULL
             ) STRICT;
             CREATE TABLE audit (
                 id INTEGER PRIMARY KEY NOT NULL,
                 at INTEGER NOT NULL,
                 action TEXT NOT NULL,
                 name TEXT NOT NULL,
                 outcome TEXT NOT NULL,
                 detail TEXT NOT NULL,
                 prev BLOB NOT NULL,
                 hash BLOB NOT NULL
             ) STRICT;
             PRAGMA user_version = 3;
             COMMIT;",
        )?;
    }
    Ok(())
}
