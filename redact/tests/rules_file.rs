//! The shipped rule file: it compiles, every example holds, and it stays quiet on real traffic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use airlock_redact::{Redactor, RuleSet};
use support::{engine, redacted, typed_and_in_json, RULES};

/// What the engine flags in `text`: rule and matched text, for a failure message (these
/// corpora are public and hold no secrets).
fn flagged(engine: &Redactor, text: &[u8]) -> Vec<String> {
    engine
        .redact(text)
        .findings()
        .iter()
        .map(|f| {
            format!(
                "{} {:?}",
                f.source,
                String::from_utf8_lossy(&text[f.span.clone()])
            )
        })
        .collect()
}

#[test]
fn every_rule_example_holds() {
    let rules = RuleSet::from_toml("rules/redaction.toml", RULES).unwrap();
    assert!(
        rules.rules().len() >= 25,
        "only {} rules",
        rules.rules().len()
    );
    let failures: Vec<String> = rules
        .check_examples()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A capture that runs past the quote closing a JSON string is cut there; the handle and the
/// learned value are those of what is replaced, as for the same value in plain text.
#[test]
fn a_value_cut_at_a_closing_quote_keeps_its_handle_and_is_learned_as_replaced() {
    let e = engine();
    let plain = e.redact(b"machine git.example.org login bob password Pa55word9\n");
    let in_json =
        e.redact(br#"{"content":"machine git.example.org\nlogin bob\npassword Pa55word9"}"#);
    let [found] = plain.findings() else {
        panic!("{:?}", plain.findings());
    };
    let [found_in_json] = in_json.findings() else {
        panic!("{:?}", in_json.findings());
    };
    assert_eq!(found_in_json.placeholder, found.placeholder);
    assert_eq!(in_json.detected()[0].expose(), b"Pa55word9");
    let out = String::from_utf8(in_json.into_bytes()).unwrap();
    assert!(
        out.ends_with(&format!("{}\"}}", found.placeholder)),
        "{out}"
    );
}

/// Every positive example of the engine's rules, with its rule's id.
fn positive_examples(engine: &Redactor) -> impl Iterator<Item = (&str, &str)> {
    engine
        .rules()
        .rules()
        .iter()
        .flat_map(|rule| rule.examples().iter().map(move |e| (rule.id(), e.as_str())))
}

/// Redacts a chat request whose one message calls tool `name` with `arguments` (sent, as the
/// API sends them, as a JSON document in a string), and returns that string as redacted.
fn redacted_tool_call(engine: &Redactor, name: &str, arguments: serde_json::Value) -> String {
    let body = serde_json::json!({ "messages": [{ "role": "assistant", "tool_calls": [
        { "id": "c1", "type": "function",
          "function": { "name": name, "arguments": arguments.to_string() } }
    ] }] })
    .to_string();
    let out: serde_json::Value = serde_json::from_str(&redacted(engine, &body)).unwrap();
    out["messages"][0]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Tool-call arguments are a JSON document in a JSON string. Whatever a rule finds in them,
/// the arguments still parse after the replacement: a capture that would run past the nested
/// string's closing quote (`password \S+` before `\"}`) stops at it.
#[test]
fn tool_call_arguments_stay_valid_json_for_every_rule_example() {
    let engine = engine();
    let mut broken = Vec::new();
    for (rule, example) in positive_examples(&engine) {
        let arguments =
            redacted_tool_call(&engine, "exec", serde_json::json!({ "command": example }));
        if serde_json::from_str::<serde_json::Value>(&arguments).is_err() {
            broken.push(format!("{rule}: {arguments}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

/// A tool call that writes a JSON file puts the file's strings three levels down: the body's
/// string holds the arguments, whose `content` string holds the file. Every rule example
/// written there as a value is still replaced, and all three levels still parse.
#[test]
fn every_rule_example_is_replaced_in_a_json_file_a_tool_call_writes() {
    let engine = engine();
    let mut failures = Vec::new();
    for (rule, example) in positive_examples(&engine) {
        let file = serde_json::to_string_pretty(&serde_json::json!({ "settings": {
            "value": example
        } }))
        .unwrap();
        let arguments = redacted_tool_call(
            &engine,
            "write",
            serde_json::json!({ "path": "config.json", "content": file }),
        );
        let value = serde_json::from_str::<serde_json::Value>(&arguments)
            .ok()
            .and_then(|a| serde_json::from_str::<serde_json::Value>(a["content"].as_str()?).ok())
            .and_then(|file| file["settings"]["value"].as_str().map(str::to_owned));
        match value {
            None => failures.push(format!("{rule}: no longer parses: {arguments}")),
            Some(v) if !v.contains("SECRET_REF(") => {
                failures.push(format!("{rule}: not replaced: {v}"));
            }
            Some(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A string that ends in an escaped quote sits next to the body's own quotes: read through the
/// escapes, `"... -p Rt7Yb\"` and `"],"` look like two literals joined by a line break. The
/// second is JSON structure, and is not replaced.
#[test]
fn json_structure_between_strings_is_never_a_joined_literal() {
    let engine = engine();
    let body =
        r#"[["oc login https://api.cluster:6443 -u kubeadmin -p Xk2mV-9qLw3-Rt7Yb\"\n"],""]"#;
    let out: serde_json::Value = serde_json::from_str(&redacted(&engine, body)).unwrap();
    let command = out[0][0].as_str().unwrap();
    assert!(
        command.contains("-p SECRET_REF(generic.registry_login_password."),
        "{command}"
    );
    assert_eq!(out[1], "");
}

/// A capture of bounded length can stop inside a multi-byte character (the prose rule takes
/// at most 64 bytes); the replacement takes the whole character, and the output stays UTF-8
/// and JSON.
#[test]
fn a_capture_never_cuts_a_character() {
    let engine = engine();
    for filler in 40..56 {
        let value = format!("Xgt2Cok!BrWTEL{}®ü€x", "a".repeat(filler));
        let body = serde_json::json!({ "content": format!("vault unseal key: {value}") });
        let out = engine.redact(body.to_string().as_bytes()).into_bytes();
        let text = String::from_utf8(out).expect("the output is UTF-8");
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let content = parsed["content"].as_str().unwrap();
        assert!(
            content.starts_with("vault unseal key: SECRET_REF("),
            "{content}"
        );
    }
}

/// Every compiled rule stays in memory for the life of the proxy, and a counted repetition
/// is compiled as that many copies of its pattern: `[^;]{16,4096}` alone cost ~0.8 MB. A
/// window already bounds how far a match can run, so a large count buys nothing.
#[test]
fn no_regex_counts_to_a_hundred_or_more() {
    let count = regex::Regex::new(r"\{(\d+),(\d+)\}").unwrap();
    let mut large = Vec::new();
    for (n, line) in RULES.lines().enumerate() {
        if !line.starts_with("regex = ") {
            continue;
        }
        for caps in count.captures_iter(line) {
            if caps[2].parse::<u32>().unwrap() >= 100 {
                large.push(format!("line {}: {}", n + 1, &caps[0]));
            }
        }
    }
    assert!(
        large.is_empty(),
        "use an open bound ({{m,}}) instead:\n{}",
        large.join("\n")
    );
}

#[test]
fn every_positive_example_is_replaced() {
    // Its own rule fires (every_rule_example_holds); here the whole engine must replace
    // something, whichever rule's placeholder wins an overlap.
    let engine = engine();
    for (rule, example) in positive_examples(&engine) {
        let out = engine.redact(example.as_bytes());
        let text = String::from_utf8(out.as_bytes().to_vec()).unwrap();
        assert!(text.contains("SECRET_REF("), "rule {rule}: {text}");
    }
}

/// A benign corpus: the workspace's own lockfile and library sources (not its tests, rules or
/// fixtures, which hold fake secrets on purpose).
#[test]
fn no_finding_on_lockfiles_and_source_code() {
    let engine = engine();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![
        root.join("Cargo.lock"),
        root.join("Cargo.toml"),
        root.join("README.md"),
    ];
    for dir in [
        "redact/src",
        "proxy/src",
        "vault/src",
        "src",
        "src/commands",
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".rs") && name != "tests.rs" {
                files.push(path);
            }
        }
    }
    let mut bytes = 0;
    for path in &files {
        let text = std::fs::read(path).unwrap();
        bytes += text.len();
        let flagged = flagged(&engine, &text);
        assert!(flagged.is_empty(), "{}: {flagged:?}", path.display());
    }
    assert!(bytes > 100_000, "benign corpus too small: {bytes} bytes");
}

#[test]
fn no_finding_on_the_openclaw_fixtures() {
    // What the proxy redacts: each captured request body as sent (compact JSON), and the
    // plugin hook events. (The captures' headers carry the client's dummy API key, which
    // the proxy forwards as a header and never scans.)
    let engine = engine();
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/openclaw");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("../shared/fixtures/openclaw beside the checkout") {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let documents: Vec<Vec<u8>> = if path.extension().is_some_and(|e| e == "json") {
            let capture: serde_json::Value = serde_json::from_str(&text).unwrap();
            vec![serde_json::to_vec(&capture["body"]).unwrap()]
        } else {
            text.lines().map(|l| l.as_bytes().to_vec()).collect()
        };
        for document in documents {
            let flagged = flagged(&engine, &document);
            assert!(flagged.is_empty(), "{}: {flagged:?}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 5);
}

#[test]
fn long_secrets_are_replaced_whole_however_far_from_their_keyword() {
    let engine = engine();
    // A 4096-bit RSA key is over 3,000 characters of body: far past the default window.
    let body: String = (0..52).map(|i| format!("MIIJ{:060}\n", i)).collect();
    let pem = format!("-----BEGIN RSA PRIVATE KEY-----\n{body}-----END RSA PRIVATE KEY-----");
    let json = serde_json::to_string(&serde_json::json!({ "k": pem })).unwrap();
    let out = redacted(&engine, &json);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        parsed["k"]
            .as_str()
            .unwrap()
            .starts_with("SECRET_REF(pem.private_key."),
        "{out}"
    );
    assert!(!out.contains("MIIJ"), "{out}");

    // The same key base64-encoded whole, as in a Kubernetes secret.
    let encoded = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(pem.as_bytes())
    };
    let line = format!("tls.key: {encoded}\n");
    let out = redacted(&engine, &line);
    assert!(
        out.len() < 100,
        "part of the encoded key survived: {} bytes left",
        out.len()
    );

    // A token that straddles the end of a keyword window is still replaced whole.
    let filler = "x".repeat(500);
    let token = "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";
    let text = format!("password {filler} {token}");
    let out = redacted(&engine, &text);
    assert!(!out.contains("ghp_"), "{out}");
}

/// Passwords hold the characters that end values in other contexts: a `#` not after white
/// space (YAML, dotenv and shell comments need it), `&` and `!`. The whole value is replaced,
/// wherever the line is (alone, or the end of a chat message).
#[test]
fn password_characters_that_end_other_values_stay_in_the_value() {
    let engine = engine();
    for (text, kept) in [
        ("pass: wktN9ugk#ZeE", "pass: "),
        ("DB_PASSWORD=Xk9#mQ2v!Lp7wZr4 # rotated", "DB_PASSWORD="),
        ("db pass is wktN9ugk&ZeE btw", "db pass is "),
        ("Das Passwort lautet Sommer2024xy", "Das Passwort lautet "),
    ] {
        for message in typed_and_in_json(text) {
            let out = redacted(&engine, &message);
            let value = text[kept.len()..].split(' ').next().unwrap();
            assert!(out.contains(&format!("{kept}SECRET_REF(")), "{out}");
            for piece in value.as_bytes().windows(4) {
                let piece = std::str::from_utf8(piece).unwrap();
                assert!(!out.contains(piece), "{piece:?} left in {out}");
            }
        }
    }
}

/// A password that ends in `!` (as many do) keeps it: the mark is not taken for the end of
/// the sentence and left behind, in the text or at the end of a JSON string.
#[test]
fn a_closing_exclamation_mark_stays_in_the_password() {
    let engine = engine();
    for text in [
        "the db password: Vq7#Lm2pXz9!",
        "user: admin, pass: Summer2024!",
        "Das Passwort lautet Kx9#mQ2vLp7!",
    ] {
        for message in typed_and_in_json(text) {
            let out = redacted(&engine, &message);
            assert!(out.contains("SECRET_REF("), "{out}");
            assert!(!out.contains(")!"), "{out}");
        }
    }
}

/// A passphrase quoted on a command line is replaced to its closing quote, not to its first
/// space: none of its words is left, whichever tool's flag gives it.
#[test]
fn quoted_passphrases_on_command_lines_are_replaced_whole() {
    let engine = engine();
    let phrase = "correct horse battery 42";
    for line in [
        "ssh-keygen -t ed25519 -N \"{P}\" -f key",
        "zip -r -P '{P}' out.zip dir",
        "openssl enc -aes-256-cbc -k \"{P}\" -in f",
        "sqlcmd -S db -U sa -P \"{P}\" -Q 'select 1'",
        "redis-cli -a '{P}' ping",
        "net user bob \"{P}\" /add",
        "xfreerdp /u:admin /p:\"{P}\" /v:host",
        "mysql -u root -p\"{P}\" shop",
        "sshpass -p '{P}' ssh deploy@host",
        "docker login -u bob -p \"{P}\" registry.example.com",
        "curl -u \"admin:{P}\" https://jenkins.example.com/api",
        "Connect-Thing -Password \"{P}\" -Server x",
        "nmcli dev wifi connect Office password \"{P}\"",
    ] {
        let text = line.replace("{P}", phrase);
        for message in typed_and_in_json(&text) {
            let out = redacted(&engine, &message);
            for word in phrase.split(' ') {
                assert!(!out.contains(word), "{word:?} left in {out}");
            }
        }
    }
}

/// A tool call whose arguments (a JSON string inside the request's JSON) hold an `.env` file:
/// its lines are separated by `\\n` in the raw body, and each assignment is still found at
/// its line start; both levels stay valid JSON.
#[test]
fn assignments_in_nested_tool_arguments_are_found_at_their_line_starts() {
    let engine = engine();
    let env = "APP_ENV=prod\nDB_PASSWORD=Summer2024x\nAWS_KEY=AKIAPYCDYBK377OXTZQ6\n";
    let arguments = serde_json::json!({ "path": ".env", "content": env }).to_string();
    let body = serde_json::json!({ "tool_calls": [{ "function": { "arguments": arguments } }] });
    let body = body.to_string();
    let text = redacted(&engine, &body);
    assert!(
        !text.contains("Summer2024x") && !text.contains("AKIAPYCDYBK377OXTZQ6"),
        "{text}"
    );
    let outer: serde_json::Value = serde_json::from_str(&text).unwrap();
    let inner: serde_json::Value = serde_json::from_str(
        outer["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let content = inner["content"].as_str().unwrap();
    assert!(
        content.starts_with("APP_ENV=prod\nDB_PASSWORD=SECRET_REF("),
        "{content}"
    );
    assert!(content.contains("\nAWS_KEY=SECRET_REF("), "{content}");
}

/// A file sent base64- or hex-encoded (wrapped or not) is read decoded: a secret inside gets
/// the whole run replaced. Images (large, or small where media sits) and a digest are left as
/// they are.
#[test]
fn secrets_in_base64_or_hex_encoded_text_replace_the_whole_run() {
    use base64::Engine as _;
    let engine = engine();
    let env = "APP_ENV=prod\nDB_PASSWORD=Summer2024x\nLOG_LEVEL=info\n".repeat(3);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&env);
    let wrapped = b64
        .as_bytes()
        .chunks(76)
        .map(|line| std::str::from_utf8(line).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let hex: String = env.bytes().map(|b| format!("{b:02x}")).collect();
    let image: Vec<u8> = (0u32..6000)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let image = base64::engine::general_purpose::STANDARD.encode(image);
    // An icon: shorter than any run taken for media by its length alone.
    let icon: Vec<u8> = (0u32..1500)
        .map(|i| (i.wrapping_mul(2_246_822_519) >> 9) as u8)
        .collect();
    let icon = base64::engine::general_purpose::STANDARD.encode(icon);
    let digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    for encoded in [&b64, &wrapped, &hex] {
        let body = serde_json::json!({ "messages": [
            { "role": "user", "content": format!("the file, encoded: {encoded}") },
            { "role": "user", "content": [{ "type": "image", "source": { "data": image } }] },
            { "role": "user", "content": [{ "type": "image", "source": { "data": icon } }] },
            { "role": "user", "content": [{ "type": "image_url", "image_url": { "url": format!("data:image/png;base64,{icon}") } }] },
            { "role": "user", "content": digest },
        ] })
        .to_string();
        let out = engine.redact(body.as_bytes());
        let text = std::str::from_utf8(out.as_bytes()).unwrap().to_owned();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            parsed["messages"][0]["content"]
                .as_str()
                .unwrap()
                .matches("SECRET_REF(")
                .count(),
            1,
            "{text}"
        );
        assert!(!text.contains(encoded.as_str()), "{text}");
        assert!(text.contains(&image) && text.contains(digest));
        assert_eq!(text.matches(icon.as_str()).count(), 2, "{text}");
        // Redacting again changes nothing.
        assert_eq!(engine.redact(text.as_bytes()).as_bytes(), text.as_bytes());
    }
}

/// A form field holding a percent-encoded config file: the field's value is replaced whole,
/// its name and the other fields stay; a URL with escaped slashes only keeps its own finding.
#[test]
fn tokens_spelled_out_in_escapes_are_read_decoded() {
    // Percent escapes and HTML character references of letters and digits, which no encoder
    // writes: a token spelled out that way is read as the token.
    let engine = engine();
    let token = format!(
        "xoxb-{}-{}-{}",
        2_718_281_828u64, 3_141_592_653u64, "Zq8Wv3Lm2Nz7Rt5Yp1Kb4Hc6"
    );
    let percent: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
    let decimal: String = token.bytes().map(|b| format!("&#{b};")).collect();
    let hex: String = token.bytes().map(|b| format!("&#x{b:x};")).collect();
    for (name, text) in [
        ("percent", format!("GET /hook?t={percent}&x=1")),
        ("decimal", format!("<p>{decimal}</p>")),
        (
            "hex",
            serde_json::json!({ "html": format!("key: {hex}") }).to_string(),
        ),
    ] {
        let out = redacted(&engine, &text);
        assert!(out.contains("SECRET_REF("), "{name}: {out}");
        assert!(
            !out.contains(&text[text.len() / 2..text.len() / 2 + 12]),
            "{name}: {out}"
        );
    }
    // Ordinary escapes stay as they are: a path, an apostrophe, markup.
    for text in [
        "https://example.com/a%20b/c%2Fd?q=caf%C3%A9",
        "<p>don&#39;t &#60;b&#62; panic, it&#8217;s fine</p>",
    ] {
        assert_eq!(redacted(&engine, text), text);
    }
}

#[test]
fn percent_encoded_assignments_are_read_decoded() {
    let engine = engine();
    let body = serde_json::json!({
        "content": "POST /import body: name=prod&config=DB_HOST%3Ddb1%0ADB_PASSWORD%3DSummer2024x%0A&go=1"
    })
    .to_string();
    let out = redacted(&engine, &body);
    assert!(!out.contains("Summer2024x"), "{out}");
    assert!(out.contains("name=prod&config=SECRET_REF("), "{out}");
    assert!(out.contains(")&go=1"), "{out}");
    let url = "https://app.example/login?next=%2Fhome&password=Summer%212024x";
    let out = redacted(&engine, url);
    assert!(
        out.starts_with("https://app.example/login?next=%2Fhome&password=SECRET_REF("),
        "{out}"
    );
}

/// An engine with `rules` alone.
fn rules_only(rules: RuleSet) -> Redactor {
    let mut builder =
        Redactor::builder(airlock_redact::PlaceholderKey::from_bytes(&[9u8; 32]).unwrap());
    builder.rules(rules);
    builder.build().unwrap()
}

#[test]
fn an_anchored_rule_is_tried_at_every_keyword_and_only_there() {
    let file = r#"
[[rule]]
id = "test.anchored"
description = "a value after tok or key"
regex = '''(?:tok|key)[a-z]*\s*=\s*"([^"]{4,})"'''
keywords = ["tok", "key"]
anchor = "keyword"
examples = ['''tok = "abcd1234"''']
negative_examples = ['''tok is "abcd1234"''']
"#;
    let rules = RuleSet::from_toml("test.toml", file).unwrap();
    assert!(rules.check_examples().is_empty());
    let engine = rules_only(rules);
    // Hits a few bytes apart, inside one another's windows: each is tried, each value found.
    let out = redacted(
        &engine,
        r#"tok="aaaa1111" key = "bbbb2222";tokens= "cccc3333""#,
    );
    assert!(
        !out.contains("aaaa1111") && !out.contains("bbbb2222") && !out.contains("cccc3333"),
        "{out}"
    );
    // A match the regex would find starting elsewhere in the window is not looked for: the
    // rule says every match starts at a keyword.
    let file = file.replace("(?:tok|key)", "x_(?:tok|key)");
    let engine = rules_only(RuleSet::from_toml("test.toml", &file).unwrap());
    assert!(redacted(&engine, r#"x_tok = "dddd4444""#).contains("dddd4444"));
    let searched = file.replace("anchor = \"keyword\"", "");
    let engine = rules_only(RuleSet::from_toml("test.toml", &searched).unwrap());
    assert!(!redacted(&engine, r#"x_tok = "dddd4444""#).contains("dddd4444"));

    // Anchored needs keywords, and takes no look-behind.
    for (change, reason) in [
        (r#"keywords = ["tok", "key"]"#, "needs keywords"),
        (
            "anchor = \"keyword\"",
            "anchor = \"keyword\"\nlook_behind = 8",
        ),
    ] {
        let bad = if reason == "needs keywords" {
            file.replace(change, "")
        } else {
            file.replace(change, reason)
        };
        let error = RuleSet::from_toml("test.toml", &bad)
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.starts_with("test.toml:3: rule \"test.anchored\": an anchored rule"),
            "{error}"
        );
    }
}

mod anchors {
    use super::*;
    use proptest::prelude::*;

    /// Every finding: rule and span.
    fn findings(engine: &Redactor, text: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
        let mut out: Vec<_> = engine
            .redact(text)
            .findings()
            .iter()
            .map(|f| (f.source.clone(), f.span.clone()))
            .collect();
        out.sort_by(|a, b| (a.1.start, a.1.end, &a.0).cmp(&(b.1.start, b.1.end, &b.0)));
        out
    }

    /// The shipped rules as they are, and with every `anchor` taken out (each regex then
    /// searched for through its window, as before anchors existed).
    static BOTH: std::sync::LazyLock<(Redactor, Redactor)> = std::sync::LazyLock::new(both);

    fn both() -> (Redactor, Redactor) {
        let searched = RULES
            .replace("anchor = \"keyword\"\n", "look_behind = 16\n")
            .replace("anchor = \"line\"\n", "");
        assert_ne!(searched, RULES, "the shipped file anchors some rule");
        (
            rules_only(RuleSet::from_toml("rules/redaction.toml", RULES).unwrap()),
            rules_only(RuleSet::from_toml("searched.toml", &searched).unwrap()),
        )
    }

    const PIECES: &[&str] = &[
        "password",
        "db_pass",
        "MY_SECRET_TOKEN",
        "pw",
        "_pw",
        "PW",
        "api-key",
        "client_secret",
        "passwd",
        "token",
        "tokens",
        "Secret",
        "auth_key",
        "recovery_codes",
        "app.key",
        "x",
        "export ",
        "set ",
        "# ",
        "  ",
        "\t",
        " ",
        "=",
        ":",
        " = ",
        ": ",
        ":=",
        "\n",
        "\r\n",
        "\"",
        "'",
        ",",
        ";",
        "(",
        ")",
        "{",
        "}",
        "abc123XYZ",
        "Hx7kQ2mZp9Lw",
        "s3cr3t-v4lue",
        "$VAR",
        "${X}",
        "null",
        "hunter22",
        "#c",
        "the",
        "is",
        "my",
        "value",
        "cipher-key",
        "aeskey",
        "jwtkey",
        "mfaseed",
        "totp_seed",
        "license-key",
        "PW\t",
        "pw!",
        "!=",
        "=>",
        "psk",
        "wifi_psk",
        "str",
        "|",
        "b",
        "Optional[str]",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        /// Anchored, the shipped rules replace every byte the window search replaces in text
        /// built of names, assignment operators, values, quotes and line breaks. (They may find
        /// more: the search goes on after a match's end, so an assignment that starts at the
        /// quote closing the one before, `a=b"password:=c`, was skipped; each anchor is tried.)
        #[test]
        fn anchors_find_what_the_window_search_finds(
            pieces in proptest::collection::vec(0..PIECES.len(), 0..120),
        ) {
            let (anchored, searched) = &*BOTH;
            let text: String = pieces.iter().map(|&i| PIECES[i]).collect();
            // Bytes, not rule names or single spans: two rules that find one span may take
            // turns naming it, and where anchored matches overlap (`pw "password 'a' b"`: one
            // at `pw`, one at `password`) the span is replaced in pieces, each byte once.
            let found: Vec<_> = findings(anchored, text.as_bytes()).into_iter().map(|f| f.1).collect();
            for (rule, span) in findings(searched, text.as_bytes()) {
                let covered = span.clone().all(|at| found.iter().any(|f| f.contains(&at)));
                prop_assert!(covered, "{} {:?} missed in {:?}", rule, span, text);
            }
        }
    }
}

/// A keypair written as its 64 byte values is replaced where the request holds it: in a tool
/// result's text (`cat id.json`), among a tool call's own JSON (Anthropic's `input`), and
/// among the JSON of tool-call arguments (a document inside a string). Among JSON, the
/// placeholder is a string, quoted as the document quotes there, so every level still parses.
#[test]
fn a_keypair_written_as_bytes_is_replaced_and_the_json_still_parses() {
    // Built at run time: the repository's own sources are a benign corpus for the scanner.
    let mut state: u32 = 20_261_207;
    let keypair: Vec<u8> = (0..64)
        .map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        })
        .collect();
    let compact = serde_json::to_string(&keypair).unwrap();
    let e = engine();
    let leaked = |out: &str| out.contains(&compact[1..compact.len() / 2]);
    let placeholder = |value: &serde_json::Value| {
        value
            .as_str()
            .is_some_and(|s| s.starts_with("SECRET_REF(crypto.keypair_byte_array."))
    };

    // Anthropic: the tool call's input is JSON in the body; the tool result holds the file.
    let body = serde_json::json!({"messages": [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "write",
            "input": {"path": "id.json", "keypair": keypair}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": compact}]},
    ]})
    .to_string();
    let out = redacted(&e, &body);
    assert!(!leaked(&out), "{out}");
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let input = &parsed["messages"][0]["content"][0]["input"];
    assert!(placeholder(&input["keypair"][0]), "{input}");
    assert_eq!(input["path"], "id.json");
    // In text, the placeholder takes the numbers' place and nothing more.
    let text = parsed["messages"][1]["content"][0]["content"]
        .as_str()
        .unwrap();
    assert!(
        text.starts_with("[SECRET_REF(") && text.ends_with(")]"),
        "{text}"
    );
    assert_eq!(redacted(&e, &out), out);

    // OpenAI: the arguments are a JSON document in a string, compact or pretty-printed.
    for arguments in [
        serde_json::json!({"keypair": keypair, "sizes": [1, 2]}).to_string(),
        serde_json::to_string_pretty(&serde_json::json!({"keypair": keypair})).unwrap(),
    ] {
        let body = serde_json::json!({"messages": [{"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "save", "arguments": arguments}}]}]})
        .to_string();
        let out = redacted(&e, &body);
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        let arguments = parsed["messages"][0]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap();
        let nested: serde_json::Value = serde_json::from_str(arguments).unwrap();
        assert!(placeholder(&nested["keypair"][0]), "{arguments}");
        assert!(!leaked(&arguments.replace([' ', '\n'], "")), "{arguments}");
    }
    // A JSON file a tool call writes: the keypair is a document inside the arguments' string,
    // written one value a line, and stays one.
    let file = serde_json::to_string_pretty(&serde_json::json!({ "keypair": keypair })).unwrap();
    let arguments = serde_json::json!({ "path": "id.json", "content": file }).to_string();
    let body = serde_json::json!({"messages": [{"role": "assistant", "tool_calls": [
        {"id": "c2", "type": "function", "function": {"name": "write", "arguments": arguments}}]}]})
    .to_string();
    let parsed: serde_json::Value = serde_json::from_str(&redacted(&e, &body)).unwrap();
    let arguments: serde_json::Value = serde_json::from_str(
        parsed["messages"][0]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let file: serde_json::Value =
        serde_json::from_str(arguments["content"].as_str().unwrap()).unwrap();
    assert!(placeholder(&file["keypair"][0]), "{file}");

    // As the proxy reads a request: in chunks, the second time from the memo.
    let filler = "The deploy went out at noon and the dashboards are green. ".repeat(40);
    let body = serde_json::json!({"messages": [
        {"role": "user", "content": filler},
        {"role": "user", "content": filler.to_uppercase()},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_2", "name": "write",
            "input": {"keypair": keypair}}]},
        {"role": "user", "content": filler.to_lowercase()},
    ]})
    .to_string();
    for _ in 0..2 {
        let redaction = e.redact_request(body.as_bytes());
        let out = String::from_utf8(redaction.as_bytes().to_vec()).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(placeholder(
            &parsed["messages"][2]["content"][0]["input"]["keypair"][0]
        ));
    }
    // Numbers among JSON that are no key stay as they are.
    let fine =
        serde_json::json!({"sizes": (0..64).collect::<Vec<u8>>(), "n": [1, 2, 3]}).to_string();
    assert_eq!(redacted(&e, &fine), fine);
}

#[test]
fn words_and_counting_examples_are_replaced_but_not_offered_for_learning() {
    // Remembered, a word a rule once took for a value would leave every later request
    // through the registry, wherever it stands.
    let e = engine();
    for (text, value) in [
        ("DB_PASSWORD=thisismypassword", "thisismypassword"),
        ("passphrase: \"open sesame\"", "open sesame"),
        // A documentation example in a key's slot.
        (
            "AZURE_FUNCTION_KEY=AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
            "AbCdEfGhIjKlMnOpQrStUvWxYz1234567890",
        ),
        (
            "DD_APPLICATION_KEY=a1b2c3d4e5f6g7h8i9j0k1l2m3n4",
            "a1b2c3d4e5f6g7h8i9j0k1l2m3n4",
        ),
    ] {
        let out = e.redact(text.as_bytes());
        let redacted = String::from_utf8(out.as_bytes().to_vec()).unwrap();
        assert!(
            !redacted.contains(value),
            "{text}: not replaced: {redacted}"
        );
        assert!(out.detected().is_empty(), "{text}: offered for learning");
    }
    // With a digit or a symbol in it, a value is a password's, and is offered.
    let out = e.redact(b"DB_PASSWORD=thisismypassw0rd");
    assert_eq!(out.detected().len(), 1);
    assert_eq!(out.detected()[0].expose(), b"thisismypassw0rd");
}

mod symbol_first_passwords {
    use super::*;
    use proptest::prelude::*;

    static ENGINE: std::sync::LazyLock<Redactor> = std::sync::LazyLock::new(engine);

    /// A password's places, quoted and not: `{v}` stands for it.
    const SLOTS: [&str; 8] = [
        "{\"password\": \"{v}\"}",
        "db:\n  password: \"{v}\"\n",
        "DB_PASSWORD='{v}'\n",
        "client_secret = \"{v}\"\n",
        "db:\n  password: {v}\n",
        "DB_PASSWORD={v}\n",
        "[db]\npassword = {v}\n",
        "The database password is {v}\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// A generated password may start with any symbol: one that opens with `+`, `.`, `(`
        /// or `{` (or `/` with a `+` later, as base64 does) is still a password in a
        /// password's slot, not concatenation, a call, a template or a path.
        #[test]
        fn a_password_that_starts_with_a_symbol_is_replaced(
            first in prop::sample::select(vec!['+', '.', '(', '{', '/']),
            body in "[A-Za-z0-9!#%*@_-]{6,14}",
            digit in 0u8..10,
            slot in 0..SLOTS.len(),
        ) {
            let plus = if first == '/' { "+" } else { "" };
            let value = format!("{first}{body}{digit}{plus}Q");
            let text = SLOTS[slot].replace("{v}", &value);
            let out = redacted(&ENGINE, &text);
            prop_assert!(!out.contains(&value), "{} kept in {}", value, out);
        }

        /// A password may hold a bracket after a letter or two and never close it
        /// (`OFI(gUdkrZV3`, `IFXZ[53Nc`): code closes what it opens, or is cut where a line or
        /// a string ends, where only names are left (`re.compile(r`).
        #[test]
        fn a_password_with_a_bracket_it_never_closes_is_replaced(
            name in "[A-Za-z]{1,5}",
            bracket in prop::sample::select(vec!['(', '[']),
            first in "[A-Z0-9]",
            body in "[A-Za-z0-9!#%*@_-]{3,10}",
            slot in 0..SLOTS.len(),
        ) {
            let value = format!("{name}{bracket}{first}{body}7Q");
            let text = SLOTS[slot].replace("{v}", &value);
            let out = redacted(&ENGINE, &text);
            prop_assert!(!out.contains(&value), "{} kept in {}", value, out);
        }

        /// In an env file the value runs to the line's end, a `;` or `,` there included: no
        /// run of the password is left behind a bracket, `&` or `|` inside it.
        #[test]
        fn an_env_file_password_ending_in_a_separator_is_replaced_whole(
            head in "[A-Za-z0-9]{3,8}",
            stop in prop::sample::select(vec![']', ')', '&', '|']),
            tail in "[A-Za-z0-9#%*?=]{6,12}",
            end in prop::sample::select(vec![';', ',']),
        ) {
            let text = format!("DB_PASSWORD={head}{stop}{tail}{end}\n");
            let out = redacted(&ENGINE, &text);
            prop_assert!(!out.contains(&tail), "{} kept in {}", tail, out);
        }
    }
}

/// Text that is public by its context (a certificate under its `-----BEGIN` line, a digest
/// after its hash word, an SSH key after its type) stays as it is at any distance before a
/// secret. The passes after the first read again only around what they replaced, and a
/// region that starts inside such text must neither cut its context off nor flag it for that.
#[test]
fn public_material_at_any_distance_before_a_secret_is_left_as_it_is() {
    // A fixed pseudo-random stream: random-looking bytes, the same on every run.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut random = |alphabet: &[u8], len: usize| -> String {
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(alphabet[(state % alphabet.len() as u64) as usize])
            })
            .collect()
    };
    let base64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let certificate = format!(
        "-----BEGIN CERTIFICATE-----\n{}-----END CERTIFICATE-----\n",
        (0..40)
            .map(|_| random(base64, 64) + "\n")
            .collect::<String>()
    );
    let digest = format!("Digest = {}\n", random(b"0123456789abcdef", 128));
    let ssh_key = format!(
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ{} deploy@build\n",
        random(base64, 520)
    );
    let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    let e = engine();
    for public in [&certificate, &digest, &ssh_key] {
        for gap in (0..3000).step_by(53) {
            let filler = "lorem ipsum dolor ".repeat(gap / 18 + 1);
            let text = format!("{public}{filler}\nGITHUB_TOKEN={token}\n");
            let out = redacted(&e, &text);
            assert!(!out.contains(token), "token kept at gap {gap}");
            assert!(
                out.starts_with(public.as_str()),
                "changed at gap {gap}: {}",
                &out[..public.len().min(out.len())]
            );
        }
    }
}
