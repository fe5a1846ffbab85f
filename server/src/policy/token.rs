//! The shared token of the gRPC doors (`MESHPERF_WORKER_TOKEN`): a long random secret callers
//! present as `authorization: Bearer TOKEN`, compared in constant time.

use std::fmt;

/// A shared secret; its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// An empty token would let anyone in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token is empty; give a long random secret")]
pub struct EmptyToken;

impl Token {
    /// A token; empty ones are refused.
    pub fn new(secret: impl Into<String>) -> Result<Self, EmptyToken> {
        let secret = secret.into();
        if secret.trim().is_empty() {
            return Err(EmptyToken);
        }
        Ok(Token(secret))
    }

    /// Whether `given` (the text after `Bearer `) is this token.
    pub fn matches(&self, given: &str) -> bool {
        constant_time_eq(given.trim().as_bytes(), self.0.as_bytes())
    }

    /// The `authorization` header value a client sends.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        let t = Token::new("s3cret").unwrap();
        assert!(t.matches("s3cret") && t.matches(" s3cret "));
        assert!(!t.matches("s3cre") && !t.matches("s3crets") && !t.matches(""));
        assert!(Token::new("  ").is_err());
        assert_eq!(format!("{t:?}"), "Token(***)");
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"\xff"));
    }
}
