//! `cargo lambada invoke`: each shipped example event, HTTP requests built
//! like `serve` builds them, event files, SNS and scheduled events.

mod serve_support;

use std::process::Output;

use serve_support::{cargo_lambada, helloworld};

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
