//! A remote provider: tokens it signed, checked against its public keys.
//!
//! Keys come from `KEYS_PATH` (a JWKS JSON document or a PEM public key) or from the JWKS the
//! provider publishes at `<base URL>/keys`. A token whose `kid` is unknown triggers one refetch
//! of the published keys, at most every [`REFETCH_INTERVAL`] (the provider may have rotated).
//! Only asymmetric algorithms are accepted (RS/PS 256-512, ES256/384) and the token's algorithm
//! must match the key's type: a remote provider's public key can never act as an HMAC secret.
//! `exp`, `iss` and `aud` are required: the issuer must be one of the configured ones
//! (`MESHPERF_TOKEN_ISSUERS`, by default the provider's base URLs) and the audience the
//! configured one (`MESHPERF_TOKEN_AUDIENCE`, default `meshperf`); `nbf` is checked.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::RwLock;

use super::{AuthError, Identity, ProviderError, jwt_error};
use crate::http::client::Call;

/// Least time between two fetches of the published keys.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// The kind of a key, which decides the algorithms it verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    Ec,
}

impl KeyKind {
    fn accepts(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyKind::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::Ec => matches!(alg, ES256 | ES384),
        }
    }
}

#[derive(Clone)]
struct Key {
    kid: Option<String>,
    kind: KeyKind,
    key: DecodingKey,
}

/// Claims read from a provider's token.
#[derive(Debug, serde::Deserialize)]
struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// A remote provider.
pub struct RemoteProvider {
    name: String,
    base_url: Option<url::Url>,
    keys_path: Option<PathBuf>,
    keys: RwLock<Vec<Key>>,
    last_fetch: Mutex<Option<Instant>>,
    audience: String,
    issuers: Vec<String>,
}

impl std::fmt::Debug for RemoteProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteProvider")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("keys_path", &self.keys_path)
            .finish_non_exhaustive()
    }
}

impl RemoteProvider {
    /// A provider called `name` with keys at `keys_path`, or else published under `base_url`.
    pub fn new(name: String, base_url: Option<url::Url>, keys_path: Option<PathBuf>) -> Self {
        RemoteProvider {
            name,
            base_url,
            keys_path,
            keys: RwLock::new(Vec::new()),
            last_fetch: Mutex::new(None),
            audience: "meshperf".into(),
            issuers: Vec::new(),
        }
    }

    /// Requires tokens for `audience` from one of `issuers`.
    pub fn with_claims(mut self, audience: String, issuers: Vec<String>) -> Self {
        self.audience = audience;
        self.issuers = issuers;
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Loads the keys (at start): from the file, or by fetching the published set.
    pub async fn load(&self) -> Result<usize, ProviderError> {
        let keys = match &self.keys_path {
            Some(path) => {
                let from = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .map_err(|e| ProviderError::Keys { from: from.clone(), reason: e.to_string() })?;
                parse_keys(&text).map_err(|reason| ProviderError::Keys { from, reason })?
            }
            None => self.fetch().await?,
        };
        let n = keys.len();
        *self.keys.write().await = keys;
        Ok(n)
    }

    fn keys_url(&self) -> Option<url::Url> {
        let base = self.base_url.as_ref()?;
        let text = format!("{}/keys", base.as_str().trim_end_matches('/'));
        url::Url::parse(&text).ok()
    }

    async fn fetch(&self) -> Result<Vec<Key>, ProviderError> {
        let url = self.keys_url().ok_or_else(|| ProviderError::Keys {
            from: "PROVIDER_BASE_URLS".into(),
            reason: "no base URL is configured".into(),
        })?;
        if let Ok(mut last) = self.last_fetch.lock() {
            *last = Some(Instant::now());
        }
        let from = url.to_string();
        let (status, _, body) = Call::new(http::Method::GET, url)
            .fetch()
            .await
            .map_err(|e| ProviderError::Keys { from: from.clone(), reason: e.to_string() })?;
        if !status.is_success() {
            return Err(ProviderError::Keys { from, reason: format!("status {status}") });
        }
        let text = String::from_utf8_lossy(&body);
        parse_keys(&text).map_err(|reason| ProviderError::Keys { from, reason })
    }

    /// Refetches the published keys if allowed by the interval; true when the set changed.
    async fn refetch(&self) -> bool {
        if self.keys_path.is_some() {
            return false;
        }
        let due =
            self.last_fetch.lock().map(|last| last.is_none_or(|t| t.elapsed() >= REFETCH_INTERVAL)).unwrap_or(false);
        if !due {
            return false;
        }
        match self.fetch().await {
            Ok(keys) => {
                *self.keys.write().await = keys;
                true
            }
            Err(e) => {
                tracing::warn!(provider = %self.name, error = %e, "refetching the provider's keys failed");
                false
            }
        }
    }

    /// Verifies a token signed by the provider.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        if !(KeyKind::Rsa.accepts(header.alg) || KeyKind::Ec.accepts(header.alg)) {
            return Err(AuthError::Algorithm);
        }
        let mut result = self.verify_with_known(token, header.alg, header.kid.as_deref()).await;
        let unknown_kid = matches!(result, Err(AuthError::KeysUnavailable));
        if unknown_kid && self.refetch().await {
            result = self.verify_with_known(token, header.alg, header.kid.as_deref()).await;
        }
        match result {
            Err(AuthError::KeysUnavailable) if header.kid.is_some() => Err(AuthError::BadSignature),
            other => other,
        }
    }

    async fn verify_with_known(&self, token: &str, alg: Algorithm, kid: Option<&str>) -> Result<Identity, AuthError> {
        let keys = self.keys.read().await;
        let candidates: Vec<&Key> = keys
            .iter()
            .filter(|k| k.kind.accepts(alg))
            .filter(|k| match (kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => true,
                (None, _) => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(if keys.is_empty() || kid.is_some() {
                AuthError::KeysUnavailable
            } else {
                AuthError::BadSignature
            });
        }
        let mut validation = Validation::new(alg);
        validation.set_audience(&[&self.audience]);
        validation.set_issuer(&self.issuers);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        let mut last = AuthError::BadSignature;
        for key in candidates {
            match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
                Ok(data) => return identity(data.claims, &self.name),
                Err(e) => {
                    last = jwt_error(&e);
                    if last != AuthError::BadSignature {
                        return Err(last);
                    }
                }
            }
        }
        Err(last)
    }
}

fn identity(c: Claims, provider: &str) -> Result<Identity, AuthError> {
    let user_id =
        c.sub.or(c.user_id).or_else(|| c.email.clone()).filter(|s| !s.is_empty()).ok_or(AuthError::Malformed)?;
    Ok(Identity {
        name: c.name.or(c.email).unwrap_or_else(|| user_id.clone()),
        user_id,
        provider: provider.to_string(),
    })
}

/// Parses a JWKS document or PEM public key(s).
fn parse_keys(text: &str) -> Result<Vec<Key>, String> {
    let text = text.trim();
    if text.starts_with('{') {
        let set: JwkSet = serde_json::from_str(text).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let kind = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => KeyKind::Rsa,
                AlgorithmParameters::EllipticCurve(_) => KeyKind::Ec,
                // Symmetric or unsupported keys are skipped: they must never verify tokens here.
                _ => continue,
            };
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {:?}: {e}", jwk.common.key_id))?;
            keys.push(Key { kid: jwk.common.key_id.clone(), kind, key });
        }
        if keys.is_empty() {
            return Err("the JWKS has no RSA or EC key".into());
        }
        return Ok(keys);
    }
    if text.contains("-----BEGIN") {
        if let Ok(key) = DecodingKey::from_rsa_pem(text.as_bytes()) {
            return Ok(vec![Key { kid: None, kind: KeyKind::Rsa, key }]);
        }
        if let Ok(key) = DecodingKey::from_ec_pem(text.as_bytes()) {
            return Ok(vec![Key { kid: None, kind: KeyKind::Ec, key }]);
        }
        return Err("the PEM is neither an RSA nor an EC public key".into());
    }
    Err("expected a JWKS JSON document or a PEM public key".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    const KEY_A: &str = include_str!("testdata/provider-a.key.pem");
    const KEY_B: &str = include_str!("testdata/provider-b.key.pem");
    const PUB_A: &str = include_str!("testdata/provider-a.pub.pem");
    const JWKS_A: &str = include_str!("testdata/provider-a.jwks.json");

    const ISSUER: &str = "https://provider.example";

    fn signed(key: &str, kid: Option<&str>, alg: Algorithm, claims: &serde_json::Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(String::from);
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap()).unwrap()
    }

    fn token(key: &str, kid: Option<&str>, alg: Algorithm, exp_offset: i64) -> String {
        let exp = (super::super::unix_now() as i64 + exp_offset) as u64;
        let claims = serde_json::json!({"sub": "user-1", "name": "Ada", "exp": exp, "iss": ISSUER, "aud": "meshperf"});
        signed(key, kid, alg, &claims)
    }

    async fn provider_with_file(text: &str) -> (RemoteProvider, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(&path, text).unwrap();
        let p =
            RemoteProvider::new("Remote".into(), None, Some(path)).with_claims("meshperf".into(), vec![ISSUER.into()]);
        p.load().await.unwrap();
        (p, dir)
    }

    #[tokio::test]
    async fn verifies_rs256_from_jwks_and_pem_files() {
        for keys in [JWKS_A, PUB_A] {
            let (p, _dir) = provider_with_file(keys).await;
            let id = p.verify(&token(KEY_A, Some("key-a"), Algorithm::RS256, 600)).await.unwrap();
            assert_eq!((id.user_id.as_str(), id.name.as_str(), id.provider.as_str()), ("user-1", "Ada", "Remote"));
            assert_eq!(p.verify(&token(KEY_A, None, Algorithm::RS256, -600)).await, Err(AuthError::Expired));
            assert_eq!(p.verify(&token(KEY_B, None, Algorithm::RS256, 600)).await, Err(AuthError::BadSignature));
        }
    }

    #[tokio::test]
    async fn refuses_other_audiences_issuers_and_future_tokens() {
        let (p, _dir) = provider_with_file(JWKS_A).await;
        let now = super::super::unix_now();
        let claims = |iss: &str, aud: &str, nbf: u64| serde_json::json!({"sub": "u", "exp": now + 600, "iss": iss, "aud": aud, "nbf": nbf});
        let verify = |c: serde_json::Value| {
            let t = signed(KEY_A, Some("key-a"), Algorithm::RS256, &c);
            let p = &p;
            async move { p.verify(&t).await }
        };
        assert!(verify(claims(ISSUER, "meshperf", now)).await.is_ok());
        assert_eq!(verify(claims(ISSUER, "another-app", now)).await, Err(AuthError::Audience));
        assert_eq!(verify(claims("https://evil.example", "meshperf", now)).await, Err(AuthError::Issuer));
        assert_eq!(verify(claims(ISSUER, "meshperf", now + 86_400)).await, Err(AuthError::NotYetValid));
        let no_aud = serde_json::json!({"sub": "u", "exp": now + 600, "iss": ISSUER});
        assert!(verify(no_aud).await.is_err());
    }

    #[tokio::test]
    async fn refuses_hmac_with_the_public_key_and_unknown_kids() {
        let (p, _dir) = provider_with_file(JWKS_A).await;
        // The classic confusion attack: HS256 "signed" with the public key text.
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "admin", "exp": super::super::unix_now() + 600}),
            &EncodingKey::from_secret(PUB_A.as_bytes()),
        )
        .unwrap();
        assert_eq!(p.verify(&forged).await, Err(AuthError::Algorithm));
        assert_eq!(p.verify(&token(KEY_B, Some("key-x"), Algorithm::RS256, 600)).await, Err(AuthError::BadSignature));
        assert_eq!(p.verify("a.b").await, Err(AuthError::Malformed));
    }

    #[tokio::test]
    async fn fetches_the_published_jwks() {
        let app = axum::Router::new().route("/keys", axum::routing::get(|| async { JWKS_A }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let p =
            RemoteProvider::new("Remote".into(), Some(base), None).with_claims("meshperf".into(), vec![ISSUER.into()]);
        assert_eq!(p.load().await.unwrap(), 1);
        assert!(p.verify(&token(KEY_A, Some("key-a"), Algorithm::RS256, 600)).await.is_ok());
    }
}
