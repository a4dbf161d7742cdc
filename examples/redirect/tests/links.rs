//! Every route against a real DynamoDB API (moto), in every event shape
//! Lambda delivers (REST v1, HTTP API v2, function URL, ALB single and
//! multi-value), through the test client: the code path of the Lambda
//! runtime, in process.

use std::collections::VecDeque;
use std::sync::Mutex;

use aws_sdk_dynamodb::types::AttributeValue;
use lambada::test::{Client, TestResponse};
use lambada::{Cors, EventKind};
use lambada_test_support::Moto;
use redirect::{Link, Links, Settings};
use serde_json::{Value, json};

const TABLE: &str = "links";

fn settings() -> Settings {
    Settings::new("https://new.example.com/docs/").unwrap()
}

fn app(links: Links) -> Client {
    Client::new(redirect::app(links, settings()))
}

/// An editor's claims, as the `editors` authorizer passes them on.
fn editor() -> Value {
    json!({"sub": "e-1", "username": "editor", "scope": "links/write"})
}

/// The front doors that run an authorizer, so links can be created there.
const WITH_AUTHORIZER: [EventKind; 2] = [EventKind::RestV1, EventKind::HttpV2];

async fn post(client: &Client, kind: EventKind, body: Value) -> TestResponse {
    client
        .post("/links")
        .json(&body)
        .kind(kind)
        .claims(editor())
        .send()
        .await
}

fn problem(res: &TestResponse) -> Value {
    assert_eq!(
        res.header("content-type"),
        Some("application/problem+json"),
        "{}",
        res.text()
    );
    res.json()
}

#[tokio::test]
async fn every_route_in_every_event_kind() {
    let moto = Moto::start();
    moto.create_table_with_key(TABLE, "code").await;
    let db = moto.dynamodb();
    let client = app(Links::new(db.clone(), TABLE));

    for kind in WITH_AUTHORIZER {
        let ctx = format!("{kind:?}");
        let code = format!("{}-docs", kind.name());

        // A custom code: 201, the link, and where it lives.
        let res = post(
            &client,
            kind,
            json!({"url": "HTTPS://Docs.Example.com/guide?x=1", "code": code}),
        )
        .await;
        assert_eq!(res.status(), 201, "{ctx}: {}", res.text());
        assert_eq!(res.header("location"), Some(code.as_str()), "{ctx}");
        let link: Link = res.json();
        assert_eq!(link.code, code, "{ctx}");
        assert_eq!(link.url, "https://docs.example.com/guide?x=1", "{ctx}");
        assert!(!link.permanent, "{ctx}");
        assert!(link.created_at.ends_with('Z'), "{ctx}: {}", link.created_at);

        // Stored with the documented schema.
        let item = db
            .get_item()
            .table_name(TABLE)
            .key("code", AttributeValue::S(code.clone()))
            .send()
            .await
            .unwrap()
            .item
            .expect("the item");
        assert_eq!(item["code"], AttributeValue::S(code.clone()), "{ctx}");
        assert_eq!(item["url"], AttributeValue::S(link.url.clone()), "{ctx}");
        assert_eq!(item["permanent"], AttributeValue::Bool(false), "{ctx}");
        assert_eq!(
            item["created_at"],
            AttributeValue::S(link.created_at.clone()),
            "{ctx}"
        );
        assert_eq!(item.len(), 4, "{ctx}: {item:?}");

        // 302 Found; 301 when asked.
        let res = client.get(&format!("/{code}")).kind(kind).send().await;
        assert_eq!(res.status(), 302, "{ctx}: {}", res.text());
        assert_eq!(res.header("location"), Some(link.url.as_str()), "{ctx}");
        assert_eq!(res.text(), "", "{ctx}");
        let res = client
            .get(&format!("/{code}?permanent=true"))
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 301, "{ctx}");
        assert_eq!(res.header("location"), Some(link.url.as_str()), "{ctx}");
        let res = client
            .get(&format!("/{code}?permanent=false"))
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 302, "{ctx}");
        let res = client
            .get(&format!("/{code}?permanent=maybe"))
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 400, "{ctx}");
        assert!(
            problem(&res)["detail"]
                .as_str()
                .unwrap()
                .contains("permanent"),
            "{ctx}"
        );

        // The code is taken now.
        let res = post(
            &client,
            kind,
            json!({"url": "https://elsewhere.example/", "code": code}),
        )
        .await;
        assert_eq!(res.status(), 409, "{ctx}: {}", res.text());
        assert_eq!(
            problem(&res),
            json!({"status": 409, "title": "Conflict", "detail": format!("the code `{code}` is taken")}),
            "{ctx}"
        );
        let res = client.get(&format!("/{code}")).kind(kind).send().await;
        assert_eq!(
            res.header("location"),
            Some(link.url.as_str()),
            "{ctx}: unchanged"
        );

        // A generated code, on a permanent link: 301 whatever the query says.
        let res = post(
            &client,
            kind,
            json!({"url": "http://example.org/a%20b", "permanent": true}),
        )
        .await;
        assert_eq!(res.status(), 201, "{ctx}: {}", res.text());
        let generated: Link = res.json();
        assert_eq!(generated.code.len(), 7, "{ctx}: {generated:?}");
        assert!(
            generated.code.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{ctx}"
        );
        assert_eq!(
            res.header("location"),
            Some(generated.code.as_str()),
            "{ctx}"
        );
        assert!(generated.permanent, "{ctx}");
        for path in [
            format!("/{}", generated.code),
            format!("/{}?permanent=false", generated.code),
        ] {
            let res = client.get(&path).kind(kind).send().await;
            assert_eq!(res.status(), 301, "{ctx}: {path}");
            assert_eq!(
                res.header("location"),
                Some("http://example.org/a%20b"),
                "{ctx}"
            );
        }

        // Refused links.
        for (body, detail) in [
            (json!({"url": "not a url"}), "invalid url"),
            (json!({"url": "/relative"}), "invalid url"),
            (json!({"url": "javascript:alert(1)"}), "invalid url"),
            (json!({"url": "ftp://example.com/f"}), "invalid url"),
            (
                json!({"url": "https://example.com/", "code": "has space"}),
                "invalid code",
            ),
            (
                json!({"url": "https://example.com/", "code": "links"}),
                "reserved",
            ),
        ] {
            let res = post(&client, kind, body.clone()).await;
            assert_eq!(res.status(), 400, "{ctx}: {body}: {}", res.text());
            let p = problem(&res);
            assert!(p["detail"].as_str().unwrap().contains(detail), "{ctx}: {p}");
        }
        // Not a link at all: the framework's 422 and 415.
        let res = post(&client, kind, json!({"href": "https://example.com/"})).await;
        assert_eq!(res.status(), 422, "{ctx}: {}", res.text());
        let res = client
            .post("/links")
            .body("url=https://example.com/")
            .header("content-type", "application/x-www-form-urlencoded")
            .kind(kind)
            .claims(editor())
            .send()
            .await;
        assert_eq!(res.status(), 415, "{ctx}");

        // Unknown codes: the page for browsers, problem JSON for programs.
        for path in ["/nope404", "/not.a.code"] {
            let res = client
                .get(path)
                .header(
                    "accept",
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                )
                .kind(kind)
                .send()
                .await;
            assert_eq!(res.status(), 404, "{ctx}: {path}");
            assert_eq!(
                res.header("content-type"),
                Some("text/html; charset=utf-8"),
                "{ctx}"
            );
            assert_eq!(res.header("vary"), Some("accept"), "{ctx}");
            assert!(
                res.text()
                    .contains("Sorry, we can't find what you're looking for."),
                "{ctx}"
            );
            assert!(res.text().contains(&path[1..]), "{ctx}");
            assert_eq!(res.header("location"), None, "{ctx}");
        }
        let res = client.get("/nope404").kind(kind).send().await;
        assert_eq!(
            res.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{ctx}: no Accept"
        );
        let res = client
            .get("/nope404")
            .header("accept", "application/json")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 404, "{ctx}");
        assert_eq!(res.header("vary"), Some("accept"), "{ctx}");
        assert_eq!(
            problem(&res),
            json!({"status": 404, "title": "Not Found", "detail": "there is no link `nope404`"}),
            "{ctx}"
        );

        // The moved section.
        let res = client
            .get("/moved/guide/caf%C3%A9%20au%20lait?lang=fr&q=a%26b")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 308, "{ctx}: {}", res.text());
        assert_eq!(
            res.header("location"),
            Some("https://new.example.com/docs/guide/caf%C3%A9%20au%20lait?lang=fr&q=a%26b"),
            "{ctx}"
        );
    }
}

/// Writing needs an editor: no claims is a 401, claims without the
/// `links/write` scope a 403; behind a function URL or an ALB (no
/// authorizer) every write is refused, and the links still resolve.
#[tokio::test]
async fn only_editors_write_and_every_front_door_reads() {
    let moto = Moto::start();
    moto.create_table_with_key(TABLE, "code").await;
    let client = app(Links::new(moto.dynamodb(), TABLE));
    let body = json!({"url": "https://docs.example.com/", "code": "docs"});
    for kind in WITH_AUTHORIZER {
        let res = client.post("/links").json(&body).kind(kind).send().await;
        assert_eq!(res.status(), 401, "{kind:?}: {}", res.text());
        let reader = json!({"sub": "r-1", "scope": "links/read"});
        let res = client
            .post("/links")
            .json(&body)
            .kind(kind)
            .claims(reader)
            .send()
            .await;
        assert_eq!(res.status(), 403, "{kind:?}: {}", res.text());
        assert!(
            problem(&res)["detail"]
                .as_str()
                .unwrap()
                .contains("`links/write`")
        );
    }
    let res = post(&client, EventKind::RestV1, body.clone()).await;
    assert_eq!(res.status(), 201, "{}", res.text());
    for kind in [
        EventKind::FunctionUrl,
        EventKind::Alb,
        EventKind::AlbMultiValue,
    ] {
        let res = post(&client, kind, body.clone()).await;
        assert_eq!(res.status(), 401, "{kind:?}: {}", res.text());
        let res = client.get("/docs").kind(kind).send().await;
        assert_eq!(res.status(), 302, "{kind:?}");
        assert_eq!(res.header("location"), Some("https://docs.example.com/"));
        let res = client.get("/nope404").kind(kind).send().await;
        assert_eq!(res.status(), 404, "{kind:?}");
        let res = client.get("/moved/a?b=c").kind(kind).send().await;
        assert_eq!(res.status(), 308, "{kind:?}");
    }
    // The editor's page on its own origin reads the answers.
    let client = Client::new(
        redirect::app(Links::new(moto.dynamodb(), TABLE), settings()).cors(
            Cors::new()
                .allow_origin("https://links.example.com")
                .expose_headers(["location"]),
        ),
    );
    let res = client
        .post("/links")
        .header("origin", "https://links.example.com")
        .json(&json!({"url": "https://example.org/", "code": "org"}))
        .claims(editor())
        .send()
        .await;
    assert_eq!(res.status(), 201, "{}", res.text());
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://links.example.com")
    );
    assert_eq!(
        res.header("access-control-expose-headers"),
        Some("location")
    );
    // The redirects themselves are `cors = false`: no script reads them,
    // not even the editor's.
    for path in ["/org", "/moved/a"] {
        let res = client
            .get(path)
            .header("origin", "https://links.example.com")
            .send()
            .await;
        assert!(res.status().is_redirection(), "{path}: {}", res.status());
        assert!(
            res.header("access-control-allow-origin").is_none(),
            "{path}"
        );
        let res = client
            .options(path)
            .header("origin", "https://links.example.com")
            .header("access-control-request-method", "GET")
            .send()
            .await;
        assert_eq!(res.status(), 405, "{path}: no preflight answer");
    }
}

/// Two clients race for one code: one conditional write wins, the other
/// gets a 409, and the link points where the winner said.
#[tokio::test]
async fn concurrent_posts_for_one_code() {
    let moto = Moto::start();
    moto.create_table_with_key(TABLE, "code").await;
    let client = app(Links::new(moto.dynamodb(), TABLE));
    for round in 0..10 {
        let code = format!("race{round}");
        let (a, b) = tokio::join!(
            post(
                &client,
                EventKind::RestV1,
                json!({"url": "https://a.example/", "code": code}),
            ),
            post(
                &client,
                EventKind::HttpV2,
                json!({"url": "https://b.example/", "code": code}),
            ),
        );
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}");
        let winner = if a.status() == 201 { &a } else { &b };
        let url = winner.json::<Link>().url;
        let res = client.get(&format!("/{code}")).send().await;
        assert_eq!(res.status(), 302);
        assert_eq!(res.header("location"), Some(url.as_str()), "round {round}");
    }
}

/// A generated code that is already taken is drawn again; a generator that
/// never finds a free code ends in a 500.
#[tokio::test]
async fn generated_codes_retry_on_collision() {
    let moto = Moto::start();
    moto.create_table_with_key(TABLE, "code").await;
    let queue = Mutex::new(VecDeque::from(["Taken01", "Taken01", "Fresh01"]));
    let links = Links::new(moto.dynamodb(), TABLE).with_codes(move || {
        queue
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or("Taken01")
            .to_owned()
    });
    let client = app(links);
    let kind = EventKind::HttpV2;
    let res = post(&client, kind, json!({"url": "https://one.example/"})).await;
    assert_eq!(res.status(), 201, "{}", res.text());
    assert_eq!(res.json::<Link>().code, "Taken01");
    // Drawn: Taken01 (taken), Fresh01.
    let res = post(&client, kind, json!({"url": "https://two.example/"})).await;
    assert_eq!(res.status(), 201, "{}", res.text());
    assert_eq!(res.json::<Link>().code, "Fresh01");
    let res = client.get("/Fresh01").kind(kind).send().await;
    assert_eq!(res.header("location"), Some("https://two.example/"));
    // Only Taken01 from now on.
    let res = post(&client, kind, json!({"url": "https://three.example/"})).await;
    assert_eq!(res.status(), 500, "{}", res.text());
    assert_eq!(
        problem(&res),
        json!({"status": 500, "title": "Internal Server Error"})
    );
}

/// DynamoDB failing (here: no such table) is a bare 500, for the lookup as
/// for the write: never a 404 that would hide the outage.
#[tokio::test]
async fn store_failures_are_bare_500s() {
    let moto = Moto::start();
    let client = app(Links::new(moto.dynamodb(), "no-such-table"));
    for kind in WITH_AUTHORIZER {
        let res = post(
            &client,
            kind,
            json!({"url": "https://example.com/", "code": "abc"}),
        )
        .await;
        assert_eq!(res.status(), 500, "{kind:?}: {}", res.text());
        assert_eq!(
            problem(&res),
            json!({"status": 500, "title": "Internal Server Error"}),
            "{kind:?}"
        );
        let res = client
            .get("/abc")
            .header("accept", "text/html")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 500, "{kind:?}: {}", res.text());
        assert_eq!(
            problem(&res),
            json!({"status": 500, "title": "Internal Server Error"}),
            "{kind:?}"
        );
    }
}
