//! The Lambda custom runtime: a lean Runtime API client.
//!
//! Four endpoints (`next`, `response`, `error`, `init/error`) over one
//! keep-alive HTTP/1.1 connection, on the caller's task. The protocol is
//! small and fixed (one request at a time, answers framed by
//! `Content-Length` or chunked, as RAPID's Go server sends them), so the
//! client writes each request in one `write` and parses answers with
//! `httparse`, reusing two buffers: no connection task, no wake-ups
//! between tasks, no allocation per invocation in the client. The
//! official `lambda_runtime` crate pools connections through hyper-util's
//! legacy client, which races a new connect against the pool checkout and
//! opens hundreds of connections per thousand invocations, and runs a
//! tower stack per event; see the README's performance section for the
//! figures of both.

use std::io::Write as _;
use std::ops::Range;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::Error;
use crate::dispatch::{Answer, App, Streamed};
use crate::invocation::Invocation;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

/// An answer of the Runtime API, read into a caller's buffer: where its
/// parts are in that buffer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Reply {
    status: u16,
    body: Range<usize>,
    request_id: Option<Range<usize>>,
    deadline_ms: Option<Range<usize>>,
    function_arn: Option<Range<usize>>,
    trace_id: Option<Range<usize>>,
    /// `Connection: close`, or HTTP/1.0: the server will not read another
    /// request on this connection.
    close: bool,
}

/// How the body of an answer is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    /// Neither: the body runs to the end of the connection.
    UntilClose,
}

/// Parses a complete answer head at the start of `buf`: `None` while it is
/// incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Reply, Framing)>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut headers);
    let head_len = match res
        .parse(buf)
        .map_err(|e| format!("the Runtime API sent a malformed answer: {e}"))?
    {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return Ok(None),
    };
    let base = buf.as_ptr() as usize;
    // Where a header value sits in `buf` (httparse borrows from it).
    let range = |v: &[u8]| {
        let start = v.as_ptr() as usize - base;
        start..start + v.len()
    };
    let mut reply = Reply {
        status: res.code.unwrap_or(0),
        close: res.version == Some(0),
        ..Reply::default()
    };
    let mut framing = Framing::UntilClose;
    for h in res.headers.iter() {
        let name = h.name;
        if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .ok_or("the Runtime API sent an invalid Content-Length")?;
            if framing != Framing::Chunked {
                framing = Framing::Length(n);
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if h.value.eq_ignore_ascii_case(b"chunked") {
                framing = Framing::Chunked;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            reply.close = h.value.eq_ignore_ascii_case(b"close");
        } else if name.eq_ignore_ascii_case("lambda-runtime-aws-request-id") {
            reply.request_id = Some(range(h.value));
        } else if name.eq_ignore_ascii_case("lambda-runtime-deadline-ms") {
            reply.deadline_ms = Some(range(h.value));
        } else if name.eq_ignore_ascii_case("lambda-runtime-invoked-function-arn") {
            reply.function_arn = Some(range(h.value));
        } else if name.eq_ignore_ascii_case("lambda-runtime-trace-id") {
            reply.trace_id = Some(range(h.value));
        }
    }
    // Answers that never have a body.
    if reply.status / 100 == 1 || reply.status == 204 || reply.status == 304 {
        framing = Framing::Length(0);
    }
    Ok(Some((head_len, reply, framing)))
}

/// Decodes a chunked body in place, as its bytes arrive: the data of each
/// chunk is moved down to the end of the data before it, so the body ends
/// up contiguous right after the head.
#[derive(Debug)]
struct Dechunk {
    /// The next byte not parsed yet.
    raw: usize,
    /// The end of the body decoded so far.
    out: usize,
    state: Chunk,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// A chunk-size line is next.
    Size,
    /// So many data bytes are next.
    Data(usize),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines, up to an empty one.
    Trailer,
    Done,
}

fn line_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

impl Dechunk {
    fn new(body_start: usize) -> Dechunk {
        Dechunk {
            raw: body_start,
            out: body_start,
            state: Chunk::Size,
        }
    }

    /// Decodes what `buf[..filled]` holds; `true` once the body is whole.
    fn advance(&mut self, buf: &mut [u8], filled: usize) -> Result<bool, Error> {
        loop {
            match self.state {
                Chunk::Size => {
                    let Some(end) = line_end(&buf[self.raw..filled]) else {
                        return Ok(false);
                    };
                    let line = &buf[self.raw..self.raw + end];
                    let digits = line.split(|b| *b == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(digits)
                        .ok()
                        .and_then(|d| usize::from_str_radix(d.trim(), 16).ok())
                        .ok_or("the Runtime API sent an invalid chunk size")?;
                    self.raw += end + 2;
                    self.state = if size == 0 {
                        Chunk::Trailer
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    let n = left.min(filled - self.raw);
                    if n == 0 {
                        return Ok(false);
                    }
                    buf.copy_within(self.raw..self.raw + n, self.out);
                    self.raw += n;
                    self.out += n;
                    self.state = if n == left {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left - n)
                    };
                }
                Chunk::DataEnd => {
                    if filled - self.raw < 2 {
                        return Ok(false);
                    }
                    if &buf[self.raw..self.raw + 2] != b"\r\n" {
                        return Err("the Runtime API sent a malformed chunk".into());
                    }
                    self.raw += 2;
                    self.state = Chunk::Size;
                }
                Chunk::Trailer => {
                    let Some(end) = line_end(&buf[self.raw..filled]) else {
                        return Ok(false);
                    };
                    self.raw += end + 2;
                    if end == 0 {
                        self.state = Chunk::Done;
                    }
                }
                Chunk::Done => return Ok(true),
            }
        }
    }
}

/// Reads one whole answer into `buf` (cleared first).
async fn read_reply(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Reply, Error> {
    buf.clear();
    let (head_len, mut reply, framing) = loop {
        if let Some(head) = parse_head(buf)? {
            break head;
        }
        if read_more(stream, buf, 0).await? == 0 {
            return Err(Closed.into());
        }
    };
    match framing {
        Framing::Length(n) => {
            let end = head_len + n;
            while buf.len() < end {
                if read_more(stream, buf, end - buf.len()).await? == 0 {
                    return Err(Closed.into());
                }
            }
            if buf.len() > end {
                // Bytes past the answer: the connection is out of step.
                reply.close = true;
            }
            reply.body = head_len..end;
        }
        Framing::Chunked => {
            let mut dechunk = Dechunk::new(head_len);
            loop {
                let filled = buf.len();
                if dechunk.advance(buf, filled)? {
                    break;
                }
                if read_more(stream, buf, 0).await? == 0 {
                    return Err(Closed.into());
                }
            }
            if dechunk.raw < buf.len() {
                reply.close = true;
            }
            reply.body = head_len..dechunk.out;
        }
        Framing::UntilClose => {
            while read_more(stream, buf, 0).await? != 0 {}
            reply.close = true;
            reply.body = head_len..buf.len();
        }
    }
    Ok(reply)
}

/// Reads what the socket has into `buf`'s spare room, at least `want`
/// bytes of room (else 8 KiB); 0 at the end of the connection.
async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>, want: usize) -> Result<usize, Error> {
    buf.reserve(want.max(8 * 1024));
    Ok(stream.read_buf(buf).await?)
}

/// The connection ended before a whole answer arrived.
#[derive(Debug)]
struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the Runtime API closed the connection")
    }
}

impl std::error::Error for Closed {}

/// Whether `s` can go into a request line or header as is.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// A Runtime API request.
#[derive(Debug, Clone, Copy)]
enum Call<'a> {
    /// `GET …/invocation/next`.
    Next,
    /// `POST …/invocation/{request id}/response`.
    Response(&'a str),
    /// The same, streamed: its body follows in chunks.
    StreamedResponse(&'a str),
    /// `POST …/invocation/{request id}/error`, with the error type.
    Error(&'a str, &'a str),
    /// `POST …/init/error`, with the error type.
    InitError(&'a str),
}

/// The runtime's side of the Runtime API: one keep-alive connection,
/// opened on first use and again when the server closed it.
struct Client {
    addr: String,
    stream: Option<TcpStream>,
    /// The request being sent.
    out: Vec<u8>,
}

impl Client {
    fn new(addr: &str) -> Result<Client, Error> {
        if !plain(addr) {
            return Err(format!("invalid Runtime API address `{addr}`").into());
        }
        Ok(Client {
            addr: addr.to_owned(),
            stream: None,
            out: Vec::with_capacity(1024),
        })
    }

    /// Writes `call` with `body` into `self.out`.
    fn request(&mut self, call: Call<'_>, body: &[u8]) -> Result<(), Error> {
        let out = &mut self.out;
        out.clear();
        let id_ok = |id: &str| {
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~:".contains(&b))
                && !id.is_empty()
        };
        match call {
            Call::Next => write!(out, "GET {NEXT} HTTP/1.1\r\n")?,
            Call::Response(id) | Call::StreamedResponse(id) | Call::Error(id, _) if !id_ok(id) => {
                return Err(format!("invalid request id `{id}`").into());
            }
            Call::Response(id) | Call::StreamedResponse(id) => {
                write!(
                    out,
                    "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\n"
                )?;
            }
            Call::Error(id, _) => {
                write!(
                    out,
                    "POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\n"
                )?;
            }
            Call::InitError(_) => write!(out, "POST {INIT_ERROR} HTTP/1.1\r\n")?,
        }
        write!(out, "Host: {}\r\n", self.addr)?;
        if let Call::Error(_, t) | Call::InitError(t) = call
            && t.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        {
            write!(out, "Lambda-Runtime-Function-Error-Type: {t}\r\n")?;
        }
        match call {
            Call::Next => {}
            Call::StreamedResponse(_) => out.extend_from_slice(
                b"Lambda-Runtime-Function-Response-Mode: streaming\r\n\
                  Content-Type: application/vnd.awslambda.http-integration-response\r\n\
                  Transfer-Encoding: chunked\r\n\
                  Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n",
            ),
            _ => write!(
                out,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )?,
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        Ok(())
    }

    /// Sends `call` and reads the answer into `buf`; on a kept-alive
    /// connection the server closed meanwhile, reconnects once.
    async fn send(
        &mut self,
        call: Call<'_>,
        body: &[u8],
        buf: &mut Vec<u8>,
    ) -> Result<Reply, Error> {
        self.request(call, body)?;
        let mut reused = self.stream.is_some();
        loop {
            let stream = match &mut self.stream {
                Some(s) => s,
                None => {
                    let s = TcpStream::connect(&self.addr).await.map_err(|e| {
                        format!("cannot connect to the Runtime API at {}: {e}", self.addr)
                    })?;
                    s.set_nodelay(true)?;
                    self.stream.insert(s)
                }
            };
            let outcome = match stream.write_all(&self.out).await {
                Ok(()) => read_reply(stream, buf).await,
                Err(e) => Err(e.into()),
            };
            match outcome {
                Ok(reply) => {
                    if reply.close {
                        self.stream = None;
                    }
                    return Ok(reply);
                }
                Err(e) => {
                    self.stream = None;
                    let stale = e.is::<Closed>()
                        || e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                            matches!(
                                io.kind(),
                                std::io::ErrorKind::BrokenPipe
                                    | std::io::ErrorKind::ConnectionReset
                                    | std::io::ErrorKind::ConnectionAborted
                            )
                        });
                    if !(reused && stale) {
                        return Err(e);
                    }
                    reused = false;
                }
            }
        }
    }
}

impl Client {
    /// Posts a streamed answer: `Lambda-Runtime-Function-Response-Mode:
    /// streaming`, chunked, the prelude first, each body chunk as it comes;
    /// an error of the body after that is reported in the
    /// `Lambda-Runtime-Function-Error-Type` / `-Body` trailers (the status
    /// went out with the prelude). Then reads the answer into `buf`.
    async fn send_stream(
        &mut self,
        request_id: &str,
        streamed: Streamed,
        buf: &mut Vec<u8>,
    ) -> Result<Reply, Error> {
        let Streamed { prelude, body } = streamed;
        // The head, then the prelude as the first chunk.
        self.request(Call::StreamedResponse(request_id), &[])?;
        let mut out = std::mem::take(&mut self.out);
        chunk(&mut out, &prelude);
        let result = self.stream_body(&mut out, body, request_id, buf).await;
        self.out = out;
        result
    }

    async fn stream_body(
        &mut self,
        out: &mut Vec<u8>,
        mut body: crate::stream::BodyStream,
        request_id: &str,
        buf: &mut Vec<u8>,
    ) -> Result<Reply, Error> {
        // The head and the prelude: on a kept-alive connection the server
        // closed meanwhile, sent again on a new one (nothing of the body
        // is consumed yet).
        let mut reused = self.stream.is_some();
        let stream = loop {
            let stream = match &mut self.stream {
                Some(s) => s,
                None => {
                    let s = TcpStream::connect(&self.addr).await.map_err(|e| {
                        format!("cannot connect to the Runtime API at {}: {e}", self.addr)
                    })?;
                    s.set_nodelay(true)?;
                    self.stream.insert(s)
                }
            };
            match stream.write_all(out).await {
                Ok(()) => break self.stream.as_mut().expect("connected"),
                Err(e) if reused => {
                    tracing::debug!(error = %e, "reconnecting to the Runtime API");
                    self.stream = None;
                    reused = false;
                }
                Err(e) => {
                    self.stream = None;
                    return Err(e.into());
                }
            }
        };
        let mut failure = None;
        while let Some(next) = crate::stream::next(&mut body).await {
            match next {
                Ok(data) if data.is_empty() => {}
                Ok(data) => {
                    out.clear();
                    chunk(out, &data);
                    if let Err(e) = stream.write_all(out).await {
                        self.stream = None;
                        return Err(e.into());
                    }
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        drop(body);
        out.clear();
        out.extend_from_slice(b"0\r\n");
        if let Some(e) = failure {
            tracing::error!(request_id, error = %e, "streamed body failed");
            let error_type = "Runtime.StreamError";
            let body = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                error_body(error_type, &e.to_string()),
            );
            write!(
                out,
                "Lambda-Runtime-Function-Error-Type: {error_type}\r\nLambda-Runtime-Function-Error-Body: {body}\r\n"
            )?;
        }
        out.extend_from_slice(b"\r\n");
        let outcome = match stream.write_all(out).await {
            Ok(()) => read_reply(stream, buf).await,
            Err(e) => Err(e.into()),
        };
        match outcome {
            Ok(reply) => {
                if reply.close {
                    self.stream = None;
                }
                Ok(reply)
            }
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }
}

/// Appends `data` as one chunk of a chunked body.
fn chunk(out: &mut Vec<u8>, data: &[u8]) {
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// `buf[range]` as text (empty when not UTF-8).
fn text(buf: &[u8], range: Option<Range<usize>>) -> Option<&str> {
    range.map(|r| std::str::from_utf8(&buf[r]).unwrap_or_default())
}

fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "errorType": error_type, "errorMessage": message }))
        .unwrap_or_default()
}

/// Reports an initialization error to the Runtime API, as Lambda expects
/// before a runtime exits during init.
pub(crate) async fn init_error(
    api: &str,
    error_type: &'static str,
    message: &str,
) -> Result<(), Error> {
    let mut client = Client::new(api)?;
    client
        .send(
            Call::InitError(error_type),
            &error_body(error_type, message),
            &mut Vec::new(),
        )
        .await?;
    Ok(())
}

/// Serves invocations from the Runtime API at `api` (`host:port`) forever.
pub(crate) async fn serve(app: App, api: &str) -> Result<(), Error> {
    let mut client = Client::new(api)?;
    // The event and the answers to results, read in place, kept between
    // invocations.
    let mut event = Vec::with_capacity(16 * 1024);
    let mut ack = Vec::with_capacity(512);
    loop {
        let reply = client.send(Call::Next, &[], &mut event).await?;
        if reply.status != 200 {
            return Err(format!("Runtime API answered {} to /next", reply.status).into());
        }
        let Some(request_id) = text(&event, reply.request_id.clone()) else {
            return Err("Runtime API sent an event without Lambda-Runtime-Aws-Request-Id".into());
        };
        let invocation = Invocation {
            request_id,
            deadline_ms: text(&event, reply.deadline_ms.clone())
                .and_then(|d| d.trim().parse().ok())
                .unwrap_or(0),
            invoked_function_arn: text(&event, reply.function_arn.clone()).unwrap_or(""),
            trace_id: text(&event, reply.trace_id.clone()),
        };
        let span = tracing::info_span!("invocation", request_id);
        let outcome = app
            .answer(&event[reply.body.clone()], &invocation, true)
            .instrument(span)
            .await;
        let answer = match outcome {
            Ok(Answer::Payload(body)) => {
                client
                    .send(Call::Response(request_id), &body, &mut ack)
                    .await?
            }
            Ok(Answer::Stream(streamed)) => {
                client.send_stream(request_id, streamed, &mut ack).await?
            }
            Err(e) => {
                tracing::error!(request_id, error_type = e.error_type(), error = %e, "invocation failed");
                let body = error_body(e.error_type(), &e.to_string());
                client
                    .send(Call::Error(request_id, e.error_type()), &body, &mut ack)
                    .await?
            }
        };
        if !(200..300).contains(&answer.status) {
            // 413 (payload too large) or 400 (bad id): the invocation is lost,
            // the runtime is not. Log and carry on.
            tracing::error!(
                request_id,
                status = answer.status,
                "Runtime API refused the result"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `wire` as if it arrived `step` bytes at a time.
    fn dechunk(wire: &[u8], step: usize) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        let mut d = Dechunk::new(0);
        for piece in wire.chunks(step) {
            buf.extend_from_slice(piece);
            let filled = buf.len();
            if d.advance(&mut buf, filled)? {
                return Ok(buf[..d.out].to_vec());
            }
        }
        Err("incomplete".into())
    }

    #[test]
    fn chunked_bodies_decode_in_place_whatever_the_reads() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n";
        for step in 1..wire.len() {
            assert_eq!(dechunk(wire, step).unwrap(), b"hello, world", "step {step}");
        }
        assert_eq!(dechunk(b"0\r\n\r\n", 1).unwrap(), b"");
        assert!(dechunk(b"zz\r\n", 4).is_err());
        assert!(dechunk(b"2\r\nabXY", 8).is_err());
        assert!(dechunk(b"5\r\nhel", 8).unwrap_err().to_string() == "incomplete");
    }

    #[test]
    fn heads_give_framing_and_the_invocation_headers() {
        let wire = b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: abc\r\nlambda-runtime-deadline-ms: 42\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n";
        let (len, reply, framing) = parse_head(wire).unwrap().unwrap();
        assert_eq!(&wire[len..], b"3\r\n");
        assert_eq!(framing, Framing::Chunked);
        assert_eq!(reply.status, 200);
        assert_eq!(text(wire, reply.request_id), Some("abc"));
        assert_eq!(text(wire, reply.deadline_ms), Some("42"));
        assert_eq!(reply.function_arn, None);
        assert!(!reply.close);
        assert!(parse_head(&wire[..20]).unwrap().is_none());

        let wire = b"HTTP/1.1 202 Accepted\r\nContent-Length: 16\r\nConnection: close\r\n\r\n";
        let (_, reply, framing) = parse_head(wire).unwrap().unwrap();
        assert_eq!(
            (reply.status, framing, reply.close),
            (202, Framing::Length(16), true)
        );
        let (_, reply, framing) = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!((framing, reply.close), (Framing::UntilClose, true));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        assert!(parse_head(b"SMTP ready\r\n\r\n").is_err());
    }

    #[test]
    fn requests_are_written_whole() {
        let mut c = Client::new("127.0.0.1:9001").unwrap();
        c.request(Call::Next, &[]).unwrap();
        assert_eq!(
            c.out,
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n\r\n"
        );
        c.request(Call::Error("id-1", "Lambada.Panic"), b"{}")
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&c.out),
            "POST /2018-06-01/runtime/invocation/id-1/error HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nLambda-Runtime-Function-Error-Type: Lambada.Panic\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        );
        // An error type that would break the header is left out.
        c.request(Call::Error("id-1", "a\r\nb"), b"").unwrap();
        assert!(!String::from_utf8_lossy(&c.out).contains("Error-Type"));
        assert!(c.request(Call::Response("../x y"), b"").is_err());
        assert!(Client::new("127.0.0.1:9001\r\nX: y").is_err());
    }
}
