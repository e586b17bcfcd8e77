//! `GET /openapi.json`: the document parses as OpenAPI 3.1, lists every route the router
//! serves, and real responses match the schemas, content types and headers it declares.

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

/// Every route the service serves, as the README's endpoint table lists them.
const SERVED_PATHS: [&str; 4] = ["/healthz", "/openapi.json", "/protected", "/token"];

/// Schema keywords that only annotate and never reject a value.
const ANNOTATIONS: [&str; 6] = [
    "description",
    "example",
    "examples",
    "title",
    "deprecated",
    "default",
];

async fn fetch_document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    response.json().await.expect("the document is not JSON")
}

/// Returns the declared response of `GET path` for `status`.
fn declared_response<'a>(document: &'a Value, path: &str, status: StatusCode) -> &'a Value {
    let operation = &document["paths"][path]["get"];
    assert!(operation.is_object(), "the document has no GET {path}");
    let declared = &operation["responses"][status.as_str()];
    assert!(
        declared.is_object(),
        "GET {path} does not declare status {status}: {}",
        operation["responses"]
    );
    declared
}

/// Checks `response` to `GET path` against the document: its status is declared, every
/// declared header is present, and its JSON body matches the declared schema. Returns
/// the body.
async fn check_response(document: &Value, path: &str, response: reqwest::Response) -> Value {
    let declared = declared_response(document, path, response.status());
    let case = format!("GET {path} {}", response.status());

    if let Some(headers) = declared["headers"].as_object() {
        for name in headers.keys() {
            assert!(
                response.headers().contains_key(name.as_str()),
                "{case}: declared header {name} is missing"
            );
        }
    }
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    let schema = &declared["content"][&content_type]["schema"];
    assert!(
        schema.is_object(),
        "{case}: no schema declared for {content_type}"
    );

    let body: Value = response.json().await.expect("body is not JSON");
    let mut errors = Vec::new();
    check_value(document, schema, &body, "body", &mut errors);
    assert!(errors.is_empty(), "{case}: {errors:#?}\nbody: {body}");
    body
}

/// Checks `value` against the JSON Schema subset that utoipa emits, and records each
/// mismatch in `errors`. Panics on a keyword it does not know, so that a schema it cannot
/// check fails the test and does not pass unchecked.
fn check_value(
    document: &Value,
    schema: &Value,
    value: &Value,
    at: &str,
    errors: &mut Vec<String>,
) {
    let keywords = schema.as_object().expect("a schema is an object");
    for (keyword, rule) in keywords {
        match keyword.as_str() {
            "$ref" => {
                let target = resolve_ref(document, rule.as_str().expect("$ref is a string"));
                check_value(document, target, value, at, errors);
            }
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::Array(types) => types.iter().filter_map(Value::as_str).collect(),
                    _ => vec![rule.as_str().expect("type is a string")],
                };
                if !allowed.iter().any(|name| has_type(value, name)) {
                    errors.push(format!("{at}: expected type {allowed:?}, got {value}"));
                }
            }
            "required" => {
                for name in rule.as_array().expect("required is an array") {
                    let name = name.as_str().unwrap();
                    if value.get(name).is_none() {
                        errors.push(format!("{at}: required property {name} is missing"));
                    }
                }
            }
            "properties" => {
                let properties = rule.as_object().expect("properties is an object");
                for (name, property_schema) in properties {
                    if let Some(property) = value.get(name) {
                        let at = format!("{at}.{name}");
                        check_value(document, property_schema, property, &at, errors);
                    }
                }
            }
            "minimum" => {
                let minimum = rule.as_f64().unwrap();
                if value.as_f64().is_some_and(|number| number < minimum) {
                    errors.push(format!("{at}: {value} is below the minimum {minimum}"));
                }
            }
            "format" => {
                let fits = match rule.as_str().unwrap() {
                    "int64" => !value.is_number() || value.is_i64() || value.is_u64(),
                    "int32" => {
                        !value.is_number()
                            || value.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
                    }
                    other => panic!("{at}: format {other} is not checked by this test"),
                };
                if !fits {
                    errors.push(format!("{at}: {value} does not fit format {rule}"));
                }
            }
            annotation if ANNOTATIONS.contains(&annotation) => {}
            other => panic!("{at}: schema keyword {other} is not checked by this test"),
        }
    }
}

fn resolve_ref<'a>(document: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("{reference} is not a local reference"));
    document
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{reference} does not resolve"))
}

/// Applies the JSON Schema type names, in which `integer` is a number with no fraction.
fn has_type(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        other => panic!("unknown type {other}"),
    }
}

#[tokio::test]
async fn document_is_openapi_31() {
    let app = spawn_app().await;

    let document = fetch_document(&app).await;

    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["info"]["title"], "token-service");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(document["servers"][0]["url"].is_string(), "no server URL");
    let bearer = &document["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
}

#[tokio::test]
async fn document_is_generated_from_the_routes() {
    let app = spawn_app().await;

    let served = fetch_document(&app).await;

    let generated = serde_json::to_value(token_service::routes::openapi_document()).unwrap();
    assert_eq!(served, generated);
}

#[tokio::test]
async fn document_lists_every_served_route() {
    let app = spawn_app().await;

    let document = fetch_document(&app).await;

    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, SERVED_PATHS);
    for path in SERVED_PATHS {
        let methods: Vec<&String> = document["paths"][path]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(methods, ["get"], "{path}");

        // Without a token, every route still responds with a status it declares.
        let response = app.get(path).await;
        let status = response.status();
        assert_ne!(status, StatusCode::NOT_FOUND, "{path} is not served");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{path} has no GET");
        check_response(&document, path, response).await;
    }
}

#[tokio::test]
async fn protected_requires_bearer_scheme() {
    let app = spawn_app().await;

    let document = fetch_document(&app).await;

    let security = &document["paths"]["/protected"]["get"]["security"];
    assert_eq!(security, &serde_json::json!([{ "bearerAuth": [] }]));
    for path in ["/token", "/healthz", "/openapi.json"] {
        let operation = &document["paths"][path]["get"];
        assert!(
            operation.get("security").is_none(),
            "{path} requires a token"
        );
    }
}

#[tokio::test]
async fn token_response_matches_schema() {
    let app = spawn_app().await;
    let document = fetch_document(&app).await;

    let body = check_response(&document, "/token", app.get("/token").await).await;

    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn protected_responses_match_schemas() {
    let app = spawn_app().await;
    let document = fetch_document(&app).await;
    let token_body: Value = app.get("/token").await.json().await.unwrap();
    let token = token_body["token"].as_str().unwrap();
    let cases = [
        (format!("Bearer {token}"), StatusCode::OK),
        (format!("Bearer {token}x"), StatusCode::UNAUTHORIZED),
        ("Bearer ".to_owned(), StatusCode::BAD_REQUEST),
        ("Basic dXNlcjpwYXNz".to_owned(), StatusCode::UNAUTHORIZED),
    ];

    for (authorization, expected) in cases {
        let response = app
            .client
            .get(format!("{}/protected", app.base_url))
            .header(AUTHORIZATION, &authorization)
            .send()
            .await
            .unwrap();

        assert_eq!(response.status(), expected, "{authorization}");
        check_response(&document, "/protected", response).await;
    }
}

#[tokio::test]
async fn routing_errors_match_error_schema() {
    let app = spawn_app().await;
    let document = fetch_document(&app).await;
    let error_schema = serde_json::json!({ "$ref": "#/components/schemas/ErrorBody" });
    let not_found = app.get("/nope").await;
    let wrong_method = app
        .client
        .post(format!("{}/token", app.base_url))
        .send()
        .await
        .unwrap();

    for (response, expected) in [
        (not_found, StatusCode::NOT_FOUND),
        (wrong_method, StatusCode::METHOD_NOT_ALLOWED),
    ] {
        assert_eq!(response.status(), expected);
        let body: Value = response.json().await.unwrap();
        let mut errors = Vec::new();
        check_value(&document, &error_schema, &body, "body", &mut errors);
        assert!(errors.is_empty(), "{expected}: {errors:#?}");
    }
}

#[test]
fn schema_check_rejects_wrong_body() {
    let document = serde_json::to_value(token_service::routes::openapi_document()).unwrap();
    let schema = serde_json::json!({ "$ref": "#/components/schemas/TokenResponse" });
    let body = serde_json::json!({ "token": 1, "expires_in": -5 });

    let mut errors = Vec::new();
    check_value(&document, &schema, &body, "body", &mut errors);

    assert_eq!(errors.len(), 3, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|error| error.contains("body.token: expected type"))
    );
    assert!(
        errors
            .iter()
            .any(|error| error.contains("token_type is missing"))
    );
    assert!(
        errors
            .iter()
            .any(|error| error.contains("below the minimum"))
    );
}
