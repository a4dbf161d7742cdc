//! The built `helloworld` binary itself: it prints its route table when
//! asked (what `cargo lambada routes` and `deploy` read) and serves HTTP
//! when not started by Lambda.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_helloworld");

#[test]
fn prints_its_route_table() {
    let out = Command::new(BIN)
        .env("LAMBADA_ROUTES", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let routes = manifest["routes"].as_array().unwrap();
    let table: Vec<(&str, &str, &str)> = routes
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap(),
                r["apigw_path"].as_str().unwrap(),
                r["handler"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        table,
        [
            ("GET", "/helloworld/{id}", "index"),
            ("GET", "/greet", "greet"),
            ("GET", "/agent", "agent"),
            ("POST", "/items", "create"),
            ("GET", "/items/{sku}", "item"),
            ("GET", "/old-home", "old_home"),
            ("GET", "/me", "me"),
            ("GET", "/openapi.json", "spec"),
        ]
    );
}

fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_http_outside_lambda() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .env("LAMBADA_MODE", "http")
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let res = get(port, "/helloworld/5");
    child.kill().unwrap();
    let _ = child.wait();
    assert!(res.starts_with("HTTP/1.1 200 OK\r\n"), "{res}");
    assert!(res.ends_with("\r\n\r\nHello world: 5"), "{res}");
}
