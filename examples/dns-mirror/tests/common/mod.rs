//! A real primary for the tests: BIND's `named` on a loopback port, with
//! its configuration and zone files in a temp directory, killed by PID on
//! drop; and a Route 53 client on moto that records the requests it sends.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_route53::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_route53::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_route53::error::BoxError;
use lambada_test_support::Moto;

/// `named`'s path, or a panic that says how to install it.
fn named_binary() -> PathBuf {
    let on_path = Command::new("sh")
        .args(["-c", "command -v named"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    on_path
        .or_else(|| {
            ["/usr/sbin/named", "/usr/local/sbin/named"]
                .iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        })
        .expect(
            "BIND's `named` is not installed: run ./scripts/test, which installs it \
             (apt-get install -y bind9)",
        )
}

/// One zone the server serves.
pub struct ZoneConf<'a> {
    pub name: &'a str,
    pub text: String,
    /// `allow-transfer { 127.0.0.1; }` when true, `{ none; }` otherwise.
    pub transfer: bool,
}

/// A running `named`.
pub struct Named {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Named {
    pub fn start(zones: &[ZoneConf<'_>]) -> Named {
        let bin = named_binary();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let port = free_port();
        let mut conf = format!(
            "options {{\n  directory \"{d}\";\n  pid-file none;\n  session-keyfile none;\n  \
             listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
             recursion no;\n  dnssec-validation no;\n  allow-query {{ any; }};\n  \
             notify no;\n}};\n"
        );
        for z in zones {
            std::fs::write(dir.path().join(format!("{}.zone", z.name)), &z.text).unwrap();
            conf.push_str(&format!(
                "zone \"{n}\" {{\n  type primary;\n  file \"{d}/{n}.zone\";\n  \
                 allow-transfer {{ {t}; }};\n}};\n",
                n = z.name,
                t = if z.transfer { "127.0.0.1" } else { "none" }
            ));
        }
        let conf_path = dir.path().join("named.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = std::fs::File::create(dir.path().join("named.log")).unwrap();
        let child = Command::new(&bin)
            .args(["-g", "-4", "-c"])
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", bin.display()));
        let mut named = Named { child, port, dir };
        let start = Instant::now();
        while std::net::TcpStream::connect(named.addr()).is_err() {
            if let Ok(Some(status)) = named.child.try_wait() {
                panic!("named exited with {status}:\n{}", named.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "named did not listen within 30 s:\n{}",
                named.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        named
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `127.0.0.1:<port>`, as `MasterDns`.
    pub fn master(&self) -> String {
        self.addr().to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("named.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Rewrites a zone file and reloads (SIGHUP), then waits until the
    /// server answers with `serial`.
    pub async fn replace_zone(&self, name: &str, text: &str, serial: u32) {
        std::fs::write(self.dir.path().join(format!("{name}.zone")), text).unwrap();
        let ok = Command::new("kill")
            .args(["-HUP", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -HUP named");
        let zone = dns_mirror::dns::zone_name(name).unwrap();
        let start = Instant::now();
        loop {
            let got = dns_mirror::dns::soa_serial(self.addr(), &zone, Duration::from_secs(5)).await;
            if got == Ok(serial) {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "named did not load serial {serial} (last: {got:?}):\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The requests a Route 53 client sent, as `METHOD path?query`.
#[derive(Debug, Clone, Default)]
pub struct Calls(pub Arc<Mutex<Vec<String>>>);

impl Calls {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request();
        let uri = req.uri().to_string();
        let path = uri.splitn(4, '/').nth(3).unwrap_or_default().to_string();
        self.0
            .lock()
            .unwrap()
            .push(format!("{} /{path}", req.method()));
        Ok(())
    }
}

/// A Route 53 client on moto, and the log of its requests.
pub fn route53(moto: &Moto) -> (aws_sdk_route53::Client, Calls) {
    let calls = Calls::default();
    let config = aws_sdk_route53::config::Builder::from(&moto.sdk_config())
        .interceptor(calls.clone())
        .build();
    (aws_sdk_route53::Client::from_conf(config), calls)
}

/// A new hosted zone in moto: its bare ID.
pub async fn hosted_zone(client: &aws_sdk_route53::Client, name: &str) -> String {
    let out = client
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("test-{name}-{}", free_port()))
        .send()
        .await
        .unwrap();
    out.hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string()
}

/// Every record set of the zone as `name TTL TYPE value | value`, sorted.
pub async fn records(client: &aws_sdk_route53::Client, zone_id: &str) -> Vec<String> {
    let sets = dns_mirror::HostedZone::new(client.clone(), zone_id)
        .list()
        .await
        .unwrap();
    let mut out: Vec<String> = sets
        .iter()
        .map(|s| {
            let r = dns_mirror::route53::record_set(s);
            format!("{} {} {} {}", r.name, r.ttl, r.rtype, r.values.join(" | "))
        })
        .collect();
    out.sort();
    out
}
