//! Trigger handlers dispatched with real event JSON: AWS's sample events
//! (the `aws_lambda_events` fixtures) and the test client's generated ones.

use std::sync::Mutex;

use lambada::prelude::*;
use lambada::test::events::{self, ItemChange};
use lambada::test::{Client, TriggerClient};
use lambada::trigger::{Change, TriggerError};
use serde::Deserialize;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// What the handlers saw, for the assertions (the test keeps a clone).
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

#[sns(topic = "notifications")]
async fn on_sns(msg: SnsMessage, seen: State<Seen>) -> Result<(), String> {
    let text = msg.body.as_str().unwrap_or("").to_owned();
    seen.push(format!("{}:{text}", msg.record.topic_arn));
    if text.contains("fail") {
        return Err(format!("cannot handle `{text}`"));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Order {
    id: u32,
}

#[sqs(queue = "orders", batch_size = 10)]
async fn on_order(msg: SqsMessage<Order>, seen: State<Seen>) -> Result<(), String> {
    seen.push(format!("order {}", msg.body.id));
    if msg.body.id == 0 {
        return Err("order 0 does not exist".into());
    }
    if msg.body.id == 13 {
        panic!("unlucky order");
    }
    Ok(())
}

#[kinesis(
    stream = "clicks",
    starting_position = "TRIM_HORIZON",
    batch_size = 500
)]
async fn on_click(rec: KinesisRecord, seen: State<Seen>) -> Result<(), String> {
    let text = rec.data.as_str().unwrap_or("").to_owned();
    seen.push(text.clone());
    if text == "bad" {
        return Err("bad click".into());
    }
    Ok(())
}

#[derive(Deserialize, Debug, PartialEq)]
struct Device {
    serial: String,
    activated: bool,
}

#[dynamodb_stream(table = "devices")]
async fn on_device(rec: StreamRecord<Device>, seen: State<Seen>) {
    let describe = |d: &Option<Device>| {
        d.as_ref()
            .map(|d| format!("{}/{}", d.serial, d.activated))
            .unwrap_or_else(|| "-".into())
    };
    seen.push(format!(
        "{:?} {} {} -> {}",
        rec.change,
        rec.keys["serial"],
        describe(&rec.old),
        describe(&rec.new)
    ));
}

#[dynamodb_stream(table = "Example-Table")]
async fn on_any_item(rec: StreamRecord) -> Result<(), String> {
    if rec.change != Change::Insert || rec.new.is_none() {
        return Err("expected inserts with new images".into());
    }
    Ok(())
}

#[schedule("rate(15 minutes)", timeout = 60)]
async fn tick(ev: ScheduledEvent, seen: State<Seen>) {
    seen.push(ev.resources.join(","));
}

#[derive(Deserialize)]
struct SyncInput {
    #[serde(rename = "Domain")]
    domain: String,
    #[serde(rename = "IgnoreTTL")]
    ignore_ttl: bool,
}

#[schedule("cron(0/15 * * * ? *)", input = {"Domain": "example.com", "IgnoreTTL": false, "n": -1})]
async fn sync(Json(input): Json<SyncInput>, seen: State<Seen>) {
    seen.push(format!("{} {}", input.domain, input.ignore_ttl));
}

#[derive(Deserialize)]
struct Register {
    serial: String,
}

#[derive(serde::Serialize)]
struct Registered {
    serial: String,
    request_id: String,
}

#[invoke(memory = 256)]
async fn register(Json(r): Json<Register>, ctx: LambdaContext) -> Result<Json<Registered>, String> {
    if r.serial.is_empty() {
        return Err("serial is empty".into());
    }
    Ok(Json(Registered {
        serial: r.serial,
        request_id: ctx.request_id,
    }))
}

#[get("/health")]
async fn health() -> &'static str {
    "ok"
}

fn client() -> Client {
    let routes = routes![
        health,
        on_sns,
        on_order,
        on_click,
        on_device,
        on_any_item,
        tick,
        sync,
        register
    ]
    .with_state(Seen::default());
    Client::new(routes)
}

/// A client for one trigger, and the log its handler writes to.
fn trigger(routes: Routes, handler: &str) -> (TriggerClient, Seen) {
    let seen = Seen::default();
    let t = Client::new(routes.with_state(seen.clone())).trigger(handler);
    (t, seen)
}

async fn send(t: &TriggerClient, ev: &Value) -> Result<Value, TriggerError> {
    t.send(ev).await
}

#[tokio::test]
async fn manifest_lists_triggers_with_defaults() {
    let routes = routes![health, on_sns, on_order, on_click, tick, sync, register];
    assert_eq!(routes.len(), 1);
    assert_eq!(routes.triggers().count(), 6);
    let m = routes.manifest();
    let t = &m["triggers"];
    assert_eq!(t[0]["kind"], "sns");
    assert_eq!(t[0]["source"], "notifications");
    assert_eq!(t[0]["event"], "SnsMessage");
    assert_eq!(t[1]["kind"], "sqs");
    assert_eq!(t[1]["batch_size"], 10);
    assert_eq!(t[1]["event"], "SqsMessage<Order>");
    assert_eq!(t[2]["kind"], "kinesis");
    assert_eq!(t[2]["batch_size"], 500);
    assert_eq!(t[2]["starting_position"], "TRIM_HORIZON");
    assert_eq!(t[3]["kind"], "schedule");
    assert_eq!(t[3]["source"], "rate(15 minutes)");
    assert_eq!(t[3]["timeout"], 60);
    assert_eq!(t[3]["input"], Value::Null);
    assert_eq!(t[4]["source"], "cron(0/15 * * * ? *)");
    assert_eq!(
        t[4]["input"],
        json!({"Domain": "example.com", "IgnoreTTL": false, "n": -1})
    );
    assert_eq!(t[5]["kind"], "invoke");
    assert_eq!(t[5]["memory"], 256);
    assert_eq!(m["routes"][0]["path"], "/health");
}

#[tokio::test]
async fn missing_state_of_a_trigger_is_reported() {
    let err = routes![on_sns].check().unwrap_err().to_string();
    assert!(
        err.contains("on_sns") && err.contains("#[sns]") && err.contains("Seen"),
        "{err}"
    );
}

#[tokio::test]
async fn the_handler_setting_picks_the_trigger() {
    let routes = routes![health, on_sns];
    let app = lambada::App::for_handler(routes.clone(), Some("on_sns")).unwrap();
    assert_eq!(app.trigger().map(|t| t.handler), Some("on_sns"));
    // `bootstrap` (the API function's handler) and no handler: HTTP.
    for h in [Some("bootstrap"), None, Some("not_a_trigger")] {
        let app = lambada::App::for_handler(routes.clone(), h).unwrap();
        assert!(app.trigger().is_none());
    }
    // A binary with triggers only cannot serve an unknown handler.
    let err = lambada::App::for_handler(routes![on_sns, tick], Some("bootstrap")).unwrap_err();
    assert!(err.to_string().contains("on_sns, tick"), "{err}");
}

#[tokio::test]
async fn sns_every_record_and_errors_fail_the_invocation() {
    let (t, seen) = trigger(routes![on_sns], "on_sns");
    // AWS's sample (one record, `Hello\r\nworld!`).
    assert_eq!(send(&t, &fixture("sns-event.json")).await, Ok(Value::Null));
    assert_eq!(
        seen.take(),
        ["arn:aws:sns:us-east-1:246796806071:snsNetTest:Hello\r\nworld!"]
    );
    // Every record is handled, not only Records[0]; one failure fails the
    // invocation (SNS retries it), naming the record.
    let ev = events::sns("notifications", &["one", "please fail", "three"]);
    let err = send(&t, &ev).await.unwrap_err();
    assert_eq!(err.error_type, "Lambada.HandlerFailed");
    assert!(err.message.starts_with("1 of the records failed"), "{err}");
    assert!(err.message.contains("cannot handle `please fail`"), "{err}");
    assert_eq!(seen.take().len(), 3);
}

#[tokio::test]
async fn sqs_reports_only_the_failed_messages() {
    let (t, seen) = trigger(routes![on_order], "on_order");
    let ev = events::sqs(
        "orders",
        &[
            r#"{"id":1}"#,
            r#"{"id":0}"#,
            "not json",
            r#"{"id":13}"#,
            r#"{"id":4}"#,
        ],
    );
    let res = send(&t, &ev).await.unwrap();
    let failed: Vec<&str> = res["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    // 0 → handler error, "not json" → decode error, 13 → panic; 1 and 4 pass.
    assert_eq!(failed, ["message-2", "message-3", "message-4"]);
    assert_eq!(seen.take(), ["order 1", "order 0", "order 13", "order 4"]);
    // The process lives on: the next invocation is served.
    let ok = send(&t, &events::sqs("orders", &[r#"{"id":5}"#])).await;
    assert_eq!(ok, Ok(json!({ "batchItemFailures": [] })));
    // AWS's sample event: its body is not an Order.
    let res = send(&t, &fixture("sqs-event.json")).await.unwrap();
    assert_eq!(res["batchItemFailures"][0]["itemIdentifier"], "MessageID_1");
}

#[tokio::test]
async fn sqs_fifo_stops_at_the_first_failure() {
    let t = Client::new(routes![on_order].with_state(Seen::default())).trigger("on_order");
    let ev = events::sqs(
        "orders.fifo",
        &[r#"{"id":1}"#, r#"{"id":0}"#, r#"{"id":3}"#],
    );
    let res = send(&t, &ev).await.unwrap();
    // Message 3 is not processed (order would break) and is reported too.
    assert_eq!(
        res,
        json!({ "batchItemFailures": [
            { "itemIdentifier": "message-2" },
            { "itemIdentifier": "message-3" }
        ]})
    );
}

#[tokio::test]
async fn kinesis_stops_at_the_first_failure() {
    let (t, seen) = trigger(routes![on_click], "on_click");
    // AWS's sample: two records of "Hello World".
    assert_eq!(
        send(&t, &fixture("kinesis-event.json")).await,
        Ok(json!({ "batchItemFailures": [] }))
    );
    let ev = events::kinesis("clicks", &[b"a", b"bad", b"c"]);
    let res = send(&t, &ev).await.unwrap();
    assert_eq!(
        res,
        json!({ "batchItemFailures": [
            { "itemIdentifier": "49590338271490256608559692538361571095921575989136588802" },
            { "itemIdentifier": "49590338271490256608559692538361571095921575989136588803" }
        ]})
    );
    assert_eq!(seen.take(), ["Hello World", "Hello World", "a", "bad"]);
}

#[tokio::test]
async fn dynamodb_images_are_plain_values() {
    let t = Client::new(routes![on_any_item]).trigger("on_any_item");
    assert_eq!(
        send(&t, &fixture("dynamodb-event.json")).await,
        Ok(json!({ "batchItemFailures": [] }))
    );
    let (t, seen) = trigger(routes![on_device], "on_device");
    let ev = events::dynamodb(
        "devices",
        &[
            ItemChange::insert(
                json!({"serial": "SN-1"}),
                json!({"serial": "SN-1", "activated": false}),
            ),
            ItemChange::modify(
                json!({"serial": "SN-1"}),
                json!({"serial": "SN-1", "activated": false}),
                json!({"serial": "SN-1", "activated": true}),
            ),
            ItemChange::remove(
                json!({"serial": "SN-1"}),
                json!({"serial": "SN-1", "activated": true}),
            ),
        ],
    );
    assert_eq!(send(&t, &ev).await, Ok(json!({ "batchItemFailures": [] })));
    assert_eq!(
        seen.take(),
        [
            r#"Insert "SN-1" - -> SN-1/false"#,
            r#"Modify "SN-1" SN-1/false -> SN-1/true"#,
            r#"Remove "SN-1" SN-1/true -> -"#,
        ]
    );
}

#[tokio::test]
async fn dynamodb_record_that_does_not_convert_fails_there() {
    let t = Client::new(routes![on_device].with_state(Seen::default())).trigger("on_device");
    let ev = events::dynamodb(
        "devices",
        &[
            ItemChange::insert(
                json!({"serial": "a"}),
                json!({"serial": "a", "activated": true}),
            ),
            ItemChange::insert(json!({"serial": "b"}), json!({"serial": "b"})),
            ItemChange::insert(
                json!({"serial": "c"}),
                json!({"serial": "c", "activated": true}),
            ),
        ],
    );
    assert_eq!(
        send(&t, &ev).await,
        Ok(json!({ "batchItemFailures": [
            { "itemIdentifier": "112" }, { "itemIdentifier": "113" }
        ]}))
    );
}

#[tokio::test]
async fn schedules_get_the_event_or_the_constant_input() {
    let (t, seen) = trigger(routes![tick], "tick");
    assert_eq!(
        send(&t, &fixture("eventbridge-schedule.json")).await,
        Ok(Value::Null)
    );
    assert_eq!(
        send(&t, &events::schedule("every-15")).await,
        Ok(Value::Null)
    );
    assert_eq!(
        seen.take(),
        [
            "arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule",
            "arn:aws:events:us-east-1:123456789012:rule/every-15"
        ]
    );
    let (t, seen) = trigger(routes![sync], "sync");
    let input = json!({"Domain": "example.com", "IgnoreTTL": true});
    assert_eq!(send(&t, &input).await, Ok(Value::Null));
    assert_eq!(seen.take(), ["example.com true"]);
    let err = send(&t, &json!({"Domain": "example.com"}))
        .await
        .unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidPayload");
    assert!(err.message.contains("IgnoreTTL"), "{err}");
}

#[tokio::test]
async fn invoke_returns_the_handlers_value_or_a_function_error() {
    let t = Client::new(routes![register]).trigger("register");
    let res = send(&t, &json!({"serial": "SN-1"})).await.unwrap();
    assert_eq!(res["serial"], "SN-1");
    assert_eq!(res["request_id"], "8476a536-e9f4-11e8-9739-2dfe598c3fcd");
    let err = send(&t, &json!({"serial": ""})).await.unwrap_err();
    assert_eq!(err.error_type, "String");
    assert_eq!(err.message, "serial is empty");
    let err = send(&t, &json!([1, 2])).await.unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidPayload");
}

#[tokio::test]
async fn a_wrong_event_shape_is_a_function_error() {
    let t = Client::new(routes![on_order].with_state(Seen::default())).trigger("on_order");
    let err = send(&t, &json!({"hello": "world"})).await.unwrap_err();
    assert_eq!(err.error_type, "Lambada.InvalidEvent");
    assert!(err.message.contains("not an SQS event"), "{err}");
}

#[tokio::test]
async fn http_routes_still_work_beside_triggers() {
    let client = client();
    let res = client.get("/health").send().await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "ok");
    // An SNS event sent to the HTTP function is not an HTTP event.
    let err = client
        .event(&serde_json::to_vec(&events::sns("t", &["x"])).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "Lambada.UnknownEventShape");
}

#[tokio::test]
async fn generated_events_parse_as_the_aws_types() {
    use aws_lambda_events::event::{dynamodb, kinesis, sns, sqs};
    let _: sns::SnsEvent = serde_json::from_value(events::sns("t", &["m"])).unwrap();
    let _: sqs::SqsEvent = serde_json::from_value(events::sqs("q", &["m"])).unwrap();
    let _: kinesis::KinesisEvent = serde_json::from_value(events::kinesis("s", &[b"m"])).unwrap();
    let _: dynamodb::Event = serde_json::from_value(events::dynamodb(
        "t",
        &[ItemChange::insert(json!({"k": "a"}), json!({"k": "a"}))],
    ))
    .unwrap();
    let _: lambada::trigger::ScheduledEvent =
        serde_json::from_value(events::schedule("r")).unwrap();
}

/// The whole batch at once: fails every record whose data is `bad`.
#[kinesis(stream = "clicks")]
async fn on_clicks(
    batch: Records<KinesisRecord<Raw>>,
    seen: State<Seen>,
) -> Result<Failures, String> {
    use lambada::trigger::BatchRecord;
    seen.push(format!("{} records", batch.records.len()));
    if batch
        .records
        .iter()
        .any(|r| r.data.as_str() == Some("boom"))
    {
        return Err("the whole batch failed".into());
    }
    Ok(Failures(
        batch
            .records
            .iter()
            .filter(|r| r.data.as_str() == Some("bad"))
            .map(|r| r.item_id().to_owned())
            .collect(),
    ))
}

#[derive(Deserialize)]
struct Tick {
    #[allow(dead_code)]
    n: u32,
}

#[sqs(queue = "ticks")]
async fn on_ticks(batch: Records<SqsMessage<Tick>>) -> Failures {
    let _ = batch.records.len();
    Failures::default()
}

#[tokio::test]
async fn batch_handlers_see_every_record_and_return_the_failures() {
    let (t, seen) = trigger(routes![on_clicks], "on_clicks");
    let ev = events::kinesis("clicks", &[b"a", b"bad", b"c", b"bad"]);
    let res = send(&t, &ev).await.unwrap();
    assert_eq!(
        res,
        json!({ "batchItemFailures": [
            { "itemIdentifier": "49590338271490256608559692538361571095921575989136588802" },
            { "itemIdentifier": "49590338271490256608559692538361571095921575989136588804" }
        ]})
    );
    assert_eq!(seen.take(), ["4 records"]);
    // An error fails every record.
    let res = send(&t, &events::kinesis("clicks", &[b"a", b"boom"]))
        .await
        .unwrap();
    assert_eq!(res["batchItemFailures"].as_array().map(Vec::len), Some(2));

    // Records that do not decode are reported without reaching the handler.
    let t = Client::new(routes![on_ticks]).trigger("on_ticks");
    let ev = events::sqs("ticks", &[r#"{"n":1}"#, "nope", r#"{"n":3}"#]);
    assert_eq!(
        send(&t, &ev).await,
        Ok(json!({ "batchItemFailures": [{ "itemIdentifier": "message-2" }] }))
    );
}
