//! `cargo lambada package`: the API as an OpenAPI 3.0 document with API
//! Gateway integrations, and a CloudFormation template for the whole stack.
//! `deploy` imports the same OpenAPI document, so what is packaged is what
//! is deployed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::build::{self, BuildError};
use crate::config::{self, Config, Settings};
use crate::manifest::{self, Manifest, ManifestError, RouteEntry};

/// API Gateway's limits, checked before any AWS call.
pub const MAX_RESOURCES: usize = 300;
/// Largest OpenAPI definition `put-rest-api` accepts.
pub const MAX_DEFINITION_BYTES: usize = 6 * 1024 * 1024;

/// Errors while packaging.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("the API needs {0} resources; API Gateway allows {MAX_RESOURCES} per REST API")]
    TooManyResources(usize),
    #[error(
        "the OpenAPI definition is {0} bytes; API Gateway imports at most {MAX_DEFINITION_BYTES}"
    )]
    DefinitionTooLarge(usize),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// The Lambda invocation URI API Gateway calls for a function ARN.
pub fn invocation_uri(region: &str, function_arn: &str) -> String {
    format!(
        "arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )
}

/// Path parameter names of an API Gateway resource path (`{id}`, `{rest+}` → `rest`).
fn path_params(apigw_path: &str) -> Vec<&str> {
    apigw_path
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(|s| s.trim_end_matches('+'))
        .collect()
}

/// Every resource the API needs (each path prefix), root excluded.
pub fn resources(routes: &[RouteEntry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in routes.iter().filter(|r| r.kind == "http") {
        let mut prefix = String::new();
        for seg in r.apigw_path.split('/').filter(|s| !s.is_empty()) {
            prefix.push('/');
            prefix.push_str(seg);
            if !out.contains(&prefix) {
                out.push(prefix.clone());
            }
        }
    }
    out
}

/// The OpenAPI 3.0 document of the routes, each operation integrated with
/// the function through `AWS_PROXY`. `uri` is the integration URI (a string,
/// or a CloudFormation `Fn::Sub` object).
pub fn openapi(cfg: &Config, m: &Manifest, uri: Value) -> Result<Value, PackageError> {
    let n = resources(&m.routes).len();
    if n > MAX_RESOURCES {
        return Err(PackageError::TooManyResources(n));
    }
    let mut paths: BTreeMap<&str, serde_json::Map<String, Value>> = BTreeMap::new();
    for r in m.routes.iter().filter(|r| r.kind == "http") {
        let params: Vec<Value> = path_params(&r.apigw_path)
            .into_iter()
            .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "operationId": format!("{}_{}", r.handler, r.method.to_lowercase()),
            "responses": {
                "default": {"description": format!("the response of `{}`", r.handler)}
            },
            "x-amazon-apigateway-integration": {
                "type": "AWS_PROXY",
                "httpMethod": "POST",
                "uri": uri,
                "passthroughBehavior": "when_no_match",
            },
        });
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if let Some(ct) = &r.request_content_type {
            op["requestBody"] = json!({"content": {ct: {"schema": {}}}});
        }
        paths
            .entry(&r.apigw_path)
            .or_default()
            .insert(r.method.to_lowercase(), op);
    }
    let doc = json!({
        "openapi": "3.0.1",
        "info": {
            "title": cfg.api_name,
            "version": m.lambada,
            "description": format!("{} (managed by cargo-lambada for function {})", cfg.api_name, cfg.function),
        },
        "paths": paths,
    });
    let size = serde_json::to_vec(&doc).map(|v| v.len()).unwrap_or(0);
    if size > MAX_DEFINITION_BYTES {
        return Err(PackageError::DefinitionTooLarge(size));
    }
    Ok(doc)
}

/// The `execute-api` source ARN pattern of one route (`*` for variables).
pub fn route_source_arn(
    region: &str,
    account: &str,
    api: &str,
    stage: &str,
    r: &RouteEntry,
) -> String {
    let path: Vec<&str> = r
        .apigw_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if s.starts_with('{') { "*" } else { s })
        .collect();
    format!(
        "arn:aws:execute-api:{region}:{account}:{api}/{stage}/{}/{}",
        r.method,
        path.join("/")
    )
}

/// Role, function, REST API (the OpenAPI body), deployment, stage and one
/// invoke permission per route, as a CloudFormation template.
pub fn cloudformation(cfg: &Config, m: &Manifest, code_key: &str) -> Result<Value, PackageError> {
    let uri = json!({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function.Arn}/invocations"});
    let body = openapi(cfg, m, uri)?;
    let mut resources = serde_json::Map::new();
    let role = match &cfg.role {
        Some(arn) => json!(arn),
        None => {
            let mut policies = vec![json!(
                "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
            )];
            if !cfg.subnets.is_empty() {
                policies.push(json!(
                    "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
                ));
            }
            policies.extend(cfg.policies.iter().map(|p| json!(p)));
            resources.insert(
                "Role".into(),
                json!({
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                        },
                        "ManagedPolicyArns": policies,
                        "Tags": [{"Key": "lambada:function", "Value": cfg.function}]
                    }
                }),
            );
            json!({"Fn::GetAtt": ["Role", "Arn"]})
        }
    };
    let mut function = json!({
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": cfg.function,
            "Runtime": "provided.al2023",
            "Handler": "bootstrap",
            "Architectures": [cfg.architecture.lambda_name()],
            "MemorySize": cfg.memory,
            "Timeout": cfg.timeout,
            "Role": role,
            "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}},
            "Tags": [{"Key": "lambada:function", "Value": cfg.function}]
        }
    });
    if !cfg.environment.is_empty() {
        function["Properties"]["Environment"] = json!({"Variables": cfg.environment});
    }
    if !cfg.subnets.is_empty() {
        function["Properties"]["VpcConfig"] =
            json!({"SubnetIds": cfg.subnets, "SecurityGroupIds": cfg.security_groups});
    }
    resources.insert("Function".into(), function);
    resources.insert(
        "Api".into(),
        json!({"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": cfg.api_name, "Body": body}}),
    );
    resources.insert(
        "Deployment".into(),
        json!({"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": {"Ref": "Api"}}}),
    );
    resources.insert(
        "Stage".into(),
        json!({
            "Type": "AWS::ApiGateway::Stage",
            "Properties": {"RestApiId": {"Ref": "Api"}, "DeploymentId": {"Ref": "Deployment"}, "StageName": cfg.stage}
        }),
    );
    for (i, r) in m.routes.iter().filter(|r| r.kind == "http").enumerate() {
        let arn = route_source_arn(
            "${AWS::Region}",
            "${AWS::AccountId}",
            "${Api}",
            &cfg.stage,
            r,
        );
        resources.insert(
            format!("Permission{i}"),
            json!({
                "Type": "AWS::Lambda::Permission",
                "DependsOn": "Stage",
                "Properties": {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Fn::GetAtt": ["Function", "Arn"]},
                    "Principal": "apigateway.amazonaws.com",
                    "SourceArn": {"Fn::Sub": arn}
                }
            }),
        );
    }
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("{}: generated by cargo-lambada from the route table", cfg.function),
        "Parameters": {
            "CodeBucket": {"Type": "String", "Default": cfg.bucket.clone().unwrap_or_default(), "Description": "The bucket holding bootstrap.zip"},
            "CodeKey": {"Type": "String", "Default": code_key, "Description": "The key of bootstrap.zip"}
        },
        "Resources": resources,
        "Outputs": {
            "Url": {
                "Description": "The invoke URL",
                "Value": {"Fn::Sub": format!("https://${{Api}}.execute-api.${{AWS::Region}}.amazonaws.com/{}/", cfg.stage)}
            },
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Function", "Arn"]}}
        }
    }))
}

/// The S3 key of a zip: content-addressed, so an unchanged build is never
/// uploaded twice.
pub fn code_key(function: &str, sha256_hex: &str) -> String {
    format!("lambada/{function}/{sha256_hex}.zip")
}

/// Arguments of `package`.
#[derive(clap::Args, Debug)]
pub struct PackageArgs {
    #[command(flatten)]
    pub settings: Settings,
    /// Where to write openapi.json, template.json and bootstrap.zip
    /// (default: target/lambada/<function>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Build with the dev profile.
    #[arg(long)]
    pub debug: bool,
}

/// `cargo lambada package`.
pub async fn run(args: PackageArgs) -> Result<(), PackageError> {
    let cfg = config::load(&args.settings)?;
    let artifact = build::build(&cfg, !args.debug, true).await?;
    let m = manifest::read(&artifact.binary).await?;
    let region = cfg
        .region
        .clone()
        .unwrap_or_else(|| "${AWS::Region}".into());
    let function_arn = format!(
        "arn:aws:lambda:{region}:${{AWS::AccountId}}:function:{}",
        cfg.function
    );
    let doc = openapi(&cfg, &m, json!(invocation_uri(&region, &function_arn)))?;
    let key = code_key(&cfg.function, &artifact.sha256_hex);
    let template = cloudformation(&cfg, &m, &key)?;
    let out = args.out.unwrap_or_else(|| cfg.artifact_dir());
    std::fs::create_dir_all(&out).map_err(|e| PackageError::Io(out.clone(), e))?;
    for (name, value) in [("openapi.json", &doc), ("template.json", &template)] {
        let path = out.join(name);
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        std::fs::write(&path, text).map_err(|e| PackageError::Io(path.clone(), e))?;
        eprintln!("wrote {}", path.display());
    }
    if out != cfg.artifact_dir() {
        let path = out.join("bootstrap.zip");
        std::fs::copy(&artifact.zip, &path).map_err(|e| PackageError::Io(path.clone(), e))?;
        eprintln!("wrote {}", path.display());
    }
    manifest::print_table(&m);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> RouteEntry {
        RouteEntry {
            kind: "http".into(),
            method: method.into(),
            path: path.into(),
            apigw_path: path.into(),
            handler: "h".into(),
            request_content_type: None,
            response_content_type: None,
        }
    }

    #[test]
    fn resources_are_every_prefix() {
        let rs = resources(&[
            route("GET", "/a/{id}"),
            route("POST", "/a/{id}/b"),
            route("GET", "/"),
        ]);
        assert_eq!(rs, ["/a", "/a/{id}", "/a/{id}/b"]);
    }

    #[test]
    fn source_arns_are_scoped_per_route() {
        let arn = route_source_arn(
            "eu-west-1",
            "123456789012",
            "abc",
            "prod",
            &route("GET", "/files/{rest+}"),
        );
        assert_eq!(
            arn,
            "arn:aws:execute-api:eu-west-1:123456789012:abc/prod/GET/files/*"
        );
        assert_eq!(path_params("/u/{id}/f/{rest+}"), ["id", "rest"]);
    }
}
