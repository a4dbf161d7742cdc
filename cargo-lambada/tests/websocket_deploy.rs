//! The WebSocket API against moto: deployed from scratch (API with its
//! route selection expression, one `AWS_PROXY` integration, a route per
//! handler, the auto-deployed stage, the invoke permission scoped to the
//! API, the role's `execute-api:ManageConnections`), redeployed with no
//! write, changed (a route gone, one added: only those written), and
//! removed. Read back through the AWS SDK; calls counted from moto's own
//! request recording.

use std::path::{Path, PathBuf};

use lambada_test_support::{Moto, workspace};
use serde_json::Value;

const CLI: &str = env!("CARGO_BIN_EXE_cargo-lambada");

/// An app with one HTTP route and WebSocket handlers: `$connect`,
/// `$disconnect`, `$default` and `extra` custom keys.
fn app(dir: &Path, extra: &[&str]) -> PathBuf {
    let runtime = workspace().join("lambada-runtime");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"chatws\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[package.metadata.lambada]\nbucket = \"chatws-code\"\nstage = \"prod\"\n\n[dependencies]\nlambada = {{ package = \"lambada-runtime\", path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let mut src = String::from(
        "use lambada::prelude::*;\n\n\
         #[get(\"/health\")]\nasync fn health() -> &'static str { \"ok\" }\n\n\
         #[ws_connect]\nasync fn join(_id: ConnectionId) {}\n\n\
         #[ws_disconnect]\nasync fn leave(_id: ConnectionId) {}\n\n\
         #[ws_message(route = \"$default\")]\nasync fn other(_text: String) {}\n\n",
    );
    let mut names = vec![
        "health".to_owned(),
        "join".into(),
        "leave".into(),
        "other".into(),
    ];
    for (i, key) in extra.iter().enumerate() {
        src.push_str(&format!(
            "#[ws_message(route = \"{key}\")]\nasync fn m{i}(_text: String) {{}}\n\n"
        ));
        names.push(format!("m{i}"));
    }
    src.push_str(&format!(
        "#[lambada::main]\nasync fn main() -> Result<(), lambada::Error> {{\n    lambada::run(routes![{}]).await\n}}\n",
        names.join(", ")
    ));
    std::fs::write(dir.join("src/main.rs"), src).unwrap();
    dir.join("Cargo.toml")
}

fn deploy(moto: &Moto, manifest: &Path) -> (Value, Vec<(String, bool)>) {
    moto.start_recording();
    let report = moto.deploy_json_with(
        CLI,
        &[
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--api",
            "http",
        ],
        &[],
    );
    let calls = moto.recorded();
    assert_eq!(
        calls.len(),
        report["calls"].as_array().unwrap().len(),
        "our report counts what moto saw: {calls:#?}"
    );
    (report, calls)
}

fn writes(calls: &[(String, bool)]) -> Vec<&str> {
    calls.iter().filter(|c| c.1).map(|c| c.0.as_str()).collect()
}

async fn ws_apis(apigw2: &aws_sdk_apigatewayv2::Client) -> Vec<String> {
    apigw2
        .get_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .filter(|a| a.protocol_type().is_some_and(|p| p.as_str() == "WEBSOCKET"))
        .filter_map(|a| a.api_id().map(str::to_owned))
        .collect()
}

async fn route_keys(apigw2: &aws_sdk_apigatewayv2::Client, id: &str) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = apigw2
        .get_routes()
        .api_id(id)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .map(|r| {
            (
                r.route_key().unwrap_or_default().to_owned(),
                r.target().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn the_websocket_api_deploys_converges_and_is_removed() {
    let moto = Moto::start_with_recording();
    let dir = tempfile::tempdir().unwrap();
    let manifest = app(dir.path(), &["sendmessage"]);
    let conf = moto.sdk_config();
    let apigw2 = aws_sdk_apigatewayv2::Client::new(&conf);
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);
    let mut figures = Vec::new();

    let (report, calls) = deploy(&moto, &manifest);
    figures.push(format!(
        "from scratch: {} calls, {} writes",
        calls.len(),
        writes(&calls).len()
    ));
    // The HTTP API app's 12 calls, plus the WebSocket API's: `GetApis`,
    // then `CreateApi`, `CreateIntegration`, four `CreateRoute`,
    // `AddPermission`, `CreateStage`.
    let ws_calls: Vec<&str> = report["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["operation"].as_str())
        .filter(|o| o.starts_with("apigatewayv2:") || *o == "lambda:AddPermission")
        .collect();
    figures.push(format!(
        "  of which API Gateway v2 and permissions: {ws_calls:?}"
    ));
    assert_eq!((calls.len(), writes(&calls).len()), (21, 17), "{calls:#?}");
    let ws = ws_apis(&apigw2).await;
    assert_eq!(ws.len(), 1, "one WebSocket API");
    let id = &ws[0];
    assert_eq!(
        report["websocket_url"],
        format!("wss://{id}.execute-api.us-east-1.amazonaws.com/prod")
    );
    let api = apigw2.get_api().api_id(id).send().await.unwrap();
    assert_eq!(
        api.route_selection_expression(),
        Some("$request.body.action")
    );
    assert_eq!(api.name(), Some("chatws-websocket"));
    assert_eq!(api.tags().unwrap()["lambada:function"], "chatws");
    let integrations = apigw2.get_integrations().api_id(id).send().await.unwrap();
    assert_eq!(integrations.items().len(), 1);
    let integration = &integrations.items()[0];
    assert_eq!(
        integration.integration_type().unwrap().as_str(),
        "AWS_PROXY"
    );
    let function_arn = report["function_arn"].as_str().unwrap();
    assert!(
        integration
            .integration_uri()
            .unwrap()
            .contains(function_arn),
        "{:?}",
        integration.integration_uri()
    );
    let target = format!("integrations/{}", integration.integration_id().unwrap());
    assert_eq!(
        route_keys(&apigw2, id).await,
        [
            ("$connect".to_owned(), target.clone()),
            ("$default".to_owned(), target.clone()),
            ("$disconnect".to_owned(), target.clone()),
            ("sendmessage".to_owned(), target.clone()),
        ]
    );
    let stage = apigw2
        .get_stage()
        .api_id(id)
        .stage_name("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(stage.auto_deploy(), Some(true));
    // One permission scoped to this API (besides the HTTP API's).
    let policy = lambda
        .get_policy()
        .function_name("chatws")
        .send()
        .await
        .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let sources: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["Condition"]["ArnLike"]["AWS:SourceArn"].as_str())
        .collect();
    assert!(
        sources.contains(&format!("arn:aws:execute-api:us-east-1:123456789012:{id}/*").as_str()),
        "{sources:?}"
    );
    // The role may post to connections.
    let role_policy = iam
        .get_role_policy()
        .role_name("lambada-chatws")
        .policy_name("lambada-execution")
        .send()
        .await
        .unwrap();
    let doc = percent_decode(role_policy.policy_document());
    assert!(doc.contains("execute-api:ManageConnections"), "{doc}");

    // Unchanged: reads only.
    let (again, calls) = deploy(&moto, &manifest);
    figures.push(format!("no-op: {} reads", calls.len()));
    // The HTTP API app's 5 reads, and `GetApis` + `GetStage`.
    assert_eq!((writes(&calls).len(), calls.len()), (0, 7), "{calls:#?}");
    assert_eq!(again["up_to_date"], true);
    assert_eq!(again["websocket_url"], report["websocket_url"]);

    // A route gone, another added: those two written, and the tag.
    let manifest = app(dir.path(), &["typing"]);
    let (changed, _) = deploy(&moto, &manifest);
    // By name, from the report (moto's recording has URLs).
    let ws_writes: Vec<&str> = changed["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["write"] == true)
        .filter_map(|c| c["operation"].as_str())
        .filter(|o| o.starts_with("apigatewayv2:"))
        .collect();
    figures.push(format!("route changed: {ws_writes:?}"));
    assert_eq!(
        ws_writes,
        [
            "apigatewayv2:CreateRoute",
            "apigatewayv2:DeleteRoute",
            "apigatewayv2:TagResource"
        ]
    );
    let keys: Vec<String> = route_keys(&apigw2, id)
        .await
        .into_iter()
        .map(|k| k.0)
        .collect();
    assert_eq!(keys, ["$connect", "$default", "$disconnect", "typing"]);
    let (_, calls) = deploy(&moto, &manifest);
    assert!(writes(&calls).is_empty(), "{calls:#?}");

    // Remove: the API goes with the rest.
    let run = moto.lambada_with(
        CLI,
        &["remove", "--manifest-path", manifest.to_str().unwrap()],
        &[],
    );
    run.assert_success("remove");
    assert!(ws_apis(&apigw2).await.is_empty());
    eprintln!("{}", figures.join("\n"));
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
