//! Every front door against moto: a REST API, an HTTP API, a function URL
//! and none, each deployed from scratch, redeployed with no write, switched
//! to another (the old one taken down, the function kept) and removed;
//! custom domains on REST and HTTP APIs; two stages of one app side by
//! side; and the limits checked before any call. What deploy made is read
//! back through the AWS SDK, and the calls are counted from moto's own
//! request recording.

use std::path::{Path, PathBuf};

use lambada_test_support::{Moto, workspace};
use serde_json::Value;

/// The cargo-lambada binary under test.
const CLI: &str = env!("CARGO_BIN_EXE_cargo-lambada");

/// A three-route app outside the workspace (its own `[workspace]`, the
/// workspace's lock file), with `meta` as its `[package.metadata.lambada]`.
///
/// No tail (`<rest..>`) route: moto 5.2 validates REST API imports with
/// openapi-spec-validator, which wants the parameter of `{rest+}` named
/// `rest+`, where API Gateway's own definitions name it `rest`, as
/// Lambada's do.
fn app(dir: &Path, name: &str, meta: &str, extra_routes: usize) -> PathBuf {
    let runtime = workspace().join("lambada-runtime");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[package.metadata.lambada]\n{meta}\n\n[dependencies]\nlambada = {{ package = \"lambada-runtime\", path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mut src = String::from(
        "use lambada::prelude::*;\n\n\
         #[get(\"/hello/<name>\")]\nasync fn hello(name: &str) -> String {\n    format!(\"Hello, {name}\")\n}\n\n\
         #[post(\"/items\")]\nasync fn create(body: String) -> (StatusCode, String) {\n    (StatusCode::CREATED, body)\n}\n\n\
         #[get(\"/files/<name>\")]\nasync fn files(name: &str) -> String {\n    name.to_owned()\n}\n\n",
    );
    let mut names = vec!["hello".to_owned(), "create".into(), "files".into()];
    for i in 0..extra_routes {
        src.push_str(&format!(
            "#[get(\"/r{i}/<x>\")]\nasync fn g{i}(x: &str) -> String {{ x.to_owned() }}\n\
             #[post(\"/r{i}/<x>\")]\nasync fn p{i}(x: &str) -> String {{ x.to_owned() }}\n\n"
        ));
        names.push(format!("g{i}"));
        names.push(format!("p{i}"));
    }
    src.push_str(&format!(
        "#[lambada::main]\nasync fn main() -> Result<(), lambada::Error> {{\n    lambada::run(routes![{}]).await\n}}\n",
        names.join(", ")
    ));
    std::fs::write(dir.join("src/main.rs"), src).unwrap();
    dir.join("Cargo.toml")
}

/// `cargo-lambada lambada <args>` against moto: (success, stdout, stderr).
fn cli(moto: &Moto, args: &[&str]) -> (bool, String, String) {
    let run = moto.lambada_with(CLI, args, &[]);
    (run.status.success(), run.stdout, run.stderr)
}

/// `deploy --debug --json <args>`: the report, and the calls moto saw
/// (operation, is a write).
fn deploy(moto: &Moto, args: &[&str]) -> (Value, Vec<(String, bool)>) {
    moto.start_recording();
    let report = moto.deploy_json_with(CLI, args, &[]);
    let calls = moto.recorded();
    assert_eq!(
        calls.len(),
        report["calls"].as_array().unwrap().len(),
        "our report counts what moto saw: {calls:#?}"
    );
    (report, calls)
}

fn writes(calls: &[(String, bool)]) -> usize {
    calls.iter().filter(|c| c.1).count()
}

const META: &str = r#"bucket = "doors-code"
[package.metadata.lambada.cors]
origins = ["https://app.example.com"]
expose_headers = ["etag"]
max_age = 600
"#;

async fn policy(lambda: &aws_sdk_lambda::Client, function: &str) -> Vec<Value> {
    match lambda.get_policy().function_name(function).send().await {
        Ok(p) => serde_json::from_str::<Value>(p.policy().unwrap()).unwrap()["Statement"]
            .as_array()
            .unwrap()
            .clone(),
        Err(_) => Vec::new(),
    }
}

async fn rest_apis(apigw: &aws_sdk_apigateway::Client) -> Vec<String> {
    apigw
        .get_rest_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter_map(|a| a.id().map(str::to_owned))
        .collect()
}

async fn http_apis(apigw2: &aws_sdk_apigatewayv2::Client) -> Vec<String> {
    apigw2
        .get_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter_map(|a| a.api_id().map(str::to_owned))
        .collect()
}

/// One app through every front door: rest → http → url (public, then
/// IAM) → none → http, each read back and redeployed with no write; then
/// remove, and each kind from scratch with its call count.
#[tokio::test(flavor = "multi_thread")]
async fn every_front_door_deploys_converges_switches_and_removes() {
    let moto = Moto::start_with_recording();
    let dir = tempfile::tempdir().unwrap();
    let manifest = app(dir.path(), "doors", META, 0);
    let manifest = manifest.to_str().unwrap();
    let conf = moto.sdk_config();
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let apigw2 = aws_sdk_apigatewayv2::Client::new(&conf);
    let run = |api: &str| -> (Value, Vec<(String, bool)>) {
        deploy(&moto, &["--manifest-path", manifest, "--api", api])
    };
    let mut figures = Vec::new();

    // REST, from scratch.
    let (rest, calls) = run("rest");
    figures.push(format!(
        "rest from scratch: {} calls, {} writes",
        calls.len(),
        writes(&calls)
    ));
    assert_eq!(calls.len(), 11, "{calls:#?}");
    let rest_id = rest["api_id"].as_str().unwrap().to_owned();
    assert_eq!(rest_apis(&apigw).await, [rest_id.as_str()]);
    let function_arn = rest["function_arn"].as_str().unwrap().to_owned();
    let tags = lambda
        .list_tags()
        .resource(&function_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().unwrap()["lambada:api"], "rest");
    let (again, calls) = run("rest");
    figures.push(format!("rest no-op: {} reads", calls.len()));
    assert_eq!((writes(&calls), calls.len()), (0, 5), "{calls:#?}");
    assert_eq!(again["up_to_date"], true);

    // REST → HTTP: the REST API goes, the HTTP API comes, the function stays.
    let (http, calls) = run("http");
    figures.push(format!(
        "rest → http: {} calls, {} writes",
        calls.len(),
        writes(&calls)
    ));
    assert!(rest_apis(&apigw).await.is_empty());
    let http_id = http["api_id"].as_str().unwrap().to_owned();
    assert_eq!(http_apis(&apigw2).await, [http_id.as_str()]);
    assert_eq!(
        http["function_arn"], rest["function_arn"],
        "the same function"
    );
    assert_eq!(
        http["url"],
        format!("https://{http_id}.execute-api.us-east-1.amazonaws.com/")
    );
    let api = apigw2.get_api().api_id(&http_id).send().await.unwrap();
    assert_eq!(api.protocol_type().unwrap().as_str(), "HTTP");
    assert_eq!(api.tags().unwrap()["lambada:function"], "doors");
    // Native CORS: the table's settings, said the HTTP API's way.
    let cors = api.cors_configuration().expect("native CORS");
    assert_eq!(cors.allow_origins(), ["https://app.example.com"]);
    assert_eq!(cors.expose_headers(), ["etag"]);
    assert_eq!(cors.max_age(), Some(600));
    let routes = apigw2.get_routes().api_id(&http_id).send().await.unwrap();
    let mut keys: Vec<&str> = routes
        .items()
        .iter()
        .filter_map(|r| r.route_key())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["GET /files/{name}", "GET /hello/{name}", "POST /items"]
    );
    let integrations = apigw2
        .get_integrations()
        .api_id(&http_id)
        .send()
        .await
        .unwrap();
    for i in integrations.items() {
        assert_eq!(i.integration_type().unwrap().as_str(), "AWS_PROXY");
        assert_eq!(i.payload_format_version(), Some("2.0"));
        assert!(
            i.integration_uri().unwrap().contains(&function_arn),
            "{:?}",
            i.integration_uri()
        );
    }
    let stage = apigw2
        .get_stage()
        .api_id(&http_id)
        .stage_name("$default")
        .send()
        .await
        .unwrap();
    assert_eq!(stage.auto_deploy(), Some(true));
    let statements = policy(&lambda, "doors").await;
    let sources: Vec<&str> = statements
        .iter()
        .filter_map(|s| s["Condition"]["ArnLike"]["AWS:SourceArn"].as_str())
        .collect();
    assert!(
        sources.contains(
            &format!("arn:aws:execute-api:us-east-1:123456789012:{http_id}/*/*").as_str()
        ),
        "{statements:#?}"
    );
    let (_, calls) = run("http");
    figures.push(format!("http no-op: {} reads", calls.len()));
    assert_eq!((writes(&calls), calls.len()), (0, 5), "{calls:#?}");

    // HTTP → function URL: public, with the two permissions a public URL
    // needs since October 2025, and native CORS.
    let (url, calls) = run("url");
    figures.push(format!(
        "http → url: {} calls, {} writes",
        calls.len(),
        writes(&calls)
    ));
    assert!(http_apis(&apigw2).await.is_empty());
    let config = lambda
        .get_function_url_config()
        .function_name("doors")
        .send()
        .await
        .unwrap();
    assert_eq!(url["url"], config.function_url());
    assert_eq!(config.auth_type().as_str(), "NONE");
    assert_eq!(
        config.cors().unwrap().allow_origins(),
        ["https://app.example.com"]
    );
    let statements = policy(&lambda, "doors").await;
    let by_sid = |sid: &str| statements.iter().find(|s| s["Sid"] == sid).cloned();
    let public = by_sid("lambada-url").expect("the InvokeFunctionUrl statement");
    assert_eq!(public["Action"], "lambda:InvokeFunctionUrl");
    assert_eq!(public["Principal"], "*");
    // AWS turns these fields of AddPermission into conditions; moto 5.2
    // keeps them as sent, which is what is checked.
    assert_eq!(public["FunctionUrlAuthType"], "NONE", "{public}");
    let invoke = by_sid("lambada-url-invoke").expect("the InvokeFunction statement");
    assert_eq!(invoke["Action"], "lambda:InvokeFunction");
    assert_eq!(invoke["Principal"], "*");
    assert_eq!(invoke["InvokedViaFunctionUrl"], true, "{invoke}");
    let (_, calls) = run("url");
    figures.push(format!("url no-op: {} reads", calls.len()));
    assert_eq!((writes(&calls), calls.len()), (0, 4), "{calls:#?}");

    // Public → IAM: the public statements go.
    let (_, calls) = deploy(
        &moto,
        &[
            "--manifest-path",
            manifest,
            "--api",
            "url",
            "--url-auth",
            "aws_iam",
        ],
    );
    assert_eq!(writes(&calls), 3, "an update and two removals: {calls:#?}");
    let config = lambda
        .get_function_url_config()
        .function_name("doors")
        .send()
        .await
        .unwrap();
    assert_eq!(config.auth_type().as_str(), "AWS_IAM");
    assert!(
        policy(&lambda, "doors")
            .await
            .iter()
            .all(|s| !s["Sid"].as_str().unwrap_or("").starts_with("lambada-url")),
    );

    // URL → none: the function alone.
    let (none, calls) = run("none");
    figures.push(format!(
        "url → none: {} calls, {} writes",
        calls.len(),
        writes(&calls)
    ));
    assert!(none["url"].is_null());
    assert!(
        lambda
            .get_function_url_config()
            .function_name("doors")
            .send()
            .await
            .is_err()
    );
    lambda
        .get_function()
        .function_name("doors")
        .send()
        .await
        .unwrap();
    let (_, calls) = run("none");
    assert_eq!((writes(&calls), calls.len()), (0, 3), "{calls:#?}");

    // Remove, from behind an HTTP API: nothing of the app is left.
    run("http");
    let (ok, _, stderr) = cli(&moto, &["remove", "--manifest-path", manifest]);
    assert!(ok, "{stderr}");
    assert!(http_apis(&apigw2).await.is_empty());
    assert!(
        lambda
            .get_function()
            .function_name("doors")
            .send()
            .await
            .is_err()
    );

    // Each kind from scratch, then removed.
    for (api, expected) in [("http", 12), ("url", 11), ("none", 8)] {
        let (_, calls) = run(api);
        figures.push(format!(
            "{api} from scratch: {} calls, {} writes",
            calls.len(),
            writes(&calls)
        ));
        assert_eq!(calls.len(), expected, "{api}: {calls:#?}");
        let (ok, _, stderr) = cli(&moto, &["remove", "--manifest-path", manifest]);
        assert!(ok, "{stderr}");
    }
    assert!(rest_apis(&apigw).await.is_empty() && http_apis(&apigw2).await.is_empty());
    eprintln!("{}", figures.join("\n"));
}

/// Custom domains: on a REST API (base path mapping), moved to an HTTP API
/// (API mapping) with the domain re-created there, a base path change that
/// keeps the domain, a domain made by someone else left alone by remove.
#[tokio::test(flavor = "multi_thread")]
async fn custom_domains_map_move_and_go() {
    let moto = Moto::start_with_recording();
    let dir = tempfile::tempdir().unwrap();
    let manifest = app(dir.path(), "domains", r#"bucket = "domains-code""#, 0);
    let manifest = manifest.to_str().unwrap();
    let conf = moto.sdk_config();
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let apigw2 = aws_sdk_apigatewayv2::Client::new(&conf);
    const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    let run = |api: &str, base: &str| {
        deploy(
            &moto,
            &[
                "--manifest-path",
                manifest,
                "--api",
                api,
                "--domain",
                "api.example.com",
                "--certificate-arn",
                CERT,
                "--base-path",
                base,
            ],
        )
    };

    let (first, _) = run("rest", "v1");
    assert_eq!(first["url"], "https://api.example.com/v1/");
    assert!(
        first["domain_target"]
            .as_str()
            .unwrap()
            .contains("execute-api")
    );
    let api = first["api_id"].as_str().unwrap();
    let domain = apigw
        .get_domain_name()
        .domain_name("api.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(domain.regional_certificate_arn(), Some(CERT));
    assert_eq!(domain.tags().unwrap()["lambada:function"], "domains");
    let mappings = apigw
        .get_base_path_mappings()
        .domain_name("api.example.com")
        .send()
        .await
        .unwrap();
    let m = &mappings.items()[0];
    assert_eq!(
        (m.base_path(), m.rest_api_id(), m.stage()),
        (Some("v1"), Some(api), Some("prod"))
    );
    let (_, calls) = run("rest", "v1");
    assert_eq!((writes(&calls), calls.len()), (0, 6), "{calls:#?}");

    // Another base path: the mapping moves, the domain (and its DNS
    // target) stays.
    let (moved, calls) = run("rest", "v2");
    assert_eq!(moved["url"], "https://api.example.com/v2/");
    assert!(
        calls
            .iter()
            .all(|(op, _)| !op.contains("DELETE") || !op.ends_with("/domainnames/api.example.com")),
        "{calls:#?}"
    );
    let paths: Vec<String> = apigw
        .get_base_path_mappings()
        .domain_name("api.example.com")
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter_map(|m| m.base_path().map(str::to_owned))
        .collect();
    assert_eq!(paths, ["v2"]);

    // REST → HTTP: the v1 domain (the app's, nothing else mapped) goes,
    // the v2 domain comes with the API mapping.
    let (http, _) = run("http", "v2");
    let http_id = http["api_id"].as_str().unwrap();
    assert!(
        apigw
            .get_domain_name()
            .domain_name("api.example.com")
            .send()
            .await
            .is_err()
    );
    let mappings = apigw2
        .get_api_mappings()
        .domain_name("api.example.com")
        .send()
        .await
        .unwrap();
    let m = &mappings.items()[0];
    assert_eq!(
        (m.api_mapping_key(), m.api_id(), m.stage()),
        (Some("v2"), Some(http_id), Some("$default"))
    );
    let (_, calls) = run("http", "v2");
    assert_eq!((writes(&calls), calls.len()), (0, 6), "{calls:#?}");
    let (ok, _, stderr) = cli(&moto, &["remove", "--manifest-path", manifest]);
    assert!(ok, "{stderr}");
    assert!(
        apigw2
            .get_domain_name()
            .domain_name("api.example.com")
            .send()
            .await
            .is_err()
    );

    // Someone else's domain: the app adds its mapping, and remove takes
    // only that.
    apigw2
        .create_domain_name()
        .domain_name("api.example.com")
        .domain_name_configurations(
            aws_sdk_apigatewayv2::types::DomainNameConfiguration::builder()
                .certificate_arn(CERT)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (_, calls) = run("http", "v3");
    assert!(
        calls
            .iter()
            .all(|(op, w)| !w || !op.ends_with("/v2/domainnames")),
        "no domain created: {calls:#?}"
    );
    let (ok, _, stderr) = cli(&moto, &["remove", "--manifest-path", manifest]);
    assert!(ok, "{stderr}");
    let left = apigw2
        .get_domain_name()
        .domain_name("api.example.com")
        .send()
        .await
        .expect("the other owner's domain stays");
    assert_eq!(left.domain_name(), Some("api.example.com"));
}

/// `--stage dev` beside the default stage: its own function, API and role,
/// with its section's settings; removing one leaves the other whole.
#[tokio::test(flavor = "multi_thread")]
async fn two_stages_side_by_side() {
    let moto = Moto::start_with_recording();
    let dir = tempfile::tempdir().unwrap();
    let meta = "bucket = \"stages-code\"\n[package.metadata.lambada.stages.dev]\napi = \"http\"\nmemory = 256\n";
    let manifest = app(dir.path(), "staged", meta, 0);
    let manifest = manifest.to_str().unwrap();
    let conf = moto.sdk_config();
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let apigw2 = aws_sdk_apigatewayv2::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);

    let (prod, _) = deploy(&moto, &["--manifest-path", manifest]);
    let (dev, _) = deploy(&moto, &["--manifest-path", manifest, "--stage", "dev"]);
    assert_eq!(prod["function"], "staged");
    assert_eq!(dev["function"], "staged-dev");
    assert_eq!(dev["api"], "http");
    let memory = |c: &aws_sdk_lambda::operation::get_function::GetFunctionOutput| {
        c.configuration().unwrap().memory_size()
    };
    let f = lambda
        .get_function()
        .function_name("staged")
        .send()
        .await
        .unwrap();
    assert_eq!(memory(&f), Some(128));
    let f = lambda
        .get_function()
        .function_name("staged-dev")
        .send()
        .await
        .unwrap();
    assert_eq!(memory(&f), Some(256));
    assert!(
        f.configuration()
            .unwrap()
            .role()
            .unwrap()
            .ends_with("role/lambada-staged-dev")
    );
    assert_eq!(rest_apis(&apigw).await.len(), 1);
    assert_eq!(http_apis(&apigw2).await.len(), 1);
    // Each is up to date: neither deploy touched the other.
    for args in [
        vec!["--manifest-path", manifest],
        vec!["--manifest-path", manifest, "--stage", "dev"],
    ] {
        let (r, calls) = deploy(&moto, &args);
        assert_eq!(
            (r["up_to_date"].clone(), writes(&calls)),
            (Value::Bool(true), 0),
            "{args:?}"
        );
    }
    let (ok, _, stderr) = cli(
        &moto,
        &["remove", "--manifest-path", manifest, "--stage", "dev"],
    );
    assert!(ok, "{stderr}");
    assert!(
        lambda
            .get_function()
            .function_name("staged-dev")
            .send()
            .await
            .is_err()
    );
    assert!(
        iam.get_role()
            .role_name("lambada-staged-dev")
            .send()
            .await
            .is_err()
    );
    assert!(http_apis(&apigw2).await.is_empty());
    lambda
        .get_function()
        .function_name("staged")
        .send()
        .await
        .unwrap();
    iam.get_role()
        .role_name("lambada-staged")
        .send()
        .await
        .unwrap();
    assert_eq!(rest_apis(&apigw).await, [prod["api_id"].as_str().unwrap()]);
    let (r, calls) = deploy(&moto, &["--manifest-path", manifest]);
    assert_eq!(
        (r["up_to_date"].clone(), writes(&calls)),
        (Value::Bool(true), 0)
    );
}

/// Limits and what a front door cannot carry stop deploy before its
/// first AWS call: moto sees no request at all.
#[tokio::test(flavor = "multi_thread")]
async fn limits_stop_deploy_before_any_call() {
    let moto = Moto::start_with_recording();
    let dir = tempfile::tempdir().unwrap();
    // 3 + 2 × 150 routes: 303 routes on 152 paths, 303 REST resources.
    let big = app(dir.path(), "big", r#"bucket = "big-code""#, 150);
    let big = big.to_str().unwrap();
    let helloworld = workspace().join("examples/helloworld/Cargo.toml");
    let helloworld = helloworld.to_str().unwrap();
    let long = "f".repeat(65);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--manifest-path", big],
            "resources; API Gateway allows 300 per REST API",
        ),
        (
            vec!["--manifest-path", big, "--api", "http"],
            "routes; API Gateway allows 300 per HTTP API",
        ),
        (
            vec!["--manifest-path", big, "--function", &long],
            "AWS allows 1 to 64",
        ),
        (
            vec!["--manifest-path", big, "--bucket", "Big"],
            "S3 bucket name",
        ),
        (vec!["--manifest-path", big, "--stage", "q a"], "`stage`"),
        (
            vec![
                "--manifest-path",
                helloworld,
                "--bucket",
                "hw-code",
                "--api",
                "url",
            ],
            "a function URL runs no authorizer",
        ),
        (
            vec![
                "--manifest-path",
                big,
                "--api",
                "url",
                "--domain",
                "api.example.com",
                "--certificate-arn",
                "arn:aws:acm:us-east-1:1:certificate/x",
            ],
            "needs an API Gateway front door",
        ),
        (
            vec!["--manifest-path", big, "--domain", "api.example.com"],
            "certificate",
        ),
    ];
    for (args, says) in cases {
        moto.start_recording();
        let mut all = vec!["deploy", "--debug"];
        all.extend(&args);
        let (ok, _, stderr) = cli(&moto, &all);
        assert!(!ok, "{args:?} deployed");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            moto.recorded().is_empty(),
            "{args:?}: {:#?}",
            moto.recorded()
        );
    }
}

/// `package` for every front door (and a domain on each API Gateway one):
/// openapi-spec-validator and cfn-lint clean, and the resources each
/// needs.
#[test]
fn package_describes_every_front_door() {
    lambada_test_support::need("openapi-spec-validator");
    lambada_test_support::need("cfn-lint");
    let dir = tempfile::tempdir().unwrap();
    let manifest = app(dir.path(), "packaged", META, 0);
    const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    let package = |args: &[&str]| -> (Value, Value) {
        let out = tempfile::tempdir().unwrap();
        let run = std::process::Command::new(CLI)
            .args(["lambada", "package", "--debug", "--manifest-path"])
            .arg(&manifest)
            .arg("--out")
            .arg(out.path())
            .args(["--region", "us-east-1"])
            .args(args)
            .env(
                "CARGO_TARGET_DIR",
                lambada_test_support::nested_target_dir(),
            )
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        for (tool, file) in [
            ("openapi-spec-validator", "openapi.json"),
            ("cfn-lint", "template.json"),
        ] {
            let v = std::process::Command::new(tool)
                .arg(out.path().join(file))
                .output()
                .unwrap();
            assert!(
                v.status.success(),
                "{args:?}: {tool}: {}{}",
                String::from_utf8_lossy(&v.stdout),
                String::from_utf8_lossy(&v.stderr)
            );
        }
        let read = |f: &str| -> Value {
            serde_json::from_slice(&std::fs::read(out.path().join(f)).unwrap()).unwrap()
        };
        (read("openapi.json"), read("template.json"))
    };
    let types = |t: &Value| -> Vec<String> {
        let mut v: Vec<String> = t["Resources"]
            .as_object()
            .unwrap()
            .values()
            .map(|r| r["Type"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v.dedup();
        v
    };

    let (doc, t) = package(&[
        "--api",
        "http",
        "--domain",
        "api.example.com",
        "--certificate-arn",
        CERT,
    ]);
    let op = &doc["paths"]["/hello/{name}"]["get"]["x-amazon-apigateway-integration"];
    assert_eq!(op["payloadFormatVersion"], "2.0");
    assert_eq!(
        doc["x-amazon-apigateway-cors"]["allowOrigins"],
        serde_json::json!(["https://app.example.com"])
    );
    assert!(
        doc["paths"]["/hello/{name}"].get("options").is_none(),
        "API Gateway answers preflights"
    );
    assert!(doc.get("x-amazon-apigateway-gateway-responses").is_none());
    for ty in [
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::ApiMapping",
        "AWS::ApiGatewayV2::DomainName",
        "AWS::ApiGatewayV2::Stage",
    ] {
        assert!(types(&t).contains(&ty.to_owned()), "{ty}: {t:#}");
    }
    assert_eq!(t["Resources"]["Stage"]["Properties"]["AutoDeploy"], true);
    assert_eq!(t["Outputs"]["Url"]["Value"], "https://api.example.com/");

    let (_, t) = package(&["--api", "url"]);
    assert!(types(&t).contains(&"AWS::Lambda::Url".to_owned()), "{t:#}");
    let url = &t["Resources"]["Url"]["Properties"];
    assert_eq!(url["AuthType"], "NONE");
    assert_eq!(
        url["Cors"]["AllowOrigins"],
        serde_json::json!(["https://app.example.com"])
    );
    assert_eq!(
        t["Resources"]["UrlPermission"]["Properties"]["FunctionUrlAuthType"],
        "NONE"
    );
    assert_eq!(
        t["Resources"]["UrlInvokePermission"]["Properties"]["InvokedViaFunctionUrl"],
        true
    );
    let (_, t) = package(&["--api", "url", "--url-auth", "aws_iam"]);
    assert_eq!(t["Resources"]["Url"]["Properties"]["AuthType"], "AWS_IAM");
    assert!(t["Resources"].get("UrlPermission").is_none());

    let (_, t) = package(&["--api", "none"]);
    assert_eq!(
        types(&t),
        ["AWS::IAM::Role", "AWS::Lambda::Function"],
        "{t:#}"
    );
    assert!(t["Outputs"].get("Url").is_none());

    let (_, t) = package(&[
        "--domain",
        "api.example.com",
        "--certificate-arn",
        CERT,
        "--base-path",
        "v1",
    ]);
    assert_eq!(
        t["Resources"]["BasePathMapping"]["Properties"]["BasePath"],
        "v1"
    );
    assert_eq!(
        t["Resources"]["DomainName"]["Properties"]["RegionalCertificateArn"],
        CERT
    );
}

/// Authorizers behind an HTTP API: helloworld's Cognito user pool as a
/// JWT authorizer (issuer from the pool, its app client as audience, the
/// route's scopes), partner-api's `#[authorizer]` as a `request`
/// authorizer with payload 2.0 and simple responses, its function allowed
/// from this API's authorizers only. moto keeps no authorizer from a
/// reimport, so the definition sent is what is checked.
#[tokio::test(flavor = "multi_thread")]
async fn http_api_carries_the_authorizers() {
    let moto = Moto::start_with_recording();
    let reimported = |moto: &Moto| -> Value {
        let requests = moto.requests();
        let sent = requests
            .iter()
            .find(|r| r["method"] == "PUT" && r["url"].as_str().unwrap_or("").contains("/v2/apis/"))
            .expect("a ReimportApi");
        let body: Value = serde_json::from_str(&lambada_test_support::request_body(sent)).unwrap();
        serde_json::from_str(body["body"].as_str().unwrap()).unwrap()
    };
    let helloworld = workspace().join("examples/helloworld/Cargo.toml");
    moto.start_recording();
    moto.deploy_json_with(
        CLI,
        &[
            "--manifest-path",
            helloworld.to_str().unwrap(),
            "--bucket",
            "hw-http-code",
            "--api",
            "http",
        ],
        &[],
    );
    let doc = reimported(&moto);
    assert_eq!(
        doc["components"]["securitySchemes"]["users"]["x-amazon-apigateway-authorizer"],
        serde_json::json!({
            "type": "jwt",
            "jwtConfiguration": {
                "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_HelloWrld",
                "audience": ["hello-client"],
            },
            "identitySource": "$request.header.Authorization",
        })
    );
    assert_eq!(
        doc["paths"]["/me"]["get"]["security"],
        serde_json::json!([{"users": ["profile"]}])
    );

    let partner = workspace().join("examples/partner-api/Cargo.toml");
    moto.start_recording();
    let report = moto.deploy_json_with(
        CLI,
        &[
            "--manifest-path",
            partner.to_str().unwrap(),
            "--bucket",
            "partner-http-code",
            "--api",
            "http",
        ],
        &[],
    );
    let doc = reimported(&moto);
    let scheme = &doc["components"]["securitySchemes"]["api_key"]["x-amazon-apigateway-authorizer"];
    assert_eq!(scheme["type"], "request");
    assert_eq!(scheme["identitySource"], "$request.header.x-api-key");
    assert_eq!(scheme["authorizerPayloadFormatVersion"], "2.0");
    assert_eq!(scheme["enableSimpleResponses"], true);
    assert_eq!(scheme["authorizerResultTtlInSeconds"], 300);
    assert!(
        scheme["authorizerUri"]
            .as_str()
            .unwrap()
            .ends_with(":function:partner-api-api-key/invocations"),
        "{scheme}"
    );
    let api = report["api_id"].as_str().unwrap();
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config());
    let statements = policy(&lambda, "partner-api-api-key").await;
    assert_eq!(
        statements[0]["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!("arn:aws:execute-api:us-east-1:123456789012:{api}/authorizers/*")
    );
}
