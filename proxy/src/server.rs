//! The accept loops: one single-threaded runtime per core, each accepting from its own
//! socket of an `SO_REUSEPORT` group and serving its connections to the end; one task per
//! connection, HTTP/1.1 or HTTP/2 (prior knowledge); graceful shutdown that stops accepting
//! and drains in-flight streams within a bound.
//!
//! A connection, its requests and their upstream connections all stay on one thread: with a
//! work-stealing runtime every relayed frame woke another thread, and that wake-up was most
//! of the proxy's cost per small request.

use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;

use crate::{stack, ProxyError, Shared};

thread_local! {
    static WORKER: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How many accept workers serve (one per core).
pub(crate) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The index of the worker this thread is (0 outside the workers).
pub(crate) fn worker_index() -> usize {
    WORKER.with(std::cell::Cell::get)
}

/// One listening socket per worker, all bound to `addr` with `SO_REUSEPORT`, so the kernel
/// spreads new connections evenly: workers sharing one socket let whichever woke first drain
/// the whole backlog, and a burst of connections piled onto one core.
///
/// A plain bind first proves nothing else holds the address (a second airlock started by
/// mistake must fail, not silently take half the connections).
pub(crate) fn bind_workers(
    addr: std::net::SocketAddr,
) -> Result<Vec<std::net::TcpListener>, ProxyError> {
    let bad = |source| ProxyError::Bind { addr, source };
    if addr.port() != 0 {
        // std sets SO_REUSEADDR only: connections of a previous run in TIME_WAIT do not fail
        // this; any listener on the address, with or without SO_REUSEPORT, does.
        drop(std::net::TcpListener::bind(addr).map_err(bad)?);
    }
    let first = reuseport_listener(addr).map_err(bad)?;
    let bound = first.local_addr().map_err(bad)?;
    let mut listeners = vec![first];
    for _ in 1..workers() {
        listeners.push(reuseport_listener(bound).map_err(bad)?);
    }
    Ok(listeners)
}

fn reuseport_listener(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(1024)?;
    listener.into_std()
}

pub(crate) async fn serve(
    listeners: Vec<std::net::TcpListener>,
    shared: Arc<arc_swap::ArcSwap<Shared>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> Result<(), ProxyError> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Each worker reports how it ended; one that fails for good (or panics) stops the rest.
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let workers = listeners.len();
    for (index, listener) in listeners.into_iter().enumerate() {
        let (shared, tls, stopped, report) =
            (shared.clone(), tls.clone(), stopped.clone(), report.clone());
        std::thread::Builder::new()
            .name(format!("airlock-worker-{index}"))
            .spawn(move || {
                let run = || worker(index, listener, shared, tls, stopped, drain);
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                    .unwrap_or_else(|_| {
                        Err(ProxyError::Accept(std::io::Error::other(
                            "a worker panicked",
                        )))
                    });
                let _ = report.send(result);
            })
            .map_err(ProxyError::Accept)?;
    }
    tokio::pin!(shutdown);
    let mut outcome = Ok(());
    let mut running = workers;
    tokio::select! {
        () = &mut shutdown => {}
        Some(result) = reports.recv() => {
            running -= 1;
            outcome = result;
        }
    }
    tracing::info!("shutting down: no new connections, draining in-flight requests");
    let _ = stop.send(true);
    while running > 0 {
        let Some(result) = reports.recv().await else {
            break;
        };
        running -= 1;
        if result.is_err() {
            outcome = result;
        }
    }
    outcome
}

/// One accept worker: a single-threaded runtime serving from its copy of the listener until
/// `stopped` says so.
fn worker(
    index: usize,
    listener: std::net::TcpListener,
    shared: Arc<arc_swap::ArcSwap<Shared>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
    drain: Duration,
) -> Result<(), ProxyError> {
    WORKER.with(|w| w.set(index));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(ProxyError::Accept)?;
    runtime.block_on(async move {
        tokio::spawn(keep_a_timer_due());
        let listener = tokio::net::TcpListener::from_std(listener).map_err(ProxyError::Accept)?;
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        accept_loop(listener, shared, tls, shutdown, drain).await
    })
}

/// Keeps a timer of this worker's runtime due within [`TIMER_HEARTBEAT`], for its life.
///
/// Every request sets a timer (the upstream timeout, minutes away). Tokio wakes its driver
/// (a `write` to its eventfd) whenever a new timer is due before every pending one: with no
/// other timer pending, that was once per request, one of the seven system calls a request
/// cost a worker at one connection. With this one pending, a request's timer is later, and
/// the driver learns of it when it next parks.
async fn keep_a_timer_due() {
    let mut ticks = tokio::time::interval(TIMER_HEARTBEAT);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
    }
}

/// Shorter than the timeouts a request sets (seconds to minutes; one configured shorter only
/// brings the wake back).
const TIMER_HEARTBEAT: Duration = Duration::from_millis(500);

async fn accept_loop(
    listener: tokio::net::TcpListener,
    shared: Arc<arc_swap::ArcSwap<Shared>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> Result<(), ProxyError> {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    let metrics = shared.load().metrics.clone();
    metrics.set_ready(true);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Running out of file descriptors or a connection reset before accept is
                // transient: back off briefly instead of spinning or dying.
                Err(error) if is_transient(&error) => {
                    tracing::warn!(%error, "accept failed; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(error) => return Err(ProxyError::Accept(error)),
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let service = service_fn(move |request| {
            // The configuration current when the request arrives (a reload swaps it).
            let shared = shared.load_full();
            async move { Ok::<_, std::convert::Infallible>(stack::handle(shared, request).await) }
        });
        if let Some(acceptor) = &tls {
            // The handshake runs in the connection's task, never in the accept loop.
            let (acceptor, builder, watcher) =
                (acceptor.clone(), builder.clone(), graceful.watcher());
            tokio::spawn(async move {
                let stream = match acceptor.accept(stream).await {
                    Ok(stream) => stream,
                    Err(error) => {
                        tracing::debug!(%error, "TLS handshake with a client failed");
                        return;
                    }
                };
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                if let Err(error) = watcher.watch(connection).await {
                    tracing::debug!(%error, "connection ended with an error");
                }
            });
            continue;
        }
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    // New connections are refused at once rather than queued behind the drain.
    drop(listener);
    metrics.set_ready(false);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(?drain, "drain bound reached; closing remaining connections");
    }
    Ok(())
}

fn is_transient(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || error
        .raw_os_error()
        .is_some_and(|code| code == 24 || code == 23) // EMFILE, ENFILE
}
