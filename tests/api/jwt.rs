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

/// HMAC of `message` under `secret` with the hash that `alg` (HS256, HS384 or HS512)
/// names, base64url-encoded.
pub fn hmac_signature(alg: &str, secret: &[u8], message: &str) -> String {
    fn mac<D>(secret: &[u8], message: &str) -> String
    where
        Hmac<D>: KeyInit + Mac,
        D: hmac::EagerHash,
    {
        let mut mac = <Hmac<D> as KeyInit>::new_from_slice(secret).expect("any key length");
        mac.update(message.as_bytes());
        b64url(&mac.finalize().into_bytes())
    }
    match alg {
        "HS256" => mac::<Sha256>(secret, message),
        "HS384" => mac::<sha2::Sha384>(secret, message),
        "HS512" => mac::<sha2::Sha512>(secret, message),
        _ => panic!("no HMAC for {alg}"),
    }
}

/// Builds a compact JWT from raw JSON text, signed with the HMAC that `alg` names.
pub fn sign_raw_with(alg: &str, header: &str, payload: &str, secret: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes())
    );
    let signature = hmac_signature(alg, secret, &message);
    format!("{message}.{signature}")
}

/// Builds a compact HS256 JWT from raw JSON text.
pub fn sign_raw(header: &str, payload: &str, secret: &[u8]) -> String {
    sign_raw_with("HS256", header, payload, secret)
}
