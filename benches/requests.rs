//! Sends `COUNT` requests for `PATH` through the router and every middleware in process,
//! with no sockets, and exits. benches/instructions.sh runs it under callgrind to count
//! the instructions that one request costs.
//!
//! Usage: `cargo run --release --example requests -- PATH COUNT`

use std::process::ExitCode;

use axum::body::Body;
use axum::http::Request;
use token_service::config::Config;
use tower::ServiceExt;

/// 44 bytes, as `openssl rand -base64 32` makes.
const SECRET: &str = "bench-secret-0123456789abcdefghijklmnopqrstuv";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, count) = match args.as_slice() {
        [path, count] => match count.parse::<u64>() {
            Ok(count) => (path.as_str(), count),
            Err(_) => return usage_error(&format!("invalid COUNT {count:?}")),
        },
        _ => return usage_error("expected two arguments"),
    };

    let config = Config::with_secret(SECRET).expect("SECRET is a valid secret");
    let app = token_service::app(&config).expect("failed to build the app");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("failed to build a Tokio runtime");

    for _ in 0..count {
        let Ok(request) = Request::get(path).body(Body::empty()) else {
            return usage_error(&format!("invalid PATH {path:?}"));
        };
        let response = runtime
            .block_on(app.clone().oneshot(request))
            .expect("the router is infallible");
        if !response.status().is_success() {
            eprintln!("error: GET {path} returned {}", response.status());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn usage_error(problem: &str) -> ExitCode {
    eprintln!("error: {problem}. Usage: requests PATH COUNT, such as `requests /token 1000`.");
    ExitCode::FAILURE
}
