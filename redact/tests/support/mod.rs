//! What the engine's integration tests share: the engine as `airlock serve` builds it.
#![allow(dead_code, clippy::unwrap_used)]

use airlock_redact::{PlaceholderKey, Redactor, RuleSet};

pub const RULES: &str = include_str!("../../../rules/redaction.toml");

/// The shipped rules and the entropy layer, under a fixed placeholder key.
pub fn engine() -> Redactor {
    let mut builder = Redactor::builder(PlaceholderKey::from_bytes(&[9u8; 32]).unwrap());
    builder.rules(RuleSet::from_toml("rules/redaction.toml", RULES).unwrap());
    builder.entropy(true);
    builder.build().unwrap()
}

/// The engine's output for `text`, as a string.
pub fn redacted(engine: &Redactor, text: &str) -> String {
    String::from_utf8(engine.redact(text.as_bytes()).as_bytes().to_vec()).unwrap()
}
