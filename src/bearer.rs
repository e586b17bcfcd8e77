//! Reading a bearer token from the `Authorization` header, as RFC 6750 section 2.1
//! defines it: `Bearer 1*SP b64token`.
//!
//! NOTE: headers 0.4's `Authorization<Bearer>` reads only the first of two headers and
//! accepts `tok extra` as one token, so this module parses the header itself.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// Reason a request has no usable bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No `Authorization` header. Its challenge has no error code, as RFC 6750 section 3.1
    /// advises.
    #[error(
        "this route requires the header `Authorization: Bearer <token>` with a token from GET /token"
    )]
    Missing,
    /// An `Authorization` header with another scheme, such as Basic. Handled like
    /// [`BearerError::Missing`].
    #[error(
        "the Authorization header does not use the Bearer scheme: send `Authorization: Bearer <token>`"
    )]
    OtherScheme,
    /// A Bearer header that cannot be parsed: an `invalid_request` in RFC 6750 terms.
    #[error("{0}")]
    Malformed(&'static str),
}

/// Returns the token of the request's one `Authorization: Bearer` header. The scheme
/// name is matched case-insensitively, as RFC 7235 section 2.1 requires.
///
/// # Errors
///
/// Returns a [`BearerError`] when the header is missing, uses another scheme, appears
/// more than once, or contains no token or a token with characters outside b64token.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::Malformed(
            "the request has more than one Authorization header",
        ));
    }

    let Ok(value) = value.to_str() else {
        return Err(BearerError::Malformed(
            "the Authorization header contains bytes that are not visible ASCII",
        ));
    };
    if value.is_empty() {
        return Err(BearerError::Malformed(
            "the Authorization header is empty: send `Authorization: Bearer <token>`",
        ));
    }
    let (scheme, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::OtherScheme);
    }
    // RFC 7235 separates the scheme from the credentials with spaces only.
    if value.as_bytes().get(scheme.len()) == Some(&b'\t') {
        return Err(BearerError::Malformed(
            "the Authorization header separates Bearer from the token with a tab: use a space",
        ));
    }

    // RFC 6750 allows one or more spaces between the scheme and the token.
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(BearerError::Malformed(
            "the Authorization header has the Bearer scheme but no token",
        ));
    }
    if token.contains([' ', '\t']) {
        return Err(BearerError::Malformed(
            "the bearer token contains whitespace: send the token alone after `Bearer `",
        ));
    }
    if !is_b64token(token) {
        return Err(BearerError::Malformed(
            "the bearer token contains characters that a JWT cannot contain",
        ));
    }
    Ok(token)
}

/// Checks the b64token grammar of RFC 6750 section 2.1: letters, digits and `-._~+/`,
/// then any number of `=`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte))
}
