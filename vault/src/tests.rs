//! Vault behaviour through its public API, and what ends up on disk.

use super::*;
use secrecy::SecretString;

const VALUE: &str = "correct-horse-battery-staple-7731";

fn name(n: &str) -> SecretName {
    SecretName::new(n).unwrap()
}

fn secret(v: &str) -> Secret {
    Secret::new(v.as_bytes().to_vec())
}

#[test]
fn add_list_secrets_remove() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("stripe_key"), &secret(VALUE)).unwrap();
    vault
        .add(&name("db.password"), &secret("another-long-value"))
        .unwrap();
    let listed: Vec<String> = vault
        .list()
        .unwrap()
        .iter()
        .map(|i| i.name.to_string())
        .collect();
    assert_eq!(listed, ["db.password", "stripe_key"]);
    let values = vault.secrets().unwrap();
    assert_eq!(values[1].1.expose(), VALUE.as_bytes());
    vault.remove(&name("stripe_key")).unwrap();
    assert_eq!(vault.list().unwrap().len(), 1);
    assert!(matches!(
        vault.remove(&name("stripe_key")),
        Err(VaultError::NotFound { .. })
    ));
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    let err = vault
        .add(&name("a"), &secret("different-value"))
        .unwrap_err();
    assert!(matches!(err, VaultError::AlreadyExists { .. }), "{err}");
    assert!(matches!(
        vault.add(&name("b"), &secret("short")),
        Err(VaultError::ValueTooShort { len: 5, .. })
    ));
    assert!(matches!(
        vault.add(&name("c"), &Secret::new(vec![0xff; 20])),
        Err(VaultError::ValueNotText)
    ));
    assert!(matches!(
        vault.add(&name("d"), &Secret::new(vec![b'x'; MAX_VALUE_LEN + 1])),
        Err(VaultError::ValueTooLong { .. })
    ));
    assert!(matches!(
        vault.add(&name("horse"), &secret(VALUE)),
        Err(VaultError::NameInValue { .. })
    ));
    for bad in [
        "",
        "has space",
        "sl/ash",
        "paren(",
        "stripe.part",
        &"x".repeat(65),
    ] {
        assert!(SecretName::new(bad).is_err(), "{bad:?}");
    }
    let values = vault.secrets().unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].1.expose(), VALUE.as_bytes());
    // Bad metadata and bad input to set change nothing either.
    let bad_tool = Metadata {
        allowed_tools: vec!["has space".into()],
        ..Metadata::default()
    };
    assert!(matches!(
        vault.set(&name("a"), &secret("another-long-value"), Some(&bad_tool)),
        Err(VaultError::InvalidTool { .. })
    ));
    assert!(vault.set(&name("a"), &secret("short"), None).is_err());
    assert_eq!(vault.list().unwrap()[0].version, 1);
    assert_eq!(vault.secrets().unwrap()[0].1.expose(), VALUE.as_bytes());
}

#[test]
fn errors_never_show_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    let err = vault.add(&name("a"), &secret(VALUE)).unwrap_err();
    let text = format!("{err} {err:?} {vault:?}");
    assert!(!text.contains(VALUE), "{text}");
}

#[test]
fn no_plaintext_anywhere_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut vault = Vault::open(dir.path()).unwrap();
        vault.add(&name("a"), &secret(VALUE)).unwrap();
        vault
            .add(&name("b"), &secret("second-plaintext-value-99"))
            .unwrap();
        vault.remove(&name("b")).unwrap();
        let _ = vault.placeholder_key().unwrap();
        // Read the files while the connection is open, so the WAL is still there.
        for entry in fs::read_dir(dir.path()).unwrap() {
            let bytes = fs::read(entry.unwrap().path()).unwrap();
            for needle in [VALUE, "second-plaintext-value-99"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "plaintext found on disk"
                );
            }
        }
    }
    let db = fs::read(dir.path().join("vault.db")).unwrap();
    assert!(!db.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()));
}

#[test]
fn key_file_is_private_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("new-home");
    drop(Vault::open(&home).unwrap());
    let key = home.join("vault.key");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o700
    );
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
    let err = Vault::open(&home).unwrap_err().to_string();
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn a_wrong_key_is_refused_and_reveals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    drop(vault);
    // Another vault's key in place of this one's.
    let other = tempfile::tempdir().unwrap();
    drop(Vault::open(other.path()).unwrap());
    fs::copy(other.path().join("vault.key"), dir.path().join("vault.key")).unwrap();
    let err = Vault::open(dir.path()).unwrap_err();
    assert!(matches!(err, VaultError::WrongKey { .. }), "{err}");
    assert!(!format!("{err} {err:?}").contains(VALUE));
    // A missing key is named as missing, and no stray key is left behind.
    fs::remove_file(dir.path().join("vault.key")).unwrap();
    let err = Vault::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("is missing"), "{err}");
    assert!(!dir.path().join("vault.key").exists());
}

#[test]
fn placeholder_key_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let first = Vault::open(dir.path()).unwrap().placeholder_key().unwrap();
    let second = Vault::open(dir.path()).unwrap().placeholder_key().unwrap();
    assert_eq!(first.expose(), second.expose());
    assert_eq!(first.expose().len(), 32);
}

#[test]
fn detected_values_are_kept_once_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    let handle = name("github.pat_classic.1e2b78ed");
    assert!(vault.add_detected(&handle, &secret(VALUE)).unwrap());
    assert!(!vault.add_detected(&handle, &secret(VALUE)).unwrap());
    vault
        .add(&name("manual_one"), &secret("another-long-value"))
        .unwrap();
    let listed = vault.list().unwrap();
    assert_eq!(listed[0].source, Source::Detected);
    assert_eq!(listed[1].source, Source::Manual);
    assert_eq!(vault.secrets().unwrap().len(), 2);
    assert_eq!(vault.count(Source::Detected).unwrap(), 1);
    assert_eq!(vault.count(Source::Manual).unwrap(), 1);
}

#[test]
fn set_keeps_older_versions_for_the_retention_and_in_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    assert_eq!(vault.set(&name("api"), &secret(VALUE), None).unwrap(), 1);
    assert_eq!(
        vault
            .set(&name("api"), &secret("second-value-2222"), None)
            .unwrap(),
        2
    );
    let info = &vault.list().unwrap()[0];
    assert_eq!((info.version, info.retained_versions), (2, 1));
    let current: Vec<Vec<u8>> = vault
        .secrets()
        .unwrap()
        .iter()
        .map(|(_, v)| v.expose().to_vec())
        .collect();
    assert_eq!(current, [b"second-value-2222".to_vec()]);
    let registry: Vec<Vec<u8>> = vault
        .registry_values()
        .unwrap()
        .iter()
        .map(|(_, v)| v.expose().to_vec())
        .collect();
    assert_eq!(
        registry,
        [VALUE.as_bytes().to_vec(), b"second-value-2222".to_vec()]
    );
    drop(vault);
    // A zero retention drops the retired value at the next open.
    let options = VaultOptions {
        retention: Duration::ZERO,
        passphrase: None,
    };
    std::thread::sleep(Duration::from_millis(1100));
    let mut vault = Vault::open_with(dir.path(), options).unwrap();
    assert_eq!(vault.registry_values().unwrap().len(), 1);
    assert_eq!(vault.list().unwrap()[0].retained_versions, 0);
}

#[test]
fn metadata_is_kept_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    let metadata = Metadata {
        description: "Stripe live key".into(),
        kind: "api_key".into(),
        allowed_tools: vec!["stripe.charge".into(), "http".into()],
    };
    vault
        .add_with(&name("stripe"), &secret(VALUE), &metadata)
        .unwrap();
    let info = &vault.list().unwrap()[0];
    assert_eq!(info.metadata, metadata);
    assert_eq!(info.source, Source::Manual);
    assert!(info.last_used_at.is_none());
}

#[test]
fn resolve_replaces_refs_only_for_allowed_tools_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    let allow = |tools: &[&str]| Metadata {
        allowed_tools: tools.iter().map(|t| (*t).to_owned()).collect(),
        ..Metadata::default()
    };
    vault
        .add_with(
            &name("stripe"),
            &secret("sk_live_\"quoted\"_value"),
            &allow(&["stripe.charge"]),
        )
        .unwrap();
    vault
        .add_with(&name("db"), &secret("db-password-1234"), &allow(&[]))
        .unwrap();
    let args = r#"{"auth":"Bearer SECRET_REF(stripe)","n":[1,"SECRET_REF(stripe)"]}"#;
    let resolved = vault.resolve(args, "stripe.charge").unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(resolved.expose()).unwrap();
    assert_eq!(parsed["auth"], "Bearer sk_live_\"quoted\"_value");
    assert_eq!(parsed["n"][1], "sk_live_\"quoted\"_value");
    assert!(vault
        .list()
        .unwrap()
        .iter()
        .any(|s| s.name.as_str() == "stripe" && s.last_used_at.is_some()));

    // The handle for part of a secret names no secret: it stays as written, and the tool
    // never gets the whole value where the agent wrote part of it.
    let part = r#"{"a":"starts with SECRET_REF(stripe.part)"}"#;
    let resolved = vault.resolve(part, "stripe.charge").unwrap();
    assert_eq!(resolved.expose(), part.as_bytes());

    let err = vault
        .resolve(r#"{"a":"SECRET_REF(stripe)"}"#, "shell")
        .err()
        .unwrap();
    assert!(
        matches!(&err, VaultError::RefNotAllowed { name, tool } if name == "stripe" && tool == "shell"),
        "{err}"
    );
    let err = vault
        .resolve(r#"{"a":"SECRET_REF(db)"}"#, "stripe.charge")
        .err()
        .unwrap();
    assert!(
        matches!(err, VaultError::RefNotAllowed { .. }),
        "no tools listed: none may"
    );
    let err = vault
        .resolve(r#"{"a":"SECRET_REF(nope)"}"#, "x")
        .err()
        .unwrap();
    assert!(matches!(err, VaultError::UnknownRef { .. }));
    assert!(matches!(
        vault.resolve("{not json", "x"),
        Err(VaultError::ArgumentsNotJson(_))
    ));
    assert!(!format!("{err} {err:?}").contains("sk_live"));
    let outcomes: Vec<(String, String)> = vault
        .audit_entries()
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "resolve")
        .map(|e| (e.name, e.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("stripe".to_owned(), "ok".to_owned()),
            ("stripe".to_owned(), "denied".to_owned()),
            ("db".to_owned(), "denied".to_owned()),
            ("nope".to_owned(), "not-found".to_owned()),
        ]
    );
    assert!(vault.verify_audit().is_ok());
}

#[test]
fn rotate_key_reencrypts_everything_and_retires_the_old_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    vault
        .set(&name("a"), &secret("second-value-2222"), None)
        .unwrap();
    let placeholder = vault.placeholder_key().unwrap().expose().to_vec();
    let old_key = fs::read(dir.path().join("vault.key")).unwrap();
    let count = vault.rotate_key().unwrap();
    assert!(count >= 4, "two versions and two meta keys: {count}");
    assert_ne!(fs::read(dir.path().join("vault.key")).unwrap(), old_key);
    assert!(!dir.path().join("vault.key.next").exists());
    drop(vault);
    let mut vault = Vault::open(dir.path()).unwrap();
    assert_eq!(vault.registry_values().unwrap().len(), 2);
    assert_eq!(
        vault.placeholder_key().unwrap().expose(),
        placeholder.as_slice()
    );
    assert!(vault.verify_audit().is_ok());
    // The old key opens nothing any more.
    fs::write(dir.path().join("vault.key"), &old_key).unwrap();
    assert!(matches!(
        Vault::open(dir.path()),
        Err(VaultError::WrongKey { .. })
    ));
}

#[test]
fn a_rotation_interrupted_after_commit_is_finished_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    let old_key = fs::read(dir.path().join("vault.key")).unwrap();
    vault.rotate_key().unwrap();
    let new_key = fs::read(dir.path().join("vault.key")).unwrap();
    drop(vault);
    // As if the crash came between the commit and the rename: old key in place, new beside.
    fs::write(dir.path().join("vault.key"), &old_key).unwrap();
    fs::write(dir.path().join("vault.key.next"), &new_key).unwrap();
    fs::set_permissions(
        dir.path().join("vault.key.next"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let vault = Vault::open(dir.path()).unwrap();
    assert_eq!(vault.secrets().unwrap()[0].1.expose(), VALUE.as_bytes());
    assert_eq!(fs::read(dir.path().join("vault.key")).unwrap(), new_key);
    assert!(!dir.path().join("vault.key.next").exists());
}

#[test]
fn audit_chain_detects_edits_deletions_reordering_and_truncation() {
    let fresh = || {
        let dir = tempfile::tempdir().unwrap();
        let mut vault = Vault::open(dir.path()).unwrap();
        vault.add(&name("a"), &secret(VALUE)).unwrap();
        vault
            .set(&name("a"), &secret("second-value-2222"), None)
            .unwrap();
        vault.reveal(&name("a")).unwrap();
        vault.remove(&name("a")).unwrap();
        assert_eq!(vault.verify_audit().unwrap(), 4);
        dir
    };
    let tamper = |dir: &tempfile::TempDir, sql: &str| {
        let conn = Connection::open(dir.path().join("vault.db")).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        Vault::open(dir.path()).unwrap().verify_audit().unwrap_err()
    };
    let cases = [
        ("UPDATE audit SET name = 'b' WHERE id = 2", 2),
        ("UPDATE audit SET at = at + 1 WHERE id = 3", 3),
        ("DELETE FROM audit WHERE id = 2", 2),
        ("UPDATE audit SET id = 10 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = 10", 2),
        ("DELETE FROM audit WHERE id = 4", 4),
    ];
    for (sql, row) in cases {
        let dir = fresh();
        let err = tamper(&dir, sql);
        assert!(
            matches!(&err, VaultError::AuditBroken { row: r, .. } if *r == row),
            "{sql}: {err}"
        );
    }
}

#[test]
fn bootstrap_import_stores_destroys_and_reruns_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    let file = dir.path().join("bootstrap.json");
    let write = |text: &str| {
        fs::write(&file, text).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    };
    write(&format!(
        r#"{{"stripe": "{VALUE}", "db": "db-password-1234"}}"#
    ));
    let report = vault.import_bootstrap(&file).unwrap();
    assert_eq!((report.added, report.updated, report.unchanged), (2, 0, 0));
    assert!(!file.exists(), "the file is gone");
    assert!(vault
        .list()
        .unwrap()
        .iter()
        .all(|s| s.source == Source::Bootstrap));
    // A re-run (say the crash came before the unlink) adds nothing twice.
    write(
        r#"{"secrets": [{"name": "db", "value": "db-password-1234", "kind": "password", "allowed_tools": ["psql"]},
                          {"name": "stripe", "value": "a-brand-new-value-99"}]}"#,
    );
    let report = vault.import_bootstrap(&file).unwrap();
    assert_eq!((report.added, report.updated, report.unchanged), (0, 1, 1));
    let stripe = vault
        .list()
        .unwrap()
        .into_iter()
        .find(|s| s.name.as_str() == "stripe")
        .unwrap();
    assert_eq!(stripe.version, 2);
    // Refusals change nothing and keep the file.
    write(r#"{"ok_name": "a-valid-long-value", "bad name": "another-valid-value"}"#);
    assert!(matches!(
        vault.import_bootstrap(&file),
        Err(VaultError::Bootstrap { .. })
    ));
    assert!(file.exists());
    assert_eq!(vault.list().unwrap().len(), 2);
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let err = vault.import_bootstrap(&file).unwrap_err().to_string();
    assert!(err.contains("group or others"), "{err}");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let err = vault.import_bootstrap(&link).unwrap_err().to_string();
    assert!(err.contains("symlink"), "{err}");
    write("[1, 2]");
    let err = vault.import_bootstrap(&file).unwrap_err().to_string();
    assert!(err.contains("neither"), "{err}");
    assert!(vault.verify_audit().is_ok());
}

#[test]
fn a_passphrase_protected_key_needs_its_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let with = |p: &str| VaultOptions {
        retention: DEFAULT_RETENTION,
        passphrase: Some(SecretString::from(p.to_owned())),
    };
    let mut vault = Vault::open_with(dir.path(), with("correct horse")).unwrap();
    assert!(matches!(vault.key_source(), KeySource::Passphrase(_)));
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    vault.rotate_key().unwrap();
    drop(vault);
    assert!(!dir.path().join("vault.key").exists());
    let err = Vault::open_with(dir.path(), with("wrong horse"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("passphrase"), "{err}");
    assert!(Vault::open(dir.path())
        .unwrap_err()
        .to_string()
        .contains("AIRLOCK_VAULT_PASSPHRASE"));
    let vault = Vault::open_with(dir.path(), with("correct horse")).unwrap();
    assert_eq!(vault.secrets().unwrap()[0].1.expose(), VALUE.as_bytes());
}

#[test]
fn a_damaged_ciphertext_is_named_and_nothing_else_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    drop(vault);
    let conn = Connection::open(dir.path().join("vault.db")).unwrap();
    conn.execute(
        "UPDATE versions SET ciphertext = substr(ciphertext, 1, 40)",
        [],
    )
    .unwrap();
    drop(conn);
    let mut vault = Vault::open(dir.path()).unwrap();
    let err = vault.reveal(&name("a")).err().unwrap();
    assert!(
        matches!(&err, VaultError::Undecryptable { name } if name == "a"),
        "{err}"
    );
    let key = fs::read(dir.path().join("vault.key")).unwrap();
    assert!(
        vault.rotate_key().is_err(),
        "a rotation that cannot open a value changes nothing"
    );
    assert!(!dir.path().join("vault.key.next").exists());
    assert_eq!(fs::read(dir.path().join("vault.key")).unwrap(), key);
}

#[test]
fn a_corrupted_database_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(Vault::open(dir.path()).unwrap());
    fs::write(
        dir.path().join("vault.db"),
        b"this is not a database at all, not even close",
    )
    .unwrap();
    let _ = fs::remove_file(dir.path().join("vault.db-wal"));
    let err = Vault::open(dir.path()).unwrap_err().to_string();
    assert!(err.contains("vault database"), "{err}");
}

#[test]
fn the_values_fingerprint_follows_the_values_and_not_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    let mut seen = vec![vault.values_fingerprint().unwrap()];
    let mut changed = |vault: &Vault, what: &str| {
        let now = vault.values_fingerprint().unwrap();
        assert!(
            !seen.contains(&now),
            "{what} left the fingerprint as it was"
        );
        seen.push(now);
    };
    vault.add(&name("api"), &secret(VALUE)).unwrap();
    changed(&vault, "add");

    // Reads write audit entries (another connection sees `data_version` move), but the
    // values are the same.
    let watcher = Vault::open(dir.path()).unwrap();
    let (version, fingerprint) = (
        watcher.data_version().unwrap(),
        watcher.values_fingerprint().unwrap(),
    );
    vault.registry_values().unwrap();
    vault.reveal(&name("api")).unwrap();
    assert_ne!(watcher.data_version().unwrap(), version);
    assert_eq!(watcher.values_fingerprint().unwrap(), fingerprint);

    vault
        .set(&name("api"), &secret("second-value-2222"), None)
        .unwrap();
    changed(&vault, "set");
    vault
        .add_detected(&name("learned.1"), &secret("detected-value-9999"))
        .unwrap();
    changed(&vault, "a learned value");
    vault.rotate_key().unwrap();
    changed(&vault, "re-sealing under a new key");
    vault.remove(&name("api")).unwrap();
    changed(&vault, "rm");
    // Removed and added again with the same value: sealed anew, so not the same bytes.
    vault.add(&name("api"), &secret(VALUE)).unwrap();
    changed(&vault, "add after rm");
}
