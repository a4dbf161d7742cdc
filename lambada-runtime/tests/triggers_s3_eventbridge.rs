//! `#[s3]` and `#[event_pattern]` handlers dispatched with real-shaped
//! events (an S3 notification with an encoded key, an EventBridge event
//! with a custom `detail`) and the test client's generated ones: keys
//! arrive URL-decoded, the detail typed, and events that do not decode
//! fail the invocation with a function error (never a crash).

use std::sync::Mutex;

use lambada::prelude::*;
use lambada::test::{Client, events};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[derive(Default, Clone)]
struct Seen(std::sync::Arc<Mutex<Vec<String>>>);

impl Seen {
    fn push(&self, s: impl Into<String>) {
        self.0.lock().unwrap().push(s.into());
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[s3(
    bucket = "lambada-uploads",
    events = ["s3:ObjectCreated:*"],
    prefix = "incoming/",
    suffix = ".csv",
    timeout = 60
)]
async fn on_upload(obj: S3Object, seen: State<Seen>) -> Result<(), String> {
    seen.push(format!(
        "{} {}/{} {:?}",
        obj.event_name, obj.bucket, obj.key, obj.size
    ));
    if obj.key.contains("poison") {
        return Err(format!("cannot import `{}`", obj.key));
    }
    Ok(())
}

#[s3(bucket = "lambada-archive")]
async fn on_archive(_obj: S3Object) {}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
struct OrderPlaced {
    order_id: String,
    total_cents: u64,
}

#[event_pattern(source = ["shop.orders"], detail_type = ["OrderPlaced"], bus = "orders")]
async fn on_order_placed(
    ev: EventBridgeEvent<OrderPlaced>,
    seen: State<Seen>,
) -> Result<(), String> {
    seen.push(format!(
        "{} {} {} {}",
        ev.source, ev.detail_type, ev.detail.order_id, ev.detail.total_cents
    ));
    if ev.detail.total_cents == 0 {
        return Err("an order of nothing".into());
    }
    Ok(())
}

#[event_pattern(source = ["aws.ec2", "aws.autoscaling"])]
async fn on_anything(ev: EventBridgeEvent) -> Json<Value> {
    Json(ev.detail)
}

fn routes() -> Routes {
    routes![on_upload, on_archive, on_order_placed, on_anything]
}

fn client() -> (Client, Seen) {
    let seen = Seen::default();
    (Client::new(routes().with_state(seen.clone())), seen)
}

#[tokio::test]
async fn the_manifest_carries_the_kind_settings() {
    let m = routes().manifest();
    let triggers = m["triggers"].as_array().unwrap();
    let upload = triggers
        .iter()
        .find(|t| t["handler"] == "on_upload")
        .unwrap();
    assert_eq!(upload["kind"], "s3");
    assert_eq!(upload["source"], "lambada-uploads");
    assert_eq!(upload["event"], "S3Object");
    assert_eq!(upload["timeout"], 60);
    assert_eq!(
        upload["settings"],
        json!({"events": ["s3:ObjectCreated:*"], "prefix": "incoming/", "suffix": ".csv"})
    );
    let archive = triggers
        .iter()
        .find(|t| t["handler"] == "on_archive")
        .unwrap();
    assert_eq!(
        archive["settings"],
        json!({"events": ["s3:ObjectCreated:*"], "prefix": null, "suffix": null}),
        "events default to every creation"
    );
    let placed = triggers
        .iter()
        .find(|t| t["handler"] == "on_order_placed")
        .unwrap();
    assert_eq!(placed["kind"], "event_pattern");
    assert_eq!(placed["source"], "orders");
    assert_eq!(
        placed["settings"],
        json!({"pattern": {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}})
    );
    let any = triggers
        .iter()
        .find(|t| t["handler"] == "on_anything")
        .unwrap();
    assert_eq!(any["source"], "default", "the default bus");
    assert_eq!(
        any["settings"],
        json!({"pattern": {"source": ["aws.ec2", "aws.autoscaling"]}})
    );
}

#[tokio::test]
async fn s3_keys_arrive_url_decoded() {
    let (client, seen) = client();
    let out = client
        .trigger("on_upload")
        .send(&fixture("s3-event.json"))
        .await
        .unwrap();
    assert_eq!(out, Value::Null);
    assert_eq!(
        seen.take(),
        ["ObjectCreated:Put lambada-uploads/incoming/Q3 report (2026) café.csv Some(1305107)"]
    );
    // The test client encodes keys as S3 does.
    let ev = events::s3(
        "lambada-uploads",
        "ObjectCreated:Copy",
        &["incoming/a b+c&d.csv", "incoming/ü.csv"],
    );
    assert_eq!(
        ev["Records"][0]["s3"]["object"]["key"],
        "incoming/a+b%2Bc%26d.csv"
    );
    client.trigger("on_upload").send(&ev).await.unwrap();
    assert_eq!(
        seen.take(),
        [
            "ObjectCreated:Copy lambada-uploads/incoming/a b+c&d.csv Some(1024)",
            "ObjectCreated:Copy lambada-uploads/incoming/ü.csv Some(1024)",
        ]
    );
}

#[tokio::test]
async fn an_s3_failure_fails_the_invocation_after_every_record() {
    let (client, seen) = client();
    let ev = events::s3(
        "lambada-uploads",
        "ObjectCreated:Put",
        &["incoming/poison.csv", "incoming/fine.csv"],
    );
    let err = client.trigger("on_upload").send(&ev).await.unwrap_err();
    assert_eq!(err.error_type, "Lambada.HandlerFailed");
    assert!(
        err.message.contains("cannot import `incoming/poison.csv`"),
        "{}",
        err.message
    );
    assert_eq!(seen.take().len(), 2, "every record is handled");
}

#[tokio::test]
async fn an_s3_key_that_is_not_utf8_fails_its_record() {
    let (client, seen) = client();
    let mut ev = events::s3("lambada-uploads", "ObjectCreated:Put", &["x"]);
    ev["Records"][0]["s3"]["object"]["key"] = json!("incoming/%FF.csv");
    let err = client.trigger("on_upload").send(&ev).await.unwrap_err();
    assert_eq!(err.error_type, "Lambada.HandlerFailed");
    assert!(
        err.message.contains("not URL-encoded UTF-8"),
        "{}",
        err.message
    );
    assert!(seen.take().is_empty());
}

#[tokio::test]
async fn eventbridge_detail_is_typed() {
    let (client, seen) = client();
    let out = client
        .trigger("on_order_placed")
        .send(&fixture("eventbridge-event.json"))
        .await
        .unwrap();
    assert_eq!(out, Value::Null);
    assert_eq!(seen.take(), ["shop.orders OrderPlaced o-1001 4599"]);

    let ev = events::event_bridge(
        "shop.orders",
        "OrderPlaced",
        &OrderPlaced {
            order_id: "o-0".into(),
            total_cents: 0,
        },
    );
    let err = client
        .trigger("on_order_placed")
        .send(&ev)
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "String");
    assert_eq!(err.message, "an order of nothing");

    // An untyped handler gets the detail as JSON, and may answer.
    let ev = events::event_bridge(
        "aws.ec2",
        "EC2 Instance State-change Notification",
        &json!({"state": "running"}),
    );
    let out = client.trigger("on_anything").send(&ev).await.unwrap();
    assert_eq!(out, json!({"state": "running"}));
}

#[tokio::test]
async fn an_eventbridge_detail_that_does_not_decode_is_a_function_error() {
    let (client, seen) = client();
    let ev = events::event_bridge("shop.orders", "OrderPlaced", &json!({"order_id": 7}));
    let err = client
        .trigger("on_order_placed")
        .send(&ev)
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidRecord");
    assert!(
        err.message.contains("cannot decode its detail into"),
        "{}",
        err.message
    );
    assert!(err.message.contains("OrderPlaced"), "{}", err.message);
    assert!(seen.take().is_empty());
}

#[tokio::test]
async fn events_of_another_shape_are_function_errors() {
    let (client, _) = client();
    let err = client
        .trigger("on_upload")
        .send(&fixture("eventbridge-event.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidEvent");
    assert!(err.message.contains("not an S3 event"), "{}", err.message);
    let err = client
        .trigger("on_order_placed")
        .send(&fixture("s3-event.json"))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidEvent");
    assert!(
        err.message.contains("not an EventBridge event"),
        "{}",
        err.message
    );
}
