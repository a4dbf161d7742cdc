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

/// A public feed any page may read, beside the table's one origin.
fn public_feed() -> Cors {
    Cors::any_origin().max_age(60)
}

#[get("/feed", cors = public_feed)]
async fn feed() -> &'static str {
    "[]"
}

#[post("/feed", cors = false)]
async fn publish() -> &'static str {
    "published"
}

#[get("/admin", cors = false)]
async fn admin() -> &'static str {
    "secret"
}

fn per_route() -> Client {
    Client::new(routes![item, feed, publish, admin].cors(Cors::new().allow_origin(APP)))
}

#[tokio::test]
async fn a_route_of_its_own_answers_with_its_own_settings() {
    let c = per_route();
    for kind in EventKind::LAMBDA {
        // The feed: any origin, `*`, its own max age; the preflight lists
        // only the methods of the path under the same settings.
        let res = c
            .options("/feed")
            .kind(kind)
            .header("Origin", "https://elsewhere.test")
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await;
        assert_eq!(res.status(), 204, "{kind:?}: {}", res.text());
        assert_eq!(res.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            res.header("access-control-allow-methods"),
            Some("GET, HEAD")
        );
        assert_eq!(res.header("access-control-max-age"), Some("60"));
        let res = c
            .get("/feed")
            .kind(kind)
            .header("Origin", "https://elsewhere.test")
            .send()
            .await;
        assert_eq!(res.text(), "[]");
        assert_eq!(res.header("access-control-allow-origin"), Some("*"));
        // The table's routes keep the table's settings.
        let res = c
            .get("/items/1")
            .kind(kind)
            .header("Origin", "https://elsewhere.test")
            .send()
            .await;
        assert!(res.header("access-control-allow-origin").is_none());
    }
}

#[tokio::test]
async fn a_route_without_cors_is_closed_to_every_other_origin() {
    let c = per_route();
    // POST /feed shares a path with the open GET, but has no CORS: its
    // preflight is not answered (the 405 of an unrouted OPTIONS, which a
    // browser takes as a failed preflight), so the browser never sends it,
    // even from the table's own origin.
    for origin in [APP, "https://elsewhere.test"] {
        let res = c
            .options("/feed")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await;
        assert_eq!(res.status(), 405, "{origin}: {}", res.text());
        assert!(res.header("access-control-allow-methods").is_none());
    }
    let res = c.get("/admin").header("Origin", APP).send().await;
    assert_eq!(res.text(), "secret");
    assert!(res.header("access-control-allow-origin").is_none());
    assert!(res.header("vary").is_none());
    let res = c
        .options("/admin")
        .header("Origin", APP)
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await;
    assert_eq!(res.status(), 405);
}

#[test]
fn per_route_settings_in_the_manifest_and_from_configuration() {
    let routes = routes![item, feed, publish, admin].cors(Cors::new().allow_origin(APP));
    let m = routes.manifest();
    assert_eq!(m["cors"]["origins"], serde_json::json!([APP]));
    assert_eq!(
        m["cors"]["routes"],
        serde_json::json!({"feed": {"origins": ["*"], "max_age": 60}, "publish": false, "admin": false})
    );
    // Configuration replaces route settings one by one, and names only
    // handlers of the table.
    let config: Cors =
        serde_json::from_str(r#"{"routes": {"admin": {"origins": ["https://ops.example.com"]}}}"#)
            .unwrap();
    let c = Cors::overlay(routes.cors_settings().as_ref(), Some(&config)).unwrap();
    assert_eq!(c.origins, [APP]);
    assert_eq!(
        c.routes["admin"],
        lambada::cors::RouteCors::Own(Box::new(
            Cors::new().allow_origin("https://ops.example.com")
        ))
    );
    let ghost: Cors = serde_json::from_str(r#"{"routes": {"ghost": false}}"#).unwrap();
    let err = Cors::overlay(routes.cors_settings().as_ref(), Some(&ghost))
        .unwrap()
        .check(routes.iter().map(|r| r.handler))
        .unwrap_err();
    assert!(
        err.contains("`routes.ghost` names no route's handler"),
        "{err}"
    );
    assert!(err.contains("item, feed, publish, admin"), "{err}");
    let err = serde_json::from_str::<Cors>(r#"{"routes": {"feed": true}}"#).unwrap_err();
    assert!(err.to_string().contains("route's CORS setting"), "{err}");
}
