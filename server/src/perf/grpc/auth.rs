//! Who may call the gRPC doors on port 10013. Every call that sends load, reads a run or
//! cancels one presents `authorization: Bearer X`, where X is the shared token
//! (`MESHPERF_WORKER_TOKEN`) or, on `meshperf serve`, a token the server's identity provider
//! accepts (what `meshperf login` writes). There is no path without the header. Meshery's
//! registration calls (`MeshName`, `MeshVersions`, `ComponentInfo`, `SupportedOperations`)
//! read nothing and stay open.

use tonic::metadata::MetadataMap;

use crate::error::ServiceError;
use crate::policy::Token;
use crate::providers::Provider;

/// The credentials a gRPC door accepts, and whose runs they start.
#[derive(Debug, Clone)]
pub struct GrpcAuth {
    token: Token,
    provider: Option<Provider>,
    token_owner: String,
}

impl GrpcAuth {
    /// Accepts `token` (its runs belong to `token_owner`) and, when given, the tokens
    /// `provider` accepts (their runs belong to the token's user).
    pub fn new(token: Token, provider: Option<Provider>, token_owner: impl Into<String>) -> Self {
        GrpcAuth { token, provider, token_owner: token_owner.into() }
    }

    /// The caller's user id, or why the call is refused.
    pub async fn check(&self, metadata: &MetadataMap) -> Result<String, ServiceError> {
        let missing = || {
            ServiceError::Unauthenticated(
                "missing credential: send `authorization: Bearer TOKEN` metadata with the shared token \
                 (MESHPERF_WORKER_TOKEN, or `meshperf run --token`) or a token from `meshperf login`"
                    .into(),
            )
        };
        let value = metadata.get("authorization").ok_or_else(missing)?;
        let text = value.to_str().map_err(|_| missing())?.trim();
        let (scheme, given) = text.split_once(' ').ok_or_else(missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") || given.trim().is_empty() {
            return Err(missing());
        }
        if self.token.matches(given) {
            return Ok(self.token_owner.clone());
        }
        match &self.provider {
            Some(provider) if given.trim().split('.').count() == 3 => {
                Ok(provider.verify(given.trim()).await.map_err(ServiceError::from)?.user_id)
            }
            _ => Err(ServiceError::Unauthenticated(
                "wrong token: the bearer token is neither this process's shared token nor a valid login".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_header_no_call() {
        let auth = GrpcAuth::new(Token::new("s3cret").unwrap(), None, "worker");
        let mut md = MetadataMap::new();
        let refused = |r: Result<String, ServiceError>| matches!(r, Err(ServiceError::Unauthenticated(_)));
        assert!(refused(auth.check(&md).await));
        md.insert("authorization", "Bearer nope".parse().unwrap());
        assert!(refused(auth.check(&md).await));
        md.insert("authorization", "Basic s3cret".parse().unwrap());
        assert!(refused(auth.check(&md).await));
        md.insert("authorization", "Bearer ".parse().unwrap());
        assert!(refused(auth.check(&md).await));
        md.insert("authorization", "bearer s3cret".parse().unwrap());
        assert_eq!(auth.check(&md).await.unwrap(), "worker");
    }
}
