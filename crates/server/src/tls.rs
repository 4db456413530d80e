//! TLS in the binary, by rustls: the certificate chain and private key come from PEM files and
//! are read again on SIGHUP and whenever either file changes, without a restart and without
//! dropping a connection (connections keep the certificate they were made with; new ones get
//! the new one). A reload that fails (a half-written file, a key that does not match) keeps
//! the certificate being served and says why. HTTP/2 is offered by ALPN.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The protocols offered by ALPN, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Where the certificate chain and its private key are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {reason}")]
    Certificate { path: PathBuf, reason: String },
    #[error("cannot read the TLS private key {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("the TLS private key {key} cannot serve the certificate {cert}: {reason}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// What the files looked like when last read: a change to either is a reason to read again.
type Stamps = [Option<(SystemTime, u64)>; 2];

/// The certificate being served, replaced in place on reload.
#[derive(Debug)]
pub struct Certificates {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// The files' stamps at the last attempt, good or not (a broken file is not read again
    /// until it changes, so a bad reload is reported once).
    tried: Mutex<Stamps>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

impl Certificates {
    /// Reads the files; an error names the file and what is wrong with it.
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let stamps = stamps(&files);
        let key = read(&files, &provider)?;
        Ok(Arc::new(Self {
            files,
            provider,
            current: RwLock::new(Arc::new(key)),
            tried: Mutex::new(stamps),
        }))
    }

    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// Reads the files again and serves what they hold from the next handshake on; on an
    /// error the certificate served so far stays.
    fn reload(&self) -> Result<(), TlsError> {
        *self.tried.lock().unwrap_or_else(|e| e.into_inner()) = stamps(&self.files);
        let key = read(&self.files, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(key);
        Ok(())
    }

    /// Reloads when either file changed since the last attempt. `None` when nothing changed.
    fn reload_if_changed(&self) -> Option<Result<(), TlsError>> {
        let now = stamps(&self.files);
        if *self.tried.lock().unwrap_or_else(|e| e.into_inner()) == now {
            return None;
        }
        Some(self.reload())
    }

    /// The listener's TLS settings: TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN, this
    /// certificate (as it is at each handshake).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// Reads the files again off the async threads (with `only_if_changed`, only when either
    /// changed since the last attempt) and logs the outcome: for SIGHUP and the file watcher.
    pub async fn reload_and_report(self: &Arc<Self>, why: &str, only_if_changed: bool) {
        let this = self.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            if only_if_changed {
                this.reload_if_changed()
            } else {
                Some(this.reload())
            }
        })
        .await;
        if let Ok(Some(outcome)) = outcome {
            self.report(outcome, why);
        }
    }

    fn report(&self, outcome: Result<(), TlsError>, why: &str) {
        match outcome {
            Ok(()) => tracing::info!(
                cert = %self.files.cert.display(),
                "TLS certificate reloaded ({why}); new connections use it"
            ),
            Err(error) => tracing::warn!(
                %error,
                "TLS certificate not reloaded ({why}); still serving the previous one"
            ),
        }
    }
}

/// Reloads the certificate whenever its files change, until told to stop.
pub async fn watch(
    certificates: Arc<Certificates>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                certificates.reload_and_report("its files changed", true).await;
            }
            _ = stop.changed() => return,
        }
    }
}

fn stamps(files: &TlsFiles) -> Stamps {
    [stamp(&files.cert), stamp(&files.key)]
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

fn read(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_error = |reason: String| TlsError::Certificate {
        path: files.cert.clone(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| cert_error(pem_reason(e, "CERTIFICATE")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(pem_reason(e, "CERTIFICATE")))?;
    if chain.is_empty() {
        return Err(cert_error(pem_reason(
            rustls::pki_types::pem::Error::NoItemsFound,
            "CERTIFICATE",
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: files.key.clone(),
        reason: pem_reason(e, "PRIVATE KEY"),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        reason: e.to_string(),
    })
}

fn pem_reason(error: rustls::pki_types::pem::Error, what: &str) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Io(error) => error.to_string(),
        Error::NoItemsFound => format!("no PEM {what} section in it"),
        other => format!("not valid PEM ({other:?})"),
    }
}
