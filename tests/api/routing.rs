use reqwest::StatusCode;
use reqwest::header::{ALLOW, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_returns_ok_status() {
    let app = spawn_app().await;

    let response = app.get("/healthz").await;

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "status": "ok" }));
}

#[tokio::test]
async fn unknown_path_returns_json_404() {
    let app = spawn_app().await;

    let response = app.get("/nope?token=abc").await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "error": "not_found", "message": "no route for GET /nope" })
    );
}

#[tokio::test]
async fn wrong_method_returns_json_405_with_allow() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(format!("{}/token", app.base_url))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET,HEAD");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({
            "error": "method_not_allowed",
            "message": "method POST is not allowed for /token"
        })
    );
}

#[tokio::test]
async fn wrong_method_on_healthz_returns_405() {
    let app = spawn_app().await;

    let response = app
        .client
        .delete(format!("{}/healthz", app.base_url))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
}
