//! Shared by the `deploy` and `triggers` tests: moto in server mode on a
//! loopback port (started here, stopped by PID), its request recording, and
//! cargo-lambada run against it.
//!
//! Needs `moto_server` on PATH (`./scripts/test` installs it with pip).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The cargo-lambada binary under test.
pub const CLI: &str = env!("CARGO_BIN_EXE_cargo-lambada");

/// The Lambada workspace.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds run by the CLI under test use their own target directory: the
/// outer `cargo test` holds the workspace's build lock.
pub fn fixture_target() -> PathBuf {
    workspace().join("target").join("lambada-test-builds")
}

/// Fails the test with the install hint when `tool` is not on PATH.
pub fn need(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is not installed: run ./scripts/test, which installs it with pip"
    );
}

/// A moto server, killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
    /// moto writes its recording into its working directory.
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto with request recording on, and waits until it answers.
    pub fn start() -> Moto {
        need("moto_server");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("moto_server")
            .current_dir(dir.path())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ENABLE_RECORDING", "True")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto {
            child,
            port,
            _dir: dir,
        };
        let start = Instant::now();
        while moto.http("GET", "/moto-api/reset-auth").is_none() && moto.http("GET", "/").is_none()
        {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A tiny HTTP/1.0 client for moto's own API (no extra dependency).
    pub fn http(&self, method: &str, path: &str) -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        let (head, body) = out.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.").then(|| body.to_owned())
    }

    /// Forgets what was recorded and records from now on.
    pub fn start_recording(&self) {
        self.http("POST", "/moto-api/recorder/reset-recording")
            .expect("moto recorder reset");
        self.http("POST", "/moto-api/recorder/start-recording")
            .expect("moto recorder start");
    }

    /// (operation, is_write) for every request moto received since
    /// `start_recording`. Reads are GET/HEAD requests (REST services) and
    /// the Get*, List* and Describe* actions of the query (IAM, SNS) and
    /// JSON (SQS, EventBridge, Kinesis, DynamoDB) protocols.
    pub fn recorded(&self) -> Vec<(String, bool)> {
        let text = self
            .http("GET", "/moto-api/recorder/download-recording")
            .expect("moto recording");
        let is_read = |action: &str| {
            ["Get", "List", "Describe"]
                .iter()
                .any(|p| action.starts_with(p))
        };
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("recording line is JSON");
                let method = v["method"].as_str().unwrap_or("").to_owned();
                let url = v["url"].as_str().unwrap_or("").to_owned();
                let raw = v["body"].as_str().unwrap_or("");
                let body = if v["body_encoded"].as_bool().unwrap_or(false) {
                    use base64::Engine as _;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(raw)
                        .unwrap_or_default();
                    String::from_utf8_lossy(&bytes).into_owned()
                } else {
                    raw.to_owned()
                };
                // The JSON protocols name the operation in X-Amz-Target.
                let target = v["headers"].as_object().and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
                        .and_then(|(_, v)| v.as_str())
                });
                if let Some(target) = target {
                    let action = target.rsplit('.').next().unwrap_or(target);
                    return (format!("{method} {target}"), !is_read(action));
                }
                // The query protocol: every call is a POST naming its action.
                if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
                    return (format!("{method} {action}"), !is_read(action));
                }
                let write = !matches!(method.as_str(), "GET" | "HEAD");
                (format!("{method} {url}"), write)
            })
            .filter(|(op, _)| !op.contains("/moto-api/"))
            .collect()
    }

    /// The writes recorded since `start_recording`.
    pub fn writes(&self) -> Vec<String> {
        self.recorded()
            .into_iter()
            .filter(|(_, w)| *w)
            .map(|(op, _)| op)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cargo-lambada lambada <args> --endpoint-url <moto>` with test
/// credentials and `env`; returns (success, stdout, stderr).
pub fn cli_env(moto: &Moto, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(CLI);
    cmd.arg("lambada")
        .args(args)
        .args(["--endpoint-url", &moto.url()])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env("CARGO_TARGET_DIR", fixture_target());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cargo-lambada runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`cli_env`] without extra environment.
pub fn cli(moto: &Moto, args: &[&str]) -> (bool, String, String) {
    cli_env(moto, args, &[])
}

/// `deploy --debug --json <args>` with `env`; its JSON report.
pub fn deploy_json_env(moto: &Moto, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all = vec!["deploy", "--debug", "--json"];
    all.extend_from_slice(args);
    let (ok, stdout, stderr) = cli_env(moto, &all, env);
    assert!(ok, "deploy failed:\n{stderr}");
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("deploy --json printed no JSON ({e}):\n{stdout}\n{stderr}"))
}

/// `deploy --debug --json <args>`; its JSON report.
pub fn deploy_json(moto: &Moto, args: &[&str]) -> Value {
    deploy_json_env(moto, args, &[])
}

/// The SDK configuration for moto.
pub async fn sdk(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.url())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}
