//! The compiled binary: start-up errors, `--help`, `.env`, signals and log content.

use std::time::{Duration, Instant};

use crate::helpers::{RunningBinary, TEST_SECRET, empty_work_dir, run_binary, run_binary_in};

/// Runs the binary with `vars` on top of a valid secret and a free port, expecting it to
/// fail, and returns its stderr.
fn start_up_error(vars: &[(&str, &str)]) -> String {
    let mut all_vars = vec![("JWT_SECRET", TEST_SECRET), ("PORT", "0")];
    // A later entry for the same variable wins, as with `Command::envs`.
    all_vars.extend_from_slice(vars);
    let output = run_binary(&all_vars, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "the binary started with {vars:?}");
    stderr
}

#[test]
fn startup_without_secret_fails() {
    let output = run_binary(&[("PORT", "0")], &[]);

    assert!(
        !output.status.success(),
        "the binary started without JWT_SECRET"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("JWT_SECRET is not set"), "stderr: {stderr}");
    assert!(
        stderr.contains("openssl rand"),
        "stderr gives no fix: {stderr}"
    );
}

#[test]
fn startup_rejects_each_bad_secret() {
    let cases = [
        ("empty", ""),
        ("31 bytes", "0123456789abcdef0123456789abcde"),
        ("trailing newline", "0123456789abcdef0123456789abcdef\n"),
        ("leading space", " 0123456789abcdef0123456789abcdef"),
        ("trailing tab", "0123456789abcdef0123456789abcdef\t"),
    ];
    for (case, secret) in cases {
        let stderr = start_up_error(&[("JWT_SECRET", secret)]);

        assert!(stderr.contains("JWT_SECRET"), "{case}: stderr: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{case}: stderr: {stderr}");
        if !secret.trim().is_empty() {
            assert!(
                !stderr.contains(secret.trim()),
                "{case}: stderr contains the secret: {stderr}"
            );
        }
    }
}

#[test]
fn startup_rejects_each_bad_lifetime() {
    for value in [
        "0", "0s", "-5", "1.5h", "1 h", "1hour", "1w", "abc", "", "4000d",
    ] {
        let stderr = start_up_error(&[("JWT_EXPIRES_IN", value)]);

        assert!(
            stderr.contains("JWT_EXPIRES_IN"),
            "{value:?}: stderr: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{value:?}: stderr: {stderr}");
        assert!(
            !stderr.contains(TEST_SECRET),
            "{value:?}: stderr contains the secret"
        );
    }
}

#[test]
fn startup_rejects_each_bad_port_and_host() {
    let cases = [
        ("PORT", "abc"),
        ("PORT", "65536"),
        ("PORT", "-1"),
        ("HOST", "example.com"),
        ("HOST", "127.0.0.300"),
    ];
    for (name, value) in cases {
        let stderr = start_up_error(&[(name, value)]);

        assert!(stderr.contains(name), "{name}={value}: stderr: {stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{name}={value}: stderr: {stderr}"
        );
    }
}

#[test]
fn startup_rejects_excessive_leeway() {
    let stderr = start_up_error(&[("JWT_LEEWAY", "2d")]);

    assert!(stderr.contains("JWT_LEEWAY"), "stderr: {stderr}");
}

#[test]
fn startup_errors_never_print_secret() {
    // A secret with a marker, so that a partial leak is found too.
    let secret = "LEAKCHECK-0123456789abcdefghijklmnopqrstuvwxyz";
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("JWT_SECRET", "LEAKCHECK-short")],
        vec![(
            "JWT_SECRET",
            "LEAKCHECK-0123456789abcdefghijklmnopqrstuvwxyz\n",
        )],
        vec![("JWT_SECRET", secret), ("JWT_EXPIRES_IN", "0")],
        vec![("JWT_SECRET", secret), ("JWT_EXPIRES_IN", "soon")],
        vec![("JWT_SECRET", secret), ("JWT_LEEWAY", "-1")],
        vec![("JWT_SECRET", secret), ("PORT", "http")],
        vec![("JWT_SECRET", secret), ("HOST", "nowhere")],
        vec![("JWT_SECRET", secret), ("REQUEST_TIMEOUT", "0")],
        vec![("JWT_SECRET", secret), ("HEADER_READ_TIMEOUT", "x")],
        vec![("JWT_SECRET", secret), ("SHUTDOWN_TIMEOUT", "1y")],
        vec![("JWT_SECRET", secret), ("HOST", "192.0.2.1")],
    ];
    for vars in cases {
        let mut all_vars = vec![("RUST_LOG", "trace"), ("PORT", "0")];
        all_vars.extend_from_slice(&vars);

        let output = run_binary(&all_vars, &[]);

        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{vars:?}: the binary started");
        assert!(!stdout.contains("LEAKCHECK"), "{vars:?}: stdout: {stdout}");
        assert!(!stderr.contains("LEAKCHECK"), "{vars:?}: stderr: {stderr}");
    }
}

#[test]
fn startup_rejects_invalid_log_filter() {
    let stderr = start_up_error(&[("RUST_LOG", "info,[")]);

    assert!(stderr.contains("RUST_LOG"), "stderr: {stderr}");
}

#[test]
fn startup_reports_port_in_use() {
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = occupied.local_addr().unwrap().port().to_string();

    let stderr = start_up_error(&[("HOST", "127.0.0.1"), ("PORT", &port)]);

    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("set PORT to a free port"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[test]
fn startup_checks_secret_before_binding() {
    let occupied = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = occupied.local_addr().unwrap().port().to_string();

    let output = run_binary(&[("HOST", "127.0.0.1"), ("PORT", &port)], &[]);

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("JWT_SECRET is not set"), "stderr: {stderr}");
    assert!(!stderr.contains("failed to listen"), "stderr: {stderr}");
}

#[test]
fn help_lists_every_setting() {
    let output = run_binary(&[("JWT_SECRET", TEST_SECRET)], &["--help"]);

    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for name in [
        "JWT_SECRET",
        "JWT_EXPIRES_IN",
        "JWT_LEEWAY",
        "PORT",
        "HOST",
        "RUST_LOG",
        "HEADER_READ_TIMEOUT",
        "REQUEST_TIMEOUT",
        "SHUTDOWN_TIMEOUT",
    ] {
        assert!(
            help.contains(name),
            "--help does not mention {name}:\n{help}"
        );
    }
    assert!(help.contains("[default: 5000]"), "help:\n{help}");
    assert!(help.contains("[default: 1h]"), "help:\n{help}");
    assert!(!help.contains(TEST_SECRET), "--help shows the secret");
}

#[test]
fn dotenv_file_supplies_secret() {
    let work_dir = empty_work_dir();
    std::fs::write(
        work_dir.join(".env"),
        format!("JWT_SECRET={TEST_SECRET}\nHOST=127.0.0.1\nPORT=0\n"),
    )
    .unwrap();

    let server = RunningBinary::start_in(&[], &work_dir);

    assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
    server.send_signal("TERM");
    let (status, _, _) = server.wait(Duration::from_secs(5));
    assert!(status.success());
}

#[test]
fn environment_wins_over_dotenv() {
    let work_dir = empty_work_dir();
    std::fs::write(
        work_dir.join(".env"),
        "JWT_SECRET=short\nHOST=127.0.0.1\nPORT=0\n",
    )
    .unwrap();

    let server = RunningBinary::start_in(&[("JWT_SECRET", TEST_SECRET)], &work_dir);

    server.send_signal("TERM");
    let (status, _, _) = server.wait(Duration::from_secs(5));
    assert!(
        status.success(),
        "the .env secret replaced the environment's"
    );
}

#[test]
fn dotenv_later_line_wins() {
    let work_dir = empty_work_dir();
    // The setup that README readers try: copy .env.example, then append a secret.
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"))
        .expect("failed to read .env.example");
    std::fs::write(
        work_dir.join(".env"),
        format!("{example}\nJWT_SECRET={TEST_SECRET}\nHOST=127.0.0.1\nPORT=0\n"),
    )
    .unwrap();

    let server = RunningBinary::start_in(&[], &work_dir);

    server.send_signal("TERM");
    let (status, _, _) = server.wait(Duration::from_secs(5));
    assert!(status.success());
}

#[test]
fn help_works_with_broken_dotenv() {
    let work_dir = empty_work_dir();
    std::fs::write(work_dir.join(".env"), "JWT_SECRET='unterminated\n").unwrap();

    let output = run_binary_in(&[], &["--help"], &work_dir);

    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("JWT_EXPIRES_IN"));
}

#[test]
fn dotenv_syntax_error_hides_line_text() {
    let work_dir = empty_work_dir();
    let secret_line = "JWT_SECRET='unterminated-0123456789abcdef0123456789";
    std::fs::write(work_dir.join(".env"), format!("PORT=0\n{secret_line}\n")).unwrap();

    let output = run_binary_in(&[], &[], &work_dir);

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(".env"), "stderr: {stderr}");
    assert!(stderr.contains("line 2"), "stderr: {stderr}");
    assert!(
        !stderr.contains("unterminated"),
        "stderr repeats the line: {stderr}"
    );
}

#[test]
fn sigterm_on_idle_server_exits_zero() {
    let server = RunningBinary::start(&[]);
    let sent = Instant::now();

    server.send_signal("TERM");

    let (status, stdout, _) = server.wait(Duration::from_secs(5));
    assert!(status.success(), "exit status {status}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "took {:?} to stop",
        sent.elapsed()
    );
    assert!(stdout.contains("SIGTERM"), "stdout: {stdout}");
    assert!(stdout.contains("server stopped"), "stdout: {stdout}");
}

#[test]
fn second_signal_exits_at_once() {
    let server =
        RunningBinary::start(&[("HEADER_READ_TIMEOUT", "30s"), ("SHUTDOWN_TIMEOUT", "30s")]);
    // A request whose head never ends keeps the graceful shutdown waiting.
    let mut stalled = std::net::TcpStream::connect(server.addr).unwrap();
    std::io::Write::write_all(&mut stalled, b"GET /token HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.send_signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    server.send_signal("INT");
    let sent = Instant::now();

    let (status, stdout, _) = server.wait(Duration::from_secs(5));
    assert_eq!(status.code(), Some(1), "stdout: {stdout}");
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "took {:?}",
        sent.elapsed()
    );
    assert!(
        stdout.contains("second shutdown signal"),
        "stdout: {stdout}"
    );
}

#[test]
fn sigint_on_idle_server_exits_zero() {
    let server = RunningBinary::start(&[]);

    server.send_signal("INT");

    let (status, stdout, _) = server.wait(Duration::from_secs(5));
    assert!(status.success(), "exit status {status}");
    assert!(stdout.contains("SIGINT"), "stdout: {stdout}");
}

#[test]
fn startup_logs_address_and_lifetime() {
    let server = RunningBinary::start(&[("JWT_EXPIRES_IN", "30m")]);
    server.send_signal("TERM");

    let (_, stdout, _) = server.wait(Duration::from_secs(5));

    assert!(
        stdout.contains("token_lifetime_secs=1800"),
        "stdout: {stdout}"
    );
    assert!(
        stdout.contains("listening addr=127.0.0.1:"),
        "stdout: {stdout}"
    );
}

#[tokio::test]
async fn output_never_contains_secret_or_token() {
    let server = RunningBinary::start(&[("RUST_LOG", "trace")]);
    let base_url = server.base_url();
    let client = reqwest::Client::new();
    let body: serde_json::Value = client
        .get(format!("{base_url}/token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    let (header, payload, signature) = crate::jwt::segments(&token);
    let tampered = format!("{header}.{payload}.{}", signature.replace('A', "B"));
    let authorization_values = [
        format!("Bearer {token}"),
        format!("Bearer {tampered}"),
        format!("Bearer {token} extra"),
        "Basic dXNlcjpwYXNzd29yZC1zZWNyZXQ=".to_owned(),
    ];
    for value in &authorization_values {
        let response = client
            .get(format!("{base_url}/protected"))
            .header("authorization", value)
            .send()
            .await
            .unwrap();
        assert_ne!(
            response.status(),
            reqwest::StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    server.send_signal("TERM");
    let (status, stdout, stderr) = server.wait(Duration::from_secs(5));

    assert!(status.success());
    let output = format!("{stdout}\n{stderr}");
    assert!(
        output.contains("/token"),
        "the request was not logged: {output}"
    );
    assert!(
        output.contains("/protected"),
        "the request was not logged: {output}"
    );
    assert!(
        !output.contains(TEST_SECRET),
        "the output contains the secret"
    );
    assert!(!output.contains(&token), "the output contains the token");
    assert!(
        !output.contains(signature),
        "the output contains the signature"
    );
    assert!(
        !output.contains(&tampered),
        "the output contains the tampered token"
    );
    assert!(
        !output.contains("dXNlcjpwYXNz"),
        "the output contains the Basic value"
    );
}

#[tokio::test]
async fn request_log_line_has_request_id() {
    let server = RunningBinary::start(&[]);
    let response = reqwest::Client::new()
        .get(format!("{}/healthz", server.base_url()))
        .header("x-request-id", "log-line-check-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "log-line-check-42");

    server.send_signal("TERM");
    let (_, stdout, _) = server.wait(Duration::from_secs(5));

    let line = stdout
        .lines()
        .find(|line| line.contains("request_id=\"log-line-check-42\""))
        .unwrap_or_else(|| panic!("no log line with the request id: {stdout}"));
    assert!(line.contains("path=/healthz"), "line: {line}");
    assert!(line.contains("status=200"), "line: {line}");
    assert!(line.contains("latency="), "line: {line}");
}
