//! A throwaway PKI for TLS tests: a CA, a server certificate for `localhost`/127.0.0.1, and a
//! client certificate, all as PEM files in a temp dir; and a self-signed CA:TRUE server
//! certificate like `openssl req -x509` makes.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// PEM files and parsed material for a test PKI.
pub struct TestPki {
    /// Keeps the files alive.
    pub dir: tempfile::TempDir,
    /// The CA certificate (trust it with `--cacert`).
    pub ca_pem: PathBuf,
    /// The client certificate chain for mTLS.
    pub client_cert: PathBuf,
    /// The client key for mTLS.
    pub client_key: PathBuf,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
    ca_der: CertificateDer<'static>,
}

impl TestPki {
    /// Makes a new CA and certificates.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_key = KeyPair::generate().expect("key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "meshperf test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca = ca_params.self_signed(&ca_key).expect("ca");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("key");
        let server_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
        let server = server_params.signed_by(&server_key, &issuer).expect("server cert");

        let client_key = KeyPair::generate().expect("key");
        let mut client_params = CertificateParams::new(vec!["client.test".to_string()]).expect("params");
        client_params.distinguished_name.push(DnType::CommonName, "meshperf test client");
        let client = client_params.signed_by(&client_key, &issuer).expect("client cert");

        let write = |name: &str, data: String| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).expect("write pem");
            p
        };
        let ca_pem = write("ca.pem", ca.pem());
        let client_cert = write("client.pem", client.pem());
        let client_key_path = write("client.key", client_key.serialize_pem());
        TestPki {
            ca_der: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
            dir,
            ca_pem,
            client_cert,
            client_key: client_key_path,
        }
    }

    /// A rustls server config offering `alpn`; requires a client certificate when `mtls`.
    pub fn server_config(&self, alpn: &[&[u8]], mtls: bool) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = if mtls {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).expect("ca");
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut cfg = builder.with_single_cert(self.server_chain.clone(), key).expect("server cert");
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(cfg)
    }
}

/// A self-signed server certificate marked CA:TRUE, as `openssl req -x509` makes it, for
/// `localhost` and 127.0.0.1: the server presents it and the client is given the same file.
pub struct SelfSigned {
    /// Keeps the file alive.
    pub dir: tempfile::TempDir,
    /// The certificate (give it as `--cacert`).
    pub pem: PathBuf,
    cert: CertificateDer<'static>,
    key: Vec<u8>,
}

impl SelfSigned {
    /// Makes the key and certificate.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = params.self_signed(&key).expect("self-signed");
        let pem = dir.path().join("self-signed.pem");
        std::fs::write(&pem, cert.pem()).expect("write pem");
        SelfSigned { dir, pem, cert: cert.der().clone(), key: key.serialize_der() }
    }

    /// A rustls server config presenting the certificate, offering HTTP/1.1.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert.clone()], key)
            .expect("server cert");
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(cfg)
    }
}

impl Default for SelfSigned {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}
