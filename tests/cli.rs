//! The `airlock` command line, run as a real process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use support::{run_cli, BIN};

const VALUE: &str = "s3cr3t-Value-for-the-CLI-test";

/// A value of letters alone that an earlier build learned (`access_token`, which a rule once
/// took for a value) no longer goes into the registry: remembered, it took that word out of
/// every later request. A learned token still does; so does an operator's value of letters.
#[test]
fn learned_words_are_not_matched_from_the_vault() {
    let home = tempfile::tempdir().unwrap();
    let (code, _, err) = run_cli(
        home.path(),
        &["vault", "add", "team_phrase"],
        b"correct horse battery staple",
    );
    assert_eq!(code, 0, "{err}");
    {
        let mut vault = airlock_vault::Vault::open(home.path()).unwrap();
        for (name, value) in [
            ("generic.unquoted_assignment.027fd578", "access_token"),
            ("entropy.token.5d1c2e90", "Xk9pQ2vL7wRtYb3NcD5e"),
        ] {
            let name = airlock_vault::SecretName::new(name).unwrap();
            let value = airlock_vault::Secret::new(value.as_bytes().to_vec());
            assert!(vault.add_detected(&name, &value).unwrap());
        }
    }
    let text = "what is an access_token for? Xk9pQ2vL7wRtYb3NcD5e; correct horse battery staple\n";
    let (code, out, err) = run_cli(home.path(), &["redact"], text.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "what is an access_token for? SECRET_REF(entropy.token.5d1c2e90); SECRET_REF(team_phrase)\n"
    );
    // Still in the vault, for the operator to remove.
    let (_, out, _) = run_cli(home.path(), &["vault", "list"], b"");
    assert!(
        out.contains("generic.unquoted_assignment.027fd578"),
        "{out}"
    );
}

#[test]
fn vault_add_list_rm() {
    let home = tempfile::tempdir().unwrap();
    let (code, _, err) = run_cli(
        home.path(),
        &["vault", "add", "crm_token"],
        format!("{VALUE}\n").as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("SECRET_REF(crm_token)"), "{err}");

    let (code, out, _) = run_cli(home.path(), &["vault", "list"], b"");
    assert_eq!(code, 0);
    assert!(out.contains("crm_token") && !out.contains(VALUE), "{out}");
    let (_, out, _) = run_cli(home.path(), &["vault", "list", "--json"], b"");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed[0]["name"], "crm_token");
    assert!(listed[0]["created_at"].as_str().unwrap().ends_with('Z'));

    // The trailing newline was dropped: the stored value is exactly VALUE.
    let (_, out, _) = run_cli(home.path(), &["redact"], format!("x {VALUE}\n").as_bytes());
    assert_eq!(out, "x SECRET_REF(crm_token)\n");

    let (code, _, err) = run_cli(home.path(), &["vault", "rm", "crm_token"], b"");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_cli(home.path(), &["vault", "rm", "crm_token"], b"");
    assert_eq!(code, 1);
    assert!(err.contains("no secret named \"crm_token\""), "{err}");
}

#[test]
fn vault_refuses_bad_input_with_clear_messages() {
    let home = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &[u8], &str); 4] = [
        (&["vault", "add", "short"], b"1234567\n", "at least 8 bytes"),
        (
            &["vault", "add", "bad name"],
            VALUE.as_bytes(),
            "invalid secret name",
        ),
        (&["vault", "add", "binary"], &[0xff; 16], "not UTF-8"),
        (&["vault", "add", "empty"], b"", "at least 8 bytes"),
    ];
    for (args, stdin, message) in cases {
        let (code, out, err) = run_cli(home.path(), args, stdin);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(out.is_empty());
    }
    let (code, _, _) = run_cli(home.path(), &["vault", "add", "dup"], VALUE.as_bytes());
    assert_eq!(code, 0);
    let (code, _, err) = run_cli(home.path(), &["vault", "add", "dup"], b"another-long-value");
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    // Nothing changed: one secret, the first value.
    let (_, out, _) = run_cli(home.path(), &["vault", "list", "--json"], b"");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (_, out, _) = run_cli(home.path(), &["redact"], VALUE.as_bytes());
    assert_eq!(out, "SECRET_REF(dup)");
}

#[test]
fn no_value_is_stored_in_plaintext() {
    let home = tempfile::tempdir().unwrap();
    run_cli(home.path(), &["vault", "add", "a"], VALUE.as_bytes());
    run_cli(
        home.path(),
        &["vault", "add", "b"],
        b"second-plaintext-value",
    );
    for entry in std::fs::read_dir(home.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        for needle in [VALUE.as_bytes(), b"second-plaintext-value"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "plaintext on disk"
            );
        }
    }
}

#[test]
fn redact_keeps_line_structure_and_summarises_on_stderr() {
    let home = tempfile::tempdir().unwrap();
    run_cli(home.path(), &["vault", "add", "db"], VALUE.as_bytes());
    let input = format!(
        "line 1 {VALUE}\n\
         -----BEGIN EC PRIVATE KEY-----\n\
         MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5rJ1hY9mWkCVnoAoGCCqGSM49\n\
         AwEHoUQDQgAE7xVtCYjSnqFx0Y4ZsVNGEbUl6Y7w3kM0Tzb2J1sG4yQ7i2q1LJ9A\n\
         -----END EC PRIVATE KEY-----\n\
         token 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 end\n\
         last line"
    );
    let file = home.path().join("input.txt");
    std::fs::write(&file, &input).unwrap();
    let (code, out, err) = run_cli(home.path(), &["redact", file.to_str().unwrap()], b"");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), input.lines().count(), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "line 1 SECRET_REF(db)");
    assert!(lines[1].starts_with("SECRET_REF(pem.private_key."), "{out}");
    assert!(
        lines[5].starts_with("token SECRET_REF(github.pat_classic.") && lines[5].ends_with(" end")
    );
    assert_eq!(lines[6], "last line");
    assert!(!out.contains("MHcCAQ") && !out.contains(VALUE));
    assert!(
        err.contains("3 replaced (registry 1, regex 2, entropy 0)"),
        "{err}"
    );
    // stdin gives the same result.
    let (_, from_stdin, _) = run_cli(home.path(), &["redact", "-"], input.as_bytes());
    assert_eq!(from_stdin, out);
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["vault", "--help"],
        &["vault", "add", "--help"],
        &["vault", "list", "--help"],
        &["vault", "rm", "--help"],
        &["redact", "--help"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("airlock.toml");
    let cases = [
        ("[proxy]\nlisten = \"not an address\"\n", "listen"),
        ("[proxy]\nlisen = \"127.0.0.1:1\"\n", "lisen"),
        ("[upstreams.x]\nurl = \"ftp://example.com\"\n", "https://"),
        (
            "[upstreams.x]\nurl = \"https://example.com\"\nca_file = \"missing.pem\"\n",
            "missing.pem",
        ),
    ];
    // The metrics port taken by something else: the config's own fault is still what the
    // operator reads.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = format!(
        "\n[metrics]\nlisten = \"{}\"\n",
        taken.local_addr().unwrap()
    );
    for (text, needle) in cases {
        std::fs::write(&config, format!("{text}{metrics}")).unwrap();
        let out = Command::new(BIN)
            .args(["serve", "--config", config.to_str().unwrap()])
            .env("AIRLOCK_HOME", home.path())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn rules_test_passes_on_the_shipped_rules_and_points_at_bad_ones() {
    let home = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let (code, out, err) = run_cli(home.path(), &["rules", "test", shipped], b"");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("redaction.toml: ") && out.contains(" examples: ok"),
        "{out}"
    );
    let (code, out, _) = run_cli(home.path(), &["rules", "test"], b"");
    assert_eq!(code, 0);
    assert!(out.starts_with("embedded rules/redaction.toml: "), "{out}");

    let dir = home.path().join("rules.d");
    std::fs::create_dir(&dir).unwrap();
    let rule = |id: &str, regex: &str, example: &str, negative: &str| {
        format!(
            "[[rule]]\nid = \"{id}\"\ndescription = \"test\"\nregex = '''{regex}'''\nkeywords = [\"tok\"]\n\
             examples = [\"{example}\"]\nnegative_examples = [\"{negative}\"]\n\n"
        )
    };
    // a.toml: ids on line 2 (a good rule), 10 (an example misses), 18 (a negative hits).
    let a = rule("good", "tok_[0-9]{8}", "tok_12345678", "tok_1")
        + &rule("misses", "tok_[0-9]{8}", "tok_1234", "nothing")
        + &rule("flags", "tok_[0-9]+", "tok_1", "tok_2");
    std::fs::write(dir.join("a.toml"), a).unwrap();
    // b.toml: a regex that does not compile, on line 2.
    std::fs::write(dir.join("b.toml"), rule("broken", "tok_(", "tok_", "x")).unwrap();
    // c.toml: reuses an id from a.toml.
    std::fs::write(
        dir.join("c.toml"),
        rule("good", "tok_[a-z]{8}", "tok_abcdefgh", "tok_1"),
    )
    .unwrap();
    let (code, out, err) = run_cli(home.path(), &["rules", "test", dir.to_str().unwrap()], b"");
    assert_eq!(code, 1, "{out}");
    let a = dir.join("a.toml");
    let a = a.display();
    assert!(
        out.contains(&format!("{a}:10: rule \"misses\": example 1 is not found")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{a}:18: rule \"flags\": negative example 1 is flagged"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}:2: rule \"broken\": the regex does not compile",
            dir.join("b.toml").display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}:2: rule \"good\"",
            dir.join("c.toml").display()
        )),
        "{out}"
    );
    assert!(err.contains("rule check(s) failed"), "{err}");
}

#[test]
fn redact_json_and_explain_describe_findings_without_values() {
    let home = tempfile::tempdir().unwrap();
    run_cli(home.path(), &["vault", "add", "db"], VALUE.as_bytes());
    let input = format!("first line\nuse {VALUE} and 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\n");
    let (code, out, err) = run_cli(home.path(), &["redact", "--json"], input.as_bytes());
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{out}");
    assert_eq!(findings[0]["layer"], "registry");
    assert_eq!(findings[0]["rule"], "db");
    assert_eq!(findings[0]["line"], 2);
    let start = findings[0]["start"].as_u64().unwrap() as usize;
    let end = findings[0]["end"].as_u64().unwrap() as usize;
    assert_eq!(&input[start..end], VALUE);
    assert_eq!(findings[1]["rule"], "github.pat_classic");
    assert!(!out.contains(VALUE) && !out.contains("ghp_aBc"), "{out}");

    let (code, out, _) = run_cli(home.path(), &["redact", "--explain"], input.as_bytes());
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("line 2, bytes 15..") && lines[0].contains("vault secret \"db\""),
        "{out}"
    );
    assert!(
        lines[1].contains("rule github.pat_classic: GitHub personal access token (classic)"),
        "{out}"
    );
    assert!(!out.contains(VALUE) && !out.contains("ghp_aBc"), "{out}");

    // A part of the value sent alone is explained as a part, under its own handle.
    let part = &VALUE[..VALUE.len() - 3];
    let (code, out, _) = run_cli(
        home.path(),
        &["redact", "--explain"],
        format!("it starts {part}...\n").as_bytes(),
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("part of the value of vault secret \"db\" -> SECRET_REF(db.part)"),
        "{out}"
    );
    assert!(!out.contains(part), "{out}");
}
