//! The one error type of the vault. Messages name secrets and paths, never values.

use std::path::PathBuf;

/// What went wrong in the vault, named for who has to act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The operator gave a name that cannot be a vault name.
    #[error(
        "invalid secret name {name:?}: use 1-64 characters from A-Z a-z 0-9 _ . -, not ending in \".part\" (the handle for part of a secret)"
    )]
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// The value is too short to redact without damaging ordinary text.
    #[error("the value is {len} bytes; secrets must be at least {min} bytes so that redaction does not hit ordinary text")]
    ValueTooShort {
        /// The value's length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The value is larger than the vault stores.
    #[error("the value is {len} bytes; the limit is {max} bytes")]
    ValueTooLong {
        /// The value's length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The name is part of the value: the placeholder `SECRET_REF(name)` would show it.
    #[error("the name {name:?} is part of the value, so its placeholder would reveal part of it; choose another name")]
    NameInValue {
        /// The name.
        name: String,
    },
    /// The value is not UTF-8 text.
    #[error("the value is not UTF-8 text; store binary secrets in an encoded form (base64, hex)")]
    ValueNotText,
    /// `add` for a name the vault already holds.
    #[error(
        "a secret named {name:?} already exists (remove it first with `airlock vault rm {name}`)"
    )]
    AlreadyExists {
        /// The name.
        name: String,
    },
    /// The name is not in the vault.
    #[error("no secret named {name:?}")]
    NotFound {
        /// The name.
        name: String,
    },
    /// A file or directory under `home` could not be used.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The key file exists but cannot be trusted or read.
    #[error("vault key {path}: {reason}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A stored value cannot be decrypted with this key: wrong key or damaged database.
    #[error("secret {name:?} cannot be decrypted with the vault key (wrong key, or the database is damaged)")]
    Undecryptable {
        /// The secret (or internal entry) that failed.
        name: String,
    },
    /// Encryption failed.
    #[error("encrypting a value failed: {0}")]
    Encrypt(String),
    /// The system's random source failed.
    #[error("the system random source failed")]
    Random,
    /// SQLite refused an operation.
    #[error("vault database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The key loaded does not open this database (and no rotation in progress explains it).
    #[error("the vault key {path} does not match the database (it was sealed for another key); restore the right key file or credential")]
    WrongKey {
        /// Where the key came from.
        path: PathBuf,
    },
    /// The audit chain does not verify.
    #[error("audit log row {row} {reason}")]
    AuditBroken {
        /// The first row that does not fit.
        row: i64,
        /// What is wrong with it.
        reason: String,
    },
    /// A `SECRET_REF(name)` names no secret.
    #[error("SECRET_REF({name}) names no secret in the vault")]
    UnknownRef {
        /// The name in the reference.
        name: String,
    },
    /// The secret may not be used by this tool.
    #[error("SECRET_REF({name}) may not be used by tool {tool:?} (allowed tools are set with `airlock vault set {name} --allow-tool TOOL`)")]
    RefNotAllowed {
        /// The secret.
        name: String,
        /// The tool that asked.
        tool: String,
    },
    /// The arguments to resolve are not JSON.
    #[error("tool arguments are not valid JSON: {0}")]
    ArgumentsNotJson(String),
    /// A tool name that cannot be stored.
    #[error("invalid tool name {tool:?}: use 1-64 characters from A-Z a-z 0-9 _ . : -")]
    InvalidTool {
        /// The refused name.
        tool: String,
    },
    /// A bootstrap file was refused; nothing was imported.
    #[error("bootstrap file {path}: {reason}")]
    Bootstrap {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The database was written by a newer airlock.
    #[error(
        "vault database schema version {found} is newer than this airlock supports ({supported})"
    )]
    SchemaTooNew {
        /// The version in the file.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
}
