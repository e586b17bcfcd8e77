//! CORS: real preflight and cross-origin requests over HTTP, as a browser sends them.

use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, AUTHORIZATION, HeaderMap,
    ORIGIN, VARY,
};
use reqwest::{Method, StatusCode};
use token_service::cors::parse_allowed_origins;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, test_config};

const LISTED: &str = "http://localhost:3000";
const ALSO_LISTED: &str = "https://app.example.com";
const UNLISTED: &str = "https://evil.example";

/// Starts the service with CORS_ALLOWED_ORIGINS set to `origins`.
async fn spawn_app_with_origins(origins: &str) -> TestApp {
    let mut config = test_config();
    config.cors_allowed_origins =
        parse_allowed_origins(origins).expect("the test's origins are valid");
    spawn_app_with(config).await
}

async fn spawn_app_with_two_origins() -> TestApp {
    spawn_app_with_origins(&format!("{LISTED}, {ALSO_LISTED}")).await
}

/// Sends the preflight a browser sends before `GET path` from `origin`, with
/// `Access-Control-Request-Headers` set to `request_headers` unless it is empty.
async fn preflight(
    app: &TestApp,
    path: &str,
    origin: &str,
    request_headers: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .request(Method::OPTIONS, format!("{}{path}", app.base_url))
        .header(ORIGIN, origin)
        .header(ACCESS_CONTROL_REQUEST_METHOD, "GET");
    if !request_headers.is_empty() {
        request = request.header(ACCESS_CONTROL_REQUEST_HEADERS, request_headers);
    }
    request.send().await.expect("OPTIONS request failed")
}

/// Sends `GET path` from `origin`, as `fetch` does from a page on that origin.
async fn get_from(app: &TestApp, path: &str, origin: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.base_url))
        .header(ORIGIN, origin)
        .send()
        .await
        .expect("GET request failed")
}

/// Returns the comma-separated values of header `name`, lower-cased and trimmed.
fn list_of(headers: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().expect("header is ASCII").split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .collect()
}

fn assert_no_cors_headers(headers: &HeaderMap, case: &str) {
    for name in [
        ACCESS_CONTROL_ALLOW_ORIGIN,
        ACCESS_CONTROL_ALLOW_METHODS,
        ACCESS_CONTROL_ALLOW_HEADERS,
        ACCESS_CONTROL_MAX_AGE,
        ACCESS_CONTROL_EXPOSE_HEADERS,
        ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ] {
        assert!(
            !headers.contains_key(&name),
            "{case}: unexpected {name}: {headers:?}"
        );
    }
}

#[tokio::test]
async fn preflight_for_token_from_listed_origin() {
    let app = spawn_app_with_two_origins().await;

    for origin in [LISTED, ALSO_LISTED] {
        let response = preflight(&app, "/token", origin, "").await;

        assert_eq!(response.status(), StatusCode::OK, "{origin}");
        let headers = response.headers();
        assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], origin);
        let methods = list_of(headers, ACCESS_CONTROL_ALLOW_METHODS);
        assert!(methods.contains(&"get".to_owned()), "methods: {methods:?}");
        assert!(
            !methods.contains(&"post".to_owned()),
            "methods: {methods:?}"
        );
        assert_eq!(headers[ACCESS_CONTROL_MAX_AGE], "600");
        assert!(list_of(headers, VARY).contains(&"origin".to_owned()));
        assert!(!headers.contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));
    }
}

#[tokio::test]
async fn preflight_for_protected_allows_authorization() {
    let app = spawn_app_with_two_origins().await;

    let response = preflight(&app, "/protected", LISTED, "authorization").await;

    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], LISTED);
    assert!(list_of(headers, ACCESS_CONTROL_ALLOW_METHODS).contains(&"get".to_owned()));
    let allowed = list_of(headers, ACCESS_CONTROL_ALLOW_HEADERS);
    assert!(
        allowed.contains(&"authorization".to_owned()),
        "allowed headers: {allowed:?}"
    );
}

#[tokio::test]
async fn preflight_from_unlisted_origin_gets_nothing() {
    let app = spawn_app_with_two_origins().await;

    for path in ["/token", "/protected"] {
        let response = preflight(&app, path, UNLISTED, "authorization").await;

        assert_no_cors_headers(response.headers(), path);
    }
}

#[tokio::test]
async fn preflight_to_unknown_path_succeeds() {
    let app = spawn_app_with_two_origins().await;

    let response = preflight(&app, "/nope", LISTED, "").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], LISTED);
}

#[tokio::test]
async fn cross_origin_get_exposes_request_id() {
    let app = spawn_app_with_two_origins().await;

    let response = get_from(&app, "/token", LISTED).await;

    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[ACCESS_CONTROL_ALLOW_ORIGIN], LISTED);
    assert!(headers.contains_key("x-request-id"));
    let exposed = list_of(headers, ACCESS_CONTROL_EXPOSE_HEADERS);
    assert_eq!(exposed, ["x-request-id"]);
}

#[tokio::test]
async fn cross_origin_errors_carry_cors_headers() {
    let app = spawn_app_with_two_origins().await;

    let unauthorized = get_from(&app, "/protected", LISTED).await;
    let not_found = get_from(&app, "/nope", LISTED).await;

    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unauthorized.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], LISTED);
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    assert_eq!(not_found.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], LISTED);
}

#[tokio::test]
async fn cross_origin_get_from_unlisted_origin() {
    let app = spawn_app_with_two_origins().await;

    let response = get_from(&app, "/token", UNLISTED).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_no_cors_headers(response.headers(), "GET /token");
}

#[tokio::test]
async fn wildcard_allows_any_origin_without_credentials() {
    let app = spawn_app_with_origins("*").await;

    let preflight = preflight(&app, "/protected", UNLISTED, "authorization").await;
    let get = app
        .client
        .get(format!("{}/protected", app.base_url))
        .header(ORIGIN, UNLISTED)
        .header(AUTHORIZATION, "Bearer abc")
        .send()
        .await
        .unwrap();

    assert_eq!(preflight.status(), StatusCode::OK);
    assert_eq!(preflight.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(
        !preflight
            .headers()
            .contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS)
    );
    assert_eq!(get.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(!get.headers().contains_key(ACCESS_CONTROL_ALLOW_CREDENTIALS));
}

#[tokio::test]
async fn unset_origins_send_no_cors_headers() {
    let app = spawn_app().await;

    let preflight = preflight(&app, "/protected", LISTED, "authorization").await;
    let get = get_from(&app, "/token", LISTED).await;

    // Without the CORS layer, the router handles OPTIONS like any other method.
    assert_eq!(preflight.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_no_cors_headers(preflight.headers(), "preflight");
    assert_eq!(get.status(), StatusCode::OK);
    assert_no_cors_headers(get.headers(), "GET /token");
    assert!(!get.headers().contains_key(VARY), "{:?}", get.headers());
}
