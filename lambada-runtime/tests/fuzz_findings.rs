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

#[get("/cafe")]
async fn cafe() -> (HeaderMap, &'static str) {
    let mut h = HeaderMap::new();
    h.insert(
        "x-place",
        lambada::HeaderValue::from_bytes("café".as_bytes()).unwrap(),
    );
    h.append(
        "x-multi",
        lambada::HeaderValue::from_bytes("naïve".as_bytes()).unwrap(),
    );
    h.append("x-multi", lambada::HeaderValue::from_static("plain"));
    (h, "ok")
}

#[authorizer(token)]
async fn bearer(req: AuthorizerRequest) -> Decision {
    Decision::allow(req.bearer().unwrap_or_default())
}

fn client() -> Client {
    Client::new(
        routes![hello, raw, head_only, report, cafe, bearer]
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

/// event_structured: an `Origin` header that is not ASCII passed a
/// `https://*.example.com` wildcard (any text before the suffix did), and
/// the answer's `Access-Control-Allow-Origin` came out as an empty string
/// (the encoder wrote every header value that is not ASCII as ""; in
/// multi-value headers it dropped them, leaving empty lists). Browsers send
/// origins in ASCII (international names as `xn--`): a wildcard matches DNS
/// labels only, and header values are written as their UTF-8.
#[tokio::test]
async fn origins_and_header_values_that_are_not_ascii() {
    let c = client();
    for kind in EventKind::LAMBDA {
        let res = c
            .get("/hello/1")
            .kind(kind)
            .header("origin", "https://Ϛ.preview.example.com")
            .send()
            .await;
        assert_eq!(res.status(), 200, "{kind:?}");
        assert_eq!(res.header("access-control-allow-origin"), None, "{kind:?}");
        for origin in [
            "https://a.preview.example.com",
            "https://xn--caf-dma.b-2.preview.example.com",
        ] {
            let res = c
                .get("/hello/1")
                .kind(kind)
                .header("origin", origin)
                .send()
                .await;
            assert_eq!(
                res.header("access-control-allow-origin"),
                Some(origin),
                "{kind:?}"
            );
        }
        for origin in [
            "https://.preview.example.com",
            "https://a..preview.example.com",
            "https://a#.preview.example.com",
            "https://a b.preview.example.com",
        ] {
            let res = c
                .get("/hello/1")
                .kind(kind)
                .header("origin", origin)
                .send()
                .await;
            assert_eq!(
                res.header("access-control-allow-origin"),
                None,
                "{kind:?} {origin}"
            );
        }

        let res = c.get("/cafe").kind(kind).send().await;
        let p = res.payload();
        match kind {
            EventKind::RestV1 | EventKind::AlbMultiValue => {
                assert_eq!(p["multiValueHeaders"]["x-place"][0], "café", "{kind:?}");
                assert_eq!(
                    p["multiValueHeaders"]["x-multi"],
                    serde_json::json!(["naïve", "plain"]),
                    "{kind:?}"
                );
            }
            _ => {
                assert_eq!(p["headers"]["x-place"], "café", "{kind:?}");
                assert_eq!(p["headers"]["x-multi"], "naïve, plain", "{kind:?}");
            }
        }
    }
}

/// trigger_records: a `:` in the request path (routes may have one:
/// `/v1/items:batchGet`) was taken for the method ARN's last field
/// separator, so the REST authorizer's policy allowed that one method ARN
/// instead of the whole stage, and API Gateway's cached answer refused the
/// caller's other routes.
#[tokio::test]
async fn the_policy_covers_the_stage_whatever_the_path() {
    let authorizer = client().trigger("bearer");
    let event = lambada::test::events::token_authorizer("Bearer t", "POST", "/v1/items:batchGet");
    let answer = authorizer.send(&event).await.unwrap();
    assert_eq!(
        answer["policyDocument"]["Statement"][0]["Resource"][0],
        "arn:aws:execute-api:us-east-1:123456789012:wt6mne2s9k/prod/*"
    );
}

/// The authorizer's context as the handler reads it.
#[get("/context")]
async fn context(ctx: Context<'_>) -> Json<serde_json::Value> {
    Json(ctx.authorizer_as().unwrap_or_default())
}

/// event_structured: a float in an authorizer's context came back one unit
/// in the last place off (`-4.512211245290102e-246` as
/// `-4.5122112452901024e-246`): serde_json's default float parsing is not
/// exact. Numbers pass through as they were sent (`float_roundtrip`).
#[tokio::test]
async fn floats_in_the_authorizer_context_pass_through_exactly() {
    let client = Client::new(routes![context]);
    for n in [
        -4.512211245290102e-246,
        1.5050382390070346e161,
        2.616360414450167e253,
        2.807955951637715e-306,
    ] {
        let res = client
            .get("/context")
            .kind(EventKind::HttpV2)
            .authorizer(serde_json::json!({ "lambda": { "n": n } }))
            .send()
            .await;
        let got: serde_json::Value = res.json();
        assert_eq!(got["lambda"]["n"].as_f64(), Some(n), "{}", res.text());
        assert!(
            res.text().contains(&serde_json::to_string(&n).unwrap()),
            "{}",
            res.text()
        );
    }
}
