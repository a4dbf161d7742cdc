//! `cargo lambada deploy` and `remove` of this example against moto, as the
//! README's "Deploy it" runs them (the table created first, outside deploy),
//! with everything read back through the AWS SDK:
//!
//! - the API function `lambada-ses-mailing` behind a REST API with
//!   `GET /mailing/{email}`;
//! - the trigger function `lambada-ses-mailing-on-ses-notification`
//!   (`Handler` = `on_ses_notification`), from the same zip;
//! - the topic `ses-notifications`, created by deploy, with a `lambda`
//!   subscription to that function, and the function's permission for
//!   SNS from that topic;
//! - `remove` deletes the functions, the subscription, the topic and the
//!   REST API, and leaves the table.
//!
//! cargo-lambada is built once (`lambada_test_support::cargo_lambada`);
//! deploy builds the example (dev profile, `--debug`) in
//! `target/lambada-test-builds`. Needs `moto_server` on PATH.

use lambada_test_support::Moto;
use lambada_test_support::apigw::{api_methods, rest_apis};
use serde_json::Value;

const FUNCTION: &str = "lambada-ses-mailing";
const TRIGGER: &str = "lambada-ses-mailing-on-ses-notification";
const TOPIC: &str = "ses-notifications";
const TABLE: &str = "mailing";

fn manifest() -> String {
    format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"))
}

/// The ARNs of the topics in the account.
async fn topics(sns: &aws_sdk_sns::Client) -> Vec<String> {
    sns.list_topics()
        .send()
        .await
        .unwrap()
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn().map(str::to_owned))
        .collect()
}

/// (protocol, endpoint) of every subscription in the account.
async fn subscriptions(sns: &aws_sdk_sns::Client) -> Vec<(String, String, String)> {
    sns.list_subscriptions()
        .send()
        .await
        .unwrap()
        .subscriptions()
        .iter()
        .map(|s| {
            (
                s.topic_arn().unwrap_or_default().to_owned(),
                s.protocol().unwrap_or_default().to_owned(),
                s.endpoint().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn deploy_wires_the_sns_trigger_and_remove_unwires_it() {
    let moto = Moto::start();
    moto.create_table_with_key(TABLE, "UserId").await;
    let conf = moto.sdk_config();
    let lambda = aws_sdk_lambda::Client::new(&conf);
    let sns = aws_sdk_sns::Client::new(&conf);
    let apigw = aws_sdk_apigateway::Client::new(&conf);
    let manifest = manifest();

    let deploy = moto.lambada(&["deploy", "--debug", "--manifest-path", &manifest]);
    deploy.assert_success("deploy");
    assert!(
        deploy
            .stderr
            .contains("building example-ses-mailing/ses-mailing (dev)"),
        "{}",
        deploy.stderr
    );

    // Two functions from one zip: the API's and the trigger's.
    let (api_conf, conf) = lambada_test_support::lambda::api_and_trigger(
        &lambda,
        FUNCTION,
        TRIGGER,
        "on_ses_notification",
    )
    .await;
    let api_arn = api_conf.function_arn().unwrap().to_owned();
    let env = conf
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        env.get("MAILING_TABLE").map(String::as_str),
        Some(TABLE),
        "{env:?}"
    );
    let trigger_arn = conf.function_arn().unwrap().to_owned();
    assert!(
        deploy
            .stdout
            .contains(&format!("on_ses_notification (sns) → {trigger_arn}")),
        "{}",
        deploy.stdout
    );

    // The topic deploy created, and the trigger function subscribed to it.
    let topic = topics(&sns)
        .await
        .into_iter()
        .find(|t| t.rsplit(':').next() == Some(TOPIC))
        .unwrap_or_else(|| panic!("no topic {TOPIC}: {:?}", deploy.stderr));
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let lambda_subs: Vec<_> = subs
        .subscriptions()
        .iter()
        .filter(|s| s.protocol() == Some("lambda"))
        .collect();
    assert_eq!(lambda_subs.len(), 1, "{subs:?}");
    assert_eq!(lambda_subs[0].endpoint(), Some(trigger_arn.as_str()));

    // SNS may invoke it, from that topic only.
    let policy = lambda
        .get_policy()
        .function_name(TRIGGER)
        .send()
        .await
        .unwrap_or_else(|e| panic!("policy of {TRIGGER}: {e:?}"));
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let grants: Vec<(&str, &str, &str)> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Principal"]["Service"].as_str().unwrap_or_default(),
                s["Action"].as_str().unwrap_or_default(),
                s["Condition"]["ArnLike"]["AWS:SourceArn"]
                    .as_str()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        grants,
        [("sns.amazonaws.com", "lambda:InvokeFunction", topic.as_str())],
        "{policy:#}"
    );

    // The REST API: the route, integrated with the API function.
    let apis = rest_apis(&apigw, FUNCTION).await;
    let [api] = apis.as_slice() else {
        panic!("one REST API named {FUNCTION}: {apis:?}")
    };
    let uri = format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{api_arn}/invocations"
    );
    assert_eq!(
        api_methods(&apigw, api).await,
        [("/mailing/{email}".to_owned(), "GET".to_owned(), uri)]
    );

    // Remove: the functions, the subscription, the topic and the API go;
    // the table stays.
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
    let subs = subscriptions(&sns).await;
    assert!(
        !subs
            .iter()
            .any(|(t, _, e)| *t == topic || *e == trigger_arn),
        "{subs:?}"
    );
    assert!(!topics(&sns).await.contains(&topic));
    assert!(rest_apis(&apigw, FUNCTION).await.is_empty());
    moto.dynamodb()
        .describe_table()
        .table_name(TABLE)
        .send()
        .await
        .expect("remove leaves the table");
}
