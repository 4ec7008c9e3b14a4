//! airlock's local certificate authority, for intercepting `CONNECT` tunnels to upstreams.
//!
//! A client that honours `HTTPS_PROXY` opens a tunnel to `api.openai.com:443` and speaks TLS
//! through it. For an allowlisted upstream, airlock answers that TLS itself with a leaf
//! certificate for the requested host, issued on the fly by this CA (the client trusts it
//! once: `airlock ca export`), so the requests inside are redacted like base-URL traffic.
//! The CA key lives in `home/ca.key` (mode 0600, created once); leaves are kept in memory,
//! one per host. This module never signs for a host that is not an upstream.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::ProxyError;

const CA_NAME: &str = "airlock local CA";

/// The local CA: its certificate (public) and the issuer that signs leaves.
pub struct LocalCa {
    cert_pem: String,
    issuer: rcgen::Issuer<'static, KeyPair>,
    leaves: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "airlock");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(params)
}

impl LocalCa {
    /// Loads the CA from `home` (`ca.key`, `ca.pem`), creating it on first use.
    ///
    /// # Errors
    /// [`ProxyError::LocalCa`] for an unreadable or untrusted key file.
    pub fn load_or_create(home: &Path) -> Result<Self, ProxyError> {
        let bad = |reason: String| ProxyError::LocalCa { reason };
        let key_path = home.join("ca.key");
        let cert_path = home.join("ca.pem");
        if !key_path.exists() {
            let key = KeyPair::generate().map_err(|e| bad(e.to_string()))?;
            let cert = ca_params()
                .and_then(|p| p.self_signed(&key))
                .map_err(|e| bad(e.to_string()))?;
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&key_path)
                .map_err(|e| bad(format!("{}: {e}", key_path.display())))?;
            file.write_all(key.serialize_pem().as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| bad(format!("{}: {e}", key_path.display())))?;
            fs::write(&cert_path, cert.pem())
                .map_err(|e| bad(format!("{}: {e}", cert_path.display())))?;
        }
        let meta = fs::symlink_metadata(&key_path)
            .map_err(|e| bad(format!("{}: {e}", key_path.display())))?;
        if !meta.file_type().is_file() || meta.permissions().mode() & 0o077 != 0 {
            return Err(bad(format!(
                "{} must be a regular file readable only by its owner (chmod 600)",
                key_path.display()
            )));
        }
        let key_pem = zeroize::Zeroizing::new(
            fs::read_to_string(&key_path)
                .map_err(|e| bad(format!("{}: {e}", key_path.display())))?,
        );
        let key = KeyPair::from_pem(&key_pem).map_err(|e| bad(format!("ca.key: {e}")))?;
        let cert_pem = fs::read_to_string(&cert_path)
            .map_err(|e| bad(format!("{}: {e}", cert_path.display())))?;
        let issuer = rcgen::Issuer::new(ca_params().map_err(|e| bad(e.to_string()))?, key);
        Ok(LocalCa {
            cert_pem,
            issuer,
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// The CA certificate, PEM, for clients to trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A leaf for `host`, issued once and reused.
    pub(crate) fn leaf(&self, host: &str) -> Result<Arc<CertifiedKey>, ProxyError> {
        self.leaf_for_names(&[host])
    }

    /// A leaf valid for every name in `names` (DNS names or IP addresses).
    pub(crate) fn leaf_for_names(&self, names: &[&str]) -> Result<Arc<CertifiedKey>, ProxyError> {
        let host = names.join(",");
        let host = host.as_str();
        let mut leaves = self
            .leaves
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(leaf) = leaves.get(host) {
            return Ok(leaf.clone());
        }
        let bad = |e: rcgen::Error| ProxyError::LocalCa {
            reason: format!("issuing a certificate for {host}: {e}"),
        };
        let key = KeyPair::generate().map_err(bad)?;
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .map_err(bad)?;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("airlock"),
        );
        let cert = params.signed_by(&key, &self.issuer).map_err(bad)?;
        let der = PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let signing = rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| {
            ProxyError::LocalCa {
                reason: format!("leaf key for {host}: {e}"),
            }
        })?;
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let leaf = Arc::new(CertifiedKey::new(chain, signing));
        leaves.insert(host.to_owned(), leaf.clone());
        Ok(leaf)
    }
}

/// Picks the leaf for the SNI name a client sends through an intercepted tunnel.
#[derive(Debug)]
pub(crate) struct LeafFor(pub(crate) Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for LeafFor {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}
