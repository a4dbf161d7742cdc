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

use bytes::Bytes;
use http::{Request as HttpRequest, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tracing::Instrument;

use crate::Error;
use crate::dispatch::{App, Invocation};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

struct Client {
    addr: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    async fn sender(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, Error> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(&self.addr)
                .await
                .map_err(|e| format!("cannot connect to the Runtime API at {}: {e}", self.addr))?;
            stream.set_nodelay(true)?;
            let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "runtime API connection closed");
                }
            });
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("connected above");
        sender.ready().await?;
        Ok(sender)
    }

    async fn send(
        &mut self,
        method: http::Method,
        path: &str,
        body: Bytes,
        error_type: Option<&str>,
    ) -> Result<(http::response::Parts, Bytes), Error> {
        let mut attempt = 0;
        loop {
            let mut req = HttpRequest::builder()
                .method(method.clone())
                .uri(path)
                .header(http::header::HOST, self.addr.as_str());
            if let Some(t) = error_type {
                req = req.header("Lambda-Runtime-Function-Error-Type", t);
            }
            if !body.is_empty() {
                req = req.header(http::header::CONTENT_TYPE, "application/json");
            }
            let req = req.body(Full::new(body.clone()))?;
            let sender = self.sender().await?;
            match sender.send_request(req).await {
                Ok(res) => {
                    let (parts, body) = res.into_parts();
                    let body = body.collect().await?.to_bytes();
                    return Ok((parts, body));
                }
                // A connection the server closed while idle: reconnect once.
                Err(e) if attempt == 0 && (e.is_closed() || e.is_incomplete_message()) => {
                    self.sender = None;
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn header<'a>(parts: &'a http::response::Parts, name: &str) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

fn error_body(error_type: &str, message: &str) -> Bytes {
    serde_json::to_vec(&serde_json::json!({ "errorType": error_type, "errorMessage": message }))
        .unwrap_or_default()
        .into()
}

/// Reports an initialization error to the Runtime API, as Lambda expects
/// before a runtime exits during init.
pub(crate) async fn init_error(api: &str, error_type: &str, message: &str) -> Result<(), Error> {
    let mut client = Client {
        addr: api.to_owned(),
        sender: None,
    };
    client
        .send(
            http::Method::POST,
            "/2018-06-01/runtime/init/error",
            error_body(error_type, message),
            Some(error_type),
        )
        .await?;
    Ok(())
}

/// Serves invocations from the Runtime API at `api` (`host:port`) forever.
pub(crate) async fn serve(app: App, api: &str) -> Result<(), Error> {
    let mut client = Client {
        addr: api.to_owned(),
        sender: None,
    };
    loop {
        let (parts, event) = client
            .send(http::Method::GET, NEXT, Bytes::new(), None)
            .await?;
        if parts.status != StatusCode::OK {
            return Err(format!("Runtime API answered {} to /next", parts.status).into());
        }
        let Some(request_id) = header(&parts, "lambda-runtime-aws-request-id") else {
            return Err("Runtime API sent an event without Lambda-Runtime-Aws-Request-Id".into());
        };
        let invocation = Invocation {
            request_id,
            deadline_ms: header(&parts, "lambda-runtime-deadline-ms")
                .and_then(|d| d.parse().ok())
                .unwrap_or(0),
            invoked_function_arn: header(&parts, "lambda-runtime-invoked-function-arn")
                .unwrap_or(""),
            trace_id: header(&parts, "lambda-runtime-trace-id"),
        };
        let span = tracing::info_span!("invocation", request_id);
        let outcome = app.handle_event(&event, &invocation).instrument(span).await;
        let (path, body, error_type) = match outcome {
            Ok(body) => (
                format!("/2018-06-01/runtime/invocation/{request_id}/response"),
                body.into(),
                None,
            ),
            Err(e) => {
                tracing::error!(request_id, error = %e, "cannot handle event");
                let t = e.error_type();
                (
                    format!("/2018-06-01/runtime/invocation/{request_id}/error"),
                    error_body(t, &e.to_string()),
                    Some(t),
                )
            }
        };
        let (parts, _) = client
            .send(http::Method::POST, &path, body, error_type)
            .await?;
        if !parts.status.is_success() {
            // 413 (payload too large) or 400 (bad id): the invocation is lost,
            // the runtime is not. Log and carry on.
            tracing::error!(request_id, status = %parts.status, "Runtime API refused the result");
        }
    }
}
