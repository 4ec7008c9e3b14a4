//! The response's way back to the client, after its headers: undoing a content coding so the
//! meter can read usage, watching for an upstream that goes quiet mid-stream, and holding the
//! request's concurrency permit until the body ends.
//!
//! Frames are relayed as they arrive, never held for later. A stream that fails (the
//! upstream resets it, goes silent for longer than `stream_idle_timeout`, or sends bytes that
//! do not decode as its `Content-Encoding` says) ends the client's response with an error,
//! so the client sees a truncated stream rather than a clean end, and is counted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use crate::codec::StreamDecoder;
use crate::{BoxError, Metrics};

/// Why a response stream ended early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StreamFailure {
    #[error("the upstream sent nothing for {0:?} in the middle of its response")]
    Idle(Duration),
    #[error("the upstream's response does not decode as its Content-Encoding says")]
    Undecodable,
}

/// A body with its `Content-Encoding` undone, frame by frame.
pub(crate) struct Decoded<B> {
    inner: B,
    decoder: StreamDecoder,
    done: bool,
}

impl<B> Decoded<B> {
    fn undecodable(&mut self) -> BoxError {
        self.done = true;
        Box::new(StreamFailure::Undecodable)
    }

    pub(crate) fn new(inner: B, decoder: StreamDecoder) -> Self {
        Decoded {
            inner,
            decoder,
            done: false,
        }
    }
}

impl<B> Body for Decoded<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let Some(data) = frame.data_ref() else {
                        return Poll::Ready(Some(Ok(frame)));
                    };
                    match this.decoder.push(data) {
                        Ok(out) if out.is_empty() => continue,
                        Ok(out) => return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out))))),
                        Err(_) => return Poll::Ready(Some(Err(this.undecodable()))),
                    }
                }
                Some(Err(error)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.done = true;
                    return match this.decoder.finish() {
                        Ok(out) if out.is_empty() => Poll::Ready(None),
                        Ok(out) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(out))))),
                        Err(_) => Poll::Ready(Some(Err(this.undecodable()))),
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The outermost response body: the idle timer, the concurrency permit, and the count of
/// streams that failed.
pub(crate) struct Relay<B> {
    inner: B,
    idle: Duration,
    /// Armed the first time the body waits; moved on only when it fires early.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    last_frame: Instant,
    upstream: String,
    metrics: Arc<Metrics>,
    done: bool,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl<B> Relay<B> {
    pub(crate) fn new(
        inner: B,
        idle: Duration,
        upstream: &str,
        metrics: Arc<Metrics>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Self {
        Relay {
            inner,
            idle,
            timer: None,
            last_frame: Instant::now(),
            upstream: upstream.to_owned(),
            metrics,
            done: false,
            _permit: permit,
        }
    }

    fn fail(&mut self, error: BoxError) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.done = true;
        let reason = match error.downcast_ref::<StreamFailure>() {
            Some(StreamFailure::Idle(_)) => "idle_timeout",
            Some(StreamFailure::Undecodable) => "undecodable",
            None => "reset",
        };
        tracing::warn!(upstream = %self.upstream, reason, error = %error, "response stream failed");
        self.metrics.stream_failure(&self.upstream, reason);
        Poll::Ready(Some(Err(error)))
    }
}

impl<B> Body for Relay<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.last_frame = Instant::now();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => this.fail(error),
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => {
                // The timer is not moved on every frame (a timer-wheel update per event); when
                // it fires, it checks whether a frame came since and, if so, waits again.
                let deadline = tokio::time::Instant::from_std(this.last_frame + this.idle);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                loop {
                    match timer.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(()) if timer.deadline() < deadline => {
                            timer.as_mut().reset(deadline);
                        }
                        Poll::Ready(()) => {
                            return this.fail(Box::new(StreamFailure::Idle(this.idle)));
                        }
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
