use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use serde_json::Value;

use crate::helpers::{TEST_SECRET, spawn_app, spawn_app_with, test_config, unix_now};
use crate::jwt::{b64url_decode, hs256_signature, segments};

/// Fetches `/token` and returns the response body as JSON.
async fn fetch_token_body(app: &crate::helpers::TestApp) -> Value {
    let response = app.get("/token").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("body is not JSON")
}

fn token_of(body: &Value) -> String {
    body["token"]
        .as_str()
        .expect("body has no string field `token`")
        .to_owned()
}

#[tokio::test]
async fn token_response_is_json_with_no_store() {
    let app = spawn_app().await;

    let response = app.get("/token").await;

    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert_eq!(headers[PRAGMA], "no-cache");
}

#[tokio::test]
async fn token_body_has_bearer_type_and_lifetime() {
    let app = spawn_app().await;

    let body = fetch_token_body(&app).await;

    let fields: Vec<&String> = body
        .as_object()
        .expect("body is an object")
        .keys()
        .collect();
    assert_eq!(fields, ["expires_in", "token", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
}

#[tokio::test]
async fn token_header_is_hs256_jwt() {
    let app = spawn_app().await;
    let token = token_of(&fetch_token_body(&app).await);

    let (header, _, _) = segments(&token);
    let header: Value = serde_json::from_slice(&b64url_decode(header)).unwrap();

    assert_eq!(header["alg"], "HS256");
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header.as_object().unwrap().len(), 2, "header: {header}");
}

#[tokio::test]
async fn token_claims_in_tutorial_order() {
    let app = spawn_app().await;
    let token = token_of(&fetch_token_body(&app).await);

    let (_, payload, _) = segments(&token);
    let payload = String::from_utf8(b64url_decode(payload)).expect("payload is UTF-8");
    let claims: Value = serde_json::from_str(&payload).unwrap();
    let iat = claims["iat"].as_u64().expect("iat is a whole number");
    let exp = claims["exp"].as_u64().expect("exp is a whole number");

    // Comparing the raw text checks the order of the claims and that there are no others.
    let expected = format!(
        r#"{{"subject":"user","username":"cesare","favoriteColor":"blue","iat":{iat},"exp":{exp}}}"#
    );
    assert_eq!(payload, expected);
}

#[tokio::test]
async fn token_times_are_seconds_one_hour_apart() {
    let app = spawn_app().await;
    let before = unix_now();

    let token = token_of(&fetch_token_body(&app).await);

    let after = unix_now();
    let (_, payload, _) = segments(&token);
    let claims: Value = serde_json::from_slice(&b64url_decode(payload)).unwrap();
    let iat = claims["iat"].as_u64().unwrap();
    let exp = claims["exp"].as_u64().unwrap();
    assert!(
        (before..=after).contains(&iat),
        "iat {iat} is not between {before} and {after}: not seconds since the epoch"
    );
    assert_eq!(exp - iat, 3600);
}

#[tokio::test]
async fn token_lifetime_follows_setting() {
    let mut config = test_config();
    config.token_lifetime = std::time::Duration::from_secs(90);
    let app = spawn_app_with(config).await;

    let body = fetch_token_body(&app).await;

    assert_eq!(body["expires_in"], 90);
    let (_, payload, _) = segments(body["token"].as_str().unwrap());
    let claims: Value = serde_json::from_slice(&b64url_decode(payload)).unwrap();
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 90);
}

#[tokio::test]
async fn token_signature_matches_independent_hmac() {
    let app = spawn_app().await;
    let token = token_of(&fetch_token_body(&app).await);

    let (header, payload, signature) = segments(&token);
    let expected = hs256_signature(TEST_SECRET.as_bytes(), &format!("{header}.{payload}"));

    assert_eq!(signature, expected);
}

#[tokio::test]
async fn token_verifies_with_jsonwebtoken() {
    let app = spawn_app().await;
    let token = token_of(&fetch_token_body(&app).await);

    let key = DecodingKey::from_secret(TEST_SECRET.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    let decoded = jsonwebtoken::decode::<Value>(&token, &key, &validation);

    let claims = decoded.expect("jsonwebtoken rejected the token").claims;
    assert_eq!(claims["subject"], "user");
    assert_eq!(claims["username"], "cesare");
    assert_eq!(claims["favoriteColor"], "blue");
}

#[tokio::test]
async fn token_fails_verification_with_other_secret() {
    let app = spawn_app().await;
    let token = token_of(&fetch_token_body(&app).await);

    let key = DecodingKey::from_secret(b"another-secret-of-at-least-32-bytes!").unwrap();
    let decoded = jsonwebtoken::decode::<Value>(&token, &key, &Validation::new(Algorithm::HS256));

    assert!(decoded.is_err(), "a token verified with the wrong secret");
}
