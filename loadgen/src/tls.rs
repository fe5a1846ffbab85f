//! rustls client configuration from [`TlsOptions`]: system or given CA roots, optional client
//! certificate (mTLS), an explicit insecure mode, and ALPN for the chosen HTTP version (gRPC
//! speaks HTTP/2). The material comes as PEM bytes in the plan; nothing is read from files here.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Field, PlanError};
use crate::plan::{HttpVersion, Pem, RunPlan, TlsOptions};

/// Checks that the PEM material of `opts` parses and pairs up (a certificate with its key), so
/// a bad file is refused when the plan is validated rather than when the run starts.
pub(crate) fn check(opts: &TlsOptions) -> Result<(), PlanError> {
    if let Some(ca) = &opts.ca_certs {
        let mut roots = RootCertStore::empty();
        for c in certs(Field::CaCert, ca)? {
            roots.add(c).map_err(|e| PlanError::new(Field::CaCert, format!("is not a usable certificate: {e}")))?;
        }
    }
    match (&opts.client_cert, &opts.client_key) {
        (Some(cert), Some(key)) => {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| PlanError::new(Field::ClientCert, e.to_string()))?
                .with_root_certificates(RootCertStore::empty())
                .with_client_auth_cert(certs(Field::ClientCert, cert)?, private_key(key)?)
                .map_err(|e| PlanError::new(Field::ClientKey, format!("does not fit the certificate: {e}")))?;
            Ok(())
        }
        (None, None) => Ok(()),
        (Some(_), None) => Err(PlanError::new(Field::ClientKey, "a client certificate needs its key as well")),
        (None, Some(_)) => Err(PlanError::new(Field::ClientCert, "a client key needs its certificate as well")),
    }
}

/// The client TLS config for `plan`, or `None` when no target uses TLS.
pub(crate) fn client_config(plan: &RunPlan) -> Result<Option<Arc<ClientConfig>>, PlanError> {
    if !plan.targets.iter().any(|t| t.is_tls()) {
        return Ok(None);
    }
    config(&plan.tls, plan.http).map(Some)
}

/// The client TLS config for `opts`, offering the ALPN protocol of `http`.
pub(crate) fn config(opts: &TlsOptions, http: HttpVersion) -> Result<Arc<ClientConfig>, PlanError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PlanError::new(Field::CaCert, e.to_string()))?;
    let builder = if opts.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        match &opts.ca_certs {
            Some(pem) => {
                let verifier = crate::trust::CaCertVerifier::new(certs(Field::CaCert, pem)?, provider)
                    .map_err(|e| PlanError::new(Field::CaCert, e))?;
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
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certs(Field::ClientCert, cert)?, private_key(key)?)
            .map_err(|e| PlanError::new(Field::ClientKey, format!("does not match the certificate: {e}")))?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = match http {
        HttpVersion::Http1 => vec![b"http/1.1".to_vec()],
        HttpVersion::Http2 => vec![b"h2".to_vec()],
    };
    Ok(Arc::new(config))
}

fn certs(field: Field, pem: &Pem) -> Result<Vec<CertificateDer<'static>>, PlanError> {
    let certs: Vec<_> = rustls_pemfile::certs(&mut pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| PlanError::new(field, format!("is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(PlanError::new(field, "no PEM certificate (-----BEGIN CERTIFICATE-----) found"));
    }
    Ok(certs)
}

fn private_key(pem: &Pem) -> Result<PrivateKeyDer<'static>, PlanError> {
    rustls_pemfile::private_key(&mut pem.as_bytes())
        .map_err(|e| PlanError::new(Field::ClientKey, format!("is not valid PEM: {e}")))?
        .ok_or_else(|| PlanError::new(Field::ClientKey, "no PEM private key found"))
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
