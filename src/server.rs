//! Listening sockets, the connection loop and graceful shutdown.
//!
//! Connections are served by hyper's HTTP/1 builder directly, not `axum::serve`, because
//! only the builder takes a timer, and without a timer the header-read timeout never
//! fires.

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::{Limits, ListenHost};

/// Maximum size of a request head (request line and headers), in bytes. hyper responds
/// to a larger head with 431. It leaves room for a 16 KiB bearer token.
pub const MAX_HEAD_BYTES: usize = 32 * 1024;

/// Pause after an `accept` error, such as running out of file descriptors, so that the
/// loop does not spin and flood the log.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Part of the shutdown time in which keep-alive connections still get responses, each
/// with `Connection: close`, before idle connections are closed. A client that sent a
/// request on an idle connection just as it closed would otherwise see the connection
/// drop without a response.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// Interval at which the drain grace checks whether every connection has closed.
const DRAIN_POLL: Duration = Duration::from_millis(10);

/// Failure to open a listening socket, with the address and a hint for the fix.
#[derive(Debug, thiserror::Error)]
#[error("failed to listen on {addr}: {source}. {hint}")]
pub struct BindError {
    pub addr: SocketAddr,
    #[source]
    pub source: io::Error,
    pub hint: &'static str,
}

/// Opens the listening sockets for `host` and `port`.
///
/// [`ListenHost::Loopback`] opens 127.0.0.1 and then ::1 on the same port, so `port` 0
/// picks one free port for both. If the host has no IPv6, it listens on 127.0.0.1 alone
/// and logs a warning.
///
/// # Errors
///
/// Returns a [`BindError`] for the first address that cannot be bound.
pub async fn bind(host: ListenHost, port: u16) -> Result<Vec<TcpListener>, BindError> {
    let first_ip = match host {
        ListenHost::Loopback => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ListenHost::Addr(ip) => ip,
    };
    let first = bind_one(SocketAddr::new(first_ip, port)).await?;
    if host != ListenHost::Loopback {
        return Ok(vec![first]);
    }

    let bound_port = first.local_addr().map_or(port, |addr| addr.port());
    let ipv6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound_port);
    match bind_one(ipv6).await {
        Ok(second) => Ok(vec![first, second]),
        Err(error) if ipv6_unavailable(&error.source) => {
            tracing::warn!(addr = %ipv6, error = %error.source, "IPv6 loopback unavailable; listening on IPv4 only");
            Ok(vec![first])
        }
        Err(error) => Err(error),
    }
}

async fn bind_one(addr: SocketAddr) -> Result<TcpListener, BindError> {
    TcpListener::bind(addr).await.map_err(|source| {
        let hint = match source.kind() {
            io::ErrorKind::AddrInUse => {
                "Another process is using this port: stop it, or set PORT to a free port."
            }
            io::ErrorKind::PermissionDenied => {
                "Ports below 1024 need extra privileges: set PORT to 1024 or above."
            }
            io::ErrorKind::AddrNotAvailable => {
                "This address is not assigned to any interface of the host: check HOST."
            }
            _ => "Check HOST and PORT.",
        };
        BindError { addr, source, hint }
    })
}

fn ipv6_unavailable(error: &io::Error) -> bool {
    const EAFNOSUPPORT: i32 = 97;
    error.kind() == io::ErrorKind::AddrNotAvailable || error.raw_os_error() == Some(EAFNOSUPPORT)
}

/// SIGINT and SIGTERM handlers, registered before the server starts so that a signal
/// sent during start-up is not lost.
pub struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    /// Registers the handlers. Needs a running Tokio runtime.
    ///
    /// # Errors
    ///
    /// Returns the error of `tokio::signal::unix::signal` if a handler cannot be set.
    pub fn register() -> io::Result<Self> {
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    /// Returns a future that completes at the first signal, which starts a graceful
    /// shutdown. A second signal ends the process at once with status 1, for when open
    /// requests take longer than the operator wants to wait.
    pub fn graceful_then_forced(mut self) -> impl Future<Output = ()> + Send {
        let (first_received, first) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let name = self.recv().await;
            tracing::info!(
                signal = name,
                "shutdown signal received; no longer accepting connections"
            );
            let _ = first_received.send(());

            let name = self.recv().await;
            tracing::warn!(
                signal = name,
                "second shutdown signal received; exiting without waiting for open requests"
            );
            std::process::exit(1);
        });
        async move {
            let _ = first.await;
        }
    }
}

/// Serves `router` on every listener until `shutdown` completes, then stops accepting,
/// lets open requests finish for up to `limits.shutdown_timeout` and returns.
pub async fn serve(
    listeners: Vec<TcpListener>,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) {
    let draining = Arc::new(AtomicBool::new(false));
    let router = router.layer(axum::middleware::map_response({
        let draining = Arc::clone(&draining);
        move |response| close_when_draining(response, Arc::clone(&draining))
    }));

    // Shared by the accept loops, and unwrapped again once they have ended.
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_accepting, accepting) = watch::channel(());

    let mut accept_loops = JoinSet::new();
    for listener in listeners {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "listening");
        }
        accept_loops.spawn(accept_connections(
            listener,
            router.clone(),
            limits,
            Arc::clone(&graceful),
            accepting.clone(),
        ));
    }
    drop(accepting);

    shutdown.await;
    // From here every response closes its connection, so busy keep-alive clients get
    // their response and then find the listener closed.
    draining.store(true, Ordering::Relaxed);
    // Each loop ends when the sender is dropped: it accepts what is already in the
    // backlog and closes its listener, so new connections are refused from here on.
    drop(stop_accepting);
    while accept_loops.join_next().await.is_some() {}
    let graceful = Arc::into_inner(graceful)
        .expect("every accept loop has ended, so no other reference remains");

    tracing::info!(
        open_connections = graceful.count(),
        "waiting for open requests to finish"
    );
    let grace = DRAIN_GRACE.min(limits.shutdown_timeout);
    let grace_started = tokio::time::Instant::now();
    while graceful.count() > 0 && grace_started.elapsed() < grace {
        tokio::time::sleep(DRAIN_POLL).await;
    }

    let remaining = limits
        .shutdown_timeout
        .saturating_sub(grace_started.elapsed());
    match tokio::time::timeout(remaining, graceful.shutdown()).await {
        Ok(()) => tracing::info!("all requests finished; server stopped"),
        Err(_) => tracing::warn!(
            timeout_ms = limits.shutdown_timeout.as_millis(),
            "shutdown timed out with connections still open; closing them"
        ),
    }
}

async fn close_when_draining(mut response: Response, draining: Arc<AtomicBool>) -> Response {
    if draining.load(Ordering::Relaxed) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

async fn accept_connections(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    graceful: Arc<GracefulShutdown>,
    mut accepting: watch::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            biased;
            _ = accepting.changed() => {
                accept_backlog(listener, &router, limits, &graceful);
                return;
            }
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => serve_connection(stream, router.clone(), limits, &graceful),
            Err(error) => {
                tracing::warn!(%error, "failed to accept a connection");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }
}

/// Accepts the connections that the kernel has already completed, because closing the
/// listener would reset them after their clients sent a request.
///
/// NOTE: a connection completed between the last `accept` here and the close is still
/// reset. The window is the few microseconds this function takes to return.
fn accept_backlog(
    listener: TcpListener,
    router: &Router,
    limits: Limits,
    graceful: &GracefulShutdown,
) {
    // `into_std` keeps the socket non-blocking, so `accept` returns `WouldBlock` once
    // the backlog is empty.
    let listener = match listener.into_std() {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, "failed to drain the accept backlog");
            return;
        }
    };
    loop {
        let stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) => {
                tracing::warn!(%error, "failed to accept a connection from the backlog");
                return;
            }
        };
        let stream = stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream));
        match stream {
            Ok(stream) => serve_connection(stream, router.clone(), limits, graceful),
            Err(error) => {
                tracing::warn!(%error, "failed to register a connection from the backlog")
            }
        }
    }
}

fn serve_connection(
    stream: TcpStream,
    router: Router,
    limits: Limits,
    graceful: &GracefulShutdown,
) {
    // Responses are written in one piece, so Nagle's algorithm would only add delay.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "failed to set TCP_NODELAY");
    }

    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(MAX_HEAD_BYTES)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
    let connection = graceful.watch(connection);

    tokio::spawn(async move {
        // hyper responds by itself to a request it cannot parse (400) or whose head is
        // too large (431), so these are logged here. The header-read timeout also closes
        // idle keep-alive connections, and clients that disconnect early are routine, so
        // both are logged at debug level only.
        if let Err(error) = connection.await {
            if error.is_parse() || error.is_parse_too_large() {
                tracing::info!(%error, "rejected a request that could not be read");
            } else if error.is_timeout() {
                tracing::debug!(%error, "closed a connection that sent no complete request head in time");
            } else {
                tracing::debug!(%error, "connection closed with an error");
            }
        }
    });
}
