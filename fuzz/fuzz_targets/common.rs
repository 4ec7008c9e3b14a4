//! What the fuzz targets share: the engine under test, with one registry secret planted.

use airlock_redact::{PlaceholderKey, Redactor, RuleSet};
use std::sync::OnceLock;

/// A registry secret with a quote and a backslash (its escaped forms differ from it).
pub const PLANTED: &str = "fuzz-planted-secret-Q7x\"9\\z";

/// Every layer on, the shipped rules, `PLANTED` in the registry; built once.
pub fn engine() -> &'static Redactor {
    static ENGINE: OnceLock<Redactor> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut builder = Redactor::builder(PlaceholderKey::from_bytes(&[1u8; 32]).unwrap());
        builder.secret("seeded", PLANTED.as_bytes());
        builder.entropy(true);
        builder.rules(RuleSet::from_toml("rules", include_str!("../../rules/redaction.toml")).unwrap());
        builder.build().unwrap()
    })
}
