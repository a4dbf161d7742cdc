//! In-process cost of one invocation, event bytes in → response bytes out,
//! for the same 50-route app written two ways, on the same input:
//!
//! * `lambada`: `App::handle_event` (decode → route → handler → encode),
//!   exactly what `lambada::run` does between `/next` and `/response`.
//! * `lambda_http+axum`: what `lambda_http::run` does between the same two
//!   points: `serde_json::from_slice::<LambdaRequest>`, lambda_http's own
//!   `Adapter` (the service `lambda_http::run` wraps the router in:
//!   `LambdaRequest` → `http::Request`, X-Ray header, Lambda context
//!   extension, the axum `Router`, `IntoResponse`, `LambdaResponse` for the
//!   request's origin), then `serde_json::to_vec` of that response. Not
//!   included: `lambda_runtime`'s layers around it (tracing spans, panic
//!   catching, `serde_path_to_error`), so this side is if anything a little
//!   cheaper than in production.
//! * `floor-serde_json-Value`: `serde_json::from_slice::<Value>` of the
//!   event (just reading the JSON once, untyped).
//! * `typed-aws_lambda_events`: `serde_json::from_slice` into the official
//!   `aws_lambda_events` request type (a typed parse and nothing else).
//!
//! Both dispatch variants run on the same current-thread tokio runtime via
//! `b.to_async(&rt)` (one `block_on` per batch of iterations). Before any
//! timing, each dispatch variant's output is decoded and checked: status
//! 200, body `Hello world: 42`.
//!
//! Events: `../shared/bench-rig/events/` next to this workspace (override
//! with `BENCH_RIG_DIR`), compacted with `serde_json` as the rig sends them.
//!
//! Run: `cargo bench -p lambada-benches --bench dispatch -- --warm-up-time 2 --measurement-time 5`

mod common;

use std::hint::black_box;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use common::{axum_app, axum_once, check, event, lambada_once};
use criterion::{Criterion, criterion_group};
use serde_json::Value;

fn dispatch(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let app = lambada::App::new(lambada_benches::app());
    let router = axum_app();

    for (group_name, file) in [
        ("rest-v1", "apigw-rest-v1-get-hello.json"),
        ("http-v2", "apigw-http-v2-get-hello.json"),
    ] {
        let ev = event(file);

        // Same answer from both before anything is timed.
        check(
            &format!("{group_name}/lambada"),
            &rt.block_on(lambada_once(&app, &ev)),
        );
        check(
            &format!("{group_name}/lambda_http+axum"),
            &rt.block_on(axum_once(&router, &ev)),
        );

        let mut g = c.benchmark_group(group_name);
        g.throughput(criterion::Throughput::Bytes(ev.len() as u64));
        g.bench_function("lambada", |b| {
            b.to_async(&rt).iter(|| lambada_once(&app, black_box(&ev)))
        });
        g.bench_function("lambda_http+axum", |b| {
            b.to_async(&rt).iter(|| axum_once(&router, black_box(&ev)))
        });
        g.bench_function("floor-serde_json-Value", |b| {
            b.iter(|| serde_json::from_slice::<Value>(black_box(&ev)).expect("JSON"))
        });
        if group_name == "rest-v1" {
            g.bench_function("typed-aws_lambda_events", |b| {
                b.iter(|| {
                    serde_json::from_slice::<ApiGatewayProxyRequest>(black_box(&ev)).expect("v1")
                })
            });
        } else {
            g.bench_function("typed-aws_lambda_events", |b| {
                b.iter(|| {
                    serde_json::from_slice::<ApiGatewayV2httpRequest>(black_box(&ev)).expect("v2")
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, dispatch);

fn main() {
    common::ignore_stage_in_path();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
