//! Fuzzes the redaction engine: it never panics, a planted registry secret never survives in
//! the output, JSON input stays JSON, and redaction is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::{engine, PLANTED};

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
