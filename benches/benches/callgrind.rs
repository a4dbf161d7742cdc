//! Instructions per invocation, counted by callgrind: the `dispatch` bench's
//! variants, without a clock, so the figures do not move with the load of a
//! shared machine. `benches/callgrind.sh` runs this under valgrind twice per
//! variant, with 0 and with N measured iterations (after the same setup and
//! warm-up), and divides the difference in instructions by N. (The bench
//! profile inherits `strip = true` from the workspace's release profile, so
//! there are no symbols to toggle collection on.)
//!
//! `callgrind VARIANT ITERS` runs one variant; without a variant (as
//! `cargo bench` runs it) every variant runs briefly and its wall time per
//! iteration is printed (a smoke test, not a benchmark). Variants:
//! `{lambada,axum,value,typed}-{v1,v2}`.

mod common;

use std::future::Future;
use std::hint::black_box;
use std::time::Instant;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use common::{axum_app, axum_once, check, event, lambada_once};
use serde_json::Value;

const VARIANTS: [&str; 8] = [
    "lambada-v1",
    "axum-v1",
    "value-v1",
    "typed-v1",
    "lambada-v2",
    "axum-v2",
    "value-v2",
    "typed-v2",
];

/// Runs `once` `iters` times on `rt`.
fn measure<F: Future<Output = usize>>(
    rt: &tokio::runtime::Runtime,
    iters: usize,
    mut once: impl FnMut() -> F,
) -> usize {
    rt.block_on(async {
        let mut n = 0;
        for _ in 0..iters {
            n += black_box(once().await);
        }
        n
    })
}

fn run(variant: &str, iters: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let app = lambada::App::new(lambada_benches::app());
    let router = axum_app();
    let (kind, shape) = variant.split_once('-').expect("variant is kind-shape");
    let ev = event(match shape {
        "v1" => "apigw-rest-v1-get-hello.json",
        "v2" => "apigw-http-v2-get-hello.json",
        _ => panic!("unknown event shape `{shape}`"),
    });
    let ev = &ev[..];
    let app = &app;
    let router = &router;
    let go = |iters: usize| match kind {
        "lambada" => measure(&rt, iters, || async move {
            lambada_once(app, black_box(ev)).await.len()
        }),
        "axum" => measure(&rt, iters, || async move {
            axum_once(router, black_box(ev)).await.len()
        }),
        "value" => measure(&rt, iters, || async move {
            let v: Value = serde_json::from_slice(black_box(ev)).expect("JSON");
            v.as_object().map_or(0, |o| o.len())
        }),
        "typed" if shape == "v1" => measure(&rt, iters, || async move {
            let r: ApiGatewayProxyRequest = serde_json::from_slice(black_box(ev)).expect("v1");
            r.headers.len()
        }),
        "typed" => measure(&rt, iters, || async move {
            let r: ApiGatewayV2httpRequest = serde_json::from_slice(black_box(ev)).expect("v2");
            r.headers.len()
        }),
        _ => panic!("unknown variant `{variant}`"),
    };
    if kind == "lambada" {
        check(variant, &rt.block_on(lambada_once(app, ev)));
    }
    if kind == "axum" {
        check(variant, &rt.block_on(axum_once(router, ev)));
    }
    // Warm-up outside the collected run: lazy statics, first allocations.
    go(100);
    let t = Instant::now();
    go(iters);
    t.elapsed().as_nanos() as f64 / iters.max(1) as f64
}

fn main() {
    common::ignore_stage_in_path();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(v) if !v.starts_with('-') => {
            let iters = args.get(1).map_or(1000, |n| n.parse().expect("ITERS"));
            let ns = run(v, iters);
            eprintln!("{v}: {iters} iterations, {ns:.0} ns/iter (wall)");
        }
        _ => {
            for v in VARIANTS {
                println!("{v:<12} {:>8.0} ns/iter (wall, smoke test)", run(v, 2000));
            }
        }
    }
}
