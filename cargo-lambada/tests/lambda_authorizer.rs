//! An `#[authorizer]` through `cargo lambada serve`, as API Gateway runs
//! one: examples/partner-api's `api_key` (a `request` authorizer on the
//! `x-api-key` header, TTL 300 s) in a bootstrap of its own before
//! `GET /reports/<period>`. A missing key never reaches it (401), an
//! unknown key is its `Unauthorized` (401), a suspended one its `Deny`
//! (403), a good one reaches the route with the partner in the event; the
//! second request with a key is answered from the cache.

mod serve_support;

use serve_support::{Serve, send, workspace};

fn partner_api() -> String {
    workspace()
        .join("examples/partner-api/Cargo.toml")
        .display()
        .to_string()
}

async fn report(port: u16, key: Option<&str>) -> (u16, String) {
    let headers: Vec<(&str, &str)> = key.map(|k| vec![("x-api-key", k)]).unwrap_or_default();
    let res = send(port, "GET", "/reports/2026-11", &headers, "").await;
    (res.status, res.text())
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_the_authorizer_before_the_route() {
    for format in ["rest", "http"] {
        let s = Serve::start(
            &[
                "--manifest-path",
                &partner_api(),
                "--no-reload",
                "--format",
                format,
            ],
            &[],
        );
        let (status, body) = report(s.port, None).await;
        assert_eq!(
            (status, body.as_str()),
            (401, r#"{"message":"Unauthorized"}"#),
            "{format}"
        );
        assert!(
            s.wait_log("api_key: the request has no `header.x-api-key`"),
            "{}",
            s.proc.output()
        );

        let (status, body) = report(s.port, Some("demo-key")).await;
        assert_eq!(status, 200, "{format}: {body}");
        assert_eq!(body, r#"{"partner":"demo","period":"2026-11"}"#);
        assert!(
            s.wait_log("authorizer `api_key` allowed"),
            "{}",
            s.proc.output()
        );
        // The same key again: API Gateway's cache answers, for 300 s.
        let (status, _) = report(s.port, Some("demo-key")).await;
        assert_eq!(status, 200);
        assert!(s.wait_log("(cached)"), "{}", s.proc.output());

        let (status, body) = report(s.port, Some("old-key")).await;
        assert_eq!(
            (status, body.as_str()),
            (403, r#"{"message":"Forbidden"}"#),
            "{format}"
        );
        let (status, _) = report(s.port, Some("guess")).await;
        // REST APIs turn the authorizer's `Unauthorized` into 401; HTTP
        // APIs' simple responses know only allowed or not (403).
        assert_eq!(status, if format == "rest" { 401 } else { 403 }, "{format}");

        // Public routes never meet the authorizer.
        let res = send(s.port, "GET", "/health", &[], "").await;
        assert_eq!(res.text(), "ok");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn front_doors_without_authorizers_leave_the_route_closed() {
    // A function URL runs no authorizer: the function refuses the route
    // itself (no authorizer result in the event), whatever the key.
    let s = Serve::start(
        &[
            "--manifest-path",
            &partner_api(),
            "--no-reload",
            "--format",
            "url",
        ],
        &[],
    );
    let (status, body) = report(s.port, Some("demo-key")).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("`api_key`"), "{body}");
}
