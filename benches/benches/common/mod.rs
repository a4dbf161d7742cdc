//! Shared by the `dispatch` (Criterion) and `callgrind` benches: the axum
//! peer app, the events, and one invocation through each framework.

use std::path::PathBuf;
use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Json, Path};
use axum::routing::{get, post};
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

pub fn axum_app() -> Router {
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
pub fn event(name: &str) -> Vec<u8> {
    let path = rig_dir().join("events").join(name);
    let text = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); set BENCH_RIG_DIR", path.display()));
    let v: Value = serde_json::from_slice(&text).expect("event is JSON");
    serde_json::to_vec(&v).expect("re-serialize")
}

/// The Lambda context `lambda_runtime` builds from the `/next` headers
/// (`Context::new`: three owned strings and a clone of the shared config).
fn lambda_context() -> Context {
    static TEMPLATE: LazyLock<Context> = LazyLock::new(|| {
        let mut ctx = Context::default();
        ctx.request_id = REQUEST_ID.to_owned();
        ctx.deadline = 4_102_444_800_000;
        ctx.invoked_function_arn = ARN.to_owned();
        ctx.xray_trace_id = Some(TRACE_ID.to_owned());
        ctx
    });
    TEMPLATE.clone()
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

pub async fn lambada_once(app: &lambada::App, event: &[u8]) -> Vec<u8> {
    app.handle_event(event, &invocation())
        .await
        .expect("an HTTP event")
}

pub async fn axum_once(router: &Router, event: &[u8]) -> Vec<u8> {
    let payload: LambdaRequest = serde_json::from_slice(event).expect("a lambda_http event");
    let adapter = Adapter::from(router.clone());
    let response = adapter
        .oneshot(LambdaEvent::new(payload, lambda_context()))
        .await
        .expect("axum's Router is infallible");
    serde_json::to_vec(&response).expect("serialize LambdaResponse")
}

/// Panics unless `out` is a 200 response with body `Hello world: 42`.
pub fn check(label: &str, out: &[u8]) {
    let v: Value = serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("{label}: response is not JSON ({e})"));
    assert_eq!(v["statusCode"], 200, "{label}: {v}");
    assert_eq!(v["body"], "Hello world: 42", "{label}: {v}");
    assert_ne!(v["isBase64Encoded"], true, "{label}: {v}");
}

/// lambda_http routes "/hello/42", not "/prod/hello/42", for the REST event
/// with stage "prod" only with this variable, which the rig's axum-hello peer
/// is run with; lambda_http reads it on every request, from the process
/// environment.
pub fn ignore_stage_in_path() {
    #[allow(unsafe_code)]
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe {
        std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    }
}
