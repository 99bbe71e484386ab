//! A request body that gives up when the client stops sending: the body
//! timeout of the HTTP server. The clock runs only while a handler waits
//! for the next piece, so a handler that starts reading late is not
//! charged for its own delay.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::time::Sleep;

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed or the client sent malformed framing.
    #[error("request body: {0}")]
    Read(#[from] hyper::Error),
    /// The client sent nothing for the body timeout.
    #[error("request body stalled for {0:?}")]
    Stalled(Duration),
}

/// `inner`, failing with [`BodyError::Stalled`] when no piece of it comes
/// for `patience` while someone waits for one.
pub struct TimedBody<B> {
    inner: B,
    patience: Duration,
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<B> TimedBody<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, patience: Duration) -> Self {
        Self {
            inner,
            patience,
            waiting: None,
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = None;
            return Poll::Ready(frame.map(|f| f.map_err(BodyError::from)));
        }
        let patience = this.patience;
        let timer = this
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(patience)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Stalled(patience)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
