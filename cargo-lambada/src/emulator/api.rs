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

use super::{LambdaError, Reply, ids};

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
    pub request_id: String,
    pub trace_id: String,
    pub event: Bytes,
}

/// What the endpoint tells its sandbox.
#[derive(Debug)]
pub enum Signal {
    /// The runtime called `next` (the first call ends its init).
    Ready,
    /// An event was handed to the runtime.
    Delivered,
    /// The runtime posted the result of an invocation.
    Result { request_id: String, reply: Reply },
    /// The runtime posted `init/error`.
    InitError(LambdaError),
}

/// The endpoint's state, shared by its connections.
#[derive(Debug)]
pub struct Api {
    pub function_arn: String,
    pub timeout_ms: u64,
    pub jobs: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    /// The request id handed out and not yet answered.
    pub current: Mutex<Option<String>>,
    pub signals: mpsc::UnboundedSender<Signal>,
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

enum Target {
    InitError,
    Response(String),
    Error(String),
}

/// Whether `id` is the invocation in flight; if so it is answered now.
fn take_current(api: &Api, id: &str) -> bool {
    let mut current = api.current.lock().unwrap_or_else(|e| e.into_inner());
    if current.as_deref() == Some(id) {
        *current = None;
        true
    } else {
        false
    }
}

async fn next(api: &Api) -> Response<ApiBody> {
    let _ = api.signals.send(Signal::Ready);
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
    *api.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(job.request_id.clone());
    let _ = api.signals.send(Signal::Delivered);
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
