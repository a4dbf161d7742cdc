//! The route table of a built binary: the binary prints it as JSON when run
//! with `LAMBADA_ROUTES=1` (see `lambada::run`), before touching the network.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::build::{self, BuildError};
use crate::config::{self, Settings};

/// One route, as the binary reports it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RouteEntry {
    /// `http` for API routes (event triggers arrive with their issue).
    pub kind: String,
    pub method: String,
    /// The path in Lambada's spelling.
    pub path: String,
    /// The API Gateway resource path.
    pub apigw_path: String,
    pub handler: String,
    #[serde(default)]
    pub request_content_type: Option<String>,
    #[serde(default)]
    pub response_content_type: Option<String>,
    /// The authorizer protecting it (its own `auth`, else the table's
    /// default); `None` for a public route.
    #[serde(default)]
    pub auth: Option<String>,
    /// Scopes of which the caller's token must carry one.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Whether it streams its response: deployed with a streaming
    /// integration (REST) or a `RESPONSE_STREAM` function URL.
    #[serde(default)]
    pub streams: bool,
}

impl Manifest {
    /// Whether any HTTP route streams its response.
    pub fn streams(&self) -> bool {
        self.routes.iter().any(|r| r.streams)
    }
}

/// What invokes a trigger handler (`kind` in the manifest).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    /// `#[sns]`: a subscription to an SNS topic.
    Sns,
    /// `#[sqs]`: an event-source mapping from an SQS queue.
    Sqs,
    /// `#[kinesis]`: an event-source mapping from a Kinesis stream.
    Kinesis,
    /// `#[dynamodb_stream]`: an event-source mapping from a table's stream.
    #[serde(rename = "dynamodb_stream")]
    DynamoDbStream,
    /// `#[schedule]`: an EventBridge rule with a schedule expression.
    Schedule,
    /// `#[invoke]`: invoked directly; nothing is wired.
    Invoke,
    /// `#[authorizer]`: a Lambda authorizer of the API.
    Authorizer,
    /// `#[s3]`: an S3 bucket's event notifications.
    S3,
    /// `#[event_pattern]`: an EventBridge rule with an event pattern.
    #[serde(rename = "event_pattern")]
    EventBridge,
}

impl TriggerKind {
    /// The manifest's spelling (`dynamodb_stream`).
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Sns => "sns",
            TriggerKind::Sqs => "sqs",
            TriggerKind::Kinesis => "kinesis",
            TriggerKind::DynamoDbStream => "dynamodb_stream",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Invoke => "invoke",
            TriggerKind::Authorizer => "authorizer",
            TriggerKind::S3 => "s3",
            TriggerKind::EventBridge => "event_pattern",
        }
    }

    /// Whether Lambda polls the source through an event-source mapping.
    pub fn is_polled(self) -> bool {
        matches!(
            self,
            TriggerKind::Sqs | TriggerKind::Kinesis | TriggerKind::DynamoDbStream
        )
    }

    /// What the function's role needs to poll the source (empty for the
    /// kinds that push their events).
    pub fn read_actions(self) -> &'static [&'static str] {
        match self {
            TriggerKind::Sqs => &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            TriggerKind::Kinesis => &[
                "kinesis:DescribeStream",
                "kinesis:DescribeStreamSummary",
                "kinesis:GetRecords",
                "kinesis:GetShardIterator",
                "kinesis:ListShards",
                "kinesis:SubscribeToShard",
            ],
            TriggerKind::DynamoDbStream => &[
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator",
                "dynamodb:ListStreams",
            ],
            _ => &[],
        }
    }

    /// Whether the source is a stream (which has a starting position).
    pub fn is_stream(self) -> bool {
        matches!(self, TriggerKind::Kinesis | TriggerKind::DynamoDbStream)
    }
}

impl std::fmt::Display for TriggerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One non-HTTP trigger, as the binary reports it. Each deploys to its own
/// function ([`TriggerEntry::function_name`]) running the same zip, with
/// `Handler` set to [`TriggerEntry::handler`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TriggerEntry {
    /// What invokes the handler.
    pub kind: TriggerKind,
    /// The handler function's name: the deployed function's `Handler`.
    pub handler: String,
    /// The module the handler is defined in.
    #[serde(default)]
    pub module: String,
    /// The event argument's type, as written.
    #[serde(default)]
    pub event: String,
    /// Topic, queue or stream (name or ARN), table (name or stream ARN),
    /// the schedule expression; empty for `invoke`.
    #[serde(default)]
    pub source: String,
    /// Records per invocation (SQS, Kinesis, DynamoDB Streams).
    #[serde(default)]
    pub batch_size: Option<i32>,
    /// Seconds to gather a batch (`MaximumBatchingWindowInSeconds`).
    #[serde(default)]
    pub batch_window: Option<i32>,
    /// `LATEST` or `TRIM_HORIZON` (Kinesis, DynamoDB Streams).
    #[serde(default)]
    pub starting_position: Option<String>,
    /// The schedule's constant input.
    #[serde(default)]
    pub input: Option<serde_json::Value>,
    /// The function's timeout in seconds (default: the configured one).
    #[serde(default)]
    pub timeout: Option<i32>,
    /// The function's memory in MB (default: the configured one).
    #[serde(default)]
    pub memory: Option<i32>,
    /// Reserved concurrency (default: none reserved).
    #[serde(default)]
    pub concurrency: Option<i32>,
    /// An `#[authorizer]`'s kind, identity sources and TTL.
    #[serde(default)]
    pub authorizer: Option<AuthorizerEntry>,
    /// The settings of the kinds that have more than a source (`settings`
    /// in the manifest): `#[s3]`'s `events`, `prefix` and `suffix`,
    /// `#[event_pattern]`'s `pattern`.
    #[serde(default, rename = "settings", skip_serializing_if = "Option::is_none")]
    pub kind_settings: Option<serde_json::Value>,
}

/// How API Gateway calls an `#[authorizer]`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AuthorizerEntry {
    /// `token` or `request`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `header.NAME` / `query.NAME`.
    pub identity: Vec<String>,
    /// Seconds an answer is cached.
    pub ttl: u32,
}

impl Default for AuthorizerEntry {
    /// What `#[authorizer]` alone means: a `token` authorizer on the
    /// `Authorization` header, answers cached for 300 s.
    fn default() -> AuthorizerEntry {
        AuthorizerEntry {
            kind: "token".into(),
            identity: vec!["header.Authorization".into()],
            ttl: 300,
        }
    }
}

impl AuthorizerEntry {
    /// Whether API Gateway sends one header's value (`TOKEN`).
    pub fn is_token(&self) -> bool {
        self.kind == "token"
    }

    /// The identity sources in a REST API's spelling:
    /// `method.request.header.X`, `method.request.querystring.k`.
    pub fn rest_identity(&self) -> String {
        self.identity
            .iter()
            .map(|i| match i.split_once('.') {
                Some(("query", n)) => format!("method.request.querystring.{n}"),
                Some((_, n)) => format!("method.request.header.{n}"),
                None => i.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The header or query parameter API Gateway reads first.
    pub fn first(&self) -> (&str, &str) {
        let first = self
            .identity
            .first()
            .map_or("header.Authorization", String::as_str);
        match first.split_once('.') {
            Some(("query", n)) => ("query", n),
            Some((_, n)) => ("header", n),
            None => ("header", first),
        }
    }
}

/// Lambda's limit on function names.
const MAX_FUNCTION_NAME: usize = 64;

impl TriggerEntry {
    /// An `#[authorizer]`'s kind, identity sources and TTL (the defaults
    /// of a bare `#[authorizer]` when the manifest has none).
    pub fn authorizer_spec(&self) -> AuthorizerEntry {
        self.authorizer.clone().unwrap_or_default()
    }

    /// The name of the function this trigger deploys to:
    /// `<function>-<handler with '_' as '-'>`; names over 64 characters are
    /// cut and end with `-` and 8 hex digits of the handler's SHA-256.
    pub fn function_name(&self, function: &str) -> String {
        let name = format!("{function}-{}", self.handler.replace('_', "-"));
        if name.len() <= MAX_FUNCTION_NAME {
            return name;
        }
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.handler.as_bytes());
        let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        let mut cut: String = name.chars().take(MAX_FUNCTION_NAME - 9).collect();
        while cut.len() > MAX_FUNCTION_NAME - 9 {
            cut.pop();
        }
        format!("{cut}-{hex}")
    }

    /// The starting position of a stream trigger (default `LATEST`).
    pub fn starting_position(&self) -> Option<&str> {
        self.kind
            .is_stream()
            .then(|| self.starting_position.as_deref().unwrap_or("LATEST"))
    }

    /// The settings, for the route table: `batch 10, window 5 s, …`.
    pub fn settings(&self) -> String {
        let mut out = Vec::new();
        if let Some(b) = self.batch_size {
            out.push(format!("batch {b}"));
        }
        if let Some(w) = self.batch_window {
            out.push(format!("window {w} s"));
        }
        if let Some(p) = self.starting_position() {
            out.push(format!("from {p}"));
        }
        if let Some(i) = &self.input {
            out.push(format!("input {i}"));
        }
        if let Some(k) = &self.kind_settings {
            match self.kind {
                TriggerKind::S3 => {
                    let list = |v: &serde_json::Value| {
                        v.as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|e| e.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    out.push(list(&k["events"]));
                    for key in ["prefix", "suffix"] {
                        if let Some(v) = k[key].as_str() {
                            out.push(format!("{key} {v}"));
                        }
                    }
                }
                _ => {
                    if let Some(p) = k.get("pattern") {
                        out.push(format!("pattern {p}"));
                    }
                }
            }
        }
        if let Some(a) = &self.authorizer {
            out.push(format!(
                "{} {}, ttl {} s",
                a.kind,
                a.identity.join(" "),
                a.ttl
            ));
        }
        if let Some(t) = self.timeout {
            out.push(format!("timeout {t} s"));
        }
        if let Some(m) = self.memory {
            out.push(format!("memory {m} MB"));
        }
        if let Some(c) = self.concurrency {
            out.push(format!("concurrency {c}"));
        }
        if out.is_empty() {
            "-".into()
        } else {
            out.join(", ")
        }
    }
}

/// The `#[s3]` triggers S3 would refuse together: on one bucket, with an
/// event type in common and filters that can match the same key ("Configurations
/// overlap").
fn s3_overlaps(triggers: &[TriggerEntry]) -> Vec<String> {
    /// A trigger, its events, prefix and suffix.
    type Filters<'a> = (
        &'a TriggerEntry,
        Vec<String>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let s3: Vec<Filters<'_>> = triggers
        .iter()
        .filter(|t| t.kind == TriggerKind::S3)
        .map(|t| {
            let k = t.kind_settings.as_ref();
            let events: Vec<String> = k
                .and_then(|k| k["events"].as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect()
                })
                .filter(|v: &Vec<String>| !v.is_empty())
                .unwrap_or_else(|| vec!["s3:ObjectCreated:*".into()]);
            let text = |key: &str| k.and_then(|k| k[key].as_str()).filter(|v| !v.is_empty());
            (t, events, text("prefix"), text("suffix"))
        })
        .collect();
    let event_overlap = |a: &str, b: &str| {
        let covers = |wild: &str, e: &str| {
            wild.strip_suffix('*')
                .is_some_and(|stem| e.starts_with(stem))
        };
        a == b || covers(a, b) || covers(b, a)
    };
    let mut out = Vec::new();
    for (i, (a, ea, pa, sa)) in s3.iter().enumerate() {
        for (b, eb, pb, sb) in &s3[i + 1..] {
            let events = ea.iter().any(|x| eb.iter().any(|y| event_overlap(x, y)));
            let prefixes = match (pa, pb) {
                (Some(x), Some(y)) => x.starts_with(y) || y.starts_with(x),
                _ => true,
            };
            let suffixes = match (sa, sb) {
                (Some(x), Some(y)) => x.ends_with(y) || y.ends_with(x),
                _ => true,
            };
            if a.source == b.source && events && prefixes && suffixes {
                out.push(format!(
                    "trigger `{}` (s3) and trigger `{}` (s3) take the same events of the same keys of bucket `{}`, which S3 refuses: give them different `prefix` or `suffix` filters, or different `events`",
                    a.handler, b.handler, a.source
                ));
            }
        }
    }
    out
}

/// The whole manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The lambada-runtime version the binary was built with.
    pub lambada: String,
    /// The HTTP routes, served by the API function.
    pub routes: Vec<RouteEntry>,
    /// The other triggers, one function each (absent from older binaries).
    #[serde(default)]
    pub triggers: Vec<TriggerEntry>,
    /// The CORS settings given in code (`routes![…].cors(…)`).
    #[serde(default)]
    pub cors: Option<lambada::Cors>,
    /// The OpenAPI 3.1 document of the HTTP routes, from the handlers'
    /// types (absent from older binaries).
    #[serde(default)]
    pub openapi: Option<serde_json::Value>,
    /// The WebSocket handlers, served by the API function behind a
    /// WebSocket API (absent without any).
    #[serde(default)]
    pub websocket: Option<WebSocketManifest>,
}

/// The WebSocket part of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebSocketManifest {
    /// The route selection expression (`$request.body.action`).
    pub route_selection: String,
    /// One per handler.
    pub routes: Vec<WsRouteEntry>,
}

/// One WebSocket handler.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WsRouteEntry {
    /// `$connect`, `$disconnect`, `$default` or a custom key.
    pub route_key: String,
    pub handler: String,
}

impl Manifest {
    /// Whether the app has WebSocket handlers (and so a WebSocket API in
    /// front of the API function).
    pub fn has_websocket(&self) -> bool {
        self.websocket
            .as_ref()
            .is_some_and(|w| !w.routes.is_empty())
    }
}

impl Manifest {
    /// Whether the app has HTTP routes (and so an API function and a REST API).
    pub fn has_http(&self) -> bool {
        self.routes.iter().any(|r| r.kind == "http")
    }

    /// Checks the triggers before anything is deployed or packaged: every
    /// problem at once, each saying what to change.
    pub fn check_triggers(&self, function: &str) -> Result<(), ManifestError> {
        let mut problems = Vec::new();
        let mut names: Vec<(String, &str)> = Vec::new();
        for t in &self.triggers {
            let at = format!("trigger `{}` ({})", t.handler, t.kind);
            let name = t.function_name(function);
            if let Some((_, other)) = names.iter().find(|(n, _)| *n == name) {
                problems.push(format!(
                    "{at}: `{other}` deploys to the same function `{name}`: rename one of the handlers"
                ));
            }
            names.push((name, &t.handler));
            if t.handler.is_empty() {
                problems.push(format!("{at}: the handler name is empty"));
            }
            let needs_source = !matches!(t.kind, TriggerKind::Invoke | TriggerKind::Authorizer);
            if needs_source && t.source.trim().is_empty() {
                let what = match t.kind {
                    TriggerKind::Sns => "a topic",
                    TriggerKind::Sqs => "a queue",
                    TriggerKind::Kinesis => "a stream",
                    TriggerKind::DynamoDbStream => "a table",
                    TriggerKind::S3 => "a bucket",
                    TriggerKind::EventBridge => "an event bus",
                    _ => "a schedule expression",
                };
                problems.push(format!("{at}: no source: give it {what}"));
            }
            let is_expression = ["rate(", "cron(", "at("]
                .iter()
                .any(|p| t.source.starts_with(p));
            if t.kind == TriggerKind::Schedule && !t.source.is_empty() && !is_expression {
                problems.push(format!(
                    "{at}: `{}` is not a schedule expression: write `rate(15 minutes)` or `cron(0 12 * * ? *)`",
                    t.source
                ));
            }
            if let Some(p) = &t.starting_position {
                if !t.kind.is_stream() {
                    problems.push(format!(
                        "{at}: starting_position applies to kinesis and dynamodb_stream triggers only"
                    ));
                } else if p != "LATEST" && p != "TRIM_HORIZON" {
                    problems.push(format!(
                        "{at}: starting_position `{p}`: use \"LATEST\" or \"TRIM_HORIZON\""
                    ));
                }
            }
            if !t.kind.is_polled() && (t.batch_size.is_some() || t.batch_window.is_some()) {
                problems.push(format!(
                    "{at}: batch_size and batch_window apply to sqs, kinesis and dynamodb_stream triggers only"
                ));
            }
            if let Some(b) = t.batch_size.filter(|b| !(1..=10000).contains(b)) {
                problems.push(format!("{at}: batch_size {b}: Lambda allows 1 to 10000"));
            }
            if let Some(w) = t.batch_window.filter(|w| !(0..=300).contains(w)) {
                problems.push(format!("{at}: batch_window {w} s: Lambda allows 0 to 300"));
            }
            if t.input.is_some() && t.kind != TriggerKind::Schedule {
                problems.push(format!("{at}: input applies to schedule triggers only"));
            }
            if let Some(m) = t.timeout.filter(|t| !(1..=900).contains(t)) {
                problems.push(format!("{at}: timeout {m} s: Lambda allows 1 to 900"));
            }
            if let Some(m) = t.memory.filter(|m| !(128..=10240).contains(m)) {
                problems.push(format!("{at}: memory {m} MB: Lambda allows 128 to 10240"));
            }
            if let Some(c) = t.concurrency.filter(|c| *c < 0) {
                problems.push(format!(
                    "{at}: concurrency {c}: reserve 0 or more concurrent executions"
                ));
            }
        }
        problems.extend(s3_overlaps(&self.triggers));
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError::InvalidTriggers(problems.join("\n  ")))
        }
    }
}

impl Manifest {
    /// Checks that every authorizer a route names is configured: every
    /// problem at once, before anything is served, packaged or deployed.
    pub fn check_auth(
        &self,
        authorizers: &std::collections::BTreeMap<String, crate::auth::AuthorizerConfig>,
    ) -> Result<(), ManifestError> {
        let code: Vec<&str> = self
            .lambda_authorizers()
            .map(|t| t.handler.as_str())
            .collect();
        let mut all: Vec<String> = authorizers.keys().map(|k| format!("`{k}`")).collect();
        all.extend(code.iter().map(|k| format!("`{k}` (#[authorizer])")));
        let known = if all.is_empty() {
            "none is configured or defined".to_owned()
        } else {
            format!("there are: {}", all.join(", "))
        };
        let mut problems: Vec<String> = code
            .iter()
            .filter(|c| authorizers.contains_key(**c))
            .map(|c| {
                format!(
                    "`{c}` is both an #[authorizer] function and `[package.metadata.lambada.authorizers.{c}]`: rename one"
                )
            })
            .collect();
        for r in &self.routes {
            let Some(name) = r.auth.as_deref() else {
                continue;
            };
            let is_code = code.contains(&name);
            if !is_code && !authorizers.contains_key(name) {
                problems.push(format!(
                    "route `{} {}` ({}) names the authorizer `{name}` ({known}): add `[package.metadata.lambada.authorizers.{name}]` with `type = \"cognito\"` or `\"jwt\"`, or an `#[authorizer] async fn {name}` to the route table",
                    r.method, r.path, r.handler
                ));
            } else if is_code && !r.scopes.is_empty() {
                problems.push(format!(
                    "route `{} {}` ({}) asks for scopes of the Lambda authorizer `{name}`, which decides itself: scopes are checked by Cognito and JWT authorizers only",
                    r.method, r.path, r.handler
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ManifestError::UnknownAuthorizers(problems.join("\n  ")))
        }
    }

    /// The CORS settings in force: `config`'s over the code's
    /// ([`lambada::Cors::overlay`], as the function does with
    /// `LAMBADA_CORS`), every route they name checked against the table.
    pub fn cors_with(
        &self,
        config: Option<&lambada::Cors>,
    ) -> Result<Option<lambada::Cors>, ManifestError> {
        let Some(c) = lambada::Cors::overlay(self.cors.as_ref(), config) else {
            return Ok(None);
        };
        c.check(
            self.routes
                .iter()
                .filter(|r| r.kind == "http")
                .map(|r| r.handler.as_str()),
        )
        .map_err(ManifestError::InvalidCors)?;
        Ok(Some(c))
    }

    /// The `#[authorizer]` functions.
    pub fn lambda_authorizers(&self) -> impl Iterator<Item = &TriggerEntry> {
        self.triggers
            .iter()
            .filter(|t| t.kind == TriggerKind::Authorizer)
    }

    /// The `#[authorizer]` function named `name`, if there is one.
    pub fn lambda_authorizer(&self, name: &str) -> Option<&TriggerEntry> {
        self.lambda_authorizers().find(|t| t.handler == name)
    }
}

/// Errors reading the manifest.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot run {0}: {1}")]
    Run(String, std::io::Error),
    #[error("{0} exited with {1} when asked for its routes: {2}")]
    Failed(String, std::process::ExitStatus, String),
    #[error("{0} printed no route table: is it a Lambada app that calls `lambada::run`? ({1})")]
    NotLambada(String, serde_json::Error),
    #[error(
        "{0} printed a route table this cargo-lambada does not understand ({1}): update cargo-lambada to the version of lambada-runtime the app uses"
    )]
    Unsupported(String, serde_json::Error),
    #[error("the app's triggers cannot be deployed:\n  {0}")]
    InvalidTriggers(String),
    #[error("the app's authorizers do not add up:\n  {0}")]
    UnknownAuthorizers(String),
    #[error("the CORS settings do not fit the app: {0}")]
    InvalidCors(String),
}

/// Runs `binary` and reads its route table.
pub async fn read(binary: &Path) -> Result<Manifest, ManifestError> {
    let name = binary.display().to_string();
    let out = tokio::process::Command::new(binary)
        .env("LAMBADA_ROUTES", "1")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .await
        .map_err(|e| ManifestError::Run(name.clone(), e))?;
    if !out.status.success() {
        return Err(ManifestError::Failed(
            name,
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    parse(&name, &out.stdout)
}

/// Parses the manifest `binary` printed.
fn parse(binary: &str, stdout: &[u8]) -> Result<Manifest, ManifestError> {
    let value: serde_json::Value = serde_json::from_slice(stdout)
        .map_err(|e| ManifestError::NotLambada(binary.to_owned(), e))?;
    let ours = value.get("lambada").is_some() && value.get("routes").is_some();
    serde_json::from_value(value).map_err(|e| {
        if ours {
            ManifestError::Unsupported(binary.to_owned(), e)
        } else {
            ManifestError::NotLambada(binary.to_owned(), e)
        }
    })
}

/// Prints a route table.
pub fn print_table(m: &Manifest) {
    let w = m
        .routes
        .iter()
        .map(|r| r.path.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let a = m
        .routes
        .iter()
        .map(|r| r.apigw_path.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<7} {:<w$}  {:<a$}  {:<18} KIND",
        "METHOD", "PATH", "RESOURCE", "HANDLER"
    );
    let with_auth = m.routes.iter().any(|r| r.auth.is_some());
    for r in &m.routes {
        let auth = match (&r.auth, with_auth) {
            (_, false) => String::new(),
            (None, true) => "  public".to_owned(),
            (Some(a), true) if r.scopes.is_empty() => format!("  auth {a}"),
            (Some(a), true) => format!("  auth {a} ({})", r.scopes.join(" | ")),
        };
        println!(
            "{:<7} {:<w$}  {:<a$}  {:<18} {}{auth}",
            r.method, r.path, r.apigw_path, r.handler, r.kind
        );
    }
}

/// Prints the triggers: kind, source, settings, handler and the function
/// each deploys to.
pub fn print_triggers(m: &Manifest, function: &str) {
    if m.triggers.is_empty() {
        return;
    }
    let rows: Vec<[String; 5]> = m
        .triggers
        .iter()
        .map(|t| {
            [
                t.kind.to_string(),
                if t.source.is_empty() {
                    "-".into()
                } else {
                    t.source.clone()
                },
                t.settings(),
                t.handler.clone(),
                t.function_name(function),
            ]
        })
        .collect();
    let header = ["TRIGGER", "SOURCE", "SETTINGS", "HANDLER", "FUNCTION"];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut out = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 4 {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", out.trim_end());
    };
    line(header);
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
}

/// Prints the routes (when there are any, or no triggers) and the triggers.
pub fn print_all(m: &Manifest, function: &str) {
    if !m.routes.is_empty() || m.triggers.is_empty() {
        print_table(m);
    }
    if !m.routes.is_empty() && !m.triggers.is_empty() {
        println!();
    }
    print_triggers(m, function);
}

/// The manifest as `routes --json` prints it: each trigger also names the
/// function it deploys to.
pub fn to_json(m: &Manifest, function: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(m).unwrap_or_default();
    if let Some(ts) = v.get_mut("triggers").and_then(|t| t.as_array_mut()) {
        for (t, entry) in ts.iter_mut().zip(&m.triggers) {
            t["function"] = serde_json::Value::String(entry.function_name(function));
        }
    }
    v
}

/// Arguments of `routes`.
#[derive(clap::Args, Debug)]
pub struct RoutesArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `cargo lambada routes`: builds (host, dev profile) and prints the routes
/// and the triggers.
pub async fn run(args: RoutesArgs) -> Result<(), ManifestError> {
    let mut cfg = config::load(&args.settings)?;
    cfg.target = None; // the binary must run here
    let (binary, _) = build::compile(&cfg, false, true).await?;
    let m = read(&binary).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&m, &cfg.function)).unwrap_or_default()
        );
    } else {
        print_all(&m, &cfg.function);
    }
    // The table is printed either way; a route naming an authorizer that
    // is not configured is still an error.
    m.check_auth(&cfg.authorizers)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_EXAMPLE: &str = r#"{"lambada":"0.1.0",
     "routes":[],
     "triggers":[
       {"kind":"sns","handler":"on_ses","module":"ses_mailing","event":"SnsMessage<Notification>",
        "source":"ses-notifications","batch_size":null,"batch_window":null,"starting_position":null,
        "input":null,"timeout":null,"memory":null,"concurrency":null},
       {"kind":"dynamodb_stream","handler":"on_change","module":"m","event":"StreamRecord<Device>",
        "source":"devices","batch_size":100,"batch_window":null,"starting_position":"TRIM_HORIZON",
        "input":null,"timeout":60,"memory":256,"concurrency":2},
       {"kind":"schedule","handler":"sync","module":"m","event":"Json<SyncInput>",
        "source":"rate(15 minutes)","batch_size":null,"batch_window":null,"starting_position":null,
        "input":{"Domain":"example.com"},"timeout":null,"memory":null,"concurrency":null}
     ]}"#;

    #[test]
    fn reads_the_triggers_of_the_spec() {
        let m = parse("app", SPEC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!(m.triggers.len(), 3);
        let t = &m.triggers[1];
        assert_eq!(t.kind, TriggerKind::DynamoDbStream);
        assert_eq!(t.starting_position(), Some("TRIM_HORIZON"));
        assert_eq!(
            (t.timeout, t.memory, t.concurrency),
            (Some(60), Some(256), Some(2))
        );
        assert_eq!(
            m.triggers[2].input,
            Some(serde_json::json!({"Domain": "example.com"}))
        );
        assert_eq!(m.triggers[0].function_name("app"), "app-on-ses");
        m.check_triggers("app").unwrap();
        let json = to_json(&m, "app");
        assert_eq!(json["triggers"][2]["function"], "app-sync");
        assert_eq!(json["triggers"][1]["kind"], "dynamodb_stream");
    }

    #[test]
    fn triggers_are_optional_and_unknown_kinds_ask_for_an_update() {
        let m = parse("app", br#"{"lambada":"0.1.0","routes":[]}"#).unwrap();
        assert!(m.triggers.is_empty());
        let e = parse(
            "app",
            br#"{"lambada":"0.2.0","routes":[],"triggers":[{"kind":"mq","handler":"h"}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("update cargo-lambada") && e.contains("mq"),
            "{e}"
        );
        let e = parse("app", b"hello").unwrap_err().to_string();
        assert!(e.contains("printed no route table"), "{e}");
    }

    #[test]
    fn long_function_names_are_cut_with_a_hash() {
        let t = TriggerEntry {
            kind: TriggerKind::Invoke,
            handler: "a_very_long_handler_name_that_goes_on_and_on_and_on".into(),
            module: String::new(),
            event: String::new(),
            source: String::new(),
            batch_size: None,
            batch_window: None,
            starting_position: None,
            input: None,
            timeout: None,
            memory: None,
            concurrency: None,
            authorizer: None,
            kind_settings: None,
        };
        let name = t.function_name("my-rather-long-application-name");
        assert_eq!(name.len(), 64, "{name}");
        assert!(name.starts_with("my-rather-long-application-name-a-very-long-handler-"));
        let other = TriggerEntry {
            handler: "a_very_long_handler_name_that_goes_on_and_on_and_om".into(),
            ..t.clone()
        };
        assert_ne!(name, other.function_name("my-rather-long-application-name"));
        assert_eq!(
            t.function_name("app"),
            format!("app-{}", t.handler.replace('_', "-"))
        );
    }

    #[test]
    fn overlapping_s3_triggers_are_refused() {
        let t = |handler: &str, settings: serde_json::Value| TriggerEntry {
            kind: TriggerKind::S3,
            handler: handler.into(),
            module: String::new(),
            event: "S3Object".into(),
            source: "uploads".into(),
            batch_size: None,
            batch_window: None,
            starting_position: None,
            input: None,
            timeout: None,
            memory: None,
            concurrency: None,
            authorizer: None,
            kind_settings: Some(settings),
        };
        let created = |prefix: &str| serde_json::json!({"events": ["s3:ObjectCreated:*"], "prefix": prefix, "suffix": null});
        let both = [t("a", created("in/")), t("b", created("in/csv/"))];
        let e = s3_overlaps(&both);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("`a` (s3) and trigger `b`"), "{e:?}");
        assert!(s3_overlaps(&[t("a", created("in/")), t("b", created("out/"))]).is_empty());
        let removed = serde_json::json!({"events": ["s3:ObjectRemoved:Delete"]});
        assert!(s3_overlaps(&[t("a", created("in/")), t("b", removed)]).is_empty());
        let put = serde_json::json!({"events": ["s3:ObjectCreated:Put"]});
        assert_eq!(s3_overlaps(&[t("a", created("in/")), t("b", put)]).len(), 1);
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let mut m = parse("app", SPEC_EXAMPLE.as_bytes()).unwrap();
        m.triggers[0].batch_size = Some(5);
        m.triggers[1].starting_position = Some("OLDEST".into());
        m.triggers[2].source = "every hour".into();
        m.triggers[2].memory = Some(64);
        let mut dup = m.triggers[0].clone();
        dup.module = "other".into();
        m.triggers.push(dup);
        let e = m.check_triggers("app").unwrap_err().to_string();
        for needle in [
            "batch_size and batch_window apply to sqs",
            "OLDEST",
            "not a schedule expression",
            "memory 64 MB",
            "same function `app-on-ses`",
        ] {
            assert!(e.contains(needle), "{needle} in {e}");
        }
    }
}
