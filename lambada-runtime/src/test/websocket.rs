//! WebSocket events for the test client (and `cargo lambada serve`):
//! `client.ws_connect("id")`, `.ws_message("id", text)`,
//! `.ws_disconnect("id")`.

use std::collections::HashMap;

use aws_lambda_events::apigw::{
    ApiGatewayRequestIdentity, ApiGatewayWebsocketProxyRequest,
    ApiGatewayWebsocketProxyRequestContext,
};
use http::header::{HeaderMap, HeaderName, HeaderValue};

use super::{Client, TestResponse};
use crate::websocket::{WsEventType, select_route};

/// An API Gateway WebSocket event, as API Gateway sends it to the
/// function: what [`Client::ws_connect`] & co. build, and what `cargo
/// lambada serve` sends for each WebSocket frame.
#[derive(Debug, Clone)]
pub struct WsEvent {
    /// Connect, message or disconnect.
    pub event_type: WsEventType,
    /// The route key (`$connect`, the selected route, `$disconnect`).
    pub route_key: String,
    /// The connection id.
    pub connection_id: String,
    /// The message (messages only).
    pub body: Option<String>,
    /// Whether the message is base64 (a binary frame).
    pub is_base64_encoded: bool,
    /// The connect request's headers.
    pub headers: HeaderMap,
    /// The connect request's query parameters.
    pub query: Vec<(String, String)>,
    /// The API's domain name.
    pub domain_name: String,
    /// The API id.
    pub api_id: String,
    /// The stage.
    pub stage: String,
    /// API Gateway's request id.
    pub request_id: String,
    /// When the connection was opened (milliseconds since the epoch).
    pub connected_at: i64,
    /// When this event happened (milliseconds since the epoch).
    pub request_time_epoch: i64,
    /// The caller's IP address.
    pub source_ip: String,
    /// The close code (disconnect events).
    pub disconnect_status_code: Option<i64>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl WsEvent {
    /// An event of `event_type` on connection `connection_id`, on stage
    /// `prod` of API `abc123` in us-east-1.
    pub fn new(event_type: WsEventType, connection_id: impl Into<String>) -> WsEvent {
        let now = now_ms();
        WsEvent {
            route_key: match event_type {
                WsEventType::Connect => "$connect",
                WsEventType::Disconnect => "$disconnect",
                WsEventType::Message => "$default",
            }
            .into(),
            event_type,
            connection_id: connection_id.into(),
            body: None,
            is_base64_encoded: false,
            headers: HeaderMap::new(),
            query: Vec::new(),
            domain_name: "abc123.execute-api.us-east-1.amazonaws.com".into(),
            api_id: "abc123".into(),
            stage: "prod".into(),
            request_id: format!("req-{now:x}"),
            connected_at: now,
            request_time_epoch: now,
            source_ip: "127.0.0.1".into(),
            disconnect_status_code: None,
        }
    }

    /// The event as API Gateway's JSON.
    pub fn to_value(&self) -> serde_json::Value {
        let eventtype = match self.event_type {
            WsEventType::Connect => "CONNECT",
            WsEventType::Message => "MESSAGE",
            WsEventType::Disconnect => "DISCONNECT",
        };
        let mut ctx = ApiGatewayWebsocketProxyRequestContext::default();
        ctx.route_key = Some(self.route_key.clone());
        ctx.event_type = Some(eventtype.into());
        ctx.connection_id = Some(self.connection_id.clone());
        ctx.connected_at = self.connected_at;
        ctx.request_time_epoch = self.request_time_epoch;
        ctx.domain_name = Some(self.domain_name.clone());
        ctx.apiid = Some(self.api_id.clone());
        ctx.stage = Some(self.stage.clone());
        ctx.request_id = Some(self.request_id.clone());
        ctx.extended_request_id = Some(self.request_id.clone());
        ctx.message_direction = Some("IN".into());
        ctx.disconnect_status_code = self.disconnect_status_code;
        if self.event_type == WsEventType::Message {
            ctx.message_id = Some(format!("msg-{:x}", self.request_time_epoch));
        }
        let mut identity = ApiGatewayRequestIdentity::default();
        identity.source_ip = Some(self.source_ip.clone());
        ctx.identity = identity;
        let mut ev = ApiGatewayWebsocketProxyRequest::default();
        ev.request_context = ctx;
        ev.body = self.body.clone();
        ev.is_base64_encoded = self.is_base64_encoded;
        if self.event_type == WsEventType::Connect {
            ev.headers = self.headers.clone();
            ev.multi_value_headers = self.headers.clone();
        }
        let mut v = serde_json::to_value(&ev).unwrap_or_default();
        if let Some(m) = v.as_object_mut() {
            // The query as API Gateway writes it (the SDK type's own
            // serialization writes lists in both maps).
            let mut single = serde_json::Map::new();
            let mut multi: HashMap<String, Vec<String>> = HashMap::new();
            for (k, v) in &self.query {
                single.insert(k.clone(), v.clone().into());
                multi.entry(k.clone()).or_default().push(v.clone());
            }
            m.remove("queryStringParameters");
            m.remove("multiValueQueryStringParameters");
            if !self.query.is_empty() {
                m.insert("queryStringParameters".into(), single.into());
                m.insert(
                    "multiValueQueryStringParameters".into(),
                    serde_json::json!(multi),
                );
            }
            // API Gateway sends no HTTP fields with WebSocket events.
            for k in ["resource", "path", "pathParameters", "stageVariables"] {
                m.remove(k);
            }
            if self.event_type != WsEventType::Connect {
                for k in [
                    "headers",
                    "multiValueHeaders",
                    "queryStringParameters",
                    "multiValueQueryStringParameters",
                ] {
                    m.remove(k);
                }
            }
        }
        v
    }

    /// The event as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_value()).unwrap_or_default()
    }
}

/// A WebSocket event about to be dispatched by the test client.
#[derive(Debug, Clone)]
pub struct WsEventBuilder {
    client: Client,
    event: WsEvent,
}

impl WsEventBuilder {
    /// A header of the connect request.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.event.headers.append(n, v);
        }
        self
    }
    /// A query parameter of the connect request.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.event.query.push((name.into(), value.into()));
        self
    }
    /// Overrides the route key the client selected.
    pub fn route_key(mut self, key: &str) -> Self {
        self.event.route_key = key.into();
        self
    }
    /// The event being built.
    pub fn event(&self) -> &WsEvent {
        &self.event
    }
    /// The event's JSON.
    pub fn to_event(&self) -> Vec<u8> {
        self.event.to_json()
    }
    /// Dispatches the event and decodes the answer.
    ///
    /// # Panics
    ///
    /// When the app answers with a Lambda error.
    pub async fn send(self) -> TestResponse {
        let payload = self
            .client
            .event(&self.event.to_json())
            .await
            .unwrap_or_else(|e| panic!("the WebSocket event failed: {e}"));
        TestResponse::decode(&payload)
    }
}

impl Client {
    /// A `$connect` of connection `connection_id`.
    ///
    /// ```
    /// use lambada::prelude::*;
    ///
    /// #[ws_connect]
    /// async fn join(ctx: WsContext) -> StatusCode {
    ///     if ctx.query("token") == Some("s3cret") { StatusCode::OK } else { StatusCode::FORBIDDEN }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let client = lambada::test::Client::new(routes![join]);
    /// assert_eq!(client.ws_connect("c1").query("token", "s3cret").send().await.status(), 200);
    /// assert_eq!(client.ws_connect("c2").send().await.status(), 403);
    /// # });
    /// ```
    pub fn ws_connect(&self, connection_id: &str) -> WsEventBuilder {
        self.ws(WsEvent::new(WsEventType::Connect, connection_id))
    }

    /// A message from connection `connection_id`, routed the way API
    /// Gateway routes it: by the table's route selection expression
    /// (`$request.body.action` unless set), else `$default`.
    pub fn ws_message(&self, connection_id: &str, message: impl Into<String>) -> WsEventBuilder {
        let message = message.into();
        let routes = self.app.routes();
        let keys: Vec<&str> = routes.websocket().map(|r| r.route_key).collect();
        let key = select_route(
            routes.route_selection_expression(),
            message.as_bytes(),
            &keys,
        )
        .into_owned();
        let mut event = WsEvent::new(WsEventType::Message, connection_id);
        event.route_key = key;
        event.body = Some(message);
        self.ws(event)
    }

    /// A `$disconnect` of connection `connection_id`.
    pub fn ws_disconnect(&self, connection_id: &str) -> WsEventBuilder {
        let mut event = WsEvent::new(WsEventType::Disconnect, connection_id);
        event.disconnect_status_code = Some(1000);
        self.ws(event)
    }

    fn ws(&self, mut event: WsEvent) -> WsEventBuilder {
        event.stage = self.stage.clone();
        WsEventBuilder {
            client: self.clone(),
            event,
        }
    }
}
