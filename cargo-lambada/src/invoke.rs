//! `cargo lambada invoke`: one event through the Runtime API emulator to the
//! real `bootstrap`, and its response printed.
//!
//! The event is a file (`--event`), one of the examples shipped in this
//! binary (`--example`, no network needed), an HTTP request built like
//! `serve` builds them (`--get`, `--post --data`, in any `--format`), an SNS
//! notification around a message (`--sns`), an SQS batch (`--sqs`), a
//! Kinesis batch (`--kinesis`), a DynamoDB Streams batch (`--ddb-stream`),
//! a scheduled event (`--schedule`), or a direct-invocation payload
//! (`--payload`).
//!
//! Trigger events go to the function of the trigger handler that takes
//! them, as on Lambda: `_HANDLER` is the handler's name. `--handler` names
//! it; without it, the binary's one handler of that kind is used.

use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use bytes::Bytes;
use http::Method;

use lambada::test::events;

use crate::config::{self, Settings};
use crate::emulator::{self, Fault, Reply, Sandbox, ids};
use crate::manifest::{TriggerEntry, TriggerKind};
use crate::serve::{self, Format, gateway};

/// The example events shipped in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Example {
    /// API Gateway REST API (payload 1.0): GET /helloworld/5.
    Rest,
    /// API Gateway HTTP API (payload 2.0): GET /helloworld/5.
    Http,
    /// Lambda function URL: GET /helloworld/5.
    Url,
    /// Application Load Balancer: GET /helloworld/5.
    Alb,
    /// An SNS notification.
    Sns,
    /// An SQS message batch.
    Sqs,
    /// An S3 `ObjectCreated:Put` notification.
    S3,
    /// An EventBridge scheduled event.
    Schedule,
    /// An EventBridge event (`shop.orders` / `OrderPlaced`).
    EventBridge,
}

impl Example {
    /// The event's JSON.
    pub fn json(self) -> &'static str {
        match self {
            Example::Rest => include_str!("../events/apigw-rest.json"),
            Example::Http => include_str!("../events/apigw-http.json"),
            Example::Url => include_str!("../events/function-url.json"),
            Example::Alb => include_str!("../events/alb.json"),
            Example::Sns => include_str!("../events/sns.json"),
            Example::Sqs => include_str!("../events/sqs.json"),
            Example::S3 => include_str!("../events/s3.json"),
            Example::Schedule => include_str!("../events/schedule.json"),
            Example::EventBridge => include_str!("../events/eventbridge.json"),
        }
    }
}

/// Arguments of `invoke`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true)))]
pub struct InvokeArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Send this event file (`-` reads standard input).
    #[arg(long, value_name = "FILE", group = "source")]
    pub event: Option<PathBuf>,
    /// Send one of the example events shipped with cargo-lambada.
    #[arg(long, value_enum, value_name = "NAME", group = "source")]
    pub example: Option<Example>,
    /// Send a GET request for this path (and query) as an HTTP event.
    #[arg(long, value_name = "PATH", group = "source")]
    pub get: Option<String>,
    /// Send a POST request for this path as an HTTP event (body: --data).
    #[arg(long, value_name = "PATH", group = "source")]
    pub post: Option<String>,
    /// The body of --post: JSON (sent as application/json unless -H says
    /// otherwise), or @FILE.
    #[arg(long, value_name = "JSON", requires = "post")]
    pub data: Option<String>,
    /// A header of --get / --post (`-H 'Name: value'`, repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The event format of --get / --post (default: that of the
    /// configured `api`).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Send an SNS notification whose message is this file's content (`-`
    /// reads standard input).
    #[arg(long, value_name = "FILE", group = "source")]
    pub sns: Option<PathBuf>,
    /// Send an SQS batch: one message per line of this file (`-` reads
    /// standard input).
    #[arg(long, value_name = "FILE", group = "source")]
    pub sqs: Option<PathBuf>,
    /// Send a Kinesis batch: one record per line of this file.
    #[arg(long, value_name = "FILE", group = "source")]
    pub kinesis: Option<PathBuf>,
    /// Send a DynamoDB Streams batch: the file holds a JSON array (or one
    /// object) of changes `{"keys": {...}, "old": {...}, "new": {...}}`
    /// (plain JSON; `old` or `new` may be left out: an insert or a removal).
    #[arg(long = "ddb-stream", value_name = "FILE", group = "source")]
    pub ddb_stream: Option<PathBuf>,
    /// Send an S3 `ObjectCreated:Put` notification for this object:
    /// `s3://BUCKET/KEY`, or a KEY of the `#[s3]` handler's bucket.
    #[arg(long, value_name = "KEY", group = "source")]
    pub s3: Option<String>,
    /// Send an EventBridge event whose `detail` is this file's JSON (`-`
    /// reads standard input), with the `source` and `detail-type` of the
    /// `#[event_pattern]` handler's pattern.
    #[arg(long = "event-bridge", value_name = "FILE", group = "source")]
    pub event_bridge: Option<PathBuf>,
    /// Invoke directly with this JSON payload (`@FILE` reads a file), as the
    /// SDK, an IoT rule or Step Functions would.
    #[arg(long, value_name = "JSON", group = "source")]
    pub payload: Option<String>,
    /// The trigger handler whose function receives the event (its `Handler`
    /// setting); `bootstrap` for the HTTP function.
    #[arg(long, value_name = "NAME")]
    pub handler: Option<String>,
    /// Send an EventBridge scheduled event from this rule.
    #[arg(long, value_name = "RULE", group = "source", num_args = 0..=1, default_missing_value = "lambada-schedule")]
    pub schedule: Option<String>,
    /// Print the response payload as received instead of pretty JSON.
    #[arg(long)]
    pub raw: bool,
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
}

fn read_input(path: &PathBuf) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(buf)
    } else {
        std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()).into())
    }
}

fn parse_header(h: &str) -> Result<(String, String), String> {
    let (name, value) = h
        .split_once(':')
        .ok_or_else(|| format!("expected `Name: value`, got `{h}`"))?;
    let name = name.trim().to_ascii_lowercase();
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(format!("`{name}` is not a valid header name"));
    }
    Ok((name, value.trim().to_owned()))
}

/// The SNS notification carrying `message`.
pub fn sns_event(message: &str, region: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(Example::Sns.json()).unwrap_or_default();
    let topic = format!("arn:aws:sns:{region}:123456789012:lambada-topic");
    if let Some(sns) = v.pointer_mut("/Records/0/Sns") {
        sns["Message"] = message.into();
        sns["MessageId"] = ids::request_id().into();
        sns["Timestamp"] = ids::iso_time(ids::now_ms()).into();
        sns["TopicArn"] = topic.clone().into();
    }
    if let Some(r) = v.pointer_mut("/Records/0") {
        r["EventSubscriptionArn"] = format!("{topic}:{}", ids::request_id()).into();
    }
    v
}

/// The scheduled event of `rule`.
pub fn schedule_event(rule: &str, region: &str) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(Example::Schedule.json()).unwrap_or_default();
    v["id"] = ids::request_id().into();
    v["time"] = ids::iso_time(ids::now_ms()).into();
    v["region"] = region.into();
    v["resources"] =
        serde_json::json!([format!("arn:aws:events:{region}:123456789012:rule/{rule}")]);
    v
}

/// `cargo lambada invoke`.
pub async fn run(args: InvokeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let cfg = config::load(&args.settings)?;
    let local = emulator::local_dir(&cfg.artifact_dir());
    let result = invoke(&args, &cfg, &local).await;
    let _ = std::fs::remove_dir_all(&local);
    let _ = std::fs::remove_dir(cfg.artifact_dir()); // only when empty
    result
}

/// What to send, worked out before the build so that mistakes fail fast.
enum Source {
    /// A complete event, and the kind of trigger handler it is for, if any.
    Event(Vec<u8>, Option<TriggerKind>),
    /// An HTTP request, turned into an event once the route table is known.
    Http(gateway::Incoming),
}

fn source(args: &InvokeArgs, region: &str) -> Result<Source, Box<dyn std::error::Error>> {
    if let Some(e) = args.example {
        let kind = match e {
            Example::Sns => Some(TriggerKind::Sns),
            Example::Sqs => Some(TriggerKind::Sqs),
            Example::Schedule => Some(TriggerKind::Schedule),
            Example::S3 => Some(TriggerKind::S3),
            Example::EventBridge => Some(TriggerKind::EventBridge),
            _ => None,
        };
        return Ok(Source::Event(e.json().as_bytes().to_vec(), kind));
    }
    if let Some(path) = &args.event {
        let bytes = read_input(path)?;
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(|e| format!("the event is not JSON: {e}"))?;
        return Ok(Source::Event(bytes, None));
    }
    if let Some(path) = &args.sns {
        let message = String::from_utf8_lossy(&read_input(path)?).into_owned();
        let event = serde_json::to_vec(&sns_event(&message, region))?;
        return Ok(Source::Event(event, Some(TriggerKind::Sns)));
    }
    if let Some(path) = &args.sqs {
        let text = String::from_utf8_lossy(&read_input(path)?).into_owned();
        let bodies: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
        let event = serde_json::to_vec(&events::sqs("lambada-queue", &bodies))?;
        return Ok(Source::Event(event, Some(TriggerKind::Sqs)));
    }
    if let Some(path) = &args.kinesis {
        let text = read_input(path)?;
        let records: Vec<&[u8]> = text
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let event = serde_json::to_vec(&events::kinesis("lambada-stream", &records))?;
        return Ok(Source::Event(event, Some(TriggerKind::Kinesis)));
    }
    if let Some(path) = &args.ddb_stream {
        let changes = item_changes(&read_input(path)?)?;
        let event = serde_json::to_vec(&events::dynamodb("lambada-table", &changes))?;
        return Ok(Source::Event(event, Some(TriggerKind::DynamoDbStream)));
    }
    if let Some(uri) = &args.s3 {
        let (bucket, key) = match uri.strip_prefix("s3://") {
            Some(rest) => rest
                .split_once('/')
                .ok_or_else(|| format!("--s3 {uri}: write `s3://BUCKET/KEY`, or the KEY alone"))?,
            None => ("", uri.as_str()),
        };
        if key.is_empty() {
            return Err(format!("--s3 {uri}: the key is empty").into());
        }
        let event = serde_json::to_vec(&events::s3(bucket, "ObjectCreated:Put", &[key]))?;
        return Ok(Source::Event(event, Some(TriggerKind::S3)));
    }
    if let Some(path) = &args.event_bridge {
        let detail: serde_json::Value = serde_json::from_slice(&read_input(path)?)
            .map_err(|e| format!("the --event-bridge file is not JSON: {e}"))?;
        let event = serde_json::to_vec(&events::event_bridge("", "", &detail))?;
        return Ok(Source::Event(event, Some(TriggerKind::EventBridge)));
    }
    if let Some(p) = &args.payload {
        let bytes = match p.strip_prefix('@') {
            Some(file) => read_input(&PathBuf::from(file))?,
            None => p.clone().into_bytes(),
        };
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(|e| format!("the payload is not JSON: {e}"))?;
        return Ok(Source::Event(bytes, Some(TriggerKind::Invoke)));
    }
    if let Some(rule) = &args.schedule {
        let event = serde_json::to_vec(&schedule_event(rule, region))?;
        return Ok(Source::Event(event, Some(TriggerKind::Schedule)));
    }
    let (method, uri) = match (&args.get, &args.post) {
        (Some(p), _) => (Method::GET, p.clone()),
        (None, Some(p)) => (Method::POST, p.clone()),
        _ => {
            return Err(
                "nothing to send: use --event, --example, --get, --post, --sns, --sqs, --kinesis, --ddb-stream, --s3, --event-bridge, --schedule or --payload"
                    .into(),
            );
        }
    };
    if !uri.starts_with('/') {
        return Err(format!("the path must start with `/`, got `{uri}`").into());
    }
    if http::uri::PathAndQuery::try_from(uri.as_str()).is_err() {
        return Err(format!("`{uri}` is not a valid path and query (percent-encode it)").into());
    }
    let mut headers: Vec<(String, String)> = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<_, _>>()?;
    let body = match &args.data {
        None => Bytes::new(),
        Some(d) => match d.strip_prefix('@') {
            Some(file) => Bytes::from(read_input(&PathBuf::from(file))?),
            None => Bytes::from(d.clone()),
        },
    };
    if !body.is_empty() && !headers.iter().any(|(k, _)| k == "content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    if !headers.iter().any(|(k, _)| k == "user-agent") {
        let ua = format!("cargo-lambada/{}", env!("CARGO_PKG_VERSION"));
        headers.push(("user-agent".into(), ua));
    }
    let source_ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    gateway::add_forwarding_headers(&mut headers, source_ip, 443);
    Ok(Source::Http(gateway::Incoming {
        method,
        uri,
        headers,
        body,
        source_ip,
    }))
}

async fn invoke(
    args: &InvokeArgs,
    cfg: &config::Config,
    local: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let source = source(args, &serve::region(cfg))?;
    let build = serve::build_local(cfg, args.release, true, local).await?;
    let (event, kind) = match source {
        Source::Event(bytes, kind) => (bytes, kind),
        Source::Http(incoming) => {
            let router = gateway::Router::new(&build.manifest.routes);
            let event = gateway::event(
                args.format
                    .unwrap_or_else(|| Format::for_api(cfg.api))
                    .kind(),
                &cfg.stage,
                &router,
                &incoming,
            );
            (event, None)
        }
    };
    let handler = pick_handler(args.handler.as_deref(), kind, &build.manifest.triggers)?;
    let event = match build
        .manifest
        .triggers
        .iter()
        .find(|t| t.handler == handler)
    {
        Some(t) if args.s3.is_some() || args.event_bridge.is_some() => fit_to_trigger(event, t),
        _ => event,
    };
    if handler != "bootstrap" {
        eprintln!("lambada: invoking the function of handler `{handler}`");
    }
    let mut function = serve::function(cfg, build.bootstrap);
    function.handler = handler;
    let mut sandbox = Sandbox::start(&function, 1).await?;
    let outcome = sandbox.invoke(Bytes::from(event)).await;
    // A streamed answer is read before the process stops.
    let outcome = match outcome {
        Ok(Reply::Stream(streamed)) => {
            // The function timeout holds until the stream ends.
            let due = sandbox.deadline();
            let printed = tokio::time::timeout_at(due, print_stream(streamed, args.raw)).await;
            sandbox.stop().await;
            return match printed {
                Ok(printed) => printed,
                Err(_) => {
                    let _ = std::io::Write::flush(&mut std::io::stdout());
                    Err(Fault::Timeout {
                        timeout: function.timeout,
                    }
                    .into())
                }
            };
        }
        other => other,
    };
    sandbox.stop().await;
    match outcome? {
        Reply::Response(payload) => {
            print_payload(&payload, args.raw);
            Ok(())
        }
        Reply::Error(e) => {
            print_payload(&e.body, args.raw);
            Err(format!(
                "the function returned an error: {}: {}",
                e.error_type,
                e.message()
            )
            .into())
        }
        Reply::Stream(_) => unreachable!("read above"),
    }
}

/// Prints a streamed answer as it arrives: the prelude (pretty, unless
/// `raw`) on a line of its own, then the body's chunks as they come.
async fn print_stream(
    mut streamed: crate::emulator::Streamed,
    raw: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write as _;
    let http =
        streamed.content_type.as_deref() == Some(crate::emulator::Streamed::HTTP_INTEGRATION);
    eprintln!(
        "lambada: streamed response ({})",
        streamed
            .content_type
            .as_deref()
            .unwrap_or("no content type")
    );
    let mut pending = Vec::new();
    let mut in_prelude = http && !raw;
    let mut chunks = 0usize;
    while let Some(part) = streamed.body.recv().await {
        let data = match part {
            Ok(d) => d,
            Err(e) => {
                let _ = std::io::stdout().flush();
                return Err(format!(
                    "the stream failed after {chunks} chunk(s): {}: {}",
                    e.error_type,
                    e.message()
                )
                .into());
            }
        };
        chunks += 1;
        let mut out = std::io::stdout().lock();
        if in_prelude {
            pending.extend_from_slice(&data);
            if let Some(end) = pending.windows(8).position(|w| w == [0; 8]) {
                print_payload(&pending[..end], false);
                out.write_all(&pending[end + 8..])?;
                in_prelude = false;
            }
        } else {
            out.write_all(&data)?;
        }
        out.flush()?;
    }
    if in_prelude {
        std::io::stdout().write_all(&pending)?;
    }
    println!();
    eprintln!("lambada: {chunks} chunk(s)");
    Ok(())
}

/// Fills in what `--s3` and `--event-bridge` leave to the handler's
/// trigger: the bucket of a bare key; the pattern's first `source` and
/// `detail-type`.
fn fit_to_trigger(event: Vec<u8>, t: &TriggerEntry) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&event) else {
        return event;
    };
    match t.kind {
        TriggerKind::S3 => {
            if let Some(records) = v["Records"].as_array_mut() {
                for r in records {
                    if r["s3"]["bucket"]["name"] == "" {
                        r["s3"]["bucket"]["name"] = t.source.clone().into();
                        r["s3"]["bucket"]["arn"] = format!("arn:aws:s3:::{}", t.source).into();
                    }
                }
            }
        }
        TriggerKind::EventBridge => {
            let pattern = t
                .kind_settings
                .as_ref()
                .map(|k| k["pattern"].clone())
                .unwrap_or_default();
            for (field, default) in [("source", "lambada.invoke"), ("detail-type", "Invoke")] {
                if v[field] == "" {
                    v[field] = pattern[field][0].as_str().unwrap_or(default).into();
                }
            }
        }
        _ => return event,
    }
    serde_json::to_vec(&v).unwrap_or(event)
}

/// The changes of `--ddb-stream`: an array of `{"keys", "old", "new"}`
/// objects (or one).
fn item_changes(bytes: &[u8]) -> Result<Vec<events::ItemChange>, Box<dyn std::error::Error>> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the --ddb-stream file is not JSON: {e}"))?;
    let list = match v {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    };
    list.into_iter()
        .enumerate()
        .map(|(i, c)| {
            let keys = c.get("keys").cloned().ok_or_else(|| {
                format!("change {i} of --ddb-stream has no `keys` (the item's key attributes)")
            })?;
            let (old, new) = (c.get("old").cloned(), c.get("new").cloned());
            Ok(match (old, new) {
                (None, Some(n)) => events::ItemChange::insert(keys, n),
                (Some(o), Some(n)) => events::ItemChange::modify(keys, o, n),
                (Some(o), None) => events::ItemChange::remove(keys, o),
                (None, None) => {
                    return Err(
                        format!("change {i} of --ddb-stream has neither `old` nor `new`").into(),
                    );
                }
            })
        })
        .collect()
}

/// The `Handler` of the function that receives the event: `--handler`,
/// else the binary's one trigger handler of the event's kind, else
/// `bootstrap` (the HTTP function, which answers a non-HTTP event with a
/// function error naming the shapes it takes).
fn pick_handler(
    given: Option<&str>,
    kind: Option<TriggerKind>,
    triggers: &[TriggerEntry],
) -> Result<String, Box<dyn std::error::Error>> {
    if let Some(h) = given {
        if h != "bootstrap" && !triggers.iter().any(|t| t.handler == h) {
            let names: Vec<&str> = triggers.iter().map(|t| t.handler.as_str()).collect();
            return Err(format!(
                "the binary has no trigger handler `{h}` (it has: {})",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )
            .into());
        }
        return Ok(h.to_owned());
    }
    let Some(kind) = kind else {
        return Ok("bootstrap".into());
    };
    let of_kind: Vec<&str> = triggers
        .iter()
        .filter(|t| t.kind == kind)
        .map(|t| t.handler.as_str())
        .collect();
    match of_kind[..] {
        [one] => Ok(one.to_owned()),
        [] => {
            if kind != TriggerKind::Invoke {
                eprintln!(
                    "lambada: the binary has no #[{}] handler: the event goes to the HTTP function (`bootstrap`)",
                    kind.as_str()
                );
            }
            Ok("bootstrap".into())
        }
        _ => Err(format!(
            "the binary has several #[{}] handlers ({}): choose one with --handler",
            kind.as_str(),
            of_kind.join(", ")
        )
        .into()),
    }
}

fn print_payload(payload: &[u8], raw: bool) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let pretty = (!raw)
        .then(|| serde_json::from_slice::<serde_json::Value>(payload).ok())
        .flatten()
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    let _ = match pretty {
        Some(p) => writeln!(out, "{p}"),
        None => out.write_all(payload).and_then(|()| writeln!(out)),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_examples_are_json() {
        use clap::ValueEnum as _;
        for e in Example::value_variants() {
            let v: serde_json::Value =
                serde_json::from_str(e.json()).unwrap_or_else(|err| panic!("{e:?}: {err}"));
            assert!(v.is_object(), "{e:?}");
        }
    }

    #[test]
    fn generated_events() {
        let v = sns_event("hi", "eu-west-1");
        assert_eq!(v["Records"][0]["Sns"]["Message"], "hi");
        assert_eq!(
            v["Records"][0]["Sns"]["TopicArn"],
            "arn:aws:sns:eu-west-1:123456789012:lambada-topic"
        );
        let v = schedule_event("nightly", "eu-west-1");
        assert_eq!(
            v["resources"][0],
            "arn:aws:events:eu-west-1:123456789012:rule/nightly"
        );
        assert_eq!(v["detail-type"], "Scheduled Event");
    }

    #[test]
    fn headers() {
        assert_eq!(
            parse_header("X-Api-Key: abc ").unwrap(),
            ("x-api-key".into(), "abc".into())
        );
        assert!(parse_header("nocolon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
