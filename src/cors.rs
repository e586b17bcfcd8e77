//! Cross-origin resource sharing (CORS) for browser front-ends on other origins, set by
//! CORS_ALLOWED_ORIGINS.
//!
//! The API uses bearer tokens and no cookies, so CORS responses never allow credentials.
//! With `*`, any page that a user opens can call the service through the user's browser,
//! even a service that only the user's network can reach. It suits a public service only.

use std::net::Ipv6Addr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::middleware::REQUEST_ID;

/// Time browsers may cache a preflight response (`Access-Control-Max-Age`). A change to
/// CORS_ALLOWED_ORIGINS reaches every browser within this time.
pub const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// Origins whose scripts may call the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// `*`: any origin.
    Any,
    /// Serialized origins, such as `https://app.example.com`, compared byte for byte with
    /// the request's `Origin` header.
    List(Vec<HeaderValue>),
}

/// Invalid CORS_ALLOWED_ORIGINS value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsOriginError {
    #[error(
        "invalid CORS_ALLOWED_ORIGINS {value:?}: it contains an empty entry. Separate origins with single commas, such as `https://a.example,https://b.example`."
    )]
    EmptyEntry { value: String },
    #[error(
        "invalid CORS_ALLOWED_ORIGINS {value:?}: `*` allows every origin and cannot be combined with others. Set it to `*` alone, or list the origins."
    )]
    WildcardInList { value: String },
    #[error(
        "invalid CORS_ALLOWED_ORIGINS entry {entry:?}: {reason}. Write each origin as scheme://host[:port], such as https://app.example.com or http://localhost:3000."
    )]
    InvalidOrigin {
        entry: String,
        reason: OriginProblem,
    },
}

/// Reason an entry of CORS_ALLOWED_ORIGINS is not a serialized origin, or is one that no
/// browser sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OriginProblem {
    #[error(
        "`null` is the origin of sandboxed frames and local files, which any site can create, so it cannot be allowed"
    )]
    Null,
    #[error("it has no scheme, such as https://")]
    MissingScheme,
    #[error("the scheme is invalid")]
    InvalidScheme,
    #[error(
        "browsers send the scheme and host in lower case, so this entry would never match. Write it in lower case"
    )]
    NotLowerCase,
    #[error(
        "an origin ends after the host and port, with no path, query, fragment or trailing slash"
    )]
    HasPath,
    #[error("an origin has no user name or password")]
    HasUserInfo,
    #[error(
        "the host is empty or contains characters that browsers do not send, such as spaces. Use the punycode form (xn--) of an internationalized name"
    )]
    InvalidHost,
    #[error(
        "the IPv6 address is invalid or not in the shortest form, which browsers send, such as [::1]"
    )]
    InvalidIpv6,
    #[error("the port must be a number from 1 to 65535 without leading zeros")]
    InvalidPort,
    #[error(
        "browsers leave out the scheme's default port (80 for http, 443 for https), so this entry would never match. Remove the port"
    )]
    DefaultPort,
}

/// Parses CORS_ALLOWED_ORIGINS: origins separated by commas, each with optional spaces
/// around it, or `*` alone. Returns `None` for an empty value, which turns CORS off.
///
/// # Errors
///
/// Returns a [`CorsOriginError`] that names the first invalid entry.
pub fn parse_allowed_origins(value: &str) -> Result<Option<AllowedOrigins>, CorsOriginError> {
    if value.trim().is_empty() {
        return Ok(None);
    }

    let entries: Vec<&str> = value.split(',').map(str::trim).collect();
    if entries.iter().any(|entry| entry.is_empty()) {
        return Err(CorsOriginError::EmptyEntry {
            value: value.to_owned(),
        });
    }
    if entries == ["*"] {
        return Ok(Some(AllowedOrigins::Any));
    }
    if entries.contains(&"*") {
        return Err(CorsOriginError::WildcardInList {
            value: value.to_owned(),
        });
    }

    let mut origins = Vec::with_capacity(entries.len());
    for entry in entries {
        check_origin(entry).map_err(|reason| CorsOriginError::InvalidOrigin {
            entry: entry.to_owned(),
            reason,
        })?;
        let origin = HeaderValue::from_str(entry).expect("a checked origin is visible ASCII");
        origins.push(origin);
    }
    Ok(Some(AllowedOrigins::List(origins)))
}

/// Checks that `entry` is an origin as browsers serialize it in the `Origin` header
/// (RFC 6454 section 6.2): `scheme "://" host [ ":" port ]`, in lower case, with no
/// default port.
fn check_origin(entry: &str) -> Result<(), OriginProblem> {
    if entry == "null" {
        return Err(OriginProblem::Null);
    }
    if entry.bytes().any(|byte| byte.is_ascii_uppercase()) {
        return Err(OriginProblem::NotLowerCase);
    }
    let Some((scheme, authority)) = entry.split_once("://") else {
        return Err(OriginProblem::MissingScheme);
    };
    check_scheme(scheme)?;
    if authority.contains(['/', '?', '#']) {
        return Err(OriginProblem::HasPath);
    }
    if authority.contains('@') {
        return Err(OriginProblem::HasUserInfo);
    }

    let (host, port) = split_host_port(authority)?;
    check_host(host)?;
    if let Some(port) = port {
        check_port(scheme, port)?;
    }
    Ok(())
}

/// Checks the scheme grammar of RFC 3986 section 3.1: a letter, then letters, digits,
/// `+`, `-` or `.`.
fn check_scheme(scheme: &str) -> Result<(), OriginProblem> {
    let mut bytes = scheme.bytes();
    let starts_with_letter = bytes.next().is_some_and(|byte| byte.is_ascii_alphabetic());
    let rest_valid = bytes.all(|byte| byte.is_ascii_alphanumeric() || b"+-.".contains(&byte));
    if starts_with_letter && rest_valid {
        Ok(())
    } else {
        Err(OriginProblem::InvalidScheme)
    }
}

/// Splits `host[:port]`, where an IPv6 host is in brackets.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), OriginProblem> {
    if authority.starts_with('[') {
        let Some(end) = authority.find(']') else {
            return Err(OriginProblem::InvalidIpv6);
        };
        let (host, rest) = authority.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if rest.is_empty() => Ok((host, None)),
            None => Err(OriginProblem::InvalidHost),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((authority, None)),
    }
}

/// Checks a host name, IPv4 address or bracketed IPv6 address as browsers serialize it.
fn check_host(host: &str) -> Result<(), OriginProblem> {
    if let Some(address) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        // Browsers send the shortest form, so `[0:0:0:0:0:0:0:1]` would never match.
        return match address.parse::<Ipv6Addr>() {
            Ok(parsed) if parsed.to_string() == address => Ok(()),
            _ => Err(OriginProblem::InvalidIpv6),
        };
    }
    let valid_labels = host.split('.').all(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    });
    if valid_labels {
        Ok(())
    } else {
        Err(OriginProblem::InvalidHost)
    }
}

fn check_port(scheme: &str, port: &str) -> Result<(), OriginProblem> {
    let number = match port.parse::<u16>() {
        Ok(number) if number != 0 && number.to_string() == port => number,
        _ => return Err(OriginProblem::InvalidPort),
    };
    let default_port = match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    };
    if default_port == Some(number) {
        return Err(OriginProblem::DefaultPort);
    }
    Ok(())
}

/// Builds tower-http's CORS layer for `origins`: methods GET and HEAD, request headers
/// `Authorization` and `X-Request-Id`, `X-Request-Id` exposed to scripts, no credentials.
///
/// The layer responds to every `OPTIONS` request itself with 200, for a listed origin or
/// not.
/// Only `Access-Control-Allow-Origin` depends on the origin, so pair it with
/// [`remove_grants_without_origin`].
pub fn cors_layer(origins: &AllowedOrigins) -> CorsLayer {
    let allow_origin = match origins {
        AllowedOrigins::Any => AllowOrigin::any(),
        AllowedOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::HEAD])
        .allow_headers([header::AUTHORIZATION, REQUEST_ID])
        .expose_headers([REQUEST_ID])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// Removes the `Access-Control-*` headers from a response that has no
/// `Access-Control-Allow-Origin`, because without it a browser ignores them.
///
/// tower-http sends the allowed methods, headers and max age to every preflight. With
/// this, a request from an unlisted origin gets no CORS headers at all, which is easier
/// to read in a network log.
pub async fn remove_grants_without_origin(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    if headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        return response;
    }
    for name in [
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::ACCESS_CONTROL_MAX_AGE,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ] {
        headers.remove(name);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(origins: &[&'static str]) -> Option<AllowedOrigins> {
        Some(AllowedOrigins::List(
            origins
                .iter()
                .map(|origin| HeaderValue::from_static(origin))
                .collect(),
        ))
    }

    #[test]
    fn empty_value_turns_cors_off() {
        assert_eq!(parse_allowed_origins(""), Ok(None));
        assert_eq!(parse_allowed_origins("  "), Ok(None));
    }

    #[test]
    fn wildcard_alone_allows_any() {
        assert_eq!(parse_allowed_origins("*"), Ok(Some(AllowedOrigins::Any)));
        assert_eq!(parse_allowed_origins(" * "), Ok(Some(AllowedOrigins::Any)));
    }

    #[test]
    fn valid_origins_are_kept_in_order() {
        assert_eq!(
            parse_allowed_origins("https://app.example.com, http://localhost:3000"),
            Ok(list(&["https://app.example.com", "http://localhost:3000"]))
        );
        assert_eq!(
            parse_allowed_origins("http://[::1]:8080,http://127.0.0.1:5173"),
            Ok(list(&["http://[::1]:8080", "http://127.0.0.1:5173"]))
        );
        assert_eq!(
            parse_allowed_origins("chrome-extension://abcdefghijklmnop"),
            Ok(list(&["chrome-extension://abcdefghijklmnop"]))
        );
        assert_eq!(
            parse_allowed_origins("https://example.com:8443"),
            Ok(list(&["https://example.com:8443"]))
        );
    }

    #[test]
    fn list_errors_name_the_value() {
        assert!(matches!(
            parse_allowed_origins("https://a.example,,https://b.example"),
            Err(CorsOriginError::EmptyEntry { .. })
        ));
        assert!(matches!(
            parse_allowed_origins("https://a.example,"),
            Err(CorsOriginError::EmptyEntry { .. })
        ));
        assert!(matches!(
            parse_allowed_origins("*,https://a.example"),
            Err(CorsOriginError::WildcardInList { .. })
        ));
    }

    #[test]
    fn each_bad_origin_has_its_reason() {
        let cases = [
            ("null", OriginProblem::Null),
            ("localhost:3000", OriginProblem::MissingScheme),
            ("app.example.com", OriginProblem::MissingScheme),
            ("1http://a.example", OriginProblem::InvalidScheme),
            ("://a.example", OriginProblem::InvalidScheme),
            ("https://App.example.com", OriginProblem::NotLowerCase),
            ("HTTPS://app.example.com", OriginProblem::NotLowerCase),
            ("https://app.example.com/", OriginProblem::HasPath),
            ("https://app.example.com/app", OriginProblem::HasPath),
            ("https://app.example.com?x=1", OriginProblem::HasPath),
            ("https://user@app.example.com", OriginProblem::HasUserInfo),
            ("https://", OriginProblem::InvalidHost),
            ("https://app..example", OriginProblem::InvalidHost),
            ("https://app example", OriginProblem::InvalidHost),
            ("https://bücher.example", OriginProblem::InvalidHost),
            ("http://[::1", OriginProblem::InvalidIpv6),
            ("http://[0:0:0:0:0:0:0:1]", OriginProblem::InvalidIpv6),
            ("http://[::1]x", OriginProblem::InvalidHost),
            ("http://localhost:", OriginProblem::InvalidPort),
            ("http://localhost:0", OriginProblem::InvalidPort),
            ("http://localhost:65536", OriginProblem::InvalidPort),
            ("http://localhost:03000", OriginProblem::InvalidPort),
            ("http://localhost:3000:1", OriginProblem::InvalidPort),
            ("http://app.example:80", OriginProblem::DefaultPort),
            ("https://app.example:443", OriginProblem::DefaultPort),
        ];
        for (entry, expected) in cases {
            let result = parse_allowed_origins(entry);

            assert_eq!(
                result,
                Err(CorsOriginError::InvalidOrigin {
                    entry: entry.to_owned(),
                    reason: expected,
                }),
                "{entry}"
            );
        }
    }
}
