//! Slow clients, oversized input, panics and the headers every response carries.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{raw_exchange, spawn_app, spawn_app_with_test_routes, test_config};

#[tokio::test]
async fn slow_headers_close_connection() {
    let mut config = test_config();
    config.limits.header_read_timeout = Duration::from_secs(1);
    let app = spawn_app_with_test_routes(config, Duration::ZERO).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = b"GET /token HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slowloris\r\n\r\n";
    let started = Instant::now();

    // One byte every 200 ms, so the whole head would take about 13 s.
    let mut closed_after = None;
    for byte in request {
        if stream.write_all(&[*byte]).await.is_err() {
            closed_after = Some(started.elapsed());
            break;
        }
        let mut buffer = [0u8; 256];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed_after = Some(started.elapsed());
                break;
            }
            Ok(Ok(_)) | Err(_) => {}
        }
    }

    let closed_after = closed_after.expect("the server kept a slow client open for the whole head");
    assert!(
        closed_after >= Duration::from_millis(900),
        "closed after {closed_after:?}, before the 1 s timeout"
    );
    assert!(
        closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}, long after the 1 s timeout"
    );
}

#[tokio::test]
async fn slow_handler_returns_json_408() {
    let mut config = test_config();
    config.limits.request_timeout = Duration::from_millis(300);
    let app = spawn_app_with_test_routes(config, Duration::from_secs(5)).await;

    let response = raw_exchange(
        app.addr,
        b"GET /slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;

    assert!(
        response.starts_with("HTTP/1.1 408 "),
        "response: {response}"
    );
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "response: {response}"
    );
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body: Value = serde_json::from_str(body).expect("408 body is not JSON");
    assert_eq!(body["error"], "request_timeout");
}

#[tokio::test]
async fn oversized_header_returns_431() {
    let app = spawn_app().await;

    // Just over the 32 KiB head limit, and far over it.
    for size in [33 * 1024, 64 * 1024] {
        let response = app
            .client
            .get(format!("{}/token", app.base_url))
            .header("x-padding", "a".repeat(size))
            .send()
            .await
            .unwrap();

        assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "header of {size} bytes"
        );
    }
}

#[tokio::test]
async fn header_under_limit_is_accepted() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(format!("{}/healthz", app.base_url))
        .header("x-padding", "a".repeat(16 * 1024))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn large_body_returns_json_413() {
    let app = spawn_app().await;

    for (method, path) in [("GET", "/token"), ("POST", "/token"), ("PUT", "/nope")] {
        let response = app
            .client
            .request(method.parse().unwrap(), format!("{}{path}", app.base_url))
            .body(vec![b'x'; 10 * 1024 * 1024])
            .send()
            .await;

        let response = response.unwrap_or_else(|error| panic!("{method} {path}: {error:?}"));
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "payload_too_large", "{method} {path}");
    }
}

#[tokio::test]
async fn large_body_is_rejected_before_reading() {
    let app = spawn_app().await;
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024
    );

    // Only the head is sent: the 413 must come without the server waiting for the body.
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buffer))
        .await
        .expect("no answer within 3 s: the server waits for the body")
        .unwrap();

    let response = String::from_utf8_lossy(&buffer[..read]);
    assert!(
        response.starts_with("HTTP/1.1 413 "),
        "response: {response}"
    );
}

#[tokio::test]
async fn chunked_body_is_not_read() {
    let app = spawn_app().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
        )
        .await
        .unwrap();

    // Send up to 10 MiB in 64 KiB chunks. A server that buffered the body would take it
    // all; this one responds and stops reading, so the writes fail or stall.
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
    let mut sent = 0usize;
    for _ in 0..160 {
        let write = tokio::time::timeout(
            Duration::from_millis(500),
            stream.write_all(chunk.as_bytes()),
        )
        .await;
        match write {
            Ok(Ok(())) => sent += 64 * 1024,
            Ok(Err(_)) | Err(_) => break,
        }
    }

    assert!(
        sent < 10 * 1024 * 1024,
        "the server accepted all {sent} bytes of a body that no route reads"
    );
}

#[tokio::test]
async fn handler_panic_returns_json_500() {
    let app = spawn_app_with_test_routes(test_config(), Duration::ZERO).await;

    let response = app.get("/panic").await;

    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "internal_error");
    let after = app.get("/healthz").await;
    assert_eq!(
        after.status(),
        StatusCode::OK,
        "the server stopped serving after a panic"
    );
}

#[tokio::test]
async fn every_response_has_nosniff() {
    let app = spawn_app().await;

    for path in ["/token", "/healthz", "/protected", "/nope"] {
        let response = app.get(path).await;

        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn request_id_is_generated() {
    let app = spawn_app().await;

    let first = app.get("/healthz").await;
    let second = app.get("/healthz").await;

    let first = first.headers()["x-request-id"].to_str().unwrap().to_owned();
    let second = second.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.len(), 36, "not a UUID: {first}");
    assert_ne!(first, second);
}

#[tokio::test]
async fn request_id_is_taken_from_request() {
    let app = spawn_app().await;

    let response = app
        .client
        .get(format!("{}/nope", app.base_url))
        .header("x-request-id", "client-chosen-id-42")
        .send()
        .await
        .unwrap();

    assert_eq!(response.headers()["x-request-id"], "client-chosen-id-42");
}

#[tokio::test]
async fn unusable_request_id_is_replaced() {
    let app = spawn_app().await;
    let too_long = "a".repeat(129);
    let not_plain = "id with spaces";

    for sent in [too_long.as_str(), not_plain] {
        let response = app
            .client
            .get(format!("{}/healthz", app.base_url))
            .header("x-request-id", sent)
            .send()
            .await
            .unwrap();

        let returned = response.headers()["x-request-id"].to_str().unwrap();
        assert_eq!(
            returned.len(),
            36,
            "{sent:?} was not replaced by a UUID: {returned}"
        );
    }
}

#[tokio::test]
async fn long_path_is_cut_in_404_message() {
    let app = spawn_app().await;
    let path = format!("/{}", "p".repeat(20_000));

    let response = app.get(&path).await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.len() < 300, "message is {} bytes", message.len());
    assert!(message.ends_with("..."), "message: {message}");
}

#[tokio::test]
async fn head_sent_at_once_over_limit_returns_431() {
    let app = spawn_app().await;
    // A head that arrives in one piece is parsed from one read, so this checks the
    // limit itself, not the size of the read buffer.
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(40_000)
    );

    let response = raw_exchange(app.addr, request.as_bytes(), Duration::from_secs(3)).await;

    assert!(
        response.starts_with("HTTP/1.1 431 "),
        "response: {response:.80}"
    );
}

#[tokio::test]
async fn token_in_path_is_redacted() {
    let app = spawn_app().await;
    let token: Value = app.get("/token").await.json().await.unwrap();
    let token = token["token"].as_str().unwrap();

    let response = app.get(&format!("/protected/{token}")).await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "no route for GET /protected/<token>");
}

#[tokio::test]
async fn long_method_is_cut_in_405_message() {
    let app = spawn_app().await;
    let method = "M".repeat(20_000);

    let response = raw_exchange(
        app.addr,
        format!("{method} /token HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .as_bytes(),
        Duration::from_secs(3),
    )
    .await;

    assert!(
        response.starts_with("HTTP/1.1 405 "),
        "response: {response:.80}"
    );
    assert!(
        response.len() < 1_000,
        "response is {} bytes",
        response.len()
    );
}

#[tokio::test]
async fn request_with_body_gets_connection_close() {
    let app = spawn_app().await;

    let response = app
        .client
        .post(format!("{}/token", app.base_url))
        .body("0123456789")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["connection"], "close");
}
