//! Vault behaviour through its public API, and what ends up on disk.

use super::*;

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
    for bad in ["", "has space", "sl/ash", "paren(", &"x".repeat(65)] {
        assert!(SecretName::new(bad).is_err(), "{bad:?}");
    }
    let values = vault.secrets().unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].1.expose(), VALUE.as_bytes());
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
fn a_wrong_key_names_the_secret_and_reveals_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut vault = Vault::open(dir.path()).unwrap();
    vault.add(&name("a"), &secret(VALUE)).unwrap();
    drop(vault);
    fs::remove_file(dir.path().join("vault.key")).unwrap();
    let vault = Vault::open(dir.path()).unwrap();
    let err = vault.secrets().err().unwrap();
    assert!(
        matches!(&err, VaultError::Undecryptable { name } if name == "a"),
        "{err}"
    );
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
