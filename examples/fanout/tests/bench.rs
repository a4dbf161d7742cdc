//! Throughput figures (not a timed test): `cargo test -p example-fanout
//! --test bench -- --ignored --nocapture`. A 500-record Kinesis batch to
//! SQS (moto) and to Redis (a real `redis-server`), through the batch core
//! (`Fanout::forward`) and through the `#[kinesis]` handler (the whole batch
//! through the test client: event decoding and dispatch included).

mod common;

use std::time::Instant;

use common::*;
use fanout::TargetType;
use fanout::batch::{Limits, minimum_calls};
use fanout::record::from_kinesis_event;
use fanout::targets::{Entry, cost};
use lambada::test::{Client, events};

const N: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures"]
async fn bench_500_record_batch_to_sqs_and_redis() {
    let env = Env::start().await;
    let redis = redis_server();
    let data: Vec<Vec<u8>> = (0..N)
        .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(80)).into_bytes())
        .collect();
    let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    for (t, stream, dest) in [
        ("sqs", "to-sqs", "out".to_owned()),
        ("redis", "to-redis", format!("127.0.0.1:{}", redis.port)),
    ] {
        if t == "sqs" {
            env.queue("out").await;
        }
        env.cli(&[
            "register",
            t,
            "--source",
            &stream_arn(stream),
            "--id",
            "b",
            "--destination",
            &dest,
            "--active",
            "true",
        ])
        .await;
        let ev = events::kinesis(stream, &refs);
        let records = from_kinesis_event(ev.to_string().as_bytes()).unwrap();
        let target: TargetType = t.parse().unwrap();
        let costs: Vec<usize> = records
            .iter()
            .map(|r| {
                cost(
                    target,
                    &Entry {
                        source_arn: r.source_arn.clone(),
                        partition_key: r.partition_key.clone(),
                        body: r.data.clone(),
                    },
                )
            })
            .collect();
        let min = minimum_calls(&costs, Limits::of(target));
        let f = env.fanout();
        f.forward(&records[..1]).await; // warm: mapping cache, connections
        let start = Instant::now();
        let out = f.forward(&records).await;
        let secs = start.elapsed().as_secs_f64();
        assert!(out.failed.is_empty());
        println!(
            "{t:5} batch core : {N} records in {:7.1} ms = {:8.0} records/s, {} calls (minimum {min})",
            secs * 1000.0,
            N as f64 / secs,
            out.calls
        );
        let client = Client::new(fanout::app(env.fanout()));
        let start = Instant::now();
        let res = client.trigger("fanout_kinesis").send(&ev).await.unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(res["batchItemFailures"].as_array().unwrap().len(), 0);
        println!(
            "{t:5} handler    : {N} records in {:7.1} ms = {:8.0} records/s",
            secs * 1000.0,
            N as f64 / secs
        );
    }
}
