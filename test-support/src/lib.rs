//! Test-only helpers shared by the workspace's tests.
//!
//! [`Moto`]: moto's server mode (AWS APIs on a loopback port), started from
//! a temp working directory and killed by PID on drop. Needs `moto_server`
//! on PATH (`./scripts/test` installs it with pip). With
//! [`Moto::start_with_recording`], moto records the requests it receives:
//! [`Moto::requests`] reads them back, [`Moto::recorded`] classifies them
//! as reads and writes.
//!
//! [`cargo_lambada`]: the CLI, built once per test process, for the
//! examples' tests (no `CARGO_BIN_EXE_` for another package's binary), and
//! [`Moto::lambada`] to run it against moto.

pub mod jwt;

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
use serde_json::Value;

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
        Moto::start_with(&[])
    }

    /// Starts moto with request recording on (`MOTO_ENABLE_RECORDING`), and
    /// an empty recording: see [`Moto::start_recording`],
    /// [`Moto::requests`], [`Moto::recorded`]. moto writes the recording
    /// into its working directory, the temp directory.
    ///
    /// # Panics
    ///
    /// As [`Moto::start`], and when moto's recorder API does not answer.
    pub fn start_with_recording() -> Moto {
        let moto = Moto::start_with(&[("MOTO_ENABLE_RECORDING", "True")]);
        moto.start_recording();
        moto
    }

    /// [`Moto::start`] with `env` added to moto's environment; on another
    /// port when the free one chosen was taken before moto bound it.
    fn start_with(env: &[(&str, &str)]) -> Moto {
        need("moto_server");
        for _ in 0..5 {
            if let Some(moto) = Moto::try_start(env) {
                return moto;
            }
        }
        panic!("moto_server could not bind a free port in 5 tries");
    }

    /// One try: `None` when moto exited (its port was taken meanwhile).
    fn try_start(env: &[(&str, &str)]) -> Option<Moto> {
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
            .envs(env.iter().copied())
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
            if let Ok(Some(_)) = moto.child.try_wait() {
                return None;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "moto_server did not answer within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
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
        // Moto's own dashboard, not just any server: between choosing the
        // free port and moto binding it, another test's server may take it.
        s.write_all(req.as_bytes()).is_ok()
            && s.read_to_string(&mut out).is_ok()
            && out.starts_with("HTTP/1.")
            && out.contains(" 200 ")
            && out.contains("Moto")
    }

    /// A tiny HTTP/1.0 client for moto's own API (`/moto-api/...`): the
    /// response body, or `None` when moto does not answer.
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

    /// Forgets what was recorded and records from now on (moto started
    /// with [`Moto::start_with_recording`]).
    ///
    /// # Panics
    ///
    /// When moto's recorder API does not answer.
    pub fn start_recording(&self) {
        self.http("POST", "/moto-api/recorder/reset-recording")
            .expect("moto recorder reset");
        self.http("POST", "/moto-api/recorder/start-recording")
            .expect("moto recorder start");
    }

    /// Every line of moto's recording, as JSON, moto's own API included.
    fn recording(&self) -> Vec<Value> {
        let text = self
            .http("GET", "/moto-api/recorder/download-recording")
            .expect("moto recording");
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<Value>(l).expect("recording line is JSON"))
            .collect()
    }

    /// Every AWS request moto recorded since [`Moto::start_recording`]
    /// (moto's own API left out), as moto records them: `method`, `url`,
    /// `headers`, `body` (see [`request_header`], [`request_body`]).
    pub fn requests(&self) -> Vec<Value> {
        self.recording()
            .into_iter()
            .filter(|v| !v["url"].as_str().unwrap_or("").contains("/moto-api/"))
            .collect()
    }

    /// [`Moto::requests`], then a fresh recording.
    pub fn take_requests(&self) -> Vec<Value> {
        let requests = self.requests();
        self.http("POST", "/moto-api/recorder/reset-recording")
            .expect("moto recorder reset");
        requests
    }

    /// (operation, is_write) for every request moto recorded since
    /// [`Moto::start_recording`], classified by [`request_operation`].
    pub fn recorded(&self) -> Vec<(String, bool)> {
        self.recording()
            .iter()
            .map(request_operation)
            .filter(|(op, _)| !op.contains("/moto-api/"))
            .collect()
    }

    /// The writes among [`Moto::recorded`].
    pub fn writes(&self) -> Vec<String> {
        self.recorded()
            .into_iter()
            .filter(|(_, w)| *w)
            .map(|(op, _)| op)
            .collect()
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
        self.create_table(name, &[(key, KeyType::Hash)]).await;
    }

    /// Creates an on-demand table with a string partition key `hash` and a
    /// string sort key `range`.
    pub async fn create_table_with_keys(&self, name: &str, hash: &str, range: &str) {
        self.create_table(name, &[(hash, KeyType::Hash), (range, KeyType::Range)])
            .await;
    }

    /// Creates an on-demand table whose `keys` are all strings.
    async fn create_table(&self, name: &str, keys: &[(&str, KeyType)]) {
        let mut create = self
            .dynamodb()
            .create_table()
            .table_name(name)
            .billing_mode(BillingMode::PayPerRequest);
        for (key, kind) in keys {
            create = create
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(*key)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(*key)
                        .key_type(kind.clone())
                        .build()
                        .unwrap(),
                );
        }
        create.send().await.unwrap_or_else(|e| {
            panic!(
                "create table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        });
    }
}

/// The value of header `name` (any case) of a recorded request, or `""`.
pub fn request_header<'a>(request: &'a Value, name: &str) -> &'a str {
    request["headers"]
        .as_object()
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The body of a recorded request, decoded when moto stored it in base64.
pub fn request_body(request: &Value) -> String {
    use base64::Engine as _;
    let raw = request["body"].as_str().unwrap_or("");
    if request["body_encoded"].as_bool().unwrap_or(false) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        raw.to_owned()
    }
}

/// (operation, is_write) of a recorded request. The JSON protocols (SQS,
/// EventBridge, Kinesis, DynamoDB, ECR) name the operation in
/// `X-Amz-Target` (`"POST <target>"`), the query protocol (IAM, SNS) in
/// the body's `Action=` (`"POST <action>"`): reads are the Get*, List* and
/// Describe* operations. REST services (`"<method> <url>"`): reads are GET
/// and HEAD requests.
pub fn request_operation(request: &Value) -> (String, bool) {
    let is_read = |action: &str| {
        ["Get", "List", "Describe"]
            .iter()
            .any(|p| action.starts_with(p))
    };
    let method = request["method"].as_str().unwrap_or("");
    let url = request["url"].as_str().unwrap_or("");
    let target = request_header(request, "x-amz-target");
    if !target.is_empty() {
        let action = target.rsplit('.').next().unwrap_or(target);
        return (format!("{method} {target}"), !is_read(action));
    }
    // The query protocol: every call is a POST naming its action.
    let body = request_body(request);
    if let Some(action) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return (format!("{method} {action}"), !is_read(action));
    }
    let write = !matches!(method, "GET" | "HEAD");
    (format!("{method} {url}"), write)
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails the test with the install hint when `tool` is not on PATH.
///
/// # Panics
///
/// When `tool` is not found.
#[track_caller]
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
        self.lambada_with(cargo_lambada(), args, &[])
    }

    /// [`Moto::lambada`] with the cargo-lambada binary `bin` (cargo-lambada's
    /// own tests run `CARGO_BIN_EXE_cargo-lambada`) and `env` added to its
    /// environment.
    pub fn lambada_with(&self, bin: impl AsRef<Path>, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.lambada_in(workspace(), bin, args, env)
    }

    /// [`Moto::lambada_with`], run from the directory `dir` (cargo
    /// lambada picks the package there, as cargo does).
    pub fn lambada_in(
        &self,
        dir: impl AsRef<Path>,
        bin: impl AsRef<Path>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Run {
        let mut cmd = Command::new(bin.as_ref());
        cmd.current_dir(dir.as_ref())
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
        cmd.envs(env.iter().copied());
        run_within(
            &mut cmd,
            DEPLOY_WAIT,
            &format!("cargo lambada {}", args.join(" ")),
        )
    }

    /// `deploy --debug --json <args>` run as [`Moto::lambada_with`]: its
    /// JSON report.
    ///
    /// # Panics
    ///
    /// When deploy fails or prints no JSON.
    pub fn deploy_json_with(
        &self,
        bin: impl AsRef<Path>,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Value {
        let mut all = vec!["deploy", "--debug", "--json"];
        all.extend_from_slice(args);
        let run = self.lambada_with(bin, &all, env);
        assert!(run.status.success(), "deploy failed:\n{}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
            panic!(
                "deploy --json printed no JSON ({e}):\n{}\n{}",
                run.stdout, run.stderr
            )
        })
    }
}

/// Reading back what deploy made in API Gateway.
pub mod apigw {
    /// (path, method, integration URI) of every method of a REST API.
    pub async fn api_methods(
        apigw: &aws_sdk_apigateway::Client,
        api: &str,
    ) -> Vec<(String, String, String)> {
        let resources = apigw
            .get_resources()
            .rest_api_id(api)
            .limit(500)
            .embed("methods")
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for r in resources.items() {
            let methods = r
                .resource_methods()
                .map(|m| m.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            for m in methods {
                let integration = apigw
                    .get_integration()
                    .rest_api_id(api)
                    .resource_id(r.id().unwrap())
                    .http_method(&m)
                    .send()
                    .await
                    .unwrap();
                out.push((
                    r.path().unwrap_or_default().to_owned(),
                    m,
                    integration.uri().unwrap_or_default().to_owned(),
                ));
            }
        }
        out.sort();
        out
    }

    /// The ids of the REST APIs named `name`.
    pub async fn rest_apis(apigw: &aws_sdk_apigateway::Client, name: &str) -> Vec<String> {
        apigw
            .get_rest_apis()
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .filter(|a| a.name() == Some(name))
            .filter_map(|a| a.id().map(str::to_owned))
            .collect()
    }
}

/// Reading back what deploy made in Lambda.
pub mod lambda {
    use aws_sdk_lambda::types::FunctionConfiguration;

    /// The configurations of the API function `api` (Handler `bootstrap`)
    /// and of the trigger function `trigger` (Handler `handler`), checked to
    /// run the same zip with the same role, as deploy makes them.
    pub async fn api_and_trigger(
        lambda: &aws_sdk_lambda::Client,
        api: &str,
        trigger: &str,
        handler: &str,
    ) -> (FunctionConfiguration, FunctionConfiguration) {
        let get = |name: &str| {
            let name = name.to_owned();
            async move {
                lambda
                    .get_function()
                    .function_name(&name)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("function {name}: {e:?}"))
                    .configuration()
                    .cloned()
                    .unwrap_or_else(|| panic!("function {name} has no configuration"))
            }
        };
        let (api_conf, conf) = (get(api).await, get(trigger).await);
        assert_eq!(api_conf.handler(), Some("bootstrap"));
        assert_eq!(conf.handler(), Some(handler));
        assert_eq!(conf.code_sha256(), api_conf.code_sha256(), "the same zip");
        assert_eq!(conf.role(), api_conf.role(), "the same role");
        (api_conf, conf)
    }
}
