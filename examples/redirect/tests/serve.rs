//! The real `bootstrap` behind `cargo lambada serve`, in each event format
//! serve can emulate, against moto's DynamoDB: what a developer runs
//! locally, and the Lambda custom runtime path end to end (Runtime API,
//! event encoding, the response back to HTTP).
//!
//! The test builds cargo-lambada with the cargo that runs it (the
//! workspace's other package: no `CARGO_BIN_EXE_` for it here; see
//! `lambada_test_support::cargo_lambada`), then
//! starts `serve --port 0` in its own process group, and stops the group
//! (serve, its cargo, the bootstraps) when done, pass or fail.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use lambada_test_support::{AWS_ENV, Moto, cargo_lambada};
use serde_json::Value;

/// How long serve's build of the example may take: other builds may hold
/// the shared target directory's lock.
const BUILD_WAIT: Duration = Duration::from_secs(1200);
/// How long one request may take (a cold start included).
const REQUEST_WAIT: Duration = Duration::from_secs(60);

/// Collects a child's output line by line (for failure messages), and
/// hands each stdout line to `lines`.
fn drain(
    child: &mut Child,
    log: &Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
) -> Vec<std::thread::JoinHandle<()>> {
    let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
    let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
    [(out, lines), (err, None)]
        .into_iter()
        .map(|(reader, tx)| {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    log.lock().unwrap().push_str(&format!("{line}\n"));
                    if let Some(tx) = &tx {
                        let _ = tx.send(line);
                    }
                }
            })
        })
        .collect()
}

/// Waits for `child` at most `patience`.
fn wait(child: &mut Child, patience: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + patience;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `cargo lambada serve`, stopped with its process group on drop.
struct Serve {
    child: Child,
    port: u16,
    log: Arc<Mutex<String>>,
}

impl Serve {
    fn start(cli: &Path, moto: &Moto, format: &str, table: &str) -> Serve {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut child = Command::new(cli)
            .args(["lambada", "serve", "--port", "0", "--no-reload"])
            .args(["--format", format])
            .arg("--manifest-path")
            .arg(&manifest)
            .args(["--env", &format!("LINKS_TABLE={table}")])
            .args(["--env", "MOVED_TO=https://new.example.com/docs/"])
            // `POST /links` needs an editor: every request carries these
            // claims (the `editors` authorizer's job on AWS).
            .args([
                "--claims",
                r#"{"sub": "e-1", "username": "editor", "scope": "links/write"}"#,
            ])
            .envs(AWS_ENV)
            .env("AWS_ENDPOINT_URL", moto.url())
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
            .env_remove("LAMBADA_MODE")
            .env_remove("LAMBADA_ROUTES")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cargo lambada serve starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        drain(&mut child, &log, Some(tx));
        let mut serve = Serve {
            child,
            port: 0,
            log,
        };
        let deadline = Instant::now() + BUILD_WAIT;
        serve.port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let port = line
                        .strip_prefix("Serving ")
                        .and_then(|l| l.split("http://").nth(1))
                        .and_then(|rest| rest.split_whitespace().next())
                        .and_then(|addr| addr.rsplit(':').next())
                        .and_then(|p| p.parse().ok());
                    if let Some(port) = port {
                        break port;
                    }
                }
                Err(_) => panic!(
                    "serve did not start listening:\n{}",
                    serve.log.lock().unwrap()
                ),
            }
        };
        serve
    }
}

fn signal_group(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for Serve {
    fn drop(&mut self) {
        let pid = self.child.id();
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            signal_group(pid, "TERM");
            let _ = wait(&mut self.child, Duration::from_secs(10));
        }
        // Whatever is left of the group (bootstraps) goes too.
        signal_group(pid, "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- output of cargo lambada serve ---\n{}",
                self.log.lock().unwrap()
            );
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
struct Res {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Res {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// One HTTP/1.0 request (so the answer is never chunked and the server
/// closes the connection after it).
fn send(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Res {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(REQUEST_WAIT)).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {raw:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Res {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn post_link(port: u16, body: &str) -> Res {
    send(
        port,
        "POST",
        "/links",
        &[("Content-Type", "application/json")],
        body,
    )
}

#[test]
fn every_route_through_cargo_lambada_serve() {
    let cli = cargo_lambada();
    let moto = Moto::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for format in ["rest", "http", "url", "alb", "alb-multi"] {
        let table = format!("links-{format}");
        rt.block_on(moto.create_table_with_key(&table, "code"));
        let serve = Serve::start(cli, &moto, format, &table);
        let port = serve.port;
        let ctx = |what: &str| format!("{format}: {what}");
        if matches!(format, "url" | "alb" | "alb-multi") {
            // No authorizer runs behind a function URL or an ALB: writes are
            // refused by the function; the links of this table come from
            // the store directly.
            let res = post_link(
                port,
                r#"{"url": "https://docs.example.com/guide", "code": "guide"}"#,
            );
            assert_eq!(res.status, 401, "{}", ctx(&res.body));
            let links = redirect::Links::new(moto.dynamodb(), table.as_str());
            for (code, url, permanent) in [
                ("guide", "https://docs.example.com/guide", false),
                ("keeper1", "https://example.org/", true),
            ] {
                let link = redirect::Link::new(code.into(), url.into(), permanent);
                rt.block_on(links.put_new(&link)).unwrap();
            }
            let res = send(port, "GET", "/guide", &[], "");
            assert_eq!(res.status, 302, "{}", ctx(&res.body));
            let res = send(port, "GET", "/keeper1", &[], "");
            assert_eq!(res.status, 301, "{}", ctx(&res.body));
            assert_eq!(res.header("location"), Some("https://example.org/"));
            let res = send(port, "GET", "/nope", &[("Accept", "application/json")], "");
            assert_eq!(res.status, 404, "{}", ctx(&res.body));
            let res = send(port, "GET", "/moved/a%20b/c?x=1&y=a%2Bb", &[], "");
            assert_eq!(res.status, 308, "{}", ctx(&res.body));
            continue;
        }

        let res = post_link(
            port,
            r#"{"url": "https://docs.example.com/guide", "code": "guide"}"#,
        );
        assert_eq!(res.status, 201, "{}", ctx(&res.body));
        assert_eq!(res.header("location"), Some("guide"), "{}", ctx("location"));
        assert_eq!(res.json()["url"], "https://docs.example.com/guide");

        let res = send(port, "GET", "/guide", &[], "");
        assert_eq!(res.status, 302, "{}", ctx(&res.body));
        assert_eq!(
            res.header("location"),
            Some("https://docs.example.com/guide"),
            "{}",
            ctx("302")
        );
        let res = send(port, "GET", "/guide?permanent=true", &[], "");
        assert_eq!(res.status, 301, "{}", ctx(&res.body));
        assert_eq!(
            res.header("location"),
            Some("https://docs.example.com/guide")
        );

        let res = post_link(
            port,
            r#"{"url": "https://elsewhere.example/", "code": "guide"}"#,
        );
        assert_eq!(res.status, 409, "{}", ctx(&res.body));
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
        let res = post_link(port, r#"{"url": "not a url"}"#);
        assert_eq!(res.status, 400, "{}", ctx(&res.body));

        let res = post_link(
            port,
            r#"{"url": "https://example.org/", "permanent": true}"#,
        );
        assert_eq!(res.status, 201, "{}", ctx(&res.body));
        let code = res.json()["code"].as_str().unwrap().to_owned();
        assert_eq!(code.len(), 7, "{}", ctx(&code));
        let res = send(port, "GET", &format!("/{code}"), &[], "");
        assert_eq!(res.status, 301, "{}", ctx(&res.body));
        assert_eq!(res.header("location"), Some("https://example.org/"));

        let res = send(port, "GET", "/nope", &[("Accept", "text/html")], "");
        assert_eq!(res.status, 404, "{}", ctx(&res.body));
        assert_eq!(
            res.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{}",
            ctx("404 page")
        );
        assert!(res.body.contains("<code>nope</code>"), "{}", ctx(&res.body));
        let res = send(port, "GET", "/nope", &[("Accept", "application/json")], "");
        assert_eq!(res.status, 404, "{}", ctx(&res.body));
        assert_eq!(res.json()["detail"], "there is no link `nope`");

        let res = send(port, "GET", "/moved/a%20b/c?x=1&y=a%2Bb", &[], "");
        assert_eq!(res.status, 308, "{}", ctx(&res.body));
        assert_eq!(
            res.header("location"),
            Some("https://new.example.com/docs/a%20b/c?x=1&y=a%2Bb"),
            "{}",
            ctx("308")
        );
        drop(serve);
    }
}
