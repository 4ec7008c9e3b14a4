//! Inputs for airlock's benchmarks: the OpenClaw fixtures and synthetic registries.
//!
//! Everything here is deterministic (a fixed-seed generator), so two runs measure the same
//! work. The fixtures are read from `../shared/fixtures/openclaw` beside the checkout and
//! never copied into the repository.
#![forbid(unsafe_code)]

use std::path::PathBuf;

pub mod seeded;

/// The directory holding the OpenClaw fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/openclaw")
}

/// The request bodies of the captured OpenClaw requests, as sent on the wire (compact JSON).
///
/// # Errors
/// When the fixtures cannot be read or parsed.
pub fn openclaw_bodies() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    for path in paths {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
        let text = std::fs::read_to_string(&path)?;
        let capture: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
        let body = capture
            .get("body")
            .ok_or_else(|| invalid(format!("{}: no \"body\"", path.display())))?;
        let bytes = serde_json::to_vec(body).map_err(|e| invalid(e.to_string()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((name, bytes));
    }
    Ok(out)
}

/// A small deterministic generator (SplitMix64): benches must not depend on a random crate's
/// stream staying the same across versions.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A string of `len` characters drawn from `alphabet`.
    pub fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[(self.next_u64() % alphabet.len() as u64) as usize] as char)
            .collect()
    }
}

/// Whether `output` still holds any `run`-byte piece of `value` (all of it, when shorter):
/// what a reader could take from a redaction that missed part of a secret.
pub fn leaves_a_run(output: &[u8], value: &[u8], run: usize) -> bool {
    value
        .windows(run.clamp(1, value.len().max(1)))
        .any(|piece| memchr::memmem::find(output, piece).is_some())
}

/// Letters and digits.
pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `count` registry secrets shaped like real credentials: 16-48 characters, mixed prefixes.
pub fn registry_secrets(count: usize, seed: u64) -> Vec<(String, String)> {
    let mut rng = Rng::new(seed);
    let prefixes = ["", "sk_", "tok-", "pw:", "key_", "AKIA", "xoxb-", ""];
    (0..count)
        .map(|i| {
            let prefix = prefixes[i % prefixes.len()];
            let len = 16 + (rng.next_u64() % 33) as usize;
            (
                format!("seeded_{i}"),
                format!("{prefix}{}", rng.string(ALNUM, len)),
            )
        })
        .collect()
}

/// Builds an engine with the shipped rules and `secrets` in the registry.
///
/// `REDACT_RULES=FILE` in the environment puts that rule file in place of the shipped one, so
/// every bench tool can measure a rule change against the last commit's file without a
/// rebuild.
///
/// # Errors
/// When the rules or secrets are refused, or `REDACT_RULES` names a file that cannot be read.
pub fn engine(
    secrets: &[(String, String)],
    rules: bool,
) -> Result<airlock_redact::Redactor, EngineError> {
    let key = airlock_redact::PlaceholderKey::from_bytes(&[42u8; 32])?;
    let mut builder = airlock_redact::Redactor::builder(key);
    for (name, value) in secrets {
        builder.secret(name, value.as_bytes());
    }
    if rules {
        builder.entropy(true);
        let ruleset = match std::env::var_os("REDACT_RULES") {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| EngineError::RuleFile {
                        path: path.clone().into(),
                        source,
                    })?;
                airlock_redact::RuleSet::from_toml(&path.to_string_lossy(), &text)?
            }
            None => airlock_redact::RuleSet::from_toml(
                "rules/redaction.toml",
                include_str!("../../rules/redaction.toml"),
            )?,
        };
        builder.rules(ruleset);
    }
    Ok(builder.build()?)
}

/// Why [`engine`] could not build.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The rules (shipped or from `REDACT_RULES`) or the secrets were refused.
    #[error(transparent)]
    Build(#[from] airlock_redact::BuildError),
    /// The rule file `REDACT_RULES` names cannot be read.
    #[error("REDACT_RULES={}: {source}", path.display())]
    RuleFile {
        /// The file named.
        path: std::path::PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
}
