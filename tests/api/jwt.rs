//! JWT pieces built and checked by the test itself, with `base64`, `hmac` and `sha2`
//! directly, so that no check trusts the code under test.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|error| panic!("segment {segment:?} is not base64url: {error}"))
}

/// HMAC-SHA256 of `message` under `secret`, base64url-encoded as in a JWS signature.
pub fn hs256_signature(secret: &[u8], message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(message.as_bytes());
    b64url(&mac.finalize().into_bytes())
}

/// Splits a compact JWT into its header, payload and signature segments.
pub fn segments(token: &str) -> (&str, &str, &str) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a compact JWS has three segments");
    (parts[0], parts[1], parts[2])
}
