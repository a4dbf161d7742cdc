//! `cargo lambada serve` against a fixture app that crashes, hangs, fails
//! its init and reports its environment: 502 and 504 with recovery,
//! concurrent bootstraps, Lambda's environment and request context.

mod serve_support;

use std::collections::HashSet;

use serve_support::{Serve, fixture, get, send};

fn manifest() -> String {
    fixture("faulty", "faulty-serve")
        .join("Cargo.toml")
        .display()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_is_a_502_and_the_bootstrap_restarts() {
    let s = Serve::start(
        &[
            "--manifest-path",
            &manifest(),
            "--no-reload",
            "--concurrency",
            "1",
        ],
        &[],
    );
    let before = get(s.port, "/pid").await;
    assert_eq!(before.status, 200, "{}", before.text());
    let res = get(s.port, "/crash").await;
    assert_eq!(res.status, 502, "{}", res.text());
    let body = res.json();
    assert_eq!(body["message"], "Internal server error");
    assert!(
        body["detail"].as_str().unwrap().contains("SIGABRT"),
        "{body}"
    );
    assert!(
        body["output"]
            .to_string()
            .contains("fixture: crashing on purpose"),
        "{body}"
    );
    let after = get(s.port, "/pid").await;
    assert_eq!(after.status, 200, "{}", after.text());
    assert_ne!(before.text(), after.text(), "a new bootstrap answers");
    assert!(s.wait_log("GET /crash -> 502"), "{}", s.proc.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_a_504_and_the_bootstrap_restarts() {
    let s = Serve::start(
        &[
            "--manifest-path",
            &manifest(),
            "--no-reload",
            "--concurrency",
            "1",
            "--timeout",
            "2",
        ],
        &[],
    );
    let before = get(s.port, "/pid").await;
    let res = get(s.port, "/slow/60000").await;
    assert_eq!(res.status, 504, "{}", res.text());
    assert!(
        res.json()["detail"].as_str().unwrap().contains("timed out"),
        "{}",
        res.text()
    );
    let res = get(s.port, "/slow/10").await;
    assert_eq!((res.status, res.text()), (200, "slept 10 ms".to_owned()));
    let after = get(s.port, "/pid").await;
    assert_ne!(
        before.text(),
        after.text(),
        "the hung bootstrap was replaced"
    );
    assert!(s.wait_log("GET /slow/60000 -> 504"), "{}", s.proc.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_get_concurrent_bootstraps() {
    let barrier = tempfile::tempdir().unwrap();
    let env = format!("BARRIER_DIR={}", barrier.path().display());
    let s = Serve::start(
        &[
            "--manifest-path",
            &manifest(),
            "--no-reload",
            "--concurrency",
            "3",
            "--env",
            &env,
        ],
        &[],
    );
    // Each request waits inside its handler until three processes are in
    // it at once: this only passes when three bootstraps run concurrently.
    let port = s.port;
    let tasks: Vec<_> = (0..3)
        .map(|_| tokio::spawn(async move { get(port, "/barrier/3").await }))
        .collect();
    let mut pids = HashSet::new();
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
        pids.insert(res.text());
    }
    assert_eq!(pids.len(), 3, "{pids:?}");
    // More clients than bootstraps: they queue, and all are served by at
    // most three processes.
    let tasks: Vec<_> = (0..9)
        .map(|_| tokio::spawn(async move { get(port, "/slow/50").await }))
        .collect();
    for t in tasks {
        let res = t.await.unwrap();
        assert_eq!((res.status, res.text()), (200, "slept 50 ms".to_owned()));
    }
    let res = get(port, "/pid").await;
    assert!(
        pids.contains(&res.text()),
        "{} is not one of {pids:?}",
        res.text()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_init_error_is_shown_with_the_output() {
    let s = Serve::start(
        &["--manifest-path", &manifest(), "--no-reload"],
        &[("FAIL_INIT", "1")],
    );
    for _ in 0..2 {
        let res = get(s.port, "/version").await;
        assert_eq!(res.status, 502, "{}", res.text());
        let body = res.json();
        assert_eq!(body["error"]["errorType"], "Lambada.MissingState", "{body}");
        assert!(
            body["detail"].as_str().unwrap().contains("init error"),
            "{body}"
        );
        assert!(
            body["error"]["errorMessage"]
                .as_str()
                .unwrap()
                .contains("with_state"),
            "{body}"
        );
        // The bootstrap's own output comes with it.
        assert!(body["output"].to_string().contains("with_state"), "{body}");
    }
    assert!(
        s.wait_log("init error Lambada.MissingState"),
        "{}",
        s.proc.output()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_environment_context_cookies_and_binary_bodies() {
    let s = Serve::start(
        &[
            "--manifest-path",
            &manifest(),
            "--no-reload",
            "--stage",
            "dev",
            "--memory",
            "256",
            "--env",
            "FIXTURE_GREETING=hi",
        ],
        &[("LAMBADA_MODE", "http")],
    );
    let env = get(s.port, "/env").await.text();
    for line in [
        // Not the default stage: its name is in the function's.
        "AWS_LAMBDA_FUNCTION_NAME=faulty-serve-dev\n",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256",
        "AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
        "_HANDLER=bootstrap",
        "LAMBADA_MODE=\n",
        "FIXTURE_GREETING=hi",
    ] {
        assert!(env.contains(line), "no `{line}` in:\n{env}");
    }
    assert!(env.contains("AWS_LAMBDA_RUNTIME_API=127.0.0.1:"), "{env}");
    assert!(
        env.contains("/gen-1\n"),
        "LAMBDA_TASK_ROOT is the bootstrap's dir: {env}"
    );

    let ctx = send(s.port, "GET", "/context", &[("user-agent", "tester")], "")
        .await
        .json();
    assert_eq!(ctx["kind"], "rest");
    assert_eq!(ctx["stage"], "dev");
    assert_eq!(ctx["source_ip"], "127.0.0.1");
    assert_eq!(ctx["lambda_request_id"].as_str().unwrap().len(), 36);
    assert_eq!(ctx["request_id"].as_str().unwrap().len(), 36);
    assert!(
        ctx["deadline_ms"].as_u64().unwrap() > 1_700_000_000_000,
        "{ctx}"
    );
    assert!(
        ctx["invoked_function_arn"]
            .as_str()
            .unwrap()
            .ends_with(":function:faulty-serve-dev"),
        "{ctx}"
    );
    assert!(
        ctx["trace_id"].as_str().unwrap().starts_with("Root=1-"),
        "{ctx}"
    );

    let res = get(s.port, "/cookies").await;
    assert_eq!(res.header_all("set-cookie"), ["a=1; Path=/", "b=2; Path=/"]);
    assert_eq!(res.header_all("x-multi"), ["one", "two"]);

    let binary: Vec<u8> = (0..=255).collect();
    let res = send(
        s.port,
        "POST",
        "/echo",
        &[("content-type", "application/octet-stream")],
        binary.clone(),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body.as_ref(), &binary[..]);

    // A large event: the Runtime API sends it chunked, as Lambda does.
    let large = "x".repeat(100_000);
    let res = send(
        s.port,
        "POST",
        "/echo",
        &[("content-type", "text/plain")],
        large.clone(),
    )
    .await;
    assert_eq!((res.status, res.text().len()), (200, large.len()));

    let res = get(s.port, "/state").await;
    assert_eq!(res.text(), "hello from state");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_api_format_cookies() {
    let s = Serve::start(
        &[
            "--manifest-path",
            &manifest(),
            "--no-reload",
            "--format",
            "http",
        ],
        &[],
    );
    let res = get(s.port, "/cookies").await;
    assert_eq!(res.header_all("set-cookie"), ["a=1; Path=/", "b=2; Path=/"]);
    // Payload 2.0 has single-value headers: API Gateway joins them.
    assert_eq!(res.header_all("x-multi"), ["one, two"]);
    let ctx = get(s.port, "/context").await.json();
    assert_eq!(ctx["kind"], "http");
    assert_eq!(ctx["stage"], "$default");
}
