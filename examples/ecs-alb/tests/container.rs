//! The built `orders` and `inventory` binaries in container mode
//! (`LAMBADA_MODE=http`, as the task definitions run them): every route over
//! real HTTP on a loopback port, the `healthcheck` subcommand the task
//! definitions use, and a graceful exit on SIGTERM (what ECS sends when it
//! stops a task).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ORDERS: &str = env!("CARGO_BIN_EXE_orders");
const INVENTORY: &str = env!("CARGO_BIN_EXE_inventory");
const WAIT: Duration = Duration::from_secs(15);

/// A running service; killed when dropped, so a failing test leaves no
/// process behind.
struct Service {
    child: Child,
    port: u16,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a service on an ephemeral port (`PORT=0`) and reads the port it
/// got from its `lambada: listening on http://...` line; stderr is drained
/// afterwards so the logs never fill the pipe.
fn start(bin: &str) -> Service {
    let mut child = Command::new(bin)
        .env("LAMBADA_MODE", "http")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env_remove("LAMBADA_ROUTES")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
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
    let mut service = Service { child, port: 0 };
    match rx.recv_timeout(WAIT) {
        Ok(Some(port)) => service.port = port,
        Ok(None) => panic!("{bin} printed an address without a port"),
        Err(_) => panic!(
            "{bin} did not start listening: {:?}",
            service.child.try_wait()
        ),
    }
    service
}

/// A parsed HTTP/1.1 response.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

impl Service {
    fn request(&self, method: &str, path: &str, json: Option<&str>) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_write_timeout(Some(WAIT)).unwrap();
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        if let Some(body) = json {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            req.push_str("\r\n");
        }
        s.write_all(req.as_bytes()).unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap();
        assert!(status.starts_with("HTTP/1.1 "), "{raw}");
        let status = status[9..12].parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.request("GET", path, None)
    }

    /// Runs `<bin> healthcheck` against this service, as the task
    /// definition's container health check does.
    fn healthcheck(&self, bin: &str) -> ExitStatus {
        Command::new(bin)
            .arg("healthcheck")
            .env("PORT", self.port.to_string())
            .env("HOST", "0.0.0.0") // what the image listens on: probes loopback
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
    }

    /// Sends SIGTERM (as ECS does on `StopTask`) and waits, bounded, for
    /// the exit.
    fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < WAIT,
                "no exit within {WAIT:?} of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn orders_over_http() {
    let svc = start(ORDERS);

    let res = svc.get("/orders/health");
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.json()["service"], "orders");
    assert_eq!(res.json()["status"], "ok");
    assert_eq!(svc.request("HEAD", "/orders/health", None).status, 200);

    let res = svc.get("/orders");
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), serde_json::json!({"orders": []}));

    let res = svc.request("POST", "/orders", Some(r#"{"sku":"ABC-123","quantity":2}"#));
    assert_eq!(res.status, 201, "{res:?}");
    assert_eq!(res.header("location"), Some("/orders/1"));
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(
        res.json(),
        serde_json::json!({"id": 1, "sku": "ABC-123", "quantity": 2})
    );
    let res = svc.request("POST", "/orders", Some(r#"{"sku":"XYZ-789","quantity":1}"#));
    assert_eq!(res.status, 201);

    let res = svc.get("/orders/1");
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["sku"], "ABC-123");
    let res = svc.get("/orders?sku=XYZ-789");
    assert_eq!(res.json()["orders"].as_array().unwrap().len(), 1);
    assert_eq!(res.json()["orders"][0]["id"], 2);
    assert_eq!(
        svc.get("/orders").json()["orders"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let res = svc.request("DELETE", "/orders/1", None);
    assert_eq!(res.status, 204);
    let res = svc.get("/orders/1");
    assert_eq!(res.status, 404);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert_eq!(res.json()["detail"], "no order 1");

    let res = svc.request("POST", "/orders", Some(r#"{"sku":"ABC-123","quantity":0}"#));
    assert_eq!(res.status, 422);
    let res = svc.request("POST", "/orders", Some("{nope"));
    assert_eq!(res.status, 400);
    assert_eq!(svc.get("/orders/first").status, 400);
    assert_eq!(svc.get("/inventory").status, 404);
    let res = svc.request("PUT", "/orders", None);
    assert_eq!(res.status, 405);
    assert_eq!(res.header("allow"), Some("GET, POST, HEAD"));

    assert!(svc.healthcheck(ORDERS).success());
    // Another service's probe asks for its own path: a 404 here.
    assert!(!svc.healthcheck(INVENTORY).success());

    let port = svc.port;
    let status = svc.terminate();
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn inventory_over_http() {
    let svc = start(INVENTORY);

    let res = svc.get("/inventory/health");
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.json()["service"], "inventory");

    let res = svc.get("/inventory");
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["items"].as_array().unwrap().len(), 2);
    let res = svc.get("/inventory?in_stock=false");
    assert_eq!(res.json()["items"][0]["sku"], "XYZ-789");

    let res = svc.get("/inventory/ABC-123");
    assert_eq!(
        res.json(),
        serde_json::json!({"sku": "ABC-123", "name": "Widget", "quantity": 12})
    );

    let res = svc.request(
        "PUT",
        "/inventory/NEW-1",
        Some(r#"{"name":"Sprocket","quantity":3}"#),
    );
    assert_eq!(res.status, 201, "{res:?}");
    assert_eq!(res.header("location"), Some("/inventory/NEW-1"));
    let res = svc.request(
        "PUT",
        "/inventory/NEW-1",
        Some(r#"{"name":"Sprocket","quantity":4}"#),
    );
    assert_eq!(res.status, 200);
    assert_eq!(svc.get("/inventory/NEW-1").json()["quantity"], 4);

    let res = svc.request(
        "PUT",
        "/inventory/new-1",
        Some(r#"{"name":"x","quantity":1}"#),
    );
    assert_eq!(res.status, 400, "a malformed SKU in the path");
    assert_eq!(svc.get("/inventory/NOPE").status, 404);
    assert_eq!(svc.get("/inventory?in_stock=perhaps").status, 400);
    assert_eq!(svc.get("/orders").status, 404);

    assert!(svc.healthcheck(INVENTORY).success());

    let status = svc.terminate();
    assert!(status.success(), "exit after SIGTERM: {status}");
}

#[test]
fn healthcheck_fails_when_nothing_listens() {
    let port = free_port(); // bound, then released: nothing listens on it
    let status = Command::new(ORDERS)
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .env_remove("HOST")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
}

#[test]
fn both_print_their_route_tables() {
    for (bin, first) in [(ORDERS, "/orders"), (INVENTORY, "/inventory")] {
        let out = Command::new(bin)
            .env("LAMBADA_ROUTES", "1")
            .output()
            .unwrap();
        assert!(out.status.success());
        let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(manifest["routes"][0]["apigw_path"], first);
    }
}
