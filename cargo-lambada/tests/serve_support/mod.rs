//! Shared by the `serve`, `invoke` and `new` tests: running cargo-lambada
//! (and apps) as child processes in their own process group, killed with
//! everything they started when the test ends; copies of the fixture
//! projects; a small HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// How long a first build may take (dependencies compile, other builds
/// hold cargo's lock on the shared target directory).
pub const BUILD_WAIT: Duration = Duration::from_secs(1200);

/// The Lambada workspace.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cargo-lambada is in the workspace")
        .to_path_buf()
}

/// The shared target directory (so fixtures reuse compiled dependencies).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// `cargo-lambada lambada …`, offline, on the shared target directory.
pub fn cargo_lambada() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cargo-lambada"));
    c.arg("lambada")
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("LAMBADA_MODE");
    c
}

/// The examples/helloworld manifest.
pub fn helloworld() -> String {
    workspace()
        .join("examples/helloworld/Cargo.toml")
        .display()
        .to_string()
}

/// Writes `content` unless the file already holds it (keeping its mtime),
/// through a rename, so a concurrent reader never sees half a file.
fn write_if_changed(path: &Path, content: &[u8]) {
    if std::fs::read(path).ok().as_deref() != Some(content) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, content).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }
}

/// A copy of `tests/fixtures/<fixture>` as package `package`, at a stable
/// place in the target directory (so its build is reused between runs),
/// depending on this checkout's lambada-runtime, with the workspace's lock
/// file (so it resolves offline to the versions already compiled). Files
/// are rewritten only when they differ, to keep cargo's fingerprints.
pub fn fixture(fixture: &str, package: &str) -> PathBuf {
    // Once per test binary: its tests run in parallel and share the copy.
    static DONE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut done = DONE.lock().unwrap_or_else(|e| e.into_inner());
    let dest = target_dir().join("lambada-test-fixtures").join(package);
    if done.iter().any(|p| p == package) {
        return dest;
    }
    done.push(package.to_owned());
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let runtime = workspace().join("lambada-runtime");
    let manifest = std::fs::read_to_string(src.join("Cargo.toml"))
        .unwrap()
        .replace(
            &format!("name = \"{fixture}\""),
            &format!("name = \"{package}\""),
        )
        .replace(
            &format!("function = \"{fixture}\""),
            &format!("function = \"{package}\""),
        )
        .replace(
            "path = \"../../../../lambada-runtime\"",
            &format!("path = {:?}", runtime.display().to_string()),
        );
    write_if_changed(&dest.join("Cargo.toml"), manifest.as_bytes());
    copy_tree(&src.join("src"), &dest.join("src"));
    if !dest.join("Cargo.lock").exists() {
        write_if_changed(
            &dest.join("Cargo.lock"),
            &std::fs::read(workspace().join("Cargo.lock")).unwrap(),
        );
    }
    dest
}

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            write_if_changed(&target, &std::fs::read(e.path()).unwrap());
        }
    }
}

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

#[derive(Default)]
struct Lines {
    lines: Vec<(Stream, String)>,
    closed: usize,
}

/// A child process in its own process group, its output collected line by
/// line. Dropping it stops the whole group (SIGTERM, then SIGKILL).
pub struct Proc {
    child: Child,
    name: String,
    out: Arc<(Mutex<Lines>, Condvar)>,
}

fn signal_group(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Proc {
    /// Starts `cmd` with piped output in a new process group.
    pub fn spawn(mut cmd: Command, name: &str) -> Proc {
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let out = Arc::new((Mutex::new(Lines::default()), Condvar::new()));
        let streams: [(Stream, Box<dyn Read + Send>); 2] = [
            (Stream::Out, Box::new(child.stdout.take().unwrap())),
            (Stream::Err, Box::new(child.stderr.take().unwrap())),
        ];
        for (stream, reader) in streams {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(reader).lines() {
                    let Ok(line) = line else { break };
                    let (m, cv) = &*out;
                    m.lock().unwrap().lines.push((stream, line));
                    cv.notify_all();
                }
                let (m, cv) = &*out;
                m.lock().unwrap().closed += 1;
                cv.notify_all();
            });
        }
        Proc {
            child,
            name: name.to_owned(),
            out,
        }
    }

    /// The first line (from `stream`) that satisfies `pred`, waiting at
    /// most `timeout`; `None` when the process closed its output first or
    /// the time is up.
    pub fn wait_line(
        &self,
        stream: Stream,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (m, cv) = &*self.out;
        let mut g = m.lock().unwrap();
        loop {
            if let Some((_, l)) = g.lines.iter().find(|(s, l)| *s == stream && pred(l)) {
                return Some(l.clone());
            }
            let now = Instant::now();
            if g.closed == 2 || now >= deadline {
                return None;
            }
            g = cv
                .wait_timeout(g, (deadline - now).min(Duration::from_millis(200)))
                .unwrap()
                .0;
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        let (m, _) = &*self.out;
        let g = m.lock().unwrap();
        g.lines
            .iter()
            .map(|(s, l)| format!("[{}] {l}\n", if *s == Stream::Out { "out" } else { "err" }))
            .collect()
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM to the group and waits (bounded) for the exit.
    pub fn terminate(&mut self, patience: Duration) -> Option<std::process::ExitStatus> {
        signal_group(self.child.id(), "TERM");
        let deadline = Instant::now() + patience;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let exited = matches!(self.child.try_wait(), Ok(Some(_)));
        if !exited && self.terminate(Duration::from_secs(10)).is_none() {
            eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        }
        // Whatever is left of the group (bootstraps, cargo) goes too.
        signal_group(self.child.id(), "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- output of {} ---\n{}", self.name, self.output());
        }
    }
}

/// A running `cargo lambada serve`.
pub struct Serve {
    pub proc: Proc,
    pub port: u16,
}

impl Serve {
    /// Starts `serve --port 0 ARGS…` and waits until it listens.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Serve {
        Serve::spawn(cargo_lambada(), args, envs)
    }

    /// [`Serve::start`] from the directory `dir`.
    pub fn start_in(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Serve {
        let mut cmd = cargo_lambada();
        cmd.current_dir(dir);
        Serve::spawn(cmd, args, envs)
    }

    fn spawn(mut cmd: Command, args: &[&str], envs: &[(&str, &str)]) -> Serve {
        cmd.args(["serve", "--port", "0"]).args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let proc = Proc::spawn(cmd, "cargo lambada serve");
        let Some(line) = proc.wait_line(Stream::Out, BUILD_WAIT, |l| {
            l.starts_with("Serving ") && l.contains("http://")
        }) else {
            panic!("serve did not start listening:\n{}", proc.output());
        };
        let port = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in `{line}`"));
        Serve { proc, port }
    }

    /// Waits (bounded) for a log line on stderr containing `needle`.
    pub fn wait_log(&self, needle: &str) -> bool {
        self.proc
            .wait_line(Stream::Err, Duration::from_secs(30), |l| l.contains(needle))
            .is_some()
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Res {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_owned())
            .collect()
    }
}

/// One request on a fresh connection (bounded: a reload may be building).
pub async fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Res {
    let fut = async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| panic!("cannot connect to port {port}: {e}"));
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
        tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", format!("127.0.0.1:{port}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(body.into())).expect("request");
        let res = sender
            .send_request(req)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("response body").to_bytes();
        Res {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    };
    tokio::time::timeout(Duration::from_secs(600), fut)
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no answer within 600 s"))
}

/// A GET request.
pub async fn get(port: u16, path: &str) -> Res {
    send(port, "GET", path, &[], Bytes::new()).await
}

/// Every route of examples/helloworld, and the 404 and 405 around them, on
/// a server at `port` whose events are of `format` (the answers are the
/// same in every format).
pub async fn check_helloworld(port: u16, format: &str) {
    let ctx = |what: &str| format!("{format}: {what}");
    let res = get(port, "/helloworld/5").await;
    assert_eq!(res.status, 200, "{}", ctx(&res.text()));
    assert_eq!(res.text(), "Hello world: 5", "{}", ctx("hello"));
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=utf-8")
    );

    let res = get(port, "/helloworld/abc").await;
    assert_eq!(res.status, 400, "{}", ctx(&res.text()));
    assert_eq!(res.header("content-type"), Some("application/problem+json"));

    let res = get(port, "/greet?name=Ada%20L&excited=true").await;
    assert_eq!(res.text(), "Hello, Ada L!", "{}", ctx("greet"));
    let res = get(port, "/greet").await;
    assert_eq!(res.text(), "Hello, stranger.", "{}", ctx("greet"));

    let res = send(port, "GET", "/agent", &[("user-agent", "curl/8.5")], "").await;
    assert_eq!(res.text(), "You are using curl/8.5", "{}", ctx("agent"));

    let item = r#"{"sku":"ABC-123","quantity":2}"#;
    let res = send(
        port,
        "POST",
        "/items",
        &[("content-type", "application/json")],
        item,
    )
    .await;
    assert_eq!(res.status, 201, "{}", ctx(&res.text()));
    assert_eq!(
        res.json(),
        serde_json::json!({"sku": "ABC-123", "quantity": 2, "href": "/items/ABC-123"})
    );
    let zero = r#"{"sku":"X","quantity":0}"#;
    let res = send(
        port,
        "POST",
        "/items",
        &[("content-type", "application/json")],
        zero,
    )
    .await;
    assert_eq!(res.status, 422, "{}", ctx(&res.text()));

    let res = get(port, "/items/ABC-123").await;
    assert_eq!(res.status, 200, "{}", ctx(&res.text()));
    assert_eq!(res.json()["quantity"], 7);
    let res = get(port, "/items/NOPE").await;
    assert_eq!(res.status, 404, "{}", ctx(&res.text()));
    assert_eq!(res.json()["detail"], "no item `NOPE`");

    // Protected by the `users` authorizer; no token (and serve has no keys):
    // the gateway refuses on REST and HTTP APIs, the function itself behind
    // a function URL or an ALB, which run no authorizer.
    let res = get(port, "/me").await;
    assert_eq!(res.status, 401, "{}", ctx(&res.text()));
    assert_eq!(
        res.header("www-authenticate"),
        Some("Bearer"),
        "{}",
        ctx("me")
    );

    let res = get(port, "/old-home").await;
    assert_eq!(res.status, 301, "{}", ctx(&res.text()));
    assert_eq!(res.header("location"), Some("/helloworld/1"));

    let res = get(port, "/no/such/route").await;
    assert_eq!(res.status, 404, "{}", ctx(&res.text()));
    assert_eq!(res.header("content-type"), Some("application/problem+json"));

    let res = send(port, "DELETE", "/helloworld/5", &[], "").await;
    assert_eq!(res.status, 405, "{}", ctx(&res.text()));
    assert_eq!(res.header("allow"), Some("GET, HEAD"), "{}", ctx("allow"));

    let res = send(port, "HEAD", "/helloworld/5", &[], "").await;
    assert_eq!(res.status, 200, "{}", ctx("head"));
    assert!(res.body.is_empty(), "{}", ctx("head body"));
}
