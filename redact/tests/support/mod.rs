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

/// `text` as typed, and as a chat message's content (a JSON string, where a closing quote
/// rather than a line end follows it): a rule must hold in both.
pub fn typed_and_in_json(text: &str) -> [String; 2] {
    [
        text.to_owned(),
        serde_json::json!({ "content": text }).to_string(),
    ]
}
