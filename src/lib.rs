//! `token-service` issues HS256 JSON Web Tokens over HTTP.
//!
//! Components, in the order a request meets them:
//!
//! - [`server`]: listening sockets, hyper's HTTP/1 connections with a header-read
//!   timeout and a head-size limit, and graceful shutdown on SIGINT or SIGTERM.
//! - [`middleware`]: request ids, one log line per request, security headers, panic
//!   recovery, the request timeout and the body limit.
//! - [`cors`]: CORS headers and preflight responses for the origins in
//!   CORS_ALLOWED_ORIGINS.
//! - [`routes`]: the endpoints, and JSON errors for unknown paths and methods.
//! - [`openapi`]: the OpenAPI 3.1 document at `GET /openapi.json`, generated from the
//!   routes and the response types.
//! - [`bearer`]: reading the token from the `Authorization` header.
//! - [`token`]: the demo claims and HS256 signing.
//! - [`token_cache`]: the serialized `/token` body of the current second.
//! - [`verify`]: HS256 verification of bearer tokens.
//! - [`error`]: the JSON error body that every error response uses.
//! - [`config`]: settings from flags, the environment and `.env`, validated at start-up,
//!   with [`duration`] for values such as `1h` and [`secret`] for the key's rules.
//! - [`secret`]: reading the HMAC key from `JWT_SECRET` or `JWT_SECRET_FILE`.
//! - [`telemetry`]: the tracing subscriber.

pub mod bearer;
pub mod config;
pub mod cors;
pub mod duration;
pub mod error;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod secret;
pub mod server;
pub mod telemetry;
pub mod token;
pub mod token_cache;
pub mod verify;

use std::sync::Arc;

use axum::Router;

use crate::config::Config;
use crate::server::{BindError, ShutdownSignals};
use crate::token::{TokenError, TokenIssuer};
use crate::token_cache::TokenBodyCache;
use crate::verify::TokenVerifier;

/// State shared by every request.
pub struct AppState {
    pub issuer: TokenIssuer,
    pub verifier: TokenVerifier,
    /// Serialized `GET /token` body of the current second, shared by its requests.
    pub token_bodies: TokenBodyCache,
}

impl AppState {
    /// Builds the signing and verification keys once, so no request pays for them.
    ///
    /// # Errors
    ///
    /// Returns [`TokenError::Key`] if the key cannot be built from the secret.
    pub fn new(config: &Config) -> Result<Self, TokenError> {
        Ok(Self {
            issuer: TokenIssuer::new(config.secret_bytes(), config.token_lifetime)?,
            verifier: TokenVerifier::new(config.secret_bytes(), config.leeway)?,
            token_bodies: TokenBodyCache::default(),
        })
    }
}

/// Builds the complete application: every route wrapped in the shared middleware.
///
/// # Errors
///
/// Returns [`TokenError::Key`] if the signing key cannot be built from the secret.
pub fn app(config: &Config) -> Result<Router, TokenError> {
    let state = Arc::new(AppState::new(config)?);
    let cors = config.cors_allowed_origins.as_ref().map(cors::cors_layer);
    Ok(middleware::apply(
        routes::router(state),
        config.limits.request_timeout,
        cors,
    ))
}

/// Failure that stops the server before it serves.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("failed to install the SIGINT and SIGTERM handlers: {0}")]
    Signals(#[source] std::io::Error),
}

/// Runs the service as the binary does: binds, serves, and returns after SIGINT or
/// SIGTERM once open requests have finished.
///
/// # Errors
///
/// Returns a [`RunError`] if the key, the signal handlers or a socket cannot be set up.
pub async fn run(config: Config) -> Result<(), RunError> {
    let signals = ShutdownSignals::register().map_err(RunError::Signals)?;
    let router = app(&config)?;
    let listeners = server::bind(config.host, config.port).await?;

    tracing::info!(
        token_lifetime_secs = config.token_lifetime.as_secs(),
        leeway_secs = config.leeway.as_secs(),
        "starting token-service"
    );
    let shutdown = signals.graceful_then_forced();
    server::serve(listeners, router, config.limits, shutdown).await;
    Ok(())
}
