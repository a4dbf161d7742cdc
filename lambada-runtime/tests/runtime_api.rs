//! The Lambda loop against a real HTTP Runtime API server (hyper, on
//! loopback): events in, results and errors out, one keep-alive connection,
//! panics survived, init errors reported. Events over 2,048 bytes arrive
//! chunked, as RAPID (Go's net/http) sends them.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambada::prelude::*;
use lambada::test::Client;
use tokio::net::TcpListener;

#[derive(Default)]
struct Api {
    events: VecDeque<(String, Vec<u8>)>,
    /// (path, error type header, body)
    results: Vec<(String, Option<String>, String)>,
    connections: usize,
}

/// A body of unknown length, sent in pieces: hyper frames it chunked.
struct Pieces(VecDeque<Bytes>);

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// Like RAPID: up to 2,048 bytes with a Content-Length, longer chunked
/// (here in pieces of 1,000 bytes).
fn framed(event: Vec<u8>) -> http_body_util::combinators::BoxBody<Bytes, Infallible> {
    if event.len() <= 2048 {
        return Full::new(Bytes::from(event)).boxed();
    }
    let event = Bytes::from(event);
    let pieces = (0..event.len())
        .step_by(1000)
        .map(|i| event.slice(i..(i + 1000).min(event.len())))
        .collect();
    Pieces(pieces).boxed()
}

async fn start(events: Vec<Vec<u8>>) -> (SocketAddr, Arc<Mutex<Api>>) {
    start_with(events, true).await
}

/// The server; with `keep_alive` false it closes each connection after
/// one answer (`Connection: close`).
async fn start_with(events: Vec<Vec<u8>>, keep_alive: bool) -> (SocketAddr, Arc<Mutex<Api>>) {
    let api = Arc::new(Mutex::new(Api {
        events: events
            .into_iter()
            .enumerate()
            .map(|(i, e)| (format!("req-{i}"), e))
            .collect(),
        ..Api::default()
    }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = api.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            state.lock().unwrap().connections += 1;
            let state = state.clone();
            let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let state = state.clone();
                async move {
                    let path = req.uri().path().to_owned();
                    let error_type = req
                        .headers()
                        .get("lambda-runtime-function-error-type")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let body = req.into_body().collect().await.unwrap().to_bytes();
                    if path == "/2018-06-01/runtime/invocation/next" {
                        loop {
                            let next = state.lock().unwrap().events.pop_front();
                            if let Some((id, event)) = next {
                                let res = http::Response::builder()
                                    .header("lambda-runtime-aws-request-id", id)
                                    .header("lambda-runtime-deadline-ms", "4102444800000")
                                    .header(
                                        "lambda-runtime-invoked-function-arn",
                                        "arn:aws:lambda:us-east-1:123456789012:function:f",
                                    )
                                    .header(
                                        "lambda-runtime-trace-id",
                                        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
                                    )
                                    .body(framed(event))
                                    .unwrap();
                                return Ok::<_, Infallible>(res);
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                    state.lock().unwrap().results.push((
                        path,
                        error_type,
                        String::from_utf8_lossy(&body).into_owned(),
                    ));
                    Ok(http::Response::builder()
                        .status(202)
                        .body(framed(b"{\"status\":\"OK\"}\n".to_vec()))
                        .unwrap())
                }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .keep_alive(keep_alive)
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, api)
}

#[get("/hello/<id>")]
async fn hello(id: &str) -> String {
    format!("Hello world: {id}")
}

#[get("/panic")]
async fn panics() -> &'static str {
    panic!("boom")
}

async fn wait_for(api: &Arc<Mutex<Api>>, n: usize) {
    for _ in 0..1000 {
        if api.lock().unwrap().results.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the runtime did not post {n} results in time");
}

#[tokio::test]
async fn serves_events_over_one_connection() {
    let client = Client::new(routes![hello, panics]);
    let sample = std::fs::read(format!(
        "{}/tests/data/apigw-rest-v1-get-hello.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let sns = std::fs::read(format!(
        "{}/tests/data/sns-ses-bounce.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut events = vec![sample.clone()];
    events.push(client.get("/panic").to_event());
    events.push(sns);
    events.push(b"not json".to_vec());
    for i in 0..50 {
        events.push(
            client
                .get(&format!("/hello/{i}"))
                .kind(EventKind::HttpV2)
                .to_event(),
        );
    }
    let n = events.len();
    let (addr, api) = start(events).await;
    let runtime = tokio::spawn(lambada::run_with(
        routes![hello, panics],
        lambada::Mode::Lambda(addr.to_string()),
    ));
    wait_for(&api, n).await;
    runtime.abort();

    let api = api.lock().unwrap();
    let r = &api.results;
    assert_eq!(r[0].0, "/2018-06-01/runtime/invocation/req-0/response");
    let v: serde_json::Value = serde_json::from_str(&r[0].2).unwrap();
    assert_eq!(v["statusCode"], 200);
    assert_eq!(v["body"], "Hello world: 42");
    // A panic is a 500 response, not a function error.
    assert_eq!(r[1].0, "/2018-06-01/runtime/invocation/req-1/response");
    assert!(r[1].2.contains("\"statusCode\":500"));
    // Not an HTTP event: a function error naming what was expected.
    assert_eq!(r[2].0, "/2018-06-01/runtime/invocation/req-2/error");
    assert_eq!(r[2].1.as_deref(), Some("Lambada.UnknownEventShape"));
    let err: serde_json::Value = serde_json::from_str(&r[2].2).unwrap();
    assert_eq!(err["errorType"], "Lambada.UnknownEventShape");
    assert!(
        err["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Application Load Balancer")
    );
    assert_eq!(r[3].1.as_deref(), Some("Lambada.InvalidEventJson"));
    // Every later event served by the same process.
    for (i, res) in r[4..].iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(&res.2).unwrap();
        assert_eq!(v["body"], format!("Hello world: {i}"));
    }
    assert_eq!(
        api.connections, 1,
        "one keep-alive connection for {n} invocations"
    );
}

struct Db;

#[get("/db")]
async fn needs_db(_db: State<Db>) -> &'static str {
    "ok"
}

#[tokio::test]
async fn missing_state_is_an_init_error() {
    let (addr, api) = start(Vec::new()).await;
    let err = lambada::run_with(routes![needs_db], lambada::Mode::Lambda(addr.to_string()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("State<runtime_api::Db>"), "{err}");
    let api = api.lock().unwrap();
    assert_eq!(api.results.len(), 1);
    assert_eq!(api.results[0].0, "/2018-06-01/runtime/init/error");
    assert_eq!(api.results[0].1.as_deref(), Some("Lambada.MissingState"));
}

#[tokio::test]
async fn http_server_mode_serves_the_same_routes() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let server = tokio::spawn(lambada::run_with(
        routes![hello, panics],
        lambada::Mode::Http(addr),
    ));
    let mut body = String::new();
    for _ in 0..200 {
        if let Ok(s) = tokio::net::TcpStream::connect(addr).await {
            let io = TokioIo::new(s);
            let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            for path in ["/hello/7", "/panic", "/hello/8", "/nope"] {
                let req = http::Request::get(path)
                    .header("host", "x")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let res = send.send_request(req).await.unwrap();
                let status = res.status().as_u16();
                let b = res.into_body().collect().await.unwrap().to_bytes();
                body.push_str(&format!(
                    "{status}:{}|",
                    if status == 200 {
                        String::from_utf8_lossy(&b).into_owned()
                    } else {
                        String::new()
                    }
                ));
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.abort();
    assert_eq!(body, "200:Hello world: 7|500:|200:Hello world: 8|404:|");
}

#[tokio::test]
async fn a_server_that_closes_each_connection_is_followed() {
    let client = Client::new(routes![hello]);
    let events: Vec<Vec<u8>> = (0..5)
        .map(|i| {
            client
                .get(&format!("/hello/{i}"))
                .header("x-padding", &"p".repeat(3000))
                .to_event()
        })
        .collect();
    assert!(events[0].len() > 2048, "the events arrive chunked");
    let (addr, api) = start_with(events, false).await;
    let runtime = tokio::spawn(lambada::run_with(
        routes![hello],
        lambada::Mode::Lambda(addr.to_string()),
    ));
    wait_for(&api, 5).await;
    runtime.abort();
    let api = api.lock().unwrap();
    for (i, res) in api.results.iter().enumerate() {
        assert_eq!(
            res.0,
            format!("/2018-06-01/runtime/invocation/req-{i}/response")
        );
        let v: serde_json::Value = serde_json::from_str(&res.2).unwrap();
        assert_eq!(v["body"], format!("Hello world: {i}"));
    }
    // A connection for each /next and each result.
    assert!(api.connections >= 10, "{}", api.connections);
}

/// A Runtime API over plain sockets that drops each connection after one
/// invocation (its `/next` and its result) without saying so, as a server
/// closing idle connections does: the runtime reconnects and sends again.
#[tokio::test]
async fn a_connection_closed_while_idle_is_reopened() {
    use std::io::{BufRead, BufReader, Read, Write};
    let client = Client::new(routes![hello]);
    let events: Vec<Vec<u8>> = (0..3)
        .map(|i| client.get(&format!("/hello/{i}")).to_event())
        .collect();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let mut results = Vec::new();
        let mut events = events.into_iter().enumerate();
        let mut connections = 0;
        while results.len() < 3 {
            let (stream, _) = listener.accept().unwrap();
            connections += 1;
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            for _ in 0..2 {
                let mut head = String::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                if head.is_empty() {
                    break; // the runtime left: a reconnect follows
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                if head.starts_with("GET ") {
                    let (i, event) = events.next().unwrap();
                    write!(
                        writer,
                        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: req-{i}\r\nContent-Length: {}\r\n\r\n",
                        event.len()
                    )
                    .unwrap();
                    writer.write_all(&event).unwrap();
                } else {
                    results.push(String::from_utf8(body).unwrap());
                    writer
                        .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                        .unwrap();
                }
            }
            // Dropped here: closed without a `Connection: close`.
        }
        (results, connections)
    });
    let runtime = tokio::spawn(lambada::run_with(
        routes![hello],
        lambada::Mode::Lambda(addr.to_string()),
    ));
    let (results, connections) = tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();
    runtime.abort();
    for (i, r) in results.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(r).unwrap();
        assert_eq!(v["body"], format!("Hello world: {i}"));
    }
    assert_eq!(connections, 3);
}
