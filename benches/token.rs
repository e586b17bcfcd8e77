//! CPU cost of `GET /token` in process, without sockets: making one token, and one
//! request through the whole router next to `GET /healthz`.
//!
//! Run with `cargo bench --bench token`. BENCHMARKS.md records the figures.

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use criterion::{Criterion, criterion_group, criterion_main};
use token_service::config::Config;
use token_service::token::{TokenIssuer, unix_now};
use tower::ServiceExt;

/// 44 bytes, as `openssl rand -base64 32` makes.
const SECRET: &str = "bench-secret-0123456789abcdefghijklmnopqrstuv";

/// Measures making one token as the handler does: the demo claims, then HS256 signing.
fn make_token(c: &mut Criterion) {
    let issuer = TokenIssuer::new(SECRET.as_bytes(), Duration::from_secs(3600))
        .expect("SECRET is a valid key");
    let iat = unix_now();

    c.bench_function("token/issue", |b| {
        b.iter(|| issuer.issue(black_box(iat)).expect("signing failed"))
    });
}

/// Measures one request through the router and every middleware, on a current-thread
/// runtime. Both endpoints pay the same runtime and middleware overhead, so their
/// difference is the cost of the handler.
fn route_request(c: &mut Criterion) {
    let config = Config::with_secret(SECRET).expect("SECRET is a valid secret");
    let app = token_service::app(&config).expect("failed to build the app");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("failed to build a Tokio runtime");

    let mut group = c.benchmark_group("request");
    for path in ["/healthz", "/token"] {
        group.bench_function(path.trim_start_matches('/'), |b| {
            b.iter(|| {
                let request = Request::get(path).body(Body::empty()).unwrap();
                let response = runtime.block_on(app.clone().oneshot(request)).unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                response
            })
        });
    }
    group.finish();
}

criterion_group!(benches, make_token, route_request);
criterion_main!(benches);
