//! The one error type of the crate: everything that can go wrong while building a `Redactor`.
//!
//! Messages name rule ids and secret names (operator-chosen, not secret), never a value.

/// Why a [`crate::Redactor`] or [`crate::RuleSet`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A secret's name cannot appear in a placeholder.
    #[error("secret name {name:?} is invalid: use 1-64 characters from A-Z a-z 0-9 _ . -")]
    InvalidSecretName {
        /// The offending name.
        name: String,
    },
    /// A secret too short to redact without destroying ordinary text.
    #[error("secret {name:?} is shorter than {min} bytes and cannot be redacted safely")]
    SecretTooShort {
        /// The secret's name.
        name: String,
        /// The minimum length in bytes.
        min: usize,
    },
    /// The secret's name is part of its value, so its placeholder would show part of it.
    #[error("secret {name:?}: the name is part of the value; choose a name that is not")]
    NameInValue {
        /// The secret's name.
        name: String,
    },
    /// The placeholder key is too short to make handles unguessable.
    #[error("the placeholder key must be at least 32 bytes")]
    PlaceholderKeyTooShort,
    /// The rule file is not valid TOML or does not have the rule file's shape.
    #[error("{source_name}: {message}")]
    RuleFile {
        /// Where the rules came from (a path, or `embedded`).
        source_name: String,
        /// What the parser said, with line and column.
        message: String,
    },
    /// One rule is malformed.
    #[error("{source_name}:{line}: rule {id:?}: {reason}")]
    Rule {
        /// Where the rules came from.
        source_name: String,
        /// The line of the rule's `id`.
        line: usize,
        /// The rule's id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The automaton over registry secrets or keywords could not be built.
    #[error("cannot build the {what} automaton: {message}")]
    Automaton {
        /// Which automaton.
        what: &'static str,
        /// The library's message (it never contains pattern bytes).
        message: String,
    },
}
