//! The Lambda custom runtime: a lean Runtime API client.
//!
//! Three endpoints (`next`, `response`, `error`, plus `init/error`) over one
//! keep-alive HTTP/1.1 connection (hyper's single-connection client), on
//! the current thread. The official `lambda_runtime` crate pools connections
//! through hyper-util's legacy client, which races a new connect against the
//! pool checkout and opens hundreds of connections per thousand invocations,
//! and it runs a tower stack per event; measured with `../shared/bench-rig`,
//! it costs ~10x the protocol floor in CPU per warm invocation. See the
//! README's performance section for the figures of this client.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Request as HttpRequest, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::Error;
use crate::dispatch::App;
use crate::invocation::Invocation;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

const REQUEST_ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-request-id");
const DEADLINE: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
const FUNCTION_ARN: HeaderName = HeaderName::from_static("lambda-runtime-invoked-function-arn");
const TRACE_ID: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
const ERROR_TYPE: HeaderName = HeaderName::from_static("lambda-runtime-function-error-type");

type Conn = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// One keep-alive connection, driven on the caller's task: no connection
/// task, so no cross-task wake-ups (and their extra `epoll_wait`s) per call.
struct Connection {
    sender: SendRequest<Full<Bytes>>,
    conn: Pin<Box<Conn>>,
    closed: bool,
}

impl Connection {
    /// Runs `fut` while driving the connection.
    async fn drive<F: Future>(conn: &mut Pin<Box<Conn>>, closed: &mut bool, fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(out);
            }
            if !*closed && conn.as_mut().poll(cx).is_ready() {
                *closed = true;
                // The connection ended: let the request see it.
                return fut.as_mut().poll(cx);
            }
            Poll::Pending
        })
        .await
    }
}

struct Client {
    addr: String,
    host: HeaderValue,
    connection: Option<Connection>,
}

impl Client {
    fn new(addr: &str) -> Result<Client, Error> {
        Ok(Client {
            addr: addr.to_owned(),
            host: HeaderValue::from_str(addr)
                .map_err(|_| format!("invalid Runtime API address `{addr}`"))?,
            connection: None,
        })
    }

    async fn connect(&mut self) -> Result<&mut Connection, Error> {
        if self
            .connection
            .as_ref()
            .is_none_or(|c| c.closed || c.sender.is_closed())
        {
            let stream = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| format!("cannot connect to the Runtime API at {}: {e}", self.addr))?;
            stream.set_nodelay(true)?;
            let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
            self.connection = Some(Connection {
                sender,
                conn: Box::pin(conn),
                closed: false,
            });
        }
        Ok(self.connection.as_mut().expect("connected above"))
    }

    async fn send(
        &mut self,
        method: http::Method,
        uri: http::Uri,
        body: Bytes,
        error_type: Option<&str>,
    ) -> Result<(http::response::Parts, Bytes), Error> {
        let mut attempt = 0;
        loop {
            let mut req = HttpRequest::new(Full::new(body.clone()));
            *req.method_mut() = method.clone();
            *req.uri_mut() = uri.clone();
            let headers = req.headers_mut();
            headers.insert(http::header::HOST, self.host.clone());
            if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
                headers.insert(ERROR_TYPE, t);
            }
            if !body.is_empty() {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            let Connection {
                sender,
                conn,
                closed,
            } = self.connect().await?;
            let outcome = Connection::drive(conn, closed, async {
                sender.ready().await?;
                let res = sender.send_request(req).await?;
                let (parts, body) = res.into_parts();
                let body = body.collect().await?.to_bytes();
                Ok::<_, hyper::Error>((parts, body))
            })
            .await;
            match outcome {
                Ok(ok) => return Ok(ok),
                // A connection the server closed while idle: reconnect once.
                Err(e)
                    if attempt == 0
                        && (e.is_closed() || e.is_incomplete_message() || e.is_canceled()) =>
                {
                    self.connection = None;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn header<'a>(parts: &'a http::response::Parts, name: &HeaderName) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn error_body(error_type: &str, message: &str) -> Bytes {
    serde_json::to_vec(&serde_json::json!({ "errorType": error_type, "errorMessage": message }))
        .unwrap_or_default()
        .into()
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
            http::Method::POST,
            http::Uri::from_static("/2018-06-01/runtime/init/error"),
            error_body(error_type, message),
            Some(error_type),
        )
        .await?;
    Ok(())
}

/// Serves invocations from the Runtime API at `api` (`host:port`) forever.
pub(crate) async fn serve(app: App, api: &str) -> Result<(), Error> {
    let mut client = Client::new(api)?;
    let next = http::Uri::from_static(NEXT);
    loop {
        let (parts, event) = client
            .send(http::Method::GET, next.clone(), Bytes::new(), None)
            .await?;
        if parts.status != StatusCode::OK {
            return Err(format!("Runtime API answered {} to /next", parts.status).into());
        }
        let Some(request_id) = header(&parts, &REQUEST_ID) else {
            return Err("Runtime API sent an event without Lambda-Runtime-Aws-Request-Id".into());
        };
        let invocation = Invocation {
            request_id,
            deadline_ms: header(&parts, &DEADLINE)
                .and_then(|d| d.parse().ok())
                .unwrap_or(0),
            invoked_function_arn: header(&parts, &FUNCTION_ARN).unwrap_or(""),
            trace_id: header(&parts, &TRACE_ID),
        };
        let span = tracing::info_span!("invocation", request_id);
        let outcome = app.handle_event(&event, &invocation).instrument(span).await;
        let error_type = outcome.as_ref().err().map(|e| e.error_type().to_owned());
        let (path, body) = match outcome {
            Ok(body) => (
                format!("/2018-06-01/runtime/invocation/{request_id}/response"),
                body.into(),
            ),
            Err(e) => {
                tracing::error!(request_id, error_type = e.error_type(), error = %e, "invocation failed");
                (
                    format!("/2018-06-01/runtime/invocation/{request_id}/error"),
                    error_body(e.error_type(), &e.to_string()),
                )
            }
        };
        let uri: http::Uri = path
            .parse()
            .map_err(|_| format!("invalid request id `{request_id}`"))?;
        let (parts, _) = client
            .send(http::Method::POST, uri, body, error_type.as_deref())
            .await?;
        if !parts.status.is_success() {
            // 413 (payload too large) or 400 (bad id): the invocation is lost,
            // the runtime is not. Log and carry on.
            tracing::error!(request_id, status = %parts.status, "Runtime API refused the result");
        }
    }
}
