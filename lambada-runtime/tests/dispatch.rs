//! Macros expanded, real event JSON dispatched through the production path.

use std::sync::atomic::{AtomicU32, Ordering};

use lambada::prelude::*;
use lambada::test::Client;
use serde::Deserialize;

#[get("/hello/<who>")]
async fn hello(who: &str) -> String {
    format!("Hello world: {who}")
}

#[post("/hello/world")]
async fn hello_world_post(body: String) -> String {
    format!("posted {} bytes", body.len())
}

#[get("/")]
async fn root(ctx: Context<'_>, #[header] user_agent: Option<String>) -> String {
    format!(
        "root kind={:?} ua={}",
        ctx.kind.unwrap(),
        user_agent.unwrap_or_default()
    )
}

#[derive(Deserialize)]
struct Params {
    parameter1: Vec<String>,
    parameter2: String,
}

#[get("/my/path")]
async fn my_path(
    ctx: Context<'_>,
    cookies: Cookies<'_>,
    #[query] parameter1: Vec<String>,
    Query(p): Query<Params>,
) -> String {
    let jar: Vec<_> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "claim1={} p1={parameter1:?} q={:?}/{} cookies={} stage={} ip={}",
        ctx.claim("claim1").unwrap_or_default(),
        p.parameter1,
        p.parameter2,
        jar.len(),
        ctx.stage.as_deref().unwrap_or(""),
        ctx.source_ip.as_deref().unwrap_or("")
    )
}

#[post("/items")]
async fn items(Json(v): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(v)
}

#[get("/panic")]
async fn panics() -> &'static str {
    panic!("boom")
}

#[get("/files/<path..>")]
async fn files(path: &str) -> String {
    format!("file {path}")
}

#[get("/bin")]
async fn binary() -> ([(HeaderName, &'static str); 1], Vec<u8>) {
    (
        [(lambada::header::CONTENT_TYPE, "image/png")],
        vec![0x89, b'P', b'N', b'G', 0, 0xff],
    )
}

#[get("/cookies")]
async fn set_cookies() -> (HeaderMap, &'static str) {
    let mut h = HeaderMap::new();
    h.append(lambada::header::SET_COOKIE, "a=1; Path=/".parse().unwrap());
    h.append(lambada::header::SET_COOKIE, "b=2; Path=/".parse().unwrap());
    (h, "cookies set")
}

#[put("/things/<id>")]
async fn put_thing(id: u64) -> String {
    format!("put {id}")
}

#[delete("/things/<id>")]
async fn delete_thing(id: u64) {
    let _ = id;
}

#[derive(Deserialize, serde::Serialize)]
struct Login {
    user: String,
    remember: Option<bool>,
}

#[post("/login")]
async fn login(Form(f): Form<Login>) -> String {
    format!("{} {}", f.user, f.remember.unwrap_or(false))
}

struct Counter {
    hits: AtomicU32,
}

#[get("/count")]
async fn count(counter: State<Counter>) -> String {
    counter.hits.fetch_add(1, Ordering::SeqCst).to_string()
}

#[route(PATCH, "/search?<q>&<page>")]
async fn search(q: &str, page: Option<u32>, #[cookie] session: Option<String>) -> String {
    format!(
        "{q} p{} s={}",
        page.unwrap_or(1),
        session.unwrap_or_default()
    )
}

#[get("/redirect/<code>")]
async fn redirect(code: u16) -> Redirect {
    match code {
        301 => Redirect::moved_permanently("/a"),
        302 => Redirect::found("/a"),
        303 => Redirect::see_other("/a"),
        307 => Redirect::temporary("/a"),
        _ => Redirect::permanent("/a"),
    }
}

#[get("/sync")]
fn sync_handler() -> &'static str {
    "sync"
}

// A handler named like a common module (actix #1277).
#[get("/config")]
async fn config() -> &'static str {
    "config"
}

fn app() -> Routes {
    routes![
        hello,
        hello_world_post,
        root,
        my_path,
        items,
        panics,
        files,
        binary,
        set_cookies,
        put_thing,
        delete_thing,
        login,
        count,
        search,
        redirect,
        sync_handler,
        config,
    ]
    .with_state(Counter {
        hits: AtomicU32::new(0),
    })
}

fn client() -> Client {
    Client::new(app())
}

async fn sample(name: &str) -> lambada::test::TestResponse {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let event = std::fs::read(&path).unwrap();
    client().send_event(&event).await.unwrap()
}

#[tokio::test]
async fn documented_sample_events() {
    // REST v1, resource `/{proxy+}`: routed on the path.
    let res = sample("apigw-v1-proxy.json").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "posted 13 bytes");
    // v1 answers with multiValueHeaders.
    assert!(res.payload()["multiValueHeaders"].is_object());

    // REST v1 with resource `/hello/{id}` and a named stage.
    let res = sample("apigw-rest-v1-get-hello.json").await;
    assert_eq!(
        (res.status().as_u16(), res.text()),
        (200, "Hello world: 42")
    );
    // HTTP API, route key `GET /hello/{id}`.
    let res = sample("apigw-http-v2-get-hello.json").await;
    assert_eq!(
        (res.status().as_u16(), res.text()),
        (200, "Hello world: 42")
    );
    assert!(res.payload()["headers"].is_object());
    assert!(res.payload().get("multiValueHeaders").is_none());
    let res = sample("alb-get-hello.json").await;
    assert_eq!(
        (res.status().as_u16(), res.text()),
        (200, "Hello world: 42")
    );
    assert_eq!(res.payload()["statusDescription"], "200 OK");

    for name in [
        "apigw-rest-v1-post-items.json",
        "apigw-http-v2-post-items.json",
    ] {
        let res = sample(name).await;
        assert_eq!(res.status(), 200, "{name}");
        assert!(
            res.text().contains("\"sku\":\"ABC-123\""),
            "{name}: {}",
            res.text()
        );
    }

    let res = sample("apigw-v2-default.json").await;
    assert_eq!(res.text(), "root kind=HttpV2 ua=curl/7.58.0");

    let res = sample("apigw-v2-jwt.json").await;
    assert_eq!(
        res.text(),
        r#"claim1=value1 p1=["value1", "value2"] q=["value1", "value2"]/value cookies=2 stage=$default ip=IP"#
    );

    let res = sample("alb-single.json").await;
    assert_eq!(res.text(), "root kind=Alb ua=curl/7.54.0");
    assert!(res.payload()["headers"].is_object());
    let res = sample("alb-multi.json").await;
    assert_eq!(res.text(), "root kind=AlbMultiValue ua=curl/7.54.0");
    assert!(res.payload()["multiValueHeaders"].is_object());
}

#[tokio::test]
async fn not_http_events_are_errors_naming_the_kinds() {
    let path = format!(
        "{}/tests/data/sns-ses-bounce.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let err = client()
        .event(&std::fs::read(path).unwrap())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("REST API") && msg.contains("HTTP API") && msg.contains("Load Balancer"),
        "{msg}"
    );
    assert_eq!(err.error_type(), "Lambada.UnknownEventShape");
    let err = client().event(b"{not json").await.unwrap_err();
    assert_eq!(err.error_type(), "Lambada.InvalidEventJson");
    assert!(client().event(b"[1,2]").await.is_err());
    assert!(
        client()
            .event(b"{\"httpMethod\": 5, \"resource\": \"/\"}")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn every_shape_round_trips() {
    let c = client();
    for kind in EventKind::LAMBDA {
        let res = c.get("/hello/J%C3%BCrgen%20K").kind(kind).send().await;
        assert_eq!(res.text(), "Hello world: Jürgen K", "{kind:?}");
        let res = c.get("/files/a/b%20c/d.txt").kind(kind).send().await;
        assert_eq!(res.text(), "file a/b c/d.txt", "{kind:?}");
        let res = c.put("/things/9").kind(kind).send().await;
        assert_eq!(res.text(), "put 9", "{kind:?}");
        let res = c.delete("/things/9").kind(kind).send().await;
        assert_eq!(res.status(), 204, "{kind:?}");
        let res = c.get("/sync").kind(kind).send().await;
        assert_eq!(res.text(), "sync", "{kind:?}");
        let res = c.get("/config").kind(kind).send().await;
        assert_eq!(res.text(), "config", "{kind:?}");
        let res = c
            .request(http::Method::PATCH, "/search?q=rust%20lang&page=3")
            .cookie("session", "abc")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.text(), "rust lang p3 s=abc", "{kind:?}");
        let res = c
            .request(http::Method::PATCH, "/search")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 400, "{kind:?}");
        let res = c
            .post("/login")
            .form(&Login {
                user: "ada".into(),
                remember: Some(true),
            })
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.text(), "ada true", "{kind:?}");
    }
}

#[tokio::test]
async fn no_route_is_404_and_wrong_method_405_with_allow() {
    let c = client();
    for kind in EventKind::LAMBDA {
        let res = c.get("/nowhere").kind(kind).send().await;
        assert_eq!(res.status(), 404, "{kind:?}");
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
        let res = c.post("/things/1").kind(kind).send().await;
        assert_eq!(res.status(), 405, "{kind:?}");
        assert_eq!(res.header("allow"), Some("PUT, DELETE"), "{kind:?}");
        let res = c.post("/hello/x").kind(kind).send().await;
        assert_eq!(res.status(), 405, "{kind:?}");
        assert_eq!(res.header("allow"), Some("GET, HEAD"), "{kind:?}");
        // HEAD is served by the GET route, without a body.
        let res = c.head("/hello/x").kind(kind).send().await;
        assert_eq!(res.status(), 200, "{kind:?}");
        assert!(res.bytes().is_empty());
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_and_the_next_request_is_served() {
    let c = client();
    for _ in 0..3 {
        let res = c.get("/panic").send().await;
        assert_eq!(res.status(), 500);
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
        assert_eq!(
            c.get("/hello/again").send().await.text(),
            "Hello world: again"
        );
    }
}

#[tokio::test]
async fn bad_bodies_are_problems() {
    let c = client();
    let res = c
        .post("/items")
        .header("content-type", "application/json")
        .body("{\"a\":")
        .send()
        .await;
    assert_eq!(res.status(), 400);
    let p: serde_json::Value = res.json();
    assert_eq!(p["status"], 400);
    assert!(p["detail"].as_str().unwrap().contains("invalid JSON body"));
    let res = c
        .post("/items")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await;
    assert_eq!(res.status(), 415);
    let res = c
        .post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("nope=1")
        .send()
        .await;
    assert_eq!(res.status(), 400);
    let res = c
        .post("/hello/world")
        .header("content-type", "application/octet-stream")
        .body(vec![0xff, 0xfe])
        .send()
        .await;
    assert_eq!(res.status(), 400, "a non-UTF-8 body for a String argument");
}

#[tokio::test]
async fn binary_bodies_are_base64_both_ways() {
    let c = client();
    for kind in EventKind::LAMBDA {
        let res = c.get("/bin").kind(kind).send().await;
        assert_eq!(res.payload()["isBase64Encoded"], true, "{kind:?}");
        assert_eq!(&res.bytes()[..], &[0x89, b'P', b'N', b'G', 0, 0xff]);
        // A binary request body arrives base64-encoded and is decoded.
        let res = c
            .post("/items")
            .header("content-type", "application/json")
            .body(b"{\"k\":\"\xc3\xa9\"}".to_vec())
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.text(), "{\"k\":\"é\"}");
    }
}

#[tokio::test]
async fn cookies_in_each_shape() {
    let c = client();
    let res = c.get("/cookies").kind(EventKind::HttpV2).send().await;
    assert_eq!(
        res.payload()["cookies"],
        serde_json::json!(["a=1; Path=/", "b=2; Path=/"])
    );
    assert!(res.payload()["headers"].get("set-cookie").is_none());
    let res = c.get("/cookies").kind(EventKind::RestV1).send().await;
    assert_eq!(
        res.payload()["multiValueHeaders"]["set-cookie"],
        serde_json::json!(["a=1; Path=/", "b=2; Path=/"])
    );
    // Single-value ALB cannot carry two cookies: the last one, never a joined header.
    let res = c.get("/cookies").kind(EventKind::Alb).send().await;
    assert_eq!(res.payload()["headers"]["set-cookie"], "b=2; Path=/");
    let res = c
        .get("/cookies")
        .kind(EventKind::AlbMultiValue)
        .send()
        .await;
    assert_eq!(
        res.payload()["multiValueHeaders"]["set-cookie"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn responses_parse_as_the_official_types() {
    use aws_lambda_events::alb::AlbTargetGroupResponse;
    use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
    let c = client();
    let v1: ApiGatewayProxyResponse =
        serde_json::from_value(c.get("/cookies").send().await.payload().clone()).unwrap();
    assert_eq!(v1.status_code, 200);
    assert_eq!(
        v1.multi_value_headers.get_all("set-cookie").iter().count(),
        2
    );
    let v2: ApiGatewayV2httpResponse = serde_json::from_value(
        c.get("/cookies")
            .kind(EventKind::HttpV2)
            .send()
            .await
            .payload()
            .clone(),
    )
    .unwrap();
    assert_eq!(v2.cookies.len(), 2);
    let alb: AlbTargetGroupResponse = serde_json::from_value(
        c.get("/hello/x")
            .kind(EventKind::Alb)
            .send()
            .await
            .payload()
            .clone(),
    )
    .unwrap();
    assert_eq!(alb.status_description.as_deref(), Some("200 OK"));
}

#[tokio::test]
async fn redirects() {
    let c = client();
    for code in [301u16, 302, 303, 307, 308] {
        let res = c.get(&format!("/redirect/{code}")).send().await;
        assert_eq!(res.status().as_u16(), code);
        assert_eq!(res.header("location"), Some("/a"));
    }
}

#[tokio::test]
async fn state_is_shared_across_requests() {
    let c = client();
    assert_eq!(c.get("/count").send().await.text(), "0");
    assert_eq!(
        c.get("/count").kind(EventKind::HttpV2).send().await.text(),
        "1"
    );
}

#[tokio::test]
async fn missing_state_is_reported_before_serving() {
    let err = routes![count].check().unwrap_err().to_string();
    assert!(
        err.contains("State<dispatch::Counter>") && err.contains("with_state"),
        "{err}"
    );
    assert!(
        routes![count]
            .with_state(Counter {
                hits: AtomicU32::new(0)
            })
            .check()
            .is_ok()
    );
    // Served anyway, it is a 500, not a crash.
    let res = Client::new(routes![count]).get("/count").send().await;
    assert_eq!(res.status(), 500);
}

#[tokio::test]
async fn v2_named_stage_and_base_path() {
    // An HTTP API `$default` route on a named stage: rawPath carries the stage.
    let mut ev: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!(
            "{}/tests/data/apigw-http-v2-get-hello.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    ev["routeKey"] = "$default".into();
    ev["rawPath"] = "/beta/hello/7".into();
    ev["requestContext"]["stage"] = "beta".into();
    let res = client()
        .send_event(&serde_json::to_vec(&ev).unwrap())
        .await
        .unwrap();
    assert_eq!(res.text(), "Hello world: 7");
    // HTTP APIs deliver rawPath already decoded: it must not be decoded twice.
    ev["rawPath"] = "/beta/hello/100%41".into();
    let res = client()
        .send_event(&serde_json::to_vec(&ev).unwrap())
        .await
        .unwrap();
    assert_eq!(res.text(), "Hello world: 100%41");
    // A custom domain's base path, stripped by configuration.
    let c = Client::new(routes![hello].base_path("/api/v1")).kind(EventKind::Alb);
    assert_eq!(
        c.get("/api/v1/hello/x").send().await.text(),
        "Hello world: x"
    );
}

#[tokio::test]
async fn route_table_is_introspectable() {
    let routes = app();
    let r = routes.iter().find(|r| r.handler == "files").unwrap();
    assert_eq!(r.method, lambada::Method::Get);
    assert_eq!(r.canonical, "/files/<path..>");
    assert_eq!(r.apigw_path, "/files/{path+}");
    assert_eq!(r.params[0].name, "path");
    assert_eq!(r.params[0].source, lambada::Source::Path);
    assert_eq!(r.params[0].ty, "&str");
    let r = routes.iter().find(|r| r.handler == "items").unwrap();
    assert_eq!(r.request_content_type, Some("application/json"));
    assert_eq!(r.response_content_type, Some("application/json"));
    let r = routes.iter().find(|r| r.handler == "search").unwrap();
    assert_eq!(r.method, lambada::Method::Patch);
    let sources: Vec<_> = r
        .params
        .iter()
        .map(|p| (p.name, p.source, p.optional))
        .collect();
    assert_eq!(
        sources,
        [
            ("q", lambada::Source::Query, false),
            ("page", lambada::Source::Query, true),
            ("session", lambada::Source::Cookie, true)
        ]
    );
    let r = routes.iter().find(|r| r.handler == "count").unwrap();
    assert_eq!(r.states.len(), 1);
    let manifest = routes.manifest();
    assert_eq!(manifest["routes"].as_array().unwrap().len(), 17);
    assert_eq!(manifest["routes"][0]["apigw_path"], "/hello/{who}");
}

#[tokio::test]
async fn context_carries_the_invocation() {
    #[get("/ctx")]
    async fn ctx(ctx: Context<'_>) -> String {
        format!(
            "{}|{}|{}|{}",
            ctx.lambda_request_id,
            ctx.request_id.as_deref().unwrap_or(""),
            ctx.stage.as_deref().unwrap_or(""),
            ctx.source_ip.as_deref().unwrap_or("")
        )
    }
    let res = Client::new(routes![ctx])
        .get("/ctx")
        .source_ip("198.51.100.1")
        .send()
        .await;
    assert_eq!(
        res.text(),
        "8f5e8a36-2c1a-4a7e-9d1b-3c2f4b5a6d7e|c6af9ac6-7b61-11e6-9a41-93e8deadbeef|prod|198.51.100.1"
    );
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Order {
    quantity: u32,
    lines: Vec<i64>,
    price: f64,
}

#[post("/orders")]
async fn order(Json(o): Json<Order>) -> Json<Order> {
    Json(o)
}

/// A number with no fraction is an integer to JSON Schema, so to clients
/// generated from the document: `1.0` fills a `u32` (found by
/// schemathesis), a real fraction still does not.
#[tokio::test]
async fn integral_floats_fill_integer_fields() {
    let c = Client::new(routes![order]);
    let res = c
        .post("/orders")
        .json(&serde_json::json!({"quantity": 2.0, "lines": [1, -3.0], "price": 2.0}))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json::<serde_json::Value>(),
        serde_json::json!({"quantity": 2, "lines": [1, -3], "price": 2.0})
    );
    for bad in [
        serde_json::json!({"quantity": 2.5, "lines": [], "price": 1}),
        serde_json::json!({"quantity": -1.0, "lines": [], "price": 1}),
        serde_json::json!({"quantity": 1e300, "lines": [], "price": 1}),
    ] {
        let res = c.post("/orders").json(&bad).send().await;
        assert_eq!(res.status(), 422, "{bad}: {}", res.text());
    }
}
