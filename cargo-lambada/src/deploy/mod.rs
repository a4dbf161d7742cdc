//! `cargo lambada deploy` and `remove`.
//!
//! Deploy reads before it writes and writes only what differs, in an order
//! that makes a re-run after any interruption converge:
//!
//! 1. Lambda: `GetFunction` for the API function (when the app has HTTP
//!    routes) and one per trigger ([`function`]). Its tags say which front
//!    door and domain an earlier deploy put in front of it.
//! 2. S3 ([`code`]): the content-addressed object, uploaded unless a
//!    function already runs this zip (`HeadObject` first, except on a
//!    first deploy).
//! 3. IAM ([`role`], no role configured): the role `lambada-<function>`
//!    and its inline policy (read with `GetRolePolicy` alone when a
//!    function already runs with it).
//! 4. Lambda: `CreateFunction`, or `UpdateFunctionCode` /
//!    `UpdateFunctionConfiguration` for what changed.
//! 5. The front door ([`front`]): a REST API ([`rest`]), an HTTP API
//!    ([`http_api`]), a function URL ([`function_url`]) or none, and a
//!    custom domain ([`domain`]); each read, planned and applied by one
//!    core ([`door`]). The one an earlier deploy used, if another, is
//!    taken down first.
//! 6. Triggers ([`triggers`]): each trigger's wiring, then the functions of
//!    triggers no longer in the app are unwired and deleted.
//!
//! helloworld (no triggers) against moto: a first deploy is 11 calls
//! behind a REST API, 12 behind an HTTP API and 11 behind a function URL;
//! an unchanged redeploy is 5 reads, 5 and 4 (`GetFunction`,
//! `GetRolePolicy`, the front door's reads, `ListFunctions`).

use aws_config::BehaviorVersion;
use serde::Serialize;
use serde_json::json;

use crate::build::{self, BuildError};
use crate::config::{self, Config, ConfigError, Settings};
use crate::manifest::{self, ManifestError};
use crate::package::{self, PackageError};

mod apigw2;
mod code;
mod domain;
mod door;
mod front;
mod function;
mod function_url;
mod http_api;
mod rest;
mod role;
mod triggers;
mod websocket;

pub(crate) use triggers::{
    template as trigger_template, template_source as trigger_template_source,
};

const MARKER: &str = "managed by cargo-lambada for function";
const TAG: &str = "lambada:function";

/// Errors while deploying.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Package(#[from] PackageError),
    #[error("{operation} failed: {message}\nhint: {hint}")]
    Aws {
        operation: &'static str,
        message: String,
        hint: &'static str,
    },
    #[error("cannot read {0}: {1}")]
    Io(std::path::PathBuf, std::io::Error),
    #[error("{0}")]
    Other(String),
}

fn hint_for(message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    if m.contains("credential")
        || m.contains("signature")
        || m.contains("security token")
        || m.contains("expired")
    {
        "check your AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, `aws sso login`)"
    } else if m.contains("region")
        || m.contains("endpoint")
        || m.contains("dispatch failure")
        || m.contains("connect")
    {
        "check the region (--region, AWS_REGION) and the endpoint (--endpoint-url, AWS_ENDPOINT_URL)"
    } else if m.contains("accessdenied")
        || m.contains("not authorized")
        || m.contains("access denied")
    {
        "the caller lacks a permission: it needs s3, lambda, apigateway and iam rights, and for triggers sns, sqs, events, kinesis and dynamodb reads (see the README)"
    } else {
        "re-run the command: deploy converges; --dry-run shows what it would change"
    }
}

fn aws_err<E>(operation: &'static str) -> impl FnOnce(E) -> DeployError
where
    E: std::error::Error + aws_sdk_s3::error::ProvideErrorMetadata + 'static,
{
    move |e| {
        let message = match (e.code(), e.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (Some(code), None) => code.to_owned(),
            _ => aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
        };
        DeployError::Aws {
            operation,
            hint: hint_for(&message),
            message,
        }
    }
}

/// Sends an `AddPermission`. A statement of that id already there is the
/// grant being made (a re-run after a failure half-way), so a conflict is
/// success: every front door and trigger converges the same way.
async fn add_permission(
    req: aws_sdk_lambda::operation::add_permission::builders::AddPermissionFluentBuilder,
) -> Result<(), DeployError> {
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_conflict_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(aws_err("lambda:AddPermission")(e)),
    }
}

/// API Gateway's right to invoke `function`, scoped to `source_arn` (an
/// API, a stage, or a route of one).
async fn permit_api_gateway(
    aws: &Aws,
    function: &str,
    sid: String,
    source_arn: String,
) -> Result<(), DeployError> {
    add_permission(
        aws.lambda
            .add_permission()
            .function_name(function)
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal("apigateway.amazonaws.com")
            .source_arn(source_arn),
    )
    .await
}

/// One AWS call, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub operation: &'static str,
    pub write: bool,
}

/// One planned or applied change.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub resource: String,
    pub action: &'static str,
    pub detail: String,
}

#[derive(Debug, Default, Serialize)]
struct Report {
    dry_run: bool,
    function: String,
    function_arn: Option<String>,
    api: Option<config::ApiKind>,
    api_id: Option<String>,
    url: Option<String>,
    /// The WebSocket API's `wss://` URL, when the app has WebSocket handlers.
    websocket_url: Option<String>,
    domain_target: Option<String>,
    triggers: Vec<triggers::TriggerReport>,
    changes: Vec<Change>,
    calls: Vec<Call>,
    up_to_date: bool,
}

struct Ctx {
    dry_run: bool,
    quiet: bool,
    report: Report,
}

impl Ctx {
    fn read(&mut self, operation: &'static str) {
        self.report.calls.push(Call {
            operation,
            write: false,
        });
    }
    /// Records a write; returns false in dry-run mode (do not send it).
    fn write(&mut self, operation: &'static str) -> bool {
        if self.dry_run {
            return false;
        }
        self.report.calls.push(Call {
            operation,
            write: true,
        });
        true
    }
    fn change(
        &mut self,
        resource: impl Into<String>,
        action: &'static str,
        detail: impl Into<String>,
    ) {
        let c = Change {
            resource: resource.into(),
            action,
            detail: detail.into(),
        };
        if !self.quiet {
            let verb = if self.dry_run {
                format!("would {action}")
            } else {
                action.to_owned()
            };
            eprintln!("  {:<10} {} {}", verb, c.resource, c.detail);
        }
        self.report.changes.push(c);
    }
    fn step(&self, what: &str) {
        if !self.quiet {
            eprintln!("{what}");
        }
    }
}

/// The AWS clients, configured once.
struct Aws {
    region: String,
    shared: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    iam: aws_sdk_iam::Client,
    lambda: aws_sdk_lambda::Client,
    apigw: aws_sdk_apigateway::Client,
    apigw2: aws_sdk_apigatewayv2::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    kinesis: aws_sdk_kinesis::Client,
    dynamodb: aws_sdk_dynamodb::Client,
}

async fn clients(cfg: &Config) -> Aws {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = &cfg.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(e) = &cfg.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    let shared = loader.load().await;
    let region = shared
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let shared = if shared.region().is_none() {
        shared
            .into_builder()
            .region(aws_config::Region::new("us-east-1"))
            .build()
    } else {
        shared
    };
    // Path-style S3 whenever an endpoint is overridden (LocalStack, moto).
    let custom_endpoint =
        cfg.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let s3_conf = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(custom_endpoint)
        .build();
    Aws {
        region,
        s3: aws_sdk_s3::Client::from_conf(s3_conf),
        iam: aws_sdk_iam::Client::new(&shared),
        lambda: aws_sdk_lambda::Client::new(&shared),
        apigw: aws_sdk_apigateway::Client::new(&shared),
        apigw2: aws_sdk_apigatewayv2::Client::new(&shared),
        sns: aws_sdk_sns::Client::new(&shared),
        sqs: aws_sdk_sqs::Client::new(&shared),
        events: aws_sdk_eventbridge::Client::new(&shared),
        kinesis: aws_sdk_kinesis::Client::new(&shared),
        dynamodb: aws_sdk_dynamodb::Client::new(&shared),
        shared,
    }
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Arguments of `deploy`.
#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Print the plan (what would be created, updated, left alone) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
    /// Deploy a dev-profile build (faster to build; for testing).
    #[arg(long)]
    pub debug: bool,
}

/// `cargo lambada deploy`.
pub async fn run(args: DeployArgs) -> Result<(), DeployError> {
    let cfg = config::load(&args.settings)?;
    let bucket = cfg.require_bucket()?.to_owned();
    eprintln!(
        "building {}/{} ({})",
        cfg.project.package,
        cfg.project.bin,
        if args.debug { "dev" } else { "release" }
    );
    let artifact = build::build(&cfg, !args.debug, args.json).await?;
    eprintln!(
        "built {} ({} bytes, sha256 {})",
        artifact.zip.display(),
        artifact.size,
        &artifact.sha256_hex[..16]
    );
    let m = manifest::read(&artifact.binary).await?;
    // Limits, names and settings are checked before the first AWS call.
    m.check_triggers(&cfg.function)?;
    package::check_front_door(&cfg, &m)?;
    let placeholder = json!("arn:aws:apigateway:region:lambda:path/x");
    package::openapi(
        &cfg,
        &m,
        package::Dialect::of(cfg.api),
        placeholder.clone(),
        &|_| placeholder.clone(),
    )?;

    let aws = clients(&cfg).await;
    let mut ctx = Ctx {
        dry_run: args.dry_run,
        quiet: false,
        report: Report {
            dry_run: args.dry_run,
            function: cfg.function.clone(),
            ..Report::default()
        },
    };
    // The API function (read even without HTTP routes, to take down what
    // stood in front of it), then one per trigger.
    // WebSocket handlers are served by the API function too.
    let has_api = m.has_http() || m.has_websocket();
    let api_spec = function::FunctionSpec::api(&cfg, function::front_tags(&cfg, m.has_websocket()));
    let api_found = function::get(&aws, &mut ctx, &api_spec.name).await?;
    let previous = front::Previous::of(api_found.as_ref());
    let mut specs = Vec::new();
    let mut existing = Vec::new();
    if has_api {
        specs.push(api_spec);
        existing.push(api_found.clone());
    }
    for t in &m.triggers {
        let spec = function::FunctionSpec::trigger(&cfg, t);
        let found = function::get(&aws, &mut ctx, &spec.name).await?;
        function::check_ours(&cfg, &spec, found.as_ref())?;
        specs.push(spec);
        existing.push(found);
    }
    // The queues, streams and tables must exist: read before any write.
    let sources = triggers::resolve_sources(&aws, &mut ctx, &m.triggers).await?;
    let fresh = existing.iter().all(Option::is_none);
    let key = if !existing.is_empty()
        && existing
            .iter()
            .all(|e| function::code_current(e.as_ref(), &cfg, &artifact))
    {
        package::code_key(&cfg.function, &artifact.sha256_hex)
    } else {
        code::ensure(&aws, &mut ctx, &cfg, &artifact, &bucket, fresh).await?
    };
    let mut statements = triggers::role_statements(&m.triggers, &sources);
    if m.has_websocket() {
        statements.push(websocket::role_statement(&aws.region));
    }
    let in_use = existing
        .iter()
        .flatten()
        .find_map(|f| f.configuration().and_then(|c| c.role()));
    let role = role::ensure(&aws, &mut ctx, &cfg, &statements, in_use).await?;
    let mut arns = Vec::with_capacity(specs.len());
    for (spec, found) in specs.iter().zip(existing) {
        let fresh = found.is_none();
        let arn = function::ensure(
            &aws, &mut ctx, &cfg, spec, found, &artifact, &bucket, &key, &role,
        )
        .await?;
        arns.push((arn, fresh));
    }
    let mut api_id = None;
    if has_api {
        let (function_arn, api_fresh) = arns[0].clone();
        let authorizers = front::authorizer_arns(&m, &arns[1..]);
        let out = if m.has_http() {
            front::deploy(
                &aws,
                &mut ctx,
                &cfg,
                &m,
                &function_arn,
                &authorizers,
                &previous,
                api_fresh,
            )
            .await?
        } else {
            front::remove(&aws, &mut ctx, &cfg, &previous).await?;
            front::Outcome::default()
        };
        // A WebSocket API is read for only when the app has WebSocket
        // handlers, or the function's tag says it had.
        let had_websocket = api_found
            .as_ref()
            .and_then(|f| f.tags())
            .is_some_and(|t| t.contains_key(function::WEBSOCKET_TAG));
        if m.has_websocket() || had_websocket {
            ctx.report.websocket_url =
                websocket::deploy(&aws, &mut ctx, &cfg, &m, &function_arn).await?;
        }
        if let Some(f) = &api_found {
            let now = f.tags().cloned().unwrap_or_default();
            function::ensure_front_tags(
                &aws,
                &mut ctx,
                &function_arn,
                &now,
                &function::front_tags(&cfg, m.has_websocket()),
            )
            .await?;
        }
        api_id = out.api_id.clone();
        ctx.report.function_arn = Some(function_arn);
        ctx.report.api = Some(cfg.api);
        ctx.report.api_id = out.api_id;
        ctx.report.url = out.url;
        ctx.report.domain_target = out.domain_target;
    } else if api_found.is_some() {
        // No HTTP routes (any more): no front door, no API function.
        front::remove(&aws, &mut ctx, &cfg, &previous).await?;
        websocket::remove(&aws, &mut ctx, &cfg).await?;
        function::delete_api_function(&aws, &mut ctx, &cfg, api_found.as_ref()).await?;
    }
    let reports = triggers::deploy(
        &aws,
        &mut ctx,
        &cfg,
        &m.triggers,
        &arns[usize::from(has_api)..],
        &sources,
        api_id.as_deref(),
    )
    .await?;
    ctx.report.triggers = reports;

    let writes = ctx.report.calls.iter().filter(|c| c.write).count();
    ctx.report.up_to_date = ctx.report.changes.is_empty();
    if ctx.report.up_to_date {
        eprintln!(
            "up to date: nothing to change ({} reads)",
            ctx.report.calls.len()
        );
    } else if args.dry_run {
        eprintln!(
            "dry run: {} change(s) planned, nothing changed",
            ctx.report.changes.len()
        );
    } else {
        eprintln!(
            "deployed: {} AWS calls, {writes} of them writes",
            ctx.report.calls.len()
        );
    }
    if let Some(t) = &ctx.report.domain_target {
        eprintln!("point the domain's DNS record (CNAME or alias) at {t}");
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ctx.report).unwrap_or_default()
        );
    } else {
        let url = ctx.report.url.clone();
        if let Some(url) = &url {
            println!("{url}");
        }
        if let Some(wss) = &ctx.report.websocket_url {
            println!("{wss}");
        }
        if m.has_http() {
            manifest::print_table(&m);
        }
        print_trigger_summary(&ctx.report.triggers, has_api);
    }
    Ok(())
}

/// Each trigger's function and wiring, after the route table.
fn print_trigger_summary(reports: &[triggers::TriggerReport], after_routes: bool) {
    if reports.is_empty() {
        return;
    }
    if after_routes {
        println!();
    }
    for r in reports {
        println!("{} ({}) → {}", r.handler, r.kind, r.function_arn);
        for w in &r.wiring {
            println!("    {w}");
        }
    }
}

/// Arguments of `remove`.
#[derive(clap::Args, Debug)]
pub struct RemoveArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Print what would be deleted and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print a JSON report on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `cargo lambada remove`: deletes what deploy created, identified by the
/// `lambada:function` tag (functions, HTTP APIs, domains, role, objects,
/// topics, rules) and the marker in the REST API's description (REST API
/// imports cannot carry tags). Trigger functions are unwired first: subscriptions, rules and
/// event-source mappings go with them.
pub async fn remove(args: RemoveArgs) -> Result<(), DeployError> {
    let cfg = config::load(&args.settings)?;
    let aws = clients(&cfg).await;
    let mut ctx = Ctx {
        dry_run: args.dry_run,
        quiet: false,
        report: Report {
            dry_run: args.dry_run,
            function: cfg.function.clone(),
            ..Report::default()
        },
    };
    triggers::remove(&aws, &mut ctx, &cfg).await?;
    let api_found = function::get(&aws, &mut ctx, &cfg.function).await?;
    front::remove(
        &aws,
        &mut ctx,
        &cfg,
        &front::Previous::of(api_found.as_ref()),
    )
    .await?;
    websocket::remove(&aws, &mut ctx, &cfg).await?;
    function::delete_api_function(&aws, &mut ctx, &cfg, api_found.as_ref()).await?;

    role::remove(&aws, &mut ctx, &cfg).await?;

    code::remove(&aws, &mut ctx, &cfg).await?;
    ctx.report.up_to_date = ctx.report.changes.is_empty();
    if ctx.report.up_to_date {
        eprintln!("nothing to remove");
    } else if !args.dry_run {
        eprintln!("removed {} resource(s)", ctx.report.changes.len());
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ctx.report).unwrap_or_default()
        );
    }
    Ok(())
}
