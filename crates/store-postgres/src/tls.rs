//! Where the database is, and TLS to it. The URL is libpq's (`postgres://user@host/db?…`);
//! `sslmode=require` asks for TLS, verified against the system's root certificates plus
//! the ones in `sslrootcert=FILE` (PEM), which tokio-postgres itself does not read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres_rustls::MakeRustlsConnect;

use super::error::PgError;

/// How long a new connection may take when the URL does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A database to connect to.
#[derive(Clone)]
pub struct PgTarget {
    pub config: tokio_postgres::Config,
    /// Extra trusted root certificates (PEM), from `sslrootcert`.
    pub root_cert: Option<PathBuf>,
}

impl std::fmt::Debug for PgTarget {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PgTarget {
    pub fn parse(url: &str) -> Result<Self, PgError> {
        let (url, root_cert) = take_param(url, "sslrootcert");
        let mut config: tokio_postgres::Config = url.parse().map_err(PgError::Url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("complaintflow");
        }
        Ok(Self {
            config,
            root_cert: root_cert.map(PathBuf::from),
        })
    }

    /// `user@host/db`, for logs and messages.
    pub fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .config
            .get_hosts()
            .iter()
            .map(|host| match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            })
            .collect();
        format!(
            "postgres://{}@{}/{}",
            self.config.get_user().unwrap_or(""),
            hosts.join(","),
            self.config.get_dbname().unwrap_or("")
        )
    }

    pub fn connector(&self) -> Result<MakeRustlsConnect, PgError> {
        let mut roots = rustls::RootCertStore::empty();
        // Certificates the system store holds but rustls cannot parse are skipped.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        if let Some(path) = &self.root_cert {
            let unreadable = |source| PgError::RootCert {
                path: path.clone(),
                source,
            };
            let pem = std::fs::read(path).map_err(unreadable)?;
            for cert in rustls_pemfile_certs(&pem).map_err(unreadable)? {
                roots.add(cert)?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

fn rustls_pemfile_certs(
    pem: &[u8],
) -> std::io::Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| std::io::Error::new(std::io::ErrorKind::InvalidData, err.to_string()))
}

/// The URL without the query parameter `key`, and its value.
fn take_param(url: &str, key: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|param| match param.split_once('=') {
            Some((name, v)) if name == key => {
                value = Some(v.to_owned());
                false
            }
            _ => true,
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), value)
    } else {
        (format!("{base}?{}", kept.join("&")), value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_certificate_is_taken_out_of_the_url() {
        let target = PgTarget::parse(
            "postgres://app:secret@db.example/cf?sslmode=require&sslrootcert=/etc/ca.pem",
        )
        .unwrap();
        assert_eq!(target.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            target.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert_eq!(target.describe(), "postgres://app@db.example/cf");
        assert!(!format!("{target:?}").contains("secret"));
        let (url, none) = take_param("postgres://h/db", "sslrootcert");
        assert_eq!((url.as_str(), none), ("postgres://h/db", None));
        assert!(PgTarget::parse("postgres://h/db?nonsense=1").is_err());
        match target.connector() {
            Err(PgError::RootCert { path, .. }) => assert_eq!(path, PathBuf::from("/etc/ca.pem")),
            Err(other) => panic!("expected the root certificate's error, got {other}"),
            Ok(_) => panic!("a missing root certificate file is an error"),
        }
        assert!(
            PgTarget::parse("postgres://h/db")
                .unwrap()
                .connector()
                .is_ok()
        );
    }
}
