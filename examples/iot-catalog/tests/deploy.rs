//! `cargo lambada deploy` and `remove` of this example against moto, as the
//! README's "Deploy it" runs them (the `iotCatalog` table created first,
//! outside deploy), with everything read back through the AWS SDK:
//!
//! - the package has two binaries: deploy builds `iot-catalog`, named by
//!   `bin` in `[package.metadata.lambada]`, without `--bin`;
//! - the API function `lambada-iot-catalog` behind a REST API with
//!   `POST /devices/activate` and the streaming `GET /devices/export.csv`
//!   (a `responseTransferMode: STREAM` integration on the
//!   `response-streaming-invocations` URI);
//! - the trigger function `lambada-iot-catalog-register` (`Handler` =
//!   `register`), from the same zip, with nothing wired to it (`#[invoke]`:
//!   no event-source mapping, no permission), and its ARN in deploy's
//!   summary (what the IoT rule of the README needs);
//! - `remove` deletes both functions and the REST API, and leaves the
//!   table.
//!
//! cargo-lambada is built once (`lambada_test_support::cargo_lambada`);
//! deploy builds the example (dev profile, `--debug`) in
//! `target/lambada-test-builds`. Needs `moto_server` on PATH.

mod common;

use lambada_test_support::Moto;
use lambada_test_support::apigw::{api_methods, rest_apis};

const FUNCTION: &str = "lambada-iot-catalog";
const TRIGGER: &str = "lambada-iot-catalog-register";

fn manifest() -> String {
    format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test]
async fn deploy_creates_the_register_function_and_the_api_and_remove_deletes_them() {
    let moto = Moto::start_with_recording();
    common::create_table(&moto, common::TABLE).await;
    let conf = moto.sdk_config();
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let manifest = manifest();

    // No `--bin`: the package's metadata names the binary.
    let deploy = moto.lambada(&["deploy", "--debug", "--manifest-path", &manifest]);
    deploy.assert_success("deploy");
    assert!(
        deploy
            .stderr
            .contains("building example-iot-catalog/iot-catalog (dev)"),
        "{}",
        deploy.stderr
    );

    // Two functions from one zip: the API's and the register trigger's.
    let (api_conf, conf) =
        lambada_test_support::lambda::api_and_trigger(&lambda, FUNCTION, TRIGGER, "register").await;
    let api_arn = api_conf.function_arn().unwrap().to_owned();
    let env = conf
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        env.get("CATALOG_TABLE").map(String::as_str),
        Some(common::TABLE),
        "{env:?}"
    );
    let trigger_arn = conf.function_arn().unwrap().to_owned();

    // `#[invoke]`: nothing is wired, and the summary names the ARN to
    // point the IoT rule at.
    let mappings = lambda
        .list_event_source_mappings()
        .function_name(TRIGGER)
        .send()
        .await
        .unwrap();
    assert!(mappings.event_source_mappings().is_empty(), "{mappings:?}");
    // No policy at all (moto: ResourceNotFound), or one with no statement.
    if let Ok(policy) = lambda.get_policy().function_name(TRIGGER).send().await {
        let doc: serde_json::Value = serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap();
        assert!(
            doc["Statement"].as_array().is_none_or(Vec::is_empty),
            "nothing may invoke {TRIGGER} yet: {doc:#}"
        );
    }
    for needle in [
        format!("register (invoke) → {trigger_arn}"),
        format!("invoke directly: {trigger_arn}"),
    ] {
        assert!(
            deploy.stdout.contains(&needle),
            "{needle} in:\n{}",
            deploy.stdout
        );
    }

    // The REST API: the route, integrated with the API function.
    let apis = rest_apis(&apigw, FUNCTION).await;
    let [api] = apis.as_slice() else {
        panic!("one REST API named {FUNCTION}: {apis:?}")
    };
    let uri = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{api_arn}/invocations"
    );
    let streaming = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/{api_arn}/response-streaming-invocations"
    );
    assert_eq!(
        api_methods(&apigw, api).await,
        [
            ("/devices/activate".to_owned(), "POST".to_owned(), uri),
            (
                "/devices/export.csv".to_owned(),
                "GET".to_owned(),
                streaming
            ),
        ]
    );
    // moto keeps the URI but not the transfer mode: what deploy sent.
    let import = moto
        .requests()
        .into_iter()
        .find(|r| {
            r["method"] == "POST"
                && r["url"]
                    .as_str()
                    .unwrap_or("")
                    .contains("/restapis?mode=import")
                || r["method"] == "PUT" && r["url"].as_str().unwrap_or("").contains("/restapis/")
        })
        .expect("the REST API's definition was sent");
    let definition: serde_json::Value =
        serde_json::from_str(&lambada_test_support::request_body(&import)).unwrap();
    let integration = |path: &str, method: &str| {
        definition["paths"][path][method]["x-amazon-apigateway-integration"].clone()
    };
    assert_eq!(
        integration("/devices/export.csv", "get")["responseTransferMode"],
        "STREAM"
    );
    assert!(
        integration("/devices/activate", "post")
            .get("responseTransferMode")
            .is_none()
    );

    // Remove: both functions and the API go; the table stays.
    moto.lambada(&["remove", "--manifest-path", &manifest])
        .assert_success("remove");
    for name in [TRIGGER, FUNCTION] {
        assert!(
            lambda
                .get_function()
                .function_name(name)
                .send()
                .await
                .is_err(),
            "{name} is left"
        );
    }
    assert!(rest_apis(&apigw, FUNCTION).await.is_empty());
    moto.dynamodb()
        .describe_table()
        .table_name(common::TABLE)
        .send()
        .await
        .expect("remove leaves the table");
}

/// Behind a function URL, an app with a streaming route gets a
/// `RESPONSE_STREAM` URL; a redeploy writes nothing.
#[tokio::test]
async fn a_function_url_of_a_streaming_app_streams() {
    let moto = Moto::start_with_recording();
    common::create_table(&moto, common::TABLE).await;
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config());
    let manifest = manifest();
    let deploy = moto.lambada(&[
        "deploy",
        "--debug",
        "--api",
        "url",
        "--manifest-path",
        &manifest,
    ]);
    deploy.assert_success("deploy");
    let url = lambda
        .get_function_url_config()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(
        url.invoke_mode(),
        Some(&aws_sdk_lambda::types::InvokeMode::ResponseStream)
    );
    assert!(
        deploy.stdout.contains(url.function_url()),
        "{}",
        deploy.stdout
    );
    moto.start_recording();
    moto.lambada(&[
        "deploy",
        "--debug",
        "--api",
        "url",
        "--manifest-path",
        &manifest,
    ])
    .assert_success("redeploy");
    assert_eq!(
        moto.writes(),
        Vec::<String>::new(),
        "a no-op redeploy writes nothing"
    );
}
