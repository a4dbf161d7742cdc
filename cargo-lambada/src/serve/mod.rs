//! `cargo lambada serve`: the app on localhost, through the real `bootstrap`
//! and the Lambda Runtime API emulator.
//!
//! Each HTTP request becomes an event in the format the app is deployed
//! behind (`--format`, REST API v1 by default) with a fresh request context,
//! goes to an idle bootstrap of the [`Pool`], and the response payload is
//! turned back into HTTP. The source tree is watched; a change rebuilds the
//! binary and swaps in a new pool while the port stays open (requests that
//! arrive meanwhile wait for the new build).

mod authorize;
pub mod gateway;
mod lambda_auth;
mod watch;
mod websocket;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch as state;

use crate::build::{self, BuildError};
use crate::config::{self, Config, ConfigError, Settings};
use crate::emulator::{self, Function, Pool};
use crate::manifest::{self, Manifest, ManifestError};
pub use gateway::Format;

/// Lambda's limit on a synchronous request payload; API Gateway refuses
/// larger bodies before the function sees them.
const MAX_REQUEST_BODY: usize = 6 * 1024 * 1024;

/// Arguments of `serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1", value_name = "IP")]
    pub host: IpAddr,
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// The event format the function receives (default: that of the
    /// configured `api`, the front door deploy puts in front of it).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The most bootstrap processes running at once (concurrent requests
    /// beyond it wait).
    #[arg(long, default_value_t = 4, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Do not watch the sources, rebuild and restart on change.
    #[arg(long)]
    pub no_reload: bool,
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
    /// No log line per request (failed requests are still logged).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Verify the bearer tokens of protected routes (`auth = "…"`) with the
    /// keys of this JWKS file, as API Gateway's JWT / Cognito authorizer would.
    #[arg(long, value_name = "FILE", conflicts_with = "claims")]
    pub jwks: Option<PathBuf>,
    /// Take every request to a protected route as carrying these claims
    /// (JSON; no token needed), for development.
    #[arg(long, value_name = "JSON")]
    pub claims: Option<String>,
}

/// Errors of `serve` and `invoke` before anything is served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("cannot put the bootstrap in {path}: {source}")]
    Install {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Auth(String),
}

/// A build of the app, ready to run locally.
#[derive(Debug)]
pub struct Build {
    /// The installed `bootstrap`.
    pub bootstrap: PathBuf,
    /// Its route table.
    pub manifest: Manifest,
}

/// Builds the configured binary for this machine, installs it as
/// `dir/bootstrap` and reads its route table.
pub async fn build_local(
    cfg: &Config,
    release: bool,
    quiet: bool,
    dir: &Path,
) -> Result<Build, ServeError> {
    let mut cfg = cfg.clone();
    cfg.target = None; // it runs here
    let (binary, _) = build::compile(&cfg, release, quiet).await?;
    let bootstrap =
        emulator::install_bootstrap(&binary, dir).map_err(|source| ServeError::Install {
            path: dir.to_path_buf(),
            source,
        })?;
    let manifest = manifest::read(&bootstrap).await?;
    Ok(Build {
        bootstrap,
        manifest,
    })
}

/// The region the function runs in: the configured one, else the AWS
/// environment's, else us-east-1.
pub fn region(cfg: &Config) -> String {
    cfg.region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "us-east-1".into())
}

/// The function as Lambda would run it, from the configuration.
pub fn function(cfg: &Config, bootstrap: PathBuf) -> Function {
    Function {
        name: cfg.function.clone(),
        bootstrap,
        cwd: cfg.project.package_dir.clone(),
        memory_mb: cfg.memory,
        timeout: std::time::Duration::from_secs(u64::try_from(cfg.timeout).unwrap_or(30)),
        region: region(cfg),
        environment: cfg
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        handler: "bootstrap".into(),
    }
}

/// One build being served: its pool of bootstraps and its routes.
#[derive(Debug)]
struct Generation {
    pool: Pool,
    router: gateway::Router,
    manifest: Manifest,
    /// The CORS settings in force, for the gateway's own answers.
    cors: Option<lambada::cors::CorsPolicy>,
    /// The `#[authorizer]` functions, by name, each with its own pool.
    authorizers: std::collections::BTreeMap<String, lambda_auth::LambdaAuthorizer>,
    dir: PathBuf,
}

impl Drop for Generation {
    fn drop(&mut self) {
        // Its processes are killed as the pool drops; the code goes too.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Debug, Clone)]
enum Phase {
    Building,
    Ready(Arc<Generation>),
}

#[derive(Debug)]
struct Shared {
    phase: state::Sender<Phase>,
    format: Format,
    stage: String,
    port: u16,
    quiet: bool,
    auth: authorize::LocalAuth,
    /// The open WebSocket connections.
    hub: websocket::Hub,
}

#[derive(Debug, Clone, Copy)]
struct Options {
    release: bool,
    concurrency: usize,
    /// Where serve listens: the bootstrap posts to WebSocket connections
    /// through it.
    listening: Option<SocketAddr>,
}

async fn generation(cfg: &Config, opts: &Options, dir: PathBuf) -> Result<Generation, ServeError> {
    let build = build_local(cfg, opts.release, false, &dir).await?;
    build.manifest.check_auth(&cfg.authorizers)?;
    // serve's own refusals carry what API Gateway's gateway responses do.
    let cors = build
        .manifest
        .cors_with(cfg.cors.as_ref())?
        .as_ref()
        .and_then(crate::package::gateway_cors)
        .map(|c| c.compile())
        .transpose()
        .map_err(ServeError::Auth)?;
    let authorizers = build
        .manifest
        .lambda_authorizers()
        .map(|t| {
            let mut f = function(cfg, build.bootstrap.clone());
            f.name = t.function_name(&cfg.function);
            f.handler = t.handler.clone();
            let spec = t.authorizer_spec();
            let pool = Pool::new(f, opts.concurrency);
            (
                t.handler.clone(),
                lambda_auth::LambdaAuthorizer::new(t.handler.clone(), spec, pool),
            )
        })
        .collect();
    let mut f = function(cfg, build.bootstrap);
    if build.manifest.has_websocket()
        && let Some(addr) = opts.listening
    {
        // `Connections` posts to serve's Management API.
        let host = if addr.is_ipv6() { "[::1]" } else { "127.0.0.1" };
        f.environment.push((
            "LAMBADA_WS_ENDPOINT".into(),
            format!("http://{host}:{}", addr.port()),
        ));
    }
    let pool = Pool::new(f, opts.concurrency);
    Ok(Generation {
        pool,
        router: gateway::Router::new(&build.manifest.routes),
        manifest: build.manifest,
        cors,
        authorizers,
        dir,
    })
}

fn warm(generation: Arc<Generation>) {
    tokio::spawn(async move {
        if let Err(e) = generation.pool.warm().await {
            eprintln!("lambada: {e}");
            eprintln!("lambada: requests will retry the init (and show this error)");
        }
    });
}

/// `cargo lambada serve`.
pub async fn run(args: ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = config::load(&args.settings)?;
    let opts = Options {
        release: args.release,
        concurrency: usize::from(args.concurrency),
        listening: None,
    };
    let local = emulator::local_dir(&cfg.artifact_dir());
    let result = serve(&cfg, &args, &opts, &local).await;
    let _ = std::fs::remove_dir_all(&local);
    let _ = std::fs::remove_dir(cfg.artifact_dir()); // only when empty
    result
}

async fn serve(
    cfg: &Config,
    args: &ServeArgs,
    opts: &Options,
    local: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let format = args.format.unwrap_or_else(|| Format::for_api(cfg.api));
    // Listen first: a busy port fails at once, and requests sent during
    // the first build wait in the backlog.
    let shutdown = shutdown_signal();
    let addr = SocketAddr::new(args.host, args.port);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener.local_addr()?;
    let opts = &Options {
        listening: Some(bound),
        ..*opts
    };
    let auth = local_auth(cfg, args)?;
    let first = Arc::new(generation(cfg, opts, local.join("gen-1")).await?);
    println!();
    manifest::print_table(&first.manifest);
    if !first.manifest.triggers.is_empty() {
        println!();
        manifest::print_triggers(&first.manifest, &cfg.function);
        println!(
            "(triggers run with `cargo lambada invoke --sns | --sqs | --kinesis | --ddb-stream | --s3 | --event-bridge | --schedule | --payload`)"
        );
    }
    let protected: std::collections::BTreeSet<&str> = first
        .manifest
        .routes
        .iter()
        .filter_map(|r| r.auth.as_deref())
        .collect();
    if !protected.is_empty() {
        println!();
        let names = protected.into_iter().collect::<Vec<_>>().join(", ");
        match (&args.jwks, &args.claims) {
            (Some(f), _) => println!(
                "Authorizers {names}: tokens verified with the keys of {}",
                f.display()
            ),
            (None, Some(_)) => println!(
                "Authorizers {names}: every request carries the --claims given (no token checked)"
            ),
            (None, None) => println!(
                "Authorizers {names}: no --jwks or --claims given, so protected routes answer 401"
            ),
        }
    }
    println!();
    println!(
        "Serving `{}` on http://{bound} ({}, stage {}, up to {} bootstrap{})",
        cfg.function,
        format.describe(),
        cfg.stage,
        opts.concurrency,
        if opts.concurrency == 1 { "" } else { "s" }
    );
    let (phase, _) = state::channel(Phase::Ready(first.clone()));
    let shared = Arc::new(Shared {
        phase,
        format,
        stage: cfg.stage.clone(),
        port: bound.port(),
        quiet: args.quiet,
        auth,
        hub: websocket::Hub::default(),
    });
    warm(first);

    if !args.no_reload {
        let w = watch_set(cfg).await;
        let roots = w
            .roots
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let changes = watch::spawn(w).await;
        println!("Watching {roots} for changes (--no-reload to turn off)");
        tokio::spawn(reload(
            shared.clone(),
            cfg.clone(),
            *opts,
            local.to_path_buf(),
            changes,
        ));
    }

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            conn = listener.accept() => {
                let (stream, peer) = match conn {
                    Ok(c) => c,
                    Err(e) => {
                        eprintln!("lambada: accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(shared.clone(), peer, req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
    eprintln!("lambada: stopping");
    let current = shared.phase.send_replace(Phase::Building);
    if let Phase::Ready(g) = current {
        g.pool.shutdown().await;
    }
    Ok(())
}

/// The local authorizers from the configuration and `--jwks` / `--claims`.
fn local_auth(cfg: &Config, args: &ServeArgs) -> Result<authorize::LocalAuth, ServeError> {
    let jwks = args
        .jwks
        .as_deref()
        .map(crate::auth::Jwks::from_file)
        .transpose()
        .map_err(ServeError::Auth)?;
    let claims = match &args.claims {
        None => None,
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(m)) => Some(m),
            Ok(_) => return Err(ServeError::Auth("--claims: expected a JSON object".into())),
            Err(e) => return Err(ServeError::Auth(format!("--claims is not JSON: {e}"))),
        },
    };
    Ok(authorize::LocalAuth {
        authorizers: cfg.authorizers.clone(),
        jwks,
        claims,
    })
}

/// The package's directory and those of its path dependencies (a library
/// crate of the workspace, or a local checkout of lambada-runtime).
async fn watch_set(cfg: &Config) -> watch::Watch {
    let manifest_path = cfg.project.manifest_path.clone();
    let package = cfg.project.package.clone();
    let mut roots = vec![watch::canonical(&cfg.project.package_dir)];
    let deps = tokio::task::spawn_blocking(move || {
        let meta = cargo_metadata::MetadataCommand::new()
            .manifest_path(manifest_path)
            .no_deps()
            .exec()
            .ok()?;
        let pkg = meta.packages.iter().find(|p| p.name.as_str() == package)?;
        Some(
            pkg.dependencies
                .iter()
                .filter_map(|d| d.path.clone())
                .map(PathBuf::from)
                .collect::<Vec<_>>(),
        )
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_default();
    for d in deps {
        let d = watch::canonical(&d);
        if !roots.iter().any(|r| d.starts_with(r)) {
            roots.push(d);
        }
    }
    watch::Watch {
        roots,
        exclude: vec![watch::canonical(&cfg.project.target_dir)],
    }
}

async fn reload(
    shared: Arc<Shared>,
    cfg: Config,
    opts: Options,
    local: PathBuf,
    mut changes: tokio::sync::mpsc::Receiver<()>,
) {
    let mut n = 1;
    while changes.recv().await.is_some() {
        n += 1;
        eprintln!("lambada: change detected: rebuilding (requests wait)");
        let previous = shared.phase.send_replace(Phase::Building);
        match generation(&cfg, &opts, local.join(format!("gen-{n}"))).await {
            Ok(g) => {
                let g = Arc::new(g);
                let routes_changed = match &previous {
                    Phase::Ready(p) => p.manifest.routes != g.manifest.routes,
                    Phase::Building => true,
                };
                if routes_changed {
                    println!();
                    manifest::print_table(&g.manifest);
                    println!();
                }
                shared.phase.send_replace(Phase::Ready(g.clone()));
                if let Phase::Ready(p) = previous {
                    p.pool.shutdown().await;
                }
                eprintln!("lambada: rebuilt; serving the new build");
                warm(g);
            }
            Err(e) => {
                eprintln!("lambada: rebuild failed: {e}");
                eprintln!(
                    "lambada: still serving the previous build; fix the error and save again"
                );
                shared.phase.send_replace(previous);
            }
        }
    }
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP. The handlers are installed when
/// this is called (not when first polled), so a signal during the first
/// build is not lost, and never kills the process before its bootstraps.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn wait(s: Option<Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        let [int, term, hup] = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ]
        .map(|k| signal(k).ok());
        async move {
            tokio::select! {
                _ = wait(int) => {}
                _ = wait(term) => {}
                _ = wait(hup) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A response body: whole, or a streamed answer forwarded chunk by chunk
/// as the bootstrap sends it.
pub enum ServeBody {
    Full(Full<Bytes>),
    Stream {
        /// What came with the prelude, sent first.
        first: Option<Bytes>,
        rest: emulator::Streamed,
        /// For the log line of a stream that fails.
        what: String,
        /// A failure read but not yet passed on (see `poll_frame`).
        cut: Option<String>,
    },
}

impl hyper::body::Body for ServeBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        use std::task::Poll;
        match self.get_mut() {
            ServeBody::Full(f) => std::pin::Pin::new(f)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            ServeBody::Stream {
                first,
                rest,
                what,
                cut,
            } => {
                if let Some(message) = cut.take() {
                    return Poll::Ready(Some(Err(message.into())));
                }
                if let Some(b) = first.take().filter(|b| !b.is_empty()) {
                    return Poll::Ready(Some(Ok(hyper::body::Frame::data(b))));
                }
                loop {
                    return match rest.body.poll_recv(cx) {
                        Poll::Ready(Some(Ok(b))) if b.is_empty() => continue,
                        Poll::Ready(Some(Ok(b))) => {
                            Poll::Ready(Some(Ok(hyper::body::Frame::data(b))))
                        }
                        Poll::Ready(Some(Err(e))) => {
                            // The status is out: the client sees the body
                            // cut short, as behind a function URL.
                            let line = format!(
                                "lambada: {what}: the stream failed: {}: {}\n",
                                e.error_type,
                                e.message()
                            );
                            let _ = std::io::Write::write_all(
                                &mut std::io::stderr().lock(),
                                line.as_bytes(),
                            );
                            // Passed on one turn later: an error aborts
                            // the connection, and hyper flushes the chunks
                            // it holds only between two polls of the body.
                            *cut = Some(e.message());
                            cx.waker().wake_by_ref();
                            Poll::Pending
                        }
                        Poll::Ready(None) => Poll::Ready(None),
                        Poll::Pending => Poll::Pending,
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ServeBody::Full(f) => f.is_end_stream(),
            ServeBody::Stream { .. } => false,
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            ServeBody::Full(f) => f.size_hint(),
            ServeBody::Stream { .. } => hyper::body::SizeHint::default(),
        }
    }
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: http::Request<Incoming>,
) -> Result<http::Response<ServeBody>, Infallible> {
    let started = Instant::now();
    // The WebSocket API (an upgrade, or its Management API) when the app
    // has WebSocket handlers.
    let ws_management = websocket::management_id(req.uri().path());
    if websocket::is_upgrade(&req) || ws_management.is_some() {
        let generation = {
            let mut phase = shared.phase.subscribe();
            match phase
                .wait_for(|p| matches!(p, Phase::Ready(_)))
                .await
                .as_deref()
            {
                Ok(Phase::Ready(g)) => Some(g.clone()),
                _ => None,
            }
        };
        if let Some(g) = generation
            && let Some(ws) = g
                .manifest
                .websocket
                .clone()
                .filter(|w| !w.routes.is_empty())
        {
            let method = req.method().clone();
            let uri = req.uri().to_string();
            let (res, note) = match ws_management {
                Some(id) => {
                    let body = match Limited::new(req.into_body(), MAX_REQUEST_BODY)
                        .collect()
                        .await
                    {
                        Ok(b) => b.to_bytes(),
                        Err(_) => {
                            return Ok(log(
                                &shared,
                                &method,
                                &uri,
                                started,
                                gateway::too_large(),
                                None,
                            ));
                        }
                    };
                    (shared.hub.manage(&method, &id, body), None)
                }
                None => {
                    let up = websocket::Upgrade {
                        shared: shared.clone(),
                        generation: g,
                        websocket: ws,
                        peer: peer.ip(),
                    };
                    websocket::upgrade(up, req).await
                }
            };
            return Ok(log(&shared, &method, &uri, started, res, note));
        }
    }
    let (head, body) = req.into_parts();
    let uri = head
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let mut auth_note = None;
    let (res, note) = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Err(_) => (gateway::too_large(), None),
        Ok(body) => {
            let mut phase = shared.phase.subscribe();
            let generation = match phase
                .wait_for(|p| matches!(p, Phase::Ready(_)))
                .await
                .as_deref()
            {
                Ok(Phase::Ready(g)) => Some(g.clone()),
                _ => None,
            };
            match generation {
                None => {
                    let fault = emulator::Fault::Spawn("the server is stopping".into());
                    gateway::response(shared.format.kind(), Err(fault))
                }
                Some(g) => {
                    let mut headers = gateway::header_pairs(&head.headers);
                    gateway::add_forwarding_headers(&mut headers, peer.ip(), shared.port);
                    let incoming = gateway::Incoming {
                        method: head.method.clone(),
                        uri: uri.clone(),
                        headers,
                        body: body.to_bytes(),
                        source_ip: peer.ip(),
                    };
                    let kind = shared.format.kind();
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs());
                    let path = uri.split_once('?').map_or(uri.as_str(), |(p, _)| p);
                    let lambda = g
                        .router
                        .protection(&head.method, path)
                        .and_then(|(name, _)| g.authorizers.get(name))
                        .filter(|_| authorize::runs_authorizers(kind));
                    let (decision, allowed_note) = match lambda {
                        Some(a) => {
                            let (d, n) = a
                                .decide(kind, &shared.stage, &g.router, &incoming, g.cors.as_ref())
                                .await;
                            (d, Some(n))
                        }
                        None => (
                            shared
                                .auth
                                .decide(kind, &g.router, &incoming, g.cors.as_ref(), now),
                            None,
                        ),
                    };
                    auth_note = allowed_note;
                    let authorizer = match decision {
                        authorize::Decision::Refuse(res, why) => {
                            return Ok(log(&shared, &head.method, &uri, started, res, Some(why)));
                        }
                        authorize::Decision::Allow(a) => Some(a),
                        authorize::Decision::Public => None,
                    };
                    let event =
                        gateway::event_with(kind, &shared.stage, &g.router, &incoming, authorizer);
                    // Its own task: a client that hangs up does not cut the
                    // invocation short (nor kill its bootstrap), as on Lambda.
                    let invocation =
                        tokio::spawn(async move { g.pool.invoke(Bytes::from(event)).await });
                    let outcome = invocation.await.unwrap_or_else(|e| {
                        Err(emulator::Fault::Spawn(format!(
                            "the invocation task failed: {e}"
                        )))
                    });
                    if let Ok(emulator::Reply::Stream(s)) = outcome {
                        let what = format!("{} {uri}", head.method);
                        let res = match gateway::streamed(s).await {
                            Ok((res_head, first, rest)) => res_head.map(|()| ServeBody::Stream {
                                first: Some(first),
                                rest,
                                what,
                                cut: None,
                            }),
                            Err(note) => {
                                return Ok(log(
                                    &shared,
                                    &head.method,
                                    &uri,
                                    started,
                                    gateway::bad_gateway(&note),
                                    Some(note),
                                ));
                            }
                        };
                        return Ok(log_streamed(
                            &shared,
                            &head.method,
                            &uri,
                            started,
                            res,
                            auth_note,
                        ));
                    }
                    gateway::response(kind, outcome)
                }
            }
        }
    };
    // An allowed request's note says what its authorizer did.
    let note = match (note, auth_note) {
        (Some(n), Some(a)) => Some(format!("{a}; {n}")),
        (n, a) => n.or(a),
    };
    Ok(log(&shared, &head.method, &uri, started, res, note))
}

/// The log line of a streamed answer, written when its head goes out.
fn log_streamed(
    shared: &Shared,
    method: &http::Method,
    uri: &str,
    started: Instant,
    res: http::Response<ServeBody>,
    note: Option<String>,
) -> http::Response<ServeBody> {
    if !(shared.quiet && note.is_none()) {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let note = note.map(|n| format!("; {n}")).unwrap_or_default();
        let line = format!(
            "lambada: {method} {uri} -> {} ({ms:.1} ms to the first byte, streaming){note}\n",
            res.status().as_u16()
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }
    res
}

/// Writes the request's log line (unless quiet and fine) and hands the
/// response on.
fn log(
    shared: &Shared,
    method: &http::Method,
    uri: &str,
    started: Instant,
    res: http::Response<Bytes>,
    note: Option<String>,
) -> http::Response<ServeBody> {
    if shared.quiet && note.is_none() {
        return res.map(|b| ServeBody::Full(Full::new(b)));
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let note = note.map(|n| format!(": {n}")).unwrap_or_default();
    // Formatted first, written at once: stderr is unbuffered, and
    // `eprintln!` would make a write(2) per formatted piece.
    let line = format!(
        "lambada: {method} {uri} -> {} ({ms:.1} ms){note}\n",
        res.status().as_u16()
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    res.map(|b| ServeBody::Full(Full::new(b)))
}
