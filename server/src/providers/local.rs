//! The local provider: one user, HS256 tokens signed with a key kept in the home.
//!
//! The key is `$MESHPERF_HOME/local-provider.key`: 64 random bytes in base64, created with mode
//! 0600 at the server's first start. Whoever can read it can mint tokens (`meshperf login`
//! does exactly that), so the home's file permissions are the local provider's access control.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use super::{AuthError, Identity, ProviderError, jwt_error, unix_now};

/// The key file's name under the home.
pub const KEY_FILE: &str = "local-provider.key";
/// The `iss` of local tokens.
pub const ISSUER: &str = "meshperf-local";
/// The `aud` of local tokens.
pub const AUDIENCE: &str = "meshperf";
/// The local user's id.
pub const LOCAL_USER: &str = "local";

/// Claims of a local token.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claims {
    sub: String,
    name: String,
    iss: String,
    aud: String,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// The local provider.
pub struct LocalProvider {
    encoding: EncodingKey,
    decoding: DecodingKey,
    path: PathBuf,
}

impl std::fmt::Debug for LocalProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalProvider").field("path", &self.path).finish_non_exhaustive()
    }
}

impl LocalProvider {
    /// Reads the key under `home`, creating home and key if missing (the server's start).
    pub fn load_or_create(home: &Path) -> Result<Self, ProviderError> {
        let path = home.join(KEY_FILE);
        if !path.exists() {
            create_key(home, &path)?;
        }
        Self::load(home)
    }

    /// Reads the key under `home` (what `meshperf login` does); fails if there is none.
    pub fn load(home: &Path) -> Result<Self, ProviderError> {
        let path = home.join(KEY_FILE);
        let err = |reason: String| ProviderError::Key { path: path.display().to_string(), reason };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            err(if e.kind() == std::io::ErrorKind::NotFound {
                "it does not exist; start the server once with `meshperf serve` using this MESHPERF_HOME".into()
            } else {
                e.to_string()
            })
        })?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|e| err(format!("it is not base64 ({e}); delete it to have a new one created")))?;
        if secret.len() < 32 {
            return Err(err("it is shorter than 32 bytes; delete it to have a new one created".into()));
        }
        Ok(LocalProvider {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            path,
        })
    }

    /// A token for the local user, valid for `ttl`.
    pub fn mint(&self, ttl: Duration) -> String {
        let now = unix_now();
        let claims = Claims {
            sub: LOCAL_USER.into(),
            name: "Local User".into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            nbf: now,
            exp: now + ttl.as_secs().max(1),
        };
        // HS256 over serialisable claims cannot fail.
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// Verifies a local token.
    pub fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        v.validate_nbf = true;
        v.leeway = 5;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map_err(|e| jwt_error(&e))?;
        Ok(Identity { user_id: data.claims.sub, name: data.claims.name, provider: "None".into() })
    }
}

fn create_key(home: &Path, path: &Path) -> Result<(), ProviderError> {
    let err = |reason: String| ProviderError::Key { path: path.display().to_string(), reason };
    std::fs::create_dir_all(home).map_err(|e| err(format!("cannot create {}: {e}", home.display())))?;
    // Four v4 UUIDs carry 488 bits from the operating system's random generator.
    let secret: Vec<u8> = (0..4).flat_map(|_| *uuid::Uuid::new_v4().as_bytes()).collect();
    let text = base64::engine::general_purpose::STANDARD.encode(secret);
    write_private(path, text.as_bytes()).map_err(|e| err(e.to_string()))
}

/// Writes a file readable only by its owner, without replacing an existing one.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mints_and_verifies_and_refuses_others() {
        let home = tempfile::tempdir().unwrap();
        let p = LocalProvider::load_or_create(home.path()).unwrap();
        let token = p.mint(Duration::from_secs(60));
        assert_eq!(p.verify(&token).unwrap().user_id, LOCAL_USER);
        // Same home: same key.
        assert!(LocalProvider::load(home.path()).unwrap().verify(&token).is_ok());

        let other_home = tempfile::tempdir().unwrap();
        let other = LocalProvider::load_or_create(other_home.path()).unwrap();
        assert_eq!(other.verify(&token), Err(AuthError::BadSignature));

        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(p.verify(&tampered).is_err());
        assert_eq!(p.verify("not-a-token"), Err(AuthError::Malformed));

        let sign = |c: &Claims| jsonwebtoken::encode(&Header::new(Algorithm::HS256), c, &p.encoding).unwrap();
        let now = unix_now();
        let claims = |iss: &str, aud: &str, nbf: u64, exp: u64| Claims {
            sub: "local".into(),
            name: String::new(),
            iss: iss.into(),
            aud: aud.into(),
            iat: 0,
            nbf,
            exp,
        };
        assert_eq!(p.verify(&sign(&claims(ISSUER, AUDIENCE, 0, 1000))), Err(AuthError::Expired));
        assert_eq!(p.verify(&sign(&claims(ISSUER, AUDIENCE, now + 86_400, now + 90_000))), Err(AuthError::NotYetValid));
        assert_eq!(p.verify(&sign(&claims(ISSUER, "other", now, now + 600))), Err(AuthError::Audience));
        assert_eq!(p.verify(&sign(&claims("forged", AUDIENCE, now, now + 600))), Err(AuthError::Issuer));
        assert!(p.verify(&sign(&claims(ISSUER, AUDIENCE, now, now + 600))).is_ok());
        // A token without an audience (as minted before audiences were required) is refused.
        let no_aud = serde_json::json!({"sub": "local", "iss": ISSUER, "exp": now + 600});
        let t = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &no_aud, &p.encoding).unwrap();
        assert!(p.verify(&t).is_err());
    }

    #[test]
    fn login_without_a_key_says_how_to_get_one() {
        let home = tempfile::tempdir().unwrap();
        let e = LocalProvider::load(home.path()).unwrap_err().to_string();
        assert!(e.contains("meshperf serve"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn the_key_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let home = tempfile::tempdir().unwrap();
        LocalProvider::load_or_create(home.path()).unwrap();
        let mode = std::fs::metadata(home.path().join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
