//! Regression tests for what the cargo-fuzz targets (`fuzz/`, run by
//! `./scripts/fuzz`) found: each test replays a minimized input through the
//! same code path. Findings in `lambada-path` and in the authorizer's
//! answer have unit tests next to the code
//! (`lambada-path/src/lib.rs`, `src/authorizer.rs`).

use lambada::prelude::*;
use lambada::test::Client;

#[get("/hello/<id>")]
async fn hello(id: u32) -> String {
    format!("Hello world: {id}")
}

#[post("/raw")]
async fn raw(body: Vec<u8>) -> Vec<u8> {
    body
}

#[head("/head")]
async fn head_only() -> &'static str {
    "a body no HEAD response carries"
}

#[get("/reports/<period>", auth = "users")]
async fn report(period: &str) -> String {
    period.to_owned()
}

fn client() -> Client {
    Client::new(
        routes![hello, raw, head_only, report]
            .cors(Cors::new().allow_origin("https://*.preview.example.com")),
    )
}

/// event_structured: a HEAD answered by a 405 problem kept the problem's
/// body (only a HEAD served by a GET route had it dropped). Minimized
/// input: this REST event.
#[tokio::test]
async fn no_head_answer_has_a_body() {
    let c = client();
    let event = br#"{"httpMethod":"HEAD","resource":"/raw","path":"/raw","requestContext":{}}"#;
    let res = c.send_event(event).await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.payload()["body"], "");
    for kind in EventKind::LAMBDA {
        for (path, status) in [
            ("/raw", 405),
            ("/nowhere", 404),
            ("/head", 200),
            ("/hello/5", 200),
            ("/hello/x", 400),
            ("/reports/q1", 401),
        ] {
            let res = c.head(path).kind(kind).send().await;
            assert_eq!(res.status(), status, "{kind:?} HEAD {path}");
            assert!(
                res.bytes().is_empty(),
                "{kind:?} HEAD {path}: {}",
                res.text()
            );
            assert_eq!(res.payload()["body"], "", "{kind:?} HEAD {path}");
        }
    }
}
