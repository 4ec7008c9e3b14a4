//! The engine's invariants, with every layer on and the shipped rules, as properties:
//! JSON in, JSON out; redacting twice changes nothing; no placeholder holds secret bytes;
//! planted secrets never survive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use airlock_redact::{Layer, PlaceholderKey, Redactor, RuleSet};
use proptest::prelude::*;

const RULES: &str = include_str!("../../rules/redaction.toml");
const VAULT: [(&str, &str); 3] = [
    ("db_password", "Tr0ub4dor&3-\"horse\"\\staple"),
    ("smtp", "correct horse battery staple 42"),
    ("api_token", "tok_9f8e7d6c5b4a39281706"),
];

fn engine() -> &'static Redactor {
    static ENGINE: std::sync::OnceLock<Redactor> = std::sync::OnceLock::new();
    ENGINE.get_or_init(build_engine)
}

fn build_engine() -> Redactor {
    let mut builder = Redactor::builder(PlaceholderKey::from_bytes(&[5u8; 32]).unwrap());
    for (name, value) in VAULT {
        builder.secret(name, value.as_bytes());
    }
    builder.rules(RuleSet::from_toml("rules", RULES).unwrap());
    builder.entropy(true);
    builder.build().unwrap()
}

/// Every positive example of the shipped rules: realistic secrets to plant.
fn rule_examples() -> Vec<String> {
    RuleSet::from_toml("rules", RULES)
        .unwrap()
        .rules()
        .iter()
        .flat_map(|r| r.examples().to_vec())
        .collect()
}

fn piece() -> impl Strategy<Value = String> {
    let examples = rule_examples();
    prop_oneof![
        "\\PC{0,30}",
        "[ -~]{0,30}",
        Just("\n".to_owned()),
        Just("\\".to_owned()),
        Just("\"".to_owned()),
        proptest::sample::select(VAULT.iter().map(|(_, v)| v.to_string()).collect::<Vec<_>>()),
        proptest::sample::select(examples),
    ]
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..8).prop_map(|pieces| pieces.concat())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        text().prop_map(serde_json::Value::String),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        Just(serde_json::Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::vec(("[a-z_]{1,12}", inner.clone()), 0..4)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            // Tool-call arguments: a JSON document inside a JSON string, which may hold
            // another (a JSON file the tool call writes).
            proptest::collection::vec(("[a-z_]{1,12}", inner), 0..3).prop_map(|kv| {
                let inner: serde_json::Map<String, serde_json::Value> = kv.into_iter().collect();
                serde_json::json!({ "arguments": serde_json::Value::Object(inner).to_string() })
            }),
        ]
    })
}

/// How many JSON documents `value` holds in its strings, at any depth (a string counts when it
/// parses as an object).
fn nested_documents(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::String(s) => match serde_json::from_str(s) {
            Ok(doc @ serde_json::Value::Object(_)) => 1 + nested_documents(&doc),
            _ => 0,
        },
        serde_json::Value::Array(items) => items.iter().map(nested_documents).sum(),
        serde_json::Value::Object(map) => map.values().map(nested_documents).sum(),
        _ => 0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn json_stays_json_and_redaction_is_idempotent(value in json_value(), ascii in any::<bool>()) {
        let engine = engine();
        let mut input = serde_json::to_string(&value).unwrap();
        if ascii {
            // Python's json.dumps: non-ASCII as \\uXXXX.
            input = input.chars().map(|c| if c.is_ascii() { c.to_string() } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units).iter().map(|u| format!("\\u{u:04x}")).collect()
            }).collect();
        }
        let once = engine.redact(input.as_bytes());
        let out = once.as_bytes().to_vec();
        let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&out);
        prop_assert!(parsed.is_ok(), "not JSON: {}", String::from_utf8_lossy(&out));
        // Documents nested in strings stay documents too.
        if let Ok(parsed) = parsed {
            prop_assert_eq!(
                nested_documents(&parsed),
                nested_documents(&value),
                "a nested document no longer parses: {}",
                String::from_utf8_lossy(&out)
            );
        }
        let twice = engine.redact(&out).into_bytes();
        prop_assert_eq!(twice, out.clone(), "not idempotent");
        for (name, secret) in VAULT {
            let escaped = serde_json::to_string(secret).unwrap();
            let escaped = &escaped[1..escaped.len() - 1];
            let text = String::from_utf8_lossy(&out);
            prop_assert!(!text.contains(secret) && !text.contains(escaped), "{} survived", name);
        }
    }

    /// A value the rules or the entropy layer replaced is replaced wherever else it stands:
    /// no copy of it is left in the output (checked for the values a password is made of:
    /// letters, digits and a symbol, no space; word-like values are left alone elsewhere).
    #[test]
    fn a_found_value_leaves_no_copy(pieces in proptest::collection::vec(text(), 1..6)) {
        let engine = engine();
        let input = pieces.concat();
        let once = engine.redact(input.as_bytes());
        let text = String::from_utf8_lossy(once.as_bytes()).into_owned();
        for finding in once.findings().iter().filter(|f| f.layer != Layer::Registry) {
            let value = &input.as_bytes()[finding.span.clone()];
            let made_up = value.iter().any(u8::is_ascii_digit)
                && value.iter().any(u8::is_ascii_alphabetic)
                && value.iter().any(|b| b"!@#$%^&*+=?~|".contains(b))
                && !value.iter().any(u8::is_ascii_whitespace);
            if (8..=1024).contains(&value.len()) && made_up {
                let value = String::from_utf8_lossy(value);
                prop_assert!(!text.contains(value.as_ref()), "a copy survived: {}", text);
            }
        }
    }

    #[test]
    fn placeholders_hold_no_secret_bytes(input in text()) {
        let engine = engine();
        let out = engine.redact(input.as_bytes());
        for finding in out.findings() {
            let placeholder = &finding.placeholder;
            prop_assert!(placeholder.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'));
            match finding.layer {
                // The vault name, which the builder refuses when it is part of the value
                // (with `.part` for part of the value).
                Layer::Registry => {
                    prop_assert!(
                        [format!("SECRET_REF({})", finding.source), format!("SECRET_REF({}.part)", finding.source)]
                            .contains(placeholder),
                        "{}", placeholder
                    );
                    let value = VAULT.iter().find(|(n, _)| *n == finding.source).unwrap().1;
                    prop_assert!(!airlock_redact::name_in_value(&finding.source, value.as_bytes()));
                }
                // The rule id (public) and 8 hex digits of a keyed hash: nothing of the value.
                Layer::Regex | Layer::Entropy => {
                    let inner = placeholder
                        .strip_prefix("SECRET_REF(")
                        .and_then(|p| p.strip_suffix(')'))
                        .and_then(|p| p.strip_prefix(finding.source.as_str()))
                        .and_then(|p| p.strip_prefix('.'));
                    prop_assert!(
                        inner.is_some_and(|h| h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit())),
                        "{}", placeholder
                    );
                }
            }
        }
    }
}

/// A chat request of `messages`, each message's text padded so that the body is long enough
/// to be redacted in chunks.
fn chat_body(messages: &[String], padding: usize) -> String {
    let pad = "lorem ipsum dolor sit amet ".repeat(padding / 27 + 1);
    let messages: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::json!({ "role": "user", "content": format!("{pad}{m}") }))
        .collect();
    serde_json::json!({ "model": "m", "messages": messages, "stream": true }).to_string()
}

/// A password the rules find once and the conversation repeats bare, or encoded, elsewhere.
const PASSWORD: &str = "Vq7#Lm2pXz9!";

fn without_password(out: &[u8]) -> bool {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(out);
    let encoded = base64::engine::general_purpose::STANDARD.encode(PASSWORD);
    !text.contains(PASSWORD) && !text.contains(&encoded)
}

#[test]
fn a_found_password_is_replaced_wherever_else_the_body_holds_it() {
    use base64::Engine as _;
    let engine = engine();
    let encoded = base64::engine::general_purpose::STANDARD.encode(PASSWORD);
    let body = serde_json::json!({ "messages": [
        { "role": "user", "content": format!("the db password: {PASSWORD}") },
        { "role": "assistant", "content": format!("Logging in with {PASSWORD} now.") },
        { "role": "user", "content": format!("encoded it reads {encoded} there") },
    ]})
    .to_string();
    let out = engine.redact(body.as_bytes());
    assert!(
        without_password(out.as_bytes()),
        "{}",
        String::from_utf8_lossy(out.as_bytes())
    );
    // Under the placeholder it got where it was found.
    let placeholders: std::collections::BTreeSet<&str> = out
        .findings()
        .iter()
        .map(|f| f.placeholder.as_str())
        .collect();
    assert_eq!(placeholders.len(), 1, "{placeholders:?}");
}

#[test]
fn a_plain_word_taken_for_a_password_is_left_alone_elsewhere() {
    let engine = engine();
    let input =
        "POSTGRES_PASSWORD=postgres docker run postgres:16, then connect with postgresql://";
    let out = String::from_utf8(engine.redact(input.as_bytes()).into_bytes()).unwrap();
    assert!(out.starts_with("POSTGRES_PASSWORD=SECRET_REF("), "{out}");
    assert!(
        out.ends_with(" docker run postgres:16, then connect with postgresql://"),
        "{out}"
    );
}

/// The next turn of a conversation whose first request was `messages`: one message more, the
/// rest from the memo. Its output must hold the password in no form.
fn next_turn_leaves_no_password(engine: &Redactor, mut messages: Vec<String>, last: String) {
    messages.push(last);
    let body = chat_body(&messages, 600);
    let turn = engine.redact_request(body.as_bytes());
    assert!(turn.chunks().remembered > 0, "{:?}", turn.chunks());
    let out = turn.as_bytes();
    assert!(without_password(out), "{}", String::from_utf8_lossy(out));
}

#[test]
fn a_found_password_is_replaced_across_remembered_chunks() {
    let engine = engine();
    let filler: Vec<String> = (0..10).map(|i| format!("message {i}")).collect();
    // Found in a chunk of the first request; repeated bare in the next turn's new message.
    let mut first = filler.clone();
    first[2] = format!("the db password: {PASSWORD}");
    let body = chat_body(&first, 600);
    assert!(without_password(
        engine.redact_request(body.as_bytes()).as_bytes()
    ));
    let repeated = format!("I will use {PASSWORD} for the replica too");
    next_turn_leaves_no_password(engine, first, repeated);

    // Said bare first, and only named a password in a later turn: the remembered chunk that
    // held it bare is replaced too.
    let mut first = filler;
    first[2] = format!("try {PASSWORD} on the replica");
    let body = chat_body(&first, 600);
    let unnamed = !without_password(engine.redact_request(body.as_bytes()).as_bytes());
    assert!(unnamed, "nothing named it a password yet");
    next_turn_leaves_no_password(engine, first, format!("the db password: {PASSWORD}"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The proxy's chunked, remembered redaction keeps the invariants of the whole one, finds
    /// every known secret the whole one finds, and gives the same output from the memo.
    #[test]
    fn chunked_redaction_keeps_the_invariants(
        messages in proptest::collection::vec(text(), 8..20),
        last in text(),
        padding in 400usize..1200,
    ) {
        let engine = engine();
        let body = chat_body(&messages, padding);
        let whole = engine.redact(body.as_bytes());
        let first = engine.redact_request(body.as_bytes());
        let out = first.as_bytes().to_vec();
        prop_assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok(), "not JSON");
        let registry = |r: &airlock_redact::Redaction| -> Vec<(std::ops::Range<usize>, String)> {
            r.findings()
                .iter()
                .filter(|f| f.layer == Layer::Registry)
                .map(|f| (f.span.clone(), f.source.clone()))
                .collect()
        };
        prop_assert_eq!(registry(&first), registry(&whole));
        for (name, secret) in VAULT {
            let escaped = serde_json::to_string(secret).unwrap();
            let escaped = &escaped[1..escaped.len() - 1];
            let text = String::from_utf8_lossy(&out);
            prop_assert!(!text.contains(secret) && !text.contains(escaped), "{} survived", name);
        }
        let remembered = engine.redact_request(body.as_bytes());
        prop_assert_eq!(remembered.as_bytes(), &out[..], "the memo changed the output");
        prop_assert_eq!(remembered.findings(), first.findings());
        let again = engine.redact_request(&out);
        prop_assert_eq!(again.as_bytes(), &out[..], "not idempotent");

        // The next turn: one message more, the rest from the memo, the new part scanned on
        // its own.
        let mut next = messages.clone();
        next.push(last);
        let body = chat_body(&next, padding);
        let whole = engine.redact(body.as_bytes());
        let turn = engine.redact_request(body.as_bytes());
        let out = turn.as_bytes();
        prop_assert!(serde_json::from_slice::<serde_json::Value>(out).is_ok(), "not JSON");
        prop_assert_eq!(registry(&turn), registry(&whole));
        let text = String::from_utf8_lossy(out);
        for (name, secret) in VAULT {
            let escaped = serde_json::to_string(secret).unwrap();
            prop_assert!(!text.contains(secret) && !text.contains(&escaped[1..escaped.len() - 1]), "{} survived", name);
        }
    }

    /// Whatever bytes come in, chunked redaction does not panic, and its memo gives back what
    /// its scan gave: JSON-like text of the size that is cut, and broken forms of it.
    #[test]
    fn chunked_redaction_of_any_bytes_agrees_with_its_memo(
        messages in proptest::collection::vec(text(), 8..16),
        cut in any::<prop::sample::Index>(),
        noise in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let engine = engine();
        let body = chat_body(&messages, 600).into_bytes();
        // The body cut short, with random bytes after the cut.
        let at = cut.index(body.len());
        let broken: Vec<u8> = body[..at].iter().chain(&noise).copied().collect();
        for input in [&body, &broken] {
            let first = engine.redact_request(input).into_bytes();
            prop_assert_eq!(engine.redact_request(input).into_bytes(), first);
        }
    }
}
