//! Reading the HMAC key from `JWT_SECRET`, or from the file that `JWT_SECRET_FILE` names,
//! as Docker and Kubernetes mount secrets.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use crate::config::{ConfigError, MIN_SECRET_BYTES};

/// Maximum size of a secret file. A key needs far less. The limit stops a path such as
/// `/dev/zero` or a log file given by mistake from being read into memory.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Reason the content of a secret file cannot be used as the key. The text never
/// contains the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretFileProblem {
    #[error(
        "the file is larger than 64 KiB. It must contain only the key, for example the output of `openssl rand -base64 32`."
    )]
    TooLarge,
    #[error(
        "the content is not valid UTF-8. Write a printable key, for example the output of `openssl rand -base64 32`."
    )]
    NotUtf8,
    #[error(
        "the file is empty or contains only a newline. Write a key of at least 32 bytes into it, for example the output of `openssl rand -base64 32`."
    )]
    Empty,
    #[error(
        "the key starts or ends with whitespace other than one trailing newline. Remove it, because the key is used byte for byte and verifiers would need the same whitespace."
    )]
    Whitespace,
    #[error(
        "the key is {length} bytes long without its trailing newline, but HS256 needs a key of at least 32 bytes (RFC 7518 section 3.2). Generate one with `openssl rand -base64 32`."
    )]
    TooShort { length: usize },
}

/// Failure to get a key from a secret file.
#[derive(Debug)]
pub enum SecretFileError {
    /// The file cannot be opened or read.
    Read(io::Error),
    /// The file was read, but its content is not a usable key.
    Invalid(SecretFileProblem),
}

/// Reads the key from the file at `path`. The key is the file's UTF-8 content without
/// one trailing `\n` or `\r\n`, which `echo` and most editors add.
///
/// The key must then follow the rules of `JWT_SECRET`. It must be at least `min_bytes`
/// long and have no leading or trailing whitespace.
///
/// # Errors
///
/// Returns [`SecretFileError::Read`] if the file cannot be read, and
/// [`SecretFileError::Invalid`] if it is larger than [`MAX_SECRET_FILE_BYTES`] or its
/// content breaks a rule.
pub fn read_secret_file(path: &Path, min_bytes: usize) -> Result<String, SecretFileError> {
    let mut content = Vec::new();
    File::open(path)
        .and_then(|file| {
            file.take(MAX_SECRET_FILE_BYTES + 1)
                .read_to_end(&mut content)
        })
        .map_err(SecretFileError::Read)?;
    if content.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(SecretFileError::Invalid(SecretFileProblem::TooLarge));
    }

    let content = String::from_utf8(content)
        .map_err(|_| SecretFileError::Invalid(SecretFileProblem::NotUtf8))?;
    let key = strip_one_newline(&content);
    check_key(key, min_bytes).map_err(|problem| SecretFileError::Invalid(problem.into()))?;
    Ok(key.to_owned())
}

pub(crate) fn read_secret_from_env() -> Result<SecretString, ConfigError> {
    match std::env::var("JWT_SECRET") {
        Ok(value) => validate_secret(&value),
        Err(std::env::VarError::NotPresent) => Err(ConfigError::MissingSecret),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::SecretNotUtf8),
    }
}

/// Reads the key from the JWT_SECRET_FILE at `path`. Error messages show the path,
/// which is not secret, and never the content.
pub(crate) fn read_secret_from_file(path: &OsString) -> Result<SecretString, ConfigError> {
    if path.is_empty() {
        return Err(ConfigError::EmptySecretFilePath);
    }
    let path = PathBuf::from(path);
    if std::env::var_os("JWT_SECRET").is_some() {
        return Err(ConfigError::SecretSetTwice { path });
    }

    match read_secret_file(&path, MIN_SECRET_BYTES) {
        Ok(key) => Ok(SecretString::from(key)),
        Err(SecretFileError::Read(source)) => Err(ConfigError::SecretFileRead { path, source }),
        Err(SecretFileError::Invalid(problem)) => {
            Err(ConfigError::InvalidSecretFile { path, problem })
        }
    }
}

/// Applies the key rules to the value of `JWT_SECRET`, with errors that name it.
pub(crate) fn validate_secret(value: &str) -> Result<SecretString, ConfigError> {
    match check_key(value, MIN_SECRET_BYTES) {
        Ok(()) => Ok(SecretString::from(value)),
        Err(KeyProblem::Empty) => Err(ConfigError::EmptySecret),
        Err(KeyProblem::Whitespace) => Err(ConfigError::SecretWhitespace),
        Err(KeyProblem::TooShort { length }) => Err(ConfigError::SecretTooShort { length }),
    }
}

/// Removes one trailing `\n` or `\r\n` and nothing else.
fn strip_one_newline(content: &str) -> &str {
    content
        .strip_suffix("\r\n")
        .or_else(|| content.strip_suffix('\n'))
        .unwrap_or(content)
}

/// Rule of [`check_key`] that a key breaks. Each caller turns it into a message that
/// names its source, `JWT_SECRET` or the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyProblem {
    Empty,
    Whitespace,
    TooShort { length: usize },
}

impl From<KeyProblem> for SecretFileProblem {
    fn from(problem: KeyProblem) -> Self {
        match problem {
            KeyProblem::Empty => Self::Empty,
            KeyProblem::Whitespace => Self::Whitespace,
            KeyProblem::TooShort { length } => Self::TooShort { length },
        }
    }
}

/// Checks the rules that every key follows, from `JWT_SECRET` or from a file: not empty,
/// no leading or trailing whitespace, and at least `min_bytes` long.
fn check_key(key: &str, min_bytes: usize) -> Result<(), KeyProblem> {
    if key.is_empty() {
        return Err(KeyProblem::Empty);
    }
    if key.trim() != key {
        return Err(KeyProblem::Whitespace);
    }
    if key.len() < min_bytes {
        return Err(KeyProblem::TooShort { length: key.len() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_one_newline_removes_only_one() {
        assert_eq!(strip_one_newline("key\n"), "key");
        assert_eq!(strip_one_newline("key\r\n"), "key");
        assert_eq!(strip_one_newline("key\n\n"), "key\n");
        assert_eq!(strip_one_newline("key\r"), "key\r");
        assert_eq!(strip_one_newline("key"), "key");
    }

    #[test]
    fn check_key_applies_secret_rules() {
        let key = "k".repeat(32);
        assert_eq!(check_key(&key, 32), Ok(()));
        assert_eq!(check_key("", 32), Err(KeyProblem::Empty));
        assert_eq!(
            check_key(&format!("{key}\n"), 32),
            Err(KeyProblem::Whitespace)
        );
        assert_eq!(
            check_key(&format!(" {key}"), 32),
            Err(KeyProblem::Whitespace)
        );
        assert_eq!(
            check_key("short", 32),
            Err(KeyProblem::TooShort { length: 5 })
        );
    }
}
