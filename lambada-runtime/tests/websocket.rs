//! WebSocket handlers: real-shaped API Gateway WebSocket events (connect,
//! message, disconnect, from `tests/data/apigw-ws-*.json`) and the test
//! client's builders, dispatched next to HTTP routes of the same table.

use std::sync::{Arc, Mutex};

use lambada::prelude::*;
use lambada::test::Client;
use lambada::websocket::WsEventType;
use serde::Deserialize;

/// What the handlers saw, in order (a state the test keeps a handle on).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, s: String) {
        self.0.lock().unwrap().push(s);
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

#[derive(Deserialize)]
struct Say {
    text: String,
}

/// Refuses connections without a `name`.
#[ws_connect]
async fn join(id: ConnectionId, ctx: WsContext, log: State<Log>) -> StatusCode {
    assert_eq!(ctx.event_type, WsEventType::Connect);
    match ctx.query("name") {
        Some(name) => {
            log.push(format!(
                "join {id} {name} from {}",
                ctx.source_ip.as_deref().unwrap_or("?")
            ));
            StatusCode::OK
        }
        None => StatusCode::UNAUTHORIZED,
    }
}

#[ws_message(route = "sendmessage")]
async fn send(id: ConnectionId, Json(say): Json<Say>, log: State<Log>) -> String {
    log.push(format!("say {id} {}", say.text));
    format!("sent: {}", say.text)
}

#[ws_message(route = "$default")]
async fn fallback(text: String, ctx: WsContext, log: State<Log>) {
    log.push(format!("default {} {text}", ctx.route_key));
}

#[ws_disconnect]
fn leave(id: ConnectionId, ctx: WsContext, log: State<Log>) {
    log.push(format!(
        "leave {id} {} {}",
        ctx.disconnect_status_code.unwrap_or(0),
        ctx.disconnect_reason.as_deref().unwrap_or("-")
    ));
}

#[get("/health")]
async fn health() -> &'static str {
    "ok"
}

fn app() -> (Client, Log) {
    let log = Log::default();
    let routes = routes![join, send, fallback, leave, health].with_state(log.clone());
    routes.check().unwrap();
    (Client::new(routes), log)
}

#[tokio::test]
async fn api_gateway_events_reach_their_handlers() {
    let (client, log) = app();
    let connect = client
        .send_event(include_bytes!("data/apigw-ws-connect.json"))
        .await
        .unwrap();
    assert_eq!(connect.status(), 200);
    let msg = client
        .send_event(include_bytes!("data/apigw-ws-message.json"))
        .await
        .unwrap();
    assert_eq!(msg.status(), 200);
    assert_eq!(msg.text(), "sent: hi");
    let bye = client
        .send_event(include_bytes!("data/apigw-ws-disconnect.json"))
        .await
        .unwrap();
    assert!(bye.status().is_success());
    assert_eq!(
        log.take(),
        [
            "join NiRw7dVJoAMCJPg= ada from 203.0.113.7",
            "say NiRw7dVJoAMCJPg= hi",
            "leave NiRw7dVJoAMCJPg= 1001 Going away",
        ]
    );
    // HTTP events still reach the HTTP routes of the same table.
    assert_eq!(client.get("/health").send().await.text(), "ok");
}

#[tokio::test]
async fn a_connect_handler_refuses_with_a_non_2xx_answer() {
    let (client, log) = app();
    assert_eq!(client.ws_connect("c9").send().await.status(), 401);
    assert!(log.take().is_empty());
}

#[tokio::test]
async fn messages_are_routed_by_the_selection_expression() {
    let (client, log) = app();
    assert_eq!(
        client
            .ws_connect("c1")
            .query("name", "ada")
            .send()
            .await
            .status(),
        200
    );
    let sent = client
        .ws_message("c1", r#"{"action":"sendmessage","text":"hi"}"#)
        .send()
        .await;
    assert_eq!(sent.text(), "sent: hi");
    // Unknown actions and plain text go to `$default`.
    client
        .ws_message("c1", r#"{"action":"dance"}"#)
        .send()
        .await;
    client.ws_message("c1", "plain text").send().await;
    client.ws_disconnect("c1").send().await;
    assert_eq!(
        log.take(),
        [
            "join c1 ada from 127.0.0.1",
            "say c1 hi",
            "default $default {\"action\":\"dance\"}",
            "default $default plain text",
            "leave c1 1000 -",
        ]
    );
}

#[tokio::test]
async fn a_message_that_is_not_the_json_expected_is_a_400() {
    let (client, log) = app();
    let res = client
        .ws_message("c1", r#"{"action":"sendmessage","txt":"typo"}"#)
        .send()
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        res.text().contains("missing field `text`"),
        "{}",
        res.text()
    );
    assert!(log.take().is_empty());
}

#[tokio::test]
async fn another_selection_expression_routes_on_another_field() {
    #[ws_message(route = "ping")]
    async fn ping() -> &'static str {
        "pong"
    }
    let client = Client::new(routes![ping].route_selection("$request.body.type"));
    let res = client.ws_message("c1", r#"{"type":"ping"}"#).send().await;
    assert_eq!(res.text(), "pong");
    // No `$default` handler: a message of no route is a 404.
    let res = client.ws_message("c1", r#"{"action":"ping"}"#).send().await;
    assert_eq!(res.status(), 404);
}

#[test]
fn the_manifest_lists_the_websocket_routes() {
    let (_, _) = app();
    let routes = routes![join, send, fallback, leave, health];
    let m = routes.manifest();
    let ws = &m["websocket"];
    assert_eq!(ws["route_selection"], "$request.body.action");
    let keys: Vec<&str> = ws["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["route_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["$connect", "sendmessage", "$default", "$disconnect"]);
    assert_eq!(ws["routes"][1]["handler"], "send");
    assert_eq!(ws["routes"][1]["params"][1]["type"], "Json<Say>");
    // The HTTP part is unchanged.
    assert_eq!(m["routes"].as_array().unwrap().len(), 1);
    // A table without WebSocket handlers says so.
    assert!(routes![health].manifest()["websocket"].is_null());
}

#[test]
fn a_missing_state_is_reported_before_serving() {
    let err = routes![join].check().unwrap_err().to_string();
    assert!(
        err.contains("handler `join` (WebSocket route `$connect`) takes `State<"),
        "{err}"
    );
}

#[test]
fn a_bad_selection_expression_is_reported_before_serving() {
    let err = routes![send]
        .with_state(Log::default())
        .route_selection("$request.header.x")
        .check()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("does not start with `$request.body.`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_function_of_websocket_handlers_only_serves_them() {
    let app = lambada::App::for_handler(routes![ping_only], Some("bootstrap")).unwrap();
    let inv = lambada::Invocation {
        request_id: "r",
        deadline_ms: 0,
        invoked_function_arn: "arn",
        trace_id: None,
    };
    let out = app
        .handle_event(include_bytes!("data/apigw-ws-message.json"), &inv)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["statusCode"], 200);
    assert_eq!(v["body"], "pong");
}

#[ws_message(route = "$default")]
async fn ping_only() -> &'static str {
    "pong"
}

/// A handler named like something the generated code uses.
#[ws_message(route = "config")]
async fn config() {}

#[test]
fn a_handler_named_config_compiles() {
    assert_eq!(
        routes![config].websocket().next().unwrap().route_key,
        "config"
    );
}
