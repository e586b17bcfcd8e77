//! Settings for deployment and tooling, checked on the compiled binary: JWT_SECRET_FILE,
//! LOG_FORMAT, CORS_ALLOWED_ORIGINS validation, `--version` and `--help`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{RunningBinary, TEST_SECRET, empty_work_dir, run_binary};
use crate::jwt::{hs256_signature, segments};

/// A key of 44 bytes, as `openssl rand -base64 32` prints, distinct from [`TEST_SECRET`].
const FILE_SECRET: &str = "file-secret-0123456789abcdefghijklmnopqrstu";

/// Writes `content` to a file named `jwt` in a new directory and returns its path.
fn secret_file(content: &[u8]) -> PathBuf {
    let path = empty_work_dir().join("jwt");
    std::fs::write(&path, content).expect("failed to write the secret file");
    path
}

fn path_text(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// Runs the binary with `vars` and a free port, expecting a start-up error, and returns
/// its stderr.
fn start_up_error(vars: &[(&str, &str)]) -> String {
    let mut all_vars = vec![("PORT", "0")];
    all_vars.extend_from_slice(vars);
    let output = run_binary(&all_vars, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "the binary started with {vars:?}");
    stderr
}

/// Fetches a token from `server` and checks that `key` signed it.
async fn assert_token_signed_with(server: &RunningBinary, key: &str) {
    let body: Value = reqwest::get(format!("{}/token", server.base_url()))
        .await
        .expect("GET /token failed")
        .json()
        .await
        .expect("body is not JSON");
    let token = body["token"].as_str().expect("body has no `token`");
    let (header, payload, signature) = segments(token);

    let expected = hs256_signature(key.as_bytes(), &format!("{header}.{payload}"));
    assert_eq!(signature, expected, "the token is not signed with {key:?}");
}

fn stop(server: RunningBinary) {
    server.send_signal("TERM");
    let (status, _, _) = server.wait(Duration::from_secs(5));
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn secret_file_supplies_key_without_newline() {
    for ending in ["", "\n", "\r\n"] {
        let path = secret_file(format!("{FILE_SECRET}{ending}").as_bytes());

        let server = RunningBinary::start_in(
            &[
                ("JWT_SECRET_FILE", path_text(&path)),
                ("HOST", "127.0.0.1"),
                ("PORT", "0"),
            ],
            &empty_work_dir(),
        );

        assert_token_signed_with(&server, FILE_SECRET).await;
        stop(server);
    }
}

#[tokio::test]
async fn secret_file_from_dotenv_supplies_key() {
    let path = secret_file(format!("{FILE_SECRET}\n").as_bytes());
    let work_dir = empty_work_dir();
    std::fs::write(
        work_dir.join(".env"),
        format!("JWT_SECRET_FILE={}\n", path_text(&path)),
    )
    .unwrap();

    let server = RunningBinary::start_in(&[("HOST", "127.0.0.1"), ("PORT", "0")], &work_dir);

    assert_token_signed_with(&server, FILE_SECRET).await;
    stop(server);
}

#[test]
fn secret_file_rejects_each_bad_content() {
    let cases: [(&str, Vec<u8>, &str); 8] = [
        ("empty", b"".to_vec(), "empty"),
        ("only a newline", b"\n".to_vec(), "empty"),
        (
            "two newlines",
            format!("{FILE_SECRET}\n\n").into_bytes(),
            "whitespace",
        ),
        (
            "leading space",
            format!(" {FILE_SECRET}\n").into_bytes(),
            "whitespace",
        ),
        (
            "space before newline",
            format!("{FILE_SECRET} \n").into_bytes(),
            "whitespace",
        ),
        (
            "carriage return alone",
            format!("{FILE_SECRET}\r").into_bytes(),
            "whitespace",
        ),
        (
            "31 bytes",
            b"0123456789abcdef0123456789abcde\n".to_vec(),
            "31 bytes",
        ),
        (
            "not UTF-8",
            [FILE_SECRET.as_bytes(), b"\xff\xfe"].concat(),
            "UTF-8",
        ),
    ];
    for (case, content, reason) in cases {
        let path = secret_file(&content);

        let stderr = start_up_error(&[("JWT_SECRET_FILE", path_text(&path))]);

        assert!(
            stderr.contains("JWT_SECRET_FILE"),
            "{case}: stderr: {stderr}"
        );
        assert!(
            stderr.contains(path_text(&path)),
            "{case}: stderr: {stderr}"
        );
        assert!(stderr.contains(reason), "{case}: stderr: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{case}: stderr: {stderr}");
        let content = String::from_utf8_lossy(&content);
        if !content.trim().is_empty() {
            assert!(
                !stderr.contains(content.trim()),
                "{case}: stderr contains the file's content: {stderr}"
            );
        }
    }
}

#[test]
fn secret_file_rejects_oversized_file() {
    let content = "k".repeat(64 * 1024 + 1);
    let path = secret_file(content.as_bytes());

    let stderr = start_up_error(&[("JWT_SECRET_FILE", path_text(&path))]);

    assert!(stderr.contains("JWT_SECRET_FILE"), "stderr: {stderr}");
    assert!(stderr.contains("64 KiB"), "stderr: {stderr}");
}

#[test]
fn secret_file_missing_names_path() {
    let path = empty_work_dir().join("no-such-secret");

    let stderr = start_up_error(&[("JWT_SECRET_FILE", path_text(&path))]);

    assert!(stderr.contains("JWT_SECRET_FILE"), "stderr: {stderr}");
    assert!(stderr.contains(path_text(&path)), "stderr: {stderr}");
    assert!(stderr.contains("No such file"), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
}

#[test]
fn secret_file_flag_is_read() {
    let path = secret_file(b"short\n");

    let output = run_binary(&[("PORT", "0")], &["--secret-file", path_text(&path)]);

    assert!(
        !output.status.success(),
        "the binary started with a short key"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid JWT_SECRET_FILE"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("5 bytes"), "stderr: {stderr}");
}

#[test]
fn secret_file_directory_is_unreadable() {
    let path = empty_work_dir();

    let stderr = start_up_error(&[("JWT_SECRET_FILE", path_text(&path))]);

    assert!(
        stderr.contains("failed to read JWT_SECRET_FILE"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains(path_text(&path)), "stderr: {stderr}");
}

#[test]
fn secret_file_empty_path_is_rejected() {
    let stderr = start_up_error(&[("JWT_SECRET_FILE", "")]);

    assert!(
        stderr.contains("JWT_SECRET_FILE is empty"),
        "stderr: {stderr}"
    );
}

#[test]
fn secret_and_secret_file_conflict() {
    let path = secret_file(format!("{FILE_SECRET}\n").as_bytes());

    for secret in [TEST_SECRET, ""] {
        let stderr = start_up_error(&[
            ("JWT_SECRET", secret),
            ("JWT_SECRET_FILE", path_text(&path)),
        ]);

        assert!(stderr.contains("both set"), "{secret:?}: stderr: {stderr}");
        assert!(stderr.contains(path_text(&path)), "stderr: {stderr}");
        assert!(!stderr.contains(FILE_SECRET), "stderr shows the file's key");
        assert!(!stderr.contains(TEST_SECRET), "stderr shows JWT_SECRET");
    }
}

#[tokio::test]
async fn json_logs_one_object_per_line() {
    let server = RunningBinary::start(&[("LOG_FORMAT", "json")]);
    let response = reqwest::Client::new()
        .get(format!("{}/token?debug=1", server.base_url()))
        .header("x-request-id", "json-log-test")
        .send()
        .await
        .expect("GET /token failed");
    assert_eq!(response.status(), reqwest::StatusCode::OK);

    server.send_signal("TERM");
    let (status, stdout, stderr) = server.wait(Duration::from_secs(5));

    assert!(status.success(), "exit status {status}");
    assert_eq!(stderr, "", "stderr is not empty");
    let events: Vec<Value> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| {
                panic!("log line is not JSON ({error}): {line}");
            })
        })
        .collect();
    for event in &events {
        assert!(event.is_object(), "log line is not an object: {event}");
        assert!(event["timestamp"].is_string(), "no timestamp: {event}");
        assert!(event["level"].is_string(), "no level: {event}");
        assert!(
            event["fields"]["message"].is_string(),
            "no message: {event}"
        );
    }

    let request_line = events
        .iter()
        .find(|event| event["fields"]["message"] == "finished processing request")
        .unwrap_or_else(|| panic!("no request log line in: {stdout}"));
    assert_eq!(request_line["fields"]["status"], 200, "{request_line}");
    assert!(
        request_line["fields"]["latency"].is_string(),
        "{request_line}"
    );
    assert_eq!(request_line["span"]["method"], "GET", "{request_line}");
    assert_eq!(request_line["span"]["path"], "/token", "{request_line}");
    assert_eq!(
        request_line["span"]["request_id"], "json-log-test",
        "{request_line}"
    );
}

#[test]
fn log_format_rejects_unknown_value() {
    for value in ["JSON", "logfmt", ""] {
        let stderr = start_up_error(&[("JWT_SECRET", TEST_SECRET), ("LOG_FORMAT", value)]);

        assert!(stderr.contains("LOG_FORMAT"), "{value:?}: stderr: {stderr}");
        assert!(stderr.contains("`json`"), "{value:?}: stderr: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{value:?}: stderr: {stderr}");
    }
}

#[test]
fn cors_origins_reject_each_bad_entry() {
    let cases = [
        ("https://app.example.com/", "https://app.example.com/"),
        ("localhost:3000", "localhost:3000"),
        ("https://a.example,*", "*"),
        ("https://a.example,,https://b.example", "empty entry"),
        ("https://App.example.com", "lower case"),
        ("https://a.example:443", "default port"),
        ("null", "null"),
    ];
    for (value, expected) in cases {
        let stderr =
            start_up_error(&[("JWT_SECRET", TEST_SECRET), ("CORS_ALLOWED_ORIGINS", value)]);

        assert!(
            stderr.contains("CORS_ALLOWED_ORIGINS"),
            "{value:?}: stderr: {stderr}"
        );
        assert!(stderr.contains(expected), "{value:?}: stderr: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{value:?}: stderr: {stderr}");
    }
}

#[test]
fn cors_origins_are_checked_before_binding() {
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = occupied.local_addr().unwrap().port().to_string();

    let stderr = start_up_error(&[
        ("JWT_SECRET", TEST_SECRET),
        ("HOST", "127.0.0.1"),
        ("PORT", &port),
        ("CORS_ALLOWED_ORIGINS", "https://a.example/"),
    ]);

    assert!(stderr.contains("CORS_ALLOWED_ORIGINS"), "stderr: {stderr}");
    assert!(!stderr.contains("failed to listen"), "stderr: {stderr}");
}

#[test]
fn version_prints_name_and_version() {
    for flag in ["--version", "-V"] {
        let output = run_binary(&[], &[flag]);

        assert!(output.status.success(), "{flag}: {}", output.status);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let expected = format!("token-service {}\n", env!("CARGO_PKG_VERSION"));
        assert_eq!(stdout, expected, "{flag}");
    }
}

#[test]
fn help_covers_each_new_setting() {
    let output = run_binary(&[], &["--help"]);

    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    let cases = [
        (
            "--secret-file",
            "[env: JWT_SECRET_FILE=]",
            "Unset by default",
        ),
        ("--log-format", "[env: LOG_FORMAT=]", "[default: text]"),
        (
            "--cors-allowed-origins",
            "[env: CORS_ALLOWED_ORIGINS=]",
            "Unset or empty by default",
        ),
    ];
    for (flag, variable, default) in cases {
        let entry = help_entry(&help, flag);

        assert!(entry.contains(variable), "{flag}: {entry}");
        assert!(entry.contains(default), "{flag}: {entry}");
    }
    assert!(help_entry(&help, "--cors-allowed-origins").contains("600 seconds"));
    assert!(help_entry(&help, "--secret-file").contains("\\n or \\r\\n"));
    assert!(help.contains("JWT_SECRET or JWT_SECRET_FILE"), "{help}");
}

/// Returns the lines of `--help` output that describe `flag`, up to the next option.
fn help_entry<'a>(help: &'a str, flag: &str) -> &'a str {
    let start = help
        .find(&format!("      {flag} "))
        .unwrap_or_else(|| panic!("--help does not list {flag}:\n{help}"));
    let rest = &help[start..];
    let end = rest[1..]
        .find("\n      --")
        .or_else(|| rest[1..].find("\n  -"))
        .map_or(rest.len(), |offset| offset + 1);
    &rest[..end]
}
