//! The functions: the API function (`Handler` = `bootstrap`) and one per
//! trigger, all from the same zip; read first, then created or updated
//! field by field.

use std::collections::BTreeMap;
use std::time::Duration;

use super::role::arn_account;
use super::{Aws, Ctx, DeployError, MARKER, TAG, aws_err, triggers};
use crate::build::Artifact;
use crate::config::{Architecture, Config};
use crate::manifest::TriggerEntry;

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

pub(super) type GetFunction = aws_sdk_lambda::operation::get_function::GetFunctionOutput;

/// What one function of the app should be: the API function, or the
/// function of one trigger.
#[derive(Debug, Clone)]
pub(super) struct FunctionSpec {
    pub name: String,
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
    /// Tags beyond `lambada:function` and `lambada:trigger`: the API
    /// function records its front door and domain (see [`front_tags`]).
    pub tags: BTreeMap<String, String>,
}

impl FunctionSpec {
    pub(super) fn api(cfg: &Config, tags: BTreeMap<String, String>) -> FunctionSpec {
        FunctionSpec {
            name: cfg.function.clone(),
            handler: "bootstrap".into(),
            memory: cfg.memory,
            timeout: cfg.timeout,
            description: format!("{MARKER} {}", cfg.function),
            trigger: None,
            concurrency: None,
            tags,
        }
    }

    pub(super) fn trigger(cfg: &Config, t: &TriggerEntry) -> FunctionSpec {
        FunctionSpec {
            name: t.function_name(&cfg.function),
            handler: t.handler.clone(),
            memory: t.memory.unwrap_or(cfg.memory),
            timeout: t.timeout.unwrap_or(cfg.timeout),
            description: triggers::description(&cfg.function, &t.handler),
            trigger: Some(t.handler.clone()),
            concurrency: Some(t.concurrency),
            tags: BTreeMap::new(),
        }
    }
}

/// Reads a function (first, so an unchanged function needs no S3 read).
pub(super) async fn get(
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
pub(super) fn code_current(
    existing: Option<&GetFunction>,
    cfg: &Config,
    artifact: &Artifact,
) -> bool {
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
pub(super) fn check_ours(
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
pub(super) async fn ensure(
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
            for (k, v) in &spec.tags {
                req = req.tags(k, v);
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

/// The tags the API function carries about its front door: which kind
/// (`lambada:api`) and which custom domain (`lambada:domain`,
/// `name/base-path`). Deploy reads them with the function, so it knows
/// what an earlier deploy put in front of it without asking every service.
pub(super) fn front_tags(cfg: &Config, websocket: bool) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([(API_TAG.to_owned(), cfg.api.as_str().to_owned())]);
    if let Some(d) = &cfg.domain {
        tags.insert(DOMAIN_TAG.to_owned(), format!("{}/{}", d.name, d.base_path));
    }
    if websocket {
        tags.insert(WEBSOCKET_TAG.to_owned(), "yes".to_owned());
    }
    tags
}

/// `lambada:websocket`: the API function has a WebSocket API in front of
/// it (so a deploy of an app without WebSocket handlers reads for one
/// only when this says there is one to take down).
pub(super) const WEBSOCKET_TAG: &str = "lambada:websocket";

/// `lambada:api`: the front door an API function was deployed behind.
pub(super) const API_TAG: &str = "lambada:api";
/// `lambada:domain`: its custom domain, `name/base-path`.
pub(super) const DOMAIN_TAG: &str = "lambada:domain";

/// Sets the front-door tags of an existing API function to `wanted`
/// (after the front door converged: the tags say what is in place).
pub(super) async fn ensure_front_tags(
    aws: &Aws,
    ctx: &mut Ctx,
    arn: &str,
    now: &std::collections::HashMap<String, String>,
    wanted: &BTreeMap<String, String>,
) -> Result<(), DeployError> {
    let set: Vec<(&String, &String)> = wanted
        .iter()
        .filter(|(k, v)| now.get(*k) != Some(*v))
        .collect();
    let unset: Vec<String> = [API_TAG, DOMAIN_TAG, WEBSOCKET_TAG]
        .into_iter()
        .filter(|k| now.contains_key(*k) && !wanted.contains_key(*k))
        .map(str::to_owned)
        .collect();
    if !set.is_empty() {
        let detail = set
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ");
        ctx.change(format!("function {arn}"), "tag", detail);
        if ctx.write("lambda:TagResource") {
            aws.lambda
                .tag_resource()
                .resource(arn)
                .set_tags(Some(
                    set.into_iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ))
                .send()
                .await
                .map_err(aws_err("lambda:TagResource"))?;
        }
    }
    if !unset.is_empty() {
        ctx.change(format!("function {arn}"), "untag", unset.join(", "));
        if ctx.write("lambda:UntagResource") {
            aws.lambda
                .untag_resource()
                .resource(arn)
                .set_tag_keys(Some(unset))
                .send()
                .await
                .map_err(aws_err("lambda:UntagResource"))?;
        }
    }
    Ok(())
}

/// Deletes the API function when this app created it (tagged for it).
pub(super) async fn delete_api_function(
    aws: &Aws,
    ctx: &mut Ctx,
    cfg: &Config,
    existing: Option<&GetFunction>,
) -> Result<(), DeployError> {
    match existing {
        Some(f) if f.tags().is_some_and(|t| t.get(TAG) == Some(&cfg.function)) => {
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
        Some(_) => eprintln!(
            "  function {} is not tagged {TAG}: left alone",
            cfg.function
        ),
        None => {}
    }
    Ok(())
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
