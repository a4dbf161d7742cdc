//! Shared by the tests: moto with the mapping table, real `redis-server`
//! and `memcached` on loopback ports, a KPL aggregate encoder, and a TCP
//! proxy that drops its first connections.
#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use fanout::{Fanout, Retry};
use lambada_test_support::Moto;

pub const TABLE: &str = "fanoutTargets";
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

pub fn stream_arn(name: &str) -> String {
    format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}")
}

pub fn args(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| (*a).to_owned()).collect()
}

pub struct Env {
    pub moto: Moto,
    pub conf: SdkConfig,
}

impl Env {
    /// moto (Lambda without Docker) with an empty mapping table.
    pub async fn start() -> Env {
        let moto = Moto::start();
        post(
            moto.port,
            "/moto-api/config",
            r#"{"lambda": {"use_docker": false}}"#,
        );
        let conf = moto.sdk_config();
        let env = Env { moto, conf };
        env.cli(&["create-table"]).await;
        env
    }

    /// A `fanout` command that must succeed.
    pub async fn cli(&self, a: &[&str]) -> String {
        let mut all = args(&["--table", TABLE]);
        all.extend(args(a));
        fanout::cli::run(&self.conf, &all)
            .await
            .unwrap_or_else(|e| panic!("fanout {a:?}: {e}"))
    }

    /// The function's state, retries 10 ms apart.
    pub fn fanout(&self) -> Fanout {
        let mut f = Fanout::new(&self.conf, TABLE, Duration::from_secs(30));
        f.retry = Retry {
            attempts: 4,
            base: Duration::from_millis(10),
            max: Duration::from_millis(100),
        };
        f
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.conf)
    }

    pub async fn queue(&self, name: &str) -> String {
        self.sqs()
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned()
    }

    /// Every message of a queue, in the order received.
    pub async fn drain(&self, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
        let mut out = Vec::new();
        loop {
            let got = self
                .sqs()
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .send()
                .await
                .unwrap();
            if got.messages().is_empty() {
                return out;
            }
            out.extend(got.messages().iter().cloned());
        }
    }
}

/// A plain HTTP POST (moto's own API).
pub fn post(port: u16, path: &str, body: &str) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 20"), "{path}: {out}");
}

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process on a loopback port, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(program: &str, args: &[String], port: u16) -> Server {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program} does not start ({e}): apt-get install -y redis-server memcached")
        });
    let server = Server { child, port };
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{program} did not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

pub fn redis_server() -> Server {
    let port = free_port();
    serve(
        "redis-server",
        &args(&[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]),
        port,
    )
}

pub fn memcached() -> Server {
    let port = free_port();
    serve(
        "memcached",
        &args(&[
            "-l",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "0",
            "-u",
            "root",
        ]),
        port,
    )
}

/// One request/response exchange with a line-protocol server (Redis,
/// Memcached): the raw answer, read until `done` says it is whole.
pub fn exchange(port: u16, request: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    while !done(&out) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// `LRANGE key 0 -1` of a Redis list, as strings.
pub fn lrange(port: u16, key: &str) -> Vec<String> {
    let req = format!(
        "*4\r\n$6\r\nLRANGE\r\n${}\r\n{key}\r\n$1\r\n0\r\n$2\r\n-1\r\n",
        key.len()
    );
    let parse = |raw: &[u8]| -> Option<Vec<String>> {
        let text = std::str::from_utf8(raw).ok()?;
        let mut lines = text.split("\r\n");
        let n: usize = lines.next()?.strip_prefix('*')?.parse().ok()?;
        let mut items = Vec::new();
        for _ in 0..n {
            lines.next()?;
            items.push(lines.next()?.to_owned());
        }
        lines.next()?;
        Some(items)
    };
    let raw = exchange(port, req.as_bytes(), |b| parse(b).is_some());
    parse(&raw).unwrap()
}

/// `get key` from Memcached.
pub fn mc_get(port: u16, key: &str) -> Option<String> {
    let raw = exchange(port, format!("get {key}\r\n").as_bytes(), |b| {
        b.ends_with(b"END\r\n")
    });
    let text = String::from_utf8(raw).unwrap();
    let mut lines = text.split("\r\n");
    let first = lines.next()?;
    first
        .starts_with("VALUE")
        .then(|| lines.next().unwrap().to_owned())
}

/// A proxy to `upstream` that closes its first `drop_first` connections
/// after reading from them (nothing reaches the server), and forwards the
/// later ones. Returns its port and the count of connections seen.
pub async fn flaky_proxy(upstream: u16, drop_first: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                if n < drop_first {
                    let mut buf = [0u8; 1024];
                    let _ = client.read(&mut buf).await;
                    return; // dropped: the client sees the connection close
                }
                let mut server = tokio::net::TcpStream::connect(("127.0.0.1", upstream))
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (port, seen)
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn bytes_field(out: &mut Vec<u8>, field: u64, b: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A KPL aggregated record, written from the documented format: magic
/// `F3 89 9A C2`, the protobuf `AggregatedRecord` (partition key table,
/// explicit hash key table, records of partition key index and data), and
/// the MD5 of the protobuf bytes.
pub fn kpl_aggregate(keys: &[&str], records: &[(u64, &[u8])]) -> Vec<u8> {
    use md5::{Digest, Md5};
    let mut msg = Vec::new();
    for k in keys {
        bytes_field(&mut msg, 1, k.as_bytes());
    }
    bytes_field(&mut msg, 2, b"170141183460469231731687303715884105728");
    for (i, (key_index, data)) in records.iter().enumerate() {
        let mut rec = Vec::new();
        varint(&mut rec, 1 << 3);
        varint(&mut rec, *key_index);
        if i == 0 {
            varint(&mut rec, 2 << 3);
            varint(&mut rec, 0);
        }
        bytes_field(&mut rec, 3, data);
        // A tag (field 4), which de-aggregation ignores.
        let mut tag = Vec::new();
        bytes_field(&mut tag, 1, b"origin");
        bytes_field(&mut rec, 4, &tag);
        bytes_field(&mut msg, 3, &rec);
    }
    let mut out = vec![0xF3, 0x89, 0x9A, 0xC2];
    out.extend_from_slice(&msg);
    out.extend_from_slice(Md5::digest(&msg).as_slice());
    out
}
