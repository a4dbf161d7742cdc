//! Trigger records: arbitrary bytes to every trigger handler, and events of
//! each kind built with `lambada::test::events` from arbitrary records,
//! with the answer (`batchItemFailures`, a function error, the response)
//! checked against the handlers' documented failure rules.

use arbitrary::Arbitrary;
use lambada::EventError;
use lambada::test::events::{self, ItemChange};
use serde_json::{Value, json};

use crate::app::{Device, Order, SyncInput, TRIGGERS};
use crate::event::{Json, Meth};

/// A message body or record payload.
#[derive(Debug, Clone, Arbitrary)]
pub enum Body {
    /// `{"id": n}` (0 fails, 13 panics, 7 fails a batch).
    Order(u32),
    Json(Json),
    Text(String),
}

impl Body {
    fn text(&self) -> String {
        match self {
            Body::Order(id) => format!("{{\"id\":{id}}}"),
            Body::Json(j) => j.0.to_string(),
            Body::Text(t) => t.clone(),
        }
    }
}

/// A DynamoDB Streams change.
#[derive(Debug, Clone, Arbitrary)]
pub struct ChangeIn {
    name: u8,
    keys: Vec<(String, Json)>,
    old: Option<ImageIn>,
    new: Option<ImageIn>,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum ImageIn {
    Device { id: u32, name: String },
    Any(Vec<(String, Json)>),
}

impl ImageIn {
    fn value(&self) -> Value {
        match self {
            ImageIn::Device { id, name } => json!({"id": id, "name": name}),
            ImageIn::Any(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .collect(),
            ),
        }
    }
}

/// An event for a trigger handler.
#[derive(Debug, Clone, Arbitrary)]
pub enum EventIn {
    Bytes(Vec<u8>),
    S3(Vec<String>),
    EventBridge(Json),
    Sns(Vec<Body>),
    Sqs {
        fifo: bool,
        bodies: Vec<Body>,
    },
    Kinesis(Vec<Body>),
    Dynamodb(Vec<ChangeIn>),
    Schedule {
        rule: String,
        detail_type: Option<String>,
    },
    Invoke(Json),
    Token {
        token: String,
        method: Meth,
        path: String,
    },
    Request {
        http: bool,
        method: Meth,
        path: String,
        key: Option<String>,
        headers: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, Arbitrary)]
pub struct Input {
    handler: u8,
    event: EventIn,
}

const NAMES: [&str; 4] = ["INSERT", "MODIFY", "REMOVE", "UPSERT"];

fn method(m: &Meth) -> String {
    match m {
        Meth::Other(_) => "GET".into(),
        m => format!("{m:?}").to_ascii_uppercase(),
    }
}

/// The event as JSON, and whether it is of the handler's own kind.
fn build(handler: &str, ev: &EventIn) -> (Vec<u8>, bool) {
    let own = |kinds: &[&str]| kinds.contains(&handler);
    match ev {
        EventIn::Bytes(b) => (b.clone(), false),
        EventIn::S3(keys) => {
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            (
                to_vec(&events::s3("uploads", "ObjectCreated:Put", &refs)),
                own(&["on_s3"]),
            )
        }
        EventIn::EventBridge(detail) => (
            to_vec(&events::event_bridge(
                "shop.orders",
                "OrderPlaced",
                &detail.0,
            )),
            own(&["on_rule"]),
        ),
        EventIn::Sns(bodies) => {
            let texts: Vec<String> = bodies.iter().map(Body::text).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            (
                to_vec(&events::sns("orders-topic", &refs)),
                own(&["on_sns"]),
            )
        }
        EventIn::Sqs { fifo, bodies } => {
            let texts: Vec<String> = bodies.iter().map(Body::text).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let queue = if *fifo { "orders.fifo" } else { "orders" };
            (
                to_vec(&events::sqs(queue, &refs)),
                own(&["on_sqs", "on_sqs_batch"]),
            )
        }
        EventIn::Kinesis(bodies) => {
            let data: Vec<Vec<u8>> = bodies.iter().map(|b| b.text().into_bytes()).collect();
            let refs: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            (
                to_vec(&events::kinesis("orders-stream", &refs)),
                own(&["on_kinesis", "on_kinesis_batch"]),
            )
        }
        EventIn::Dynamodb(changes) => {
            let changes: Vec<ItemChange> = changes
                .iter()
                .map(|c| ItemChange {
                    event_name: NAMES[c.name as usize % NAMES.len()],
                    keys: Value::Object(
                        c.keys
                            .iter()
                            .map(|(k, v)| (k.clone(), v.0.clone()))
                            .collect(),
                    ),
                    old: c.old.as_ref().map(ImageIn::value),
                    new: c.new.as_ref().map(ImageIn::value),
                })
                .collect();
            (
                to_vec(&events::dynamodb("devices", &changes)),
                own(&["on_ddb", "on_ddb_batch"]),
            )
        }
        EventIn::Schedule { rule, detail_type } => {
            let mut ev = events::schedule(rule);
            if let Some(d) = detail_type {
                ev["detail-type"] = d.clone().into();
            }
            (to_vec(&ev), own(&["on_tick"]))
        }
        EventIn::Invoke(j) => (
            to_vec(&j.0),
            own(&["on_invoke", "on_invoke_value", "on_sync"]),
        ),
        EventIn::Token {
            token,
            method: m,
            path,
        } => {
            let path = format!("/{}", path.trim_start_matches('/'));
            (
                to_vec(&events::token_authorizer(token, &method(m), &path)),
                own(&["bearer"]),
            )
        }
        EventIn::Request {
            http,
            method: m,
            path,
            key,
            headers,
        } => {
            let path = format!("/{}", path.trim_start_matches('/'));
            let mut h: Vec<(&str, &str)> = headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("x-api-key"))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(k) = key {
                h.push(("x-api-key", k));
            }
            let ev = if *http {
                events::http_authorizer(&method(m), &path, &h)
            } else {
                events::request_authorizer(&method(m), &path, &h)
            };
            (to_vec(&ev), own(&["api_key"]))
        }
    }
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a JSON value serializes")
}

fn order(text: &str) -> Option<Order> {
    serde_json::from_str(text).ok()
}

/// Whether a single-record handler fails on `body` (does not decode, `id`
/// 0, or `id` 13: a panic).
fn fails(body: &str) -> bool {
    order(body).is_none_or(|o| o.id == 0 || o.id == 13)
}

fn failures(payload: &Value) -> Vec<String> {
    payload["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("no batchItemFailures in {payload}"))
        .iter()
        .map(|f| {
            f["itemIdentifier"]
                .as_str()
                .expect("an itemIdentifier")
                .to_owned()
        })
        .collect()
}

/// Ordered sources: the first failure and every record after it.
fn stop_at_first(ids: &[String], failed: impl Fn(usize) -> bool) -> Vec<String> {
    match (0..ids.len()).find(|i| failed(*i)) {
        Some(i) => ids[i..].to_vec(),
        None => Vec::new(),
    }
}

fn kinesis_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                "4959033827149025660855969253836157109592157598913658880{}",
                i + 1
            )
        })
        .collect()
}

pub fn run(input: &Input) {
    let handler = TRIGGERS[input.handler as usize % TRIGGERS.len()];
    let (event, own) = build(handler, &input.event);
    let app = crate::trigger_app(handler);
    let res = crate::dispatch(app, &event);
    let res: Result<Value, (String, String)> = match res {
        Ok(payload) => Ok(serde_json::from_slice(&payload).unwrap_or_else(|e| {
            panic!(
                "{handler}: the answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&payload)
            )
        })),
        Err(EventError::Handler(e)) => {
            assert!(!e.error_type.is_empty());
            Err((e.error_type, e.message))
        }
        Err(other) => panic!("{handler}: a trigger's error that is not the handler's: {other}"),
    };
    if !own {
        return;
    }
    let ctx = || {
        format!(
            "\n{handler}: {}\nanswer: {res:?}",
            String::from_utf8_lossy(&event)
        )
    };
    match (&input.event, handler) {
        (EventIn::S3(keys), _) => {
            let failing: Vec<&String> = keys.iter().filter(|k| k.contains("fail")).collect();
            match &res {
                Ok(v) => assert!(failing.is_empty() && v.is_null(), "{}", ctx()),
                Err((t, m)) => {
                    assert!(
                        !failing.is_empty() && t == "Lambada.HandlerFailed",
                        "{}",
                        ctx()
                    );
                    // Each failure names its key, decoded as it was sent.
                    for k in failing {
                        assert!(m.contains(&format!("cannot take {k}")), "{}", ctx());
                    }
                }
            }
        }
        (EventIn::EventBridge(detail), _) => {
            match serde_json::from_value::<Order>(detail.0.clone()) {
                Ok(o) if o.id != 0 && o.id != 13 => {
                    assert_eq!(res, Ok(Value::Null), "{}", ctx())
                }
                Ok(_) => assert!(res.is_err(), "{}", ctx()),
                Err(_) => assert!(
                    matches!(&res, Err((t, _)) if t == "Lambada.InvalidRecord"),
                    "{}",
                    ctx()
                ),
            }
        }
        (EventIn::Sns(bodies), _) => {
            let any = bodies.iter().any(|b| fails(&b.text()));
            match &res {
                Ok(v) => assert!(!any && v.is_null(), "{}", ctx()),
                Err((t, _)) => assert!(any && t == "Lambada.HandlerFailed", "{}", ctx()),
            }
        }
        (EventIn::Sqs { fifo, bodies }, "on_sqs") => {
            let ids: Vec<String> = (1..=bodies.len()).map(|i| format!("message-{i}")).collect();
            let want: Vec<String> = if *fifo {
                stop_at_first(&ids, |i| fails(&bodies[i].text()))
            } else {
                (0..ids.len())
                    .filter(|i| fails(&bodies[*i].text()))
                    .map(|i| ids[i].clone())
                    .collect()
            };
            let got = res
                .as_ref()
                .map(failures)
                .unwrap_or_else(|_| panic!("{}", ctx()));
            assert_eq!(got, want, "{}", ctx());
        }
        (EventIn::Sqs { bodies, .. }, "on_sqs_batch") => {
            let ids: Vec<String> = (1..=bodies.len()).map(|i| format!("message-{i}")).collect();
            let orders: Vec<Option<Order>> = bodies.iter().map(|b| order(&b.text())).collect();
            let undecoded: Vec<String> = (0..ids.len())
                .filter(|i| orders[*i].is_none())
                .map(|i| ids[i].clone())
                .collect();
            let decoded: Vec<String> = (0..ids.len())
                .filter(|i| orders[*i].is_some())
                .map(|i| ids[i].clone())
                .collect();
            let whole = orders.iter().flatten().any(|o| o.id == 7 || o.id == 13);
            let mut want = undecoded;
            if whole {
                want.extend(decoded);
            } else {
                want.extend(
                    (0..ids.len())
                        .filter(|i| orders[*i].as_ref().is_some_and(|o| o.id == 0))
                        .map(|i| ids[i].clone()),
                );
            }
            let got = res
                .as_ref()
                .map(failures)
                .unwrap_or_else(|_| panic!("{}", ctx()));
            assert_eq!(got, want, "{}", ctx());
        }
        (EventIn::Kinesis(bodies), "on_kinesis") => {
            let ids = kinesis_ids(bodies.len());
            let want = stop_at_first(&ids, |i| fails(&bodies[i].text()));
            let got = res
                .as_ref()
                .map(failures)
                .unwrap_or_else(|_| panic!("{}", ctx()));
            assert_eq!(got, want, "{}", ctx());
        }
        (EventIn::Kinesis(bodies), "on_kinesis_batch") => {
            let ids = kinesis_ids(bodies.len());
            let texts: Vec<String> = bodies.iter().map(Body::text).collect();
            let want: Vec<String> = if texts.iter().any(|t| t == "boom") {
                ids
            } else {
                (0..ids.len())
                    .filter(|i| texts[*i] == "bad")
                    .map(|i| ids[i].clone())
                    .collect()
            };
            let got = res
                .as_ref()
                .map(failures)
                .unwrap_or_else(|_| panic!("{}", ctx()));
            assert_eq!(got, want, "{}", ctx());
        }
        (EventIn::Dynamodb(changes), h) => {
            let ids: Vec<String> = (0..changes.len()).map(|i| (111 + i).to_string()).collect();
            let name = |c: &ChangeIn| NAMES[c.name as usize % NAMES.len()];
            let want = if h == "on_ddb" {
                stop_at_first(&ids, |i| {
                    let c = &changes[i];
                    let device = |img: &Option<ImageIn>| -> Result<Option<Device>, ()> {
                        match img.as_ref().map(ImageIn::value) {
                            None => Ok(None),
                            Some(Value::Object(m)) if m.is_empty() => Ok(None),
                            Some(v) => serde_json::from_value(v).map(Some).map_err(|_| ()),
                        }
                    };
                    match (name(c), device(&c.old), device(&c.new)) {
                        ("UPSERT", _, _) | (_, Err(_), _) | (_, _, Err(_)) => true,
                        (_, _, Ok(Some(d))) | (_, Ok(Some(d)), Ok(None)) => d.id == 0 || d.id == 13,
                        (_, Ok(None), Ok(None)) => false,
                    }
                })
            } else {
                let undecoded = (0..ids.len())
                    .filter(|i| name(&changes[*i]) == "UPSERT")
                    .map(|i| ids[i].clone());
                let removed = (0..ids.len())
                    .filter(|i| name(&changes[*i]) == "REMOVE")
                    .map(|i| ids[i].clone());
                undecoded.chain(removed).collect()
            };
            let got = res
                .as_ref()
                .map(failures)
                .unwrap_or_else(|_| panic!("{}", ctx()));
            assert_eq!(got, want, "{}", ctx());
        }
        (EventIn::Schedule { detail_type, .. }, _) => match (detail_type.as_deref(), &res) {
            (Some("fail"), Err((t, _))) => assert_eq!(t, "String", "{}", ctx()),
            (Some("panic"), Err((t, _))) => assert_eq!(t, "Lambada.Panic", "{}", ctx()),
            (Some("fail" | "panic"), Ok(_)) => panic!("{}", ctx()),
            (_, r) => assert_eq!(r, &Ok(Value::Null), "{}", ctx()),
        },
        (EventIn::Invoke(j), "on_invoke_value") => {
            let got = res.as_ref().unwrap_or_else(|_| panic!("{}", ctx()));
            assert!(
                crate::check::same_json(got, &json!({"echo": j.0})),
                "{}",
                ctx()
            );
        }
        (EventIn::Invoke(j), "on_invoke") => match serde_json::from_value::<Order>(j.0.clone()) {
            Ok(o) if o.id != 0 && o.id != 13 => {
                assert_eq!(res, Ok(json!({"registered": o.id})), "{}", ctx());
            }
            Ok(o) => assert!(
                matches!(&res, Err((t, _)) if t == if o.id == 0 { "String" } else { "Lambada.Panic" }),
                "{}",
                ctx()
            ),
            Err(_) => assert!(
                matches!(&res, Err((t, _)) if t == "Lambada.InvalidPayload"),
                "{}",
                ctx()
            ),
        },
        (EventIn::Invoke(j), "on_sync") => match serde_json::from_value::<SyncInput>(j.0.clone()) {
            Ok(s) if !s.domain.is_empty() => assert_eq!(res, Ok(Value::Null), "{}", ctx()),
            Ok(_) => assert!(matches!(&res, Err((t, _)) if t == "String"), "{}", ctx()),
            Err(_) => assert!(
                matches!(&res, Err((t, _)) if t == "Lambada.InvalidPayload"),
                "{}",
                ctx()
            ),
        },
        (EventIn::Token { token, .. }, _) => {
            let bearer = match token.split_once(' ') {
                Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
                _ => token.as_str(),
            };
            match bearer {
                "err" => assert!(matches!(&res, Err((t, _)) if t == "String"), "{}", ctx()),
                "panic" => assert!(
                    matches!(&res, Err((t, _)) if t == "Lambada.Panic"),
                    "{}",
                    ctx()
                ),
                t => {
                    let v = res.as_ref().unwrap_or_else(|_| panic!("{}", ctx()));
                    let effect = if t.starts_with("ok") { "Allow" } else { "Deny" };
                    policy(v, t, effect, "prod", &ctx);
                }
            }
        }
        (EventIn::Request { http, key, .. }, _) => {
            let identity = key
                .as_deref()
                .filter(|k| http::HeaderValue::from_str(k).is_ok_and(|h| h.to_str().is_ok()));
            let decision = match identity {
                Some("deny") => "deny",
                Some("panic") => "panic",
                Some(k) if k.starts_with("k-") => "allow",
                _ => "unauthorized",
            };
            match (decision, *http) {
                ("panic", _) => assert!(
                    matches!(&res, Err((t, _)) if t == "Lambada.Panic"),
                    "{}",
                    ctx()
                ),
                ("unauthorized", false) => {
                    assert!(
                        matches!(&res, Err((t, m)) if t == "Unauthorized" && m == "Unauthorized"),
                        "{}",
                        ctx()
                    )
                }
                (d, true) => {
                    let v = res.as_ref().unwrap_or_else(|_| panic!("{}", ctx()));
                    assert_eq!(v["isAuthorized"], d == "allow", "{}", ctx());
                    if d == "allow" {
                        assert_eq!(v["context"]["plan"], "gold", "{}", ctx());
                    }
                }
                (d, false) => {
                    let v = res.as_ref().unwrap_or_else(|_| panic!("{}", ctx()));
                    let effect = if d == "allow" { "Allow" } else { "Deny" };
                    let principal = if d == "allow" {
                        identity.unwrap_or("")
                    } else {
                        "denied"
                    };
                    policy(v, principal, effect, "prod", &ctx);
                    if d == "allow" {
                        assert_eq!(
                            v["context"],
                            json!({"plan": "gold", "n": 3, "nested": "{\"a\":[1,null]}"}),
                            "{}",
                            ctx()
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

/// A REST authorizer's IAM policy: the effect on the whole stage.
fn policy(v: &Value, principal: &str, effect: &str, stage: &str, ctx: &impl Fn() -> String) {
    assert_eq!(v["principalId"], principal, "{}", ctx());
    let st = &v["policyDocument"]["Statement"][0];
    assert_eq!(st["Effect"], effect, "{}", ctx());
    assert_eq!(st["Action"], json!(["execute-api:Invoke"]), "{}", ctx());
    assert_eq!(
        st["Resource"],
        json!([format!(
            "arn:aws:execute-api:us-east-1:123456789012:wt6mne2s9k/{stage}/*"
        )]),
        "the policy covers the stage{}",
        ctx()
    );
}
