//! Settings read once at start-up from flags, the environment and an optional `.env` file.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use secrecy::{ExposeSecret, SecretString};
use tracing_subscriber::EnvFilter;

use crate::cors::{AllowedOrigins, CorsOriginError, parse_allowed_origins};
use crate::duration::{DurationError, parse_duration};
use crate::secret::{
    SecretFileProblem, read_secret_from_env, read_secret_from_file, validate_secret,
};
use crate::telemetry::LogFormat;

/// Minimum HS256 key length in bytes: RFC 7518 section 3.2 requires a key of at least
/// the hash output size, 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;

/// Maximum token lifetime, ten years, so that `exp` stays a plausible date.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// Largest clock skew accepted for `exp` and `nbf`, one day. It also keeps jsonwebtoken's
/// `now - leeway` from underflowing.
pub const MAX_LEEWAY: Duration = Duration::from_secs(24 * 60 * 60);

const ABOUT: &str =
    "Issues HS256 JSON Web Tokens at GET /token and verifies them at GET /protected.";

const SECRET_HELP: &str = "\
Secret, required from JWT_SECRET or JWT_SECRET_FILE (--secret-file), not both:
  JWT_SECRET  HMAC key for HS256, at least 32 bytes, used byte for byte.
              Read only from the environment or from .env in the working directory,
              never from a flag, because flags are visible in `ps`.
              Generate one with: openssl rand -base64 32

A .env file in the working directory is read first if it exists. A variable that is
already set in the environment wins over the same variable in .env, and within .env
the last line for a variable wins.";

/// Flags and their environment variables, as `--help` lists them.
///
/// Values are kept as text here and checked in [`Config::from_args`], so every invalid
/// value gets a one-line error that names the variable.
#[derive(Debug, Parser)]
#[command(
    name = "token-service",
    version,
    about = ABOUT,
    // The same text again, so that `--help` keeps clap's long layout with each option's
    // text on its own lines, and does not show the doc comment below.
    long_about = ABOUT,
    after_help = SECRET_HELP
)]
struct Args {
    /// IP address to listen on. `loopback` listens on both 127.0.0.1 and ::1; use
    /// 0.0.0.0 or :: to serve every interface, as in a container.
    #[arg(long, env = "HOST", default_value = "loopback", value_name = "ADDRESS")]
    host: String,

    /// TCP port to listen on.
    #[arg(long, env = "PORT", default_value = "5000")]
    port: String,

    /// File that contains the HMAC key, such as /run/secrets/jwt, where Docker and
    /// Kubernetes mount secrets. One trailing newline (\n or \r\n) is removed, and the
    /// rest must follow the rules of JWT_SECRET. Unset by default, so JWT_SECRET is used.
    #[arg(long, env = "JWT_SECRET_FILE", value_name = "PATH")]
    secret_file: Option<OsString>,

    /// Token lifetime: whole seconds (3600) or a number with a unit s, m, h or d (1h).
    #[arg(
        long,
        env = "JWT_EXPIRES_IN",
        default_value = "1h",
        value_name = "DURATION"
    )]
    expires_in: String,

    /// Clock skew allowed when checking `exp` and `nbf`, in the same format as
    /// JWT_EXPIRES_IN, at most 1d.
    #[arg(long, env = "JWT_LEEWAY", default_value = "0", value_name = "DURATION")]
    leeway: String,

    /// Log filter in tracing-subscriber's EnvFilter syntax, such as `info` or
    /// `token_service=debug`.
    #[arg(
        long = "log",
        env = "RUST_LOG",
        default_value = "info",
        value_name = "FILTER"
    )]
    log_filter: String,

    /// Log line format: `text` for people, or `json` for one JSON object per line, as log
    /// shippers read it.
    #[arg(
        long,
        env = "LOG_FORMAT",
        default_value = "text",
        value_name = "FORMAT"
    )]
    log_format: String,

    /// Time a client has to send a request's headers before its connection is closed.
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT",
        default_value = "5s",
        value_name = "DURATION"
    )]
    header_read_timeout: String,

    /// Time a request may take before the server responds with 408.
    #[arg(
        long,
        env = "REQUEST_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    request_timeout: String,

    /// Time open requests get to finish after SIGINT or SIGTERM before the server exits.
    #[arg(
        long,
        env = "SHUTDOWN_TIMEOUT",
        default_value = "10s",
        value_name = "DURATION"
    )]
    shutdown_timeout: String,

    /// Origins whose browser scripts may call the API, separated by commas, each as
    /// scheme://host[:port] (https://app.example.com,http://localhost:3000), or `*` for
    /// any origin. Browsers cache preflight responses for 600 seconds. Unset or empty by
    /// default, so the service sends no CORS headers and browsers block cross-origin calls.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_name = "ORIGINS")]
    cors_allowed_origins: Option<String>,
}

/// Start-up error. Each message names the setting, the rule it broke and the fix, and
/// never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "JWT_SECRET is not set. Set it to a random string of at least 32 bytes, for \
         example `export JWT_SECRET=\"$(openssl rand -base64 32)\"`, or put it in .env."
    )]
    MissingSecret,
    #[error(
        "JWT_SECRET is empty. Set it to a random string of at least 32 bytes, for example the output of `openssl rand -base64 32`."
    )]
    EmptySecret,
    #[error(
        "JWT_SECRET is not valid UTF-8. Use a printable string, for example the output of `openssl rand -base64 32`."
    )]
    SecretNotUtf8,
    #[error(
        "JWT_SECRET starts or ends with whitespace, often a trailing newline. Remove it, because the key is used byte for byte and verifiers would need the same whitespace."
    )]
    SecretWhitespace,
    #[error(
        "JWT_SECRET is {length} bytes long, but HS256 needs a key of at least 32 bytes (RFC 7518 section 3.2). Generate one with `openssl rand -base64 32`."
    )]
    SecretTooShort { length: usize },
    #[error(
        "JWT_SECRET and JWT_SECRET_FILE ({}) are both set. Unset one of them. An empty JWT_SECRET, such as the line of a copied .env.example, counts as set.",
        path.display()
    )]
    SecretSetTwice { path: PathBuf },
    #[error(
        "JWT_SECRET_FILE is empty. Set it to the path of the file that contains the key, such as /run/secrets/jwt, or unset it."
    )]
    EmptySecretFilePath,
    #[error(
        "failed to read JWT_SECRET_FILE {}: {source}. Check the path and that the service's user may read the file.",
        path.display()
    )]
    SecretFileRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid JWT_SECRET_FILE {}: {problem}", path.display())]
    InvalidSecretFile {
        path: PathBuf,
        problem: SecretFileProblem,
    },
    #[error(
        "invalid .env file in the working directory: line {line} cannot be parsed. Fix that line or remove the file."
    )]
    DotenvSyntax { line: usize },
    #[error(
        "failed to read .env in the working directory: {source}. Make it a readable UTF-8 text file, or remove it."
    )]
    DotenvRead { source: std::io::Error },
    #[error(
        "invalid HOST {value:?}: expected `loopback`, `localhost` or an IP address such as 127.0.0.1, ::1, 0.0.0.0 or ::."
    )]
    InvalidHost { value: String },
    #[error("invalid PORT {value:?}: expected a whole number from 0 to 65535, such as 5000.")]
    InvalidPort { value: String },
    #[error("invalid {name} {value:?}: {reason}.")]
    InvalidDuration {
        name: &'static str,
        value: String,
        reason: DurationError,
    },
    #[error("invalid {name} {value:?}: the duration must be greater than zero.")]
    ZeroDuration { name: &'static str, value: String },
    #[error("invalid JWT_EXPIRES_IN {value:?}: the maximum token lifetime is 3650d (ten years).")]
    LifetimeTooLong { value: String },
    #[error("invalid JWT_LEEWAY {value:?}: the maximum clock skew is 1d (one day).")]
    LeewayTooLong { value: String },
    #[error(
        "invalid RUST_LOG {value:?}: {reason}. Use a filter such as `info` or `token_service=debug`."
    )]
    InvalidLogFilter { value: String, reason: String },
    #[error("invalid LOG_FORMAT {value:?}: expected `text` or `json`.")]
    InvalidLogFormat { value: String },
    #[error(transparent)]
    InvalidCorsOrigins(#[from] CorsOriginError),
}

/// Listening address of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenHost {
    /// Both 127.0.0.1 and ::1, so that `localhost` works whichever address a client
    /// resolves first.
    Loopback,
    /// One address, such as 0.0.0.0 or `::` for every interface.
    Addr(IpAddr),
}

/// Time limits on each connection and on shutdown.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Validated settings of one server process.
#[derive(Debug)]
pub struct Config {
    pub host: ListenHost,
    pub port: u16,
    /// HMAC key. `SecretString`'s `Debug` prints a placeholder, so logging a `Config`
    /// cannot expose it.
    pub secret: SecretString,
    pub token_lifetime: Duration,
    pub leeway: Duration,
    pub log_filter: String,
    pub log_format: LogFormat,
    pub limits: Limits,
    /// Origins that get CORS headers. `None` turns CORS off.
    pub cors_allowed_origins: Option<AllowedOrigins>,
}

impl Config {
    /// Builds a configuration with every default and the given secret, for embedding
    /// the service and for tests.
    ///
    /// # Errors
    ///
    /// Returns the same secret errors as [`Config::load`].
    pub fn with_secret(secret: &str) -> Result<Self, ConfigError> {
        Ok(Self {
            host: ListenHost::Loopback,
            port: 5000,
            secret: validate_secret(secret)?,
            token_lifetime: Duration::from_secs(3600),
            leeway: Duration::ZERO,
            log_filter: "info".to_owned(),
            log_format: LogFormat::Text,
            limits: Limits::default(),
            cors_allowed_origins: None,
        })
    }

    /// Reads `.env` from the working directory if it exists, then the flags and the
    /// environment, reads the secret from JWT_SECRET or JWT_SECRET_FILE, and validates
    /// every setting. `--help` and `--version` print and exit.
    ///
    /// Call it before starting threads, because loading `.env` sets environment
    /// variables of this process.
    ///
    /// # Errors
    ///
    /// Returns a [`ConfigError`] for an unreadable `.env` or secret file, for both
    /// JWT_SECRET and JWT_SECRET_FILE set, and for the first setting that is missing or
    /// invalid.
    pub fn load() -> Result<Self, ConfigError> {
        let dotenv = load_dotenv(Path::new(".env"));
        // `--help` and `--version` print and exit here, so they work with a broken .env.
        let args = Args::parse();
        dotenv?;
        let secret = match &args.secret_file {
            Some(path) => read_secret_from_file(path)?,
            None => read_secret_from_env()?,
        };
        Self::from_args(args, secret)
    }

    /// Bytes of the HMAC key, exactly as given.
    pub fn secret_bytes(&self) -> &[u8] {
        self.secret.expose_secret().as_bytes()
    }

    fn from_args(mut args: Args, secret: SecretString) -> Result<Self, ConfigError> {
        let token_lifetime = parse_setting("JWT_EXPIRES_IN", &args.expires_in)?;
        if token_lifetime.is_zero() {
            return Err(zero_duration("JWT_EXPIRES_IN", &args.expires_in));
        }
        if token_lifetime > MAX_TOKEN_LIFETIME {
            return Err(ConfigError::LifetimeTooLong {
                value: args.expires_in,
            });
        }

        let leeway = parse_setting("JWT_LEEWAY", &args.leeway)?;
        if leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLong { value: args.leeway });
        }

        let limits = Limits {
            header_read_timeout: parse_positive("HEADER_READ_TIMEOUT", &args.header_read_timeout)?,
            request_timeout: parse_positive("REQUEST_TIMEOUT", &args.request_timeout)?,
            shutdown_timeout: parse_positive("SHUTDOWN_TIMEOUT", &args.shutdown_timeout)?,
        };

        // An empty RUST_LOG would turn every log off, so it means the default instead.
        if args.log_filter.trim().is_empty() {
            args.log_filter = "info".to_owned();
        }
        if let Err(error) = EnvFilter::try_new(&args.log_filter) {
            return Err(ConfigError::InvalidLogFilter {
                value: args.log_filter,
                reason: error.to_string(),
            });
        }
        let cors_allowed_origins =
            parse_allowed_origins(args.cors_allowed_origins.as_deref().unwrap_or(""))?;
        let log_format = args
            .log_format
            .parse()
            .map_err(|()| ConfigError::InvalidLogFormat {
                value: args.log_format.clone(),
            })?;

        Ok(Self {
            host: parse_host(&args.host)?,
            port: args.port.parse().map_err(|_| ConfigError::InvalidPort {
                value: args.port.clone(),
            })?,
            secret,
            token_lifetime,
            leeway,
            log_filter: args.log_filter,
            log_format,
            limits,
            cors_allowed_origins,
        })
    }
}

/// Loads `path` into the environment without overriding variables that are already set.
/// Within the file, the last line for a variable wins.
fn load_dotenv(path: &Path) -> Result<(), ConfigError> {
    let entries = match dotenvy::from_path_iter(path) {
        Ok(entries) => entries,
        Err(error) if error.not_found() => return Ok(()),
        Err(error) => return Err(dotenv_error(path, error)),
    };

    // Collected first, so that a later line for the same variable wins, as in a shell.
    // `dotenvy::from_path` keeps the first one, which breaks a secret appended to a copy
    // of .env.example.
    let mut values = std::collections::BTreeMap::new();
    for entry in entries {
        let (name, value) = entry.map_err(|error| dotenv_error(path, error))?;
        values.insert(name, value);
    }

    for (name, value) in values {
        if std::env::var_os(&name).is_none() {
            // SAFETY: `Config::load` runs in `main` before the runtime or any other
            // thread starts, so nothing reads the environment concurrently.
            unsafe { std::env::set_var(name, value) };
        }
    }
    Ok(())
}

fn dotenv_error(path: &Path, error: dotenvy::Error) -> ConfigError {
    match error {
        // The parse error carries the line's text, which may contain the secret, so the
        // message gives the line number only.
        dotenvy::Error::LineParse(text, _) => ConfigError::DotenvSyntax {
            line: line_number_of(path, &text),
        },
        dotenvy::Error::Io(source) => ConfigError::DotenvRead { source },
        other => ConfigError::DotenvRead {
            source: std::io::Error::other(other.to_string()),
        },
    }
}

/// Finds the 1-based line at which `text` starts in the file at `path`, or 0 if the file
/// cannot be read again or does not contain it.
fn line_number_of(path: &Path, text: &str) -> usize {
    let Ok(content) = std::fs::read_to_string(path) else {
        return 0;
    };
    content
        .find(text)
        .map_or(0, |start| content[..start].matches('\n').count() + 1)
}

fn parse_host(value: &str) -> Result<ListenHost, ConfigError> {
    match value {
        "loopback" | "localhost" => Ok(ListenHost::Loopback),
        _ => value
            .parse()
            .map(ListenHost::Addr)
            .map_err(|_| ConfigError::InvalidHost {
                value: value.to_owned(),
            }),
    }
}

fn parse_setting(name: &'static str, value: &str) -> Result<Duration, ConfigError> {
    parse_duration(value).map_err(|reason| ConfigError::InvalidDuration {
        name,
        value: value.to_owned(),
        reason,
    })
}

fn parse_positive(name: &'static str, value: &str) -> Result<Duration, ConfigError> {
    let duration = parse_setting(name, value)?;
    if duration.is_zero() {
        return Err(zero_duration(name, value));
    }
    Ok(duration)
}

fn zero_duration(name: &'static str, value: &str) -> ConfigError {
    ConfigError::ZeroDuration {
        name,
        value: value.to_owned(),
    }
}
