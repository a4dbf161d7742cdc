//! The built `slack-bot` binary: it prints its route table without a
//! secret (what `cargo lambada routes` and `deploy` read), refuses to start
//! without one, and serves verified requests over plain HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use slack_bot::verify::{sign, system_clock};

const BIN: &str = env!("CARGO_BIN_EXE_slack-bot");
const SECRET: &str = "a-test-signing-secret";
const WAIT: Duration = Duration::from_secs(15);

#[test]
fn prints_its_route_table_without_a_secret() {
    let out = Command::new(BIN)
        .env("LAMBADA_ROUTES", "1")
        .env_remove("SLACK_SIGNING_SECRET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = manifest["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["apigw_path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/slack/commands", "/slack/events"]);
}

#[test]
fn refuses_to_start_without_a_secret() {
    let mut child = Server(
        Command::new(BIN)
            .env("LAMBADA_MODE", "http")
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env_remove("LAMBADA_ROUTES")
            .env_remove("SLACK_SIGNING_SECRET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < WAIT, "started without a secret");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut stderr = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("SLACK_SIGNING_SECRET"), "{stderr}");
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the bot on an ephemeral port (`PORT=0`) and reads the port from
/// its `lambada: listening on http://...` line; stderr is drained afterwards.
fn start() -> (Server, u16) {
    let mut child = Command::new(BIN)
        .env("LAMBADA_MODE", "http")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env_remove("LAMBADA_ROUTES")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            let Ok(line) = line else { return };
            if let Some(addr) = line.strip_prefix("lambada: listening on http://") {
                let _ = tx.send(addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()));
                break;
            }
        }
        lines.for_each(drop);
    });
    let port = rx
        .recv_timeout(WAIT)
        .expect("the server did not start listening")
        .expect("a port in the address");
    (server, port)
}

fn post(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_signed_requests_over_http() {
    let (server, port) = start();

    let body = "command=%2Flambada&text=echo+over%20HTTP&user_id=U2CERLKJA";
    let ts = system_clock().to_string();
    let sig = sign(SECRET.as_bytes(), &ts, body.as_bytes());
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let res = post(
        port,
        "/slack/commands",
        &[
            form,
            ("X-Slack-Request-Timestamp", &ts),
            ("X-Slack-Signature", &sig),
        ],
        body,
    );
    assert!(res.starts_with("HTTP/1.1 200 OK\r\n"), "{res}");
    let json = res.split_once("\r\n\r\n").unwrap().1;
    let reply: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(reply["response_type"], "in_channel");
    assert_eq!(reply["text"], "over HTTP");

    let res = post(
        port,
        "/slack/commands",
        &[
            form,
            ("X-Slack-Request-Timestamp", &ts),
            ("X-Slack-Signature", &sig),
        ],
        &body.replace("HTTP", "HTTPS"),
    );
    assert!(res.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{res}");
    drop(server);
}
