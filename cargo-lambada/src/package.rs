//! `cargo lambada package`: the API as an OpenAPI 3.0 document with API
//! Gateway integrations, and a CloudFormation template for the whole stack.
//! `deploy` imports the same OpenAPI document, so what is packaged is what
//! is deployed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::build::{self, BuildError};
use crate::config::{self, ApiKind, Config, Settings};
use crate::manifest::{self, Manifest, ManifestError, RouteEntry, TriggerEntry, TriggerKind};

mod trigger;
mod websocket;

pub(crate) use trigger::{Template, logical_id};

/// API Gateway's limits, checked before any AWS call.
pub const MAX_RESOURCES: usize = 300;
/// Routes an HTTP API holds.
pub const MAX_HTTP_ROUTES: usize = 300;
/// Largest OpenAPI definition API Gateway imports.
pub const MAX_DEFINITION_BYTES: usize = 6 * 1024 * 1024;

/// The API Gateway an OpenAPI definition is written for: the extensions,
/// integrations and authorizers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// A REST API (v1): payload 1.0, gateway responses, `TOKEN`/`REQUEST`
    /// and Cognito authorizers.
    Rest,
    /// An HTTP API (v2): payload 2.0, native CORS, JWT and `REQUEST`
    /// authorizers with simple responses.
    Http,
}

impl Dialect {
    /// The dialect of a front door's definition (function URLs and no
    /// front door get the HTTP API's: the same payload format).
    pub fn of(kind: ApiKind) -> Dialect {
        match kind {
            ApiKind::Rest => Dialect::Rest,
            ApiKind::Http | ApiKind::Url | ApiKind::None => Dialect::Http,
        }
    }
}

/// CORS settings as API Gateway's HTTP APIs and Lambda's function URLs
/// take them natively: one set for the whole API, whole origins or `*`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NativeCors {
    pub origins: Vec<String>,
    pub methods: Vec<String>,
    pub headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u32>,
    pub credentials: bool,
}

/// The app's CORS settings in native form, when they can be said that way:
/// no per-route settings, no `https://*.example.com` origins, and no `*`
/// with credentials (the function echoes the origin there). Otherwise the
/// function answers preflights itself (`None`).
pub fn native_cors(c: &lambada::Cors, m: &Manifest) -> Option<NativeCors> {
    let any = c.origins.iter().any(|o| o == "*");
    let partial = c.origins.iter().any(|o| o != "*" && o.contains('*'));
    if c.origins.is_empty() || !c.routes.is_empty() || partial || (any && c.credentials) {
        return None;
    }
    let mut methods: Vec<String> = if c.methods.is_empty() {
        m.routes
            .iter()
            .filter(|r| r.kind == "http")
            .map(|r| r.method.to_ascii_uppercase())
            .collect()
    } else {
        c.methods.iter().map(|x| x.to_ascii_uppercase()).collect()
    };
    if methods.iter().any(|x| x == "GET") {
        methods.push("HEAD".into());
    }
    methods.sort();
    methods.dedup();
    Some(NativeCors {
        origins: if any {
            vec!["*".into()]
        } else {
            c.origins.clone()
        },
        methods,
        headers: c.headers.clone().unwrap_or_else(|| {
            lambada::cors::DEFAULT_ALLOW_HEADERS
                .map(str::to_owned)
                .to_vec()
        }),
        expose_headers: c.expose_headers.clone(),
        max_age: c.max_age,
        credentials: c.credentials,
    })
}

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
        "the API has {0} routes; API Gateway allows {MAX_HTTP_ROUTES} per HTTP API (`api = \"rest\"` allows {MAX_RESOURCES} resources, each with every method)"
    )]
    TooManyRoutes(usize),
    #[error(
        "the OpenAPI definition is {0} bytes; API Gateway imports at most {MAX_DEFINITION_BYTES}"
    )]
    DefinitionTooLarge(usize),
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}")]
    Unsupported(String),
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

/// The OpenAPI 3.0 document of the routes in `dialect`, each operation
/// integrated with the function through `AWS_PROXY`. `uri` is the API
/// function's integration URI (a string, or a CloudFormation `Fn::Sub`
/// object); `authorizer_uri` gives an `#[authorizer]`'s (its function's).
/// API Gateway's limits are checked here, before any AWS call.
pub fn openapi(
    cfg: &Config,
    m: &Manifest,
    dialect: Dialect,
    uri: Value,
    authorizer_uri: &dyn Fn(&TriggerEntry) -> Value,
) -> Result<Value, PackageError> {
    match dialect {
        Dialect::Rest => {
            let n = resources(&m.routes).len();
            if n > MAX_RESOURCES {
                return Err(PackageError::TooManyResources(n));
            }
        }
        Dialect::Http => {
            let n = m.routes.iter().filter(|r| r.kind == "http").count();
            if n > MAX_HTTP_ROUTES {
                return Err(PackageError::TooManyRoutes(n));
            }
        }
    }
    for r in m.routes.iter().filter(|r| r.kind == "http") {
        if let Err(errors) = lambada_path::parse(&r.apigw_path) {
            let why: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Err(PackageError::Unsupported(format!(
                "route `{} {}` ({}): API Gateway would refuse its path: {}",
                r.method,
                r.path,
                r.handler,
                why.join("; ")
            )));
        }
    }
    m.check_auth(&cfg.authorizers)?;
    let schemes = security_schemes(cfg, m, dialect, authorizer_uri)?;
    let mut paths: BTreeMap<&str, serde_json::Map<String, Value>> = BTreeMap::new();
    // The binary's own description of each operation (typed parameters,
    // bodies, responses), in OpenAPI 3.0: API Gateway imports no 3.1.
    let described = crate::openapi::document(cfg, m);
    let components = described
        .as_ref()
        .and_then(|d| d.get("components").cloned())
        .unwrap_or(Value::Null);
    for r in m.routes.iter().filter(|r| r.kind == "http") {
        let openapi_path = r.apigw_path.replace("+}", "}");
        let base = described
            .as_ref()
            .and_then(|d| d["paths"][&openapi_path].get(r.method.to_lowercase()))
            .map(|op| {
                let mut op = crate::openapi::operation_to_30(op, &components);
                if let Some(o) = op.as_object_mut() {
                    o.remove("security");
                }
                op
            })
            .unwrap_or_else(|| {
                let mut op = json!({
                    "operationId": format!("{}_{}", r.handler, r.method.to_lowercase()),
                    "responses": {
                        "default": {"description": format!("the response of `{}`", r.handler)}
                    },
                });
                if let Some(ct) = &r.request_content_type {
                    op["requestBody"] = json!({"content": {ct: {"schema": {}}}});
                }
                op
            });
        let mut op = operation(dialect, &r.apigw_path, &uri, r.streams, base);
        if dialect == Dialect::Http {
            without_response_schemas(&mut op);
        }
        if let Some(name) = &r.auth {
            op["security"] = json!([{ name: r.scopes }]);
        }
        paths
            .entry(&r.apigw_path)
            .or_default()
            .insert(r.method.to_lowercase(), op);
    }
    let cors = m.cors_with(cfg.cors.as_ref())?;
    let native = match dialect {
        Dialect::Http => cors.as_ref().and_then(|c| native_cors(c, m)),
        Dialect::Rest => None,
    };
    if let Some(c) = cors.as_ref().filter(|_| native.is_none()) {
        let mut ids = std::collections::BTreeSet::new();
        // Preflights go to the function, which answers them for every routed
        // path with CORS (`lambada::Cors`): one rule set for serve, tests
        // and AWS.
        for (path, ops) in paths.iter_mut() {
            let covered = m
                .routes
                .iter()
                .any(|r| r.kind == "http" && r.apigw_path == *path && c.covers(&r.handler));
            if ops.contains_key("options") || !covered {
                continue;
            }
            let op = operation(
                dialect,
                path,
                &uri,
                false,
                json!({
                    "operationId": preflight_id(path, &mut ids),
                    "summary": "CORS preflight, answered by the function",
                    "responses": {"204": {"description": "CORS preflight answer"}},
                }),
            );
            ops.insert("options".into(), op);
        }
    }
    let mut doc = json!({
        "openapi": "3.0.1",
        "info": {
            "title": cfg.api_name,
            "version": m.lambada,
            "description": format!("{} (managed by cargo-lambada for function {})", cfg.api_name, cfg.function),
        },
        "paths": paths,
    });
    match (dialect, cors.as_ref().and_then(gateway_cors), &native) {
        (Dialect::Rest, Some(c), _) => {
            doc["x-amazon-apigateway-gateway-responses"] = gateway_responses(&c);
        }
        (Dialect::Http, _, Some(n)) => {
            let mut c = json!({
                "allowOrigins": n.origins,
                "allowMethods": n.methods,
                "allowHeaders": n.headers,
                "allowCredentials": n.credentials,
            });
            if !n.expose_headers.is_empty() {
                c["exposeHeaders"] = json!(n.expose_headers);
            }
            if let Some(a) = n.max_age {
                c["maxAge"] = json!(a);
            }
            doc["x-amazon-apigateway-cors"] = c;
        }
        _ => {}
    }
    let schemas = described
        .as_ref()
        .map(crate::openapi::schemas_to_30)
        .unwrap_or_default();
    if !schemas.is_empty() {
        doc["components"]["schemas"] = Value::Object(schemas);
    }
    if !schemes.is_empty() {
        doc["components"]["securitySchemes"] = Value::Object(schemes);
    }
    let size = serde_json::to_vec(&doc).map(|v| v.len()).unwrap_or(0);
    if size > MAX_DEFINITION_BYTES {
        return Err(PackageError::DefinitionTooLarge(size));
    }
    Ok(doc)
}

/// The security schemes of the authorizers the routes use, as API Gateway
/// imports them into a REST API: `#[authorizer]` functions as `custom`
/// (Lambda) authorizers of type `token` or `request` with their identity
/// sources and result TTL; Cognito user pools as `cognito_user_pools`
/// authorizers reading the configured header. A JWT issuer has no REST API
/// form (API Gateway validates JWTs on HTTP APIs only): refused here,
/// before any AWS call.
///
/// On an HTTP API, `#[authorizer]` functions are `request` authorizers
/// (payload 2.0, simple responses), and Cognito user pools and JWT issuers
/// are `jwt` authorizers (issuer, audience), which need an audience.
fn security_schemes(
    cfg: &Config,
    m: &Manifest,
    dialect: Dialect,
    authorizer_uri: &dyn Fn(&TriggerEntry) -> Value,
) -> Result<serde_json::Map<String, Value>, PackageError> {
    use crate::auth::AuthorizerKind;
    let mut out = serde_json::Map::new();
    for name in m.routes.iter().filter_map(|r| r.auth.as_deref()) {
        if out.contains_key(name) {
            continue;
        }
        if dialect == Dialect::Http {
            out.insert(name.to_owned(), http_scheme(cfg, m, name, authorizer_uri)?);
            continue;
        }
        if let Some(t) = m.lambda_authorizer(name) {
            let spec = t.authorizer_spec();
            let (place, first) = spec.first();
            out.insert(
                name.to_owned(),
                json!({
                    "type": "apiKey",
                    "name": first,
                    "in": place,
                    "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {
                        "type": spec.kind,
                        "authorizerUri": authorizer_uri(t),
                        "authorizerResultTtlInSeconds": spec.ttl,
                        "identitySource": spec.rest_identity(),
                    },
                }),
            );
            continue;
        }
        let a = &cfg.authorizers[name];
        match a.kind {
            AuthorizerKind::Cognito => {
                out.insert(
                    name.to_owned(),
                    json!({
                        "type": "apiKey",
                        "name": a.identity,
                        "in": "header",
                        "x-amazon-apigateway-authtype": "cognito_user_pools",
                        "x-amazon-apigateway-authorizer": {
                            "type": "cognito_user_pools",
                            "providerARNs": a.user_pool_arns,
                        },
                    }),
                );
            }
            AuthorizerKind::Jwt => {
                return Err(PackageError::Unsupported(format!(
                    "the authorizer `{name}` is a JWT issuer, which API Gateway validates on HTTP APIs only: set `api = \"http\"`, or use a Cognito user pool (`type = \"cognito\"`) on a REST API; `cargo lambada serve` verifies JWTs locally either way"
                )));
            }
        }
    }
    Ok(out)
}

/// The security scheme of the authorizer `name` on an HTTP API.
fn http_scheme(
    cfg: &Config,
    m: &Manifest,
    name: &str,
    authorizer_uri: &dyn Fn(&TriggerEntry) -> Value,
) -> Result<Value, PackageError> {
    if let Some(t) = m.lambda_authorizer(name) {
        let spec = t.authorizer_spec();
        let (place, first) = spec.first();
        let sources: Vec<String> = spec
            .identity
            .iter()
            .map(|i| match i.split_once('.') {
                Some(("query", n)) => format!("$request.querystring.{n}"),
                Some((_, n)) => format!("$request.header.{n}"),
                None => format!("$request.header.{i}"),
            })
            .collect();
        return Ok(json!({
            "type": "apiKey",
            "name": first,
            "in": place,
            "x-amazon-apigateway-authorizer": {
                "type": "request",
                "identitySource": sources.join(", "),
                "authorizerUri": authorizer_uri(t),
                "authorizerPayloadFormatVersion": "2.0",
                "authorizerResultTtlInSeconds": spec.ttl,
                "enableSimpleResponses": true,
            },
        }));
    }
    let a = &cfg.authorizers[name];
    let issuer = a.issuer_url().ok_or_else(|| {
        PackageError::Unsupported(format!(
            "the authorizer `{name}` has no issuer: set `issuer` (or `user_pool_arns` for Cognito)"
        ))
    })?;
    if a.audience.is_empty() {
        return Err(PackageError::Unsupported(format!(
            "the authorizer `{name}` has no `audience`: an HTTP API's JWT authorizer needs the accepted audiences (for Cognito, the app client ids)"
        )));
    }
    Ok(json!({
        "type": "oauth2",
        "flows": {},
        "x-amazon-apigateway-authorizer": {
            "type": "jwt",
            "jwtConfiguration": {"issuer": issuer, "audience": a.audience},
            "identitySource": format!("$request.header.{}", a.identity),
        },
    }))
}

/// Drops the schemas of an operation's responses (their descriptions,
/// media types and headers stay). An HTTP API has no response models and
/// validates no response, and moto's import of an HTTP API fails on any
/// response schema that is not a model reference; the typed document is
/// `cargo lambada openapi`'s.
fn without_response_schemas(op: &mut Value) {
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for response in responses.values_mut() {
        if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
            for media in content.values_mut() {
                if let Some(m) = media.as_object_mut() {
                    m.remove("schema");
                }
            }
        }
    }
}

/// The streaming form of a Lambda invocation URI (a string, or a
/// CloudFormation `Fn::Sub` of one): `InvokeWithResponseStream`'s
/// `2021-11-15/…/response-streaming-invocations`.
pub fn streaming_uri(uri: &Value) -> Value {
    let stream = |s: &str| {
        s.replacen("/2015-03-31/functions/", "/2021-11-15/functions/", 1)
            .replace("/invocations", "/response-streaming-invocations")
    };
    match uri {
        Value::String(s) => Value::String(stream(s)),
        Value::Object(o) => match o.get("Fn::Sub").and_then(Value::as_str) {
            Some(s) => json!({ "Fn::Sub": stream(s) }),
            None => uri.clone(),
        },
        other => other.clone(),
    }
}

/// `fields` as an operation on `path` integrated with the function
/// (`AWS_PROXY` to `uri`, in the dialect's payload format), with the
/// path's parameters. A streaming route of a REST API gets the streaming
/// integration (`responseTransferMode: STREAM`); HTTP APIs cannot stream.
fn operation(dialect: Dialect, path: &str, uri: &Value, streams: bool, mut fields: Value) -> Value {
    fields["x-amazon-apigateway-integration"] = match dialect {
        Dialect::Rest if streams => json!({
            "type": "AWS_PROXY",
            "httpMethod": "POST",
            "uri": streaming_uri(uri),
            "passthroughBehavior": "when_no_match",
            "responseTransferMode": "STREAM",
        }),
        Dialect::Rest => json!({
            "type": "AWS_PROXY",
            "httpMethod": "POST",
            "uri": uri,
            "passthroughBehavior": "when_no_match",
        }),
        Dialect::Http => json!({
            "type": "AWS_PROXY",
            "httpMethod": "POST",
            "uri": uri,
            "payloadFormatVersion": "2.0",
            "connectionType": "INTERNET",
        }),
    };
    // The binary's description names the path's parameters already (typed);
    // a preflight or an older binary's route gets them as strings.
    let params: Vec<Value> = path_params(path)
        .into_iter()
        .map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() && fields.get("parameters").is_none() {
        fields["parameters"] = Value::Array(params);
    }
    fields
}

/// A unique operation id for the preflight of `path`, from its segments
/// (`/helloworld/{id}` → `preflight_helloworld_id`).
fn preflight_id(path: &str, seen: &mut std::collections::BTreeSet<String>) -> String {
    let words: Vec<String> = path
        .split('/')
        .map(|s| {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect::<String>()
                .trim_matches('_')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect();
    let base = if words.is_empty() {
        "preflight_root".to_owned()
    } else {
        format!("preflight_{}", words.join("_"))
    };
    let mut id = base.clone();
    let mut n = 2;
    while !seen.insert(id.clone()) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

/// The CORS settings of API Gateway's own answers (an authorizer's 401,
/// a throttled 429), which are the API's, not a route's: the table's
/// settings, or, when only routes have settings, all of theirs together.
pub fn gateway_cors(c: &lambada::Cors) -> Option<lambada::Cors> {
    use lambada::cors::RouteCors;
    if !c.origins.is_empty() {
        return Some(lambada::Cors {
            routes: Default::default(),
            ..c.clone()
        });
    }
    let own: Vec<&lambada::Cors> = c
        .routes
        .values()
        .filter_map(|r| match r {
            RouteCors::Own(c) => Some(&**c),
            RouteCors::Off => None,
        })
        .collect();
    let mut out = (*own.first()?).clone();
    for c in &own[1..] {
        out.origins.extend(c.origins.iter().cloned());
        out.expose_headers.extend(c.expose_headers.iter().cloned());
        out.credentials |= c.credentials;
    }
    out.origins.sort();
    out.origins.dedup();
    out.expose_headers.sort();
    out.expose_headers.dedup();
    Some(out)
}

/// API Gateway's own error responses (an authorizer's 401, a throttled
/// 429, a timed-out 504) with the CORS headers, so a browser can read them.
/// They cannot see the function's origin list: one exact origin, or `*`
/// without credentials, is sent as it is; otherwise the request's `Origin`
/// is echoed (these bodies carry only API Gateway's own message).
fn gateway_responses(c: &lambada::Cors) -> Value {
    let any = c.origins.iter().any(|o| o == "*");
    let origin = match c.origins.as_slice() {
        [one] if one != "*" && !one.contains('*') => format!("'{one}'"),
        _ if any && !c.credentials => "'*'".to_owned(),
        _ => "method.request.header.origin".to_owned(),
    };
    let mut params = serde_json::Map::new();
    params.insert(
        "gatewayresponse.header.Access-Control-Allow-Origin".into(),
        json!(origin),
    );
    if origin != "'*'" {
        params.insert("gatewayresponse.header.Vary".into(), json!("'Origin'"));
    }
    if c.credentials {
        params.insert(
            "gatewayresponse.header.Access-Control-Allow-Credentials".into(),
            json!("'true'"),
        );
    }
    if !c.expose_headers.is_empty() {
        params.insert(
            "gatewayresponse.header.Access-Control-Expose-Headers".into(),
            json!(format!("'{}'", c.expose_headers.join(","))),
        );
    }
    // DEFAULT_4XX and DEFAULT_5XX cover every type; UNAUTHORIZED and
    // ACCESS_DENIED (the authorizers' answers) are named so that they keep
    // the headers should either default be changed.
    let mut out = serde_json::Map::new();
    for kind in [
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "UNAUTHORIZED",
        "ACCESS_DENIED",
    ] {
        out.insert(kind.into(), json!({"responseParameters": params}));
    }
    Value::Object(out)
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

/// One function resource of the template: the API function or a trigger's.
struct FunctionResource<'a> {
    name: &'a str,
    handler: &'a str,
    memory: i32,
    timeout: i32,
    trigger: Option<&'a str>,
    concurrency: Option<i32>,
}

fn function_resource(cfg: &Config, role: &Value, f: &FunctionResource<'_>) -> Value {
    let mut tags = vec![json!({"Key": "lambada:function", "Value": cfg.function})];
    if let Some(h) = f.trigger {
        tags.push(json!({"Key": "lambada:trigger", "Value": h}));
    }
    let mut function = json!({
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": f.name,
            "Runtime": "provided.al2023",
            "Handler": f.handler,
            "Architectures": [cfg.architecture.lambda_name()],
            "MemorySize": f.memory,
            "Timeout": f.timeout,
            "Role": role,
            "Code": {"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}},
            "Tags": tags
        }
    });
    if !cfg.environment.is_empty() {
        function["Properties"]["Environment"] = json!({"Variables": cfg.environment});
    }
    if !cfg.subnets.is_empty() {
        function["Properties"]["VpcConfig"] =
            json!({"SubnetIds": cfg.subnets, "SecurityGroupIds": cfg.security_groups});
    }
    if let Some(c) = f.concurrency {
        function["Properties"]["ReservedConcurrentExecutions"] = json!(c);
    }
    function
}

/// Role, functions, REST API (the OpenAPI body), deployment, stage and one
/// invoke permission per route (when the app has HTTP routes), and for each
/// trigger its function and wiring (SNS topic, subscription and permission;
/// EventBridge rule and permission; event-source mapping), as a
/// CloudFormation template.
pub fn cloudformation(cfg: &Config, m: &Manifest, code_key: &str) -> Result<Value, PackageError> {
    m.check_triggers(&cfg.function)?;
    let ids = trigger_ids(m);
    let uri = json!({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function.Arn}/invocations"});
    let authorizer_uri = |t: &TriggerEntry| {
        let i = m
            .triggers
            .iter()
            .position(|x| x.handler == t.handler)
            .unwrap_or_default();
        json!({"Fn::Sub": format!("arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{}Function.Arn}}/invocations", ids[i])})
    };
    let body = openapi(cfg, m, Dialect::of(cfg.api), uri, &authorizer_uri)?;
    check_front_door(cfg, m)?;
    // WebSocket handlers are served by the API function too.
    let has_api = m.has_http() || m.has_websocket();
    let mut resources = serde_json::Map::new();
    let mut parameters = serde_json::Map::new();
    parameters.insert(
        "CodeBucket".into(),
        json!({"Type": "String", "Default": cfg.bucket.clone().unwrap_or_default(), "Description": "The bucket holding bootstrap.zip"}),
    );
    parameters.insert(
        "CodeKey".into(),
        json!({"Type": "String", "Default": code_key, "Description": "The key of bootstrap.zip"}),
    );
    let mut outputs = serde_json::Map::new();

    // The polled sources first: the role reads them.
    let sources: Vec<Option<Value>> = m
        .triggers
        .iter()
        .map(|t| crate::deploy::trigger_template_source(t, &mut parameters))
        .collect();
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
            let mut role = json!({
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
                    },
                    "ManagedPolicyArns": policies,
                    "Tags": [{"Key": "lambada:function", "Value": cfg.function}]
                }
            });
            let mut by_kind: BTreeMap<TriggerKind, Vec<Value>> = BTreeMap::new();
            for (t, s) in m.triggers.iter().zip(&sources) {
                if let Some(s) = s {
                    let list = by_kind.entry(t.kind).or_default();
                    if !list.contains(s) {
                        list.push(s.clone());
                    }
                }
            }
            if !by_kind.is_empty() || m.has_websocket() {
                let mut statements: Vec<Value> = by_kind
                    .into_iter()
                    .map(|(kind, arns)| json!({"Effect": "Allow", "Action": kind.read_actions(), "Resource": arns}))
                    .collect();
                if m.has_websocket() {
                    statements.push(websocket::role_statement());
                }
                role["Properties"]["Policies"] = json!([{
                    "PolicyName": "lambada-triggers",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}
                }]);
            }
            resources.insert("Role".into(), role);
            json!({"Fn::GetAtt": ["Role", "Arn"]})
        }
    };

    if has_api {
        let api_function = FunctionResource {
            name: &cfg.function,
            handler: "bootstrap",
            memory: cfg.memory,
            timeout: cfg.timeout,
            trigger: None,
            concurrency: None,
        };
        resources.insert(
            "Function".into(),
            function_resource(cfg, &role, &api_function),
        );
        if m.has_http() {
            front_door_resources(cfg, m, body, &mut resources, &mut outputs);
        }
        websocket::resources(cfg, m, &mut resources, &mut outputs);
        outputs.insert(
            "FunctionArn".into(),
            json!({"Value": {"Fn::GetAtt": ["Function", "Arn"]}}),
        );
    }

    for ((t, source), id) in m.triggers.iter().zip(sources).zip(&ids) {
        let name = t.function_name(&cfg.function);
        let function_id = format!("{id}Function");
        let function_arn = json!({"Fn::GetAtt": [function_id, "Arn"]});
        resources.insert(
            function_id.clone(),
            function_resource(
                cfg,
                &role,
                &FunctionResource {
                    name: &name,
                    handler: &t.handler,
                    memory: t.memory.unwrap_or(cfg.memory),
                    timeout: t.timeout.unwrap_or(cfg.timeout),
                    trigger: Some(&t.handler),
                    concurrency: t.concurrency,
                },
            ),
        );
        outputs.insert(
            format!("{function_id}Arn"),
            json!({"Description": format!("The function of trigger `{}` ({})", t.handler, t.kind), "Value": function_arn}),
        );
        crate::deploy::trigger_template(&mut Template {
            cfg,
            t,
            id,
            name: &name,
            source,
            has_authorizers: has_api && matches!(cfg.api, ApiKind::Rest | ApiKind::Http),
            resources: &mut resources,
            outputs: &mut outputs,
        });
    }
    Ok(json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("{}: generated by cargo-lambada from the route table", cfg.function),
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": outputs
    }))
}

/// The front door's resources (and the custom domain's), for the API
/// function `Function`: a REST API with its deployment, stage and one
/// permission per route; an HTTP API with its auto-deployed `$default`
/// stage and one permission; a function URL with its permissions; none.
fn front_door_resources(
    cfg: &Config,
    m: &Manifest,
    body: Value,
    resources: &mut serde_json::Map<String, Value>,
    outputs: &mut serde_json::Map<String, Value>,
) {
    let function_arn = json!({"Fn::GetAtt": ["Function", "Arn"]});
    let permission = |principal: &str, source: Option<Value>, action: &str| {
        let mut p = json!({
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": action,
                "FunctionName": function_arn,
                "Principal": principal,
            }
        });
        if let Some(s) = source {
            p["Properties"]["SourceArn"] = s;
        }
        p
    };
    let url = match cfg.api {
        ApiKind::Rest => {
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
                let mut p = permission(
                    "apigateway.amazonaws.com",
                    Some(json!({"Fn::Sub": arn})),
                    "lambda:InvokeFunction",
                );
                p["DependsOn"] = json!("Stage");
                resources.insert(format!("Permission{i}"), p);
            }
            Some(
                json!({"Fn::Sub": format!("https://${{Api}}.execute-api.${{AWS::Region}}.amazonaws.com/{}/", cfg.stage)}),
            )
        }
        ApiKind::Http => {
            resources.insert(
                "Api".into(),
                json!({
                    "Type": "AWS::ApiGatewayV2::Api",
                    "Properties": {"Name": cfg.api_name, "Body": body, "Tags": {"lambada:function": cfg.function}}
                }),
            );
            resources.insert(
                "Stage".into(),
                json!({
                    "Type": "AWS::ApiGatewayV2::Stage",
                    "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "$default", "AutoDeploy": true}
                }),
            );
            resources.insert(
                "Permission".into(),
                permission(
                    "apigateway.amazonaws.com",
                    Some(json!({"Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/*"})),
                    "lambda:InvokeFunction",
                ),
            );
            Some(json!({"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/"}))
        }
        ApiKind::Url => {
            let mut props =
                json!({"TargetFunctionArn": function_arn, "AuthType": cfg.url_auth.lambda_name()});
            let cors = m
                .cors_with(cfg.cors.as_ref())
                .ok()
                .flatten()
                .and_then(|c| native_cors(&c, m));
            if let Some(n) = cors {
                let mut c = json!({
                    "AllowOrigins": n.origins,
                    "AllowMethods": n.methods,
                    "AllowHeaders": n.headers,
                    "AllowCredentials": n.credentials,
                });
                if !n.expose_headers.is_empty() {
                    c["ExposeHeaders"] = json!(n.expose_headers);
                }
                if let Some(a) = n.max_age {
                    c["MaxAge"] = json!(a);
                }
                props["Cors"] = c;
            }
            if m.streams() {
                props["InvokeMode"] = json!("RESPONSE_STREAM");
            }
            resources.insert(
                "Url".into(),
                json!({"Type": "AWS::Lambda::Url", "Properties": props}),
            );
            if cfg.url_auth == crate::config::UrlAuth::None {
                let mut p = permission("*", None, "lambda:InvokeFunctionUrl");
                p["Properties"]["FunctionUrlAuthType"] = json!("NONE");
                resources.insert("UrlPermission".into(), p);
                let mut p = permission("*", None, "lambda:InvokeFunction");
                p["Properties"]["InvokedViaFunctionUrl"] = json!(true);
                resources.insert("UrlInvokePermission".into(), p);
            }
            Some(json!({"Fn::GetAtt": ["Url", "FunctionUrl"]}))
        }
        ApiKind::None => None,
    };
    let url = match (&cfg.domain, cfg.api) {
        (Some(d), ApiKind::Rest) => {
            resources.insert(
                "DomainName".into(),
                json!({
                    "Type": "AWS::ApiGateway::DomainName",
                    "Properties": {
                        "DomainName": d.name,
                        "RegionalCertificateArn": d.certificate_arn,
                        "EndpointConfiguration": {"Types": ["REGIONAL"]},
                        "SecurityPolicy": "TLS_1_2",
                        "Tags": [{"Key": "lambada:function", "Value": cfg.function}]
                    }
                }),
            );
            let mut mapping = json!({"DomainName": {"Ref": "DomainName"}, "RestApiId": {"Ref": "Api"}, "Stage": {"Ref": "Stage"}});
            if !d.base_path.is_empty() {
                mapping["BasePath"] = json!(d.base_path);
            }
            resources.insert(
                "BasePathMapping".into(),
                json!({"Type": "AWS::ApiGateway::BasePathMapping", "Properties": mapping}),
            );
            outputs.insert(
                "DomainTarget".into(),
                json!({"Description": "Point the domain's DNS record here", "Value": {"Fn::GetAtt": ["DomainName", "RegionalDomainName"]}}),
            );
            Some(json!(d.url()))
        }
        (Some(d), ApiKind::Http) => {
            resources.insert(
                "DomainName".into(),
                json!({
                    "Type": "AWS::ApiGatewayV2::DomainName",
                    "Properties": {
                        "DomainName": d.name,
                        "DomainNameConfigurations": [{"CertificateArn": d.certificate_arn, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}],
                        "Tags": {"lambada:function": cfg.function}
                    }
                }),
            );
            let mut mapping = json!({"DomainName": {"Ref": "DomainName"}, "ApiId": {"Ref": "Api"}, "Stage": {"Ref": "Stage"}});
            if !d.base_path.is_empty() {
                mapping["ApiMappingKey"] = json!(d.base_path);
            }
            resources.insert(
                "ApiMapping".into(),
                json!({"Type": "AWS::ApiGatewayV2::ApiMapping", "Properties": mapping}),
            );
            outputs.insert(
                "DomainTarget".into(),
                json!({"Description": "Point the domain's DNS record here", "Value": {"Fn::GetAtt": ["DomainName", "RegionalDomainName"]}}),
            );
            Some(json!(d.url()))
        }
        _ => url,
    };
    if let Some(u) = url {
        outputs.insert(
            "Url".into(),
            json!({"Description": "The invoke URL", "Value": u}),
        );
    }
}

/// What each front door cannot carry, refused before anything is written:
/// authorizers on a function URL (Lambda runs none there), a custom domain
/// without an API Gateway front door.
pub fn check_front_door(cfg: &Config, m: &Manifest) -> Result<(), PackageError> {
    if cfg.api == ApiKind::Url {
        let protected: Vec<String> = m
            .routes
            .iter()
            .filter(|r| r.kind == "http" && r.auth.is_some())
            .map(|r| format!("`{} {}` ({})", r.method, r.path, r.handler))
            .collect();
        if !protected.is_empty() {
            return Err(PackageError::Unsupported(format!(
                "a function URL runs no authorizer, so these routes could never be called: {}; use `api = \"http\"` or `\"rest\"`, or make them `auth = \"none\"`",
                protected.join(", ")
            )));
        }
    }
    if let (Some(d), ApiKind::Url | ApiKind::None) = (&cfg.domain, cfg.api) {
        return Err(PackageError::Unsupported(format!(
            "the custom domain `{}` needs an API Gateway front door (`api = \"rest\"` or `\"http\"`); with `api = \"{}\"` there is nothing to map it to",
            d.name, cfg.api
        )));
    }
    Ok(())
}

/// The logical id prefix of each trigger's resources (`TriggerOnSes`),
/// unique within the template.
fn trigger_ids(m: &Manifest) -> Vec<String> {
    let mut ids: Vec<String> = Vec::with_capacity(m.triggers.len());
    for t in &m.triggers {
        let mut id = logical_id("Trigger", &t.handler, "");
        while ids.contains(&id) || id == "Function" {
            id.push('X');
        }
        ids.push(id);
    }
    ids
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
    let authorizer_uri = |t: &TriggerEntry| {
        let arn = format!(
            "arn:aws:lambda:{region}:${{AWS::AccountId}}:function:{}",
            t.function_name(&cfg.function)
        );
        json!(invocation_uri(&region, &arn))
    };
    let doc = openapi(
        &cfg,
        &m,
        Dialect::of(cfg.api),
        json!(invocation_uri(&region, &function_arn)),
        &authorizer_uri,
    )?;
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
    manifest::print_all(&m, &cfg.function);
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
            auth: None,
            scopes: Vec::new(),
            streams: false,
        }
    }

    #[test]
    fn logical_ids_are_camel_case_alphanumerics() {
        assert_eq!(
            logical_id("Trigger", "on_ses", "Function"),
            "TriggerOnSesFunction"
        );
        assert_eq!(
            logical_id("Topic", "ses-notifications.v2", ""),
            "TopicSesNotificationsV2"
        );
        assert_eq!(logical_id("", "devices", "StreamArn"), "DevicesStreamArn");
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

    fn manifest(routes: Vec<RouteEntry>) -> Manifest {
        Manifest {
            lambada: "0.1.0".into(),
            routes,
            triggers: Vec::new(),
            cors: None,
            openapi: None,
            websocket: None,
        }
    }

    fn doc(m: &Manifest, dialect: Dialect) -> Result<Value, PackageError> {
        let cfg = crate::config::tests::config("app");
        openapi(&cfg, m, dialect, json!("uri"), &|_| json!("uri"))
    }

    #[test]
    fn streaming_routes_of_a_rest_api_get_streaming_integrations() {
        let mut export = route("GET", "/export");
        export.streams = true;
        let m = manifest(vec![route("GET", "/plain"), export]);
        let cfg = crate::config::tests::config("app");
        let uri = json!(invocation_uri(
            "eu-west-1",
            "arn:aws:lambda:eu-west-1:1:function:app"
        ));
        let doc = openapi(&cfg, &m, Dialect::Rest, uri.clone(), &|_| json!("uri")).unwrap();
        let integration =
            |p: &str| doc["paths"][p]["get"]["x-amazon-apigateway-integration"].clone();
        assert_eq!(integration("/export")["responseTransferMode"], "STREAM");
        assert_eq!(
            integration("/export")["uri"],
            "arn:aws:apigateway:eu-west-1:lambda:path/2021-11-15/functions/arn:aws:lambda:eu-west-1:1:function:app/response-streaming-invocations"
        );
        assert!(integration("/plain").get("responseTransferMode").is_none());
        assert_eq!(integration("/plain")["uri"], uri);
        // HTTP APIs cannot stream: one kind of integration.
        let doc = openapi(&cfg, &m, Dialect::Http, uri.clone(), &|_| json!("uri")).unwrap();
        assert_eq!(
            doc["paths"]["/export"]["get"]["x-amazon-apigateway-integration"]["uri"],
            uri
        );
        // The template's form of the URI.
        assert_eq!(
            streaming_uri(
                &json!({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Function.Arn}/invocations"})
            ),
            json!({"Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2021-11-15/functions/${Function.Arn}/response-streaming-invocations"})
        );
    }

    #[test]
    fn definitions_over_six_megabytes_are_refused() {
        // 300 routes whose handler names (in each operation id and
        // description) are 11 kB: a definition API Gateway would refuse.
        let routes = (0..300)
            .map(|i| {
                let mut r = route("GET", &format!("/r{i}"));
                r.handler = format!("h{i}_{}", "x".repeat(11_000));
                r
            })
            .collect();
        let m = manifest(routes);
        for dialect in [Dialect::Rest, Dialect::Http] {
            match doc(&m, dialect) {
                Err(PackageError::DefinitionTooLarge(n)) => assert!(n > MAX_DEFINITION_BYTES),
                other => panic!("{dialect:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn paths_api_gateway_would_refuse_are_refused() {
        for bad in ["/a/{b c}", "/a//b", "/a/{rest+}/b"] {
            let m = manifest(vec![route("GET", bad)]);
            let e = doc(&m, Dialect::Rest).unwrap_err().to_string();
            assert!(
                e.contains("API Gateway would refuse its path"),
                "{bad}: {e}"
            );
        }
        assert!(doc(&manifest(vec![route("GET", "/a/{rest+}")]), Dialect::Http).is_ok());
    }
}
