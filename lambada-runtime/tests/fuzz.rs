//! Property tests for event decode + dispatch: arbitrary bytes, arbitrary
//! JSON, and well-formed events of every kind with arbitrary methods,
//! paths, queries, headers and bodies, and with one field replaced by an
//! arbitrary JSON value. The runtime must never panic or hang, and every
//! HTTP-shaped event must get a well-formed response.
//!
//! `PROPTEST_CASES=20000 cargo test -p lambada-runtime --release --test fuzz`
//! for a longer run.

use lambada::prelude::*;
use lambada::test::{Client, TestResponse};
use proptest::prelude::*;

#[get("/hello/<id>")]
async fn hello(id: u32) -> String {
    format!("Hello world: {id}")
}

#[get("/files/<rest..>")]
async fn files(rest: &str) -> String {
    rest.to_owned()
}

#[post("/items?<dry>")]
async fn items(dry: Option<bool>, Json(v): Json<serde_json::Value>) -> Json<serde_json::Value> {
    let _ = dry;
    Json(v)
}

#[put("/form/<id>")]
async fn form(
    id: i64,
    #[header] x_count: Option<u8>,
    Form(f): Form<Vec<(String, String)>>,
) -> String {
    format!("{id} {x_count:?} {}", f.len())
}

#[get("/")]
async fn root(cookies: Cookies<'_>, Query(q): Query<Vec<(String, String)>>) -> String {
    format!("{} {}", cookies.iter().count(), q.len())
}

fn client() -> Client {
    Client::new(routes![hello, files, items, form, root])
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn kinds() -> impl Strategy<Value = EventKind> {
    prop::sample::select(EventKind::LAMBDA.to_vec())
}

fn methods() -> impl Strategy<Value = http::Method> {
    prop::sample::select(vec![
        http::Method::GET,
        http::Method::POST,
        http::Method::PUT,
        http::Method::DELETE,
        http::Method::PATCH,
        http::Method::HEAD,
        http::Method::OPTIONS,
    ])
}

fn paths() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("/".to_owned()),
        "[0-9]{1,12}".prop_map(|n| format!("/hello/{n}")),
        "[a-z%0-9/ .]{0,30}".prop_map(|s| format!("/files/{s}")),
        "(/[a-zA-Z0-9%._~-]{0,8}){1,5}",
        Just("/items".to_owned()),
        "-?[0-9]{1,20}".prop_map(|n| format!("/form/{n}")),
    ]
}

fn json_values() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn assert_well_formed(res: &TestResponse) {
    let status = res.status().as_u16();
    assert!((200..600).contains(&status), "status {status}");
    if res.status().is_server_error() {
        panic!("a 5xx for a well-formed event: {}", res.payload());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let c = client();
        let _ = rt().block_on(c.event(&bytes));
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_values()) {
        let c = client();
        let _ = rt().block_on(c.event(&serde_json::to_vec(&v).unwrap()));
    }

    #[test]
    fn well_formed_events_get_well_formed_responses(
        kind in kinds(),
        method in methods(),
        path in paths(),
        query in "[a-z=&%+0-9]{0,24}",
        headers in prop::collection::vec(("[a-z][a-z-]{0,10}", "[ -~]{0,20}"), 0..5),
        body in prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        content_type in prop::sample::select(vec!["application/json", "application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]),
    ) {
        let c = client();
        let uri = if query.is_empty() { path } else { format!("{path}?{query}") };
        let mut req = c.request(method, &uri).kind(kind).header("content-type", content_type);
        for (k, v) in &headers {
            req = req.header(k, v.trim());
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let res = rt().block_on(req.send());
        assert_well_formed(&res);
    }

    #[test]
    fn one_field_replaced_never_panics(
        kind in kinds(),
        path in paths(),
        field in prop::sample::select(vec![
            "/path", "/rawPath", "/resource", "/routeKey", "/httpMethod", "/headers", "/multiValueHeaders",
            "/queryStringParameters", "/multiValueQueryStringParameters", "/rawQueryString", "/pathParameters",
            "/body", "/isBase64Encoded", "/cookies", "/requestContext", "/requestContext/http",
            "/requestContext/http/method", "/requestContext/stage", "/requestContext/authorizer", "/version",
        ]),
        value in json_values(),
    ) {
        let c = client();
        let mut ev: serde_json::Value = serde_json::from_slice(&c.get(&path).kind(kind).to_event()).unwrap();
        if let Some(slot) = ev.pointer_mut(field) {
            *slot = value;
        }
        if let Ok(payload) = rt().block_on(c.event(&serde_json::to_vec(&ev).unwrap())) {
            let res = TestResponse::decode(&payload);
            prop_assert!((200..600).contains(&res.status().as_u16()));
        }
    }
}
