//! `GET /protected`: every class of bad token and bad header, with tokens built by the
//! test itself.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::Value;

use crate::helpers::{TEST_SECRET, TestApp, spawn_app, spawn_app_with, test_config, unix_now};
use crate::jwt::{b64url, b64url_decode, segments, sign_raw, sign_raw_with};

const HS256_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const BARE_CHALLENGE: &str = r#"Bearer realm="token-service""#;

fn precise_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock is after 1970")
        .as_secs_f64()
}

fn claims_expiring_at(exp: u64) -> String {
    format!(
        r#"{{"subject":"user","username":"cesare","iat":{},"exp":{exp}}}"#,
        exp - 60
    )
}

fn valid_payload() -> String {
    claims_expiring_at(unix_now() + 600)
}

async fn fetch_token(app: &TestApp) -> String {
    let body: Value = app.get("/token").await.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

/// Calls `/protected` with each value in `authorization` as one `Authorization` header.
async fn call_protected(app: &TestApp, authorization: &[&str]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}/protected", app.base_url));
    for value in authorization {
        request = request.header(AUTHORIZATION, *value);
    }
    request.send().await.expect("GET /protected failed")
}

/// What a response must contain: status, `WWW-Authenticate` and the JSON `error` code.
struct Expected {
    status: StatusCode,
    challenge: Option<&'static str>,
    error: &'static str,
}

fn invalid_token(description: &'static str) -> Expected {
    Expected {
        status: StatusCode::UNAUTHORIZED,
        challenge: Some(description),
        error: "invalid_token",
    }
}

fn invalid_request() -> Expected {
    Expected {
        status: StatusCode::BAD_REQUEST,
        challenge: None,
        error: "invalid_request",
    }
}

fn unauthorized() -> Expected {
    Expected {
        status: StatusCode::UNAUTHORIZED,
        challenge: None,
        error: "unauthorized",
    }
}

/// Checks one rejected request. `secret_text` is the token or header value that must not
/// come back in the response.
async fn assert_rejected(
    case: &str,
    response: reqwest::Response,
    expected: &Expected,
    secret_text: &str,
) {
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned());
    let headers_text = format!("{:?}", response.headers());
    let body_text = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&body_text)
        .unwrap_or_else(|_| panic!("{case}: body is not JSON: {body_text}"));

    assert_eq!(status, expected.status, "{case}: status, body {body_text}");
    assert_eq!(body["error"], expected.error, "{case}: JSON error");
    let challenge = challenge.unwrap_or_else(|| panic!("{case}: no WWW-Authenticate"));
    match (expected.status, expected.challenge) {
        (StatusCode::BAD_REQUEST, _) => assert!(
            challenge.starts_with(
                r#"Bearer realm="token-service", error="invalid_request", error_description=""#
            ),
            "{case}: challenge {challenge}"
        ),
        (_, None) => assert_eq!(challenge, BARE_CHALLENGE, "{case}: challenge"),
        (_, Some(description)) => assert_eq!(
            challenge,
            format!(
                r#"Bearer realm="token-service", error="invalid_token", error_description="{description}""#
            ),
            "{case}: challenge"
        ),
    }
    if secret_text.len() > 8 {
        assert!(
            !body_text.contains(secret_text),
            "{case}: body repeats the token"
        );
        assert!(
            !headers_text.contains(secret_text),
            "{case}: headers repeat the token"
        );
    }
}

#[tokio::test]
async fn protected_accepts_token_from_token_route() {
    let app = spawn_app().await;
    let token = fetch_token(&app).await;

    let response = call_protected(&app, &[&format!("Bearer {token}")]).await;

    assert_eq!(response.status(), StatusCode::OK);
    let (_, payload, _) = segments(&token);
    let signed_claims = String::from_utf8(b64url_decode(payload)).unwrap();
    let body = response.text().await.unwrap();
    assert_eq!(body, format!(r#"{{"claims":{signed_claims}}}"#));
}

#[tokio::test]
async fn protected_accepts_independently_signed_token() {
    let app = spawn_app().await;
    let payload = valid_payload();
    let token = sign_raw(HS256_HEADER, &payload, TEST_SECRET.as_bytes());

    let response = call_protected(&app, &[&format!("Bearer {token}")]).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.text().await.unwrap(),
        format!(r#"{{"claims":{payload}}}"#)
    );
}

#[tokio::test]
async fn protected_accepts_scheme_in_any_case() {
    let app = spawn_app().await;
    let token = fetch_token(&app).await;

    for scheme in ["bearer", "BEARER", "BeArEr"] {
        let response = call_protected(&app, &[&format!("{scheme} {token}")]).await;

        assert_eq!(response.status(), StatusCode::OK, "scheme {scheme}");
    }
}

#[tokio::test]
async fn protected_accepts_two_spaces_after_scheme() {
    // RFC 6750 section 2.1 writes the credentials as `"Bearer" 1*SP b64token`.
    let app = spawn_app().await;
    let token = fetch_token(&app).await;

    let response = call_protected(&app, &[&format!("Bearer  {token}")]).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn protected_rejects_each_bad_token() {
    let app = spawn_app().await;
    let secret = TEST_SECRET.as_bytes();
    let now = unix_now();
    let valid = sign_raw(HS256_HEADER, &valid_payload(), secret);
    let (valid_header, valid_body, valid_signature) = segments(&valid);

    let tampered_payload = b64url(
        claims_expiring_at(now + 600)
            .replace("cesare", "admin")
            .as_bytes(),
    );
    let sixteen_kib = format!(
        "{valid_header}.{}.{valid_signature}",
        b64url(&vec![b'a'; 16 * 1024])
    );

    let cases: Vec<(&str, String, Expected)> = vec![
        (
            "alg none, empty signature",
            format!("{}.{valid_body}.", b64url(br#"{"alg":"none","typ":"JWT"}"#)),
            invalid_token("the token algorithm is not allowed, only HS256 is"),
        ),
        (
            "alg HS512, same secret",
            sign_raw_with(
                "HS512",
                r#"{"alg":"HS512","typ":"JWT"}"#,
                &valid_payload(),
                secret,
            ),
            invalid_token("the token algorithm is not allowed, only HS256 is"),
        ),
        (
            "alg HS384, same secret",
            sign_raw_with(
                "HS384",
                r#"{"alg":"HS384","typ":"JWT"}"#,
                &valid_payload(),
                secret,
            ),
            invalid_token("the token algorithm is not allowed, only HS256 is"),
        ),
        (
            "alg RS256 over an HMAC signature",
            sign_raw(r#"{"alg":"RS256","typ":"JWT"}"#, &valid_payload(), secret),
            invalid_token("the token algorithm is not allowed, only HS256 is"),
        ),
        (
            "payload changed after signing",
            format!("{valid_header}.{tampered_payload}.{valid_signature}"),
            invalid_token("the token signature is invalid"),
        ),
        (
            "signature of another secret",
            sign_raw(
                HS256_HEADER,
                &valid_payload(),
                b"another-secret-of-at-least-32-bytes!",
            ),
            invalid_token("the token signature is invalid"),
        ),
        (
            "signature removed",
            format!("{valid_header}.{valid_body}."),
            invalid_token("the token signature is invalid"),
        ),
        (
            "exp one second in the past",
            sign_raw(HS256_HEADER, &claims_expiring_at(now - 1), secret),
            invalid_token("the token has expired"),
        ),
        (
            "exp equal to now",
            sign_raw(HS256_HEADER, &claims_expiring_at(now), secret),
            invalid_token("the token has expired"),
        ),
        (
            "exp missing",
            sign_raw(HS256_HEADER, r#"{"subject":"user"}"#, secret),
            invalid_token("the token has no exp claim"),
        ),
        (
            "nbf in the future",
            sign_raw(
                HS256_HEADER,
                &format!(
                    r#"{{"subject":"user","nbf":{},"exp":{}}}"#,
                    now + 60,
                    now + 600
                ),
                secret,
            ),
            invalid_token("the token is not valid yet (nbf is in the future)"),
        ),
        (
            "exp as a string",
            sign_raw(
                HS256_HEADER,
                &format!(r#"{{"subject":"user","exp":"{}"}}"#, now + 600),
                secret,
            ),
            invalid_token("the token exp claim is not a time in seconds since the epoch"),
        ),
        (
            "exp negative",
            sign_raw(HS256_HEADER, r#"{"subject":"user","exp":-1}"#, secret),
            invalid_token("the token exp claim is not a time in seconds since the epoch"),
        ),
        (
            "fractional exp half a second ago",
            sign_raw(
                HS256_HEADER,
                &format!(r#"{{"subject":"user","exp":{}}}"#, precise_now() - 0.5),
                secret,
            ),
            invalid_token("the token has expired"),
        ),
        (
            "claim name twice",
            sign_raw(
                HS256_HEADER,
                &format!(r#"{{"role":"user","exp":{},"role":"admin"}}"#, now + 600),
                secret,
            ),
            invalid_token("the token has a claim name more than once"),
        ),
        (
            "claims are a JSON array",
            sign_raw(HS256_HEADER, &format!("[{}]", now + 600), secret),
            invalid_token("the token is malformed"),
        ),
        (
            "two segments",
            format!("{valid_header}.{valid_body}"),
            invalid_token("the token is malformed"),
        ),
        (
            "four segments",
            format!("{valid}.{valid_signature}"),
            invalid_token("the token is malformed"),
        ),
        (
            "invalid base64url",
            "ab+c.de/f.gh+i".to_owned(),
            invalid_token("the token is malformed"),
        ),
        (
            "invalid JSON in the header",
            format!("{}.{valid_body}.{valid_signature}", b64url(b"{\"alg\":")),
            invalid_token("the token is malformed"),
        ),
        (
            "invalid JSON in the payload",
            sign_raw(HS256_HEADER, "{\"exp\":", secret),
            invalid_token("the token is malformed"),
        ),
        (
            "16 KiB token",
            sixteen_kib,
            invalid_token("the token signature is invalid"),
        ),
    ];

    for (case, token, expected) in cases {
        let response = call_protected(&app, &[&format!("Bearer {token}")]).await;

        assert_rejected(case, response, &expected, &token).await;
    }
}

#[tokio::test]
async fn protected_rejects_each_bad_header() {
    let app = spawn_app().await;
    let token = fetch_token(&app).await;
    let bearer = format!("Bearer {token}");

    let cases: Vec<(&str, Vec<String>, Expected)> = vec![
        ("no Authorization header", vec![], unauthorized()),
        (
            "Basic scheme",
            vec!["Basic dXNlcjpwYXNzd29yZA==".to_owned()],
            unauthorized(),
        ),
        (
            "Bearer with nothing after it",
            vec!["Bearer".to_owned()],
            invalid_request(),
        ),
        (
            "Bearer and a space",
            vec!["Bearer ".to_owned()],
            invalid_request(),
        ),
        ("empty header", vec![String::new()], invalid_request()),
        (
            "tab after Bearer",
            vec![format!("Bearer\t{token}")],
            invalid_request(),
        ),
        (
            "token with a space",
            vec![format!("Bearer {token} extra")],
            invalid_request(),
        ),
        (
            "token with characters outside b64token",
            vec![format!("Bearer {token}\"")],
            invalid_request(),
        ),
        (
            "two Authorization headers",
            vec![bearer.clone(), bearer.clone()],
            invalid_request(),
        ),
    ];

    for (case, values, expected) in cases {
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let response = call_protected(&app, &values).await;

        assert_rejected(case, response, &expected, &token).await;
    }
}

#[tokio::test]
async fn protected_applies_configured_leeway() {
    let mut config = test_config();
    config.leeway = Duration::from_secs(30);
    let app = spawn_app_with(config).await;
    let token = sign_raw(
        HS256_HEADER,
        &claims_expiring_at(unix_now() - 5),
        TEST_SECRET.as_bytes(),
    );

    let response = call_protected(&app, &[&format!("Bearer {token}")]).await;

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_expires_after_its_lifetime() {
    let mut config = test_config();
    config.token_lifetime = Duration::from_secs(1);
    let app = spawn_app_with(config).await;

    // Start just after a second boundary, so that issuing and the first check fall in
    // the same second as `iat` and the one-second token is still valid.
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let to_next_second =
        Duration::from_secs(1) - Duration::from_nanos(since_epoch.subsec_nanos().into());
    tokio::time::sleep(to_next_second + Duration::from_millis(20)).await;
    let token = fetch_token(&app).await;

    let fresh = call_protected(&app, &[&format!("Bearer {token}")]).await;
    assert_eq!(fresh.status(), StatusCode::OK, "a fresh token was rejected");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let stale = call_protected(&app, &[&format!("Bearer {token}")]).await;
    assert_rejected(
        "after 2 s",
        stale,
        &invalid_token("the token has expired"),
        &token,
    )
    .await;
}
