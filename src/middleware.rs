//! Middleware that every route shares: request ids, request logs, security headers, the
//! CORS layer that [`crate::cors`] builds when it is set, panic recovery, the request
//! timeout and the body limit.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use axum::middleware::Next;
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::CorsLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::cors::remove_grants_without_origin;
use crate::error::status_error_response;

/// Largest request body accepted. No route reads a body, so anything larger is rejected
/// with 413 before it is buffered.
pub const MAX_BODY_BYTES: usize = 4096;

pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Maximum length of a request id taken from a client. A longer one, or one with characters other
/// than letters, digits and `-._:`, is replaced by a generated UUID, so ids stay short
/// and print the same in responses and logs.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Longest path written to a log line or an error message. Longer paths are cut and end
/// in `...`.
pub const MAX_LOGGED_PATH_LEN: usize = 256;

/// Maximum length of a method name written to a log line or an error message. hyper accepts any
/// token up to the head limit as a method.
pub const MAX_LOGGED_METHOD_LEN: usize = 32;

/// Wraps `router` in the shared middleware, outermost first: request id, request log,
/// `nosniff`, CORS if `cors` is set, JSON error bodies, panic recovery, timeout and body
/// limit.
///
/// `Router::layer` wraps every route and both fallbacks, so the CORS layer responds to a
/// preflight `OPTIONS` before the 404 or 405 handler runs. Error responses of the
/// inner layers, such as 408, still get CORS headers, so scripts can read them.
pub fn apply(router: Router, request_timeout: Duration, cors: Option<CorsLayer>) -> Router {
    let request_log = TraceLayer::new_for_http()
        .make_span_with(make_request_span)
        .on_request(())
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Micros),
        )
        .on_failure(DefaultOnFailure::new().latency_unit(LatencyUnit::Micros));

    // Applied first, so they sit closest to the handlers.
    let inner = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));
    let outer = ServiceBuilder::new()
        .layer(axum::middleware::map_request(drop_unusable_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(request_log)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ));

    // Each `Router::layer` call turns the response body back into `Body`, which
    // `map_response` needs.
    let router = router
        .layer(inner)
        .layer(axum::middleware::map_response(json_error_body))
        .layer(axum::middleware::from_fn(close_after_unread_body));
    let router = match cors {
        Some(cors) => router
            .layer(cors)
            .layer(axum::middleware::map_response(remove_grants_without_origin)),
        None => router,
    };
    router.layer(outer)
}

/// Adds `Connection: close` to the response of a request that has a body. No route
/// reads a body, and hyper closes a connection whose body was not read, so this warns
/// pooled clients in advance instead of letting their next request fail.
async fn close_after_unread_body(request: Request<Body>, next: Next) -> Response<Body> {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");

    let mut response = next.run(request).await;
    if has_body {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Opens the span of one request. It records the path without the query string and
/// no headers but the request id, so a token sent by mistake in a URL or a header does
/// not reach the logs.
fn make_request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %loggable_method(request.method()),
        path = %loggable_path(request.uri().path()),
        request_id,
    )
}

/// Removes a client's `x-request-id` that is too long, repeated or not plain text, so
/// that the next layer generates one.
async fn drop_unusable_request_id(mut request: Request<Body>) -> Request<Body> {
    let headers = request.headers();
    let usable = headers.get_all(&REQUEST_ID).iter().count() == 1
        && headers.get(&REQUEST_ID).is_some_and(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_REQUEST_ID_LEN
                && bytes
                    .iter()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"-._:".contains(byte))
        });
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Returns the method name as logs and error messages show it, cut to
/// [`MAX_LOGGED_METHOD_LEN`].
pub fn loggable_method(method: &Method) -> String {
    shorten(method.as_str(), MAX_LOGGED_METHOD_LEN)
}

/// Returns `path` as logs and error messages show it: each segment that looks like a
/// JWT (it starts with `eyJ`, the base64url of `{"`, and contains a dot) is replaced by
/// `<token>`, and the result is cut to [`MAX_LOGGED_PATH_LEN`]. A token pasted into a
/// URL by mistake then does not reach the logs.
pub fn loggable_path(path: &str) -> String {
    let redacted: Vec<&str> = path
        .split('/')
        .map(|segment| {
            if segment.starts_with("eyJ") && segment.contains('.') {
                "<token>"
            } else {
                segment
            }
        })
        .collect();
    shorten(&redacted.join("/"), MAX_LOGGED_PATH_LEN)
}

/// Returns `text` cut to at most `max_len` bytes at a character boundary, with `...`
/// appended when it was cut.
fn shorten(text: &str, max_len: usize) -> String {
    if text.len() <= max_len {
        return text.to_owned();
    }
    let mut end = max_len;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Gives the JSON error body to error responses that middleware produced as plain text
/// or with no body: 408 from the timeout and 413 from the body limit.
async fn json_error_body(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let replace = matches!(
        status,
        StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE
    ) || (status.is_client_error() || status.is_server_error())
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if !replace {
        return response;
    }

    let mut replacement = status_error_response(status);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement.headers_mut().append(name, value.clone());
        }
    }
    replacement
}

/// Turns a panic in a handler into a 500 with the JSON error body, and logs it.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = message, "handler panicked; responded with 500");
    status_error_response(StatusCode::INTERNAL_SERVER_ERROR)
}
