//! The Lambda Runtime API emulator that `serve` and `invoke` share.
//!
//! A [`Sandbox`] is one execution environment: the user's real `bootstrap`
//! process, started with the environment Lambda sets
//! (`AWS_LAMBDA_RUNTIME_API`, `AWS_LAMBDA_FUNCTION_NAME`, `_HANDLER`,
//! `LAMBDA_TASK_ROOT`, …), and its own Runtime API endpoint on loopback
//! ([`api`]). A [`Pool`] holds up to N sandboxes and hands each invocation to
//! an idle one, starting another when all are busy, as Lambda scales out.
//!
//! Faults are Lambda's: a bootstrap that posts `init/error` or exits before
//! asking for an event is an init error, one that exits during an invocation
//! has crashed, one that does not answer within the function timeout is
//! killed. Each of these ends the sandbox; the next invocation starts a
//! fresh one (a cold start), as on Lambda.

mod api;
pub mod ids;

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use api::{Api, Job, Signal};

/// How many lines of a bootstrap's output are kept for error reports.
const TAIL_LINES: usize = 40;
/// How long a runtime that reported an init error may take to exit.
const GRACE: Duration = Duration::from_secs(1);
/// Lambda's limit on the init phase (on-demand functions).
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// What Lambda knows about the function: its code and configuration.
#[derive(Debug, Clone)]
pub struct Function {
    /// The function's name.
    pub name: String,
    /// The executable, named `bootstrap`, in its task root.
    pub bootstrap: PathBuf,
    /// The working directory of the process.
    pub cwd: PathBuf,
    /// Memory size in MB (reported, not enforced).
    pub memory_mb: i32,
    /// The function timeout.
    pub timeout: Duration,
    /// The AWS region.
    pub region: String,
    /// The function's environment variables.
    pub environment: Vec<(String, String)>,
    /// The function's `Handler` setting (`_HANDLER`): `bootstrap` for the
    /// API function, a trigger handler's name for its function.
    pub handler: String,
}

impl Function {
    /// The function's ARN in the emulated account.
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:123456789012:function:{}",
            self.region, self.name
        )
    }

    /// The environment of a bootstrap talking to the Runtime API at `api`:
    /// the caller's environment, then the function's variables, then what
    /// Lambda sets (which the function cannot override).
    pub fn env(&self, api: SocketAddr) -> Vec<(String, String)> {
        let task_root = self
            .bootstrap
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let (y, mo, d, ..) = ids::civil(ids::now_ms());
        let mut env: Vec<(String, String)> = self.environment.clone();
        let mut set = |k: &str, v: String| {
            env.retain(|(x, _)| x != k);
            env.push((k.to_owned(), v));
        };
        set("AWS_LAMBDA_RUNTIME_API", api.to_string());
        set("AWS_LAMBDA_FUNCTION_NAME", self.name.clone());
        set(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            self.memory_mb.to_string(),
        );
        set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into());
        set(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", self.name),
        );
        set(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("{y:04}/{mo:02}/{d:02}/[$LATEST]{}", ids::hex(32)),
        );
        set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into());
        set("AWS_REGION", self.region.clone());
        set("AWS_DEFAULT_REGION", self.region.clone());
        set("_HANDLER", self.handler.clone());
        set("LAMBDA_TASK_ROOT", task_root.clone());
        set("LAMBDA_RUNTIME_DIR", task_root);
        set("TZ", ":UTC".into());
        env
    }
}

/// A Lambda function error: the body the runtime posted to `…/error` or
/// `init/error`, and its type.
#[derive(Debug, Clone)]
pub struct LambdaError {
    /// `Lambda-Runtime-Function-Error-Type`, else the body's `errorType`,
    /// else `Unhandled`.
    pub error_type: String,
    /// The body as posted (normally `{"errorMessage": …, "errorType": …}`).
    pub body: Bytes,
}

impl LambdaError {
    fn new(header_type: Option<String>, body: Bytes) -> LambdaError {
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let error_type = header_type
            .filter(|t| !t.is_empty())
            .or_else(|| json.as_ref()?.get("errorType")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| "Unhandled".into());
        LambdaError { error_type, body }
    }

    /// The body's `errorMessage`, else the whole body.
    pub fn message(&self) -> String {
        serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned())
    }

    /// The body as JSON (a string value when it is not JSON).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&self.body).into_owned())
        })
    }
}

/// The result of an invocation, as the runtime posted it.
#[derive(Debug)]
pub enum Reply {
    /// `POST …/{id}/response`.
    Response(Bytes),
    /// `POST …/{id}/error`.
    Error(LambdaError),
    /// `POST …/{id}/response` in streaming mode
    /// (`Lambda-Runtime-Function-Response-Mode: streaming`), as it arrives.
    Stream(Streamed),
}

/// A streamed result: its content type and its body, chunk by chunk as
/// the runtime sends them; an error the runtime reports in the
/// `Lambda-Runtime-Function-Error-*` trailers, or a body cut short, ends
/// it with `Err`.
#[derive(Debug)]
pub struct Streamed {
    /// The POST's `Content-Type`
    /// (`application/vnd.awslambda.http-integration-response` for an HTTP
    /// answer with its prelude).
    pub content_type: Option<String>,
    /// The chunks.
    pub body: mpsc::Receiver<Result<Bytes, LambdaError>>,
}

impl Streamed {
    /// The content type of an HTTP answer that starts with its prelude.
    pub const HTTP_INTEGRATION: &'static str =
        "application/vnd.awslambda.http-integration-response";
}

/// An invocation that ended without a result; the sandbox is gone.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The bootstrap could not be started at all.
    Spawn(String),
    /// Init failed: the runtime posted `init/error`, exited before asking for
    /// an event, or did not ask within the init limit.
    Init {
        /// What the runtime posted to `init/error`, if it did.
        error: Option<LambdaError>,
        /// What happened to the process.
        reason: String,
        /// The last lines of its output.
        output: Vec<String>,
    },
    /// The process exited during the invocation.
    Crashed {
        /// How it exited.
        reason: String,
        /// The last lines of its output.
        output: Vec<String>,
    },
    /// No result within the function timeout; the process was killed.
    Timeout {
        /// The function timeout.
        timeout: Duration,
    },
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Spawn(e) => write!(f, "cannot start the bootstrap: {e}"),
            Fault::Init {
                error: Some(e),
                reason,
                ..
            } => {
                write!(
                    f,
                    "init error {}: {} (the bootstrap {reason})",
                    e.error_type,
                    e.message()
                )
            }
            Fault::Init {
                error: None,
                reason,
                ..
            } => write!(f, "init failed: the bootstrap {reason}"),
            Fault::Crashed { reason, .. } => {
                write!(f, "the bootstrap {reason} during the invocation")
            }
            Fault::Timeout { timeout } => write!(
                f,
                "Task timed out after {:.2} seconds: the bootstrap was stopped",
                timeout.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for Fault {}

impl Fault {
    /// The last lines the bootstrap printed, when they matter.
    pub fn output(&self) -> &[String] {
        match self {
            Fault::Init { output, .. } | Fault::Crashed { output, .. } => output,
            _ => &[],
        }
    }
}

/// Describes how a process ended.
pub fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(sig) = status.signal() {
            let name = match sig {
                4 => " (SIGILL)",
                6 => " (SIGABRT)",
                9 => " (SIGKILL)",
                11 => " (SIGSEGV)",
                15 => " (SIGTERM)",
                _ => "",
            };
            return format!("was killed by signal {sig}{name}");
        }
    }
    match status.code() {
        Some(c) => format!("exited with code {c}"),
        None => "exited".into(),
    }
}

/// The last lines a bootstrap printed; every line is also passed through to
/// our stderr as it arrives.
#[derive(Debug, Default)]
struct Tail(Mutex<VecDeque<String>>);

impl Tail {
    fn push(&self, line: String) {
        let mut t = lock(&self.0);
        if t.len() == TAIL_LINES {
            t.pop_front();
        }
        t.push_back(line);
    }
    fn lines(&self) -> Vec<String> {
        lock(&self.0).iter().cloned().collect()
    }
}

/// Passes a stream of the bootstrap's output through to our stderr, line by
/// line (lossily decoded: a stream is never left undrained, which would
/// block the bootstrap), keeping the tail.
fn forward(stream: impl AsyncRead + Unpin + Send + 'static, tail: Arc<Tail>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf);
            let mut line = line.trim_end_matches(['\n', '\r']).to_owned();
            // One write(2) per line (stderr is unbuffered).
            line.push('\n');
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            line.pop();
            tail.push(line);
        }
    })
}

/// One execution environment: a bootstrap process and its Runtime API.
#[derive(Debug)]
pub struct Sandbox {
    /// A number for the logs (1, 2, … per pool).
    pub id: usize,
    /// The process id of the bootstrap.
    pub pid: Option<u32>,
    child: Child,
    api: Arc<Api>,
    jobs: mpsc::Sender<Job>,
    signals: mpsc::UnboundedReceiver<Signal>,
    server: JoinHandle<()>,
    readers: Vec<JoinHandle<()>>,
    tail: Arc<Tail>,
    timeout: Duration,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // `kill_on_drop` kills the process; the endpoint goes with it.
        self.server.abort();
    }
}

impl Sandbox {
    /// Starts the bootstrap and waits for the end of its init (its first
    /// `GET …/next`).
    pub async fn start(function: &Function, id: usize) -> Result<Sandbox, Fault> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Fault::Spawn(format!("cannot open the Runtime API port: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Fault::Spawn(format!("cannot open the Runtime API port: {e}")))?;
        let (jobs_tx, jobs_rx) = mpsc::channel(1);
        let (signals_tx, signals_rx) = mpsc::unbounded_channel();
        let api = Arc::new(Api {
            function_arn: function.arn(),
            timeout_ms: function.timeout.as_millis() as u64,
            jobs: tokio::sync::Mutex::new(jobs_rx),
            current: Mutex::new(None),
            signals: signals_tx,
            ready: Default::default(),
            delivered: Mutex::new(None),
        });
        let api_state = api.clone();
        let server = tokio::spawn(api::serve(listener, api));
        let mut cmd = Command::new(&function.bootstrap);
        cmd.current_dir(&function.cwd)
            .env_remove("LAMBADA_MODE")
            .env_remove("LAMBADA_ROUTES")
            .envs(function.env(addr))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                server.abort();
                return Err(Fault::Spawn(format!(
                    "{}: {e}",
                    function.bootstrap.display()
                )));
            }
        };
        let tail = Arc::new(Tail::default());
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(forward(out, tail.clone()));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(forward(err, tail.clone()));
        }
        let mut sandbox = Sandbox {
            id,
            pid: child.id(),
            child,
            api: api_state,
            jobs: jobs_tx,
            signals: signals_rx,
            server,
            readers,
            tail,
            timeout: function.timeout,
        };
        let limit = INIT_LIMIT.max(function.timeout);
        let deadline = Instant::now() + limit;
        loop {
            tokio::select! {
                signal = sandbox.signals.recv() => match signal {
                    Some(Signal::Ready) => return Ok(sandbox),
                    Some(Signal::InitError(error)) => {
                        // A runtime exits after reporting its init error:
                        // give it a moment, so its last words are kept.
                        let exited = tokio::time::timeout(GRACE, sandbox.child.wait()).await;
                        let reason = match exited {
                            Ok(Ok(status)) => describe_exit(status),
                            _ => {
                                sandbox.stop().await;
                                "was stopped after reporting it".to_owned()
                            }
                        };
                        let output = sandbox.output().await;
                        return Err(Fault::Init { error: Some(error), reason, output });
                    }
                    Some(_) => {}
                    None => {
                        let reason = sandbox.stop().await;
                        let output = sandbox.output().await;
                        return Err(Fault::Init { error: None, reason, output });
                    }
                },
                status = sandbox.child.wait() => {
                    let reason = status
                        .map(describe_exit)
                        .unwrap_or_else(|e| format!("could not be waited for: {e}"));
                    let mut error = None;
                    while let Ok(signal) = sandbox.signals.try_recv() {
                        if let Signal::InitError(e) = signal {
                            error = Some(e);
                        }
                    }
                    let reason = format!("{reason} before asking for an event");
                    return Err(Fault::Init { error, reason, output: sandbox.output().await });
                }
                _ = tokio::time::sleep_until(deadline) => {
                    sandbox.stop().await;
                    let reason = format!(
                        "did not ask for an event within {} s of starting, and was stopped",
                        limit.as_secs()
                    );
                    return Err(Fault::Init { error: None, reason, output: sandbox.output().await });
                }
            }
        }
    }

    /// When the current invocation's time is up: the function timeout after
    /// the runtime received the event.
    pub fn deadline(&self) -> Instant {
        let delivered = *lock(&self.api.delivered);
        delivered.unwrap_or_else(Instant::now) + self.timeout
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends one event and waits for its result, the end of the process, or
    /// the function timeout (counted from the moment the runtime receives
    /// the event). On a fault the process is stopped.
    pub async fn invoke(&mut self, event: Bytes) -> Result<Reply, Fault> {
        let request_id = ids::request_id();
        let job = Job {
            request_id: request_id.clone(),
            trace_id: ids::trace_id(),
            event,
        };
        if self.jobs.send(job).await.is_err() {
            let reason = self.stop().await;
            return Err(Fault::Crashed {
                reason,
                output: self.output().await,
            });
        }
        // The timeout counts from the delivery of the event (recorded by
        // the endpoint): a sleep from now, extended when it fires before
        // the timeout has passed since the delivery.
        *lock(&self.api.delivered) = None;
        enum End {
            Reply(Reply),
            Gone,
            Exited(std::io::Result<ExitStatus>),
            Timeout,
        }
        let end = {
            let sleep = tokio::time::sleep(self.timeout);
            tokio::pin!(sleep);
            let exited = self.child.wait();
            tokio::pin!(exited);
            loop {
                tokio::select! {
                    signal = self.signals.recv() => match signal {
                        Some(Signal::Result { request_id: id, reply }) if id == request_id => {
                            break End::Reply(reply);
                        }
                        Some(_) => {}
                        None => break End::Gone,
                    },
                    status = &mut exited => break End::Exited(status),
                    () = &mut sleep => {
                        let delivered = *lock(&self.api.delivered);
                        match delivered.map(|d| d + self.timeout) {
                            Some(due) if due > Instant::now() => sleep.as_mut().reset(due),
                            None => sleep.as_mut().reset(Instant::now() + self.timeout),
                            Some(_) => break End::Timeout,
                        }
                    }
                }
            }
        };
        match end {
            End::Reply(reply) => Ok(reply),
            End::Gone => {
                let reason = self.stop().await;
                Err(Fault::Crashed {
                    reason,
                    output: self.output().await,
                })
            }
            End::Exited(status) => {
                // The result may have been posted just before the exit.
                while let Ok(signal) = self.signals.try_recv() {
                    if let Signal::Result {
                        request_id: id,
                        reply,
                    } = signal
                        && id == request_id
                    {
                        return Ok(reply);
                    }
                }
                let reason = status
                    .map(describe_exit)
                    .unwrap_or_else(|e| format!("could not be waited for: {e}"));
                Err(Fault::Crashed {
                    reason,
                    output: self.output().await,
                })
            }
            End::Timeout => {
                self.stop().await;
                Err(Fault::Timeout {
                    timeout: self.timeout,
                })
            }
        }
    }

    /// Kills the process (if it still runs) and reaps it; says how it ended.
    pub async fn stop(&mut self) -> String {
        let _ = self.child.start_kill();
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(Ok(status)) => describe_exit(status),
            Ok(Err(e)) => format!("could not be waited for: {e}"),
            Err(_) => "did not stop within 5 s of SIGKILL".into(),
        }
    }

    /// The last lines of output, once the process's pipes are closed (or
    /// after a short wait when a grandchild keeps them open).
    async fn output(&mut self) -> Vec<String> {
        let readers = std::mem::take(&mut self.readers);
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            for r in readers {
                let _ = r.await;
            }
        })
        .await;
        self.tail.lines()
    }
}

/// Up to `concurrency` sandboxes of one function.
#[derive(Debug)]
pub struct Pool {
    function: Function,
    idle: Arc<Mutex<Vec<Sandbox>>>,
    permits: Arc<Semaphore>,
    started: AtomicUsize,
}

impl Pool {
    /// A pool with no sandbox yet.
    pub fn new(function: Function, concurrency: usize) -> Pool {
        Pool {
            function,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            started: AtomicUsize::new(0),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Sandbox>> {
        lock(&self.idle)
    }

    async fn start(&self) -> Result<Sandbox, Fault> {
        let id = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        let sandbox = Sandbox::start(&self.function, id).await?;
        eprintln!(
            "lambada: bootstrap #{id} ready (pid {})",
            sandbox
                .pid
                .map(|p| p.to_string())
                .unwrap_or_else(|| "?".into())
        );
        Ok(sandbox)
    }

    /// Starts one sandbox ahead of the first request, so an init error shows
    /// at once.
    pub async fn warm(&self) -> Result<(), Fault> {
        let _permit = self.permits.acquire().await;
        if self.idle().is_empty() {
            let sandbox = self.start().await?;
            self.idle().push(sandbox);
        }
        Ok(())
    }

    /// Runs one invocation on an idle sandbox, or a new one when all are
    /// busy and fewer than `concurrency` run; else waits for one. A sandbox
    /// that faults is dropped (its process killed); the next invocation
    /// starts a fresh one. A streamed result keeps its sandbox busy until
    /// the stream ends (see [`Pool::hold`]).
    pub async fn invoke(&self, event: Bytes) -> Result<Reply, Fault> {
        let Ok(permit) = self.permits.clone().acquire_owned().await else {
            return Err(Fault::Spawn("the function is shutting down".into()));
        };
        // The most recently used sandbox first: sequential requests keep
        // hitting one warm process, as on Lambda.
        let reused = loop {
            let Some(mut sandbox) = self.idle().pop() else {
                break None;
            };
            if sandbox.is_alive() {
                break Some(sandbox);
            }
            eprintln!("lambada: bootstrap #{} exited while idle", sandbox.id);
        };
        let mut sandbox = match reused {
            Some(s) => s,
            None => self.start().await?,
        };
        match sandbox.invoke(event).await {
            Ok(Reply::Stream(streamed)) => Ok(Reply::Stream(self.hold(sandbox, permit, streamed))),
            Ok(reply) => {
                self.idle().push(sandbox);
                Ok(reply)
            }
            Err(fault) => {
                eprintln!(
                    "lambada: bootstrap #{}: {fault}; the next request starts a new one",
                    sandbox.id
                );
                Err(fault)
            }
        }
    }

    /// Keeps a sandbox and its concurrency permit while its streamed result
    /// flows, as Lambda keeps the execution environment busy until the
    /// runtime ends the stream: a request arriving meanwhile gets another
    /// sandbox (or waits for a permit), never a queue on this busy one. The
    /// function timeout still runs: past it the process is stopped and the
    /// stream ends with `Sandbox.Timedout`. A reader that hangs up does not
    /// stop the function; the rest is drained.
    fn hold(
        &self,
        mut sandbox: Sandbox,
        permit: OwnedSemaphorePermit,
        streamed: Streamed,
    ) -> Streamed {
        let Streamed {
            content_type,
            body: mut chunks,
        } = streamed;
        let (tx, rx) = mpsc::channel(1);
        let idle = self.idle.clone();
        let due = sandbox.deadline();
        tokio::spawn(async move {
            let permit = permit;
            let mut reader = Some(tx);
            let timed_out = loop {
                let chunk = match tokio::time::timeout_at(due, chunks.recv()).await {
                    Err(_) => break true,
                    Ok(None) => break false,
                    Ok(Some(chunk)) => chunk,
                };
                if let Some(tx) = &reader {
                    match tokio::time::timeout_at(due, tx.send(chunk)).await {
                        Err(_) => break true,
                        Ok(Err(_)) => reader = None,
                        Ok(Ok(())) => {}
                    }
                }
            };
            if !timed_out {
                lock(&idle).push(sandbox);
                return;
            }
            sandbox.stop().await;
            drop(permit);
            let fault = Fault::Timeout {
                timeout: sandbox.timeout,
            };
            eprintln!(
                "lambada: bootstrap #{}: {fault} while streaming; the next request starts a new one",
                sandbox.id
            );
            if let Some(tx) = reader {
                let body = serde_json::json!({
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": fault.to_string(),
                });
                let error = LambdaError::new(None, Bytes::from(body.to_string()));
                // Awaited: a full channel must not turn the cut into a
                // clean end.
                let _ = tx.send(Err(error)).await;
            }
        });
        Streamed {
            content_type,
            body: rx,
        }
    }

    /// Stops every idle sandbox. Busy ones stop when the pool is dropped
    /// after their invocation; invocations already waiting still run (on a
    /// new sandbox), so a request caught by a reload is served, not failed.
    pub async fn shutdown(&self) {
        let idle: Vec<Sandbox> = std::mem::take(&mut *self.idle());
        for mut s in idle {
            s.stop().await;
        }
    }
}

/// Locks a mutex whose data stays usable after a panic elsewhere.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Copies the built binary to `dir/bootstrap`, as Lambda unpacks it into its
/// task root, so a later `cargo build` cannot change a running function's
/// code (a copy, not a hard link: a linker may rewrite its output in place).
pub fn install_bootstrap(binary: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let dest = dir.join("bootstrap");
    match std::fs::remove_file(&dest) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::copy(binary, &dest)?;
    Ok(dest)
}

/// A per-process directory under the function's artifact directory for
/// local runs (`target/lambada/<function>/local-<pid>`), after removing
/// those left behind by processes that no longer run.
pub fn local_dir(artifact_dir: &Path) -> PathBuf {
    if let Ok(entries) = std::fs::read_dir(artifact_dir) {
        let proc = Path::new("/proc");
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("local-")) else {
                continue;
            };
            if proc.is_dir() && !proc.join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    artifact_dir.join(format!("local-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function() -> Function {
        Function {
            name: "hello".into(),
            bootstrap: PathBuf::from("/tmp/x/bootstrap"),
            cwd: PathBuf::from("/tmp"),
            memory_mb: 256,
            timeout: Duration::from_secs(3),
            region: "eu-west-1".into(),
            environment: vec![
                ("AWS_LAMBDA_FUNCTION_NAME".into(), "spoofed".into()),
                ("APP_MODE".into(), "dev".into()),
            ],
            handler: "bootstrap".into(),
        }
    }

    #[test]
    fn environment_is_lambdas() {
        let env = function().env("127.0.0.1:9001".parse().unwrap());
        let get = |k: &str| env.iter().find(|(x, _)| x == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9001"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("hello"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), Some("256"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_VERSION"), Some("$LATEST"));
        assert_eq!(get("AWS_REGION"), Some("eu-west-1"));
        assert_eq!(get("_HANDLER"), Some("bootstrap"));
        assert_eq!(get("LAMBDA_TASK_ROOT"), Some("/tmp/x"));
        assert_eq!(get("APP_MODE"), Some("dev"));
        assert_eq!(
            env.iter()
                .filter(|(k, _)| k == "AWS_LAMBDA_FUNCTION_NAME")
                .count(),
            1
        );
        assert_eq!(
            function().arn(),
            "arn:aws:lambda:eu-west-1:123456789012:function:hello"
        );
    }

    #[test]
    fn error_types() {
        let e = LambdaError::new(
            None,
            Bytes::from_static(br#"{"errorType":"Boom","errorMessage":"bad"}"#),
        );
        assert_eq!(
            (e.error_type.as_str(), e.message().as_str()),
            ("Boom", "bad")
        );
        let e = LambdaError::new(Some("Header.Type".into()), Bytes::from_static(b"plain"));
        assert_eq!(
            (e.error_type.as_str(), e.message().as_str()),
            ("Header.Type", "plain")
        );
        assert_eq!(e.to_json(), serde_json::json!("plain"));
        let e = LambdaError::new(Some(String::new()), Bytes::new());
        assert_eq!(e.error_type, "Unhandled");
    }
}
