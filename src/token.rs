//! Claims of the demo token and HS256 signing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// Claims of every token that `GET /token` issues, in this order, with the payload names
/// of the Express tutorial that the service mirrors. `subject` is a custom claim, not the
/// registered `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub subject: String,
    pub username: String,
    pub favorite_color: String,
    /// Issue time in whole seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry time in whole seconds since the Unix epoch: `iat` plus the token lifetime.
    pub exp: u64,
}

impl Claims {
    /// Builds the demo claims issued at `iat` and valid for `lifetime`.
    pub fn demo(iat: u64, lifetime: Duration) -> Self {
        Self {
            subject: "user".to_owned(),
            username: "cesare".to_owned(),
            favorite_color: "blue".to_owned(),
            iat,
            exp: iat.saturating_add(lifetime.as_secs()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("failed to create an HS256 signing key: {0}")]
    Key(#[source] jsonwebtoken::errors::Error),
    #[error("failed to sign a token with HS256: {0}")]
    Signing(#[source] jsonwebtoken::errors::Error),
}

/// Signs demo tokens with one HS256 key, built once at start-up.
pub struct TokenIssuer {
    key: EncodingKey,
    header: Header,
    lifetime: Duration,
}

impl TokenIssuer {
    /// Builds an issuer whose HMAC key is `secret` byte for byte.
    ///
    /// # Errors
    ///
    /// Returns [`TokenError::Key`] if `secret` is empty.
    pub fn new(secret: &[u8], lifetime: Duration) -> Result<Self, TokenError> {
        let key = EncodingKey::from_secret(secret).map_err(TokenError::Key)?;
        Ok(Self {
            key,
            header: Header::new(Algorithm::HS256),
            lifetime,
        })
    }

    /// Time from `iat` to `exp` of each token.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Signs the demo claims issued at `iat` and returns the token in compact form.
    ///
    /// # Errors
    ///
    /// Returns [`TokenError::Signing`] if `jsonwebtoken::encode` fails.
    pub fn issue(&self, iat: u64) -> Result<String, TokenError> {
        let claims = Claims::demo(iat, self.lifetime);
        jsonwebtoken::encode(&self.header, &claims, &self.key).map_err(TokenError::Signing)
    }
}

/// Current time in whole seconds since the Unix epoch, or 0 if the clock is set before it.
pub fn unix_now() -> u64 {
    since_unix_epoch().as_secs()
}

/// Time elapsed since the Unix epoch, or zero if the clock is set before it.
pub fn since_unix_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}
