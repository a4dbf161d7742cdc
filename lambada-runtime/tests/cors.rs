//! CORS through the production dispatch path, in every event shape.

use lambada::prelude::*;
use lambada::test::Client;
use serde::Deserialize;

#[get("/items/<id>")]
async fn item(id: u32, #[header("x-client")] client: Option<String>) -> String {
    format!("item {id} for {}", client.unwrap_or_default())
}

#[derive(Deserialize)]
struct NewItem {
    sku: String,
}

#[post("/items")]
async fn create(Json(i): Json<NewItem>) -> (StatusCode, String) {
    (StatusCode::CREATED, i.sku)
}

#[delete("/items/<id>")]
async fn remove(id: u32) -> String {
    id.to_string()
}

#[get("/boom")]
async fn boom() -> String {
    panic!("handler bug")
}

#[options("/manual")]
async fn manual() -> &'static str {
    "manual options"
}

const APP: &str = "https://app.example.com";

fn client() -> Client {
    Client::new(
        routes![item, create, remove, boom, manual].cors(
            Cors::new()
                .allow_origin(APP)
                .allow_origin("https://*.preview.example.com")
                .allow_headers(["x-client"])
                .expose_headers(["x-request-id"])
                .allow_credentials(true)
                .max_age(600),
        ),
    )
}

fn vary(res: &lambada::test::TestResponse) -> String {
    res.headers()
        .get_all("vary")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn preflight_is_answered_for_every_routed_path_in_every_shape() {
    let c = client();
    for kind in EventKind::LAMBDA {
        let res = c
            .options("/items/7")
            .kind(kind)
            .header("Origin", APP)
            .header("Access-Control-Request-Method", "DELETE")
            .header("Access-Control-Request-Headers", "X-Client, Content-Type")
            .send()
            .await;
        assert_eq!(res.status(), 204, "{kind:?}: {}", res.text());
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some(APP),
            "{kind:?}"
        );
        assert_eq!(
            res.header("access-control-allow-methods"),
            Some("GET, DELETE, HEAD")
        );
        let allowed = res.header("access-control-allow-headers").unwrap();
        assert!(
            allowed.contains("x-client") && allowed.contains("content-type"),
            "{allowed}"
        );
        assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(res.header("access-control-max-age"), Some("600"));
        assert!(vary(&res).contains("origin"), "{kind:?}");
        assert!(res.bytes().is_empty());
    }
    // A path with one method: only that method is offered.
    let res = c
        .options("/items")
        .header("Origin", "https://pr-12.preview.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://pr-12.preview.example.com")
    );
    assert_eq!(res.header("access-control-allow-methods"), Some("POST"));
}

#[tokio::test]
async fn refused_preflights_carry_no_allow_origin() {
    let c = client();
    for (origin, method, headers, why) in [
        ("https://evil.example.net", "GET", "", "origin"),
        ("https://preview.example.com", "GET", "", "origin"),
        (APP, "PUT", "", "method PUT"),
        (APP, "GET", "x-secret", "x-secret"),
    ] {
        let mut req = c
            .options("/items/1")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", method);
        if !headers.is_empty() {
            req = req.header("Access-Control-Request-Headers", headers);
        }
        let res = req.send().await;
        assert_eq!(res.status(), 403, "{origin} {method} {headers}");
        assert!(res.header("access-control-allow-origin").is_none());
        assert!(res.text().contains(why), "{}", res.text());
    }
    // An unrouted path is a 404, not a preflight answer.
    let res = c
        .options("/nowhere")
        .header("Origin", APP)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(res.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn actual_responses_carry_the_headers_errors_and_panics_included() {
    let c = client();
    for kind in EventKind::LAMBDA {
        let res = c
            .get("/items/3")
            .kind(kind)
            .header("Origin", APP)
            .header("X-Client", "browser")
            .send()
            .await;
        assert_eq!(res.text(), "item 3 for browser");
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some(APP),
            "{kind:?}"
        );
        assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(
            res.header("access-control-expose-headers"),
            Some("x-request-id")
        );
        assert_eq!(vary(&res), "origin", "{kind:?}");

        for (res, status) in [
            (
                c.get("/items/x")
                    .kind(kind)
                    .header("Origin", APP)
                    .send()
                    .await,
                400,
            ),
            (
                c.get("/nope").kind(kind).header("Origin", APP).send().await,
                404,
            ),
            (
                c.put("/items/1")
                    .kind(kind)
                    .header("Origin", APP)
                    .send()
                    .await,
                405,
            ),
            (
                c.post("/items")
                    .kind(kind)
                    .header("Origin", APP)
                    .header("content-type", "application/json")
                    .body("{")
                    .send()
                    .await,
                400,
            ),
            (
                c.get("/boom").kind(kind).header("Origin", APP).send().await,
                500,
            ),
        ] {
            assert_eq!(res.status(), status, "{kind:?}: {}", res.text());
            assert_eq!(
                res.header("access-control-allow-origin"),
                Some(APP),
                "{kind:?} {status}"
            );
        }
    }
    // Another origin: the response, without the CORS headers, still says it varies.
    let res = c
        .get("/items/3")
        .header("Origin", "https://evil.example.net")
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.header("access-control-allow-origin").is_none());
    assert_eq!(vary(&res), "origin");
    // No origin (same-origin or not a browser): no CORS headers, Vary kept for caches.
    let res = c.get("/items/3").send().await;
    assert!(res.header("access-control-allow-origin").is_none());
    assert_eq!(vary(&res), "origin");
}

#[tokio::test]
async fn plain_options_requests_reach_their_handler() {
    let c = client();
    let res = c.options("/manual").header("Origin", APP).send().await;
    assert_eq!(res.text(), "manual options");
    assert_eq!(res.header("access-control-allow-origin"), Some(APP));
}

#[tokio::test]
async fn a_public_api_answers_star_without_vary() {
    let c = Client::new(routes![item].cors(Cors::any_origin()));
    let res = c
        .get("/items/1")
        .header("Origin", "https://anyone.test")
        .send()
        .await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert!(res.header("vary").is_none());
    assert!(res.header("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn tables_without_cors_are_unchanged() {
    let c = Client::new(routes![item]);
    let res = c
        .options("/items/1")
        .header("Origin", APP)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    assert_eq!(res.status(), 405);
    assert!(res.header("access-control-allow-origin").is_none());
    assert!(res.header("vary").is_none());
}

#[test]
fn invalid_settings_are_an_init_error_naming_the_cause() {
    let routes = routes![item].cors(Cors::new().allow_origin("https://app.example.com/"));
    let err = routes.check().unwrap_err().to_string();
    assert!(
        err.contains("https://app.example.com/") && err.contains("path"),
        "{err}"
    );
    assert_eq!(
        routes.manifest()["cors"]["origins"][0],
        "https://app.example.com/"
    );
}
