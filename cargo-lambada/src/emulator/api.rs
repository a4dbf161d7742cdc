//! The Runtime API endpoint of one sandbox, as Lambda's RAPID serves it on
//! `127.0.0.1:9001` inside an execution environment: `GET …/invocation/next`
//! parks until there is an event, `POST …/{id}/response` and `…/{id}/error`
//! take the result, `POST …/init/error` reports a failed init.
//!
//! Wire details follow RAPID (Go's net/http): `next` bodies up to 2048 bytes
//! carry a `Content-Length`, larger ones are chunked; accepted results are
//! answered `202 {"status":"OK"}\n`; protocol errors are
//! `{"errorMessage": …, "errorType": …}` with 400, 404, 405 or 413.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{LambdaError, Reply, ids, lock};

const PREFIX: &str = "/2018-06-01/runtime/";
/// What RAPID answers to an accepted result (Go's `json.Encoder` output).
const ACCEPTED: &str = "{\"status\":\"OK\"}\n";
/// Go's net/http buffers this much before it commits to chunked encoding.
const GO_CHUNK_THRESHOLD: usize = 2048;
/// Lambda's limit on a synchronous response payload (6 MB, as Lambda counts it).
pub const MAX_RESPONSE: usize = 6_291_556;

/// An event waiting for the runtime's next `GET …/next`.
#[derive(Debug)]
pub struct Job {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// The event.
    pub event: Bytes,
}

/// What the endpoint tells its sandbox (one wake-up of the invoking task
/// per invocation: the result; the delivery time is recorded in
/// [`Api::delivered`] instead of signalled).
#[derive(Debug)]
pub enum Signal {
    /// The runtime called `next` for the first time: its init is over.
    Ready,
    /// The runtime posted the result of an invocation.
    Result { request_id: String, reply: Reply },
    /// The runtime posted `init/error`.
    InitError(LambdaError),
}

/// The endpoint's state, shared by its connections.
#[derive(Debug)]
pub struct Api {
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// The function timeout, for `Lambda-Runtime-Deadline-Ms`.
    pub timeout_ms: u64,
    /// Events waiting for a `next` (one at a time).
    pub jobs: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    /// The request id handed out and not yet answered.
    pub current: Mutex<Option<String>>,
    /// Where the sandbox hears about the runtime.
    pub signals: mpsc::UnboundedSender<Signal>,
    /// Whether [`Signal::Ready`] was sent.
    pub ready: std::sync::atomic::AtomicBool,
    /// When the event in flight was handed to the runtime (the function
    /// timeout counts from there).
    pub delivered: Mutex<Option<tokio::time::Instant>>,
}

/// A body that is either sized (`Content-Length`) or sent chunked.
#[derive(Debug)]
pub struct ApiBody {
    data: Option<Bytes>,
    chunked: bool,
}

impl ApiBody {
    fn sized(data: impl Into<Bytes>) -> ApiBody {
        ApiBody {
            data: Some(data.into()),
            chunked: false,
        }
    }
}

impl Body for ApiBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.data
                .take()
                .filter(|d| !d.is_empty())
                .map(|d| Ok(Frame::data(d))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.data.as_ref().is_none_or(|d| d.is_empty())
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, self.chunked) {
            (_, true) => SizeHint::default(),
            (Some(d), false) => SizeHint::with_exact(d.len() as u64),
            (None, false) => SizeHint::with_exact(0),
        }
    }
}

fn json(status: StatusCode, body: String) -> Response<ApiBody> {
    let mut res = Response::new(ApiBody::sized(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

fn api_error(status: StatusCode, error_type: &str, message: &str) -> Response<ApiBody> {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    json(status, format!("{body}\n"))
}

/// Serves the endpoint until the task is aborted (which also aborts every
/// connection it accepted).
pub async fn serve(listener: TcpListener, api: Arc<Api>) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let api = api.clone();
        connections.spawn(async move {
            let svc = service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(handle(&api, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(api: &Api, req: Request<Incoming>) -> Response<ApiBody> {
    let (head, body) = req.into_parts();
    let path = head.uri.path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return api_error(StatusCode::NOT_FOUND, "NotFound", "unknown endpoint");
    };
    if rest == "invocation/next" {
        if head.method != Method::GET {
            return api_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "use GET",
            );
        }
        return next(api).await;
    }
    let target = if rest == "init/error" {
        Target::InitError
    } else if let Some(id) = rest
        .strip_prefix("invocation/")
        .and_then(|r| r.strip_suffix("/response"))
    {
        Target::Response(id.to_owned())
    } else if let Some(id) = rest
        .strip_prefix("invocation/")
        .and_then(|r| r.strip_suffix("/error"))
    {
        Target::Error(id.to_owned())
    } else {
        return api_error(StatusCode::NOT_FOUND, "NotFound", "unknown endpoint");
    };
    if head.method != Method::POST {
        return api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use POST",
        );
    }
    if let Target::Response(id) = &target
        && head
            .headers
            .get("lambda-runtime-function-response-mode")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"))
    {
        return stream(api, id, &head.headers, body).await;
    }
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return api_error(StatusCode::BAD_REQUEST, "InvalidRequest", "incomplete body"),
    };
    let header_type = head
        .headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (id, is_error) = match target {
        Target::InitError => {
            let error = LambdaError::new(header_type, body);
            let _ = api.signals.send(Signal::InitError(error));
            return json(StatusCode::ACCEPTED, ACCEPTED.into());
        }
        Target::Response(id) => (id, false),
        Target::Error(id) => (id, true),
    };
    if !take_current(api, &id) {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        );
    }
    if is_error {
        let reply = Reply::Error(LambdaError::new(header_type, body));
        let _ = api.signals.send(Signal::Result {
            request_id: id,
            reply,
        });
        return json(StatusCode::ACCEPTED, ACCEPTED.into());
    }
    if body.len() > MAX_RESPONSE {
        let message = format!(
            "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."
        );
        let error_body = serde_json::json!({
            "errorMessage": message,
            "errorType": "Function.ResponseSizeTooLarge",
        });
        let reply = Reply::Error(LambdaError::new(None, Bytes::from(error_body.to_string())));
        let _ = api.signals.send(Signal::Result {
            request_id: id,
            reply,
        });
        return api_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            &message,
        );
    }
    let _ = api.signals.send(Signal::Result {
        request_id: id,
        reply: Reply::Response(body),
    });
    json(StatusCode::ACCEPTED, ACCEPTED.into())
}

/// A streamed result: handed to the sandbox at once, its chunks forwarded
/// as they arrive (a slow reader holds the runtime back, as a slow client
/// does on Lambda), the error trailers turned into the error that ends it.
async fn stream(
    api: &Api,
    id: &str,
    headers: &http::HeaderMap,
    mut body: Incoming,
) -> Response<ApiBody> {
    if !take_current(api, id) {
        return api_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        );
    }
    let (tx, rx) = mpsc::channel(16);
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let _ = api.signals.send(Signal::Result {
        request_id: id.to_owned(),
        reply: Reply::Stream(super::Streamed {
            content_type,
            body: rx,
        }),
    });
    // Once the reader is gone the rest is read and dropped, so the runtime
    // finishes its request.
    let mut open = true;
    loop {
        let frame = match body.frame().await {
            None => break,
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                let error = LambdaError::new(
                    Some("Runtime.StreamCut".into()),
                    Bytes::from(
                        serde_json::json!({
                            "errorType": "Runtime.StreamCut",
                            "errorMessage": format!("the streamed response was cut short: {e}"),
                        })
                        .to_string(),
                    ),
                );
                if open {
                    let _ = tx.send(Err(error)).await;
                }
                return api_error(StatusCode::BAD_REQUEST, "InvalidRequest", "incomplete body");
            }
        };
        let frame = match frame.into_data() {
            Ok(data) => {
                if open && !data.is_empty() {
                    open = tx.send(Ok(data)).await.is_ok();
                }
                continue;
            }
            Err(frame) => frame,
        };
        if let Ok(trailers) = frame.into_trailers() {
            let error_type = trailers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            if error_type.is_some() && open {
                let body = trailers
                    .get("lambda-runtime-function-error-body")
                    .and_then(|v| {
                        base64::engine::general_purpose::STANDARD
                            .decode(v.as_bytes())
                            .ok()
                    })
                    .unwrap_or_default();
                let _ = tx
                    .send(Err(LambdaError::new(error_type, body.into())))
                    .await;
            }
        }
    }
    json(StatusCode::ACCEPTED, ACCEPTED.into())
}

enum Target {
    InitError,
    Response(String),
    Error(String),
}

/// Whether `id` is the invocation in flight; if so it is answered now.
fn take_current(api: &Api, id: &str) -> bool {
    let mut current = lock(&api.current);
    if current.as_deref() == Some(id) {
        *current = None;
        true
    } else {
        false
    }
}

async fn next(api: &Api) -> Response<ApiBody> {
    if !api.ready.swap(true, std::sync::atomic::Ordering::Relaxed) {
        let _ = api.signals.send(Signal::Ready);
    }
    let job = {
        let mut jobs = api.jobs.lock().await;
        jobs.recv().await
    };
    let Some(job) = job else {
        // The sandbox is shutting down; Lambda would freeze the process here.
        return api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Runtime.Shutdown",
            "the sandbox is shutting down",
        );
    };
    let deadline = ids::now_ms() + api.timeout_ms;
    *lock(&api.current) = Some(job.request_id.clone());
    *lock(&api.delivered) = Some(tokio::time::Instant::now());
    let chunked = job.event.len() > GO_CHUNK_THRESHOLD;
    let mut res = Response::new(ApiBody {
        data: Some(job.event),
        chunked,
    });
    let h = res.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &job.request_id);
    set("lambda-runtime-deadline-ms", &deadline.to_string());
    set("lambda-runtime-invoked-function-arn", &api.function_arn);
    set("lambda-runtime-trace-id", &job.trace_id);
    res
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    /// Sends raw HTTP/1.1 and reads until `end` appears in the answer.
    async fn exchange(stream: &mut TcpStream, request: String, end: &str) -> String {
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut got = Vec::new();
        let read = async {
            while !String::from_utf8_lossy(&got).contains(end) {
                let mut buf = [0u8; 8192];
                let n = stream.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
                got.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("an answer");
        String::from_utf8_lossy(&got).into_owned()
    }

    fn post(path: &str, headers: &str, body: &str) -> String {
        format!(
            "POST /2018-06-01/runtime/{path} HTTP/1.1\r\nhost: x\r\n{headers}content-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    const NEXT: &str = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\n\r\n";

    #[tokio::test]
    async fn speaks_rapid() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (jobs, jobs_rx) = mpsc::channel(1);
        let (signals, mut heard) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            timeout_ms: 3000,
            jobs: tokio::sync::Mutex::new(jobs_rx),
            current: Mutex::new(None),
            signals,
            ready: Default::default(),
            delivered: Mutex::new(None),
        });
        let server = tokio::spawn(serve(listener, api));
        let mut rt = TcpStream::connect(addr).await.unwrap();

        // A small event has a Content-Length and Lambda's headers.
        let job = |id: &str, event: String| Job {
            request_id: id.into(),
            trace_id: "Root=1-6553f100-0123456789abcdef01234567;Sampled=0".into(),
            event: Bytes::from(event),
        };
        jobs.send(job("id-1", "{}".into())).await.unwrap();
        let res = exchange(&mut rt, NEXT.into(), "\r\n\r\n{}").await;
        let lower = res.to_ascii_lowercase();
        assert!(lower.starts_with("http/1.1 200"), "{res}");
        assert!(lower.contains("content-length: 2\r\n"), "{res}");
        assert!(
            lower.contains("lambda-runtime-aws-request-id: id-1\r\n"),
            "{res}"
        );
        assert!(lower.contains("lambda-runtime-deadline-ms: "), "{res}");
        assert!(
            lower.contains("lambda-runtime-invoked-function-arn: arn:aws:lambda:"),
            "{res}"
        );
        assert!(lower.contains("lambda-runtime-trace-id: root=1-"), "{res}");
        assert!(matches!(heard.recv().await, Some(Signal::Ready)));

        // Accepted results are 202 {"status":"OK"}; a second one for the
        // same id, or one for an unknown id, is refused.
        let res = exchange(
            &mut rt,
            post("invocation/id-1/response", "", "{\"a\":1}"),
            "OK\"}\n",
        )
        .await;
        assert!(res.starts_with("HTTP/1.1 202"), "{res}");
        match heard.recv().await {
            Some(Signal::Result {
                request_id,
                reply: Reply::Response(b),
            }) => {
                assert_eq!((request_id.as_str(), &b[..]), ("id-1", &b"{\"a\":1}"[..]));
            }
            other => panic!("{other:?}"),
        }
        let res = exchange(&mut rt, post("invocation/id-1/response", "", "{}"), "}\n").await;
        assert!(
            res.starts_with("HTTP/1.1 400") && res.contains("InvalidRequestID"),
            "{res}"
        );

        // A large event is chunked, as Go's net/http sends it.
        let big = format!("\"{}\"", "x".repeat(5000));
        jobs.send(job("id-2", big)).await.unwrap();
        let res = exchange(&mut rt, NEXT.into(), "\r\n0\r\n\r\n").await;
        assert!(
            res.to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{res}"
        );

        // Errors carry their type from the header, else from the body.
        let error = "{\"errorType\":\"Boom\",\"errorMessage\":\"bad\"}";
        let res = exchange(&mut rt, post("invocation/id-2/error", "", error), "OK\"}\n").await;
        assert!(res.starts_with("HTTP/1.1 202"), "{res}");
        while let Some(signal) = heard.recv().await {
            if let Signal::Result {
                reply: Reply::Error(e),
                ..
            } = signal
            {
                assert_eq!(e.error_type, "Boom");
                break;
            }
        }
        let header = "lambda-runtime-function-error-type: Runtime.Init\r\n";
        let res = exchange(&mut rt, post("init/error", header, error), "OK\"}\n").await;
        assert!(res.starts_with("HTTP/1.1 202"), "{res}");
        match heard.recv().await {
            Some(Signal::InitError(e)) => assert_eq!(e.error_type, "Runtime.Init"),
            other => panic!("{other:?}"),
        }

        let res = exchange(&mut rt, post("nope", "", ""), "}\n").await;
        assert!(res.starts_with("HTTP/1.1 404"), "{res}");
        server.abort();
    }
}
