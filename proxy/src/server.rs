//! The accept loops: one single-threaded runtime per core, each accepting from the same
//! listening socket and serving its connections to the end; one task per connection,
//! HTTP/1.1 or HTTP/2 (prior knowledge); graceful shutdown that stops accepting and drains
//! in-flight streams within a bound.
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

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    shared: Arc<arc_swap::ArcSwap<Shared>>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> Result<(), ProxyError> {
    let listener = listener.into_std().map_err(ProxyError::Accept)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Each worker reports how it ended; one that fails for good (or panics) stops the rest.
    let (report, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let workers = workers();
    for index in 0..workers {
        let listener = listener.try_clone().map_err(ProxyError::Accept)?;
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
    drop(listener);
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
        let listener = tokio::net::TcpListener::from_std(listener).map_err(ProxyError::Accept)?;
        let shutdown = async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        accept_loop(listener, shared, tls, shutdown, drain).await
    })
}

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
