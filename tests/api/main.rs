//! Integration tests: the real server on 127.0.0.1:0 called over HTTP, and the compiled
//! binary for start-up errors and signals. One crate, so the tests link once.

mod cors;
mod drain;
mod helpers;
mod jwt;
mod openapi;
mod properties;
mod protected;
mod robustness;
mod routing;
mod settings;
mod shutdown;
mod startup;
mod token;
