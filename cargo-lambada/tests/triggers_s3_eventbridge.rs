//! `#[s3]` and `#[event_pattern]` triggers against moto, with the fixture
//! app tests/fixtures/bucket_events: deploy wires the bucket notification
//! (merged with the bucket's other notifications, which survive deploy,
//! change and remove), the rules on their buses with their patterns and
//! targets, and the permissions scoped to the bucket and the rules; a
//! second deploy writes nothing; a changed filter or pattern is one write;
//! `remove` takes out only what is ours. Also `routes` and `package`
//! (cfn-lint) on the same fixture.
//!
//! Needs `moto_server` and `cfn-lint` on PATH (`./scripts/test` installs
//! them with pip).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, LambdaFunctionConfiguration, NotificationConfiguration,
    NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use lambada_test_support::{Moto, need, nested_target_dir};
use serde_json::{Value, json};

/// The cargo-lambada binary under test.
const CLI: &str = env!("CARGO_BIN_EXE_cargo-lambada");
const ACCOUNT: &str = "123456789012";
const CODE_BUCKET: &str = "bev-code";
const UPLOADS: &str = "bev-uploads";
const FOREIGN_QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:someone-elses-queue";
const FOREIGN_FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:someone-else";

/// A copy of tests/fixtures/bucket_events at a stable place, so every test
/// builds the same binary (a no-op deploy needs the same zip).
fn fixture() -> PathBuf {
    static ONCE: Mutex<()> = Mutex::new(());
    let _guard = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bucket_events");
    let dest = nested_target_dir().join("fixtures").join("bucket_events");
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

/// Held by the tests that build the fixture: a build running beside the
/// deploy test could remake the zip between its two deploys, and the
/// second would then (rightly) update the code.
static BUILDS: Mutex<()> = Mutex::new(());

fn one_build_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    BUILDS.lock().unwrap_or_else(|e| e.into_inner())
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}")
}

struct Clients {
    lambda: aws_sdk_lambda::Client,
    s3: aws_sdk_s3::Client,
    events: aws_sdk_eventbridge::Client,
}

fn clients(moto: &Moto) -> Clients {
    let conf = moto.sdk_config();
    Clients {
        lambda: aws_sdk_lambda::Client::new(&conf),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf)
                .force_path_style(true)
                .build(),
        ),
        events: aws_sdk_eventbridge::Client::new(&conf),
    }
}

/// The bucket and the bus deploy does not create; the bucket already
/// notifies someone else's queue and function.
async fn create_sources(c: &Clients) {
    c.s3.create_bucket().bucket(UPLOADS).send().await.unwrap();
    let foreign_lambda = LambdaFunctionConfiguration::builder()
        .id("someone-else")
        .lambda_function_arn(FOREIGN_FUNCTION)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(
                    S3KeyFilter::builder()
                        .filter_rules(
                            FilterRule::builder()
                                .name(FilterRuleName::Prefix)
                                .value("other/")
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
        .unwrap();
    let foreign_queue = QueueConfiguration::builder()
        .id("audit")
        .queue_arn(FOREIGN_QUEUE)
        .events(Event::from("s3:ObjectRemoved:*"))
        .build()
        .unwrap();
    c.s3.put_bucket_notification_configuration()
        .bucket(UPLOADS)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(foreign_queue)
                .lambda_function_configurations(foreign_lambda)
                .build(),
        )
        .send()
        .await
        .unwrap();
    c.events
        .create_event_bus()
        .name("bev-orders")
        .send()
        .await
        .unwrap();
}

/// The bucket's function entries: (id, function ARN, events, filter rules
/// as `name=value`), sorted by id.
async fn lambda_entries(c: &Clients) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let conf =
        c.s3.get_bucket_notification_configuration()
            .bucket(UPLOADS)
            .send()
            .await
            .unwrap();
    let mut out: Vec<_> = conf
        .lambda_function_configurations()
        .iter()
        .map(|l| {
            (
                l.id().unwrap_or_default().to_owned(),
                l.lambda_function_arn().to_owned(),
                l.events().iter().map(|e| e.as_str().to_owned()).collect(),
                l.filter()
                    .and_then(|f| f.key())
                    .map(|k| {
                        k.filter_rules()
                            .iter()
                            .map(|r| {
                                format!(
                                    "{}={}",
                                    r.name().unwrap().as_str().to_ascii_lowercase(),
                                    r.value().unwrap_or_default()
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The bucket's queue entries: (id, queue ARN).
async fn queue_entries(c: &Clients) -> Vec<(String, String)> {
    let conf =
        c.s3.get_bucket_notification_configuration()
            .bucket(UPLOADS)
            .send()
            .await
            .unwrap();
    conf.queue_configurations()
        .iter()
        .map(|q| {
            (
                q.id().unwrap_or_default().to_owned(),
                q.queue_arn().to_owned(),
            )
        })
        .collect()
}

/// `(sid, principal, source ARN, source account)` of each statement of a
/// function's policy.
async fn grants(c: &Clients, function: &str) -> Vec<(String, String, String, String)> {
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
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                text(&s["Sid"]),
                text(&s["Principal"]["Service"]),
                text(&s["Condition"]["ArnLike"]["AWS:SourceArn"]),
                text(&s["Condition"]["StringEquals"]["AWS:SourceAccount"]),
            )
        })
        .collect()
}

/// A rule's (pattern, state, ARN), and its targets as (id, ARN).
async fn rule(
    c: &Clients,
    name: &str,
    bus: &str,
) -> Option<(Value, String, String, Vec<(String, String)>)> {
    let r = c
        .events
        .describe_rule()
        .name(name)
        .event_bus_name(bus)
        .send()
        .await
        .ok()?;
    let targets = c
        .events
        .list_targets_by_rule()
        .rule(name)
        .event_bus_name(bus)
        .send()
        .await
        .unwrap();
    Some((
        serde_json::from_str(r.event_pattern().unwrap()).unwrap(),
        r.state().unwrap().as_str().to_owned(),
        r.arn().unwrap().to_owned(),
        targets
            .targets()
            .iter()
            .map(|t| (t.id().to_owned(), t.arn().to_owned()))
            .collect(),
    ))
}

fn foreign_lambda_entry() -> (String, String, Vec<String>, Vec<String>) {
    (
        "someone-else".into(),
        FOREIGN_FUNCTION.into(),
        vec!["s3:ObjectCreated:*".into()],
        vec!["prefix=other/".into()],
    )
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::await_holding_lock)] // the other tests wait, on their own threads
async fn deploy_read_back_converge_and_remove_s3_and_eventbridge_triggers() {
    let _build = one_build_at_a_time();
    let moto = Moto::start_with_recording();
    let c = clients(&moto);
    create_sources(&c).await;
    let manifest = fixture();
    let manifest = manifest.to_str().unwrap();
    let args = ["--manifest-path", manifest, "--bucket", CODE_BUCKET];

    // ---- First deploy.
    moto.start_recording();
    let first = moto.deploy_json_with(CLI, &args, &[]);
    let calls = moto.recorded();
    let writes = moto.writes();
    assert_eq!(
        calls.len(),
        first["calls"].as_array().unwrap().len(),
        "our report matches what moto saw: {calls:#?}"
    );
    eprintln!(
        "first deploy: {} calls, {} writes",
        calls.len(),
        writes.len()
    );

    // S3: our entry beside the foreign ones, which are kept.
    let upload = function_arn("bev-on-upload");
    assert_eq!(
        lambda_entries(&c).await,
        [
            (
                "lambada-bev-on-upload".to_owned(),
                upload.clone(),
                vec!["s3:ObjectCreated:*".to_owned()],
                vec!["prefix=incoming/".to_owned(), "suffix=.csv".to_owned()],
            ),
            foreign_lambda_entry(),
        ]
    );
    assert_eq!(
        queue_entries(&c).await,
        [("audit".to_owned(), FOREIGN_QUEUE.to_owned())]
    );
    assert_eq!(
        grants(&c, "bev-on-upload").await,
        [(
            "lambada-s3".to_owned(),
            "s3.amazonaws.com".to_owned(),
            format!("arn:aws:s3:::{UPLOADS}"),
            ACCOUNT.to_owned(),
        )]
    );

    // EventBridge: each rule on its bus, with its pattern, the function as
    // its target, and the permission scoped to the rule.
    let (pattern, state, arn, targets) = rule(&c, "bev-on-order-placed", "bev-orders")
        .await
        .expect("the rule on the app's bus");
    assert_eq!(
        pattern,
        json!({"source": ["shop.orders"], "detail-type": ["OrderPlaced"]})
    );
    assert_eq!(state, "ENABLED");
    assert_eq!(
        arn,
        format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/bev-orders/bev-on-order-placed")
    );
    assert_eq!(
        targets,
        [("lambada".to_owned(), function_arn("bev-on-order-placed"))]
    );
    assert_eq!(
        grants(&c, "bev-on-order-placed").await,
        [(
            "lambada-rule".to_owned(),
            "events.amazonaws.com".to_owned(),
            arn.clone(),
            String::new(),
        )]
    );
    let (pattern, _, default_arn, targets) = rule(&c, "bev-on-instance", "default")
        .await
        .expect("the rule on the default bus");
    assert_eq!(pattern, json!({"source": ["aws.ec2"]}));
    assert_eq!(
        default_arn,
        format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/bev-on-instance")
    );
    assert_eq!(
        targets,
        [("lambada".to_owned(), function_arn("bev-on-instance"))]
    );
    assert_eq!(grants(&c, "bev-on-instance").await[0].2, default_arn);

    // The report names the wiring.
    let reports = first["triggers"].as_array().unwrap();
    assert_eq!(reports.len(), 3);
    let r = reports
        .iter()
        .find(|r| r["handler"] == "on_upload")
        .unwrap();
    assert_eq!(r["kind"], "s3");
    assert_eq!(r["source"], UPLOADS);
    assert!(
        r["wiring"][0]
            .as_str()
            .unwrap()
            .contains("notification lambada-bev-on-upload"),
        "{r}"
    );

    // ---- Second deploy of the same build: reads only.
    moto.start_recording();
    let again = moto.deploy_json_with(CLI, &args, &[]);
    let writes = moto.writes();
    assert!(writes.is_empty(), "a no-op deploy wrote: {writes:#?}");
    assert_eq!(again["up_to_date"], true, "{}", again["changes"]);
    eprintln!("no-op deploy: {} calls, 0 writes", moto.recorded().len());

    // ---- A changed filter and pattern: one write each, the foreign
    // entries kept.
    moto.start_recording();
    moto.deploy_json_with(
        CLI,
        &args,
        &[
            ("BEV_PREFIX", "uploads/"),
            ("BEV_DETAIL_TYPE", "OrderShipped"),
        ],
    );
    let writes = moto.writes();
    assert_eq!(writes.len(), 2, "{writes:#?}");
    assert!(
        writes.iter().any(|w| w.contains("notification")),
        "{writes:#?}"
    );
    assert!(writes.iter().any(|w| w.contains("PutRule")), "{writes:#?}");
    let entries = lambda_entries(&c).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].3, ["prefix=uploads/", "suffix=.csv"]);
    assert_eq!(entries[1], foreign_lambda_entry());
    assert_eq!(queue_entries(&c).await.len(), 1);
    let (pattern, ..) = rule(&c, "bev-on-order-placed", "bev-orders").await.unwrap();
    assert_eq!(pattern["detail-type"], json!(["OrderShipped"]));

    // ---- Remove: ours is gone, the bucket's other notifications, the
    // bucket and the bus are not.
    let run = moto.lambada_with(
        CLI,
        &[
            "remove",
            "--manifest-path",
            manifest,
            "--bucket",
            CODE_BUCKET,
        ],
        &[],
    );
    assert!(run.status.success(), "{}", run.stderr);
    assert_eq!(lambda_entries(&c).await, [foreign_lambda_entry()]);
    assert_eq!(
        queue_entries(&c).await,
        [("audit".to_owned(), FOREIGN_QUEUE.to_owned())]
    );
    assert!(
        rule(&c, "bev-on-order-placed", "bev-orders")
            .await
            .is_none()
    );
    assert!(rule(&c, "bev-on-instance", "default").await.is_none());
    let functions = c.lambda.list_functions().send().await.unwrap();
    assert!(functions.functions().is_empty(), "{functions:?}");
    c.events
        .describe_event_bus()
        .name("bev-orders")
        .send()
        .await
        .expect("the bus is left");
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::await_holding_lock)] // the other tests wait, on their own threads
async fn a_missing_bucket_is_named() {
    let _build = one_build_at_a_time();
    let moto = Moto::start_with_recording();
    let c = clients(&moto);
    c.events
        .create_event_bus()
        .name("bev-orders")
        .send()
        .await
        .unwrap();
    let manifest = fixture();
    let run = moto.lambada_with(
        CLI,
        &[
            "deploy",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--bucket",
            CODE_BUCKET,
        ],
        &[],
    );
    assert!(!run.status.success());
    assert!(
        run.stderr
            .contains("the S3 bucket `bev-uploads` does not exist: create it first"),
        "{}",
        run.stderr
    );
}

#[test]
fn routes_lists_the_bucket_and_the_patterns() {
    let _build = one_build_at_a_time();
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
    let line = |kind: &str, handler: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(kind) && l.contains(handler))
            .unwrap_or_else(|| panic!("no {kind} {handler} line in:\n{stdout}"))
            .to_owned()
    };
    let s3 = line("s3", "on_upload");
    for needle in [
        UPLOADS,
        "s3:ObjectCreated:*, prefix incoming/, suffix .csv",
        "bev-on-upload",
    ] {
        assert!(s3.contains(needle), "{needle} in {s3}");
    }
    let eb = line("event_pattern", "on_order_placed");
    for needle in [
        "bev-orders",
        "\"detail-type\":[\"OrderPlaced\"]",
        "bev-on-order-placed",
    ] {
        assert!(eb.contains(needle), "{needle} in {eb}");
    }
}

#[test]
fn package_emits_the_rules_and_the_bucket_permission() {
    need("cfn-lint");
    let _build = one_build_at_a_time();
    let out = tempfile::tempdir().unwrap();
    let manifest = fixture();
    let status = Command::new(CLI)
        .args(["lambada", "package", "--debug", "--manifest-path"])
        .arg(&manifest)
        .arg("--out")
        .arg(out.path())
        .args(["--region", "us-east-1", "--bucket", CODE_BUCKET])
        .env("CARGO_TARGET_DIR", nested_target_dir())
        .status()
        .unwrap();
    assert!(status.success());
    let path = out.path().join("template.json");
    let t: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let r = &t["Resources"];
    let rule = &r["TriggerOnOrderPlacedRule"]["Properties"];
    assert_eq!(rule["EventBusName"], "bev-orders");
    assert_eq!(
        rule["EventPattern"],
        json!({"source": ["shop.orders"], "detail-type": ["OrderPlaced"]})
    );
    assert_eq!(
        rule["Targets"][0]["Arn"],
        json!({"Fn::GetAtt": ["TriggerOnOrderPlacedFunction", "Arn"]})
    );
    let p = &r["TriggerOnOrderPlacedPermission"]["Properties"];
    assert_eq!(p["Principal"], "events.amazonaws.com");
    assert_eq!(
        p["SourceArn"],
        json!({"Fn::GetAtt": ["TriggerOnOrderPlacedRule", "Arn"]})
    );
    assert_eq!(
        r["TriggerOnInstanceRule"]["Properties"]["EventBusName"],
        "default"
    );
    let p = &r["TriggerOnUploadPermission"]["Properties"];
    assert_eq!(p["Principal"], "s3.amazonaws.com");
    assert_eq!(p["SourceAccount"], json!({"Ref": "AWS::AccountId"}));
    assert_eq!(
        p["SourceArn"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::bev-uploads"})
    );
    // The notification itself, for a bucket the stack does not own, is an
    // output to apply (deploy does).
    let note = &t["Outputs"]["TriggerOnUploadBucketNotification"];
    assert!(
        note["Description"]
            .as_str()
            .unwrap()
            .contains("CloudFormation cannot change a bucket it did not create"),
        "{note}"
    );
    let entry = note["Value"]["Fn::Sub"][0].as_str().unwrap();
    let entry: Value = serde_json::from_str(entry).unwrap();
    assert_eq!(entry["Id"], "lambada-bev-on-upload");
    assert_eq!(entry["Events"], json!(["s3:ObjectCreated:*"]));

    let l = Command::new("cfn-lint").arg(&path).output().unwrap();
    assert!(
        l.status.success(),
        "cfn-lint: {}{}",
        String::from_utf8_lossy(&l.stdout),
        String::from_utf8_lossy(&l.stderr)
    );
}
