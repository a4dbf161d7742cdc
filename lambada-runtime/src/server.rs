//! Plain HTTP/1.1 server mode (hyper), for containers: the same route table,
//! served directly, with graceful shutdown on SIGTERM and Ctrl-C.
//!
//! No line is logged per request unless `LAMBADA_ACCESS_LOG` is `1`, `true`
//! or `on` (then one `info` event per request, target `lambada::access`):
//! behind a load balancer its access logs already record every request, and
//! a JSON line per request takes a third of the server's CPU time per
//! request (19 µs instead of 12, measured in `benches/serve-bench.sh`).

use std::borrow::Cow;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::Error;
use crate::dispatch::{App, Parts};
use crate::request::{Context, EventKind};
use crate::response::{IntoResponse, Problem};
use crate::stream::{BodyStream, BoxError};

/// Largest request body accepted in server mode: Lambda's own payload limit.
const MAX_BODY: usize = 6 * 1024 * 1024;

/// Answers one HTTP request through the route table.
pub(crate) async fn handle(
    app: &App,
    req: http::Request<Bytes>,
    peer: Option<SocketAddr>,
) -> http::Response<Bytes> {
    let (head, body) = req.into_parts();
    let query = head
        .uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).collect())
        .unwrap_or_default();
    let headers = head
        .headers
        .iter()
        .filter_map(|(k, v)| Some((Cow::Borrowed(k.as_str()), Cow::Borrowed(v.to_str().ok()?))))
        .collect();
    let peer_ip = peer.map(|p| p.ip().to_string());
    let context = Context {
        source_ip: peer_ip.as_deref().map(Cow::Borrowed),
        kind: Some(EventKind::Http),
        ..Context::default()
    };
    let path = head.uri.path();
    let found = app.find_by_path(&head.method, path, true);
    let parts = Parts {
        method: head.method.clone(),
        path: Cow::Borrowed(path),
        query,
        headers,
        body: Cow::Borrowed(&body[..]),
        context,
    };
    app.respond(found, parts).await
}

/// Whether `LAMBADA_ACCESS_LOG` asks for a line per request.
fn access_log_enabled() -> bool {
    std::env::var("LAMBADA_ACCESS_LOG")
        .is_ok_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "on" | "yes"))
}

/// A response body in server mode: whole, or streamed with chunked
/// transfer encoding (see [`crate::stream`]).
pub(crate) enum ServerBody {
    Full(Full<Bytes>),
    Stream(BodyStream),
}

impl hyper::body::Body for ServerBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            ServerBody::Full(f) => Pin::new(f).poll_frame(cx).map_err(|never| match never {}),
            ServerBody::Stream(s) => loop {
                // An empty chunk would end a chunked body early: skipped.
                match crate::stream::poll_next(s, cx) {
                    Poll::Ready(Some(Ok(b))) if b.is_empty() => continue,
                    // An error after the head cannot change the status: the
                    // connection is cut, and the client sees a body that
                    // did not end.
                    Poll::Ready(Some(Err(e))) => {
                        tracing::error!(error = %e, "streamed body failed");
                        break Poll::Ready(Some(Err(e)));
                    }
                    p => break p.map(|o| o.map(|r| r.map(Frame::data))),
                }
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ServerBody::Full(f) => f.is_end_stream(),
            ServerBody::Stream(_) => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ServerBody::Full(f) => f.size_hint(),
            ServerBody::Stream(_) => SizeHint::default(),
        }
    }
}

impl ServerBody {
    /// The body of `res`: its stream, if it has one.
    pub(crate) fn of(mut res: http::Response<Bytes>) -> http::Response<ServerBody> {
        match crate::stream::Slot::take(&mut res) {
            Some(stream) => res.map(|_| ServerBody::Stream(stream)),
            None => res.map(|b| ServerBody::Full(Full::new(b))),
        }
    }
}

async fn service(
    app: App,
    access_log: bool,
    peer: SocketAddr,
    req: http::Request<Incoming>,
) -> Result<http::Response<ServerBody>, Infallible> {
    let started = access_log.then(|| {
        (
            std::time::Instant::now(),
            req.method().clone(),
            req.uri().path().to_owned(),
        )
    });
    let (head, body) = req.into_parts();
    let res = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => {
            handle(
                &app,
                http::Request::from_parts(head, body.to_bytes()),
                Some(peer),
            )
            .await
        }
        Err(e) => Problem::new(http::StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    if let Some((started, method, path)) = started {
        tracing::info!(
            target: "lambada::access",
            method = %method,
            path = %path,
            status = res.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "request"
        );
    }
    Ok(ServerBody::of(res))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Serves `app` on `addr` until SIGTERM or Ctrl-C, then lets in-flight
/// requests finish.
pub(crate) async fn serve(app: App, addr: SocketAddr) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, routes = app.routes().len(), "serving HTTP");
    eprintln!("lambada: listening on http://{local}");
    let access_log = access_log_enabled();
    let graceful = GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let (stream, peer) = match conn {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let svc = service_fn(move |req| service(app.clone(), access_log, peer, req));
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection error");
                    }
                });
            }
            _ = &mut shutdown => {
                tracing::info!("shutting down");
                break;
            }
        }
    }
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(std::time::Duration::from_secs(25)) => {
            tracing::warn!("in-flight requests did not finish within 25 s");
        }
    }
    Ok(())
}
