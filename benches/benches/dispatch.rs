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

use std::hint::black_box;
use std::path::PathBuf;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use axum::Router;
use axum::extract::{Json, Path};
use axum::routing::{get, post};
use criterion::{Criterion, criterion_group};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent};
use serde_json::Value;
use tower::ServiceExt;

// ---- the axum peer, verbatim from bench-rig/peers/axum-hello/src/main.rs ----

async fn hello(Path(id): Path<String>) -> String {
    format!("Hello world: {id}")
}

async fn items(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

fn axum_app() -> Router {
    let mut app = Router::new()
        .route("/hello/{id}", get(hello))
        .route("/items", post(items));
    for i in 0..48 {
        app = app.route(
            &format!("/r{i}/{{x}}"),
            get(move |Path(x): Path<String>| async move { format!("r{i}: {x}") }),
        );
    }
    app
}

// ---- inputs ----

const REQUEST_ID: &str = "8f1d7c52-3a5e-4b8e-9c0e-2f4b6a7d9e10";
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bench-fn";
const TRACE_ID: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0";

fn rig_dir() -> PathBuf {
    match std::env::var_os("BENCH_RIG_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/bench-rig"),
    }
}

/// The event file, compacted (key order kept, as the rig sends it).
fn event(name: &str) -> Vec<u8> {
    let path = rig_dir().join("events").join(name);
    let text = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); set BENCH_RIG_DIR", path.display()));
    let v: Value = serde_json::from_slice(&text).expect("event is JSON");
    serde_json::to_vec(&v).expect("re-serialize")
}

/// The Lambda context `lambda_runtime` builds from the `/next` headers.
fn lambda_context() -> Context {
    let mut ctx = Context::default();
    ctx.request_id = REQUEST_ID.to_owned();
    ctx.deadline = 4_102_444_800_000;
    ctx.invoked_function_arn = ARN.to_owned();
    ctx.xray_trace_id = Some(TRACE_ID.to_owned());
    ctx
}

fn invocation() -> lambada::Invocation<'static> {
    lambada::Invocation {
        request_id: REQUEST_ID,
        deadline_ms: 4_102_444_800_000,
        invoked_function_arn: ARN,
        trace_id: Some(TRACE_ID),
    }
}

// ---- the two dispatch paths ----

async fn lambada_once(app: &lambada::App, event: &[u8]) -> Vec<u8> {
    app.handle_event(event, &invocation())
        .await
        .expect("an HTTP event")
}

async fn axum_once(router: &Router, event: &[u8]) -> Vec<u8> {
    let payload: LambdaRequest = serde_json::from_slice(event).expect("a lambda_http event");
    let adapter = Adapter::from(router.clone());
    let response = adapter
        .oneshot(LambdaEvent::new(payload, lambda_context()))
        .await
        .expect("axum's Router is infallible");
    serde_json::to_vec(&response).expect("serialize LambdaResponse")
}

/// Panics unless `out` is a 200 response with body `Hello world: 42`.
fn check(label: &str, out: &[u8]) {
    let v: Value = serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("{label}: response is not JSON ({e})"));
    assert_eq!(v["statusCode"], 200, "{label}: {v}");
    assert_eq!(v["body"], "Hello world: 42", "{label}: {v}");
    assert_ne!(v["isBase64Encoded"], true, "{label}: {v}");
}

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
    // As the rig's axum-hello peer runs: lambda_http routes "/hello/42", not
    // "/prod/hello/42", for the REST event with stage "prod". lambda_http
    // reads the variable on every request, so it must be in the process
    // environment.
    #[allow(unsafe_code)]
    // SAFETY: first statement of `main`, before any other thread exists.
    unsafe {
        std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
