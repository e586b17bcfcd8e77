//! Cache of the serialized `GET /token` body for the current `iat` second.

use std::sync::{PoisonError, RwLock};

use axum::body::Bytes;

use crate::routes::TokenResponse;
use crate::token::{TokenError, TokenIssuer};

/// Serialized [`TokenResponse`] of the latest `iat` second, so that each request in that
/// second costs a reference count instead of signing and serializing.
///
/// The token is a function of the secret, the demo claims and `iat` alone, so every
/// request in one second would get the same bytes anyway. A request of another second,
/// later or earlier, signs a new token and replaces the entry.
#[derive(Default)]
pub struct TokenBodyCache {
    latest: RwLock<Option<CachedBody>>,
}

struct CachedBody {
    iat: u64,
    body: Bytes,
}

impl TokenBodyCache {
    /// Returns the body for `iat`, and on a cache miss signs and serializes it into the
    /// cache. Normally only the first request of each second takes the write lock.
    ///
    /// # Errors
    ///
    /// Returns [`TokenError::Signing`] if signing fails. The cache is left unchanged.
    pub fn body(&self, issuer: &TokenIssuer, iat: u64) -> Result<Bytes, TokenError> {
        // A panic while a lock was held cannot leave a half-written entry, because the
        // entry is replaced whole, so a poisoned lock is used as it is.
        let latest = self.latest.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = latest.as_ref().filter(|cached| cached.iat == iat) {
            return Ok(cached.body.clone());
        }
        drop(latest);

        let mut latest = self.latest.write().unwrap_or_else(PoisonError::into_inner);
        // Another request may have stored this second's body while this one waited.
        if let Some(cached) = latest.as_ref().filter(|cached| cached.iat == iat) {
            return Ok(cached.body.clone());
        }
        let body = serialize_body(issuer, iat)?;
        *latest = Some(CachedBody {
            iat,
            body: body.clone(),
        });
        Ok(body)
    }
}

fn serialize_body(issuer: &TokenIssuer, iat: u64) -> Result<Bytes, TokenError> {
    let response = TokenResponse {
        token: issuer.issue(iat)?,
        token_type: "Bearer".to_owned(),
        expires_in: issuer.lifetime().as_secs(),
    };
    let json = serde_json::to_vec(&response)
        .expect("a struct of strings and integers always serializes to JSON");
    Ok(Bytes::from(json))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::Value;

    use super::*;

    const SECRET: &[u8] = b"unit-test-secret-0123456789abcdefghijklmnop";
    const IAT: u64 = 1_796_400_146;

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(SECRET, Duration::from_secs(3600)).expect("SECRET is a valid key")
    }

    /// Reads the `iat` claim of the token in a serialized [`TokenResponse`].
    fn iat_of(body: &Bytes) -> u64 {
        let response: TokenResponse = serde_json::from_slice(body).expect("body is JSON");
        let payload = response
            .token
            .split('.')
            .nth(1)
            .expect("token has a payload");
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap())
            .expect("payload is JSON");
        claims["iat"].as_u64().expect("iat is a whole number")
    }

    #[test]
    fn cache_shares_body_within_second() {
        let (issuer, cache) = (issuer(), TokenBodyCache::default());

        let first = cache.body(&issuer, IAT).unwrap();
        let second = cache.body(&issuer, IAT).unwrap();

        assert_eq!(first, second);
        assert_eq!(
            first.as_ptr(),
            second.as_ptr(),
            "the body was serialized twice"
        );
    }

    #[test]
    fn cache_signs_again_for_other_second() {
        let (issuer, cache) = (issuer(), TokenBodyCache::default());

        let first = cache.body(&issuer, IAT).unwrap();
        let next = cache.body(&issuer, IAT + 1).unwrap();
        // A clock that the operating system sets back gives an earlier second.
        let earlier = cache.body(&issuer, IAT - 5).unwrap();

        assert_eq!(iat_of(&first), IAT);
        assert_eq!(iat_of(&next), IAT + 1);
        assert_eq!(iat_of(&earlier), IAT - 5);
    }

    #[test]
    fn cached_body_matches_uncached_token() {
        let (issuer, cache) = (issuer(), TokenBodyCache::default());

        let body = cache.body(&issuer, IAT).unwrap();

        let response: TokenResponse = serde_json::from_slice(&body).unwrap();
        assert_eq!(response.token, issuer.issue(IAT).unwrap());
        assert_eq!(response.token_type, "Bearer");
        assert_eq!(response.expires_in, 3600);
    }

    #[test]
    fn cache_under_threads_returns_requested_second() {
        let (issuer, cache) = (issuer(), TokenBodyCache::default());

        // Each thread alternates between two seconds, so entries are replaced while
        // other threads read them.
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                let (issuer, cache) = (&issuer, &cache);
                scope.spawn(move || {
                    for round in 0..200u64 {
                        let iat = IAT + (thread + round) % 2;
                        let body = cache.body(issuer, iat).unwrap();
                        assert_eq!(iat_of(&body), iat, "thread {thread}, round {round}");
                    }
                });
            }
        });
    }
}
