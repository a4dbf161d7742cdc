//! `#[authorizer]` functions through the code path the Lambda runtime uses
//! (`_HANDLER` = the authorizer's name): every event shape API Gateway
//! sends one, the answer in the shape it expects, failures as function
//! errors, and the routes they protect.

use lambada::prelude::*;
use lambada::test::{Client, events};
use serde::Deserialize;
use serde_json::{Value, json};

struct Keys(Vec<(&'static str, &'static str)>);

/// API keys in `x-api-key` (or `?key=`), looked up in shared state.
#[authorizer(request, identity = ["header.x-api-key", "query.key"], ttl = 60)]
async fn api_key(req: AuthorizerRequest, keys: State<Keys>) -> Decision {
    let Some(key) = req.identity() else {
        return Decision::unauthorized();
    };
    match keys.0.0.iter().find(|(k, _)| *k == key) {
        Some((_, "blocked")) => Decision::deny("blocked-client"),
        Some((_, plan)) => Decision::allow(format!("client-{key}"))
            .with("plan", *plan)
            .with("limits", json!({"rps": 10}))
            .usage_key(key),
        None => Decision::unauthorized(),
    }
}

/// Bearer tokens in `Authorization`, the REST API `TOKEN` kind.
#[authorizer(token, ttl = 0)]
async fn bearer(req: AuthorizerRequest) -> Result<Decision, String> {
    match req.bearer() {
        Some("good") => Ok(Decision::allow("u-1").with("role", "admin")),
        Some("boom") => Err("the key store is down".into()),
        Some("panic") => panic!("authorizer bug"),
        _ => Ok(Decision::deny("anonymous")),
    }
}

#[derive(Debug, Deserialize)]
struct Caller {
    plan: String,
}

#[get("/reports", auth = api_key)]
async fn reports(AuthContext(c): AuthContext<Caller>) -> String {
    format!("plan {}", c.plan)
}

#[get("/admin", auth = bearer)]
async fn admin() -> &'static str {
    "admin"
}

#[get("/open")]
async fn open() -> &'static str {
    "open"
}

fn app() -> Routes {
    routes![reports, admin, open, api_key, bearer]
        .with_state(Keys(vec![("k1", "gold"), ("k2", "blocked")]))
}

#[tokio::test]
async fn request_authorizer_answers_rest_with_a_stage_wide_policy() {
    let a = Client::new(app()).trigger("api_key");
    let ev = events::request_authorizer("GET", "/reports", &[("x-api-key", "k1")]);
    assert_eq!(ev["type"], "REQUEST");
    let res = a.send(&ev).await.unwrap();
    assert_eq!(res["principalId"], "client-k1");
    let st = &res["policyDocument"]["Statement"][0];
    assert_eq!(st["Effect"], "Allow");
    assert_eq!(st["Action"], json!(["execute-api:Invoke"]));
    assert_eq!(
        st["Resource"],
        json!(["arn:aws:execute-api:us-east-1:123456789012:wt6mne2s9k/prod/*"])
    );
    // REST context values are scalars: an object travels as its JSON text.
    assert_eq!(
        res["context"],
        json!({"plan": "gold", "limits": "{\"rps\":10}"})
    );
    assert_eq!(res["usageIdentifierKey"], "k1");

    // The second identity source, a query parameter.
    let ev = events::request_authorizer("GET", "/reports?key=k1", &[]);
    let res = a.send(&ev).await.unwrap();
    assert_eq!(res["principalId"], "client-k1");

    let ev = events::request_authorizer("GET", "/reports", &[("x-api-key", "k2")]);
    let res = a.send(&ev).await.unwrap();
    assert_eq!(res["policyDocument"]["Statement"][0]["Effect"], "Deny");
    assert_eq!(res["principalId"], "blocked-client");

    // Unknown key: the `Unauthorized` function error API Gateway turns into 401.
    let ev = events::request_authorizer("GET", "/reports", &[("x-api-key", "nope")]);
    let err = a.send(&ev).await.unwrap_err();
    assert_eq!(err.message, "Unauthorized");
}

#[tokio::test]
async fn http_api_events_get_the_simple_response() {
    let a = Client::new(app()).trigger("api_key");
    let ev = events::http_authorizer("GET", "/reports", &[("x-api-key", "k1")]);
    assert_eq!(ev["version"], "2.0");
    let res = a.send(&ev).await.unwrap();
    assert_eq!(res["isAuthorized"], true);
    // HTTP APIs take any JSON in the context.
    assert_eq!(res["context"]["limits"], json!({"rps": 10}));
    for key in ["k2", "nope"] {
        let ev = events::http_authorizer("GET", "/reports", &[("x-api-key", key)]);
        assert_eq!(a.send(&ev).await.unwrap()["isAuthorized"], false, "{key}");
    }
}

#[tokio::test]
async fn token_authorizer_errors_and_panics_are_function_errors() {
    let a = Client::new(app()).trigger("bearer");
    let ev = events::token_authorizer("Bearer good", "GET", "/admin");
    assert_eq!(ev["type"], "TOKEN");
    let res = a.send(&ev).await.unwrap();
    assert_eq!(res["principalId"], "u-1");
    assert_eq!(res["context"]["role"], "admin");
    let res = a
        .send(&events::token_authorizer("Bearer who", "GET", "/admin"))
        .await
        .unwrap();
    assert_eq!(res["policyDocument"]["Statement"][0]["Effect"], "Deny");

    let err = a
        .send(&events::token_authorizer("Bearer boom", "GET", "/admin"))
        .await
        .unwrap_err();
    assert_eq!(err.message, "the key store is down");
    let err = a
        .send(&events::token_authorizer("Bearer panic", "GET", "/admin"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.Panic");
    assert!(err.message.contains("authorizer bug"), "{}", err.message);
    // The next invocation is served.
    assert!(
        a.send(&events::token_authorizer("Bearer good", "GET", "/admin"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn events_of_another_kind_are_invalid_events() {
    let a = Client::new(app()).trigger("bearer");
    for bad in [
        json!({"type": "OTHER"}),
        json!([1]),
        events::sns("t", &["m"]),
    ] {
        let err = a.send(&bad).await.unwrap_err();
        assert_eq!(err.error_type, "Lambada.InvalidEvent", "{bad}");
    }
    // TOKEN without a methodArn cannot be answered with a policy.
    let err = a
        .send(&json!({"type": "TOKEN", "authorizationToken": "Bearer good"}))
        .await
        .unwrap_err();
    assert!(err.message.contains("methodArn"), "{}", err.message);
}

#[tokio::test]
async fn protected_routes_need_the_authorizers_context() {
    let c = Client::new(app());
    let res = c.get("/reports").send().await;
    assert_eq!(res.status(), 401);
    assert!(res.text().contains("`api_key`"), "{}", res.text());
    let res = c
        .get("/reports")
        .authorizer_context(json!({"principalId": "client-k1", "plan": "gold"}))
        .send()
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "plan gold");
    assert_eq!(c.get("/open").send().await.text(), "open");
}

#[test]
fn the_manifest_describes_authorizers_and_who_they_protect() {
    let m = app().manifest();
    let routes = m["routes"].as_array().unwrap();
    let auth: Vec<&Value> = routes.iter().map(|r| &r["auth"]).collect();
    assert_eq!(auth, [&json!("api_key"), &json!("bearer"), &Value::Null]);
    let triggers = m["triggers"].as_array().unwrap();
    assert_eq!(triggers[0]["kind"], "authorizer");
    assert_eq!(triggers[0]["handler"], "api_key");
    assert_eq!(
        triggers[0]["authorizer"],
        json!({"type": "request", "identity": ["header.x-api-key", "query.key"], "ttl": 60})
    );
    assert_eq!(
        triggers[1]["authorizer"],
        json!({"type": "token", "identity": ["header.Authorization"], "ttl": 0})
    );
}
