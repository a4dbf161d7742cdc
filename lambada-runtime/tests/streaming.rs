//! Streamed responses: through the test client for every event kind, and
//! over a real Runtime API server (hyper on loopback) that reads the
//! streamed POST frame by frame: the prelude, each chunk before the
//! handler has made the next, the error trailers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambada::prelude::*;
use lambada::stream::{Event, Sse, Streaming};
use lambada::test::Client;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// Lets the streaming handler go on once the test has seen its first chunk.
static GO_ON: Notify = Notify::const_new();

/// Three rows; the third only once the reader has had the first.
#[get("/export.csv")]
async fn export(gated: Query<Gate>) -> Streaming {
    let (tx, body) = Streaming::channel(1);
    let gated = gated.0.gated.unwrap_or(false);
    tokio::spawn(async move {
        let _ = tx.send("id,name\n").await;
        let _ = tx.send("1,one\n").await;
        if gated {
            GO_ON.notified().await;
        }
        let _ = tx.send(String::from("2,two\n")).await;
    });
    body.content_type("text/csv")
}

#[derive(serde::Deserialize)]
struct Gate {
    gated: Option<bool>,
}

/// Two chunks, then a failure.
#[get("/broken")]
async fn broken() -> Streaming {
    let (tx, body) = Streaming::channel(4);
    tokio::spawn(async move {
        let _ = tx.send("partial ").await;
        let _ = tx.send("data").await;
        let _ = tx.fail("the database went away").await;
    });
    body
}

/// A stream that panics while making its second chunk.
#[get("/panics")]
async fn panics() -> Streaming<PanicOnSecond> {
    Streaming::new(PanicOnSecond(0))
}

struct PanicOnSecond(u8);

impl futures_core::Stream for PanicOnSecond {
    type Item = Result<&'static str, Infallible>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0 += 1;
        if self.0 == 2 {
            panic!("second chunk");
        }
        std::task::Poll::Ready(Some(Ok("first")))
    }
}

#[get("/progress")]
async fn progress() -> Sse {
    let (tx, events) = Sse::channel(4);
    tokio::spawn(async move {
        for pct in [0, 50, 100] {
            let event = Event::new()
                .event("progress")
                .id(pct.to_string())
                .data(format!("{pct}%\nof the work"));
            let _ = tx.send(event).await;
        }
    });
    events
}

/// Streams when the attribute says so, whatever the return type.
#[get("/declared", stream)]
async fn declared() -> impl IntoResponse {
    Streaming::reader(&b"read from an AsyncRead"[..])
}

#[get("/plain")]
async fn plain() -> (StatusCode, ([(HeaderName, &'static str); 1], &'static str)) {
    (
        StatusCode::ACCEPTED,
        ([(lambada::header::SET_COOKIE, "a=1")], "not streamed"),
    )
}

fn app() -> Routes {
    routes![export, broken, panics, progress, declared, plain]
}

#[test]
fn the_table_knows_which_routes_stream() {
    let app = app();
    let streams: Vec<(&str, bool)> = app.iter().map(|r| (r.handler, (r.streams)())).collect();
    assert_eq!(
        streams,
        [
            ("export", true),
            ("broken", true),
            ("panics", true),
            ("progress", true),
            ("declared", true),
            ("plain", false),
        ]
    );
}

#[tokio::test]
async fn function_urls_and_rest_apis_stream_chunk_by_chunk() {
    for kind in [EventKind::FunctionUrl, EventKind::RestV1] {
        let res = Client::new(app())
            .get("/export.csv")
            .kind(kind)
            .send()
            .await;
        assert!(res.is_streamed(), "{kind:?}");
        assert_eq!(res.status(), 200);
        assert_eq!(res.header("content-type"), Some("text/csv"));
        let chunks: Vec<&[u8]> = res.chunks().iter().map(|c| &c[..]).collect();
        assert_eq!(
            chunks,
            [&b"id,name\n"[..], b"1,one\n", b"2,two\n"],
            "{kind:?}"
        );
        assert_eq!(res.text(), "id,name\n1,one\n2,two\n");
    }
}

#[tokio::test]
async fn front_doors_that_cannot_stream_get_the_whole_body() {
    for kind in [EventKind::HttpV2, EventKind::Alb, EventKind::AlbMultiValue] {
        let res = Client::new(app())
            .get("/export.csv")
            .kind(kind)
            .send()
            .await;
        assert!(!res.is_streamed(), "{kind:?}");
        assert_eq!(res.text(), "id,name\n1,one\n2,two\n", "{kind:?}");
        assert_eq!(res.header("content-type"), Some("text/csv"));
    }
    // A body that fails cannot be sent whole: a 500 problem.
    let res = Client::new(app())
        .get("/broken")
        .kind(EventKind::HttpV2)
        .send()
        .await;
    assert_eq!(res.status(), 500);
}

#[tokio::test]
async fn a_function_url_streams_every_answer_of_an_app_that_streams() {
    // The URL's invoke mode is the function's: a buffered route's answer
    // goes through the stream too, in one chunk, with its cookies.
    let res = Client::new(app())
        .get("/plain")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert!(res.is_streamed());
    assert_eq!(res.status(), 202);
    assert_eq!(res.chunks(), [Bytes::from_static(b"not streamed")]);
    assert_eq!(res.payload()["cookies"], serde_json::json!(["a=1"]));
    // A REST API streams only the routes whose integrations stream.
    let res = Client::new(app())
        .get("/plain")
        .kind(EventKind::RestV1)
        .send()
        .await;
    assert!(!res.is_streamed());
    assert_eq!(res.text(), "not streamed");
    // So do 404s on a function URL.
    let res = Client::new(app())
        .get("/nowhere")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert!(res.is_streamed());
    assert_eq!(res.status(), 404);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
}

#[tokio::test]
async fn a_failure_after_the_first_byte_ends_the_body_and_is_reported() {
    let res = Client::new(app())
        .get("/broken")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert_eq!(res.status(), 200, "the status went out with the prelude");
    assert_eq!(res.text(), "partial data");
    assert_eq!(res.stream_error(), Some("the database went away"));

    // A panic while making a chunk: reported, and the app serves on.
    let client = Client::new(app());
    let res = client
        .get("/panics")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert_eq!(res.text(), "first");
    assert!(
        res.stream_error().unwrap().contains("second chunk"),
        "{:?}",
        res.stream_error()
    );
    let res = client.get("/plain").kind(EventKind::RestV1).send().await;
    assert_eq!(res.status(), 202);
}

#[tokio::test]
async fn server_sent_events_are_framed_per_the_html_standard() {
    let res = Client::new(app())
        .get("/progress")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert_eq!(res.header("content-type"), Some("text/event-stream"));
    assert_eq!(res.header("cache-control"), Some("no-cache"));
    assert_eq!(res.chunks().len(), 3);
    assert_eq!(
        res.chunks()[1],
        Bytes::from_static(b"event: progress\ndata: 50%\ndata: of the work\nid: 50\n\n")
    );
    assert_eq!(
        Event::new().event("a\nb").to_bytes(),
        Bytes::from_static(b"event: a b\n\n")
    );
    assert_eq!(Event::new().to_bytes(), Bytes::from_static(b":\n\n"));
}

#[tokio::test]
async fn head_answers_of_streaming_routes_have_no_body() {
    let res = Client::new(app())
        .head("/export.csv")
        .kind(EventKind::FunctionUrl)
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.chunks().is_empty());
    let res = Client::new(app())
        .get("/declared")
        .kind(EventKind::RestV1)
        .send()
        .await;
    assert!(res.is_streamed());
    assert_eq!(res.text(), "read from an AsyncRead");
}

/// What the Runtime API server saw of one streamed POST.
#[derive(Debug, Default, Clone)]
struct Post {
    path: String,
    headers: http::HeaderMap,
    frames: Vec<Bytes>,
    trailers: Option<http::HeaderMap>,
}

/// A Runtime API server handing out `events` one by one and recording each
/// result's frames as they arrive; after the second data frame of a
/// result (the prelude, then the first chunk) it lets [`GO_ON`] go.
async fn runtime_api(events: Vec<Vec<u8>>) -> (SocketAddr, Arc<Mutex<Vec<Post>>>) {
    let events = Arc::new(Mutex::new(
        events
            .into_iter()
            .enumerate()
            .map(|(i, e)| (format!("req-{i}"), e))
            .collect::<std::collections::VecDeque<_>>(),
    ));
    let posts = Arc::new(Mutex::new(Vec::<Post>::new()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = posts.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let (events, seen) = (events.clone(), seen.clone());
            let svc = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let (events, seen) = (events.clone(), seen.clone());
                async move {
                    let path = req.uri().path().to_owned();
                    if path.ends_with("/next") {
                        loop {
                            let next = events.lock().unwrap().pop_front();
                            if let Some((id, event)) = next {
                                return Ok::<_, Infallible>(
                                    http::Response::builder()
                                        .header("lambda-runtime-aws-request-id", id)
                                        .header("lambda-runtime-deadline-ms", "4102444800000")
                                        .body(Full::new(Bytes::from(event)))
                                        .unwrap(),
                                );
                            }
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                    }
                    let i = {
                        let mut s = seen.lock().unwrap();
                        s.push(Post {
                            path,
                            headers: req.headers().clone(),
                            ..Post::default()
                        });
                        s.len() - 1
                    };
                    let mut body = req.into_body();
                    while let Some(frame) = body.frame().await {
                        let frame = frame.unwrap();
                        let mut s = seen.lock().unwrap();
                        if let Some(data) = frame.data_ref() {
                            s[i].frames.push(data.clone());
                            if s[i].frames.len() == 2 {
                                GO_ON.notify_one();
                            }
                        } else if let Some(t) = frame.trailers_ref() {
                            s[i].trailers = Some(t.clone());
                        }
                    }
                    Ok(http::Response::builder()
                        .status(202)
                        .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}\n")))
                        .unwrap())
                }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, posts)
}

#[tokio::test]
async fn the_runtime_streams_over_the_runtime_api() {
    let client = Client::new(app());
    let events = vec![
        client
            .get("/export.csv?gated=true")
            .kind(EventKind::FunctionUrl)
            .to_event(),
        client
            .get("/broken")
            .kind(EventKind::FunctionUrl)
            .to_event(),
        client.get("/plain").kind(EventKind::HttpV2).to_event(),
        client.get("/export.csv").kind(EventKind::RestV1).to_event(),
    ];
    let (addr, posts) = runtime_api(events).await;
    let runtime = tokio::spawn(lambada::run_with(
        app(),
        lambada::Mode::Lambda(addr.to_string()),
    ));
    // The gated export ends only after the server has had its first chunk:
    // a runtime that buffered would never finish it.
    let done = async {
        loop {
            let n = posts.lock().unwrap().len();
            let last_done = posts
                .lock()
                .unwrap()
                .get(3)
                .is_some_and(|p| p.frames.concat().ends_with(b"2,two\n"));
            if n == 4 && last_done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), done)
        .await
        .expect("four results, the gated stream finished after its first chunk was read");
    runtime.abort();
    let posts = posts.lock().unwrap().clone();

    let p = &posts[0];
    assert_eq!(p.path, "/2018-06-01/runtime/invocation/req-0/response");
    assert_eq!(
        p.headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    assert_eq!(
        p.headers["content-type"],
        "application/vnd.awslambda.http-integration-response"
    );
    assert_eq!(p.headers["transfer-encoding"], "chunked");
    // The prelude with its NULs, then one frame per chunk.
    let prelude = &p.frames[0];
    assert!(prelude.ends_with(&[0; 8]), "{prelude:?}");
    let meta: serde_json::Value = serde_json::from_slice(&prelude[..prelude.len() - 8]).unwrap();
    assert_eq!(meta["statusCode"], 200);
    assert_eq!(meta["headers"]["content-type"], "text/csv");
    assert_eq!(
        p.frames[1..],
        [
            Bytes::from_static(b"id,name\n"),
            Bytes::from_static(b"1,one\n"),
            Bytes::from_static(b"2,two\n"),
        ]
    );
    assert!(p.trailers.is_none(), "no error: {:?}", p.trailers);

    // A failure after the first byte: in the trailers.
    let p = &posts[1];
    assert_eq!(p.frames[1..].concat(), b"partial data");
    let t = p.trailers.as_ref().expect("error trailers");
    assert_eq!(
        t["lambda-runtime-function-error-type"],
        "Runtime.StreamError"
    );
    let body = base64_decode(t["lambda-runtime-function-error-body"].to_str().unwrap());
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["errorMessage"], "the database went away");

    // HTTP APIs cannot stream: a buffered payload, as before.
    let p = &posts[2];
    assert!(
        p.headers
            .get("lambda-runtime-function-response-mode")
            .is_none()
    );
    let v: serde_json::Value = serde_json::from_slice(&p.frames.concat()).unwrap();
    assert_eq!(v["statusCode"], 202);

    // A REST API's prelude carries multiValueHeaders.
    let p = &posts[3];
    let prelude = &p.frames[0];
    let meta: serde_json::Value = serde_json::from_slice(&prelude[..prelude.len() - 8]).unwrap();
    assert_eq!(
        meta["multiValueHeaders"]["content-type"],
        serde_json::json!(["text/csv"])
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = table.iter().position(|&t| t == c).unwrap() as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

#[cfg(feature = "http-server")]
#[tokio::test]
async fn the_http_server_mode_streams_with_chunked_encoding() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let server = tokio::spawn(lambada::run_with(app(), lambada::Mode::Http(addr)));
    let mut conn = loop {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    conn.write_all(b"GET /progress HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    conn.read_to_end(&mut got).await.unwrap();
    server.abort();
    let text = String::from_utf8_lossy(&got).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(text.contains("transfer-encoding: chunked"), "{text}");
    assert!(text.contains("content-type: text/event-stream"), "{text}");
    assert!(
        text.contains("data: 100%\r\n") || text.contains("data: 100%\n"),
        "{text}"
    );
    assert!(text.ends_with("0\r\n\r\n"), "{text}");
}
