//! Identity providers: who is calling, from the JWT every API call presents.
//!
//! A token comes as `Authorization: Bearer <jwt>` or as the cookie `token` (Meshery's
//! clients send the cookie; a cookie holding Meshery's base64 OAuth token JSON is unwrapped to
//! its `access_token`). Two providers check it:
//! - [`local::LocalProvider`] (`PROVIDER=None`, the default): one local user; HS256 tokens
//!   signed with a random key the server creates under `$MESHPERF_HOME` at first start.
//!   `meshperf login` mints a token with that key, so having read access to the home is what
//!   proves you are the local user (no network endpoint hands tokens out).
//! - [`remote::RemoteProvider`]: tokens a remote provider signed (RS256 and friends, or ES256),
//!   checked against its public keys from `KEYS_PATH` or `<PROVIDER_BASE_URLS[0]>/keys` (JWKS).
//!
//! Missing, malformed, expired, not yet valid, tampered or wrongly signed tokens, and tokens
//! for another audience or from another issuer, are all [`AuthError`]s: the HTTP layer answers
//! 401 with no data. Both providers require `exp`, `aud` and `iss` and check `nbf`.
//!
//! # Layout
//! - [`local`]: the local provider and its key file.
//! - [`remote`]: the remote provider and its key set.

pub mod local;
pub mod remote;

use std::sync::Arc;

use http::HeaderMap;

use crate::config::{Config, ProviderConfig};

pub use local::LocalProvider;
pub use remote::RemoteProvider;

/// The caller, as a verified token says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// Stable user id: the owner of profiles, runs and results.
    pub user_id: String,
    /// Display name, when the token has one.
    pub name: String,
    /// The provider that vouched for it.
    pub provider: String,
}

/// Why a token was refused. Messages are safe to show: they never echo the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No token came with the request.
    #[error("missing token: send `Authorization: Bearer <token>` or the `token` cookie (run `meshperf login`)")]
    Missing,
    /// The token is not a well-formed JWT or its claims are unusable.
    #[error("malformed token")]
    Malformed,
    /// The token has expired.
    #[error("the token has expired; run `meshperf login` again")]
    Expired,
    /// The token is not valid yet (`nbf` in the future).
    #[error("the token is not valid yet (its nbf is in the future)")]
    NotYetValid,
    /// The token is for another audience.
    #[error("the token is for another audience (aud)")]
    Audience,
    /// The token comes from another issuer.
    #[error("the token comes from another issuer (iss)")]
    Issuer,
    /// The signature does not verify with any known key.
    #[error("the token's signature is not valid for this server's provider")]
    BadSignature,
    /// The token names an algorithm the provider does not accept.
    #[error("the token's signing algorithm is not accepted")]
    Algorithm,
    /// The provider's keys could not be obtained.
    #[error("the provider's keys are unavailable; try again later")]
    KeysUnavailable,
}

/// Failures setting a provider up.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The local key could not be read or created.
    #[error("cannot use the local provider key {path}: {reason}")]
    Key {
        /// The key file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The remote provider's keys could not be loaded.
    #[error("cannot load the provider's keys from {from}: {reason}")]
    Keys {
        /// File or URL.
        from: String,
        /// Why.
        reason: String,
    },
}

/// The configured provider.
#[derive(Debug, Clone)]
pub enum Provider {
    /// The local provider.
    Local(Arc<LocalProvider>),
    /// A remote provider.
    Remote(Arc<RemoteProvider>),
}

impl Provider {
    /// Sets up the provider of `config`: creates the local key, or loads the remote keys.
    pub async fn from_config(config: &Config) -> Result<Provider, ProviderError> {
        match &config.provider {
            ProviderConfig::Local => Ok(Provider::Local(Arc::new(LocalProvider::load_or_create(&config.home)?))),
            ProviderConfig::Remote { name, base_urls, keys_path, audience, issuers } => {
                let p = RemoteProvider::new(name.clone(), base_urls.first().cloned(), keys_path.clone())
                    .with_claims(audience.clone(), issuers.clone());
                p.load().await?;
                Ok(Provider::Remote(Arc::new(p)))
            }
        }
    }

    /// The provider's name (`None` for the local one, as Meshery calls it).
    pub fn name(&self) -> &str {
        match self {
            Provider::Local(_) => "None",
            Provider::Remote(p) => p.name(),
        }
    }

    /// Verifies a token.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        match self {
            Provider::Local(p) => p.verify(token),
            Provider::Remote(p) => p.verify(token).await,
        }
    }
}

/// The token of a request: the Bearer header first, then the `token` cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut parts = auth.trim().splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (parts.next(), parts.next()) {
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
                return Some(token.trim().to_string());
            }
        }
    }
    for header in headers.get_all(http::header::COOKIE) {
        let Ok(text) = header.to_str() else { continue };
        for pair in text.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == "token" && !value.is_empty() {
                    return Some(unwrap_oauth_cookie(value.trim_matches('"')));
                }
            }
        }
    }
    None
}

/// Meshery's remote-provider cookie is base64 of `{"access_token": ...}`; a JWT is used as is.
fn unwrap_oauth_cookie(value: &str) -> String {
    use base64::Engine;
    if value.split('.').count() == 3 {
        return value.to_string();
    }
    let engines = [base64::engine::general_purpose::STANDARD_NO_PAD, base64::engine::general_purpose::STANDARD];
    for engine in engines {
        if let Ok(bytes) = engine.decode(value) {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                if let Some(t) = v.get("access_token").and_then(|t| t.as_str()) {
                    return t.to_string();
                }
            }
        }
    }
    value.to_string()
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Maps a jsonwebtoken failure to the taxonomy.
pub(crate) fn jwt_error(e: &jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.kind() {
        K::ExpiredSignature => AuthError::Expired,
        K::ImmatureSignature => AuthError::NotYetValid,
        K::InvalidAudience => AuthError::Audience,
        K::InvalidIssuer => AuthError::Issuer,
        K::InvalidSignature => AuthError::BadSignature,
        K::InvalidAlgorithm | K::InvalidAlgorithmName => AuthError::Algorithm,
        _ => AuthError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn tokens_come_from_bearer_or_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(token_from_headers(&h), None);
        h.insert(http::header::COOKIE, HeaderValue::from_static("a=b; token=x.y.z; c=d"));
        assert_eq!(token_from_headers(&h).as_deref(), Some("x.y.z"));
        h.insert(http::header::AUTHORIZATION, HeaderValue::from_static("bearer a.b.c"));
        assert_eq!(token_from_headers(&h).as_deref(), Some("a.b.c"));
        h.insert(http::header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(token_from_headers(&h).as_deref(), Some("x.y.z"));
    }

    #[test]
    fn meshery_oauth_cookie_is_unwrapped() {
        use base64::Engine;
        let cookie =
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(r#"{"access_token":"h.p.s","expiry":"x"}"#);
        assert_eq!(unwrap_oauth_cookie(&cookie), "h.p.s");
    }
}
