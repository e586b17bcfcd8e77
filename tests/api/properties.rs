//! Property tests over the real server: arbitrary `Authorization` values and token
//! strings never get a 500 and never stop the server.

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};

use crate::helpers::{TEST_SECRET, TestApp, spawn_app};
use crate::jwt::{b64url, sign_raw};

const CASES: u32 = 400;

/// Runs `strategy` against one server, sending each generated value as the
/// `Authorization` header of `GET /protected`.
fn check_authorization_values(strategy: impl Strategy<Value = HeaderValue>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(spawn_app());
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    });

    let result = runner.run(&strategy, |value| {
        let status = runtime.block_on(call_protected(&app, value.clone()))?;
        // A generated token can be valid, so 200 is allowed next to the two rejections.
        let expected = [
            StatusCode::OK,
            StatusCode::BAD_REQUEST,
            StatusCode::UNAUTHORIZED,
        ];
        prop_assert!(expected.contains(&status), "status {status} for {value:?}");
        Ok(())
    });
    result.unwrap();

    let status = runtime.block_on(async { app.get("/healthz").await.status() });
    assert_eq!(status, StatusCode::OK, "the server stopped serving");
}

async fn call_protected(app: &TestApp, value: HeaderValue) -> Result<StatusCode, TestCaseError> {
    let response = app
        .client
        .get(format!("{}/protected", app.base_url))
        .header(AUTHORIZATION, value)
        .send()
        .await
        .map_err(|error| TestCaseError::fail(format!("request failed: {error}")))?;
    Ok(response.status())
}

/// Any byte string that HTTP allows as a header value.
fn any_header_value() -> impl Strategy<Value = HeaderValue> {
    proptest::collection::vec(any::<u8>(), 0..300)
        .prop_filter_map("not a valid header value", |bytes| {
            HeaderValue::from_bytes(&bytes).ok()
        })
}

/// `Bearer ` followed by text from the token alphabet, dots and `=` included.
fn bearer_with_token_text() -> impl Strategy<Value = HeaderValue> {
    "[A-Za-z0-9._~+/=-]{0,400}".prop_map(|token| {
        HeaderValue::try_from(format!("Bearer {token}")).expect("token text is visible ASCII")
    })
}

/// JSON values of every type, so that `exp` and `nbf` get strings, floats, huge and
/// negative numbers, arrays and null.
fn any_claim_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|number| number.to_string()),
        any::<u64>().prop_map(|number| number.to_string()),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |number| number.is_finite())
            .prop_map(|number| format!("{number:e}")),
        "[a-z0-9]{0,12}".prop_map(|text| format!("\"{text}\"")),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("[1,2]".to_owned()),
        Just("{}".to_owned()),
    ]
}

/// Tokens signed with the right secret, whose claims have arbitrary values, so that
/// they pass the signature check and reach claim validation.
fn signed_token_with_odd_claims() -> impl Strategy<Value = HeaderValue> {
    (any_claim_value(), any_claim_value(), any_claim_value()).prop_map(|(exp, nbf, iat)| {
        let payload = format!(r#"{{"exp":{exp},"nbf":{nbf},"iat":{iat},"subject":"user"}}"#);
        let token = sign_raw(
            r#"{"alg":"HS256","typ":"JWT"}"#,
            &payload,
            TEST_SECRET.as_bytes(),
        );
        HeaderValue::try_from(format!("Bearer {token}")).unwrap()
    })
}

/// Three segments of arbitrary bytes, each base64url-encoded.
fn three_segments_of_random_bytes() -> impl Strategy<Value = HeaderValue> {
    let segment = proptest::collection::vec(any::<u8>(), 0..120);
    (segment.clone(), segment.clone(), segment).prop_map(|(header, payload, signature)| {
        let token = format!(
            "{}.{}.{}",
            b64url(&header),
            b64url(&payload),
            b64url(&signature)
        );
        HeaderValue::try_from(format!("Bearer {token}")).unwrap()
    })
}

#[test]
fn arbitrary_header_values_never_500() {
    check_authorization_values(any_header_value());
}

#[test]
fn arbitrary_token_text_never_500() {
    check_authorization_values(bearer_with_token_text());
}

#[test]
fn signed_odd_claims_never_500() {
    check_authorization_values(signed_token_with_odd_claims());
}

#[test]
fn random_segments_never_500() {
    check_authorization_values(three_segments_of_random_bytes());
}
