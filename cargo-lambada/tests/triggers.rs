//! Triggers against moto: `deploy` of an app with one trigger of each kind
//! (tests/fixtures/triggers), everything read back through the AWS APIs; a
//! second deploy writes nothing; changed settings converge; a trigger
//! dropped from the app is unwired and deleted; `remove` leaves nothing of
//! ours and everything else. Also `routes` and `package` (cfn-lint) on the
//! same fixture.
//!
//! Needs `moto_server` and `cfn-lint` on PATH (`./scripts/test` installs
//! them with pip).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use lambada_test_support::{Moto, need, nested_target_dir};
use serde_json::{Value, json};

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

/// [`deploy_json`] with `env` added to cargo-lambada's environment.
fn deploy_json_env(moto: &Moto, args: &[&str], env: &[(&str, &str)]) -> Value {
    moto.deploy_json_with(CLI, args, env)
}

const ACCOUNT: &str = "123456789012";
const BUCKET: &str = "trig-code";

/// A copy of tests/fixtures/triggers at a stable place, so every test
/// builds the same path into the same binary (a no-op deploy needs the
/// same zip). Files are rewritten only when they differ.
fn fixture() -> PathBuf {
    static ONCE: Mutex<()> = Mutex::new(());
    let _guard = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/triggers");
    let dest = nested_target_dir().join("fixtures").join("triggers");
    for file in ["Cargo.toml", "src/main.rs"] {
        let content = std::fs::read(src.join(file)).unwrap();
        let to = dest.join(file);
        if std::fs::read(&to).ok().as_deref() != Some(content.as_slice()) {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::write(&to, content).unwrap();
        }
    }
    dest.join("Cargo.toml")
}

/// The functions the fixture deploys: (function, handler, timeout, memory).
const FUNCTIONS: [(&str, &str, i32, i32); 6] = [
    ("trig-on-notification", "on_notification", 20, 128),
    ("trig-on-order", "on_order", 30, 256),
    ("trig-on-click", "on_click", 30, 128),
    ("trig-on-device-change", "on_device_change", 30, 128),
    ("trig-sync", "sync", 30, 128),
    ("trig-register", "register", 5, 128),
];

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

fn topic_arn(name: &str) -> String {
    format!("arn:aws:sns:us-east-1:{ACCOUNT}:{name}")
}

struct Clients {
    lambda: aws_sdk_lambda::Client,
    sns: aws_sdk_sns::Client,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    kinesis: aws_sdk_kinesis::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    iam: aws_sdk_iam::Client,
    apigw: aws_sdk_apigateway::Client,
}

async fn clients(moto: &Moto) -> Clients {
    let conf = moto.sdk_config();
    Clients {
        lambda: aws_sdk_lambda::Client::new(&conf),
        sns: aws_sdk_sns::Client::new(&conf),
        sqs: aws_sdk_sqs::Client::new(&conf),
        events: aws_sdk_eventbridge::Client::new(&conf),
        kinesis: aws_sdk_kinesis::Client::new(&conf),
        dynamodb: aws_sdk_dynamodb::Client::new(&conf),
        iam: aws_sdk_iam::Client::new(&conf),
        apigw: aws_sdk_apigateway::Client::new(&conf),
    }
}

/// The sources deploy does not create: the queue, the stream, the table
/// with its stream. Returns (queue ARN, stream ARN, table stream ARN).
async fn create_sources(c: &Clients) -> (String, String, String) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        StreamSpecification, StreamViewType,
    };
    let url = c
        .sqs
        .create_queue()
        .queue_name("trig-orders")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let queue = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    c.kinesis
        .create_stream()
        .stream_name("trig-clicks")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let stream = c
        .kinesis
        .describe_stream_summary()
        .stream_name("trig-clicks")
        .send()
        .await
        .unwrap()
        .stream_description_summary()
        .unwrap()
        .stream_arn()
        .to_owned();
    let table = c
        .dynamodb
        .create_table()
        .table_name("trig-devices")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let table_stream = table
        .table_description()
        .and_then(|t| t.latest_stream_arn())
        .expect("the table has a stream")
        .to_owned();
    (queue, stream, table_stream)
}

/// `(sid, principal, source ARN)` of each statement of a function's policy.
async fn grants(c: &Clients, function: &str) -> Vec<(String, String, String)> {
    let policy = match c.lambda.get_policy().function_name(function).send().await {
        Ok(p) => p.policy().unwrap_or("{}").to_owned(),
        Err(_) => return Vec::new(),
    };
    let v: Value = serde_json::from_str(&policy).unwrap();
    v["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Sid"].as_str().unwrap_or_default().to_owned(),
                s["Principal"]["Service"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                s["Condition"]["ArnLike"]["AWS:SourceArn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

/// The event-source mappings of a function.
async fn mappings(
    c: &Clients,
    function: &str,
) -> Vec<aws_sdk_lambda::types::EventSourceMappingConfiguration> {
    c.lambda
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await
        .unwrap()
        .event_source_mappings()
        .to_vec()
}

/// The `lambda` subscriptions of a topic: (subscription ARN, endpoint).
async fn subscriptions(c: &Clients, topic: &str) -> Vec<(String, String)> {
    match c
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
    {
        Ok(out) => out
            .subscriptions()
            .iter()
            .filter(|s| s.protocol() == Some("lambda"))
            .map(|s| {
                (
                    s.subscription_arn().unwrap_or_default().to_owned(),
                    s.endpoint().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Names of the functions in the account.
async fn function_names(c: &Clients) -> Vec<String> {
    let mut names: Vec<String> = c
        .lambda
        .list_functions()
        .send()
        .await
        .unwrap()
        .functions()
        .iter()
        .filter_map(|f| f.function_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

async fn topic_names(c: &Clients) -> Vec<String> {
    let mut names: Vec<String> = c
        .sns
        .list_topics()
        .send()
        .await
        .unwrap()
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn().map(str::to_owned))
        .collect();
    names.sort();
    names
}

async fn rule_names(c: &Clients) -> Vec<String> {
    c.events
        .list_rules()
        .send()
        .await
        .unwrap()
        .rules()
        .iter()
        .filter_map(|r| r.name().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_read_back_converge_and_remove_every_kind_of_trigger() {
    let moto = Moto::start_with_recording();
    let c = clients(&moto).await;
    let (queue, stream, table_stream) = create_sources(&c).await;
    // Someone else's topic: remove must leave it.
    c.sns.create_topic().name("not-ours").send().await.unwrap();
    let manifest = fixture();
    let manifest = manifest.to_str().unwrap();
    let args = ["--manifest-path", manifest, "--bucket", BUCKET];

    // ---- First deploy.
    moto.start_recording();
    let first = deploy_json(&moto, &args);
    let calls = moto.recorded();
    assert_eq!(
        calls.len(),
        first["calls"].as_array().unwrap().len(),
        "our report matches what moto saw: {calls:#?}"
    );

    // The API function as before, and one function per trigger: same code,
    // Handler = the handler's name, the trigger's timeout and memory, tags.
    let api = c
        .lambda
        .get_function()
        .function_name("trig")
        .send()
        .await
        .unwrap();
    let api_conf = api.configuration().unwrap();
    assert_eq!(api_conf.handler(), Some("bootstrap"));
    let code = api_conf.code_sha256().unwrap().to_owned();
    for (name, handler, timeout, memory) in FUNCTIONS {
        let f = c
            .lambda
            .get_function()
            .function_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("function {name}: {e:?}"));
        let conf = f.configuration().unwrap();
        assert_eq!(conf.handler(), Some(handler), "{name}");
        assert_eq!(conf.timeout(), Some(timeout), "{name}");
        assert_eq!(conf.memory_size(), Some(memory), "{name}");
        assert_eq!(conf.code_sha256(), Some(code.as_str()), "{name}: same zip");
        assert_eq!(conf.role(), api_conf.role(), "{name}: same role");
        let tags = f.tags().unwrap();
        assert_eq!(
            tags.get("lambada:function").map(String::as_str),
            Some("trig")
        );
        assert_eq!(
            tags.get("lambada:trigger").map(String::as_str),
            Some(handler)
        );
        let reserved = f
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions());
        let expected = (name == "trig-on-order").then_some(3);
        assert_eq!(reserved, expected, "{name}: reserved concurrency");
    }

    // SNS: the topic deploy created (tagged), subscribed, with permission.
    let topic = topic_arn("trig-notifications");
    assert_eq!(
        subscriptions(&c, &topic).await,
        [(
            subscriptions(&c, &topic).await[0].0.clone(),
            function_arn("trig-on-notification")
        )]
    );
    let tags = c
        .sns
        .list_tags_for_resource()
        .resource_arn(&topic)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "lambada:function" && t.value() == "trig")
    );
    assert_eq!(
        grants(&c, "trig-on-notification").await,
        [(
            "lambada-sns".to_owned(),
            "sns.amazonaws.com".to_owned(),
            topic.clone()
        )]
    );

    // EventBridge: the rule, its target with the input, the permission.
    let rule = c
        .events
        .describe_rule()
        .name("trig-sync")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression(), Some("rate(15 minutes)"));
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
    let rule_arn = rule.arn().unwrap().to_owned();
    let targets = c
        .events
        .list_targets_by_rule()
        .rule("trig-sync")
        .send()
        .await
        .unwrap();
    let [target] = targets.targets() else {
        panic!("one target: {targets:?}")
    };
    assert_eq!(target.id(), "lambada");
    assert_eq!(target.arn(), function_arn("trig-sync"));
    let input: Value = serde_json::from_str(target.input().unwrap()).unwrap();
    assert_eq!(input, json!({"Domain": "example.com"}));
    assert_eq!(
        grants(&c, "trig-sync").await,
        [(
            "lambada-events".to_owned(),
            "events.amazonaws.com".to_owned(),
            rule_arn.clone()
        )]
    );

    // Event-source mappings: source, batch size, window, starting
    // position, partial batch failures.
    let check_mapping = |m: &aws_sdk_lambda::types::EventSourceMappingConfiguration,
                         source: &str,
                         batch: i32,
                         window: i32,
                         position: Option<&str>| {
        assert_eq!(m.event_source_arn(), Some(source));
        assert_eq!(m.batch_size(), Some(batch), "{source}");
        assert_eq!(
            m.maximum_batching_window_in_seconds().unwrap_or(0),
            window,
            "{source}"
        );
        assert_eq!(
            m.starting_position().map(|p| p.as_str()),
            position,
            "{source}"
        );
        assert_eq!(
            m.function_response_types(),
            [aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures],
            "{source}"
        );
    };
    let order = mappings(&c, "trig-on-order").await;
    assert_eq!(order.len(), 1);
    check_mapping(&order[0], &queue, 10, 5, None);
    let order_uuid = order[0].uuid().unwrap().to_owned();
    let click = mappings(&c, "trig-on-click").await;
    assert_eq!(click.len(), 1);
    check_mapping(&click[0], &stream, 100, 0, Some("LATEST"));
    let device = mappings(&c, "trig-on-device-change").await;
    assert_eq!(device.len(), 1);
    check_mapping(&device[0], &table_stream, 100, 0, Some("TRIM_HORIZON"));
    // Nothing is wired to the invoke trigger.
    assert!(mappings(&c, "trig-register").await.is_empty());
    assert!(grants(&c, "trig-register").await.is_empty());

    // The role reads exactly the polled sources.
    let policy = c
        .iam
        .get_role_policy()
        .role_name("lambada-trig")
        .policy_name("lambada-execution")
        .send()
        .await
        .unwrap();
    let text = policy.policy_document().to_owned();
    let text = if text.starts_with('{') {
        text
    } else {
        percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let resources: BTreeMap<String, Value> = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Resource"].is_array())
        .map(|s| {
            (
                s["Action"][0].as_str().unwrap().to_owned(),
                s["Resource"].clone(),
            )
        })
        .collect();
    assert_eq!(resources["sqs:ReceiveMessage"], json!([queue]));
    assert_eq!(resources["kinesis:DescribeStream"], json!([stream]));
    assert_eq!(resources["dynamodb:DescribeStream"], json!([table_stream]));

    // The report names every trigger's wiring.
    let reports = first["triggers"].as_array().unwrap();
    assert_eq!(reports.len(), 6);
    let sync = reports.iter().find(|r| r["handler"] == "sync").unwrap();
    assert_eq!(sync["function"], "trig-sync");
    assert!(sync["wiring"][0].as_str().unwrap().contains(&rule_arn));

    // ---- Second deploy of the same build: reads only.
    moto.start_recording();
    let again = deploy_json(&moto, &args);
    let writes = moto.writes();
    assert!(writes.is_empty(), "a no-op deploy wrote: {writes:#?}");
    assert_eq!(again["up_to_date"], true, "{}", again["changes"]);

    // The text summary prints each trigger's wiring (and writes nothing).
    moto.start_recording();
    let mut text_args = vec!["deploy", "--debug"];
    text_args.extend_from_slice(&args);
    let (ok, stdout, stderr) = cli(&moto, &text_args);
    assert!(ok, "{stderr}");
    assert!(moto.writes().is_empty());
    for needle in [
        format!("sync (schedule) → {}", function_arn("trig-sync")),
        format!("eventbridge rule {rule_arn}"),
        format!("subscription {}", subscriptions(&c, &topic).await[0].0),
        format!("sqs {queue} → mapping {order_uuid} (batch 10, window 5 s)"),
        format!("register (invoke) → {}", function_arn("trig-register")),
    ] {
        assert!(stdout.contains(&needle), "{needle} in:\n{stdout}");
    }

    // ---- Changed settings converge: one update each, the same mapping.
    moto.start_recording();
    let changed = deploy_json_env(
        &moto,
        &args,
        &[
            ("TRIGGERS_SQS_BATCH", "20"),
            ("TRIGGERS_SCHEDULE", "rate(1 hour)"),
        ],
    );
    let writes = moto.writes();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert!(
        writes.iter().any(|w| w.contains("event-source-mappings")),
        "{writes:#?}"
    );
    assert!(writes.iter().any(|w| w.contains("PutRule")), "{writes:#?}");
    let order = mappings(&c, "trig-on-order").await;
    assert_eq!(order.len(), 1);
    assert_eq!(order[0].uuid(), Some(order_uuid.as_str()));
    check_mapping(&order[0], &queue, 20, 5, None);
    let rule = c
        .events
        .describe_rule()
        .name("trig-sync")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression(), Some("rate(1 hour)"));
    assert!(
        changed["changes"]
            .to_string()
            .contains("batch size Some(10) → 20")
    );

    // A trigger's timeout and reserved concurrency converge too.
    moto.start_recording();
    deploy_json_env(
        &moto,
        &args,
        &[
            ("TRIGGERS_SQS_BATCH", "20"),
            ("TRIGGERS_SCHEDULE", "rate(1 hour)"),
            ("TRIGGERS_SNS_TIMEOUT", "40"),
            ("TRIGGERS_SQS_CONCURRENCY", "null"),
        ],
    );
    let writes = moto.writes();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert!(
        writes.iter().any(|w| w.contains("/concurrency")),
        "{writes:#?}"
    );
    let f = c
        .lambda
        .get_function()
        .function_name("trig-on-notification")
        .send()
        .await
        .unwrap();
    assert_eq!(f.configuration().unwrap().timeout(), Some(40));
    assert_eq!(
        f.configuration().unwrap().handler(),
        Some("on_notification")
    );
    let f = c
        .lambda
        .get_function()
        .function_name("trig-on-order")
        .send()
        .await
        .unwrap();
    assert_eq!(
        f.concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        None
    );

    // ---- Triggers dropped from the app: their functions, subscription,
    // rule and mapping go; the topic deploy created goes; the rest stays.
    let env = [
        ("TRIGGERS_SQS_BATCH", "20"),
        ("TRIGGERS_SCHEDULE", "rate(1 hour)"),
        ("TRIGGERS_DROP", "on_notification,sync,on_click"),
    ];
    deploy_json_env(&moto, &args, &env);
    let names = function_names(&c).await;
    for gone in ["trig-on-notification", "trig-sync", "trig-on-click"] {
        assert!(!names.contains(&gone.to_owned()), "{gone} in {names:?}");
    }
    for kept in [
        "trig",
        "trig-on-order",
        "trig-on-device-change",
        "trig-register",
    ] {
        assert!(names.contains(&kept.to_owned()), "{kept} not in {names:?}");
    }
    assert!(subscriptions(&c, &topic).await.is_empty());
    assert!(!topic_names(&c).await.contains(&topic));
    assert!(topic_names(&c).await.contains(&topic_arn("not-ours")));
    assert!(!rule_names(&c).await.contains(&"trig-sync".to_owned()));
    assert!(mappings(&c, "trig-on-click").await.is_empty());
    assert_eq!(mappings(&c, "trig-on-order").await.len(), 1);
    // And that state is stable too.
    moto.start_recording();
    let stable = deploy_json_env(&moto, &args, &env);
    assert!(moto.writes().is_empty(), "{:#?}", moto.writes());
    assert_eq!(stable["up_to_date"], true);

    // A trigger moving to another topic: unsubscribed from the old one,
    // subscribed to the new one, the permission follows.
    deploy_json_env(&moto, &args, &[("TRIGGERS_SNS_TOPIC", "trig-other")]);
    let other = topic_arn("trig-other");
    assert_eq!(subscriptions(&c, &other).await.len(), 1);
    assert!(subscriptions(&c, &topic).await.is_empty());
    assert_eq!(grants(&c, "trig-on-notification").await[0].2, other);
    assert!(
        !topic_names(&c).await.contains(&topic),
        "the old topic deploy created is deleted"
    );

    // ---- Remove: nothing of ours is left; the sources and the foreign
    // topic are.
    let (ok, _, stderr) = cli(
        &moto,
        &["remove", "--manifest-path", manifest, "--bucket", BUCKET],
    );
    assert!(ok, "{stderr}");
    assert!(
        function_names(&c).await.is_empty(),
        "{:?}",
        function_names(&c).await
    );
    assert_eq!(topic_names(&c).await, [topic_arn("not-ours")]);
    assert!(rule_names(&c).await.is_empty());
    let all_mappings = c.lambda.list_event_source_mappings().send().await.unwrap();
    assert!(
        all_mappings.event_source_mappings().is_empty(),
        "{all_mappings:?}"
    );
    assert!(
        c.apigw
            .get_rest_apis()
            .send()
            .await
            .unwrap()
            .items()
            .is_empty()
    );
    assert!(
        c.iam
            .get_role()
            .role_name("lambada-trig")
            .send()
            .await
            .is_err()
    );
    c.sqs
        .get_queue_url()
        .queue_name("trig-orders")
        .send()
        .await
        .unwrap();
    c.kinesis
        .describe_stream_summary()
        .stream_name("trig-clicks")
        .send()
        .await
        .unwrap();
    c.dynamodb
        .describe_table()
        .table_name("trig-devices")
        .send()
        .await
        .unwrap();
    let (ok, _, stderr) = cli(
        &moto,
        &["remove", "--manifest-path", manifest, "--bucket", BUCKET],
    );
    assert!(ok && stderr.contains("nothing to remove"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_sources_are_named_before_anything_is_created() {
    let moto = Moto::start_with_recording();
    let manifest = fixture();
    moto.start_recording();
    let (ok, _, stderr) = cli(
        &moto,
        &[
            "deploy",
            "--debug",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--bucket",
            BUCKET,
        ],
    );
    assert!(!ok);
    assert!(
        stderr.contains("the SQS queue `trig-orders` does not exist in us-east-1: create it first"),
        "{stderr}"
    );
    // Sources are read before anything is written.
    let writes = moto.writes();
    assert!(writes.is_empty(), "{writes:#?}");

    // A table without a stream: the error says how to turn it on.
    let c = clients(&moto).await;
    c.sqs
        .create_queue()
        .queue_name("trig-orders")
        .send()
        .await
        .unwrap();
    c.kinesis
        .create_stream()
        .stream_name("trig-clicks")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    c.dynamodb
        .create_table()
        .table_name("trig-devices")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    moto.start_recording();
    let (ok, _, stderr) = cli(
        &moto,
        &[
            "deploy",
            "--debug",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--bucket",
            BUCKET,
        ],
    );
    assert!(!ok);
    assert!(
        stderr.contains("the DynamoDB table `trig-devices` has no stream: turn streams on"),
        "{stderr}"
    );
    assert!(moto.writes().is_empty(), "{:#?}", moto.writes());
}

#[test]
fn routes_lists_the_triggers_and_the_functions_they_deploy_to() {
    let manifest = fixture();
    let out = Command::new(CLI)
        .args(["lambada", "routes", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("sqs"))
        .unwrap_or_else(|| panic!("no sqs line in:\n{stdout}"));
    for needle in [
        "trig-orders",
        "batch 10, window 5 s, memory 256 MB, concurrency 3",
        "on_order",
        "trig-on-order",
    ] {
        assert!(line.contains(needle), "{needle} in {line}");
    }
    assert!(stdout.contains("/items/<id>"), "{stdout}");
    assert!(stdout.contains("TRIGGER"), "{stdout}");

    let out = Command::new(CLI)
        .args(["lambada", "routes", "--json", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["routes"].as_array().unwrap().len(), 2);
    let ts = v["triggers"].as_array().unwrap();
    assert_eq!(ts.len(), 6);
    let sync = ts.iter().find(|t| t["handler"] == "sync").unwrap();
    assert_eq!(sync["function"], "trig-sync");
    assert_eq!(sync["kind"], "schedule");
    assert_eq!(sync["input"], json!({"Domain": "example.com"}));
}

#[test]
fn package_emits_every_trigger_and_validates_with_cfn_lint() {
    need("cfn-lint");
    let out = tempfile::tempdir().unwrap();
    let manifest = fixture();
    let status = Command::new(CLI)
        .args(["lambada", "package", "--debug", "--manifest-path"])
        .arg(&manifest)
        .arg("--out")
        .arg(out.path())
        .args(["--region", "us-east-1", "--bucket", BUCKET])
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .status()
        .unwrap();
    assert!(status.success());
    let path = out.path().join("template.json");
    let t: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let r = &t["Resources"];
    let types = |ty: &str| {
        r.as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v["Type"] == ty)
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>()
    };
    // The API function and six trigger functions, all from the same code.
    assert_eq!(types("AWS::Lambda::Function").len(), 7);
    let f = &r["TriggerOnOrderFunction"]["Properties"];
    assert_eq!(f["Handler"], "on_order");
    assert_eq!(f["FunctionName"], "trig-on-order");
    assert_eq!(f["MemorySize"], 256);
    assert_eq!(f["ReservedConcurrentExecutions"], 3);
    assert_eq!(f["Code"], r["Function"]["Properties"]["Code"]);
    assert_eq!(types("AWS::SNS::Topic"), ["TopicTrigNotifications"]);
    assert_eq!(types("AWS::SNS::Subscription").len(), 1);
    let rule = &r["TriggerSyncRule"]["Properties"];
    assert_eq!(rule["ScheduleExpression"], "rate(15 minutes)");
    assert_eq!(
        serde_json::from_str::<Value>(rule["Targets"][0]["Input"].as_str().unwrap()).unwrap(),
        json!({"Domain": "example.com"})
    );
    assert_eq!(types("AWS::Lambda::EventSourceMapping").len(), 3);
    let m = &r["TriggerOnDeviceChangeMapping"]["Properties"];
    assert_eq!(m["StartingPosition"], "TRIM_HORIZON");
    assert_eq!(m["EventSourceArn"], json!({"Ref": "TrigDevicesStreamArn"}));
    assert!(t["Parameters"]["TrigDevicesStreamArn"].is_object());
    // Permissions: one per route, and one each for SNS and EventBridge.
    let principals: Vec<String> = types("AWS::Lambda::Permission")
        .iter()
        .map(|k| r[k]["Properties"]["Principal"].as_str().unwrap().to_owned())
        .collect();
    assert!(principals.contains(&"sns.amazonaws.com".to_owned()));
    assert!(principals.contains(&"events.amazonaws.com".to_owned()));
    let policy = r["Role"]["Properties"]["Policies"].to_string();
    assert!(policy.contains("sqs:ReceiveMessage") && policy.contains("trig-orders"));

    let l = Command::new("cfn-lint").arg(&path).output().unwrap();
    assert!(
        l.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&l.stdout),
        String::from_utf8_lossy(&l.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_of_someone_else_is_not_taken_over() {
    let moto = Moto::start_with_recording();
    let c = clients(&moto).await;
    create_sources(&c).await;
    // A function named like a trigger's, not made by cargo-lambada.
    let role = c
        .iam
        .create_role()
        .role_name("someone-else")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let mut zip = std::io::Cursor::new(Vec::new());
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(&mut zip);
        w.start_file("bootstrap", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"#!/bin/sh\n").unwrap();
        w.finish().unwrap();
    }
    c.lambda
        .create_function()
        .function_name("trig-register")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip.into_inner()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let manifest = fixture();
    moto.start_recording();
    let (ok, _, stderr) = cli(
        &moto,
        &[
            "deploy",
            "--debug",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--bucket",
            BUCKET,
        ],
    );
    assert!(!ok);
    assert!(
        stderr
            .contains("the function trig-register exists and is not tagged lambada:function=trig")
            && stderr.contains("rename the handler or delete that function"),
        "{stderr}"
    );
    assert!(moto.writes().is_empty(), "{:#?}", moto.writes());
}
