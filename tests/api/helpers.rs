//! Starting the service for a test, in process or as the compiled binary.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use token_service::config::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Current time in whole seconds since the Unix epoch, as the test sees it.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock is after 1970")
        .as_secs()
}

/// Signing secret of every test server: 44 bytes, as `openssl rand -base64 32` makes.
pub const TEST_SECRET: &str = "test-secret-0123456789abcdefghijklmnopqrstuv";

/// A server running in this test process on a free loopback port.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base_url: String,
    pub client: reqwest::Client,
    /// Sends the shutdown trigger. Dropping it also triggers shutdown.
    pub shutdown: Option<oneshot::Sender<()>>,
    pub server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base_url))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path} failed: {error}"))
    }
}

/// Starts the service with the default settings and [`TEST_SECRET`].
pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_config()).await
}

pub fn test_config() -> Config {
    Config::with_secret(TEST_SECRET).expect("TEST_SECRET is a valid secret")
}

/// Starts the service with `config` on 127.0.0.1 and a free port. The socket is bound
/// before this returns, so the server accepts connections at once.
pub async fn spawn_app_with(config: Config) -> TestApp {
    let router = token_service::app(&config).expect("failed to build the app");
    spawn_router(router, config).await
}

/// Serves `router`, which may contain test-only routes, with the settings of `config`.
pub async fn spawn_router(router: axum::Router, config: Config) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("failed to bind a loopback port");
    let addr = listener.local_addr().expect("bound socket has no address");
    let (shutdown, triggered) = oneshot::channel::<()>();

    let server = tokio::spawn(token_service::server::serve(
        vec![listener],
        router,
        config.limits,
        async move {
            let _ = triggered.await;
        },
    ));

    TestApp {
        addr,
        base_url: format!("http://{addr}"),
        client: reqwest::Client::new(),
        shutdown: Some(shutdown),
        server,
    }
}

/// Path of the compiled `token-service` binary, built by Cargo for integration tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_token-service");

/// Maximum time a binary under test may run before it is killed.
pub const BINARY_DEADLINE: Duration = Duration::from_secs(10);

/// Creates an empty working directory, so that no `.env` of the developer is read.
pub fn empty_work_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "token-service-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("failed to create a working directory");
    dir
}

/// Builds a command for the binary with a clean environment: only `PATH` and `vars`,
/// run in `work_dir`.
pub fn binary_command(vars: &[(&str, &str)], work_dir: &PathBuf) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .current_dir(work_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs the binary with `vars` and `args` in an empty directory and waits for it to
/// exit. Panics if it is still running after [`BINARY_DEADLINE`], which means that it
/// started when it should not have.
pub fn run_binary(vars: &[(&str, &str)], args: &[&str]) -> Output {
    let work_dir = empty_work_dir();
    run_binary_in(vars, args, &work_dir)
}

pub fn run_binary_in(vars: &[(&str, &str)], args: &[&str], work_dir: &PathBuf) -> Output {
    let mut command = binary_command(vars, work_dir);
    command.args(args);
    let child = command.spawn().expect("failed to start the binary");
    wait_with_deadline(child, BINARY_DEADLINE)
}

/// Waits for `child` to exit and collects its output, killing it after `deadline`.
pub fn wait_with_deadline(mut child: Child, deadline: Duration) -> Output {
    let started = Instant::now();
    loop {
        if child
            .try_wait()
            .expect("failed to poll the binary")
            .is_some()
        {
            return child.wait_with_output().expect("failed to read output");
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("failed to read output");
            panic!(
                "the binary was still running after {deadline:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The compiled binary, started on a free port and ready to serve.
pub struct RunningBinary {
    pub child: Child,
    pub addr: SocketAddr,
    /// Every stdout line read so far, including the one that gave the address.
    pub stdout_lines: Vec<String>,
    rest_of_stdout: mpsc::Receiver<String>,
}

impl RunningBinary {
    /// Starts the binary on 127.0.0.1 with a free port and waits for its `listening`
    /// log line. `vars` come on top of `JWT_SECRET`, `HOST` and `PORT`.
    pub fn start(vars: &[(&str, &str)]) -> Self {
        let mut all_vars = vec![
            ("JWT_SECRET", TEST_SECRET),
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
        ];
        all_vars.extend_from_slice(vars);
        Self::start_in(&all_vars, &empty_work_dir())
    }

    /// Starts the binary with exactly `vars` in `work_dir` and waits for its first
    /// `listening` log line.
    pub fn start_in(vars: &[(&str, &str)], work_dir: &PathBuf) -> Self {
        let mut child = binary_command(vars, work_dir)
            .spawn()
            .expect("failed to start the binary");

        // A thread reads stdout so that the pipe never fills up and blocks the server.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (line_sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line_sender.send(line).is_err() {
                    break;
                }
            }
        });

        let mut stdout_lines = Vec::new();
        let deadline = Instant::now() + BINARY_DEADLINE;
        loop {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(wait) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the binary did not log `listening` in time; stdout: {stdout_lines:?}");
            };
            let addr = parse_listening_addr(&line);
            stdout_lines.push(line);
            if let Some(addr) = addr {
                return Self {
                    child,
                    addr,
                    stdout_lines,
                    rest_of_stdout: lines,
                };
            }
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends `signal` (such as `TERM`) to the process with the `kill` command.
    pub fn send_signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("failed to run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the process to exit, killing it after `deadline`, and returns its exit
    /// status, all of stdout and all of stderr.
    pub fn wait(mut self, deadline: Duration) -> (std::process::ExitStatus, String, String) {
        let (status, stderr) = wait_with_deadline_keep_stdout(&mut self.child, deadline);
        // The process has exited, so its stdout is closed and this ends after the last line.
        let mut lines = self.stdout_lines;
        lines.extend(self.rest_of_stdout.iter());
        (status, lines.join("\n"), stderr)
    }
}

/// Like [`wait_with_deadline`], for a child whose stdout is read by another thread.
fn wait_with_deadline_keep_stdout(
    child: &mut Child,
    deadline: Duration,
) -> (std::process::ExitStatus, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("failed to poll the binary") {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            panic!("the binary was still running {deadline:?} after the request to stop");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    (status, stderr)
}

/// Reads the address from a `listening` log line: `... listening addr=127.0.0.1:41234`
/// in text, or `{..., "fields":{"message":"listening","addr":"127.0.0.1:41234"}}` with
/// LOG_FORMAT=json.
fn parse_listening_addr(line: &str) -> Option<SocketAddr> {
    if line.starts_with('{') {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        if event["fields"]["message"] != "listening" {
            return None;
        }
        return event["fields"]["addr"].as_str()?.parse().ok();
    }
    if !line.contains("listening") {
        return None;
    }
    let (_, after) = line.split_once("addr=")?;
    after.split_whitespace().next()?.parse().ok()
}

/// Starts the service with two extra routes behind the same middleware: `/slow`, which
/// sleeps for `slow_for`, and `/panic`, which panics. They exist only in tests.
pub async fn spawn_app_with_test_routes(config: Config, slow_for: Duration) -> TestApp {
    use axum::routing::get;

    let state = std::sync::Arc::new(token_service::AppState::new(&config).unwrap());
    let test_routes = axum::Router::new()
        .route(
            "/slow",
            get(move || async move {
                tokio::time::sleep(slow_for).await;
                "finished"
            }),
        )
        .route(
            "/panic",
            get(|| async {
                panic!("deliberate panic in a test handler");
                #[allow(unreachable_code)]
                ""
            }),
        );
    let router = token_service::routes::router(state).merge(test_routes);
    let router = token_service::middleware::apply(router, config.limits.request_timeout, None);
    spawn_router(router, config).await
}

/// Sends `request` as raw bytes on a new connection and reads until the server closes
/// it or `deadline` passes. Returns what was read.
pub async fn raw_exchange(addr: SocketAddr, request: &[u8], deadline: Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    let _ = tokio::time::timeout(deadline, stream.read_to_end(&mut received)).await;
    String::from_utf8_lossy(&received).into_owned()
}
