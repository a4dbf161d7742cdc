//! The fan-out against moto (SQS, SNS, Kinesis, Firehose, Lambda,
//! DynamoDB for the mappings) and real `redis-server` / `memcached`
//! processes on loopback ports.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use fanout::record::{Record, from_kinesis_event};
use lambada::test::{Client, events};
use serde_json::{Value, json};

const SOURCE: &str = "source";

fn records(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("{{\"n\":{i}}}").into_bytes())
        .collect()
}

fn kinesis_records(stream: &str, data: &[Vec<u8>]) -> Vec<Record> {
    let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let ev = events::kinesis(stream, &refs);
    from_kinesis_event(ev.to_string().as_bytes()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kinesis_batch_goes_to_sqs_ten_messages_per_call() {
    let env = Env::start().await;
    let url = env.queue("out").await;
    let src = stream_arn(SOURCE);
    env.cli(&[
        "register",
        "sqs",
        "--source",
        &src,
        "--id",
        "q",
        "--destination",
        "out",
        "--active",
        "true",
    ])
    .await;
    let f = env.fanout();
    let data = records(25);
    let out = f.forward(&kinesis_records(SOURCE, &data)).await;
    assert_eq!(out.failed, Vec::<String>::new());
    assert_eq!(out.delivered, 25);
    assert_eq!(out.calls, 3, "25 records: 10 + 10 + 5");
    let mut bodies: Vec<String> = env
        .drain(&url)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    bodies.sort();
    let mut want: Vec<String> = data
        .iter()
        .map(|d| String::from_utf8(d.clone()).unwrap())
        .collect();
    want.sort();
    assert_eq!(bodies, want, "every record exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kpl_aggregated_records_are_deaggregated_through_the_handler() {
    let env = Env::start().await;
    let url = env.queue("users").await;
    let src = stream_arn(SOURCE);
    env.cli(&[
        "register",
        "sqs",
        "--source",
        &src,
        "--id",
        "q",
        "--destination",
        &url,
        "--active",
        "true",
    ])
    .await;
    let agg = kpl_aggregate(
        &["pk-a", "pk-b"],
        &[(0, b"first"), (1, b"second"), (0, b"third")],
    );
    // The de-aggregation itself: keys from the table, data as written.
    let users = fanout::kpl::deaggregate(&agg).expect("an aggregate");
    let got: Vec<(&str, &[u8])> = users
        .iter()
        .map(|u| (u.partition_key.as_str(), &u.data[..]))
        .collect();
    assert_eq!(
        got,
        [
            ("pk-a", &b"first"[..]),
            ("pk-b", b"second"),
            ("pk-a", b"third")
        ]
    );
    assert_eq!(
        users[0].explicit_hash_key.as_deref(),
        Some("170141183460469231731687303715884105728")
    );
    // A corrupted MD5: a plain record, forwarded as is.
    let mut bad = agg.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert_eq!(fanout::kpl::deaggregate(&bad), None);

    let client = Client::new(fanout::app(env.fanout()));
    let res = client
        .trigger("fanout_kinesis")
        .send(&events::kinesis(SOURCE, &[&agg, b"plain"]))
        .await
        .unwrap();
    assert_eq!(res, json!({"batchItemFailures": []}));
    let mut bodies: Vec<String> = env
        .drain(&url)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["first", "plain", "second", "third"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_mappings_are_skipped() {
    let env = Env::start().await;
    let on = env.queue("on").await;
    let off = env.queue("off").await;
    let src = stream_arn(SOURCE);
    env.cli(&[
        "register",
        "sqs",
        "--source",
        &src,
        "--id",
        "on",
        "--destination",
        "on",
        "--active",
        "true",
    ])
    .await;
    env.cli(&[
        "register",
        "sqs",
        "--source",
        &src,
        "--id",
        "off",
        "--destination",
        "off",
        "--active",
        "true",
    ])
    .await;
    env.cli(&["set", "--source", &src, "--id", "off", "--active", "false"])
        .await;
    let out = env
        .fanout()
        .forward(&kinesis_records(SOURCE, &records(3)))
        .await;
    assert!(out.failed.is_empty());
    assert_eq!(env.drain(&on).await.len(), 3);
    assert_eq!(
        env.drain(&off).await.len(),
        0,
        "the inactive mapping got records"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_fails_twice_then_succeeds_delivers_every_record_once() {
    let env = Env::start().await;
    let redis = redis_server();
    let (proxy, seen) = flaky_proxy(redis.port, 2).await;
    let src = stream_arn(SOURCE);
    let dest = format!("127.0.0.1:{proxy}");
    env.cli(&[
        "register",
        "redis",
        "--source",
        &src,
        "--id",
        "r",
        "--destination",
        &dest,
        "--active",
        "true",
        "--property",
        "key=events",
    ])
    .await;
    let data = records(20);
    let out = env.fanout().forward(&kinesis_records(SOURCE, &data)).await;
    assert_eq!(out.failed, Vec::<String>::new());
    assert_eq!(out.calls, 3, "two failed calls, then one that succeeds");
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let want: Vec<String> = data
        .iter()
        .map(|d| String::from_utf8(d.clone()).unwrap())
        .collect();
    assert_eq!(
        lrange(redis.port, "events"),
        want,
        "each record once, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_target_reports_every_record_as_a_batch_item_failure() {
    let env = Env::start().await;
    let redis = redis_server();
    // Every connection dropped: 4 attempts, all failed.
    let (proxy, seen) = flaky_proxy(redis.port, usize::MAX).await;
    let src = stream_arn(SOURCE);
    env.cli(&[
        "register",
        "redis",
        "--source",
        &src,
        "--id",
        "r",
        "--destination",
        &format!("127.0.0.1:{proxy}"),
        "--active",
        "true",
    ])
    .await;
    // And a queue that does not exist.
    env.cli(&[
        "register",
        "sqs",
        "--source",
        &src,
        "--id",
        "q",
        "--destination",
        "missing",
        "--active",
        "true",
    ])
    .await;
    let ev = events::kinesis(SOURCE, &[b"a", b"b"]);
    let f = env.fanout();
    let recs = from_kinesis_event(ev.to_string().as_bytes()).unwrap();
    let out = f.forward(&recs).await;
    let ids: Vec<String> = recs.iter().map(|r| r.item_id.clone()).collect();
    assert_eq!(out.failed, ids, "never silently dropped");
    assert_eq!(seen.load(Ordering::SeqCst), 4, "retried up to the attempts");
    // Through the handler: the first record fails, it and the rest are reported.
    let client = Client::new(fanout::app(env.fanout()));
    let res = client.trigger("fanout_kinesis").send(&ev).await.unwrap();
    let reported: Vec<&str> = res["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(reported, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_publish_and_memcached_set() {
    let env = Env::start().await;
    let redis = redis_server();
    let mc = memcached();
    let src = stream_arn(SOURCE);
    env.cli(&[
        "register",
        "memcached",
        "--source",
        &src,
        "--id",
        "m",
        "--destination",
        &format!("127.0.0.1:{}", mc.port),
        "--active",
        "true",
        "--property",
        "keyPrefix=fan:",
    ])
    .await;
    env.cli(&[
        "register",
        "redis",
        "--source",
        &src,
        "--id",
        "p",
        "--destination",
        &format!("redis://127.0.0.1:{}", redis.port),
        "--active",
        "true",
        "--property",
        "action=publish",
        "--property",
        "key=chan",
    ])
    .await;
    let out = env
        .fanout()
        .forward(&kinesis_records(SOURCE, &records(3)))
        .await;
    assert!(out.failed.is_empty(), "{:?}", out);
    assert_eq!(out.calls, 2, "one round trip per target");
    // events::kinesis keys records `key-0`, `key-1`, …
    assert_eq!(mc_get(mc.port, "fan:key-0").as_deref(), Some("{\"n\":0}"));
    assert_eq!(mc_get(mc.port, "fan:key-2").as_deref(), Some("{\"n\":2}"));
    assert_eq!(mc_get(mc.port, "fan:key-3"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_kinesis_firehose_and_lambda_targets() {
    let env = Env::start().await;
    let src = stream_arn(SOURCE);
    // SNS, read through a subscribed queue.
    let sns = aws_sdk_sns::Client::new(&env.conf);
    let topic = sns
        .create_topic()
        .name("topic")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let sub_url = env.queue("sub").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:sub"))
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    // Kinesis.
    let kinesis = aws_sdk_kinesis::Client::new(&env.conf);
    kinesis
        .create_stream()
        .stream_name("copy")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    // Firehose into S3.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.conf)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("archive").send().await.unwrap();
    let firehose = aws_sdk_firehose::Client::new(&env.conf);
    firehose
        .create_delivery_stream()
        .delivery_stream_name("hose")
        .extended_s3_destination_configuration(
            aws_sdk_firehose::types::ExtendedS3DestinationConfiguration::builder()
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/firehose"))
                .bucket_arn("arn:aws:s3:::archive")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    // Lambda (moto without Docker answers every invoke).
    let iam = aws_sdk_iam::Client::new(&env.conf);
    let role = iam
        .create_role()
        .role_name("fn")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    let lambda = aws_sdk_lambda::Client::new(&env.conf);
    lambda
        .create_function()
        .function_name("consumer")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (t, id, dest) in [
        ("sns", "t", topic.as_str()),
        ("kinesis", "k", "copy"),
        ("firehose", "f", "hose"),
        ("lambda", "l", "consumer"),
    ] {
        env.cli(&[
            "register",
            t,
            "--source",
            &src,
            "--id",
            id,
            "--destination",
            dest,
            "--active",
            "true",
        ])
        .await;
    }
    let data = records(12);
    let out = env.fanout().forward(&kinesis_records(SOURCE, &data)).await;
    assert!(out.failed.is_empty(), "{out:?}");
    assert_eq!(out.delivered, 48);
    // SNS 10 + 2, Kinesis 1, Firehose 1, Lambda 1.
    assert_eq!(out.calls, 5);
    let want: Vec<String> = data
        .iter()
        .map(|d| String::from_utf8(d.clone()).unwrap())
        .collect();
    let mut got: Vec<String> = env
        .drain(&sub_url)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    got.sort();
    let mut sorted = want.clone();
    sorted.sort();
    assert_eq!(got, sorted, "SNS");
    let shard = kinesis
        .list_shards()
        .stream_name("copy")
        .send()
        .await
        .unwrap()
        .shards()[0]
        .shard_id()
        .to_owned();
    let it = kinesis
        .get_shard_iterator()
        .stream_name("copy")
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap();
    let got = kinesis
        .get_records()
        .shard_iterator(it.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    let copied: Vec<String> = got
        .records()
        .iter()
        .map(|r| String::from_utf8(r.data().as_ref().to_vec()).unwrap())
        .collect();
    assert_eq!(copied, want, "Kinesis, in order");
    assert_eq!(
        got.records()[3].partition_key(),
        Some("key-3"),
        "partition keys kept"
    );
    let objects = s3.list_objects_v2().bucket("archive").send().await.unwrap();
    let mut archived = Vec::new();
    for o in objects.contents() {
        let body = s3
            .get_object()
            .bucket("archive")
            .key(o.key().unwrap())
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap();
        archived.extend_from_slice(&body.into_bytes());
    }
    assert_eq!(
        String::from_utf8(archived).unwrap(),
        want.concat(),
        "Firehose"
    );
}

fn empty_zip() -> Vec<u8> {
    let mut z = b"PK\x05\x06".to_vec();
    z.extend_from_slice(&[0; 18]);
    z
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_stream_records_become_plain_json_when_configured() {
    let env = Env::start().await;
    let plain = env.queue("plain").await;
    let raw = env.queue("raw").await;
    // Registered on the table's ARN: matches the table's stream ARN.
    let table = format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders");
    env.cli(&[
        "register",
        "sqs",
        "--source",
        &table,
        "--id",
        "plain",
        "--destination",
        "plain",
        "--active",
        "true",
        "--convert-ddb",
        "true",
    ])
    .await;
    env.cli(&[
        "register",
        "sqs",
        "--source",
        &table,
        "--id",
        "raw",
        "--destination",
        "raw",
        "--active",
        "true",
    ])
    .await;
    let client = Client::new(fanout::app(env.fanout()));
    let ev = events::dynamodb(
        "orders",
        &[events::ItemChange::insert(
            json!({"id": "o-1"}),
            json!({"id": "o-1", "total": 42, "paid": true}),
        )],
    );
    let res = client.trigger("fanout_dynamodb").send(&ev).await.unwrap();
    assert_eq!(res, json!({"batchItemFailures": []}));
    let p: Value = serde_json::from_str(env.drain(&plain).await[0].body().unwrap()).unwrap();
    assert_eq!(p["eventName"], "INSERT");
    assert_eq!(p["dynamodb"]["Keys"], json!({"id": "o-1"}));
    assert_eq!(
        p["dynamodb"]["NewImage"],
        json!({"id": "o-1", "total": 42, "paid": true})
    );
    let r: Value = serde_json::from_str(env.drain(&raw).await[0].body().unwrap()).unwrap();
    assert_eq!(r["dynamodb"]["NewImage"]["total"], json!({"N": "42"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_registers_lists_sets_unregisters_hooks_and_unhooks() {
    let env = Env::start().await;
    let src = stream_arn(SOURCE);
    env.cli(&[
        "register",
        "redis",
        "--source",
        &src,
        "--id",
        "cache",
        "--destination",
        "10.0.0.1:6379",
        "--active",
        "true",
        "--property",
        "action=publish",
    ])
    .await;
    let again = fanout::cli::run(
        &env.conf,
        &args(&[
            "--table",
            TABLE,
            "register",
            "sqs",
            "--source",
            &src,
            "--id",
            "cache",
            "--destination",
            "q",
        ]),
    )
    .await;
    assert!(again.unwrap_err().contains("already registered"));
    let bad = fanout::cli::run(
        &env.conf,
        &args(&[
            "--table",
            TABLE,
            "register",
            "carrier-pigeon",
            "--source",
            &src,
            "--id",
            "x",
            "--destination",
            "q",
        ]),
    )
    .await;
    assert!(bad.unwrap_err().contains("unknown target type"));
    let list = env.cli(&["list"]).await;
    assert!(
        list.contains(&format!(
            "{src}\tcache\tredis\t10.0.0.1:6379\ttrue\tfalse\taction=publish"
        )),
        "{list}"
    );
    env.cli(&[
        "set", "--source", &src, "--id", "cache", "--active", "false",
    ])
    .await;
    assert!(
        env.cli(&["list", "--source", &src])
            .await
            .contains("\tfalse\tfalse\t")
    );
    env.cli(&["unregister", "--source", &src, "--id", "cache"])
        .await;
    assert_eq!(
        env.cli(&["list"]).await.lines().count(),
        1,
        "only the header"
    );

    // hook / unhook: the event-source mapping of the function.
    aws_sdk_kinesis::Client::new(&env.conf)
        .create_stream()
        .stream_name(SOURCE)
        .shard_count(1)
        .send()
        .await
        .unwrap();
    let iam = aws_sdk_iam::Client::new(&env.conf);
    let role = iam
        .create_role()
        .role_name("fanout")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    aws_sdk_lambda::Client::new(&env.conf)
        .create_function()
        .function_name("lambada-fanout")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("fanout_kinesis")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let hooked = env
        .cli(&[
            "hook",
            "--source",
            &src,
            "--function",
            "lambada-fanout",
            "--batch-size",
            "100",
        ])
        .await;
    assert!(
        hooked.starts_with(&format!("hooked {src} -> lambada-fanout")),
        "{hooked}"
    );
    let unhooked = env
        .cli(&["unhook", "--source", &src, "--function", "lambada-fanout"])
        .await;
    assert!(unhooked.starts_with("unhooked"), "{unhooked}");
}
