use super::*;
use lambada::test::Client;

#[tokio::test]
async fn hello_world_in_every_event_shape() {
    let client = Client::new(app());
    for kind in EventKind::LAMBDA {
        let res = client.get("/helloworld/5").kind(kind).send().await;
        assert_eq!(res.status(), 200, "{kind:?}");
        assert_eq!(res.text(), "Hello world: 5", "{kind:?}");
        assert_eq!(
            res.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn bad_id_is_a_400_problem() {
    let res = Client::new(app()).get("/helloworld/abc").send().await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    let body: serde_json::Value = res.json();
    assert!(body["detail"].as_str().unwrap().contains("`id`"), "{body}");
}

#[tokio::test]
async fn query_parameters() {
    let client = Client::new(app());
    for kind in EventKind::LAMBDA {
        let res = client
            .get("/greet?name=Ada%20L&excited=true")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.text(), "Hello, Ada L!", "{kind:?}");
        let res = client.get("/greet").kind(kind).send().await;
        assert_eq!(res.text(), "Hello, stranger.", "{kind:?}");
        let res = client.get("/greet?excited=maybe").kind(kind).send().await;
        assert_eq!(res.status(), 400, "{kind:?}");
    }
}

#[tokio::test]
async fn header() {
    let res = Client::new(app())
        .get("/agent")
        .header("User-Agent", "curl/8.5")
        .send()
        .await;
    assert_eq!(res.text(), "You are using curl/8.5");
}

#[tokio::test]
async fn json_post() {
    let client = Client::new(app());
    for kind in EventKind::LAMBDA {
        let res = client
            .post("/items")
            .json(&serde_json::json!({"sku": "ABC-123", "quantity": 2}))
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 201, "{kind:?}");
        let item: Item = res.json();
        assert_eq!(
            item,
            Item {
                sku: "ABC-123".into(),
                quantity: 2,
                href: "/items/ABC-123".into()
            }
        );
    }
    let res = client
        .post("/items")
        .json(&serde_json::json!({"sku": "X", "quantity": 0}))
        .send()
        .await;
    assert_eq!(res.status(), 422);
    let res = client
        .post("/items")
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
}

#[tokio::test]
async fn typed_error_and_redirect() {
    let client = Client::new(app());
    let res = client.get("/items/NOPE").send().await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json();
    assert_eq!(body["detail"], "no item `NOPE`");
    let res = client.get("/old-home").send().await;
    assert_eq!(res.status(), 301);
    assert_eq!(res.header("location"), Some("/helloworld/1"));
}

#[tokio::test]
async fn me_needs_the_authorizers_claims_and_scope() {
    let client = Client::new(app());
    let claims = serde_json::json!({"sub": "u-1", "username": "ada", "scope": "openid profile"});
    for kind in [EventKind::RestV1, EventKind::HttpV2] {
        let res = client
            .get("/me")
            .kind(kind)
            .claims(claims.clone())
            .send()
            .await;
        assert_eq!(res.status(), 200, "{kind:?}: {}", res.text());
        assert_eq!(res.text(), "Hello, ada");
        assert_eq!(client.get("/me").kind(kind).send().await.status(), 401);
        let res = client
            .get("/me")
            .kind(kind)
            .claims(serde_json::json!({"sub": "u-1", "scope": "openid"}))
            .send()
            .await;
        assert_eq!(res.status(), 403, "{kind:?}: {}", res.text());
    }
    // An ALB has no authorizer: the route stays closed.
    let res = client
        .get("/me")
        .kind(EventKind::Alb)
        .claims(claims)
        .send()
        .await;
    assert_eq!(res.status(), 401);
}

/// The OpenAPI document the handlers' types describe, as checked in
/// (`examples/helloworld/openapi.json`): a change of a route or a type
/// shows here. `UPDATE_SNAPSHOTS=1 cargo test -p example-helloworld`
/// rewrites it.
#[test]
fn openapi_document_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let doc = serde_json::to_string_pretty(&app().openapi()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &doc).unwrap();
    }
    let saved = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        saved == doc,
        "the document changed: run `UPDATE_SNAPSHOTS=1 cargo test -p example-helloworld` and review the diff of {path}"
    );
}
