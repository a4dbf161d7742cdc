//! `cargo lambada deploy | remove | package` against a real AWS API server:
//! moto in server mode on a loopback port, started here and stopped by PID.
//! What deploy created is read back through the AWS SDK; what it sent is
//! counted from moto's own request recording, not from our report.
//!
//! Needs `moto_server`, `openapi-spec-validator` and `cfn-lint` on PATH
//! (`./scripts/test` installs them with pip). The moto harness is
//! `lambada_test_support::Moto`, with its request recording.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lambada_test_support::{Moto, need, nested_target_dir, workspace};
use serde_json::Value;

/// The cargo-lambada binary under test.
const CLI: &str = env!("CARGO_BIN_EXE_cargo-lambada");

/// `cargo-lambada lambada <args>` against moto ([`Moto::lambada_with`]):
/// (success, stdout, stderr).
fn cli(moto: &Moto, args: &[&str]) -> (bool, String, String) {
    let run = moto.lambada_with(CLI, args, &[]);
    (run.status.success(), run.stdout, run.stderr)
}

/// `deploy --debug --json <args>`; its JSON report.
fn deploy_json(moto: &Moto, args: &[&str]) -> Value {
    moto.deploy_json_with(CLI, args, &[])
}

/// (path, method, integration type, integration http method, uri) of every
/// method of the API.
async fn api_table(
    apigw: &aws_sdk_apigateway::Client,
    api: &str,
) -> Vec<(String, String, String, String, String)> {
    let res = apigw
        .get_resources()
        .rest_api_id(api)
        .limit(500)
        .embed("methods")
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for r in res.items() {
        for m in r
            .resource_methods()
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let i = apigw
                .get_integration()
                .rest_api_id(api)
                .resource_id(r.id().unwrap())
                .http_method(&m)
                .send()
                .await
                .unwrap();
            out.push((
                r.path().unwrap_or_default().to_owned(),
                m,
                i.r#type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
                i.http_method().unwrap_or_default().to_owned(),
                i.uri().unwrap_or_default().to_owned(),
            ));
        }
    }
    out.sort();
    out
}

fn sha256_b64(path: &Path) -> String {
    use base64::Engine as _;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD
        .encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_read_back_redeploy_and_remove_helloworld() {
    let moto = Moto::start_with_recording();
    let manifest = workspace().join("examples/helloworld/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let bucket = "lambada-test-helloworld";

    moto.start_recording();
    let first = deploy_json(
        &moto,
        &[
            "--manifest-path",
            manifest,
            "--bucket",
            bucket,
            "--memory",
            "256",
            "--timeout",
            "15",
        ],
    );
    let calls = moto.recorded();
    // GetFunction, CreateBucket, PutObject, GetRole, CreateRole,
    // PutRolePolicy, CreateFunction, ImportRestApi, AddPermission,
    // CreateDeployment, and ListFunctions looking for trigger functions
    // to delete.
    assert_eq!(calls.len(), 11, "calls from scratch: {calls:#?}");
    assert_eq!(
        calls.len(),
        first["calls"].as_array().unwrap().len(),
        "our report matches what moto saw"
    );

    // The Cognito authorizer of `GET /me`, as imported: moto keeps no
    // authorizer from an import (its apigateway ignores `securitySchemes`),
    // so the definition sent is what is checked.
    let requests = moto.requests();
    let import = requests
        .iter()
        .find(|r| r["url"].as_str().unwrap_or("").contains("mode=import"))
        .expect("an ImportRestApi");
    let sent: Value = serde_json::from_str(&lambada_test_support::request_body(import)).unwrap();
    assert_eq!(
        sent["components"]["securitySchemes"]["users"],
        serde_json::json!({
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "cognito_user_pools",
            "x-amazon-apigateway-authorizer": {
                "type": "cognito_user_pools",
                "providerARNs": ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_HelloWrld"],
            },
        })
    );
    assert_eq!(
        sent["paths"]["/me"]["get"]["security"],
        serde_json::json!([{"users": ["profile"]}])
    );
    assert!(
        sent["paths"]["/helloworld/{id}"]["get"]
            .get("security")
            .is_none()
    );

    let conf = moto.sdk_config();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let apigw = aws_sdk_apigateway::Client::new(&conf);

    // The object in S3 is the zip, byte for byte.
    let zip = nested_target_dir().join("lambada/helloworld/bootstrap.zip");
    let objects = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
    assert_eq!(objects.contents().len(), 1);
    let key = objects.contents()[0].key().unwrap().to_owned();
    let body = s3
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(body.as_ref(), std::fs::read(&zip).unwrap().as_slice());

    // The function.
    let f = lambda
        .get_function()
        .function_name("helloworld")
        .send()
        .await
        .unwrap();
    let c = f.configuration().unwrap();
    assert_eq!(c.runtime().map(|r| r.as_str()), Some("provided.al2023"));
    assert_eq!(c.handler(), Some("bootstrap"));
    assert_eq!((c.memory_size(), c.timeout()), (Some(256), Some(15)));
    assert_eq!(c.code_sha256(), Some(sha256_b64(&zip).as_str()));
    let function_arn = c.function_arn().unwrap().to_owned();

    // The REST API equals the route table exactly.
    let api = first["api_id"].as_str().unwrap().to_owned();
    let uri = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    );
    let expected: Vec<_> = [
        ("/agent", "GET"),
        ("/greet", "GET"),
        ("/helloworld/{id}", "GET"),
        ("/items", "POST"),
        ("/items/{sku}", "GET"),
        ("/me", "GET"),
        ("/old-home", "GET"),
        ("/openapi.json", "GET"),
    ]
    .iter()
    .map(|(p, m)| {
        (
            p.to_string(),
            m.to_string(),
            "AWS_PROXY".to_owned(),
            "POST".to_owned(),
            uri.clone(),
        )
    })
    .collect();
    assert_eq!(api_table(&apigw, &api).await, expected);
    // The stage's deployment exists.
    let stage = apigw
        .get_stage()
        .rest_api_id(&api)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    let dep = stage.deployment_id().expect("stage has a deployment");
    apigw
        .get_deployment()
        .rest_api_id(&api)
        .deployment_id(dep)
        .send()
        .await
        .unwrap();
    assert_eq!(
        first["url"],
        format!("https://{api}.execute-api.us-east-1.amazonaws.com/prod/")
    );
    // The permission is scoped to this API and stage, never `*`.
    let policy: Value = serde_json::from_str(
        lambda
            .get_policy()
            .function_name("helloworld")
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap(),
    )
    .unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0]["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!("arn:aws:execute-api:us-east-1:123456789012:{api}/prod/*/*")
    );
    assert_eq!(
        statements[0]["Principal"]["Service"],
        "apigateway.amazonaws.com"
    );

    // Redeploy, nothing changed: five reads (GetFunction, GetRolePolicy,
    // GetRestApis, GetStage, ListFunctions).
    moto.start_recording();
    let again = deploy_json(
        &moto,
        &[
            "--manifest-path",
            manifest,
            "--bucket",
            bucket,
            "--memory",
            "256",
            "--timeout",
            "15",
        ],
    );
    let calls = moto.recorded();
    assert!(
        calls.iter().all(|(_, w)| !w),
        "a no-op deploy wrote: {calls:#?}"
    );
    assert_eq!(calls.len(), 5, "{calls:#?}");
    assert_eq!(again["up_to_date"], true);

    // A configuration change: one update, nothing else written.
    moto.start_recording();
    let changed = deploy_json(
        &moto,
        &[
            "--manifest-path",
            manifest,
            "--bucket",
            bucket,
            "--memory",
            "512",
            "--timeout",
            "15",
        ],
    );
    let writes: Vec<_> = moto.recorded().into_iter().filter(|(_, w)| *w).collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(changed["changes"][0]["detail"], "memory Some(256) → 512");

    // Dry run of another change: a plan, no write.
    moto.start_recording();
    let (ok, stdout, stderr) = cli(
        &moto,
        &[
            "deploy",
            "--debug",
            "--dry-run",
            "--manifest-path",
            manifest,
            "--bucket",
            bucket,
            "--memory",
            "1024",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("would update") && stderr.contains("memory"),
        "{stderr}"
    );
    assert!(stdout.contains(&api));
    assert!(moto.recorded().iter().all(|(_, w)| !w));

    // Remove: everything deploy made is gone.
    let (ok, _, stderr) = cli(
        &moto,
        &["remove", "--manifest-path", manifest, "--bucket", bucket],
    );
    assert!(ok, "{stderr}");
    assert!(
        lambda
            .get_function()
            .function_name("helloworld")
            .send()
            .await
            .is_err()
    );
    assert!(
        apigw
            .get_rest_apis()
            .send()
            .await
            .unwrap()
            .items()
            .is_empty()
    );
    assert!(
        s3.list_objects_v2()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
            .contents()
            .is_empty()
    );
    let iam = aws_sdk_iam::Client::new(&conf);
    assert!(
        iam.get_role()
            .role_name("lambada-helloworld")
            .send()
            .await
            .is_err()
    );
    // And a second remove finds nothing.
    let (ok, _, stderr) = cli(
        &moto,
        &["remove", "--manifest-path", manifest, "--bucket", bucket],
    );
    assert!(ok && stderr.contains("nothing to remove"), "{stderr}");
}

#[test]
fn missing_bucket_stops_before_any_call() {
    let moto = Moto::start_with_recording();
    moto.start_recording();
    let dir = tempfile::tempdir().unwrap();
    let project = write_fixture(dir.path(), 2, false, None);
    let (ok, _, stderr) = cli(
        &moto,
        &[
            "deploy",
            "--debug",
            "--manifest-path",
            project.to_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(
        stderr.contains("missing setting `bucket`") && stderr.contains("LAMBADA_BUCKET"),
        "{stderr}"
    );
    assert!(
        moto.recorded().is_empty(),
        "no AWS call before the settings are complete"
    );
}

#[test]
fn authorizer_problems_stop_before_any_call() {
    let moto = Moto::start_with_recording();
    moto.start_recording();
    let dir = tempfile::tempdir().unwrap();
    let project = write_fixture(dir.path(), 2, false, Some("auth-fixture"));
    let main = dir.path().join("src/main.rs");
    let src = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        src.replace(
            "#[get(\"/r1/<x>\")]",
            "#[get(\"/r1/<x>\", auth = \"ghost\")]",
        ),
    )
    .unwrap();
    let manifest = project.to_str().unwrap();
    let (ok, _, stderr) = cli(&moto, &["deploy", "--debug", "--manifest-path", manifest]);
    assert!(!ok);
    assert!(
        stderr.contains(
            "`GET /r1/<x>` (r1) names the authorizer `ghost` (none is configured or defined)"
        ) && stderr.contains("[package.metadata.lambada.authorizers.ghost]"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = cli(&moto, &["routes", "--manifest-path", manifest]);
    assert!(!ok && stdout.contains("auth ghost"), "{stdout}{stderr}");
    assert!(stderr.contains("`ghost`"), "{stderr}");

    // Defined, but as a JWT issuer: REST APIs cannot validate those.
    let toml = std::fs::read_to_string(&project).unwrap();
    std::fs::write(
        &project,
        toml.replace(
            "bucket = \"auth-fixture\"\n",
            "bucket = \"auth-fixture\"\n\n[package.metadata.lambada.authorizers.ghost]\ntype = \"jwt\"\nissuer = \"https://auth.example.com/\"\naudience = [\"api\"]\n",
        ),
    )
    .unwrap();
    let (ok, _, stderr) = cli(&moto, &["deploy", "--debug", "--manifest-path", manifest]);
    assert!(!ok);
    assert!(
        stderr.contains("`ghost` is a JWT issuer") && stderr.contains("HTTP APIs"),
        "{stderr}"
    );
    assert!(
        moto.recorded().is_empty(),
        "no AWS call before the authorizers check out: {:#?}",
        moto.recorded()
    );
}

/// Writes a Lambada project with `n` routes `GET /r{i}/<x>` (the last one
/// renamed when `renamed`).
fn write_fixture(dir: &Path, n: usize, renamed: bool, bucket: Option<&str>) -> PathBuf {
    let runtime = workspace().join("lambada-runtime");
    let meta = bucket
        .map(|b| format!("\n[package.metadata.lambada]\nbucket = \"{b}\"\n"))
        .unwrap_or_default();
    // Its own package name per size: tests build at the same time into one
    // target directory, where one package's binary has one path.
    let name = if n == 100 {
        "many-routes"
    } else {
        "few-routes"
    };
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n{meta}\n[dependencies]\nlambada = {{ package = \"lambada-runtime\", path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    // The workspace's lock file: the same versions, already built.
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mut src = String::from("use lambada::prelude::*;\n\n");
    let mut names = Vec::new();
    for i in 0..n {
        let path = if renamed && i + 1 == n {
            "/renamed/<x>".to_owned()
        } else {
            format!("/r{i}/<x>")
        };
        src.push_str(&format!("#[get(\"{path}\")]\nasync fn r{i}(x: &str) -> String {{\n    format!(\"{i}: {{x}}\")\n}}\n\n"));
        names.push(format!("r{i}"));
    }
    src.push_str(&format!(
        "#[lambada::main]\nasync fn main() -> Result<(), lambada::Error> {{\n    lambada::run(routes![{}]).await\n}}\n",
        names.join(", ")
    ));
    std::fs::write(dir.join("src/main.rs"), src).unwrap();
    dir.join("Cargo.toml")
}

#[tokio::test(flavor = "multi_thread")]
async fn hundred_routes_route_change_and_interrupted_deploy() {
    let moto = Moto::start_with_recording();
    let dir = tempfile::tempdir().unwrap();
    let project = write_fixture(dir.path(), 100, false, Some("many-routes-code"));
    let manifest = project.to_str().unwrap();

    moto.start_recording();
    let first = deploy_json(&moto, &["--manifest-path", manifest]);
    let scratch = moto.recorded();
    assert_eq!(scratch.len(), 11, "calls for 100 routes: {scratch:#?}");
    eprintln!(
        "100 routes from scratch: {} calls ({} writes)",
        scratch.len(),
        scratch.iter().filter(|c| c.1).count()
    );

    moto.start_recording();
    deploy_json(&moto, &["--manifest-path", manifest]);
    let noop = moto.recorded();
    assert!(noop.len() == 5 && noop.iter().all(|c| !c.1), "{noop:#?}");
    eprintln!(
        "100 routes, no-op redeploy: {} calls, all reads",
        noop.len()
    );

    let conf = moto.sdk_config();
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let api = first["api_id"].as_str().unwrap().to_owned();
    let paths = |t: Vec<(String, String, String, String, String)>| {
        t.into_iter().map(|r| r.0).collect::<Vec<_>>()
    };
    let before = paths(api_table(&apigw, &api).await);
    assert_eq!(before.len(), 100);
    assert!(before.contains(&"/r99/{x}".to_owned()));

    // Change a route: the old one is gone, the new one there, same API.
    write_fixture(dir.path(), 100, true, Some("many-routes-code"));
    moto.start_recording();
    let second = deploy_json(&moto, &["--manifest-path", manifest]);
    assert_eq!(second["api_id"], first["api_id"]);
    let after = paths(api_table(&apigw, &api).await);
    assert_eq!(after.len(), 100);
    assert!(
        !after.contains(&"/r99/{x}".to_owned()),
        "the removed route is gone"
    );
    assert!(after.contains(&"/renamed/{x}".to_owned()));
    let ops: Vec<String> = moto
        .recorded()
        .into_iter()
        .filter(|c| c.1)
        .map(|c| c.0)
        .collect();
    assert!(
        ops.iter().filter(|o| o.contains("/restapis/")).count() == 2,
        "one PUT of the whole definition and one deployment: {ops:#?}"
    );

    // Kill a deploy part-way (after the function exists), then re-run: it
    // converges to the same end state as an uninterrupted deploy.
    write_fixture(dir.path(), 100, false, Some("many-routes-code"));
    moto.start_recording();
    let mut child = Command::new(CLI)
        .args([
            "lambada",
            "deploy",
            "--debug",
            "--manifest-path",
            manifest,
            "--endpoint-url",
            &moto.url(),
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let seen = moto.recorded();
        if seen.iter().any(|(op, w)| *w && op.contains("/functions/"))
            || start.elapsed() > Duration::from_secs(300)
        {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let third = deploy_json(&moto, &["--manifest-path", manifest]);
    assert_eq!(third["api_id"], first["api_id"]);
    let converged = paths(api_table(&apigw, &api).await);
    assert_eq!(
        converged, before,
        "after an interrupted deploy and a re-run, the API is the route table"
    );
    moto.start_recording();
    let last = deploy_json(&moto, &["--manifest-path", manifest]);
    assert_eq!(last["up_to_date"], true, "{last}");
}

#[test]
fn package_validates_with_openapi_spec_validator_and_cfn_lint() {
    need("openapi-spec-validator");
    need("cfn-lint");
    let out = tempfile::tempdir().unwrap();
    let manifest = workspace().join("examples/helloworld/Cargo.toml");
    let status = Command::new(CLI)
        .args([
            "lambada",
            "package",
            "--debug",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--out",
        ])
        .arg(out.path())
        .args(["--region", "us-east-1"])
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .status()
        .unwrap();
    assert!(status.success());
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("openapi.json")).unwrap()).unwrap();
    let op = &doc["paths"]["/helloworld/{id}"]["get"];
    assert_eq!(op["x-amazon-apigateway-integration"]["type"], "AWS_PROXY");
    assert_eq!(op["x-amazon-apigateway-integration"]["httpMethod"], "POST");
    assert!(
        op["x-amazon-apigateway-integration"]["uri"]
            .as_str()
            .unwrap()
            .ends_with(":function:helloworld/invocations")
    );
    assert!(out.path().join("bootstrap.zip").exists());

    validate(out.path());
    assert!(doc.get("x-amazon-apigateway-gateway-responses").is_none());
    assert!(doc["paths"]["/helloworld/{id}"].get("options").is_none());

    // With CORS configured: a preflight method routed to the function on
    // every path, and API Gateway's own errors carrying the headers.
    let cors_out = tempfile::tempdir().unwrap();
    let status = Command::new(CLI)
        .args(["lambada", "package", "--debug", "--manifest-path"])
        .arg(&manifest)
        .arg("--out")
        .arg(cors_out.path())
        .args(["--region", "us-east-1"])
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .env("LAMBADA_CORS", CORS)
        .status()
        .unwrap();
    assert!(status.success());
    let doc: Value =
        serde_json::from_slice(&std::fs::read(cors_out.path().join("openapi.json")).unwrap())
            .unwrap();
    check_cors_definition(&doc);
    let template: Value =
        serde_json::from_slice(&std::fs::read(cors_out.path().join("template.json")).unwrap())
            .unwrap();
    assert!(
        template.to_string().contains(r#""LAMBADA_CORS""#),
        "the function's environment carries the settings: {template}"
    );
    validate(cors_out.path());

    // Per-route settings from configuration: `index` alone is open (to any
    // origin), so its path alone gets a preflight method, and the gateway
    // responses carry its settings; `index` off beside the table's
    // settings takes its path's preflight away; a handler the app does not
    // have stops package with the handlers it does.
    let package = |cors: &str| {
        let out = tempfile::tempdir().unwrap();
        let o = Command::new(CLI)
            .args(["lambada", "package", "--debug", "--manifest-path"])
            .arg(&manifest)
            .arg("--out")
            .arg(out.path())
            .args(["--region", "us-east-1"])
            .env("CARGO_TARGET_DIR", nested_target_dir())
            .env("LAMBADA_CORS", cors)
            .output()
            .unwrap();
        let doc = o.status.success().then(|| {
            validate(out.path());
            serde_json::from_slice::<Value>(
                &std::fs::read(out.path().join("openapi.json")).unwrap(),
            )
            .unwrap()
        });
        (doc, String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (doc, _) = package(r#"{"routes": {"index": {"origins": ["*"]}}}"#);
    let doc = doc.unwrap();
    let with_options: Vec<&String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, ops)| ops.get("options").is_some())
        .map(|(p, _)| p)
        .collect();
    assert_eq!(with_options, ["/helloworld/{id}"]);
    assert_eq!(
        doc["x-amazon-apigateway-gateway-responses"]["DEFAULT_4XX"]["responseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"],
        "'*'"
    );
    let (doc, _) =
        package(r#"{"origins": ["https://app.example.com"], "routes": {"index": false}}"#);
    let paths = doc.unwrap()["paths"].as_object().unwrap().clone();
    for (path, ops) in &paths {
        assert_eq!(
            ops.get("options").is_some(),
            path != "/helloworld/{id}",
            "{path}"
        );
    }
    let (doc, stderr) = package(r#"{"routes": {"ghost": false}}"#);
    assert!(doc.is_none());
    assert!(
        stderr.contains("`routes.ghost` names no route's handler")
            && stderr.contains("index, greet, agent"),
        "{stderr}"
    );
}

/// `openapi-spec-validator` on `dir/openapi.json`, `cfn-lint` on
/// `dir/template.json`.
fn validate(dir: &Path) {
    let v = Command::new("openapi-spec-validator")
        .arg(dir.join("openapi.json"))
        .output()
        .unwrap();
    assert!(
        v.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    let l = Command::new("cfn-lint")
        .arg(dir.join("template.json"))
        .output()
        .unwrap();
    assert!(
        l.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&l.stdout),
        String::from_utf8_lossy(&l.stderr)
    );
}

/// The CORS settings the CORS deploy and package tests configure.
const CORS: &str =
    r#"{"origins": ["https://app.example.com"], "credentials": true, "expose_headers": ["etag"]}"#;

/// What [`CORS`] puts in helloworld's OpenAPI definition: an `options`
/// operation on every path, routed to the function, and the gateway
/// responses with the headers for the one configured origin.
fn check_cors_definition(doc: &Value) {
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 8, "{doc}");
    for (path, ops) in paths {
        let op = &ops["options"];
        assert_eq!(
            op["x-amazon-apigateway-integration"]["type"], "AWS_PROXY",
            "{path}: {ops}"
        );
        assert_eq!(
            op["x-amazon-apigateway-integration"]["uri"],
            ops.as_object().unwrap().values().next().unwrap()["x-amazon-apigateway-integration"]["uri"],
            "{path}: the same function"
        );
    }
    assert_eq!(
        paths["/helloworld/{id}"]["options"]["operationId"],
        "preflight_helloworld_id"
    );
    assert_eq!(
        paths["/helloworld/{id}"]["options"]["parameters"][0]["name"],
        "id"
    );
    let responses = &doc["x-amazon-apigateway-gateway-responses"];
    for kind in [
        "DEFAULT_4XX",
        "DEFAULT_5XX",
        "UNAUTHORIZED",
        "ACCESS_DENIED",
    ] {
        let p = &responses[kind]["responseParameters"];
        assert_eq!(
            p["gatewayresponse.header.Access-Control-Allow-Origin"], "'https://app.example.com'",
            "{kind}: {responses}"
        );
        assert_eq!(
            p["gatewayresponse.header.Access-Control-Allow-Credentials"],
            "'true'"
        );
        assert_eq!(
            p["gatewayresponse.header.Access-Control-Expose-Headers"],
            "'etag'"
        );
        assert_eq!(p["gatewayresponse.header.Vary"], "'Origin'");
    }
}

/// The environment variables of function `name`.
async fn function_env(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
) -> std::collections::HashMap<String, String> {
    lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap()
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_deploys_preflights_and_gateway_responses_and_converges() {
    let moto = Moto::start_with_recording();
    let manifest = workspace().join("examples/helloworld/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let args = ["--manifest-path", manifest, "--bucket", "lambada-test-cors"];
    moto.start_recording();
    let first = moto.deploy_json_with(CLI, &args, &[("LAMBADA_CORS", CORS)]);
    let api = first["api_id"].as_str().unwrap().to_owned();

    // What deploy imported: the definition package writes.
    let requests = moto.take_requests();
    let import = requests
        .iter()
        .find(|r| {
            r["method"] == "POST"
                && r["url"].as_str().unwrap_or("").contains("/restapis")
                && r["url"].as_str().unwrap_or("").contains("mode=import")
        })
        .unwrap_or_else(|| panic!("no ImportRestApi among {requests:#?}"));
    let sent: Value = serde_json::from_str(&lambada_test_support::request_body(import)).unwrap();
    check_cors_definition(&sent);

    // What moto made of it: an OPTIONS method on every resource, integrated
    // with the function like the others.
    let conf = moto.sdk_config();
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let table = api_table(&apigw, &api).await;
    let with_options: std::collections::BTreeSet<&str> = table
        .iter()
        .filter(|(_, m, ..)| m == "OPTIONS")
        .map(|(p, ..)| p.as_str())
        .collect();
    let routed: std::collections::BTreeSet<&str> = table
        .iter()
        .filter(|(_, m, ..)| m != "OPTIONS")
        .map(|(p, ..)| p.as_str())
        .collect();
    assert_eq!(with_options, routed, "{table:#?}");
    assert!(
        table
            .iter()
            .all(|(_, _, kind, verb, uri)| kind == "AWS_PROXY"
                && verb == "POST"
                && uri.ends_with(":function:helloworld/invocations")),
        "{table:#?}"
    );
    // moto does not materialise `x-amazon-apigateway-gateway-responses`
    // from an import (its apigateway models ignore the extension): the
    // definition sent, checked above, is what API Gateway would apply.

    // The function gets the settings it answers preflights with.
    let env = function_env(&lambda, "helloworld").await;
    let given: Value = serde_json::from_str(&env["LAMBADA_CORS"]).unwrap();
    assert_eq!(given, serde_json::from_str::<Value>(CORS).unwrap());

    // A redeploy with the same settings writes nothing.
    moto.start_recording();
    let again = moto.deploy_json_with(CLI, &args, &[("LAMBADA_CORS", CORS)]);
    assert_eq!(again["up_to_date"], true, "{again}");
    assert!(moto.writes().is_empty(), "{:#?}", moto.recorded());

    // Without CORS: the preflights and the variable go, in one overwrite
    // of the API and one configuration update.
    moto.start_recording();
    moto.deploy_json_with(CLI, &args, &[]);
    let writes = moto.writes();
    assert!(
        writes.iter().any(|w| w.contains("/restapis/"))
            && writes.iter().any(|w| w.contains("/configuration")),
        "{writes:#?}"
    );
    let table = api_table(&apigw, &api).await;
    assert!(table.iter().all(|(_, m, ..)| m != "OPTIONS"), "{table:#?}");
    let env = function_env(&lambda, "helloworld").await;
    assert!(!env.contains_key("LAMBADA_CORS"), "{env:?}");
}

/// examples/partner-api: its `#[authorizer]` deploys as a function of its
/// own from the same zip, the REST API's definition names it as a
/// `request` authorizer with its identity source and TTL, and only this
/// API's authorizers may invoke it; a redeploy writes nothing and remove
/// takes both functions.
#[tokio::test(flavor = "multi_thread")]
async fn lambda_authorizer_gets_its_function_definition_and_permission() {
    let moto = Moto::start_with_recording();
    let manifest = workspace().join("examples/partner-api/Cargo.toml");
    let manifest = manifest.to_str().unwrap();
    let args = [
        "--manifest-path",
        manifest,
        "--bucket",
        "lambada-test-partner",
    ];
    moto.start_recording();
    let first = deploy_json(&moto, &args);
    let calls = moto.recorded();
    eprintln!(
        "partner-api from scratch: {} calls, {} writes",
        calls.len(),
        moto.writes().len()
    );
    let api = first["api_id"].as_str().unwrap().to_owned();

    let conf = moto.sdk_config();
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let f = lambda
        .get_function()
        .function_name("partner-api-api-key")
        .send()
        .await
        .unwrap();
    let c = f.configuration().unwrap();
    assert_eq!(c.handler(), Some("api_key"));
    let api_fn = lambda
        .get_function()
        .function_name("partner-api")
        .send()
        .await
        .unwrap();
    let api_conf = api_fn.configuration().unwrap();
    assert_eq!(api_conf.handler(), Some("bootstrap"));
    assert_eq!(
        c.code_sha256(),
        api_conf.code_sha256(),
        "one zip for both functions"
    );
    let authorizer_arn = c.function_arn().unwrap().to_owned();
    assert_eq!(
        function_env(&lambda, "partner-api-api-key").await["PARTNER_KEYS"],
        "demo-key=demo,old-key=!demo"
    );

    // The permission: API Gateway, from this API's authorizers only.
    let policy = lambda
        .get_policy()
        .function_name("partner-api-api-key")
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{policy:#}");
    let st = &statements[0];
    assert_eq!(st["Sid"], "lambada-authorizer");
    assert_eq!(st["Principal"]["Service"], "apigateway.amazonaws.com");
    assert_eq!(
        st["Condition"]["ArnLike"]["AWS:SourceArn"],
        format!("arn:aws:execute-api:us-east-1:123456789012:{api}/authorizers/*")
    );

    // The definition imported: moto keeps no authorizer from an import, so
    // the document sent is what is checked.
    let requests = moto.requests();
    let import = requests
        .iter()
        .find(|r| r["url"].as_str().unwrap_or("").contains("mode=import"))
        .expect("an ImportRestApi");
    let sent: Value = serde_json::from_str(&lambada_test_support::request_body(import)).unwrap();
    assert_eq!(
        sent["components"]["securitySchemes"]["api_key"],
        serde_json::json!({
            "type": "apiKey",
            "name": "x-api-key",
            "in": "header",
            "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {
                "type": "request",
                "authorizerUri": format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{authorizer_arn}/invocations"),
                "authorizerResultTtlInSeconds": 300,
                "identitySource": "method.request.header.x-api-key",
            },
        })
    );
    assert_eq!(
        sent["paths"]["/reports/{period}"]["get"]["security"],
        serde_json::json!([{"api_key": []}])
    );
    assert!(sent["paths"]["/health"]["get"].get("security").is_none());
    let stored = apigw
        .get_authorizers()
        .rest_api_id(&api)
        .send()
        .await
        .unwrap();
    eprintln!(
        "moto stored {} authorizers from the import",
        stored.items().len()
    );

    // Converged: nothing to write.
    moto.start_recording();
    let again = deploy_json(&moto, &args);
    assert_eq!(again["up_to_date"], true, "{again}");
    assert!(moto.writes().is_empty(), "{:#?}", moto.recorded());
    eprintln!(
        "partner-api no-op redeploy: {} reads",
        moto.recorded().len()
    );

    // Remove takes the API, both functions and so the permission.
    let (ok, _, stderr) = cli(
        &moto,
        &[
            "remove",
            "--manifest-path",
            manifest,
            "--bucket",
            "lambada-test-partner",
        ],
    );
    assert!(ok, "{stderr}");
    for name in ["partner-api", "partner-api-api-key"] {
        assert!(
            lambda
                .get_function()
                .function_name(name)
                .send()
                .await
                .is_err(),
            "{name} still exists"
        );
    }
}

/// `package` of examples/partner-api: the authorizer's function, its
/// permission scoped to the API's authorizers, and the definition naming
/// the function by reference; openapi-spec-validator and cfn-lint clean.
#[test]
fn package_carries_the_lambda_authorizer() {
    need("openapi-spec-validator");
    need("cfn-lint");
    let out = tempfile::tempdir().unwrap();
    let manifest = workspace().join("examples/partner-api/Cargo.toml");
    let status = Command::new(CLI)
        .args(["lambada", "package", "--debug", "--manifest-path"])
        .arg(&manifest)
        .arg("--out")
        .arg(out.path())
        .args(["--region", "us-east-1"])
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .status()
        .unwrap();
    assert!(status.success());
    validate(out.path());
    let doc: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("openapi.json")).unwrap()).unwrap();
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["x-amazon-apigateway-authorizer"]["authorizerUri"],
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:${AWS::AccountId}:function:partner-api-api-key/invocations"
    );
    let t: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("template.json")).unwrap()).unwrap();
    let r = &t["Resources"];
    assert_eq!(
        r["TriggerApiKeyFunction"]["Properties"]["Handler"],
        "api_key"
    );
    assert_eq!(
        r["TriggerApiKeyPermission"]["Properties"]["Principal"],
        "apigateway.amazonaws.com"
    );
    assert_eq!(
        r["TriggerApiKeyPermission"]["Properties"]["SourceArn"]["Fn::Sub"],
        "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/authorizers/*"
    );
    let scheme = &r["Api"]["Properties"]["Body"]["components"]["securitySchemes"]["api_key"];
    assert_eq!(
        scheme["x-amazon-apigateway-authorizer"]["authorizerUri"]["Fn::Sub"],
        "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${TriggerApiKeyFunction.Arn}/invocations"
    );
}
