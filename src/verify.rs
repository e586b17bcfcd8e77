//! Verification of bearer tokens: HS256 only, with the service's own secret.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::token::TokenError;

/// Reason a token failed verification. Each message names the check that failed, never
/// any part of the token, and contains no `"` or `\\`, so it fits in a quoted string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token algorithm is not allowed, only HS256 is")]
    AlgorithmNotAllowed,
    #[error("the token signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf is in the future)")]
    NotYetValid,
    #[error("the token has no exp claim")]
    MissingExp,
    #[error("the token exp claim is not a time in seconds since the epoch")]
    InvalidExp,
    #[error("the token nbf claim is not a time in seconds since the epoch")]
    InvalidNbf,
    #[error("the token has a claim name more than once")]
    DuplicateClaim,
}

/// Checks tokens against one HS256 key, built once at start-up.
pub struct TokenVerifier {
    key: DecodingKey,
    validation: Validation,
    leeway: Duration,
}

#[derive(Deserialize)]
struct AlgorithmOnly {
    alg: String,
}

impl TokenVerifier {
    /// Builds a verifier whose HMAC key is `secret` byte for byte, and which allows
    /// `leeway` of clock skew on `exp` and `nbf`.
    ///
    /// # Errors
    ///
    /// Returns [`TokenError::Key`] if `secret` is empty.
    pub fn new(secret: &[u8], leeway: Duration) -> Result<Self, TokenError> {
        let key = DecodingKey::from_secret(secret).map_err(TokenError::Key)?;

        // Every field that jsonwebtoken defaults differently from what this service
        // needs is set here: its leeway is 60 s, nbf is off and aud is on by default.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.required_spec_claims = HashSet::from(["exp".to_owned()]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = leeway.as_secs();

        Ok(Self {
            key,
            validation,
            leeway,
        })
    }

    /// Verifies `token` at time `now`, measured from the Unix epoch, and returns its
    /// claims as the exact JSON text that was signed.
    ///
    /// # Errors
    ///
    /// Returns the [`VerifyError`] of the first check that fails.
    pub fn verify(&self, token: &str, now: Duration) -> Result<Box<RawValue>, VerifyError> {
        // The algorithm is read before jsonwebtoken runs, because jsonwebtoken reports
        // an unknown name such as "none" as a JSON error, not as a disallowed algorithm.
        check_algorithm(token)?;

        let decoded = jsonwebtoken::decode::<Box<RawValue>>(token, &self.key, &self.validation)
            .map_err(|error| match classify(error.kind()) {
                // jsonwebtoken reports an exp that is not a number as missing. Its
                // signature has been checked by then, so reading the payload is safe.
                VerifyError::MissingExp if payload_has_exp(token) => VerifyError::InvalidExp,
                other => other,
            })?;
        let claims = decoded.claims;

        // jsonwebtoken would also accept a JSON array here, and it accepts exp == now,
        // which RFC 7519 section 4.1.4 rejects: the current time must be before exp.
        let object: ClaimsObject =
            serde_json::from_str(claims.get()).map_err(|_| VerifyError::Malformed)?;
        // RFC 7519 section 4 lets a parser reject duplicate claim names. Rejecting them
        // keeps the claims returned, which are the signed text, free of ambiguity.
        if object.has_duplicate_name {
            return Err(VerifyError::DuplicateClaim);
        }

        // RFC 7519 allows a fractional NumericDate, and jsonwebtoken compares whole
        // seconds, so exp is compared here as a float against the precise time.
        let exp = object
            .claims
            .get("exp")
            .and_then(Value::as_f64)
            .ok_or(VerifyError::InvalidExp)?;
        if exp + self.leeway.as_secs_f64() <= now.as_secs_f64() {
            return Err(VerifyError::Expired);
        }
        Ok(claims)
    }
}

/// The claims as a JSON object, and whether a name appeared twice, which
/// `serde_json::Map` alone would hide by keeping the last value. Anything but an object
/// fails to parse.
struct ClaimsObject {
    claims: Map<String, Value>,
    has_duplicate_name: bool,
}

impl<'de> Deserialize<'de> for ClaimsObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = ClaimsObject;

            fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
                formatter.write_str("a JSON object of claims")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut entries: A,
            ) -> Result<ClaimsObject, A::Error> {
                let mut claims = Map::new();
                let mut has_duplicate_name = false;
                while let Some((name, value)) = entries.next_entry::<String, Value>()? {
                    has_duplicate_name |= claims.insert(name, value).is_some();
                }
                Ok(ClaimsObject {
                    claims,
                    has_duplicate_name,
                })
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

fn check_algorithm(token: &str) -> Result<(), VerifyError> {
    let mut segments = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(VerifyError::Malformed);
    };

    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed)?;
    let header: AlgorithmOnly =
        serde_json::from_slice(&header).map_err(|_| VerifyError::Malformed)?;
    if header.alg != "HS256" {
        return Err(VerifyError::AlgorithmNotAllowed);
    }
    Ok(())
}

fn payload_has_exp(token: &str) -> bool {
    let Some(payload) = token.split('.').nth(1) else {
        return false;
    };
    let Ok(payload) = URL_SAFE_NO_PAD.decode(payload) else {
        return false;
    };
    serde_json::from_slice::<Map<String, Value>>(&payload)
        .is_ok_and(|claims| claims.contains_key("exp"))
}

fn classify(kind: &ErrorKind) -> VerifyError {
    match kind {
        ErrorKind::InvalidSignature => VerifyError::BadSignature,
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            VerifyError::AlgorithmNotAllowed
        }
        ErrorKind::MissingRequiredClaim(claim) if claim == "exp" => VerifyError::MissingExp,
        ErrorKind::InvalidClaimFormat(claim) if claim == "exp" => VerifyError::InvalidExp,
        ErrorKind::InvalidClaimFormat(claim) if claim == "nbf" => VerifyError::InvalidNbf,
        _ => VerifyError::Malformed,
    }
}
