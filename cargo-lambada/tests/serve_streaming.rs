//! `cargo lambada serve` and `invoke` with streamed responses from a real
//! bootstrap: the emulator takes the Runtime API's streaming mode and the
//! gateway forwards each chunk over HTTP as it arrives (the test reads the
//! first before the handler has made the last), for function URL and REST
//! events; a failure mid-stream cuts the body, and the next request is
//! served.

mod serve_support;

use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serve_support::{Serve, cargo_lambada, fixture, get};

fn manifest() -> String {
    fixture("faulty", "faulty-stream")
        .join("Cargo.toml")
        .display()
        .to_string()
}

/// `serve` of the fixture with events of `format` and the `extra` flags.
fn serve(format: &str, extra: &[&str]) -> Serve {
    let manifest = manifest();
    let mut args = vec![
        "--manifest-path",
        &manifest,
        "--no-reload",
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    Serve::start(&args, &[])
}

/// A GET whose body is read frame by frame; `between` runs after the
/// frame holding `first` arrived, before the rest is read.
async fn stream_get(
    port: u16,
    path: &str,
    first: &str,
    between: impl FnOnce(),
) -> (http::response::Parts, Vec<bytes::Bytes>, Result<(), String>) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = http::Request::builder()
        .uri(path)
        .header("host", format!("127.0.0.1:{port}"))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(600), sender.send_request(req))
        .await
        .expect("an answer")
        .unwrap();
    let (parts, mut body) = res.into_parts();
    let mut frames = Vec::new();
    let mut between = Some(between);
    let outcome = loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), body.frame())
            .await
            .expect("the next frame within 30 s");
        match frame {
            None => break Ok(()),
            Some(Err(e)) => break Err(e.to_string()),
            Some(Ok(f)) => {
                if let Ok(data) = f.into_data() {
                    frames.push(data);
                    if frames
                        .concat()
                        .windows(first.len())
                        .any(|w| w == first.as_bytes())
                        && let Some(b) = between.take()
                    {
                        b();
                    }
                }
            }
        }
    };
    (parts, frames, outcome)
}

#[tokio::test(flavor = "multi_thread")]
async fn chunks_reach_the_client_as_the_handler_makes_them() {
    for format in ["url", "rest"] {
        let s = serve(format, &[]);
        let dir = tempfile::tempdir().unwrap();
        let gate = dir.path().join("gate");
        let path = format!("/stream?gate={}", gate.display());
        let (parts, frames, outcome) = stream_get(s.port, &path, "first\n", || {
            // The handler waits for this file before its last chunk: had
            // the gateway buffered, "first" would not be here yet.
            std::fs::write(&gate, b"go").unwrap();
        })
        .await;
        assert_eq!(parts.status, 200, "{format}");
        assert_eq!(parts.headers["content-type"], "text/plain", "{format}");
        assert_eq!(parts.headers["transfer-encoding"], "chunked", "{format}");
        assert!(outcome.is_ok(), "{format}: {outcome:?}");
        assert_eq!(frames.concat(), b"first\nlast\n", "{format}");
        assert!(gate.exists());
        assert!(s.wait_log("GET /stream?gate="), "{}", s.proc.output());
        assert!(s.wait_log("streaming"), "{}", s.proc.output());

        // A failure after the first byte cuts the body short; the next
        // request is served.
        let (parts, frames, outcome) = stream_get(s.port, "/stream-fail", "partial", || {}).await;
        assert_eq!(parts.status, 200, "{format}");
        assert_eq!(frames.concat(), b"partial\n", "{format}");
        assert!(outcome.is_err(), "{format}: the body must not end cleanly");
        assert!(
            s.wait_log("the stream failed: Runtime.StreamError: fixture: failing mid-stream"),
            "{}",
            s.proc.output()
        );
        let res = get(s.port, "/version").await;
        assert_eq!(res.status, 200, "{format}");
    }
}

/// The function timeout runs until the stream ends, as on Lambda: a
/// handler still streaming past it is stopped, the body is cut short, and
/// a fresh bootstrap answers the next request.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_past_the_timeout_is_cut_and_its_bootstrap_replaced() {
    let s = serve("url", &["--concurrency", "1", "--timeout", "2"]);
    let before = get(s.port, "/pid").await;
    assert_eq!(before.status, 200);
    let dir = tempfile::tempdir().unwrap();
    // No gate: the handler holds its last chunk for 20 s.
    let path = format!("/stream?gate={}", dir.path().join("never").display());
    let started = std::time::Instant::now();
    let (parts, frames, outcome) = stream_get(s.port, &path, "first\n", || {}).await;
    assert_eq!(parts.status, 200);
    assert_eq!(frames.concat(), b"first\n");
    assert!(outcome.is_err(), "the body must not end cleanly");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "cut at the timeout, not when the handler gave up: {:?}",
        started.elapsed()
    );
    assert!(
        s.wait_log("Task timed out after 2.00 seconds: the bootstrap was stopped while streaming"),
        "{}",
        s.proc.output()
    );
    let after = get(s.port, "/pid").await;
    assert_eq!(after.status, 200);
    assert_ne!(before.text(), after.text(), "a new bootstrap answers");
}

/// A bootstrap still streaming is busy, as a Lambda execution environment
/// is: a request arriving meanwhile gets another bootstrap instead of
/// waiting behind the stream.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_during_a_stream_gets_another_bootstrap() {
    let s = serve("url", &["--concurrency", "2"]);
    // Serve starts one bootstrap ahead of the first request; once it is
    // up, it answers /pid and then takes the stream (the most recently
    // used goes first).
    assert!(s.wait_log("bootstrap #1 ready"), "{}", s.proc.output());
    let streaming_pid = get(s.port, "/pid").await.text();
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    let path = format!("/stream?gate={}", gate.display());
    let (first_tx, first_rx) = tokio::sync::oneshot::channel();
    let port = s.port;
    let stream = tokio::spawn(async move {
        stream_get(port, &path, "first\n", move || {
            let _ = first_tx.send(());
        })
        .await
    });
    first_rx.await.expect("the first chunk");
    // The stream's bootstrap waits for the gate, which is not there yet.
    let other = tokio::time::timeout(Duration::from_secs(15), get(s.port, "/pid"))
        .await
        .expect("answered while the stream is open");
    assert_eq!(other.status, 200);
    assert_ne!(other.text(), streaming_pid, "another bootstrap answers");
    assert!(!stream.is_finished());
    std::fs::write(&gate, b"go").unwrap();
    let (parts, frames, outcome) = stream.await.unwrap();
    assert_eq!(parts.status, 200);
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(frames.concat(), b"first\nlast\n");
    // Once its stream has ended, that bootstrap is idle again, and the
    // most recently freed: it answers next.
    assert_eq!(get(s.port, "/pid").await.text(), streaming_pid);
}

#[tokio::test(flavor = "multi_thread")]
async fn http_api_events_get_the_body_whole() {
    let s = serve("http", &[]);
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    std::fs::write(&gate, b"open already").unwrap();
    let res = get(s.port, &format!("/stream?gate={}", gate.display())).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "first\nlast\n");
    assert!(
        res.header("content-length").is_some(),
        "buffered: {:?}",
        res.headers
    );
}

#[test]
fn invoke_prints_the_prelude_and_the_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    std::fs::write(&gate, b"open already").unwrap();
    let (out, stdout, stderr) = invoke_url(&[], &gate);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("\"statusCode\": 200"), "{stdout}");
    assert!(stdout.contains("first\nlast\n"), "{stdout}");
    assert!(stderr.contains("streamed response"), "{stderr}");
}

#[test]
fn invoke_cuts_a_stream_at_the_function_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stdout, stderr) = invoke_url(&["--timeout", "2"], &dir.path().join("never"));
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("first\n"), "{stdout}");
    assert!(!stdout.contains("last"), "{stdout}");
    assert!(
        stderr.contains("Task timed out after 2.00 seconds"),
        "{stderr}"
    );
}

/// `invoke --format url EXTRA… --get /stream?gate=GATE`: its status, stdout
/// and stderr.
fn invoke_url(extra: &[&str], gate: &std::path::Path) -> (std::process::Output, String, String) {
    let out = cargo_lambada()
        .args(["invoke", "--manifest-path", &manifest(), "--format", "url"])
        .args(extra)
        .args(["--get", &format!("/stream?gate={}", gate.display())])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}
