//! Routes protected by authorizers, through the production dispatch path:
//! typed claims and authorizer context in every event shape, the 401/403
//! problems when API Gateway's result is missing or short, table defaults
//! and public routes, and what the manifest tells `cargo lambada`.

use lambada::prelude::*;
use lambada::test::Client;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct User {
    sub: String,
    email: String,
    exp: u64,
}

#[get("/me", auth = "users")]
async fn me(Claims(u): Claims<User>) -> String {
    format!("{} {} {}", u.sub, u.email, u.exp)
}

#[get("/orders/<id>", auth = "users", scopes = ["orders/read", "orders/admin"])]
async fn order(id: u32) -> String {
    format!("order {id}")
}

#[get("/health", auth = "none")]
async fn health() -> &'static str {
    "ok"
}

#[get("/plain")]
async fn plain() -> &'static str {
    "plain"
}

#[derive(Debug, Deserialize)]
struct Partner {
    tenant: String,
    tier: u8,
}

#[get("/partner", auth = "keys")]
async fn partner(AuthContext(p): AuthContext<Partner>) -> String {
    format!("{} tier {}", p.tenant, p.tier)
}

fn claims() -> Value {
    json!({"sub": "u-1", "email": "ada@example.com", "exp": 1_900_000_000u64, "scope": "orders/read profile"})
}

fn client() -> Client {
    Client::new(routes![me, order, health, plain, partner])
}

#[tokio::test]
async fn claims_reach_the_handler_where_the_event_carries_them() {
    let c = client();
    for kind in [EventKind::RestV1, EventKind::HttpV2] {
        let res = c.get("/me").kind(kind).claims(claims()).send().await;
        assert_eq!(res.status(), 200, "{kind:?}: {}", res.text());
        // REST APIs hand every claim over as a string; `exp: u64` still reads.
        assert_eq!(res.text(), "u-1 ada@example.com 1900000000", "{kind:?}");
    }
    // Function URLs and ALBs carry no authorizer result: refused, fail closed.
    for kind in [
        EventKind::FunctionUrl,
        EventKind::Alb,
        EventKind::AlbMultiValue,
    ] {
        let res = c.get("/me").kind(kind).claims(claims()).send().await;
        assert_eq!(res.status(), 401, "{kind:?}: {}", res.text());
        assert_eq!(res.header("www-authenticate"), Some("Bearer"));
        let p: Value = res.json();
        assert!(
            p["detail"].as_str().unwrap().contains("authorizer `users`"),
            "{p}"
        );
    }
}

#[tokio::test]
async fn missing_or_unfitting_claims_are_problems_not_500s() {
    let c = client();
    for kind in [EventKind::RestV1, EventKind::HttpV2] {
        let res = c.get("/me").kind(kind).send().await;
        assert_eq!(res.status(), 401, "{kind:?}");
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
        // A claim set without `email`: the caller is known but does not fit.
        let res = c
            .get("/me")
            .kind(kind)
            .claims(json!({"sub": "u-2", "exp": 1}))
            .send()
            .await;
        assert_eq!(res.status(), 403, "{kind:?}: {}", res.text());
        let p: Value = res.json();
        assert!(p["detail"].as_str().unwrap().contains("email"), "{p}");
    }
    // A Lambda authorizer's context is not a claim set.
    let res = c
        .get("/me")
        .kind(EventKind::HttpV2)
        .authorizer_context(json!({"tenant": "t"}))
        .send()
        .await;
    assert_eq!(res.status(), 401, "{}", res.text());
}

#[tokio::test]
async fn scopes_any_of_the_routes() {
    let c = client();
    for kind in [EventKind::RestV1, EventKind::HttpV2] {
        let ok = c.get("/orders/7").kind(kind).claims(claims()).send().await;
        assert_eq!(ok.status(), 200, "{kind:?}: {}", ok.text());
        assert_eq!(ok.text(), "order 7");
        let mut other = claims();
        other["scope"] = json!("profile email");
        let res = c.get("/orders/7").kind(kind).claims(other).send().await;
        assert_eq!(res.status(), 403, "{kind:?}: {}", res.text());
        let p: Value = res.json();
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("`orders/read`") && detail.contains("`profile`"),
            "{detail}"
        );
        let mut none = claims();
        none.as_object_mut().unwrap().remove("scope");
        let res = c.get("/orders/7").kind(kind).claims(none).send().await;
        assert_eq!(res.status(), 403, "{kind:?}: {}", res.text());
        // Without any authorizer result: 401 before the scopes matter.
        let res = c.get("/orders/7").kind(kind).send().await;
        assert_eq!(res.status(), 401, "{kind:?}");
    }
}

#[tokio::test]
async fn lambda_authorizer_context_is_typed() {
    let c = client();
    for kind in [EventKind::RestV1, EventKind::HttpV2] {
        let res = c
            .get("/partner")
            .kind(kind)
            .authorizer_context(json!({"tenant": "acme", "tier": 2}))
            .send()
            .await;
        assert_eq!(res.status(), 200, "{kind:?}: {}", res.text());
        assert_eq!(res.text(), "acme tier 2");
        let res = c
            .get("/partner")
            .kind(kind)
            .authorizer_context(json!({"tenant": "acme", "tier": "gold"}))
            .send()
            .await;
        assert_eq!(res.status(), 403, "{kind:?}: {}", res.text());
        assert_eq!(c.get("/partner").kind(kind).send().await.status(), 401);
    }
}

#[tokio::test]
async fn table_default_public_routes_and_cors_on_refusals() {
    let c = Client::new(
        routes![me, order, health, plain, partner]
            .auth("users")
            .cors(Cors::new().allow_origin("https://app.example.com")),
    );
    // `auth = "none"` stays public; a route without `auth` takes the default.
    assert_eq!(c.get("/health").send().await.status(), 200);
    let res = c
        .get("/plain")
        .header("origin", "https://app.example.com")
        .send()
        .await;
    assert_eq!(res.status(), 401, "{}", res.text());
    // The browser can read the refusal.
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let res = c.get("/plain").claims(claims()).send().await;
    assert_eq!(res.status(), 200);
    // A preflight never needs credentials.
    let res = c
        .options("/plain")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await;
    assert_eq!(res.status(), 204, "{}", res.text());
    // Without a default, `/plain` is public.
    assert_eq!(client().get("/plain").send().await.status(), 200);
}

#[test]
fn manifest_and_checks() {
    let routes = routes![me, order, health, plain].auth("users");
    let m = routes.manifest();
    let by_handler = |h: &str| {
        m["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["handler"] == h)
            .unwrap()
            .clone()
    };
    assert_eq!(by_handler("me")["auth"], "users");
    assert_eq!(
        by_handler("order")["scopes"],
        json!(["orders/read", "orders/admin"])
    );
    assert_eq!(by_handler("health")["auth"], Value::Null);
    assert_eq!(by_handler("plain")["auth"], "users");
    assert!(routes.check().is_ok());
    assert_eq!(routes![plain].manifest()["routes"][0]["auth"], Value::Null);

    let e = routes![health]
        .auth("none")
        .check()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("default authorizer") && e.contains("public"),
        "{e}"
    );
}

#[get("/scoped", scopes = ["a"])]
async fn scoped_without_auth() -> &'static str {
    "x"
}

#[test]
fn scopes_without_an_authorizer_are_an_init_error() {
    let e = routes![scoped_without_auth]
        .check()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("scoped_without_auth") && e.contains("no authorizer"),
        "{e}"
    );
    assert!(routes![scoped_without_auth].auth("users").check().is_ok());
}
