//! Panics in handlers: caught where the handler's future is polled, so a
//! panicking handler fails its request (a 500) or its record, and the
//! process serves the next invocation.

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
pub(crate) fn panic_message(panic: &Box<dyn Any + Send>) -> Cow<'static, str> {
    if let Some(s) = panic.downcast_ref::<&str>() {
        Cow::Owned((*s).to_owned())
    } else if let Some(s) = panic.downcast_ref::<String>() {
        Cow::Owned(s.clone())
    } else {
        Cow::Borrowed("(non-string panic payload)")
    }
}

/// Polls `fut`, turning a panic into `Err(payload)`.
pub(crate) struct CatchUnwind<F> {
    pub(crate) fut: F,
}

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = &mut self.fut;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(fut).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(r)) => Poll::Ready(Ok(r)),
            Err(p) => Poll::Ready(Err(p)),
        }
    }
}
