//! WebSocket APIs: API Gateway WebSocket events routed to `#[ws_connect]`,
//! `#[ws_disconnect]` and `#[ws_message(route = "…")]` handlers of the same
//! table as the HTTP routes.
//!
//! ```
//! use lambada::prelude::*;
//! use lambada::websocket::ConnectionId;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Say { text: String }
//!
//! /// Refuses connections without a `name` in the query string.
//! #[ws_connect]
//! async fn join(ctx: WsContext) -> StatusCode {
//!     if ctx.query("name").is_some() { StatusCode::OK } else { StatusCode::FORBIDDEN }
//! }
//!
//! #[ws_message(route = "sendmessage")]
//! async fn send(id: ConnectionId, Json(say): Json<Say>) -> String {
//!     format!("{id} said {}", say.text)
//! }
//!
//! #[ws_message(route = "$default")]
//! async fn other(body: String) -> StatusCode {
//!     StatusCode::OK
//! }
//!
//! #[ws_disconnect]
//! async fn leave(id: ConnectionId) {}
//!
//! let routes = routes![join, send, other, leave];
//! assert_eq!(routes.websocket().count(), 4);
//! ```
//!
//! # How an event reaches its handler
//!
//! API Gateway picks a route for each message with the API's *route
//! selection expression* (`$request.body.action` unless configured: the
//! `action` field of a JSON message), falling back to `$default`, and names
//! it in `requestContext.routeKey`; the runtime sends the event to the
//! handler of that key. WebSocket events go to the API function, the one
//! that serves the HTTP routes: they are told apart from HTTP events by
//! their shape (`requestContext.connectionId`, no HTTP method).
//!
//! # Arguments and answers
//!
//! | argument | what |
//! |---|---|
//! | [`ConnectionId`] | the connection the event is about |
//! | [`WsContext`] | the request context: route key, event type, stage, domain, headers and query of the connect request |
//! | [`State<T>`](crate::State) | a shared state, as for HTTP routes |
//! | [`Json<T>`](crate::Json) | the message decoded as JSON (messages only) |
//! | `String` | the message as text (messages only) |
//! | [`Connections`](crate::connections::Connections) | posts to connections (the `websocket` feature) |
//!
//! Handlers return anything that implements [`IntoResponse`]: a connect
//! handler refuses the connection with any status outside 2XX. A
//! message handler's response body reaches the client only on routes with
//! a route response (two-way routes); the rest of the conversation goes
//! through [`Connections`](crate::connections::Connections). An argument
//! that does not extract (a message that is not the JSON `T`) is answered
//! with a 400 problem and logged.

use std::borrow::Cow;
use std::fmt;

use aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest;
use base64::Engine as _;
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::event::{self, EventError};
use crate::extract::{Json, State};
use crate::invocation::Invocation;
use crate::panic::{CatchUnwind, panic_message};
use crate::request::EventKind;
use crate::response::{IntoResponse, Problem, Response};
use crate::state::{StateKey, States};

/// The route selection expression when none is configured: the `action`
/// field of a JSON message.
pub const DEFAULT_ROUTE_SELECTION: &str = "$request.body.action";

/// The future a generated WebSocket handler returns.
pub type WsFuture<'r> = std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send + 'r>>;

/// The function the WebSocket attributes generate for each handler.
pub type WsFn = for<'r> fn(&'r WsRequest<'r>) -> WsFuture<'r>;

/// What runs a WebSocket event: [`drive`], named by every handler the
/// attributes generate, so that a binary without WebSocket handlers links
/// no WebSocket event decoding.
pub type WsDriver = for<'a> fn(
    &'a WsTable,
    &'a States,
    &'a [u8],
    &'a Invocation<'a>,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Vec<u8>, EventError>> + Send + 'a>,
>;

/// One WebSocket handler of the table, built by `#[ws_connect]` & co.
#[derive(Debug)]
pub struct WsRoute {
    /// `$connect`, `$disconnect`, `$default` or a custom route key.
    pub route_key: &'static str,
    /// The handler function's name.
    pub handler: &'static str,
    /// The module the handler is defined in.
    pub module: &'static str,
    /// The handler's arguments as (name, type as written), for the manifest.
    pub params: &'static [(&'static str, &'static str)],
    /// The shared-state types the handler needs.
    pub states: &'static [StateKey],
    /// The generated dispatch function.
    #[doc(hidden)]
    pub call: WsFn,
    /// Decodes and dispatches WebSocket events ([`drive`]).
    #[doc(hidden)]
    pub driver: WsDriver,
}

impl WsRoute {
    pub(crate) fn manifest(&self) -> serde_json::Value {
        serde_json::json!({
            "route_key": self.route_key,
            "handler": self.handler,
            "module": self.module,
            "params": self.params.iter().map(|(name, ty)| serde_json::json!({
                "name": name,
                "type": ty,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The WebSocket part of a route table.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct WsTable {
    pub routes: &'static [&'static WsRoute],
    pub selection: Option<Cow<'static, str>>,
}

impl WsTable {
    pub(crate) const fn new(routes: &'static [&'static WsRoute]) -> WsTable {
        WsTable {
            routes,
            selection: None,
        }
    }

    /// The route selection expression in force.
    pub(crate) fn selection(&self) -> &str {
        self.selection.as_deref().unwrap_or(DEFAULT_ROUTE_SELECTION)
    }

    /// The handler of a route key.
    pub(crate) fn find(&self, route_key: &str) -> Option<&'static WsRoute> {
        self.routes
            .iter()
            .copied()
            .find(|r| r.route_key == route_key)
    }

    /// The `websocket` entry of the manifest; `null` without handlers.
    pub(crate) fn manifest(&self) -> serde_json::Value {
        if self.routes.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::json!({
            "route_selection": self.selection(),
            "routes": self.routes.iter().map(|r| r.manifest()).collect::<Vec<_>>(),
        })
    }

    /// Missing states of the handlers, and a bad selection expression.
    pub(crate) fn check(&self, states: &States, missing: &mut Vec<String>) {
        if self.routes.is_empty() {
            return;
        }
        if let Err(e) = check_selection(self.selection()) {
            missing.push(format!("the WebSocket route selection expression: {e}"));
        }
        for r in self.routes {
            for s in r.states {
                if !states.contains((s.type_id)()) {
                    missing.push(format!(
                        "handler `{}` (WebSocket route `{}`) takes `State<{}>`, but no such state was given: add `.with_state(...)` to the route table",
                        r.handler,
                        r.route_key,
                        (s.type_name)()
                    ));
                }
            }
        }
    }
}

/// Checks a route selection expression: API Gateway takes
/// `$request.body.<json path>` (and `${request.body.…}` templates); the
/// serve emulator and the test client evaluate the `$request.body.a.b`
/// form.
pub fn check_selection(expression: &str) -> Result<(), String> {
    let path = expression.strip_prefix("$request.body.").ok_or_else(|| {
        format!("`{expression}` does not start with `$request.body.`: write `$request.body.action`")
    })?;
    if path.is_empty()
        || path.split('.').any(|p| {
            p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    {
        return Err(format!(
            "`{expression}` is not a field path: write `$request.body.action` or `$request.body.meta.type`"
        ));
    }
    Ok(())
}

/// The route key API Gateway selects for a message: the value the
/// selection expression points at, when a route has that key; `$default`
/// otherwise (and for messages that are not JSON objects).
///
/// ```
/// use lambada::websocket::select_route;
///
/// let keys = ["sendmessage", "$default"];
/// assert_eq!(select_route("$request.body.action", br#"{"action":"sendmessage"}"#, &keys), "sendmessage");
/// assert_eq!(select_route("$request.body.action", br#"{"action":"other"}"#, &keys), "$default");
/// assert_eq!(select_route("$request.body.action", b"plain text", &keys), "$default");
/// ```
pub fn select_route<'k>(expression: &str, body: &[u8], keys: &[&'k str]) -> Cow<'k, str> {
    let fallback = Cow::Borrowed("$default");
    let Some(path) = expression.strip_prefix("$request.body.") else {
        return fallback;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return fallback;
    };
    let mut at = &v;
    for part in path.split('.') {
        match at.get(part) {
            Some(next) => at = next,
            None => return fallback,
        }
    }
    let value = match at {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return fallback,
    };
    match keys.iter().find(|k| **k == value && !k.starts_with('$')) {
        Some(k) => Cow::Borrowed(*k),
        None => fallback,
    }
}

/// What a WebSocket event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsEventType {
    /// A client opens a connection (`$connect`).
    Connect,
    /// A message from a client.
    Message,
    /// The connection closed (`$disconnect`); the connection is gone
    /// already, so posting to it fails.
    Disconnect,
}

/// One WebSocket event, as the extractors see it.
#[derive(Debug)]
pub struct WsRequest<'a> {
    pub(crate) event: ApiGatewayWebsocketProxyRequest,
    pub(crate) body: Vec<u8>,
    pub(crate) states: &'a States,
    pub(crate) lambda_request_id: &'a str,
}

impl WsRequest<'_> {
    /// The route key (`$connect`, `sendmessage`, …).
    pub fn route_key(&self) -> &str {
        self.event
            .request_context
            .route_key
            .as_deref()
            .unwrap_or("$default")
    }
    /// The connection id.
    pub fn connection_id(&self) -> &str {
        self.event
            .request_context
            .connection_id
            .as_deref()
            .unwrap_or("")
    }
    /// The event type.
    pub fn event_type(&self) -> WsEventType {
        match self.event.request_context.event_type.as_deref() {
            Some("CONNECT") => WsEventType::Connect,
            Some("DISCONNECT") => WsEventType::Disconnect,
            _ => WsEventType::Message,
        }
    }
    /// The message (base64-decoded when the event said so); empty for
    /// connect and disconnect events.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// The event as API Gateway sent it.
    pub fn event(&self) -> &ApiGatewayWebsocketProxyRequest {
        &self.event
    }
    /// The Management API endpoint of the connection's API:
    /// `LAMBADA_WS_ENDPOINT` when set (what `cargo lambada serve` sets),
    /// else `https://{domainName}/{stage}`.
    pub fn management_endpoint(&self) -> String {
        if let Some(e) = std::env::var("LAMBADA_WS_ENDPOINT")
            .ok()
            .filter(|e| !e.is_empty())
        {
            return e;
        }
        let c = &self.event.request_context;
        format!(
            "https://{}/{}",
            c.domain_name.as_deref().unwrap_or("localhost"),
            c.stage.as_deref().unwrap_or("$default")
        )
    }
}

/// An argument of a WebSocket handler.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a WebSocket handler",
    label = "not available to WebSocket handlers",
    note = "WebSocket handlers take `ConnectionId`, `WsContext`, `State<T>`, `Connections`, and for messages `Json<T>` or `String`"
)]
pub trait FromWsRequest: Sized {
    /// Extracts the value; an error is the event's answer.
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem>;
}

/// The id of the connection an event is about: what
/// [`Connections::post`](crate::connections::Connections::post) takes, and
/// what to store to reach this client later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub String);

impl std::ops::Deref for ConnectionId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for ConnectionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromWsRequest for ConnectionId {
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem> {
        match req.connection_id() {
            "" => Err(Problem::new(
                StatusCode::BAD_REQUEST,
                "the WebSocket event has no requestContext.connectionId",
            )),
            id => Ok(ConnectionId(id.to_owned())),
        }
    }
}

/// What the request context says about a WebSocket event, and the
/// headers and query string of the connect request.
#[derive(Debug, Clone)]
pub struct WsContext {
    /// The route key.
    pub route_key: String,
    /// Connect, message or disconnect.
    pub event_type: WsEventType,
    /// The connection id.
    pub connection_id: String,
    /// When the connection was opened (milliseconds since the epoch).
    pub connected_at: i64,
    /// The API's domain name.
    pub domain_name: Option<String>,
    /// The stage.
    pub stage: Option<String>,
    /// API Gateway's request id.
    pub request_id: Option<String>,
    /// The Lambda invocation's request id.
    pub lambda_request_id: String,
    /// The caller's IP address.
    pub source_ip: Option<String>,
    /// The connect request's headers (`$connect` only).
    pub headers: http::HeaderMap,
    /// The connect request's query parameters (`$connect` only).
    pub query: Vec<(String, String)>,
    /// The close code (`$disconnect` only).
    pub disconnect_status_code: Option<i64>,
    /// The close reason (`$disconnect` only).
    pub disconnect_reason: Option<String>,
}

impl WsContext {
    /// The first value of a query parameter of the connect request.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The first value of a header of the connect request.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl FromWsRequest for WsContext {
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem> {
        let c = &req.event.request_context;
        let mut query: Vec<(String, String)> = Vec::new();
        for (k, v) in req.event.multi_value_query_string_parameters.iter() {
            query.push((k.to_owned(), v.to_owned()));
        }
        if query.is_empty() {
            for (k, v) in req.event.query_string_parameters.iter() {
                query.push((k.to_owned(), v.to_owned()));
            }
        }
        let headers = if req.event.multi_value_headers.is_empty() {
            req.event.headers.clone()
        } else {
            req.event.multi_value_headers.clone()
        };
        Ok(WsContext {
            route_key: req.route_key().to_owned(),
            event_type: req.event_type(),
            connection_id: req.connection_id().to_owned(),
            connected_at: c.connected_at,
            domain_name: c.domain_name.clone(),
            stage: c.stage.clone(),
            request_id: c.request_id.clone(),
            lambda_request_id: req.lambda_request_id.to_owned(),
            source_ip: c.identity.source_ip.clone(),
            headers,
            query,
            disconnect_status_code: c.disconnect_status_code,
            disconnect_reason: c.disconnect_reason.clone(),
        })
    }
}

impl<T: Send + Sync + 'static> FromWsRequest for State<T> {
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem> {
        req.states.get::<T>().map(State).ok_or_else(|| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("state `{}` not configured", std::any::type_name::<T>()),
            )
        })
    }
}

impl<T: DeserializeOwned> FromWsRequest for Json<T> {
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem> {
        serde_json::from_slice(&req.body).map(Json).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                format!("the message is not the JSON expected: {e}"),
            )
        })
    }
}

impl FromWsRequest for String {
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem> {
        String::from_utf8(req.body.clone())
            .map_err(|_| Problem::new(StatusCode::BAD_REQUEST, "the message is not UTF-8 text"))
    }
}

impl FromWsRequest for bytes::Bytes {
    fn from_ws_request(req: &WsRequest<'_>) -> Result<Self, Problem> {
        Ok(bytes::Bytes::copy_from_slice(&req.body))
    }
}

/// Whether `event` is an API Gateway WebSocket event (`requestContext`
/// with a `connectionId` and an `eventType`).
pub(crate) fn decode(event: &[u8]) -> Option<ApiGatewayWebsocketProxyRequest> {
    let ev: ApiGatewayWebsocketProxyRequest = serde_json::from_slice(event).ok()?;
    let c = &ev.request_context;
    (c.connection_id.is_some() && c.event_type.is_some()).then_some(ev)
}

/// Decodes a WebSocket event and runs its handler: the [`WsDriver`] of
/// every generated WebSocket route. `Err(UnknownShape)` for a payload that
/// is no WebSocket event either.
#[doc(hidden)]
pub fn drive<'a>(
    table: &'a WsTable,
    states: &'a States,
    event: &'a [u8],
    invocation: &'a Invocation<'a>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, EventError>> + Send + 'a>> {
    Box::pin(async move {
        match decode(event) {
            Some(ev) => handle(table, states, ev, invocation).await,
            None => Err(EventError::UnknownShape),
        }
    })
}

/// Runs the handler of a WebSocket event and encodes its answer as a proxy
/// response (`statusCode`, headers, body). An event of a route the table
/// has no handler for is answered 404 (a connect without a handler, 200:
/// API Gateway only invokes `$connect` when a route exists, and a
/// disconnect cannot be refused).
pub(crate) async fn handle(
    table: &WsTable,
    states: &States,
    event: ApiGatewayWebsocketProxyRequest,
    invocation: &Invocation<'_>,
) -> Result<Vec<u8>, EventError> {
    let body = match event.body.as_deref() {
        None => Vec::new(),
        Some(b) if event.is_base64_encoded => base64::engine::general_purpose::STANDARD
            .decode(b)
            .unwrap_or_else(|_| b.as_bytes().to_vec()),
        Some(b) => b.as_bytes().to_vec(),
    };
    let req = WsRequest {
        event,
        body,
        states,
        lambda_request_id: invocation.request_id,
    };
    let key = req.route_key();
    let route = table.find(key).or_else(|| {
        (req.event_type() == WsEventType::Message)
            .then(|| table.find("$default"))
            .flatten()
    });
    let res = match route {
        Some(r) => call(r, &req).await,
        None if req.event_type() == WsEventType::Message => {
            tracing::warn!(route_key = key, "no WebSocket handler for this route key");
            Problem::new(
                StatusCode::NOT_FOUND,
                format!("no WebSocket handler for route `{key}`"),
            )
            .into_response()
        }
        None => StatusCode::OK.into_response(),
    };
    if !res.status().is_success() {
        tracing::info!(
            route_key = key,
            connection_id = req.connection_id(),
            status = res.status().as_u16(),
            "WebSocket handler answered with an error status"
        );
    }
    Ok(event::encode(EventKind::RestV1, &res))
}

/// Runs a handler, turning a panic into a 500.
async fn call(route: &'static WsRoute, req: &WsRequest<'_>) -> Response {
    match (CatchUnwind {
        fut: (route.call)(req),
    })
    .await
    {
        Ok(res) => res,
        Err(panic) => {
            tracing::error!(
                handler = route.handler,
                route_key = route.route_key,
                panic = %panic_message(&panic),
                "WebSocket handler panicked"
            );
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "").into_response()
        }
    }
}

/// The WebSocket route emitted in place of one whose attribute had errors.
#[doc(hidden)]
pub const fn stub_ws_route(handler: &'static str) -> WsRoute {
    fn never<'r>(_: &'r WsRequest<'r>) -> WsFuture<'r> {
        Box::pin(async { unreachable!("stub routes are never compiled into a binary") })
    }
    fn no_driver<'a>(
        _: &'a WsTable,
        _: &'a States,
        _: &'a [u8],
        _: &'a Invocation<'a>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, EventError>> + Send + 'a>>
    {
        Box::pin(async { Err(EventError::UnknownShape) })
    }
    WsRoute {
        route_key: "",
        handler,
        module: "",
        params: &[],
        states: &[],
        call: never,
        driver: no_driver,
    }
}

/// Extracts a handler argument (what the attributes generate).
#[doc(hidden)]
pub fn extract<T: FromWsRequest>(req: &WsRequest<'_>, name: &'static str) -> Result<T, Problem> {
    T::from_ws_request(req).inspect_err(|p| {
        tracing::warn!(argument = name, route_key = req.route_key(), problem = ?p, "WebSocket argument did not extract");
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_expressions() {
        assert!(check_selection("$request.body.action").is_ok());
        assert!(check_selection("$request.body.meta.kind").is_ok());
        assert!(check_selection("$request.header.x").is_err());
        assert!(check_selection("$request.body.").is_err());
        let keys = ["a", "$default", "$connect"];
        assert_eq!(
            select_route("$request.body.meta.k", br#"{"meta":{"k":"a"}}"#, &keys),
            "a"
        );
        // A message cannot pick a reserved route.
        assert_eq!(
            select_route("$request.body.action", br#"{"action":"$connect"}"#, &keys),
            "$default"
        );
    }
}
