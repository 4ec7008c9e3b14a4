//! Fuzzes the redaction engine: it never panics, a planted registry secret never survives in
//! the output, JSON input stays JSON, and redaction is idempotent.
#![no_main]

use airlock_redact::{PlaceholderKey, Redactor, RuleSet};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const PLANTED: &str = "fuzz-planted-secret-Q7x\"9\\z";

fn engine() -> &'static Redactor {
    static ENGINE: OnceLock<Redactor> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut builder = Redactor::builder(PlaceholderKey::from_bytes(&[1u8; 32]).unwrap());
        builder.secret("seeded", PLANTED.as_bytes());
        builder.entropy(true);
        builder.rules(RuleSet::from_toml("rules", include_str!("../../rules/redaction.toml")).unwrap());
        builder.build().unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    // The input as it is, and the input as a JSON string with the secret planted in the middle.
    let once = engine.redact(data).into_bytes();
    assert_eq!(engine.redact(&once).as_bytes(), &once[..], "not idempotent");

    let text = String::from_utf8_lossy(data);
    let half = text.len() / 2;
    let half = (0..=half).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    let planted = format!("{}{PLANTED}{}", &text[..half], &text[half..]);
    let json = serde_json::to_vec(&serde_json::json!({ "t": planted })).unwrap();
    let out = engine.redact(&json).into_bytes();
    let parsed: serde_json::Value = serde_json::from_slice(&out).expect("output is not JSON");
    let t = parsed["t"].as_str().unwrap();
    assert!(!t.contains(PLANTED), "planted secret survived");
});
