//! Checking the server's certificate against `--cacert`: the WebPKI path to one of the given
//! certificates, and, as curl accepts it, a server whose certificate *is* one of them.
//!
//! `openssl req -x509` makes a self-signed certificate marked CA:TRUE; people serve it and pass
//! the same file as `--cacert`. WebPKI refuses a CA certificate as a server's own
//! (`CaUsedAsEndEntity`), and a self-signed CA:FALSE one has no issuer it knows
//! (`UnknownIssuer`). When the certificate the server presents is byte for byte one the user
//! trusts, it is accepted for those two reasons only, and only if it is valid for the name
//! dialled. WebPKI checks the validity period before either reason can arise, and the
//! handshake signature is still checked, so the server must hold the certificate's key.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

/// WebPKI from `roots`, plus the server certificates that are one of `pinned` (see the module).
#[derive(Debug)]
pub(crate) struct CaCertVerifier {
    inner: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl CaCertVerifier {
    /// A verifier trusting `certs` (the `--cacert` file's certificates).
    pub(crate) fn new(certs: Vec<CertificateDer<'static>>, provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        for c in &certs {
            roots.add(c.clone()).map_err(|e| e.to_string())?;
        }
        let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(CaCertVerifier { inner, pinned: certs })
    }
}

/// Whether WebPKI refused the certificate only because it is its own issuer.
fn self_issued(e: &Error) -> bool {
    match e {
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
        Error::InvalidCertificate(CertificateError::Other(other)) => {
            let source: &(dyn std::error::Error + 'static) = &*other.0;
            source.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity)
        }
        _ => false,
    }
}

impl ServerCertVerifier for CaCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(e) if self_issued(&e) => {
                if !self.pinned.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
                    // Not one of ours, nor issued by one: say that, not `CaUsedAsEndEntity`.
                    return Err(Error::InvalidCertificate(CertificateError::UnknownIssuer));
                }
                verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    use super::*;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn self_signed(ca: bool, names: &[&str]) -> CertificateDer<'static> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        params.self_signed(&key).unwrap().der().clone()
    }

    fn check(v: &CaCertVerifier, cert: &CertificateDer<'_>, name: &str) -> Result<ServerCertVerified, Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        v.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn a_server_presenting_a_trusted_self_signed_certificate_is_accepted_for_its_names_only() {
        for ca in [true, false] {
            let cert = self_signed(ca, &["localhost", "127.0.0.1"]);
            let v = CaCertVerifier::new(vec![cert.clone()], provider()).unwrap();
            assert!(check(&v, &cert, "localhost").is_ok(), "CA:{ca}");
            assert!(check(&v, &cert, "127.0.0.1").is_ok(), "CA:{ca}");
            let err = check(&v, &cert, "example.com").unwrap_err();
            assert!(
                matches!(err, Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })),
                "{err:?}"
            );
            // Another self-signed certificate with the same names is not trusted; a CA one is
            // refused as of an unknown issuer, not as a CA used as an end entity.
            let other = self_signed(ca, &["localhost"]);
            let err = check(&v, &other, "localhost").unwrap_err();
            if ca {
                assert_eq!(err, Error::InvalidCertificate(CertificateError::UnknownIssuer));
            }
        }
    }
}
