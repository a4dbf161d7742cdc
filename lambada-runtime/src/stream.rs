//! Streamed responses: a body sent while it is being made.
//!
//! A handler returns [`Streaming`] (a `Stream` of byte chunks, or any
//! `AsyncRead`) or [`Sse`] (server-sent events), and the client gets each
//! chunk as the handler produces it, past API Gateway's 29-second and
//! 10 MB limits and Lambda's 6 MB one:
//!
//! ```
//! use lambada::prelude::*;
//! use lambada::stream::{Event, Sse, Streaming};
//!
//! /// A large CSV export, written row by row.
//! #[get("/export.csv")]
//! async fn export() -> Streaming {
//!     let (tx, body) = Streaming::channel(16);
//!     tokio::spawn(async move {
//!         for i in 0..3 {
//!             if tx.send(format!("{i},row {i}\n")).await.is_err() {
//!                 return; // the client is gone
//!             }
//!         }
//!     });
//!     body.content_type("text/csv")
//! }
//!
//! /// Progress as server-sent events.
//! #[get("/progress")]
//! async fn progress() -> Sse {
//!     let (tx, events) = Sse::channel(4);
//!     tokio::spawn(async move {
//!         for pct in [0, 50, 100] {
//!             let _ = tx.send(Event::new().event("progress").data(pct.to_string())).await;
//!         }
//!     });
//!     events
//! }
//!
//! let routes = routes![export, progress];
//! assert!(routes.iter().all(|r| (r.streams)()));
//! ```
//!
//! # Where it streams
//!
//! | front door | how |
//! |---|---|
//! | Function URL | `cargo lambada deploy` sets the URL's `InvokeMode` to `RESPONSE_STREAM` when any route streams; then every answer of the function goes through the Runtime API's streaming mode (non-streaming routes as one chunk) |
//! | REST API | a streaming route's integration gets `responseTransferMode: STREAM` and the `response-streaming-invocations` URI; only those routes stream |
//! | HTTP API, ALB | no streaming in AWS: the body is collected and sent whole (within the 6 MB limit) |
//! | HTTP server mode | chunked transfer encoding, chunk by chunk |
//!
//! Over the Runtime API a streamed answer is the prelude (status, headers,
//! cookies as JSON), eight NUL bytes, then the chunks, with
//! `Lambda-Runtime-Function-Response-Mode: streaming`. A stream that fails
//! after its first byte cannot change the status any more: the error goes
//! in the `Lambda-Runtime-Function-Error-Type` / `-Body` trailers, and the
//! client sees the body end early.
//!
//! A route streams when its return type says so ([`Streaming`], [`Sse`],
//! or a `Result` of one); a handler returning `impl IntoResponse` or a
//! hand-built [`Response`] with a streamed body says it with
//! `#[get("/…", stream)]`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
pub use futures_core::Stream;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use crate::response::{Body, IntoResponse, Response};

/// What a stream may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streamed body as the runtime drives it.
pub(crate) type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// Where a streamed body waits in a [`Response`]'s extensions until the
/// runtime takes it (an extension must be `Clone + Sync`: hence the slot).
#[derive(Clone)]
pub(crate) struct Slot(std::sync::Arc<std::sync::Mutex<Option<BodyStream>>>);

impl Slot {
    /// Takes the streamed body out of `res`, if it has one.
    pub(crate) fn take(res: &mut Response) -> Option<BodyStream> {
        let slot = res.extensions_mut().remove::<Slot>()?;
        let mut guard = slot.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.take()
    }
}

/// A response whose body is sent chunk by chunk as `S` yields it.
///
/// `S` is any [`Stream`] of `Result<B, E>` (`B: Into<Bytes>`, so `String`,
/// `Vec<u8>`, `&'static str` or [`Bytes`]); [`Streaming::channel`] gives a
/// sender instead, [`Streaming::reader`] streams an [`AsyncRead`] (a file,
/// a child process's output, an S3 object body). The content type is
/// `application/octet-stream` unless set with
/// [`content_type`](Streaming::content_type).
pub struct Streaming<S = Chunks> {
    stream: S,
    content_type: HeaderValue,
}

impl<S> fmt::Debug for Streaming<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl<S, B, E> Streaming<S>
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: Into<Bytes>,
    E: Into<BoxError>,
{
    /// Streams `stream`.
    pub fn new(stream: S) -> Streaming<S> {
        Streaming {
            stream,
            content_type: HeaderValue::from_static("application/octet-stream"),
        }
    }
}

impl<S> Streaming<S> {
    /// Sets the `Content-Type` (a value that is not a valid header value is
    /// ignored).
    pub fn content_type(mut self, content_type: &str) -> Streaming<S> {
        if let Ok(v) = HeaderValue::from_str(content_type) {
            self.content_type = v;
        }
        self
    }
}

/// The chunks of [`Streaming::channel`] and [`Streaming::reader`]: a
/// [`Stream`] of `Result<Bytes, BoxError>`.
pub struct Chunks(BodyStream);

impl fmt::Debug for Chunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Chunks")
    }
}

impl Stream for Chunks {
    type Item = Result<Bytes, BoxError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl Streaming {
    /// A body fed through a channel of `capacity` chunks: the handler
    /// returns the body at once and a task it spawns sends the chunks; the
    /// body ends when every [`Sender`] is dropped, and fails when one sends
    /// [`Sender::fail`].
    pub fn channel(capacity: usize) -> (Sender, Streaming) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let body = Streaming {
            stream: Chunks(Box::pin(Receiver(rx))),
            content_type: HeaderValue::from_static("application/octet-stream"),
        };
        (Sender(tx), body)
    }

    /// Streams what `reader` reads, in chunks of up to 16 KiB.
    pub fn reader(reader: impl AsyncRead + Send + 'static) -> Streaming {
        Streaming {
            stream: Chunks(Box::pin(Reader {
                reader: Box::pin(reader),
                buf: BytesMut::new(),
                done: false,
            })),
            content_type: HeaderValue::from_static("application/octet-stream"),
        }
    }
}

/// The sending half of [`Streaming::channel`] (and, through [`Sse`], of
/// [`Sse::channel`]).
#[derive(Debug, Clone)]
pub struct Sender(mpsc::Sender<Result<Bytes, BoxError>>);

/// The client went away (or the runtime stopped reading): no more chunks
/// are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the streamed response is closed")
    }
}

impl std::error::Error for Closed {}

impl Sender {
    /// Sends a chunk, waiting while the channel is full.
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), Closed> {
        self.0.send(Ok(chunk.into())).await.map_err(|_| Closed)
    }

    /// Ends the body with an error: the client sees it end early, and
    /// Lambda records the error (in the `Lambda-Runtime-Function-Error-*`
    /// trailers).
    pub async fn fail(&self, error: impl Into<BoxError>) -> Result<(), Closed> {
        self.0.send(Err(error.into())).await.map_err(|_| Closed)
    }
}

struct Receiver(mpsc::Receiver<Result<Bytes, BoxError>>);

impl Stream for Receiver {
    type Item = Result<Bytes, BoxError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

struct Reader {
    reader: Pin<Box<dyn AsyncRead + Send>>,
    buf: BytesMut,
    done: bool,
}

impl Stream for Reader {
    type Item = Result<Bytes, BoxError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        this.buf.resize(16 * 1024, 0);
        let mut read = ReadBuf::new(&mut this.buf);
        match this.reader.as_mut().poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                this.done = true;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(Ok(())) => {
                let n = read.filled().len();
                if n == 0 {
                    this.done = true;
                    return Poll::Ready(None);
                }
                this.buf.truncate(n);
                Poll::Ready(Some(Ok(this.buf.split().freeze())))
            }
        }
    }
}

/// Adapts a user's stream to [`BodyStream`]'s item type.
struct Adapt<S>(S);

impl<S, B, E> Stream for Adapt<S>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: Into<Bytes>,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0)
            .poll_next(cx)
            .map(|o| o.map(|r| r.map(Into::into).map_err(Into::into)))
    }
}

/// A response with `body` streamed and `content_type`.
pub(crate) fn streamed_response(body: BodyStream, content_type: HeaderValue) -> Response {
    let mut res = Response::new(Body::new());
    res.headers_mut().insert(CONTENT_TYPE, content_type);
    res.extensions_mut()
        .insert(Slot(std::sync::Arc::new(std::sync::Mutex::new(Some(body)))));
    res
}

impl<S, B, E> IntoResponse for Streaming<S>
where
    S: Stream<Item = Result<B, E>> + Send + 'static,
    B: Into<Bytes>,
    E: Into<BoxError>,
{
    const STREAMS: bool = true;

    fn into_response(self) -> Response {
        streamed_response(Box::pin(Adapt(Box::pin(self.stream))), self.content_type)
    }
}

/// One server-sent event (`text/event-stream`, per the HTML standard's
/// "server-sent events" section): `event`, `data` (one `data:` line per
/// line of it), `id` and `retry` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    event: Option<String>,
    data: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
}

impl Event {
    /// An event with no fields yet.
    pub fn new() -> Event {
        Event::default()
    }

    /// The event's type (`event:`); a line break in it is replaced by a
    /// space (it would end the field).
    pub fn event(mut self, event: impl Into<String>) -> Event {
        self.event = Some(one_line(event.into()));
        self
    }

    /// Its data (`data:`, a line per line).
    pub fn data(mut self, data: impl Into<String>) -> Event {
        self.data = Some(data.into());
        self
    }

    /// Its data: `value` as JSON.
    pub fn json_data<T: serde::Serialize>(self, value: &T) -> Result<Event, serde_json::Error> {
        Ok(self.data(serde_json::to_string(value)?))
    }

    /// Its id (`id:`): what the browser sends back as `Last-Event-ID`.
    pub fn id(mut self, id: impl Into<String>) -> Event {
        self.id = Some(one_line(id.into()).replace('\0', ""));
        self
    }

    /// How long the browser waits before reconnecting (`retry:`, in ms).
    pub fn retry(mut self, ms: u64) -> Event {
        self.retry = Some(ms);
        self
    }

    /// The event on the wire, ending with its blank line.
    pub fn to_bytes(&self) -> Bytes {
        use std::fmt::Write as _;
        let mut out = String::new();
        if let Some(e) = &self.event {
            let _ = writeln!(out, "event: {e}");
        }
        if let Some(d) = &self.data {
            for line in d.split(['\n']).map(|l| l.strip_suffix('\r').unwrap_or(l)) {
                let _ = writeln!(out, "data: {line}");
            }
        }
        if let Some(id) = &self.id {
            let _ = writeln!(out, "id: {id}");
        }
        if let Some(r) = self.retry {
            let _ = writeln!(out, "retry: {r}");
        }
        if out.is_empty() {
            // An event with no field: a comment keeps the connection alive.
            out.push_str(":\n");
        }
        out.push('\n');
        Bytes::from(out)
    }
}

fn one_line(s: String) -> String {
    if s.contains(['\n', '\r']) {
        s.replace(['\n', '\r'], " ")
    } else {
        s
    }
}

/// A stream of server-sent events (`text/event-stream`, no caching).
pub struct Sse<S = EventReceiver> {
    events: S,
}

impl<S> fmt::Debug for Sse<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sse").finish_non_exhaustive()
    }
}

impl<S, E> Sse<S>
where
    S: Stream<Item = Result<Event, E>> + Send + 'static,
    E: Into<BoxError>,
{
    /// Streams `events`.
    pub fn new(events: S) -> Sse<S> {
        Sse { events }
    }
}

impl Sse {
    /// Events fed through a channel of `capacity`: see
    /// [`Streaming::channel`]. The stream ends when every sender is dropped.
    pub fn channel(capacity: usize) -> (EventSender, Sse) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (
            EventSender(tx),
            Sse {
                events: EventReceiver(rx),
            },
        )
    }
}

/// The sending half of [`Sse::channel`].
#[derive(Debug, Clone)]
pub struct EventSender(mpsc::Sender<Result<Event, BoxError>>);

impl EventSender {
    /// Sends an event, waiting while the channel is full.
    pub async fn send(&self, event: Event) -> Result<(), Closed> {
        self.0.send(Ok(event)).await.map_err(|_| Closed)
    }

    /// Ends the stream with an error (see [`Sender::fail`]).
    pub async fn fail(&self, error: impl Into<BoxError>) -> Result<(), Closed> {
        self.0.send(Err(error.into())).await.map_err(|_| Closed)
    }
}

/// The events of [`Sse::channel`].
#[derive(Debug)]
pub struct EventReceiver(mpsc::Receiver<Result<Event, BoxError>>);

impl Stream for EventReceiver {
    type Item = Result<Event, BoxError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

struct Events<S>(S);

impl<S, E> Stream for Events<S>
where
    S: Stream<Item = Result<Event, E>> + Unpin,
    E: Into<BoxError>,
{
    type Item = Result<Bytes, BoxError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0)
            .poll_next(cx)
            .map(|o| o.map(|r| r.map(|e| e.to_bytes()).map_err(Into::into)))
    }
}

fn sse_response(body: BodyStream) -> Response {
    let mut res = streamed_response(body, HeaderValue::from_static("text/event-stream"));
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

impl<S, E> IntoResponse for Sse<S>
where
    S: Stream<Item = Result<Event, E>> + Send + 'static,
    E: Into<BoxError>,
{
    const STREAMS: bool = true;

    fn into_response(self) -> Response {
        sse_response(Box::pin(Events(Box::pin(self.events))))
    }
}

/// A body of one chunk (none when `body` is empty).
pub(crate) fn once(body: Bytes) -> BodyStream {
    struct Once(Option<Bytes>);
    impl Stream for Once {
        type Item = Result<Bytes, BoxError>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(self.0.take().filter(|b| !b.is_empty()).map(Ok))
        }
    }
    Box::pin(Once(Some(body)))
}

/// Polls `body` for its next chunk; a panic while making it is an error,
/// and the end of the body.
pub(crate) fn poll_next(
    body: &mut BodyStream,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Bytes, BoxError>>> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body.as_mut().poll_next(cx))) {
        Ok(p) => p,
        Err(panic) => {
            let msg = crate::panic::panic_message(&panic);
            tracing::error!(panic = %msg, "streamed body panicked");
            // Nothing more comes from a stream that panicked.
            *body = once(Bytes::new());
            Poll::Ready(Some(Err(
                format!("the streamed body panicked: {msg}").into()
            )))
        }
    }
}

/// The next chunk of a streamed body; a panic while making it is an error
/// (the process serves on), and so is everything after it.
pub(crate) async fn next(body: &mut BodyStream) -> Option<Result<Bytes, BoxError>> {
    std::future::poll_fn(|cx| poll_next(body, cx)).await
}

/// Reads a streamed body to its end (for front doors that cannot stream):
/// the chunks joined, or the first error.
pub(crate) async fn collect(mut body: BodyStream) -> Result<Bytes, BoxError> {
    let mut out = BytesMut::new();
    while let Some(chunk) = next(&mut body).await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out.freeze())
}

/// Whether a route's return type streams: `(&&StreamProbe::<T>::new()).streams()`
/// is `T::STREAMS` when `T: IntoResponse`, else `false` (the route attribute
/// reports that error where the handler returns).
#[doc(hidden)]
#[derive(Debug)]
pub struct StreamProbe<T: ?Sized>(std::marker::PhantomData<T>);

impl<T: ?Sized> StreamProbe<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> StreamProbe<T> {
        StreamProbe(std::marker::PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaStreams {
    fn streams(&self) -> bool;
}

impl<T: IntoResponse> ViaStreams for &StreamProbe<T> {
    fn streams(&self) -> bool {
        T::STREAMS
    }
}

#[doc(hidden)]
pub trait ViaNoStream {
    fn streams(&self) -> bool {
        false
    }
}

impl<T: ?Sized> ViaNoStream for StreamProbe<T> {}
