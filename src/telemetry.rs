//! Log output through `tracing`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs a text subscriber on stdout that keeps the events `filter` allows. Colors are
/// used only when stdout is a terminal.
///
/// `filter` has been validated by [`crate::config::Config::load`], so parsing it again
/// cannot fail there. An invalid filter from another caller falls back to `info`.
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .init();
}
