//! Test-only helpers shared by the workspace's tests.
//!
//! [`Moto`]: moto's server mode (AWS APIs on a loopback port), started from
//! a temp working directory and killed by PID on drop. Needs `moto_server`
//! on PATH (`./scripts/test` installs it with pip).
//!
//! [`cargo_lambada`]: the CLI, built once per test process, for the
//! examples' tests (no `CARGO_BIN_EXE_` for another package's binary), and
//! [`Moto::lambada`] to run it against moto.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};

/// The environment of anything that talks to moto: fixed test credentials
/// and region, and no instance metadata lookups.
pub const AWS_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// A running `moto_server`.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub port: u16,
    /// moto's working directory, and where the `sitecustomize` lives.
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `moto_server` is not installed or does not answer within 60 s.
    pub fn start() -> Moto {
        let found = Command::new("sh")
            .args(["-c", "command -v moto_server"])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`moto_server` is not installed: run ./scripts/test, which installs it with pip"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        // moto checks a PutItem's condition and then stores the item, in
        // Python, with no lock between the two: a thread switch in between
        // lets two racing writes both pass (DynamoDB itself is atomic per
        // item). A long thread switch interval makes moto's threads yield
        // only on I/O, so each request's check-and-store runs whole and the
        // race tests check our code rather than moto's.
        std::fs::write(
            dir.path().join("sitecustomize.py"),
            "import sys\nsys.setswitchinterval(60)\n",
        )
        .unwrap();
        let python_path = match std::env::var_os("PYTHONPATH") {
            Some(p) if !p.is_empty() => {
                let mut joined = dir.path().as_os_str().to_owned();
                joined.push(":");
                joined.push(p);
                joined
            }
            _ => dir.path().as_os_str().to_owned(),
        };
        let child = Command::new("moto_server")
            .current_dir(dir.path())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONPATH", python_path)
            .envs(AWS_ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let mut moto = Moto {
            child,
            port,
            _dir: dir,
        };
        let start = Instant::now();
        while !moto.answers() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited with {status}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// `http://127.0.0.1:<port>`: the endpoint URL for SDK clients.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether moto answers HTTP yet.
    fn answers(&self) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let req = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        let mut out = String::new();
        s.write_all(req.as_bytes()).is_ok()
            && s.read_to_string(&mut out).is_ok()
            && out.starts_with("HTTP/1.")
    }

    /// SDK configuration for any service client on moto:
    /// `aws_sdk_sns::Client::new(&moto.sdk_config())`.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                Credentials::new("testing", "testing", None, None, "test"),
            ))
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build()
    }

    /// A DynamoDB client for moto, configured explicitly (nothing is read
    /// from the environment or the instance metadata endpoint).
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
            .timeout_config(
                aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(60))
                    .build(),
            )
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    /// Creates an on-demand table with a string partition key `key`.
    pub async fn create_table_with_key(&self, name: &str, key: &str) {
        self.dynamodb()
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(key)
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "create table {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            });
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Lambada workspace: the directory of the root `Cargo.toml`.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support is one level below the workspace")
}

/// The target directory of the builds that cargo-lambada runs from tests
/// (`deploy`'s build of an example): `target/lambada-test-builds`, as in
/// cargo-lambada's own tests, apart from the workspace's target directory
/// and its build lock.
pub fn nested_target_dir() -> PathBuf {
    workspace().join("target").join("lambada-test-builds")
}

/// How long building cargo-lambada may take: it compiles the AWS SDK the
/// first time, on shared cores, and other builds may hold the target
/// directory's lock.
pub const BUILD_WAIT: Duration = Duration::from_secs(1200);

/// How long one `deploy` or `remove` may take: `deploy` builds the example
/// first, in [`nested_target_dir`], which compiles the AWS SDK there the
/// first time.
pub const DEPLOY_WAIT: Duration = Duration::from_secs(2400);

/// The path of the `cargo-lambada` binary, built once per test process.
///
/// The first call runs `cargo build -p cargo-lambada --bin cargo-lambada
/// --message-format=json-render-diagnostics` with the cargo that builds the
/// tests (`env!("CARGO")`), from the workspace root, offline
/// (`CARGO_NET_OFFLINE=true`), and takes the executable's path from cargo's
/// JSON messages. Later calls, from any thread, return the same path; calls
/// made while the build runs wait for it.
///
/// # Panics
///
/// When the build fails (with cargo's output), takes over [`BUILD_WAIT`],
/// or names no executable.
pub fn cargo_lambada() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_cargo_lambada)
}

fn build_cargo_lambada() -> PathBuf {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(workspace())
        .args([
            "build",
            "-p",
            "cargo-lambada",
            "--bin",
            "cargo-lambada",
            "--message-format=json-render-diagnostics",
        ])
        .env("CARGO_NET_OFFLINE", "true");
    let run = run_within(&mut cmd, BUILD_WAIT, "cargo build -p cargo-lambada");
    assert!(
        run.status.success(),
        "cargo build -p cargo-lambada failed ({}):\n{}",
        run.status,
        run.stderr
    );
    run.stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "cargo-lambada")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| {
            panic!(
                "cargo reported no cargo-lambada executable:\n{}",
                run.stdout
            )
        })
}

/// What a command that ran to its end printed.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panics with both outputs unless the command succeeded.
    #[track_caller]
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
    }
}

/// Runs `cmd` in a process group of its own, with no stdin, and collects its
/// output. After `patience`, the group (the command and what it started,
/// such as cargo and rustc) is killed and the test fails with the output so
/// far.
pub fn run_within(cmd: &mut Command, patience: Duration, what: &str) -> Run {
    let mut child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let pid = child.id();
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().unwrap()));
    let stderr = read_all(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + patience;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let Some(status) = status else {
        // The group is ours: its id is the PID of the child started here.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
        let _ = child.wait();
        let (out, err) = (stdout.join(), stderr.join());
        panic!(
            "{what} took over {patience:?}:\n--- stdout ---\n{}\n--- stderr ---\n{}",
            out.unwrap_or_default(),
            err.unwrap_or_default()
        );
    };
    Run {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

impl Moto {
    /// Runs `cargo-lambada lambada <args> --endpoint-url <moto>` (the
    /// binary of [`cargo_lambada`]) with [`AWS_ENV`], no AWS profile or
    /// endpoint variables and no `LAMBADA_*` settings from the caller's
    /// environment, offline, and builds in [`nested_target_dir`]; waits at
    /// most [`DEPLOY_WAIT`].
    pub fn lambada(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(cargo_lambada());
        cmd.current_dir(workspace())
            .arg("lambada")
            .args(args)
            .args(["--endpoint-url", &self.url()])
            .envs(AWS_ENV)
            .env("CARGO_TARGET_DIR", nested_target_dir())
            .env("CARGO_NET_OFFLINE", "true");
        for (key, _) in std::env::vars_os() {
            let name = key.to_string_lossy();
            if name.starts_with("LAMBADA_")
                || name.starts_with("AWS_ENDPOINT_URL")
                || name == "AWS_PROFILE"
                || name == "AWS_SESSION_TOKEN"
            {
                cmd.env_remove(&key);
            }
        }
        run_within(
            &mut cmd,
            DEPLOY_WAIT,
            &format!("cargo lambada {}", args.join(" ")),
        )
    }
}
