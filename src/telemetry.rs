//! Log output through `tracing`.

use std::io::IsTerminal;
use std::str::FromStr;

use tracing_subscriber::EnvFilter;

/// Layout of the log lines on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// tracing-subscriber's default text lines, for people.
    #[default]
    Text,
    /// One JSON object per line in tracing-subscriber's `json` layout, for log shippers.
    /// Event fields sit under `fields`, and the request span's fields under `span`.
    Json,
}

impl FromStr for LogFormat {
    type Err = ();

    /// Parses `text` or `json`, the values of LOG_FORMAT.
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(()),
        }
    }
}

/// Installs a subscriber on stdout that writes the events `filter` allows in `format`.
/// Text lines use colors only when stdout is a terminal, and JSON lines never do.
///
/// `filter` has been validated by [`crate::config::Config::load`], so parsing it again
/// cannot fail there. An invalid filter from another caller falls back to `info`.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
}
