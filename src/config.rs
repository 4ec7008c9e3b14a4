//! `airlock.toml`: the configuration contract of design.md §3, with embedded defaults.
//!
//! `airlock serve` runs with no file at all. A file overrides what it names; an `[upstreams]`
//! table in a file replaces the default upstreams as a whole, because the upstream list is the
//! egress allowlist and must say exactly what the operator wrote. Relative paths in a file are
//! resolved against the file's directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;

/// Where state lives when nothing else says.
const DEFAULT_HOME: &str = "/var/lib/airlock";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    home: Option<PathBuf>,
    #[serde(default)]
    proxy: ProxySection,
    upstreams: Option<BTreeMap<String, UpstreamSection>>,
    #[serde(default)]
    redaction: RedactionSection,
    #[serde(default)]
    vault: VaultSection,
    #[serde(default)]
    metrics: MetricsSection,
    /// Agent names by the dummy key their client sends (for metering).
    #[serde(default)]
    agents: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProxySection {
    listen: Option<SocketAddr>,
    max_body_bytes: Option<usize>,
    max_concurrent_requests: Option<usize>,
    tls: Option<TlsSection>,
    /// How long an upstream may take to answer ("10m", "90s").
    upstream_timeout: Option<String>,
    /// How long a response stream may stay silent before it is cut ("5m").
    stream_idle_timeout: Option<String>,
    /// How long connecting to an upstream may take ("10s").
    connect_timeout: Option<String>,
    /// Encoded documents (PDF, Office files, archives): "refuse" (the default) or "forward".
    documents: Option<airlock_proxy::DocumentPolicy>,
}

/// `tls = "local-ca"` or `tls = { cert = "cert.pem", key = "key.pem" }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TlsSection {
    Mode(String),
    Files { cert: PathBuf, key: PathBuf },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpstreamSection {
    url: String,
    ca_file: Option<PathBuf>,
    auth: Option<AuthSection>,
}

/// `auth = { header = "x-api-key", secret = "NAME" }` or `auth = { bearer = "NAME" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthSection {
    header: Option<String>,
    secret: Option<String>,
    bearer: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsSection {
    listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VaultSection {
    /// How long a replaced value is kept and still redacted ("30d", "12h").
    retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactionSection {
    /// Extra rule files, added to the embedded `rules/redaction.toml`.
    #[serde(default)]
    rule_files: Vec<PathBuf>,
    /// The entropy layer (on unless turned off).
    entropy: Option<bool>,
    /// Remember detected values in the vault (on unless turned off).
    learn: Option<bool>,
}

/// The configuration in force: defaults, then the file, then the environment.
#[derive(Debug)]
pub struct Config {
    /// Where the vault and other state live.
    pub home: PathBuf,
    /// Whether `home` was chosen explicitly (file or `AIRLOCK_HOME`).
    pub home_explicit: bool,
    /// The proxy's settings.
    pub proxy: airlock_proxy::ProxyConfig,
    /// Operator rule files, in order.
    pub rule_files: Vec<PathBuf>,
    /// Whether the entropy layer runs.
    pub entropy: bool,
    /// Whether values the regex and entropy layers find are remembered in the vault.
    pub learn: bool,
    /// How long a replaced vault value is kept (and still redacted).
    pub retention: std::time::Duration,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    pub metrics_listen: SocketAddr,
}

impl Config {
    /// Loads `file` (or nothing) and applies `AIRLOCK_HOME`.
    pub fn load(file: Option<&Path>) -> Result<Self> {
        let (parsed, base) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let parsed: FileConfig = toml::from_str(&text)
                    .with_context(|| format!("config file {}", path.display()))?;
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (parsed, base)
            }
            None => (FileConfig::default(), PathBuf::new()),
        };
        let env_home = std::env::var_os("AIRLOCK_HOME").filter(|h| !h.is_empty());
        let home_explicit = env_home.is_some() || parsed.home.is_some();
        let home = env_home
            .map(PathBuf::from)
            .or_else(|| parsed.home.map(|h| base.join(h)))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_HOME));
        let upstreams = match parsed.upstreams {
            Some(table) => table
                .into_iter()
                .map(|(name, u)| {
                    let auth = match u.auth {
                        None => None,
                        Some(AuthSection { header: Some(header), secret: Some(secret), bearer: None }) => {
                            Some(airlock_proxy::UpstreamAuth { header, secret, bearer: false })
                        }
                        Some(AuthSection { header: None, secret: None, bearer: Some(secret) }) => {
                            Some(airlock_proxy::UpstreamAuth { header: "authorization".into(), secret, bearer: true })
                        }
                        Some(_) => anyhow::bail!(
                            "[upstreams.{name}] auth: give either {{ header = \"x-api-key\", secret = \"VAULT_NAME\" }} or {{ bearer = \"VAULT_NAME\" }}"
                        ),
                    };
                    Ok(airlock_proxy::UpstreamConfig {
                        name,
                        url: u.url,
                        ca_file: u.ca_file.map(|p| base.join(p)),
                        auth,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            None => default_upstreams(),
        };
        Ok(Config {
            home,
            home_explicit,
            proxy: airlock_proxy::ProxyConfig {
                listen: parsed
                    .proxy
                    .listen
                    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787))),
                max_body_bytes: parsed
                    .proxy
                    .max_body_bytes
                    .unwrap_or(airlock_proxy::DEFAULT_MAX_BODY_BYTES),
                upstreams,
                documents: parsed.proxy.documents.unwrap_or_default(),
                agents: parsed.agents.into_iter().collect(),
                max_concurrent_requests: parsed
                    .proxy
                    .max_concurrent_requests
                    .unwrap_or(airlock_proxy::DEFAULT_MAX_CONCURRENT_REQUESTS),
                upstream_timeout: duration(
                    "[proxy] upstream_timeout",
                    parsed.proxy.upstream_timeout.as_deref(),
                    airlock_proxy::DEFAULT_UPSTREAM_TIMEOUT,
                )?,
                stream_idle_timeout: duration(
                    "[proxy] stream_idle_timeout",
                    parsed.proxy.stream_idle_timeout.as_deref(),
                    airlock_proxy::DEFAULT_STREAM_IDLE_TIMEOUT,
                )?,
                connect_timeout: duration(
                    "[proxy] connect_timeout",
                    parsed.proxy.connect_timeout.as_deref(),
                    airlock_proxy::DEFAULT_CONNECT_TIMEOUT,
                )?,
                tls: match parsed.proxy.tls {
                    None => None,
                    Some(TlsSection::Mode(mode)) if mode == "local-ca" => {
                        Some(airlock_proxy::ListenerTls::LocalCa)
                    }
                    Some(TlsSection::Mode(other)) => anyhow::bail!(
                        "[proxy] tls = {other:?}: use \"local-ca\" or {{ cert = \"cert.pem\", key = \"key.pem\" }}"
                    ),
                    Some(TlsSection::Files { cert, key }) => Some(airlock_proxy::ListenerTls::Files {
                        cert: base.join(cert),
                        key: base.join(key),
                    }),
                },
            },
            entropy: parsed.redaction.entropy.unwrap_or(true),
            learn: parsed.redaction.learn.unwrap_or(true),
            metrics_listen: parsed
                .metrics
                .listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9464))),
            retention: duration(
                "[vault] retention",
                parsed.vault.retention.as_deref(),
                airlock_vault::DEFAULT_RETENTION,
            )?,
            rule_files: parsed
                .redaction
                .rule_files
                .into_iter()
                .map(|p| base.join(p))
                .collect(),
        })
    }
}

fn default_upstreams() -> Vec<airlock_proxy::UpstreamConfig> {
    [
        ("anthropic", "https://api.anthropic.com"),
        ("openai", "https://api.openai.com"),
    ]
    .into_iter()
    .map(|(name, url)| airlock_proxy::UpstreamConfig {
        name: name.into(),
        url: url.into(),
        ca_file: None,
        auth: None,
    })
    .collect()
}

/// A duration setting ("90s", "10m", "30d"), or its default when absent.
fn duration(key: &str, text: Option<&str>, default: Duration) -> Result<Duration> {
    match text {
        Some(text) => humantime::parse_duration(text).with_context(|| {
            format!("{key} = {text:?}: use a duration such as \"90s\", \"10m\" or \"30d\"")
        }),
        None => Ok(default),
    }
}
