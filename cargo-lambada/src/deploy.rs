//! `cargo lambada deploy` and `remove`.
//!
//! Deploy reads before it writes and writes only what differs, in an order
//! that makes a re-run after any interruption converge:
//!
//! 1. S3: `HeadObject` on the content-addressed key; when missing,
//!    `CreateBucket` (an existing bucket is fine) and `PutObject`.
//! 2. IAM (no role configured): `GetRole`; when missing, `CreateRole` and
//!    `AttachRolePolicy` (logs; VPC access with subnets; extra policies).
//!    The inline policy also lets the function read the queues and streams
//!    of its triggers, and is rewritten when that list changes.
//! 3. Lambda: `GetFunction`; `CreateFunction`, or `UpdateFunctionCode` /
//!    `UpdateFunctionConfiguration` for what changed: the API function (when
//!    the app has HTTP routes), and one function per trigger (same zip,
//!    `Handler` = the trigger's handler; see [`triggers`]).
//! 4. API Gateway: `GetRestApis` (found by name and marker), `GetStage` and
//!    `GetDeployment` (whose description holds the definition's SHA-256);
//!    when it differs, `ImportRestApi` or `PutRestApi` in overwrite mode (the
//!    whole route table in one atomic definition), `AddPermission` when the
//!    API is new, and last `CreateDeployment` — the commit marker.
//! 5. Triggers: each trigger's wiring (SNS subscription, EventBridge rule,
//!    event-source mapping, invoke permission), then the functions of
//!    triggers no longer in the app are unwired and deleted.
//!
//! Without triggers, a no-op deploy is seven reads (`ListFunctions` finds
//! trigger functions left from earlier builds); a deploy from scratch
//! thirteen calls, whatever the number of routes.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_apigateway::primitives::Blob;
use serde::Serialize;
use serde_json::json;

use crate::build::{self, Artifact, BuildError};
use crate::config::{self, Architecture, Config, ConfigError, Settings};
use crate::manifest::{self, Manifest, ManifestError, TriggerEntry};
use crate::package::{self, PackageError};

mod triggers;

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
    api_id: Option<String>,
    url: Option<String>,
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
        sns: aws_sdk_sns::Client::new(&shared),
        sqs: aws_sdk_sqs::Client::new(&shared),
        events: aws_sdk_eventbridge::Client::new(&shared),
        kinesis: aws_sdk_kinesis::Client::new(&shared),
        dynamodb: aws_sdk_dynamodb::Client::new(&shared),
        shared,
    }
}

fn role_name(function: &str) -> String {
    let name = format!("lambada-{function}");
    name.chars().take(64).collect()
}

/// What the created role may do: write its logs, manage its network
/// interfaces when the function runs in a VPC, and whatever `extra` grants
/// (reading the queues and streams of the triggers).
fn execution_policy(vpc: bool, extra: &[serde_json::Value]) -> String {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": "*"
    })];
    if vpc {
        statements.push(json!({
            "Effect": "Allow",
            "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"],
            "Resource": "*"
        }));
    }
    statements.extend(extra.iter().cloned());
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Whether the policy document IAM returned (URL-encoded on AWS, plain
/// JSON on some emulators) says the same as `wanted`.
fn same_policy(returned: &str, wanted: &str) -> bool {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    let got = parse(returned).or_else(|| {
        percent_encoding::percent_decode_str(returned)
            .decode_utf8()
            .ok()
            .and_then(|t| parse(&t))
    });
    got.is_some() && got == parse(wanted)
}

/// The account id of an ARN (`arn:aws:iam::123456789012:role/x`).
fn arn_account(arn: &str) -> &str {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .unwrap_or("000000000000")
}

const POLICY_NAME: &str = "lambada-execution";

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

async fn ensure_code(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    artifact: &Artifact,
    bucket: &str,
) -> Result<String, DeployError> {
    let key = package::code_key(&cfg.function, &artifact.sha256_hex);
    ctx.step(&format!("code: s3://{bucket}/{key}"));
    ctx.read("s3:HeadObject");
    let head = aws.s3.head_object().bucket(bucket).key(&key).send().await;
    match head {
        Ok(_) => return Ok(key),
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
        Err(e) => return Err(aws_err("s3:HeadObject")(e)),
    }
    ctx.change(
        format!("s3://{bucket}"),
        "ensure",
        "bucket exists (created when missing)",
    );
    if ctx.write("s3:CreateBucket") {
        let mut req = aws.s3.create_bucket().bucket(bucket);
        if aws.region != "us-east-1" {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        aws.region.as_str(),
                    ))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e)
                if e.as_service_error().is_some_and(|s| {
                    s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
                }) => {}
            Err(e) => return Err(aws_err("s3:CreateBucket")(e)),
        }
    }
    ctx.change(
        format!("s3://{bucket}/{key}"),
        "upload",
        format!("{} bytes", artifact.size),
    );
    if ctx.write("s3:PutObject") {
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&artifact.zip)
            .await
            .map_err(|e| DeployError::Io(artifact.zip.clone(), std::io::Error::other(e)))?;
        aws.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(body)
            .tagging(format!("lambada%3Afunction={}", cfg.function))
            .send()
            .await
            .map_err(aws_err("s3:PutObject"))?;
    }
    Ok(key)
}

/// Ensures the execution role (unless one is configured) and its inline
/// policy; `extra` are the statements the triggers need. Returns its ARN.
async fn ensure_role(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    extra: &[serde_json::Value],
) -> Result<String, DeployError> {
    if let Some(arn) = &cfg.role {
        if !extra.is_empty() {
            ctx.step(&format!(
                "role: {arn} is configured, so it is left as it is: it must allow {}",
                triggers::describe_statements(extra)
            ));
        }
        return Ok(arn.clone());
    }
    let name = role_name(&cfg.function);
    let policy = execution_policy(!cfg.subnets.is_empty(), extra);
    ctx.step(&format!("role: {name}"));
    ctx.read("iam:GetRole");
    let existing = match aws.iam.get_role().role_name(&name).send().await {
        Ok(out) => out.role().map(|r| r.arn().to_owned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            None
        }
        Err(e) => return Err(aws_err("iam:GetRole")(e)),
    };
    let mut attach = true;
    let arn = match existing {
        Some(arn) => {
            // An interrupted run may have created the role but not its
            // policy; a change of triggers changes the policy.
            ctx.read("iam:GetRolePolicy");
            match aws
                .iam
                .get_role_policy()
                .role_name(&name)
                .policy_name(POLICY_NAME)
                .send()
                .await
            {
                Ok(p) if same_policy(p.policy_document(), &policy) => return Ok(arn),
                Ok(_) => {
                    ctx.change(
                        format!("iam role {name}"),
                        "update",
                        "inline policy (the triggers' queues and streams)",
                    );
                    attach = false;
                    arn
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_no_such_entity_exception()) =>
                {
                    arn
                }
                Err(e) => return Err(aws_err("iam:GetRolePolicy")(e)),
            }
        }
        None => {
            ctx.change(
                format!("iam role {name}"),
                "create",
                "trusted by lambda.amazonaws.com",
            );
            let mut arn = format!("arn:aws:iam::000000000000:role/{name}");
            if ctx.write("iam:CreateRole") {
                let tag = aws_sdk_iam::types::Tag::builder()
                    .key(TAG)
                    .value(&cfg.function)
                    .build()
                    .map_err(|e| DeployError::Other(e.to_string()))?;
                match aws
                    .iam
                    .create_role()
                    .role_name(&name)
                    .assume_role_policy_document(TRUST_POLICY)
                    .description(format!("{MARKER} {}", cfg.function))
                    .tags(tag)
                    .send()
                    .await
                {
                    Ok(o) => {
                        if let Some(r) = o.role() {
                            arn = r.arn().to_owned();
                        }
                    }
                    Err(e) => return Err(aws_err("iam:CreateRole")(e)),
                }
            }
            arn
        }
    };
    if attach {
        ctx.change(
            format!("iam role {name}"),
            "attach",
            if extra.is_empty() {
                "inline policy: logs (and VPC interfaces with subnets)"
            } else {
                "inline policy: logs, the triggers' queues and streams (and VPC interfaces with subnets)"
            },
        );
    }
    if ctx.write("iam:PutRolePolicy") {
        aws.iam
            .put_role_policy()
            .role_name(&name)
            .policy_name(POLICY_NAME)
            .policy_document(policy)
            .send()
            .await
            .map_err(aws_err("iam:PutRolePolicy"))?;
    }
    if attach {
        for p in &cfg.policies {
            if ctx.write("iam:AttachRolePolicy") {
                aws.iam
                    .attach_role_policy()
                    .role_name(&name)
                    .policy_arn(p)
                    .send()
                    .await
                    .map_err(aws_err("iam:AttachRolePolicy"))?;
            }
        }
    }
    Ok(arn)
}

fn lambda_arch(a: Architecture) -> aws_sdk_lambda::types::Architecture {
    match a {
        Architecture::X86_64 => aws_sdk_lambda::types::Architecture::X8664,
        Architecture::Arm64 => aws_sdk_lambda::types::Architecture::Arm64,
    }
}

fn environment(cfg: &Config) -> aws_sdk_lambda::types::Environment {
    aws_sdk_lambda::types::Environment::builder()
        .set_variables(Some(cfg.environment.clone().into_iter().collect()))
        .build()
}

fn vpc(cfg: &Config) -> aws_sdk_lambda::types::VpcConfig {
    aws_sdk_lambda::types::VpcConfig::builder()
        .set_subnet_ids(Some(cfg.subnets.clone()))
        .set_security_group_ids(Some(cfg.security_groups.clone()))
        .build()
}

type GetFunction = aws_sdk_lambda::operation::get_function::GetFunctionOutput;

/// What one function of the app should be: the API function, or the
/// function of one trigger.
#[derive(Debug, Clone)]
struct FunctionSpec {
    name: String,
    /// `bootstrap`, or the trigger's handler (the runtime reads `_HANDLER`).
    handler: String,
    memory: i32,
    timeout: i32,
    description: String,
    /// The trigger's handler (tagged `lambada:trigger`); `None` for the API
    /// function.
    trigger: Option<String>,
    /// The reserved concurrency to converge to; `None` leaves it alone.
    concurrency: Option<Option<i32>>,
}

impl FunctionSpec {
    fn api(cfg: &Config) -> FunctionSpec {
        FunctionSpec {
            name: cfg.function.clone(),
            handler: "bootstrap".into(),
            memory: cfg.memory,
            timeout: cfg.timeout,
            description: format!("{MARKER} {}", cfg.function),
            trigger: None,
            concurrency: None,
        }
    }

    fn trigger(cfg: &Config, t: &TriggerEntry) -> FunctionSpec {
        FunctionSpec {
            name: t.function_name(&cfg.function),
            handler: t.handler.clone(),
            memory: t.memory.unwrap_or(cfg.memory),
            timeout: t.timeout.unwrap_or(cfg.timeout),
            description: triggers::description(&cfg.function, &t.handler),
            trigger: Some(t.handler.clone()),
            concurrency: Some(t.concurrency),
        }
    }
}

/// Reads a function (first, so an unchanged function needs no S3 read).
async fn get_function(
    aws: &Aws,
    ctx: &mut Ctx,
    name: &str,
) -> Result<Option<GetFunction>, DeployError> {
    ctx.step(&format!("function: {name}"));
    ctx.read("lambda:GetFunction");
    match aws.lambda.get_function().function_name(name).send().await {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err("lambda:GetFunction")(e)),
    }
}

/// Whether the function runs this very zip already.
fn code_current(existing: Option<&GetFunction>, cfg: &Config, artifact: &Artifact) -> bool {
    existing.and_then(|f| f.configuration()).is_some_and(|c| {
        let arch = c
            .architectures()
            .first()
            .map(|a| a.as_str())
            .unwrap_or("x86_64");
        c.code_sha256() == Some(artifact.sha256_base64.as_str())
            && arch == cfg.architecture.lambda_name()
    })
}

/// Refuses to take over a trigger function this app did not create
/// (checked before any write).
fn check_ours(
    cfg: &Config,
    spec: &FunctionSpec,
    existing: Option<&GetFunction>,
) -> Result<(), DeployError> {
    let (Some(h), Some(existing)) = (&spec.trigger, existing) else {
        return Ok(());
    };
    let ours = existing
        .tags()
        .is_some_and(|t| t.get(TAG) == Some(&cfg.function));
    if ours {
        return Ok(());
    }
    Err(DeployError::Other(format!(
        "the function {} exists and is not tagged {TAG}={}: cargo-lambada did not create it for this app, so it will not take it over for trigger `{h}`; rename the handler or delete that function",
        spec.name, cfg.function
    )))
}

/// Creates or updates a function; returns its ARN.
#[allow(clippy::too_many_arguments)]
async fn ensure_function(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    spec: &FunctionSpec,
    existing: Option<GetFunction>,
    artifact: &Artifact,
    bucket: &str,
    key: &str,
    role: &str,
) -> Result<String, DeployError> {
    let Some(existing) = existing else {
        ctx.change(
            format!("function {}", spec.name),
            "create",
            format!(
                "provided.al2023, {} MB, {} s, handler {}",
                spec.memory, spec.timeout, spec.handler
            ),
        );
        let placeholder = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            aws.region,
            arn_account(role),
            spec.name
        );
        if !ctx.write("lambda:CreateFunction") {
            return Ok(placeholder);
        }
        let mut attempt = 0;
        let arn = loop {
            let mut req = aws
                .lambda
                .create_function()
                .function_name(&spec.name)
                .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
                .handler(&spec.handler)
                .role(role)
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .s3_bucket(bucket)
                        .s3_key(key)
                        .build(),
                )
                .architectures(lambda_arch(cfg.architecture))
                .memory_size(spec.memory)
                .timeout(spec.timeout)
                .environment(environment(cfg))
                .description(&spec.description)
                .tags(TAG, &cfg.function);
            if let Some(h) = &spec.trigger {
                req = req.tags(triggers::TRIGGER_TAG, h);
            }
            if !cfg.subnets.is_empty() {
                req = req.vpc_config(vpc(cfg));
            }
            match req.send().await {
                Ok(out) => break out.function_arn().unwrap_or(&placeholder).to_owned(),
                // A role created seconds ago is not assumable yet on real AWS.
                Err(e)
                    if attempt < 10
                        && e.as_service_error().is_some_and(|s| {
                            s.is_invalid_parameter_value_exception()
                                && s.to_string().contains("cannot be assumed")
                        }) =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                Err(e) => return Err(aws_err("lambda:CreateFunction")(e)),
            }
        };
        if let Some(Some(n)) = spec.concurrency {
            ensure_concurrency(aws, ctx, spec, None, Some(n)).await?;
        }
        return Ok(arn);
    };
    let conf = existing
        .configuration()
        .cloned()
        .unwrap_or_else(|| aws_sdk_lambda::types::FunctionConfiguration::builder().build());
    let arn = conf.function_arn().unwrap_or_default().to_owned();
    if !code_current(Some(&existing), cfg, artifact) {
        ctx.change(format!("function {}", spec.name), "update", "code");
        if ctx.write("lambda:UpdateFunctionCode") {
            aws.lambda
                .update_function_code()
                .function_name(&spec.name)
                .s3_bucket(bucket)
                .s3_key(key)
                .architectures(lambda_arch(cfg.architecture))
                .send()
                .await
                .map_err(aws_err("lambda:UpdateFunctionCode"))?;
            wait_updated(aws, ctx, &spec.name).await?;
        }
    }
    let env_now: BTreeMap<String, String> = conf
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let subnets_now: Vec<String> = conf
        .vpc_config()
        .map(|v| v.subnet_ids().to_vec())
        .unwrap_or_default();
    let sgs_now: Vec<String> = conf
        .vpc_config()
        .map(|v| v.security_group_ids().to_vec())
        .unwrap_or_default();
    let mut diffs = Vec::new();
    if conf.memory_size() != Some(spec.memory) {
        diffs.push(format!("memory {:?} → {}", conf.memory_size(), spec.memory));
    }
    if conf.timeout() != Some(spec.timeout) {
        diffs.push(format!("timeout {:?} → {}", conf.timeout(), spec.timeout));
    }
    if conf.handler() != Some(spec.handler.as_str()) {
        diffs.push(format!("handler {:?} → {}", conf.handler(), spec.handler));
    }
    if env_now != cfg.environment {
        diffs.push("environment".into());
    }
    if conf.role() != Some(role) && cfg.role.is_some() {
        diffs.push("role".into());
    }
    if subnets_now != cfg.subnets || sgs_now != cfg.security_groups {
        diffs.push("vpc".into());
    }
    if !diffs.is_empty() {
        ctx.change(
            format!("function {}", spec.name),
            "update",
            diffs.join(", "),
        );
        if ctx.write("lambda:UpdateFunctionConfiguration") {
            aws.lambda
                .update_function_configuration()
                .function_name(&spec.name)
                .handler(&spec.handler)
                .memory_size(spec.memory)
                .timeout(spec.timeout)
                .environment(environment(cfg))
                .role(role)
                .vpc_config(vpc(cfg))
                .send()
                .await
                .map_err(aws_err("lambda:UpdateFunctionConfiguration"))?;
        }
    }
    if let Some(wanted) = spec.concurrency {
        let now = existing
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions());
        ensure_concurrency(aws, ctx, spec, now, wanted).await?;
    }
    Ok(arn)
}

/// Reserves `wanted` concurrent executions for the function, or releases
/// the reservation (`None`), when it differs from `now`.
async fn ensure_concurrency(
    aws: &Aws,
    ctx: &mut Ctx,
    spec: &FunctionSpec,
    now: Option<i32>,
    wanted: Option<i32>,
) -> Result<(), DeployError> {
    if now == wanted {
        return Ok(());
    }
    match wanted {
        Some(n) => {
            ctx.change(
                format!("function {}", spec.name),
                "reserve",
                format!("concurrency {now:?} → {n}"),
            );
            if ctx.write("lambda:PutFunctionConcurrency") {
                aws.lambda
                    .put_function_concurrency()
                    .function_name(&spec.name)
                    .reserved_concurrent_executions(n)
                    .send()
                    .await
                    .map_err(aws_err("lambda:PutFunctionConcurrency"))?;
            }
        }
        None => {
            ctx.change(
                format!("function {}", spec.name),
                "release",
                format!("reserved concurrency {now:?}"),
            );
            if ctx.write("lambda:DeleteFunctionConcurrency") {
                aws.lambda
                    .delete_function_concurrency()
                    .function_name(&spec.name)
                    .send()
                    .await
                    .map_err(aws_err("lambda:DeleteFunctionConcurrency"))?;
            }
        }
    }
    Ok(())
}

/// Waits for a code update to finish before the configuration is touched
/// (Lambda refuses concurrent updates).
async fn wait_updated(aws: &Aws, ctx: &mut Ctx, name: &str) -> Result<(), DeployError> {
    use aws_sdk_lambda::types::LastUpdateStatus;
    for _ in 0..60 {
        ctx.read("lambda:GetFunctionConfiguration");
        let c = aws
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(aws_err("lambda:GetFunctionConfiguration"))?;
        match c.last_update_status() {
            Some(LastUpdateStatus::InProgress) => tokio::time::sleep(Duration::from_secs(1)).await,
            Some(LastUpdateStatus::Failed) => {
                return Err(DeployError::Other(format!(
                    "the update of function {name} failed: {}",
                    c.last_update_status_reason().unwrap_or("no reason given")
                )));
            }
            _ => return Ok(()),
        }
    }
    Err(DeployError::Other(format!(
        "the update of function {name} did not finish within 60 s: re-run deploy"
    )))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct ApiOutcome {
    id: String,
}

async fn ensure_api(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    m: &Manifest,
    function_arn: &str,
    authorizer_arns: &BTreeMap<String, String>,
) -> Result<ApiOutcome, DeployError> {
    let uri = package::invocation_uri(&aws.region, function_arn);
    let authorizer_uri = |t: &TriggerEntry| {
        let arn = authorizer_arns.get(&t.handler).map_or("", String::as_str);
        json!(package::invocation_uri(&aws.region, arn))
    };
    let doc = package::openapi(cfg, m, json!(uri), &authorizer_uri)?;
    let body = serde_json::to_vec(&doc).map_err(|e| DeployError::Other(e.to_string()))?;
    let hash = sha256_hex(&body);
    let marker = format!("{MARKER} {}", cfg.function);
    let deployment_marker = format!("lambada definition sha256={hash}");
    ctx.step(&format!(
        "api: {} ({} routes, stage {})",
        cfg.api_name,
        m.routes.len(),
        cfg.stage
    ));

    ctx.read("apigateway:GetRestApis");
    let mut existing = None;
    let mut position: Option<String> = None;
    loop {
        let out = aws
            .apigw
            .get_rest_apis()
            .limit(500)
            .set_position(position.clone())
            .send()
            .await
            .map_err(aws_err("apigateway:GetRestApis"))?;
        existing = existing.or_else(|| {
            out.items()
                .iter()
                .find(|a| {
                    a.name() == Some(cfg.api_name.as_str())
                        && a.description().is_some_and(|d| d.contains(&marker))
                })
                .and_then(|a| a.id().map(str::to_owned))
        });
        match out.position() {
            Some(p) if existing.is_none() && !out.items().is_empty() => {
                position = Some(p.to_owned());
                ctx.read("apigateway:GetRestApis");
            }
            _ => break,
        }
    }

    if let Some(id) = &existing {
        ctx.read("apigateway:GetStage");
        let deployment = match aws
            .apigw
            .get_stage()
            .rest_api_id(id)
            .stage_name(&cfg.stage)
            .send()
            .await
        {
            Ok(s) => s.deployment_id().map(str::to_owned),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) =>
            {
                None
            }
            Err(e) => return Err(aws_err("apigateway:GetStage")(e)),
        };
        if let Some(dep) = deployment {
            ctx.read("apigateway:GetDeployment");
            let d = aws
                .apigw
                .get_deployment()
                .rest_api_id(id)
                .deployment_id(&dep)
                .send()
                .await
                .map_err(aws_err("apigateway:GetDeployment"))?;
            if d.description() == Some(deployment_marker.as_str()) {
                return Ok(ApiOutcome { id: id.clone() });
            }
        }
    }

    let id = match existing {
        Some(id) => {
            ctx.change(
                format!("rest api {id}"),
                "update",
                format!("{} routes, one overwrite", m.routes.len()),
            );
            if ctx.write("apigateway:PutRestApi") {
                aws.apigw
                    .put_rest_api()
                    .rest_api_id(&id)
                    .mode(aws_sdk_apigateway::types::PutMode::Overwrite)
                    .fail_on_warnings(true)
                    .body(Blob::new(body.clone()))
                    .send()
                    .await
                    .map_err(aws_err("apigateway:PutRestApi"))?;
            }
            id
        }
        None => {
            ctx.change(
                format!("rest api {}", cfg.api_name),
                "create",
                format!("{} routes in one import", m.routes.len()),
            );
            if !ctx.write("apigateway:ImportRestApi") {
                return Ok(ApiOutcome { id: "(new)".into() });
            }
            let out = aws
                .apigw
                .import_rest_api()
                .fail_on_warnings(true)
                .body(Blob::new(body.clone()))
                .send()
                .await
                .map_err(aws_err("apigateway:ImportRestApi"))?;
            let id = out.id().unwrap_or_default().to_owned();
            // The permission needs the API id; added before the deployment,
            // which is the last write, so a re-run redoes it if interrupted.
            let account = function_arn.split(':').nth(4).unwrap_or("*");
            let source = format!(
                "arn:aws:execute-api:{}:{account}:{id}/{}/*/*",
                aws.region, cfg.stage
            );
            ctx.change(
                format!("permission lambada-{id}-{}", cfg.stage),
                "create",
                source.clone(),
            );
            if ctx.write("lambda:AddPermission") {
                match aws
                    .lambda
                    .add_permission()
                    .function_name(&cfg.function)
                    .statement_id(format!("lambada-{id}-{}", cfg.stage))
                    .action("lambda:InvokeFunction")
                    .principal("apigateway.amazonaws.com")
                    .source_arn(source)
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_resource_conflict_exception()) => {}
                    Err(e) => return Err(aws_err("lambda:AddPermission")(e)),
                }
            }
            id
        }
    };
    ctx.change(
        format!("stage {}", cfg.stage),
        "deploy",
        format!("definition sha256 {}", &hash[..12]),
    );
    if ctx.write("apigateway:CreateDeployment") {
        aws.apigw
            .create_deployment()
            .rest_api_id(&id)
            .stage_name(&cfg.stage)
            .description(deployment_marker)
            .send()
            .await
            .map_err(aws_err("apigateway:CreateDeployment"))?;
    }
    Ok(ApiOutcome { id })
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
    // Limits and trigger settings are checked before the first AWS call.
    m.check_triggers(&cfg.function)?;
    package::openapi(
        &cfg,
        &m,
        json!("arn:aws:apigateway:region:lambda:path/x"),
        &|_| json!("arn:aws:apigateway:region:lambda:path/x"),
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
    // The API function when there are HTTP routes, then one per trigger.
    let has_api = m.has_http();
    let mut specs = Vec::new();
    if has_api {
        specs.push(FunctionSpec::api(&cfg));
    }
    specs.extend(m.triggers.iter().map(|t| FunctionSpec::trigger(&cfg, t)));
    let mut existing = Vec::with_capacity(specs.len());
    for spec in &specs {
        let found = get_function(&aws, &mut ctx, &spec.name).await?;
        check_ours(&cfg, spec, found.as_ref())?;
        existing.push(found);
    }
    // The queues, streams and tables must exist: read before any write.
    let sources = triggers::resolve_sources(&aws, &mut ctx, &m.triggers).await?;
    let key = if existing
        .iter()
        .all(|e| code_current(e.as_ref(), &cfg, &artifact))
    {
        package::code_key(&cfg.function, &artifact.sha256_hex)
    } else {
        ensure_code(&aws, &mut ctx, &cfg, &artifact, &bucket).await?
    };
    let statements = triggers::role_statements(&m.triggers, &sources);
    let role = ensure_role(&aws, &mut ctx, &cfg, &statements).await?;
    let mut arns = Vec::with_capacity(specs.len());
    for (spec, found) in specs.iter().zip(existing) {
        let fresh = found.is_none();
        let arn = ensure_function(
            &aws, &mut ctx, &cfg, spec, found, &artifact, &bucket, &key, &role,
        )
        .await?;
        arns.push((arn, fresh));
    }
    let mut url = None;
    let mut api_id = None;
    if has_api {
        let function_arn = arns[0].0.clone();
        let authorizer_arns: BTreeMap<String, String> = m
            .triggers
            .iter()
            .zip(&arns[1..])
            .filter(|(t, _)| t.kind == manifest::TriggerKind::Authorizer)
            .map(|(t, (arn, _))| (t.handler.clone(), arn.clone()))
            .collect();
        let api = ensure_api(&aws, &mut ctx, &cfg, &m, &function_arn, &authorizer_arns).await?;
        api_id = Some(api.id.clone());
        let u = format!(
            "https://{}.execute-api.{}.amazonaws.com/{}/",
            api.id, aws.region, cfg.stage
        );
        ctx.report.function_arn = Some(function_arn);
        ctx.report.api_id = Some(api.id);
        ctx.report.url = Some(u.clone());
        url = Some(u);
    } else {
        // No HTTP routes (any more): no API function, no REST API.
        remove_api(&aws, &mut ctx, &cfg).await?;
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
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&ctx.report).unwrap_or_default()
        );
    } else {
        if let Some(url) = &url {
            println!("{url}");
            manifest::print_table(&m);
        }
        print_trigger_summary(&ctx.report.triggers, url.is_some());
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

/// Deletes the REST APIs (found by the marker in their description) and
/// the API function (when tagged for this app): `remove`, and `deploy` of
/// an app without HTTP routes.
async fn remove_api(aws: &Aws, ctx: &mut Ctx, cfg: &Config) -> Result<(), DeployError> {
    let marker = format!("{MARKER} {}", cfg.function);

    ctx.read("apigateway:GetRestApis");
    let apis = aws
        .apigw
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .map_err(aws_err("apigateway:GetRestApis"))?;
    for api in apis.items().iter().filter(|a| {
        a.description()
            .is_some_and(|d| d.ends_with(&format!("{marker})")))
    }) {
        let id = api.id().unwrap_or_default();
        ctx.change(
            format!("rest api {id}"),
            "delete",
            api.name().unwrap_or_default(),
        );
        if ctx.write("apigateway:DeleteRestApi") {
            aws.apigw
                .delete_rest_api()
                .rest_api_id(id)
                .send()
                .await
                .map_err(aws_err("apigateway:DeleteRestApi"))?;
        }
    }

    ctx.read("lambda:GetFunction");
    match aws
        .lambda
        .get_function()
        .function_name(&cfg.function)
        .send()
        .await
    {
        Ok(f) if f.tags().is_some_and(|t| t.get(TAG) == Some(&cfg.function)) => {
            ctx.change(
                format!("function {}", cfg.function),
                "delete",
                "with its permissions",
            );
            if ctx.write("lambda:DeleteFunction") {
                aws.lambda
                    .delete_function()
                    .function_name(&cfg.function)
                    .send()
                    .await
                    .map_err(aws_err("lambda:DeleteFunction"))?;
            }
        }
        Ok(_) => eprintln!(
            "  function {} is not tagged {TAG}: left alone",
            cfg.function
        ),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(aws_err("lambda:GetFunction")(e)),
    }
    Ok(())
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
/// `lambada:function` tag (functions, role, objects, topics, rules) and the
/// marker in the REST API's description (API Gateway imports cannot carry
/// tags). Trigger functions are unwired first: subscriptions, rules and
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
    remove_api(&aws, &mut ctx, &cfg).await?;

    if cfg.role.is_none() {
        let name = role_name(&cfg.function);
        ctx.read("iam:GetRole");
        match aws.iam.get_role().role_name(&name).send().await {
            Ok(r)
                if r.role().is_some_and(|r| {
                    r.tags()
                        .iter()
                        .any(|t| t.key() == TAG && t.value() == cfg.function)
                }) =>
            {
                ctx.read("iam:ListAttachedRolePolicies");
                let attached = aws
                    .iam
                    .list_attached_role_policies()
                    .role_name(&name)
                    .send()
                    .await
                    .map_err(aws_err("iam:ListAttachedRolePolicies"))?;
                ctx.read("iam:ListRolePolicies");
                let inline = aws
                    .iam
                    .list_role_policies()
                    .role_name(&name)
                    .send()
                    .await
                    .map_err(aws_err("iam:ListRolePolicies"))?;
                for p in inline.policy_names() {
                    if ctx.write("iam:DeleteRolePolicy") {
                        aws.iam
                            .delete_role_policy()
                            .role_name(&name)
                            .policy_name(p)
                            .send()
                            .await
                            .map_err(aws_err("iam:DeleteRolePolicy"))?;
                    }
                }
                for p in attached.attached_policies() {
                    if ctx.write("iam:DetachRolePolicy") {
                        aws.iam
                            .detach_role_policy()
                            .role_name(&name)
                            .policy_arn(p.policy_arn().unwrap_or_default())
                            .send()
                            .await
                            .map_err(aws_err("iam:DetachRolePolicy"))?;
                    }
                }
                ctx.change(format!("iam role {name}"), "delete", "");
                if ctx.write("iam:DeleteRole") {
                    aws.iam
                        .delete_role()
                        .role_name(&name)
                        .send()
                        .await
                        .map_err(aws_err("iam:DeleteRole"))?;
                }
            }
            Ok(_) => eprintln!("  role {name} is not tagged {TAG}: left alone"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) => {}
            Err(e) => return Err(aws_err("iam:GetRole")(e)),
        }
    }

    if let Some(bucket) = &cfg.bucket {
        let prefix = format!("lambada/{}/", cfg.function);
        ctx.read("s3:ListObjectsV2");
        match aws
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .send()
            .await
        {
            Ok(list) => {
                for obj in list.contents() {
                    let key = obj.key().unwrap_or_default();
                    ctx.read("s3:GetObjectTagging");
                    let tags = aws
                        .s3
                        .get_object_tagging()
                        .bucket(bucket)
                        .key(key)
                        .send()
                        .await
                        .map_err(aws_err("s3:GetObjectTagging"))?;
                    if !tags
                        .tag_set()
                        .iter()
                        .any(|t| t.key() == TAG && t.value() == cfg.function)
                    {
                        continue;
                    }
                    ctx.change(format!("s3://{bucket}/{key}"), "delete", "");
                    if ctx.write("s3:DeleteObject") {
                        aws.s3
                            .delete_object()
                            .bucket(bucket)
                            .key(key)
                            .send()
                            .await
                            .map_err(aws_err("s3:DeleteObject"))?;
                    }
                }
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => {}
            Err(e) => return Err(aws_err("s3:ListObjectsV2")(e)),
        }
    }
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
