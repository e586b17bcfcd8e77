//! Graceful shutdown of the compiled binary while clients keep calling `/token`.

use std::collections::HashSet;
use std::error::Error as _;
use std::time::{Duration, Instant};

use crate::helpers::RunningBinary;

const CLIENTS: usize = 16;
const MAX_REQUESTS_PER_CLIENT: usize = 50_000;
const CLIENT_DEADLINE: Duration = Duration::from_secs(20);

/// What one client saw.
#[derive(Default)]
struct ClientLog {
    /// Request ids of complete 200 responses with a token in the body.
    completed: HashSet<String>,
    /// Requests that failed in any way other than a refused connection, with the error.
    failed: Vec<String>,
    /// Whether the last attempt was refused at connect, as after the listener closes.
    ended_refused: bool,
}

fn is_connection_refused(error: &reqwest::Error) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = cause.source();
    }
    false
}

async fn call_until_refused(
    client: reqwest::Client,
    base_url: String,
    client_index: usize,
) -> ClientLog {
    let started = Instant::now();
    let mut log = ClientLog::default();

    for request_index in 0..MAX_REQUESTS_PER_CLIENT {
        if started.elapsed() > CLIENT_DEADLINE {
            break;
        }
        let request_id = format!("drain-{client_index}-{request_index}");
        let sent = client
            .get(format!("{base_url}/token"))
            .header("x-request-id", &request_id)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) if is_connection_refused(&error) => {
                log.ended_refused = true;
                break;
            }
            Err(error) => {
                log.failed.push(format!("{request_id}: {error:?}"));
                continue;
            }
        };

        let status = response.status();
        match response.json::<serde_json::Value>().await {
            Ok(body) if status == 200 && body["token"].is_string() => {
                log.completed.insert(request_id);
            }
            Ok(body) => log.failed.push(format!("{request_id}: {status} {body}")),
            Err(error) => log.failed.push(format!("{request_id}: body: {error:?}")),
        }
    }
    log
}

/// Reads the request ids of the 200 responses that the server logged as finished.
fn ids_answered_by_server(stdout: &str) -> HashSet<String> {
    stdout
        .lines()
        .filter(|line| line.contains("finished processing request") && line.contains("status=200"))
        .filter_map(|line| {
            let (_, after) = line.split_once("request_id=\"")?;
            Some(after.split('"').next()?.to_owned())
        })
        .collect()
}

/// Runs [`CLIENTS`] clients made by `make_client` against the binary, sends SIGTERM
/// after 500 ms, and checks that no request was lost or failed.
async fn check_sigterm_under_load(make_client: fn() -> reqwest::Client) {
    let server = RunningBinary::start(&[("SHUTDOWN_TIMEOUT", "5s")]);
    let base_url = server.base_url();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|index| tokio::spawn(call_until_refused(make_client(), base_url.clone(), index)))
        .collect();

    tokio::time::sleep(Duration::from_millis(500)).await;
    server.send_signal("TERM");
    let signalled = Instant::now();
    let mut logs = Vec::new();
    for client in clients {
        logs.push(client.await.expect("a client task panicked"));
    }
    let (status, stdout, _) = server.wait(Duration::from_secs(8));
    let stopped_after = signalled.elapsed();

    let answered = ids_answered_by_server(&stdout);
    let completed: HashSet<String> = logs.iter().flat_map(|log| log.completed.clone()).collect();
    let lost: Vec<&String> = answered.difference(&completed).collect();
    let failed: Vec<&String> = logs.iter().flat_map(|log| &log.failed).collect();
    eprintln!(
        "drain: {} complete, {} answered by the server, {} lost, {} failed, stopped {stopped_after:?} after SIGTERM",
        completed.len(),
        answered.len(),
        lost.len(),
        failed.len()
    );

    assert!(status.success(), "exit status {status}");
    assert!(
        stopped_after < Duration::from_secs(7),
        "stopped after {stopped_after:?}"
    );
    assert!(
        completed.len() > CLIENTS,
        "too little load: {} requests",
        completed.len()
    );
    assert!(lost.is_empty(), "answered but not received: {lost:?}");
    assert!(failed.is_empty(), "failed instead of refused: {failed:?}");
    let refused = logs.iter().filter(|log| log.ended_refused).count();
    assert_eq!(refused, CLIENTS, "clients whose last attempt was refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_no_request() {
    check_sigterm_under_load(reqwest::Client::new).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_connection_per_request() {
    fn one_connection_per_request() -> reqwest::Client {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("failed to build a client")
    }
    check_sigterm_under_load(one_connection_per_request).await;
}
