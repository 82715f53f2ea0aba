//! `--web-config-file`: TLS and basic auth for every route of the agent's listener, in the
//! format of the Prometheus exporter-toolkit (`web.config.file`), so the file that protects a
//! node_exporter or a blackbox_exporter protects vigia too:
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: vigia.crt      # PEM, the server's certificate chain
//!   key_file: vigia.key       # PEM, its private key
//! basic_auth_users:
//!   prometheus: $2y$10$...    # bcrypt hashes only (htpasswd -nBC 10 "" | tr -d ':\n')
//! ```
//!
//! Paths are relative to the file. Only these fields are read; any other field is refused with
//! where it is, rather than silently ignored (a `client_auth_type` the agent would not enforce
//! must not look enforced). Passwords are never logged; a wrong one costs a bcrypt check.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use serde::Deserialize;
use tokio_rustls::rustls;

/// What the file says, checked.
pub struct WebConfig {
    /// TLS for every connection, when configured.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Basic auth for every route, when users are configured.
    pub auth: Option<Arc<BasicAuth>>,
}

/// A `--web-config-file` that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct WebConfigError {
    /// The file, or the certificate or key it names.
    pub path: PathBuf,
    /// What is wrong, and what is allowed.
    pub why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tls_server_config: Option<TlsFile>,
    #[serde(default)]
    basic_auth_users: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: PathBuf,
    key_file: PathBuf,
}

impl WebConfig {
    /// Read and check `path`: the YAML, each bcrypt hash, the certificate and the key.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let bad = |why: String| WebConfigError { path: path.to_path_buf(), why };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let file: File = serde_saphyr::from_str(&text).map_err(|e| {
            bad(format!(
                "{e} (allowed: tls_server_config {{cert_file, key_file}}, basic_auth_users {{user: bcrypt hash}})"
            ))
        })?;
        for (user, hash) in &file.basic_auth_users {
            // Never print the value: a plain password pasted here is a secret.
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(bad(format!(
                    "basic_auth_users.{user}: not a bcrypt hash ($2a$, $2b$ or $2y$); make one with htpasswd -nBC 10 \"\" | tr -d ':\\n'"
                )));
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let tls = match file.tls_server_config {
            None => None,
            Some(t) => Some(acceptor(&base.join(&t.cert_file), &base.join(&t.key_file))?),
        };
        let auth = (!file.basic_auth_users.is_empty())
            .then(|| Arc::new(BasicAuth { users: file.basic_auth_users, good: Mutex::default() }));
        Ok(WebConfig { tls, auth })
    }
}

fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, WebConfigError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |path: &Path, why: String| WebConfigError { path: path.to_path_buf(), why };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("not a PEM certificate chain: {e}")))?;
    if certs.is_empty() {
        return Err(bad(cert, "no CERTIFICATE block in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(key, format!("not a PEM private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| bad(cert, format!("certificate and key do not make a TLS server: {e}")))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Users and their bcrypt hashes; credentials already checked are remembered (a bcrypt check
/// costs tens of milliseconds, and a console page asks for its stylesheet and script too).
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    good: Mutex<HashSet<String>>,
}

/// Credentials remembered at most (a new one past this empties the memory).
const REMEMBERED: usize = 64;

impl BasicAuth {
    /// Whether an `Authorization` header value names a user with the right password.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|v| v.strip_prefix("Basic ")) else {
            return false;
        };
        let encoded = encoded.trim();
        {
            let good = self.good.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if good.contains(encoded) {
                return true;
            }
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else { return false };
        let Some((user, password)) = decoded.split_once(':') else { return false };
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        if !bcrypt::verify(password, hash).unwrap_or(false) {
            return false;
        }
        let mut good = self.good.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if good.len() >= REMEMBERED {
            good.clear();
        }
        good.insert(encoded.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn basic_auth_takes_the_right_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let hash = bcrypt::hash("s3cret-pass", 4).unwrap();
        let p = write(dir.path(), "web.yml", &format!("basic_auth_users:\n  prom: '{hash}'\n"));
        let c = WebConfig::load(&p).unwrap();
        assert!(c.tls.is_none());
        let auth = c.auth.unwrap();
        let header =
            |s: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s));
        assert!(auth.allows(Some(&header("prom:s3cret-pass"))));
        assert!(auth.allows(Some(&header("prom:s3cret-pass"))), "remembered");
        assert!(!auth.allows(Some(&header("prom:wrong"))));
        assert!(!auth.allows(Some(&header("other:s3cret-pass"))));
        assert!(!auth.allows(Some("Basic !!!")));
        assert!(!auth.allows(None));
    }

    #[test]
    fn bad_files_say_where_and_never_echo_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "web.yml", "basic_auth_users:\n  prom: plain-password-here\n");
        let e = WebConfig::load(&p).err().unwrap().to_string();
        assert!(e.contains("basic_auth_users.prom: not a bcrypt hash"), "{e}");
        assert!(!e.contains("plain-password-here"), "{e}");
        let p = write(
            dir.path(),
            "web2.yml",
            "tls_server_config:\n  cert_file: a\n  client_auth_type: RequireAndVerifyClientCert\n",
        );
        let e = WebConfig::load(&p).err().unwrap().to_string();
        assert!(e.contains("web2.yml") && e.contains("client_auth_type"), "{e}");
        let p = write(
            dir.path(),
            "web3.yml",
            "tls_server_config:\n  cert_file: none.crt\n  key_file: none.key\n",
        );
        let e = WebConfig::load(&p).err().unwrap().to_string();
        assert!(e.contains("none.crt"), "{e}");
    }
}
