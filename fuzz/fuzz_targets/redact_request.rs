//! Fuzzes the proxy's chunked, remembered redaction (`Redactor::redact_request`): it never
//! panics on any bytes; on a chat body built from the input with a registry secret planted in
//! one message, the output is JSON, the secret is gone, and the memo gives back what the scan
//! gave.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;
use common::{engine, PLANTED};

fuzz_target!(|data: &[u8]| {
    let engine = engine();
    // Any bytes, as a body: no panic, and the memo's answer equals the scan's.
    let first = engine.redact_request(data).into_bytes();
    assert_eq!(engine.redact_request(data).as_bytes(), &first[..], "memo differs");

    // A conversation: the input cut into messages, padded past the size that is chunked, the
    // secret in the middle one.
    let text = String::from_utf8_lossy(data);
    let pieces: Vec<&str> = text.split('\n').collect();
    let middle = pieces.len() / 2;
    let pad = "lorem ipsum ".repeat(64);
    let messages: Vec<serde_json::Value> = pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let secret = if i == middle { PLANTED } else { "" };
            serde_json::json!({ "role": "user", "content": format!("{pad}{piece}{secret}{pad}") })
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "model": "m", "messages": messages })).unwrap();
    let out = engine.redact_request(&body).into_bytes();
    let parsed: serde_json::Value = serde_json::from_slice(&out).expect("output is not JSON");
    assert!(!parsed.to_string().contains("fuzz-planted-secret"), "planted secret survived");
    assert_eq!(engine.redact_request(&body).as_bytes(), &out[..], "memo differs");
});
