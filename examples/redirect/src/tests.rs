//! What needs no DynamoDB: URL and code rules, content negotiation, the 404
//! page, and the moved section in every event kind. The routes against a
//! table are in `tests/links.rs`.

use super::*;
use lambada::test::Client;

#[test]
fn link_targets_are_absolute_http_urls_with_a_host() {
    let ok = |raw: &str| target_url(raw).unwrap().to_string();
    assert_eq!(ok("https://example.com"), "https://example.com/");
    assert_eq!(
        ok("HTTP://Example.COM/a b?q=1#top"),
        "http://example.com/a%20b?q=1#top"
    );
    assert_eq!(ok("https://[::1]:8443/x"), "https://[::1]:8443/x");
    for bad in [
        "",
        "example.com",
        "/relative/path",
        "//example.com/no-scheme",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "data:text/html,<h1>hi</h1>",
        "http://",
    ] {
        let err = target_url(bad).unwrap_err();
        assert!(matches!(err, CreateError::InvalidUrl(_)), "{bad}: {err:?}");
    }
    let long = format!("https://example.com/{}", "a".repeat(2048));
    assert!(target_url(&long).is_err());
}

#[test]
fn custom_codes() {
    for ok in [
        "a",
        "abc1234",
        "Spring-Sale_2026",
        &"x".repeat(code::MAX_LEN),
    ] {
        assert_eq!(code::custom(ok.to_owned()).as_deref(), Ok(ok));
    }
    for bad in [
        "",
        "with space",
        "slash/ed",
        "dot.ted",
        "ünïcödé",
        "<script>",
        &"x".repeat(code::MAX_LEN + 1),
    ] {
        let err = code::custom(bad.to_owned()).unwrap_err();
        assert!(err.0.contains("1 to 64 characters"), "{bad}: {err}");
    }
    for reserved in code::RESERVED {
        let err = code::custom(reserved.to_owned()).unwrap_err();
        assert!(err.0.contains("reserved"), "{err}");
    }
}

#[test]
fn generated_codes_are_seven_base62_characters() {
    let codes: Vec<String> = (0..200).map(|_| code::generate()).collect();
    for c in &codes {
        assert_eq!(c.len(), code::GENERATED_LEN, "{c}");
        assert!(c.bytes().all(|b| b.is_ascii_alphanumeric()), "{c}");
        assert!(code::custom(c.clone()).is_ok(), "{c}");
    }
    let distinct: std::collections::HashSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), codes.len());
}

#[test]
fn accept_header_negotiation() {
    let json = |accept: Option<&str>| not_found::prefers_json(accept);
    assert!(json(Some("application/json")));
    assert!(json(Some("application/problem+json")));
    assert!(json(Some("application/vnd.api+json")));
    assert!(json(Some("application/json, text/plain, */*"))); // axios
    assert!(json(Some("text/html;q=0.5, application/json")));
    assert!(json(Some("Application/JSON; Q=0.9")));
    assert!(!json(None));
    assert!(!json(Some("")));
    assert!(!json(Some("*/*"))); // curl
    assert!(!json(Some(
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    ))); // a browser
    assert!(!json(Some("application/json, text/html"))); // a tie: the page
    assert!(!json(Some("application/json;q=0")));
    assert!(!json(Some("application/json;q=0.4, text/html;q=0.5")));
    assert!(!json(Some("application/json;q=oops")));
}

#[test]
fn not_found_page_or_problem() {
    let res = NotFound::new("<script>alert(1)</script>", None).into_response();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(res.headers()["vary"], "accept");
    let page = std::str::from_utf8(res.body()).unwrap();
    assert!(page.contains("Sorry, we can't find what you're looking for."));
    assert!(
        page.contains("<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"),
        "{page}"
    );
    assert!(!page.contains("<script>"));

    let res = NotFound::new("nope", Some("application/json")).into_response();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(res.headers()["vary"], "accept");
    let body: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": 404, "title": "Not Found", "detail": "there is no link `nope`"})
    );
}

#[test]
fn moved_urls_keep_the_tail_and_the_query() {
    let s = Settings::new("https://new.example.com/").unwrap();
    let moved =
        |rest: &str, query: &[(&str, &str)]| s.moved_url(rest, query.iter().copied()).to_string();
    assert_eq!(
        moved("docs/a b/c", &[("x", "1"), ("y", "a b&c=d")]),
        "https://new.example.com/docs/a%20b/c?x=1&y=a+b%26c%3Dd"
    );
    assert_eq!(moved("q?x#y", &[]), "https://new.example.com/q%3Fx%23y");
    assert_eq!(
        moved("café/100%", &[]),
        "https://new.example.com/caf%C3%A9/100%25"
    );
    assert_eq!(moved("dir/", &[]), "https://new.example.com/dir/");
    assert_eq!(moved("a/../../b/./c", &[]), "https://new.example.com/a/b/c");
    // An empty first segment cannot make a scheme-relative `//host` URL.
    assert_eq!(
        moved("/evil.example/x", &[]),
        "https://new.example.com/evil.example/x"
    );
    assert_eq!(
        moved("", &[("a", "1"), ("a", "2")]),
        "https://new.example.com/?a=1&a=2"
    );

    let under = Settings::new("https://new.example.com/v2?src=old").unwrap();
    assert_eq!(
        under
            .moved_url("guide", [("page", "3")].into_iter())
            .as_str(),
        "https://new.example.com/v2/guide?src=old&page=3"
    );

    for bad in [
        "/relative",
        "new.example.com",
        "ftp://new.example.com/",
        "mailto:a@b.c",
    ] {
        assert!(Settings::new(bad).is_err(), "{bad}");
    }
}

/// `/moved/<rest..>` needs no table: only the settings.
#[tokio::test]
async fn moved_in_every_event_kind() {
    let settings = Settings::new("https://new.example.com/docs/").unwrap();
    let client = Client::new(routes().with_state(settings));
    for kind in EventKind::LAMBDA {
        let res = client
            .get("/moved/guide/getting%20started/caf%C3%A9?lang=en&q=a%20b%2Bc")
            .kind(kind)
            .send()
            .await;
        assert_eq!(res.status(), 308, "{kind:?}: {}", res.text());
        assert_eq!(
            res.header("location"),
            Some(
                "https://new.example.com/docs/guide/getting%20started/caf%C3%A9?lang=en&q=a+b%2Bc"
            ),
            "{kind:?}"
        );
        assert_eq!(res.text(), "", "{kind:?}");

        let res = client.get("/moved/a%2Fb/").kind(kind).send().await;
        assert_eq!(res.status(), 308, "{kind:?}");
        assert_eq!(
            res.header("location"),
            Some("https://new.example.com/docs/a/b/"),
            "{kind:?}: a decoded `%2F` is a separator again"
        );
    }
    // Repeated keys keep their order where the event can carry them (an ALB
    // target group without multi-value headers keeps the last value only).
    for kind in [
        EventKind::RestV1,
        EventKind::HttpV2,
        EventKind::FunctionUrl,
        EventKind::AlbMultiValue,
    ] {
        let res = client.get("/moved/x?tag=a&tag=b").kind(kind).send().await;
        assert_eq!(
            res.header("location"),
            Some("https://new.example.com/docs/x?tag=a&tag=b"),
            "{kind:?}"
        );
    }
}

#[test]
fn the_route_table() {
    let table: Vec<(&str, &str, &str)> = routes()
        .iter()
        .map(|r| (r.method.as_str(), r.apigw_path, r.handler))
        .collect();
    assert_eq!(
        table,
        [
            ("POST", "/links", "create"),
            ("GET", "/{code}", "follow"),
            ("GET", "/moved/{rest+}", "moved"),
        ]
    );
}

/// The OpenAPI document of the route table, as checked in
/// (`examples/redirect/openapi.json`). `UPDATE_SNAPSHOTS=1 cargo test -p
/// example-redirect` rewrites it.
#[test]
fn openapi_document_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
    let doc = serde_json::to_string_pretty(&crate::routes().openapi()).unwrap() + "\n";
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &doc).unwrap();
    }
    let saved = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        saved == doc,
        "the document changed: run `UPDATE_SNAPSHOTS=1 cargo test -p example-redirect` and review the diff of {path}"
    );
}
