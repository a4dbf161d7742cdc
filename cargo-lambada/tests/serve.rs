//! `cargo lambada serve` against examples/helloworld: every route, in every
//! event format, through the real bootstrap.

mod serve_support;

use serve_support::{Serve, check_helloworld, helloworld};

fn start(format: &str) -> Serve {
    Serve::start(
        &[
            "--manifest-path",
            &helloworld(),
            "--no-reload",
            "--format",
            format,
        ],
        &[],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_api_events() {
    let s = start("rest");
    check_helloworld(s.port, "rest").await;
    assert!(
        s.wait_log("GET /helloworld/5 -> 200"),
        "{}",
        s.proc.output()
    );
    assert!(
        s.wait_log("DELETE /helloworld/5 -> 405"),
        "{}",
        s.proc.output()
    );
    // The route table is printed at start.
    let out = s.proc.output();
    assert!(
        out.contains("/helloworld/<id>") && out.contains("/helloworld/{id}"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn http_api_events() {
    let s = start("http");
    check_helloworld(s.port, "http").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn function_url_events() {
    let s = start("url");
    check_helloworld(s.port, "url").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn alb_events() {
    let s = start("alb");
    check_helloworld(s.port, "alb").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn alb_multi_value_events() {
    let s = start("alb-multi");
    check_helloworld(s.port, "alb-multi").await;
}
