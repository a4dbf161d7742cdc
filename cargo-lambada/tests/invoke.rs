//! `cargo lambada invoke`: each shipped example event, HTTP requests built
//! like `serve` builds them, event files, and an event of every trigger
//! kind to its handler.

mod serve_support;

use std::process::Output;

use serve_support::{cargo_lambada, fixture, helloworld};

fn invoke(args: &[&str]) -> Output {
    cargo_lambada()
        .args(["invoke", "--manifest-path", &helloworld()])
        .args(args)
        .output()
        .expect("cargo-lambada runs")
}

fn stdout_json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn shipped_http_examples() {
    for example in ["rest", "http", "url", "alb"] {
        let out = invoke(&["--example", example]);
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = stdout_json(&out);
        assert_eq!(v["statusCode"], 200, "{example}: {v}");
        assert_eq!(v["body"], "Hello world: 5", "{example}: {v}");
        // Each answer is in its event's own shape.
        match example {
            "rest" => assert!(v["multiValueHeaders"].is_object(), "{v}"),
            "alb" => assert_eq!(v["statusDescription"], "200 OK", "{v}"),
            _ => assert!(v["headers"].is_object(), "{v}"),
        }
    }
}

#[test]
fn shipped_trigger_examples_are_function_errors_for_an_http_app() {
    for example in ["sns", "sqs", "s3", "schedule"] {
        let out = invoke(&["--example", example]);
        assert!(!out.status.success(), "{example}");
        let v = stdout_json(&out);
        assert_eq!(
            v["errorType"], "Lambada.UnknownEventShape",
            "{example}: {v}"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("the function returned an error"),
            "{example}: {err}"
        );
    }
}

#[test]
fn get_and_post_in_any_format() {
    let out = invoke(&["--get", "/greet?name=Ada&excited=true", "--format", "http"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    assert_eq!(v["body"], "Hello, Ada!", "{v}");

    let out = invoke(&[
        "--post",
        "/items",
        "--data",
        r#"{"sku":"ABC-123","quantity":2}"#,
    ]);
    let v = stdout_json(&out);
    assert_eq!(v["statusCode"], 201, "{v}");
    let item: serde_json::Value = serde_json::from_str(v["body"].as_str().unwrap()).unwrap();
    assert_eq!(item["href"], "/items/ABC-123");

    let out = invoke(&[
        "--get",
        "/agent",
        "-H",
        "User-Agent: invoke-test",
        "--format",
        "alb",
        "--raw",
    ]);
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(
        raw.trim_end().lines().count() == 1,
        "--raw is compact: {raw}"
    );
    assert!(raw.contains("You are using invoke-test"), "{raw}");
}

#[test]
fn event_files_sns_and_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, include_str!("../events/apigw-http.json")).unwrap();
    let out = invoke(&["--event", event.to_str().unwrap()]);
    assert_eq!(stdout_json(&out)["body"], "Hello world: 5");

    let message = dir.path().join("message.txt");
    std::fs::write(&message, "hello").unwrap();
    let out = invoke(&["--sns", message.to_str().unwrap()]);
    assert_eq!(stdout_json(&out)["errorType"], "Lambada.UnknownEventShape");
    let out = invoke(&["--schedule", "nightly"]);
    assert_eq!(stdout_json(&out)["errorType"], "Lambada.UnknownEventShape");

    std::fs::write(&event, "not json").unwrap();
    let out = invoke(&["--event", event.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the event is not JSON"));
    let out = invoke(&["--event", "/no/such/file.json"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /no/such/file.json"));
}

/// `invoke` with each trigger event, to the fixture's handler of that kind
/// (`_HANDLER` set to it, as deploy sets each trigger function's handler).
#[test]
fn trigger_events_go_to_their_handler() {
    let app = fixture("faulty", "faulty-invoke");
    let manifest = app.join("Cargo.toml");
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, content: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let run = |args: &[&str]| {
        cargo_lambada()
            .args(["invoke", "--manifest-path", manifest.to_str().unwrap()])
            .args(args)
            .output()
            .expect("cargo-lambada runs")
    };

    // SQS: one message per line; the failing one is reported, not the batch.
    let out = run(&["--sqs", &file("sqs.txt", "ok\nfail\nok\n")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout_json(&out),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "message-2"}]})
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("handler `on_sqs`"));

    // Kinesis: processing stops at the failure; it and the rest are reported.
    let out = run(&["--kinesis", &file("kinesis.txt", "a\nfail\nc\n")]);
    let v = stdout_json(&out);
    assert_eq!(
        v["batchItemFailures"].as_array().map(Vec::len),
        Some(2),
        "{v}"
    );

    // DynamoDB Streams: plain JSON changes in, attribute values on the wire.
    let changes = r#"[{"keys": {"id": "1"}, "new": {"id": "1", "text": "hello"}},
                      {"keys": {"id": "2"}, "old": {"id": "2", "text": "x"}, "new": {"id": "2", "text": "fail"}}]"#;
    let out = run(&["--ddb-stream", &file("ddb.json", changes)]);
    assert_eq!(
        stdout_json(&out),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "112"}]})
    );

    // SNS and schedules: a failure is a function error.
    let out = run(&["--sns", &file("ok.txt", "hello")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--sns", &file("fail.txt", "fail")]);
    assert!(!out.status.success());
    assert_eq!(stdout_json(&out)["errorType"], "Lambada.HandlerFailed");
    let out = run(&["--schedule", "nightly"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--schedule", "fail"]);
    assert!(!out.status.success());

    // S3: a key in the handler's bucket, or a whole `s3://` URI; the key
    // travels URL-encoded as S3 sends it and arrives decoded.
    let out = run(&["--s3", "incoming/a b!.txt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("handler `on_upload`"));
    let out = run(&["--s3", "s3://faulty-bucket/incoming/fail"]);
    assert!(!out.status.success());
    assert_eq!(stdout_json(&out)["errorType"], "Lambada.HandlerFailed");
    let out = run(&["--s3", "s3://other-bucket/x"]);
    assert!(!out.status.success());
    assert!(
        stdout_json(&out)["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("other-bucket")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // EventBridge: the detail from a file, source and detail type from the
    // handler's pattern.
    let out = run(&["--event-bridge", &file("order.json", r#"{"id": "o-1"}"#)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("handler `on_order`"));
    // One event, one handler call: its error is the function's, as is
    // (an S3 event's records are summed up in `Lambada.HandlerFailed`).
    let out = run(&["--event-bridge", &file("fail.json", r#"{"id": "fail"}"#)]);
    assert!(!out.status.success());
    let v = stdout_json(&out);
    assert_eq!(v["errorMessage"], "told to fail by `fail`", "{v}");

    // Direct invocation: the handler's answer, and `_HANDLER` is its name.
    let out = run(&["--payload", r#"{"serial": "SN-1"}"#]);
    let v = stdout_json(&out);
    assert_eq!(v["payload"]["serial"], "SN-1", "{v}");
    assert_eq!(v["handler"], "direct", "{v}");

    // `--handler` picks another function; an unknown name is refused.
    let out = run(&["--example", "rest", "--handler", "bootstrap"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["--payload", "{}", "--handler", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no trigger handler `nope`") && err.contains("on_sqs"),
        "{err}"
    );
}
