//! rustls client configuration from [`TlsOptions`]: system or given CA roots, optional client
//! certificate (mTLS), an explicit insecure mode, and ALPN for the chosen HTTP version.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::PlanError;
use crate::plan::{HttpVersion, RunPlan};

/// The client TLS config for `plan`, or `None` when no target uses `https`.
pub(crate) fn client_config(plan: &RunPlan) -> Result<Option<Arc<ClientConfig>>, PlanError> {
    if !plan.targets.iter().any(|t| t.is_tls()) {
        return Ok(None);
    }
    let opts = &plan.tls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("--cacert", Path::new("-"), &e.to_string()))?;
    let builder = if opts.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        match &opts.ca_cert {
            Some(path) => {
                let certs = read_certs("--cacert", path)?;
                let verifier = crate::trust::CaCertVerifier::new(certs, provider)
                    .map_err(|e| tls_err("--cacert", path, &e))?;
                builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier))
            }
            None => {
                let mut roots = RootCertStore::empty();
                let found = rustls_native_certs::load_native_certs();
                for c in found.certs {
                    let _ = roots.add(c);
                }
                builder.with_root_certificates(roots)
            }
        }
    };
    let mut config = match (&opts.client_cert, &opts.client_key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs("--cert", cert)?;
            let key = read_key(key)?;
            builder.with_client_auth_cert(chain, key).map_err(|e| tls_err("--key", cert, &e.to_string()))?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(c), None) => {
            return Err(tls_err("--key", c, "a client certificate needs --key as well"));
        }
        (None, Some(k)) => return Err(tls_err("--cert", k, "a client key needs --cert as well")),
    };
    config.alpn_protocols = match plan.http {
        HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
        HttpVersion::Http2 => vec![b"h2".to_vec()],
    };
    Ok(Some(Arc::new(config)))
}

fn tls_err(field: &str, path: &Path, reason: &str) -> PlanError {
    PlanError::Tls { field: field.into(), path: path.display().to_string(), reason: reason.into() }
}

fn read_certs(field: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, PlanError> {
    let file = File::open(path).map_err(|e| tls_err(field, path, &e.to_string()))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut BufReader::new(file))
        .collect::<Result<_, _>>()
        .map_err(|e| tls_err(field, path, &e.to_string()))?;
    if certs.is_empty() {
        return Err(tls_err(field, path, "no PEM certificate found in the file"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, PlanError> {
    let file = File::open(path).map_err(|e| tls_err("--key", path, &e.to_string()))?;
    rustls_pemfile::private_key(&mut BufReader::new(file))
        .map_err(|e| tls_err("--key", path, &e.to_string()))?
        .ok_or_else(|| tls_err("--key", path, "no PEM private key found in the file"))
}

/// The verifier behind `--insecure`: accepts any certificate, still checks handshake signatures.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
